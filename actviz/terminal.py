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
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

from actviz.defaults import DEFAULT_EPS
from actviz.display import onset_words, peak_words, route_note, share
from actviz.probing import DEFAULT_OPTIONS, ProbeOptions

if TYPE_CHECKING:
    from actviz.probing import Grid, Probe, Specs
    from actviz.saturation import Saturation

MIN_WIDTH = 40  # below this the tick labels leave no room for a curve
PANEL_WIDTH = 40  # panels side by side need at least this many columns each
MAX_HEIGHT = 24  # rows per panel: more only stretches the curve
MIN_HEIGHT = 8
# What a terminal can show: a larger COLUMNS or LINES is taken as this much (plotext
# builds a canvas of width × height cells in Python, and COLUMNS=1000000 ran it out
# of memory); a larger width or height given to terminal_plot is refused.
MAX_COLUMNS = 1_000
MAX_LINES = 500
# Each curve is handed to plotext as at most this many points per column of the
# figure: the lowest and highest value of each of four runs of neighbours per
# column (a braille cell is two dots wide), so the drawing is the same and
# plotext's Python loop stays short.
POINTS_PER_COLUMN = 8
# Without colour, curves after the first need their own character to be told apart.
PLAIN_MARKERS = ("braille", "•", "+", "x", "o", "*", "#", "%")
PEAK_MARKER = "◆"
# The curves' colours, from xterm's 6×6×6 colour cube (codes 16-231, the same RGB in
# every terminal that has 256 colours): mid-tones with a contrast of at least 3:1
# against black and against white, so they read on a dark and on a light terminal
# alike. Only curves (and their peak marks and legend entries) are coloured; frame,
# ticks and labels keep the terminal's own foreground and no background is painted.
CURVE_COLORS = (33, 166, 28, 163, 30, 160, 136, 97)
SUMMARY_INDENT = 2  # continuation lines of a wrapped summary


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


def tail_words(saturation: Saturation, x: Any) -> str:
    """The flat tails in the regime words of ``actviz table``: ``dead for x ≤ 0`` where
    every sample beyond the onset has f′ exactly 0, ``saturated for x ≤ -6 and x ≥ 6
    (eps 0.01)`` where some are small but not 0, ``no saturation in range (eps 0.01)``.

    ``x`` is the probe's grid (the samples ``saturation.regime`` describes); the
    onsets are ``saturation.onsets[saturation.eps]``, written by :func:`onset_words`.
    """
    left, right = saturation.onsets[saturation.eps]
    span, regime, eps = saturation.span, saturation.regime, f"(eps {saturation.eps:g})"

    def word(beyond: Any) -> str:
        return "dead" if bool((regime[beyond] == "dead").all()) else "saturated"

    if left is None and right is None:
        return f"no saturation in range {eps}"
    if left is not None and right is not None and left >= right:  # below eps everywhere
        whole = word(slice(None))
        return f"{whole} over {onset_words((left, right), span)}" + (
            f" {eps}" if whole == "saturated" else ""
        )
    sides = [
        (word(x <= left) if left is not None else None, (left, None)),
        (word(x >= right) if right is not None else None, (None, right)),
    ]
    words = [w for w, _ in sides if w is not None]
    if len(set(words)) == 1:  # one word for both sides: "saturated for x ≤ -6 and x ≥ 6"
        phrase = f"{words[0]} for {onset_words((left, right), span)}"
    else:
        phrase = " and ".join(f"{w} for {onset_words(o, span)}" for w, o in sides if w)
    return phrase + (f" {eps}" if "saturated" in words else "")


def summary_line(probe: Probe, saturation: Saturation) -> str:
    """One line under the plot: the peak, the flat tails, the dead share, ``; ``-separated."""
    return (
        f"{probe.label}: {peak_words(saturation)}; {tail_words(saturation, probe.x)}; "
        f"dead {share(saturation, 'dead')} of the range"
    )


def wrap_phrases(text: str, width: int, indent: int = SUMMARY_INDENT) -> list[str]:
    """``text`` in lines of at most ``width`` columns, broken only between its
    ``; ``-separated phrases (the ``;`` stays at the end of the line); continuation
    lines are indented by ``indent``. A phrase wider than a line on its own is
    broken at its spaces (and a word wider than that, within the word).
    """
    pieces = text.split("; ")
    pieces = [piece + ";" for piece in pieces[:-1]] + pieces[-1:]
    lines: list[str] = []  # without their indent
    line: str | None = None
    for piece in pieces:
        room = width - (indent if lines else 0)
        if line is not None and len(line) + 1 + len(piece) <= room:
            line = f"{line} {piece}"
            continue
        if line is not None:
            lines.append(line)
        lead = " " * (indent if lines else 0)
        chunks = textwrap.wrap(
            piece,
            width,
            initial_indent=lead,
            subsequent_indent=" " * indent,
            break_on_hyphens=False,
        ) or [lead]
        cut = [lead, *[" " * indent] * (len(chunks) - 1)]
        *done, last = [chunk[len(c) :] for chunk, c in zip(chunks, cut, strict=True)]
        lines += done
        line = last
    if line is not None:
        lines.append(line)
    return [(" " * indent if k else "") + line for k, line in enumerate(lines)]


def panel_grid(panels: int, width: int) -> tuple[int, int]:
    """(rows, columns) of panels: as many across as get ``PANEL_WIDTH`` columns each and
    fill every row, so no framed panel is left empty (3 panels: 3 across or 1)."""
    across = max(1, min(panels, width // PANEL_WIDTH))
    while panels % across:
        across -= 1
    return panels // across, across


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
    panels sit side by side when each gets ``PANEL_WIDTH`` columns and every row
    is filled (:func:`panel_grid`), else one above the other. ``color``
    defaults to :func:`use_color` on stdout; with it only the curves are
    coloured (no background anywhere, frame and ticks in the terminal's own
    colour), without it the text has no ANSI escapes and each curve its own
    marker. The peak of |f′| is marked with ◆ in its curve's colour. The
    summaries are wrapped to ``width`` between their phrases
    (:func:`wrap_phrases`).
    """
    from actviz.errors import UsageError, arg
    from actviz.saturation import analyze

    columns, lines = terminal_size()
    for name, given, most in (("width", width, MAX_COLUMNS), ("height", height, MAX_LINES)):
        if given is not None and given > most:
            raise UsageError(f"{name} must be at most {most:,} (got {given:,})")
    columns, lines = min(columns, MAX_COLUMNS), min(lines, MAX_LINES)
    width = columns if width is None else width
    if width < MIN_WIDTH:
        raise UsageError(
            f"the terminal is {width} columns wide; {arg('terminal_plot')} needs at least "
            f"{MIN_WIDTH} (widen it or set COLUMNS)"
        )
    if second and any(p.grad2 is None for p in probes):
        raise UsageError("second=True needs probes made with second=True")
    color = use_color() if color is None else color
    saturations = [analyze(p, eps=eps) for p in probes]
    note = route_note(saturations)
    summaries = [
        line
        for text in [
            *(summary_line(p, s) for p, s in zip(probes, saturations, strict=True)),
            *([note] if note else []),
        ]
        for line in wrap_phrases(text, width)
    ]

    panels = 3 if second else 2
    down, across = panel_grid(panels, width)
    if height is None:
        room = lines - len(summaries) - 2  # the summary and the shell's prompt stay in view
        height = max(MIN_HEIGHT, min(MAX_HEIGHT, room // down)) * down

    import plotext  # type: ignore[import-untyped]  # ships no type information

    figure = plotext.figure
    figure.clear()
    limits = list(plotext.terminal._limit)  # a notebook's own plotext setting, put back below
    plotext.terminal.limit(False, False)  # our width and height, not plotext's guess
    figure.subplots(down, across)
    # After subplots(): plotext's new panels start on its default white canvas. "simple"
    # paints nothing: no background, frame and ticks in the terminal's own colours.
    figure.theme("simple")
    figure.plot_size(width, height)
    fields = [("y", "f(x)"), ("grad", "f′(x)"), ("grad2", "f″(x)")][:panels]
    title = probes[0].title if len(probes) == 1 else ""
    for index, (field, what) in enumerate(fields):
        panel = figure.subplot(index // across + 1, index % across + 1)
        panel.title(f"{title}: {what}" if title and index == 0 else what)
        panel.label("x")
        points = [
            _finite(probe.x, getattr(probe, field), width * POINTS_PER_COLUMN // across)
            for probe in probes
        ]
        _axis(panel.ruler("x"), [x for xs, _ in points for x in xs], width // across // 10, 0)
        _axis(panel.ruler("y"), [y for _, ys in points for y in ys], height // down // 4, 1)
        inks = [plotext.pixel(foreground=curve_color(n)) for n in range(len(probes))]
        for number, (probe, (xs, ys)) in enumerate(zip(probes, points, strict=True)):
            symbol = _symbol(number, color)
            signal = panel.signal(xs, ys, marker=plotext.marker(symbol, inks[number])).lines()
            if len(probes) > 1 and index == 0:
                signal.label(probe.label)
            panel.draw(signal)
        if field == "grad":
            for number, (probe, saturation) in enumerate(zip(probes, saturations, strict=True)):
                peak = probe.grad[int(abs(probe.x - saturation.peak_at).argmin())]  # signed f′
                if math.isfinite(saturation.peak_at) and math.isfinite(peak):
                    mark = plotext.marker(PEAK_MARKER, inks[number])  # the curve's own colour
                    panel.draw(panel.signal([saturation.peak_at], [float(peak)], marker=mark))
    try:
        text: str = figure.build().string(colorless=not color)
    finally:  # plotext keeps one global figure and terminal: leave them as we found them
        figure.clear()
        plotext.terminal.limit(*limits)
    return "\n".join([text.rstrip("\n"), *summaries])


def plot_names(
    specs: Specs,
    grid: Grid | None = None,
    options: ProbeOptions = DEFAULT_OPTIONS,
    *,
    eps: float = DEFAULT_EPS,
) -> str:
    """What ``actviz plot NAMES --term`` prints: probe ``specs`` on ``grid`` and
    :func:`terminal_plot` them."""
    from actviz.probing import probe_many

    probes = probe_many(specs, grid, options)
    return terminal_plot(probes, second=options.second, eps=eps)


def curve_color(number: int) -> int:
    """The 256-colour code of curve ``number`` (0 first), for its line, legend and ◆."""
    return CURVE_COLORS[number % len(CURVE_COLORS)]


def _symbol(number: int, color: bool) -> str:
    """Braille while colours tell the curves apart; after that (or without colour)
    a character of each curve's own."""
    if color:
        return PLAIN_MARKERS[(number // len(CURVE_COLORS)) % len(PLAIN_MARKERS)]
    return PLAIN_MARKERS[number % len(PLAIN_MARKERS)]


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


def _finite(x: Any, values: Any, most: int) -> tuple[list[float], list[float]]:
    """The points plotext can place: NaN and ±inf (a custom activation's) are left out,
    and above ``most`` points each of ``most // 2`` runs of neighbours gives its lowest
    and highest value (at the run's middle x), which draw the same column of dots."""
    import numpy as np

    keep = np.isfinite(x) & np.isfinite(values)
    x, values = x[keep], values[keep]
    if len(x) > most:
        starts = np.linspace(0, len(x), most // 2, endpoint=False).astype(np.int64)
        middle = x[np.minimum((starts + np.append(starts[1:], len(x))) // 2, len(x) - 1)]
        low, high = np.minimum.reduceat(values, starts), np.maximum.reduceat(values, starts)
        x = np.repeat(middle, 2)
        values = np.stack([low, high], axis=1).reshape(-1)
    return [float(v) for v in x], [float(v) for v in values]
