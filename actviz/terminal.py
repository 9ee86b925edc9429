"""Plots drawn in the terminal: f(x) and f′(x) as braille curves with numbered axes.

For the SSH session on a GPU box with no image viewer (``actviz plot NAME
--term``). Drawn with plotext, a maintained terminal plotting library with no
dependencies of its own: braille sub-cell resolution, tick numbers and frames,
ANSI colour that can be switched off, and rendering to a string (so tests and
notebooks get the text without a terminal). plotext is imported inside
:func:`terminal_plot` only: ``actviz --help`` and ``actviz list`` must not pay
for it. No matplotlib here.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

from actviz.defaults import DEFAULT_EPS
from actviz.display import coord, peak_words
from actviz.probing import DEFAULT_OPTIONS, ProbeOptions

if TYPE_CHECKING:
    from actviz.figure_files import FigureOptions
    from actviz.probing import Probe, ProbeRequest
    from actviz.saturation import Saturation

MIN_WIDTH = 40  # below this the tick labels leave no room for a curve
PANEL_WIDTH = 40  # panels side by side need at least this many columns each
MAX_HEIGHT = 24  # rows per panel: more only stretches the curve
MIN_HEIGHT = 8
# Without colour, curves after the first need their own character to be told apart.
PLAIN_MARKERS = ("braille", "•", "+", "x", "o", "*", "#", "%")
PEAK_MARKER = "◆"


def use_color(stream: TextIO | None = None) -> bool:
    """ANSI colour only for a terminal, and never when ``NO_COLOR`` is set (no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    stream = sys.stdout if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def terminal_size() -> tuple[int, int]:
    """Columns and lines of the terminal; ``COLUMNS``/``LINES`` win, 80×24 in a pipe."""
    size = shutil.get_terminal_size((80, 24))
    return size.columns, size.lines


def summary_line(probe: Probe, saturation: Saturation) -> str:
    """One line under the plot: the peak, where saturation starts, the dead share."""
    left, right = saturation.onsets[saturation.eps]
    span = saturation.span
    if left is not None and right is not None and left >= right:
        onset = "saturated over the whole range"
    else:
        sides = ([f"x ≤ {coord(left, span)}"] if left is not None else []) + (
            [f"x ≥ {coord(right, span)}"] if right is not None else []
        )
        onset = f"saturated for {' and '.join(sides)}" if sides else "no saturation in range"
    dead = saturation.fractions["dead"]
    return (
        f"{probe.label}: {peak_words(saturation)}; {onset} (eps {saturation.eps:g}); "
        f"dead {dead:.0%} of the range"
    )


def terminal_plot(
    probes: Sequence[Probe],
    *,
    width: int | None = None,
    height: int | None = None,
    color: bool | None = None,
    second: bool = False,
    eps: float = DEFAULT_EPS,
) -> str:
    """The value and gradient panels (and f″ with ``second``) as text, with a summary.

    ``width`` and ``height`` default to the terminal's (``COLUMNS``/``LINES``);
    panels sit side by side when each gets ``PANEL_WIDTH`` columns, else one
    above the other. ``color`` defaults to :func:`use_color` on stdout; without
    it the text has no ANSI escapes and each curve its own marker. The peak of
    |f′| is marked with ◆.
    """
    from actviz.errors import UsageError
    from actviz.saturation import analyze

    columns, lines = terminal_size()
    width = columns if width is None else width
    if width < MIN_WIDTH:
        raise UsageError(
            f"the terminal is {width} columns wide; --term needs at least {MIN_WIDTH} "
            "(widen it or set COLUMNS)"
        )
    if second and any(p.grad2 is None for p in probes):
        raise UsageError("second=True needs probes made with second=True")
    color = use_color() if color is None else color
    saturations = [analyze(p, eps=eps) for p in probes]
    summaries = [summary_line(p, s) for p, s in zip(probes, saturations, strict=True)]

    panels = 3 if second else 2
    across = max(1, min(panels, width // PANEL_WIDTH))
    down = math.ceil(panels / across)
    if height is None:
        room = lines - len(summaries) - 2  # the summary and the shell's prompt stay in view
        height = max(MIN_HEIGHT, min(MAX_HEIGHT, room // down)) * down

    import plotext  # type: ignore[import-untyped]  # ships no type information

    figure = plotext.figure
    figure.clear()
    limits = list(plotext.terminal._limit)  # a notebook's own plotext setting, put back below
    plotext.terminal.limit(False, False)  # our width and height, not plotext's guess
    figure.theme("simple")  # colour on the curves only: readable on dark and light terminals
    figure.subplots(down, across)
    figure.plot_size(width, height)
    fields = [("y", "f(x)"), ("grad", "f′(x)"), ("grad2", "f″(x)")][:panels]
    title = probes[0].title if len(probes) == 1 else ""
    for index, (field, what) in enumerate(fields):
        panel = figure.subplot(index // across + 1, index % across + 1)
        panel.title(f"{title}: {what}" if title and index == 0 else what)
        panel.label("x")
        points = [_finite(probe.x, getattr(probe, field)) for probe in probes]
        _axis(panel.ruler("x"), [x for xs, _ in points for x in xs], width // across // 10, 0)
        _axis(panel.ruler("y"), [y for _, ys in points for y in ys], height // down // 4, 1)
        for number, (probe, (xs, ys)) in enumerate(zip(probes, points, strict=True)):
            marker = "braille" if color else PLAIN_MARKERS[number % len(PLAIN_MARKERS)]
            signal = panel.signal(xs, ys, marker=marker).lines()
            if len(probes) > 1 and index == 0:
                signal.label(probe.label)
            panel.draw(signal)
        if field == "grad":
            for probe, saturation in zip(probes, saturations, strict=True):
                peak = probe.grad[int(abs(probe.x - saturation.peak_at).argmin())]  # signed f′
                if math.isfinite(saturation.peak_at) and math.isfinite(peak):
                    panel.draw(panel.signal([saturation.peak_at], [float(peak)],
                                            marker=PEAK_MARKER))  # fmt: skip
    try:
        text: str = figure.build().string(colorless=not color)
    finally:  # plotext keeps one global figure and terminal: leave them as we found them
        figure.clear()
        plotext.terminal.limit(*limits)
    return "\n".join([text.rstrip("\n"), *summaries])


def plot_names(
    request: ProbeRequest,
    *,
    options: ProbeOptions = DEFAULT_OPTIONS,
    eps: float = DEFAULT_EPS,
    figure: FigureOptions | None = None,
) -> str:
    """What ``actviz plot NAMES --term`` prints: probe ``names`` and :func:`terminal_plot` them.

    ``params`` are ``--param`` assignments and the grid is as for
    :func:`actviz.figure_files.write_plot`. ``figure`` holds the image-file
    options given alongside: any set is refused, since nothing is written.
    """
    from actviz import registry
    from actviz.errors import UsageError
    from actviz.probing import ProbeRequest, probe_many

    request = ProbeRequest.of(request)
    if figure is not None and (for_files := figure.given()):
        verb = "sets" if len(for_files) == 1 else "set"
        raise UsageError(f"{', '.join(for_files)} {verb} image files; --term draws in the terminal")
    first = request.names[0]
    if registry.two_input(first) is not None:
        raise UsageError(f"{first} is drawn as heatmaps; --term draws curves of f(x)")
    probes = probe_many(request.specs(), request.grid(), options)
    return terminal_plot(probes, second=options.second, eps=eps)


def nice_ticks(low: float, high: float, count: int) -> list[float]:
    """About ``count`` round numbers (1, 2 or 5 × 10ᵏ apart) covering [low, high]."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return [low] if math.isfinite(low) else []
    raw = (high - low) / max(count, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(low / step + 1e-9)
    last = math.ceil(high / step - 1e-9)
    # round() drops the float noise of k·step (0.30000000000000004 → 0.3)
    return [round(k * step, 12) + 0.0 for k in range(first, last + 1)]


def _axis(ruler: Any, values: list[float], count: int, outward: int) -> None:
    """Round tick numbers; the y axis widens to the outer ticks, x keeps the range."""
    if not values:
        return
    low, high = min(values), max(values)
    if high == low:  # a constant (f′ of a linear stretch): give it a band to sit in
        low, high = low - 1, high + 1
    ticks = nice_ticks(low, high, max(count, 2))
    if outward:
        low, high = ticks[0], ticks[-1]
    else:
        ticks = [t for t in ticks if low - 1e-9 <= t <= high + 1e-9]
    ruler.lim(low, high)
    ruler.ticks(ticks, [f"{t:g}" for t in ticks])


def _finite(x: Any, values: Any) -> tuple[list[float], list[float]]:
    """The points plotext can place: NaN and ±inf (a custom activation's) are left out."""
    import numpy as np

    keep = np.isfinite(x) & np.isfinite(values)
    return [float(v) for v in x[keep]], [float(v) for v in values[keep]]
