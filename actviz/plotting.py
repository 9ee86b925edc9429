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
from typing import TYPE_CHECKING, Any, BinaryIO

from actviz.atomic import write_atomically
from actviz.errors import UnknownFormatError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    from actviz.probe import Probe

FORMATS = ("png", "svg", "pdf")
DEFAULT_DPI = 150
PANEL_SIZE = (5.5, 4.2)  # inches per panel
# Keep output free of dates and version stamps: same inputs, same bytes.
_METADATA: dict[str, dict[str, Any]] = {
    "png": {"Software": None},
    "svg": {"Date": None, "Creator": None},
    "pdf": {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None},
}
_STYLE: dict[Any, Any] = {
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.35,
    "svg.hashsalt": "actviz",
    "figure.dpi": DEFAULT_DPI,
}


@dataclass(frozen=True)
class Drawn:
    """The artists of one activation figure, for tests and further styling."""

    figure: Figure
    values: list[Line2D]
    grads: list[Line2D]
    grad2s: list[Line2D]


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
    ax.set_title("value f(x)")
    return _draw(ax, probes, "y", "f(x)")


def draw_gradients(ax: Axes, probes: Sequence[Probe]) -> list[Line2D]:
    """f′(x) from autograd of each probe on ``ax``; returns one line per probe."""
    ax.set_title("gradient f′(x) from backward(ones_like(y))")
    return _draw(ax, probes, "grad", "f′(x)")


def draw_second(ax: Axes, probes: Sequence[Probe]) -> list[Line2D]:
    """f″(x) of each probe (probed with ``second=True``) on ``ax``."""
    ax.set_title("second derivative f″(x)")
    return _draw(ax, probes, "grad2", "f″(x)")


def figure_title(probes: Sequence[Probe]) -> str:
    if len(probes) == 1:
        return probes[0].title
    title = ", ".join(p.label for p in probes)
    notes = sorted(
        {p.mode_note for p in probes if p.mode_note} | {p.dtype for p in probes} - {"float32"}
    )
    return title + (f" [{'; '.join(notes)}]" if notes else "")


def activation_figure(probes: Sequence[Probe], *, second: bool = False) -> Drawn:
    """A new Figure: value and gradient panels side by side (and f″ if ``second``)."""
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    if not probes:
        raise ValueError("activation_figure needs at least one probe")
    panels = 3 if second else 2
    with rc_context(_STYLE):
        fig = Figure(figsize=(PANEL_SIZE[0] * panels, PANEL_SIZE[1]), layout="constrained")
        axes = fig.subplots(1, panels)
        values = draw_values(axes[0], probes)
        grads = draw_gradients(axes[1], probes)
        grad2s = draw_second(axes[2], probes) if second else []
        fig.suptitle(figure_title(probes), fontsize="large", fontweight="bold")
        if len(probes) > 1:
            axes[0].legend(fontsize="small", ncols=math.ceil(len(probes) / 12))
    return Drawn(fig, values, grads, grad2s)


def save_figure(
    fig: Figure, path: str | Path, *, fmt: str | None = None, dpi: int = DEFAULT_DPI
) -> Path:
    """Write ``fig`` atomically; the format comes from ``fmt`` or the file suffix."""
    from matplotlib import rc_context

    target = Path(path)
    kind = check_format(fmt or target.suffix.lstrip(".") or "png")

    def write(handle: BinaryIO) -> None:
        with rc_context(_STYLE):
            fig.savefig(handle, format=kind, dpi=dpi, metadata=_METADATA[kind])

    return write_atomically(target, write)


def check_format(fmt: str) -> str:
    kind = fmt.lower()
    if kind not in FORMATS:
        raise UnknownFormatError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return kind


def default_path(probes: Sequence[Probe], out_dir: str | Path, fmt: str) -> Path:
    """``outputs/sigmoid.png``; overlays join the slugs: ``relu_vs_gelu.png``."""
    slugs = [p.spec.slug for p in probes]
    stem = "_vs_".join(slugs)
    if len(slugs) > 4 or len(stem) > 120:  # readable, and inside file-name limits
        stem = f"{'_vs_'.join(slugs[:3])}_and_{len(slugs) - 3}_more"
    return Path(out_dir) / f"{stem}.{fmt}"


def plot_file(
    probes: Sequence[Probe],
    *,
    out: str | Path | None = None,
    out_dir: str | Path = "outputs",
    fmt: str | None = None,
    second: bool = False,
    dpi: int = DEFAULT_DPI,
) -> Path:
    """Draw ``probes`` into one figure and write it; returns the path written."""
    if out is not None:
        suffix = Path(out).suffix.lstrip(".")
        if fmt and suffix and suffix.lower() != fmt.lower():
            raise UnknownFormatError(
                f"output {out} does not end in .{fmt}; drop the format or change the suffix"
            )
        kind = check_format(fmt or suffix or "png")
        path = Path(out) if suffix else Path(out).with_suffix(f".{kind}")
    else:
        kind = check_format(fmt or "png")
        path = default_path(probes, out_dir, kind)
    drawn = activation_figure(probes, second=second)
    return save_figure(drawn.figure, path, fmt=kind, dpi=dpi)
