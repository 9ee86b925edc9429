"""50-digit references for every registered activation, independent of torch.

Each entry gives f, f′, f″ and f‴ at one point with mpmath at :data:`DPS`
significant digits, written out from the mathematical definitions in the
PyTorch docs (σ, Φ, tanh, softplus; never torch's own kernels). f‴ is only
used for the condition number of f″ (how much rounding x alone moves it).

Piecewise functions follow the docs' assignment of a kink to a piece for f
(ELU: ``α(exp(x) − 1) if x ≤ 0``; Threshold: ``x if x > threshold``); what
torch should return for f′ *at* a kink is derived by
:func:`documented_kink_value` from the one-sided limits, by the rule in
PyTorch's autograd notes ("Gradients for non-differentiable functions").

``Reference.cancellations`` records, for the few places where torch's own
formula sums terms much larger than the result (1 − tanh², 0.5·(1 + erf)),
the magnitude of those terms: torch's formula with every difference replaced by the sum of
the magnitudes (the running error bound of rounding-error analysis). The
check uses it to tell "torch's formula loses the digits here" from a
genuine error. Each is written after the formula in torch's
``derivatives.yaml`` / CPU kernels that it describes.

Importing this module does not import torch (mpmath only, on first use).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from actviz.registry import SELU_ALPHA, SELU_SCALE

if TYPE_CHECKING:
    from actviz.registry import Params

DPS = 50

Mpf = Any  # mpmath.mpf: mpmath ships no type information
Four = tuple[Mpf, Mpf, Mpf, Mpf]
Exact = Callable[[Mpf, "Params"], Four]
Terms = Callable[[Mpf, "Params"], Mpf]


@dataclass(frozen=True)
class Cancellation:
    """Where torch's formula for one derivative order sums large terms."""

    formula: str  # torch's formula, as its source states it
    magnitude: Terms  # that formula with |·| on every term: the scale of its rounding
    # the formula for gelu's approximate="tanh", where it differs
    tanh_formula: str = ""

    def describe(self, params: Params) -> str:
        if self.tanh_formula and params.get("approximate") == "tanh":
            return self.tanh_formula
        return self.formula


@dataclass(frozen=True)
class Reference:
    """The exact f, f′, f″, f‴ of one activation, and torch's cancelling formulas."""

    name: str
    exact: Exact
    # order (0: f, 1: f′, 2: f″) → torch's cancelling formula for it
    cancellations: Mapping[int, Cancellation]


def _mp() -> Any:
    """mpmath, imported on first use; callers set the precision with workdps."""
    import mpmath

    return mpmath


def _p(params: Params, key: str) -> Mpf:
    # The double torch is given, exactly (0.1 is 0.1000000000000000055…).
    return _mp().mpf(float(params[key]))


def _sig(x: Mpf) -> tuple[Mpf, Mpf]:
    """(σ(x), σ(−x)), each without cancellation."""
    mp = _mp()
    if x >= 0:
        e = mp.exp(-x)
        return 1 / (1 + e), e / (1 + e)
    e = mp.exp(x)
    return e / (1 + e), 1 / (1 + e)


def _piecewise_linear(
    pieces: Callable[[Mpf, Params], tuple[Mpf, Mpf]],
) -> Exact:
    """f and f′ from ``pieces``; f″ = f‴ = 0."""

    def exact(x: Mpf, p: Params) -> Four:
        f, d = pieces(x, p)
        zero = _mp().mpf(0)
        return f, d, zero, zero

    return exact


def _leaky(slope: Callable[[Params], Mpf]) -> Exact:
    # LeakyReLU / PReLU / RReLU docs: x if x ≥ 0, slope·x otherwise.
    return _piecewise_linear(lambda x, p: (x, _mp().mpf(1)) if x >= 0 else (slope(p) * x, slope(p)))


def _elu_like(x: Mpf, alpha: Mpf, inner: Mpf, scale: Mpf) -> Four:
    """scale·(x if x > 0 else alpha·(exp(x/inner) − 1)) and its derivatives."""
    mp = _mp()
    if x > 0:
        return scale * x, scale, mp.mpf(0), mp.mpf(0)
    e = mp.exp(x / inner)
    return (
        scale * alpha * mp.expm1(x / inner),
        scale * alpha * e / inner,
        scale * alpha * e / inner**2,
        scale * alpha * e / inner**3,
    )


def _gelu(x: Mpf, p: Params) -> Four:
    mp = _mp()
    if p["approximate"] == "tanh":
        k, c = mp.sqrt(2 / mp.pi), mp.mpf("0.044715")
        u = k * (x + c * x**3)
        u1, u2, u3 = k * (1 + 3 * c * x * x), 6 * k * c * x, 6 * k * c
        g = 2 * _sig(2 * u)[0]  # 1 + tanh(u), without cancellation for u ≪ 0
        t, s = mp.tanh(u), mp.sech(u) ** 2
        g1 = s * u1
        g2 = s * (u2 - 2 * t * u1**2)
        g3 = -2 * t * s * u1 * (u2 - 2 * t * u1**2) + s * (u3 - 2 * s * u1**3 - 4 * t * u1 * u2)
        return x * g / 2, (g + x * g1) / 2, (2 * g1 + x * g2) / 2, (3 * g2 + x * g3) / 2
    cdf = mp.erfc(-x / mp.sqrt(2)) / 2
    pdf = mp.exp(-x * x / 2) / mp.sqrt(2 * mp.pi)
    return x * cdf, cdf + x * pdf, pdf * (2 - x * x), pdf * (x**3 - 4 * x)


def _silu(x: Mpf, _: Params) -> Four:
    s, m = _sig(x)
    q = s * m  # σ′
    return (
        x * s,
        s * (1 + x * m),
        q * (2 + x * (m - s)),
        q * ((m - s) * (3 + x * (m - s)) - 2 * x * q),
    )


def _mish(x: Mpf, _: Params) -> Four:
    mp = _mp()
    s, m = _sig(x)
    q = s * m
    sp = mp.log1p(mp.exp(x))
    t, big_t = mp.tanh(sp), mp.sech(sp) ** 2
    ts1 = big_t * (q - 2 * t * s * s)  # (sech²(sp)·σ)′
    ts2 = -2 * t * big_t * s * (q - 2 * t * s * s) + big_t * (
        q * (m - s) - 2 * big_t * s**3 - 4 * t * s * q
    )
    return x * t, t + x * big_t * s, 2 * big_t * s + x * ts1, 3 * ts1 + x * ts2


def _softplus(x: Mpf, p: Params) -> Four:
    mp = _mp()
    beta, threshold = _p(p, "beta"), _p(p, "threshold")
    if beta * x > threshold:  # the docs: reverts to x when input·beta > threshold
        return x, mp.mpf(1), mp.mpf(0), mp.mpf(0)
    s, m = _sig(beta * x)
    q = s * m
    return mp.log1p(mp.exp(beta * x)) / beta, s, beta * q, beta**2 * q * (m - s)


def _sigmoid(x: Mpf, _: Params) -> Four:
    s, m = _sig(x)
    q = s * m
    return s, q, q * (m - s), q * (1 - 6 * q)


def _tanh(x: Mpf, _: Params) -> Four:
    mp = _mp()
    t, s = mp.tanh(x), mp.sech(x) ** 2
    return t, s, -2 * t * s, s * (4 * t * t - 2 * s)


def _tanhshrink(x: Mpf, _: Params) -> Four:
    mp = _mp()
    t, s = mp.tanh(x), mp.sech(x) ** 2
    return x - t, t * t, 2 * t * s, 2 * s * s - 4 * t * t * s


def _softsign(x: Mpf, _: Params) -> Four:
    d = 1 + abs(x)
    sign = 1 if x > 0 else -1 if x < 0 else 0
    return x / d, 1 / d**2, -2 * sign / d**3, 6 / d**4


def _logsigmoid(x: Mpf, _: Params) -> Four:
    mp = _mp()
    s, m = _sig(x)
    q = s * m
    # log σ(x) = −log(1 + e^{−x}); for x ≪ 0 that is x − log(1 + eˣ), no overflow.
    f = -mp.log1p(mp.exp(-x)) if x >= 0 else x - mp.log1p(mp.exp(x))
    return f, m, -q, -q * (m - s)


def _hardswish(x: Mpf, _: Params) -> Four:
    mp = _mp()
    zero = mp.mpf(0)
    if x <= -3:  # the docs: 0 if x ≤ −3, x if x ≥ 3, x·(x + 3)/6 otherwise
        return zero, zero, zero, zero
    if x >= 3:
        return x, mp.mpf(1), zero, zero
    return x * (x + 3) / 6, (2 * x + 3) / 6, mp.mpf(1) / 3, zero


def _pieces(fn: Callable[[Mpf, Params], tuple[Mpf, Mpf]]) -> Exact:
    return _piecewise_linear(fn)


def _one(value: float | int = 1) -> Mpf:
    return _mp().mpf(value)


def _hardtanh(x: Mpf, p: Params) -> tuple[Mpf, Mpf]:
    low, high = _p(p, "min_val"), _p(p, "max_val")
    if x > high:
        return high, _one(0)
    if x < low:
        return low, _one(0)
    return x, _one()


def _softshrink(x: Mpf, p: Params) -> tuple[Mpf, Mpf]:
    lambd = _p(p, "lambd")
    if x > lambd:
        return x - lambd, _one()
    if x < -lambd:
        return x + lambd, _one()
    return _one(0), _one(0)


def _hardshrink(x: Mpf, p: Params) -> tuple[Mpf, Mpf]:
    return (x, _one()) if abs(x) > _p(p, "lambd") else (_one(0), _one(0))


def _threshold(x: Mpf, p: Params) -> tuple[Mpf, Mpf]:
    return (x, _one()) if x > _p(p, "threshold") else (_p(p, "value"), _one(0))


def _hardsigmoid(x: Mpf, _: Params) -> tuple[Mpf, Mpf]:
    if x <= -3:
        return _one(0), _one(0)
    if x >= 3:
        return _one(), _one(0)
    return x / 6 + _one(1) / 2, _one(1) / 6


def _relu6(x: Mpf, _: Params) -> tuple[Mpf, Mpf]:
    if x <= 0:
        return _one(0), _one(0)
    return (x, _one()) if x < 6 else (_one(6), _one(0))


# --- torch's cancelling formulas ---------------------------------------------------


def _tanh_terms(x: Mpf, _: Params) -> Mpf:
    return 1 + _mp().tanh(x) ** 2


def _tanh2_terms(x: Mpf, _: Params) -> Mpf:
    t = abs(_mp().tanh(x))
    return 2 * t * (1 + t * t)


def _sigmoid_terms(x: Mpf, _: Params) -> Mpf:
    s = _sig(x)[0]
    return s * (1 + s)


def _sigmoid2_terms(x: Mpf, _: Params) -> Mpf:
    s = _sig(x)[0]
    return s * (1 + s) * (1 + 2 * s)


def _gelu_cdf_terms(x: Mpf, p: Params) -> Mpf:
    mp = _mp()
    if p["approximate"] == "tanh":  # 0.5·x·(1 + tanh(u))
        return abs(x)
    return abs(x) * (1 + abs(mp.erf(x / mp.sqrt(2)))) / 2


def _gelu1_terms(x: Mpf, p: Params) -> Mpf:
    mp = _mp()
    if p["approximate"] == "tanh":
        k, c = mp.sqrt(2 / mp.pi), mp.mpf("0.044715")
        t = abs(mp.tanh(k * (x + c * x**3)))
        return (1 + t) / 2 + abs(x) * (1 + t * t) * k * (1 + 3 * c * x * x) / 2
    pdf = mp.exp(-x * x / 2) / mp.sqrt(2 * mp.pi)
    return (1 + abs(mp.erf(x / mp.sqrt(2)))) / 2 + abs(x) * pdf


def _gelu2_terms(x: Mpf, p: Params) -> Mpf:
    mp = _mp()
    if p["approximate"] != "tanh":
        pdf = mp.exp(-x * x / 2) / mp.sqrt(2 * mp.pi)
        return abs(pdf * (2 - x * x))  # no cancellation: the value itself
    k, c = mp.sqrt(2 / mp.pi), mp.mpf("0.044715")
    t = abs(mp.tanh(k * (x + c * x**3)))
    u1, u2 = k * (1 + 3 * c * x * x), 6 * k * c * abs(x)
    big = 1 + t * t  # 1 − tanh²(u), as torch forms it
    return (2 * big * u1 + abs(x) * big * (u2 + 2 * t * u1 * u1)) / 2


def _mish1_terms(x: Mpf, _: Params) -> Mpf:
    mp = _mp()
    t = abs(mp.tanh(mp.log1p(mp.exp(x))))
    return t + abs(x) * _sig(x)[0] * (1 + t * t)


def _mish2_terms(x: Mpf, _: Params) -> Mpf:
    mp = _mp()
    s = _sig(x)[0]
    t = abs(mp.tanh(mp.log1p(mp.exp(x))))
    big = 1 + t * t  # 1 − tanh²(sp), as torch forms it
    return 2 * big * s + abs(x) * big * s * ((1 + s) + 2 * t * s)


def _silu1_terms(x: Mpf, _: Params) -> Mpf:
    s = _sig(x)[0]
    return s * (1 + abs(x) * (1 + s))


def _silu2_terms(x: Mpf, _: Params) -> Mpf:
    s = _sig(x)[0]
    return s * (1 + s) * (2 + 2 * abs(x) * (1 + s))


def _softsign1_terms(x: Mpf, _: Params) -> Mpf:
    d = 1 + abs(x)
    return 1 / d + abs(x) / d**2


def _softsign2_terms(x: Mpf, _: Params) -> Mpf:
    d = 1 + abs(x)
    return 2 / d**2 + 2 * abs(x) / d**3


def _tanhshrink_terms(x: Mpf, _: Params) -> Mpf:
    return abs(x) + abs(_mp().tanh(x))


def _tanhshrink1_terms(x: Mpf, _: Params) -> Mpf:
    return 2 + _mp().tanh(x) ** 2


def _softplus2_terms(x: Mpf, p: Params) -> Mpf:
    beta = _p(p, "beta")
    s = _sig(beta * x)[0]
    return beta * s * (1 + s)


def _logsigmoid2_terms(x: Mpf, _: Params) -> Mpf:
    s = _sig(x)[0]
    return s * (1 + s)


_TANH = Cancellation("1 − tanh²(x)", _tanh_terms)
_TANH2 = Cancellation("−2·tanh(x)·(1 − tanh²(x))", _tanh2_terms)
_GELU = {
    0: Cancellation("0.5·x·(1 + erf(x/√2))", _gelu_cdf_terms, "0.5·x·(1 + tanh(u))"),
    1: Cancellation(
        "0.5·(1 + erf(x/√2)) + x·φ(x)",
        _gelu1_terms,
        "0.5·(1 + tanh(u)) + 0.5·x·(1 − tanh²(u))·u′",
    ),
    # The exact form's f″, φ(x)·(2 − x²), has no cancelling terms.
    2: Cancellation("φ(x)·(2 − x²)", _gelu2_terms, "derivative of 0.5·x·(1 − tanh²(u))·u′ + …"),
}

REFERENCES: dict[str, Reference] = {
    r.name: r
    for r in (
        Reference("relu", _pieces(lambda x, p: (x, _one()) if x > 0 else (_one(0), _one(0))), {}),
        Reference("relu6", _pieces(_relu6), {}),
        Reference("leaky_relu", _leaky(lambda p: _p(p, "negative_slope")), {}),
        # PReLU's a is a learnable float32 Parameter that starts at init: a = init in float32.
        Reference(
            "prelu",
            _leaky(lambda p: _one(struct.unpack("f", struct.pack("f", float(p["init"])))[0])),
            {},
        ),
        Reference("rrelu", _leaky(lambda p: (_p(p, "lower") + _p(p, "upper")) / 2), {}),
        Reference("elu", lambda x, p: _elu_like(x, _p(p, "alpha"), _one(), _one()), {}),
        Reference(
            "selu",
            lambda x, p: _elu_like(x, _mp().mpf(SELU_ALPHA), _one(), _mp().mpf(SELU_SCALE)),
            {},
        ),
        Reference("celu", lambda x, p: _elu_like(x, _p(p, "alpha"), _p(p, "alpha"), _one()), {}),
        Reference("gelu", _gelu, _GELU),
        Reference(
            "silu",
            _silu,
            {
                1: Cancellation("σ(x)·(1 + x·(1 − σ(x)))", _silu1_terms),
                2: Cancellation("autograd of σ(x)·(1 + x·(1 − σ(x)))", _silu2_terms),
            },
        ),
        Reference(
            "mish",
            _mish,
            {
                1: Cancellation("tanh(sp) + x·σ(x)·(1 − tanh²(sp))", _mish1_terms),
                2: Cancellation("autograd of tanh(sp) + x·σ(x)·(1 − tanh²(sp))", _mish2_terms),
            },
        ),
        Reference("hardswish", _hardswish, {}),
        Reference("hardsigmoid", _pieces(_hardsigmoid), {}),
        Reference("hardtanh", _pieces(_hardtanh), {}),
        Reference(
            "sigmoid",
            _sigmoid,
            {
                1: Cancellation("σ(x)·(1 − σ(x))", _sigmoid_terms),
                2: Cancellation("σ(x)·(1 − σ(x))·(1 − 2σ(x))", _sigmoid2_terms),
            },
        ),
        Reference("tanh", _tanh, {1: _TANH, 2: _TANH2}),
        Reference(
            "softplus",
            _softplus,
            {2: Cancellation("beta·σ(beta·x)·(1 − σ(beta·x))", _softplus2_terms)},
        ),
        Reference(
            "softsign",
            _softsign,
            {
                1: Cancellation("1/(1 + |x|) − |x|/(1 + |x|)² (autograd)", _softsign1_terms),
                2: Cancellation("autograd of x/(1 + |x|), twice", _softsign2_terms),
            },
        ),
        Reference("softshrink", _pieces(_softshrink), {}),
        Reference("hardshrink", _pieces(_hardshrink), {}),
        Reference(
            "tanhshrink",
            _tanhshrink,
            {
                0: Cancellation("x − tanh(x)", _tanhshrink_terms),
                1: Cancellation("1 − (1 − tanh²(x))", _tanhshrink1_terms),
                2: Cancellation("2·tanh(x)·(1 − tanh²(x))", _tanh2_terms),
            },
        ),
        Reference(
            "logsigmoid",
            _logsigmoid,
            {2: Cancellation("(σ(x) − 1)·σ(x)", _logsigmoid2_terms)},
        ),
        Reference("threshold", _pieces(_threshold), {}),
    )
}


# A formula actviz does not know (your own activation's): where the function is
# ill-conditioned, its loss is taken as rounding in terms of this size.
GENERIC_TERMS = "(your own; its terms taken as max(1, |f|, |x|))"


def generic_terms(f: Mpf, x: Mpf) -> Mpf:
    """The size of the terms an unknown formula for f, f′ or f″ is taken to sum."""
    return max(_mp().mpf(1), abs(f), abs(x))


def reference(name: str) -> Reference | None:
    """The reference of the registered activation ``name``; None for one without
    (an activation imported from ``module:callable``)."""
    return REFERENCES.get(name)


def _key(params: Params) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(params.items()))


@lru_cache(maxsize=200_000)
def _values(name: str, params: tuple[tuple[str, Any], ...], x: float) -> Four:
    mp = _mp()
    with mp.workdps(DPS):
        return REFERENCES[name].exact(mp.mpf(x), dict(params))


@lru_cache(maxsize=200_000)
def _terms(name: str, params: tuple[tuple[str, Any], ...], x: float, order: int) -> Mpf:
    mp = _mp()
    with mp.workdps(DPS):
        return REFERENCES[name].cancellations[order].magnitude(mp.mpf(x), dict(params))


def evaluate(ref: Reference, params: Params, x: float) -> Four:
    """``(f, f′, f″, f‴)`` at the float ``x`` (exactly). Cached: the dtypes share
    points, and so do repeated checks in one process."""
    if REFERENCES.get(ref.name) is not ref:  # a formula of the user's (expression_reference)
        mp = _mp()
        with mp.workdps(DPS):
            return ref.exact(mp.mpf(float(x)), params)
    return _values(ref.name, _key(params), float(x))


def terms(ref: Reference, params: Params, x: float, order: int) -> Mpf:
    """The magnitude of the terms torch's formula for ``order`` sums at ``x`` (an
    order in ``ref.cancellations``). Cached; asked only where torch is off."""
    if REFERENCES.get(ref.name) is not ref:  # a formula of the user's (expression_reference)
        mp = _mp()
        with mp.workdps(DPS):
            return ref.cancellations[order].magnitude(mp.mpf(float(x)), params)
    return _terms(ref.name, _key(params), float(x), order)


def one_sided(ref: Reference, params: Params, kink: float) -> tuple[Mpf, Mpf, Mpf, Mpf, Mpf]:
    """``(f(k⁻), f(k), f(k⁺), f′(k⁻), f′(k⁺))`` at the kink ``k``: limits taken
    at k ∓ 10⁻⁴⁰, well inside the 50 digits."""
    mp = _mp()
    with mp.workdps(DPS):
        k = mp.mpf(kink)
        h = mp.mpf(10) ** -40 * max(1, abs(k))
        left, right = ref.exact(k - h, params), ref.exact(k + h, params)
        return left[0], ref.exact(k, params)[0], right[0], left[1], right[1]


def documented_kink_value(left_f: Mpf, at_f: Mpf, right_f: Mpf, left: Mpf, right: Mpf) -> Mpf:
    """f′ at a kink by PyTorch's rule for non-differentiable points (autograd notes):
    the derivative where it exists; the sub-gradient of minimum norm where f is
    locally convex (left ≤ right), the super-gradient of minimum norm where it is
    concave; where f jumps, the derivative of the side that f(k) continues."""
    mp = _mp()
    tiny = mp.mpf(10) ** -30
    if abs(left - right) <= tiny * max(1, abs(left)):
        return left
    if abs(left_f - right_f) > tiny * max(1, abs(at_f)):  # a jump
        return left if abs(at_f - left_f) <= abs(at_f - right_f) else right
    low, high = min(left, right), max(left, right)  # sub- or super-gradients
    if low <= 0 <= high:
        return mp.mpf(0)
    return low if low > 0 else high
