"""`actviz shape --all` against a plain numpy/torch DKS solve, as whole processes.

Run by hand (``make bench`` or ``.venv/bin/python bench/shape.py``); not part of
the test suite. Paired, interleaved rounds (bench/_timing.py); skipped, saying
so, where this actviz has no ``shape`` command (``actviz shape --help`` fails),
so that ``make bench`` runs before and after the command lands.

* ``actviz shape --all`` as it comes (its own defaults: method, depth, targets);
* its floor, :data:`FLOOR` (no actviz): the transform of Deep Kernel Shaping
  (Martens et al. 2021) solved the plainest way for every registered
  activation, φ̂(x) = γ·(φ(α·x + β) + δ) for input variance q = 1: δ centres it
  (E[φ̂(z)] = 0, so C(0) = 0), γ normalises it (E[φ̂(z)²] = 1), and (α, β)
  solve the two remaining conditions, the variance map's slope Q′(1) =
  E[z·φ̂(z)·φ̂′(z)] = 1 and the network's C′(1) = E[φ̂′(z)²]^L = ζ (ζ = 1.5,
  L = ``--depth``, 20 by default: ``shape`` requires a depth, and its cost grows
  with it, one 2-D quadrature per layer for the network's C(0)), by damped Gauss–Newton steps with a
  finite-difference Jacobian (at most 30; homogeneous ones such as relu have
  no solution and stop there); every expectation on a 101-node
  Gauss–Hermite rule with f and f′ in float64 by torch autograd; one printed
  line per activation (α, β, γ, δ and the conditions' residuals); and, where
  ``shape``'s help offers ``--no-plot`` (it draws by default), one figure of
  the shaped activations and their derivatives (a Figure, 11 × 5.4 in, 150 dpi).

Fair as a floor: the numbers the method defines, each from its one-dimensional
expectation, by the plainest solver. What it leaves out is what actviz adds on
top and the ratio prices: whatever else ``shape`` computes by default (TAT,
the network's C″(1), checks against the method's targets, the snippet), its
accuracy at the kinks, and its report. When ``shape`` lands, check that its
defaults still match this description (method DKS, ζ = 1.5), and pass
``--depth`` to both if its default depth is not 100.
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

acts = json.loads(sys.argv[1])  # [[name, torch.nn class, kwargs], ...]
depth, zeta, draw = int(sys.argv[2]), float(sys.argv[3]), sys.argv[4] == "draw"
z, w = np.polynomial.hermite_e.hermegauss(101)
w = w / w.sum()


def values(f, alpha, beta):
    x = torch.from_numpy(alpha * z + beta).requires_grad_(True)
    y = f(x)
    (g,) = torch.autograd.grad(y, x, torch.ones_like(y))
    return y.detach().numpy(), alpha * g.numpy()  # φ(αz + β) and its derivative in z


def transform(f, alpha, beta):
    y, g = values(f, alpha, beta)
    delta = -float(np.dot(w, y))
    variance = float(np.dot(w, (y + delta) ** 2))
    gamma = 1 / math.sqrt(variance) if variance > 0 else math.inf
    return gamma, delta, gamma * (y + delta), gamma * g


def residuals(f, p):  # (Q′(1) − 1, L·log C′(1) − log ζ); inf where φ is constant there
    gamma, _, shaped, slope = transform(f, p[0], p[1])
    if not math.isfinite(gamma):
        return np.array([math.inf, math.inf])
    q_slope = float(np.dot(w, z * shaped * slope))
    c_slope = float(np.dot(w, slope * slope))
    return np.array([q_slope - 1.0, depth * math.log(max(c_slope, 1e-300)) - math.log(zeta)])


print(f"{'activation':<12}{'alpha':>10}{'beta':>10}{'gamma':>10}{'delta':>10}{'residual':>10}")
shaped_all = []
for name, module, kwargs in acts:
    f = getattr(nn, module)(**kwargs).double().eval()
    p = np.array([1.0, 0.0])
    r = residuals(f, p)
    for _ in range(30):
        if np.max(np.abs(r)) < 1e-10:
            break
        jac = np.empty((2, 2))
        for k in range(2):
            step = np.zeros(2)
            step[k] = 1e-7
            jac[:, k] = (residuals(f, p + step) - r) / 1e-7
        if not np.isfinite(jac).all():
            break
        # least squares: β does not move an odd φ's conditions at β = 0, and nothing
        # moves relu's Q′(1) (1 whatever α and β): no exact solution there
        move = np.linalg.lstsq(jac, -r, rcond=1e-6)[0]  # FD noise is no direction
        scale = 1.0
        while scale > 1e-3:
            trial = p + scale * move
            if trial[0] > 0:
                r_trial = residuals(f, trial)
                if np.sum(r_trial * r_trial) < np.sum(r * r):  # Gauss–Newton's merit
                    p, r = trial, r_trial
                    break
            scale /= 2
        else:
            break
    gamma, delta, _, _ = transform(f, p[0], p[1])
    shaped_all.append((name, f, p, gamma, delta))
    print(f"{name:<12}{p[0]:>10.4g}{p[1]:>10.4g}{gamma:>10.4g}{delta:>10.4g}"
          f"{np.max(np.abs(r)):>10.2g}")

if draw:
    fig = Figure(figsize=(11.0, 5.4))
    left, right = fig.subplots(1, 2)
    x = np.linspace(-4.0, 4.0, 401)
    for k, (name, f, p, gamma, delta) in enumerate(shaped_all):
        t = torch.from_numpy(p[0] * x + p[1]).requires_grad_(True)
        out = f(t)
        (grad,) = torch.autograd.grad(out, t, torch.ones_like(out))
        left.plot(x, gamma * (out.detach().numpy() + delta), color=f"C{k % 10}", label=name)
        right.plot(x, gamma * p[0] * grad.numpy(), color=f"C{k % 10}")
    left.set_title("shaped activation")
    right.set_title("its derivative")
    left.legend(fontsize="small", ncols=2)
    fig.suptitle(f"DKS, {depth} layers, zeta {zeta:g}")
    fig.savefig("shape-floor.png", dpi=150)
"""

ZETA = 1.5


def floor_command(depth: int, draw: bool) -> list[str]:
    """The floor's command line: every registered activation as its torch.nn class
    and arguments (from the registry here, so the floor imports no actviz)."""
    from actviz import registry

    acts = [[n, registry.get(n).module, dict(registry.get(n).defaults)] for n in registry.names()]
    return [PYTHON, "-c", FLOOR, json.dumps(acts), str(depth), str(ZETA),
            "draw" if draw else "no"]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--depth", type=int, default=20, help="Depth L, passed to both (shape needs one)."
    )
    args = parser.parse_args()
    shown = help_text("shape")
    if shown is None:
        print("shape: this actviz has no `shape` command (actviz shape --help failed); skipped")
        return
    command = [ACTVIZ, "shape", "--all", "--depth", str(args.depth)]
    floor = "floor: plain DKS solve"
    rows = [
        Row(floor, floor_command(args.depth, "--no-plot" in shown)),
        Row(" ".join(["actviz", *command[1:]]), command, floor, "none set"),
    ]
    compare(rows, args.repeat, "shape --all: actviz against a plain DKS solve")


if __name__ == "__main__":
    main()
