"""DKS and TAT: the parameters that shape an activation for a deep vanilla MLP.

An activation φ is replaced by ``φ̂(x) = γ·(φ(α·x + β) + δ)`` so that a network
of ``depth`` such layers (weights of variance 1/fan_in, no biases, no
normalisation, no skip connections) keeps its signal and keeps its inputs
apart. In the DKS convention (Martens et al. 2021) a layer maps the
pre-activations' mean square q by ``Q(q) = E[φ̂(√q·z)²]`` and two inputs'
correlation c by the C map of :mod:`actviz.depth.cmap` (at q = 1); for a chain of L
layers the network's map is C∘…∘C, so its ``C′(1)`` is the layer's to the L-th
power and its ``C″(1)`` follows by the chain rule.

* DKS: ``Q(1) = 1``, ``Q′(1) = 1``, ``C(0) = 0`` and the network's
  ``C′(1) = ζ`` (each layer's ``ζ^(1/L)``). α and β are found by a damped
  Newton search; ``δ = −E[φ(α·z + β)]`` and γ (for Q(1) = 1) are closed forms.
* TAT, leaky relu (Zhang et al. 2022): ``φ̂ = γ·LeakyReLU_s``; the negative
  slope s makes the network's ``C(0) = η`` (bisection on the arc-cosine
  kernel, which is monotone in s), and ``γ = √(2/(1 + s²))`` makes Q(1) = 1.
* TAT, smooth activations: ``Q(1) = 1``, ``Q′(1) = 1``, ``C′(1) = 1`` and the
  network's ``C″(1) = τ`` (each layer's ``τ/L``). C″(1)/C′(1) does not depend
  on γ or δ, and Q(1) = C′(1) = 1 fix γ and |E[φ̂]| in closed form (real, by
  the Gaussian Poincaré inequality), which leaves α and β to the same search,
  once for each sign of E[φ̂].

Every expectation is over z ~ N(0, 1), taken as an integral over x = α·z + β
on Gauss–Legendre panels: half-a-standard-deviation panels of N(β, α²) over
±10 standard deviations, split at φ's kinks and at 0, ±2^k (φ's own scale), so
that a kink moved anywhere by α and β stays a panel edge. φ, φ′ and φ″ come
from torch's autograd in float64 (φ′ from its exact form where torch's is known
to be wrong, as for ``gain``). The network's C(0) is C iterated from 0 on
:mod:`actviz.depth.cmap`'s two-dimensional rule, applied to φ̂ itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

from actviz.defaults import SHAPE_ETA, SHAPE_TAU, SHAPE_ZETA
from actviz.environment import environment
from actviz.errors import (
    CustomActivationError,
    InvalidParameterError,
    NoSolutionError,
    ShapeRefusedError,
)
from actviz.registry import Spec

if TYPE_CHECKING:
    import numpy as np
    import torch
    from torch import nn

    from actviz.depth.cmap.kernel import CorrelationMap

METHODS = ("dks", "tat")
MAX_DEPTH = 1000
SPAN = 10.0  # standard deviations of N(β, α²) integrated over: the density beyond is < 8e-23
PANEL = 0.5  # Gauss–Legendre panel width, in standard deviations
NODES = 12  # Gauss–Legendre nodes per panel (exact for polynomials of degree 23)
# The search: (α, β) starting points, tried in this order (the first solution found
# is kept), as the reference implementation starts from α ∈ {1, 0.1}, β ∈ {0, ±1}.
STARTS = ((1.0, 0.0), (1.0, 1.0), (1.0, -1.0), (0.1, 0.0), (0.1, 1.0), (0.1, -1.0),
          (0.3, 0.5), (0.3, -0.5), (0.03, 0.0), (0.03, 2.0), (0.03, -2.0), (3.0, 0.0),
          (1.0, 3.0), (1.0, -3.0))  # fmt: skip
ALPHA_RANGE = (1e-4, 1e3)  # the search stays inside; outside, φ̂ is a line or a step
BETA_LIMIT = 50.0
STEPS = 60  # Newton steps from one start
MAX_MOVE = 2.0  # one step moves log α or β at most this much
FD_STEP = 1e-7  # forward-difference step of the Jacobian, in log α and β
# Every residual (relative to its target) below SOLVED: done; a search that cannot
# improve further (the quadrature's rounding) is still done below GOOD_ENOUGH.
SOLVED, GOOD_ENOUGH = 1e-13, 1e-11
# What the finished numbers must meet (a check on the search, computed afresh on
# the final parameters): the local targets to 1e-9 relative, and the network's
# C(0) (a two-dimensional quadrature, iterated) for TAT's leaky relu to 1e-9.
MET = 1e-9
# Positive homogeneity f(t·x) = t^k·f(x), checked at these points with t = 2.
HOMOGENEITY_POINTS = (0.011, 0.37, 1.3, 2.9, 4.7, 9.1, 23.0, 137.0)  # and their negatives
HOMOGENEITY_RTOL = 1e-9
# The network's C(0): C iterated from 0 stops early once a step moves it less
# than this (the two-dimensional rule's own accuracy); below RESOLUTION it is 0.
FIXED = 1e-15
# TAT picks leaky relu's slope; the other rectifiers point there.
LEAKY = "leaky_relu"
RECTIFIERS = ("relu", "prelu", "rrelu")


def check_settings(
    depth: object, method: object, zeta: object, eta: object, tau: object
) -> tuple[int, str, float, float, float]:
    """The settings, checked; each error names its parameter."""
    if isinstance(depth, bool) or not isinstance(depth, int):
        raise InvalidParameterError(
            f"depth must be a whole number of layers, not {type(depth).__name__} {depth!r}"
        )
    if not 1 <= depth <= MAX_DEPTH:
        raise InvalidParameterError(f"depth must be from 1 to {MAX_DEPTH} (got {depth})")
    if not isinstance(method, str) or method.lower() not in METHODS:
        raise InvalidParameterError(f"method must be 'dks' or 'tat' (got {method!r})")
    numbers = []
    for name, value in (("zeta", zeta), ("eta", eta), ("tau", tau)):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidParameterError(f"{name} must be a number (got {value!r})")
        if not math.isfinite(value):
            raise InvalidParameterError(f"{name} must be finite (got {value!r})")
        numbers.append(float(value))
    z, e, t = numbers
    if z <= 1:
        raise InvalidParameterError(
            f"zeta must be greater than 1 (got {zeta!r}): the network's C′(1) = ζ, and "
            "ζ ≤ 1 would pull no inputs apart"
        )
    if not 0 < e < 1:
        raise InvalidParameterError(f"eta must be between 0 and 1, both excluded (got {eta!r})")
    if t <= 0:
        raise InvalidParameterError(f"tau must be greater than 0 (got {tau!r})")
    return depth, method.lower(), z, e, t


# --- expectations over z ~ N(0, 1) of φ(α·z + β) -----------------------------------


@dataclass(frozen=True, eq=False)
class _Sample:
    """φ, φ′ (and φ″) on the nodes of one (α, β)'s rule; ``w`` holds the normal density."""

    alpha: float
    beta: float
    x: np.ndarray
    w: np.ndarray
    f: np.ndarray
    g: np.ndarray
    h: np.ndarray | None

    def expect(self, values: np.ndarray) -> float:
        import numpy as np

        return float(np.dot(self.w, values))


def _rule(kinks: Sequence[float], alpha: float, beta: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes x and weights (density of N(β, α²) included) over β ± SPAN·α."""
    import numpy as np

    lo, hi = beta - SPAN * alpha, beta + SPAN * alpha
    gauss = beta + alpha * np.arange(-SPAN, SPAN + PANEL / 2, PANEL)
    top = max(abs(lo), abs(hi), 1.0)
    scales = 2.0 ** np.arange(-4, math.ceil(math.log2(top)) + 1)
    structure = np.concatenate([[0.0], scales, -scales, np.asarray(kinks, dtype=float)])
    inside = structure[(structure > lo) & (structure < hi)]
    edges = np.unique(np.concatenate([gauss, inside]))
    t, w = np.polynomial.legendre.leggauss(NODES)
    a, b = edges[:-1, None], edges[1:, None]
    x = ((b - a) / 2 * t + (a + b) / 2).ravel()
    z = (x - beta) / alpha
    weights = ((b - a) / 2 * w).ravel() * np.exp(-0.5 * z * z) / (alpha * math.sqrt(2 * math.pi))
    return x, weights


def _sample(base: Spec, alpha: float, beta: float, *, second: bool, exact: bool = True) -> _Sample:
    import numpy as np

    from actviz.depth.gain import exact_grad
    from actviz.evaluation import evaluate, second_at

    x, w = _rule(base.activation.kinks(base.params), alpha, beta)
    _, f, g = evaluate(base, x, dtype="float64")
    if exact:
        g, _ = exact_grad(base, x, g)
    h = second_at(base, x, dtype="float64") if second else None
    if not (np.isfinite(f).all() and np.isfinite(g).all() and (h is None or np.isfinite(h).all())):
        raise CustomActivationError(
            f"{base.label} is not finite on [{x[0]:.4g}, {x[-1]:.4g}]; shaping needs f, f′ "
            "(and f″) finite there"
        )
    return _Sample(alpha, beta, x, w, f, g, h)


@dataclass(frozen=True)
class LayerNumbers:
    """One layer of φ̂ at q = 1: Q(1) = E[φ̂²], Q′(1) = E[φ̂·φ̂′·z], C(0) = E[φ̂]²/E[φ̂²],
    C′(1) = E[φ̂′²]/E[φ̂²], C″(1) = E[φ̂″²]/E[φ̂²] (inf where φ′ jumps)."""

    q_value: float
    q_slope: float
    c0: float
    slope: float
    curvature: float


def layer_numbers(
    base: Spec, alpha: float, beta: float, gamma: float, delta: float, *, kinked: bool = False
) -> LayerNumbers:
    """The layer numbers of ``γ·(base(α·x + β) + δ)``; ``kinked``: base′ jumps, C″(1) = inf.
    A C(0) below :data:`~actviz.depth.cmap.kernel.RESOLUTION` (rounding) is 0, as in ``cmap``."""
    from actviz.depth.cmap.kernel import RESOLUTION

    s = _sample(base, alpha, beta, second=not kinked)
    shifted = s.f + delta
    q = gamma * gamma * s.expect(shifted * shifted)
    mean = gamma * s.expect(shifted)
    curvature = math.inf
    if s.h is not None:
        curvature = gamma**2 * alpha**4 * s.expect(s.h * s.h) / q
    return LayerNumbers(
        q_value=q,
        q_slope=gamma * gamma * s.expect(shifted * s.g * (s.x - beta)),
        c0=0.0 if mean * mean / q < RESOLUTION else mean * mean / q,
        slope=gamma**2 * alpha**2 * s.expect(s.g * s.g) / q,
        curvature=curvature,
    )


# --- the search ---------------------------------------------------------------------

Residual = Callable[["np.ndarray"], "np.ndarray | None"]


def _newton(residual: Residual, start: np.ndarray) -> np.ndarray | None:
    """A root of ``residual`` over p = (log α, β) from ``start``: Newton's method on a
    forward-difference Jacobian, each step halved until the residual falls; None
    where it leaves the search box, stalls or meets a singular step."""
    import numpy as np

    p = start.copy()
    found = residual(p)
    if found is None:
        return None
    low, high = math.log(ALPHA_RANGE[0]), math.log(ALPHA_RANGE[1])
    for _ in range(STEPS):
        size = float(np.max(np.abs(found)))
        if size < SOLVED:
            return p
        jacobian = np.empty((2, 2))
        for i in range(2):
            moved = p.copy()
            moved[i] += FD_STEP
            there = residual(moved)
            if there is None:
                return None
            jacobian[:, i] = (there - found) / FD_STEP
        try:
            step = np.linalg.solve(jacobian, -found)
        except np.linalg.LinAlgError:
            return None
        if not np.isfinite(step).all():
            return None
        step /= max(1.0, float(np.max(np.abs(step))) / MAX_MOVE)
        t = 1.0
        while t > 1 / 1024:
            trial = p + t * step
            if low <= trial[0] <= high and abs(trial[1]) <= BETA_LIMIT:
                value = residual(trial)
                if value is not None and float(np.linalg.norm(value)) < (1 - 1e-4 * t) * float(
                    np.linalg.norm(found)
                ):
                    p, found = trial, value
                    break
            t /= 2
        else:
            break
    return p if float(np.max(np.abs(found))) < GOOD_ENOUGH else None


@dataclass(frozen=True)
class _Params:
    alpha: float
    beta: float
    gamma: float
    delta: float


Problem = tuple[Residual, Callable[["np.ndarray"], _Params]]


def _dks_residual(base: Spec, slope: float, exact: bool) -> Problem:
    """DKS's two conditions, C′(1) = ``slope`` and Q′(1) = 1, with δ = −E[φ] (C(0) = 0)
    and γ = 1/√Var φ (Q(1) = 1) in closed form."""
    import numpy as np

    def parts(p: np.ndarray) -> tuple[_Sample, float, float] | None:
        s = _sample(base, math.exp(p[0]), float(p[1]), second=False, exact=exact)
        mean = s.expect(s.f)
        variance = s.expect((s.f - mean) ** 2)
        return None if not variance > 1e-300 else (s, mean, variance)

    def residual(p: np.ndarray) -> np.ndarray | None:
        found = parts(p)
        if found is None:
            return None
        s, mean, variance = found
        c_slope = s.alpha**2 * s.expect(s.g * s.g) / variance
        q_slope = s.expect((s.f - mean) * s.g * (s.x - s.beta)) / variance
        return np.array([c_slope / slope - 1, q_slope - 1])

    def params(p: np.ndarray) -> _Params:
        found = parts(p)
        assert found is not None  # a solution's residual was computed
        _, mean, variance = found
        return _Params(math.exp(p[0]), float(p[1]), 1 / math.sqrt(variance), -mean)

    return residual, params


def _tat_residual(base: Spec, curvature: float, sign: float, exact: bool) -> Problem:
    """TAT's smooth case: C″(1)/C′(1) = ``curvature`` (γ and δ cancel), then C′(1) = 1
    gives γ = 1/(α·√E[φ′²]), Q(1) = 1 gives E[φ̂] = ``sign``·√(α²E[φ′²] − Var φ)·γ,
    and Q′(1) = 1 is the second equation."""
    import numpy as np

    def parts(p: np.ndarray) -> tuple[_Sample, float, float, float] | None:
        s = _sample(base, math.exp(p[0]), float(p[1]), second=True, exact=exact)
        mean = s.expect(s.f)
        variance = s.expect((s.f - mean) ** 2)
        grad2 = s.alpha**2 * s.expect(s.g * s.g)
        if not (variance > 1e-300 and grad2 > 1e-300):
            return None
        return s, mean, grad2, sign * math.sqrt(max(grad2 - variance, 0.0))

    def residual(p: np.ndarray) -> np.ndarray | None:
        found = parts(p)
        if found is None:
            return None
        s, mean, grad2, offset = found
        assert s.h is not None  # sampled with second=True
        ratio = s.alpha**4 * s.expect(s.h * s.h) / grad2
        moved = s.x - s.beta
        q_slope = (s.expect((s.f - mean) * s.g * moved) + offset * s.expect(s.g * moved)) / grad2
        return np.array([ratio / curvature - 1, q_slope - 1])

    def params(p: np.ndarray) -> _Params:
        found = parts(p)
        assert found is not None  # a solution's residual was computed
        _, mean, grad2, offset = found
        return _Params(math.exp(p[0]), float(p[1]), 1 / math.sqrt(grad2), offset - mean)

    return residual, params


def _search(base: Spec, problems: Callable[[bool], Sequence[Problem]]) -> _Params | None:
    """The first solution from :data:`STARTS` (each start tried on every problem).

    ``problems(exact)``: with ``exact`` False they take torch's own f′ throughout; an
    activation whose torch f′ is known wrong (hardsigmoid's float32 1/6) is solved
    so (its exact f′ costs 50-digit evaluations) and then polished with the exact f′.
    """
    import numpy as np

    from actviz.depth.gain import TORCH_GRAD_DEFECTS

    fast = problems(False)
    polish = problems(True) if base.name in TORCH_GRAD_DEFECTS and not base.activation.custom \
        else None  # fmt: skip
    for alpha, beta in STARTS:
        for i, (residual, params) in enumerate(fast):
            root = _newton(residual, np.array([math.log(alpha), beta]))
            if root is not None and polish is not None:
                residual, params = polish[i]
                root = _newton(residual, root)
            if root is not None:
                return params(root)
    return None


# --- leaky relu under TAT: the arc-cosine kernel -----------------------------------


def leaky_relu_map(c: float, slope: float) -> float:
    """C(c) of LeakyReLU with negative slope ``slope``: c + w·(K(c) − c), where K is
    relu's normalised arc-cosine kernel and w = (1 − s)²/(1 + s²)."""
    c = min(max(c, -1.0), 1.0)
    arc = (math.sqrt(max(1 - c * c, 0.0)) + (math.pi - math.acos(c)) * c) / math.pi
    return c + (1 - slope) ** 2 / (1 + slope * slope) * (arc - c)


def _leaky_network_c0(slope: float, depth: int) -> float:
    c = 0.0
    for _ in range(depth):
        c = leaky_relu_map(c, slope)
    return c


def _leaky_slope(depth: int, eta: float) -> float:
    """The negative slope s ∈ [0, 1] whose network C(0) is ``eta``; C(0) falls as s grows."""
    relu = _leaky_network_c0(0.0, depth)
    if eta > relu:
        raise ShapeRefusedError(
            f"TAT cannot shape leaky_relu for depth {depth}: no negative slope in [0, 1] gives "
            f"the network C(0) = η = {eta:g}, as even relu (slope 0) reaches only "
            f"{relu:.4g}; give a smaller eta or a greater depth"
        )
    lo, hi = 0.0, 1.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if mid in (lo, hi):
            break
        if _leaky_network_c0(mid, depth) > eta:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


# --- refusals -----------------------------------------------------------------------


def homogeneity(target: Spec) -> float | None:
    """k where ``target`` is positively homogeneous, f(t·x) = t^k·f(x) for t > 0
    (relu and leaky relu: k = 1), checked at t = 2 on a few points; else None."""
    import numpy as np

    from actviz.evaluation import evaluate

    xs = np.array([*HOMOGENEITY_POINTS, *(-x for x in HOMOGENEITY_POINTS)])
    _, f, _ = evaluate(target, np.concatenate([xs, 2 * xs, [0.0]]), dtype="float64")
    one, two, zero = f[: len(xs)], f[len(xs) : 2 * len(xs)], f[-1]
    scale = float(np.max(np.abs(f)))
    if not scale > 0 or zero != 0 or not np.isfinite(f).all():
        return None
    nonzero = np.abs(one) > 1e-12 * scale
    if np.any(np.abs(two[~nonzero]) > 1e-12 * scale):
        return None
    ratios = two[nonzero] / one[nonzero]
    if not len(ratios) or ratios[0] <= 1:
        return None
    if np.max(np.abs(ratios / ratios[0] - 1)) > HOMOGENEITY_RTOL:
        return None
    return math.log2(float(ratios[0]))


def _kinks_text(target: Spec) -> str:
    kinks = target.activation.kinks(target.params)
    return ", ".join(f"{k:g}" for k in kinks) if kinks else "?"


def refusal(target: Spec, method: str) -> str | None:
    """Why ``method`` cannot shape ``target``, in words; None when it can be tried."""
    from actviz.depth.cmap.kernel import jumps
    from actviz.depth.gain import moments

    tat_leaky = "TAT shapes leaky relu instead, picking its negative slope " \
                "(actviz shape leaky_relu --method tat)"  # fmt: skip
    if method == "tat" and target.name == LEAKY:
        changed = target.changed_params()
        if changed:
            return (
                f"TAT picks leaky_relu's negative_slope itself (for the network's C(0) = η); "
                f"drop negative_slope={changed['negative_slope']:g}"
            )
        return None
    if method == "tat" and target.name in RECTIFIERS:
        return f"it has no negative slope for TAT to pick; {tat_leaky}"
    degree = homogeneity(target)
    if degree is not None:
        power = "t" if abs(degree - 1) < 1e-9 else f"t^{degree:g}"
        needs = "C′(1) = ζ^(1/L) and Q′(1) = 1" if method == "dks" else \
            "C″(1)/C′(1) = τ/L and Q′(1) = 1"  # fmt: skip
        return (
            f"it is positively homogeneous (f(t·x) = {power}·f(x), t > 0), so α and β act "
            f"only through β/α: one degree of freedom for two conditions, {needs}; {tat_leaky}"
        )
    second = moments(target).f2()
    if not second > 0:
        return "it is 0 under a standard normal input: there is nothing to shape"
    f_jump, grad_jump = jumps(target, math.sqrt(second))
    if f_jump:
        return (
            f"f jumps at a kink (x = {_kinks_text(target)}), so C′(1) is infinite for every "
            "α and β (DKS needs C′(1) = ζ^(1/L), TAT C′(1) = 1)"
        )
    if method == "tat" and grad_jump:
        return (
            f"f′ jumps at a kink (x = {_kinks_text(target)}), so C″(1) is infinite for every "
            f"α and β, where TAT needs the network's C″(1) = τ; {tat_leaky}"
        )
    return None


# --- the result ---------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Shaped:
    """One activation shaped for a ``depth``-layer vanilla MLP by DKS or TAT.

    ``φ̂(x) = gamma·(base(alpha·x + beta) + delta)``; ``base`` is ``spec`` itself,
    except under TAT's leaky relu, where it is leaky_relu with the negative slope
    TAT picked (``negative_slope``; then α = 1, β = δ = 0 and γ is the scale).
    ``layer`` holds one layer's Q(1), Q′(1), C(0), C′(1), C″(1); ``network_*`` the
    L-layer network's C(0), C′(1), C″(1); ``targets`` what the method asks of them
    (keys as in :meth:`achieved`). The instance is itself the activation:
    ``shaped(x)`` for a tensor x, or :meth:`module` for an ``nn.Module``.
    """

    method: str
    spec: Spec
    base: Spec
    depth: int
    alpha: float
    beta: float
    gamma: float
    delta: float
    negative_slope: float | None
    layer: LayerNumbers
    network_c0: float
    network_slope: float
    network_curvature: float
    targets: Mapping[str, float]
    settings: Mapping[str, float] = field(default_factory=dict)
    # the 2-D rule's error on φ̂ at c = 0: an estimate of network_c0's accuracy
    network_c0_accuracy: float = 0.0

    @property
    def label(self) -> str:
        return self.spec.label

    @property
    def params(self) -> dict[str, float]:
        """α, β, γ, δ; or, for TAT's leaky relu, the negative slope and the scale γ."""
        if self.negative_slope is not None:
            return {"negative_slope": self.negative_slope, "scale": self.gamma}
        return {"alpha": self.alpha, "beta": self.beta, "gamma": self.gamma, "delta": self.delta}

    def achieved(self) -> dict[str, float]:
        """Every number a target can name, as computed for φ̂."""
        n = self.layer
        return {
            "q_value": n.q_value,
            "q_slope": n.q_slope,
            "c0": n.c0,
            "slope_at_1": n.slope,
            "curvature_at_1": n.curvature,
            "network_c0": self.network_c0,
            "network_slope_at_1": self.network_slope,
            "network_curvature_at_1": self.network_curvature,
        }

    def miss(self) -> float:
        """The largest |achieved − target| over the method's targets."""
        got = self.achieved()
        return max(abs(got[k] - v) for k, v in self.targets.items())

    @cached_property
    def transformed(self) -> Spec:
        """φ̂ as a :class:`~actviz.registry.Spec` (what :mod:`actviz.depth.cmap` and the
        probes take): its module, and its kinks where α and β moved them."""
        from actviz.depth.shape.code import shaped_activation

        return Spec(shaped_activation(self), {})

    def module(self) -> nn.Module:
        """A new ``torch.nn.Module`` computing φ̂ (the base module inside, in eval mode)."""
        from actviz.depth.shape.code import shaped_module

        return shaped_module(self)

    @cached_property
    def _module(self) -> nn.Module:
        return self.module()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """φ̂(x): the shaped activation, for any tensor (an MLP's activation)."""
        y: torch.Tensor = self._module(x)
        return y

    def snippet(self) -> str:
        """Plain torch source of φ̂ as an ``nn.Module`` class, to paste into your code."""
        from actviz.depth.shape.code import snippet

        return snippet(self)

    def network_map(self) -> CorrelationMap:
        """φ̂'s correlation map with ``depth`` layers composed (computed on first use)."""
        return self._maps[1]

    def unshaped_map(self) -> CorrelationMap:
        """The activation's own map (``spec``, unshaped, at q = 1), ``depth`` layers."""
        return self._maps[0]

    @cached_property
    def _maps(self) -> tuple[CorrelationMap, CorrelationMap]:
        from actviz.depth.cmap.kernel import correlation_map

        return (
            correlation_map(self.spec, layers=self.depth),
            correlation_map(self.transformed, layers=self.depth),
        )

    def as_dict(self) -> dict[str, Any]:
        n = self.layer
        achieved = self.achieved()
        return {
            "activation": self.spec.name,
            "params": dict(self.spec.params),
            "method": self.method,
            "depth": self.depth,
            "shaped": self.params,
            "transform": {
                "alpha": self.alpha,
                "beta": self.beta,
                "gamma": self.gamma,
                "delta": self.delta,
            },
            "layer": {
                "q_value": n.q_value,
                "q_slope": n.q_slope,
                "c0": n.c0,
                "slope_at_1": n.slope,
                "curvature_at_1": n.curvature,
            },
            "network": {
                "c0": self.network_c0,
                "slope_at_1": self.network_slope,
                "curvature_at_1": self.network_curvature,
            },
            "settings": dict(self.settings),
            "targets": dict(self.targets),
            "miss": self.miss(),
            "network_c0_accuracy": self.network_c0_accuracy,
            "snippet": self.snippet(),
            # JSON has no inf: these are null there, and named here
            "infinite": [k for k, v in achieved.items() if math.isinf(v)],
            "environment": environment().as_dict(),
        }

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v:.6g}" for k, v in self.params.items())
        return f"Shaped({self.method}, {self.label!r}, depth={self.depth}, {shown})"


@dataclass(frozen=True)
class Refusal:
    """An activation the method could not shape, and why."""

    spec: Spec
    method: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"activation": self.spec.name, "params": dict(self.spec.params),
                "method": self.method, "reason": self.reason}  # fmt: skip


@dataclass(frozen=True)
class ShapeSurvey:
    """Many activations shaped with one method and depth: those shaped and those refused."""

    method: str
    depth: int
    settings: Mapping[str, float]
    shaped: tuple[Shaped, ...]
    refused: tuple[Refusal, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "depth": self.depth,
            "settings": dict(self.settings),
            "shaped": [s.as_dict() for s in self.shaped],
            "refused": [r.as_dict() for r in self.refused],
        }


# --- shaping ------------------------------------------------------------------------


def _network(layer: LayerNumbers, depth: int) -> tuple[float, float]:
    """The network's C′(1) and C″(1): (C∘g)″(1) = C″(1)·g′(1)² + C′(1)·g″(1), C(1) = 1."""
    slope, curvature = 1.0, 0.0
    for _ in range(depth):
        curvature = layer.curvature * slope**2 + layer.slope * curvature
        slope *= layer.slope
    return slope, math.inf if math.isinf(layer.curvature) else curvature


def _network_c0(transformed: Spec, layer: LayerNumbers, depth: int) -> tuple[float, float]:
    """C∘…∘C (``depth`` times) at 0, and an estimate of its accuracy.

    Each C(c) is :mod:`actviz.depth.cmap`'s two-dimensional rule on φ̂, except at c = 0
    (below RESOLUTION), where C(0) = E[φ̂]²/E[φ̂²] is the exact one-dimensional
    ``layer.c0``. The two at c = 0 differ by the rule's error on φ̂ (small while
    φ̂ varies on the rule's scale, ~1 in z; it grows for a smooth φ at large α):
    that difference is the estimate.
    """
    from actviz.depth.cmap.kernel import RESOLUTION, cross_moments

    def at(c: float) -> float:
        if abs(c) < RESOLUTION:
            return layer.c0
        return float(cross_moments(transformed, [c])[0]) / layer.q_value

    accuracy = abs(float(cross_moments(transformed, [0.0])[0]) / layer.q_value - layer.c0)
    c = 0.0
    for _ in range(depth):
        following = at(c)
        done = abs(following - c) < FIXED
        c = following
        if done:  # a fixed point, to the rule's accuracy
            break
    return (0.0 if abs(c) < RESOLUTION else c), accuracy


def _solve(
    target: Spec, method: str, depth: int, zeta: float, eta: float, tau: float
) -> tuple[Spec, _Params, float | None, dict[str, float]]:
    """(base, its α β γ δ, TAT's negative slope or None, targets)."""
    if method == "tat" and target.name == LEAKY:
        from actviz.registry import spec

        slope = _leaky_slope(depth, eta)
        base = spec(LEAKY, {"negative_slope": slope})
        return base, _Params(1.0, 0.0, math.sqrt(2 / (1 + slope * slope)), 0.0), slope, {
            "q_value": 1.0, "network_c0": eta}  # fmt: skip
    if method == "dks":
        local = zeta ** (1 / depth)
        found = _search(target, lambda exact: [_dks_residual(target, local, exact)])
        targets = {"q_value": 1.0, "q_slope": 1.0, "c0": 0.0, "slope_at_1": local,
                   "network_slope_at_1": zeta}  # fmt: skip
        wanted = f"C′(1) = ζ^(1/L) = {local!r} and Q′(1) = 1"
    else:
        local = tau / depth
        found = _search(
            target, lambda exact: [_tat_residual(target, local, sign, exact) for sign in (1, -1)]
        )
        targets = {"q_value": 1.0, "q_slope": 1.0, "slope_at_1": 1.0, "curvature_at_1": local,
                   "network_curvature_at_1": tau}  # fmt: skip
        wanted = f"C′(1) = 1, C″(1) = τ/L = {local:.6g} and Q′(1) = 1"
    if found is None:
        # no hint of which way to move ζ or τ: the outsider's tanh failed with ζ
        # already 1 + 1e-6, and relu6 or a sign function fail at every setting
        raise NoSolutionError(
            f"{method.upper()} found no α, β for {target.label} (from {len(STARTS)} starting "
            f"points) that give {wanted}; at these settings it may have none"
        )
    return target, found, None, targets


def shape_one(
    target: Spec,
    *,
    depth: int,
    method: str = "dks",
    zeta: float = SHAPE_ZETA,
    eta: float = SHAPE_ETA,
    tau: float = SHAPE_TAU,
) -> Shaped:
    """Shape one activation (see :func:`shape`); raises when it cannot be shaped."""
    from actviz.depth.cmap.kernel import jumps

    depth, method, zeta, eta, tau = check_settings(depth, method, zeta, eta, tau)
    why = refusal(target, method)
    if why is not None:
        raise ShapeRefusedError(f"{method.upper()} cannot shape {target.label}: {why}")
    base, p, slope, targets = _solve(target, method, depth, zeta, eta, tau)
    settings = {"dks": {"zeta": zeta}, "tat": {"eta": eta} if slope is not None else {"tau": tau}}
    _, kinked = jumps(base, 1.0)
    layer = layer_numbers(base, p.alpha, p.beta, p.gamma, p.delta, kinked=kinked)
    net_slope, net_curvature = _network(layer, depth)
    draft = Shaped(method, target, base, depth, p.alpha, p.beta, p.gamma, p.delta, slope, layer,
                   math.nan, net_slope, net_curvature, targets, settings[method])  # fmt: skip
    c0, accuracy = _network_c0(draft.transformed, layer, depth)
    done = replace(draft, network_c0=c0, network_c0_accuracy=accuracy)
    _check(done)
    return done


def _check(done: Shaped) -> None:
    """The finished numbers (computed afresh on the final parameters) meet the targets."""
    got = done.achieved()
    targets = done.targets
    off = {k: got[k] for k, v in targets.items() if not abs(got[k] - v) <= MET * max(1, abs(v))}
    if off:
        listed = ", ".join(f"{k} = {got[k]:.9g} (target {done.targets[k]:.9g})" for k in off)
        raise NoSolutionError(
            f"{done.label}: the parameters found miss the {done.method.upper()} targets: {listed}"
        )


def shape(
    activations: str | Spec | Sequence[str | Spec],
    *,
    depth: int,
    method: str = "dks",
    zeta: float = SHAPE_ZETA,
    eta: float = SHAPE_ETA,
    tau: float = SHAPE_TAU,
) -> list[Shaped]:
    """Shape ``activations`` (names, aliases, ``module:callable`` or Specs) by DKS or TAT
    for a ``depth``-layer vanilla MLP; raises :class:`~actviz.errors.ShapeRefusedError`
    (or NoSolutionError) for the first one that cannot be shaped::

        import actviz.depth.shape
        (tanh,) = actviz.depth.shape.shape("tanh", depth=20, method="dks")
        tanh.params            # {'alpha': …, 'beta': …, 'gamma': …, 'delta': …}
        model = torch.nn.Sequential(torch.nn.Linear(8, 8), tanh.module())
    """
    from actviz.registry import specs_of

    check_settings(depth, method, zeta, eta, tau)
    return [
        shape_one(s, depth=depth, method=method, zeta=zeta, eta=eta, tau=tau)
        for s in specs_of(activations)
    ]


def shape_all(
    activations: str | Spec | Sequence[str | Spec] | None = None,
    *,
    depth: int,
    method: str = "dks",
    zeta: float = SHAPE_ZETA,
    eta: float = SHAPE_ETA,
    tau: float = SHAPE_TAU,
    skip_refused: bool = True,
) -> ShapeSurvey:
    """Like :func:`shape` for ``activations`` (default: every registered one), as one
    :class:`ShapeSurvey`; an activation that cannot be shaped is listed there with the
    reason (``skip_refused``), or raises as in :func:`shape`."""
    from actviz.registry import names, specs_of

    depth, method, zeta, eta, tau = check_settings(depth, method, zeta, eta, tau)
    specs = specs_of(list(names()) if activations is None else activations)
    shaped: list[Shaped] = []
    refused: list[Refusal] = []
    for s in specs:
        try:
            shaped.append(shape_one(s, depth=depth, method=method, zeta=zeta, eta=eta, tau=tau))
        except (ShapeRefusedError, NoSolutionError) as error:
            if not skip_refused:
                raise
            refused.append(Refusal(s, method, str(error)))
    settings = {"zeta": zeta} if method == "dks" else {"eta": eta, "tau": tau}
    return ShapeSurvey(method, depth, settings, tuple(shaped), tuple(refused))
