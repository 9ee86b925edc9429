"""`actviz check --all` against a plain-torch script that runs the same torch checks.

Run by hand (``make bench`` or ``.venv/bin/python bench/check.py``); not part of
the test suite. Paired, interleaved rounds (bench/_timing.py):

* ``actviz check --all`` (every registered activation: f, f′ and f″ in float64,
  float32, bfloat16 and float16 against the 50-digit mpmath reference, in ulps,
  the kinks against PyTorch's documented values, gradcheck and gradgradcheck;
  target: under 15 s on a 2-core machine);
* its floor, :data:`FLOOR` (no actviz): for each activation and each of the four
  dtypes, f, f′ (``backward``) and f″ (double backward) at the same points
  (241 over [−40, 40] offset by 0.0371, 40 small ones ±1.375·2⁻ᵏ, tails to
  ±1000, all rounded to bfloat16 so they are exact in every dtype, and each
  kink), the worst error of each order in ulps of the dtype against float64,
  f′ at each kink, and ``gradcheck`` and ``gradgradcheck`` in full mode in
  float64 on 33 points over [−8, 8] (f″ and gradgradcheck only where f is not
  piecewise linear, as actviz); one printed line per activation.

Fair as a floor: the torch work of the check, the plainest way, with float64
as the reference a user without one would take. What it leaves out is what
actviz adds on top and the ratio prices: the 50-digit reference itself (mpmath,
f, f′ and f″ at every point), the verdict per sample (accurate, torch's
precision loss, wrong) and the search for where a non-finite stretch starts,
the kink rules, the report.

``--breakdown`` also prints, in one process, where the time of ``check --all``
goes: importing torch, the first pass (the mpmath reference, torch's lazy
imports for double backward and gradcheck) and a second pass with the
references cached.
"""

from __future__ import annotations

import argparse
import json
import subprocess

from _timing import ACTVIZ, ENV, PYTHON, Row, compare

FLOOR = """
import json, sys
import numpy as np
import torch
from torch import nn

acts = json.loads(sys.argv[1])  # [[name, torch.nn class, kwargs, kinks, linear], ...]
# (bits of precision, smallest subnormal) of each dtype
formats = {torch.float32: (24, 2.0**-149), torch.bfloat16: (8, 2.0**-133),
           torch.float16: (11, 2.0**-24)}
spread = np.linspace(-40.0, 40.0, 241) + 0.0371
small = [s * 1.375 * 2.0**-k for k in range(1, 21) for s in (-1, 1)]
tails = [s * t for t in (48, 64, 96, 128, 192, 256, 384, 512, 768, 1000) for s in (-1, 1)]
points = torch.tensor([*spread, *small, *tails], dtype=torch.float64)
points = torch.unique(points.to(torch.bfloat16).double())


def orders(module, x, second):
    x = x.clone().requires_grad_(True)
    y = module(x)
    (g,) = torch.autograd.grad(y, x, torch.ones_like(y), create_graph=second)
    found = [y, g]
    if second:  # f″ where f is not piecewise linear
        found += torch.autograd.grad(g, x, torch.ones_like(g))
    return [v.detach().double() for v in found]


def ulps(got, want, dtype):
    bits, smallest = formats[dtype]
    _, exponent = np.frexp(np.abs(want.numpy()))
    spacing = np.maximum(np.ldexp(1.0, exponent - bits), smallest)
    with np.errstate(invalid="ignore"):
        return float(np.nanmax(np.abs(got.numpy() - want.numpy()) / spacing))


grid = torch.linspace(-8.0, 8.0, 33, dtype=torch.float64) + 0.0371
for name, module_name, kwargs, kinks, linear in acts:
    module = getattr(nn, module_name)(**kwargs).eval()
    want = orders(module.double(), points, not linear)
    worst = []
    for dtype in (torch.float32, torch.bfloat16, torch.float16):
        here = module.to(dtype)
        got = orders(here, points.to(dtype), not linear)
        worst.append(max(ulps(a, b, dtype) for a, b in zip(got, want)))
        if kinks:
            orders(here, torch.tensor(kinks, dtype=dtype), False)
    module = module.double()
    keep = torch.ones_like(grid, dtype=torch.bool)
    for kink in kinks:
        keep &= (grid - kink).abs() > 1e-3
    x = (grid[keep].clone().requires_grad_(True),)
    options = {"eps": 1e-6, "atol": 1e-5, "rtol": 1e-3, "raise_exception": False}
    first = torch.autograd.gradcheck(module, x, fast_mode=False, **options)
    second = None if linear else torch.autograd.gradgradcheck(module, x, fast_mode=False, **options)
    print(name, "worst ulps vs float64 (float32, bfloat16, float16):",
          " ".join(f"{u:.3g}" for u in worst), "gradcheck", first, "gradgradcheck", second)
"""

IN_PROCESS = """
import time
t0, c0 = time.perf_counter(), time.process_time()
import torch
from actviz import registry
from actviz.check import verify
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


def floor_command() -> list[str]:
    """The floor's command line: every registered activation as its torch.nn class,
    arguments and kinks (from the registry here, so the floor imports no actviz)."""
    from actviz import registry

    acts = []
    for name in registry.names():
        act = registry.get(name)
        kinks = list(act.kinks(act.defaults))
        acts.append([name, act.module, dict(act.defaults), kinks, act.piecewise_linear])
    return [PYTHON, "-c", FLOOR, json.dumps(acts)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--breakdown", action="store_true", help="Also time the parts.")
    options = parser.parse_args()
    floor = "floor: plain-torch check script"
    rows = [
        Row(floor, floor_command()),
        # exit 1 is the check's verdict (torch fails some derivatives), not a failure here
        Row("actviz check --all", [ACTVIZ, "check", "--all"], floor, "< 15 s", (0, 1)),
    ]
    compare(rows, options.repeat, "check --all: actviz against the torch checks done plainly")
    if options.breakdown:
        print("check --all in one process:")
        subprocess.run([PYTHON, "-c", IN_PROCESS], check=True, env=ENV)


if __name__ == "__main__":
    main()
