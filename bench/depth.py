"""`actviz depth` against a plain-torch script that does the same, as whole processes.

Run by hand (``make bench`` or ``.venv/bin/python bench/depth.py``); not part of
the test suite. Paired, interleaved rounds (bench/_timing.py); target ≤ 1.5×:

* ``actviz depth sigmoid tanh relu gelu --layers 30 --width 256`` (the defaults
  otherwise: batch 256, kaiming init at the forward gain, a seeded random output
  gradient, each network also at nn.Linear's default init, the figure and the
  table);
* its floor, :data:`FLOOR`: the script a user would write for the same
  experiment with torch, numpy and matplotlib alone (no actviz). It builds the
  same eight MLPs (30 × Linear(256, 256) + activation, the same seed, weights
  drawn the same way: ``skip_init`` then N(0, gain²/256) and zero biases, gain
  1/√E[f(z)²] by 101-node Gauss–Hermite quadrature; the baselines at
  nn.Linear's own init), runs the same forward and backward from the same
  seeded random output gradient, one thread as actviz runs them, takes every
  layer's activation std and gradient std at its input, the 61-bin histograms of
  activations and of log10|g| per layer of the four kaiming runs, and draws one
  figure of the same layout, size and resolution (a Figure, not pyplot: 4 × 2
  histogram panels of 30 curves, a colour bar, the two std-per-layer panels of
  8 curves on log axes, a legend) to a PNG.

Fair as a floor: it is the work the command's question cannot do without (the
networks, one backward, the per-layer statistics, one figure of them), done
the plainest way. What it leaves out is what actviz adds on top, and the ratio
prices it: saturated and dead shares per layer from f′ (one more pass), the
mean-field prediction and verdicts, the gain by float64 quadrature, the table.
``floor: import torch`` is printed for scale.
"""

from __future__ import annotations

import argparse
import json

from _timing import ACTVIZ, PYTHON, Row, compare

NAMES = ("sigmoid", "tanh", "relu", "gelu")
LAYERS, WIDTH, BATCH = 30, 256, 256

FLOOR = """
import json, math, sys
import matplotlib as mpl
import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn

acts = json.loads(sys.argv[1])  # [[name, torch.nn class, kwargs], ...]
layers, width, batch = (int(v) for v in sys.argv[2:5])
torch.set_num_threads(1)
z, w = np.polynomial.hermite_e.hermegauss(101)
w = w / w.sum()


def run(act, gain, histograms):
    torch.manual_seed(0)
    x = torch.randn(batch, width)
    linears = []
    for _ in range(layers):
        if gain is None:
            linears.append(nn.Linear(width, width))
            continue
        linear = nn.utils.skip_init(nn.Linear, width, width)
        nn.init.normal_(linear.weight, 0.0, gain / math.sqrt(width))
        nn.init.zeros_(linear.bias)
        linears.append(linear)
    grad_out = torch.randn(batch, width)
    x.requires_grad_(True)
    inputs, outs, h = [x], [], x
    for linear in linears:
        h = act(linear(h))
        h.retain_grad()
        outs.append(h)
    h.backward(grad_out)
    inputs += outs[:-1]
    with torch.no_grad():
        act_std = [float(o.std()) for o in outs]
        grad_std = [float(i.grad.std()) for i in inputs]
        hists = []
        if histograms:
            for o, i in zip(outs, inputs):
                a = o.flatten()
                lo, hi = float(a.min()), float(a.max())
                counts = torch.histc(a, 61, lo, hi)
                centres = torch.linspace(lo, hi, 61)
                g = i.grad.flatten().double()
                logs = torch.log10(g[g != 0].abs())
                glo, ghi = float(logs.min()), float(logs.max())
                gcounts = torch.histc(logs, 61, glo, ghi)
                gcentres = torch.linspace(glo, ghi, 61)
                hists.append((centres, counts / counts.sum(), gcentres, gcounts / gcounts.sum()))
    return act_std, grad_std, hists


runs = []
for name, module, kwargs in acts:
    act = getattr(nn, module)(**kwargs)
    f = act(torch.from_numpy(z)).numpy()
    gain = 1 / math.sqrt(float(np.dot(w, f * f)))
    runs.append((name, gain, run(act, gain, True), run(act, None, False)))
    act_std, grad_std, _ = runs[-1][2]
    print(f"{name}: gain {gain:.4g}, gradient layer 1 / layer {layers}: "
          f"{grad_std[0] / grad_std[-1]:.3g}")

fig = Figure(figsize=(3.6 * len(runs), 11.5))
grid = fig.add_gridspec(3, len(runs) + 1, width_ratios=[1] * len(runs) + [0.05])
cmap = mpl.colormaps["viridis"]
for k, (name, gain, (_, _, hists), _) in enumerate(runs):
    top, middle = fig.add_subplot(grid[0, k]), fig.add_subplot(grid[1, k])
    for i, (c, d, gc, gd) in enumerate(hists):
        top.plot(c.numpy(), d.numpy(), color=cmap(i / (layers - 1)), linewidth=1.0)
        middle.plot(gc.numpy(), gd.numpy(), color=cmap(i / (layers - 1)), linewidth=1.0)
    top.set_title(f"{name}, kaiming, gain {gain:.4g}")
    top.set_xlabel("activation")
    middle.set_xlabel("log10|g| at the layer input")
colours = mpl.cm.ScalarMappable(mpl.colors.Normalize(1, layers), cmap)
fig.colorbar(colours, cax=fig.add_subplot(grid[:2, -1]), label="layer")
low = grid[2, :].subgridspec(1, 2)
forward, backward = fig.add_subplot(low[0, 0]), fig.add_subplot(low[0, 1])
for k, (name, _, (act_std, grad_std, _), (base_act, base_grad, _)) in enumerate(runs):
    colour, depth = f"C{k}", range(1, layers + 1)
    forward.plot(depth, act_std, "-o", color=colour, markersize=2.5, label=name)
    forward.plot(depth, base_act, "--o", color=colour, markersize=2.5)
    backward.plot(depth, grad_std, "-o", color=colour, markersize=2.5)
    backward.plot(depth, base_grad, "--o", color=colour, markersize=2.5)
for ax, what in ((forward, "activation std"), (backward, "gradient std")):
    ax.set_yscale("log")
    ax.set_xlabel("layer")
    ax.set_ylabel(what)
fig.legend(loc="lower center", ncols=len(runs))
fig.suptitle(f"{layers} x (Linear({width}, {width}) + activation), batch {batch}")
fig.savefig("depth-floor.png", dpi=150)
"""


def floor_command(names: tuple[str, ...], layers: int, width: int, batch: int) -> list[str]:
    """The floor's command line: the activations as torch.nn classes and arguments."""
    from actviz import registry

    acts = [[n, registry.get(n).module, dict(registry.get(n).defaults)] for n in names]
    return [PYTHON, "-c", FLOOR, json.dumps(acts), str(layers), str(width), str(batch)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    depth = [ACTVIZ, "depth", *NAMES, "--layers", str(LAYERS), "--width", str(WIDTH),
             "--batch", str(BATCH)]  # fmt: skip
    torch, floor = "floor: import torch", "floor: plain-torch depth script"
    rows = [
        Row(torch, [PYTHON, "-c", "import torch"]),
        Row(floor, floor_command(NAMES, LAYERS, WIDTH, BATCH)),
        Row(f"actviz depth {' '.join(NAMES)} --layers {LAYERS}", depth, floor, "≤ 1.5×"),
    ]
    compare(rows, args.repeat, "depth: actviz against the same experiment in plain torch")


if __name__ == "__main__":
    main()
