"""`actviz depth` and `actviz gain --all` against their floors, as whole processes.

Run by hand (``make bench`` or ``.venv/bin/python bench/depth.py``); not part of
the test suite. Each command runs ``--repeat`` times after one warm-up; the
median wall time is reported with what it costs on top of its floor:

* ``actviz gain --all`` (quadrature, gains and the edge of chaos for every
  registered activation) against ``python -c "import torch"``;
* ``actviz depth sigmoid tanh relu gelu --layers 30 --width 256`` (eight 30-layer
  networks, the four and their default-init baselines, plus the figure) against
  ``python -c "import torch"``, and against the smallest autograd script that
  draws: ``import torch, matplotlib`` and one ``y.backward(torch.ones_like(y))``
  (torch imports sympy on the first backward with a gradient tensor: ~0.5 s
  that any autograd script pays).

Target: little more than torch's import.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
ACTVIZ = str(BIN / "actviz")
# Measure what a user's machine does: bytecode is cached after the first run.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


AUTOGRAD = (
    "import torch, matplotlib; x = torch.ones(3, requires_grad=True); "
    "y = torch.tanh(x); y.backward(torch.ones_like(y))"
)


def median_seconds(command: list[str], repeat: int, cwd: str) -> float:
    run = {"cwd": cwd, "env": ENV, "check": True, "capture_output": True}
    subprocess.run(command, **run)  # type: ignore[call-overload]  # warm caches
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, **run)  # type: ignore[call-overload]
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    python = sys.executable
    depth = [ACTVIZ, "depth", "sigmoid", "tanh", "relu", "gelu", "--layers", "30",
             "--width", "256"]  # fmt: skip
    rows = [
        ("floor: import torch", [python, "-c", "import torch"], None),
        ("floor: torch+matplotlib+backward", [python, "-c", AUTOGRAD], None),
        ("actviz gain --all", [ACTVIZ, "gain", "--all"], "floor: import torch"),
        ("actviz depth … --layers 30", depth, "floor: import torch"),
        ("  (against torch+mpl+backward)", depth, "floor: torch+matplotlib+backward"),
    ]
    measured: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as cwd:
        print(f"{'command':<34}{'median s':>10}{'ratio':>8}{'on top s':>10}")
        for label, command, floor in rows:
            measured[label] = median_seconds(command, args.repeat, cwd)
            ratio = extra = ""
            if floor is not None:
                ratio = f"{measured[label] / measured[floor]:.2f}×"
                extra = f"{measured[label] - measured[floor]:+.3f}"
            print(f"{label:<34}{measured[label]:>10.3f}{ratio:>8}{extra:>10}")


if __name__ == "__main__":
    main()
