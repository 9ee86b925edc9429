"""`actviz explore --all` against `actviz export --all`: the interactive page of every
activation against the static gallery of the same activations.

Run by hand (``.venv/bin/python bench/explore.py``); not part of the test suite.
Paired, interleaved rounds (bench/_timing.py), target ≤ 1.5× (issue 24):

* ``actviz explore --all --out explore.html``: every registered activation at
  every slider position (a product grid for two sliders: 151 positions) in
  float32, bfloat16 and float16, each probed (f, f′, f″ on 801 samples of
  [−20, 20]; bfloat16 321) and analysed (regimes, underflow edges in that
  dtype), packed into one self-contained page;
* its floor, ``actviz export --all --out gallery``: one PNG per activation (24
  figures, value and gradient panels with the regime shading, four dtypes'
  underflow edges), the manifest and the gallery page.

Both run in a fresh temporary folder each round, with the default worker
processes (one per usable core). The floor is the command the issue names,
not a plain script: the ratio says what the interactive page costs beside
the static gallery.
"""

from __future__ import annotations

import argparse

from _timing import ACTVIZ, Row, compare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    floor = "actviz export --all"
    rows = [
        Row(floor, [ACTVIZ, "export", "--all", "--out", "gallery"]),
        Row(
            "actviz explore --all",
            [ACTVIZ, "explore", "--all", "--out", "explore.html"],
            floor,
            "≤ 1.5×",
        ),
    ]
    compare(rows, args.repeat, "explore --all against export --all")


if __name__ == "__main__":
    main()
