"""GLU, drawn honestly: a function of two inputs, GLU(a, b) = a·σ(b).

``nn.GLU`` splits its input in half and gates one half with the sigmoid of the
other. Fed the same x for both halves it becomes x·σ(x), which is SiLU — the
reason PyTorch's own docs image of GLU was removed. So actviz draws GLU over
the (a, b) plane: the value and both partial derivatives, from autograd.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from actviz.probe import Grid

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

NAME = "glu"
DEFAULT_POINTS = 201  # per axis


@dataclass(frozen=True, eq=False)
class GluProbe:
    """GLU on a grid of (a, b): ``value[i, j]`` is at ``b[i]``, ``a[j]``."""

    a: np.ndarray
    b: np.ndarray
    value: np.ndarray
    grad_a: np.ndarray  # ∂/∂a = σ(b)
    grad_b: np.ndarray  # ∂/∂b = a·σ(b)·(1 − σ(b))


def probe_glu(grid: Grid | None = None) -> GluProbe:
    """GLU(a, b) and its partials from ``backward(ones_like(y))``, on grid × grid."""
    import torch
    import torch.nn.functional as F

    grid = grid or Grid()
    if grid.points is None and grid.step is None:
        grid = Grid(grid.start, grid.stop, points=DEFAULT_POINTS)
    grid.check_square()  # N × N samples: the 1-D cap alone would allow 10¹² of them
    axis = grid.tensor(torch.float64, "cpu")
    b, a = torch.meshgrid(axis, axis, indexing="ij")
    halves = torch.stack([a, b], dim=-1).requires_grad_(True)  # last dim: [a, b]
    y = F.glu(halves, dim=-1).squeeze(-1)  # a · σ(b)
    y.backward(torch.ones_like(y))  # type: ignore[no-untyped-call]
    assert halves.grad is not None
    return GluProbe(
        a=axis.numpy(),
        b=axis.numpy(),
        value=y.detach().numpy(),
        grad_a=halves.grad[..., 0].numpy(),
        grad_b=halves.grad[..., 1].numpy(),
    )


def draw_heatmap(ax: Axes, probe: GluProbe, field: str, title: str) -> Any:
    """One of ``value``, ``grad_a``, ``grad_b`` over the (a, b) plane; returns the mesh."""
    import numpy as np

    data = getattr(probe, field)
    limit = float(np.abs(data).max()) or 1.0
    mesh = ax.pcolormesh(probe.a, probe.b, data, cmap="RdBu_r", vmin=-limit, vmax=limit)
    ax.set_title(title)
    ax.set_xlabel("a (passed through)")
    ax.set_ylabel("b (gate)")
    ax.set_aspect("equal")
    return mesh


def glu_figure(probe: GluProbe) -> Figure:
    """Three heatmaps: a·σ(b), ∂/∂a and ∂/∂b."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(14.4, 4.6))
    axes = fig.subplots(1, 3)
    panels = (
        ("value", "GLU(a, b) = a·σ(b)"),
        ("grad_a", "∂/∂a = σ(b)"),
        ("grad_b", "∂/∂b = a·σ(b)(1 − σ(b))"),
    )
    for ax, (field, title) in zip(axes, panels, strict=True):
        fig.colorbar(draw_heatmap(ax, probe, field, title), ax=ax, shrink=0.8)
    fig.suptitle(
        "glu: torch.nn.functional.glu on [a, b], gradients from backward(ones_like(y)) "
        "(a = b = x would make it silu)",
        fontsize="medium",
    )
    fig.subplots_adjust(left=0.05, right=0.97, top=0.82, bottom=0.12, wspace=0.35)
    return fig


def glu_file(
    grid: Grid | None = None,
    *,
    out: str | Path | None = None,
    out_dir: str | Path = "outputs",
    fmt: str | None = None,
    dpi: int = 150,
) -> Path:
    """Probe GLU over the (a, b) plane and write the three heatmaps; returns the path."""
    from actviz.plotting import output_path, save_figure

    path, kind = output_path(NAME, out=out, out_dir=out_dir, fmt=fmt)
    return save_figure(glu_figure(probe_glu(grid)), path, fmt=kind, dpi=dpi)
