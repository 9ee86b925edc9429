"""Figures of deep networks at initialisation: ``actviz depth`` and ``actviz gain --plot``.

The two classic views of a deep MLP (per-layer histograms of activations and
of log10|gradient|, one curve per layer; std per layer forward and backward,
several activations overlaid) and the order/chaos phase diagram of mean-field
theory, one panel per activation with its ordered and chaotic regions shaded.
Like plotting.py: ``draw_*`` functions draw onto Axes you give them and return
what they drew; figures are ``matplotlib.figure.Figure``, never pyplot, and
styling happens only inside ``rc_context``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from actviz.defaults import DEFAULT_THEME
from actviz.plotting import curve_colors, theme_style, tick_formatter

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.collections import PolyCollection
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    from actviz.depth.gain import PhaseCurve
    from actviz.depth.simulation import Depth, DepthRun, LogHistogram

LAYER_CMAP = "viridis"
FIELDS = {
    "activations": "activation",
    "gradients": "log₁₀|g|, g the gradient at the layer's input",
}
# The phase diagram's regions, as the legend names them (init_gain's words).
ORDERED, CHAOTIC = "ordered (χ₁ < 1)", "chaotic (χ₁ > 1)"
REGION_COLORS = {ORDERED: "#4c9be8", CHAOTIC: "#e8704c"}
REGION_ALPHA = 0.28
PHASE_HEADROOM = 1.3  # a panel's σ_w² axis runs from 0 to this × the highest critical σ_w²
# The critical σ_w² line: an edge of chaos (χ₁ passes through 1) solid, filled markers; a
# jump of χ₁ across 1 (init_gain.Critical.kind "jump": no σ_w with χ₁ = 1) dashed, open;
# χ₁ → 1 only as q* → ∞ (kind "unbounded": no edge either) dotted, filled triangles.
EDGE, JUMPS = "χ₁ = 1, the edge of chaos", "χ₁ jumps across 1 (no edge of chaos)"
UNBOUNDED = "χ₁ → 1 only as q* → ∞ (no edge of chaos)"
EDGE_STYLE: dict[str, Any] = {"linestyle": "-", "linewidth": 1.8, "marker": "o", "markersize": 2.5}
JUMP_STYLE: dict[str, Any] = {"linestyle": (0, (3.0, 2.0)), "linewidth": 1.2, "marker": "o",
                              "markersize": 4.0, "markerfacecolor": "none"}  # fmt: skip
UNBOUNDED_STYLE: dict[str, Any] = {"linestyle": ":", "linewidth": 1.6, "marker": "^",
                                   "markersize": 3.5}  # fmt: skip
# Critical.kind → the line's legend words and style
KIND_LINES: dict[str, tuple[str, dict[str, Any]]] = {
    "edge": (EDGE, EDGE_STYLE),
    "jump": (JUMPS, JUMP_STYLE),
    "unbounded": (UNBOUNDED, UNBOUNDED_STYLE),
}


def draw_histograms(ax: Axes, run: DepthRun, field: str = "activations") -> list[Line2D]:
    """One density curve per layer of ``run``, coloured from the first layer (dark)
    to the last (yellow): of the activations, or of log10|g| for the gradients
    (their scales differ by orders of magnitude between layers, so on a linear
    axis a vanishing gradient is one spike). A log axis has no place for exact
    zeros (dead units, underflow) or inf/nan: the x label counts them instead.
    A layer with nothing to draw gets no curve (its entry in the list is absent)."""
    import matplotlib as mpl

    if field not in FIELDS:
        raise ValueError(f"field must be one of {', '.join(FIELDS)} (got {field!r})")
    histograms = getattr(run, field)
    cmap = mpl.colormaps[LAYER_CMAP]
    count = max(len(histograms) - 1, 1)
    lines: list[Line2D] = []
    for i, hist in enumerate(histograms):
        if not len(hist.centers):
            continue
        (line,) = ax.plot(hist.centers, hist.density, color=cmap(i / count), linewidth=1.0)
        lines.append(line)
    if field == "gradients":
        ax.set_xlabel(f"{FIELDS[field]}\n{left_out_words(histograms)}")
        ax.set_ylabel("density per decade")
        ax.set_ylim(bottom=0)
    else:
        ax.set_xlabel(FIELDS[field])
        ax.set_ylabel("density")
    return lines


def left_out_words(histograms: Sequence[LogHistogram]) -> str:
    """What a log axis cannot draw, counted: ``exact zeros: none`` or
    ``exact zeros: 1,024 of 1,966,080 (layers 1–3, 7)``, and the inf/nan values
    where there are any."""
    total = sum(h.count for h in histograms)
    parts = []
    for attribute, words in (("zeros", "exact zeros"), ("nonfinite", "inf/nan")):
        counts = [getattr(h, attribute) for h in histograms]
        if not sum(counts):
            if attribute == "zeros":
                parts.append(f"{words}: none")
            continue
        layers = [i + 1 for i, n in enumerate(counts) if n]
        parts.append(f"{words}: {sum(counts):,} of {total:,} ({layer_words(layers)})")
    return "; ".join(parts)


def layer_words(layers: Sequence[int]) -> str:
    """``layer 3``, ``layers 1–3, 7``: ascending layer numbers, runs joined."""
    runs: list[list[int]] = []
    for layer in layers:
        if runs and layer == runs[-1][-1] + 1:
            runs[-1].append(layer)
        else:
            runs.append([layer])
    text = ", ".join(f"{r[0]}–{r[-1]}" if len(r) > 1 else f"{r[0]}" for r in runs)
    return f"layer {text}" if len(layers) == 1 else f"layers {text}"


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
    drawn: list[float] = []
    for run, style in [*((r, "-") for r in runs), *((b, "--") for b in baselines)]:
        layers = [s.layer for s in run.layers]
        # 0 (underflow, dead units) has no place on a log axis: a gap, not a plunge
        values = [getattr(s, field) or math.nan for s in run.layers]
        drawn += values
        label = run.label if style == "-" else None
        (line,) = ax.plot(layers, values, style, color=by_label.get(run.label, "0.5"),
                          linewidth=1.6, marker="o", markersize=2.5, label=label)  # fmt: skip
        lines.append(line)
    ax.set_yscale("log")
    _whole_decades(ax, drawn)
    ax.set_xlabel("layer")
    return lines


def _whole_decades(ax: Axes, values: Sequence[float]) -> None:
    """Log-axis limits that hold two labelled decades or more: within one decade
    matplotlib labels the minor ticks (``6×10⁻¹``, ``7×10⁻¹``…), which crowd into
    each other and past the figure's edge; those go, and a span under two decades
    is widened to the whole decades around it."""
    from matplotlib.ticker import NullFormatter

    ax.yaxis.set_minor_formatter(NullFormatter())
    shown = [v for v in values if math.isfinite(v) and v > 0]
    if not shown:
        return
    low, high = math.floor(math.log10(min(shown))), math.ceil(math.log10(max(shown)))
    if max(shown) / min(shown) < 100:
        # a tenth of a decade beyond the end ticks: their labels stay clear of the title
        ax.set_ylim(10.0 ** (low - 0.1), 10.0 ** (max(high, low + 1) + 0.1))


# The starts' colours: a sequential map (dark → light as the start nears 1), away
# from the layers' viridis and the activations' cycle; its ends cut off, which
# vanish into a white or black background.
START_CMAP, START_SPAN = "plasma", (0.12, 0.82)


def start_colors(count: int) -> list[Any]:
    """One colour per starting correlation, in order."""
    import matplotlib as mpl

    cmap = mpl.colormaps[START_CMAP]
    low, high = START_SPAN
    return [cmap(low + (high - low) * i / max(count - 1, 1)) for i in range(count)]


def draw_correlations(ax: Axes, run: DepthRun) -> list[Line2D]:
    """The correlation of ``run``'s input pairs per layer, one colour per start:
    measured (dots, each the mean over the start's pairs) and mean-field's
    prediction (a line; a gap where there is none). Returns each start's
    [measured, predicted] lines in turn. A run without pairs (width 1) gets a
    word instead."""
    import math

    from matplotlib.ticker import MaxNLocator

    lines: list[Line2D] = []
    if not run.correlations:
        ax.text(0.5, 0.5, "width 1: no two inputs\nwith a correlation below 1",
                ha="center", va="center", transform=ax.transAxes, fontsize="small")  # fmt: skip
        ax.set_xticks([])
        ax.set_yticks([])
        return lines
    shown: list[float] = []
    for corr, color in zip(run.correlations, start_colors(len(run.correlations)), strict=True):
        layers = range(1, len(corr.measured) + 1)
        predicted = [math.nan if v is None else v for v in corr.predicted]
        (measured_line,) = ax.plot(layers, corr.measured, linestyle="none", marker="o",
                                   markersize=2.8, color=color)  # fmt: skip
        (predicted_line,) = ax.plot(layers, predicted, linewidth=1.3, color=color)
        lines += [measured_line, predicted_line]
        shown += [v for v in (*corr.measured, *predicted) if math.isfinite(v)]
    low = min([0.0, *shown])
    ax.set_ylim(max(low - 0.05, -1.05), 1.05)
    ax.axhline(1 - run.collapse_gap, linestyle=":", linewidth=0.9, color="0.5")
    ax.set_xlabel("layer")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_formatter(tick_formatter())
    return lines


def depth_figure(result: Depth, *, theme: str = DEFAULT_THEME) -> Figure:
    """Histograms per activation (top two rows), the input pairs' correlation per
    activation (third), std per layer for all (bottom)."""
    import matplotlib as mpl
    from matplotlib import rc_context
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D as Handle

    runs = result.runs
    count = len(runs)
    # Rows in inches: a margin for the suptitle, each panel row with the gap
    # under it (room for its x label and the next row's title; under the
    # correlation row, its legend too), the std row, a margin for the legend.
    margin, panel, gap, std = 1.09, 2.13, 1.25, 2.56
    rows = [panel, gap, panel, gap, panel, gap + 0.3, std]
    height = margin + sum(rows) + margin
    with rc_context(theme_style(theme)):
        width = max(3.6 * count, 9.0)
        fig = Figure(figsize=(width, height))
        # A fixed grid, not layout="constrained": that doubles the render time
        # (measured 1.9 of 3.9 s), and the panels' sizes are known here.
        bar = 0.15 / ((width - 1.3) / count)  # a colour bar about 0.15 inch wide
        outer = fig.add_gridspec(
            len(rows), count + 1, width_ratios=[*[1.0] * count, bar], height_ratios=rows,
            left=0.75 / width, right=1 - 0.55 / width, top=1 - margin / height,
            bottom=margin / height, hspace=0.0, wspace=0.32,
        )  # fmt: skip
        hist_axes = []
        for i, run in enumerate(runs):
            ax = fig.add_subplot(outer[0, i])
            draw_histograms(ax, run, "activations")
            ax.set_title(f"{run.label}\n{run.setting}", fontsize="medium")
            bottom_ax = fig.add_subplot(outer[2, i])
            draw_histograms(bottom_ax, run, "gradients")
            bottom_ax.xaxis.label.set_fontsize("small")
            bottom_ax.set_title(run.verdict.text, fontsize="small")
            hist_axes += [ax, bottom_ax]
        mappable = mpl.cm.ScalarMappable(
            mpl.colors.Normalize(1, len(runs[0].layers)), mpl.colormaps[LAYER_CMAP]
        )
        fig.colorbar(mappable, cax=fig.add_subplot(outer[:3, count]), label="layer")
        low = outer[6, :].subgridspec(1, 2, wspace=0.25)
        forward = fig.add_subplot(low[0, 0])
        backward = fig.add_subplot(low[0, 1])
        draw_std(forward, runs, "act_std", baselines=result.baselines)
        forward.set_ylabel("activation std")
        forward.set_title("forward: activation std")
        draw_std(backward, runs, "grad_input_std", baselines=result.baselines)
        backward.set_ylabel("gradient std at the layer's input")
        backward.set_title(f"backward: gradient std ({runs[0].probe_words})")
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
        # Added after the std panels: fig.axes keeps its order from before the row.
        correlation_axes = []
        for i, run in enumerate(runs):
            ax = fig.add_subplot(outer[4, i])
            draw_correlations(ax, run)
            ax.set_title(pairs_title(run), fontsize="small")
            correlation_axes.append(ax)
        correlation_axes[0].set_ylabel("pair correlation")
        _pairs_legend(fig, runs, top=1 - (margin + 3 * panel + 2 * gap + 0.42) / height)
        first = runs[0]
        fig.suptitle(
            f"{len(first.layers)} × (Linear({first.width}, {first.width}) + activation), "
            f"batch {first.batch} of N(0, 1), seed {first.seed}"
        )
    return fig


def pairs_title(run: DepthRun) -> str:
    """``input pairs: collapsed from layer 4 on``: the correlation panel's title, the
    measured verdict (:func:`~actviz.depth.simulation.correlation_verdict`) in brief."""
    verdict = run.correlation
    if verdict.kind == "none":
        return "input pairs: none" if not run.correlations else "input pairs: not finite"
    since = "" if verdict.layer is None else f" from layer {verdict.layer} on"
    return f"input pairs: {verdict.kind}{since}"


def _pairs_legend(fig: Figure, runs: Sequence[DepthRun], *, top: float) -> None:
    """The correlation row's key, under it: a colour per start, dots measured, lines
    mean-field's, the dotted line the collapse threshold (none where no run has
    pairs: width 1)."""
    from matplotlib.lines import Line2D as Handle

    run = next((r for r in runs if r.correlations), None)
    if run is None:
        return
    values = [c.start for c in run.correlations]
    handles = [
        Handle([], [], color=color, linewidth=1.3, label=f"start {value:g}")
        for value, color in zip(values, start_colors(len(values)), strict=True)
    ]
    handles += [
        Handle([], [], color="0.5", linestyle="none", marker="o", markersize=2.8,
               label=f"measured (mean of {run.correlations[0].pairs} pairs)"),
        Handle([], [], color="0.5", linewidth=1.3, label="mean-field"),
        Handle([], [], color="0.5", linestyle=":", linewidth=0.9,
               label=f"{1 - run.collapse_gap:g}: collapsed above"),
    ]  # fmt: skip
    # one row where the figure is wide enough (three panels or more), else two
    wide = fig.get_figwidth() >= 3 * 3.6
    fig.legend(handles=handles, fontsize="small", loc="upper center", frameon=False,
               ncols=len(handles) if wide else 4, bbox_to_anchor=(0.5, top))  # fmt: skip


def draw_phase(
    ax: Axes, curves: Sequence[PhaseCurve], colors: Sequence[Any] | None = None
) -> list[Line2D]:
    """Where χ₁ crosses 1, per activation, in the (σ_b², σ_w²) plane: ordered
    (gradients vanish) below, chaotic (they explode) above. Each curve's edge of
    chaos (χ₁ = 1) is a solid line with filled markers, always drawn (empty where
    it has none); where χ₁ jumps across 1 instead (no σ_w has χ₁ = 1 at that σ_b²)
    the points are open markers on a dashed line (:data:`JUMP_STYLE`), and where χ₁
    reaches 1 only as q* → ∞ filled triangles on a dotted line
    (:data:`UNBOUNDED_STYLE`), each drawn only where the curve has such points. A
    line is broken where another kind lies between two of its points; σ_b² without
    a critical σ_w (None) are left out. Returns each curve's edge line, then its jump
    line and its unbounded line where it has them."""
    import numpy as np

    colors = curve_colors(len(curves)) if colors is None else colors
    lines: list[Line2D] = []
    for curve, color in zip(curves, colors, strict=True):
        for kind, (words, style) in KIND_LINES.items():
            xs, ys = _phase_points(curve, kind)
            if kind != "edge" and not xs:
                continue
            label = curve.spec.label if kind == "edge" else f"{curve.spec.label}: {words}"
            (line,) = ax.plot(np.array(xs), np.array(ys), color=color, label=label, **style)
            lines.append(line)
    ax.set_xlabel("σ_b²  (bias variance)")
    ax.set_ylabel("σ_w²  (weight variance × fan_in)")
    return lines


def _phase_points(curve: PhaseCurve, kind: str) -> tuple[list[float], list[float]]:
    """The (σ_b², σ_w²) of ``curve``'s points of ``kind`` (:attr:`PhaseCurve.kinds`), a
    NaN between two of them where a point of another kind lies between."""
    xs: list[float] = []
    ys: list[float] = []
    broken = False
    for b2, w2, its in zip(curve.sigma_b2, curve.sigma_w2, curve.kinds, strict=True):
        if w2 is None:
            continue
        if its != kind:
            broken = bool(xs)
            continue
        if broken:
            xs.append(math.nan)
            ys.append(math.nan)
            broken = False
        xs.append(b2)
        ys.append(w2)
    return xs, ys


def shade_phase(ax: Axes, curve: PhaseCurve, top: float) -> dict[str, list[PolyCollection]]:
    """Shade ``curve``'s ordered region (from σ_w² = 0 up to its critical σ_w²)
    and chaotic region (from there up to ``top``), between neighbouring σ_b²
    that both have a critical σ_w², the boundary linear between them (whether χ₁
    passes through 1 there or jumps across it); where the curve has none (χ₁ does
    not reach 1 in the scanned σ_w) nothing is shaded.
    Returns the region name → the PolyCollections shading it."""
    import numpy as np

    shading: dict[str, list[PolyCollection]] = {ORDERED: [], CHAOTIC: []}
    b2 = np.asarray(curve.sigma_b2, dtype=float)
    w2 = np.asarray([math.nan if w is None else w for w in curve.sigma_w2], dtype=float)
    for start, stop in _runs(~np.isnan(w2)):
        if stop - start < 2:
            continue  # a lone σ_b² has no width to shade: its marker says it
        xs, ws = b2[start:stop], w2[start:stop]
        for region, lower, upper in ((ORDERED, 0.0, ws), (CHAOTIC, ws, top)):
            shading[region].append(
                ax.fill_between(
                    xs,
                    lower,
                    upper,
                    facecolor=REGION_COLORS[region],
                    alpha=REGION_ALPHA,
                    edgecolor="none",
                    linewidth=0,
                    label=region,
                )
            )
    return shading


def _runs(mask: Any) -> list[tuple[int, int]]:
    """[start, stop) of each stretch of consecutive True in ``mask``."""
    runs: list[tuple[int, int]] = []
    for i, value in enumerate(mask):
        if not value:
            continue
        if runs and runs[-1][1] == i:
            runs[-1] = (runs[-1][0], i + 1)
        else:
            runs.append((i, i + 1))
    return runs


def phase_top(curve: PhaseCurve) -> float:
    """The top of ``curve``'s σ_w² axis: :data:`PHASE_HEADROOM` × its highest critical σ_w²."""
    found = [w for w in curve.sigma_w2 if w is not None]
    return PHASE_HEADROOM * max(found) if found else 1.0


def phase_grid(count: int) -> tuple[int, int]:
    """(rows, columns) of the phase diagram's panels: at least 3 columns when there
    are 3 curves or more, about as many rows as columns beyond nine."""
    columns = min(count, max(3, math.ceil(math.sqrt(count))))
    return math.ceil(count / columns), columns


def phase_figure(curves: Sequence[PhaseCurve], *, theme: str = DEFAULT_THEME) -> Figure:
    """Order and chaos, one panel per activation (each on its own σ_w² scale:
    sigmoid's edge near σ_w² = 103 would squash tanh's near 1), the ordered
    region below its critical σ_w² shaded blue and the chaotic region above red;
    the line solid where it is an edge of chaos (χ₁ = 1), dashed with open markers
    where χ₁ jumps across 1, dotted with triangles where χ₁ reaches 1 only as q* → ∞
    (:func:`draw_phase`), the legend naming the kinds drawn."""
    import matplotlib as mpl
    from matplotlib import rc_context
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D as Handle
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator

    from actviz.depth.gain import SIGMA_W_SCAN

    rows, columns = phase_grid(len(curves))
    with rc_context(theme_style(theme)):
        ink = mpl.rcParams["text.color"]
        fig = Figure(
            figsize=(max(7.6, 2.6 * columns + 0.8), max(4.8, 1.6 + 2.4 * rows)),
            layout="constrained",
        )
        axes = fig.subplots(rows, columns, squeeze=False)
        for i, ax in enumerate(axes.flat):
            if i >= len(curves):
                ax.remove()  # the grid's last row may not be full
                continue
            curve = curves[i]
            top = phase_top(curve)
            shade_phase(ax, curve, top)
            draw_phase(ax, [curve], colors=[ink])
            ax.set_xlim(min(curve.sigma_b2), max(curve.sigma_b2))
            ax.set_ylim(0.0, top)
            ax.grid(False)
            for axis in (ax.xaxis, ax.yaxis):
                axis.set_major_locator(MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]))
                axis.set_major_formatter(tick_formatter())
            missing = sum(w is None for w in curve.sigma_w2)
            title = curve.spec.label
            if missing:
                low, high = SIGMA_W_SCAN
                title += (
                    f"\nno χ₁ = 1 for σ_w in [{low:g}, {high:g}] at {missing} of "
                    f"{len(curve.sigma_w2)} σ_b² (unshaded)"
                )
            ax.set_title(title, fontsize="medium")
            # the σ_b² label under the lowest panel of each column only
            ax.set_xlabel("σ_b²  (bias variance)" if i + columns >= len(curves) else "")
            ax.set_ylabel("σ_w²  (weight variance × fan_in)" if i % columns == 0 else "")
        handles: list[Artist] = [
            Patch(facecolor=REGION_COLORS[ORDERED], alpha=REGION_ALPHA, label=ORDERED),
            Patch(facecolor=REGION_COLORS[CHAOTIC], alpha=REGION_ALPHA, label=CHAOTIC),
        ]
        # a line's legend entry only where some panel draws that kind of point
        drawn = {k for c in curves for k in c.kinds}
        for kind, (words, style) in KIND_LINES.items():
            if kind in drawn:
                handles.append(Handle([], [], color=ink, label=words, **style))
        fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 3),
                   frameon=False, fontsize="small")  # fmt: skip
        fig.suptitle(
            "where χ₁ = σ_w²·E[f′(√q*·z)²] crosses 1, q* the fixed point from q = 1\n"
            "χ₁ multiplies the squared gradient per layer: < 1 it vanishes, > 1 it explodes",
            fontsize="medium",
        )
    return fig
