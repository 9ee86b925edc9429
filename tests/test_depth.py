"""The deep-network simulation: per-layer numbers, verdicts, the stability the
auto gain promises, the figure, and `actviz depth`."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

import actviz
from actviz import registry
from actviz.cli import app
from actviz.depth.gain import gain, moments
from actviz.depth.plots import depth_figure, draw_histograms, draw_std
from actviz.depth.simulation import Depth, LayerStats, verdict
from actviz.depth.simulation import simulate as depth
from tests.cli.helpers import ClickError, check_error
from tests.conftest import UserModules
from tests.test_plotting import png_size

runner = CliRunner()


def _close(drawn: Any, expected: Any) -> None:
    """A line's data against the numbers it was drawn from."""
    np.testing.assert_allclose(np.asarray(drawn, dtype=float), np.asarray(expected, dtype=float))


# The bounds the README documents: with --gain auto, over 50 layers at width 128,
# the activation std stays within these factors (max/min over the layers) when
# the forward gain's fixed point is stable, or marginal (relu and its kin, whose
# std drifts at finite width: 1.7× to 3.8× over seeds 0–5).
AUTO_GAIN_SPREAD = {"stable": 2.5, "marginal": 5.0}


@pytest.mark.slow
def test_auto_gain_keeps_the_activation_std_for_every_registered_activation() -> None:
    result = depth(registry.names(), layers=50, width=128, batch=128, baseline=False)
    unstable = []
    for run in result.runs:
        g = gain(run.spec)[0]
        assert run.gain == pytest.approx(g.forward)
        if g.stability == "unstable":
            # where a gain cannot hold the signal, the run says so
            assert run.note is not None and "unstable fixed point" in run.note
            unstable.append(run.label)
            continue
        bound = AUTO_GAIN_SPREAD[g.stability]
        assert run.activation_spread <= bound, (run.label, run.forward_text)
    assert "gelu" in unstable and "tanh" not in unstable and "relu" not in unstable
    spreads = {r.label: r.activation_spread for r in result.runs}
    assert spreads["gelu"] > 10  # and it really is not held
    assert spreads["tanh"] < 1.3


def test_first_layer_numbers_follow_the_init() -> None:
    """Layer 1 sees N(0, 1) inputs: pre-activation std = gain; relu kills half."""
    (run,) = depth("relu", layers=3, width=256, batch=256, baseline=False).runs
    first = run.layers[0]
    assert first.pre_std == pytest.approx(math.sqrt(2), rel=0.02)
    assert first.pre_mean == pytest.approx(0.0, abs=0.02)
    assert first.act_mean == pytest.approx(math.sqrt(2) / math.sqrt(2 * math.pi), rel=0.03)
    assert first.dead == pytest.approx(0.5, abs=0.01)
    assert first.saturated == 0.0
    (orth,) = depth("tanh", layers=2, init="orthogonal", gain=2.0, baseline=False).runs
    # orthogonal rows of norm 2: every pre-activation vector is exactly twice its input
    assert math.hypot(orth.layers[0].pre_std, orth.layers[0].pre_mean) == pytest.approx(2, rel=0.01)


def test_saturated_share_is_judged_against_the_true_peak() -> None:
    """sigmoid′ < 0.01 × 0.25 where |x| > 5.99; at gain 10, h ~ N(0, 100). Beyond
    x ≈ 16.6 (right side only: σ(x) rounds to 1) float32's sigmoid′ is exactly 0:
    those units count as dead."""

    def beyond(edge: float) -> float:
        return 2 * (1 - 0.5 * (1 + math.erf(edge / 10 / math.sqrt(2))))

    (run,) = depth("sigmoid", layers=1, width=256, batch=256, gain=10, baseline=False).runs
    first = run.layers[0]
    assert first.pre_std == pytest.approx(10, rel=0.02)
    assert first.saturated + first.dead == pytest.approx(beyond(5.9902), abs=0.01)
    assert first.dead == pytest.approx(beyond(16.64) / 2, abs=0.005)
    assert first.dead > 0.03


def test_gradient_decay_at_default_init_matches_mean_field_chi1() -> None:
    """nn.Linear's default init: tanh's gradient shrinks by √χ₁ = √(1/3) per layer."""
    (run,) = depth("tanh", layers=30, width=256, batch=256, init="default").runs
    stds = [s.grad_input_std for s in run.layers]
    per_layer = (stds[5] / stds[25]) ** (1 / 20)
    assert per_layer == pytest.approx(math.sqrt(gain("tanh")[0].default_chi1), rel=0.05)
    assert run.verdict.kind == "vanishing" and run.verdict.ratio < 1e-5
    assert run.gain is None and run.setting == "nn.Linear default init"


def test_comparison_default_init_vanishes_and_auto_gain_holds_the_signal() -> None:
    result = depth(["sigmoid", "tanh", "relu"], layers=30, width=128, batch=128)
    assert [b.init for b in result.baselines] == ["default"] * 3
    for run, base in zip(result.runs, result.baselines, strict=True):
        assert base.verdict.kind == "vanishing"
        assert base.layers[-1].act_std < 0.5 * run.layers[-1].act_std
        assert run.activation_spread < AUTO_GAIN_SPREAD["marginal"]
    assert result.runs[0].note is not None and "far from 0" in result.runs[0].note


def _layers(grads: list[float]) -> list[LayerStats]:
    return [LayerStats(i + 1, 0, 1, 0, 1, 0, 0, g, g) for i, g in enumerate(grads)]


def test_verdict_words() -> None:
    assert verdict(_layers([1e-9, 1e-5, 1.0])).text == (
        "gradient at layer 1 is 1.0e-09 of layer 3: vanishing"
    )
    assert verdict(_layers([1.5, 1.0, 1.2])).text == "stable within 1.5× over 3 layers"
    assert (
        verdict(_layers([40.0, 3.0, 1.0])).text == "gradient at layer 1 is 40× layer 3: exploding"
    )
    assert verdict(_layers([0.0, 0.0, 1e-3, 1.0])).text == (
        "vanishing: the gradient is exactly 0 from layer 2 down (dead units or float32 underflow)"
    )
    assert verdict(_layers([1.0, 0.0])).kind == "dead"
    assert verdict(_layers([math.inf, 1.0])).kind == "exploding"


def test_gain_modes() -> None:
    tanh = gain("tanh")[0]
    runs = {
        mode: depth("tanh", layers=2, width=16, batch=8, gain=mode, baseline=False).runs[0]
        for mode in ("auto", "backward", "critical", "torch", "0.5")
    }
    assert runs["auto"].gain == pytest.approx(tanh.forward)
    assert runs["backward"].gain == pytest.approx(tanh.backward)
    assert runs["critical"].gain == pytest.approx(tanh.critical_sigma_w)
    assert runs["torch"].gain == pytest.approx(5 / 3)
    assert runs["0.5"].gain == 0.5 and runs["0.5"].gain_mode == "number"
    biased = depth(
        "tanh", layers=2, width=16, batch=8, gain="critical", bias_std=0.5, baseline=False
    ).runs[0]
    assert biased.gain == pytest.approx(gain("tanh", bias_std=0.5)[0].critical_sigma_w)


def test_same_seed_same_numbers_and_the_global_rng_is_left_alone() -> None:
    import torch

    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = depth("gelu", layers=4, width=32, batch=16, seed=3).as_dict()
    after = torch.rand(1)
    assert torch.equal(before, after)
    assert a == depth("gelu", layers=4, width=32, batch=16, seed=3).as_dict()
    assert a != depth("gelu", layers=4, width=32, batch=16, seed=4).as_dict()


def test_the_figure_draws_the_runs() -> None:
    result = depth(["tanh", "relu"], layers=6, width=32, batch=32)
    fig = depth_figure(result)
    # 2 × 2 histogram panels, the colour bar, forward and backward std panels, then
    # the input pairs' correlation panel of each activation
    assert len(fig.axes) == 9
    forward = fig.axes[5]
    solid = [line for line in forward.lines if line.get_linestyle() == "-"]
    dashed = [line for line in forward.lines if line.get_linestyle() == "--"]
    assert len(solid) == 2 and len(dashed) == 2
    _close(solid[0].get_ydata(), [s.act_std for s in result.runs[0].layers])
    _close(dashed[1].get_ydata(), [s.act_std for s in result.baselines[1].layers])
    lines = draw_histograms(fig.axes[0], result.runs[0], "gradients")
    assert len(lines) == 6
    _close(lines[2].get_ydata(), result.runs[0].gradients[2].density)
    hist = result.runs[0].activations[0]
    assert np.sum(hist.density) * (hist.centers[1] - hist.centers[0]) == pytest.approx(1.0)
    backward = draw_std(fig.axes[6], result.runs, "grad_input_std")
    _close(backward[1].get_ydata(), [s.grad_input_std for s in result.runs[1].layers])


def test_actviz_depth_is_the_function() -> None:
    result = actviz.simulate("relu", layers=2, width=8, batch=4, baseline=False)
    assert isinstance(result, Depth) and len(result.runs[0].layers) == 2
    assert moments("relu").f2() == pytest.approx(0.5)


MODULE = """
import torch

def swish(x):
    return x * torch.sigmoid(x)
"""


@pytest.fixture()
def user_module(user_modules: UserModules) -> None:
    user_modules(depthacts=MODULE)


@pytest.mark.usefixtures("user_module")
def test_custom_activation_runs_like_its_registered_twin() -> None:
    custom = depth("depthacts:swish", layers=5, width=32, batch=16, baseline=False).runs[0]
    silu = depth("silu", layers=5, width=32, batch=16, baseline=False).runs[0]
    assert custom.gain == pytest.approx(silu.gain, rel=1e-12)
    for a, b in zip(custom.layers, silu.layers, strict=True):
        assert a.act_std == pytest.approx(b.act_std, rel=1e-5)
        assert a.grad_input_std == pytest.approx(b.grad_input_std, rel=1e-4)
    result = runner.invoke(
        app, ["depth", "depthacts:swish", "--layers", "2", "--width", "8", "--no-plot", "--csv"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1].startswith("depthacts:swish,kaiming,")


# --- the command ---------------------------------------------------------------------


@pytest.fixture()
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str) -> Any:
    return runner.invoke(app, list(args))


def test_depth_writes_the_figure_and_prints_tables_and_verdicts(in_tmp: Path) -> None:
    result = run("depth", "tanh", "relu", "--layers", "4", "--width", "32", "--batch", "16")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "wrote outputs/depth-tanh_relu.png"
    assert png_size(in_tmp / "outputs" / "depth-tanh_relu.png") == (1350, 2277)
    expected = depth(["tanh", "relu"], layers=4, width=32, batch=16)
    tanh = expected.runs[0]
    assert f"forward: {tanh.forward_text}" in lines
    assert f"backward: {tanh.verdict.text}" in lines
    assert tanh.mean_field.text in lines
    base = expected.baselines[0]
    assert f"at nn.Linear's default init: {base.forward_text}; {base.verdict.text}" in lines
    assert sum(line.strip().startswith("4 ") for line in lines) == 2  # a row for layer 4 each


def test_depth_json_and_csv(in_tmp: Path) -> None:
    result = run(
        "depth",
        "sigmoid",
        "--layers",
        "3",
        "--width",
        "16",
        "--batch",
        "8",
        "--json",
        "--out",
        "d.svg",
    )
    assert result.exit_code == 0, result.output
    assert result.stderr == "wrote d.svg\n"
    data = json.loads(result.stdout)
    expected = depth("sigmoid", layers=3, width=16, batch=8)
    assert data == json.loads(json.dumps(expected.as_dict()))
    assert data["runs"][0]["gain_mode"] == "auto"
    assert [row["layer"] for row in data["runs"][0]["per_layer"]] == [1, 2, 3]
    result = run(
        "depth",
        "relu",
        "--layers",
        "2",
        "--width",
        "8",
        "--batch",
        "4",
        "--csv",
        "--no-plot",
        "--no-baseline",
        "--gain",
        "1.5",
        "--init",
        "xavier",
    )
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "activation,init,gain,gain_mode,bias_std,layer,pre_mean,pre_std,act_mean,act_std,"
        "saturated,dead,grad_input_std,grad_weight_std,pairs_0,pairs_0_mean_field,pairs_0.5,"
        "pairs_0.5_mean_field,pairs_0.9,pairs_0.9_mean_field,pairs_0.99,pairs_0.99_mean_field"
    )
    assert len(lines) == 3 and lines[2].startswith("relu,xavier,1.5,number,0.0,2,")
    assert not (in_tmp / "outputs").exists()


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["--init", "he"],
            "Error: unknown init 'he'; choose one of kaiming, xavier, orthogonal, default",
        ),
        (
            ["--gain", "big"],
            "Error: unknown gain 'big'; choose one of auto, backward, critical, "
            "torch or give a number",
        ),
        (["--gain", "0"], "Error: gain must be a positive number (got '0')"),
        (
            ["--init", "default", "--gain", "2"],
            "Error: --init default keeps nn.Linear's own weights and biases; --gain and --bias-std "
            "apply to kaiming, xavier and orthogonal",
        ),
        (["--layers", "0"], "Error: layers must be at least 1 (got 0)"),
        (
            ["--width", "100000", "--batch", "1000"],
            "Error: layers × width × batch = 2,000,000,000 is above the cap of 10,000,000 "
            "(autograd keeps every layer); use fewer layers (--layers), a smaller width "
            "(--width) or a smaller batch (--batch)",
        ),
        (["--bias-std", "-0.5"], "Error: bias std must be a number from 0 to 1e150 (got -0.5)"),
        (["--eps", "2"], "Error: eps must be between 0 and 1 (got 2)"),
        (
            ["--output-grad", "sum"],
            "Error: unknown output_grad 'sum'; choose one of random, ones, loss",
        ),
        (["--json", "--csv"], "Error: give --json or --csv, not both"),
        (
            ["--format", "gif"],
            ClickError("'--format'", "gif", "png", "svg", "pdf"),
        ),
    ],
)
def test_depth_errors_are_one_line_exit_2(args: list[str], line: str | ClickError) -> None:
    check_error(["depth", "tanh", *args], 2, line)


def test_depth_torch_gain_where_torch_has_none() -> None:
    result = run("depth", "gelu", "--gain", "torch", "--no-plot")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: torch.nn.init.calculate_gain has no gain for gelu; "
        "use --gain auto (computed) or a number\n"
    )


def test_a_forward_pass_that_overflows_is_the_verdict_not_nan_statistics() -> None:
    (run,) = depth("relu", layers=30, width=16, batch=16, gain=100, baseline=False).runs
    assert run.forward_text == "activation std 62.9, overflowing at layer 22 of 30"
    assert (run.verdict.kind, run.verdict.text) == (
        "exploding",
        "exploding: the activations overflow at layer 22",
    )
    (huge,) = depth("relu", layers=3, width=8, batch=8, bias_std=1e150, baseline=False).runs
    assert huge.verdict.text == "exploding: the activations overflow at layer 1"


# --- caps counted before any work (issue 19) ---------------------------------


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (  # width² alone: 17 s / 4.9 GB before
            ["--layers", "1", "--width", "20000", "--batch", "1"],
            "Error: layers × width² = 400,000,000 weights, above the cap of 16,000,000; use "
            "fewer layers (--layers) or a smaller width (--width)",
        ),
        (  # 12 s / 2.5 GB before
            ["--layers", "762"],
            "Error: layers × width × batch = 49,938,432 is above the cap of 10,000,000 "
            "(autograd keeps every layer); use fewer layers (--layers), a smaller width "
            "(--width) or a smaller batch (--batch)",
        ),
        (
            ["--layers", "1001", "--width", "1", "--batch", "1"],
            "Error: layers (--layers) = 1,001 is above the cap of 1,000",
        ),
        (  # width × batch under the unit cap, but 1.9·10¹¹ multiply-adds
            ["--layers", "1", "--width", "3200", "--batch", "3100"],
            "Error: 1 activation and its baseline at 1 layer × width 3,200 × batch 3,100 "
            "take 190,564,000,000 multiply-adds, above the cap of 100,000,000,000; use fewer "
            "activations, fewer layers (--layers), a smaller width (--width) or batch "
            "(--batch), or --no-baseline",
        ),
        (  # orthogonal's QR: 60 s before
            ["--init", "orthogonal", "--width", "3700", "--batch", "1", "--layers", "1"],
            "Error: 1 activation and its baseline at 1 layer × width 3,700 × batch 1 and "
            "orthogonal's QR take 101,488,140,000 multiply-adds, above the cap of 100,000,000,000; "
            "use fewer activations, fewer layers (--layers), a smaller width (--width) or batch "
            "(--batch), or --no-baseline",
        ),
    ],
)
def test_depth_above_a_cap_is_refused_before_torch_runs(
    args: list[str], line: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from actviz.depth import simulation as depth_sim

    def no_work(*_: object, **__: object) -> None:
        raise AssertionError("a run started")

    monkeypatch.setattr(depth_sim, "_run", no_work)
    monkeypatch.setattr(depth_sim, "resolve_gain", no_work)
    result = run("depth", "tanh", "--no-plot", *args)
    assert (result.exit_code, result.stderr) == (2, line + "\n")


def test_depth_counts_every_activation_name(monkeypatch: pytest.MonkeyPatch) -> None:
    from actviz import errors
    from actviz.depth import simulation as depth_sim

    monkeypatch.setattr(depth_sim, "_run", lambda *a, **k: pytest.fail("a run started"))
    # 1000 layers of one activation fit; of 23 they do not (Python time per layer)
    depth_sim.check_cost(1000, 8, 8, "kaiming", names=1, baseline=False)
    with pytest.raises(errors.InvalidParameterError, match=r"^23 activations and their"):
        depth([*registry.names()][:23], layers=1000, width=8, batch=8)


@pytest.mark.parametrize(
    ("layers", "width", "batch", "init", "baseline"),
    [
        (1, 4000, 1000, "kaiming", True),  # MAX_WEIGHTS exactly (16,000,000)
        (1000, 100, 100, "kaiming", False),  # MAX_LAYERS and MAX_UNITS exactly
        (1, 3000, 1, "orthogonal", True),
    ],
)
def test_depth_at_its_caps_is_accepted(
    layers: int, width: int, batch: int, init: str, baseline: bool
) -> None:
    from actviz.depth import simulation as depth_sim

    depth_sim.check_cost(layers, width, batch, init, names=1, baseline=baseline)
    assert depth_sim.depth_work(layers, width, batch, init, baseline=baseline) <= (
        depth_sim.MAX_WORK
    )
