"""How ``actviz check`` reports: per activation and dtype, torch's worst error in
ulps, the kinks and gradcheck as a rich table, then the findings in words.

The verdicts themselves are computed in :mod:`actviz.verify`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from actviz.display import MISSING, number

if TYPE_CHECKING:
    from rich.console import Group


def check_table(checks: Sequence[Any]) -> Group:
    """``actviz check``: per activation and dtype, torch's worst error in ulps against
    the 50-digit reference, the kinks, gradcheck; then torch's precision-loss
    regions and the kinks where torch takes the other one-sided value."""
    from rich.console import Group
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    from actviz.verify import ULPS, WELL_CONDITIONED

    table = Table(
        title="torch against mpmath (50 digits): max error in ulps of the dtype where "
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
    for c in checks:
        label = escape(c.label)
        grad = f"{_verdict(c.gradcheck)} / {_verdict(c.gradgradcheck)}"
        if not c.has_reference:
            table.add_row(label, "—", "no reference", "", "", "", "", grad,
                          _passed(c.passed), end_section=True)  # fmt: skip
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
                _passed(d.passed and (i > 0 or (c.gradcheck and c.gradgradcheck is not False))),
                end_section=i == len(c.dtypes) - 1,
            )
        notes.extend(finding_lines(c))
        failures.extend(non_finite_lines(c))
    parts: list[Any] = [table]
    if failures:
        parts.append(
            Text(
                "where torch returns nan or ±inf though the true value is finite (failures), "
                "from where it starts on the dtype's own values:"
            )
        )
        parts.extend(Text(f"  {line}") for line in failures)
    if notes:
        parts.append(Text("torch's own precision loss and choices (findings, not failures):"))
        parts.extend(Text(f"  {line}") for line in notes)
    return Group(*parts)


def non_finite_lines(check: Any) -> list[str]:
    """One line per stretch where torch's f, f′ or f″ is nan or ±inf: from the first
    value of the dtype where it is (``mish f″, float64: nan from x = 709.7827128933841``)."""
    return [
        stretch.words(check.label)
        for d in check.dtypes
        for o in d.orders
        for stretch in o.non_finite_stretches
    ]


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


def _passed(ok: bool) -> str:
    return "[green]pass[/]" if ok else "[red]FAIL[/]"
