"""Initialisation gains: quadrature against closed forms, Monte-Carlo and torch;
the mean-field fixed point, χ₁ and the edge of chaos; `actviz gain`."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import actviz
from actviz import registry
from actviz.cli import app
from actviz.depth_plots import draw_phase, phase_figure
from actviz.evaluation import evaluate
from actviz.init_gain import (
    TORCH_DEFAULT_SIGMA_W,
    Gain,
    chi1,
    critical_sigma_w,
    fixed_point,
    gain,
    moments,
    phase_curve,
    rule,
    variance_slope,
)
from tests.conftest import UserModules
from tests.test_plotting import png_size

runner = CliRunner()


def _close(drawn: Any, expected: Any) -> None:
    """A line's data against the numbers it was drawn from."""
    np.testing.assert_allclose(np.asarray(drawn, dtype=float), np.asarray(expected, dtype=float))


SQRT2 = math.sqrt(2.0)


def _phi(x: float) -> float:
    return 0.5 * (1 + math.erf(x / SQRT2))


def _pdf(x: float) -> float:
    return math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


# --- quadrature ------------------------------------------------------------------


def test_the_rule_integrates_the_normal_density_and_its_moments() -> None:
    x, w = rule((-3.0, 0.5, 6.0))
    assert np.all(np.diff(x) > 0)
    for q in (1e-12, 1e-4, 1.0, 37.0, 1e10):
        density = w * np.exp(-0.5 * x * x / q) / math.sqrt(2 * math.pi * q)
        assert abs(density.sum() - 1) < 1e-12
        assert abs((density * x * x).sum() / q - 1) < 1e-12
        assert abs((density * x**4).sum() / q**2 - 3) < 1e-11


def test_closed_forms_relu_leaky_relu_hardtanh() -> None:
    relu = moments("relu")
    for q in (1e-8, 1.0, 4.0, 1e6):  # relu is homogeneous: E[f²] = q/2 at every scale
        assert relu.f2(q) == pytest.approx(q / 2, rel=1e-10)
        assert relu.grad2(q) == pytest.approx(0.5, rel=1e-10)
    assert relu.mean() == pytest.approx(1 / math.sqrt(2 * math.pi), rel=1e-10)
    leaky = moments(registry.spec("leaky_relu", {"negative_slope": 0.2}))
    assert leaky.f2() == pytest.approx((1 + 0.04) / 2, rel=1e-10)
    assert leaky.grad2() == pytest.approx((1 + 0.04) / 2, rel=1e-10)
    hardtanh = moments("hardtanh")  # clamp(z, -1, 1)
    inside = 2 * _phi(1) - 1
    assert hardtanh.f2() == pytest.approx(inside - 2 * _pdf(1) + 2 * (1 - _phi(1)), rel=1e-10)
    assert hardtanh.grad2() == pytest.approx(inside, rel=1e-10)
    shifted = moments(registry.spec("hardtanh", {"min_val": -0.3, "max_val": 2.0}))
    assert shifted.grad2() == pytest.approx(_phi(2.0) - _phi(-0.3), rel=1e-10)


@pytest.mark.parametrize("name", registry.names())
def test_quadrature_agrees_with_monte_carlo(name: str) -> None:
    """E[f²] and E[f′²] against 400 000 seeded samples, within 5 standard errors."""
    m = moments(name)
    z = np.random.default_rng(7).standard_normal(400_000)
    _, f, grad = evaluate(registry.spec(name), z, dtype="float64")
    for quadrature, samples in ((m.f2(), f * f), (m.grad2(), grad * grad), (m.mean(), f)):
        error = samples.std() / math.sqrt(len(samples))
        assert abs(quadrature - samples.mean()) <= 5 * error + 1e-12, (name, quadrature)


# --- gains ------------------------------------------------------------------------


def test_relu_gain_is_sqrt2_forward_and_backward_and_selu_forward_is_one() -> None:
    relu, selu = gain(["relu", "selu"])
    assert relu.forward == pytest.approx(SQRT2, abs=1e-9)
    assert relu.backward == pytest.approx(SQRT2, abs=1e-9)
    assert selu.forward == pytest.approx(1.0, abs=1e-6)
    assert selu.backward == pytest.approx(0.966026, abs=1e-6)


def test_torch_calculate_gain_where_it_means_the_same_thing() -> None:
    slope = registry.spec("leaky_relu", {"negative_slope": 0.2})
    by_name = {g.label: g for g in gain(["relu", "tanh", "sigmoid", "selu", "gelu", slope])}
    for label in ("relu", "leaky_relu(negative_slope=0.2)"):
        g = by_name[label]
        assert g.torch == pytest.approx(g.forward, rel=1e-9)
        assert g.torch_agrees is True
    # conventions, not second-moment values
    assert by_name["tanh"].torch == pytest.approx(5 / 3)
    assert by_name["tanh"].forward == pytest.approx(1.5925374, abs=1e-6)
    assert by_name["selu"].torch == 0.75
    assert by_name["sigmoid"].torch == 1.0
    assert {by_name[n].torch_agrees for n in ("tanh", "selu", "sigmoid")} == {False}
    assert by_name["gelu"].torch is None and by_name["gelu"].torch_agrees is None


def test_actviz_gain_is_the_function_and_takes_every_registered_activation() -> None:
    found = actviz.gain()
    assert [g.spec.name for g in found] == registry.names()
    assert all(isinstance(g, Gain) for g in found)
    assert actviz.gain("relu")[0].forward == pytest.approx(SQRT2)


# --- mean field -------------------------------------------------------------------


def test_relu_fixed_point_and_chi1_in_closed_form() -> None:
    """q ← σ_w² q/2 + σ_b²: q* = σ_b²/(1 − σ_w²/2), χ₁ = σ_w²/2 at any q."""
    relu = moments("relu")
    q, chi = chi1(relu, 1.0, 0.5)
    assert q == pytest.approx(0.25 / 0.5, rel=1e-10)
    assert chi == pytest.approx(0.5, rel=1e-10)
    assert fixed_point(relu, 1.5, 0.1) == math.inf  # σ_w² > 2: the signal grows without bound
    assert fixed_point(relu, 1.0, 0.0) == 0.0  # σ_w² < 2, no bias: it dies out


def test_critical_sigma_w_of_relu_and_tanh_at_zero_bias() -> None:
    assert critical_sigma_w(moments("relu"), 0.0) == pytest.approx(SQRT2, abs=1e-9)
    assert critical_sigma_w(moments("tanh"), 0.0) == pytest.approx(1.0, abs=1e-6)
    # relu's χ₁ does not depend on q: σ_w² = 2 whatever the bias
    assert critical_sigma_w(moments("relu"), 0.7) == pytest.approx(SQRT2, abs=1e-9)


def test_tanh_edge_of_chaos_grows_with_the_bias_and_has_chi1_one() -> None:
    tanh = moments("tanh")
    found = [critical_sigma_w(tanh, b) for b in (0.0, 0.1, 0.3, 0.5, 1.0)]
    criticals = [c for c in found if c is not None]
    assert len(criticals) == len(found)
    assert criticals == sorted(criticals) and criticals[-1] > 1.5 > criticals[0]
    for b, w in zip((0.1, 0.3, 0.5, 1.0), criticals[1:], strict=True):
        assert w is not None
        q, chi = chi1(tanh, w, b)
        assert chi == pytest.approx(1.0, abs=1e-8)
        assert q == pytest.approx(w * w * tanh.f2(q) + b * b, rel=1e-10)  # really a fixed point


def test_chi1_at_torchs_default_init() -> None:
    """σ_w² = 1/3 sends tanh's q to 0, where χ₁ is σ_w²·f′(0)² = 1/3; relu's is 1/6."""
    by_name = {g.label: g for g in gain(["tanh", "relu", "sigmoid"])}
    assert pytest.approx(1 / 3) == TORCH_DEFAULT_SIGMA_W**2
    assert by_name["tanh"].default_q == 0.0
    assert by_name["tanh"].default_chi1 == pytest.approx(1 / 3, rel=1e-9)
    assert by_name["relu"].default_chi1 == pytest.approx(1 / 6, rel=1e-9)
    sigmoid = by_name["sigmoid"]  # σ(0) = 1/2 keeps q away from 0
    q = sigmoid.default_q
    assert q > 0.08 and q == pytest.approx(moments("sigmoid").f2(q) / 3, rel=1e-10)


def test_variance_slope_sorts_stable_marginal_unstable() -> None:
    by_name = {g.label: g for g in gain(["tanh", "sigmoid", "relu", "leaky_relu", "gelu", "silu"])}
    assert {n: by_name[n].stability for n in by_name} == {
        "tanh": "stable",
        "sigmoid": "stable",
        "relu": "marginal",
        "leaky_relu": "marginal",
        "gelu": "unstable",
        "silu": "unstable",
    }
    assert variance_slope(moments("relu")) == pytest.approx(1.0, abs=1e-7)
    assert by_name["gelu"].note is not None and "unstable fixed point" in by_name["gelu"].note
    assert by_name["sigmoid"].note is not None and "far from 0" in by_name["sigmoid"].note
    assert by_name["tanh"].note is None


def test_phase_curve_and_its_drawing() -> None:
    relu = phase_curve(registry.spec("relu"))
    assert relu.sigma_b2[0] == 0.0 and relu.sigma_b2[-1] == 1.0
    assert relu.sigma_w2 == pytest.approx([2.0] * len(relu.sigma_b2), rel=1e-9)
    tanh = phase_curve(registry.spec("tanh"), (0.0, 0.25))
    assert tanh.sigma_w2[0] == pytest.approx(1.0, abs=2e-6)
    fig = phase_figure([relu, tanh])  # one panel per activation, each on its own scale
    assert [a.get_title() for a in fig.axes] == ["relu", "tanh"]
    assert [len(a.lines) for a in fig.axes] == [1, 1]
    ax = fig.axes[1]
    lines = draw_phase(ax, [tanh])
    _close(lines[0].get_ydata(), tanh.sigma_w2)
    _close(lines[0].get_xdata(), tanh.sigma_b2)


# --- custom activations -------------------------------------------------------------

MODULE = """
import torch

def swish(x):
    return x * torch.sigmoid(x)

def kinked(x):
    return torch.where(x > 0, x, 0.5 * x)
"""


@pytest.fixture()
def user_module(user_modules: UserModules) -> None:
    user_modules(gainacts=MODULE)


@pytest.mark.usefixtures("user_module")
def test_custom_activations_get_the_same_numbers_as_the_registry() -> None:
    custom, silu = gain(["gainacts:swish", "silu"])
    assert custom.forward == pytest.approx(silu.forward, rel=1e-12)
    assert custom.backward == pytest.approx(silu.backward, rel=1e-12)
    assert custom.critical_sigma_w == pytest.approx(silu.critical_sigma_w, rel=1e-9)
    assert custom.torch is None
    # a kink at 0 is a panel edge even when the registry knows nothing of it
    kinked = gain("gainacts:kinked")[0]
    assert kinked.forward == pytest.approx(1 / math.sqrt((1 + 0.25) / 2), rel=1e-10)


# --- the command ---------------------------------------------------------------------


def run(*args: str) -> Any:
    return runner.invoke(app, list(args))


def test_gain_csv_and_json() -> None:
    result = run("gain", "relu", "tanh", "--csv")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "activation,forward_gain,backward_gain,mean,torch_gain,sigma_b,critical_sigma_w,"
        "default_q_star,default_chi1,variance_slope,stability"
    )
    relu = lines[1].split(",")
    assert relu[0] == "relu" and relu[-1] == "marginal"
    assert float(relu[1]) == pytest.approx(SQRT2, abs=1e-12)
    assert float(relu[4]) == pytest.approx(SQRT2)
    assert lines[2].split(",")[4] == repr(5 / 3)
    data = json.loads(run("gain", "gelu", "--json", "--bias-std", "0.5").stdout)
    assert data[0]["activation"] == "gelu" and data[0]["torch_gain"] is None
    assert data[0]["sigma_b"] == 0.5
    assert data[0]["stability"] == "unstable"
    assert data[0]["default_init"]["chi1"] == pytest.approx(0.25 / 3, rel=1e-9)


def test_gain_table_marks_torch_conventions() -> None:
    result = run("gain", "tanh", "relu")
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines() if line.strip()}
    assert rows["tanh"][:5] == ["tanh", "1.593", "1.467", "1.667", "*"]
    assert rows["relu"][:4] == ["relu", "1.414", "1.414", "1.414"]
    assert "E[f(z)²]" in result.stdout  # the caption survives rich's markup


def test_gain_plot_writes_the_phase_diagram(tmp_path: Path) -> None:
    out = tmp_path / "phase.png"
    result = run("gain", "relu", "tanh", "--plot", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"wrote {out}\n")
    assert png_size(out) == (1140, 720)


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["gain"], "Error: name activations or give --all"),
        (["gain", "relu", "--all"], "Error: name activations or give --all, not both"),
        (
            ["gain", "relu", "--bias-std", "-1"],
            "Error: bias std must be a number from 0 to 1e150 (got -1)",
        ),
        (["gain", "relu", "--json", "--csv"], "Error: give --json or --csv, not both"),
        (
            ["gain", "glu"],
            "Error: glu takes two inputs, f(a, b) = a·σ(b), not one x; "
            "draw it on its own with 'actviz plot glu'",
        ),
        (
            ["gain", "relu", "--plot", "--format", "gif"],
            "Error: unknown format 'gif'; choose one of png, svg, pdf",
        ),
    ],
)
def test_gain_errors_are_one_line_exit_2(args: list[str], line: str) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert result.stderr == line + "\n"


def test_torch_is_the_one_used() -> None:
    """calculate_gain is asked, not copied: its leaky_relu answer follows the slope."""
    g = gain(registry.spec("leaky_relu", {"negative_slope": 0.5}))[0]
    assert g.torch == torch.nn.init.calculate_gain("leaky_relu", 0.5)
