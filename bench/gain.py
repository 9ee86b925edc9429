"""`actviz gain --all` against a plain numpy/torch script that computes the same numbers.

Run by hand (``make bench`` or ``.venv/bin/python bench/gain.py``); not part of
the test suite. Paired, interleaved rounds (bench/_timing.py), target ≤ 1.5×:

* ``actviz gain --all``: for every registered activation the forward and
  backward gains, E[f(z)], torch's ``calculate_gain``, the critical σ_w at
  σ_b = 0 (with the jump / q* → 0 analysis), χ₁ at nn.Linear's default init,
  the variance map's slope at q = 1, and the table;
* its floor, :data:`FLOOR` (no actviz): the same quadrature done plainly. For
  each activation, f and f′ once in float64 by torch autograd on a
  Gauss–Legendre rule over the real line (8 nodes per panel, panels split at 0
  and the kinks and graded by 1.25 from 1e-8 to 1e8, as actviz's own rule, so
  every q from 1e-14 to 1e12 is resolved by re-weighting the same values);
  E[f²], E[f′²], E[f] at q = 1; ``calculate_gain``; the fixed point q* reached
  from q = 1 (walk q = 2^k to the first sign change, then bisect in log q,
  50 halvings); χ₁ there at σ_w² = 1/3; the critical σ_w by a 19-point log
  scan of χ₁ − 1 over [0.05, 50] (q* to 25 halvings: the sign is all the scan
  needs) and 40 halvings of the bracket found; the slope by a central difference; one
  printed line per activation.

Fair as a floor: every number in the table, by the plainest correct method
(bisection rather than actviz's regula falsi, no caching). What it leaves out
is what actviz adds on top and the ratio prices: the σ_b search for a true
edge where χ₁ jumps, the exact-derivative correction (hardsigmoid's f′ from the
50-digit reference), the notes, the rich table. ``floor: import torch`` is
printed for scale.
"""

from __future__ import annotations

import argparse
import json

from _timing import ACTVIZ, PYTHON, Row, compare

FLOOR = """
import json, math, sys
import numpy as np
import torch
from torch import nn

acts = json.loads(sys.argv[1])  # [[name, torch.nn class, kwargs, kinks], ...]
t, tw = np.polynomial.legendre.leggauss(8)
half = 1e-8 * 1.25 ** np.arange(math.ceil(math.log(1e16) / math.log(1.25)) + 1)


def rule(kinks):
    edges = np.unique(np.concatenate([[0.0], half, -half, kinks]))
    a, b = edges[:-1, None], edges[1:, None]
    return ((b - a) / 2 * t + (a + b) / 2).ravel(), ((b - a) / 2 * tw).ravel()


def expect(x, w, values, q):  # E[values(x)], x ~ N(0, q): nodes within 40 std
    q = min(max(q, 1e-14), 1e12)
    i, j = np.searchsorted(x, (-40 * math.sqrt(q), 40 * math.sqrt(q)))
    density = w[i:j] * np.exp(-0.5 * x[i:j] ** 2 / q) / math.sqrt(2 * math.pi * q)
    return float(np.dot(density, values[i:j]))


def fixed_point(x, w, f2, sw, sb=0.0, steps=50):
    def h(q):
        return sw * sw * expect(x, w, f2, q) + sb * sb - q

    up = h(1.0) > 0  # the map moves q up (down) from 1 to the first sign change
    step, lo, hi = (2.0 if up else 0.5), 1.0, 1.0
    while (h(hi) > 0) == up:
        lo, hi = hi, hi * step
        if not 1e-14 <= hi <= 1e12:
            return math.inf if up else 0.0
    lo, hi = math.log(min(lo, hi)), math.log(max(lo, hi))
    up = h(math.exp(lo)) > 0
    for _ in range(steps):
        mid = (lo + hi) / 2
        if (h(math.exp(mid)) > 0) == up:
            lo = mid
        else:
            hi = mid
    return math.exp((lo + hi) / 2)


def chi1(x, w, f2, g2, sw, sb=0.0, steps=50):
    return sw * sw * expect(x, w, g2, fixed_point(x, w, f2, sw, sb, steps))


def critical(x, w, f2, g2):
    grid = np.linspace(math.log(0.05), math.log(50.0), 19)
    # the scan needs only the sign of chi1 - 1: q* to 25 halvings (1e-8) will do there
    if chi1(x, w, f2, g2, math.exp(grid[0]), steps=25) >= 1:
        return None
    for lo, hi in zip(grid[:-1], grid[1:]):
        if chi1(x, w, f2, g2, math.exp(hi), steps=25) >= 1:
            for _ in range(40):
                mid = (lo + hi) / 2
                if chi1(x, w, f2, g2, math.exp(mid)) >= 1:
                    hi = mid
                else:
                    lo = mid
            return math.exp(hi)
    return None


print(f"{'activation':<12}{'forward':>10}{'backward':>10}{'mean':>11}{'torch':>8}"
      f"{'critical':>10}{'chi1 dflt':>11}{'slope':>8}")
for name, module, kwargs, kinks in acts:
    act = getattr(nn, module)(**kwargs).double().eval()
    nodes, w = rule([k for k in kinks if abs(k) < 1e8])
    x = torch.from_numpy(nodes).requires_grad_(True)
    y = act(x)
    (g,) = torch.autograd.grad(y, x, torch.ones_like(y))
    f, g = y.detach().numpy(), g.numpy()
    f2, g2 = f * f, g * g
    forward, backward = expect(nodes, w, f2, 1.0), expect(nodes, w, g2, 1.0)
    try:
        gain = float(nn.init.calculate_gain(name, kwargs.get("negative_slope")))
    except ValueError:
        gain = None
    slope = (expect(nodes, w, f2, 1 + 1e-4) - expect(nodes, w, f2, 1 - 1e-4)) / 2e-4 / forward
    sigma = critical(nodes, w, f2, g2)
    default = chi1(nodes, w, f2, g2, math.sqrt(1 / 3))
    print(f"{name:<12}{forward ** -0.5:>10.4g}{backward ** -0.5:>10.4g}"
          f"{expect(nodes, w, f, 1.0):>11.4g}{gain or '-':>8.4}{sigma or '-':>10.4}"
          f"{default:>11.4g}{slope:>8.4g}")
"""


def floor_command() -> list[str]:
    """The floor's command line: every registered activation as its torch.nn class,
    arguments and kinks (taken from the registry here, so the floor imports no actviz)."""
    from actviz import registry

    acts = []
    for name in registry.names():
        act = registry.get(name)
        acts.append([name, act.module, dict(act.defaults), list(act.kinks(act.defaults))])
    return [PYTHON, "-c", FLOOR, json.dumps(acts)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    torch, floor = "floor: import torch", "floor: plain quadrature script"
    rows = [
        Row(torch, [PYTHON, "-c", "import torch"]),
        Row(floor, floor_command()),
        Row("actviz gain --all", [ACTVIZ, "gain", "--all"], floor, "≤ 1.5×"),
    ]
    compare(rows, args.repeat, "gain --all: actviz against the same quadrature done plainly")


if __name__ == "__main__":
    main()
