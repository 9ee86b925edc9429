"""A user's activation whose f′ is inf or NaN somewhere on the drawn grid is
refused by every command that evaluates it, ``check`` included (issue 19)."""

from __future__ import annotations

import pytest
import torch
from typer.testing import CliRunner

from actviz.check import verify
from actviz.cli import app
from actviz.errors import CustomActivationError
from actviz.registry import Spec, spec
from tests.conftest import UserModules

runner = CliRunner()

MODULE = """
import torch

def root_abs(x):  # f′ = sign(x)/(2√|x|): autograd gives 0·inf = NaN at 0
    return torch.sqrt(torch.abs(x))

def root_shift(x):  # f′ = 1/(2√(x + 8)) = inf at x = -8, the grid's first sample
    return torch.sqrt(x + 8)

def smooth(x):
    return torch.tanh(x) + 0.1 * x
"""

NAN = (
    "inf:root_abs is not finite on this range in float32: f′(x) = nan at x = 0 (1 of 160 "
    "samples); an activation must return finite values with finite gradients"
)
INF = (
    "inf:root_shift is not finite on this range in float32: f′(x) = inf at x = -8 (1 of 160 "
    "samples); an activation must return finite values with finite gradients"
)


@pytest.fixture(autouse=True)
def user_module(user_modules: UserModules) -> None:
    user_modules(inf=MODULE)


@pytest.mark.parametrize(("path", "message"), [("inf:root_abs", NAN), ("inf:root_shift", INF)])
def test_check_refuses_a_non_finite_derivative_as_plot_does(path: str, message: str) -> None:
    with pytest.raises(CustomActivationError) as caught:
        verify.verify(spec(path))
    assert str(caught.value) == message
    for command in (["check", path], ["plot", path, "--out", "f.png"]):
        result = runner.invoke(app, command)
        assert (result.exit_code, result.stdout, result.stderr) == (1, "", f"Error: {message}\n")


def test_a_finite_derivative_still_passes_check() -> None:
    check = verify.verify(spec("inf:smooth"))
    assert (check.has_reference, check.gradcheck, check.gradgradcheck) == (True, True, True)
    assert check.passed
    result = runner.invoke(app, ["check", "inf:smooth"])
    assert result.exit_code == 0 and result.stderr == ""


def test_the_float64_pass_refuses_on_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """The float64 pass over both grids is a check of its own: it catches an f′ the
    float32 pass does not see (injected: the float32 pass is skipped)."""
    from actviz import evaluation

    real = evaluation.autograd_checked
    seen: list[str] = []

    def only_float64(target: Spec, x: torch.Tensor) -> None:
        seen.append(str(x.dtype))
        if x.dtype == torch.float64:
            real(target, x)

    monkeypatch.setattr(evaluation, "autograd_checked", only_float64)
    with pytest.raises(CustomActivationError, match=r"f′\(x\) = nan at x = 0 \(1 of 193 samples\)"):
        verify.verify(spec("inf:root_abs"))
    assert seen == ["torch.float32", "torch.float64"]
