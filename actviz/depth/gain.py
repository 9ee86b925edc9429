"""Initialisation gains, computed: second moments of f and f′ under a normal input.

For z ~ N(0, 1) a layer ``h = W·f(x)`` with ``W ~ N(0, g²/fan_in)`` keeps the
second moment of its signal when ``g = 1/sqrt(E[f(z)²])`` (forward) and of its
gradient when ``g = 1/sqrt(E[f′(z)²])`` (backward). The mean-field view
(Poole et al. 2016, Schoenholz et al. 2017) follows the pre-activation
variance ``q ← σ_w²·E[f(√q·z)²] + σ_b²`` to its fixed point q* and asks
whether ``χ₁ = σ_w²·E[f′(√q*·z)²]`` shrinks (ordered) or grows (chaotic)
gradients; χ₁ = 1 is the edge of chaos.

Every expectation here is a quadrature over x (not z): f and f′ are evaluated
once, in float64 through torch and the registry (so your own activation works
too), on Gauss–Legendre panels split at 0 and at the activation's kinks and
graded geometrically away from 0, which resolves N(0, q) for every q from
1e-14 to 1e12 with the same points; a new q only re-weights them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any

from actviz.environment import environment
from actviz.errors import CustomActivationError, InvalidParameterError, arg
from actviz.registry import Activation, Spec, spec

if TYPE_CHECKING:
    import numpy as np

GL_NODES = 8  # Gauss–Legendre nodes per panel: exact for polynomials of degree 15
PANEL_RATIO = 1.25  # panel [a, 1.25a]: at most a quarter of |x| wide
X_INNER, X_OUTER = 1e-8, 1e8  # graded panels between these; [0, 1e-8] is one panel
Q_MIN, Q_MAX = 1e-14, 1e12  # below: q is 0 (the limit q → 0⁺); above: q diverges
# The top rung of the ladder of q (2^39 ≈ 5.5e11): where the map from q = 1 still climbs
# there, fixed_point reports q* = ∞.
Q_TOP = 2.0 ** math.floor(math.log2(Q_MAX))
FIXED_RTOL = 1e-12  # |h(q0)| within this × q0: q0 itself is a fixed point
# nn.Linear's default init, kaiming_uniform_(a=√5): U(±1/√fan_in), variance 1/(3·fan_in),
# i.e. σ_w² = 1/3; its bias variance 1/(3·fan_in) vanishes at large width.
TORCH_DEFAULT_SIGMA_W = math.sqrt(1 / 3)
SIGMA_W_SCAN = (0.05, 50.0)  # where the critical σ_w is looked for
# E[f]² above this share of E[f²]: the signal is mostly its mean, so a gain that
# keeps E[f²] keeps a constant, and every input ends up looking alike.
MEAN_SHARE_LIMIT = 0.5
# σ_b² for the phase diagram, dense near 0 where tanh's edge of chaos rises steeply
PHASE_SIGMA_B2 = (0.0, 0.0025, 0.01, 0.025, 0.05, 0.1, *(i / 10 for i in range(2, 11)))


# Registered activations whose f′ torch gets wrong in float64 (found by `actviz check`
# against actviz.check.reference's 50-digit values): their gains take f′ from the reference
# instead, wherever torch's differs from it on the quadrature's nodes by more than
# GRAD_RTOL, and say so.
TORCH_GRAD_DEFECTS = {
    "hardsigmoid": "torch's float64 f′ on (-3, 3) is float32's 1/6",
}
GRAD_RTOL = 1e-14


@dataclass(frozen=True, eq=False)
class Moments:
    """f and f′ of one activation on a fixed quadrature rule over the real line.

    ``expect(values, q)`` is E[values(x)] for x ~ N(0, q): the rule's weights
    times the normal density. ``q`` below :data:`Q_MIN` is taken as Q_MIN, the
    limit q → 0⁺ (so relu's E[f′²] there is 1/2, not f′(0)² = 0).
    """

    spec: Spec
    x: np.ndarray
    weights: np.ndarray  # Gauss–Legendre weights of each node's panel
    f: np.ndarray
    grad: np.ndarray
    # where grad is the exact f′ rather than torch's: why, and how far torch's is off
    grad_note: str | None = None

    def expect(self, values: np.ndarray, q: float) -> float:
        import numpy as np

        q = min(max(q, Q_MIN), Q_MAX)
        # Only nodes within 40 standard deviations count (beyond, the density is
        # below 1e-347: 0 in float64, and f there may be huge).
        used = slice(*np.searchsorted(self.x, (-40 * math.sqrt(q), 40 * math.sqrt(q))))
        x = self.x[used]
        density = self.weights[used] * np.exp(-0.5 * x * x / q) / math.sqrt(2 * math.pi * q)
        return float(np.dot(density, values[used]))

    @cached_property
    def ladder(self) -> tuple[np.ndarray, np.ndarray]:
        """q = 2^k from :data:`Q_MIN` to :data:`Q_TOP` and E[f²] at each: where the
        mean-field map's fixed points are bracketed, for any σ_w and σ_b."""
        import numpy as np

        qs, density = self._ladder_density
        return qs, np.where(density > 0, density * (self.f * self.f), 0.0).sum(axis=1)

    @cached_property
    def grad_ladder(self) -> np.ndarray:
        """E[f′²] at each q of :attr:`ladder`: χ₁/σ_w² along the map's way."""
        import numpy as np

        _, density = self._ladder_density
        grad2: np.ndarray = np.where(density > 0, density * (self.grad * self.grad), 0.0).sum(1)
        return grad2

    @cached_property
    def _ladder_density(self) -> tuple[np.ndarray, np.ndarray]:
        import numpy as np

        qs = 2.0 ** np.arange(math.ceil(math.log2(Q_MIN)), math.log2(Q_TOP) + 1)
        with np.errstate(under="ignore"):
            density = np.exp(-0.5 * self.x[None, :] ** 2 / qs[:, None]) * self.weights
        density /= np.sqrt(2 * math.pi * qs)[:, None]
        return qs, density

    def f2(self, q: float = 1.0) -> float:
        """E[f(x)²] for x ~ N(0, q)."""
        return self.expect(self.f * self.f, q)

    def grad2(self, q: float = 1.0) -> float:
        """E[f′(x)²] for x ~ N(0, q)."""
        return self.expect(self.grad * self.grad, q)

    def mean(self, q: float = 1.0) -> float:
        """E[f(x)] for x ~ N(0, q)."""
        return self.expect(self.f, q)


def rule(kinks: Iterable[float] = ()) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights over the real line: panels split at 0 and ``kinks``."""
    import numpy as np

    steps = math.ceil(math.log(X_OUTER / X_INNER) / math.log(PANEL_RATIO))
    half = X_INNER * PANEL_RATIO ** np.arange(steps + 1)
    edges = np.unique(np.concatenate([[0.0], half, -half, [k for k in kinks if abs(k) < X_OUTER]]))
    t, w = np.polynomial.legendre.leggauss(GL_NODES)
    a, b = edges[:-1, None], edges[1:, None]
    x = ((b - a) / 2 * t + (a + b) / 2).ravel()
    weights = ((b - a) / 2 * w).ravel()
    return x, weights


def moments(target: str | Activation | Spec) -> Moments:
    """f and f′ of ``target`` on the quadrature rule (cached per activation and params)."""
    resolved = target if isinstance(target, Spec) else spec(target)
    return _moments(resolved.activation, tuple(sorted(resolved.params.items())))


@lru_cache(maxsize=256)
def _moments(activation: Activation, params: tuple[tuple[str, Any], ...]) -> Moments:
    import numpy as np

    from actviz.evaluation import evaluate

    target = Spec(activation, dict(params))
    nodes, weights = rule(activation.kinks(target.params))
    x, f, grad = evaluate(target, nodes, dtype="float64")
    if not (np.isfinite(f).all() and np.isfinite(grad).all()):
        bad = float(x[~(np.isfinite(f) & np.isfinite(grad))][0])
        raise CustomActivationError(
            f"{target.label} is not finite at x = {bad:g}; a gain needs f and f′ finite "
            f"on the whole real line (|x| ≤ {X_OUTER:g})"
        )
    torch_moments = Moments(target, x, weights, f, grad)
    exact, note = exact_grad(target, x, grad)
    if note is None:
        return torch_moments
    with_torch = 1 / math.sqrt(torch_moments.grad2())
    note += f" (torch's own f′ would give a backward gain of {with_torch:.9g})"
    return Moments(target, x, weights, f, exact, note)


def exact_grad(target: Spec, x: np.ndarray, grad: np.ndarray) -> tuple[np.ndarray, str | None]:
    """``grad`` (torch's f′ at ``x``), or the exact f′ from :mod:`actviz.check.reference` where
    torch's is known wrong (:data:`TORCH_GRAD_DEFECTS`) and differs from the exact one
    here; with a note saying which, and by how much, or None."""
    import numpy as np

    from actviz.check import reference

    defect = TORCH_GRAD_DEFECTS.get(target.name)
    ref = reference.reference(target.name)
    if target.activation.custom or defect is None or ref is None:
        return grad, None
    exact = np.array([float(reference.evaluate(ref, target.params, float(v))[1]) for v in x])
    off = np.abs(grad - exact)
    worst = float(off.max())
    if worst <= GRAD_RTOL * max(1.0, float(np.abs(exact).max())):
        return grad, None  # torch is right here after all (a fixed torch)
    return exact, f"f′ from its exact form, as {defect}, off by up to {worst:.2g}"


# --- the mean-field map ---------------------------------------------------------


def _root(
    h: Callable[[float], float], lo: float, hi: float, h_lo: float, h_hi: float, rtol: float
) -> float:
    """A root of ``h`` in [lo, hi] where h changes sign: Illinois regula falsi,
    falling back to bisection when it stalls. Stops when the bracket or the
    step between estimates is below ``rtol`` × max(|hi|, 1)."""
    if h_lo == 0 or h_hi == 0:
        return lo if h_lo == 0 else hi
    last, side = math.nan, ""
    for _ in range(200):
        tolerance = rtol * max(abs(hi), 1.0)
        if hi - lo <= tolerance:
            break
        mid = hi - h_hi * (hi - lo) / (h_hi - h_lo) if h_hi != h_lo else (lo + hi) / 2
        if not lo < mid < hi:
            mid = (lo + hi) / 2
        if abs(mid - last) <= tolerance:
            return mid
        last = mid
        h_mid = h(mid)
        if h_mid == 0:
            return mid
        # Illinois: an end kept twice in a row has its h halved, so that it
        # does not stick and convergence stays superlinear.
        if (h_mid > 0) == (h_lo > 0):
            lo, h_lo = mid, h_mid
            if side == "lo":
                h_hi /= 2
            side = "lo"
        else:
            hi, h_hi = mid, h_mid
            if side == "hi":
                h_lo /= 2
            side = "hi"
    return (lo + hi) / 2


def fixed_point(
    m: Moments, sigma_w: float, sigma_b: float = 0.0, q0: float = 1.0, rtol: float = 1e-14
) -> float:
    """The q* that ``q ← σ_w²·E[f(√q·z)²] + σ_b²`` reaches from ``q0``.

    0.0 when the signal dies out (below :data:`Q_MIN`), ``inf`` when it grows
    without bound: the map from ``q0`` still climbs at the ladder's top rung,
    :data:`Q_TOP` = 2^39 ≈ 5.5e11 (h > 0 on every rung from ``q0`` up, and no dip
    between rungs reaches 0), so a fixed point beyond Q_TOP also reads as ``inf``.
    """

    def h(q: float) -> float:
        return sigma_w**2 * m.f2(q) + sigma_b**2 - q

    import numpy as np

    h0 = h(q0)
    if abs(h0) <= FIXED_RTOL * q0:
        return q0  # q0 is a fixed point (relu at σ_w² = 2: every q is)
    qs, f2 = m.ladder
    on_ladder = sigma_w**2 * f2 + sigma_b**2 - qs
    # Walk the ladder from q0 the way the map moves (up while h > 0, down while
    # h < 0) to the first sign change: the fixed point the iteration reaches.
    up = h0 > 0
    ahead = qs > q0 if up else qs < q0
    path_q = np.concatenate([[q0], qs[ahead] if up else qs[ahead][::-1]])
    path_h = np.concatenate([[h0], on_ladder[ahead] if up else on_ladder[ahead][::-1]])
    toward = path_h / path_q * (1 if up else -1)  # > 0 while the map moves on
    stops = np.flatnonzero(toward <= 0)
    end = int(stops[0]) if len(stops) else len(path_q)
    dip = _dip(h, path_q[:end], toward[:end], up)
    if dip is not None:
        lo, hi = dip
    elif not len(stops):
        return math.inf if up else 0.0
    else:
        lo, hi = float(path_q[end - 1]), float(path_q[end])
    lo, hi = min(lo, hi), max(lo, hi)
    return _root(h, lo, hi, h(lo), h(hi), rtol)


DIP_STEPS = 60  # golden-section steps in log q: a bracket of 2 rungs (1.39) to ~4e-13
DIP_NOISE = 1e-12  # below this, a rung's h/q under both neighbours' is the quadrature's noise
DIP_START = 1e-6  # in log q: the step that tells whether h/q falls or rises from q0
# A parabola in log q lowest between three rungs, whose minimum reaches 0, rises from the
# middle rung to a neighbour by at least 8× the middle rung's h/q: a dip is searched
# where that rung's h/q is at most DIP_REACH × the rise (16× the parabola's room).
DIP_REACH = 2.0


def _dip(
    h: Callable[[float], float], path_q: np.ndarray, toward: np.ndarray, up: bool
) -> tuple[float, float] | None:
    """A fixed point the ladder's rungs step over: two roots of ``h`` close together
    between rungs (next to a fold, where the pair is born), which the map stops at
    though h has the same sign on every rung. Where h/q (signed the way the map moves,
    ``toward``, > 0 on every point of ``path_q``) has a local minimum on the path, its
    minimum between the two neighbours is looked for by golden section in log q; the
    first that reaches 0 gives (the point before it, where it does): a sign change.
    Golden section finds a dip's lowest point where h/q has one minimum between the
    neighbours, which holds for a pair of roots born at a fold (h/q smooth, ~parabolic
    there); it would miss a second, narrower dip beside the first."""
    gold = (math.sqrt(5) - 1) / 2
    sign = 1.0 if up else -1.0

    def closing(log_q: float) -> float:
        q = math.exp(log_q)
        return sign * h(q) / q

    for k in range(len(path_q) - 1):
        # a local minimum of the path, or its start where it rises from there (q0 = 1
        # is a fixed point at the critical σ_w of hardswish at σ_b² = 0.2 and the next
        # root, 1.15, is short of the rung q = 2)
        before = toward[k - 1] if k else math.inf
        if not (toward[k] < before - DIP_NOISE and toward[k] < toward[k + 1] - DIP_NOISE):
            continue
        rise = max(before if k else 0.0, toward[k + 1]) - toward[k]
        if toward[k] > DIP_REACH * rise:
            continue
        # at the start, only where h/q first falls on the way (q0 a stable fixed point
        # nearby, as for hardswish), not where it rises from there (gelu's unstable q = 1)
        if not k and closing(math.log(path_q[0]) + DIP_START * (1 if up else -1)) >= toward[0]:
            continue
        a, b = sorted((math.log(path_q[max(k - 1, 0)]), math.log(path_q[k + 1])))
        c, d = b - gold * (b - a), a + gold * (b - a)
        fc, fd = closing(c), closing(d)
        for _ in range(DIP_STEPS):
            if min(fc, fd) <= 0:
                at = math.exp(c if fc <= 0 else d)
                return float(path_q[max(k - 1, 0)]), at
            if fc < fd:
                b, d, fd = d, c, fc
                c = b - gold * (b - a)
                fc = closing(c)
            else:
                a, c, fc = c, d, fd
                d = a + gold * (b - a)
                fd = closing(d)
    return None


def chi1(
    m: Moments, sigma_w: float, sigma_b: float = 0.0, rtol: float = 1e-14
) -> tuple[float, float]:
    """(q*, χ₁): the fixed point and σ_w²·E[f′(√q*·z)²] there (its limit if q* is 0 or ∞)."""
    q = fixed_point(m, sigma_w, sigma_b, rtol=rtol)
    return q, sigma_w**2 * m.grad2(q)


def critical_sigma_w(m: Moments, sigma_b: float = 0.0) -> float | None:
    """The smallest σ_w (in :data:`SIGMA_W_SCAN`) with χ₁ = 1: the edge of chaos.

    None when χ₁ stays below 1 (or above) over the whole scan.
    """
    import numpy as np

    def excess(log_w: float, rtol: float = 1e-14) -> float:
        return chi1(m, math.exp(log_w), sigma_b, rtol)[1] - 1.0

    # The scan only needs the sign of χ₁ − 1: a looser fixed point will do there.
    grid = np.linspace(math.log(SIGMA_W_SCAN[0]), math.log(SIGMA_W_SCAN[1]), 19)
    previous, e_prev = float(grid[0]), excess(float(grid[0]), 1e-8)
    if e_prev >= 0:
        return None  # chaotic already at the smallest σ_w
    for log_w in grid[1:]:
        e = excess(float(log_w), 1e-8)
        if e >= 0:
            lo, hi = previous, float(log_w)
            return math.exp(_root(excess, lo, hi, excess(lo), excess(hi), 1e-12))
        previous, e_prev = float(log_w), e
    return None


# χ₁ either side of a critical σ_w, at σ_w·(1 ∓ SIDE_STEP): both within CHI1_TOLERANCE
# of 1 is an edge of chaos (a continuous crossing, or χ₁ = 1 on a whole range as for
# relu); otherwise χ₁ jumps across 1 there (q* falls to 0 on one side and runs off
# on the other) and there is no edge of chaos at that σ_b.
SIDE_STEP = 1e-9
CHI1_TOLERANCE = 1e-6
# Where a jump is found, the smallest σ_b with a true edge of chaos is looked for
# on this log grid, then narrowed by bisection to EDGE_BIAS_RTOL.
SIGMA_B_SCAN = (1e-3, 100.0)
SIGMA_B_STEPS = 12
EDGE_BIAS_RTOL = 1e-3
# At σ_b = 0 a critical point with q* below this is the trivial fixed point q* = 0
# (tanh at σ_w = 1): the signal's variance decays to 0, only slower than exponentially.
TRIVIAL_Q = 1e-6


def _chi(value: float) -> str:
    """χ₁ in words: 4 digits, and 0 where it is the q → 0 limit of an f′(0) = 0 (the
    quadrature's smallest q, 1e-14, leaves ~1e-27 there)."""
    return "0" if abs(value) < 1e-12 else f"{value:.4g}"


@dataclass(frozen=True)
class Critical:
    """Where χ₁ first reaches 1 as σ_w grows, at one σ_b, and what happens there.

    ``kind`` is ``"edge"`` (χ₁ = 1 there: the edge of chaos), ``"jump"`` (χ₁
    jumps from ``chi1_below`` < 1 to ``chi1_above`` > 1 at ``sigma_w``: the fixed
    point reached from q = 1 switches from one branch to another, and no σ_w has
    χ₁ = 1) or ``"unbounded"`` (χ₁ passes 1 without a jump, but only as q* → ∞:
    below ``sigma_w`` the fixed point runs off as σ_w grows, at and above it the
    variance grows without bound, as a linear network's does at σ_w = 1; relu
    with a bias, softplus, logsigmoid, threshold, hardshrink: no edge of chaos
    either; see ``runs_off``). For a jump, ``edge_sigma_b`` is the smallest σ_b (searched over
    :data:`SIGMA_B_SCAN`, to :data:`EDGE_BIAS_RTOL`) at which a true edge exists,
    ``edge_sigma_w`` the edge's σ_w there; both None where the scan finds none.
    """

    sigma_w: float
    sigma_b: float
    chi1_below: float  # χ₁ at σ_w·(1 − SIDE_STEP)
    chi1_above: float  # χ₁ at σ_w·(1 + SIDE_STEP)
    q_star: float  # the fixed point reached from q = 1 at sigma_w
    edge_sigma_b: float | None = None
    edge_sigma_w: float | None = None
    # σ_b = 0 and q = 0 is a fixed point with χ₁ = 1 at sigma_w (σ_w·|f′(0)| = 1), the map
    # from q = 1 moves down towards it and just below sigma_w the signal dies: the q* > 0
    # found at sigma_w is where a map flat near 0 stops in float64 (hardtanh at σ_w = 1:
    # E[f(√q·z)²] = q to within ~e^(−1/(2q)), below 1e-12 of q under q ≈ 0.02), not a
    # fixed point that sigma_w's last digits can pin down (q* → 0 at σ_w = 1 exactly,
    # 0.0187 at 1 + 2.6e-13): the edge is the trivial fixed point, as tanh's is.
    flat_to_zero: bool = False
    # q* = ∞ counts where it is not a matter of sigma_w's last digits: just above sigma_w
    # the map from q = 1 runs past Q_TOP (fixed_point's inf), at sigma_w it climbs from
    # q = 1 (h(1) > FIXED_RTOL: not relu's σ_b = 0, where every q is a fixed point),
    # and χ₁ = σ_w²·E[f′(√q·z)²] stays ≤ 1 + CHI1_TOLERANCE on every rung of its way up
    # (q = 1 … Q_TOP): it reaches 1 only in the limit. Where χ₁ is above 1 on the way
    # and falls to 1 at Q_TOP, q* lies beyond Q_TOP instead (elu at σ_b = 1000): an edge.
    runs_off: bool = False

    @property
    def kind(self) -> str:
        off = max(abs(self.chi1_below - 1), abs(self.chi1_above - 1))
        if off > CHI1_TOLERANCE:
            return "jump"
        return "unbounded" if self.runs_off else "edge"

    @property
    def trivial(self) -> bool:
        """An edge at the trivial fixed point q* = 0 (σ_b = 0, f(0) = 0, σ_w·|f′(0)| = 1)."""
        near_zero = self.q_star < TRIVIAL_Q or self.flat_to_zero
        return self.kind == "edge" and self.sigma_b == 0 and near_zero

    @property
    def text(self) -> str:
        """What ``actviz gain`` and ``actviz depth --gain critical`` say about it."""
        at = f"σ_b = {self.sigma_b:g}"
        if self.kind == "jump":
            words = (
                f"χ₁ jumps from {_chi(self.chi1_below)} to {_chi(self.chi1_above)} at "
                f"σ_w = {self.sigma_w:.4g}: no edge of chaos at {at}"
            )
            if self.edge_sigma_b is None:
                low, high = SIGMA_B_SCAN
                return f"{words}, nor at any σ_b from {low:g} to {high:g}"
            assert self.edge_sigma_w is not None
            return (
                f"{words}; a true one (χ₁ = 1) from σ_b ≈ {self.edge_sigma_b:.3g} "
                f"(σ_w = {self.edge_sigma_w:.4g} there)"
            )
        if self.kind == "unbounded":
            return (
                f"χ₁ → 1 only as q* → ∞ at σ_w = {self.sigma_w:.4g}: the variance grows "
                f"without bound; no edge of chaos at {at}"
            )
        if self.trivial:
            return (
                f"q* → 0 at σ_w = {self.sigma_w:.4g}, {at}: the edge of chaos is the trivial "
                "fixed point; the signal's variance decays to 0 (slower than exponentially) "
                "and the gradient with it; a bias σ_b > 0 gives q* > 0"
            )
        # q* = inf here: beyond the ladder, where χ₁ falls to 1 from above (runs_off)
        q = f"= {self.q_star:.4g}" if math.isfinite(self.q_star) else f"> {Q_TOP:.2g}"
        return f"χ₁ = 1 at σ_w = {self.sigma_w:.4g}, {at} (q* {q}): the edge of chaos"

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "sigma_w": self.sigma_w,
            "sigma_b": self.sigma_b,
            "chi1_below": self.chi1_below,
            "chi1_above": self.chi1_above,
            "q_star": None if math.isinf(self.q_star) else self.q_star,
            "trivial": self.trivial,
            "edge_sigma_b": self.edge_sigma_b,
            "edge_sigma_w": self.edge_sigma_w,
            "text": self.text,
        }


def critical_point(m: Moments, sigma_b: float = 0.0, *, search: bool = True) -> Critical | None:
    """The :class:`Critical` point of ``m`` at ``sigma_b`` (None: χ₁ never reaches 1 in
    :data:`SIGMA_W_SCAN`). With ``search``, a jump comes with the smallest σ_b at which
    a true edge of chaos exists."""
    w = critical_sigma_w(m, sigma_b)
    if w is None:
        return None
    q_below, chi1_below = chi1(m, w * (1 - SIDE_STEP), sigma_b)
    q_above, chi1_above = chi1(m, w * (1 + SIDE_STEP), sigma_b)
    runs_off = math.isinf(q_above) and _climbs_below_one(m, w, sigma_b)
    # q* = ∞ at the critical σ_w itself (its last digits may leave relu's map with a bias
    # a fixed point near σ_b²/1e-12, which is no more q* than ∞ is)
    q_star = math.inf if runs_off else fixed_point(m, w, sigma_b)
    found = Critical(
        sigma_w=w,
        sigma_b=sigma_b,
        chi1_below=chi1_below,
        chi1_above=chi1_above,
        q_star=q_star,
        runs_off=runs_off,
        flat_to_zero=(
            sigma_b == 0
            and q_below == 0
            and q_star < 1  # moved down from q = 1 (relu's map, flat everywhere, stays)
            and abs(w * w * m.grad2(0.0) - 1) <= CHI1_TOLERANCE
        ),
    )
    if found.kind == "edge" or not search:
        return found
    edge = edge_bias(m, sigma_b)
    if edge is None:
        return found
    return Critical(
        **{**found.__dict__, "edge_sigma_b": edge.sigma_b, "edge_sigma_w": edge.sigma_w}
    )


def _climbs_below_one(m: Moments, sigma_w: float, sigma_b: float) -> bool:
    """Whether the map at ``sigma_w`` climbs from q = 1 (h(1) > :data:`FIXED_RTOL`) with
    χ₁ ≤ 1 + :data:`CHI1_TOLERANCE` on every rung of the ladder from q = 1 to
    :data:`Q_TOP` (see :attr:`Critical.runs_off`)."""
    if sigma_w**2 * m.f2(1.0) + sigma_b**2 - 1.0 <= FIXED_RTOL:
        return False
    qs, _ = m.ladder
    return bool((sigma_w**2 * m.grad_ladder[qs >= 1] <= 1 + CHI1_TOLERANCE).all())


def edge_bias(m: Moments, above: float = 0.0) -> Critical | None:
    """The edge of chaos (with a finite q*) at the smallest σ_b > ``above`` that has one:
    the first σ_b on
    a log grid over :data:`SIGMA_B_SCAN` whose critical point is an edge, narrowed by
    bisection (in log σ_b) against the grid point before it to :data:`EDGE_BIAS_RTOL`.
    The σ_b returned is the bracket's upper end, where the edge was found."""
    import numpy as np

    def edge_at(b: float) -> Critical | None:
        # kind "unbounded" (χ₁ → 1 only as q* → ∞) is none, nor an edge beyond Q_TOP
        c = critical_point(m, b, search=False)
        return c if c is not None and c.kind == "edge" and math.isfinite(c.q_star) else None

    low, high = max(SIGMA_B_SCAN[0], above), SIGMA_B_SCAN[1]
    if low >= high:
        return None
    grid = np.geomspace(low, high, SIGMA_B_STEPS)
    previous = above
    for b in (float(v) for v in grid):
        found = edge_at(b)
        if found is not None:
            lo, hi = previous, b
            while hi - lo > EDGE_BIAS_RTOL * hi:
                mid = math.sqrt(lo * hi) if lo > 0 else hi / 2
                at_mid = edge_at(mid)
                if at_mid is not None:
                    hi, found = mid, at_mid
                else:
                    lo = mid
            return found
        previous = b
    return None


def critical_note(m: Moments, sigma_w: float, sigma_b: float) -> str | None:
    """What a network run at the critical σ_w should say: where it is a jump rather than
    an edge of chaos, χ₁ → 1 only as q* → ∞, or an edge at the trivial fixed point
    q* = 0. None for a true edge with q* > 0 (or where ``sigma_w`` is not the critical
    σ_w at ``sigma_b``)."""
    found = critical_point(m, sigma_b)
    if found is None or found.sigma_w != sigma_w:
        return None
    if found.kind != "edge" or found.trivial:
        return found.text
    return None


def variance_slope(m: Moments) -> float:
    """d/dq of the variance map ``q ← g²·E[f(√q·z)²]`` at q = 1, with g the forward gain.

    Below 1 the forward gain's fixed point q = 1 is stable (tanh, sigmoid: a
    deep network returns to it); 1 is marginal (relu and its kin are
    homogeneous, every q is a fixed point, and finite width makes the std
    drift); above 1 it is unstable (gelu, silu: the std runs off to 0 or ∞).
    """
    h = 1e-4  # central difference of a quadrature accurate to ~1e-12: ~1e-8
    return (m.f2(1 + h) - m.f2(1 - h)) / (2 * h) / m.f2(1.0)


STABILITY_TOLERANCE = 1e-3  # |slope − 1| below this: marginal


def stability(slope: float) -> str:
    """``stable``, ``marginal`` or ``unstable``: what the forward gain's q = 1 is."""
    if abs(slope - 1) < STABILITY_TOLERANCE:
        return "marginal"
    return "stable" if slope < 1 else "unstable"


def forward_note(m: Moments) -> str | None:
    """Why the forward gain cannot hold a deep network's signal, where it cannot."""
    slope = variance_slope(m)
    mean, second = m.mean(), m.f2()
    notes = []
    if stability(slope) == "unstable":
        notes.append(
            f"q = 1 is an unstable fixed point of the variance map (slope {slope:.3g} > 1): "
            "finite-width noise pushes the std away from it, to 0 or ∞, and no gain "
            "holds it there (normalisation does)"
        )
    if mean * mean > MEAN_SHARE_LIMIT * second:
        notes.append(
            f"E[f(z)] = {mean:.3g} is far from 0 (E[f]² is {mean * mean / second:.0%} of "
            "E[f²]): the gain keeps the second moment, but most of it is a constant offset, "
            "so every input ends up looking alike"
        )
    return "; ".join(notes) or None


# --- what `actviz gain` reports ---------------------------------------------------


def _short(value: float | None) -> str:
    return "None" if value is None else f"{value:.6g}"


@dataclass(frozen=True)
class Gain:
    """The gains of one activation and its mean-field numbers."""

    spec: Spec
    forward: float  # 1/sqrt(E[f(z)²]), z ~ N(0, 1)
    backward: float  # 1/sqrt(E[f′(z)²])
    mean: float  # E[f(z)]: far from 0, a gain alone cannot keep the signal centred
    torch: float | None  # torch.nn.init.calculate_gain, where it knows the activation
    sigma_b: float
    critical_sigma_w: float | None  # χ₁ = 1 at sigma_b
    default_q: float  # q* at nn.Linear's default init (σ_w² = 1/3, σ_b = 0)
    default_chi1: float
    slope: float  # of the variance map at q = 1 under the forward gain (variance_slope)
    note: str | None  # why the forward gain cannot hold a deep signal, where it cannot
    # what happens at critical_sigma_w: an edge of chaos, a jump of χ₁ across 1, or
    # χ₁ → 1 only as q* → ∞
    critical: Critical | None = None
    backward_note: str | None = None  # where f′ is the exact one, not torch's

    @property
    def stability(self) -> str:
        return stability(self.slope)

    def __repr__(self) -> str:
        return (
            f"Gain(activation={self.label!r}, forward={self.forward:.6g}, "
            f"backward={self.backward:.6g}, torch={_short(self.torch)}, "
            f"critical_sigma_w={_short(self.critical_sigma_w)}, "
            + (
                f"critical={self.critical.kind!r}, "
                if self.critical and self.critical.kind != "edge"
                else ""
            )
            + f"q1={self.stability!r})"
        )

    def _repr_html_(self) -> str:
        """In Jupyter: the row ``actviz gain`` prints, as a small table."""
        import html

        from actviz.display import number

        rows = [
            ("forward gain 1/√E[f(z)²]", number(self.forward)),
            ("backward gain 1/√E[f′(z)²]", number(self.backward)),
            ("torch calculate_gain", number(self.torch)),
            (f"critical σ_w at σ_b = {self.sigma_b:g}", number(self.critical_sigma_w)),
            *([("critical point", self.critical.text)] if self.critical else []),
            *([("backward gain's f′", self.backward_note)] if self.backward_note else []),
            ("χ₁ at nn.Linear's default init", number(self.default_chi1)),
            ("q = 1 under the forward gain", self.stability),
            *([("note", self.note)] if self.note else []),
        ]
        cells = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
            for k, v in rows
        )
        return f"<table><caption>{html.escape(self.label)}</caption>{cells}</table>"

    @property
    def label(self) -> str:
        return self.spec.label

    @property
    def torch_agrees(self) -> bool | None:
        """Whether torch's gain is the forward second-moment gain (relu, leaky_relu),
        rather than a convention (tanh's 5/3, selu's 3/4, sigmoid's 1)."""
        if self.torch is None:
            return None
        return abs(self.torch - self.forward) <= 1e-6 * self.forward

    def as_dict(self) -> dict[str, Any]:
        return {
            "activation": self.spec.name,
            "params": dict(self.spec.params),
            "forward_gain": self.forward,
            "backward_gain": self.backward,
            "mean": self.mean,
            "torch_gain": self.torch,
            "torch_agrees": self.torch_agrees,
            "sigma_b": self.sigma_b,
            "critical_sigma_w": self.critical_sigma_w,
            "critical": None if self.critical is None else self.critical.as_dict(),
            "backward_note": self.backward_note,
            "variance_slope": self.slope,
            "stability": self.stability,
            "note": self.note,
            "environment": environment().as_dict(),  # the quadrature's f and f′ bits
            "default_init": {
                "sigma_w": TORCH_DEFAULT_SIGMA_W,
                "sigma_b": 0.0,
                "q_star": None if math.isinf(self.default_q) else self.default_q,
                "chi1": self.default_chi1,
            },
        }


def torch_gain(target: Spec) -> float | None:
    """``torch.nn.init.calculate_gain`` for this activation, or None where torch has none.

    calculate_gain's names are the registry's own (sigmoid, tanh, relu,
    leaky_relu, selu), so the registry name is asked as it is.
    """
    import torch

    if target.activation.custom:
        return None
    slope = target.params.get("negative_slope")
    try:
        return float(torch.nn.init.calculate_gain(target.name, slope))  # type: ignore[arg-type]
    except ValueError:
        return None


MAX_BIAS_STD = 1e150  # above it its square (a variance) overflows float64


def check_bias_std(sigma_b: float) -> None:
    """The one cap on the bias std, shared by ``gain`` and ``depth``."""
    if isinstance(sigma_b, bool) or not isinstance(sigma_b, (int, float)):
        raise InvalidParameterError(
            f"bias_std must be a number, not {type(sigma_b).__name__} {sigma_b!r}"
        )
    if not (math.isfinite(sigma_b) and 0 <= sigma_b <= MAX_BIAS_STD):
        raise InvalidParameterError(f"bias std must be a number from 0 to 1e150 (got {sigma_b:g})")


def gain_of(target: Spec, *, sigma_b: float = 0.0) -> Gain:
    """All the numbers of :class:`Gain` for one activation."""
    import numpy as np

    check_bias_std(sigma_b)
    try:
        with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
            found = _gain_of(target, sigma_b)
    except (OverflowError, ZeroDivisionError, FloatingPointError, ValueError) as error:
        raise InvalidParameterError(
            f"{target.label}: its gains overflow float64 at these settings ({error}); "
            f"use smaller parameter values or {arg('bias_std')}"
        ) from None
    if not (math.isfinite(found.forward) or found.forward == math.inf) or math.isnan(
        found.backward
    ):
        raise InvalidParameterError(f"{target.label}: its gains are not finite at these settings")
    return found


def _gain_of(target: Spec, sigma_b: float) -> Gain:
    m = moments(target)
    f2, g2 = m.f2(), m.grad2()
    if not f2 > 0:  # f ≡ 0 on N(0, 1) in float64 (x·0, 1e-300·tanh): nothing to keep
        raise InvalidParameterError(
            f"{target.label} is 0 under a standard normal input (E[f(z)²] = 0 in float64): "
            "it has no gain"
        )
    default_q, default_chi = chi1(m, TORCH_DEFAULT_SIGMA_W, 0.0)
    critical = critical_point(m, sigma_b)
    return Gain(
        spec=target,
        forward=1 / math.sqrt(f2) if f2 > 0 else math.inf,
        backward=1 / math.sqrt(g2) if g2 > 0 else math.inf,
        mean=m.mean(),
        torch=torch_gain(target),
        sigma_b=sigma_b,
        critical_sigma_w=None if critical is None else critical.sigma_w,
        default_q=default_q,
        default_chi1=default_chi,
        slope=variance_slope(m),
        note=forward_note(m),
        critical=critical,
        backward_note=m.grad_note,
    )


def gain(
    activations: str | Spec | Sequence[str | Spec] | None = None,
    *,
    bias_std: float = 0.0,
) -> list[Gain]:
    """The initialisation gains of ``activations`` (default: every registered one).

    Names, aliases, ``module:callable`` paths or :class:`~actviz.registry.Spec`
    (for parameters: ``actviz.spec("leaky_relu", {"negative_slope": 0.2})``)::

        import actviz
        [g.forward for g in actviz.gain(["relu", "gelu"])]  # [1.41421…, 1.5…]
    """
    from actviz.registry import names, specs_of

    check_bias_std(bias_std)
    specs = specs_of(list(names()) if activations is None else activations)
    return [gain_of(s, sigma_b=bias_std) for s in specs]


@dataclass(frozen=True)
class PhaseCurve:
    """Where χ₁ crosses 1 in the (σ_b², σ_w²) plane for one activation: at each σ_b²
    the critical σ_w² (None: χ₁ does not reach 1 in :data:`SIGMA_W_SCAN` there),
    whether χ₁ jumps across 1 there (:attr:`Critical.kind` ``"jump"``: no edge of
    chaos at that σ_b²) rather than passing through it, and whether it reaches 1 only
    as q* → ∞ (``"unbounded"``: no edge of chaos either; ``()``: nowhere). Both False
    where σ_w² is None."""

    spec: Spec
    sigma_b2: tuple[float, ...]
    sigma_w2: tuple[float | None, ...]
    jump: tuple[bool, ...]
    unbounded: tuple[bool, ...] = ()

    def __post_init__(self) -> None:
        if not self.unbounded:
            object.__setattr__(self, "unbounded", (False,) * len(self.sigma_b2))
        if not len(self.sigma_b2) == len(self.sigma_w2) == len(self.jump) == len(self.unbounded):
            raise InvalidParameterError(
                "sigma_b2, sigma_w2, jump and unbounded need one entry per σ_b²"
            )
        if any(j and w is None for w, j in zip(self.sigma_w2, self.jump, strict=True)):
            raise InvalidParameterError("jump is True where sigma_w2 is None: nothing jumps there")
        if any(u and w is None for w, u in zip(self.sigma_w2, self.unbounded, strict=True)):
            raise InvalidParameterError(
                "unbounded is True where sigma_w2 is None: nothing runs off there"
            )
        if any(j and u for j, u in zip(self.jump, self.unbounded, strict=True)):
            raise InvalidParameterError("jump and unbounded are both True at a σ_b²: one kind each")

    @property
    def kinds(self) -> tuple[str | None, ...]:
        """:attr:`Critical.kind` at each σ_b²: ``"edge"``, ``"jump"``, ``"unbounded"``,
        or None where there is no critical σ_w²."""
        return tuple(
            None if w is None else "jump" if j else "unbounded" if u else "edge"
            for w, j, u in zip(self.sigma_w2, self.jump, self.unbounded, strict=True)
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "activation": self.spec.name,
            "params": dict(self.spec.params),
            "sigma_b2": list(self.sigma_b2),
            "sigma_w2": list(self.sigma_w2),
            "jump": list(self.jump),
            "unbounded": list(self.unbounded),
        }


def phase_curve(target: Spec, sigma_b2: Sequence[float] = PHASE_SIGMA_B2) -> PhaseCurve:
    """The critical σ_w² of ``target`` at each σ_b², and whether χ₁ jumps across 1 there
    or reaches 1 only as q* → ∞ (:func:`critical_point`, without the search for a σ_b
    with a true edge)."""
    m = moments(target)
    found = [critical_point(m, math.sqrt(b2), search=False) for b2 in sigma_b2]
    squared = tuple(None if c is None else c.sigma_w * c.sigma_w for c in found)
    jump = tuple(c is not None and c.kind == "jump" for c in found)
    unbounded = tuple(c is not None and c.kind == "unbounded" for c in found)
    return PhaseCurve(target, tuple(sigma_b2), squared, jump, unbounded)


def phase_curves(specs: Sequence[Spec]) -> list[PhaseCurve]:
    """:func:`phase_curve` of each spec: the lines of ``actviz gain --plot``."""
    return [phase_curve(s) for s in specs]
