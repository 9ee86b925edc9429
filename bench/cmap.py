"""`actviz cmap --all` against a plain numpy/torch script that computes the same maps.

Run by hand (``make bench`` or ``.venv/bin/python bench/cmap.py``); not part of
the test suite. Paired, interleaved rounds (bench/_timing.py); skipped, saying
so, where this actviz has no ``cmap`` command:

* ``actviz cmap --all``: for every registered activation the correlation map
  C(c) = E[f(u)f(v)] / E[f(z)²] at 129 values of c, C(0), C′(1) and C″(1), the
  same for 10 layers composed, the table and (unless its help offers no
  ``--no-plot``) the two-panel figure;
* its floor, :data:`FLOOR` (no actviz): what a user would write first. Per
  activation, f in float64 through torch on a 100 × 100 Gauss–Hermite product
  rule, u = x, v = c·x + √(1 − c²)·z, for the same 129 values of c (uniform in
  θ = arccos c); E[f²], E[f], E[f′²] and E[f″²] (double backward) on the 1-D
  rule for C(0), C′(1), C″(1); the network's C(0) by ten more 2-D quadratures;
  the composite curve by interpolating C ten times; one table line per
  activation; the same figure (a Figure, not pyplot: C(c) and C∘…∘C for every
  activation over the dotted identity, a legend, 11 × 5.4 in at 150 dpi) to a
  PNG.

Fair as a floor in its work, not in its accuracy: a Gauss–Hermite rule does
not see kinks, and relu's C(c) comes out off by up to 3e-3 from the arc-cosine
closed form at 100 nodes (1e-3 at 200: the error falls only as 1/n), where
actviz splits its Gauss–Legendre panels at the kinks on both axes and gets
float64 accuracy. The ratio prices that accuracy, the jump detection at the
kinks, and the report.
"""

from __future__ import annotations

import argparse
import json

from _timing import ACTVIZ, PYTHON, Row, compare, help_text

FLOOR = """
import json, math, sys
import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn

acts = json.loads(sys.argv[1])  # [[name, torch.nn class, kwargs, piecewise linear], ...]
layers, draw = int(sys.argv[2]), sys.argv[3] == "draw"
z, w = np.polynomial.hermite_e.hermegauss(100)
w = w / w.sum()
weights = np.outer(w, w)
theta = np.linspace(0.0, math.pi, 129)


def cross(f, fu, c, second):
    s = math.sqrt(max(1.0 - c * c, 0.0))
    v = torch.from_numpy(c * z[:, None] + s * z[None, :])
    with torch.no_grad():
        fv = f(v).numpy()
    return float(np.sum(weights * fu[:, None] * fv)) / second


maps = []
print(f"{'activation':<12}{'C(0)':>10}{'C1(1)':>10}{'C2(1)':>10}{'network C(0)':>14}")
for name, module, kwargs, linear in acts:
    f = getattr(nn, module)(**kwargs).double().eval()
    x = torch.from_numpy(z).requires_grad_(True)
    y = f(x)
    (g,) = torch.autograd.grad(y, x, torch.ones_like(y), create_graph=not linear)
    # f″ by double backward; piecewise linear: f′ jumps at a kink, C″(1) is infinite
    g2 = None if linear else torch.autograd.grad(g, x, torch.ones_like(g))[0]
    fu = y.detach().numpy()
    second = float(np.dot(w, fu * fu))
    slope = float(np.dot(w, g.detach().numpy() ** 2)) / second
    curvature = math.inf if g2 is None else float(np.dot(w, g2.numpy() ** 2)) / second
    curve = np.array([cross(f, fu, math.cos(t), second) for t in theta])
    c0 = 0.0
    for _ in range(layers):
        c0 = cross(f, fu, c0, second)
    maps.append((name, np.cos(theta)[::-1], curve[::-1]))
    print(f"{name:<12}{float(np.dot(w, fu)) ** 2 / second:>10.4g}{slope:>10.4g}"
          f"{curvature:>10.4g}{c0:>14.4g}")

if draw:
    fig = Figure(figsize=(11.0, 5.4))
    one, network = fig.subplots(1, 2)
    c = np.linspace(-1.0, 1.0, 401)
    for k, (name, cs, values) in enumerate(maps):
        one.plot(c, np.interp(c, cs, values), color=f"C{k % 10}")
        composed = c
        for _ in range(layers):
            composed = np.interp(composed, cs, values)
        network.plot(c, composed, color=f"C{k % 10}", label=name)
    for ax, title in ((one, "one layer: C(c)"), (network, f"{layers} layers: C composed")):
        ax.plot(c, c, ":", color="0.5")
        ax.set_xlim(-1, 1)
        ax.set_ylim(-1, 1.05)
        ax.set_xlabel("c, the correlation of two inputs")
        ax.set_title(title)
    network.legend(loc="lower right", fontsize="small")
    fig.suptitle("the correlation map")
    fig.savefig("cmap-floor.png", dpi=150)
"""

LAYERS = 10


def floor_command(draw: bool) -> list[str]:
    """The floor's command line: every registered activation as its torch.nn class
    and arguments (from the registry here, so the floor imports no actviz)."""
    from actviz import registry

    acts = []
    for name in registry.names():
        act = registry.get(name)
        acts.append([name, act.module, dict(act.defaults), act.piecewise_linear])
    return [PYTHON, "-c", FLOOR, json.dumps(acts), str(LAYERS), "draw" if draw else "no"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    shown = help_text("cmap")
    if shown is None:
        print("cmap: this actviz has no `cmap` command (actviz cmap --help failed); skipped")
        return
    draw = "--no-plot" in shown  # it draws a figure unless told not to
    floor = "floor: plain Gauss–Hermite script"
    rows = [
        Row(floor, floor_command(draw)),
        Row("actviz cmap --all", [ACTVIZ, "cmap", "--all"], floor, "none set"),
    ]
    compare(rows, args.repeat, "cmap --all: actviz against a plain quadrature of the same maps")


if __name__ == "__main__":
    main()
