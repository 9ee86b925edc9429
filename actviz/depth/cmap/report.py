"""``actviz cmap``'s table, and its figure written to a file."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from actviz.defaults import DEFAULT_DPI, DEFAULT_OUT_DIR
from actviz.display import number

if TYPE_CHECKING:
    from rich.table import Table

    from actviz.depth.cmap.kernel import CorrelationMap


def cmap_table(maps: Sequence[CorrelationMap]) -> Table:
    """One row per activation: the map's three numbers, for one layer and for L."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    layers = maps[0].layers if maps else 1
    table = Table(
        title="correlation map, input variance q = 1",
        caption=escape(
            "C(c) = E[f(u)f(v)]/E[f(z)²], (u, v) standard normal with correlation c. "
            "C(0) = E[f]²/E[f²]: how alike two unrelated inputs come out; C′(1) = E[f′²]/E[f²]: "
            "> 1, nearby inputs are pulled apart; C″(1) = E[f″²]/E[f²] (inf: a kink). "
            f"network: the same for {layers} layer{'s' if layers != 1 else ''}, C∘…∘C "
            "(C(0) near 1: every input looks alike)."
        ),
        caption_justify="left",
        box=box.SIMPLE_HEAD,
    )
    for header in ("activation", "C(0)", "C′(1)", "C″(1)", f"network C(0), L = {layers}",
                   "network C′(1)", "network C″(1)"):  # fmt: skip
        table.add_column(header, justify="left" if header == "activation" else "right")
    for m in maps:
        table.add_row(
            escape(m.label),
            *(_shown(v) for v in (m.c0, m.slope, m.curvature, m.network_c0, m.network_slope,
                                  m.network_curvature)),
        )  # fmt: skip
    return table


def _shown(value: float) -> str:
    """A quadrature's value to 12 digits (its accuracy), then the house formatter:
    C′(1) = 0.9999999999999998 reads 1, not a stretched 0.9999999999999998."""
    return number(float(f"{value:.12g}"))


def cmap_file(
    maps: Sequence[CorrelationMap],
    *,
    out: str | Path | None = None,
    out_dir: str | Path = DEFAULT_OUT_DIR,
    fmt: str | None = None,
    dpi: int = DEFAULT_DPI,
) -> Path:
    """Draw :func:`~actviz.depth.cmap.figure.cmap_figure` and write it (default:
    OUT_DIR/cmap-NAME_NAME.png)."""
    from actviz.atomic import check_own
    from actviz.depth.cmap.figure import cmap_figure
    from actviz.figure_files import output_path
    from actviz.file_names import MAX_STEM, cap
    from actviz.plotting import check_out_folder, save_figure

    slugs = [m.spec.slug for m in maps]
    stem = "cmap-" + "_".join(slugs)
    if len(stem) > MAX_STEM and len(slugs) > 1:
        stem = f"cmap-{slugs[0]}_and_{len(slugs) - 1}_more"
    path, kind = output_path(cap(stem), out=out, out_dir=out_dir, fmt=fmt)
    if out is not None:
        check_out_folder(path)
    else:
        check_own(path)
    return save_figure(cmap_figure(maps), path, fmt=kind, dpi=dpi, follow_links=out is not None)
