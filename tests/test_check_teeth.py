"""``actviz check`` on your own activation (issue 20): a numeric float64 reference
with an error estimate, or ``--reference EXPR`` at 50 digits; small errors in a
custom backward fail."""

from __future__ import annotations

import re
from typing import Any

import mpmath
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from actviz.check import verify
from actviz.check.expression_reference import expression_reference
from actviz.check.numeric_reference import Estimate, derivative
from actviz.check.reference import evaluate
from actviz.cli import app
from actviz.registry import spec
from tests.conftest import UserModules

runner = CliRunner()

TEETH = '''
import torch


def _tanh_with(factor, tail=None):
    class Tanh(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return torch.tanh(x)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            y = torch.tanh(x)  # recomputed: differentiable, so f″ is right too
            d = (1 - y * y) * factor
            if tail is not None:
                d = torch.where(x > 20, torch.full_like(d, tail), d)
            return g * d

    return Tanh.apply


off_1e6 = _tanh_with(1 + 1e-6)
off_1e8 = _tanh_with(1 + 1e-8)
exact = _tanh_with(1.0)
wrong_tail = _tanh_with(1.0, tail=1e-6)


class SigmoidSquared(torch.autograd.Function):
    """The seed lesson: y = σ(x)², y′ = 2σ(x)·σ(x)(1 − σ(x)), by hand."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        s = torch.sigmoid(x)
        return s * s

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        s = torch.sigmoid(x)
        return g * 2 * s * (s * (1 - s))


sigmoid_squared = SigmoidSquared.apply
'''

WRONG = re.compile(
    r"^  (?P<label>\S+) f′, (?P<dtype>\w+): wrong at (?P<n>\d+) samples in \[[^]]+\]; "
    r"relative error up to (?P<relative>[0-9.e+-]+) \(",
    re.MULTILINE,
)


@pytest.fixture(autouse=True)
def teeth(user_modules: UserModules) -> None:
    user_modules(teeth=TEETH)


# Numeric: f″ is checked against the derivative of your own f′ (consistent here);
# exact: against the formula's f″, which the scaled f′ misses by the same 1e-6.
@pytest.mark.parametrize(
    ("formula", "failed"), [(None, "float64 f′"), ("tanh(x)", "float64 f′, float64 f″")]
)
def test_a_1e6_error_in_a_custom_backward_fails_with_its_size(
    formula: str | None, failed: str
) -> None:
    args = ["check", "teeth:off_1e6", "--dtype", "float64"]
    result = runner.invoke(app, [*args, *(["--reference", formula] if formula else [])])
    assert result.exit_code == 1
    assert result.stderr == f"Error: derivative check failed for teeth:off_1e6 ({failed})\n"
    (found,) = [m.groupdict() for m in WRONG.finditer(result.stdout)]
    assert found["label"] == "teeth:off_1e6" and found["dtype"] == "float64"
    assert int(found["n"]) >= 40  # the core of the range, where the reference resolves it
    assert 0.98e-6 <= float(found["relative"]) <= 1.02e-6


@pytest.mark.parametrize("formula", [None, "tanh(x)"])
def test_a_1e8_error_fails_in_float64_and_not_in_float32(formula: str | None) -> None:
    check = verify.verify(spec("teeth:off_1e8"), ["float64", "float32"], formula=formula)
    float64, float32 = (d.orders[1] for d in check.dtypes)
    assert float64.wrong and 0.98e-8 <= float64.wrong_relative <= 1.02e-8
    assert not float32.wrong  # 1e-8 is a sixth of a float32 ulp: below what it can tell
    assert check.failures()[0] == "float64 f′"


@pytest.mark.parametrize("formula", [None, "tanh(x)"])
def test_a_wrong_tail_fails(formula: str | None) -> None:
    """f′ = 1e-6 for x > 20, where tanh′ is below 1e-16: far beyond any reference error."""
    check = verify.verify(spec("teeth:wrong_tail"), ["float64"], formula=formula)
    grad = check.dtypes[0].orders[1]
    assert grad.wrong and min(grad.wrong) > 20 and grad.wrong_relative >= 1
    assert "float64 f′" in check.failures()
    # where tanh′ is 0 in float64 the ulps overflow: the line gives the absolute error
    from actviz.check.report import wrong_lines

    (line, *_) = wrong_lines(check)
    assert line.startswith("teeth:wrong_tail f′, float64: wrong at ")
    assert re.search(r"; no correct digit \(absolute error up to 1(\.0+\d*)?e-6\)$", line), line


@pytest.mark.parametrize("formula", [None, "tanh(x)"])
def test_the_exact_custom_tanh_passes_in_every_dtype(formula: str | None) -> None:
    check = verify.verify(spec("teeth:exact"), formula=formula)
    assert check.passed, check.failures()
    assert [d.dtype for d in check.dtypes] == ["float64", "float32", "bfloat16", "float16"]


@pytest.mark.parametrize("formula", [None, "sigmoid(x)**2", "sigmoid(x) * sigmoid(x)"])
def test_the_seed_lessons_sigmoid_squared_checks_out(formula: str | None) -> None:
    check = verify.verify(spec("teeth:sigmoid_squared"), formula=formula)
    assert check.passed, check.failures()
    expected = verify.REFERENCE_NUMERIC if formula is None else f"{formula} (mpmath, 50 digits)"
    assert check.reference == expected


def test_the_numeric_reference_says_where_it_cannot_resolve() -> None:
    check = verify.verify(spec("teeth:exact"), ["float64"])
    # tanh′ falls below ε·|x| in both tails: there the reference is good only absolutely
    tails = [(u.order, u.start < -8, u.stop > 8) for u in check.unresolved]
    assert ("f′", True, False) in tails and ("f′", False, True) in tails
    assert set(check.resolution) == {"f′", "f″"}
    assert all(0 < v <= 1e-7 for v in check.resolution.values())
    result = runner.invoke(app, ["check", "teeth:exact", "--dtype", "float64"])
    assert result.exit_code == 0
    assert "where the numeric reference cannot tell (neither passed nor failed):" in result.stdout


def test_a_wrong_reference_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check can fail from the reference's side: a numeric reference off by
    1e-6 fails the exact custom tanh."""
    from actviz.check import numeric_reference

    def off(fn: object, x: np.ndarray) -> Estimate:
        found = derivative(fn, x)  # type: ignore[arg-type]
        return Estimate(found.values * (1 + 1e-6), found.error)

    monkeypatch.setattr(numeric_reference, "derivative", off)
    check = verify.verify(spec("teeth:exact"), ["float64"])
    assert check.failures() == ["float64 f′", "float64 f″"]


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["check", "teeth:exact", "relu", "--reference", "tanh(x)"],
         "Error: --reference is the formula of one activation; 2 are named (name one, "
         "without --all or --sweep)"),
        (["check", "teeth:exact", "--reference", "sum(x)"],
         "Error: sum() is not elementwise: a reference is a formula of x alone, such as "
         "x * sigmoid(x) (in 'sum(x)')"),
        (["check", "teeth:exact", "--reference", "log(x)"],
         "Error: the reference 'log(x)' is not defined at x = -1000 (log of a number that is "
         "not positive); give a formula defined on all of [-1000, 1000]"),
        (["check", "teeth:exact", "--reference", "__import__('os')"],
         "Error: unknown function (activations, exp, log, sqrt, sum, mean) at column 1: "
         "'__import__'"),
        (["check", "teeth:exact", "--reference", "tanh(y)"],
         "Error: unknown name at column 6: 'y': a reference is a formula of x alone"),
        (["check", "teeth:exact", "--reference", " "],
         'Error: the reference is empty; give a formula in x, e.g. --reference "x * sigmoid(x)"'),
        # beyond float64: refused at once (it hung for minutes, then a traceback)
        (["check", "teeth:exact", "--reference", "exp(exp(exp(x)))"],
         "Error: the reference 'exp(exp(exp(x)))' overflows at x = 2.03125 (exp(2045.93) is "
         "beyond float64's range); give a formula whose values and derivatives fit float64 "
         "on all of [-1000, 1000]"),
        # (not torch's nan: the formula's e^768 that no float64 holds)
        (["check", "teeth:exact", "--reference", "exp(x)"],
         "Error: the reference 'exp(x)' overflows at x = 768 (exp(768.0) is beyond float64's "
         "range); give a formula whose values and derivatives fit float64 on all of "
         "[-1000, 1000]"),
        (["check", "teeth:exact", "--reference", "x**64 * x**64"],
         "Error: the reference 'x**64 * x**64' overflows at x = -1000 (a value or derivative "
         "beyond float64's range); give a formula whose values and derivatives fit float64 on "
         "all of [-1000, 1000]"),
    ],
)  # fmt: skip
def test_a_bad_reference_is_one_line(args: list[str], line: str) -> None:
    result = runner.invoke(app, args)
    assert (result.exit_code, result.stderr) == (2, line + "\n")


# --- the references themselves, against mpmath -----------------------------------------

FORMULAS = {
    "x * sigmoid(x)": lambda t: t / (1 + mpmath.exp(-t)),
    "sigmoid(x)**2": lambda t: 1 / (1 + mpmath.exp(-t)) ** 2,
    "tanh(2*x - 1) / (1 + x**2)": lambda t: mpmath.tanh(2 * t - 1) / (1 + t**2),
    "exp(-x**2) + sqrt(1 + x**2)": lambda t: mpmath.exp(-(t**2)) + mpmath.sqrt(1 + t**2),
    # silu's own 50-digit reference inside a formula (softplus would bring its threshold)
    "silu(x) - x * sigmoid(x) + exp(-x**2)": lambda t: mpmath.exp(-(t**2)),
}


@settings(max_examples=60, deadline=None)
@given(formula=st.sampled_from(sorted(FORMULAS)), x=st.floats(-30, 30))
def test_the_formula_reference_is_exact_to_50_digits(formula: str, x: float) -> None:
    """f, f′, f″, f‴ of the jets against mpmath's own differentiation at 60 digits."""
    ref = expression_reference(formula)
    got = evaluate(ref, {}, x)
    with mpmath.workdps(60):
        want = [mpmath.diff(FORMULAS[formula], mpmath.mpf(x), n) for n in range(4)]
        for g, w in zip(got, want, strict=True):
            assert abs(g - w) <= mpmath.mpf(10) ** -35 * max(1, abs(w))


SMOOTH: dict[str, tuple[Any, Any]] = {
    "tanh": (torch.tanh, lambda t: 1 - mpmath.tanh(t) ** 2),
    "sigmoid²": (lambda v: torch.sigmoid(v) ** 2,
                 lambda t: 2 * mpmath.exp(-t) / (1 + mpmath.exp(-t)) ** 3),
    "gelu": (torch.nn.functional.gelu, lambda t: mpmath.ncdf(t) + t * mpmath.npdf(t)),
    "relu": (torch.relu, lambda t: mpmath.mpf(1 if t > 0 else 0)),
    "softsign": (torch.nn.functional.softsign, lambda t: 1 / (1 + abs(t)) ** 2),
}  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(sorted(SMOOTH)),
    xs=st.lists(st.floats(-60, 60).filter(lambda v: abs(v) > 1e-9), min_size=1, max_size=20),
)
def test_the_numeric_estimate_covers_its_actual_error(name: str, xs: list[float]) -> None:
    """Ridders' value is within its estimate of the 50-digit derivative, everywhere
    (kinks and flat tails included: there the estimate is large, not wrong)."""
    fn, exact = SMOOTH[name]
    x = np.array(xs)
    found = derivative(lambda v: fn(torch.from_numpy(v)).numpy(), x)
    with mpmath.workdps(50):
        truth = np.array([float(exact(mpmath.mpf(v))) for v in xs])
    assert (np.abs(found.values - truth) <= found.error).all()
