"""The 50-digit references: complete, right, and right at the kinks."""

from __future__ import annotations

import math
from typing import Any

import mpmath
import numpy as np
import pytest

from actviz import registry
from actviz.check import reference
from actviz.check.reference import REFERENCES, documented_kink_value, one_sided
from actviz.registry import SELU_SCALE
from tests.closed_forms import CLOSED_FORMS, VARIANTS

CASES: list[tuple[str, dict[str, Any]]] = [(n, {}) for n in registry.names()] + VARIANTS
SMOOTH = ["elu", "selu", "celu", "gelu", "silu", "mish", "sigmoid", "tanh", "softplus",
          "softsign", "tanhshrink", "logsigmoid", "hardswish"]  # fmt: skip


def test_every_registered_activation_has_a_reference() -> None:
    assert set(REFERENCES) == set(registry.names())
    assert reference.reference("glu") is None  # two inputs: check refuses it before
    assert reference.reference("mypkg.acts:fn") is None


@pytest.mark.parametrize(("name", "given"), CASES, ids=lambda v: str(v))
def test_values_agree_with_the_independent_closed_forms(name: str, given: dict[str, Any]) -> None:
    target = registry.spec(name, given)
    kinks = target.activation.kinks(target.params)
    x = np.array([v for v in np.linspace(-6, 6, 41) + 0.0371
                  if all(abs(v - k) > 1e-6 for k in kinks)])  # fmt: skip
    ref = REFERENCES[name]
    exact = np.array([[float(v) for v in reference.evaluate(ref, target.params, float(v))]
                      for v in x])  # fmt: skip
    params = dict(target.params)
    if name == "prelu":  # torch's a is a float32 Parameter: the reference takes init in float32
        params["init"] = float(np.float32(params["init"]))
    for order, form in enumerate(CLOSED_FORMS[name]):
        # numpy's forms cancel in the tails (1 − tanh²): these tolerances are theirs
        np.testing.assert_allclose(exact[:, order], form(x, params),
                                   rtol=1e-8, atol=1e-13, err_msg=f"order {order}")  # fmt: skip


@pytest.mark.parametrize(
    ("name", "given"), [(n, {}) for n in SMOOTH] + [("gelu", {"approximate": "tanh"})], ids=str
)
def test_the_third_derivative_is_the_derivative_of_the_second(
    name: str, given: dict[str, Any]
) -> None:
    target = registry.spec(name, given)
    ref = REFERENCES[name]
    for x in (-7.3, -1.1, -0.4, 0.6, 2.9, 11.5):
        third = reference.evaluate(ref, target.params, x)[3]
        with mpmath.workdps(reference.DPS):
            numeric = mpmath.diff(lambda v: ref.exact(v, target.params)[2], mpmath.mpf(x))
        assert abs(third - numeric) <= mpmath.mpf(10) ** -25 * max(1, abs(numeric)), (x, third)


def test_the_tails_keep_their_digits() -> None:
    """Where torch's formula cancels, the reference does not (the whole point)."""
    tanh = reference.evaluate(REFERENCES["tanh"], {}, 40.0)
    assert float(tanh[1]) == pytest.approx(4 * math.exp(-80), rel=1e-15)  # sech² 40
    params = registry.spec("gelu").params
    gelu = reference.evaluate(REFERENCES["gelu"], params, -30.0)
    # Φ(−30) + (−30)·φ(30): Φ(x) ≈ φ(x)/|x|·(1 − 1/x²) for x ≪ 0
    phi = math.exp(-450) / math.sqrt(2 * math.pi)
    assert float(gelu[1]) == pytest.approx(phi / 30 * (1 - 1 / 900 + 3 / 900**2) - 30 * phi,
                                           rel=1e-9)  # fmt: skip


def kink_value(name: str, at: float, given: dict[str, Any] | None = None) -> float:
    target = registry.spec(name, given)
    return float(documented_kink_value(*one_sided(REFERENCES[name], target.params, at)))


@pytest.mark.parametrize(
    ("name", "given", "at", "expected"),
    [
        ("relu", {}, 0.0, 0.0),  # convex: the sub-gradient of least norm in [0, 1]
        ("leaky_relu", {}, 0.0, 0.01),  # [0.01, 1]
        ("leaky_relu", {"negative_slope": -0.5}, 0.0, 0.0),  # [−0.5, 1] holds 0
        ("elu", {"alpha": 2.0}, 0.0, 1.0),  # concave: super-gradients [1, 2]
        ("selu", {}, 0.0, float(SELU_SCALE)),  # concave: [scale, scale·alpha]
        ("celu", {}, 0.0, 1.0),  # differentiable
        ("hardswish", {}, -3.0, 0.0),
        ("hardswish", {}, 3.0, 1.0),
        ("hardsigmoid", {}, 3.0, 0.0),
        ("hardtanh", {}, 1.0, 0.0),
        ("softplus", {}, 20.0, 1 / (1 + math.exp(-20))),  # f jumps: the side f(20) is on
        ("threshold", {}, 0.1, 0.0),  # f(0.1) = value: the left side
        ("hardshrink", {}, 0.5, 0.0),
        ("softsign", {}, 0.0, 1.0),
    ],
)
def test_documented_kink_values(
    name: str, given: dict[str, Any], at: float, expected: float
) -> None:
    assert kink_value(name, at, given) == pytest.approx(expected, rel=1e-15, abs=1e-300)
