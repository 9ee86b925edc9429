"""Regimes, summary numbers and precision underflow, against closed forms."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from actviz import registry
from actviz.display import reference_words
from actviz.errors import InvalidParameterError
from actviz.evaluation import evaluate
from actviz.probing import probe
from actviz.saturation import ONSET_EPS, REGIMES, analyze
from actviz.underflow import underflow


def test_relu_dead_left_linear_right_and_torch_gradient_at_zero() -> None:
    p = probe("relu", start=-1, stop=1, points=10)
    s = analyze(p)
    assert 0.0 in p.x  # the kink is a sample
    assert abs(s.fraction("dead") - 0.5) <= 2 / 10  # ± one sample of width 2/9
    assert set(s.regime[p.x > 0]) == {"linear"}
    assert set(s.regime[p.x <= 0]) == {"dead"}
    assert s.grad0 == 0.0 and s.f0 == 0.0  # torch defines relu′(0) = 0
    assert s.monotonic == "increasing"
    assert s.onsets[1e-2] == (0.0, None)


def test_sigmoid_peak_and_onset_against_closed_form() -> None:
    p = probe("sigmoid", start=-8, stop=8, step=0.01, dtype="float64")
    s = analyze(p)
    assert s.peak_grad == pytest.approx(0.25, abs=1e-12)
    assert abs(s.peak_at) < 1e-9
    assert s.f0 == 0.5 and s.grad0 == 0.25
    # σ(1 − σ) = 0.01 · 0.25 where |x| = ln((1 + √(1 − 0.01)) / (1 − √(1 − 0.01))) ≈ 5.983
    r = math.sqrt(1 - 0.01)
    edge = math.log((1 + r) / (1 - r))
    left, right = s.onsets[1e-2]
    assert left is not None and right is not None
    assert abs(right - edge) <= 0.01 and abs(-left - edge) <= 0.01
    assert s.onsets[1e-3] == (None, None)  # 0.001·peak lies beyond ±8


def test_seed_sigmoid_endpoints_are_dead_in_float32() -> None:
    s = analyze(probe("sigmoid", start=-100, stop=100, points=10))
    assert s.regime[0] == "dead" and s.regime[-1] == "dead"
    assert list(s.regime[6:]) == ["dead"] * 4


@pytest.mark.parametrize("eps", ONSET_EPS)
def test_tanh_onset_against_closed_form(eps: float) -> None:
    p = probe("tanh", start=-10, stop=10, step=0.01, dtype="float64")
    s = analyze(p)
    assert s.peak_grad == pytest.approx(1.0) and abs(s.peak_at) < 1e-9
    edge = math.atanh(math.sqrt(1 - eps))  # 1 − tanh² = eps · 1
    left, right = s.onsets[eps]
    assert left is not None and right is not None
    assert abs(right - edge) <= 0.01 and abs(-left - edge) <= 0.01


def _assert_within_one_ulp(measured: float | None, by_hand: float, dtype: np.dtype) -> None:
    assert measured is not None
    assert abs(measured - by_hand) <= float(np.spacing(dtype.type(by_hand)))


def test_sigmoid_underflow_float32_derived_by_hand() -> None:
    u = underflow(registry.spec("sigmoid"), "float32")
    # Right: torch computes 1/(1 + e⁻ˣ); 1 + e⁻ˣ rounds to 1 once e⁻ˣ < 2⁻²⁴
    # (half the float32 spacing above 1), so σ = 1 and σ′ = σ(1 − σ) = 0 beyond 24·ln 2.
    _assert_within_one_ulp(u.grad_right, 24 * math.log(2), np.dtype(np.float32))
    # Left: e⁻ˣ overflows float32 past ln(FLT_MAX) = 88.72, so σ = 1/inf = 0 and σ′ = 0.
    flt_max = float(np.finfo(np.float32).max)
    _assert_within_one_ulp(u.grad_left, math.log(flt_max), np.dtype(np.float32))
    assert u.value_right == u.grad_right and u.value_left == u.grad_left


def test_sigmoid_underflow_float16_derived_by_hand() -> None:
    u = underflow(registry.spec("sigmoid"), "float16")
    # Right: computed in float32, rounded to half: 1 once 1 − σ < 2⁻¹² (half the
    # float16 spacing 2⁻¹¹ just below 1), i.e. beyond 12·ln 2 = 8.318.
    _assert_within_one_ulp(u.grad_right, 12 * math.log(2), np.dtype(np.float16))
    # Left: σ ≈ eˣ rounds to 0 below half the smallest subnormal 2⁻²⁴: beyond 25·ln 2 = 17.33.
    _assert_within_one_ulp(u.grad_left, 25 * math.log(2), np.dtype(np.float16))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
@pytest.mark.parametrize("name", ["sigmoid", "tanh", "gelu", "elu", "softplus"])
def test_underflow_edges_are_exact(name: str, dtype: str) -> None:
    """At the edge f′ is exactly 0 (and beyond), one representable step inside it is not."""
    target = registry.spec(name)
    u = underflow(target, dtype)
    for sign, edge in ((-1.0, u.grad_left), (1.0, u.grad_right)):
        if edge is None or edge == 0:
            continue
        beyond = [edge, edge * 1.5, edge * 4]
        _, _, grad = evaluate(target, [sign * b for b in beyond], dtype=dtype)
        assert (grad == 0).all()
        inside = torch.nextafter(
            torch.tensor(edge, dtype=getattr(torch, dtype)),
            torch.tensor(0.0, dtype=getattr(torch, dtype)),
        ).item()
        _, _, grad = evaluate(target, [sign * inside], dtype=dtype)
        assert grad[0] != 0


def test_underflow_is_absent_where_the_gradient_never_vanishes() -> None:
    u = underflow(registry.spec("leaky_relu"), "float32")
    assert (u.grad_left, u.grad_right) == (None, None)
    assert underflow(registry.spec("relu"), "float32").grad_left == 0.0  # dead, not underflow


def test_monotonic_and_output_range() -> None:
    assert analyze(probe("silu")).monotonic == "no"
    assert analyze(probe("threshold")).monotonic == "no"
    s = analyze(probe("tanh", start=-3, stop=3, points=7, dtype="float64"))
    assert s.y_min == pytest.approx(-math.tanh(3)) and s.y_max == pytest.approx(math.tanh(3))


def test_eps_is_checked() -> None:
    with pytest.raises(InvalidParameterError, match=r"eps must be between 0 and 1 \(got 1.5\)"):
        analyze(probe("relu"), eps=1.5)


@pytest.mark.parametrize("name", registry.names())
@settings(max_examples=12, deadline=None)
@given(
    start=st.floats(-60, 59),
    width=st.floats(0.5, 80),
    points=st.integers(3, 300),
    eps=st.sampled_from([0.1, 0.01, 0.001]),
)
def test_analysis_properties_on_random_ranges(
    name: str, start: float, width: float, points: int, eps: float
) -> None:
    p = probe(name, start=start, stop=start + width, points=points)
    s = analyze(p, eps=eps, dtypes=())
    assert sum(s.fractions.values()) == pytest.approx(1.0)
    assert set(s.regime) <= set(REGIMES)
    assert math.isfinite(s.peak_grad) and not np.isnan(s.peak_at)
    magnitude = np.abs(p.grad)
    assert s.reference_peak >= s.peak_grad  # the activation's own peak bounds the grid's
    for e, (left, right) in s.onsets.items():
        threshold = e * s.reference_peak
        if left is not None:
            assert (magnitude[p.x <= left] < threshold).all()
        if right is not None:
            assert (magnitude[p.x >= right] < threshold).all()
    for value in s.as_dict()["fractions"].values():
        assert 0 <= value <= 1


# --- regimes against the activation's own peak (issue: trust at the edges) ----


def test_sigmoid_far_from_0_is_saturated_whatever_range_is_asked_for() -> None:
    s = analyze(probe("sigmoid", start=8, stop=16, points=5), dtypes=())
    # f′ between 3.4e-4 and 1.2e-7, against σ′(0) = 0.25: saturated, not "active"
    assert list(s.regime) == ["saturated"] * 5
    assert s.reference is not None and s.reference.value == 0.25 and s.reference.at == 0
    assert s.peak_grad == pytest.approx(3.352e-4, rel=1e-3)  # the grid's own peak is kept


@pytest.mark.parametrize("name", registry.names())
def test_a_samples_regime_does_not_depend_on_the_range(name: str) -> None:
    """x = 2.5 (and friends) is dead/saturated/not in a narrow range and a wide one alike."""
    points = [-7.5, -2.5, 2.5, 7.5]
    narrow = [probe(name, start=x - 0.5, stop=x + 0.5, points=3, kinks=False) for x in points]
    wide = probe(name, start=-8, stop=8, points=33, kinks=False)  # has every x above
    for x, p in zip(points, narrow, strict=True):
        here = analyze(p, dtypes=()).regime[1]
        there = analyze(wide, dtypes=()).regime[int(np.flatnonzero(wide.x == x)[0])]
        # "linear" needs a run covering a tenth of the range, so compare the rest
        assert (here in ("dead", "saturated")) == (there in ("dead", "saturated")), (x, here, there)
        assert (here == "dead") == (there == "dead")


def test_the_reference_window_finds_a_peak_between_far_clamps() -> None:
    s = analyze(
        probe("hardtanh", params={"min_val": 50, "max_val": 60}, start=-1, stop=1, points=5)
    )
    assert s.reference is not None and s.reference.value == 1.0
    assert set(s.regime) == {"dead"}


def test_an_unbounded_derivative_falls_back_to_the_grids_peak(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "unbounded_acts.py").write_text(
        "def square(x):\n    return x * x\n\n"
        "def bump(x):\n    return x.sigmoid() + (x - 30).tanh()\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    square = analyze(probe("unbounded_acts:square", start=0, stop=1, points=11), dtypes=())
    assert square.reference is None  # 2x grows without bound: no "own" peak
    assert square.reference_peak == square.peak_grad == 2.0
    assert reference_words(square) == (
        "f′ is unbounded, so saturated is judged against the peak |f′| on this grid"
    )
    # A bump at x = 30, outside the window: the requested range brings it in.
    bump = analyze(probe("unbounded_acts:bump", start=25, stop=35, points=101), dtypes=())
    assert bump.reference is not None and bump.reference.value == pytest.approx(1.0, abs=1e-6)


def test_a_wrong_reference_peak_would_be_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The regime tests above have teeth: judged against the grid's peak (the old
    behaviour), sigmoid on [8, 16] comes out "active" and they fail."""
    import actviz.saturation as saturation

    monkeypatch.setattr(saturation, "reference_peak", lambda target, x, grad: None)
    s = saturation.analyze(probe("sigmoid", start=8, stop=16, points=5), dtypes=())
    assert list(s.regime) != ["saturated"] * 5


# --- zero by definition is not underflow --------------------------------------


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
def test_piecewise_zeros_are_by_definition(dtype: str) -> None:
    for name, left, right in [
        ("hardsigmoid", 3.0, 3.0),
        ("hardtanh", 1.0, 1.0),
        ("relu", 0.0, None),
        ("relu6", 0.0, 6.0),
        ("hardswish", 3.0, None),
        ("threshold", 0.0, None),
    ]:
        u = underflow(registry.spec(name), dtype)
        assert (u.grad_left, u.grad_right) == (left, right), name
        assert u.side("left", "definition") == left and u.side("right", "definition") == right
        assert u.side("left", "underflow") is None and u.side("right", "underflow") is None


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
def test_smooth_tails_underflow(dtype: str) -> None:
    for name in ("sigmoid", "tanh", "gelu", "elu", "silu", "softplus"):
        u = underflow(registry.spec(name), dtype)
        assert u.grad_left_kind == "underflow", name
        assert u.grad_right_kind in ("underflow", None), name


def test_a_wrong_closed_form_would_turn_underflow_into_definition(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The kind check reads the closed form: one that is 0 in the tail (wrong for
    sigmoid) must not pass as underflow unless the zero starts at a kink."""
    import dataclasses

    sigmoid = registry.get("sigmoid")
    wrong = dataclasses.replace(sigmoid, derivative=lambda x, p: x * 0)
    from actviz.underflow import _zero_kind

    assert _zero_kind(registry.Spec(wrong, {}), "float32", 1.0, 16.6) == "underflow"
    flat = dataclasses.replace(sigmoid, derivative=lambda x, p: x * 0, kinks=lambda p: (16.6,))
    assert _zero_kind(registry.Spec(flat, {}), "float32", 1.0, 16.6) == "definition"


# --- the linear rule marks straight stretches only -----------------------------


def test_softsign_has_no_linear_band() -> None:
    s = analyze(probe("softsign", start=-50, stop=50, points=1001), dtypes=())
    assert "linear" not in set(s.regime)


def test_rrelu_train_mode_noise_is_not_linear() -> None:
    p = probe("rrelu", train=True, seed=3)
    s = analyze(p, dtypes=())
    assert "linear" not in set(s.regime[p.x < 0])  # random slopes: not a straight line
    assert set(s.regime[p.x > 0.05]) == {"linear"}  # x itself


@pytest.mark.parametrize(
    ("name", "straight"),
    [("relu", (0.05, 7.9)), ("gelu", (3.5, 7.9)), ("tanhshrink", (4, 7.9)), ("selu", (0.05, 7.9))],
)
def test_straight_tails_are_linear(name: str, straight: tuple[float, float]) -> None:
    p = probe(name)
    s = analyze(p, dtypes=())
    inside = (p.x >= straight[0]) & (p.x <= straight[1])
    assert set(s.regime[inside]) == {"linear"}
    assert "linear" not in set(s.regime[(p.x > -2) & (p.x < 0)])


def test_gelus_dead_tail_is_float32_rounding_not_a_flat_function() -> None:
    """gelu′ is 1.6e-9 at x = −6.5, but oneDNN's float32 kernel returns 0 there (ATen's
    does not): dead by rounding where plain torch on this route says 0."""
    p = probe("gelu", start=-8, stop=-5, points=7)
    s = analyze(p, dtypes=())
    x = torch.tensor(list(p.x) * 10, dtype=torch.float32, requires_grad=True)  # batched
    torch.nn.functional.gelu(x).backward(torch.ones_like(x))  # type: ignore[no-untyped-call]
    assert x.grad is not None
    zero = (x.grad[:7] == 0).tolist()
    assert [r == "dead" for r in s.regime] == zero
    assert s.rounded is not None and list(s.rounded) == zero  # the exact gelu′ is not 0
    assert s.rounded_share == s.fraction("dead")
    # the same on every route: sigmoid beyond −88.72 in float32
    sigmoid = analyze(probe("sigmoid", start=-100, stop=-80, points=21), dtypes=())
    assert sigmoid.rounded is not None and sigmoid.rounded[:11].all()
    assert sigmoid.rounded_share == sigmoid.fraction("dead") > 0
    relu = analyze(probe("relu", start=-1, stop=1, points=5), dtypes=())
    assert relu.fraction("dead") > 0 and relu.rounded_share == 0.0  # relu is flat there


@pytest.mark.parametrize(
    ("eps", "left"),
    # σ′(x) = eps·σ′(0) where σ(1 − σ) = eps/4: |x| = 2·acosh(1/√eps)
    [(0.1, 2 * math.acosh(1 / math.sqrt(0.1))), (0.01, 2 * math.acosh(10.0)),
     (0.001, 2 * math.acosh(1 / math.sqrt(0.001)))],
)  # fmt: skip
def test_survey_onset_is_computed_at_the_requested_eps(eps: float, left: float) -> None:
    from typer.testing import CliRunner

    from actviz.cli import app

    result = CliRunner().invoke(
        app, ["saturation", "sigmoid", "--eps", str(eps), "--range", "-10", "10", "--step", "0.01",
              "--csv"],
    )  # fmt: skip
    row = result.stdout.splitlines()[1].split(",")
    onset_left, onset_right = float(row[5]), float(row[6])
    # the innermost sample with |f′| < eps·peak from there outwards: within one step
    assert abs(-onset_left - left) <= 0.011 and abs(onset_right - left) <= 0.011


@settings(max_examples=12, deadline=None)
@given(exponent=st.floats(min_value=-30, max_value=-3), threshold=st.sampled_from([20.0, 5.0]))
def test_softplus_with_a_tiny_beta_has_its_own_peak_far_out(
    exponent: float, threshold: float
) -> None:
    """softplus(beta) switches to x at x = threshold/beta: for a tiny beta that is far
    beyond the reference window (2e6 for beta = 1e-5), and the window must still hold
    points near 0 to compare growth with (it raised a numpy ValueError, an outsider found)."""
    from actviz.registry import spec

    beta = 10.0**exponent
    target = spec("softplus", {"beta": beta, "threshold": threshold})
    p = probe(target, start=-8, stop=8, points=9)
    found = analyze(p)
    assert found.reference is not None
    # plain torch, float64: f′ is σ(βx) up to the switch (σ(threshold) there) and 1
    # beyond it; the window samples the switch (kink ± 1, which a kink of 2e16 absorbs)
    xs = torch.tensor([0.0, threshold / beta, 2 * threshold / beta], dtype=torch.float64)
    xs.requires_grad_(True)
    out: Any = torch.nn.functional.softplus(xs, beta=beta, threshold=threshold)
    out.sum().backward()
    assert xs.grad is not None
    # (at the switch itself torch gives σ(threshold) or 1, as β·(threshold/β) rounds and
    # as the kernel route compares: ATen's default capability differs from AVX-512)
    beyond = xs.grad[2].item()
    assert beyond == 1.0
    assert 1 / (1 + math.exp(-threshold)) - 1e-9 <= found.reference.value <= beyond
    assert found.reference.at >= threshold / beta  # out where torch switches to x


# --- tiny and huge ranges: no numpy warnings where inputs are fine (issue 9) ------


@pytest.mark.parametrize(
    "options",
    [
        {"start": 0.0, "stop": 1e-150, "points": 10, "dtype": "float64"},
        {"start": 1e-152, "stop": 3e-152, "points": 7, "dtype": "float64"},
        {"start": -60000.0, "stop": 60000.0, "points": 50, "dtype": "float32"},
        {"start": 0.0, "stop": 1e-30, "points": 9},
    ],
)
@pytest.mark.parametrize("name", ["tanh", "relu", "sigmoid", "softplus"])
def test_tiny_and_huge_ranges_analyse_without_runtime_warnings(
    name: str, options: dict[str, Any]
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = probe(name, **options)
        s = analyze(p)
    assert np.isfinite(p.grad).all() and np.isfinite(s.peak_grad)


def test_far_tails_are_dead_by_rounding_and_kink_samples_are_not() -> None:
    # float64's own closed form underflows beyond |x| ≈ 700: asked at 30, σ′ is not 0
    s = analyze(probe("sigmoid", start=-1000, stop=1000, points=5, dtype="float64"), dtypes=())
    assert s.rounded is not None and list(s.rounded) == [True, False, False, True, True]
    # threshold's f′(0.1) = 0 is torch's value at its kink, not rounding
    t = analyze(probe("threshold", start=-1, stop=1, points=5), dtypes=())
    assert t.rounded is not None and not t.rounded.any()
