"""What every benchmark here shares: paired, interleaved timing of whole processes,
and the ratio to a floor printed with its spread.

A benchmark names its commands as :class:`Row` s, each with the floor it is
compared with. :func:`compare` runs one warm-up round (bytecode and file caches
warm, as on a user's machine), then ``repeat`` rounds; each round runs every
command once, the order rotated from round to round, so that a neighbour's load
falls on a command and on its floor alike. A row's ratio is taken per round
(command ÷ its floor in the same round) and printed as min / median / max over
the rounds, beside the median wall times and the median ratio of CPU time (user
+ system of the child), which other jobs on the same cores disturb least.

Every command runs as a user's shell runs it: the installed ``actviz`` entry
point script, bytecode caching on (some sandboxes set
``PYTHONDONTWRITEBYTECODE``, which would recompile actviz's modules on every
start and charge that to actviz), output to a pipe, in a temporary folder. The
``actviz`` measured is this checkout's (``PYTHONPATH`` is its root), whichever
one the virtual environment was installed from.
"""

from __future__ import annotations

import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ACTVIZ = str(BIN / "actviz")
PYTHON = sys.executable
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])


@dataclass(frozen=True)
class Row:
    """One command; ``floor`` is the label of the row it is divided by (None: a floor);
    ``exits``: the exit codes that are its result, not a failure of the bench."""

    label: str
    command: Sequence[str]
    floor: str | None = None
    target: str = ""
    exits: tuple[int, ...] = (0,)


@dataclass(frozen=True)
class Sample:
    wall: float
    cpu: float


def run_once(command: Sequence[str], cwd: str, exits: tuple[int, ...] = (0,)) -> Sample:
    """Wall and CPU seconds (user + system) of one process; an exit code not in
    ``exits`` stops the bench."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(list(command), cwd=cwd, env=ENV, capture_output=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in exits:
        raise SystemExit(
            f"{' '.join(command)} exited {done.returncode}:\n{done.stderr.decode()[-2000:]}"
        )
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return Sample(wall, cpu)


def interleaved(rows: Sequence[Row], repeat: int, cwd: str) -> list[list[Sample]]:
    """One warm-up round, then ``repeat`` rounds of every row's command, the order
    rotated each round; the samples of each row, in round order."""
    count = len(rows)
    for row in rows:
        run_once(row.command, cwd, row.exits)
    samples: list[list[Sample]] = [[] for _ in rows]
    for round_ in range(repeat):
        for k in range(count):
            i = (k + round_) % count
            samples[i].append(run_once(rows[i].command, cwd, rows[i].exits))
    return samples


def help_text(command: str) -> str | None:
    """``actviz COMMAND --help``, or None where this actviz has no such command."""
    shown = subprocess.run([ACTVIZ, command, "--help"], capture_output=True, text=True, env=ENV)
    return shown.stdout if shown.returncode == 0 else None


def spread(values: Sequence[float]) -> tuple[float, float, float]:
    return min(values), statistics.median(values), max(values)


def ratio_text(values: Sequence[float]) -> str:
    """``1.12 / 1.18 / 1.31×``: min / median / max."""
    low, mid, high = spread(values)
    return f"{low:.2f} / {mid:.2f} / {high:.2f}×"


def machine() -> str:
    """The CPU model, usable cores, load, Python and torch, in one line."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    try:
        torch = metadata.version("torch")
    except metadata.PackageNotFoundError:
        torch = "absent"
    return (
        f"{model}, {cores} usable cores, load average {load} (1, 5, 15 min); "
        f"Python {platform.python_version()}, torch {torch}"
    )


def compare(rows: Sequence[Row], repeat: int, title: str) -> dict[str, list[float]]:
    """Time ``rows`` interleaved (:func:`interleaved`) and print one line each; the
    per-round wall ratios of each compared row, by label."""
    print(f"{title}\n{machine()}\n{repeat} paired rounds after a warm-up, order rotated")
    with tempfile.TemporaryDirectory() as cwd:
        samples = interleaved(rows, repeat, cwd)
    by_label = {row.label: s for row, s in zip(rows, samples, strict=True)}
    width = max(len(row.label) for row in rows) + 2
    print(f"{'command':<{width}}{'median s':>9}  {'ratio min / median / max':<26}"
          f"{'cpu ratio':>9}  target")  # fmt: skip
    ratios: dict[str, list[float]] = {}
    for row, mine in zip(rows, samples, strict=True):
        wall = statistics.median(s.wall for s in mine)
        text, cpu = "", ""
        if row.floor is not None:
            floor = by_label[row.floor]
            ratios[row.label] = [a.wall / b.wall for a, b in zip(mine, floor, strict=True)]
            text = ratio_text(ratios[row.label])
            cpu_ratios = [a.cpu / b.cpu for a, b in zip(mine, floor, strict=True)]
            cpu = f"{statistics.median(cpu_ratios):.2f}×"
        print(f"{row.label:<{width}}{wall:>9.3f}  {text:<26}{cpu:>9}  {row.target}")
    sys.stdout.flush()
    return ratios
