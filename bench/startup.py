"""Start-up and single-plot cost of actviz, as whole processes.

Run by hand (``make bench`` or ``.venv/bin/python bench/startup.py``); it is
not part of the test suite. Each command runs ``--repeat`` times after one
warm-up; the median wall time is reported with its ratio to its floor:

* ``actviz --help`` and ``actviz list`` against ``python -c "import typer"``
  (target ≤ 1.3×: neither may import torch or matplotlib);
* ``actviz plot sigmoid`` against ``python -c "import torch, matplotlib"`` plus
  one two-panel render of the same size (target ≤ 1.15×);
* ``actviz saturation --all`` (every activation, with the float16 … float64
  underflow scans) against the start-up it cannot avoid, ``import torch,
  typer, rich`` (target: under 2 s on top).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
ACTVIZ = str(BIN / "actviz")

# The floor for a plot: the imports any torch + matplotlib tool pays and one
# two-panel figure drawn by hand (bench/floor_render.py, shared with
# bench/export.py).
FLOOR_RENDER = str(Path(__file__).with_name("floor_render.py"))


# Measure what a user's machine does: bytecode is cached after the first run.
# (Some sandboxes set PYTHONDONTWRITEBYTECODE, which would recompile actviz's
# own modules on every start and charge that to actviz.)
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def median_wall_and_cpu(command: list[str], repeat: int, cwd: str) -> tuple[float, float]:
    """Median wall time and median CPU time (user + system) of the child process.

    CPU time is what a busy machine (other jobs on the same cores) disturbs
    least, so the start-up ratios are printed for both.
    """
    run = {"cwd": cwd, "env": ENV, "check": True, "capture_output": True}
    subprocess.run(command, **run)  # type: ignore[call-overload]  # warm caches
    times, cpu = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, **run)  # type: ignore[call-overload]
        times.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(times), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument(
        "--startup-only", action="store_true", help="Only --help and list against their floor."
    )
    args = parser.parse_args()
    python = sys.executable
    rows = [
        ("floor: import typer", [python, "-c", "import typer"], None),
        ("actviz --help", [ACTVIZ, "--help"], "floor: import typer"),
        ("actviz list", [ACTVIZ, "list"], "floor: import typer"),
        ("floor: torch+matplotlib+render", [python, FLOOR_RENDER, ".", "sigmoid"], None),
        ("actviz plot sigmoid", [ACTVIZ, "plot", "sigmoid"], "floor: torch+matplotlib+render"),
        ("floor: import torch, typer, rich", [python, "-c", "import torch, typer, rich"], None),
        (
            "actviz saturation --all",
            [ACTVIZ, "saturation", "--all"],
            "floor: import torch, typer, rich",
        ),
    ]
    if args.startup_only:
        rows = rows[:3]
    targets = {
        "actviz --help": "≤1.3×",
        "actviz list": "≤1.3×",
        "actviz plot sigmoid": "≤1.15×",
        "actviz saturation --all": "<2 s",
    }
    measured: dict[str, float] = {}
    cpu: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as cwd:
        print(f"{'command':<34}{'median s':>10}{'ratio':>8}{'on top s':>10}{'target':>8}"
              f"{'cpu s':>8}{'cpu ratio':>10}")  # fmt: skip
        for label, command, floor in rows:
            measured[label], cpu[label] = median_wall_and_cpu(command, args.repeat, cwd)
            ratio = extra = cpu_ratio = ""
            if floor is not None:
                ratio = f"{measured[label] / measured[floor]:.2f}×"
                extra = f"{measured[label] - measured[floor]:+.3f}"
                cpu_ratio = f"{cpu[label] / cpu[floor]:.2f}×"
            target = targets.get(label, "")
            print(f"{label:<34}{measured[label]:>10.3f}{ratio:>8}{extra:>10}{target:>8}"
                  f"{cpu[label]:>8.3f}{cpu_ratio:>10}")  # fmt: skip


if __name__ == "__main__":
    main()
