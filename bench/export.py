"""Batch export against its floors, as whole processes (run by hand, not in the tests).

Compared, each a fresh process writing into a fresh folder:

* ``actviz export --all`` with ``--jobs 1`` and ``--jobs 2`` (value + gradient
  panels with saturation shading, every registered activation, PNG);
* the floor: one interpreter that imports torch and matplotlib and renders the
  same number of two-panel figures back to back — value and autograd gradient,
  titled, labelled and gridded as a hand-written notebook figure would be, same
  size and dpi. Targets: ≤ 1.25× with ``--jobs 1``, below it with ``--jobs 2``;
* a loop of one ``actviz plot NAME`` process per activation (target: export is
  ≥ 5× faster);
* the PyTorch docs approach, rebuilt here from its description: pylab, one
  value-only PNG per activation over ``arange(-7, 7, 0.01)``, 22 modules
  (everything but Threshold, which needs arguments). Target: the whole export,
  drawing twice the panels, is not slower.

``--jobs-only`` times ``actviz export --all --jobs N`` for N = 1 … usable cores
and the default, interleaved (so that a noisy neighbour slows each alike), and
prints every run and the medians: the evidence for the default ``--jobs``.
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
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

FLOOR = str(Path(__file__).with_name("floor_render.py"))  # shared with bench/startup.py

DOCS_APPROACH = """
import sys, torch, matplotlib
matplotlib.use("Agg")
import pylab
from actviz.registry import ACTIVATIONS
for act in ACTIVATIONS:
    if act.module == "Threshold":
        continue
    module = getattr(torch.nn, act.module)()
    x = torch.arange(-7.0, 7.0, 0.01)
    pylab.clf()
    pylab.grid(color="k", alpha=0.2, linestyle="--")
    pylab.plot(x.numpy(), module(x).detach().numpy())
    pylab.title(act.module)
    pylab.xlabel("Input")
    pylab.ylabel("Output")
    pylab.xlim([-7, 7])
    pylab.ylim([-7, 7])
    pylab.savefig(f"{sys.argv[1]}/{act.module}.png")
"""


def timed(command: list[str], repeat: int) -> float:
    """Median seconds of ``command`` with a fresh output folder appended each run."""
    times = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            subprocess.run([*command, out], env=ENV, check=True, capture_output=True)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def timed_floor(python: str, activations: list[str], repeat: int) -> float:
    """Like :func:`timed`, for the floor script whose output folder comes first."""
    times = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            subprocess.run([python, FLOOR, out, *activations], env=ENV, check=True,
                           capture_output=True)  # fmt: skip
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def plot_loop(names: list[str]) -> float:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        for name in names:
            subprocess.run(
                [ACTVIZ, "plot", name, "--out-dir", out], env=ENV, check=True, capture_output=True
            )
        return time.perf_counter() - start


def jobs_sweep(repeat: int) -> None:
    """Median seconds of ``export --all`` per ``--jobs`` value, runs interleaved."""
    from actviz.export import default_jobs, usable_cores

    settings = {f"--jobs {n}": ["--jobs", str(n)] for n in range(1, usable_cores() + 1)}
    settings[f"default (--jobs {default_jobs()})"] = []
    runs: dict[str, list[float]] = {label: [] for label in settings}
    for _ in range(repeat):
        for label, extra in settings.items():
            runs[label].append(timed([ACTVIZ, "export", "--all", *extra, "--out"], 1))
    for label, times in runs.items():
        samples = " ".join(f"{t:.1f}" for t in times)
        print(f"{label:<22}median {statistics.median(times):6.2f} s   runs: {samples}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs-only", action="store_true", help="only the --jobs sweep")
    args = parser.parse_args()
    if args.jobs_only:
        jobs_sweep(args.repeat)
        return
    from actviz.registry import names

    python = sys.executable
    export = [ACTVIZ, "export", "--all", "--format", "png", "--out"]
    results = {
        "floor: torch+matplotlib, N two-panel renders": timed_floor(python, names(), args.repeat),
        "actviz export --all --jobs 1": timed(
            [*export[:3], "--jobs", "1", *export[3:]], args.repeat
        ),
        "actviz export --all --jobs 2": timed(
            [*export[:3], "--jobs", "2", *export[3:]], args.repeat
        ),
        "pytorch docs approach (pylab, 22 value-only PNGs)": timed(
            [python, "-c", DOCS_APPROACH], args.repeat
        ),
        "loop: one actviz plot process per activation": plot_loop(names()),
    }
    floor = results["floor: torch+matplotlib, N two-panel renders"]
    for label, seconds in results.items():
        print(f"{label:<52}{seconds:>8.2f} s{seconds / floor:>8.2f}× floor")
    serial, parallel = (
        results["actviz export --all --jobs 1"],
        results["actviz export --all --jobs 2"],
    )
    docs = results["pytorch docs approach (pylab, 22 value-only PNGs)"]
    loop = results["loop: one actviz plot process per activation"]
    print(f"\n{len(names())} activations")
    print(f"--jobs 1 vs floor: {serial / floor:.2f}×  (target ≤ 1.25×)")
    print(f"--jobs 2 vs floor: {parallel / floor:.2f}×  (target < 1)")
    print(f"plot loop / export --jobs 2: {loop / parallel:.1f}× (target ≥ 5×)")
    print(f"export --jobs 2 vs docs approach: {parallel / docs:.2f}× (target ≤ 1)")


if __name__ == "__main__":
    main()
