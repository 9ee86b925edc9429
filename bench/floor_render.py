"""The floor the benchmarks compare against: what a hand-written script pays.

``python bench/floor_render.py OUT NAME [NAME ...]`` imports torch and
matplotlib and, for each activation, computes y and ``backward(ones_like(y))``
on d2l's grid and saves a two-panel figure as a notebook would draw it
(titles, axis label, grid), at actviz's size and resolution. No actviz code
runs except the registry, to build the same torch modules.
"""

import sys

import matplotlib  # noqa: F401
import torch
from matplotlib.figure import Figure

from actviz.registry import get


def main(out: str, names: list[str]) -> None:
    for name in names:
        act = get(name)
        module = act.build(act.defaults)
        x = torch.arange(-8.0, 8.0, 0.1, requires_grad=True)
        y = module(x)
        y.backward(torch.ones_like(y))
        assert x.grad is not None
        fig = Figure(figsize=(9.6, 3.6))
        left, right = fig.subplots(1, 2)
        for ax, values, title in ((left, y, "f(x)"), (right, x.grad, "f'(x)")):
            ax.plot(x.detach().numpy(), values.detach().numpy())
            ax.set_title(title)
            ax.set_xlabel("x")
            ax.grid(True)
        fig.suptitle(name)
        fig.savefig(f"{out}/{name}.png", dpi=150)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
