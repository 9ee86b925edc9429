"""Where the gradient vanishes, dies or underflows, computed from a Probe.

Regimes, per sample (the first that applies):

* **dead** — f′ is exactly 0: no gradient flows back at all;
* **saturated** — 0 < |f′| < eps × the activation's peak |f′|: a gradient
  flows but is tiny;
* **linear** — f′ stays within a factor 1 + eps over a run of samples covering
  at least a tenth of the range: f is a straight line there (relu's right half,
  gelu's far right), so the activation adds no non-linearity;
* **active** — everything else.

"Peak" means the activation's own peak |f′| (see :func:`reference_peak`), not
the largest |f′| on the grid you asked for: sigmoid on [8, 16] is saturated
everywhere, because σ′ ≤ 3.4e-4 there against σ′(0) = 0.25.

Precision underflow is a property of the activation and the dtype, not of the
grid: :func:`underflow` finds, on each side, the |x| beyond which torch
returns f′ exactly 0 (and where f(x) stops changing at all) by scanning in
that dtype and bisecting down to adjacent representable numbers, and says
whether that zero is the function's own ("definition": hardtanh beyond its
clamp) or the dtype's ("underflow": sigmoid beyond 16.6 in float32).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

from actviz.defaults import DEFAULT_EPS
from actviz.environment import Environment, environment
from actviz.evaluation import evaluate
from actviz.underflow import UNDERFLOW_DTYPES, Interval, Underflow, underflow, zero_by_definition

if TYPE_CHECKING:
    import numpy as np

    from actviz.probing import Probe
    from actviz.registry import Activation, Spec

REGIMES = ("dead", "saturated", "linear", "active")
ONSET_EPS = (1e-1, 1e-2, 1e-3)
LINEAR_MIN_SPAN = 0.1  # a linear run must cover this fraction of the range
# The reference window for the activation's own peak |f′|: every registered
# activation peaks within it (or at a kink, which widens it), and it does not
# depend on the range a user asks for.
REFERENCE_WINDOW = 20.0
REFERENCE_POINTS = 4001
# |f′| still growing at the window's edge by more than this factor (over its
# inner half): f′ is unbounded, and the peak on the requested grid is used.
UNBOUNDED_GROWTH = 1.01
# A grid is too coarse when f′ between two samples departs from the line
# joining them by more than this fraction of the peak; measured up to this many
# samples (beyond, every sample is within 1/4000 of the range of the next).
COARSE = 0.1
COARSE_CHECK_POINTS = 4000
# How far out a dead sample's exact f′ is asked for (see _rounded_to_zero):
# every smooth activation's f′ is still a normal float64 at |x| = 30.
TAIL_PROBE = 30.0


@dataclass(frozen=True)
class Peak:
    """The activation's own peak |f′| that eps is judged against.

    ``source`` is ``"window"`` (its peak over the reference window and the
    requested range) or ``"grid"`` (f′ is unbounded, so only the requested
    grid can give a peak).
    """

    value: float
    at: float
    source: str

    def as_dict(self) -> dict[str, Any]:
        return {"value": self.value, "at": self.at, "source": self.source}


@dataclass(frozen=True, eq=False)
class Saturation:
    """The regime of every sample and the summary numbers of one probe."""

    eps: float
    regime: np.ndarray  # one of REGIMES per sample
    peak_grad: float  # max |f′| over the grid
    peak_at: float  # first x where it is reached
    peak_count: int  # how many samples share the peak (relu: the whole right half)
    peak_last: float  # last x where it is reached
    f0: float
    grad0: float
    span: float  # width of the probed x range, the scale for "this x is 0 up to rounding"
    y_min: float
    y_max: float
    monotonic: str  # "increasing", "decreasing" or "no"
    # eps → (left onset, right onset): |f′| < eps·peak for every sample beyond;
    # for ONSET_EPS and the eps asked for.
    onsets: dict[float, tuple[float | None, float | None]]
    fractions: dict[str, float]  # share of the x range in each regime
    underflow: dict[str, Underflow] = field(default_factory=dict)
    reference: Peak | None = None  # the activation's own peak; None: the grid's
    peak_runs: tuple[Stretch, ...] = ()  # where the grid's peak is reached
    dtype: str = "float64"  # the probe's dtype, for printing its values exactly
    # The kernel route the numbers were measured on (underflow edges depend on it).
    environment: Environment | None = None
    # Samples lie between the batched and the single-element f′ edge of the probe's
    # dtype: another route would count them otherwise (the dead and saturated shares).
    shares_route: bool = False
    # Dead samples whose exact f′ is not 0: the dtype rounded it away (gelu's
    # float32 kernel returns f′ in steps of 2⁻²⁵ below x ≈ −5), and their share.
    rounded: np.ndarray | None = None
    rounded_share: float = 0.0
    # How far f′ between samples departs from the straight line joining them,
    # as a fraction of the reference peak (the largest over the midpoints of
    # intervals without a kink; float64 autograd): above COARSE the grid is
    # too coarse to show the activation. None: not measured (train mode, or
    # more than COARSE_CHECK_POINTS samples).
    between: float | None = None
    # Where the function itself has f′ = 0 (whatever the grid and dtype).
    definition: tuple[Interval, ...] = ()
    # Per interval between neighbouring samples: |f′| at its midpoint (float64) is
    # below the threshold. The shading fills an interval only where this agrees
    # with its ends. None: not measured (see ``between``).
    interior_small: np.ndarray | None = None

    @property
    def coarse(self) -> bool:
        """The grid is too coarse to resolve f′: see ``between``."""
        return self.between is not None and self.between > COARSE

    @property
    def reference_peak(self) -> float:
        """What "saturated" is judged against."""
        return self.peak_grad if self.reference is None else self.reference.value

    def fraction(self, regime: str) -> float:
        return self.fractions[regime]

    def as_dict(self) -> dict[str, Any]:
        return {
            "eps": self.eps,
            "peak_grad": self.peak_grad,
            "peak_at": self.peak_at,
            "peak_runs": [{"from": r.first, "to": r.last} for r in self.peak_runs],
            "reference_peak": (
                Peak(self.peak_grad, self.peak_at, "grid")
                if self.reference is None
                else self.reference
            ).as_dict(),
            "f0": self.f0,
            "grad0": self.grad0,
            "output_range": [self.y_min, self.y_max],
            "monotonic": self.monotonic,
            "onsets": {f"{e:g}": {"left": lo, "right": hi} for e, (lo, hi) in self.onsets.items()},
            "fractions": self.fractions,
            "fractions_route_dependent": self.shares_route,
            "dead_by_rounding": self.rounded_share,
            "zero_by_definition": [i.as_dict() for i in self.definition],
            "between_samples": self.between,
            "coarse": self.coarse,
            "underflow": {d: u.as_dict() for d, u in self.underflow.items()},
            "environment": None if self.environment is None else self.environment.as_dict(),
        }

    def __repr__(self) -> str:
        # The summary numbers only: the per-sample regime array made it 5,700 characters.
        shares = ", ".join(f"{r!r}: {share:.3g}" for r, share in self.fractions.items() if share)
        return (
            f"Saturation(eps={self.eps:g}, peak_grad={self.peak_grad:.4g}, "
            f"peak_at={self.peak_at:.4g}, f0={self.f0:.4g}, grad0={self.grad0:.4g}, "
            f"points={len(self.regime)}, fractions={{{shares}}}, "
            f"underflow={list(self.underflow)})"
        )

    def summary_rows(self) -> list[tuple[str, str]]:
        """The summary numbers as (what, value) pairs, worded as ``actviz table`` words them."""
        from actviz.display import (
            MISSING,
            SUMMARY_LABELS,
            by_definition,
            coarse_words,
            number,
            onset_words,
            peak_words,
            percent,
            reference_words,
            underflow_pair,
        )

        s, dtype = self, self.dtype
        reference = reference_words(s)
        coarse = coarse_words(s)
        rows = [
            *([("grid", coarse)] if coarse else []),
            (SUMMARY_LABELS["peak"], peak_words(s).removeprefix(f"{SUMMARY_LABELS['peak']} = ")),
            *([("judged against", reference)] if reference else []),
            (SUMMARY_LABELS["origin"], f"{number(s.f0, dtype)}, {number(s.grad0, dtype)}"),
            ("output range", f"[{number(s.y_min, dtype)}, {number(s.y_max, dtype)}]"),
            ("monotonic", s.monotonic),
            *(
                (f"saturation onset, eps {e:g}", onset_words(o, s.span))
                for e, o in s.onsets.items()
            ),
            ("share of the range", ", ".join(f"{r} {percent(f)}" for r, f in s.fractions.items())),
        ]
        if s.rounded_share:
            rows.append((f"dead only by {dtype} rounding", percent(s.rounded_share)))
        if (flat := by_definition(s)) != MISSING:
            rows.append((SUMMARY_LABELS["definition"], flat))
        if s.underflow:
            rows += [
                (SUMMARY_LABELS["underflow"].format(dtype=d), underflow_pair(u, notes=True))
                for d, u in s.underflow.items()
            ]
        return rows

    def _repr_html_(self) -> str:
        """Jupyter shows the summary as a compact two-column table."""
        import html

        body = "".join(
            f'<tr><th style="text-align:left">{html.escape(what)}</th>'
            f'<td style="text-align:left">{html.escape(value)}</td></tr>'
            for what, value in self.summary_rows()
        )
        caption = f"saturation of a {self.dtype} probe, eps {self.eps:g}"
        return f"<table><caption>{html.escape(caption)}</caption>{body}</table>"


def analyze(
    probe: Probe, *, eps: float = DEFAULT_EPS, dtypes: Iterable[str] = UNDERFLOW_DTYPES
) -> Saturation:
    """Classify every sample of ``probe`` and summarise its gradient.

    Saturated means below ``eps`` × the activation's own peak |f′|
    (:func:`reference_peak`), so a sample's regime does not depend on the range
    asked for. Besides the probe, only the reference peak and the
    precision-underflow scan (one per dtype in ``dtypes``) evaluate the
    activation again, both cached.
    """
    import numpy as np

    from actviz.errors import InvalidParameterError, UsageError

    # By its fields, not isinstance: importing probing here would close a circle
    # (a Probe's notebook picture analyses itself).
    if not all(hasattr(probe, field) for field in ("x", "grad", "spec", "label")):
        raise UsageError(
            f"analyze takes one Probe, e.g. analyze(probe('relu')) (got {probe!r:.80})"
        )
    if isinstance(eps, bool) or not isinstance(eps, (int, float)):
        raise InvalidParameterError(f"eps must be a number between 0 and 1 (got {eps!r})")
    if not 0 < eps < 1:
        raise InvalidParameterError(f"eps must be between 0 and 1 (got {eps:g})")
    x, grad = probe.x, probe.grad
    if not np.isfinite(grad).any():  # nothing to measure a peak against
        from actviz.errors import InvalidGridError

        raise InvalidGridError(
            f"{probe.label} has no finite f′ on this grid (every value is NaN or ±inf); "
            "probe it on another range or dtype"
        )
    magnitude = np.abs(grad)
    peak = float(np.nanmax(magnitude))
    at_peak = np.flatnonzero(magnitude == peak)
    reference = reference_peak(probe.spec, probe.x, probe.grad)
    threshold = eps * (peak if reference is None else reference.value)

    regime = np.full(x.shape, "active", dtype=object)
    regime[_linear_runs(x, grad, eps)] = "linear"
    small = below_threshold(magnitude, threshold)
    regime[small] = "saturated"
    regime[magnitude == 0] = "dead"
    regime[_crossings(x, grad, small, threshold)] = "active"  # f′ changes sign there

    rounded = _rounded_to_zero(probe.spec, x, magnitude == 0)
    interior = _interior(probe, threshold / eps, threshold)

    weights, unseen = _shares(x, grad, small, interior)
    total = weights.sum() + sum(unseen.values())

    def share(where: np.ndarray, regime_name: str = "") -> float:
        if total <= 0:
            return float(where.mean())
        return float((weights[where].sum() + unseen.get(regime_name, 0.0)) / total)

    fractions = {r: share(regime == r, r) for r in REGIMES}
    steps = np.diff(probe.y)
    monotonic = "increasing" if (steps >= 0).all() else "decreasing" if (steps <= 0).all() else "no"
    base = threshold / eps
    edges = {d: underflow(probe.spec, d, probe.device) for d in dtypes}
    return Saturation(
        eps=eps,
        regime=regime,
        peak_grad=peak,
        peak_at=float(x[at_peak[0]]),
        peak_count=len(at_peak),
        peak_last=float(x[at_peak[-1]]),
        f0=probe.f0,
        grad0=probe.grad0,
        span=float(x[-1] - x[0]),
        y_min=float(np.nanmin(probe.y)),
        y_max=float(np.nanmax(probe.y)),
        monotonic=monotonic,
        onsets={
            e: _onsets(x, below_threshold(magnitude, e * base))
            for e in sorted({*ONSET_EPS, eps}, reverse=True)
        },
        fractions=fractions,
        underflow=edges,
        reference=reference,
        peak_runs=_pieces(probe.spec, x, _runs(x, magnitude == peak), peak, interior),
        rounded=rounded,
        rounded_share=share(rounded),
        dtype=probe.dtype,
        environment=environment(probe.device),
        shares_route=_between_routes(x, edges.get(probe.dtype)),
        between=None if interior is None else interior.between,
        interior_small=None if interior is None else interior.small,
        definition=zero_by_definition(probe.spec),
    )


class _Interior(NamedTuple):
    """f′ between neighbouring samples, in float64 (see :func:`_interior`)."""

    middle: np.ndarray  # f′ at the midpoint of each interval
    small: np.ndarray  # per interval: |f′| there is below the threshold (dead or saturated)
    between: float  # the largest departure from what the samples show, / the peak


def _interior(probe: Probe, peak: float, threshold: float) -> _Interior | None:
    """What the samples do not show: f′ (float64 autograd, so the probe's dtype
    rounding is not counted) at the midpoint of each interval and just inside
    each kink, against the line joining the interval's ends.

    An end that is a kink sample holds torch's one-sided value (relu′(0) = 0),
    so the line starts from the limit on the interval's side instead; a kink
    inside an interval (``kinks=False``) is looked at from both sides. Where
    the midpoint's |f′| is small and both ends are not, or the other way round
    (relu6 sampled only at its kinks 0 and 6, where torch's f′ is 0 and 1 lies
    between), the samples cannot show that interval at all: it counts with its
    whole departure from the nearer end. None when not measured (train mode,
    more than COARSE_CHECK_POINTS samples).
    """
    import numpy as np

    x = np.asarray(probe.x, dtype=np.float64)
    if getattr(probe, "train", False) or not 2 <= len(x) <= COARSE_CHECK_POINTS or peak <= 0:
        return None
    exact = np.asarray(probe.spec.activation.kinks(probe.spec.params), dtype=np.float64)
    at = _sampled(exact, probe.dtype)  # the kinks where the probe samples them
    tiny = 1e-9 * np.maximum(1.0, np.abs(exact))
    mids = (x[:-1] + x[1:]) / 2
    points = np.concatenate([x, mids, exact - tiny, exact + tiny])
    _, _, f1 = evaluate(probe.spec, points, dtype="float64")
    n, k = len(x), len(exact)
    ends, middle = f1[:n].copy(), f1[n : 2 * n - 1]
    below, above = f1[2 * n - 1 : 2 * n - 1 + k], f1[2 * n - 1 + k :]
    left_end, right_end = ends[:-1].copy(), ends[1:].copy()
    gap = np.zeros(n - 1)
    for j in range(k):
        starts = np.flatnonzero(x[:-1] == at[j])  # the interval to the kink's right
        stops = np.flatnonzero(x[1:] == at[j])  # and to its left
        left_end[starts], right_end[stops] = above[j], below[j]
        inside = np.flatnonzero((x[:-1] < at[j]) & (at[j] < x[1:]))
        for i in inside:  # a jump within the interval: both sides against the line
            line = left_end[i] + (right_end[i] - left_end[i]) * (exact[j] - x[i]) / (
                x[i + 1] - x[i]
            )
            gap[i] = max(gap[i], abs(below[j] - line), abs(above[j] - line))
    with np.errstate(invalid="ignore"):
        gap = np.maximum(gap, np.abs(middle - (left_end + right_end) / 2))
        small = np.abs(middle) < threshold
        ends_small = np.abs(ends) < threshold
        unseen = (small != ends_small[:-1]) & (small != ends_small[1:])
        nearer = np.minimum(np.abs(middle - ends[:-1]), np.abs(middle - ends[1:]))
        gap = np.where(unseen, np.maximum(gap, nearer), gap)
    finite = gap[np.isfinite(gap)]
    between = float(finite.max() / peak) if len(finite) else 0.0
    return _Interior(middle, small, between)


def _sampled(kinks: np.ndarray, dtype: str) -> np.ndarray:
    """``kinks`` rounded to the probe's dtype, as the probe samples them."""
    import torch

    return torch.tensor(kinks, dtype=getattr(torch, dtype)).to(torch.float64).numpy()


def _shares(
    x: np.ndarray, grad: np.ndarray, small: np.ndarray, interior: _Interior | None
) -> tuple[np.ndarray, dict[str, float]]:
    """How much of the range each sample stands for: half of each interval to
    either end, but all of it to one end where f′ inside it is of that end's
    kind (small or not) and not of the other's: relu's kink sample at 0 (f′ = 0)
    does not stand for (0, 0.05], where relu′ = 1. An interval of neither end's
    kind (hardtanh(-5, -4.5) sampled at its kinks, 0 there and 1 between) is
    counted by its midpoint instead: dead, saturated or active (the second
    dict); a small midpoint between ends of opposite sign is f′ crossing 0 there,
    which is active (see :func:`_crossings`)."""
    import numpy as np

    if interior is None or len(x) < 2:
        return _cell_widths(x), {}
    widths = np.diff(x)  # ``small``: |f′| below the threshold at each sample
    to_left = np.full(len(widths), 0.5)
    agrees_left = small[:-1] == interior.small
    agrees_right = small[1:] == interior.small
    to_left[agrees_left & ~agrees_right] = 1.0
    to_left[~agrees_left & agrees_right] = 0.0
    unseen = ~agrees_left & ~agrees_right
    weights = np.zeros(len(x))
    weights[:-1] += np.where(unseen, 0.0, widths * to_left)
    weights[1:] += np.where(unseen, 0.0, widths * (1 - to_left))
    crossing = np.sign(grad[:-1]) * np.sign(grad[1:]) < 0
    kinds = np.where(interior.middle == 0, "dead", np.where(interior.small, "saturated", "active"))
    kinds = np.where(crossing, "active", kinds)
    extra = {r: float(widths[unseen & (kinds == r)].sum()) for r in ("dead", "saturated", "active")}
    return weights, extra


def _between_routes(x: np.ndarray, found: Underflow | None) -> bool:
    """Whether a sample lies between the batched and the single-element f′ edge: there
    one route rounds f′ to 0 and the other does not, so the shares depend on the route."""
    if found is None:
        return False
    for sign, batched, single in (
        (-1.0, found.grad_left, found.grad_left_scalar),
        (1.0, found.grad_right, found.grad_right_scalar),
    ):
        if single is None or batched is None:
            continue
        low, high = sorted((batched, single))
        beyond = sign * x
        if ((beyond >= low) & (beyond <= high)).any():
            return True
    return False


def reference_peak(target: Spec, x: np.ndarray, grad: np.ndarray) -> Peak | None:
    """The activation's own peak |f′|: over the reference window and the grid ``x``.

    The window is linspace(−20, 20, 4001) in float64, widened to take in every
    kink ± 1 (hardtanh(50, 60) peaks between its clamps), plus the midpoint
    between neighbouring kinks. Returns None when f′ is unbounded (|f′| on
    [−20, 20] exceeds 1.01 × its max on [−10, 10]): then only the requested
    grid can say what "peak" means.
    """
    import numpy as np

    window = _window_peak(target.activation, tuple(sorted(target.params.items())))
    if window is None:
        return None
    magnitude = np.abs(grad)
    finite = np.isfinite(magnitude)
    if finite.any() and float(magnitude[finite].max()) > window.value:
        index = int(np.flatnonzero(magnitude == magnitude[finite].max())[0])
        return Peak(float(magnitude[index]), float(x[index]), "window")
    return window


@lru_cache(maxsize=512)
def _window_peak(activation: Activation, params: tuple[tuple[str, Any], ...]) -> Peak | None:
    import numpy as np

    from actviz.errors import ActvizError
    from actviz.registry import Spec

    target = Spec(activation, dict(params))
    kinks = sorted(target.activation.kinks(target.params))
    low = min([-REFERENCE_WINDOW, *(k - 1 for k in kinks)])
    high = max([REFERENCE_WINDOW, *(k + 1 for k in kinks)])
    between = [(a + b) / 2 for a, b in itertools.pairwise(kinks)]
    # The window itself always densely, and, where the kinks widen it, the wider span
    # too (softplus(beta=1e-5) switches to x at 2e6: 4001 points there would leave
    # none within |x| ≤ 10, and nothing to compare the growth with).
    dense = np.linspace(-REFERENCE_WINDOW, REFERENCE_WINDOW, REFERENCE_POINTS)
    wide = np.linspace(low, high, REFERENCE_POINTS)
    xs = np.unique(np.concatenate([dense, wide, kinks, between]))
    try:
        x, _, grad = evaluate(target, xs, dtype="float64")
    except ActvizError:
        return None  # not evaluable in float64: fall back to the grid's peak
    magnitude = np.where(np.isfinite(grad), np.abs(grad), 0.0)
    inner = np.abs(x) <= REFERENCE_WINDOW / 2
    outer = np.abs(x) <= REFERENCE_WINDOW
    if magnitude[outer].max() > UNBOUNDED_GROWTH * magnitude[inner].max():
        return None
    index = int(np.argmax(magnitude))
    at = float(x[index])
    # linspace puts 3.6e-15 where 0 is meant
    return Peak(float(magnitude[index]), 0.0 if abs(at) < 1e-9 else at, "window")


class Stretch(NamedTuple):
    """Consecutive samples where something holds (the peak |f′|, a linear run)."""

    first: float  # x of the first and last sample in it
    last: float
    before: float | None  # x of the neighbouring samples outside it (None: range end)
    after: float | None
    samples: int
    start: int  # sample indices: [start, stop)
    stop: int
    # f′ is constant on the whole stretch (a piecewise-linear activation with no
    # kink inside it), and it reaches on to the kink next to it on this side
    # (threshold′ = 1 on (0.1, 0.5]: the sample at the kink has torch's one-sided 0).
    one_piece: bool = False
    open_before: bool = False
    open_after: bool = False


def _runs(x: np.ndarray, mask: np.ndarray) -> tuple[Stretch, ...]:
    """The maximal stretches of consecutive samples where ``mask`` holds."""
    import numpy as np

    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    starts = np.flatnonzero(np.diff(padded) == 1)
    ends = np.flatnonzero(np.diff(padded) == -1)  # exclusive
    return tuple(
        Stretch(
            float(x[s]),
            float(x[e - 1]),
            float(x[s - 1]) if s > 0 else None,
            float(x[e]) if e < len(x) else None,
            int(e - s),
            int(s),
            int(e),
        )
        for s, e in zip(starts, ends, strict=True)
    )


def _pieces(
    target: Spec,
    x: np.ndarray,
    runs: tuple[Stretch, ...],
    peak: float,
    interior: _Interior | None,
) -> tuple[Stretch, ...]:
    """``runs`` of samples at the peak, held to f′ between them and marked where
    a piecewise-linear activation's f′ is constant over them and on to a
    neighbouring kink sample (where the stretch really ends).

    Where f′ was measured between the samples, a run is split wherever |f′|
    at an interval's midpoint is not the peak: hardtanh sampled at -3, -1, 1, 3
    has f′ = 0 at all four, but 1 between -1 and 1, so it is 0 on [-3, -1] and
    [1, 3], not on [-3, 3]; relu6 sampled only at its kinks 0 and 6 is 0 at
    x = 0 and x = 6, not on [0, 6].
    """
    import numpy as np

    def holds(start: int, stop: int) -> bool:
        """|f′| is the peak inside the intervals start..stop-1 (True if not measured,
        or if there is no interval: one sample)."""
        if interior is None or start >= stop or start < 0:
            return True
        inside = np.abs(interior.middle[start:stop])
        return bool(np.allclose(inside, peak, rtol=1e-6, atol=0))

    split: list[Stretch] = []
    for run in runs:
        # holds(i, i + 1) for every interval of the run at once: one isclose, not one
        # allclose per interval (relu's 400-sample peak run: 30 ms → 0.1 ms)
        cuts: list[int] = []
        if interior is not None and run.stop - run.start > 1:
            middle = np.abs(interior.middle[run.start : run.stop - 1])
            off = ~np.isclose(middle, peak, rtol=1e-6, atol=0)
            cuts = [run.start + int(k) + 1 for k in np.flatnonzero(off)]
        for a, b in itertools.pairwise([run.start, *cuts, run.stop]):
            split.append(_stretch_of(x, a, b))
    if not target.activation.piecewise_linear:
        return tuple(split)
    kinks = np.asarray(target.activation.kinks(target.params), dtype=np.float64)
    step = float(np.min(np.abs(np.diff(x)))) if len(x) > 1 else 1.0

    def is_kink(v: float | None) -> bool:
        return v is not None and bool((np.abs(kinks - v) <= 1e-3 * step).any())

    marked = []
    for run in split:
        if ((kinks > run.first) & (kinks < run.last)).any():
            marked.append(run)
            continue
        before = is_kink(run.before) and holds(run.start - 1, run.start)
        after = is_kink(run.after) and holds(run.stop - 1, run.stop)
        marked.append(run._replace(one_piece=True, open_before=before, open_after=after))
    return tuple(marked)


def _stretch_of(x: np.ndarray, start: int, stop: int) -> Stretch:
    """The stretch of samples start..stop-1 with its neighbours."""
    return Stretch(
        float(x[start]),
        float(x[stop - 1]),
        float(x[start - 1]) if start > 0 else None,
        float(x[stop]) if stop < len(x) else None,
        stop - start,
        start,
        stop,
    )


def _rounded_to_zero(target: Spec, x: np.ndarray, dead: np.ndarray) -> np.ndarray:
    """Which dead samples are dead only by rounding: the exact f′ is not 0 there.

    "Exact" is the registry's closed form in float64 (for an activation of
    your own, float64 autograd); where that is 0 too (relu's left half), the
    zero is the function's. Far out, float64 itself underflows (sigmoid′ and
    tanh′ beyond |x| ≈ 700), so a sample is asked about at |x| at most
    TAIL_PROBE beyond the outermost kink: a flat piece of the function is as
    flat there. A sample at a kink is the one-sided value torch defines there
    (threshold's f′(0.1) = 0), not rounding.
    """
    import numpy as np
    import torch

    rounded = np.zeros(x.shape, dtype=bool)
    if not dead.any():
        return rounded
    kinks = np.asarray(target.activation.kinks(target.params), dtype=np.float64)
    reach = TAIL_PROBE + (float(np.abs(kinks).max()) if len(kinks) else 0.0)
    points = np.clip(x[dead], -reach, reach)
    derivative = target.activation.derivative
    if derivative is None:
        _, _, exact = evaluate(target, points, dtype="float64")
    else:
        exact = derivative(torch.tensor(points, dtype=torch.float64), target.params).numpy()
    at_kink = (
        np.isclose(points[:, None], kinks[None, :], rtol=1e-3, atol=1e-6).any(axis=1)
        if len(kinks)
        else np.zeros(points.shape, dtype=bool)
    )
    rounded[dead] = (np.asarray(exact) != 0) & ~at_kink
    return rounded


def _cell_widths(x: np.ndarray) -> np.ndarray:
    """How much of the range each sample stands for (half-way to its neighbours)."""
    import numpy as np

    if len(x) < 2:
        return np.ones_like(x)
    edges = np.concatenate([[x[0]], (x[1:] + x[:-1]) / 2, [x[-1]]])
    widths: np.ndarray = np.diff(edges)
    return widths


def _linear_runs(x: np.ndarray, grad: np.ndarray, tolerance: float) -> np.ndarray:
    """Samples in runs where f′ stays within a factor 1 + ``tolerance`` (f is straight).

    A run must hold at least 3 samples and cover LINEAR_MIN_SPAN of the range.
    Judging f′ itself rather than f″ keeps out what only looks flat locally:
    softsign's slowly bending tail, and RReLU's random slopes in training
    mode (its f″ is 0 between samples, but f′ jumps from one to the next).
    """
    import numpy as np

    linear = np.zeros(x.shape, dtype=bool)
    if len(x) < 3:
        return linear
    span = LINEAR_MIN_SPAN * (x[-1] - x[0])
    limit = math.log1p(tolerance)
    sign = np.sign(grad)
    with np.errstate(divide="ignore", invalid="ignore"):
        level = np.log(np.abs(grad))  # f′ within a factor: log|f′| within log(1 + tol)
        # Candidates: neighbours of the same sign whose f′ differs by less than
        # the factor; a run must be made of these (cheap, vectorised, and it
        # rules out noise and jumps before the exact check below).
        steady = np.isfinite(level[:-1]) & np.isfinite(level[1:]) & (sign[:-1] == sign[1:])
        steady &= np.abs(np.diff(level)) <= limit
    for run in _runs(x[:-1], steady):
        start, stop = run.start, run.stop + 1  # steady[i] joins samples i and i + 1
        if x[stop - 1] - x[start] < span:
            continue
        # Greedy from both ends: a run that starts mid-bend from the left (gelu's
        # tail straightening out) is found whole from the right.
        for a, b in [
            *_steady_segments(level, start, stop, limit),
            *((len(x) - b, len(x) - a)
              for a, b in _steady_segments(level[::-1], len(x) - stop, len(x) - start, limit)),
        ]:  # fmt: skip
            if b - a >= 3 and x[b - 1] - x[a] >= span:
                linear[a:b] = True
    return linear


def _steady_segments(
    level: np.ndarray, start: int, stop: int, limit: float
) -> list[tuple[int, int]]:
    """Split level[start:stop] greedily into pieces whose max − min ≤ limit."""
    import numpy as np

    pieces = []
    a = start
    while a < stop:
        chunk = 256
        while True:  # grow the look-ahead until the piece ends inside it
            b = min(stop, a + chunk)
            window = level[a:b]
            spread = np.maximum.accumulate(window) - np.minimum.accumulate(window)
            over = np.flatnonzero(spread > limit)
            if len(over) or b == stop:
                end = a + int(over[0]) if len(over) else b
                break
            chunk *= 2
        pieces.append((a, end))
        a = end
    return pieces


def _crossings(x: np.ndarray, grad: np.ndarray, small: np.ndarray, threshold: float) -> np.ndarray:
    """Small-|f′| samples that are only f′ passing through 0 (gelu′ at x ≈ −0.75,
    hardswish′ at −1.5): neither dead nor saturated, since f′ changes sign there.

    A stretch of small samples is a crossing when the samples just outside it
    have opposite signs and the samples inside follow the straight line between
    them to within a quarter of the threshold: a sign change passed at speed,
    not a flat piece (f′ = 0 on an interval is dead however the borders lie)
    nor a slow, flat-bottomed one (x³ near 0 is saturated). A single small
    sample between opposite signs is always a crossing: one sample cannot show
    more than that.
    """
    import numpy as np

    crossing = np.zeros(x.shape, dtype=bool)
    for run in _runs(x, small):
        before, after = run.start - 1, run.stop
        if before < 0 or after >= len(x):
            continue
        g0, g1 = float(grad[before]), float(grad[after])
        if not (math.isfinite(g0) and math.isfinite(g1)) or g0 * g1 >= 0:
            continue
        inside = slice(run.start, run.stop)
        line = g0 + (g1 - g0) * (x[inside] - x[before]) / (x[after] - x[before])
        if run.samples == 1 or bool((np.abs(grad[inside] - line) <= 0.25 * threshold).all()):
            crossing[inside] = True
    return crossing


def below_threshold(magnitude: np.ndarray, threshold: float) -> np.ndarray:
    """|f′| < threshold, where a slope equal to it up to the dtype's rounding is
    not below (leaky_relu's 0.01 is 0.0099999998 in float32, and eps is 0.01)."""
    below: np.ndarray = magnitude < threshold * (1 - 1e-6)
    return below


def _onsets(x: np.ndarray, below: np.ndarray) -> tuple[float | None, float | None]:
    """Innermost x on each side such that every sample beyond is ``below``."""
    import numpy as np

    if not below.any():
        return None, None
    above = np.flatnonzero(~below)
    if len(above) == 0:  # below everywhere: the whole range is past the onset
        return float(x[-1]), float(x[0])
    left = float(x[above[0] - 1]) if above[0] > 0 else None
    right = float(x[above[-1] + 1]) if above[-1] < len(x) - 1 else None
    return left, right
