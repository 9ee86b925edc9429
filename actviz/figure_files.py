"""Figure files: where a figure goes, under which name, and writing it.

Beside export.py (which writes many figures at once), this module decides the
file name and format of one figure (``--out`` wins, else ``OUT_DIR/STEM.FMT``),
runs what the figure needs (the probe, the saturation analysis) and writes it
with :func:`actviz.plotting.save_figure`. plotting.py, glu.py and
depth_plots.py only draw; nothing there names or writes files on its own.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING

from actviz import plotting
from actviz.atomic import check_inside, check_own
from actviz.defaults import (
    DEFAULT_DPI,
    DEFAULT_DTYPE,
    DEFAULT_EPS,
    DEFAULT_OUT_DIR,
    DEFAULT_THEME,
)
from actviz.errors import UnknownFormatError, UsageError, arg
from actviz.file_names import MAX_STEM, cap
from actviz.plotting import (
    UNDERFLOW_DTYPE,
    Limits,
    check_file_path,
    check_format,
    check_limits,
    check_out_folder,
    check_probes,
    save_figure,
    sweep_runs,
    theme_style,
)
from actviz.probing import DEFAULT_OPTIONS, Grid, ProbeOptions
from actviz.registry import TwoInputActivation

if TYPE_CHECKING:
    import torch

    from actviz.depth.gain import PhaseCurve
    from actviz.depth.simulation import Depth
    from actviz.probing import Probe, Specs


@dataclass(frozen=True)
class FigureOptions:
    """How ``actviz plot`` writes and lays out a figure: one field per option.

    ``out`` wins over ``out_dir``/STEM; ``fmt`` defaults to ``out``'s suffix,
    else png. ``ylim``, ``grad_ylim`` and ``grad2_ylim`` are the y limits of the
    value, gradient and f″ panels; None everywhere means automatic.
    """

    out: str | Path | None = None
    out_dir: str | Path = Path(DEFAULT_OUT_DIR)
    fmt: str | None = None
    dpi: int = DEFAULT_DPI
    theme: str = DEFAULT_THEME
    figsize: tuple[float, float] | None = None
    xlim: Limits | None = None
    ylim: Limits | None = None
    grad_ylim: Limits | None = None
    grad2_ylim: Limits | None = None
    shade: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.out_dir, (str, os.PathLike)):
            raise UsageError(f"{arg('out_dir', self.out_dir)} must be a folder's path")
        object.__setattr__(self, "out_dir", Path(self.out_dir))  # "outputs" is the default too
        check_limits(self.xlim, [self.ylim, self.grad_ylim, self.grad2_ylim], 3, self.figsize)

    def given(self) -> list[str]:
        """The fields set away from their defaults, in field order."""
        default = FigureOptions()
        return [f.name for f in fields(self) if getattr(self, f.name) != getattr(default, f.name)]


# What glu's heatmaps cannot follow: they have their own size, axes and colours.
_CURVES_ONLY = ("theme", "figsize", "xlim", "ylim", "grad_ylim")


def write_plot(
    specs: Specs | TwoInputActivation,
    grid: Grid | None = None,
    options: ProbeOptions = DEFAULT_OPTIONS,
    figure: FigureOptions | None = None,
    *,
    eps: float = DEFAULT_EPS,
) -> Path:
    """What ``actviz plot NAMES`` writes: probe ``specs`` on ``grid`` and write their figure.

    ``specs`` are activations (names, :class:`~actviz.registry.Spec`\\ s, a
    :class:`~actviz.params.Sweep`): their curves overlay in one figure. A lone
    two-input activation (``"glu"``) is drawn as heatmaps over the (a, b) plane.
    Everything that can be refused is refused before any probing. Returns the
    path written.
    """
    from actviz.probing import probe_many

    figure = figure or FigureOptions()
    if not isinstance(figure, FigureOptions):
        raise UsageError(f"{arg('figure')} must be a FigureOptions (got {figure!r:.60})")
    if figure.fmt is not None:
        check_format(figure.fmt)
    if figure.grad2_ylim is not None and not options.second:
        raise UsageError(
            f"{arg('grad2_ylim')} sets the f″ panel, which only {arg('second', True)} draws"
        )
    pair = _lone_pair(specs)
    if pair is not None:  # GLU: heatmaps over (a, b); with others, get() refuses it
        if unused := [arg(name) for name in figure.given() if name in _CURVES_ONLY]:
            verb = "applies" if len(unused) == 1 else "apply"
            raise UsageError(f"{', '.join(unused)} {verb} to activation plots, not glu's heatmaps")
        return glu_file(grid, out=figure.out, out_dir=figure.out_dir,
                        fmt=figure.fmt, dpi=figure.dpi, dtype=options.dtype,
                        device=options.device, second=options.second)  # fmt: skip
    if isinstance(specs, TwoInputActivation):
        specs = [specs.name]  # refused by the registry, with what to do
    probes = probe_many(specs, grid, options)
    ylim = [figure.ylim, figure.grad_ylim, figure.grad2_ylim][: 3 if options.second else 2]
    return plot_file(probes, out=figure.out, out_dir=figure.out_dir, fmt=figure.fmt,
                     second=options.second, dpi=figure.dpi, eps=eps, shade=figure.shade,
                     theme=figure.theme, figsize=figure.figsize, xlim=figure.xlim,
                     ylim=ylim)  # fmt: skip


def _lone_pair(specs: object) -> TwoInputActivation | None:
    """The two-input activation (glu) that ``specs`` name alone, or None."""
    from actviz import registry

    if isinstance(specs, TwoInputActivation):
        return specs
    if isinstance(specs, (list, tuple)) and len(specs) == 1:
        (specs,) = specs
        if isinstance(specs, TwoInputActivation):
            return specs
    return registry.two_input(specs) if isinstance(specs, str) else None


def plot_file(
    probes: Sequence[Probe],
    *,
    out: str | Path | None = None,
    out_dir: str | Path = DEFAULT_OUT_DIR,
    fmt: str | None = None,
    second: bool = False,
    dpi: int = DEFAULT_DPI,
    eps: float | None = None,
    shade: bool = True,
    theme: str = DEFAULT_THEME,
    figsize: tuple[float, float] | None = None,
    xlim: Limits | None = None,
    ylim: Sequence[Limits | None] | None = None,
) -> Path:
    """Draw ``probes`` with their saturation analysis into one figure and write it.

    Returns the path written. ``eps`` sets the saturated threshold of the
    shading (default 0.01); ``shade=False`` leaves the regimes unshaded;
    ``theme``, ``figsize``, ``xlim`` and ``ylim`` are as for
    :func:`~actviz.plotting.activation_figure`.
    """
    from actviz.saturation import analyze

    check_probes(probes)
    path, kind = _writable_path(default_stem(probes), out=out, out_dir=out_dir, fmt=fmt)
    theme_style(theme)  # fail before the analysis, not after
    check_limits(xlim, ylim, 3 if second else 2, figsize)
    saturations = [
        analyze(p, eps=DEFAULT_EPS if eps is None else eps, dtypes=(UNDERFLOW_DTYPE,))
        for p in probes
    ]
    # Looked up on the module, so that a test (or a notebook) can wrap it.
    drawn = plotting.activation_figure(probes, second=second, saturations=saturations,
                                       shade=shade, theme=theme, figsize=figsize, xlim=xlim,
                                       ylim=ylim, dpi=dpi)  # fmt: skip
    return save_figure(drawn, path, fmt=kind, dpi=dpi, follow_links=out is not None)


def default_stem(probes: Sequence[Probe]) -> str:
    """``sigmoid``; overlays join the slugs: ``relu_vs_gelu``; a sweep is named once:
    ``leaky_relu-sweep-negative_slope``."""
    slugs = [s.slug if s else group[0].spec.slug for s, group in sweep_runs(probes)]
    stem = "_vs_".join(slugs)
    if len(slugs) > 4 or (len(stem) > MAX_STEM and len(slugs) > 3):  # readable
        stem = f"{'_vs_'.join(slugs[:3])}_and_{len(slugs) - 3}_more"
    return cap(stem)  # inside file-name limits, however long each slug is


def _writable_path(
    stem: str, *, out: str | Path | None, out_dir: str | Path, fmt: str | None
) -> tuple[Path, str]:
    """:func:`output_path`, refused early when ``out`` names a folder that does not
    exist (a folder you name is not created for you; ``out_dir`` is), or when a
    fifo, a device or a folder sits at the default name."""
    path, kind = output_path(stem, out=out, out_dir=out_dir, fmt=fmt)
    if out is not None:
        check_out_folder(path)
    else:  # a name actviz chose: a link there is replaced, a fifo refused before any work
        check_own(path)
    return path, kind


def output_path(
    stem: str, *, out: str | Path | None, out_dir: str | Path, fmt: str | None
) -> tuple[Path, str]:
    """Where a figure goes and in which format: ``--out`` wins, else OUT_DIR/STEM.FMT."""
    if out is None:
        kind = check_format(fmt or "png")
        # Stems are slugs (actviz/file_names.py); whatever made one, it stays inside.
        return check_inside(out_dir, Path(out_dir) / f"{cap(stem)}.{kind}"), kind
    out = check_file_path(out)
    suffix = Path(out).suffix.lstrip(".")
    if fmt and suffix and suffix.lower() != fmt.lower():
        raise UnknownFormatError(
            f"output {out} does not end in .{fmt}; drop the format or change the suffix"
        )
    kind = check_format(fmt or suffix or "png")
    return (Path(out) if suffix else Path(out).with_suffix(f".{kind}")), kind


def glu_file(
    grid: Grid | None = None,
    *,
    out: str | Path | None = None,
    out_dir: str | Path = DEFAULT_OUT_DIR,
    fmt: str | None = None,
    dpi: int = DEFAULT_DPI,
    dtype: str | torch.dtype = DEFAULT_DTYPE,
    device: str = "cpu",
    second: bool = False,
) -> Path:
    """Probe GLU over the (a, b) plane and write the heatmaps; returns the path."""
    from actviz.glu import NAME, glu_figure, probe_glu

    path, kind = _writable_path(NAME, out=out, out_dir=out_dir, fmt=fmt)
    figure = glu_figure(probe_glu(grid, dtype=dtype, device=device, second=second))
    return save_figure(figure, path, fmt=kind, dpi=dpi, follow_links=out is not None)


def depth_file(
    result: Depth,
    *,
    out: str | Path | None = None,
    out_dir: str | Path = DEFAULT_OUT_DIR,
    fmt: str | None = None,
    dpi: int = DEFAULT_DPI,
) -> Path:
    """Draw :func:`~actviz.depth.plots.depth_figure` and write it (default:
    OUT_DIR/depth-NAME_NAME.png)."""
    from actviz.depth.plots import depth_figure

    stem = _prefixed_stem("depth", [r.spec.slug for r in result.runs])
    path, kind = _writable_path(stem, out=out, out_dir=out_dir, fmt=fmt)
    return save_figure(depth_figure(result), path, fmt=kind, dpi=dpi, follow_links=out is not None)


def phase_file(
    curves: Sequence[PhaseCurve],
    *,
    out: str | Path | None = None,
    out_dir: str | Path = DEFAULT_OUT_DIR,
    fmt: str | None = None,
    dpi: int = DEFAULT_DPI,
) -> Path:
    """Draw :func:`~actviz.depth.plots.phase_figure` and write it (default:
    OUT_DIR/phase-NAME_NAME.png)."""
    from actviz.depth.plots import phase_figure

    stem = _prefixed_stem("phase", [c.spec.slug for c in curves])
    path, kind = _writable_path(stem, out=out, out_dir=out_dir, fmt=fmt)
    return save_figure(phase_figure(curves), path, fmt=kind, dpi=dpi, follow_links=out is not None)


def _prefixed_stem(prefix: str, slugs: Sequence[str]) -> str:
    """``depth-relu_tanh``; past 120 characters ``depth-relu_and_9_more``, and never
    past :data:`~actviz.file_names.MAX_STEM` bytes (file-name limits)."""
    stem = f"{prefix}-" + "_".join(slugs)
    if len(stem) > MAX_STEM and len(slugs) > 1:
        stem = f"{prefix}-{slugs[0]}_and_{len(slugs) - 1}_more"
    return cap(stem)
