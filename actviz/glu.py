"""GLU, drawn honestly: a function of two inputs, GLU(a, b) = a·σ(b).

``nn.GLU`` splits its input in half and gates one half with the sigmoid of the
other. Fed the same x for both halves it becomes x·σ(x), which is SiLU — the
reason PyTorch's own docs image of GLU was removed. So actviz draws GLU over
the (a, b) plane: the value and both partial derivatives, from autograd.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from actviz.defaults import DEFAULT_DTYPE, DEFAULT_THEME
from actviz.probing import Grid

if TYPE_CHECKING:
    import numpy as np
    import torch
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

NAME = "glu"
DEFAULT_POINTS = 201  # per axis


@dataclass(frozen=True, eq=False)
class GluProbe:
    """GLU on a grid of (a, b): ``value[i, j]`` is at ``b[i]``, ``a[j]``.

    Arrays are float64 copies of the values in ``dtype``. The second partials
    are None unless probed with ``second=True``.
    """

    a: np.ndarray
    b: np.ndarray
    value: np.ndarray
    grad_a: np.ndarray  # ∂/∂a = σ(b)
    grad_b: np.ndarray  # ∂/∂b = a·σ(b)·(1 − σ(b))
    dtype: str = "float64"
    device: str = "cpu"
    grad_aa: np.ndarray | None = None  # ∂²/∂a² = 0
    grad_ab: np.ndarray | None = None  # ∂²/∂a∂b = σ(b)·(1 − σ(b))
    grad_bb: np.ndarray | None = None  # ∂²/∂b² = a·σ(b)·(1 − σ(b))·(1 − 2σ(b))


def plane(grid: Grid | None = None) -> Grid:
    """The axis used for both a and b: ``grid``, or DEFAULT_POINTS on its range."""
    grid = grid or Grid()
    if grid.points is None and grid.step is None:
        return Grid(grid.start, grid.stop, points=DEFAULT_POINTS)
    return grid


def probe_glu(
    grid: Grid | None = None,
    *,
    dtype: str | torch.dtype = DEFAULT_DTYPE,
    device: str = "cpu",
    second: bool = False,
) -> GluProbe:
    """GLU(a, b) and its partials from ``backward(ones_like(y))``, on grid × grid.

    With ``second`` the partials of ``torch.autograd.grad(..., create_graph=True)``
    are differentiated again: each output depends on
    its own (a, b) only, so the gradient of the summed ∂/∂a (∂/∂b) holds the
    second partials of every point.
    """
    axes = plane(grid)
    axes.check_square()  # N × N samples: the 1-D cap alone would allow 10¹² of them

    import torch
    import torch.nn.functional as F

    from actviz.environment import one_thread
    from actviz.evaluation import check_device, torch_dtype

    torch_type = torch_dtype(dtype)
    check_device(device)
    axis = axes.tensor(torch_type, device)
    b, a = torch.meshgrid(axis, axis, indexing="ij")
    halves = torch.stack([a, b], dim=-1).requires_grad_(True)  # last dim: [a, b]
    hessian: tuple[torch.Tensor, torch.Tensor] | None = None
    with one_thread():  # the bits must not depend on the caller's thread count
        y = F.glu(halves, dim=-1).squeeze(-1)  # a · σ(b)
        # The partials from the plain backward, with or without ``second``: one
        # that builds a graph takes other kernels and can differ in the last bits.
        (grads,) = torch.autograd.grad(y, halves, torch.ones_like(y), retain_graph=second)
        if second:
            (graph,) = torch.autograd.grad(y, halves, torch.ones_like(y), create_graph=True)
            rows = [
                torch.autograd.grad(graph[..., i], halves, torch.ones_like(y), retain_graph=True)[0]
                for i in (0, 1)
            ]  # rows[0][..., j] = ∂²/∂a∂(a, b)_j, rows[1][..., j] = ∂²/∂b∂(a, b)_j
            hessian = (rows[0], rows[1])
    return GluProbe(
        a=_numpy(axis),
        b=_numpy(axis),
        value=_numpy(y),
        grad_a=_numpy(grads[..., 0]),
        grad_b=_numpy(grads[..., 1]),
        dtype=str(torch_type).removeprefix("torch."),
        device=device,
        grad_aa=None if hessian is None else _numpy(hessian[0][..., 0]),
        grad_ab=None if hessian is None else _numpy(hessian[0][..., 1]),
        grad_bb=None if hessian is None else _numpy(hessian[1][..., 1]),
    )


def _numpy(t: torch.Tensor) -> np.ndarray:
    import torch

    array: np.ndarray = t.detach().to("cpu", torch.float64).numpy()
    return array


def draw_glu_heatmap(ax: Axes, probe: GluProbe, field: str, title: str) -> Any:
    """One of ``value``, ``grad_a``, ``grad_b`` (or, probed with ``second``,
    ``grad_aa``, ``grad_ab``, ``grad_bb``) over the (a, b) plane; returns the mesh."""
    import numpy as np

    data = getattr(probe, field)
    limit = float(np.abs(data).max()) or 1.0  # ∂²/∂a² is 0 everywhere
    mesh = ax.pcolormesh(probe.a, probe.b, data, cmap="RdBu_r", vmin=-limit, vmax=limit)
    ax.set_title(title)
    ax.set_xlabel("a (passed through)")
    ax.set_ylabel("b (gate)")
    ax.set_aspect("equal")
    return mesh


PANELS = (
    ("value", "GLU(a, b) = a·σ(b)"),
    ("grad_a", "∂/∂a = σ(b)"),
    ("grad_b", "∂/∂b = a·σ(b)(1 − σ(b))"),
)
SECOND_PANELS = (
    ("grad_aa", "∂²/∂a² = 0"),
    ("grad_ab", "∂²/∂a∂b = σ(b)(1 − σ(b))"),
    ("grad_bb", "∂²/∂b² = a·σ(b)(1 − σ(b))(1 − 2σ(b))"),
)


ROW_SIZE = (14.4, 4.6)  # inches: one row of three heatmaps


def glu_figure(probe: GluProbe, *, theme: str = DEFAULT_THEME) -> Figure:
    """Three heatmaps: a·σ(b), ∂/∂a and ∂/∂b; a second row with the second
    partials when the probe has them."""
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    from actviz.plotting import theme_style

    panels = [PANELS] if probe.grad_aa is None else [PANELS, SECOND_PANELS]
    with rc_context(theme_style(theme)):
        fig = Figure(figsize=(ROW_SIZE[0], ROW_SIZE[1] * len(panels)))
        axes = fig.subplots(len(panels), 3, squeeze=False)
        for row, fields in zip(axes, panels, strict=True):
            for ax, (field, title) in zip(row, fields, strict=True):
                fig.colorbar(draw_glu_heatmap(ax, probe, field, title), ax=ax, shrink=0.8)
        where = "".join(
            f" in {v}" for v in (probe.dtype, probe.device) if v not in ("float32", "cpu")
        )
        fig.suptitle(
            f"glu{where}: torch.nn.functional.glu on [a, b], gradients from "
            "backward(ones_like(y)) (a = b = x would make it silu)",
            fontsize="medium",
        )
        top, bottom = (0.82, 0.12) if len(panels) == 1 else (0.91, 0.06)
        fig.subplots_adjust(left=0.05, right=0.97, top=top, bottom=bottom, wspace=0.35, hspace=0.3)
    return fig
