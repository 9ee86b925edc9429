"""actviz check: torch against the 50-digit reference, with teeth."""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from actviz import registry
from actviz.check import verify
from actviz.cli import app
from actviz.registry import SELU_SCALE, Activation, Spec
from tests.cli.helpers import ClickError, check_error
from tests.closed_forms import VARIANTS

runner = CliRunner()


# --- activations with a planted mistake ---------------------------------------------


def planted(name: str, forward: Callable[[torch.Tensor], torch.Tensor],
            slope: Callable[[torch.Tensor], torch.Tensor]) -> Spec:  # fmt: skip
    """``name``'s registry entry (so its reference) with torch's module replaced by
    one whose f is ``forward`` and whose f′ is ``slope``, written with differentiable
    operations so that f″ exists too."""

    class Fn(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
            ctx.save_for_backward(x)
            return forward(x)

        @staticmethod
        def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
            (x,) = ctx.saved_tensors
            return grad * slope(x)

    class Module(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> Any:
            return Fn.apply(x)  # type: ignore[no-untyped-call]

    return Spec(dataclasses.replace(registry.get(name), factory=lambda p: Module()), {})


def tanh_slope(x: torch.Tensor) -> torch.Tensor:
    return 1 - torch.tanh(x) ** 2


def test_an_injected_relative_error_of_1e_6_fails() -> None:
    wrong = planted("tanh", torch.tanh, lambda x: tanh_slope(x) * (1 + 1e-6))
    check = verify.verify(wrong, ["float64"])
    assert not check.passed
    (f, grad, _) = check.dtypes[0].orders
    assert not f.wrong  # f itself is torch's
    # 1e-6 of |f′| is 1e-6·2⁵² to 1e-6·2⁵³ ulps of float64 (|v|/ulp(v) ∈ [2⁵², 2⁵³))
    assert 0.99e-6 * 2**52 <= grad.wrong_ulps <= 1.01e-6 * 2**53
    assert min(map(abs, grad.wrong)) < 0.01  # it fails where f′ is large, not only in tails
    assert "float64 f′" in check.failures()


def test_a_wrong_kink_value_fails() -> None:
    half = planted("relu", torch.relu, lambda x: (x > 0).to(x.dtype) + 0.5 * (x == 0).to(x.dtype))
    check = verify.verify(half, ["float64", "float32"])
    assert not check.passed
    assert [(k.x, k.torch, k.documented, k.verdict) for d in check.dtypes for k in d.kinks] == [
        (0.0, 0.5, 0.0, "wrong"),
        (0.0, 0.5, 0.0, "wrong"),
    ]
    assert not any(o.wrong for d in check.dtypes for o in d.orders)  # only the kink is off
    assert check.failures() == ["kink 0 (float64)", "kink 0 (float32)"]


def test_a_doubled_tail_fails() -> None:
    doubled = planted("tanh", torch.tanh, lambda x: tanh_slope(x) * (1 + (x < -3).to(x.dtype)))
    check = verify.verify(doubled, ["float64"])
    grad = check.dtypes[0].orders[1]
    assert not check.passed
    assert max(grad.wrong) < -3  # every failure is in the doubled tail
    # ... all of it where torch's 1 − tanh² still has digits: down to where f′ itself
    # is below 4 ulps of the terms 1 + tanh² (x ≈ −17.8)
    assert min(grad.wrong) < -17


def test_gradcheck_in_full_mode_catches_one_wrong_point() -> None:
    at = float(verify.gradcheck_points(registry.spec("tanh"))[20])
    bumped = planted("tanh", torch.tanh, lambda x: tanh_slope(x) * (1 + 0.05 * (x == at)))
    check = verify.verify(bumped, ["float64"])
    assert (check.gradcheck, check.passed) == (False, False)
    assert not check.dtypes[0].orders[1].wrong  # the point is not among the samples
    assert check.failures() == ["gradcheck", "gradgradcheck"]


# --- torch itself -------------------------------------------------------------------


def test_tanh_passes_and_names_where_torch_loses_the_digits() -> None:
    check = verify.verify(registry.spec("tanh"))
    assert check.passed and check.gradcheck and check.gradgradcheck
    # well conditioned, |x·q′| ≤ 4·|q|: the budget is 4 ulps + 4 × 4 ulps
    most = verify.ULPS * (1 + verify.WELL_CONDITIONED)
    assert [o.max_ulps <= most for d in check.dtypes for o in d.orders] == [True] * 12
    lost = {(f.order, f.dtype, f.start > 0): f for f in check.findings}
    right = lost[("f′", "float64", True)]
    # 1 − tanh² is 0 once tanh rounds to 1, from x ≈ 19.06: |f′| < 4 ulps of 1 before that
    assert right.no_digits is not None and 18 < right.no_digits[0] < 19.5
    assert right.stop == 256  # f′ underflows to 0 beyond; so does the truth, in float64
    assert right.max_abs_error <= 2**-52
    assert "its formula 1 − tanh²(x) cancels" in right.cause
    assert {(o, d) for o, d, _ in lost} == {(o, d) for o in ("f′", "f″") for d in verify.DTYPES}


def test_torch_hardsigmoid_backward_uses_a_float32_sixth_in_float64() -> None:
    """A genuine error of torch (2.13): hardsigmoid's f′ in float64 is float32's 1/6."""
    check = verify.verify(registry.spec("hardsigmoid"))
    by_dtype = {d.dtype: d for d in check.dtypes}
    grad = by_dtype["float64"].orders[1]
    assert grad.max_abs_error == pytest.approx(abs(float(np.float32(1 / 6)) - 1 / 6), rel=1e-6)
    assert len(grad.wrong) > 50 and all(-3 < x < 3 for x in grad.wrong)
    assert not by_dtype["float64"].passed and by_dtype["float32"].passed
    assert check.failures() == ["float64 f′"]


def test_selu_takes_the_other_side_at_its_kink_without_failing() -> None:
    check = verify.verify(registry.spec("selu"), ["float64"])
    (kink,) = check.dtypes[0].kinks
    assert kink.verdict == "other side" and check.passed
    assert kink.documented == float(SELU_SCALE)  # concave at 0: the least super-gradient
    assert kink.torch == pytest.approx(float(SELU_SCALE) * 1.6732632423543772, rel=1e-15)


def test_an_activation_without_a_reference_gets_a_numeric_one() -> None:
    own = Activation("mypkg.acts:relu", "relu", "relu(x)", "autograd only", None,
                     factory=lambda p: torch.nn.ReLU())  # fmt: skip
    check = verify.verify(Spec(own, {}))
    assert (check.has_reference, len(check.dtypes), check.gradcheck, check.passed) == (
        True, 4, True, True,
    )  # fmt: skip
    assert check.as_dict()["reference"] == verify.REFERENCE_NUMERIC
    from rich.console import Console

    from actviz.check.report import check_table

    console = Console(width=200, record=True)
    console.print(check_table([check]))
    row = next(line for line in console.export_text().splitlines() if "mypkg" in line)
    assert [c.strip() for c in row.split("│")[1:3]] == ["mypkg.acts:relu", "float64"]


# --- the machinery --------------------------------------------------------------------


def test_ulp_of_each_dtype() -> None:
    one = np.array([1.0, 0.0, 3.0])
    assert verify.ulp(one, "float64").tolist() == [2.0**-52, 2.0**-1074, 2.0**-51]
    assert verify.ulp(one, "float32").tolist() == [2.0**-23, 2.0**-149, 2.0**-22]
    assert verify.ulp(one, "bfloat16").tolist() == [2.0**-7, 2.0**-133, 2.0**-6]
    assert verify.ulp(one, "float16").tolist() == [2.0**-10, 2.0**-24, 2.0**-9]


def test_the_shared_points_are_exact_in_every_dtype() -> None:
    points = torch.tensor(verify.spread_points(), dtype=torch.float64)
    for dtype in (torch.bfloat16, torch.float16, torch.float32):
        assert bool((points.to(dtype).double() == points).all())
    assert (float(points.min()), float(points.max())) == (-1000.0, 1000.0)
    assert 0.0 not in points.tolist() and len(points) > 290


def test_kink_neighbours_and_rounded_kinks() -> None:
    points, kinks = verify._points(registry.spec("relu"), "float32")
    tiny = 2.0**-149
    assert kinks == [0.0] and {-3 * tiny, -tiny, tiny, 3 * tiny} <= set(points)
    # threshold 0.1 is not a float32: no sample between it and its rounding
    points, kinks = verify._points(registry.spec("threshold"), "float32")
    low, high = sorted((0.1, float(np.float32(0.1))))
    assert kinks == [] and not [x for x in points if low <= x <= high]


# --- the command ------------------------------------------------------------------------


def test_cli_json() -> None:
    result = runner.invoke(app, ["check", "tanh", "relu", "--dtype", "float32", "--json"])
    assert result.exit_code == 0, result.output
    tanh, relu = json.loads(result.stdout)
    assert [d["dtype"] for d in tanh["dtypes"]] == ["float32"]
    (d,) = tanh["dtypes"]
    assert [o["order"] for o in d["orders"]] == ["f", "f′", "f″"]
    assert all(o["max_ulps"] <= 20 and o["wrong"] == [] for o in d["orders"])
    assert {f["order"] for f in d["findings"]} == {"f′", "f″"}
    assert tanh["reference"] == "mpmath, 50 digits" and tanh["passed"] and tanh["gradcheck"]
    assert relu["gradgradcheck"] is None
    assert relu["dtypes"][0]["kinks"] == [
        {"x": 0.0, "dtype": "float32", "torch": 0.0, "documented": 0.0, "left": 0.0,
         "right": 1.0, "verdict": "ok"}
    ]  # fmt: skip
    assert any("none correct on [-48, -9.312]" in f for f in tanh["findings"])


@pytest.mark.route
def test_cli_all_fails_for_torch_genuine_errors_and_lists_its_losses() -> None:
    result = runner.invoke(app, ["check", "--all"])
    assert result.exit_code == 1
    # torch's three defects, and where it loses more than LOSS × the budget on
    # well-conditioned samples (issue 20, tests/test_check_conditioning.py)
    expected = (
        r"Error: derivative check failed for gelu \(float16 f″\); "
        r"mish \(float64 f″, float32 f″, bfloat16 f″, float16 f″\); "
        r"hardsigmoid \(float64 f′\); "
        r"sigmoid \(float64 f″, float32 f″, bfloat16 f″, float16 f″\); "
        r"softsign \(float64 f′, float64 f″, float32 f′, float32 f″, bfloat16 f′\); "
        r"tanhshrink \(float64 f, float64 f′, float32 f, float32 f′, bfloat16 f′, float16 f, "
        r"float16 f′\)\n"
    )
    assert re.fullmatch(expected, result.stderr), result.stderr
    out = result.stdout
    for name in registry.names():
        assert f"│ {name} " in out
    # where the right-hand loss starts depends on the kernel route (2.703 with ATen's
    # AVX2/AVX-512 tanh, 3.703 with its default code): not a literal
    losses = r"tanh f′, float64: loses digits on \[-256, -2\.969\] and \[\d\.\d+, 256\]"
    assert re.search(losses, out)
    assert "(its formula 1 − tanh²(x) cancels)" in out
    assert "selu: torch's f′(0) = 1.758 is the left-sided value" in out


def test_cli_dtype_must_be_known() -> None:
    check_error(["check", "relu", "--dtype", "float128"], 2, ClickError("'--dtype'", "float128"))


def test_cli_exits_1_naming_the_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    real = verify.verify_all

    def broken(specs: list[Spec], dtypes: Any, **options: Any) -> Any:
        return [
            dataclasses.replace(c, gradcheck=c.activation != "tanh")
            for c in real(specs, dtypes, **options)
        ]

    monkeypatch.setattr(verify, "verify_all", broken)
    result = runner.invoke(app, ["check", "tanh", "elu", "--dtype", "float64"])
    assert result.exit_code == 1
    assert result.stderr == "Error: derivative check failed for tanh (gradcheck)\n"
    assert "FAIL" in result.stdout


def test_check_needs_names_or_all() -> None:
    result = runner.invoke(app, ["check"])
    assert (result.exit_code, result.stderr) == (
        2,
        "Error: name activations or give --all\n",
    )


def test_rounding_is_not_a_miracle() -> None:
    """The sanity of the budget: float32's own rounding of the true value passes."""
    x = np.array(verify.spread_points())
    exact = np.tanh(x)
    rounded = exact.astype(np.float32).astype(np.float64)
    error = np.abs(rounded - exact)
    assert (error <= 0.5 * verify.ulp(exact, "float32") * (1 + 1e-12)).all()
    assert math.isclose(float(verify.ulp(np.array([1000.0]), "float16")[0]), 0.5)


@pytest.mark.parametrize(("name", "given"), VARIANTS, ids=str)
def test_parameter_variants_pass_in_float64_and_float32(name: str, given: dict[str, Any]) -> None:
    # (gelu's approximate=tanh f″ is nan in float16 for |x| ≥ 128: x³ overflows; in
    # float64 and float32 its f′ and f″ lose at most a few bits where well conditioned,
    # within LOSS × the budget: tests/test_check_conditioning.py)
    check = verify.verify(registry.spec(name, given), ["float64", "float32"])
    assert check.passed, check.failures()


# --- where a nan starts: on the dtype's values, not at a sample ---------------------------

TORCH_DTYPES = {"float64": torch.float64, "float32": torch.float32,
                "bfloat16": torch.bfloat16, "float16": torch.float16}  # fmt: skip


def plain_mish_second(x: torch.Tensor) -> torch.Tensor:
    """mish″ by plain torch double backward, padded so every point takes the vector route
    (as the samples do); independent of actviz's evaluation."""
    leaf = torch.cat([x, x[-1:].expand(128)]).detach().requires_grad_(True)
    (slope,) = torch.autograd.grad(torch.nn.functional.mish(leaf).sum(), leaf, create_graph=True)
    (second,) = torch.autograd.grad(slope.sum(), leaf)
    return second[: len(x)].detach()


def values_between(low: float, high: float, dtype: str, most: int = 1 << 23) -> torch.Tensor:
    """Every value of ``dtype`` in [low, high] (0 < low < high), from their bit patterns;
    ``most`` evenly spaced ones where there are more (float64)."""
    if dtype == "float64":
        bits = torch.tensor([low, high], dtype=torch.float64).view(torch.int64).tolist()
        step = max(1, (bits[1] - bits[0]) // most)
        return torch.arange(bits[0], bits[1] + 1, step, dtype=torch.int64).view(torch.float64)
    wide = {"float32": torch.int32, "bfloat16": torch.int16, "float16": torch.int16}[dtype]
    ends = torch.tensor([low, high]).to(TORCH_DTYPES[dtype]).view(wide).tolist()
    every = torch.arange(ends[0], ends[1] + 1, dtype=torch.int64).to(wide)
    return every.view(TORCH_DTYPES[dtype])


def onset_problems(dtype: str, claimed: float, finite_sample: float, bad: float) -> list[str]:
    """What is wrong with "mish″ is nan from x = ``claimed``" by brute force with plain
    torch: it must be nan there, finite on every value of the dtype from the last finite
    sample up to it (float64: on 2¹⁸ evenly spaced ones, and the one just below it)."""
    problems = []
    dt = TORCH_DTYPES[dtype]
    here = plain_mish_second(torch.tensor([claimed], dtype=dt))
    if torch.isfinite(here).all():
        problems.append(f"finite at {claimed!r}")
    below = torch.nextafter(torch.tensor([claimed], dtype=torch.float64),
                            torch.tensor([-math.inf], dtype=torch.float64))  # fmt: skip
    before = values_between(finite_sample, claimed, dtype, most=1 << 18)
    before = before[before < claimed]
    if dtype == "float64":
        before = torch.cat([before, below])
    second = plain_mish_second(before)
    if not torch.isfinite(second).all():
        first = float(before[~torch.isfinite(second)][0])
        problems.append(f"already non-finite at {first!r}, before {claimed!r}")
    if claimed > bad:
        problems.append(f"{claimed!r} is beyond the first non-finite sample {bad!r}")
    return problems


@pytest.fixture(scope="module")
def mish_check() -> verify.Check:
    return verify.verify(registry.spec("mish"))


def _mish_stretch(check: verify.Check, dtype: str) -> verify.NonFinite:
    (found,) = [d for d in check.dtypes if d.dtype == dtype]
    (stretch,) = found.orders[2].non_finite_stretches
    return stretch


@pytest.mark.parametrize(
    "dtype", ["float64", pytest.param("float32", marks=pytest.mark.slow), "bfloat16", "float16"]
)
def test_mish_second_derivative_nan_starts_where_plain_torch_says(
    dtype: str, mish_check: verify.Check
) -> None:
    """The onset is the first value of the dtype where mish″ is nan, searched between
    the samples; checked by brute force (float16, bfloat16 and float32 exhaustively)."""
    stretch = _mish_stretch(mish_check, dtype)
    assert (stretch.order, stretch.kind, stretch.finite_after) == ("f″", "nan", None)
    before, first_bad = stretch.finite_before, stretch.samples[0]
    assert before is not None and before < stretch.start <= first_bad
    samples = torch.tensor(verify.spread_points(), dtype=torch.float64).to(TORCH_DTYPES[dtype])
    plain = plain_mish_second(samples).double()
    xs = samples.double()
    # the stretch's samples are the samples plain torch finds nan, the one before finite
    assert xs[~torch.isfinite(plain)].tolist() == [x for x in xs.tolist() if x >= first_bad]
    assert max(x for x in xs.tolist() if x < first_bad) == before
    assert onset_problems(dtype, stretch.start, before, first_bad) == []
    if dtype != "float64":  # the first nan in the bracket, found exhaustively
        bracket = values_between(before, first_bad, dtype)
        nan = bracket[torch.isnan(plain_mish_second(bracket))]
        assert float(nan[0]) == stretch.start
    if dtype in ("bfloat16", "float16"):  # "from x on": every value up to the last sample
        rest = values_between(stretch.start, stretch.samples[1], dtype)
        assert bool(torch.isnan(plain_mish_second(rest)).all())
    line = f"mish f″, {dtype}: nan from x = {verify.representable(stretch.start, dtype)} on"
    assert stretch.words("mish").startswith(line)
    shown = float(line.split("x = ")[1].split()[0])  # the printed onset names the value
    assert torch.tensor(shown, dtype=torch.float64).to(TORCH_DTYPES[dtype]).item() == stretch.start


@pytest.mark.parametrize("dtype", ["float64", "bfloat16", "float16"])
def test_a_wrong_onset_is_caught(dtype: str, mish_check: verify.Check) -> None:
    """The brute-force check above has teeth: the first failing sample (what check used
    to report), and the values of the dtype either side of the onset, are all refused."""
    stretch = _mish_stretch(mish_check, dtype)
    assert stretch.finite_before is not None
    args = (stretch.finite_before, stretch.samples[0])
    place = verify.ordinal(stretch.start, dtype)
    wrong = [
        stretch.samples[0],  # 768, 96, 96, 11.375: the grid point
        verify.from_ordinal(place + 1, dtype),  # one value too late
        verify.from_ordinal(place - 1, dtype),  # one value too early
    ]
    for claimed in wrong:
        assert onset_problems(dtype, claimed, *args), claimed
    assert onset_problems(dtype, stretch.start, *args) == []


def test_the_search_finds_an_injected_onset_exactly() -> None:
    """first_non_finite on a made-up function that is nan from a chosen value on, in every
    dtype, from either side, across 0, and between neighbouring values."""
    import numpy as np

    for dtype in verify.DTYPES:
        for onset, finite in [(3.0, 1.0), (-2.5, -1000.0), (0.375, -7.0), (-0.375, 7.0)]:
            place = verify.ordinal(onset, dtype) + 5
            target = verify.from_ordinal(place, dtype)
            side = 1 if target > finite else -1

            def values_at(xs: Any, target: float = target, side: int = side) -> np.ndarray:
                x = np.array(xs, dtype=np.float64)
                return np.where(side * x >= side * target, np.nan, x)

            bad = 1000.0 * side
            assert verify.first_non_finite(values_at, dtype, finite, bad) == target
            neighbour = verify.from_ordinal(place - side, dtype)
            assert verify.first_non_finite(values_at, dtype, neighbour, target) == target


@settings(max_examples=200, deadline=None)
@given(value=st.floats(allow_nan=False, allow_infinity=False, width=32), dtype=st.sampled_from(
    ["float64", "float32", "bfloat16", "float16"]))  # fmt: skip
def test_ordinals_number_the_values_of_each_dtype_in_order(value: float, dtype: str) -> None:
    x = torch.tensor(value, dtype=torch.float64).to(TORCH_DTYPES[dtype])
    up = torch.nextafter(x, torch.tensor(math.inf, dtype=x.dtype))
    down = torch.nextafter(x, torch.tensor(-math.inf, dtype=x.dtype))
    place = verify.ordinal(x.item(), dtype)
    assert verify.from_ordinal(place, dtype) == x.item()
    if math.isfinite(up.item()):
        assert verify.ordinal(up.item(), dtype) == place + 1
    if math.isfinite(down.item()):
        assert verify.ordinal(down.item(), dtype) == place - 1
    shown = verify.representable(x.item(), dtype)
    back = torch.tensor(float(shown), dtype=torch.float64).to(TORCH_DTYPES[dtype]).item()
    assert back == x.item() or (back == 0 == x.item())


def test_check_prints_where_the_nan_starts_and_json_keeps_it(mish_check: verify.Check) -> None:
    from rich.console import Console

    from actviz.check.report import check_table

    console = Console(width=400, record=True, color_system=None)
    console.print(check_table([mish_check]))
    text = console.export_text()
    for dtype in verify.DTYPES:
        stretch = _mish_stretch(mish_check, dtype)
        assert f"  {stretch.words('mish')}" in text.splitlines()
        assert f"nan from x = {verify.representable(stretch.start, dtype)} on" in text
    row = next(line for line in text.splitlines() if line.startswith("│ mish"))
    assert [c.strip() for c in row.split("│")[3:6]][2] == "nan ✗"
    data = json.loads(json.dumps(mish_check.as_dict()))
    assert data["non_finite"] == [_mish_stretch(mish_check, d).words("mish") for d in verify.DTYPES]
    f16 = data["dtypes"][3]["orders"][2]["non_finite_stretches"][0]
    assert f16["start"] == _mish_stretch(mish_check, "float16").start
    assert f16["start"] < f16["samples"][0]  # before the first failing sample
