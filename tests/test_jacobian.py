"""Softmax-family Jacobians: the seed lesson's rows, the closed forms, the explanation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from actviz.cli import app
from actviz.jacobian import FUNCTIONS, explain, jacobian, random_input
from tests.test_plotting import png_size

runner = CliRunner()


def test_seed_lesson_rows() -> None:
    report = jacobian("softmax")  # a = [0.8865, 0.8730, 0.6643]
    np.testing.assert_allclose(report.output, [0.3588, 0.3540, 0.2873], atol=1e-4)
    # torch.autograd.grad(p[1], [a]) and (p[2], [a]) in the lesson
    np.testing.assert_allclose(report.jacobian[1], [-0.1270, 0.2287, -0.1017], atol=1e-4)
    np.testing.assert_allclose(report.jacobian[2], [-0.1031, -0.1017, 0.2047], atol=2e-4)


@pytest.mark.parametrize("function", list(FUNCTIONS))
@pytest.mark.parametrize("seed", range(5))
def test_closed_form_identity_and_zero_row_sums(function: str, seed: int) -> None:
    values = random_input(2 + 3 * seed, seed)
    report = jacobian(function, values)
    assert report.jacobian.shape == (len(values), len(values))
    assert report.identity_deviation < 1e-6 and report.row_sum_deviation < 1e-6
    s = np.exp(report.output) if function == "log_softmax" else report.output
    if function == "softmax":  # J = diag(s) − s sᵀ, computed here with numpy
        np.testing.assert_allclose(report.jacobian, np.diag(s) - np.outer(s, s), atol=1e-12)
    if function == "log_softmax":  # J_ij = δ_ij − s_j
        np.testing.assert_allclose(report.jacobian, np.eye(len(s)) - s[None, :], atol=1e-12)


def test_explain_shows_the_error_and_the_vector_jacobian_product() -> None:
    lines = explain("softmax")
    text = "\n".join(lines)
    assert "RuntimeError: grad can be implicitly created only for scalar outputs" in text
    assert "torch.autograd.grad(p[1], [a])                 = [-0.1270, 0.2287, -0.1017]" in text
    assert "grad_outputs=ones)  = [0.0000, 0.0000, 0.0000]" in text.replace("-0.0000", "0.0000")


def test_cli_matrix_heatmap_and_json(tmp_path: Path) -> None:
    out = tmp_path / "j.png"
    result = runner.invoke(app, ["jacobian", "softmax", "--out", str(out), "--explain"])
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.stdout
    assert "│ softmax(a)_1 │ -0.1270 │  0.2287 │ -0.1017 │" in result.stdout
    assert "every row sums to 0" in result.stdout and "RuntimeError" in result.stdout
    assert png_size(out)[0] > 400
    data = json.loads(runner.invoke(app, ["jacobian", "softmin", "--input", "0.5", "-1", "2",
                                          "--json"]).stdout)  # fmt: skip
    assert data["input"] == [0.5, -1.0, 2.0] and len(data["jacobian"]) == 3
    data = json.loads(
        runner.invoke(app, ["jacobian", "log_softmax", "--random", "5", "--json"]).stdout
    )
    assert len(data["input"]) == 5 and data["row_sum_deviation"] < 1e-12


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["tanh"], "Error: unknown function 'tanh'; choose one of softmax, log_softmax, softmin"),
        (["softmax", "1", "2"], "Error: unexpected values [1.0, 2.0]; put them after --input"),
        (["softmax", "--input"], "Error: --input needs values, e.g. --input 0.8865 0.8730 0.6643"),
        (
            ["softmax", "--input", "1", "2", "--random", "3"],
            "Error: give --input values or --random N, not both",
        ),
        (["softmax", "--random", "1"], "Error: --random must be between 2 and 64 (got 1)"),
        (["softmax", "--input", "1"], "Error: give between 2 and 64 input values (got 1)"),
    ],
)
def test_bad_jacobian_input(args: list[str], line: str) -> None:
    result = runner.invoke(app, ["jacobian", *args])
    assert (result.exit_code, result.stderr) == (2, line + "\n")


@pytest.mark.parametrize("function", ["softmax", "log_softmax", "softmin"])
def test_explain_says_what_backward_of_ones_computes(function: str) -> None:
    """backward(ones) is 1ᵀJ (column sums): 0 where Σ p is constant, 1 − n·s for log_softmax."""
    import re

    from actviz.jacobian import SEED_INPUT, explain

    lines = explain(function)
    ones = next(line for line in lines if "grad_outputs=ones" in line)
    numbers = [float(v) for v in re.findall(r"-?\d+\.\d+", ones.split("=", 2)[-1])]
    a = torch.tensor(SEED_INPUT, dtype=torch.float64)
    s = torch.softmax(a, dim=0)
    expected = (1 - len(a) * s).tolist() if function == "log_softmax" else [0.0] * len(a)
    assert numbers == pytest.approx(expected, abs=1e-4)
    text = " ".join(lines)
    if function == "log_softmax":
        assert "changes with a, so it is not 0" in text
    else:
        assert "= 1 for every a, so it is 0" in text
    assert "backward computes vᵀJ, not J·v" in text


def test_jacobian_input_follows_the_choices() -> None:
    from actviz.jacobian import SEED_INPUT, jacobian_input

    assert jacobian_input() == list(SEED_INPUT)
    assert jacobian_input([0.5, -1.0], use_input=True) == [0.5, -1.0]
    drawn = jacobian_input(random=4, seed=3)
    assert drawn == random_input(4, 3) and len(drawn) == 4 and drawn != jacobian_input(random=4)


def test_run_saves_the_heatmap_and_explains_only_when_asked(tmp_path: Path) -> None:
    from actviz.jacobian import run

    quiet = run("softmax")
    assert (quiet.figure, quiet.explanation) == (None, [])
    assert quiet.report.a.tolist() == [0.8865, 0.8730, 0.6643]
    done = run("log_softmax", [0.5, -1.0, 2.0], use_input=True, out=tmp_path / "j.png",
               explained=True)  # fmt: skip
    assert done.figure == tmp_path / "j.png" and png_size(done.figure)[0] > 400
    assert done.explanation == explain("log_softmax", [0.5, -1.0, 2.0])
    assert np.array_equal(done.report.jacobian, jacobian("log_softmax", [0.5, -1, 2]).jacobian)
