"""Peak memory and wall time of every command at its size cap, as whole processes.

Run by hand (``.venv/bin/python bench/caps.py``); it is not part of the test
suite. Each command runs once in a subprocess with its output to /dev/null
(CSV and JSON are still formatted and written). Reported per command:

* wall time;
* peak RSS of the whole process tree (the command and its export workers),
  sampled from /proc every 20 ms;
* the largest single process, ``ru_maxrss`` from ``os.wait4`` (the rusage
  that ``getrusage(RUSAGE_CHILDREN)`` would give, for this child alone).

Target (issue 9): every command at its cap under 1 GB and under 30 s on a
2-core machine. The caps come from actviz itself, so this follows them:
``MAX_POINTS`` samples for one 1-D probe (and for several probes or an export
together), ``MAX_AXIS_POINTS`` per axis for GLU, ``MAX_TABLE_ROWS`` printed
rows, ``MAX_SIZE`` for a Jacobian. Requests above a cap are refused before
anything is allocated; the last rows time that refusal.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from actviz import registry
from actviz.jacobian import MAX_SIZE
from actviz.params import MAX_CURVES
from actviz.probing import MAX_AXIS_POINTS, MAX_POINTS
from actviz.tables import MAX_TABLE_ROWS

ACTVIZ = str(Path(sys.executable).parent / "actviz")
TARGET_BYTES, TARGET_SECONDS = 1 << 30, 30.0
PAGE = os.sysconf("SC_PAGE_SIZE")


def commands(out: str) -> list[tuple[str, list[str]]]:
    n, half = str(MAX_POINTS), str(MAX_POINTS // 2)
    curves = "max_val=" + ",".join(str(v) for v in range(1, MAX_CURVES + 1))
    each = str(MAX_POINTS // len(registry.names()))  # the shared budget, split over all
    return [
        ("plot, 1-D cap", ["plot", "relu", "--points", n, "--out", f"{out}/a.png"]),
        (
            "plot f″ float64, 1-D cap",
            [
                "plot",
                "gelu",
                "--second",
                "--dtype",
                "float64",
                "--points",
                n,
                "--out",
                f"{out}/b.png",
            ],
        ),
        (
            "plot overlay, 2 × cap/2",
            ["plot", "relu", "gelu", "--points", half, "--out", f"{out}/c.png"],
        ),
        (
            "plot glu, axis cap",
            ["plot", "glu", "--points", str(MAX_AXIS_POINTS), "--out", f"{out}/d.png"],
        ),
        ("table --csv, 1-D cap", ["table", "tanh", "--points", n, "--csv"]),
        (
            "table --json f″ float64, 1-D cap",
            ["table", "gelu", "--second", "--dtype", "float64", "--points", n, "--json"],
        ),
        ("table printed, row cap", ["table", "tanh", "--points", str(MAX_TABLE_ROWS)]),
        ("saturation --all, cap/23 each", ["saturation", "--all", "--points", each]),
        # export --all holds GLU too: its per-axis cap (1,000) is the lower one
        (
            "export --all, GLU's axis cap",
            ["export", "--all", "--points", str(MAX_AXIS_POINTS), "--out", out],
        ),
        (
            "export --all at 600 dpi, under the export pixel cap",
            ["export", "--all", "--dpi", "600", "--out", f"{out}/px"],
        ),
        (
            "export 4 figures at the figure pixel cap (the export pixel cap)",
            [
                "export",
                "relu",
                "gelu",
                "tanh",
                "sigmoid",
                "--figsize",
                "200",
                "50",
                "--dpi",
                "100",
                "--out",
                f"{out}/px4",
            ],
        ),
        ("plot --term, 1-D cap", ["plot", "relu", "--points", n, "--term"]),
        (
            "table sweep, curve cap",
            [
                "table",
                "hardtanh",
                "--sweep",
                curves,
                "--points",
                str(MAX_POINTS // MAX_CURVES),
                "--csv",
            ],
        ),
        ("check sweep, curve cap", ["check", "hardtanh", "--sweep", curves]),
        (
            "depth, layer and unit caps",
            [
                "depth",
                "tanh",
                "--layers",
                "1000",
                "--width",
                "100",
                "--batch",
                "100",
                "--no-baseline",
                "--no-plot",
            ],
        ),
        (
            "depth, weight cap",
            ["depth", "tanh", "--layers", "1", "--width", "4000", "--batch", "1000", "--no-plot"],
        ),
        (
            "depth orthogonal",
            [
                "depth",
                "tanh",
                "--init",
                "orthogonal",
                "--layers",
                "1",
                "--width",
                "3000",
                "--batch",
                "1",
                "--no-plot",
            ],
        ),
        (
            "jacobian, size cap",
            ["jacobian", "softmax", "--random", str(MAX_SIZE), "--out", f"{out}/j.png"],
        ),
        ("refused: table 10⁷ points", ["table", "tanh", "--points", "10000000", "--csv"]),
        ("refused: plot 2·10⁷ points", ["plot", "relu", "--range", "-1e6", "1e6"]),
        ("refused: glu 20,000²", ["plot", "glu", "--points", "20000"]),
        ("refused: export --all at 700 dpi", ["export", "--all", "--dpi", "700", "--out", out]),
    ]


def _tree_rss(root: int) -> int:
    """Resident bytes of ``root`` and all its descendants, now."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            statm = Path(f"/proc/{entry}/statm").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
        rss[int(entry)] = int(statm.split()[1]) * PAGE
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


def measure(args: list[str], cwd: str) -> tuple[float, int, int, int]:
    """(seconds, peak tree RSS, largest process RSS, exit code) of one run."""
    env = {**os.environ, "CI": "1", "MPLBACKEND": "Agg"}
    start = time.perf_counter()
    with open(os.devnull, "w") as sink, tempfile.TemporaryFile() as errors:
        process = subprocess.Popen([ACTVIZ, *args], cwd=cwd, env=env, stdout=sink, stderr=errors)
        peak = 0
        while True:
            # wait4's rusage is this child's own: ru_maxrss is the largest of it and
            # the workers it waited for (getrusage(RUSAGE_CHILDREN) keeps a running max).
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, _tree_rss(process.pid))
            time.sleep(0.02)
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        errors.seek(0)
        error = errors.read().decode().strip()
    largest = usage.ru_maxrss * 1024
    if error and process.returncode != 0:
        print(f"    stderr: {error.splitlines()[-1][:150]}")
    return seconds, max(peak, largest), largest, process.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="run only commands whose label contains this")
    options = parser.parse_args()
    print(f"caps: {MAX_POINTS:,} samples, {MAX_AXIS_POINTS:,} per GLU axis, "
          f"{MAX_TABLE_ROWS:,} printed rows; {os.cpu_count()} cores")  # fmt: skip
    print(f"{'command':<34} {'exit':>4} {'wall s':>7} {'tree MB':>8} {'max proc MB':>11}  verdict")
    failed = False
    with tempfile.TemporaryDirectory() as out:
        for label, args in commands(out):
            if options.only and options.only not in label:
                continue
            seconds, peak, largest, code = measure(args, out)
            ok = seconds < TARGET_SECONDS and peak < TARGET_BYTES
            ok &= code == (2 if label.startswith("refused") else 0)
            failed |= not ok
            print(f"{label:<34} {code:>4} {seconds:>7.1f} {peak / 2**20:>8.0f} "
                  f"{largest / 2**20:>11.0f}  {'ok' if ok else 'OVER TARGET'}")  # fmt: skip
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
