"""Tables of deep networks at initialisation: ``actviz gain`` (one row per
activation) and ``actviz depth`` (one table per network, a row per layer), as
rich tables and CSV. The figures are in :mod:`actviz.depth.plots`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from actviz.display import MISSING, csv_text, percent

if TYPE_CHECKING:
    from rich.console import Group
    from rich.table import Table


def _approx(value: float | None) -> str:
    """A computed estimate (quadrature, batch statistics): 4 significant digits.
    Unlike a dtype's values, none of these is exact, so none is stretched."""
    if value is None:
        return MISSING
    return f"{value:.4g}".replace("e-0", "e-").replace("e+0", "e+")


def gain_table(gains: Sequence[Any]) -> Table:
    """``actviz gain``: one row per activation (:func:`gain_report` adds its notes)."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    from actviz.depth.gain import TORCH_DEFAULT_SIGMA_W

    sigma_b = gains[0].sigma_b if gains else 0.0
    table = Table(
        title="initialisation gains, z ~ N(0, 1)",
        caption=escape(
            "forward: 1/sqrt(E[f(z)²]) keeps the signal's second moment; backward: "
            "1/sqrt(E[f′(z)²]) keeps the gradient's. torch: nn.init.calculate_gain (* : a "
            "convention, not the second-moment value; ‡: from the exact f′, torch's is wrong). "
            "critical σ_w: where χ₁ first reaches 1 as σ_w grows, with q* reached from q = 1: "
            "the edge of chaos (χ₁ = 1), or 'jump' where χ₁ jumps across 1 and there is none; "
            "'q*→0': the edge is the trivial fixed point; 'q*→∞': χ₁ → 1 only as q* → ∞, the "
            "variance grows without bound and there is no edge. χ₁ at default: nn.Linear's "
            "init, σ_w² = "
            f"{TORCH_DEFAULT_SIGMA_W**2:.3g}, σ_b = 0 (< 1: gradients vanish). q = 1 under the "
            "forward gain: stable, marginal (finite width drifts) or unstable."
        ),
        caption_justify="left",
        box=box.SIMPLE_HEAD,
    )
    for header in ("activation", "forward gain", "backward gain", "torch",
                   f"critical σ_w (σ_b = {sigma_b:g})", "χ₁ at default", "q = 1"):  # fmt: skip
        table.add_column(header, justify="left" if header == "activation" else "right")
    for g in gains:
        torch_cell = MISSING if g.torch is None else _approx(g.torch)
        if g.torch_agrees is False:
            torch_cell += " *"
        table.add_row(
            escape(g.label),
            _approx(g.forward),
            _approx(g.backward) + (" ‡" if g.backward_note else ""),
            torch_cell,
            _critical_cell(g),
            _approx(g.default_chi1),
            g.stability,
        )
    return table


def _critical_cell(g: Any) -> str:
    cell = _approx(g.critical_sigma_w)
    if g.critical is not None and g.critical.kind == "jump":
        return f"{cell} jump"
    if g.critical is not None and g.critical.kind == "unbounded":
        return f"{cell} q*→∞"
    if g.critical is not None and g.critical.trivial:
        return f"{cell} q*→0"
    return cell


def gain_notes(gains: Sequence[Any]) -> list[str]:
    """The lines under the gain table: each jump of χ₁ (with the smallest σ_b that has a
    true edge of chaos), each χ₁ → 1 only as q* → ∞, each edge at q* → 0, each backward
    gain from the exact f′."""
    lines = []
    for g in gains:
        c = g.critical
        if c is not None and (c.kind != "edge" or c.trivial):
            lines.append(f"{g.label}: {c.text}")
    lines.extend(f"{g.label}: ‡ {g.backward_note}" for g in gains if g.backward_note)
    return lines


def gain_report(gains: Sequence[Any]) -> Group:
    """``actviz gain``: the table, then its notes."""
    from rich.console import Group
    from rich.markup import escape
    from rich.text import Text

    notes = gain_notes(gains)
    return Group(gain_table(gains), *([Text("")] if notes else []),
                 *(Text(escape(line)) for line in notes))  # fmt: skip


GAIN_CSV_HEADER = [
    "activation",
    "forward_gain",
    "backward_gain",
    "mean",
    "torch_gain",
    "sigma_b",
    "critical_sigma_w",
    "default_q_star",
    "default_chi1",
    "variance_slope",
    "stability",
    # the critical point, as --json's "critical" has it (empty where χ₁ never reaches 1)
    "critical_kind",
    "critical_trivial",
    "chi1_below",
    "chi1_above",
    "critical_q_star",
    "edge_sigma_b",
    "edge_sigma_w",
]


def gain_csv(gains: Sequence[Any]) -> str:
    rows = []
    for g in gains:
        c = g.critical
        critical = [None] * 7 if c is None else [
            c.kind, c.trivial, c.chi1_below, c.chi1_above, c.q_star, c.edge_sigma_b,
            c.edge_sigma_w,
        ]  # fmt: skip
        rows.append([g.label, g.forward, g.backward, g.mean, g.torch, g.sigma_b,
                     g.critical_sigma_w, g.default_q, g.default_chi1, g.slope, g.stability,
                     *critical])  # fmt: skip
    return csv_text(GAIN_CSV_HEADER, [["" if v is None else v for v in row] for row in rows])


DEPTH_COLUMNS = (
    ("layer", "layer"),
    ("pre mean", "pre_mean"),
    ("pre std", "pre_std"),
    ("act mean", "act_mean"),
    ("act std", "act_std"),
    ("saturated", "saturated"),
    ("dead", "dead"),
    ("grad std in", "grad_input_std"),
    ("grad std W", "grad_weight_std"),
)


def depth_table(run: Any) -> Table:
    """One row per layer of one network."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    table = Table(
        title=escape(
            f"{run.label}: {run.setting}, width {run.width}, batch {run.batch}, "
            f"output grad {run.output_grad}"
        ),
        box=box.SIMPLE_HEAD,
    )
    for header, _ in DEPTH_COLUMNS:
        table.add_column(header, justify="right")
    for s in run.layers:
        table.add_row(
            str(s.layer),
            *(_approx(getattr(s, f)) for f in ("pre_mean", "pre_std", "act_mean", "act_std")),
            percent(s.saturated),
            percent(s.dead),
            _approx(s.grad_input_std),
            _approx(s.grad_weight_std),
        )
    return table


def depth_lines(run: Any, baseline: Any | None = None) -> list[str]:
    """The verdicts under one network's table."""
    lines = [
        f"forward: {run.forward_text}",
        f"backward: {run.verdict.text}",
        run.mean_field.text,
    ]
    if baseline is not None:
        lines.append(
            f"at nn.Linear's default init: {baseline.forward_text}; {baseline.verdict.text}"
        )
    if run.note:
        lines.append(f"note: {run.note}")
    lines.append(run.correlation_text)  # last: the lines above keep their places
    return lines


def depth_report(result: Any) -> Group:
    """``actviz depth``: a table per activation, each followed by its verdicts."""
    from rich.console import Group
    from rich.text import Text

    baselines = {b.label: b for b in result.baselines}
    parts: list[Any] = []
    for run in result.runs:
        parts.append(depth_table(run))
        parts.extend(Text(line) for line in depth_lines(run, baselines.get(run.label)))
        parts.append(Text(""))
    return Group(*parts)


def depth_csv(result: Any) -> str:
    """Every layer of every network (the default-init baselines too), full precision;
    then per start c, the input pairs' correlation at the layer, measured
    (``pairs_c``) and mean-field's (``pairs_c_mean_field``): empty where there is
    none (the baselines run no pairs)."""
    from actviz.depth.simulation import CORRELATION_STARTS

    pairs = [f"pairs_{c:g}{end}" for c in CORRELATION_STARTS for end in ("", "_mean_field")]
    header = ["activation", "init", "gain", "gain_mode", "bias_std",
              *(f for _, f in DEPTH_COLUMNS), *pairs]  # fmt: skip
    rows = [
        [run.label, run.init, "" if run.gain is None else run.gain, run.gain_mode, run.bias_std,
         *(getattr(s, f) for _, f in DEPTH_COLUMNS), *_pair_cells(run, s.layer)]
        for run in (*result.runs, *result.baselines)
        for s in run.layers
    ]  # fmt: skip
    return csv_text(header, rows)


def _pair_cells(run: Any, layer: int) -> list[Any]:
    """Measured, mean-field, for each start at ``layer`` (1-based); empty cells without."""
    from actviz.depth.simulation import CORRELATION_STARTS

    by_start = {c.start: c for c in run.correlations}
    cells: list[Any] = []
    for start in CORRELATION_STARTS:
        c = by_start.get(start)
        measured = None if c is None else c.measured[layer - 1]
        predicted = None if c is None else c.predicted[layer - 1]
        cells += ["" if v is None else v for v in (measured, predicted)]
    return cells
