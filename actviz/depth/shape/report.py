"""``actviz shape``'s table, and its figure written to a file."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from actviz.defaults import DEFAULT_DPI, DEFAULT_THEME
from actviz.display import number

if TYPE_CHECKING:
    from actviz.depth.shape.solve import Shaped, ShapeSurvey


def _shown(value: float) -> str:
    """A quadrature's value to 12 digits (its accuracy), then the house formatter."""
    return number(float(f"{value:.12g}"))


def _targets(survey: ShapeSurvey) -> str:
    layers = survey.depth
    s = survey.settings
    if survey.method == "dks":
        zeta = s["zeta"]
        return (
            f"targets: Q(1) = 1, Q′(1) = 1 and C(0) = 0 for each layer (so the network's "
            f"C(0) = 0), the network's C′(1) = ζ = {number(zeta)} (each layer's ζ^(1/L) = "
            f"{number(zeta ** (1 / layers))})."
        )
    return (
        f"targets: for a smooth φ, Q(1) = 1, Q′(1) = 1 and C′(1) = 1 for each layer and the "
        f"network's C″(1) = τ = {number(s['tau'])} (each layer's τ/L = "
        f"{number(s['tau'] / layers)}); for leaky relu, Q(1) = 1 and the network's C(0) = "
        f"η = {number(s['eta'])}, with α = 1, β = δ = 0 and TAT's negative slope in the name."
    )


def shape_table(survey: ShapeSurvey) -> Any:
    """The shaped activations (parameters, the network's three numbers, the largest miss
    of a target) and, below, those refused with the reason."""
    from rich import box
    from rich.console import Group
    from rich.markup import escape
    from rich.table import Table

    method = survey.method.upper()
    table = Table(
        title=f"{method} for a {survey.depth}-layer vanilla MLP: φ̂(x) = γ·(φ(α·x + β) + δ)",
        caption=escape(
            f"{_targets(survey)} miss: the largest |value − target|, each value computed "
            "afresh on φ̂. Use φ̂ after every layer; weights of variance 1/fan_in "
            "(orthogonal), no biases, inputs of mean square 1."
        ),
        caption_justify="left",
        box=box.SIMPLE_HEAD,
    )
    for header in ("activation", "α", "β", "γ", "δ", f"network C(0), L = {survey.depth}",
                   "network C′(1)", "network C″(1)", "miss"):  # fmt: skip
        table.add_column(header, justify="left" if header == "activation" else "right")
    for s in survey.shaped:
        table.add_row(
            escape(s.base.label),
            *(_shown(v) for v in (s.alpha, s.beta, s.gamma, s.delta, s.network_c0,
                                  s.network_slope, s.network_curvature)),
            f"{s.miss():.0e}",
        )  # fmt: skip
    if not survey.refused:
        return table
    refused = Table(title=f"not shaped by {method}", box=box.SIMPLE_HEAD, show_lines=False)
    refused.add_column("activation")
    refused.add_column("why", overflow="fold")
    for r in survey.refused:
        refused.add_row(escape(r.spec.label), escape(r.reason))
    return Group(table, refused) if survey.shaped else refused


def shape_file(
    shaped: Sequence[Shaped],
    *,
    out: str | Path,
    dpi: int = DEFAULT_DPI,
    theme: str = DEFAULT_THEME,
) -> Path:
    """Draw :func:`~actviz.depth.shape.figure.shape_figure` and write it to ``out``."""
    from actviz.depth.shape.figure import shape_figure
    from actviz.figure_files import output_path
    from actviz.plotting import check_out_folder, save_figure

    path, kind = output_path("shape", out=out, out_dir=".", fmt=None)
    check_out_folder(path)
    return save_figure(shape_figure(shaped, theme=theme), path, fmt=kind, dpi=dpi)
