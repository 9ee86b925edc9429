"""Where a dtype makes f′ exactly 0: exact edges, why the zero is there, and
whether it depends on torch's kernel route.

For each side, the **edge** is the |x| beyond which (up to |x| = 10⁴) f′ is
exactly 0 for *every* representable x of the dtype. Before the edge, zeros
and non-zeros can alternate (softsign in float16: 1 + |x| and x/(1 + |x|)
round unevenly), so the **first zero** is reported as well.

* float16 and bfloat16 have at most 2¹⁵ positive values below 10⁴: every one
  is evaluated, so both numbers are exact.
* float32 and float64: a geometric scan brackets the edge, the bracket is
  narrowed over representable numbers (bit patterns) down to neighbours, and
  the 2¹² representable values just beyond the edge are then checked one by
  one (plus a dense geometric set beyond); any non-zero found there moves the
  edge and the search repeats.

torch's CPU kernels round differently by route (actviz/environment.py): a
contiguous gelu goes to oneDNN (float32 always, bfloat16 where oneDNN runs it
natively), mish to ATen's vector code whose tail elements take scalar code,
and a single element or a strided view to scalar code everywhere. Edges are
found on the **batched** route, the one a probe's grid takes (one contiguous,
padded batch on one intra-op thread); where the single-element route's edge
differs by more than one representable step, it is reported too
(``grad_*_scalar``, the † in tables). Which route "batched" is on this machine
is recorded with every result (:func:`actviz.environment.environment`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from actviz.evaluation import DTYPES, evaluate

if TYPE_CHECKING:
    import numpy as np

    from actviz.registry import Spec

UNDERFLOW_BOUND = 1e4  # |x| searched; beyond it nobody feeds an activation
UNDERFLOW_DTYPES = DTYPES
ZERO_KINDS = ("definition", "underflow")
SCAN_POINTS = 4097  # geometric scan from 2⁻⁸ to the bound (float32, float64)
SECTIONS = 4096  # candidates per narrowing step; a bracket this small is enumerated
VERIFY_STEPS = 4096  # representable values checked one by one beyond an edge
TAIL = 1e-3  # the first zero is looked for where |f′| < TAIL × its max (not at a crossing)

# Bit layouts: (numpy unsigned type, numpy float type, bits shifted off a float32).
_LAYOUT: dict[str, tuple[str, str, int]] = {
    "float16": ("uint16", "float16", 0),
    "bfloat16": ("uint32", "float32", 16),
    "float32": ("uint32", "float32", 0),
    "float64": ("uint64", "float64", 0),
}


@dataclass(frozen=True)
class Underflow:
    """Per side, the |x| beyond which the dtype gives up (None: not within the bound).

    ``grad_*``: f′ is exactly 0 for every representable x from there on;
    ``grad_*_kind`` says why: ``"definition"`` when the closed-form f′ is 0
    there too (hardsigmoid beyond 3, relu left of 0), ``"underflow"`` when it
    is not and the dtype rounds it to 0. ``grad_*_first``: the smallest |x|
    in the tail where f′ is 0 (below the edge where zeros and non-zeros
    alternate). ``grad_*_scalar``: the edge on torch's scalar route, where it
    differs from the batched one by more than one representable step.
    ``value_*``: f(x) equals its far value exactly (the output has hit its
    asymptote).
    """

    dtype: str
    grad_left: float | None
    grad_right: float | None
    value_left: float | None
    value_right: float | None
    bound: float = UNDERFLOW_BOUND
    grad_left_kind: str | None = None
    grad_right_kind: str | None = None
    grad_left_first: float | None = None
    grad_right_first: float | None = None
    grad_left_scalar: float | None = None
    grad_right_scalar: float | None = None

    def side(self, side: str, kind: str) -> float | None:
        """The f′ edge on ``side`` ("left"/"right") if its zero is of ``kind``."""
        edge, found = (
            (self.grad_left, self.grad_left_kind)
            if side == "left"
            else (self.grad_right, self.grad_right_kind)
        )
        return edge if found == kind else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "grad_left": self.grad_left,
            "grad_right": self.grad_right,
            "grad_left_kind": self.grad_left_kind,
            "grad_right_kind": self.grad_right_kind,
            "grad_left_first": self.grad_left_first,
            "grad_right_first": self.grad_right_first,
            "grad_left_scalar": self.grad_left_scalar,
            "grad_right_scalar": self.grad_right_scalar,
            "value_left": self.value_left,
            "value_right": self.value_right,
            "bound": self.bound,
        }


@dataclass(frozen=True)
class Interval:
    """A stretch of x (``low`` may be -inf, ``high`` inf; ``low == high``: a point)."""

    low: float
    high: float
    low_closed: bool
    high_closed: bool

    def __contains__(self, x: float) -> bool:
        above = x >= self.low if self.low_closed else x > self.low
        below = x <= self.high if self.high_closed else x < self.high
        return above and below

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": self.low,
            "to": self.high,
            "from_closed": self.low_closed,
            "to_closed": self.high_closed,
        }


# Where a piece of the line between kinks is asked whether f′ is 0 all over it.
_PIECE_FRACTIONS = tuple(i / 32 for i in range(1, 32))
_TAIL_OFFSETS = tuple(10.0**e for e in range(-6, 5))  # beyond the outermost kink: to 10⁴


def zero_by_definition(target: Spec) -> tuple[Interval, ...]:
    """Where the function itself has f′ = 0: intervals of x, from the registry's
    kinks and closed-form f′ (float64), whatever the parameters.

    Between two kinks (and beyond the outermost ones) a piecewise-defined
    activation is one smooth piece: f′ is 0 on the whole piece when it is 0
    at 31 points across it (beyond a kink: from 10⁻⁶ to 10⁴ past it). At a
    kink, torch's one-sided value (the registry's ``kink_grads``) decides
    whether the kink itself belongs: threshold's f′ = 0 for x ≤ 0.1,
    hardtanh(-5, -2)'s for x ≤ -5 and x ≥ -2, hardshrink's for -0.5 ≤ x ≤ 0.5.
    An activation of your own has no closed form or kinks: its tails are
    asked instead (float64 autograd beyond the float32 edge: see
    :func:`underflow`), as ``x ≤ -edge`` / ``x ≥ edge``.
    """
    key = tuple(sorted(target.params.items()))
    return _zero_by_definition(target.activation, key)


@lru_cache(maxsize=512)
def _zero_by_definition(activation: Any, key: tuple[tuple[str, Any], ...]) -> tuple[Interval, ...]:
    from actviz.registry import Spec

    target = Spec(activation, dict(key))
    derivative = activation.derivative
    if derivative is None:
        return _custom_tails(target)
    params = target.params
    pairs = sorted(zip(activation.kinks(params), activation.kink_grads(params), strict=True))
    kinks = [float(k) for k, _ in pairs]
    bounds = [-math.inf, *kinks, math.inf]
    # The line in order: (low, high, f′ = 0 there), pieces and kinks alternating.
    parts: list[tuple[float, float, bool]] = []
    for i, (low, high) in enumerate(itertools.pairwise(bounds)):
        if low < high:  # two equal kinks (softshrink with lambd 0) leave no piece
            parts.append((low, high, _zero_piece(derivative, params, low, high)))
        if i < len(kinks):
            parts.append((kinks[i], kinks[i], float(pairs[i][1]) == 0))
    found: list[Interval] = []
    for zero, run in itertools.groupby(parts, key=lambda part: part[2]):
        if zero:
            stretch = list(run)
            found.append(_interval(stretch[0], stretch[-1]))
    return tuple(found)


def _interval(first: tuple[float, float, bool], last: tuple[float, float, bool]) -> Interval:
    """The stretch from part ``first`` to part ``last``: closed at a kink, open at a
    piece's end (a piece excludes its kinks)."""
    # + 0.0: a kink at -0.0 (hardshrink with lambd 0) is the point 0, not "-0"
    return Interval(first[0] + 0.0, last[1] + 0.0, first[0] == first[1], last[0] == last[1])


def _zero_piece(derivative: Any, params: Any, low: float, high: float) -> bool:
    """f′ = 0 all over the piece (low, high) of the line, by the closed form in float64."""
    import torch

    if math.isinf(low) and math.isinf(high):
        points = [-v for v in reversed(_TAIL_OFFSETS)] + [0.0, *_TAIL_OFFSETS]
    elif math.isinf(low):
        points = [high - v for v in _TAIL_OFFSETS]
    elif math.isinf(high):
        points = [low + v for v in _TAIL_OFFSETS]
    else:
        points = [low + (high - low) * t for t in _PIECE_FRACTIONS]
    exact = derivative(torch.tensor(points, dtype=torch.float64), params)
    return bool((exact == 0).all())


def _custom_tails(target: Spec) -> tuple[Interval, ...]:
    """An activation of your own: the tails where float64 autograd says f′ = 0."""
    found = underflow(target, "float32")
    left, right = found.side("left", "definition"), found.side("right", "definition")
    return tuple([Interval(-math.inf, -left, False, True)] if left is not None else []) + tuple(
        [Interval(right, math.inf, True, False)] if right is not None else []
    )


def underflow(target: Spec, dtype: str, device: str = "cpu") -> Underflow:
    """Where ``dtype`` makes f′ exactly 0, and f(x) exactly constant, on each side."""
    import torch

    key = tuple(sorted(target.params.items()))
    # oneDNN can be switched in a running process, and its edges are another route's
    onednn = bool(torch.backends.mkldnn.enabled)
    return _underflow_cached(target.activation, key, dtype, device, onednn)


@lru_cache(maxsize=512)
def _underflow_cached(
    activation: Any, params: tuple[tuple[str, Any], ...], dtype: str, device: str, onednn: bool
) -> Underflow:
    from actviz.registry import Spec

    target = Spec(activation, dict(params))
    found: dict[str, Any] = {}
    for side, sign in (("left", -1.0), ("right", 1.0)):
        grad_edge, first, value_edge = _side(target, dtype, device, sign, "batched")
        scalar, _, _ = _side(target, dtype, device, sign, "scalar", values=False)
        found[side] = {
            "grad": grad_edge,
            "kind": _zero_kind(target, dtype, sign, grad_edge),
            "first": first,
            "scalar": scalar if _apart(scalar, grad_edge, dtype) else None,
            "value": value_edge,
        }
    left, right = found["left"], found["right"]
    return Underflow(
        dtype=dtype,
        grad_left=left["grad"],
        grad_right=right["grad"],
        value_left=left["value"],
        value_right=right["value"],
        grad_left_kind=left["kind"],
        grad_right_kind=right["kind"],
        grad_left_first=left["first"],
        grad_right_first=right["first"],
        grad_left_scalar=left["scalar"],
        grad_right_scalar=right["scalar"],
    )


def _apart(a: float | None, b: float | None, dtype: str) -> bool:
    """More than one representable step between two edges (None: no edge)."""
    if a is None or b is None:
        return a != b
    return abs(int(_bits(a, dtype)) - int(_bits(b, dtype))) > 1


def _zero_kind(target: Spec, dtype: str, sign: float, edge: float | None) -> str | None:
    """Is f′ = 0 beyond ``edge`` the function's own zero or the dtype's rounding?

    "definition" when the exact f′ is 0 beyond the edge as well (the
    registry's closed form in float64 just beyond it, half-way to the bound
    and at the bound) and the zero starts where the definition says it can:
    from 0 on that side, or at a kink (hardsigmoid's ±3). A float64 closed
    form rounds to 0 itself in the far tail (sigmoid beyond 36.7), so that
    alone proves nothing. An activation of your own has no closed form or
    kinks: there float64 autograd is the reference, which cannot tell for a
    float64 probe (reported as "underflow").
    """
    import numpy as np
    import torch

    if edge is None:
        return None
    # Just beyond the edge: at a kink torch's one-sided value may differ.
    beyond = float(np.nextafter(edge, math.inf))
    points = sign * np.array([beyond, (edge + UNDERFLOW_BOUND) / 2, UNDERFLOW_BOUND])
    derivative = target.activation.derivative
    if derivative is None:
        _, _, exact = evaluate(target, points, dtype="float64")
        zero = bool((np.asarray(exact) == 0).all())
        return "definition" if zero and (edge == 0 or dtype != "float64") else "underflow"
    exact = derivative(torch.tensor(points, dtype=torch.float64), target.params).numpy()
    if not (np.asarray(exact) == 0).all():
        return "underflow"
    kinks = [abs(k) for k in target.activation.kinks(target.params) if k * sign > 0]
    at_kink = any(abs(edge - k) <= 1e-2 * k for k in kinks)  # k rounded to a half type
    return "definition" if edge == 0 or at_kink else "underflow"


# --- representable numbers as bit patterns ---------------------------------------


def _bits(value: float, dtype: str) -> int:
    """The bit pattern of ``value`` (≥ 0, representable in ``dtype``) as an integer."""
    import numpy as np

    unsigned, floating, shift = _LAYOUT[dtype]
    return int(np.array([value], dtype=floating).view(unsigned)[0]) >> shift


def _values(bits: np.ndarray | list[int], dtype: str) -> np.ndarray:
    """Bit patterns (integers, ascending) → the dtype's values, as float64."""
    import numpy as np

    unsigned, floating, shift = _LAYOUT[dtype]
    patterns = (np.asarray(bits, dtype=np.uint64) << np.uint64(shift)).astype(unsigned)
    return patterns.view(floating).astype(np.float64)


def _between(low: float, high: float, dtype: str, most: int) -> np.ndarray:
    """Representable values in [low, high]: all of them, or ``most`` spread evenly."""
    import numpy as np

    a, b = _bits(low, dtype), _bits(high, dtype)
    if b - a < most:
        return _values(np.arange(a, b + 1, dtype=np.uint64), dtype)
    picks = _unique(np.round(np.linspace(a, b, most)).astype(np.uint64))
    return _values(picks, dtype)


def _unique(values: np.ndarray) -> np.ndarray:
    """``np.unique(values)`` (1-D): for values already in order (a linspace or geomspace,
    which the search makes hundreds of), by dropping repeats, 40 times faster
    (4096 values: 20 µs instead of 0.8 ms; 0.3 s of the underflow search of
    ``export --all``, cProfile)."""
    import numpy as np

    if len(values) >= 2 and not bool((values[1:] >= values[:-1]).all()):
        # Sorted runs joined (the values checked beyond an edge): timsort merges
        # them in one pass, where np.unique's quicksort took 0.15 ms a call.
        values = np.sort(values, kind="stable")
    if len(values) < 2:
        return values
    return values[np.concatenate(([True], values[1:] != values[:-1]))]


@lru_cache(maxsize=8)
def _representable(dtype: str) -> np.ndarray:
    """Every positive value of a half type up to the bound (at most 2¹⁵), as float64."""
    return _frozen(_between(_smallest(dtype), _largest(dtype), dtype, 1 << 17))


@lru_cache(maxsize=8)
def _scan(dtype: str) -> np.ndarray:
    """The geometric scan of float32 and float64, from 2⁻⁸ to the bound, as float64."""
    import numpy as np

    points = np.geomspace(2.0**-8, _largest(dtype), SCAN_POINTS).astype(_LAYOUT[dtype][1])
    return _frozen(_unique(points).astype(np.float64))


def _frozen(values: np.ndarray) -> np.ndarray:
    """``values``, read-only: a cached array is shared by every search."""
    values.flags.writeable = False
    return values


def _smallest(dtype: str) -> float:
    return float(_values([1], dtype)[0])  # the smallest subnormal


def _largest(dtype: str) -> float:
    """The largest value ≤ the bound."""
    import numpy as np

    _, floating, _ = _LAYOUT[dtype]
    value = float(np.array([UNDERFLOW_BOUND], dtype=floating)[0])
    if dtype == "bfloat16":
        value = float(_values([_bits(float(np.float32(value)), dtype)], dtype)[0])
    return (
        value
        if value <= UNDERFLOW_BOUND
        else float(np.nextafter(np.array(value, dtype=floating), 0))
    )


# --- the search ---------------------------------------------------------------------

Holds = Callable[["np.ndarray", "np.ndarray"], "np.ndarray"]


def _side(
    target: Spec, dtype: str, device: str, sign: float, route: str, *, values: bool = True
) -> tuple[float | None, float | None, float | None]:
    """(f′ edge, first f′ zero in the tail, f edge) on one side."""
    import numpy as np

    def run(magnitudes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        x, y, grad = evaluate(target, sign * magnitudes, dtype=dtype, device=device, route=route)
        return np.abs(x), y, grad

    # Every half-type value on the batched route (the edge reported); the scalar
    # route's edge, reported only where it differs, is found by scan and narrowing.
    exhaustive = dtype in ("float16", "bfloat16") and route == "batched"
    mags, y, grad = run(_representable(dtype) if exhaustive else _scan(dtype))
    zero = grad == 0
    grad_edge = _edge(run, dtype, mags, zero, lambda y_, g_: g_ == 0, exhaustive)
    first = _first_zero(mags, grad, zero, grad_edge)
    if not values:
        return grad_edge, first, None
    far = y[-1]
    # Only a flat tail has an asymptote to hit; a linear tail never stops changing.
    if y[-2] != far or not math.isfinite(far):
        return grad_edge, first, None
    value_edge = _edge(run, dtype, mags, y == far, lambda y_, g_: y_ == far, exhaustive)
    return grad_edge, first, value_edge


def _edge(
    run: Any, dtype: str, mags: np.ndarray, holds: np.ndarray, predicate: Holds, exhaustive: bool
) -> float | None:
    """Smallest |x| beyond which ``predicate`` holds at every representable x."""
    import numpy as np

    failing = np.flatnonzero(~holds)
    if len(failing) == 0:
        return 0.0  # holds right from 0 (relu's left side: dead, not underflow)
    if failing[-1] == len(mags) - 1:
        return None  # still fails at the bound
    if exhaustive:
        return float(mags[failing[-1] + 1])  # every value was evaluated
    lo, hi = float(mags[failing[-1]]), float(mags[failing[-1] + 1])
    for _ in range(64):  # each round moves the edge outwards; a few suffice
        lo, hi = _narrow(run, dtype, lo, hi, predicate)
        # Verify beyond: the next representable values one by one, and a dense
        # geometric set up to the next scanned point.
        upto = float(mags[min(int(np.searchsorted(mags, hi)) + 1, len(mags) - 1)])
        near = _between(hi, _step(hi, dtype, VERIFY_STEPS), dtype, VERIFY_STEPS + 1)
        spread = np.geomspace(hi, max(upto, hi), SECTIONS)
        check = _unique(np.concatenate([near, spread]).astype(_LAYOUT[dtype][1])).astype(np.float64)
        check = check[check <= mags[-1]]
        x, y, grad = run(check)
        bad = x[~predicate(y, grad)]
        if len(bad) == 0:
            return hi
        lo = float(bad.max())
        after = mags[mags > lo]
        hi = float(after[0]) if len(after) else lo
        if hi == lo:
            return None
    return hi


def _narrow(run: Any, dtype: str, lo: float, hi: float, predicate: Holds) -> tuple[float, float]:
    """Shrink (lo fails, hi holds) over representable numbers until they are neighbours."""

    while _bits(hi, dtype) - _bits(lo, dtype) > 1:
        x, y, grad = run(_between(lo, hi, dtype, SECTIONS))
        failing = x[~predicate(y, grad)]
        lo = float(failing.max()) if len(failing) else lo
        holding = x[(x > lo) & predicate(y, grad)]
        hi = float(holding.min()) if len(holding) else hi
        if len(failing) == 0 and len(holding) == 0:
            break
    return lo, hi


def _step(value: float, dtype: str, steps: int) -> float:
    """``value`` moved ``steps`` representable numbers up."""
    return float(_values([_bits(value, dtype) + steps], dtype)[0])


def _first_zero(
    mags: np.ndarray, grad: np.ndarray, zero: np.ndarray, edge: float | None
) -> float | None:
    """The smallest |x| in the tail with f′ = 0: where |f′| has fallen below
    TAIL × its largest value, so a sign change of f′ (gelu′ at −0.75) is not it."""
    import numpy as np

    if edge is None or edge == 0:
        return edge
    magnitude = np.abs(grad)
    strong = np.flatnonzero(magnitude >= TAIL * magnitude.max())
    start = mags[strong[-1]] if len(strong) else 0.0
    tail_zeros = mags[zero & (mags > start)]
    # f′(edge) = 0 itself: a scan that skipped the zeros before it says the edge
    return min(float(tail_zeros.min()), edge) if len(tail_zeros) else edge
