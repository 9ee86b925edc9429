"""How numbers are written for people: one formatter for every table, summary,
legend and gallery card; and for machines, :func:`strict_json` and
:func:`csv_text`, which write every --json and --csv at full precision.

Two rules make a printed number trustworthy:

* **Exact values look exact, approximate ones never do.** ``1`` means the
  value is exactly 1 in its dtype; 0.999985 prints as ``0.99998``, not as
  ``1`` or ``1.0000``. A value that is exact in its dtype (float32's 0.1 is
  0.100000001…, but it *is* ``0.1`` in float32) prints short.
* **An x that is 0 up to the grid's rounding prints as 0.** arange and
  linspace in float32 put 4.4e-16 or -6e-9 where 0 was meant; relative to the
  width of the range, that is 0.

No numpy at import time: ``actviz list`` imports this module.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Sequence
from typing import Any

SIGNIFICANT = 4  # digits shown for approximate values
ROUNDING_ZERO = 1e-6  # relative to the range's width: |x| below this is 0
MISSING = "—"

# struct codes that round a Python float to a dtype and back.
_ROUND_TRIP = {"float16": "e", "float32": "f", "float64": "d"}


def _in_dtype(value: float, dtype: str) -> float:
    """``value`` rounded to ``dtype`` (bfloat16: float32 with the low 16 bits cut)."""
    if dtype == "bfloat16":
        try:
            bits = struct.unpack("<I", struct.pack("<f", value))[0]
        except OverflowError:  # beyond float32's largest: bfloat16's too
            return math.copysign(math.inf, value)
        # round to nearest even on the 16 bits that bfloat16 keeps
        bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
        rounded: float = struct.unpack("<f", struct.pack("<I", bits))[0]
        return rounded
    code = _ROUND_TRIP.get(dtype, "d")
    try:
        back: float = struct.unpack(f"<{code}", struct.pack(f"<{code}", value))[0]
    except (OverflowError, struct.error):
        return math.copysign(math.inf, value)
    return back


def _digits(text: str) -> int:
    """Significant digits shown in ``text`` (``0.0125`` → 3, ``1.5e-05`` → 2)."""
    mantissa = text.lstrip("-").split("e")[0].replace(".", "").lstrip("0")
    return max(len(mantissa), 1)


def number(value: float | None, dtype: str = "float64") -> str:
    """``value`` with 4 significant digits, or exactly if it is exact in ``dtype``.

    If 4 digits would round an approximate value onto a short, exact-looking
    number (0.999985 → ``1``), more digits are shown until it no longer does.
    """
    if value is None:
        return MISSING
    value = float(value)
    if value == 0:
        return "0" if math.copysign(1.0, value) > 0 else "-0"
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    precision = SIGNIFICANT
    while True:
        text = f"{value:.{precision}g}"
        exact = _in_dtype(float(text), dtype) == value
        if exact or _digits(text) >= precision or precision >= 17:
            return _tidy(text)
        precision += 1


def coord(x: float | None, span: float) -> str:
    """An x position: 4 significant digits, with 0 up to the grid's rounding as 0.

    Unlike values, positions are not stretched to show that they are inexact:
    float32's arange puts 7.8999996 where 7.9 was meant, and 7.9 is what the
    user asked for.
    """
    if x is None:
        return MISSING
    if abs(x) < ROUNDING_ZERO * span:
        return "0"
    return _tidy(f"{x:.{SIGNIFICANT}g}")


def _tidy(text: str) -> str:
    """``1.5e-05`` → ``1.5e-5``; ``-0`` stays as it is."""
    return text.replace("e+0", "e+").replace("e-0", "e-")


def percent(share: float) -> str:
    return f"{100 * share:.1f}%"


# --- sentences about a saturation analysis -------------------------------------
# Shared by `actviz table`, the plot legend and the gallery, so that they say
# the same thing in the same digits.


def _stretch(run: Any, span: float) -> list[str]:
    """``x = 0.5``, or ``(0, 7.9]``: a bracket is open where the neighbouring sample,
    not at the peak, prints the same as the end (relu′(0) = 0, relu′(4e-16) = 1),
    or is the kink that a piecewise-linear piece runs up to (threshold′ = 1 on
    (0.1, 0.5]). Two neighbouring samples at the same |f′| are two points (tanh′
    at ±0.11), not a stretch, unless f′ is constant between them (one piece of
    a piecewise-linear activation)."""
    first, last, before, after = (
        None if v is None else coord(v, span) for v in (run.first, run.last, run.before, run.after)
    )
    open_before = run.open_before or before == first
    open_after = run.open_after or after == last
    if run.samples == 1 and not (open_before or open_after):
        return [f"x = {first}"]
    if run.samples == 2 and not run.one_piece:
        return [f"x = {first}", f"x = {last}"]
    left = f"({before}" if open_before else f"[{first}"
    right = f"{after})" if open_after else f"{last}]"
    return [f"{left}, {right}"]


def peak_words(saturation: Any) -> str:
    """``peak |f′| = 1 on (0, 7.9]``, ``… = 0.25 at x = 0``, or several places."""
    s = saturation
    places = [w for run in s.peak_runs for w in _stretch(run, s.span)]
    value = number(s.peak_grad, s.dtype)
    if len(places) > 3:
        first, last = coord(s.peak_at, s.span), coord(s.peak_last, s.span)
        return f"peak |f′| = {value} at {len(places)} places from x = {first} to x = {last}"
    where = " and ".join(places)
    return f"peak |f′| = {value} {'at' if where.startswith('x') else 'on'} {where}"


def reference_words(saturation: Any) -> str | None:
    """What "saturated" was judged against, when it is not the peak on the grid."""
    s = saturation
    if s.reference is None:
        return "f′ is unbounded, so saturated is judged against the peak |f′| on this grid"
    if abs(s.reference.value - s.peak_grad) <= 1e-6 * s.reference.value:
        return None
    return (
        f"the activation's own peak |f′| is {number(s.reference.value)} "
        f"at x = {coord(s.reference.at, 1.0)}; "
        f"saturated means |f′| < {s.eps:g} × that"
    )


def coarse_words(saturation: Any) -> str | None:
    """What a grid too coarse for the activation cannot show; None when it can."""
    s = saturation
    if not s.coarse:
        return None
    return (
        f"{len(s.regime)} samples do not resolve f′: between two of them it departs from "
        f"the line joining them by up to {percent(s.between)} of its peak; use more points"
    )


def definition_words(intervals: Iterable[Any]) -> str:
    """Where f′ is 0 by definition, from its intervals: ``x ≤ -3, x ≥ 3``,
    ``-0.5 ≤ x ≤ 0.5``, ``x = 0``; ``—`` when nowhere."""
    words = []
    for i in intervals:
        low, high = number(i.low), number(i.high)
        if i.low == i.high:
            words.append(f"x = {low}")
        elif math.isinf(i.low) and math.isinf(i.high):
            words.append("everywhere")
        elif math.isinf(i.low):
            words.append(f"x {'≤' if i.high_closed else '<'} {high}")
        elif math.isinf(i.high):
            words.append(f"x {'≥' if i.low_closed else '>'} {low}")
        else:
            words.append(
                f"{low} {'≤' if i.low_closed else '<'} x {'≤' if i.high_closed else '<'} {high}"
            )
    return ", ".join(words) or MISSING


def underflow_pair(underflow: Any, *, notes: bool = False) -> str:
    """``left / right`` |x| beyond which the dtype rounds a non-zero f′ to 0.

    A ``†`` marks an edge that depends on torch's kernel route; with ``notes``
    the scalar route's edge and, where zeros and non-zeros alternate before
    the edge, the first zero are spelled out.
    """
    sides = [_underflow_side(underflow, side) for side in ("left", "right")]
    text = " / ".join(
        number(edge, underflow.dtype) + ("†" if scalar is not None else "")
        for edge, _, scalar in sides
    )
    if not notes:
        return text
    extra = []
    if any(edge is not None and first is not None and first < edge for edge, first, _ in sides):
        extra.append("zeros from " + " / ".join(number(f, underflow.dtype) for _, f, _ in sides))
    if any(scalar is not None for _, _, scalar in sides):
        extra.append(
            "single-element route: "
            + " / ".join(
                number(edge if scalar is None else scalar, underflow.dtype)
                for edge, _, scalar in sides
            )
        )
    return text + (f" ({'; '.join(extra)})" if extra else "")


# The shares that samples between two routes' f′ edges move (Saturation.shares_route).
ROUTED_SHARES = ("dead", "saturated")


def share(saturation: Any, regime: str) -> str:
    """A regime's share of the range, ``11.6%``, with ``†`` where it depends on the
    kernel route (samples lie between the batched and the single-element edge)."""
    marked = saturation.shares_route and regime in ROUTED_SHARES
    return percent(saturation.fraction(regime)) + ("†" if marked else "")


def route_note(saturations: Iterable[Any]) -> str | None:
    """The footer under a table whose edges carry a ``†``: what the marked numbers
    depend on and the environment they were measured in; None when nothing is marked."""
    marked = [
        s
        for s in saturations
        if s.shares_route
        or any(
            _underflow_side(u, side)[2] is not None
            for u in s.underflow.values()
            for side in ("left", "right")
        )
    ]
    if not marked or marked[0].environment is None:
        return None
    return (
        "† depends on torch's kernel route (a single element gets another edge, and a "
        "share counts samples between the two); "
        f"measured here: {marked[0].environment.line()} (actviz env)"
    )


def _underflow_side(underflow: Any, side: str) -> tuple[float | None, float | None, float | None]:
    """(edge, first zero, scalar-route edge) of one side, if its zero is underflow."""
    edge = underflow.side(side, "underflow")
    if edge is None:
        return None, None, None
    return edge, getattr(underflow, f"grad_{side}_first"), getattr(underflow, f"grad_{side}_scalar")


def onset_words(onset: tuple[float | None, float | None], span: float) -> str:
    """``x ≤ -6 and x ≥ 6``, ``the whole range`` or ``not in range``."""
    left, right = onset
    if left is not None and right is not None and left >= right:
        return "the whole range"
    parts = ([f"x ≤ {coord(left, span)}"] if left is not None else []) + (
        [f"x ≥ {coord(right, span)}"] if right is not None else []
    )
    return " and ".join(parts) if parts else "not in range"


def by_definition(saturation: Any) -> str:
    """Where f′ is 0 by definition (the same in every dtype), in words."""
    return definition_words(saturation.definition)


# --- for machines: every --json and --csv ---------------------------------------


def strict_json(data: Any) -> str:
    """JSON that strict parsers accept: NaN and ±inf (which JSON lacks) become null."""
    import json

    return json.dumps(_finite(data), allow_nan=False)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(v) for key, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def csv_text(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A header and rows as CSV at full precision (``repr`` of each float)."""
    import csv  # here, not at the top: ``actviz list`` imports this module
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()
