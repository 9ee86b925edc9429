"""Softmax-family Jacobians: the seed lesson's rows, the closed forms, the explanation."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure
from typer.testing import CliRunner

from actviz.cli import app
from actviz.display import number
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
    row = ", ".join(number(v) for v in jacobian("softmax").jacobian[1])
    assert f"torch.autograd.grad(p[1], [a])                 = [{row}]" in text
    assert row == "-0.12699, 0.2287, -0.1017"  # the lesson's row, never rounded onto -0.127


def test_cli_matrix_heatmap_and_json(tmp_path: Path) -> None:
    out = tmp_path / "j.png"
    result = runner.invoke(app, ["jacobian", "softmax", "--out", str(out), "--explain"])
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.stdout
    assert "│ softmax(a)_1 │ -0.12699 │   0.2287 │ -0.1017 │" in result.stdout
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
        (["softmax", "--input"], "Error: --input needs values, e.g. --input 0.8865 0.873 0.6643"),
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

    from actviz.jacobian import SEED_INPUT, explain

    lines = explain(function)
    ones = next(line for line in lines if "grad_outputs=ones" in line)
    shown = ones.split("=", 2)[-1].split("]")[0].strip(" [").split(", ")
    numbers = [float(v) for v in shown]
    a = torch.tensor(SEED_INPUT, dtype=torch.float64)
    s = torch.softmax(a, dim=0)
    expected = (1 - len(a) * s).tolist() if function == "log_softmax" else [0.0] * len(a)
    assert numbers == pytest.approx(expected, abs=1e-4)
    text = " ".join(lines)
    if function == "log_softmax":
        assert "changes with a, so it is not 0" in text
    else:
        assert "= 1 for every a, so it is 0 (up to float64 rounding)" in text
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


def _cells(text: str, label: str) -> list[list[str]]:
    """The cells of the rows of an ``actviz jacobian`` table, by their label."""
    rows = [line.split("│")[1:-1] for line in text.splitlines() if f"│ {label}(a)_" in line]
    return [[c.strip() for c in row[1:]] for row in rows]


@settings(max_examples=25, deadline=None)
@given(
    function=st.sampled_from(list(FUNCTIONS)),
    values=st.lists(
        st.one_of(st.floats(-40, 40), st.sampled_from([0.0, 1e-3, -30.0, 30.0, 700.0, -700.0])),
        min_size=2, max_size=5,
    ),
)  # fmt: skip
def test_every_cell_is_the_one_formatter_of_its_jacobian_entry(
    function: str, values: list[float]
) -> None:
    """Every printed cell, heatmap annotation and notebook cell is ``display.number`` of
    its entry: exact entries exactly, others to 4 significant digits (never -0.0000;
    a tiny negative entry prints its digits)."""
    from rich.console import Console

    from actviz.jacobian import draw_jacobian_heatmap, jacobian_report

    report = jacobian(function, values)
    J = report.jacobian
    console = Console(width=400, record=True, color_system=None)
    console.print(jacobian_report(report))
    text = console.export_text()
    cells = _cells(text, function)
    assert cells == [[number(v) for v in row] for row in J]
    assert "0.0000" not in text
    for shown, v in zip((c for row in cells for c in row), J.reshape(-1), strict=True):
        assert float(shown) == pytest.approx(float(v), rel=5e-4, abs=0.0)
        assert (shown.startswith("-")) == (math.copysign(1.0, float(v)) < 0)
    assert f"at a = [{', '.join(number(v) for v in values)}]" in " ".join(text.split())
    figure = Figure()
    draw_jacobian_heatmap(figure.subplots(), report)
    annotations = [t.get_text() for t in figure.axes[0].texts]
    assert annotations == [number(v) for v in J.reshape(-1)]
    html = report._repr_html_()
    for row in J:
        assert "".join(f'<td style="text-align:right">{number(v)}</td>' for v in row) in html


def test_a_tiny_negative_entry_prints_its_digits_and_the_check_catches_a_rounded_one() -> None:
    """softmax at [0, 12] has off-diagonal entries of about -6.1e-6: printed with their
    digits, not as -0.0000; a cell rounded to 4 decimals would not match its entry."""
    report = jacobian("softmax", [0.0, 12.0])
    entry = float(report.jacobian[0, 1])
    s = torch.softmax(torch.tensor([0.0, 12.0], dtype=torch.float64), dim=0)
    assert entry == pytest.approx(-float(s[0] * s[1]), rel=1e-12)  # J = diag(s) − s sᵀ
    assert -1e-5 < entry < 0
    result = runner.invoke(app, ["jacobian", "softmax", "--input", "0", "12"])
    cells = _cells(result.stdout, "softmax")
    assert cells[0][1] == number(entry) and float(cells[0][1]) == pytest.approx(entry, rel=5e-4)
    assert cells[0][1].startswith("-6.144e-") and "-0.0000" not in result.stdout
    wrong = f"{entry:.4f}"  # the old fixed-decimal cell, injected
    assert wrong == "-0.0000" and wrong != number(entry)
    assert float(wrong) != pytest.approx(entry, rel=5e-4, abs=0.0)
