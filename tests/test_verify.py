"""actviz check: autograd's f′ against closed forms and finite differences."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from typer.testing import CliRunner

from actviz import registry, verify
from actviz.cli import app
from actviz.registry import Spec

runner = CliRunner()


def test_every_registered_activation_passes() -> None:
    result = runner.invoke(app, ["check", "--all", "--json"])
    assert result.exit_code == 0, result.output
    checks = json.loads(result.stdout)
    assert [c["activation"] for c in checks] == registry.names()
    for c in checks:
        assert c["passed"] and c["gradcheck"], c
        assert c["closed_form_abs"] < 1e-7 and c["finite_diff_abs"] < 1e-5
    piecewise = {a.name for a in registry.ACTIVATIONS if a.piecewise_linear}
    assert {c["activation"] for c in checks if c["gradgradcheck"] is None} == piecewise


def test_the_grid_keeps_away_from_kinks() -> None:
    x = verify.check_grid(registry.spec("hardtanh", {"min_val": -2, "max_val": 2}))
    assert float((x.abs() - 2).abs().min()) > verify.KINK_MARGIN
    assert len(verify.check_grid(registry.spec("tanh"))) == verify.CHECK_POINTS


def test_a_wrong_closed_form_is_caught() -> None:
    sigmoid = registry.get("sigmoid")
    wrong = dataclasses.replace(sigmoid, derivative=lambda x, p: x.sigmoid())  # σ, not σ(1 − σ)
    result = verify.verify(Spec(wrong, {}))
    assert not result.closed_form_ok and not result.passed
    assert result.closed_form_abs == pytest.approx(
        0.995, abs=1e-3
    )  # σ − σ(1 − σ) = σ², σ(6)² ≈ 0.995
    assert result.gradcheck  # autograd itself is still right


def test_cli_exits_1_naming_the_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    real = verify.verify_all

    def broken(specs: list[Spec]) -> Any:
        return [dataclasses.replace(c, gradcheck=c.activation != "tanh") for c in real(specs)]

    monkeypatch.setattr(verify, "verify_all", broken)
    result = runner.invoke(app, ["check", "tanh", "sigmoid"])
    assert result.exit_code == 1
    assert result.stderr == "Error: derivative check failed for tanh\n"
    assert "FAIL" in result.stdout


def test_check_needs_names_or_all() -> None:
    result = runner.invoke(app, ["check"])
    assert (result.exit_code, result.stderr) == (
        2,
        "Error: name activations or give --all (not both)\n",
    )
