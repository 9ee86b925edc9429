"""The probe's numbers against closed forms and against the seed notebooks."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from actviz import registry
from actviz.errors import (
    DeviceUnavailableError,
    InvalidGridError,
    UnknownFormatError,
    UsageError,
)
from actviz.probing import MAX_POINTS, Grid, probe
from tests.closed_forms import CLOSED_FORMS, VARIANTS

CASES: list[tuple[str, dict[str, Any]]] = [(name, {}) for name in registry.names()] + VARIANTS
RTOL, ATOL = 1e-6, 1e-9


def test_every_registered_activation_has_an_independent_closed_form() -> None:
    assert sorted(CLOSED_FORMS) == sorted(registry.names())


def _away_from_kinks(x: np.ndarray, kinks: tuple[float, ...], margin: float = 1e-3) -> np.ndarray:
    keep = np.ones_like(x, dtype=bool)
    for kink in kinks:
        keep &= np.abs(x - kink) > margin
    return keep


@pytest.mark.parametrize(("name", "params"), CASES, ids=[f"{n}{p or ''}" for n, p in CASES])
def test_value_and_derivatives_match_closed_form_in_float64(
    name: str, params: dict[str, Any]
) -> None:
    # Large |x| included: that is where saturation and overflow mistakes show.
    p = probe(name, start=-60, stop=60, points=4801, params=params, dtype="float64", second=True)
    resolved = p.params
    keep = _away_from_kinks(p.x, p.spec.activation.kinks(resolved))
    x = p.x[keep]
    f, f1, f2 = CLOSED_FORMS[name]
    np.testing.assert_allclose(p.y[keep], f(x, resolved), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(p.grad[keep], f1(x, resolved), rtol=RTOL, atol=ATOL)
    assert p.grad2 is not None
    np.testing.assert_allclose(p.grad2[keep], f2(x, resolved), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize(("name", "params"), CASES, ids=[f"{n}{p or ''}" for n, p in CASES])
def test_registry_derivative_equals_autograd(name: str, params: dict[str, Any]) -> None:
    p = probe(name, start=-30, stop=30, points=1201, params=params, dtype="float64")
    x = torch.tensor(p.x, dtype=torch.float64)
    derivative = p.spec.activation.derivative
    assert derivative is not None  # every registered activation has a closed form
    closed = derivative(x, p.params).numpy()
    keep = _away_from_kinks(p.x, p.spec.activation.kinks(p.params))
    np.testing.assert_allclose(p.grad[keep], closed[keep], rtol=RTOL, atol=ATOL)


def test_first_derivative_via_backward_equals_create_graph_path() -> None:
    plain = probe("mish", start=-5, stop=5, points=101, dtype="float64")
    both = probe("mish", start=-5, stop=5, points=101, dtype="float64", second=True)
    # create_graph makes torch use a differentiable formula: equal to rounding.
    np.testing.assert_allclose(plain.grad, both.grad, rtol=1e-12, atol=1e-15)


# --- the seed notebooks' numbers -------------------------------------------


def test_seed_sigmoid_saturates_to_exact_zero_and_one_at_plus_minus_100() -> None:
    p = probe("sigmoid", start=-100, stop=100, points=10)
    assert p.y[0] == 0.0 and p.grad[0] == 0.0
    assert (p.y[6:] == 1.0).all() and (p.grad[6:] == 0.0).all()
    # tensor([0.0000e+00, 1.6655e-34, 7.4564e-25, 3.3382e-15, 1.4945e-05, 9.9999e-01, ...])
    np.testing.assert_allclose(
        p.y[1:6], [1.6655e-34, 7.4564e-25, 3.3382e-15, 1.4945e-05, 0.99999], rtol=1e-4
    )


def test_seed_tanh_and_relu_on_linspace_minus1_1_10() -> None:
    tanh = probe("tanh", start=-1, stop=1, points=10)
    expected = [-0.7616, -0.6514, -0.5047, -0.3215, -0.1107, 0.1107, 0.3215, 0.5047, 0.6514, 0.7616]
    np.testing.assert_allclose(tanh.y, expected, atol=5e-5)
    relu = probe("relu", start=-1, stop=1, points=10, kinks=False)  # exactly the seed's rows
    expected = [0, 0, 0, 0, 0, 0.1111, 0.3333, 0.5556, 0.7778, 1.0]
    np.testing.assert_allclose(relu.y, expected, atol=5e-5)


def test_seed_sigmoid_derivative_at_1_2_3() -> None:
    p = probe("sigmoid", start=1, stop=3, points=3)
    np.testing.assert_allclose(p.grad, [0.1966, 0.1050, 0.0452], atol=5e-5)
    assert round(float(p.grad[0]), 4) == 0.1966


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh"])
def test_seed_d2l_gradients_on_arange_minus8_8(name: str) -> None:
    # What the d2l notebook does by hand, cell for cell, on the grid written out in
    # Python floats: torch.arange's own values depend on the CPU (a fused multiply-add
    # makes x[80] 4.4e-16 on AVX2, 0 without), actviz's grid does not.
    p = probe(name, kinks=False)  # the defaults are d2l's grid; relu's kink 0 left out
    written_out = np.array([-8.0 + i * 0.1 for i in range(160)], dtype=np.float32)
    assert len(p.x) == 160 and p.x[80] == 0.0
    np.testing.assert_array_equal(p.x, written_out.astype(np.float64))
    arange = torch.arange(-8.0, 8.0, 0.1).double().numpy()  # this CPU's: within one step
    assert np.abs(p.x - arange).max() <= 2 * 8 * np.finfo(np.float32).eps
    x = torch.tensor(written_out, requires_grad=True)
    y = getattr(torch, name)(x)
    y.backward(torch.ones_like(x), retain_graph=True)
    assert x.grad is not None
    np.testing.assert_array_equal(p.grad, x.grad.double().numpy())


def test_dtypes_are_honoured_and_float16_underflows_earlier() -> None:
    for dtype in ("float16", "bfloat16", "float32", "float64"):
        assert probe("sigmoid", dtype=dtype).dtype == dtype
    half = probe("sigmoid", start=-20, stop=-10, points=11, dtype="float16")
    single = probe("sigmoid", start=-20, stop=-10, points=11, dtype="float32")
    assert (half.grad == 0).sum() > (single.grad == 0).sum() == 0


def test_rrelu_is_deterministic_in_eval_and_seeded_in_train() -> None:
    eval_grad = probe("rrelu", start=-2, stop=-1, points=5).grad
    np.testing.assert_allclose(eval_grad, (1 / 8 + 1 / 3) / 2, rtol=1e-6)
    a = probe("rrelu", start=-2, stop=-1, points=50, train=True, seed=1)
    b = probe("rrelu", start=-2, stop=-1, points=50, train=True, seed=1)
    c = probe("rrelu", start=-2, stop=-1, points=50, train=True, seed=2)
    np.testing.assert_array_equal(a.grad, b.grad)
    assert not np.array_equal(a.grad, c.grad)
    assert ((a.grad >= 1 / 8 - 1e-7) & (a.grad <= 1 / 3 + 1e-7)).all()
    assert len(np.unique(a.grad)) > 10
    assert "train mode" in a.title and "eval mode" in probe("rrelu").title


def test_rrelu_train_reads_f0_and_grad0_from_the_x0_sample() -> None:
    """One draw per probe: the summary's f′(0) is the slope drawn for the x = 0 row."""
    for seed in range(5):
        p = probe("rrelu", start=-1, stop=1, points=5, train=True, seed=seed)
        (at,) = np.flatnonzero(p.x == 0)
        assert (p.f0, p.grad0) == (p.y[at], p.grad[at]) == (0.0, p.grad[at])
        assert 1 / 8 <= p.grad0 <= 1 / 3 and p.grad0 != (1 / 8 + 1 / 3) / 2
    # 0 off the grid: the slope drawn for an extra x = 0 element of the same pass
    off = probe("rrelu", start=-1, stop=1, points=4, train=True, seed=0, kinks=False)
    assert len(off.x) == 4 and 0 not in off.x
    assert off.f0 == 0.0 and 1 / 8 <= off.grad0 <= 1 / 3
    assert off.grad0 == probe("rrelu", start=-1, stop=1, points=4, train=True, seed=0).grad0


def test_probe_leaves_the_global_random_state_alone() -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    probe("rrelu", train=True, seed=7)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        ({"start": 1, "stop": -1}, "range start (1) must be less than stop (-1)"),
        ({"start": 1, "stop": 1}, "range start (1) must be less than stop (1)"),
        ({"start": float("nan")}, "range [nan, 8] must be finite numbers"),
        ({"stop": float("inf")}, "range [-8, inf] must be finite numbers"),
        ({"points": 1}, "points (1) gives 1 point(s); at least 2 are needed"),
        ({"step": 0.0}, "step must be a positive number (got 0)"),
        ({"step": -0.5}, "step must be a positive number (got -0.5)"),
        (
            {"step": 20.0},
            "step 20 over [-8, 8] gives 1 point(s); at least 2 are needed; use a "
            "smaller step, or points (linspace)",
        ),
        ({"points": 5, "step": 0.1}, "give either points or step, not both"),
    ],
)
def test_bad_grids_are_refused(grid: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidGridError) as caught:
        Grid(**grid)
    assert str(caught.value) == message


def test_grid_cap() -> None:
    Grid(points=MAX_POINTS)
    with pytest.raises(InvalidGridError, match="above the cap of 1,000,000"):
        Grid(points=MAX_POINTS + 1)
    with pytest.raises(InvalidGridError, match="gives 160,000,000 points"):
        Grid(step=1e-7)


def test_unknown_dtype_and_unavailable_device() -> None:
    with pytest.raises(UnknownFormatError, match="unknown dtype 'float8'"):
        probe("relu", dtype="float8")
    with pytest.raises(UnknownFormatError, match="unknown device 'tpu'"):
        probe("relu", device="tpu")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceUnavailableError, match="sees no CUDA GPU here; use device='cpu'"):
            probe("relu", device="cuda")


def test_kinks_join_the_grid_and_origin_rides_along() -> None:
    p = probe("relu", start=-1, stop=1, points=10)
    assert len(p.x) == 11 and p.x[5] == 0.0 and p.grad[5] == 0.0  # torch: relu′(0) = 0
    assert 0.0 not in probe("relu", start=-1, stop=1, points=10, kinks=False).x
    assert {-0.5, 0.5} <= set(probe("softshrink", start=-1, stop=1, points=4).x)
    assert {-1.0, 1.0} <= set(probe("hardtanh", start=-2, stop=2, points=4).x)
    assert probe("relu6", start=-1, stop=7, points=3).x.tolist() == [-1.0, 0.0, 3.0, 6.0, 7.0]
    assert probe("relu6", start=1, stop=5, points=3).x.tolist() == [1.0, 3.0, 5.0]  # none inside
    t = probe("threshold", start=-1, stop=1, points=3)  # the kink 0.1 as float32 stores it
    assert t.x.tolist() == [-1.0, 0.0, float(np.float32(0.1)), 1.0]
    assert probe("tanh", start=-1, stop=1, points=10).f0 == 0.0
    s = probe("sigmoid", start=2, stop=3, points=2)  # 0 outside the range
    assert s.f0 == 0.5 and s.grad0 == 0.25 and len(s.x) == 2


def test_probe_as_dict_is_json_ready() -> None:
    data = probe("relu", start=-1, stop=1, points=3).as_dict()
    assert data["x"] == [-1.0, 0.0, 1.0] and data["grad"] == [0.0, 0.0, 1.0]
    assert data["activation"] == "relu" and data["params"] == {}


def test_a_probes_numbers_are_read_only() -> None:
    p = probe("relu", start=-1, stop=1, points=3, second=True)
    for values in (p.x, p.y, p.grad, p.grad2):
        assert values is not None
        with pytest.raises(ValueError, match="read-only"):
            values[0] = 7.0


def test_grids_are_refused_before_anything_is_allocated(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_allocation(*args: object, **kwargs: object) -> None:
        raise AssertionError("allocated a grid that should have been refused")

    monkeypatch.setattr(torch, "arange", no_allocation)
    monkeypatch.setattr(torch, "linspace", no_allocation)
    for options in ({"start": 0, "stop": 2e6}, {"points": 10_000_000}, {"step": 1e-320}):
        with pytest.raises(InvalidGridError, match="above the cap of 1,000,000"):
            probe("tanh", **options)
    assert Grid(0, 1, step=0.25).count == 4 and Grid(-8, 8).count == 160


# --- where a probe's curves jump ----------------------------------------------------


@pytest.mark.parametrize(
    ("name", "params", "field", "start", "stop"),
    [
        ("hardshrink", {}, "y", -2.0, 2.0),  # f jumps at ±0.5
        ("threshold", {"threshold": 0.5, "value": -1.0}, "y", -2.0, 2.0),
        ("relu", {}, "grad", -2.0, 2.0),  # f′ jumps at 0
        ("hardswish", {}, "grad", -5.0, 5.0),  # at −3 and 3
        ("relu", {}, "y", -2.0, 2.0),  # f is continuous: no jump
        ("relu", {}, "grad", 1.0, 2.0),  # the kink outside the range
        ("tanh", {}, "grad", -2.0, 2.0),  # no kinks
    ],
)
def test_jumps_are_where_plain_torch_jumps(
    name: str, params: dict[str, Any], field: str, start: float, stop: float
) -> None:
    """Each jump is a kink inside the range, rounded to float32, with the limits plain
    torch gives in float64 just either side of the exact kink; every kink inside
    the range whose two sides differ is one."""
    from tests.test_claims import exact_grad, exact_value

    p = probe(name, start=start, stop=stop, points=201, params=params)
    exact = [k for k in p.spec.activation.kinks(p.spec.params) if start < k < stop]
    side = np.array([[k - 1e-9 * max(1.0, abs(k)), k + 1e-9 * max(1.0, abs(k))] for k in exact])
    expected = []
    for k, pair in zip(exact, side, strict=True):
        limits = exact_value(p.spec, pair) if field == "y" else exact_grad(p.spec, pair)
        if abs(limits[1] - limits[0]) > 1e-3 * np.ptp(getattr(p, field)):
            expected.append((float(np.float32(k)), float(limits[0]), float(limits[1])))
    assert p.jumps(field) == expected
    kinks = p.spec.activation.kinks(p.spec.params)
    assert list(p.sampled_kinks()) == [float(np.float32(k)) for k in kinks]


def test_jumps_are_kept_with_the_probe_and_travel_with_it() -> None:
    """Found once: a second call, and a pickled copy, evaluate nothing again."""
    import pickle
    from unittest import mock

    p = probe("hardshrink", start=-2.0, stop=2.0, points=101)
    found = p.jumps("y")
    copy = pickle.loads(pickle.dumps(p))
    with mock.patch("actviz.probing.evaluate", side_effect=AssertionError("evaluated")):
        assert p.jumps("y") is found
        assert copy.jumps("y") == found and len(found) == 2
        with pytest.raises(AssertionError, match="evaluated"):  # not found yet: evaluated
            copy.jumps("grad")


def test_jumps_name_the_field_they_take() -> None:
    p = probe("relu", start=-1.0, stop=1.0, points=21)
    for wrong in ("x", "foo", "grad2", "name"):
        with pytest.raises(UsageError, match=rf"field must be y or grad \(got '{wrong}'\)"):
            p.jumps(wrong)
