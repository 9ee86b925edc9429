"""Value and gradient figures, drawn with matplotlib's object API.

The ``draw_*`` helpers draw onto Axes you give them and return the artists
they made, so a notebook can place them in its own figure. Nothing here uses
pyplot or changes the global ``rcParams``: styling happens inside
``matplotlib.rc_context``.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from actviz.atomic import write_bytes_atomically
from actviz.defaults import DEFAULT_DPI, DEFAULT_THEME
from actviz.errors import OutputError, UnknownFormatError, UsageError

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.legend import Legend
    from matplotlib.lines import Line2D
    from matplotlib.text import Text

    from actviz.probing import Probe
    from actviz.saturation import Saturation

FORMATS = ("png", "svg", "pdf")
PANEL_SIZE = (4.8, 3.6)  # inches per panel
# Keep output free of dates and version stamps: same inputs, same bytes.
_METADATA: dict[str, dict[str, Any]] = {
    "png": {"Software": None},
    "svg": {"Date": None, "Creator": None},
    "pdf": {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None},
}
# zlib level 1 instead of 6: a fifth faster to write for 16 % more bytes; batch
# export writes dozens of these.
_SAVE_OPTIONS: dict[str, dict[str, Any]] = {"png": {"pil_kwargs": {"compress_level": 1}}}
THEMES = ("light", "dark")
_STYLE: dict[Any, Any] = {
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.35,
    "svg.hashsalt": "actviz",
    "figure.dpi": DEFAULT_DPI,
}


# Regime shading per theme: (colour, its name in prose, alpha). On black the
# light theme's fills vanish, so the dark theme uses brighter colours, more opaque.
REGIME_STYLE: dict[str, dict[str, tuple[str, str, float]]] = {
    "light": {
        "dead": ("0.55", "grey", 0.22),
        "saturated": ("#f5a623", "amber", 0.22),
        "linear": ("#9ecae1", "light blue", 0.22),
    },
    "dark": {
        "dead": ("0.8", "grey", 0.3),
        "saturated": ("#ffb000", "amber", 0.36),
        "linear": ("#3d9be9", "blue", 0.42),
    },
}
REGIME_COLORS = {regime: style[0] for regime, style in REGIME_STYLE["light"].items()}
UNDERFLOW_DTYPE = "float32"
# Below this many samples a line between them would invent data: draw markers,
# and do not join derivative samples across a kink.
SPARSE_POINTS = 50
# 100 megapixels: a 40 × 25 inch poster at 300 dpi, about 400 MB of RGBA to render.
MAX_PIXELS = 100_000_000
MAX_INCHES = 200.0  # per side of --figsize
MIN_PANEL = (1.0, 0.8)  # inches: smaller panels show nothing readable
_PAD = 0.08  # inches between the figure's parts and around its edge
_GAP = 0.25  # inches between one panel's decorations and the next panel's


def regime_colour_names(theme: str = DEFAULT_THEME) -> str:
    """``dead (grey), saturated (amber) and linear (light blue)``, as drawn in ``theme``."""
    theme_style(theme)  # checks the name
    parts = [f"{regime} ({name})" for regime, (_, name, _) in REGIME_STYLE[theme].items()]
    return f"{', '.join(parts[:-1])} and {parts[-1]}"


def theme_style(theme: str) -> dict[Any, Any]:
    """rc settings for ``theme``, applied only inside ``rc_context``."""
    if theme not in THEMES:
        raise UnknownFormatError(f"unknown theme {theme!r}; choose one of {', '.join(THEMES)}")
    if theme == "light":
        return _STYLE
    import matplotlib.style

    return {**matplotlib.style.library["dark_background"], **_STYLE, "grid.alpha": 0.25}


@dataclass(frozen=True)
class Drawn:
    """The artists of one activation figure, for tests and further styling.

    :func:`save_figure` takes it as it takes a Figure.
    """

    figure: Figure
    values: list[Line2D]
    grads: list[Line2D]  # with few samples: markers only, the data exactly
    grad2s: list[Line2D]
    shading: dict[str, Any]  # regime → the PolyCollection shading it
    peaks: list[Line2D]  # one marker per curve at its peak |f′|
    underflow_lines: list[Line2D]  # dashed verticals at the float32 underflow points
    # With few samples, the lines joining derivative samples (NaN breaks at kinks).
    joins: list[Line2D] = field(default_factory=list)
    title: Text | None = None  # the figure's title (suptitle)
    legend: Legend | None = None  # below the panels
    theme: str = DEFAULT_THEME


def _peak_label(saturation: Saturation) -> str:
    """The legend text of a single curve's peak marker: ``peak |f′| = 1 on (0, 7.9]``."""
    from actviz.display import peak_words

    return peak_words(saturation)


def _peaks_label() -> str:
    """One legend entry for the peak markers of an overlay (not one row per curve)."""
    return "peak |f′| of each curve"


def _underflow_label(dtype: str, edges: Sequence[float]) -> str:
    """The one legend entry of the dashed underflow lines (one or two of them)."""
    from actviz.display import number

    if len({abs(e) for e in edges}) == 1:  # one line, or both sides at the same |x|
        return f"{dtype} f′ underflows to 0 beyond |x| = {number(abs(edges[0]))}"
    where = " and ".join(f"x = {number(e)}" for e in edges)
    return f"{dtype} f′ underflows to 0 beyond {where}"


def curve_colors(count: int) -> list[Any]:
    """Matplotlib's default cycle, or a continuous colormap past ten curves."""
    import matplotlib as mpl

    if count <= 10:
        return [f"C{i}" for i in range(count)]
    cmap = mpl.colormaps["turbo"]
    return [cmap(i / (count - 1)) for i in range(count)]


def _joined(probe: Probe, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x and ``values`` with a NaN gap in every interval that touches a kink."""
    import numpy as np

    x = probe.x
    kinks = np.asarray(probe.spec.activation.kinks(probe.spec.params), dtype=float)
    breaks = np.zeros(max(len(x) - 1, 0), dtype=bool)
    for kink in kinks:
        breaks |= (x[:-1] <= kink) & (kink <= x[1:])
    at = np.flatnonzero(breaks) + 1
    return np.insert(x, at, np.nan), np.insert(values, at, np.nan)


def _draw(
    ax: Axes, probes: Sequence[Probe], field: str, ylabel: str, joins: list[Line2D] | None = None
) -> list[Line2D]:
    import numpy as np

    colors = curve_colors(len(probes))
    lines: list[Line2D] = []
    for probe, color in zip(probes, colors, strict=True):
        values = getattr(probe, field)
        if values is None:
            raise ValueError(f"{probe.label} was probed without {field}; probe with second=True")
        if len(probe.x) >= SPARSE_POINTS:
            (line,) = ax.plot(probe.x, values, color=color, linewidth=1.8, label=probe.label)
        elif field == "y":  # f itself may be joined: a kink bends it, it does not jump
            (line,) = ax.plot(probe.x, values, color=color, linewidth=1.8, marker="o",
                              markersize=4, clip_on=False, label=probe.label)  # fmt: skip
        else:
            (line,) = ax.plot(probe.x, values, color=color, marker="o", markersize=4,
                              linestyle="none", clip_on=False, label=probe.label)  # fmt: skip
            (join,) = ax.plot(*_joined(probe, values), color=color, linewidth=1.8,
                              label="_nolegend_")  # fmt: skip
            if joins is not None:
                joins.append(join)
        lines.append(line)
    # The x = 0 and y = 0 references only where they fall inside the data:
    # elsewhere they would stretch the axes away from the requested range.
    xs = np.concatenate([p.x for p in probes])
    ys = np.concatenate([getattr(p, field) for p in probes])
    ys = ys[np.isfinite(ys)]
    if len(ys) and ys.min() <= 0 <= ys.max():
        ax.axhline(0.0, color="0.5", linewidth=0.8, zorder=0)
    if xs.min() <= 0 <= xs.max():
        ax.axvline(0.0, color="0.5", linewidth=0.8, zorder=0)
    ax.set_xlim(float(xs.min()), float(xs.max()))
    ax.set_xlabel("x")
    ax.set_ylabel(ylabel)
    return lines


def draw_values(ax: Axes, probes: Sequence[Probe]) -> list[Line2D]:
    """f(x) of each probe on ``ax``; returns one line per probe."""
    ax.set_title("value f(x)", y=1.01)  # a fixed y skips the costly auto-placement
    return _draw(ax, probes, "y", "f(x)")


def draw_gradients(
    ax: Axes, probes: Sequence[Probe], *, joins: list[Line2D] | None = None
) -> list[Line2D]:
    """f′(x) from autograd of each probe on ``ax``; returns one line per probe.

    With fewer than ``SPARSE_POINTS`` samples the returned lines are the
    samples as markers; the lines joining them (broken at kinks) are appended
    to ``joins`` if given.
    """
    ax.set_title("gradient f′(x) from backward(ones_like(y))", y=1.01)
    return _draw(ax, probes, "grad", "f′(x)", joins)


def draw_second(
    ax: Axes, probes: Sequence[Probe], *, joins: list[Line2D] | None = None
) -> list[Line2D]:
    """f″(x) of each probe (probed with ``second=True``) on ``ax``."""
    ax.set_title("second derivative f″(x)", y=1.01)
    return _draw(ax, probes, "grad2", "f″(x)", joins)


def shade_regimes(
    ax: Axes, probe: Probe, saturation: Saturation, theme: str = DEFAULT_THEME
) -> dict[str, Any]:
    """Shade dead, saturated and linear stretches of x behind the curves."""
    import numpy as np

    theme_style(theme)
    shading = {}
    # Each sample's cell (half-way to its neighbours, the range's ends at the
    # ends) as its own pair of points: a lone dead sample at the edge still
    # shows, where step="mid" would give it no width.
    x = np.asarray(probe.x, dtype=float)
    edges = np.concatenate([x[:1], (x[1:] + x[:-1]) / 2, x[-1:]])
    cells = np.column_stack([edges[:-1], edges[1:]]).ravel()
    rounded = np.zeros(len(probe.x), dtype=bool)
    if saturation.rounded is not None:
        rounded = np.asarray(saturation.rounded, dtype=bool)
    for regime, (color, _, alpha) in REGIME_STYLE[theme].items():
        where = np.asarray(saturation.regime == regime, dtype=bool)
        # A zero that is only the dtype's rounding (gelu's far left) is hatched:
        # the function has a slope there, the dtype cannot show it.
        parts = (
            [("dead", where & ~rounded, ""), (f"dead: {probe.dtype} rounds f′ to 0",
                                              where & rounded, "////")]
            if regime == "dead" else [(regime, where, "")]
        )  # fmt: skip
        for label, mask, hatch in parts:
            if not mask.any():
                continue
            shading[label] = ax.fill_between(
                cells,
                0,
                1,
                where=np.repeat(mask, 2),
                transform=ax.get_xaxis_transform(),
                facecolor=color,
                edgecolor=color if hatch else "none",
                hatch=hatch or None,
                alpha=alpha,
                linewidth=0,
                label=label,
                zorder=0,
            )
    return shading


def mark_peak(ax: Axes, probe: Probe, saturation: Saturation, color: Any) -> Line2D:
    """A marker on the gradient curve where |f′| peaks."""
    import numpy as np

    index = int(np.flatnonzero(probe.x == saturation.peak_at)[0])
    (marker,) = ax.plot(
        [probe.x[index]],
        [probe.grad[index]],
        marker="o",
        color=color,
        markersize=6,
        linestyle="none",
        clip_on=False,  # a peak at the edge of the range stays a whole dot
        label=_peak_label(saturation),
    )
    return marker


def mark_underflow(ax: Axes, probe: Probe, saturation: Saturation) -> list[Line2D]:
    """Dashed lines where float32 rounds f′ to exactly 0, if inside the range."""

    found = saturation.underflow.get(UNDERFLOW_DTYPE)
    if found is None:
        return []
    lines: list[Line2D] = []
    # Only the dtype's rounding: a zero by definition (hardsigmoid beyond ±3)
    # is the function itself, and the dead shading already shows it.
    left, right = found.side("left", "underflow"), found.side("right", "underflow")
    edges = [
        edge
        for edge in (None if left is None else -left, right)
        if edge is not None and probe.x[0] <= edge <= probe.x[-1] and edge != 0
    ]
    for edge in edges:
        # One legend entry names both lines (sigmoid: x = −88.72 and x = 16.64).
        label = "_nolegend_" if lines else _underflow_label(UNDERFLOW_DTYPE, edges)
        lines.append(ax.axvline(edge, color="crimson", linestyle="--", linewidth=1, label=label))
    return lines


def sweep_runs(probes: Sequence[Probe]) -> list[tuple[Any, list[Probe]]]:
    """Consecutive probes of one sweep, with that sweep (None where they are not one)."""
    from actviz.params import sweep_of

    runs: list[tuple[Any, list[Probe]]] = []
    for _, run in itertools.groupby(probes, key=lambda p: (p.spec.activation, p.spec.swept)):
        group = list(run)
        swept = sweep_of([p.spec for p in group])
        runs += [(swept, group)] if swept is not None else [(None, [p]) for p in group]
    return runs


def figure_title(probes: Sequence[Probe]) -> str:
    if len(probes) == 1:
        return probes[0].title
    title = ", ".join(s.label if s else group[0].label for s, group in sweep_runs(probes))
    notes = sorted(
        {p.mode_note for p in probes if p.mode_note} | {p.dtype for p in probes} - {"float32"}
    )
    return title + (f" [{'; '.join(notes)}]" if notes else "")


Limits = tuple[float, float]


def activation_figure(
    probes: Sequence[Probe],
    *,
    second: bool = False,
    saturations: Sequence[Saturation] | None = None,
    shade: bool = True,
    theme: str = DEFAULT_THEME,
    figsize: tuple[float, float] | None = None,
    xlim: Limits | None = None,
    ylim: Sequence[Limits | None] | None = None,
) -> Drawn:
    """A new Figure: value and gradient panels side by side (and f″ if ``second``).

    With ``saturations`` (one per probe) the gradient panel marks each peak;
    for a single activation it also shades the regimes (``shade``) and draws
    the float32 underflow points that fall inside the range. The legend sits
    below the panels, in as many columns as fit. ``figsize`` (inches) is the
    whole figure; by default each panel is 4.8 inches wide and the figure
    grows downwards with the legend. ``xlim`` applies to every panel (default:
    the probed range); ``ylim`` gives limits per panel in order (value,
    gradient, f″), ``None`` keeping a panel's automatic limits.
    """
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    if not probes:
        raise UsageError("activation_figure needs at least one probe")
    panels = 3 if second else 2
    limits = check_limits(xlim, ylim, panels, figsize)
    with rc_context(theme_style(theme)):
        fig = Figure(figsize=figsize or (PANEL_SIZE[0] * panels, PANEL_SIZE[1]))
        FigureCanvasAgg(fig)  # the renderer that measures the layout also draws the PNG
        axes = fig.subplots(1, panels)
        joins: list[Line2D] = []
        values = draw_values(axes[0], probes)
        grads = draw_gradients(axes[1], probes, joins=joins)
        grad2s = draw_second(axes[2], probes, joins=joins) if second else []
        shading: dict[str, Any] = {}
        peaks: list[Line2D] = []
        underflow_lines: list[Line2D] = []
        entries: list[Any] = list(values) if len(probes) > 1 or saturations is not None else []
        if saturations is not None:
            if len(probes) == 1:
                if shade:
                    shading = shade_regimes(axes[1], probes[0], saturations[0], theme)
                underflow_lines = mark_underflow(axes[1], probes[0], saturations[0])
            for probe, saturation, line in zip(probes, saturations, grads, strict=True):
                peaks.append(mark_peak(axes[1], probe, saturation, line.get_color()))
            entries += list(shading.values()) + underflow_lines[:1]
            if len(probes) == 1:
                entries += peaks
            else:
                peak_color = "0.8" if theme == "dark" else "0.35"
                entries.append(Line2D([], [], marker="o", markersize=6, linestyle="none",
                                      color=peak_color, label=_peaks_label()))  # fmt: skip
        for ax, panel_ylim in zip(axes, limits[1], strict=False):
            if limits[0] is not None:
                ax.set_xlim(*limits[0])
            if panel_ylim is not None:
                ax.set_ylim(*panel_ylim)
        title = fig.suptitle(figure_title(probes), fontsize="large", fontweight="bold", va="top")
        legend = _layout(fig, title, list(axes), entries, fixed_size=figsize is not None)
    return Drawn(
        fig, values, grads, grad2s, shading, peaks, underflow_lines, joins, title, legend, theme
    )


def check_limits(
    xlim: Limits | None,
    ylim: Sequence[Limits | None] | None,
    panels: int,
    figsize: tuple[float, float] | None,
) -> tuple[Limits | None, list[Limits | None]]:
    """Fail early, with what to do, on limits or sizes that cannot be drawn."""
    from actviz.errors import UsageError

    options = ("--ylim", "--grad-ylim", "--grad2-ylim")  # the CLI's names, panel by panel
    if ylim is not None and len(ylim) > panels:
        raise UsageError(f"{len(ylim)} y limits given for {panels} panels; give one per panel")
    for option, lim in [("--xlim", xlim), *zip(options, ylim or [], strict=False)]:
        if lim is not None and not (
            len(lim) == 2 and all(math.isfinite(v) for v in lim) and lim[0] < lim[1]
        ):
            low, high = (*lim, math.nan)[:2]
            raise UsageError(
                f"{option} {low:g} {high:g}: give two finite numbers LOW HIGH with LOW < HIGH"
            )
    if figsize is not None:
        width, height = figsize
        least = (round(panels * (MIN_PANEL[0] + 1.0), 2), round(MIN_PANEL[1] + 1.6, 2))
        if not (math.isfinite(width) and math.isfinite(height)) or (
            width < least[0] or height < least[1] or max(width, height) > MAX_INCHES
        ):
            raise UsageError(
                f"--figsize {width:g} {height:g} does not fit {panels} panels; use at least "
                f"{least[0]:g} {least[1]:g} and at most {MAX_INCHES:g} {MAX_INCHES:g} (inches)"
            )
    return xlim, list(ylim or [])


def _tick_formatter() -> Any:
    """Tick labels that carry their own scale: no offset text to collide with titles."""
    from matplotlib.ticker import Formatter

    class Ticks(Formatter):
        def __call__(self, x: float, pos: int | None = None) -> str:
            return format_ticks([x])[0]

        def format_ticks(self, values: Sequence[float]) -> list[str]:
            return format_ticks(list(values))

    return Ticks()


def format_ticks(values: Sequence[float]) -> list[str]:
    """Shortest common format that tells the ticks apart: ``0.25``, ``−4e−6``."""
    big = max((abs(v) for v in values if math.isfinite(v)), default=0.0)
    if big == 0:
        return ["0" for _ in values]
    scale = 0 if 1e-3 <= big < 1e5 else math.floor(math.log10(big))
    scaled = [v / 10.0**scale for v in values]
    top = big / 10.0**scale
    decimals = next(
        (d for d in range(10) if all(abs(round(v, d) - v) <= 1e-6 * top for v in scaled)), 9
    )
    labels = []
    for v in scaled:
        text = f"{round(v, decimals) + 0.0:.{decimals}f}"  # + 0.0: no "-0"
        if scale and float(text) != 0:
            text += f"e{scale}"
        labels.append(text.replace("-", "\u2212"))
    return labels


def _label_width(text: str, points: float) -> float:
    """Width in inches of a tick label in DejaVu Sans, from its advance widths."""
    widths = {"\u2212": 0.838, ".": 0.318, "e": 0.615}
    return sum(widths.get(c, 0.636) for c in text) * points / 72


def _set_locators(ax: Axes, width: float, height: float) -> None:
    """Few enough ticks for the panel's size that their labels never touch."""
    import matplotlib as mpl
    from matplotlib.font_manager import FontProperties
    from matplotlib.ticker import MaxNLocator

    points = FontProperties(size=mpl.rcParams["xtick.labelsize"]).get_size_in_points()
    lo, hi = ax.get_xlim()
    for bins in range(max(2, min(9, int(width / 0.45))), 0, -1):
        locator = MaxNLocator(nbins=bins, steps=[1, 2, 2.5, 5, 10])
        ticks = [t for t in locator.tick_values(lo, hi) if lo <= t <= hi]
        labels = format_ticks(ticks)
        spacing = width * (ticks[1] - ticks[0]) / (hi - lo) if len(ticks) > 1 else width
        if spacing >= max(_label_width(t, points) for t in labels) + 0.12:
            break
    ax.xaxis.set_major_locator(locator)
    bins = max(2, min(8, int(height / 0.32)))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=bins, steps=[1, 2, 2.5, 5, 10]))
    ax.xaxis.set_major_formatter(_tick_formatter())
    ax.yaxis.set_major_formatter(_tick_formatter())


def _wrap(text: Any, width: float, renderer: Any) -> None:
    """Break ``text`` into lines no wider than ``width`` inches, at spaces or commas."""
    import textwrap

    dpi = renderer.dpi
    actual = text.get_window_extent(renderer).width / dpi
    if actual <= width:
        return
    content = text.get_text()
    chars = max(8, int(len(content) * width / actual * 0.95))
    lines = textwrap.wrap(content, chars, break_on_hyphens=False, break_long_words=False)
    text.set_text("\n".join(lines))


def _layout(
    fig: Figure, suptitle: Text, axes: list[Axes], entries: list[Any], *, fixed_size: bool
) -> Legend | None:
    """Place suptitle, panels and legend from their measured sizes.

    Fixed margins cannot hold every curve count, label length and figure
    size, and constrained layout (or an axes' tight bbox) lays out every tick
    and text, which costs as much again as drawing the figure (batch export
    renders dozens). This measures only the texts: the suptitle, the legend
    and each panel's labels and tick labels (the tick locators are fixed
    beforehand, so they do not depend on the panel's final size), then sets
    the positions.
    """
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    dpi = fig.dpi
    width, height = fig.get_size_inches()
    panels = len(axes)
    guess_w = (width - 2 * _PAD - panels * 0.9 - (panels - 1) * _GAP) / panels
    guess_h = max(MIN_PANEL[1], height - 1.6)
    for ax in axes:
        _set_locators(ax, guess_w, guess_h)
        _wrap(ax.title, guess_w + 0.5, renderer)
    _wrap(suptitle, width - 2 * _PAD, renderer)
    legend = _legend(fig, entries, width - 2 * _PAD, renderer)
    legend_h = legend.get_window_extent(renderer).height / dpi + _PAD if legend else 0.0

    decorations = [_decorations(ax, renderer, height, guess_w) for ax in axes]
    title_h = suptitle.get_window_extent(renderer).height / dpi
    top = _PAD + title_h + _PAD + max(d[2] for d in decorations)
    bottom = _PAD + legend_h + max(d[3] for d in decorations)
    if not fixed_size:  # the default grows to keep the panels' height
        height = max(PANEL_SIZE[1], top + bottom + 2.2)
        fig.set_size_inches(width, height)
    sides = sum(d[0] + d[1] for d in decorations)
    panel_w = (width - 2 * _PAD - sides - (panels - 1) * _GAP) / panels
    panel_h = height - top - bottom
    if panel_w < MIN_PANEL[0] or panel_h < MIN_PANEL[1]:
        from actviz.errors import UsageError

        need_w = width + max(0.0, MIN_PANEL[0] - panel_w) * panels
        need_h = height + max(0.0, MIN_PANEL[1] - panel_h)
        raise UsageError(
            f"--figsize {width:g} {height:g} leaves no room for the panels next to their "
            f"labels and legend; use at least {math.ceil(need_w * 10) / 10:g} "
            f"{math.ceil(need_h * 10) / 10:g} (inches)"
        )
    x = _PAD
    for ax, (left, right, _, _) in zip(axes, decorations, strict=True):
        x += left
        ax.set_position((x / width, bottom / height, panel_w / width, panel_h / height))
        x += panel_w + right + _GAP
    suptitle.set_y(1 - _PAD / height)
    if legend is not None:
        legend.set_bbox_to_anchor((0.5, _PAD / height), transform=fig.transFigure)
    return legend


_TEXT_SIZES: dict[tuple[str, Any, float], tuple[float, float]] = {}


def _decorations(
    ax: Axes, renderer: Any, fig_height: float, panel_width: float
) -> tuple[float, float, float, float]:
    """Inches that ``ax``'s titles, labels and tick labels take on its left, right, top
    and bottom, from the sizes of those texts and matplotlib's own paddings."""
    import matplotlib as mpl
    from matplotlib.font_manager import FontProperties

    rc, dpi, point = mpl.rcParams, renderer.dpi, 1 / 72

    def size(text: str, prop: FontProperties) -> tuple[float, float]:
        key = (text, prop, dpi)  # batch export measures the same few labels again and again
        if key not in _TEXT_SIZES:
            if len(_TEXT_SIZES) > 4096:  # a long notebook session: start over
                _TEXT_SIZES.clear()
            w, h, _ = renderer.get_text_width_height_descent(text, prop, ismath=False)
            _TEXT_SIZES[key] = (w / dpi, h / dpi)
        return _TEXT_SIZES[key]

    def labels(axis: Any, limits: tuple[float, float]) -> list[str]:
        lo, hi = sorted(limits)
        slack = 1e-9 * (hi - lo)
        ticks = axis.get_major_locator().tick_values(lo, hi)
        # Formatted all together, as the axis does, then only those in view kept.
        texts = axis.get_major_formatter().format_ticks(ticks)
        return [t for t, v in zip(texts, ticks, strict=True) if lo - slack <= v <= hi + slack]

    xprop = FontProperties(size=rc["xtick.labelsize"])
    yprop = FontProperties(size=rc["ytick.labelsize"])
    xsizes = [size(t, xprop) for t in labels(ax.xaxis, ax.get_xlim())] or [(0.0, 0.0)]
    ywidth = max((size(t, yprop)[0] for t in labels(ax.yaxis, ax.get_ylim())), default=0.0)
    xheight = max(size("lp", xprop)[1], *(h for _, h in xsizes))
    ylabel = ax.yaxis.label.get_window_extent(renderer).width / dpi
    xlabel = ax.xaxis.label.get_window_extent(renderer).height / dpi
    title = ax.title.get_window_extent(renderer)
    # A wide title overhangs the panel on both sides.
    overhang = max(0.0, (title.width / dpi - panel_width) / 2)
    left = (rc["ytick.major.size"] + rc["ytick.major.pad"] + rc["axes.labelpad"]) * point
    bottom = (rc["xtick.major.size"] + rc["xtick.major.pad"] + rc["axes.labelpad"]) * point
    return (
        # x tick labels at the panel's ends reach half their width beyond it
        max(left + ywidth + ylabel, xsizes[0][0] / 2, overhang),
        max(xsizes[-1][0] / 2, overhang),
        rc["axes.titlepad"] * point + 0.01 * fig_height + title.height / dpi,
        bottom + xheight + xlabel,
    )


def _legend(fig: Figure, entries: list[Any], width: float, renderer: Any) -> Legend | None:
    """A figure legend below the panels, in as many columns as ``width`` inches hold."""
    if not entries:
        return None
    columns = len(entries)
    while True:
        legend = fig.legend(handles=entries, loc="lower center", ncols=columns, fontsize="small")
        actual = legend.get_window_extent(renderer).width / renderer.dpi
        if actual <= width or columns == 1:
            return legend
        legend.remove()
        columns = max(1, min(columns - 1, int(columns * width / actual)))


def figure_bytes(
    fig: Figure | Drawn, fmt: str, *, dpi: int = DEFAULT_DPI, theme: str | None = None
) -> bytes:
    """The encoded file, without dates or version stamps: same figure, same bytes.

    ``theme`` defaults to the one a :class:`Drawn` was drawn in, else light.
    """
    import io

    from matplotlib import rc_context

    if isinstance(fig, Drawn):
        theme = theme or fig.theme
        fig = fig.figure
    kind = check_format(fmt)
    check_dpi(dpi)
    width, height = fig.get_size_inches()
    if width * height * dpi * dpi > MAX_PIXELS:
        from actviz.errors import UsageError

        raise UsageError(
            f"a {width:g} × {height:g} inch figure at {dpi} dpi is "
            f"{width * dpi:,.0f} × {height * dpi:,.0f} pixels, above the cap of "
            f"{MAX_PIXELS:,} pixels; use a smaller --figsize or --dpi"
        )
    buffer = io.BytesIO()
    with rc_context(theme_style(theme or DEFAULT_THEME)):
        fig.savefig(
            buffer, format=kind, dpi=dpi, metadata=_METADATA[kind], **_SAVE_OPTIONS.get(kind, {})
        )
    return buffer.getvalue()


def save_figure(
    fig: Figure | Drawn,
    path: str | Path,
    *,
    fmt: str | None = None,
    dpi: int = DEFAULT_DPI,
    theme: str | None = None,
) -> Path:
    """Write ``fig`` (a Figure, or what :func:`activation_figure` returns) atomically.

    The format comes from ``fmt`` or the file suffix.
    """
    target = check_file_path(path)
    check_dpi(dpi)
    data = figure_bytes(fig, fmt or target.suffix.lstrip(".") or "png", dpi=dpi, theme=theme)
    return write_bytes_atomically(target, data)


MIN_DPI, MAX_DPI = 10, 1200


def check_dpi(dpi: object) -> int:
    """``dpi`` if it is a whole number from :data:`MIN_DPI` to :data:`MAX_DPI`."""
    if not isinstance(dpi, int) or isinstance(dpi, bool) or not MIN_DPI <= dpi <= MAX_DPI:
        raise UnknownFormatError(
            f"dpi must be a whole number from {MIN_DPI} to {MAX_DPI} (got {dpi!r})"
        )
    return dpi


def check_file_path(path: str | Path) -> Path:
    """``path`` as a Path if it can name a file (not '', '.', '..', a folder, a device
    or a fifo: a name without a suffix gets one, so the device itself must be refused
    here, before ``/dev/full`` becomes a new ``/dev/full.png``)."""
    if not isinstance(path, (str, os.PathLike)):
        raise UsageError(f"output must be a file path such as figs/plot.png (got {path!r})")
    text = os.fspath(path)
    target = Path(text)
    if not text.strip() or target.name in ("", ".", "..") or text.endswith(("/", "\\")):
        raise UsageError(f"output {text!r} is not a file name; give one such as figs/plot.png")
    if target.is_dir():
        raise UsageError(f"output {text!r} is a folder; give a file name such as {text}/plot.png")
    if target.exists() and not target.is_file():
        raise OutputError(f"cannot write {text}: it is not a regular file; choose another --out")
    return target


def check_format(fmt: str) -> str:
    kind = fmt.lower()
    if kind not in FORMATS:
        raise UnknownFormatError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return kind
