"""Value and gradient figures, drawn with matplotlib's object API.

The ``draw_*`` helpers draw onto Axes you give them and return the artists
they made, so a notebook can place them in its own figure. Nothing here uses
pyplot or changes the global ``rcParams``: styling happens inside
``matplotlib.rc_context``.
"""

from __future__ import annotations

import io
import itertools
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from actviz.atomic import check_own, write_bytes_atomically
from actviz.defaults import DEFAULT_DPI, DEFAULT_THEME, IMAGE_FORMATS, MAX_DPI, MIN_DPI
from actviz.errors import OutputError, UnknownFormatError, UsageError, arg

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.legend import Legend
    from matplotlib.lines import Line2D
    from matplotlib.text import Text

    from actviz.probing import Probe
    from actviz.saturation import Saturation

PANEL_SIZE = (4.8, 3.6)  # inches per panel
# Keep output free of dates and version stamps: same inputs, same bytes.
# (PNG is encoded here, from the pixels that savefig draws: _png.)
_METADATA: dict[str, dict[str, Any]] = {
    "svg": {"Date": None, "Creator": None},
    "pdf": {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None},
}
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
    # The lines drawn through the samples where those above hold samples only: with
    # few samples (NaN breaks at kinks), and wherever f, f′ or f″ jumps.
    joins: list[Line2D] = field(default_factory=list)
    title: Text | None = None  # the figure's title (suptitle)
    legend: Legend | None = None  # below the panels
    theme: str = DEFAULT_THEME


def _peak_label(saturation: Saturation) -> str:
    """The legend text of a single curve's peak marker: ``peak |f′| = 1 on (0, 7.9]``."""
    from actviz.display import peak_words

    return peak_words(saturation)


def _coarse_label(probes: Sequence[Probe], saturations: Sequence[Saturation]) -> str | None:
    """The legend's warning when the grid is too coarse to show f′ (None: it is not)."""
    from actviz.display import coarse_words

    coarse = [(p, s) for p, s in zip(probes, saturations, strict=True) if s.coarse]
    if not coarse:
        return None
    if len(probes) == 1:
        return coarse_words(coarse[0][1])
    names = ", ".join(p.label for p, _ in coarse)
    return f"the grid does not resolve f′ of {names}: use more points"


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


# Dash patterns for a curve drawn over others it coincides with: the ones below
# show through the gaps (hardtanh(-2, 1) under hardtanh(-2, 2) and (-1, 1)).
DASHES: tuple[Any, ...] = ((0, (6, 3)), (0, (1.5, 2)), (0, (7, 2, 1.5, 2)), (3, (3, 5)))
COINCIDE_SHARE = 0.5  # of the samples within COINCIDE_TOLERANCE of another curve
COINCIDE_TOLERANCE = 0.01  # of the panel's spread of values: a line's width or so


def coincident_styles(probes: Sequence[Probe], fields: Sequence[str]) -> list[Any]:
    """A line style per curve: solid, unless it lies on an earlier curve over at
    least COINCIDE_SHARE of their samples in some panel; then the k-th dash
    pattern, k being how many earlier curves it lies on (so that each of a pile
    of coinciding curves gets its own)."""
    import numpy as np

    styles: list[Any] = ["-"] * len(probes)
    same_grid = all(
        len(p.x) == len(probes[0].x) and np.array_equal(p.x, probes[0].x) for p in probes
    )
    if len(probes) < 2 or not same_grid:
        return styles
    covers = np.zeros((len(probes), len(probes)), dtype=bool)
    for name in fields:
        data = np.array([np.asarray(getattr(p, name), dtype=float) for p in probes])
        finite = data[np.isfinite(data)]
        spread = float(finite.max() - finite.min()) if len(finite) else 0.0
        tolerance = COINCIDE_TOLERANCE * (spread or 1.0)
        for j in range(1, len(probes)):
            close = np.abs(data[:j] - data[j]) <= tolerance
            covers[j, :j] |= close.mean(axis=1) >= COINCIDE_SHARE
    for j in range(1, len(probes)):
        below = int(covers[j, :j].sum())
        if below:
            styles[j] = DASHES[(below - 1) % len(DASHES)]
    return styles


def curve_colors(count: int) -> list[Any]:
    """The colour cycle in force (the theme's, when drawing), or a continuous colormap
    past ten curves.

    As colours, not the names "C0", "C1", …: matplotlib looks a name up again each
    time the figure is drawn, in the rc settings in force then, so a dark-theme
    figure saved or shown outside its theme (``drawn.figure.savefig``, a notebook's
    inline display) drew its curves in the light cycle's colours.
    """
    import matplotlib as mpl
    from matplotlib.colors import to_rgba

    if count <= 10:
        return [to_rgba(f"C{i}") for i in range(count)]
    cmap = mpl.colormaps["turbo"]
    return [cmap(i / (count - 1)) for i in range(count)]


def _joined(probe: Probe, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x and ``values`` with a NaN gap in every interval that touches a kink."""
    import numpy as np

    x = probe.x
    kinks = probe.sampled_kinks()
    breaks = np.zeros(max(len(x) - 1, 0), dtype=bool)
    for kink in kinks:
        breaks |= (x[:-1] <= kink) & (kink <= x[1:])
    at = np.flatnonzero(breaks) + 1
    return np.insert(x, at, np.nan), np.insert(values, at, np.nan)


def _broken(
    probe: Probe, values: np.ndarray, breaks: Sequence[tuple[float, float, float]], every_kink: bool
) -> tuple[np.ndarray, np.ndarray]:
    """The line through the samples, broken at each jump: it ends at the left limit
    and resumes at the right one. With ``every_kink`` (few samples of f′) it is
    broken at every kink instead, and not drawn up to any."""
    import numpy as np

    x = np.asarray(probe.x, dtype=float)
    y = np.asarray(values, dtype=float)
    if every_kink:  # few samples: nothing is joined across a kink, nor drawn up to it
        return _joined(probe, y)
    at = {k: (a, b) for k, a, b in breaks}
    keep = ~np.isin(x, list(at))  # a sample on a jump is replaced by the two limits
    xs, ys = list(x[keep]), list(y[keep])
    for k, (a, b) in sorted(at.items()):
        i = int(np.searchsorted(np.asarray(xs, dtype=float), k))
        xs[i:i] = [k, math.nan, k]
        ys[i:i] = [a, math.nan, b]
    return np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)


def _draw(
    ax: Axes,
    probes: Sequence[Probe],
    field: str,
    ylabel: str,
    joins: list[Line2D] | None = None,
    handles: list[Line2D] | None = None,
    linestyles: Sequence[Any] | None = None,
) -> list[Line2D]:
    import numpy as np
    from matplotlib.lines import Line2D

    colors = curve_colors(len(probes))
    styles = list(linestyles or ["-"] * len(probes))
    lines: list[Line2D] = []
    for probe, color, style in zip(probes, colors, styles, strict=True):
        values = getattr(probe, field)
        if values is None:
            raise ValueError(f"{probe.label} was probed without {field}; probe with second=True")
        sparse = len(probe.x) < SPARSE_POINTS
        breaks = probe.jumps(field)
        handle = None
        if not breaks and not sparse:
            (line,) = ax.plot(probe.x, values, color=color, linewidth=1.8, linestyle=style,
                              label=probe.label)  # fmt: skip
        elif not breaks and field == "y":  # f itself may be joined: a kink bends it
            (line,) = ax.plot(probe.x, values, color=color, linewidth=1.8, marker="o",
                              markersize=4, clip_on=False, linestyle=style,
                              label=probe.label)  # fmt: skip
        else:
            # The samples as they are (markers, or nothing drawn with many), and the
            # line through them broken where f jumps: a jump is not a steep slope.
            (line,) = ax.plot(probe.x, values, color=color, linestyle="none", clip_on=False,
                              marker="o" if sparse else "None", markersize=4,
                              label=probe.label)  # fmt: skip
            every_kink = sparse and field != "y"
            (join,) = ax.plot(*_broken(probe, values, breaks, every_kink), color=color,
                              linewidth=1.8, linestyle=style, label="_nolegend_")  # fmt: skip
            if joins is not None:
                joins.append(join)
            handle = Line2D([], [], color=color, linewidth=1.8, label=probe.label,
                            marker="o" if sparse else "None", markersize=4,
                            linestyle=style)  # fmt: skip
            for k, a, b in breaks:  # the value at the jump filled, the other limit open
                index = int(abs(probe.x - k).argmin())
                own = float(values[index]) if probe.x[index] == k else a
                other = b if own == a else a
                ax.plot([k], [own], marker="o", markersize=4.5, color=color, linestyle="none",
                        label="_nolegend_", zorder=3)  # fmt: skip
                ax.plot([k], [other], marker="o", markersize=4.5, markerfacecolor="none",
                        color=color, linestyle="none", label="_nolegend_", zorder=3)  # fmt: skip
        lines.append(line)
        if handles is not None:
            handles.append(handle or line)
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


def draw_values(
    ax: Axes,
    probes: Sequence[Probe],
    *,
    joins: list[Line2D] | None = None,
    handles: list[Line2D] | None = None,
    linestyles: Sequence[Any] | None = None,
) -> list[Line2D]:
    """f(x) of each probe on ``ax``; returns one line per probe, holding its samples.

    Where f jumps (hardshrink at ±λ, threshold) that line only holds the
    samples and the curve is drawn broken at the jump, appended to ``joins``;
    ``handles`` gets what a legend should show for each curve; ``linestyles``
    (one per probe, default solid) tell apart curves that coincide.
    """
    ax.set_title("value f(x)", y=1.01)  # a fixed y skips the costly auto-placement
    return _draw(ax, probes, "y", "f(x)", joins, handles, linestyles)


def draw_gradients(
    ax: Axes,
    probes: Sequence[Probe],
    *,
    joins: list[Line2D] | None = None,
    handles: list[Line2D] | None = None,
    linestyles: Sequence[Any] | None = None,
) -> list[Line2D]:
    """f′(x) from autograd of each probe on ``ax``; returns one line per probe.

    The returned lines hold the samples. With fewer than ``SPARSE_POINTS``
    samples they are markers, and the lines joining them (broken at kinks)
    are appended to ``joins``; so are the curves broken where f′ jumps
    (relu′ at 0), whatever the count.
    """
    ax.set_title("gradient f′(x) from backward(ones_like(y))", y=1.01)
    return _draw(ax, probes, "grad", "f′(x)", joins, handles, linestyles)


def draw_second(
    ax: Axes,
    probes: Sequence[Probe],
    *,
    joins: list[Line2D] | None = None,
    handles: list[Line2D] | None = None,
    linestyles: Sequence[Any] | None = None,
) -> list[Line2D]:
    """f″(x) of each probe (probed with ``second=True``) on ``ax``."""
    ax.set_title("second derivative f″(x)", y=1.01)
    return _draw(ax, probes, "grad2", "f″(x)", joins, handles, linestyles)


def shade_regimes(
    ax: Axes, probe: Probe, saturation: Saturation, theme: str = DEFAULT_THEME
) -> dict[str, Any]:
    """Shade dead, saturated and linear stretches of x behind the curves."""
    import numpy as np

    theme_style(theme)
    shading = {}
    x = np.asarray(probe.x, dtype=float)
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
            spans, covered = shaded_spans(x, mask, _joinable(saturation, regime))
            shading[label] = ax.fill_between(
                spans,
                0,
                1,
                where=covered,
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


def _joinable(saturation: Saturation, regime: str) -> np.ndarray | None:
    """Per interval between samples: whether f′ inside it (float64, at its midpoint)
    is of ``regime``'s kind, small (dead, saturated) or not; None: not measured."""
    inside = saturation.interior_small
    if inside is None:
        return None
    small = regime in ("dead", "saturated")
    joinable: np.ndarray = inside == small
    return joinable


def shaded_spans(
    x: np.ndarray, mask: np.ndarray, joinable: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """x values and a ``where`` mask for ``fill_between`` that shade only what the
    samples show: from a sample to its neighbour where both are in the regime,
    nothing between samples of different regimes (where the change happens is
    not known: relu on -1, 0, 1 is dead on [-1, 0], not to 0.5), and a lone
    sample a narrow band around it, a quarter of the way to its nearer neighbour
    (so it still shows). ``joinable`` (per interval) says where f′ between two
    samples is of their kind: where it is not (relu6 sampled only at its kinks,
    0 at both and 1 between), the interval is not shaded either."""
    import numpy as np

    if joinable is not None:  # a run of the regime ends where its interval may not join
        mask = np.asarray(mask, dtype=bool)
        split = mask[:-1] & mask[1:] & ~np.asarray(joinable, dtype=bool)
        runs = []
        for start, stop in _mask_runs(mask):
            cuts = [i + 1 for i in range(start, stop - 1) if split[i]]
            edges = [start, *cuts, stop]
            runs += list(itertools.pairwise(edges))
    else:
        runs = _mask_runs(mask)

    xs: list[float] = []
    covered: list[bool] = []
    gaps = np.diff(x)
    for start, stop in runs:
        if stop - start > 1:
            pieces = [float(v) for v in x[start:stop]]
        else:
            beside = gaps[max(start - 1, 0) : start + 1]
            span = float(x[-1] - x[0])
            half = min(float(beside.min()) / 4, span / 100) if len(beside) else 0.5
            pieces = [max(float(x[0]), float(x[start]) - half),
                      min(float(x[-1]), float(x[start]) + half)]  # fmt: skip
        if xs:  # a break: nothing is shaded between this run and the last one
            xs.append(pieces[0])
            covered.append(False)
        xs += pieces
        covered += [True] * len(pieces)
    return np.asarray(xs, dtype=float), np.asarray(covered, dtype=bool)


def _mask_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of each stretch of consecutive True in ``mask``."""
    import numpy as np

    padded = np.concatenate([[False], np.asarray(mask, dtype=bool), [False]]).astype(np.int8)
    starts = np.flatnonzero(np.diff(padded) == 1)
    stops = np.flatnonzero(np.diff(padded) == -1)
    return [(int(a), int(b)) for a, b in zip(starts, stops, strict=True)]


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
    dpi: int = DEFAULT_DPI,
) -> Drawn:
    """A new Figure: value and gradient panels side by side (and f″ if ``second``).

    With ``saturations`` (one per probe) the gradient panel marks each peak;
    for a single activation it also shades the regimes (``shade``) and draws
    the float32 underflow points that fall inside the range. The legend sits
    below the panels, in as many columns as fit. ``figsize`` (inches) is the
    whole figure; by default each panel is 4.8 inches wide and the figure
    grows downwards with the legend. ``xlim`` applies to every panel (default:
    the probed range); ``ylim`` gives limits per panel in order (value,
    gradient, f″), ``None`` keeping a panel's automatic limits. ``dpi`` is
    the resolution the layout is measured at (text widths do not scale
    exactly with it); saving at another dpi lays the figure out again.
    """
    return _activation_figure(
        None, probes, second=second, saturations=saturations, shade=shade, theme=theme,
        figsize=figsize, xlim=xlim, ylim=ylim, dpi=dpi,
    )  # fmt: skip


def _new_figure(size: tuple[float, float], dpi: int, panels: int) -> tuple[Figure, list[Axes]]:
    """An empty Figure of ``panels`` Axes in a row, with the Agg canvas that lays it out."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=dpi)
    FigureCanvasAgg(fig)  # the renderer that measures the layout also draws the PNG
    # A list, not subplots' object array: numpy arrays are invisible to the cycle
    # collector, so a cycle through one (the relayout closure below) never frees.
    return fig, list(fig.subplots(1, panels))


class FigureCache:
    """One Figure per layout, drawn again for each activation of a batch.

    ``cache.activation_figure(probes, ...)`` takes what :func:`activation_figure`
    takes and gives what it gives, byte for byte once encoded (tests/test_export.py
    compares the two), but draws into the Figure of its last call when the layout
    (panels, size, dpi, theme and the rc settings in force) is the same: its
    drawing is removed, its Axes and their ticks are kept. So a Drawn is good
    until the next call: encode it first. Building the Figure, its Axes and the
    ticks that its first drawing creates took 44 % of drawing and encoding an
    export figure (matplotlib 3.11; bench/export.py).
    """

    def __init__(self) -> None:
        self._kept: tuple[Any, Figure, list[Axes], list[Any]] | None = None

    def activation_figure(self, probes: Sequence[Probe], **options: Any) -> Drawn:
        """:func:`activation_figure`, in this cache's Figure where it fits."""
        return _activation_figure(self, probes, **options)

    def clear(self) -> None:
        """Let the kept Figure go (its canvas holds the pixels of the last drawing)."""
        self._kept = None

    def _figure(
        self, size: tuple[float, float], dpi: int, panels: int, theme: str
    ) -> tuple[Figure, list[Axes]]:
        """The kept Figure cleared of its drawing if it has this layout, else a new one
        (kept in its place). Called inside the theme's rc_context."""
        import matplotlib as mpl

        # What the Axes and their ticks were made with: the stored (validated) values,
        # read through dict's own items (0.02 ms, where dict(rcParams) took 2.9 ms).
        # rcParams' own mapping methods read "backend", which resolves the backend:
        # a first figure in an export worker imported pyplot for it (8 ms).
        rc = dict(dict.items(mpl.rcParams))
        if self._kept is not None:
            (kept_size, kept_dpi, kept_panels, kept_theme, kept_rc), fig, axes, at = self._kept
            same = (kept_size, kept_dpi, kept_panels, kept_theme) == (size, dpi, panels, theme)
            if same and fig.dpi == dpi and kept_rc == rc:
                _clear(fig, axes, size, at)
                return fig, axes
        self._kept = None
        fig, axes = _new_figure(size, dpi, panels)
        self._kept = ((size, dpi, panels, theme, rc), fig, axes, _positions(axes))
        return fig, axes


def _positions(axes: list[Axes]) -> list[Any]:
    """Where a new figure's Axes and axis texts are, before anything is drawn."""
    axes_ = [axis for ax in axes for axis in (ax.xaxis, ax.yaxis)]
    texts = [t for axis in axes_ for t in (axis.label, axis.offsetText)]
    return [(ax, ax.get_position(original=True)) for ax in axes] + [
        (t, t.get_position()) for t in texts
    ]


def _clear(fig: Figure, axes: list[Axes], size: tuple[float, float], at: list[Any]) -> None:
    """Take ``fig`` back to what :func:`_new_figure` gave (``at``: its :func:`_positions`),
    but for its ticks (matplotlib makes them as the first drawing needs them, from
    the rc settings, which are the same) and the texts that the next drawing sets
    again (the suptitle, each panel's title and axis labels).

    The positions matter: the layout measures texts (a rotated y label) and
    fill_between computes its data limits through the transforms of the moment,
    and where the last drawing left them changed the last bits of a panel's
    position, and a shaded edge by a pixel (hardswish, dark theme, 100 dpi)."""
    for legend in list(fig.legends):
        legend.remove()
    for ax in axes:
        for artist in [*ax.lines, *ax.collections, *ax.patches, *ax.texts, *ax.images]:
            artist.remove()
        ax.relim()  # no artists left: empty data limits, as a new Axes has
        ax.set_xlim(0, 1, auto=True)  # a new Axes' view limits, autoscaling on
        ax.set_ylim(0, 1, auto=True)
        ax.set_prop_cycle(None)  # the colour cycle from its start
    for artist, position in at:
        artist.set_position(position)
    fig.set_size_inches(*size)


def _activation_figure(
    cache: FigureCache | None,
    probes: Sequence[Probe],
    *,
    second: bool = False,
    saturations: Sequence[Saturation] | None = None,
    shade: bool = True,
    theme: str = DEFAULT_THEME,
    figsize: tuple[float, float] | None = None,
    xlim: Limits | None = None,
    ylim: Sequence[Limits | None] | None = None,
    dpi: int = DEFAULT_DPI,
) -> Drawn:
    """:func:`activation_figure`, in a new Figure or in ``cache``'s."""
    from matplotlib import rc_context

    check_probes(probes)
    if saturations is not None and (
        not isinstance(saturations, Sequence) or len(saturations) != len(probes)
    ):
        raise UsageError(
            f"{arg('saturations')} must be a list with one analysis per probe "
            f"(one for each of the {len(probes)} probes)"
        )
    panels = 3 if second else 2
    limits = check_limits(xlim, ylim, panels, figsize)
    check_dpi(dpi)
    size = figsize or (PANEL_SIZE[0] * panels, PANEL_SIZE[1])
    check_pixels(size, dpi)
    with rc_context(theme_style(theme)):
        if cache is None:
            fig, axes = _new_figure(size, dpi, panels)
        else:
            fig, axes = cache._figure(size, dpi, panels, theme)
        try:
            return _fill(fig, axes, probes, second, saturations, shade, theme, figsize, limits)
        except BaseException:
            if cache is not None:
                cache.clear()  # half drawn (or laid out at trial sizes): not for the next
            raise


def _fill(
    fig: Figure,
    axes: list[Axes],
    probes: Sequence[Probe],
    second: bool,
    saturations: Sequence[Saturation] | None,
    shade: bool,
    theme: str,
    figsize: tuple[float, float] | None,
    limits: tuple[Limits | None, list[Limits | None]],
) -> Drawn:
    """Draw the activation figure of ``probes`` into the empty ``fig`` (inside the
    theme's rc_context) and lay it out."""
    from matplotlib import rc_context
    from matplotlib.lines import Line2D

    joins: list[Line2D] = []
    handles: list[Line2D] = []  # what the legend shows for each curve
    styles = coincident_styles(probes, ("y", "grad", "grad2") if second else ("y", "grad"))
    values = draw_values(axes[0], probes, joins=joins, handles=handles, linestyles=styles)
    grads = draw_gradients(axes[1], probes, joins=joins, linestyles=styles)
    grad2s = draw_second(axes[2], probes, joins=joins, linestyles=styles) if second else []
    shading: dict[str, Any] = {}
    peaks: list[Line2D] = []
    underflow_lines: list[Line2D] = []
    entries: list[Any] = handles if len(probes) > 1 or saturations is not None else []
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
        if note := _coarse_label(probes, saturations):
            entries.append(Line2D([], [], linestyle="none", label=note))
    fields = ("y", "grad", "grad2")
    for index, ax in enumerate(axes):
        panel_ylim = limits[1][index] if index < len(limits[1]) else None
        if limits[0] is not None:
            ax.set_xlim(*limits[0])
            # y follows what is visible, not what the probe held beyond it
            panel_ylim = panel_ylim or visible_limits(probes, fields[index], limits[0])
        if panel_ylim is not None:
            ax.set_ylim(*panel_ylim)
    title = fig.suptitle(figure_title(probes), fontsize="large", fontweight="bold", va="top")
    texts = [(t, t.get_text()) for t in (title, *(ax.title for ax in axes))]
    asked = tuple(fig.get_size_inches())
    legend = _fitted_layout(fig, title, list(axes), entries, fixed_size=figsize is not None)
    drawn = Drawn(
        fig, values, grads, grad2s, shading, peaks, underflow_lines, joins, title, legend, theme
    )

    def relayout() -> None:
        """The same layout measured at the figure's new dpi (text is wrapped afresh,
        from the size asked for): the same as drawing it at that dpi to begin with."""
        fig.set_size_inches(*asked)
        for text, original in texts:
            text.set_text(original)
        if drawn.legend is not None:
            drawn.legend.remove()
        with rc_context(theme_style(theme)):
            legend = _fitted_layout(fig, title, list(axes), entries, fixed_size=figsize is not None)
        object.__setattr__(drawn, "legend", legend)  # Drawn is frozen to users, not to us

    setattr(fig, _RELAYOUT, relayout)
    return drawn


# A figure laid out by measuring its text at one dpi carries how to lay it out
# again: Agg's hinted glyphs are relatively wider at 100 dpi than at 150, so a
# legend that fits at 150 runs past both edges at 100 unless measured again.
# On the figure itself, not in a WeakKeyDictionary: the closure holds the
# figure's artists, so a dictionary's value would keep its key (the figure, its
# canvas and pixels) alive for ever (24 figures at 600 dpi grew one process to 1.5 GB).
_RELAYOUT = "_actviz_relayout"


def _at_dpi(fig: Figure, dpi: int) -> None:
    """Set ``fig``'s dpi to the one it is saved at, laying it out again if it changed."""
    if fig.dpi != dpi and (relayout := getattr(fig, _RELAYOUT, None)) is not None:
        fig.set_dpi(dpi)
        relayout()


def visible_limits(probes: Sequence[Probe], field: str, xlim: Limits) -> Limits | None:
    """y limits for the samples of ``field`` with x inside ``xlim``, with matplotlib's
    5 % margins (None: nothing finite is visible, keep the automatic limits)."""
    import numpy as np

    low, high = xlim
    seen = [
        np.asarray(getattr(p, field), dtype=float)[(p.x >= low) & (p.x <= high)] for p in probes
    ]
    values = np.concatenate(seen) if seen else np.array([])
    values = values[np.isfinite(values)]
    if not len(values):
        return None
    bottom, top = float(values.min()), float(values.max())
    margin = 0.05 * (top - bottom) if top > bottom else 0.05 * max(abs(top), 1.0)
    return bottom - margin, top + margin


def check_limits(
    xlim: Limits | None,
    ylim: Sequence[Limits | None] | None,
    panels: int,
    figsize: tuple[float, float] | None,
) -> tuple[Limits | None, list[Limits | None]]:
    """Fail early, with what to do, on limits or sizes that cannot be drawn."""
    from actviz.errors import UsageError, arg

    if ylim is not None and (isinstance(ylim, (str, bytes)) or not isinstance(ylim, Sequence)):
        raise UsageError(f"{arg('ylim', ylim)}: give one (LOW, HIGH) pair or None per panel")
    if ylim is not None and len(ylim) > panels:
        raise UsageError(f"{len(ylim)} y limits given for {panels} panels; give one per panel")
    # ylim[i] is FigureOptions' field of panel i (value, gradient, f″).
    names = ("ylim", "grad_ylim", "grad2_ylim")
    for name, lim in [("xlim", xlim), *zip(names, ylim or [], strict=False)]:
        if lim is not None and not _ordered_pair(lim):
            raise UsageError(
                f"{arg(name, _as_given(lim))}: give two finite numbers LOW HIGH with LOW < HIGH"
            )
    if figsize is not None:
        if _pair(figsize) is None:
            raise UsageError(
                f"{arg('figsize', _as_given(figsize))}: give a width and height in inches"
            )
        width, height = _pair(figsize) or (math.nan, math.nan)
        if not (math.isfinite(width) and math.isfinite(height)) or not (
            min(width, height) > 0 and max(width, height) <= MAX_INCHES
        ):
            raise UsageError(
                f"{arg('figsize', (width, height))}: give a width and height in inches, "
                f"above 0 and at most {MAX_INCHES:g}"
            )
        # Too small for the panels is found by laying the figure out (_layout).
    return xlim, list(ylim or [])


def check_probes(probes: object, name: str = "probes") -> None:
    """Refuse anything but a non-empty list of :class:`~actviz.probing.Probe` (a name
    such as ``'gelu'`` is not a probe: ``actviz.probe('gelu')`` makes one)."""

    # By what a probe has, not by its class: probing imports this module (Probe's
    # _repr_png_), and importing it back would close a circle.
    def probe_like(p: object) -> bool:
        return all(hasattr(p, field) for field in ("spec", "x", "y", "grad", "dtype"))

    if isinstance(probes, (str, bytes)) or not isinstance(probes, Sequence):
        raise UsageError(
            f"{arg(name, probes)} must be a list of probes, e.g. [actviz.probe('gelu')]"
        )
    if not probes:
        raise UsageError(f"{arg(name)} is empty; give at least one probe")
    wrong = [p for p in probes if not probe_like(p)]
    if wrong:
        raise UsageError(
            f"{arg(name)} holds {type(wrong[0]).__name__} {wrong[0]!r:.40}, not a Probe; "
            "make one with actviz.probe(...)"
        )


def _pair(value: object) -> tuple[float, float] | None:
    """``value`` as two real numbers (not bools or text), else None."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != 2:
        return None
    if any(isinstance(v, (bool, str, bytes)) for v in value):
        return None
    try:
        return float(value[0]), float(value[1])
    except (TypeError, ValueError):
        return None


def _ordered_pair(value: object) -> bool:
    """Whether ``value`` is LOW, HIGH: two finite numbers with LOW < HIGH."""
    pair = _pair(value)
    return pair is not None and all(math.isfinite(v) for v in pair) and pair[0] < pair[1]


def _as_given(value: object) -> object:
    """``value`` for an error message: a sequence as a tuple of what it held."""
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return tuple(value)
    return value


def tick_formatter() -> Any:
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
    # Close enough to each value, and to a thousandth of the spacing: ticks that
    # differ in the 7th digit (sigmoid′ on [1e-3, 2e-3]) keep distinct labels.
    spacing = min((abs(b - a) for a, b in itertools.pairwise(scaled) if b != a), default=top)
    tolerance = min(1e-6 * top, 1e-3 * spacing)
    decimals = next(
        (d for d in range(16) if all(abs(round(v, d) - v) <= tolerance for v in scaled)), 15
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
    ax.xaxis.set_major_formatter(tick_formatter())
    ax.yaxis.set_major_formatter(tick_formatter())


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


# The layout engine below is kept hand-written on purpose (issue 23): matplotlib's
# constrained layout measures every tick and text of every panel, which cost as
# much again as drawing the figure when it was tried (export renders dozens), and
# it cannot say which size would fit; this measures the few texts that move.
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
        need_w = width + max(0.0, MIN_PANEL[0] - panel_w) * panels
        need_h = height + max(0.0, MIN_PANEL[1] - panel_h)
        raise _TooSmall((math.ceil(need_w * 10) / 10, math.ceil(need_h * 10) / 10))
    x = _PAD
    for ax, (left, right, _, _) in zip(axes, decorations, strict=True):
        x += left
        ax.set_position((x / width, bottom / height, panel_w / width, panel_h / height))
        x += panel_w + right + _GAP
    suptitle.set_y(1 - _PAD / height)
    if legend is not None:
        legend.set_bbox_to_anchor((0.5, _PAD / height), transform=fig.transFigure)
    return legend


class _TooSmall(UsageError):
    """A figure size that leaves no room for the panels; ``need``: a size that may."""

    def __init__(self, need: tuple[float, float]) -> None:
        super().__init__(f"the figure needs at least {need[0]:g} × {need[1]:g} inches")
        self.need = need


def _fitted_layout(
    fig: Figure, suptitle: Text, axes: list[Axes], entries: list[Any], *, fixed_size: bool
) -> Legend | None:
    """:func:`_layout`, or one error that names a size which does fit: each
    estimate is laid out in turn until one works (wrapped titles and a legend
    in fewer columns make a narrow figure taller than its first estimate)."""
    width, height = fig.get_size_inches()
    texts = [(t, t.get_text()) for t in (suptitle, *(ax.title for ax in axes))]
    try:
        return _layout(fig, suptitle, axes, entries, fixed_size=fixed_size)
    except _TooSmall:
        pass

    def fits(size: tuple[float, float]) -> tuple[float, float] | None:
        """None if ``size`` fits, else the size the layout asks for instead."""
        for text, original in texts:
            text.set_text(original)
        for legend in list(fig.legends):
            legend.remove()
        fig.set_size_inches(*size)
        try:
            _layout(fig, suptitle, axes, entries, fixed_size=True)
        except _TooSmall as again:
            return again.need
        return None

    # The same answer whatever size was asked for: from the default size (grown
    # until it fits), the least width at that height, then the least height at
    # that width, and once more, to a tenth of an inch: a tenth less on either
    # side does not fit.
    need = (PANEL_SIZE[0] * len(axes), PANEL_SIZE[1])
    for _ in range(6):
        if (more := fits(need)) is None:
            break
        need = (max(need[0], more[0]), max(need[1], more[1]))
    for side in (0, 1, 0, 1):  # twice: fewer y ticks on a lower panel need less width
        low, high = 1, round(need[side] * 10)
        while high - low > 1:
            middle = (low + high) // 2
            trial = (middle / 10, need[1]) if side == 0 else (need[0], middle / 10)
            if fits(trial) is None:
                high = middle
            else:
                low = middle
        need = (high / 10, need[1]) if side == 0 else (need[0], high / 10)
    raise UsageError(
        f"{arg('figsize', (width, height))} leaves no room for the panels next to their "
        f"labels and legend; use at least {need[0]:g} {need[1]:g} (inches)"
    )


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
    import numpy as np
    from matplotlib import rc_context

    if isinstance(fig, Drawn):
        theme = theme or fig.theme
        fig = fig.figure
    kind = check_format(fmt)
    check_dpi(dpi)
    width, height = fig.get_size_inches()
    check_pixels((width, height), dpi)
    if min(int(width * dpi), int(height * dpi)) < 1:  # as the Agg canvas counts them
        raise UsageError(  # (an activation figure's layout has refused it already)
            f"a {width:g} × {height:g} inch figure at {dpi} dpi is less than a pixel "
            f"{'wide' if int(width * dpi) < 1 else 'high'}; use a larger {arg('figsize')} "
            f"or {arg('dpi')}"
        )
    _at_dpi(fig, dpi)
    if kind != "png":
        buffer = io.BytesIO()
        with rc_context(theme_style(theme or DEFAULT_THEME)):
            fig.savefig(buffer, format=kind, dpi=dpi, metadata=_METADATA[kind])
        return buffer.getvalue()
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    # The pixels savefig draws for a PNG, read in place from the Agg canvas that drew
    # them (a figure of matplotlib's bare canvas is lent one, as savefig itself does
    # for a PNG, and given its own back).
    own = fig.canvas
    canvas = own if isinstance(own, FigureCanvasAgg) else FigureCanvasAgg(fig)
    try:
        with rc_context(theme_style(theme or DEFAULT_THEME)):
            fig.savefig(_Unread(), format="rgba", dpi=dpi)
        # The renderer it drew with (get_renderer: one for the figure as it is now).
        pixels = np.asarray(canvas.renderer.buffer_rgba())
    finally:
        if canvas is not own:
            fig.set_canvas(own)
    return _png(pixels, dpi)


class _Unread(io.BytesIO):
    """Where savefig writes the raw pixels that :func:`figure_bytes` reads from the
    canvas instead: a copy of a 100-megapixel figure is 400 MB."""

    def write(self, data: Any) -> int:
        return len(memoryview(data))


# Rows encoded at a time: the copies a strip needs (RGB, filtered) stay near a
# megabyte, where whole-image copies took a 100-megapixel figure (`--figsize 200
# 50 --dpi 100`) to 2 GB.
_STRIP_BYTES = 1 << 20


def _png(pixels: np.ndarray, dpi: float) -> bytes:
    """``pixels`` (rows of RGBA bytes, top row first) as a PNG file: RGB where every
    pixel is opaque, each row stored as its difference from the row above (PNG's
    "Up" filter), deflated at zlib level 1, with the resolution (pHYs) and no
    other metadata: same pixels, same bytes.

    Hand-written because Pillow, which savefig's PNG goes through, picks a filter
    for every row by trying all five, and that choice took 12.6 of the 16.3 ms of
    encoding an export figure (1440 × 540) at level 1. Over the committed
    outputs/ PNGs this writer took 6.4 ms a figure against Pillow's 24.9 ms, for
    files 6 % smaller (opaque RGB, where Pillow wrote RGBA). tests/test_png.py
    decodes what it writes with Pillow and compares pixels with savefig's own PNG.
    """
    import struct
    import zlib

    import numpy as np
    from PIL import Image

    height, width, _ = pixels.shape
    opaque = bool(pixels[..., 3].min() == 255)
    channels = 3 if opaque else 4
    deflate = zlib.compressobj(1)
    idat: list[bytes] = []
    above: np.ndarray | None = None  # the last row of the strip before
    step = max(1, _STRIP_BYTES // (4 * width))
    for top in range(0, height, step):
        strip = np.ascontiguousarray(pixels[top : top + step])
        count = len(strip)
        if opaque:  # Pillow drops the alpha bytes in 0.8 ms where numpy's strided copy took 3.3
            image = Image.frombuffer("RGBA", (width, count), strip, "raw", "RGBA", 0, 1)
            strip = np.asarray(image.convert("RGB"))
        rows = strip.reshape(count, width * channels)
        filtered = np.empty((count, 1 + width * channels), dtype=np.uint8)
        filtered[:, 0] = 2  # "Up" (the image's first row has none above: 0, "None")
        if above is None:
            filtered[0, 0] = 0
            filtered[0, 1:] = rows[0]
        else:
            np.subtract(rows[0], above, out=filtered[0, 1:])
        np.subtract(rows[1:], rows[:-1], out=filtered[1:, 1:])  # modulo 256, as PNG wants
        above = rows[-1].copy()
        idat.append(deflate.compress(filtered.data))
    idat.append(deflate.flush())

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    per_metre = int(dpi / 0.0254 + 0.5)  # as Pillow writes savefig's dpi
    header = struct.pack(">IIBBBBB", width, height, 8, 2 if opaque else 6, 0, 0, 0)
    return b"".join([
        b"\x89PNG\r\n\x1a\n",
        chunk(b"IHDR", header),
        chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1)),
        chunk(b"IDAT", b"".join(idat)),
        chunk(b"IEND", b""),
    ])  # fmt: skip


def save_figure(
    fig: Figure | Drawn,
    path: str | Path,
    *,
    fmt: str | None = None,
    dpi: int = DEFAULT_DPI,
    theme: str | None = None,
    follow_links: bool = True,
) -> Path:
    """Write ``fig`` (a Figure, or what :func:`activation_figure` returns) atomically.

    The format comes from ``fmt`` or the file suffix. A symlink at ``path`` is
    written through to its target, as for any file you name; ``follow_links=False``
    (a name actviz chose: ``outputs/relu.png``) replaces the link instead.
    """
    from matplotlib.figure import Figure

    if not isinstance(fig, (Figure, Drawn)):
        raise UsageError(
            f"{arg('fig')} must be a matplotlib Figure or what activation_figure returns "
            f"(got {type(fig).__name__})"
        )
    target = check_file_path(path, follow_links=follow_links)
    check_dpi(dpi)
    data = figure_bytes(fig, fmt or target.suffix.lstrip(".") or "png", dpi=dpi, theme=theme)
    # A link at a name actviz chose is replaced: that name came from out_dir.
    where = "out" if follow_links else "out_dir"
    return write_bytes_atomically(target, data, follow_links=follow_links, parameter=where)


def check_pixels(size: tuple[float, float], dpi: int) -> None:
    """Refuse a figure of more than MAX_PIXELS before it is laid out or drawn."""
    width, height = size
    if width * height * dpi * dpi > MAX_PIXELS:
        raise UsageError(
            f"a {width:g} × {height:g} inch figure at {dpi} dpi is "
            f"{width * dpi:,.0f} × {height * dpi:,.0f} pixels, above the cap of "
            f"{MAX_PIXELS:,} pixels; use a smaller {arg('figsize')} or {arg('dpi')}"
        )


def check_dpi(dpi: object) -> int:
    """``dpi`` if it is a whole number from :data:`MIN_DPI` to :data:`MAX_DPI`."""
    if not isinstance(dpi, int) or isinstance(dpi, bool) or not MIN_DPI <= dpi <= MAX_DPI:
        raise UnknownFormatError(
            f"dpi must be a whole number from {MIN_DPI} to {MAX_DPI} (got {dpi!r})"
        )
    return dpi


def check_file_path(path: str | Path, *, follow_links: bool = True) -> Path:
    """``path`` as a Path if it can name a file (not '', '.', '..', a folder, a device
    or a fifo: a name without a suffix gets one, so the device itself must be refused
    here, before ``/dev/full`` becomes a new ``/dev/full.png``). With
    ``follow_links=False`` (a name actviz chose) a symlink there is not looked
    through: it will be replaced."""
    if not isinstance(path, (str, os.PathLike)):
        raise UsageError(f"output must be a file path such as figs/plot.png (got {path!r})")
    text = os.fspath(path)
    target = Path(text)
    if not text.strip() or target.name in ("", ".", "..") or text.endswith(("/", "\\")):
        raise UsageError(f"output {text!r} is not a file name; give one such as figs/plot.png")
    if not follow_links:
        return check_own(target)  # a link is replaced; a fifo, a device, a folder refused
    if target.is_dir():
        raise UsageError(f"output {text!r} is a folder; give a file name such as {text}/plot.png")
    if target.exists() and not target.is_file():
        raise OutputError(
            f"cannot write {text}: it is not a regular file; choose another {arg('out')}"
        )
    return target


def check_out_folder(path: str | Path) -> Path:
    """``path`` if the folder it names a file in exists: a file the user names is
    written where they said, and a mistyped folder is not created on the way
    (only folders actviz chooses, the default ``outputs/`` and ``--out-dir``, are)."""
    target = Path(path)
    folder = target.parent
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise OutputError(f"cannot write {target}: the folder {folder} {what}; create it first")
    return target


def check_format(fmt: str) -> str:
    kind = fmt.lower()
    if kind not in IMAGE_FORMATS:
        raise UnknownFormatError(
            f"unknown format {fmt!r}; choose one of {', '.join(IMAGE_FORMATS)}"
        )
    return kind
