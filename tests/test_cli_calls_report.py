"""The report commands (saturation, check, depth, gain) are thin: each parses its
options, makes one library call and prints what came back.

The library call is replaced by a fake that records its arguments and returns
a known result, so these tests check what the command passes and prints, not
the numbers (tests/test_saturation.py, test_verify.py, test_depth.py and
test_gain.py check those).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from typer.testing import CliRunner

from actviz import registry
from actviz.check import verify
from actviz.check.verify import Check
from actviz.cli import app
from actviz.depth import gain as init_gain
from actviz.depth import simulation as depth_sim
from actviz.display import strict_json
from actviz.probing import Grid, ProbeOptions
from actviz.registry import spec
from actviz.saturation import survey
from tests.cli.helpers import ClickError, check_error

runner = CliRunner()


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def never(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("the library was called although the options conflict")


class Result:
    """A stand-in result whose JSON the command must print unchanged."""

    def __init__(self, data: Any) -> None:
        self.data = data

    def as_dict(self) -> Any:
        return self.data


def test_saturation_passes_its_options_to_survey_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = survey.survey(
        [spec("tanh"), spec("relu")], Grid(-2, 2, points=5), ProbeOptions("float64")
    )
    fake = mock.Mock(return_value=rows)
    monkeypatch.setattr(survey, "survey_rows", fake)
    args = ["saturation", "tanh", "relu", "--range", "-3", "5", "--points", "9",
            "--dtype", "float64", "--eps", "0.05", "--sort", "peak", "--reverse"]  # fmt: skip
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    assert fake.call_args_list == [
        (
            ([spec("tanh"), spec("relu")], Grid(-3.0, 5.0, 9, None), ProbeOptions("float64")),
            {"eps": 0.05, "sort": "peak", "reverse": True},
        )
    ]
    assert result.stdout == strict_json(survey.survey_json(rows)) + "\n"
    assert [row["activation"] for row in json.loads(result.stdout)] == ["tanh", "relu"]
    assert runner.invoke(app, [*args, "--csv"]).stdout == survey.survey_csv(rows)
    table = runner.invoke(app, args).stdout
    assert table.splitlines()[0].strip() == "saturation on [-2, 2] in float64"
    first = [line.split()[0] for line in table.splitlines() if line.strip()]
    assert [word for word in first if word in ("tanh", "relu")] == ["tanh", "relu"]


def test_saturation_all_sweep_and_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = mock.Mock(return_value=[])
    monkeypatch.setattr(survey, "survey_rows", fake)
    assert runner.invoke(app, ["saturation", "--all", "--json"]).stdout == "[]\n"
    (specs, grid, options), kwargs = fake.call_args_list[0]
    assert [s.name for s in specs] == registry.names()
    assert (grid, options) == (Grid(-8.0, 8.0, None, None), ProbeOptions("float32"))
    assert kwargs == {"eps": 0.01, "sort": "name", "reverse": False}
    runner.invoke(app, ["saturation", "elu", "--sweep", "alpha=0.5,2", "--json"])
    assert [s.label for s in fake.call_args_list[1][0][0]] == ["elu(alpha=0.5)", "elu(alpha=2)"]


def fake_check(label: str, *, passed: bool) -> Check:
    # An imported activation's check: gradcheck alone decides.
    return Check(activation=label, label=label, has_reference=False, dtypes=[],
                 gradcheck=passed, gradgradcheck=None)  # fmt: skip


def test_check_passes_names_and_dtypes_to_verify_all(monkeypatch: pytest.MonkeyPatch) -> None:
    checks = [fake_check("relu", passed=True)]
    fake = mock.Mock(return_value=checks)
    monkeypatch.setattr(verify, "verify_all", fake)
    args = ["check", "relu", "--dtype", "float16", "--dtype", "float64", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert fake.call_args_list == [(([spec("relu")], ["float16", "float64"]), {"formula": None})]
    assert result.stdout == strict_json([checks[0].as_dict()]) + "\n"
    result = runner.invoke(app, ["check", "relu"])
    assert fake.call_args_list[1] == (([spec("relu")], None), {"formula": None})
    assert "relu" in result.stdout and "no reference" in result.stdout


def test_check_exits_1_with_what_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    checks = [fake_check("relu", passed=True), fake_check("mine", passed=False),
              fake_check("other", passed=False)]  # fmt: skip
    monkeypatch.setattr(verify, "verify_all", mock.Mock(return_value=checks))
    result = runner.invoke(app, ["check", "relu", "--json"])
    assert result.exit_code == 1
    assert [c["passed"] for c in json.loads(result.stdout)] == [True, False, False]
    assert result.stderr == (
        "Error: derivative check failed for mine (gradcheck); other (gradcheck)\n"
    )
    assert verify.failure_message(checks[:1]) is None


def test_depth_passes_its_options_to_depth(monkeypatch: pytest.MonkeyPatch, in_tmp: Path) -> None:
    fake = mock.Mock(return_value=Result({"runs": "what depth returned"}))
    monkeypatch.setattr(depth_sim, "simulate", fake)
    args = ["depth", "tanh", "elu", "--layers", "7", "--width", "16", "--batch", "8",
            "--init", "xavier", "--gain", "critical", "--bias-std", "0.1", "--seed", "3",
            "--param", "alpha=0.5", "--eps", "0.02", "--no-baseline", "--no-plot",
            "--output-grad", "loss", "--json"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert fake.call_args_list == [
        (
            ([spec("tanh"), spec("elu", {"alpha": 0.5})],),
            {"layers": 7, "width": 16, "batch": 8, "init": "xavier", "gain": "critical",
             "bias_std": 0.1, "seed": 3, "eps": 0.02, "baseline": False,
             "output_grad": "loss", "shape": None},
        )
    ]  # fmt: skip
    assert result.stdout == '{"runs": "what depth returned"}\n'
    assert list(in_tmp.iterdir()) == []  # --no-plot


def test_depth_writes_the_figure_of_what_depth_returned(
    monkeypatch: pytest.MonkeyPatch, in_tmp: Path
) -> None:
    from actviz import figure_files

    returned = Result({"a": 1})
    fake = mock.Mock(return_value=in_tmp / "fig.svg")
    monkeypatch.setattr(depth_sim, "simulate", mock.Mock(return_value=returned))
    monkeypatch.setattr(figure_files, "depth_file", fake)
    result = runner.invoke(app, ["depth", "relu", "--format", "svg", "--dpi", "90", "--json"])
    assert result.exit_code == 0, result.output
    assert fake.call_args_list == [
        ((returned,), {"out": None, "out_dir": Path("outputs"), "fmt": "svg", "dpi": 90})
    ]
    assert result.stdout == '{"a": 1}\n'
    assert result.stderr == f"wrote {in_tmp / 'fig.svg'}\n"  # stdout stays JSON


def test_gain_passes_its_options_to_gain(monkeypatch: pytest.MonkeyPatch) -> None:
    gains = init_gain.gain(["tanh"])
    fake = mock.Mock(return_value=gains)
    monkeypatch.setattr(init_gain, "gain", fake)
    result = runner.invoke(app, ["gain", "tanh", "--bias-std", "0.25", "--json"])
    assert result.exit_code == 0, result.output
    assert fake.call_args_list == [(([spec("tanh")],), {"bias_std": 0.25})]
    assert result.stdout == strict_json([gains[0].as_dict()]) + "\n"
    runner.invoke(app, ["gain", "--all", "--csv"])
    assert fake.call_args_list[1] == (
        ([spec(name) for name in registry.names()],),
        {"bias_std": 0.0},
    )


def test_gain_plot_draws_the_named_activations(
    monkeypatch: pytest.MonkeyPatch, in_tmp: Path
) -> None:
    from actviz import figure_files

    curves = mock.Mock(return_value=["curve"])
    written = mock.Mock(return_value=in_tmp / "phase.pdf")
    monkeypatch.setattr(init_gain, "gain", mock.Mock(return_value=[Result({"g": 1})]))
    monkeypatch.setattr(init_gain, "phase_curves", curves)
    monkeypatch.setattr(figure_files, "phase_file", written)
    args = ["gain", "tanh", "relu", "--plot", "--format", "pdf", "--out-dir", "figs", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert curves.call_args_list == [(([spec("tanh"), spec("relu")],), {})]
    assert written.call_args_list == [
        ((["curve"],), {"out": None, "out_dir": Path("figs"), "fmt": "pdf", "dpi": 150})
    ]
    assert (result.stdout, result.stderr) == ('[{"g": 1}]\n', f"wrote {in_tmp / 'phase.pdf'}\n")


CONFLICTS = [
    (["saturation", "--all", "--json", "--csv"], survey, "survey_rows"),
    (["depth", "relu", "--json", "--csv"], depth_sim, "simulate"),
    (["gain", "--all", "--json", "--csv"], init_gain, "gain"),
]


@pytest.mark.parametrize(("args", "module", "call"), CONFLICTS, ids=[c[0][0] for c in CONFLICTS])
def test_json_with_csv_is_refused_before_any_work(
    monkeypatch: pytest.MonkeyPatch, args: list[str], module: Any, call: str
) -> None:
    monkeypatch.setattr(module, call, never)
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == "Error: give --json or --csv, not both\n"


@pytest.mark.parametrize(
    ("args", "module", "call"),
    [
        (["depth", "relu", "--format", "gif"], depth_sim, "simulate"),
        (["gain", "relu", "--plot", "--format", "gif"], init_gain, "gain"),
    ],
)
def test_a_figure_format_is_checked_before_any_work(
    monkeypatch: pytest.MonkeyPatch, args: list[str], module: Any, call: str
) -> None:
    monkeypatch.setattr(module, call, never)
    # One --format type for every figure (FormatName): Click refuses it while parsing.
    check_error(args, 2, ClickError("'--format'", "gif"))


def test_survey_rows_checks_the_sort_key_before_probing(monkeypatch: pytest.MonkeyPatch) -> None:
    from actviz.errors import UsageError

    monkeypatch.setattr(survey, "probe_many", never)
    with pytest.raises(UsageError, match="cannot sort by 'size'; choose one of name, peak"):
        survey.survey_rows([spec("relu")], Grid(-1, 1, points=3), sort="size")
