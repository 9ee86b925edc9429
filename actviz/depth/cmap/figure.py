"""The correlation-map figure: C(c) on [-1, 1] for each activation (left) and the
L-fold composite C∘…∘C, what L layers do to two inputs (right).

House style (plotting.py, depth_plots.py): ``draw_*`` functions draw onto Axes
you give them and return what they drew; the figure is a
``matplotlib.figure.Figure``, never pyplot; styling only inside ``rc_context``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from actviz.defaults import DEFAULT_THEME
from actviz.plotting import curve_colors, theme_style, tick_formatter

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    from actviz.depth.cmap.kernel import CorrelationMap

CURVE = 401  # points of each drawn curve on [-1, 1]


def draw_maps(
    ax: Axes, maps: Sequence[CorrelationMap], *, layers: int | None = None
) -> list[Line2D]:
    """C(c) (``layers`` None or 1) or C composed ``layers`` times, one line per map,
    over the identity c (dotted): where a line lies above it, inputs come out
    more alike than they went in."""
    import matplotlib as mpl
    import numpy as np

    c = np.linspace(-1.0, 1.0, CURVE)
    ax.plot(c, c, linestyle=":", linewidth=1.0, color=mpl.rcParams["text.color"], alpha=0.6)
    lines: list[Line2D] = []
    for m, color in zip(maps, curve_colors(len(maps)), strict=True):
        y = m.at(c) if layers in (None, 1) else m.composite(c, layers)
        (line,) = ax.plot(c, y, color=color, linewidth=1.6, label=m.label)
        lines.append(line)
    ax.set_xlim(-1.0, 1.0)
    ax.set_ylim(-1.0, 1.05)
    ax.set_xlabel("c, the correlation of two inputs (q = 1)")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(tick_formatter())
    return lines


def cmap_figure(maps: Sequence[CorrelationMap], *, theme: str = DEFAULT_THEME) -> Figure:
    """One layer's map C(c) beside the network's, C composed ``maps[0].layers`` times."""
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    layers = maps[0].layers if maps else 1
    with rc_context(theme_style(theme)):
        fig = Figure(figsize=(11.0, 5.4), layout="constrained")
        one, network = fig.subplots(1, 2)
        draw_maps(one, maps)
        one.set_ylabel("correlation after the layer")
        one.set_title("one layer: C(c) = E[f(u)f(v)] / E[f(z)²]", fontsize="medium")
        draw_maps(network, maps, layers=layers)
        network.set_title(f"{layers} layer{'s' if layers != 1 else ''}: C∘…∘C", fontsize="medium")
        network.legend(loc="lower right", fontsize="small", frameon=False)
        fig.suptitle(
            "the correlation map (mean field, DKS convention): above the dotted diagonal, "
            "two inputs come out more alike than they went in",
            fontsize="medium",
        )
    return fig
