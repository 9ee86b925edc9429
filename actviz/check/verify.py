"""Check torch's f, f′ and f″ of each activation against a 50-digit reference.

For every dtype (float64, float32, bfloat16, float16) torch evaluates f, f′
(``backward``) and f″ (double backward) at the same points, and each value is
compared with the mpmath reference of :mod:`actviz.check.reference`, in ulps of the
dtype. The points: 241 values spread over [−40, 40], 40 small ones down to
10⁻⁶, tails out to ±1000, and each kink ± 3 ulps; all but the kink
neighbours are exact in every dtype, so one reference serves all four.

The verdict, per sample, with ``q`` the true value, ``q′`` its derivative
and ``K`` = :data:`ULPS`:

* **accurate** if ``|torch − q| ≤ K·(ulp(q) + ulp(x·q′))``: at most K ulps of
  the result plus what rounding x by K ulps moves it (so the budget is a few
  K ulps where the function is well conditioned, ``|x·q′| ≲ |q|``, and grows
  with the condition number ``|x·q′/q|`` near roots and in steep tails);
* **torch's precision loss** if not, but either torch's own formula for this
  order sums terms much larger than q (1 − tanh², 0.5·(1 + erf)) and the error
  is within K ulps of the magnitude of those terms (``Reference.cancellations``),
  or the true value is below the dtype's smallest normal number and the error
  is too; and the loss is excusable: q is ill-conditioned there,
  ``|x·q′| > WELL_CONDITIONED·|q|`` (a root, q = 0 with q′ ≠ 0, counts: its
  relative condition number is infinite), or the error is a few bits, at most
  LOSS times the budget. A finding, not a failure. Where q is well conditioned
  (the samples the table's max ulps are taken over; also where q = q′ = 0) a
  correct result is there to be had, so a larger loss is wrong: tanhshrink's
  x − tanh(x) in float32 at x = −1.3e-6 has no correct digit (|x·q′| = 3·|q|);
* **wrong** otherwise, and wherever torch returns nan or ±inf: the check fails.
  Such a stretch of samples is reported from where it starts on the dtype's own
  values, not at the first failing sample: the representable values between
  the last finite sample and the first non-finite one are searched (by their
  bit patterns) for the first x where torch's value is not finite
  (:class:`NonFinite`).

At each kink torch's f′ is compared with the value that PyTorch's autograd
notes prescribe (:func:`actviz.check.reference.documented_kink_value`); the other
one-sided value is a finding, anything else fails. ``gradcheck`` (and
``gradgradcheck`` where f″ is not 0 by construction) in full mode, float64,
is a second opinion that can also fail the check.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from actviz.check.numeric_reference import RESOLVED
from actviz.check.reference import Reference, documented_kink_value, one_sided, reference
from actviz.check.reference import evaluate as exact_values
from actviz.check.reference import terms as cancelling_terms
from actviz.defaults import DEFAULT_START, DEFAULT_STEP, DEFAULT_STOP
from actviz.display import SIGNIFICANT, number
from actviz.environment import environment
from actviz.errors import UnknownFormatError
from actviz.probing import Grid
from actviz.registry import Params, Spec

if TYPE_CHECKING:
    import numpy as np
    import torch

DTYPES = ("float64", "float32", "bfloat16", "float16")
ULPS = 4  # the stated budget K (see the module docstring)
ORDERS = ("f", "f′", "f″")
SPREAD = (-40.0, 40.0, 241)  # linspace, then rounded to bfloat16 (exact in every dtype)
TAILS = (48.0, 64.0, 96.0, 128.0, 192.0, 256.0, 384.0, 512.0, 768.0, 1000.0)
SMALL_EXPONENTS = range(1, 21)  # ±1.375·2⁻ᵏ
KINK_STEPS = (1, 2, 3)  # ulps of the dtype on either side of each kink
# gradcheck's grid: float64, away from kinks by well over its step.
GRADCHECK_RANGE = (-8.0, 8.0, 33)
KINK_MARGIN = 1e-3
FD_STEP = 1e-6
FD_TOLERANCE = (1e-3, 1e-5)  # gradcheck's own defaults (rtol, atol)

RUN_GAP = 8  # samples: a precision-loss region bridges this many accurate ones
# Points per round of the search for where a non-finite stretch starts: each round
# narrows the bracket of representable values 64-fold (float64's widest in 9 rounds).
PROBES = 63
WELL_CONDITIONED = 4  # |x·q′| ≤ 4·|q|: where the table's max ulps are taken, and
# where a loss is excused only up to LOSS × the budget (beyond it, q is ill-conditioned)
LOSS = 16  # 4 bits
# (bits of precision, smallest subnormal, smallest normal) per dtype:
# ulp(v) = 2^(e − p), floored at the smallest subnormal.
_FORMAT = {
    "float64": (53, 2.0**-1074, 2.0**-1022),
    "float32": (24, 2.0**-149, 2.0**-126),
    "bfloat16": (8, 2.0**-133, 2.0**-126),
    "float16": (11, 2.0**-24, 2.0**-14),
}


@dataclass(frozen=True)
class Finding:
    """A stretch where torch itself loses the digits: a finding, not a failure."""

    order: str
    dtype: str
    start: float
    stop: float
    cause: str  # "its formula 1 − tanh²(x) cancels", or the underflow
    max_abs_error: float
    # the samples where torch has no correct digit (relative error ≥ 1), first and last
    no_digits: tuple[float, float] | None

    def words(self, label: str) -> str:
        text = f"{label}, {self.dtype}: torch's {self.order} loses digits on {self.where()}"
        if self.no_digits is not None:
            text += f", none correct on {_span(*self.no_digits)}"
        return f"{text} ({self.cause}); absolute error ≤ {number(self.max_abs_error)}"

    def where(self) -> str:
        return _span(self.start, self.stop)


def _span(start: float, stop: float) -> str:
    return f"x = {number(start)}" if start == stop else f"[{number(start)}, {number(stop)}]"


@dataclass(frozen=True)
class NonFinite:
    """A stretch of samples where torch's value is nan or ±inf, its ends moved onto
    the dtype's own values.

    ``start`` is the first value of the dtype where torch's value is not finite,
    searched for between the last finite sample before the stretch (``finite_before``)
    and its first sample; so the value of the dtype just below ``start`` gives a finite
    value. ``stop`` likewise from the right (``finite_after``). Where the stretch
    reaches the first or last sample, that end is the sample itself (and
    ``finite_before`` or ``finite_after`` is None).
    """

    order: str
    dtype: str
    kind: str  # what torch returns on the stretch's samples: "nan", "inf", "-inf" or a mix
    start: float
    stop: float
    samples: tuple[float, float]  # the stretch's first and last sample
    finite_before: float | None
    finite_after: float | None

    def words(self, label: str) -> str:
        """``mish f″, float64: nan from x = 709.7827128933841 (…)``."""
        start, stop = representable(self.start, self.dtype), representable(self.stop, self.dtype)
        first, last = (number(v) for v in self.samples)
        head = f"{label} {self.order}, {self.dtype}: {self.kind}"
        if self.finite_before is not None and self.finite_after is None:
            return (
                f"{head} from x = {start} on (the first {self.dtype} where it is; so is every "
                f"sample up to x = {last})"
            )
        if self.finite_before is None and self.finite_after is not None:
            return (
                f"{head} up to x = {stop} (the last {self.dtype} where it is; so is every "
                f"sample down to x = {first})"
            )
        if self.finite_before is not None and self.finite_after is not None:
            return (
                f"{head} from x = {start} to x = {stop} (the first and the last {self.dtype} "
                f"where it is, around the samples [{first}, {last}])"
            )
        return f"{head} at every sample, from x = {first} to x = {last}"


def representable(x: float, dtype: str) -> str:
    """``x``, a value of ``dtype``, as the one formatter writes it where that names it
    (4 significant digits that round back to it), else in the fewest digits that do:
    an onset of 709.7827128933841 must not read as 709.8."""
    text = number(x, dtype)
    digits = SIGNIFICANT
    while _round([float(text)], dtype)[0] != x and digits < 17:
        digits += 1
        text = f"{x:.{digits}g}"
    return text


@dataclass(frozen=True)
class OrderResult:
    """One of f, f′, f″ in one dtype."""

    order: str
    max_ulps: float  # over well-conditioned, non-lossy samples
    at: float | None
    max_abs_error: float  # over every sample where torch's value is finite
    worst_abs_at: float | None
    wrong: list[float]  # x where torch is wrong beyond the budget
    wrong_ulps: float  # the largest finite error there, in ulps
    wrong_relative: float  # ... and relative to the true value (inf where that is 0)
    non_finite: list[float]  # x where torch returns nan or ±inf (and the truth is finite)
    # those samples as stretches, each end found on the dtype's values (see NonFinite)
    non_finite_stretches: list[NonFinite] = field(default_factory=list)


@dataclass(frozen=True)
class Kink:
    """torch's f′ at one kink, in one dtype, against the documented value."""

    x: float
    dtype: str
    torch: float
    documented: float
    left: float
    right: float
    verdict: str  # "ok", "other side" (a finding) or "wrong"


@dataclass(frozen=True)
class DtypeResult:
    dtype: str
    points: int
    orders: list[OrderResult]
    findings: list[Finding]
    kinks: list[Kink]

    @property
    def passed(self) -> bool:
        return not any(o.wrong for o in self.orders) and all(
            k.verdict != "wrong" for k in self.kinks
        )


@dataclass(frozen=True)
class Unresolved:
    """A stretch where a numeric reference is not good to RESOLVED of the value:
    there it checks the order only to ``error`` (absolute), which it says."""

    order: str
    start: float
    stop: float
    error: float  # the largest estimated error of the reference on the stretch

    def words(self, label: str) -> str:
        return (
            f"{label} {self.order}: on {_span(self.start, self.stop)} the reference is not "
            f"good to {number(RESOLVED)} of the value everywhere (f flat or kinked at "
            f"float64's resolution); its estimate there is up to ±{number(self.error)}, and "
            "an error below the estimate at a sample passes unseen"
        )


@dataclass(frozen=True)
class Check:
    """The verdict for one activation."""

    activation: str
    label: str
    has_reference: bool  # False: no reference at all, gradcheck alone
    dtypes: list[DtypeResult]
    gradcheck: bool
    gradgradcheck: bool | None  # None: f″ is 0 by construction (piecewise linear)
    findings: list[Finding] = field(default_factory=list)
    # what the values were checked against (REFERENCE_EXACT, an expression, REFERENCE_NUMERIC)
    reference: str = ""
    # a numeric reference: where it cannot resolve an order, and the largest relative
    # error it leaves (per order) where it can: the smallest error the check can see
    unresolved: list[Unresolved] = field(default_factory=list)
    resolution: dict[str, float] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return (
            all(d.passed for d in self.dtypes)
            and self.gradcheck
            and self.gradgradcheck is not False
        )

    def failures(self) -> list[str]:
        """What failed, in words: ``float32 f′``, ``kink 0 (float64)``, ``gradcheck``."""
        found = [f"{d.dtype} {o.order}" for d in self.dtypes for o in d.orders if o.wrong]
        found += [f"kink {k.x:g} ({k.dtype})" for d in self.dtypes for k in d.kinks
                  if k.verdict == "wrong"]  # fmt: skip
        if not self.gradcheck:
            found.append("gradcheck")
        if self.gradgradcheck is False:
            found.append("gradgradcheck")
        return found

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["passed"] = self.passed
        data["reference"] = self.reference or "no reference"
        del data["has_reference"]
        data["findings"] = [f.words(self.label) for f in self.findings]
        data["unresolved"] = [u.words(self.label) for u in self.unresolved]
        data["non_finite"] = [
            n.words(self.label) for d in self.dtypes for o in d.orders
            for n in o.non_finite_stretches
        ]  # fmt: skip
        for d, raw in zip(self.dtypes, data["dtypes"], strict=True):
            raw["passed"] = d.passed
            raw["findings"] = [asdict(f) for f in d.findings]
        data["environment"] = environment().as_dict()  # ulps can differ by kernel route
        return data


def check_dtypes(dtypes: Sequence[str] | None) -> list[str]:
    """The dtypes to check, in the standard order; all four by default."""
    if not dtypes:
        return list(DTYPES)
    unknown = [d for d in dtypes if d not in DTYPES]
    if unknown:
        raise UnknownFormatError(
            f"unknown dtype {unknown[0]!r} for check; choose from {', '.join(DTYPES)}"
        )
    return [d for d in DTYPES if d in dtypes]


@lru_cache(maxsize=1)
def spread_points() -> tuple[float, ...]:
    """The points every dtype shares: exact in bfloat16, so exact in all four."""
    import torch

    start, stop, count = SPREAD
    # An irrational-looking offset: no point sits on 0 or on a round kink.
    spread = torch.from_numpy(Grid(start, stop, points=count).values()) + 0.0371
    small = [s * 1.375 * 2.0**-k for k in SMALL_EXPONENTS for s in (-1, 1)]
    tails = [s * t for t in TAILS for s in (-1, 1)]
    every = torch.tensor([*spread.tolist(), *small, *tails], dtype=torch.float64)
    rounded = every.to(torch.bfloat16).to(torch.float64)
    assert bool((rounded.to(torch.float16).to(torch.float64) == rounded).all())
    return tuple(sorted(set(rounded.tolist())))


def ulp(values: np.ndarray, dtype: str) -> np.ndarray:
    """The spacing of ``dtype`` at each |value| (its smallest subnormal at 0)."""
    import numpy as np

    bits, smallest, _ = _FORMAT[dtype]
    magnitude = np.abs(values)
    _, exponent = np.frexp(magnitude)
    spacing: np.ndarray = np.maximum(np.ldexp(1.0, exponent - bits), smallest)
    return np.where(magnitude == 0, smallest, spacing)


def _round(values: Sequence[float], dtype: str) -> list[float]:
    import torch

    from actviz.evaluation import torch_dtype

    rounded: list[float] = (
        torch.tensor(values, dtype=torch.float64).to(torch_dtype(dtype)).double().tolist()
    )
    return rounded


def _kink_neighbours(kink: float, dtype: str) -> list[float]:
    import numpy as np

    step = float(ulp(np.array([kink]), dtype)[0])
    near = [kink + s * j * step for j in KINK_STEPS for s in (-1, 1)]
    return [v for v in near if _round([v], dtype)[0] == v]


def _points(target: Spec, dtype: str) -> tuple[list[float], list[float]]:
    """(samples, exact kinks) for one dtype. Samples between a kink and its rounding
    to the dtype are left out: which side torch puts them on depends on how it
    rounds its parameters, not on its formula."""
    kinks = list(target.activation.kinks(target.params))
    exact = [k for k in kinks if _round([k], dtype)[0] == k]
    samples = set(spread_points())
    for k in exact:
        samples.update(_kink_neighbours(k, dtype))
    for k in kinks:
        low, high = sorted((k, _round([k], dtype)[0]))
        samples = {x for x in samples if not low <= x <= high}
    return sorted(samples), exact


def _check_dtype(target: Spec, ref: Reference, dtype: str) -> DtypeResult:
    import numpy as np

    from actviz.evaluation import evaluate, second_at

    xs, kinks = _points(target, dtype)
    _, f, grad = evaluate(target, [*xs, *kinks], dtype=dtype)
    n = len(xs)
    got = [f[:n], grad[:n]]
    if not target.activation.piecewise_linear:
        got.append(second_at(target, xs, dtype=dtype))
    values = [exact_values(ref, target.params, x) for x in xs]
    # The reference as double-double (hi + lo), so that the error is exact in float64.
    exact = np.array([[float(v) for v in four] for four in values])
    low = np.array([[float(v - float(v)) for v in four] for four in values])
    x = np.array(xs)
    orders, findings = [], []
    for k, torch_values in enumerate(got):

        def scale(i: int, order: int = k) -> float:
            return float(cancelling_terms(ref, target.params, xs[i], order))

        result, finding = _compare(
            ref,
            k,
            dtype,
            x,
            torch_values,
            exact[:, k],
            low[:, k],
            exact[:, k + 1],
            scale,
            target.params,
        )
        if result.non_finite:
            stretches = non_finite_stretches(target, dtype, k, x, torch_values)
            result = replace(result, non_finite_stretches=stretches)
        orders.append(result)
        findings.extend(finding)
    kink_results = [
        _kink(ref, target, dtype, kink, float(grad[n + i])) for i, kink in enumerate(kinks)
    ]
    return DtypeResult(dtype, n, orders, findings, kink_results)


def _compare(
    ref: Reference,
    k: int,
    dtype: str,
    x: np.ndarray,
    got: np.ndarray,
    hi: np.ndarray,
    lo: np.ndarray,
    slope: np.ndarray,
    terms: Callable[[int], float],
    params: Params,
    uncertainty: np.ndarray | None = None,
) -> tuple[OrderResult, list[Finding]]:
    """Classify every sample of one order: accurate, torch's loss, or wrong.

    ``uncertainty``: the reference's own estimated absolute error at each sample
    (a numeric reference); twice it is added to every budget."""
    import numpy as np

    tiny = _FORMAT[dtype][2]
    with np.errstate(all="ignore"):
        error = np.abs((got - hi) - lo)
        error[~np.isfinite(got)] = math.inf
        swing = np.abs(x * slope)  # what a relative change of x does to q, per unit
        ulps = error / ulp(hi, dtype)
        budget = ULPS * (ulp(hi, dtype) + np.where(swing > 0, ulp(swing, dtype), 0.0))
        if uncertainty is not None:
            budget = budget + 2 * uncertainty
        relative = np.where(hi != 0, error / np.abs(hi), np.where(error > 0, math.inf, 0.0))
        accurate = error <= budget
        # Where q itself is ill-conditioned, torch's loss may be excused however large:
        # no formula on rounded inputs does much better. Where it is well conditioned,
        # only a loss of a few bits (at most LOSS times the budget: 1 − σ(4) in σ′) is;
        # more (tanhshrink's x − tanh(x) near 0, no digit right) is wrong, as a correct
        # value is there to be had. A root (q = 0, q′ ≠ 0) is ill-conditioned (the
        # relative condition number is infinite); where q = q′ = 0 (flat at zero, or
        # both below float64's range) it is not.
        ill = swing > WELL_CONDITIONED * np.abs(hi)
        excusable = ~accurate & (ill | (error <= LOSS * budget))
        cancelling = np.zeros_like(accurate)
        if k in ref.cancellations:
            scale = np.abs(hi)  # the terms, asked only where torch's loss may be excused
            for i in np.flatnonzero(excusable).tolist():
                scale[i] = terms(i)
            cancelling = (scale > np.abs(hi)) & (error <= ULPS * ulp(scale, dtype) + budget)
        cancelling &= excusable
        # Below the smallest normal number a dtype keeps no relative precision, and
        # torch's kernels flush or round such intermediates (exp(−96) in float32).
        underflow = excusable & ~cancelling & (np.abs(hi) < tiny) & (error <= tiny)
    wrong = ~accurate & ~cancelling & ~underflow
    good = accurate & ~ill
    if uncertainty is not None:  # ulps mean something only where the reference is that good
        good &= 2 * uncertainty <= ulp(hi, dtype)
    finite = np.isfinite(error)
    best = int(np.argmax(np.where(good, ulps, -1.0))) if good.any() else None
    worst = int(np.argmax(np.where(finite, error, -1.0))) if finite.any() else None
    result = OrderResult(
        order=ORDERS[k],
        max_ulps=float(ulps[best]) if best is not None else 0.0,
        at=float(x[best]) if best is not None else None,
        max_abs_error=float(error[worst]) if worst is not None else 0.0,
        worst_abs_at=float(x[worst]) if worst is not None else None,
        wrong=[float(v) for v in x[wrong]],
        wrong_ulps=float(ulps[wrong & finite].max()) if (wrong & finite).any() else 0.0,
        wrong_relative=float(relative[wrong & finite].max()) if (wrong & finite).any() else 0.0,
        non_finite=[float(v) for v in x[~finite]],
    )
    causes = [(underflow, f"the true value is below the smallest normal {dtype}, {tiny:.4g}")]
    if k in ref.cancellations:
        formula = ref.cancellations[k].describe(params)
        causes.insert(0, (cancelling, f"its formula {formula} cancels"))
    findings = []
    for lossy, cause in causes:
        for run in [r for side in (x < 0, x > 0) for r in _runs(lossy & side)]:
            here = lossy[run]
            hopeless = x[run][here & (error[run] >= np.abs(hi[run]))]  # relative error ≥ 1
            findings.append(
                Finding(
                    order=ORDERS[k],
                    dtype=dtype,
                    start=float(x[run].min()),
                    stop=float(x[run].max()),
                    cause=cause,
                    max_abs_error=float(error[run][here].max()),
                    no_digits=(float(hopeless.min()), float(hopeless.max()))
                    if len(hopeless)
                    else None,
                )
            )
    return result, findings


def _runs(mask: np.ndarray) -> list[slice]:
    """Stretches of True samples, bridging gaps of up to RUN_GAP samples: inside a
    losing stretch the odd sample still lands within budget by luck."""
    runs: list[slice] = []
    for i in [int(v) for v in mask.nonzero()[0]]:
        if runs and i - runs[-1].stop <= RUN_GAP:
            runs[-1] = slice(runs[-1].start, i + 1)
        else:
            runs.append(slice(i, i + 1))
    return runs


def order_values(target: Spec, dtype: str, order: int, xs: Sequence[float]) -> np.ndarray:
    """torch's f (order 0), f′ (1) or f″ (2) at ``xs`` in ``dtype``, as the samples get
    them: a padded contiguous batch, so every point takes the kernel's vector route."""
    from actviz.evaluation import evaluate, second_at

    if order == 2:
        return second_at(target, xs, dtype=dtype)
    return evaluate(target, xs, dtype=dtype)[order + 1]


def non_finite_stretches(
    target: Spec, dtype: str, order: int, x: np.ndarray, got: np.ndarray
) -> list[NonFinite]:
    """The runs of samples ``x`` (sorted) where ``got`` is not finite, each end that
    borders a finite sample searched for on the dtype's values (:func:`first_non_finite`)."""
    import numpy as np

    def values_at(xs: Sequence[float]) -> np.ndarray:
        return order_values(target, dtype, order, xs)

    bad = ~np.isfinite(got)
    stretches = []
    for run in _exact_runs(bad):
        i, j = run.start, run.stop - 1
        before = float(x[i - 1]) if i > 0 else None
        after = float(x[j + 1]) if j + 1 < len(x) else None
        start = first_non_finite(values_at, dtype, before, float(x[i])) if before is not None \
            else float(x[i])  # fmt: skip
        stop = first_non_finite(values_at, dtype, after, float(x[j])) if after is not None \
            else float(x[j])  # fmt: skip
        kinds = sorted({"nan" if math.isnan(v) else "inf" if v > 0 else "-inf"
                        for v in got[run].tolist()})  # fmt: skip
        stretches.append(
            NonFinite(
                order=ORDERS[order],
                dtype=dtype,
                kind=" or ".join(kinds),
                start=start,
                stop=stop,
                samples=(float(x[i]), float(x[j])),
                finite_before=before,
                finite_after=after,
            )
        )
    return stretches


def _exact_runs(mask: np.ndarray) -> list[slice]:
    """Stretches of consecutive True samples (no gaps bridged)."""
    runs: list[slice] = []
    for i in [int(v) for v in mask.nonzero()[0]]:
        if runs and runs[-1].stop == i:
            runs[-1] = slice(runs[-1].start, i + 1)
        else:
            runs.append(slice(i, i + 1))
    return runs


def first_non_finite(
    values_at: Callable[[Sequence[float]], np.ndarray], dtype: str, finite: float, bad: float
) -> float:
    """The value of ``dtype`` nearest ``finite`` (where ``values_at`` is finite), on the
    way to ``bad`` (where it is not), at which ``values_at`` is not finite, its neighbour
    towards ``finite`` giving a finite value.

    Both ends are values of the dtype; the search runs over the integers that number
    the dtype's values in order (:func:`ordinal`), :data:`PROBES` evenly spaced ones a
    round, keeping the first non-finite probe and the one before it as the bracket.
    """
    import numpy as np

    good, worse = ordinal(finite, dtype), ordinal(bad, dtype)
    while abs(worse - good) > 1:
        span = worse - good
        probes = sorted(
            {good + span * i // (PROBES + 1) for i in range(1, PROBES + 1)} - {good, worse},
            key=lambda o: abs(o - good),
        )
        finite_there = np.isfinite(values_at([from_ordinal(o, dtype) for o in probes]))
        first = next((i for i, ok in enumerate(finite_there.tolist()) if not ok), None)
        if first is None:
            good = probes[-1]
            continue
        worse = probes[first]
        if first > 0:
            good = probes[first - 1]
    return from_ordinal(worse, dtype)


# (struct code of the value, of its bits, bits) per dtype; bfloat16 is float32's top half.
_LAYOUT = {"float64": ("<d", "<Q", 64), "float32": ("<f", "<I", 32), "float16": ("<e", "<H", 16)}


def ordinal(x: float, dtype: str) -> int:
    """Where ``x`` (a value of ``dtype``) stands among the dtype's values: neighbouring
    values are consecutive integers, in the order of the values (±0 are both 0)."""
    if dtype == "bfloat16":
        wide = struct.unpack("<I", struct.pack("<f", x))[0]
        if wide & 0xFFFF:
            raise ValueError(f"{x!r} is not a bfloat16")
        bits, width = wide >> 16, 16
    else:
        value, unsigned, width = _LAYOUT[dtype]
        bits = struct.unpack(unsigned, struct.pack(value, x))[0]
        if struct.unpack(value, struct.pack(unsigned, bits))[0] != x:
            raise ValueError(f"{x!r} is not a {dtype}")
    sign = 1 << (width - 1)
    return -(bits ^ sign) if bits & sign else int(bits)


def from_ordinal(place: int, dtype: str) -> float:
    """The value of ``dtype`` at ``place`` (the inverse of :func:`ordinal`)."""
    width = 16 if dtype == "bfloat16" else _LAYOUT[dtype][2]
    bits = (-place) | (1 << (width - 1)) if place < 0 else place
    if dtype == "bfloat16":
        wide: float = struct.unpack("<f", struct.pack("<I", bits << 16))[0]
        return wide
    value, unsigned, _ = _LAYOUT[dtype]
    found: float = struct.unpack(value, struct.pack(unsigned, bits))[0]
    return found


def _kink(ref: Reference, target: Spec, dtype: str, kink: float, got: float) -> Kink:
    import numpy as np

    left_f, at_f, right_f, left, right = one_sided(ref, target.params, kink)
    documented = documented_kink_value(left_f, at_f, right_f, left, right)
    wanted, one, other = (float(v) for v in (documented, left, right))
    # The documented value itself is rounded to the dtype (SELU's scale·alpha).
    tolerance = ULPS * float(ulp(np.array([wanted]), dtype)[0])

    def near(value: float) -> bool:
        return abs(got - value) <= tolerance + ULPS * float(ulp(np.array([value]), dtype)[0])

    verdict = "ok" if near(wanted) else "other side" if near(one) or near(other) else "wrong"
    return Kink(kink, dtype, got, wanted, one, other, verdict)


def gradcheck_points(target: Spec) -> torch.Tensor:
    """gradcheck's float64 grid: offset so that no point sits on 0 or a round kink
    (an imported activation declares none), and away from the declared kinks."""
    import torch

    start, stop, count = GRADCHECK_RANGE
    # the grid's float64 values, not torch.linspace: the same points on every CPU
    x = torch.from_numpy(Grid(start, stop, points=count).values()) + 0.0371
    keep = torch.ones_like(x, dtype=torch.bool)
    for kink in target.activation.kinks(target.params):
        keep &= (x - kink).abs() > KINK_MARGIN
    return x[keep]


def _gradchecks(target: Spec) -> tuple[bool, bool | None]:
    """torch.autograd.gradcheck and gradgradcheck in full mode, float64."""
    import torch

    module = target.activation.build(target.params).double()
    inputs = (gradcheck_points(target).requires_grad_(True),)
    rtol, atol = FD_TOLERANCE
    options: dict[str, Any] = {
        "eps": FD_STEP, "atol": atol, "rtol": rtol, "raise_exception": False, "fast_mode": False,
    }  # fmt: skip
    first = bool(torch.autograd.gradcheck(module, inputs, **options))
    if target.activation.piecewise_linear:
        return first, None
    return first, bool(torch.autograd.gradgradcheck(module, inputs, **options))


def _custom_gradchecks(target: Spec) -> tuple[bool, bool | None]:
    """A user's activation first gets the probe's own checks (a real tensor of
    x's shape, inside autograd, finite), then gradcheck; anything it raises is
    one clear error, never a traceback.

    The checks run on gradcheck's grid and on the grid ``plot`` and ``export``
    draw by default (which holds x = 0, where gradcheck's grid is offset from),
    in float32 and float64: an f′ that is inf or NaN there (√|x| at 0) is
    refused here as it is there, not passed."""
    import torch

    from actviz.errors import ActvizError, CustomActivationError
    from actviz.evaluation import autograd_checked

    drawn = torch.from_numpy(Grid(DEFAULT_START, DEFAULT_STOP, step=DEFAULT_STEP).values())
    autograd_checked(target, drawn.to(torch.float32).requires_grad_(True))
    autograd_checked(target, torch.cat([drawn, gradcheck_points(target)]).requires_grad_(True))
    try:
        return _gradchecks(target)
    except (ActvizError, KeyboardInterrupt):
        raise
    except BaseException as error:  # sys.exit(), GeneratorExit in a user's callable
        raise CustomActivationError(
            f"{target.name} raised {type(error).__name__}: {error}"
        ) from error


REFERENCE_EXACT = "mpmath, 50 digits"
REFERENCE_NUMERIC = "numeric: Ridders-extrapolated differences of your float64 f (and f′)"


def verify(
    target: Spec, dtypes: Sequence[str] | None = None, *, formula: str | None = None
) -> Check:
    """torch's f, f′, f″ against a reference in each dtype, the kinks against their
    documented values, and gradcheck in full mode.

    The reference: ``formula`` (a formula in x in ``actviz graph``'s language,
    evaluated at 50 digits: :mod:`actviz.check.expression_reference`) if given; else the
    registered activation's 50-digit one; else, for an activation of your own, a
    numeric one from its float64 f (:mod:`actviz.check.numeric_reference`), which also
    reports where it cannot resolve the derivatives.
    """
    chosen = check_dtypes(dtypes)
    ref = reference(target.name)
    kind = REFERENCE_EXACT
    if formula is not None:
        from actviz.check.expression_reference import expression_reference

        ref = expression_reference(formula)
        kind = f"{formula.strip()} ({REFERENCE_EXACT})"
    # A user's activation first gets the probe's own checks (a clear error, not a table).
    custom_checks = _custom_gradchecks(target) if target.activation.custom else None
    unresolved: list[Unresolved] = []
    resolution: dict[str, float] = {}
    if ref is not None:
        results = [_check_dtype(target, ref, d) for d in chosen]
    else:
        numeric = _numeric_reference(target)
        results = [_check_numeric(target, numeric, d) for d in chosen]
        unresolved, resolution = numeric.unresolved, numeric.resolution
        kind = REFERENCE_NUMERIC
    gradcheck, gradgradcheck = custom_checks or _gradchecks(target)
    findings = [f for d in results for f in d.findings]
    return Check(
        activation=target.name,
        label=target.label,
        has_reference=True,
        dtypes=results,
        gradcheck=gradcheck,
        gradgradcheck=gradgradcheck,
        findings=findings,
        reference=kind,
        unresolved=unresolved,
        resolution=resolution,
    )


def verify_all(
    specs: Sequence[Spec], dtypes: Sequence[str] | None = None, *, formula: str | None = None
) -> list[Check]:
    """One :func:`verify` per spec, in order (``formula``: for exactly one spec)."""
    from actviz.errors import UsageError

    chosen = check_dtypes(dtypes)
    if formula is not None and len(specs) != 1:
        raise UsageError(f"formula is the reference of one activation; {len(specs)} are named")
    return [verify(s, chosen, formula=formula) for s in specs]


@dataclass(frozen=True)
class _Numeric:
    """The float64 references of an activation without an exact one, shared by the dtypes."""

    x: np.ndarray
    f: np.ndarray  # torch's own float64 f: the reference for the other dtypes' f
    orders: list[Any]  # numeric_reference.Estimate of f′, then of f″ (if not piecewise linear)
    unresolved: list[Unresolved]
    resolution: dict[str, float]


def _numeric_reference(target: Spec) -> _Numeric:
    import numpy as np

    from actviz.check.numeric_reference import derivative
    from actviz.evaluation import evaluate

    xs, _ = _points(target, "float64")
    x = np.array(xs)
    _, f, _ = evaluate(target, xs, dtype="float64")

    def float64(order: int) -> Callable[[np.ndarray], np.ndarray]:
        return lambda v: evaluate(target, v, dtype="float64")[order]

    orders = [derivative(float64(1), x)]
    if not target.activation.piecewise_linear:
        orders.append(derivative(float64(2), x))
    unresolved, resolution = [], {}
    for k, estimate in enumerate(orders, start=1):
        good = estimate.resolved()
        for run in _runs(~good):
            unresolved.append(
                Unresolved(ORDERS[k], float(x[run][0]), float(x[run][-1]),
                           float(estimate.error[run][~good[run]].max()))
            )  # fmt: skip
        if good.any():
            with np.errstate(all="ignore"):
                ratio = estimate.error[good] / np.abs(estimate.values[good])
            resolution[ORDERS[k]] = float(ratio.max())
    return _Numeric(x, f, orders, unresolved, resolution)


def _check_numeric(target: Spec, numeric: _Numeric, dtype: str) -> DtypeResult:
    """One dtype of an activation without an exact reference: f against its float64 f,
    f′ and f″ against the numeric derivatives, each with the reference's own error
    estimate added to the budget. Where the function is ill-conditioned, an error
    within ULPS ulps of max(1, |f|, |x|) (the size of the terms such formulas sum)
    is the formula losing digits: a finding, as for torch's own."""
    import numpy as np

    from actviz.check.numeric_reference import NOISE
    from actviz.check.reference import GENERIC_TERMS, Cancellation
    from actviz.evaluation import evaluate, second_at

    x = numeric.x
    _, f, grad = evaluate(target, x.tolist(), dtype=dtype)
    got = [f, grad]
    if not target.activation.piecewise_linear:
        got.append(second_at(target, x.tolist(), dtype=dtype))
    eps = float(np.finfo(np.float64).eps)
    references = [(numeric.f, NOISE * eps * np.maximum(np.abs(numeric.f), np.abs(x)))]
    references += [(e.values, e.error) for e in numeric.orders]
    scale = np.maximum(1.0, np.maximum(np.abs(numeric.f), np.abs(x)))
    generic = Cancellation(GENERIC_TERMS, lambda *_: 0)  # the sizes: ``scale`` below
    ref = Reference("numeric", lambda *_: (0, 0, 0, 0), {k: generic for k in range(3)})
    orders, findings = [], []
    for k, torch_values in enumerate(got):
        hi, uncertainty = references[k]
        if k + 1 < len(references):
            slope = references[k + 1][0]
        else:  # f‴ is not estimated: the steepest neighbouring slope of f″
            with np.errstate(all="ignore"):  # a non-finite f″ (yours) is reported, not warned
                steep = np.abs(np.gradient(hi, x))  # subnormal spacings near a kink: inf
            steep = np.where(np.isfinite(steep), steep, 0.0)
            slope = np.maximum(steep, np.maximum(np.roll(steep, 1), np.roll(steep, -1)))
        result, found = _compare(
            ref, k, dtype, x, torch_values, hi, np.zeros_like(hi), slope,
            lambda i: float(scale[i]), target.params, uncertainty,
        )  # fmt: skip
        if result.non_finite:
            stretches = non_finite_stretches(target, dtype, k, x, torch_values)
            result = replace(result, non_finite_stretches=stretches)
        orders.append(result)
        findings.extend(found)
    return DtypeResult(dtype, len(x), orders, findings, [])


def failure_message(checks: Sequence[Check]) -> str | None:
    """``derivative check failed for relu (float32 f′); …`` for the checks that failed
    (``actviz check`` exits 1 with it), or None if every one passed."""
    failed = [f"{c.label} ({', '.join(c.failures())})" for c in checks if not c.passed]
    return f"derivative check failed for {'; '.join(failed)}" if failed else None
