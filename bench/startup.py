"""Start-up and single-plot cost of actviz, as whole processes.

Run by hand (``make bench`` or ``.venv/bin/python bench/startup.py``); it is
not part of the test suite. Paired, interleaved rounds (bench/_timing.py: the
installed ``actviz`` script, bytecode cached), each command's wall time divided
by its floor's in the same round, min / median / max:

* ``actviz --help`` and ``actviz list`` against ``python -c "import typer"``
  (target ≤ 1.3×: neither may import torch or matplotlib). Measured as
  shipped: Typer's shell completion on (``--install-completion`` in the help,
  checked first) and the options' choices as Typer Choice types;
* ``actviz plot sigmoid`` against ``python -c "import torch, matplotlib"`` plus
  one two-panel render of the same size (bench/floor_render.py; target ≤ 1.05×);
* ``actviz saturation --all`` (every activation, with the float16 … float64
  underflow scans) against the start-up it cannot avoid, ``import torch,
  typer, rich`` (target: under 2 s on top).
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

from _timing import ACTVIZ, ENV, PYTHON, Row, compare

# The floor for a plot: the imports any torch + matplotlib tool pays and one
# two-panel figure drawn by hand (bench/floor_render.py, shared with
# bench/export.py).
FLOOR_RENDER = str(Path(__file__).with_name("floor_render.py"))


def completion_on() -> None:
    """Refuse to measure a build without shell completion: the target is for it on."""
    shown = subprocess.run([ACTVIZ, "--help"], capture_output=True, text=True, env=ENV)
    if "--install-completion" not in shown.stdout:
        raise SystemExit("actviz --help shows no --install-completion: completion is off")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=11)
    parser.add_argument(
        "--startup-only", action="store_true", help="Only --help and list against their floor."
    )
    args = parser.parse_args()
    completion_on()
    typer = "floor: import typer"
    render = "floor: torch+matplotlib+render"
    imports = "floor: import torch, typer, rich"
    rows = [
        Row(typer, [PYTHON, "-c", "import typer"]),
        Row("actviz --help", [ACTVIZ, "--help"], typer, "≤ 1.3×"),
        Row("actviz list", [ACTVIZ, "list"], typer, "≤ 1.3×"),
    ]
    if not args.startup_only:
        rows += [
            Row(render, [PYTHON, FLOOR_RENDER, ".", "sigmoid"]),
            Row("actviz plot sigmoid", [ACTVIZ, "plot", "sigmoid"], render, "≤ 1.05×"),
            Row(imports, [PYTHON, "-c", "import torch, typer, rich"]),
            Row("actviz saturation --all", [ACTVIZ, "saturation", "--all"], imports, "+ < 2 s"),
        ]
    compare(rows, args.repeat, "start-up: actviz against its floors")


if __name__ == "__main__":
    main()
