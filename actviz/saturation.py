"""Where the gradient vanishes, dies or underflows, computed from a Probe.

Regimes, per sample (the first that applies):

* **dead** — f′ is exactly 0: no gradient flows back at all;
* **saturated** — 0 < |f′| < eps × peak |f′|: a gradient flows but is tiny;
* **linear** — |f″| < eps × peak |f′| per unit of x, over a run of samples
  covering at least a tenth of the range (relu's right half, not tanh's
  inflection point);
* **active** — everything else.

Precision underflow is a property of the activation and the dtype, not of the
grid: :func:`underflow` finds, on each side, the |x| beyond which torch
returns f′ exactly 0 (and where f(x) stops changing at all) by scanning in
that dtype and bisecting down to adjacent representable numbers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from actviz.probe import DTYPES, evaluate, probe_many

if TYPE_CHECKING:
    import numpy as np

    from actviz.probe import Grid, Probe
    from actviz.registry import Spec

REGIMES = ("dead", "saturated", "linear", "active")
DEFAULT_EPS = 0.01
ONSET_EPS = (1e-1, 1e-2, 1e-3)
LINEAR_MIN_SPAN = 0.1  # a linear run must cover this fraction of the range
UNDERFLOW_BOUND = 1e4  # |x| searched; beyond it nobody feeds an activation
UNDERFLOW_DTYPES = DTYPES


@dataclass(frozen=True)
class Underflow:
    """Per side, the |x| beyond which the dtype gives up (None: not within the bound).

    ``grad_*``: f′ is exactly 0 from there on. ``value_*``: f(x) equals its
    far value exactly (the output has hit its asymptote).
    """

    dtype: str
    grad_left: float | None
    grad_right: float | None
    value_left: float | None
    value_right: float | None
    bound: float = UNDERFLOW_BOUND

    def as_dict(self) -> dict[str, Any]:
        return {
            "grad_left": self.grad_left,
            "grad_right": self.grad_right,
            "value_left": self.value_left,
            "value_right": self.value_right,
            "bound": self.bound,
        }


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
    # eps → (left onset, right onset): |f′| < eps·peak for every sample beyond.
    onsets: dict[float, tuple[float | None, float | None]]
    fractions: dict[str, float]  # share of the x range in each regime
    underflow: dict[str, Underflow] = field(default_factory=dict)

    def fraction(self, regime: str) -> float:
        return self.fractions[regime]

    def as_dict(self) -> dict[str, Any]:
        return {
            "eps": self.eps,
            "peak_grad": self.peak_grad,
            "peak_at": self.peak_at,
            "f0": self.f0,
            "grad0": self.grad0,
            "output_range": [self.y_min, self.y_max],
            "monotonic": self.monotonic,
            "onsets": {f"{e:g}": {"left": lo, "right": hi} for e, (lo, hi) in self.onsets.items()},
            "fractions": self.fractions,
            "underflow": {d: u.as_dict() for d, u in self.underflow.items()},
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


def analyze(
    probe: Probe, *, eps: float = DEFAULT_EPS, dtypes: Iterable[str] = UNDERFLOW_DTYPES
) -> Saturation:
    """Classify every sample of ``probe`` and summarise its gradient.

    Only the precision-underflow scan (one per dtype in ``dtypes``, cached)
    evaluates the activation again; everything else reads the probe.
    """
    import numpy as np

    if not 0 < eps < 1:
        from actviz.errors import InvalidParameterError

        raise InvalidParameterError(f"eps must be between 0 and 1 (got {eps:g})")
    x, grad = probe.x, probe.grad
    magnitude = np.abs(grad)
    peak = float(np.nanmax(magnitude))
    at_peak = np.flatnonzero(magnitude == peak)
    threshold = eps * peak

    regime = np.full(x.shape, "active", dtype=object)
    # f″ from autograd if probed, 0 for straight pieces by construction, else
    # differentiate f′ numerically (exact zeros stay exact on straight pieces).
    grad2 = probe.grad2
    if grad2 is None and probe.spec.activation.piecewise_linear:
        grad2 = np.zeros_like(grad)
    regime[_linear_runs(x, grad2, grad, threshold)] = "linear"
    regime[_below(magnitude, threshold)] = "saturated"
    regime[magnitude == 0] = "dead"

    weights = _cell_widths(x)
    total = weights.sum()
    fractions = {
        r: float(weights[regime == r].sum() / total) if total > 0 else float((regime == r).mean())
        for r in REGIMES
    }
    steps = np.diff(probe.y)
    monotonic = "increasing" if (steps >= 0).all() else "decreasing" if (steps <= 0).all() else "no"
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
        onsets={e: _onsets(x, _below(magnitude, e * peak)) for e in ONSET_EPS},
        fractions=fractions,
        underflow={d: underflow(probe.spec, d, probe.device) for d in dtypes},
    )


def _cell_widths(x: np.ndarray) -> np.ndarray:
    """How much of the range each sample stands for (half-way to its neighbours)."""
    import numpy as np

    if len(x) < 2:
        return np.ones_like(x)
    edges = np.concatenate([[x[0]], (x[1:] + x[:-1]) / 2, [x[-1]]])
    widths: np.ndarray = np.diff(edges)
    return widths


def _linear_runs(
    x: np.ndarray, grad2: np.ndarray | None, grad: np.ndarray, threshold: float
) -> np.ndarray:
    """Samples in runs of f″ ≈ 0 (and f′ ≠ 0) long enough to call the function linear."""
    import numpy as np

    if len(x) < 3:
        return np.zeros(x.shape, dtype=bool)
    curvature = grad2 if grad2 is not None else np.gradient(grad, x)
    flat = (np.abs(curvature) < threshold) & (grad != 0)
    span = LINEAR_MIN_SPAN * (x[-1] - x[0])
    linear = np.zeros(x.shape, dtype=bool)
    start = None
    for i, is_flat in enumerate([*flat.tolist(), False]):
        if is_flat and start is None:
            start = i
        elif not is_flat and start is not None:
            if i - start >= 3 and x[i - 1] - x[start] >= span:
                linear[start:i] = True
            start = None
    return linear


def _below(magnitude: np.ndarray, threshold: float) -> np.ndarray:
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


def survey(
    specs: Iterable[Spec], grid: Grid, *, eps: float = DEFAULT_EPS, **options: Any
) -> list[tuple[Probe, Saturation]]:
    """Probe and analyse each spec on the same grid (``actviz saturation``)."""
    return [(p, analyze(p, eps=eps)) for p in probe_many(specs, grid, **options)]


def underflow(target: Spec, dtype: str, device: str = "cpu") -> Underflow:
    """Where ``dtype`` makes f′ exactly 0, and f(x) exactly constant, on each side."""
    key = tuple(sorted(target.params.items()))
    return _underflow_cached(target.name, key, dtype, device)


@lru_cache(maxsize=512)
def _underflow_cached(
    name: str, params: tuple[tuple[str, Any], ...], dtype: str, device: str
) -> Underflow:
    from actviz.registry import spec

    target = spec(name, dict(params))
    edges = {}
    for side, sign in (("left", -1.0), ("right", 1.0)):
        edges[side] = _side_edges(target, dtype, device, sign)
    return Underflow(
        dtype=dtype,
        grad_left=edges["left"][0],
        grad_right=edges["right"][0],
        value_left=edges["left"][1],
        value_right=edges["right"][1],
    )


def _side_edges(
    target: Spec, dtype: str, device: str, sign: float
) -> tuple[float | None, float | None]:
    """(f′ edge, f edge) on one side: a geometric scan, then bisection."""
    import numpy as np

    magnitudes = np.geomspace(2.0**-8, UNDERFLOW_BOUND, 241)
    x, y, grad = evaluate(target, sign * magnitudes, dtype=dtype, device=device)
    grad_edge = _edge(target, dtype, device, sign, x, grad == 0, lambda y_, g_: g_ == 0)
    far = y[-1]
    # Only a flat tail has an asymptote to hit; a linear tail never stops changing.
    if y[-2] != far or not math.isfinite(far):
        return grad_edge, None
    value_edge = _edge(target, dtype, device, sign, x, y == far, lambda y_, g_: y_ == far)
    return grad_edge, value_edge


def _edge(
    target: Spec,
    dtype: str,
    device: str,
    sign: float,
    x: np.ndarray,
    holds: np.ndarray,
    predicate: Any,
) -> float | None:
    """Smallest |x| (in dtype) beyond which ``predicate`` holds at every scanned point."""
    import numpy as np

    failing = np.flatnonzero(~holds)
    if len(failing) == 0:
        return 0.0  # holds right from 0 (relu's left side: dead, not underflow)
    last = failing[-1]
    if last == len(x) - 1:
        return None  # still fails at the bound
    lo, hi = abs(float(x[last])), abs(float(x[last + 1]))
    while True:
        cand_x, cand_y, cand_g = evaluate(
            target, sign * np.linspace(lo, hi, 65), dtype=dtype, device=device
        )
        magnitudes = np.abs(cand_x)
        ok = predicate(cand_y, cand_g)
        inside = (magnitudes > lo) & (magnitudes < hi)
        if not inside.any():
            return hi  # lo and hi are neighbours in this dtype
        bad = magnitudes[~ok & (magnitudes < hi)]
        new_lo = float(bad.max()) if len(bad) else lo
        good = magnitudes[ok & (magnitudes > new_lo)]
        new_hi = float(good.min()) if len(good) else hi
        if (new_lo, new_hi) == (lo, hi):
            return hi
        lo, hi = new_lo, new_hi
