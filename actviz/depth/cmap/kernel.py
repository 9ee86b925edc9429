"""The correlation map C(c) of one activation, by quadrature.

Two inputs whose pre-activations have variance q = 1 and correlation c come
out of a wide layer with correlation ``C(c) = E[f(u)·f(v)] / E[f(z)²]``, (u, v)
standard bivariate normal of correlation c (the DKS convention, Martens et al.
2021, with the variance map normalised away). Three numbers sum it up:
``C(0) = E[f]²/E[f²]`` (how alike unrelated inputs come out), ``C′(1) =
E[f′²]/E[f²]`` (how fast nearby inputs drift apart) and ``C″(1) =
E[f″²]/E[f²]`` (how curved the map is near 1); each is a one-dimensional
expectation, taken on init_gain's quadrature rule (Gauss–Legendre panels split
at 0 and at the activation's kinks). A kink where f′ jumps makes C″(1)
infinite (relu: C″(c) = 1/(π√(1 − c²))); a jump in f itself makes C′(1)
infinite too.

C(c) itself is a two-dimensional Gaussian integral. With u = x and
v = c·x + s·z (s = √(1 − c²)), f(u) has its kinks on lines x = k and f(v) on
lines z = (k − c·x)/s; a product of Gauss–Legendre rules split on both sets
of lines integrates each smooth piece to float64 accuracy, where a plain
Gauss–Hermite rule would converge like a power of the node count across a
kink. The outer rule is also graded towards x = k/c, where the inner integral
turns sharply on the scale s as c → ±1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from actviz.environment import environment
from actviz.errors import CustomActivationError, InvalidParameterError
from actviz.registry import Spec

if TYPE_CHECKING:
    import numpy as np

    from actviz.depth.gain import Moments

SPAN = 10.0  # both Gaussian variables on [-10, 10]: the density beyond is below 8e-23
PANEL = 1.0  # Gauss–Legendre panel width before the splits at the kinks
NODES = 10  # Gauss–Legendre nodes per panel
CURVE_POINTS = 129  # C on a uniform grid in θ = arccos c (smooth in θ, not in c, at ±1)
MAX_LAYERS = 1000
JUMP_TOLERANCE = 1e-7  # a jump in f or f′ at a kink below this × √E[f²] counts as none
CHUNK = 8  # values of c integrated per torch call
# A correlation below this is the quadrature's rounding (tanh's E[f] is ~1e-17, not
# 0, so E[f]²/E[f²] ~ 1e-34): C(0) and the network's C(0) are 0 there.
RESOLUTION = 1e-12


@dataclass(frozen=True, eq=False)
class CorrelationMap:
    """The correlation map of one activation, for input variance q = 1.

    ``c0``, ``slope`` and ``curvature`` are C(0), C′(1) and C″(1) (inf where a
    kink makes them so); ``network_*`` are the same for the composite of
    ``layers`` layers, C∘…∘C. ``theta`` and ``values`` are C at c = cos θ on a
    uniform θ grid from 0 to π (what :meth:`at` interpolates).
    """

    spec: Spec
    layers: int
    mean: float  # E[f(z)]
    second_moment: float  # E[f(z)²]
    c0: float
    slope: float
    curvature: float
    network_c0: float
    network_slope: float
    network_curvature: float
    theta: np.ndarray
    values: np.ndarray

    @property
    def label(self) -> str:
        return self.spec.label

    def at(self, c: np.ndarray | float) -> np.ndarray:
        """C(c), interpolated (cubic in θ = arccos c) from the computed curve."""
        import numpy as np

        theta = np.arccos(np.clip(np.asarray(c, dtype=float), -1.0, 1.0))
        return interpolate(self.theta, self.values, theta)

    def composite(self, c: np.ndarray | float, layers: int | None = None) -> np.ndarray:
        """C∘…∘C (``layers`` times, default the map's own) at ``c``, interpolated."""
        import numpy as np

        found = np.asarray(c, dtype=float)
        for _ in range(self.layers if layers is None else layers):
            found = self.at(found)
        return found

    def as_dict(self) -> dict[str, Any]:
        return {
            "activation": self.spec.name,
            "params": dict(self.spec.params),
            "q": 1.0,
            "mean": self.mean,
            "second_moment": self.second_moment,
            "c0": self.c0,
            "slope_at_1": self.slope,
            "curvature_at_1": self.curvature,
            "layers": self.layers,
            "network": {
                "c0": self.network_c0,
                "slope_at_1": self.network_slope,
                "curvature_at_1": self.network_curvature,
            },
            "curve": {
                "c": [float(math.cos(t)) for t in self.theta],
                "C": [float(v) for v in self.values],
            },
            # JSON has no inf: these are null there, and named here
            "infinite": [
                key
                for key, value in (("slope_at_1", self.slope), ("curvature_at_1", self.curvature))
                if math.isinf(value)
            ],
            "environment": environment().as_dict(),  # the quadrature's f bits
        }

    def __repr__(self) -> str:
        return (
            f"CorrelationMap(activation={self.label!r}, c0={self.c0:.6g}, "
            f"slope={self.slope:.6g}, curvature={self.curvature:.6g}, layers={self.layers})"
        )


def interpolate(theta: np.ndarray, values: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Cubic Lagrange interpolation of ``values`` on the uniform grid ``theta``,
    through the four nearest nodes."""
    import numpy as np

    step = float(theta[1] - theta[0])
    last = len(theta) - 1
    start = np.clip(np.floor((at - theta[0]) / step).astype(int) - 1, 0, last - 3)
    t = (at - theta[0]) / step - start  # position among the nodes start .. start + 3
    found = np.zeros_like(t, dtype=float)
    for j in range(4):
        weight = np.ones_like(t, dtype=float)
        for m in range(4):
            if m != j:
                weight *= (t - m) / (j - m)
        found = found + weight * values[start + j]
    return found


def check_layers(layers: object) -> int:
    if isinstance(layers, bool) or not isinstance(layers, int):
        raise InvalidParameterError(
            f"layers must be a whole number, not {type(layers).__name__} {layers!r}"
        )
    if not 1 <= layers <= MAX_LAYERS:
        raise InvalidParameterError(f"layers must be from 1 to {MAX_LAYERS} (got {layers})")
    return layers


def _panels(edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre nodes and weights on the panels between sorted ``edges``
    (along the last axis; a zero-width panel weighs nothing)."""
    import numpy as np

    t, w = _legendre()
    a, b = edges[..., :-1, None], edges[..., 1:, None]
    x = (b - a) / 2 * t + (a + b) / 2
    weights = (b - a) / 2 * w
    shape = (*edges.shape[:-1], -1)
    return x.reshape(shape), np.broadcast_to(weights, x.shape).reshape(shape)


@lru_cache(maxsize=1)
def _legendre() -> tuple[np.ndarray, np.ndarray]:
    """The :data:`NODES`-point Gauss–Legendre rule on [-1, 1], computed once (each
    call costs a third of a :func:`cross_moments` call otherwise)."""
    import numpy as np

    t, w = np.polynomial.legendre.leggauss(NODES)
    t.flags.writeable = w.flags.writeable = False  # shared: read-only
    return t, w


def _base_edges() -> np.ndarray:
    import numpy as np

    count = round(2 * SPAN / PANEL)
    return np.linspace(-SPAN, SPAN, count + 1)


def _grading(smallest: float) -> list[float]:
    """Offsets ±smallest·2^j below :data:`PANEL`: panels that shrink geometrically
    towards the point they are added to."""
    found: list[float] = []
    step = smallest
    while step < PANEL:
        found += [-step, step]
        step *= 2
    return found


def _outer_edges(
    kinks: Sequence[float], c: float, s: float, soft: float | None = None
) -> np.ndarray:
    """Edges of the outer rule: the kinks, and around each x = k/c a geometric
    grading from s/8 outward, where the inner integral turns on the scale s; with
    ``soft`` (f's width 1/√q at a large q), 0 too, graded from the smaller scale."""
    import numpy as np

    extra = [*kinks]
    for k in kinks:
        centre = k / c if c != 0 else math.copysign(math.inf, k) if k else 0.0
        if abs(centre) >= SPAN:
            continue
        extra.append(centre)
        extra += [centre + step for step in _grading(s / 8)]
    if soft is not None:
        extra += [0.0, *_grading(min(s, soft) / 8)]
    edges = np.concatenate([_base_edges(), np.clip(extra, -SPAN, SPAN)])
    return np.unique(edges)


def _values(target: Spec, xs: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """f at ``scale`` × ``xs`` in float64 through torch and the registry (custom ones too)."""
    import numpy as np

    from actviz.evaluation import evaluate

    points = scale * xs.ravel()
    if target.activation.custom:  # with evaluate's checks of what a user's f returns
        _, f, _ = evaluate(target, points, dtype="float64")
    else:
        f = _forward(target, points)
    if not np.isfinite(f).all():
        bad = float(points[~np.isfinite(f)][0])
        reach = SPAN * scale
        raise CustomActivationError(
            f"{target.label} is not finite at x = {bad:g}; a correlation map needs f "
            f"finite on [-{reach:g}, {reach:g}]"
        )
    return np.asarray(f).reshape(xs.shape)


def _forward(target: Spec, points: np.ndarray) -> np.ndarray:
    """A registered activation's f alone (eval mode, float64, one thread). evaluate's
    f′ (a backward) and its padding (a copy of every point, which keeps them out of
    the kernels' scalar tail: a last-bit matter here) made :func:`cross_moments` four
    times slower (measured: 26 → 7 ms for 4 correlations at q = 2.5, tanh)."""
    import torch

    from actviz.environment import one_thread

    module = target.activation.build(target.params).to(torch.float64)
    with one_thread(), torch.no_grad():
        found: np.ndarray = module(torch.from_numpy(points)).numpy()
    return found


def cross_moments(target: Spec, cs: Sequence[float], *, q: float = 1.0) -> np.ndarray:
    """E[f(u)·f(v)] for (u, v) bivariate normal of variance ``q`` and correlation c,
    each c in ``cs``.

    The same rule for every q: it integrates g(x) = f(√q·x) against standard normal
    variables, g's kinks at k/√q. Above q = 1, g also turns on the scale 1/√q where
    f does on the scale 1 (softplus's and gelu's bend at 0, smooth but, at q = 10⁴,
    a hundredth wide): there the rule is split at 0 (inner: where v = 0) and graded
    towards it from an eighth of that width, which keeps float64 accuracy (softplus
    at q = 10⁴ read 5e-6 too low without, tanh at q = 9 1e-10)."""
    import numpy as np

    if not (math.isfinite(q) and q > 0):
        raise InvalidParameterError(f"q must be a positive number (got {q!r})")
    scale = math.sqrt(q)
    kinks = [
        float(k) / scale
        for k in target.activation.kinks(target.params)
        if abs(float(k) / scale) < SPAN
    ]
    # a piecewise-linear f has nothing between its kinks for the scale to sharpen
    soft = 1 / scale if scale > 1 and not target.activation.piecewise_linear else None
    found = np.empty(len(cs))
    for begin in range(0, len(cs), CHUNK):
        jobs: list[tuple[str, float, Any, Any]] = []
        points = []
        for c in cs[begin : begin + CHUNK]:
            c = float(c)
            if abs(c) >= 1:  # v = ±u: a one-dimensional integral
                graded = [] if soft is None else _grading(soft / 8)
                edges = np.concatenate([_base_edges(), kinks, [0.0], graded])
                x, w = _panels(np.unique(np.clip(edges, -SPAN, SPAN)))
                jobs.append(("line", c, x, w))
                points += [x, math.copysign(1.0, c) * x]
                continue
            s = math.sqrt((1 - c) * (1 + c))
            x, w = _panels(_outer_edges(kinks, c, s, soft))
            inner = np.broadcast_to(_base_edges(), (len(x), len(_base_edges())))
            cuts = np.clip([(k - c * x) / s for k in kinks], -SPAN, SPAN).reshape(
                len(kinks), len(x)
            )
            rows = [inner, cuts.T]
            if soft is not None:  # v = 0 at z = −c·x/s, g's width there soft/s
                offsets = np.array([0.0, *_grading(soft / s / 8)])
                rows.append(np.clip((-c * x / s)[:, None] + offsets, -SPAN, SPAN))
            z, wz = _panels(np.sort(np.concatenate(rows, axis=1), axis=1))
            jobs.append(("plane", c, (x, w), (z, wz)))
            points += [x, c * x[:, None] + s * z]
        flat = np.concatenate([p.ravel() for p in points])
        f_all = _values(target, flat, scale)
        at = 0
        for i, job in enumerate(jobs):
            kind, c = job[0], job[1]
            if kind == "line":
                x, w = job[2], job[3]
                fu, fv = f_all[at : at + x.size], f_all[at + x.size : at + 2 * x.size]
                at += 2 * x.size
                found[begin + i] = float(np.sum(w * _density(x) * fu * fv))
            else:
                (x, w), (z, wz) = job[2], job[3]
                fu = f_all[at : at + x.size]
                at += x.size
                fv = f_all[at : at + z.size].reshape(z.shape)
                at += z.size
                inner_mean = np.sum(wz * _density(z) * fv, axis=1)
                found[begin + i] = float(np.sum(w * _density(x) * fu * inner_mean))
    return found


def _density(x: np.ndarray) -> np.ndarray:
    import numpy as np

    found: np.ndarray = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
    return found


def jumps(target: Spec, scale: float) -> tuple[bool, bool]:
    """(f jumps, f′ jumps) at one of the activation's kinks, beyond
    :data:`JUMP_TOLERANCE` × ``scale``."""
    import numpy as np

    from actviz.evaluation import evaluate

    kinks = [float(k) for k in target.activation.kinks(target.params)]
    if not kinks:
        return False, False
    h = 1e-9
    xs = np.array([p for k in kinks for p in (k - h * max(abs(k), 1), k + h * max(abs(k), 1))])
    _, f, grad = evaluate(target, xs, dtype="float64")
    f_jump = float(np.max(np.abs(f[1::2] - f[::2])))
    grad_jump = float(np.max(np.abs(grad[1::2] - grad[::2])))
    tolerance = JUMP_TOLERANCE * max(scale, 1e-300)
    # f′ is a rate: a jump of f′ is measured against f's scale per unit x
    return f_jump > tolerance, grad_jump > max(tolerance, 1e-7)


def _curvature_moment(target: Spec, m: Moments) -> float:
    """E[f″(z)²], z ~ N(0, 1), by double backward on the quadrature's nodes."""
    import numpy as np

    from actviz.evaluation import second_at

    used = np.abs(m.x) <= 40
    grad2 = second_at(target, m.x[used], dtype="float64")
    if not np.isfinite(grad2).all():
        raise CustomActivationError(f"{target.label}: f″ is not finite on the real line")
    values = np.zeros_like(m.x)
    values[used] = grad2 * grad2
    return m.expect(values, 1.0)


def correlation_map(target: Spec, *, layers: int = 10) -> CorrelationMap:
    """The correlation map of one activation and of ``layers`` of them composed."""
    import numpy as np

    check_layers(layers)
    try:
        with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
            return _correlation_map(target, layers)
    except (OverflowError, ZeroDivisionError, FloatingPointError) as error:
        raise InvalidParameterError(
            f"{target.label}: its correlation map overflows float64 at these settings "
            f"({error}); use smaller parameter values"
        ) from None


def _correlation_map(target: Spec, layers: int) -> CorrelationMap:
    import numpy as np

    from actviz.depth.gain import moments

    m = moments(target)
    second, mean = m.f2(), m.mean()
    if not second > 0:
        raise InvalidParameterError(
            f"{target.label} is 0 under a standard normal input (E[f(z)²] = 0): "
            "it has no correlation map"
        )
    f_jump, grad_jump = jumps(target, math.sqrt(second))
    slope = math.inf if f_jump else m.grad2() / second
    curvature = math.inf if (f_jump or grad_jump) else _curvature_moment(target, m) / second
    theta = np.linspace(0.0, math.pi, CURVE_POINTS)
    cs = np.cos(theta)
    cs[0], cs[-1] = 1.0, -1.0
    values = cross_moments(target, list(cs)) / second
    values[0] = 1.0  # E[f²]/E[f²], exactly
    network_c0 = 0.0
    for _ in range(layers):  # iterated with the quadrature itself, not the interpolant
        network_c0 = float(cross_moments(target, [network_c0])[0] / second)
    network_slope, network_curvature = 1.0, 0.0
    for _ in range(layers):  # (C∘g)″(1) = C″(1)·g′(1)² + C′(1)·g″(1), as C(1) = 1
        network_curvature = curvature * network_slope**2 + slope * network_curvature
        network_slope *= slope
    if math.isinf(curvature) or math.isinf(slope):  # not inf·0 = nan
        network_curvature = math.inf
    return CorrelationMap(
        spec=target,
        layers=layers,
        mean=mean,
        second_moment=second,
        c0=_resolved(mean * mean / second),
        slope=slope,
        curvature=curvature,
        network_c0=_resolved(network_c0),
        network_slope=network_slope,
        network_curvature=network_curvature,
        theta=theta,
        values=values,
    )


def _resolved(value: float) -> float:
    return 0.0 if abs(value) < RESOLUTION else value


def cmap(
    activations: str | Spec | Sequence[str | Spec] | None = None, *, layers: int = 10
) -> list[CorrelationMap]:
    """The correlation maps of ``activations`` (default: every registered one).

    Names, aliases, ``module:callable`` paths or :class:`~actviz.registry.Spec`::

        import actviz.depth.cmap
        [m.c0 for m in actviz.depth.cmap.cmap(["relu", "tanh"])]  # [0.3183…, 0.0]
    """
    from actviz.registry import names, specs_of

    check_layers(layers)
    specs = specs_of(list(names()) if activations is None else activations)
    return [correlation_map(s, layers=layers) for s in specs]
