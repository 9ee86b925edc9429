"""``actviz check`` timings (run by hand, not in the tests). Target: ``check --all``
under 15 s on a 2-core machine.

Whole processes (best and median of ``--repeat`` runs, wall and CPU):
``check --all``, ``check --all --dtype float64`` and single activations. Then,
in one process, where the time of ``check --all`` goes: importing torch, the
first pass (mpmath reference, torch's lazy imports for double backward and
gradcheck) and a second pass with the references cached.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ACTVIZ = str(Path(sys.executable).parent / "actviz")

IN_PROCESS = """
import time
t0, c0 = time.perf_counter(), time.process_time()
import torch
from actviz import registry, verify
t1, c1 = time.perf_counter(), time.process_time()
specs = [registry.spec(n) for n in registry.names()]
verify.verify_all(specs)
t2, c2 = time.perf_counter(), time.process_time()
verify.verify_all(specs)
t3, c3 = time.perf_counter(), time.process_time()
print(f"  import torch + actviz   {t1 - t0:6.2f} s wall {c1 - c0:6.2f} s CPU")
print(f"  first pass              {t2 - t1:6.2f} s wall {c2 - c1:6.2f} s CPU")
print(f"  second pass (cached)    {t3 - t2:6.2f} s wall {c3 - c2:6.2f} s CPU")
"""


def run(args: list[str]) -> tuple[float, float]:
    """(wall, CPU of the child) seconds for one ``actviz`` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([ACTVIZ, *args], capture_output=True, check=False, env=os.environ)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for args in (["--all"], ["--all", "--dtype", "float64"], ["tanh"], ["relu"], ["softsign"]):
        times = [run(["check", *args]) for _ in range(options.repeat)]
        walls, cpu = [w for w, _ in times], statistics.median(c for _, c in times)
        median = statistics.median(walls)
        print(f"check {' '.join(args):<26} wall best {min(walls):5.2f} s median {median:5.2f} s; "
              f"CPU median {cpu:5.2f} s")  # fmt: skip
    print("check --all in one process:")
    subprocess.run([sys.executable, "-c", IN_PROCESS], check=True)


if __name__ == "__main__":
    main()
