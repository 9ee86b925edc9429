"""Independent closed forms of f, f′ and f″ for every registered activation.

Written with numpy and ``math`` only, derived by hand, so that a mistake in
the registry (which uses torch) cannot hide itself. Numerically stable forms
(``logaddexp``, ``erfc``) are used where the naive ones lose digits.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

Array = np.ndarray
Form = Callable[[Array, Mapping[str, Any]], Array]

_erfc = np.vectorize(math.erfc)
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def sig(x: Array) -> Array:
    return np.exp(-np.logaddexp(0.0, -x))


def phi(x: Array) -> Array:
    """Standard normal density."""
    return np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


def cdf(x: Array) -> Array:
    """Standard normal CDF without cancellation for negative x."""
    return 0.5 * _erfc(-x / math.sqrt(2.0))


def zero(x: Array, p: Mapping[str, Any]) -> Array:
    return np.zeros_like(x)


def _leaky(slope: Callable[[Mapping[str, Any]], float]) -> tuple[Form, Form, Form]:
    return (
        lambda x, p: np.where(x > 0, x, slope(p) * x),
        lambda x, p: np.where(x > 0, 1.0, slope(p)),
        zero,
    )


def _gelu_tanh(x: Array) -> tuple[Array, Array, Array]:
    k, c = math.sqrt(2 / math.pi), 0.044715
    u = k * (x + c * x**3)
    du, ddu = k * (1 + 3 * c * x * x), 6 * k * c * x
    t = np.tanh(u)
    s = 1 - t * t
    f = 0.5 * x * (1 + t)
    f1 = 0.5 * (1 + t) + 0.5 * x * s * du
    f2 = s * du + 0.5 * x * s * (ddu - 2 * t * du * du)
    return f, f1, f2


def _gelu(x: Array, p: Mapping[str, Any], order: int) -> Array:
    if p["approximate"] == "tanh":
        return _gelu_tanh(x)[order]
    return [x * cdf(x), cdf(x) + x * phi(x), phi(x) * (2 - x * x)][order]


def _mish(x: Array, order: int) -> Array:
    t, s = np.tanh(np.logaddexp(0.0, x)), sig(x)
    sech2 = 1 - t * t
    return [
        x * t,
        t + x * sech2 * s,
        2 * sech2 * s + x * sech2 * s * ((1 - s) - 2 * t * s),
    ][order]


def _softplus(x: Array, p: Mapping[str, Any], order: int) -> Array:
    beta, threshold = p["beta"], p["threshold"]
    linear = beta * x > threshold
    s = sig(beta * x)
    smooth = [np.logaddexp(0.0, beta * x) / beta, s, beta * s * (1 - s)][order]
    return np.where(linear, [x, np.ones_like(x), np.zeros_like(x)][order], smooth)


def _inside(x: Array, low: float, high: float) -> Array:
    return ((x > low) & (x < high)).astype(float)


CLOSED_FORMS: dict[str, tuple[Form, Form, Form]] = {
    "relu": (lambda x, p: np.maximum(x, 0.0), lambda x, p: (x > 0).astype(float), zero),
    "relu6": (lambda x, p: np.clip(x, 0.0, 6.0), lambda x, p: _inside(x, 0, 6), zero),
    "leaky_relu": _leaky(lambda p: p["negative_slope"]),
    "prelu": _leaky(lambda p: p["init"]),
    "rrelu": _leaky(lambda p: (p["lower"] + p["upper"]) / 2),
    "elu": (
        lambda x, p: np.where(x > 0, x, p["alpha"] * np.expm1(np.minimum(x, 0))),
        lambda x, p: np.where(x > 0, 1.0, p["alpha"] * np.exp(np.minimum(x, 0))),
        lambda x, p: np.where(x > 0, 0.0, p["alpha"] * np.exp(np.minimum(x, 0))),
    ),
    "selu": (
        lambda x, p: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0))),
        lambda x, p: SELU_SCALE * np.where(x > 0, 1.0, SELU_ALPHA * np.exp(np.minimum(x, 0))),
        lambda x, p: SELU_SCALE * np.where(x > 0, 0.0, SELU_ALPHA * np.exp(np.minimum(x, 0))),
    ),
    "celu": (
        lambda x, p: np.where(x > 0, x, p["alpha"] * np.expm1(np.minimum(x, 0) / p["alpha"])),
        lambda x, p: np.where(x > 0, 1.0, np.exp(np.minimum(x, 0) / p["alpha"])),
        lambda x, p: np.where(x > 0, 0.0, np.exp(np.minimum(x, 0) / p["alpha"]) / p["alpha"]),
    ),
    "gelu": (
        lambda x, p: _gelu(x, p, 0),
        lambda x, p: _gelu(x, p, 1),
        lambda x, p: _gelu(x, p, 2),
    ),
    "silu": (
        lambda x, p: x * sig(x),
        lambda x, p: sig(x) * (1 + x * (1 - sig(x))),
        lambda x, p: sig(x) * (1 - sig(x)) * (2 + x * (1 - 2 * sig(x))),
    ),
    "mish": (lambda x, p: _mish(x, 0), lambda x, p: _mish(x, 1), lambda x, p: _mish(x, 2)),
    "hardswish": (
        lambda x, p: x * np.clip(x + 3, 0, 6) / 6,
        lambda x, p: np.where(x < -3, 0.0, np.where(x > 3, 1.0, (2 * x + 3) / 6)),
        lambda x, p: _inside(x, -3, 3) / 3,
    ),
    "hardsigmoid": (
        lambda x, p: np.clip(x + 3, 0, 6) / 6,
        lambda x, p: _inside(x, -3, 3) / 6,
        zero,
    ),
    "hardtanh": (
        lambda x, p: np.clip(x, p["min_val"], p["max_val"]),
        lambda x, p: _inside(x, p["min_val"], p["max_val"]),
        zero,
    ),
    "sigmoid": (
        lambda x, p: sig(x),
        lambda x, p: sig(x) * sig(-x),
        lambda x, p: sig(x) * sig(-x) * (1 - 2 * sig(x)),
    ),
    "tanh": (
        lambda x, p: np.tanh(x),
        lambda x, p: 1 - np.tanh(x) ** 2,
        lambda x, p: -2 * np.tanh(x) * (1 - np.tanh(x) ** 2),
    ),
    "softplus": (
        lambda x, p: _softplus(x, p, 0),
        lambda x, p: _softplus(x, p, 1),
        lambda x, p: _softplus(x, p, 2),
    ),
    "softsign": (
        lambda x, p: x / (1 + np.abs(x)),
        lambda x, p: 1 / (1 + np.abs(x)) ** 2,
        lambda x, p: -2 * np.sign(x) / (1 + np.abs(x)) ** 3,
    ),
    "softshrink": (
        lambda x, p: (
            np.where(x > p["lambd"], x - p["lambd"], 0.0)
            + np.where(x < -p["lambd"], x + p["lambd"], 0.0)
        ),
        lambda x, p: (np.abs(x) > p["lambd"]).astype(float),
        zero,
    ),
    "hardshrink": (
        lambda x, p: np.where(np.abs(x) > p["lambd"], x, 0.0),
        lambda x, p: (np.abs(x) > p["lambd"]).astype(float),
        zero,
    ),
    "tanhshrink": (
        lambda x, p: x - np.tanh(x),
        lambda x, p: np.tanh(x) ** 2,
        lambda x, p: 2 * np.tanh(x) * (1 - np.tanh(x) ** 2),
    ),
    "logsigmoid": (
        lambda x, p: -np.logaddexp(0.0, -x),
        lambda x, p: sig(-x),
        lambda x, p: -sig(x) * sig(-x),
    ),
    "threshold": (
        lambda x, p: np.where(x > p["threshold"], x, p["value"]),
        lambda x, p: (x > p["threshold"]).astype(float),
        zero,
    ),
}

# Non-default parameter sets, tested on top of every activation's defaults.
VARIANTS: list[tuple[str, dict[str, Any]]] = [
    ("leaky_relu", {"negative_slope": 0.2}),
    ("prelu", {"init": 0.1}),
    ("rrelu", {"lower": 0.1, "upper": 0.3}),
    ("elu", {"alpha": 0.5}),
    ("celu", {"alpha": 2.0}),
    ("gelu", {"approximate": "tanh"}),
    ("hardtanh", {"min_val": -2.0, "max_val": 3.0}),
    ("softplus", {"beta": 2.0, "threshold": 10.0}),
    ("softshrink", {"lambd": 1.0}),
    ("hardshrink", {"lambd": 1.0}),
    ("threshold", {"threshold": 1.0, "value": -2.0}),
]
