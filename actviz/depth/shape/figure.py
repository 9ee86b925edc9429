"""The shape figure: what the network's correlation map becomes (left) and what the
activation becomes (right), unshaped (dashed) against shaped (solid).

House style (plotting.py, cmap/figure.py): ``draw_*`` functions draw onto Axes
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

    from actviz.depth.shape.solve import Shaped

CURVE = 401  # points of each drawn curve
X_SPAN = 4.0  # the activations are drawn on [-4, 4]
Y_LIMIT = 8.0  # the value axis shows at most ±8 (an unshaped φ can be large there)


def _width(i: int, count: int) -> float:
    """Solid lines from 3 points wide (the first) down to 1.4 (the last), so that a
    shaped curve that coincides with an earlier one (the shaped sigmoid is the shaped
    tanh: σ(x) = (1 + tanh(x/2))/2) still shows both colours."""
    return 1.8 if count == 1 else 3.0 - 1.6 * i / (count - 1)


def draw_network_maps(ax: Axes, shaped: Sequence[Shaped]) -> list[Line2D]:
    """The network's C map (C composed ``depth`` times) of each activation, unshaped
    (dashed, q = 1 at every layer) and shaped (solid), over the identity (dotted)."""
    import matplotlib as mpl
    import numpy as np

    c = np.linspace(-1.0, 1.0, CURVE)
    ax.plot(c, c, linestyle=":", linewidth=1.0, color=mpl.rcParams["text.color"], alpha=0.6)
    lines: list[Line2D] = []
    for i, (s, color) in enumerate(zip(shaped, curve_colors(len(shaped)), strict=True)):
        (before,) = ax.plot(c, s.unshaped_map().composite(c), color=color, linewidth=1.2,
                            linestyle="--", alpha=0.8)  # fmt: skip
        (after,) = ax.plot(c, s.network_map().composite(c), color=color,
                           linewidth=_width(i, len(shaped)), label=s.base.label)  # fmt: skip
        lines += [before, after]
    ax.set_xlim(-1.0, 1.0)
    ax.set_ylim(-1.0, 1.05)
    ticks = np.linspace(-1.0, 1.0, 5)  # a narrow panel (a long legend beside) fits these
    ax.set_xticks(ticks)
    ax.set_yticks(ticks)
    ax.set_xlabel("c, the correlation of two inputs")
    ax.set_ylabel("correlation after the network")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(tick_formatter())
    return lines


def draw_activations(ax: Axes, shaped: Sequence[Shaped]) -> list[Line2D]:
    """φ (dashed) and φ̂ (solid) of each activation on [−4, 4]."""
    import numpy as np

    from actviz.evaluation import evaluate

    x = np.linspace(-X_SPAN, X_SPAN, CURVE)
    lines: list[Line2D] = []
    for i, (s, color) in enumerate(zip(shaped, curve_colors(len(shaped)), strict=True)):
        _, before, _ = evaluate(s.spec, x, dtype="float64")
        _, after, _ = evaluate(s.transformed, x, dtype="float64")
        (dashed,) = ax.plot(x, before, color=color, linewidth=1.2, linestyle="--", alpha=0.8)
        (solid,) = ax.plot(x, after, color=color, linewidth=_width(i, len(shaped)),
                           label=s.base.label)  # fmt: skip
        lines += [dashed, solid]
    ax.axhline(0.0, color="0.5", linewidth=0.6)
    ax.axvline(0.0, color="0.5", linewidth=0.6)
    ax.set_xlim(-X_SPAN, X_SPAN)
    low, high = ax.get_ylim()
    ax.set_ylim(max(low, -Y_LIMIT), min(high, Y_LIMIT))
    ax.set_xlabel("x")
    ax.set_ylabel("φ(x) dashed, φ̂(x) solid")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(tick_formatter())
    return lines


def shape_figure(shaped: Sequence[Shaped], *, theme: str = DEFAULT_THEME) -> Figure:
    """The network's C map and the activation, each unshaped (dashed) and shaped (solid)."""
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    first = shaped[0] if shaped else None
    depth = first.depth if first else 1
    method = first.method.upper() if first else ""
    with rc_context(theme_style(theme)):
        fig = Figure(figsize=(11.0, 5.4), layout="constrained")
        network, values = fig.subplots(1, 2)
        draw_network_maps(network, shaped)
        network.set_title(f"the network's C map, C∘…∘C ({depth} layers)", fontsize="medium")
        draw_activations(values, shaped)
        values.set_title("the activation: φ̂(x) = γ·(φ(α·x + β) + δ)", fontsize="medium")
        # beside the panels, where no curve runs through it (--all draws 14)
        values.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize="small",
                      frameon=False)  # fmt: skip
        fig.suptitle(
            f"{method} for a {depth}-layer vanilla MLP: unshaped (dashed) against shaped (solid)",
            fontsize="medium",
        )
    return fig
