"""The saturation survey (``actviz saturation``): one row per activation, sorted
by a column, as a rich table, CSV or JSON.

:mod:`actviz.saturation` analyses one probe; this module runs that analysis
over many activations on one grid and lays the results side by side.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from actviz.defaults import DEFAULT_EPS
from actviz.display import (
    MISSING,
    by_definition,
    coord,
    csv_text,
    number,
    route_note,
    share,
    underflow_pair,
)
from actviz.probing import DEFAULT_OPTIONS, ProbeOptions, probe_many
from actviz.saturation import analyze

if TYPE_CHECKING:
    from rich.table import Table

    from actviz.probing import Grid, Probe
    from actviz.registry import Spec
    from actviz.saturation import Saturation

SURVEY_DTYPES = ("float16", "bfloat16", "float32")


def survey(
    specs: Iterable[Spec],
    grid: Grid,
    options: ProbeOptions = DEFAULT_OPTIONS,
    *,
    eps: float = DEFAULT_EPS,
) -> list[tuple[Probe, Saturation]]:
    """Probe and analyse each spec on the same grid."""
    return [(p, analyze(p, eps=eps)) for p in probe_many(specs, grid, options)]


def survey_rows(
    specs: Iterable[Spec],
    grid: Grid,
    options: ProbeOptions = DEFAULT_OPTIONS,
    *,
    eps: float = DEFAULT_EPS,
    sort: str = "name",
    reverse: bool = False,
) -> list[tuple[Probe, Saturation]]:
    """What ``actviz saturation`` shows: :func:`survey`, sorted by ``sort``
    (checked before any probing)."""
    check_sort_key(sort)
    return sort_survey(survey(specs, grid, options, eps=eps), sort, reverse=reverse)


def _nearest(pair: tuple[float | None, float | None]) -> float:
    """Sort key for a (left, right) pair: the side nearer to 0; missing sorts last."""
    present = [abs(v) for v in pair if v is not None]
    return min(present) if present else math.inf


def _underflow_key(dtype: str) -> Callable[[tuple[Probe, Saturation]], float]:
    def key(row: tuple[Probe, Saturation]) -> float:
        found = row[1].underflow.get(dtype)
        if found is None:
            return math.inf
        return _nearest((found.side("left", "underflow"), found.side("right", "underflow")))

    return key


SORT_KEYS: dict[str, Callable[[tuple[Probe, Saturation]], Any]] = {
    "name": lambda row: row[0].name,  # stable: a sweep's rows stay in the sweep's order
    "peak": lambda row: row[1].peak_grad,
    "grad0": lambda row: row[1].grad0,
    "onset": lambda row: _nearest(row[1].onsets[row[1].eps]),
    "dead": lambda row: row[1].fraction("dead"),
    "saturated": lambda row: row[1].fraction("saturated"),
    **{dtype: _underflow_key(dtype) for dtype in SURVEY_DTYPES},
}


def check_sort_key(column: str) -> str:
    if column not in SORT_KEYS:
        from actviz.errors import UsageError

        raise UsageError(f"cannot sort by {column!r}; choose one of {', '.join(SORT_KEYS)}")
    return column


def sort_survey(
    rows: Sequence[tuple[Probe, Saturation]], column: str = "name", *, reverse: bool = False
) -> list[tuple[Probe, Saturation]]:
    """Rows ordered by one of :data:`SORT_KEYS` (ties broken by name)."""
    check_sort_key(column)
    by_name = sorted(rows, key=SORT_KEYS["name"])
    return sorted(by_name, key=SORT_KEYS[column], reverse=reverse)


SURVEY_HEADER = [
    "activation",
    "peak f′ (x)",
    "f′(0)",
    "onset L / R",
    "dead",
    "saturated",
    "f′ = 0 by def.",
    *(f"{d} |x|" for d in SURVEY_DTYPES),
]


def _survey_cells(probe: Probe, saturation: Saturation) -> list[str]:
    s, dtype = saturation, probe.dtype
    left, right = s.onsets[s.eps]
    return [
        probe.label,
        f"{number(s.peak_grad, dtype)} ({coord(s.peak_at, s.span)})",
        number(s.grad0, dtype),
        f"{coord(left, s.span)} / {coord(right, s.span)}",
        share(s, "dead"),
        share(s, "saturated"),
        by_definition(s),
        *(underflow_pair(s.underflow[d]) if d in s.underflow else "—" for d in SURVEY_DTYPES),
    ]


def survey_table(rows: Sequence[tuple[Probe, Saturation]]) -> Table:
    """``actviz saturation``: one row per activation."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    first, span = rows[0][0], rows[0][1].span
    eps = rows[0][1].eps
    table = Table(
        title=f"saturation on [{coord(first.x[0], span)}, {coord(first.x[-1], span)}] "
        f"in {first.dtype}",
        caption=f"onset: |f′| < {eps:g} × the activation's peak |f′| from there outwards "
        "(left / right). f′ = 0 by def.: where the function itself has zero slope. "
        "float16 … float32 |x|: where torch rounds a non-zero f′ to exactly 0 in that dtype "
        "(left / right; — : not within |x| ≤ 10⁴; † : depends on torch's kernel route, "
        "see actviz table)." + (f"\n{note}" if (note := route_note(s for _, s in rows)) else ""),
        caption_justify="left",
        box=box.SIMPLE_HEAD,
    )
    for header in SURVEY_HEADER:
        table.add_column(header, justify="left" if header == "activation" else "right")
    for probe, saturation in rows:
        table.add_row(*map(escape, _survey_cells(probe, saturation)))
    return table


SURVEY_CSV_HEADER = [
    "activation",
    "peak_grad",
    "peak_at",
    "reference_peak",
    "grad0",
    "onset_left",
    "onset_right",
    *(f"share_{r}" for r in ("dead", "saturated", "linear", "active")),
    "zero_by_definition",
    *(f"{d}_underflow_{side}" for d in SURVEY_DTYPES for side in ("left", "right")),
]


def _survey_numbers(probe: Probe, saturation: Saturation) -> list[Any]:
    """One CSV row: numbers at full precision, an empty cell where there is none."""
    s = saturation
    edges = [
        s.underflow[d].side(side, "underflow") if d in s.underflow else None
        for d in SURVEY_DTYPES
        for side in ("left", "right")
    ]
    return [
        probe.label,
        s.peak_grad,
        s.peak_at,
        s.reference_peak,
        s.grad0,
        *s.onsets[s.eps],
        *(s.fraction(r) for r in ("dead", "saturated", "linear", "active")),
        "" if (words := by_definition(s)) == MISSING else words,
        *edges,
    ]


def survey_csv(rows: Sequence[tuple[Probe, Saturation]]) -> str:
    return csv_text(
        SURVEY_CSV_HEADER,
        [["" if v is None else v for v in _survey_numbers(p, s)] for p, s in rows],
    )


def survey_json(rows: Sequence[tuple[Probe, Saturation]]) -> list[dict[str, Any]]:
    return [
        {
            "activation": p.name,
            "params": dict(p.params),
            "dtype": p.dtype,
            "range": [float(p.x[0]), float(p.x[-1])],
            "saturation": s.as_dict(),
        }
        for p, s in rows
    ]
