"""How ``actviz check`` reports: per activation and dtype, torch's worst error in
ulps, the kinks and gradcheck as a rich table, then the findings in words.

The verdicts themselves are computed in :mod:`actviz.check.verify`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from actviz.display import MISSING, number

if TYPE_CHECKING:
    from rich.console import Group

    from actviz.check.baseline import Verdict


def check_table(checks: Sequence[Any], verdict: Verdict | None = None,
                source: str | None = None) -> Group:  # fmt: skip
    """``actviz check``: per activation and dtype, torch's worst error in ulps against
    the 50-digit reference, the kinks, gradcheck; then torch's precision-loss
    regions and the kinks where torch takes the other one-sided value.

    With a ``verdict`` against the baseline ``source`` (``--accept FILE``), a row
    whose failures are all known reads "known", not FAIL, and two lines say which
    failures are known and which listed ones no longer fail."""
    from rich.console import Group
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    from actviz.check.verify import REFERENCE_EXACT, ULPS, WELL_CONDITIONED

    table = Table(
        title="torch against the reference (mpmath, 50 digits, unless said below): max error "
        "in ulps of the dtype where "
        f"|x·q′| ≤ {WELL_CONDITIONED}·|q|",
        caption=f"wrong: more than {ULPS} ulps of q plus what rounding x by {ULPS} ulps "
        "moves it, and not excused as torch's loss (listed below; only where "
        f"|x·q′| > {WELL_CONDITIONED}·|q|); kinks: "
        "torch's f′ at each kink against the value PyTorch's autograd notes prescribe; "
        "gradcheck: full mode, float64 (— : f″ is 0 by construction)",
        caption_justify="left",
    )
    for header in ("activation", "dtype", "f", "f′", "f″", "kinks", "torch loses digits in",
                   "gradcheck", "result"):  # fmt: skip
        table.add_column(header, justify="left" if header == "activation" else "right")
    notes: list[str] = []
    failures: list[str] = []
    references: list[str] = []
    unresolved: list[str] = []
    for c in checks:
        label = escape(c.label)
        grad = f"{_verdict(c.gradcheck)} / {_verdict(c.gradgradcheck)}"
        known = _known_rows(c, verdict)
        if not c.has_reference:
            table.add_row(label, "—", "no reference", "", "", "", "", grad,
                          _passed(c.passed, None in known), end_section=True)  # fmt: skip
            continue
        for i, d in enumerate(c.dtypes):
            cells = {o.order: _ulps_cell(o) for o in d.orders}
            lossy = sorted({f.order for f in d.findings}, key=["f", "f′", "f″"].index)
            table.add_row(
                label if i == 0 else "",
                d.dtype,
                *(cells.get(order, "—") for order in ("f", "f′", "f″")),
                _kinks_cell(d.kinks),
                " ".join(lossy) or MISSING,
                grad if i == 0 else "",
                _passed(
                    d.passed and (i > 0 or (c.gradcheck and c.gradgradcheck is not False)),
                    d.dtype in known and (i > 0 or None in known),
                ),
                end_section=i == len(c.dtypes) - 1,
            )
        notes.extend(finding_lines(c))
        failures.extend(non_finite_lines(c))
        failures.extend(wrong_lines(c))
        if c.reference != REFERENCE_EXACT:
            references.append(reference_line(c))
        unresolved.extend(u.words(c.label) for u in c.unresolved)
    parts: list[Any] = [table]
    parts.extend(Text(line) for line in references)
    if unresolved:
        parts.append(Text("where the numeric reference cannot tell (neither passed nor failed):"))
        parts.extend(Text(f"  {line}") for line in unresolved)
    if failures:
        parts.append(
            Text(
                "failures: where torch is wrong beyond the budget, and where it returns nan or "
                "±inf though the true value is finite (from where that starts on the dtype's "
                "own values):"
            )
        )
        parts.extend(Text(f"  {line}") for line in failures)
    if notes:
        parts.append(Text("torch's own precision loss and choices (findings, not failures):"))
        parts.extend(Text(f"  {line}") for line in notes)
    if verdict is not None:
        where = source or "the baseline"
        parts.extend(Text(line) for line in (verdict.known_line(where), verdict.fixed_line(where))
                     if line is not None)  # fmt: skip
    return Group(*parts)


def _known_rows(check: Any, verdict: Verdict | None) -> set[str | None]:
    """The rows of ``check`` whose failures are all known: their dtypes, and None for
    the failures that name no dtype (gradcheck: the first row) where those are."""
    if verdict is None:
        return set()
    from actviz.check.baseline import dtype_of

    new = {dtype_of(item) for item in verdict.new.get(check.label, ())}
    rows = {d.dtype for d in check.dtypes} | {None}
    if not check.has_reference:  # one row: every failure counts
        return set() if new else rows
    return rows - new


def non_finite_lines(check: Any) -> list[str]:
    """One line per stretch where torch's f, f′ or f″ is nan or ±inf: from the first
    value of the dtype where it is (``mish f″, float64: nan from x = 709.7827128933841``)."""
    return [
        stretch.words(check.label)
        for d in check.dtypes
        for o in d.orders
        for stretch in o.non_finite_stretches
    ]


def wrong_lines(check: Any) -> list[str]:
    """One line per order and dtype where torch is wrong: how far (relative and in ulps),
    how many samples, and from where to where."""
    lines = []
    for d in check.dtypes:
        for o in d.orders:
            if not o.wrong or (o.wrong_ulps == 0 and o.non_finite):
                continue  # only nan or ±inf: said where that starts, below
            span = (
                f"x = {number(o.wrong[0])}"
                if len(o.wrong) == 1
                else (f"{len(o.wrong)} samples in [{number(min(o.wrong))}, {number(max(o.wrong))}]")
            )
            size = (
                "no correct digit"
                if o.wrong_relative >= 1
                else (f"relative error up to {number(o.wrong_relative)}")
            )
            # a true value of 0 or far below the dtype's ulps: the absolute error says it
            scale = (
                f"{number(round(o.wrong_ulps, 1))} ulps"
                if math.isfinite(o.wrong_ulps)
                else f"absolute error up to {number(o.max_abs_error)}"
            )
            lines.append(f"{check.label} {o.order}, {d.dtype}: wrong at {span}; {size} ({scale})")
    return lines


def reference_line(check: Any) -> str:
    """What ``check`` was measured against, and (numeric) how fine it can see."""
    text = f"{check.label}: reference {check.reference}"
    if check.resolution:
        limits = ", ".join(f"{order} {number(v)}" for order, v in check.resolution.items())
        text += (
            f"; its estimated relative error where it resolves the value: at most {limits} "
            "(twice that is added to every budget)"
        )
    return text


def finding_lines(check: Any) -> list[str]:
    """One line per order and dtype where torch loses digits (its regions joined),
    then one per kink where torch takes the other one-sided value (said once)."""
    groups: dict[tuple[str, str], list[Any]] = {}
    for f in check.findings:
        groups.setdefault((f.order, f.dtype), []).append(f)
    lines = []
    for (order, dtype), found in groups.items():
        regions = " and ".join(f.where() for f in found)
        hopeless = [f.no_digits for f in found if f.no_digits is not None]
        none = [f"[{number(a)}, {number(b)}]" if a != b else f"x = {number(a)}"
                for a, b in hopeless]  # fmt: skip
        causes = "; ".join(dict.fromkeys(f.cause for f in found))
        worst = number(max(f.max_abs_error for f in found))
        lines.append(
            f"{check.label} {order}, {dtype}: loses digits on {regions}"
            + (f", none correct on {' and '.join(none)}" if none else "")
            + f"; absolute error ≤ {worst} ({causes})"
        )
    seen = set()
    for d in check.dtypes:
        for k in d.kinks:
            if k.verdict != "other side" or k.x in seen:
                continue
            seen.add(k.x)
            side = "left" if abs(k.torch - k.left) <= abs(k.torch - k.right) else "right"
            lines.append(
                f"{check.label}: torch's f′({number(k.x)}) = {number(k.torch, k.dtype)} is the "
                f"{side}-sided value; PyTorch's autograd notes prescribe "
                f"{number(k.documented)} (the sub- or super-gradient of minimum norm)"
            )
    return lines


def _ulps_cell(order: Any) -> str:
    if order.non_finite:  # where it starts is said below the table
        kinds = {s.kind for s in order.non_finite_stretches} or {"nan"}
        return f"[red]{' / '.join(sorted(kinds))} ✗[/]"
    if order.wrong:
        where = number(order.wrong[0]) if len(order.wrong) == 1 else f"{len(order.wrong)} x"
        return f"[red]{number(round(order.wrong_ulps, 1))} ✗ ({where})[/]"
    if order.at is None:  # no sample where the reference resolves the dtype's ulps
        return MISSING
    return number(round(order.max_ulps, 1))


def _kinks_cell(kinks: Sequence[Any]) -> str:
    if not kinks:
        return MISSING
    verdicts = {k.verdict for k in kinks}
    if "wrong" in verdicts:
        return "[red]wrong[/]"
    return "[yellow]other side[/]" if "other side" in verdicts else "[green]ok[/]"


def _verdict(ok: bool | None) -> str:
    return MISSING if ok is None else "[green]ok[/]" if ok else "[red]FAIL[/]"


def _passed(ok: bool, known: bool = False) -> str:
    """pass, FAIL, or known: failed, but every failure on the row is accepted."""
    if ok:
        return "[green]pass[/]"
    return "[yellow]known[/]" if known else "[red]FAIL[/]"
