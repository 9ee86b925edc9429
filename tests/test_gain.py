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
from actviz.depth.gain import (
    TORCH_DEFAULT_SIGMA_W,
    Gain,
    PhaseCurve,
    chi1,
    critical_sigma_w,
    fixed_point,
    gain,
    moments,
    phase_curve,
    rule,
    variance_slope,
)
from actviz.depth.plots import draw_phase, phase_figure
from actviz.errors import InvalidParameterError
from actviz.evaluation import evaluate
from tests.cli.helpers import ClickError, check_error
from tests.closed_forms import CLOSED_FORMS
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
    # relu: its edge at σ_b² = 0, and with a bias χ₁ → 1 only as q* → ∞ (σ_w² = 2)
    assert relu.kinds == ("edge", *["unbounded"] * (len(relu.sigma_b2) - 1))
    assert [len(a.lines) for a in fig.axes] == [2, 1]
    ax = fig.axes[1]
    lines = draw_phase(ax, [tanh])
    _close(lines[0].get_ydata(), tanh.sigma_w2)
    _close(lines[0].get_xdata(), tanh.sigma_b2)
    assert tanh.jump == (False, False) and len(lines) == 1  # no jump line where none jumps
    # a jump flag per σ_b², and only where there is a σ_w² to jump at
    with pytest.raises(InvalidParameterError, match="one entry per σ_b²"):
        PhaseCurve(tanh.spec, tanh.sigma_b2, tanh.sigma_w2, (False,))
    with pytest.raises(InvalidParameterError, match="jump is True where sigma_w2 is None"):
        PhaseCurve(tanh.spec, tanh.sigma_b2, (None, 1.0), (True, False))
    with pytest.raises(InvalidParameterError, match="unbounded is True where sigma_w2 is None"):
        PhaseCurve(tanh.spec, tanh.sigma_b2, (None, 1.0), (False, False), (True, False))
    with pytest.raises(InvalidParameterError, match="both True"):
        PhaseCurve(tanh.spec, tanh.sigma_b2, (1.0, 1.0), (False, True), (False, True))
    with pytest.raises(InvalidParameterError, match="one entry per σ_b²"):
        PhaseCurve(tanh.spec, tanh.sigma_b2, tanh.sigma_w2, tanh.jump, (False,))


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
        "default_q_star,default_chi1,variance_slope,stability,critical_kind,critical_trivial,"
        "chi1_below,chi1_above,critical_q_star,edge_sigma_b,edge_sigma_w"
    )
    relu = lines[1].split(",")
    assert relu[0] == "relu" and relu[10] == "marginal" and relu[11:13] == ["edge", "False"]
    assert float(relu[1]) == pytest.approx(SQRT2, abs=1e-12)
    assert float(relu[4]) == pytest.approx(SQRT2)
    assert lines[2].split(",")[4] == repr(5 / 3)
    data = json.loads(run("gain", "gelu", "--json", "--bias-std", "0.5").stdout)
    assert data[0]["activation"] == "gelu" and data[0]["torch_gain"] is None
    assert data[0]["sigma_b"] == 0.5
    assert data[0]["stability"] == "unstable"
    assert data[0]["default_init"]["chi1"] == pytest.approx(0.25 / 3, rel=1e-9)


def test_the_csv_carries_the_critical_point_as_the_json_does() -> None:
    """Each critical column reads as --json's "critical" (inf where the JSON, which has
    no inf, says null); gelu's jump against mpmath, by the verifier below."""
    import csv

    calls = [
        ["gain", "gelu", "tanh", "relu"],
        ["gain", "leaky_relu", "--param", "negative_slope=100"],
    ]
    rows = [r for c in calls for r in csv.DictReader(run(*c, "--csv").stdout.splitlines())]
    data = [item for c in calls for item in json.loads(run(*c, "--json").stdout)]
    columns = {"critical_kind": "kind", "critical_trivial": "trivial", "chi1_below": "chi1_below",
               "chi1_above": "chi1_above", "critical_q_star": "q_star",
               "edge_sigma_b": "edge_sigma_b", "edge_sigma_w": "edge_sigma_w"}  # fmt: skip
    for row, item in zip(rows, data, strict=True):
        critical = item["critical"]
        if critical is None:  # leaky_relu with slope 100: chaotic at every σ_w scanned
            assert row["activation"].startswith("leaky_relu") and not any(row[c] for c in columns)
            continue
        for column, key in columns.items():
            value = critical[key]
            if isinstance(value, bool):
                assert row[column] == str(value), column
            elif isinstance(value, str):
                assert row[column] == value, column
            elif value is None:
                assert row[column] in ("", "inf"), column
                assert (row[column] == "inf") == (key == "q_star"), column
            else:
                assert float(row[column]) == value, column
    gelu = rows[0]
    assert gelu["critical_kind"] == "jump" and gelu["critical_q_star"] == "inf"
    _check_jump("gelu", float(gelu["critical_sigma_w"]), float(gelu["chi1_below"]),
                float(gelu["chi1_above"]))  # fmt: skip
    assert rows[1]["critical_kind"] == "edge" and rows[1]["critical_trivial"] == "True"


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
            ClickError("'--format'", "gif", "png", "svg", "pdf"),
        ),
    ],
)
def test_gain_errors_are_one_line_exit_2(args: list[str], line: str | ClickError) -> None:
    check_error(args, 2, line)


def test_torch_is_the_one_used() -> None:
    """calculate_gain is asked, not copied: its leaky_relu answer follows the slope."""
    g = gain(registry.spec("leaky_relu", {"negative_slope": 0.5}))[0]
    assert g.torch == torch.nn.init.calculate_gain("leaky_relu", 0.5)


# --- jumps of χ₁, the trivial edge, the exact f′ --------------------------------------
# Independent of actviz: the mean-field map by mpmath quadrature of closed-form f, f′.


def _mp_pieces() -> dict[str, tuple[Any, Any, list[float]]]:
    """f, f′ and kinks of the activations whose χ₁ jumps at σ_b = 0, from their definitions."""
    import mpmath as mp

    def sig(x: Any) -> Any:
        return 1 / (1 + mp.exp(-x))

    def gelu(x: Any) -> Any:
        return x * mp.ncdf(x)

    def softplus(x: Any) -> Any:
        return mp.log1p(mp.exp(x)) if x < 30 else x + mp.log1p(mp.exp(-x))

    def mish1(x: Any) -> Any:
        t = mp.tanh(softplus(x))
        return t + x * sig(x) * (1 - t * t)

    return {
        "gelu": (gelu, lambda x: mp.ncdf(x) + x * mp.npdf(x), []),
        "silu": (lambda x: x * sig(x), lambda x: sig(x) * (1 + x * (1 - sig(x))), []),
        "mish": (lambda x: x * mp.tanh(softplus(x)), mish1, []),
        "hardswish": (
            lambda x: 0 if x <= -3 else (x if x >= 3 else x * (x + 3) / 6),
            lambda x: 0 if x < -3 else (1 if x > 3 else (2 * x + 3) / 6),
            [-3.0, 3.0],
        ),
        "tanhshrink": (lambda x: x - mp.tanh(x), lambda x: mp.tanh(x) ** 2, []),
        "softshrink": (
            lambda x: x - 0.5 if x > 0.5 else (x + 0.5 if x < -0.5 else 0),
            lambda x: 1 if abs(x) > 0.5 else 0,
            [-0.5, 0.5],
        ),
    }


def _mp_expect(fn: Any, q: float, kinks: list[float]) -> float:
    """E[fn(x)] for x ~ N(0, q) by mpmath quadrature, split at 0 and the kinks."""
    import mpmath as mp

    with mp.workdps(30):
        s = mp.sqrt(mp.mpf(q))
        cuts = sorted({0.0, *(k / float(s) for k in kinks)})
        edges = [-mp.inf, *cuts, mp.inf]
        return float(mp.quad(lambda z: fn(s * z) * mp.npdf(z), edges))


JUMPS = {  # σ_b = 0: χ₁ below (q* → 0: σ_w²·f′(0)²) and above (q* → ∞: σ_w²·E[f′²] there)
    "gelu": (0.25, 0.5),
    "silu": (0.25, 0.5),
    "mish": (0.36, 0.5),  # f′(0) = tanh(log 2) = 3/5
    "hardswish": (0.25, 0.5),
    "tanhshrink": (0.0, 1.0),
}


def _check_jump(name: str, sigma_w: float, below: float, above: float) -> None:
    """The verifier: a jump at σ_w (σ_b = 0) against mpmath. σ_w is where q = 1 is a fixed
    point (σ_w²·E[f²] = 1); E[f²]/q grows with q (so that is the only fixed point but 0 and
    ∞: q* → 0 below σ_w, → ∞ above); χ₁ is σ_w²·E[f′(√q z)²] at those limits."""
    f, grad, kinks = _mp_pieces()[name]
    f2 = _mp_expect(lambda x: f(x) ** 2, 1.0, kinks)
    assert sigma_w**2 * f2 == pytest.approx(1.0, rel=1e-9)
    ratios = [_mp_expect(lambda x: f(x) ** 2, q, kinks) / q for q in (1e-6, 1e-2, 0.5, 2, 1e2, 1e6)]
    assert ratios == sorted(ratios)
    low = sigma_w**2 * _mp_expect(lambda x: grad(x) ** 2, 1e-14, kinks)
    high = sigma_w**2 * _mp_expect(lambda x: grad(x) ** 2, 1e12, kinks)
    assert below == pytest.approx(low, rel=1e-8, abs=1e-12)  # at σ_w·(1 − 1e-9)
    assert above == pytest.approx(high, rel=1e-8)
    below_limit, above_limit = JUMPS[name]
    assert low == pytest.approx(sigma_w**2 * below_limit, abs=1e-9)
    assert high == pytest.approx(sigma_w**2 * above_limit, rel=1e-5)  # q = 1e12 ≈ ∞
    assert below < 1 < above


@pytest.mark.parametrize("name", sorted(JUMPS))
def test_chi1_jumps_across_one_at_zero_bias(name: str) -> None:
    g = gain(name)[0]
    c = g.critical
    assert c is not None and c.kind == "jump" and c.trivial is False
    assert g.critical_sigma_w == c.sigma_w
    _check_jump(name, c.sigma_w, c.chi1_below, c.chi1_above)
    assert c.text.startswith("χ₁ jumps from ") and "no edge of chaos at σ_b = 0" in c.text
    assert g.as_dict()["critical"]["kind"] == "jump"


def test_the_jump_check_catches_a_wrong_answer() -> None:
    c = gain("gelu")[0].critical
    assert c is not None
    for wrong in (
        (c.sigma_w * (1 + 1e-6), c.chi1_below, c.chi1_above),
        (c.sigma_w, c.chi1_below + 1e-6, c.chi1_above),
        (c.sigma_w, c.chi1_below, 1.0),  # an edge of chaos where there is none
    ):
        with pytest.raises(AssertionError):
            _check_jump("gelu", *wrong)


def test_a_critical_point_is_a_jump_only_where_chi1_is_off_one_on_a_side() -> None:
    from actviz.depth.gain import Critical

    assert Critical(1.4, 0.0, 0.9999999, 1.0000001, 1.0).kind == "edge"
    assert Critical(1.4, 0.0, 0.9, 1.0000001, 1.0).kind == "jump"
    assert Critical(1.4, 0.0, 0.9999999, 1.1, 1.0).kind == "jump"
    # the map runs off: χ₁ → 1 only as q* → ∞, unless χ₁ jumps there
    assert Critical(1.4, 0.5, 0.9999999, 1.0000001, math.inf, runs_off=True).kind == "unbounded"
    assert Critical(1.4, 0.5, 0.9, 1.0000001, math.inf, runs_off=True).kind == "jump"
    assert Critical(1.0, 0.0, 1.0, 1.0, 1e-9).trivial
    assert not Critical(1.0, 0.1, 1.0, 1.0, 1e-9).trivial  # a bias: q* ≥ σ_b² > 0


def _check_edge(name: str, sigma_w: float, sigma_b: float, q_star: float) -> None:
    """The verifier of an edge of chaos: a finite q* solves q = σ_w²·E[f²] + σ_b² (mpmath), the map
    moves from q = 1 towards it (no other fixed point between), and χ₁ = 1 there."""
    f, grad, kinks = _mp_pieces()[name]

    def h(q: float) -> float:
        return sigma_w**2 * _mp_expect(lambda x: f(x) ** 2, q, kinks) + sigma_b**2 - q

    q = q_star
    assert 0 < q < math.inf
    assert h(q * (1 - 1e-6)) * h(q * (1 + 1e-6)) < 0  # a root within 1e-6 of q*
    toward = 1 if q > 1 else -1
    between = np.geomspace(min(1.0, q) * 1.001, max(1.0, q) / 1.001, 6)
    assert all(h(float(v)) * toward > 0 for v in between)
    chi = sigma_w**2 * _mp_expect(lambda x: grad(x) ** 2, q, kinks)
    assert chi == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("name", ["gelu", "mish"])
def test_the_smallest_bias_with_a_true_edge_of_chaos(name: str) -> None:
    from actviz.depth.gain import EDGE_BIAS_RTOL, chi1, critical_point

    m = moments(name)
    c = critical_point(m, 0.0)
    assert c is not None and c.edge_sigma_b is not None and c.edge_sigma_w is not None
    edge = critical_point(m, c.edge_sigma_b)
    assert edge is not None and edge.kind == "edge" and edge.sigma_w == c.edge_sigma_w
    q, _ = chi1(m, edge.sigma_w, edge.sigma_b)
    _check_edge(name, edge.sigma_w, edge.sigma_b, q)
    # just below it, χ₁ still jumps: the smallest, to the bisection's tolerance
    before = critical_point(m, c.edge_sigma_b * (1 - 2 * EDGE_BIAS_RTOL), search=False)
    assert before is not None and before.kind == "jump"
    assert f"from σ_b ≈ {c.edge_sigma_b:.3g}" in c.text


def test_the_edge_check_catches_a_wrong_answer() -> None:
    from actviz.depth.gain import chi1, critical_point

    m = moments("gelu")
    c = critical_point(m, 0.0)
    assert c is not None and c.edge_sigma_b is not None and c.edge_sigma_w is not None
    q, _ = chi1(m, c.edge_sigma_w, c.edge_sigma_b)
    with pytest.raises(AssertionError):
        _check_edge("gelu", c.edge_sigma_w * 1.001, c.edge_sigma_b, q)  # χ₁ ≠ 1 there


# Clamped activations, linear near 0: f and its linear part ℓ (σ_c²·E[ℓ(x)²] = q exactly,
# σ_c the critical σ_w where q = 0 turns unstable) differ only where f saturates, so
# h(q) = σ_c²·E[f²] − q = σ_c²·E[f² − ℓ²] is integrated there alone, without cancellation.
FLAT = {  # name: (f² − ℓ² where it is not 0, where that is, f′ near 0⁺ and 0⁻)
    "hardtanh": (lambda x: 1 - x * x, [(-math.inf, -1.0), (1.0, math.inf)], (1.0, 1.0)),
    "relu6": (lambda x: 36 - x * x, [(6.0, math.inf)], (1.0, 0.0)),
}


def _check_trivial(
    name: str, sigma_w: float, trivial: bool, text: str, flat: Any | None = None
) -> None:
    """The verifier of an edge at q* → 0 for a map flat near 0: σ_w is σ_c, where the
    trivial fixed point's χ₁ = σ_w²·(f′(0⁺)² + f′(0⁻)²)/2 is 1, and at σ_c the map moves
    down at every q in (0, 1] (h < 0, by mpmath at 40 digits), so q* → 0 from q = 1."""
    import mpmath as mp

    gap, pieces, (right, left) = FLAT[name] if flat is None else flat
    sigma_c = 1 / math.sqrt((right**2 + left**2) / 2)
    assert sigma_w == pytest.approx(sigma_c, rel=1e-9)
    with mp.workdps(40):
        for q in np.geomspace(1e-3, 1.0, 13):
            s = mp.sqrt(mp.mpf(q))

            def weighted(x: Any, s: Any = s) -> Any:
                return gap(x) * mp.npdf(x / s) / s

            h = sigma_c**2 * sum(mp.quad(weighted, [a, b]) for a, b in pieces)
            assert h < 0, (name, q)
    assert trivial and text.startswith(f"q* → 0 at σ_w = {sigma_c:.4g}, σ_b = 0")


@pytest.mark.parametrize("name", sorted(FLAT))
def test_a_map_flat_near_zero_has_its_edge_at_the_trivial_fixed_point(name: str) -> None:
    """hardtanh at σ_w = 1, relu6 at √2 (σ_b = 0): E[f(√q·z)²] is σ_c⁻²·q to within
    ~e^(−1/(2q)) (below float64's 1e-16 of q under q ≈ 0.02): the q* the fixed point
    search stops at in float64 (0.0187 for hardtanh) is not the map's, q* → 0 is."""
    c = gain(name)[0].critical
    assert c is not None and c.kind == "edge"
    _check_trivial(name, c.sigma_w, c.trivial, c.text)
    assert "q*→0" in run("gain", name).stdout


def test_the_trivial_check_catches_a_wrong_answer() -> None:
    c = gain("hardtanh")[0].critical
    assert c is not None
    for wrong in (
        (c.sigma_w * 1.001, c.trivial, c.text),
        (c.sigma_w, False, c.text),  # the edge at a q* > 0, as it was reported
        (c.sigma_w, c.trivial, "χ₁ = 1 at σ_w = 1, σ_b = 0 (q* = 0.01871): the edge of chaos"),
    ):
        with pytest.raises(AssertionError):
            _check_trivial("hardtanh", *wrong)
    # relu at √2: every q is a fixed point, the map does not move down (h = 0)
    relu = gain("relu")[0].critical
    assert relu is not None and not relu.trivial
    relu_flat = (lambda x: 0 * x, [(0.0, math.inf)], (1.0, 0.0))  # f = ℓ: f² − ℓ² = 0
    with pytest.raises(AssertionError):
        _check_trivial("relu", relu.sigma_w, True, "q* → 0 at σ_w = 1.414, σ_b = 0", relu_flat)


def _check_reached(name: str, sigma_w: float, sigma_b: float, q_star: float) -> None:
    """The verifier of the fixed point the map reaches from q = 1 (mpmath): h keeps the
    sign it has at q = 1 on a grid (ratio 1.05) from there to q* (to 1e4 if q* = ∞), and
    changes sign within 1e-6 of a finite q*. h = σ_w²·E[f²] + σ_b² − q."""
    f, _, kinks = _mp_pieces()[name]

    def h(q: float) -> float:
        return sigma_w**2 * _mp_expect(lambda x: f(x) ** 2, q, kinks) + sigma_b**2 - q

    toward = 1 if h(1.0) > 0 else -1
    end = q_star if math.isfinite(q_star) else 1e4
    assert (end > 1) == (toward > 0)
    count = math.ceil(abs(math.log(end)) / math.log(1.05)) + 1
    for q in np.geomspace(1.0, end, count)[1:-1]:
        assert h(float(q)) * toward > 0, (name, q)
    if math.isfinite(q_star):
        assert h(q_star * (1 - 1e-6)) * h(q_star * (1 + 1e-6)) < 0


# (σ_b², σ_w²) where a pair of fixed points lies between the ladder's rungs q = 2^k: the
# map stops at the first, which the ladder alone stepped over (q* = ∞ was reported).
BETWEEN_RUNGS = {
    "tanhshrink": (0.6, 2.404),  # fixed points ≈ 1.33 and 1.6, between q = 1 and 2
    "silu": (0.5, 2.00119),  # ≈ 5.67 and 8.5, a fold just beyond: between 4 and 8 or 16
    "hardswish": (0.2, 1.5533134325449673**2 * (1 + 2e-7)),  # q = 1 and 1.15, short of 2
}


@pytest.mark.parametrize("name", sorted(BETWEEN_RUNGS))
def test_the_fixed_point_between_two_rungs_is_found(name: str) -> None:
    b2, w2 = BETWEEN_RUNGS[name]
    q = fixed_point(moments(name), math.sqrt(w2), math.sqrt(b2))
    assert math.isfinite(q)
    _check_reached(name, math.sqrt(w2), math.sqrt(b2), q)


def test_the_fixed_point_check_catches_a_wrong_answer() -> None:
    b2, w2 = BETWEEN_RUNGS["tanhshrink"]
    q = fixed_point(moments("tanhshrink"), math.sqrt(w2), math.sqrt(b2))
    for wrong in (math.inf, 1.6 / 1.33 * q, q * 1.0001):  # run off, the second root, off it
        with pytest.raises(AssertionError):
            _check_reached("tanhshrink", math.sqrt(w2), math.sqrt(b2), wrong)


def test_tanh_at_its_critical_gain_and_zero_bias_is_the_trivial_fixed_point() -> None:
    g = gain("tanh")[0]
    assert g.critical is not None and g.critical.kind == "edge" and g.critical.trivial
    assert g.critical.text.startswith("q* → 0 at σ_w = 1, σ_b = 0")
    biased = gain("tanh", bias_std=0.3)[0].critical
    assert biased is not None and biased.kind == "edge" and not biased.trivial
    relu = gain("relu")[0].critical
    assert relu is not None and relu.kind == "edge"
    hardshrink = gain("hardshrink")[0].critical  # χ₁ jumps, or → 1 only as q* → ∞
    assert hardshrink is not None and hardshrink.edge_sigma_b is None
    assert hardshrink.text.endswith("nor at any σ_b from 0.001 to 100")


def test_depth_at_the_critical_gain_says_when_it_is_trivial_or_a_jump() -> None:
    d = actviz.simulate(["tanh", "gelu", "relu"], layers=3, width=8, batch=8, gain="critical",
                     baseline=False)  # fmt: skip
    notes = {r.label: r.note for r in d.runs}
    assert notes["tanh"] is not None and notes["tanh"].startswith("q* → 0 at σ_w = 1")
    assert notes["gelu"] is not None and notes["gelu"].startswith("χ₁ jumps from 0.5879")
    assert notes["relu"] is None
    result = run("depth", "tanh", "--gain", "critical", "--layers", "3", "--width", "8",
                 "--batch", "8", "--no-plot", "--no-baseline")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "note: q* → 0 at σ_w = 1, σ_b = 0: the edge of chaos is the trivial" in result.stdout


HARDSIGMOID_BACKWARD = "6.0081158251966812227295531782"  # 6/√(Φ(3) − Φ(−3)), 30 digits


def _check_hardsigmoid(backward: float) -> None:
    import mpmath as mp

    with mp.workdps(40):
        exact = 1 / mp.sqrt((mp.ncdf(3) - mp.ncdf(-3)) / 36)
        assert mp.nstr(exact, 29) == HARDSIGMOID_BACKWARD
        assert abs(backward - float(exact)) <= 1e-12


def test_hardsigmoid_backward_gain_from_the_exact_derivative() -> None:
    g = gain("hardsigmoid")[0]
    _check_hardsigmoid(g.backward)
    assert g.backward_note is not None and "float32's 1/6" in g.backward_note
    assert g.as_dict()["backward_note"] == g.backward_note
    assert "6.00811" in g.backward_note  # what torch's own f′ would have given
    assert gain("relu")[0].backward_note is None  # torch's f′ is right there
    result = run("gain", "hardsigmoid")
    assert "6.008 ‡" in result.stdout and "hardsigmoid: ‡ f′ from its exact form" in result.stdout


def test_the_hardsigmoid_check_catches_torchs_derivative(monkeypatch: pytest.MonkeyPatch) -> None:
    from actviz.depth import gain as init_gain

    monkeypatch.setattr(init_gain, "TORCH_GRAD_DEFECTS", {})
    init_gain._moments.cache_clear()
    try:
        torchs = gain("hardsigmoid")[0]
        assert torchs.backward_note is None
        with pytest.raises(AssertionError):
            _check_hardsigmoid(torchs.backward)
    finally:
        init_gain._moments.cache_clear()


# --- χ₁ → 1 only as q* → ∞ (kind "unbounded") ------------------------------------------
# Independent of actviz: the length map h(q) = σ_w²·E[f(√q·z)²] + σ_b² by this file's own
# numpy Gauss–Legendre quadrature in z of tests/closed_forms.py's hand-derived f and f′.

GL16 = np.polynomial.legendre.leggauss(16)
# z-panels: [−12, 12] in steps of 0.5, split also at ±s/√q for these s and at each kink's
# k/√q, so that f's own scale (x ~ 1) is resolved at every q (it sits at z ~ 1/√q)
Z_UNIFORM = np.linspace(-12.0, 12.0, 49)
X_SCALES = np.array([0.01, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0])


def _np_expect(values: Any, q: np.ndarray, kinks: Any) -> np.ndarray:
    """E[values(√q·z)] for z ~ N(0, 1), one q per entry of ``q``."""
    t, w = GL16
    root = np.sqrt(q)[:, None]
    cuts = np.concatenate([X_SCALES, -X_SCALES, np.asarray(list(kinks), dtype=float)])
    moved = np.clip(cuts[None, :] / root, -12.0, 12.0)
    edges = np.sort(np.hstack([np.broadcast_to(Z_UNIFORM, (len(q), len(Z_UNIFORM))), moved]))
    a, b = edges[:, :-1, None], edges[:, 1:, None]
    z = ((b - a) / 2 * t + (a + b) / 2).reshape(len(q), -1)
    weights = ((b - a) / 2 * w).reshape(len(q), -1) * np.exp(-0.5 * z * z)
    return np.asarray((weights * values(root * z)).sum(axis=1) / math.sqrt(2 * math.pi))


# The map's way up from q = 1, to RUN_TO (ratio 1.05). It runs off there when
# h(q) − q > RUN_MARGIN·q at every q of the way: 1e-10·q allows for the critical σ_w's
# last digits (rtol 1e-12: relu at σ_b = 0, where every q is a fixed point, has
# h − q = (σ_w²/2 − 1)·q ≈ ±1e-12·q) and for the quadrature (~1e-14·q), and stays below
# the smallest true margin on the grid, relu's σ_b² = 0.0025 (1e-10 × 1e7 = 1e-3). Every
# finite edge of chaos on the grid has q* < 100 (gelu's at σ_b² = 1: 82), far below RUN_TO.
RUN_TO, RUN_MARGIN = 1e7, 1e-10
RUN_Q = np.geomspace(1.0, RUN_TO, math.ceil(math.log(RUN_TO) / math.log(1.05)) + 1)
CHI1_OFF = 1e-5  # χ₁ at q = 1e12 against its limit q → ∞: ~1e-6 off for softplus, sigmoid²


def _independent_run(name: str, sigma_w: float, sigma_b: float) -> tuple[bool, np.ndarray]:
    """(whether the map at σ_w runs off from q = 1, past RUN_TO; χ₁ on the way and at
    q = 1e12, the last entry)."""
    f, grad, _ = CLOSED_FORMS[name]
    target = registry.spec(name)
    params, kinks = target.params, target.activation.kinks(target.params)
    gap = _np_expect(lambda x: sigma_w**2 * f(x, params) ** 2 - x * x, RUN_Q, kinks)
    runs = bool(np.all(gap + sigma_b**2 > RUN_MARGIN * RUN_Q))
    qs = np.append(RUN_Q, 1e12)
    return runs, sigma_w**2 * _np_expect(lambda x: grad(x, params) ** 2, qs, kinks)


def _check_kind(name: str, c: Any) -> None:
    """The verifier of "unbounded": said where, and only where (but for jumps, checked
    above), the map at the critical σ_w runs off from q = 1 (no finite fixed point up to
    RUN_TO), χ₁ there climbs to 1 from below (≤ 1 + CHI1_OFF on the way, within CHI1_OFF
    of 1 at q = 1e12), q* is ∞, and its words claim no edge of chaos."""
    if c.kind == "jump":
        return
    runs, chi = _independent_run(name, c.sigma_w, c.sigma_b)
    assert runs == (c.kind == "unbounded"), (name, c.sigma_b, c.kind)
    if c.kind == "unbounded":
        assert np.all(chi <= 1 + CHI1_OFF) and abs(chi[-1] - 1) <= CHI1_OFF, (name, c.sigma_b)
        assert c.q_star == math.inf and c.as_dict()["q_star"] is None
        assert c.text.startswith(f"χ₁ → 1 only as q* → ∞ at σ_w = {c.sigma_w:.4g}: ")
        assert c.text.endswith(f"; no edge of chaos at σ_b = {c.sigma_b:g}")
        assert "the edge of chaos" not in c.text and "χ₁ = 1" not in c.text
    else:
        assert c.q_star < RUN_TO, (name, c.sigma_b)


UNBOUNDED_SIGMA_B = tuple(math.sqrt(b2) for b2 in (0.0, 0.0025, 0.05, 0.5, 1.0))


@pytest.mark.parametrize("name", registry.names())
def test_unbounded_is_where_the_map_runs_off(name: str) -> None:
    """Every registered activation at σ_b² = 0, 0.0025, 0.05, 0.5, 1."""
    from actviz.depth.gain import critical_point

    m = moments(name)
    for b in UNBOUNDED_SIGMA_B:
        c = critical_point(m, b, search=False)
        if c is not None:
            _check_kind(name, c)


def test_the_kinds_on_the_grid() -> None:
    """Which are unbounded (relu's kin with a bias, softplus, logsigmoid, threshold; the
    shrink hardshrink from σ_b² = 0.05, where it no longer jumps); elu, tanh edges."""
    from actviz.depth.gain import critical_point

    kinds = {
        n: [c.kind if c else None for c in (critical_point(moments(n), b, search=False)
                                            for b in UNBOUNDED_SIGMA_B)]
        for n in ("relu", "leaky_relu", "softplus", "hardshrink", "threshold", "elu", "tanh")
    }  # fmt: skip
    assert kinds == {
        "relu": ["edge", *["unbounded"] * 4],
        "leaky_relu": ["edge", *["unbounded"] * 4],
        "softplus": ["unbounded"] * 5,
        "hardshrink": ["jump", "jump", "unbounded", "unbounded", "unbounded"],
        "threshold": ["unbounded"] * 5,
        "elu": ["edge"] * 5,
        "tanh": ["edge"] * 5,
    }


def test_the_unbounded_check_catches_a_wrong_answer() -> None:
    import dataclasses

    from actviz.depth.gain import critical_point

    softplus = critical_point(moments("softplus"), 0.5, search=False)
    tanh = critical_point(moments("tanh"), 0.5, search=False)
    assert softplus is not None and tanh is not None
    assert softplus.kind == "unbounded" and tanh.kind == "edge"
    for name, wrong in (
        ("softplus", dataclasses.replace(softplus, runs_off=False)),  # called an edge
        ("tanh", dataclasses.replace(tanh, runs_off=True)),  # an edge called unbounded
        # a σ_w 0.1 % too small: q* is finite there (χ₁ < 1)
        ("softplus", dataclasses.replace(softplus, sigma_w=softplus.sigma_w * 0.999)),
        ("softplus", dataclasses.replace(softplus, q_star=1e6)),
    ):
        with pytest.raises(AssertionError):
            _check_kind(name, wrong)

    class Worded:  # the words of an edge on an unbounded point
        def __getattr__(self, key: str) -> Any:
            return getattr(softplus, key)

        text = "χ₁ = 1 at σ_w = 1.414, σ_b = 0.5 (q* = inf): the edge of chaos"

    with pytest.raises(AssertionError):
        _check_kind("softplus", Worded())


def test_no_edge_of_chaos_is_said_where_chi1_reaches_one_only_as_q_runs_off() -> None:
    """The brief's example: the table, its notes, --json and --csv, and depth's note."""
    import csv

    names = ["softplus", "hardshrink", "threshold", "relu"]
    table = run("gain", *names, "--bias-std", "0.5")
    assert table.exit_code == 0, table.output
    rows = {line.split()[0]: line for line in table.stdout.splitlines() if line.strip()}
    for name in names:
        assert rows[name].split()[5] == "q*→∞", rows[name]
    notes = [line for line in table.stdout.splitlines() if line.startswith(tuple(names))]
    notes = [line for line in notes if ": " in line]
    assert len(notes) == 4 and all(": χ₁ → 1 only as q* → ∞ at σ_w = " in n for n in notes)
    assert not any("the edge of chaos" in n for n in notes)
    assert "'q*→∞': χ₁ → 1 only as q* → ∞" in " ".join(table.stdout.split())  # the caption
    data = json.loads(run("gain", *names, "--bias-std", "0.5", "--json").stdout)
    assert [d["critical"]["kind"] for d in data] == ["unbounded"] * 4
    assert [d["critical"]["q_star"] for d in data] == [None] * 4
    rows_csv = list(csv.DictReader(run("gain", *names, "--bias-std", "0.5", "--csv").stdout
                                   .splitlines()))  # fmt: skip
    assert [(r["critical_kind"], r["critical_q_star"]) for r in rows_csv] == [
        ("unbounded", "inf")
    ] * 4
    for item in data:
        c = item["critical"]
        _check_kind(item["activation"], SimpleCritical(c))
    d = actviz.simulate(["relu", "softplus"], layers=3, width=8, batch=8, gain="critical",
                     bias_std=0.5, baseline=False)  # fmt: skip
    for r in d.runs:
        assert r.note is not None and r.note.startswith("χ₁ → 1 only as q* → ∞ at σ_w = 1.414")
        assert r.note.endswith("no edge of chaos at σ_b = 0.5")


class SimpleCritical:
    """--json's "critical" read back, for :func:`_check_kind`."""

    def __init__(self, c: dict[str, Any]) -> None:
        self.kind, self.sigma_w, self.sigma_b, self.text = (
            c["kind"], c["sigma_w"], c["sigma_b"], c["text"]
        )  # fmt: skip
        self.q_star = math.inf if c["q_star"] is None else c["q_star"]
        self._dict = c

    def as_dict(self) -> dict[str, Any]:
        return self._dict


def test_an_edge_beyond_the_ladder_is_an_edge_not_unbounded() -> None:
    """elu at σ_b = 1000: χ₁ falls to 1 from above as q grows, and its edge of chaos lies
    past the ladder's top (q* > 5.5e11): solved here from elu's own pieces. With
    g₁ = E[f² − relu²] and g₂ = E[f′² − 1{x>0}] (no cancellation), χ₁ = 1 at
    σ_w² = 1/(1/2 + g₂), and there h(q) − q = (g₁ − q·g₂)/(1/2 + g₂) + σ_b²: its root is
    q*, and σ_w there is the critical σ_w to 1e-6 (actviz's has χ₁ = 1 at q = 1e12, the
    top of its quadrature's range, not at q*: ~1e-7 apart)."""
    from actviz.depth.gain import Q_TOP, critical_point

    c = critical_point(moments("elu"), 1000.0, search=False)
    assert c is not None and c.kind == "edge" and not c.runs_off
    words = f"χ₁ = 1 at σ_w = {c.sigma_w:.4g}, σ_b = 1000 (q* > 5.5e+11): the edge of chaos"
    assert c.text == words
    f, grad, _ = CLOSED_FORMS["elu"]
    p = registry.spec("elu").params
    _, chi = _independent_run("elu", c.sigma_w, 1000.0)
    assert chi[0] > 1.3 and np.all(np.diff(chi) < 0)  # falls to 1 from above

    def pieces(q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        g1 = _np_expect(lambda x: f(x, p) ** 2 - np.maximum(x, 0) ** 2, q, [0.0])
        g2 = _np_expect(lambda x: grad(x, p) ** 2 - (x > 0), q, [0.0])
        return g1, g2

    qs = np.geomspace(1e10, 1e16, 601)
    g1, g2 = pieces(qs)
    gap = (g1 - qs * g2) / (0.5 + g2) + 1000.0**2
    root = int(np.flatnonzero(np.diff(np.sign(gap)))[0])
    q_star = float(qs[root])
    assert Q_TOP < q_star < 1e14
    sigma_w = 1 / math.sqrt(0.5 + float(g2[root]))
    assert c.sigma_w == pytest.approx(sigma_w, rel=1e-6)


ZEROS = """
import torch

def zero(x):
    return x * 0

def tiny(x):
    return 1e-300 * torch.tanh(x)  # its square underflows float64
"""


@pytest.mark.parametrize("name", ["zero", "tiny"])
def test_an_activation_that_is_zero_has_no_gain_and_says_so(
    user_modules: UserModules, name: str
) -> None:
    """Not "overflow" (the outsider's finding): E[f(z)²] is 0 in float64."""
    from actviz.errors import InvalidParameterError

    user_modules(zeroacts=ZEROS)
    with pytest.raises(InvalidParameterError, match=r"is 0 under a standard normal input"):
        gain(f"zeroacts:{name}")
    result = runner.invoke(app, ["gain", "tanh", f"zeroacts:{name}"])
    assert result.exit_code == 2
    assert result.output == (
        f"Error: zeroacts:{name} is 0 under a standard normal input (E[f(z)²] = 0 in "
        "float64): it has no gain\n"
    )
