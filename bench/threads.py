"""What one intra-op thread costs a probe (actviz/environment.py pins it).

Run by hand (``make bench`` or ``.venv/bin/python bench/threads.py``); it is not
part of the test suite. For each activation and size, a probe pinned to one
thread (what actviz does) and the same evaluation with torch's own thread
count are timed in pairs, interleaved, ``--repeat`` times after a warm-up;
min / median / max of each and the median ratio pinned ÷ free are printed.
The ratio is the price of bits that do not depend on the thread count.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from actviz import environment as environment_module
from actviz import probe

SIZES = (10_001, 100_017, 1_000_000)
NAMES = ("relu", "gelu", "mish", "sigmoid")


def _timed(name: str, points: int) -> float:
    start = time.perf_counter()
    probe(name, start=-8, stop=8, points=points)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    free_threads = torch.get_num_threads()
    print(f"torch {torch.__version__}, {free_threads} intra-op threads when not pinned")
    print(f"{'activation':<10} {'points':>9}  {'pinned min/med/max (ms)':>26}  "
          f"{'free min/med/max (ms)':>24}  pinned ÷ free")  # fmt: skip
    for name in NAMES:
        for points in SIZES:
            pinned, free = [], []
            _timed(name, points)  # warm-up
            for _ in range(args.repeat):
                pinned.append(_timed(name, points))
                # the same probe with the pin lifted: torch's own thread count
                environment_module.EVALUATION_THREADS = free_threads
                try:
                    free.append(_timed(name, points))
                finally:
                    environment_module.EVALUATION_THREADS = 1

            def span(values: list[float]) -> str:
                ms = [v * 1e3 for v in values]
                return f"{min(ms):.1f} / {statistics.median(ms):.1f} / {max(ms):.1f}"

            ratio = statistics.median(pinned) / statistics.median(free)
            print(f"{name:<10} {points:>9,}  {span(pinned):>26}  {span(free):>24}  {ratio:.2f}")


if __name__ == "__main__":
    main()
