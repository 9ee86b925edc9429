"""Figures of deep networks at initialisation: ``actviz depth`` and ``actviz gain --plot``.

The two classic views of a deep MLP (per-layer histograms of activations and
of gradients, one curve per layer; std per layer forward and backward, several
activations overlaid) and the order/chaos phase diagram of mean-field theory.
Like plotting.py: ``draw_*`` functions draw onto Axes you give them and return
what they drew; figures are ``matplotlib.figure.Figure``, never pyplot, and
styling happens only inside ``rc_context``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from actviz.defaults import DEFAULT_THEME
from actviz.plotting import curve_colors, theme_style

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    from actviz.depth_sim import Depth, DepthRun
    from actviz.init_gain import PhaseCurve

LAYER_CMAP = "viridis"
FIELDS = {"activations": "activation", "gradients": "gradient at the layer's input"}


def draw_histograms(ax: Axes, run: DepthRun, field: str = "activations") -> list[Line2D]:
    """One density curve per layer of ``run`` (``field``: activations or gradients),
    coloured from the first layer (dark) to the last (yellow)."""
    import matplotlib as mpl

    if field not in FIELDS:
        raise ValueError(f"field must be one of {', '.join(FIELDS)} (got {field!r})")
    histograms = getattr(run, field)
    cmap = mpl.colormaps[LAYER_CMAP]
    count = max(len(histograms) - 1, 1)
    lines: list[Line2D] = []
    for i, hist in enumerate(histograms):
        (line,) = ax.plot(hist.centers, hist.density, color=cmap(i / count), linewidth=1.0)
        lines.append(line)
    ax.set_xlabel(FIELDS[field])
    ax.set_ylabel("density")
    if field == "gradients":
        # Gradient scales differ by orders of magnitude between layers; a log
        # density axis keeps the wide layers visible beside a vanishing spike.
        peaks = [float(h.density.max()) for h in histograms if len(h.density)]
        if peaks and max(peaks) > 0:
            ax.set_yscale("log")
            ax.set_ylim(bottom=1e-3 * min(p for p in peaks if p > 0))
    return lines


def draw_std(
    ax: Axes,
    runs: Sequence[DepthRun],
    field: str = "act_std",
    *,
    baselines: Sequence[DepthRun] = (),
) -> list[Line2D]:
    """Std per layer (``field``: act_std, pre_std, grad_input_std or grad_weight_std)
    on a log axis, one colour per activation; ``baselines`` (the same activations at
    nn.Linear's default init) dashed in the same colours."""
    colors = curve_colors(len(runs))
    by_label = {r.label: c for r, c in zip(runs, colors, strict=True)}
    lines: list[Line2D] = []
    for run, style in [*((r, "-") for r in runs), *((b, "--") for b in baselines)]:
        layers = [s.layer for s in run.layers]
        # 0 (underflow, dead units) has no place on a log axis: a gap, not a plunge
        values = [getattr(s, field) or math.nan for s in run.layers]
        label = run.label if style == "-" else None
        (line,) = ax.plot(layers, values, style, color=by_label.get(run.label, "0.5"),
                          linewidth=1.6, marker="o", markersize=2.5, label=label)  # fmt: skip
        lines.append(line)
    ax.set_yscale("log")
    ax.set_xlabel("layer")
    return lines


def depth_figure(result: Depth, *, theme: str = DEFAULT_THEME) -> Figure:
    """Histograms per activation (top two rows), std per layer for all (bottom)."""
    import matplotlib as mpl
    from matplotlib import rc_context
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D as Handle

    runs = result.runs
    count = len(runs)
    with rc_context(theme_style(theme)):
        width = max(3.6 * count, 9.0)
        fig = Figure(figsize=(width, 11.0))
        # A fixed grid, not layout="constrained": that doubles the render time
        # (measured 1.9 of 3.9 s), and the panels' sizes are known here.
        bar = 0.15 / ((width - 1.3) / count)  # a colour bar about 0.15 inch wide
        outer = fig.add_gridspec(
            3, count + 1, width_ratios=[*[1.0] * count, bar], height_ratios=[1, 1, 1.2],
            left=0.75 / width, right=1 - 0.55 / width, top=0.9, bottom=0.1,
            hspace=0.42, wspace=0.32,
        )  # fmt: skip
        hist_axes = []
        for i, run in enumerate(runs):
            ax = fig.add_subplot(outer[0, i])
            draw_histograms(ax, run, "activations")
            ax.set_title(f"{run.label}\n{run.setting}", fontsize="medium")
            bottom_ax = fig.add_subplot(outer[1, i])
            draw_histograms(bottom_ax, run, "gradients")
            bottom_ax.set_title(run.verdict.text, fontsize="small")
            hist_axes += [ax, bottom_ax]
        mappable = mpl.cm.ScalarMappable(
            mpl.colors.Normalize(1, len(runs[0].layers)), mpl.colormaps[LAYER_CMAP]
        )
        fig.colorbar(mappable, cax=fig.add_subplot(outer[:2, count]), label="layer")
        low = outer[2, :].subgridspec(1, 2, wspace=0.25)
        forward = fig.add_subplot(low[0, 0])
        backward = fig.add_subplot(low[0, 1])
        draw_std(forward, runs, "act_std", baselines=result.baselines)
        forward.set_ylabel("activation std")
        forward.set_title("forward: activation std")
        draw_std(backward, runs, "grad_input_std", baselines=result.baselines)
        backward.set_ylabel("gradient std at the layer's input")
        backward.set_title("backward: gradient std (out.backward(ones))")
        handles, _ = forward.get_legend_handles_labels()
        if result.baselines:
            handles += [
                Handle([], [], color="0.4", linestyle="-", label=runs[0].setting.split(",")[0]
                       + " with the gain above"),
                Handle([], [], color="0.4", linestyle="--", label="nn.Linear default init"),
            ]  # fmt: skip
        # Below both std panels: inside, it would cover a curve (gelu's climb).
        fig.legend(handles=handles, fontsize="small", loc="lower center", frameon=False,
                   ncols=min(len(handles), 6), bbox_to_anchor=(0.5, 0.0))  # fmt: skip
        first = runs[0]
        fig.suptitle(
            f"{len(first.layers)} × (Linear({first.width}, {first.width}) + activation), "
            f"batch {first.batch} of N(0, 1), seed {first.seed}"
        )
    return fig


def draw_phase(ax: Axes, curves: Sequence[PhaseCurve]) -> list[Line2D]:
    """The χ₁ = 1 line of each activation in the (σ_b², σ_w²) plane: ordered
    (gradients vanish) below it, chaotic (they explode) above."""
    colors = curve_colors(len(curves))
    lines: list[Line2D] = []
    for curve, color in zip(curves, colors, strict=True):
        points = [(b, w) for b, w in zip(curve.sigma_b2, curve.sigma_w2, strict=True) if w]
        (line,) = ax.plot(
            [b for b, _ in points],
            [w for _, w in points],
            color=color,
            linewidth=1.8,
            marker="o",
            markersize=2.5,
            label=curve.spec.label,
        )
        lines.append(line)
    ax.set_xlabel("σ_b²  (bias variance)")
    ax.set_ylabel("σ_w²  (weight variance × fan_in)")
    return lines


def phase_figure(curves: Sequence[PhaseCurve], *, theme: str = DEFAULT_THEME) -> Figure:
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    with rc_context(theme_style(theme)):
        fig = Figure(figsize=(7.6, 4.8), layout="constrained")
        ax = fig.add_subplot()
        draw_phase(ax, curves)
        ax.set_yscale("log")
        ax.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.01, 0.5))
        ax.set_title(
            "edge of chaos: χ₁ = σ_w²·E[f′(√q*·z)²] = 1\n"
            "above a line: chaotic (χ₁ > 1, gradients explode); below: ordered (they vanish)",
            fontsize="medium",
        )
    return fig
