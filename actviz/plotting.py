"""Value and gradient figures, drawn with matplotlib's object API.

The ``draw_*`` helpers draw onto Axes you give them and return the artists
they made, so a notebook can place them in its own figure. Nothing here uses
pyplot or changes the global ``rcParams``: styling happens inside
``matplotlib.rc_context``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from actviz.atomic import write_bytes_atomically
from actviz.errors import UnknownFormatError, UsageError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    from actviz.probe import Probe
    from actviz.saturation import Saturation

FORMATS = ("png", "svg", "pdf")
DEFAULT_DPI = 150
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


REGIME_COLORS = {"dead": "0.55", "saturated": "#f5a623", "linear": "#9ecae1"}
UNDERFLOW_DTYPE = "float32"


def _style(theme: str) -> dict[Any, Any]:
    """rc settings for ``theme``, applied only inside ``rc_context``."""
    if theme not in THEMES:
        raise UnknownFormatError(f"unknown theme {theme!r}; choose one of {', '.join(THEMES)}")
    if theme == "light":
        return _STYLE
    import matplotlib.style

    return {**matplotlib.style.library["dark_background"], **_STYLE, "grid.alpha": 0.25}


@dataclass(frozen=True)
class Drawn:
    """The artists of one activation figure, for tests and further styling."""

    figure: Figure
    values: list[Line2D]
    grads: list[Line2D]
    grad2s: list[Line2D]
    shading: dict[str, Any]  # regime → the PolyCollection shading it
    peaks: list[Line2D]  # one marker per curve at its peak |f′|
    underflow_lines: list[Line2D]  # dashed verticals at the float32 underflow points


def _colors(count: int) -> list[Any]:
    """Matplotlib's default cycle, or a continuous colormap past ten curves."""
    import matplotlib as mpl

    if count <= 10:
        return [f"C{i}" for i in range(count)]
    cmap = mpl.colormaps["turbo"]
    return [cmap(i / (count - 1)) for i in range(count)]


def _draw(ax: Axes, probes: Sequence[Probe], field: str, ylabel: str) -> list[Line2D]:
    colors = _colors(len(probes))
    lines: list[Line2D] = []
    for probe, color in zip(probes, colors, strict=True):
        values = getattr(probe, field)
        if values is None:
            raise ValueError(f"{probe.label} was probed without {field}; probe with second=True")
        (line,) = ax.plot(probe.x, values, color=color, linewidth=1.8, label=probe.label)
        lines.append(line)
    ax.axhline(0.0, color="0.5", linewidth=0.8, zorder=0)
    ax.axvline(0.0, color="0.5", linewidth=0.8, zorder=0)
    ax.set_xlabel("x")
    ax.set_ylabel(ylabel)
    return lines


def draw_values(ax: Axes, probes: Sequence[Probe]) -> list[Line2D]:
    """f(x) of each probe on ``ax``; returns one line per probe."""
    ax.set_title("value f(x)", y=1.01)  # a fixed y skips the costly auto-placement
    return _draw(ax, probes, "y", "f(x)")


def draw_gradients(ax: Axes, probes: Sequence[Probe]) -> list[Line2D]:
    """f′(x) from autograd of each probe on ``ax``; returns one line per probe."""
    ax.set_title("gradient f′(x) from backward(ones_like(y))", y=1.01)
    return _draw(ax, probes, "grad", "f′(x)")


def draw_second(ax: Axes, probes: Sequence[Probe]) -> list[Line2D]:
    """f″(x) of each probe (probed with ``second=True``) on ``ax``."""
    ax.set_title("second derivative f″(x)", y=1.01)
    return _draw(ax, probes, "grad2", "f″(x)")


def shade_regimes(ax: Axes, probe: Probe, saturation: Saturation) -> dict[str, Any]:
    """Shade dead, saturated and linear stretches of x behind the curves."""
    import numpy as np

    shading = {}
    for regime, color in REGIME_COLORS.items():
        where = saturation.regime == regime
        if not where.any():
            continue
        shading[regime] = ax.fill_between(
            probe.x,
            0,
            1,
            where=np.asarray(where, dtype=bool),
            step="mid",
            transform=ax.get_xaxis_transform(),
            color=color,
            alpha=0.22,
            linewidth=0,
            label=regime,
            zorder=0,
        )
    return shading


def mark_peak(ax: Axes, probe: Probe, saturation: Saturation, color: Any) -> Line2D:
    """A marker on the gradient curve where |f′| peaks."""
    import numpy as np

    from actviz.display import peak_words

    index = int(np.flatnonzero(probe.x == saturation.peak_at)[0])
    (marker,) = ax.plot(
        [probe.x[index]],
        [probe.grad[index]],
        marker="o",
        color=color,
        markersize=6,
        linestyle="none",
        label=peak_words(saturation),
    )
    return marker


def mark_underflow(ax: Axes, probe: Probe, saturation: Saturation) -> list[Line2D]:
    """Dashed lines where float32 rounds f′ to exactly 0, if inside the range."""
    from actviz.display import number

    found = saturation.underflow.get(UNDERFLOW_DTYPE)
    if found is None:
        return []
    lines: list[Line2D] = []
    # Only the dtype's rounding: a zero by definition (hardsigmoid beyond ±3)
    # is the function itself, and the dead shading already shows it.
    left, right = found.side("left", "underflow"), found.side("right", "underflow")
    for edge in (None if left is None else -left, right):
        if edge is not None and probe.x[0] <= edge <= probe.x[-1] and edge != 0:
            # Both sides usually share |x|: one legend entry for the pair.
            label = f"{UNDERFLOW_DTYPE} f′ underflows to 0 beyond |x| = {number(abs(edge))}"
            if lines and lines[0].get_label() == label:
                label = "_nolegend_"
            lines.append(
                ax.axvline(edge, color="crimson", linestyle="--", linewidth=1, label=label)
            )
    return lines


def figure_title(probes: Sequence[Probe]) -> str:
    if len(probes) == 1:
        return probes[0].title
    title = ", ".join(p.label for p in probes)
    notes = sorted(
        {p.mode_note for p in probes if p.mode_note} | {p.dtype for p in probes} - {"float32"}
    )
    return title + (f" [{'; '.join(notes)}]" if notes else "")


def activation_figure(
    probes: Sequence[Probe],
    *,
    second: bool = False,
    saturations: Sequence[Saturation] | None = None,
    shade: bool = True,
    theme: str = "light",
) -> Drawn:
    """A new Figure: value and gradient panels side by side (and f″ if ``second``).

    With ``saturations`` (one per probe) the gradient panel marks each peak;
    for a single activation it also shades the regimes (``shade``) and draws
    the float32 underflow points that fall inside the range.
    """
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    if not probes:
        raise UsageError("activation_figure needs at least one probe")
    panels = 3 if second else 2
    with rc_context(_style(theme)):
        fig = Figure(figsize=(PANEL_SIZE[0] * panels, PANEL_SIZE[1]))
        axes = fig.subplots(1, panels)
        values = draw_values(axes[0], probes)
        grads = draw_gradients(axes[1], probes)
        grad2s = draw_second(axes[2], probes) if second else []
        shading: dict[str, Any] = {}
        peaks: list[Line2D] = []
        underflow_lines: list[Line2D] = []
        if saturations is not None:
            if len(probes) == 1:
                if shade:
                    shading = shade_regimes(axes[1], probes[0], saturations[0])
                underflow_lines = mark_underflow(axes[1], probes[0], saturations[0])
            for probe, saturation, line in zip(probes, saturations, grads, strict=True):
                peaks.append(mark_peak(axes[1], probe, saturation, line.get_color()))
            # Below the panel: inside, it would hide the shaded bands it explains.
            axes[1].legend(
                fontsize="x-small", loc="upper center", bbox_to_anchor=(0.5, -0.24), ncols=3
            )
        fig.suptitle(figure_title(probes), fontsize="large", fontweight="bold")
        # Fixed margins rather than constrained layout: the figure's parts are
        # always the same, and measuring every text each time costs more than
        # drawing the whole figure (batch export renders dozens).
        fig.subplots_adjust(
            left={2: 0.065, 3: 0.05}[panels],
            right=0.985,
            top=0.84,
            bottom=0.28 if saturations is not None else 0.14,
            wspace=0.22,
        )
        if len(probes) > 1:
            axes[0].legend(fontsize="small", ncols=math.ceil(len(probes) / 12))
    return Drawn(fig, values, grads, grad2s, shading, peaks, underflow_lines)


def figure_bytes(fig: Figure, fmt: str, *, dpi: int = DEFAULT_DPI, theme: str = "light") -> bytes:
    """The encoded file, without dates or version stamps: same figure, same bytes."""
    import io

    from matplotlib import rc_context

    kind = check_format(fmt)
    buffer = io.BytesIO()
    with rc_context(_style(theme)):
        fig.savefig(
            buffer, format=kind, dpi=dpi, metadata=_METADATA[kind], **_SAVE_OPTIONS.get(kind, {})
        )
    return buffer.getvalue()


def save_figure(
    fig: Figure,
    path: str | Path,
    *,
    fmt: str | None = None,
    dpi: int = DEFAULT_DPI,
    theme: str = "light",
) -> Path:
    """Write ``fig`` atomically; the format comes from ``fmt`` or the file suffix."""
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
    """``path`` as a Path if it can name a file (not '', '.', '..' or a folder)."""
    text = str(path)
    target = Path(text)
    if not text.strip() or target.name in ("", ".", "..") or text.endswith(("/", "\\")):
        raise UsageError(f"output {text!r} is not a file name; give one such as figs/plot.png")
    if target.is_dir():
        raise UsageError(f"output {text!r} is a folder; give a file name such as {text}/plot.png")
    return target


def check_format(fmt: str) -> str:
    kind = fmt.lower()
    if kind not in FORMATS:
        raise UnknownFormatError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return kind


def default_stem(probes: Sequence[Probe]) -> str:
    """``sigmoid``; overlays join the slugs: ``relu_vs_gelu``."""
    slugs = [p.spec.slug for p in probes]
    stem = "_vs_".join(slugs)
    if len(slugs) > 4 or len(stem) > 120:  # readable, and inside file-name limits
        stem = f"{'_vs_'.join(slugs[:3])}_and_{len(slugs) - 3}_more"
    return stem


def plot_file(
    probes: Sequence[Probe],
    *,
    out: str | Path | None = None,
    out_dir: str | Path = "outputs",
    fmt: str | None = None,
    second: bool = False,
    dpi: int = DEFAULT_DPI,
    eps: float | None = None,
    shade: bool = True,
) -> Path:
    """Draw ``probes`` with their saturation analysis into one figure and write it.

    Returns the path written. ``eps`` sets the saturated threshold of the
    shading (default 0.01); ``shade=False`` leaves the regimes unshaded.
    """
    from actviz.saturation import DEFAULT_EPS, analyze

    path, kind = output_path(default_stem(probes), out=out, out_dir=out_dir, fmt=fmt)
    saturations = [
        analyze(p, eps=DEFAULT_EPS if eps is None else eps, dtypes=(UNDERFLOW_DTYPE,))
        for p in probes
    ]
    drawn = activation_figure(probes, second=second, saturations=saturations, shade=shade)
    return save_figure(drawn.figure, path, fmt=kind, dpi=dpi)


def output_path(
    stem: str, *, out: str | Path | None, out_dir: str | Path, fmt: str | None
) -> tuple[Path, str]:
    """Where a figure goes and in which format: ``--out`` wins, else OUT_DIR/STEM.FMT."""
    if out is None:
        kind = check_format(fmt or "png")
        return Path(out_dir) / f"{stem}.{kind}", kind
    out = check_file_path(out)
    suffix = Path(out).suffix.lstrip(".")
    if fmt and suffix and suffix.lower() != fmt.lower():
        raise UnknownFormatError(
            f"output {out} does not end in .{fmt}; drop the format or change the suffix"
        )
    kind = check_format(fmt or suffix or "png")
    return (Path(out) if suffix else Path(out).with_suffix(f".{kind}")), kind
