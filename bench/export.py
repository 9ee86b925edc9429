"""Batch export against its floors, as whole processes (run by hand, not in the tests).

Compared, each a fresh process writing into a fresh folder, in paired rounds: every
round runs each command once, in an order that alternates from round to round, so
that a noisy neighbour slows each alike; a ratio is taken within each round and
printed as min/median/max over the rounds, for wall time and for CPU time (user +
system of the process tree: what a busy machine disturbs least):

* the peer, ``bench/peer_pytorch_docs.py``: the PyTorch docs' approach (pylab, one
  value-only PNG per activation over ``arange(-7, 7, 0.01)``, 22 modules: all but
  Threshold). Target: ``actviz export --all`` at the default ``--jobs``, drawing
  twice the panels, ≤ 0.8× of it;
* ``actviz export --all`` with the default ``--jobs``, and with ``--jobs 1`` and
  ``--jobs 2`` (value + gradient panels with saturation shading, every registered
  activation, PNG);
* the floor: one interpreter that imports torch and matplotlib and renders the
  same number of two-panel figures back to back — value and autograd gradient,
  titled, labelled and gridded as a hand-written notebook figure would be, same
  size and dpi (``bench/floor_render.py``). Target: ≤ 1.25× with ``--jobs 1``;
* with ``--loop``, a loop of one ``actviz plot NAME`` process per activation
  (target: export is ≥ 5× faster), timed once.

``--jobs-only`` times ``actviz export --all --jobs N`` for N = 1 … usable cores
and the default, in the same paired rounds: the evidence for the default ``--jobs``.
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
# The actviz of the checkout this file is in (not whichever one is installed), here
# and in every command timed.
ROOT = str(Path(__file__).resolve().parent.parent)
sys.path.insert(0, ROOT)
# Measure what a user's machine does: bytecode is cached after the first run.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV["PYTHONPATH"] = os.pathsep.join([ROOT, *filter(None, [os.environ.get("PYTHONPATH")])])

FLOOR = str(Path(__file__).with_name("floor_render.py"))  # shared with bench/startup.py
PEER = str(Path(__file__).with_name("peer_pytorch_docs.py"))
PEER_LABEL = "peer: pytorch docs (pylab, 22 value-only PNGs)"


def run_once(command: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of ``command`` with a fresh output folder for ``OUT``."""
    with tempfile.TemporaryDirectory() as out:
        words = [out if word == "OUT" else word for word in command]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(words, env=ENV, check=True, capture_output=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu


def paired(commands: dict[str, list[str]], rounds: int) -> dict[str, list[tuple[float, float]]]:
    """(wall, cpu) of every command in each round, after one warm-up run of each
    (bytecode, page cache); the order alternates from round to round."""
    for command in commands.values():
        run_once(command)
    runs: dict[str, list[tuple[float, float]]] = {label: [] for label in commands}
    order = list(commands)
    for index in range(rounds):
        for label in order if index % 2 == 0 else order[::-1]:
            runs[label].append(run_once(commands[label]))
    return runs


def spread(values: list[float], unit: str = "") -> str:
    """``min/median/max`` of ``values``."""
    low, mid, high = min(values), statistics.median(values), max(values)
    return f"{low:.2f}/{mid:.2f}/{high:.2f}{unit}"


def report(runs: dict[str, list[tuple[float, float]]], base: str) -> None:
    """Every command's seconds and its ratios to ``base``, round by round."""
    print(f"{'':<48}{'wall s':>20}{'cpu s':>20}   ratio to {base.split(':')[0]} (min/median/max)")
    for label, samples in runs.items():
        walls, cpus = [w for w, _ in samples], [c for _, c in samples]
        ratios = ""
        if label != base:
            wall_ratio = [w / b for (w, _), (b, _) in zip(samples, runs[base], strict=True)]
            cpu_ratio = [c / b for (_, c), (_, b) in zip(samples, runs[base], strict=True)]
            ratios = f"wall {spread(wall_ratio, '×')}  cpu {spread(cpu_ratio, '×')}"
        print(f"{label:<48}{spread(walls):>20}{spread(cpus):>20}   {ratios}")


def plot_loop(names: list[str]) -> float:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        for name in names:
            subprocess.run(
                [ACTVIZ, "plot", name, "--out-dir", out], env=ENV, check=True, capture_output=True
            )
        return time.perf_counter() - start


def machine() -> str:
    from actviz.export import default_jobs, usable_cores

    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    return (
        f"{usable_cores()} usable cores (os.sched_getaffinity), default --jobs {default_jobs()}, "
        f"load average {load} at the end"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="paired rounds")
    parser.add_argument("--jobs-only", action="store_true", help="only the --jobs sweep")
    parser.add_argument("--loop", action="store_true", help="also one plot process per name")
    args = parser.parse_args()
    from actviz.export import default_jobs, usable_cores
    from actviz.registry import names

    export = [ACTVIZ, "export", "--all", "--format", "png", "--out", "OUT"]
    if args.jobs_only:
        cores = range(1, usable_cores() + 1)
        commands = {f"--jobs {n}": [*export, "--jobs", str(n)] for n in cores}
        commands[f"default (--jobs {default_jobs()})"] = export
        report(paired(commands, args.repeat), "--jobs 1")
        print(machine())
        return
    commands = {
        PEER_LABEL: [sys.executable, PEER, "OUT"],
        f"actviz export --all (default, --jobs {default_jobs()})": export,
        "actviz export --all --jobs 1": [*export, "--jobs", "1"],
        "actviz export --all --jobs 2": [*export, "--jobs", "2"],
        "floor: torch+matplotlib, N two-panel renders": [sys.executable, FLOOR, "OUT", *names()],
    }
    runs = paired(commands, args.repeat)
    report(runs, PEER_LABEL)
    floor = "floor: torch+matplotlib, N two-panel renders"
    print()
    report({k: v for k, v in runs.items() if k != PEER_LABEL}, floor)
    print(f"\n{len(names())} activations; {machine()}")
    print("targets: export --all (default) ≤ 0.8× the peer; --jobs 1 ≤ 1.25× the floor")
    if args.loop:
        loop = plot_loop(names())
        best = min(statistics.median(w for w, _ in runs[k]) for k in list(commands)[1:4])
        print(f"plot loop {loop:.1f} s: {loop / best:.1f}× the fastest export (target ≥ 5×)")


if __name__ == "__main__":
    main()
