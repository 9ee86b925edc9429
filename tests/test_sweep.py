"""Parameter sweeps, custom activations with parameters, PReLU's weight gradient (issue 12)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from actviz import params
from actviz.cli import app
from actviz.errors import InvalidGridError, InvalidParameterError, UsageError
from actviz.export import export
from actviz.figure_files import default_stem
from actviz.plotting import activation_figure
from actviz.probing import Grid, probe, probe_many, weight_grads
from tests.conftest import UserModules

runner = CliRunner()
SLOPES = ["negative_slope=0.01,0.1,0.3"]
SMALL = ["--range", "-2", "2", "--points", "5"]


def run(*args: str) -> Any:
    return runner.invoke(app, list(args), env={"CI": "1"})


# --- the grammar --------------------------------------------------------------


def test_a_sweep_is_one_spec_per_value_each_naming_its_value() -> None:
    specs = params.specs_from_cli(["leaky_relu"], [], SLOPES)
    assert [s.params["negative_slope"] for s in specs] == [0.01, 0.1, 0.3]
    # the default 0.01 is named too: every curve of a sweep says which it is
    assert [s.label for s in specs] == [
        "leaky_relu(negative_slope=0.01)",
        "leaky_relu(negative_slope=0.1)",
        "leaky_relu(negative_slope=0.3)",
    ]
    (found,) = params.sweeps_from_cli(["leaky_relu"], [], SLOPES)
    assert found.label == "leaky_relu(negative_slope ∈ {0.01, 0.1, 0.3})"
    assert found.slug == "leaky_relu-sweep-negative_slope"
    assert found.as_dict() == {"negative_slope": [0.01, 0.1, 0.3]}


def test_two_sweeps_are_a_grid_first_sweep_slowest_with_fixed_params() -> None:
    (found,) = params.sweeps_from_cli(["hardtanh"], [], ["min_val=-2,-1", "max_val=1,2,3"])
    assert [(s.params["min_val"], s.params["max_val"]) for s in found.specs] == [
        (-2.0, 1.0), (-2.0, 2.0), (-2.0, 3.0), (-1.0, 1.0), (-1.0, 2.0), (-1.0, 3.0),
    ]  # fmt: skip
    assert found.slug == "hardtanh-sweep-min_val-max_val"
    (fixed,) = params.sweeps_from_cli(["hardtanh"], ["min_val=-2"], ["max_val=1,2"])
    assert fixed.label == "hardtanh(min_val=-2, max_val ∈ {1, 2})"
    assert fixed.slug == "hardtanh-min_val=-2-sweep-max_val"
    assert [s.label for s in fixed.specs] == [
        "hardtanh(min_val=-2, max_val=1)",
        "hardtanh(min_val=-2, max_val=2)",
    ]


def test_a_sweep_applies_to_every_activation_that_takes_the_key_or_to_name_key() -> None:
    specs = params.specs_from_cli(["elu", "celu", "relu"], [], ["alpha=0.5,2"])
    assert [s.label for s in specs] == [
        "elu(alpha=0.5)", "elu(alpha=2)", "celu(alpha=0.5)", "celu(alpha=2)", "relu",
    ]  # fmt: skip
    specs = params.specs_from_cli(["elu", "celu"], [], ["celu.alpha=0.5,2"])
    assert [s.label for s in specs] == ["elu", "celu(alpha=0.5)", "celu(alpha=2)"]


def test_the_library_sweep_is_the_cli_sweep() -> None:
    found = params.sweep("leaky_relu", {"negative_slope": [0.01, 0.1, 0.3]})
    assert found.specs == params.sweeps_from_cli(["leaky_relu"], [], SLOPES)[0].specs
    assert params.sweep_of(list(found.specs)) == found


@pytest.mark.parametrize(
    ("names", "given", "swept", "message"),
    [
        (
            ["leaky_relu", "leaky_relu"],
            ["negative_slope=0.01", "negative_slope=0.1"],
            [],
            "--param negative_slope=0.01 and --param negative_slope=0.1 both set leaky_relu's "
            "negative_slope; give it once, or compare the values with --sweep "
            "negative_slope=0.01,0.1",
        ),
        (
            ["leaky_relu"],
            ["negative_slope=0.2"],
            SLOPES,
            "--param negative_slope=0.2 and --sweep negative_slope=0.01,0.1,0.3 both set "
            "leaky_relu's negative_slope; give it once",
        ),
        (
            ["elu"],
            [],
            ["alpha=1,2", "elu.alpha=3,4"],
            "--sweep alpha=1,2 and --sweep elu.alpha=3,4 both set elu's alpha; give it once",
        ),
        (
            ["leaky_relu"],
            [],
            ["negative_slope=0.1,0.10"],
            "the sweep of leaky_relu's negative_slope lists 0.1 twice; give each value once",
        ),
        (
            ["leaky_relu"],
            [],
            ["negative_slope"],
            "sweep 'negative_slope' is not KEY=V1,V2,... (e.g. --sweep "
            "negative_slope=0.01,0.1,0.3)",
        ),
        (
            ["leaky_relu"],
            [],
            ["negative_slope=0.1,,0.3"],
            "sweep 'negative_slope=0.1,,0.3' has an empty value; separate the values with "
            "single commas",
        ),
        (
            ["relu"],
            [],
            ["alpha=1,2"],
            "relu has no parameter 'alpha', it takes no parameters",
        ),
        (
            ["leaky_relu"],
            [],
            ["negative_slope=0.1,steep"],
            "leaky_relu: negative_slope must be a number (got 'steep')",
        ),
        (
            ["hardtanh"],
            [],
            ["max_val=-2,1"],
            "hardtanh: min_val (-1.0) must be less than max_val (-2.0)",
        ),
    ],
)
def test_conflicting_or_bad_settings_are_one_usage_error(
    names: list[str], given: list[str], swept: list[str], message: str
) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        params.specs_from_cli(names, given, swept)
    assert str(caught.value) == message
    args = ["plot", *names]
    for text in given:
        args += ["--param", text]
    for text in swept:
        args += ["--sweep", text]
    result = run(*args)
    assert (result.exit_code, result.stderr) == (2, f"Error: {message}\n")


def test_the_same_param_given_twice_with_the_same_value_is_still_fine() -> None:
    specs = params.specs_from_cli(["elu"], ["alpha=2", "alpha=2"])
    assert [s.label for s in specs] == ["elu(alpha=2)"]


# --- the commands -------------------------------------------------------------


def test_plot_overlays_one_curve_per_value_with_the_value_in_the_legend(tmp_path: Path) -> None:
    probes = probe_many(params.specs_from_cli(["leaky_relu"], [], SLOPES), Grid())
    drawn = activation_figure(probes)
    assert len(drawn.values) == len(drawn.grads) == 3
    for p, value, grad, slope in zip(probes, drawn.values, drawn.grads, [0.01, 0.1, 0.3],
                                     strict=True):  # fmt: skip
        np.testing.assert_array_equal(value.get_ydata(), p.y)
        np.testing.assert_array_equal(grad.get_ydata(), p.grad)
        # the probe is the closed form: slope·x left of 0, x right of it (float32)
        np.testing.assert_array_equal(
            p.y, np.float32(np.where(p.x > 0, p.x, np.float32(slope) * np.float32(p.x)))
        )
    assert drawn.legend is not None
    assert [t.get_text() for t in drawn.legend.get_texts()][:3] == [p.label for p in probes]
    assert drawn.figure.get_suptitle() == "leaky_relu(negative_slope ∈ {0.01, 0.1, 0.3})"
    assert default_stem(probes) == "leaky_relu-sweep-negative_slope"

    result = run("plot", "leaky_relu", "--sweep", SLOPES[0], "--out-dir", str(tmp_path))
    assert result.exit_code == 0
    path = tmp_path / "leaky_relu-sweep-negative_slope.png"
    assert result.stdout == f"wrote {path}\n"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_no_longer_draws_two_identical_curves_silently() -> None:
    result = run("plot", "leaky_relu", "leaky_relu", "--param", "negative_slope=0.01",
                 "--param", "negative_slope=0.1")  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr.endswith(
        "give it once, or compare the values with --sweep negative_slope=0.01,0.1\n"
    )


def test_table_sweep_csv_has_a_column_block_per_value() -> None:
    result = run("table", "leaky_relu", "--sweep", "negative_slope=0.1,0.3", *SMALL, "--csv")
    assert result.exit_code == 0
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == [
        "x",
        "f(x) [negative_slope=0.1]", "f′(x) [negative_slope=0.1]", "regime [negative_slope=0.1]",
        "f(x) [negative_slope=0.3]", "f′(x) [negative_slope=0.3]", "regime [negative_slope=0.3]",
    ]  # fmt: skip
    x = [float(r[0]) for r in rows[1:]]
    assert x == [-2.0, -1.0, 0.0, 1.0, 2.0]
    for block, slope in ((1, 0.1), (4, 0.3)):
        s = float(np.float32(slope))
        assert [float(r[block]) for r in rows[1:]] == [-2 * s, -s, 0.0, 1.0, 2.0]
        assert [float(r[block + 1]) for r in rows[1:]] == [s, s, s, 1.0, 1.0]


def test_table_sweep_joins_samples_where_the_kinks_move() -> None:
    # hardtanh's kinks are max_val: 1.5 is a sample of the second value only
    result = run("table", "hardtanh", "--sweep", "max_val=1,1.5", *SMALL, "--csv")
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert [r[0] for r in rows[1:]] == ["-2.0", "-1.0", "0.0", "1.0", "1.5", "2.0"]
    assert rows[5] == ["1.5", "", "", "", "1.5", "0.0", "dead"]


def test_table_sweep_json_is_an_object_per_value() -> None:
    result = run("table", "leaky_relu", "--sweep", "negative_slope=0.1,0.3", *SMALL, "--json")
    data = json.loads(result.stdout)
    assert data["activation"] == "leaky_relu"
    assert data["sweep"] == {"negative_slope": [0.1, 0.3]}
    assert [v["params"] for v in data["values"]] == [
        {"negative_slope": 0.1}, {"negative_slope": 0.3},
    ]  # fmt: skip
    single = json.loads(run("table", "leaky_relu", "--param", "negative_slope=0.3", *SMALL,
                            "--json").stdout)  # fmt: skip
    assert data["values"][1] == single


def test_table_sweep_prints_a_block_per_value_and_each_summary() -> None:
    result = run("table", "leaky_relu", "--sweep", "negative_slope=0.1,0.3", *SMALL)
    out = result.stdout
    assert result.exit_code == 0
    assert "leaky_relu over negative_slope on cpu, 2 values" in out
    assert "leaky_relu(negative_slope=0.1):\n  peak |f′| = 1 on (0, 2]\n" in out
    assert "leaky_relu(negative_slope=0.3):\n" in out
    assert "  f(0) = 0 (zero-centred), f′(0) = 0.3\n" in out
    row = next(line for line in out.splitlines() if line.startswith("│ -2 "))
    assert [c.strip() for c in row.strip("│").split("│")] == [
        "-2", "-0.2", "0.1", "linear", "-0.6", "0.3", "linear",
    ]  # fmt: skip


def test_saturation_has_a_row_per_value() -> None:
    result = run("saturation", "leaky_relu", "elu", "--sweep", "negative_slope=0.1,0.3",
                 "--sweep", "alpha=0.5,1", "--json")  # fmt: skip
    rows = json.loads(result.stdout)
    grad0 = {(r["activation"], json.dumps(r["params"])): r["saturation"]["grad0"] for r in rows}
    assert grad0 == {
        ("leaky_relu", '{"negative_slope": 0.1}'): pytest.approx(0.1),
        ("leaky_relu", '{"negative_slope": 0.3}'): pytest.approx(0.3),
        ("elu", '{"alpha": 0.5}'): 0.5,
        ("elu", '{"alpha": 1.0}'): 1.0,
    }
    # rows in the sweep's order, not the labels' ("alpha=10" after "alpha=2")
    table = run("saturation", "elu", "--sweep", "alpha=0.5,2,10")
    lines = [line.split()[0] for line in table.stdout.splitlines() if "elu(" in line]
    assert lines == ["elu(alpha=0.5)", "elu(alpha=2)", "elu(alpha=10)"]


def test_probing_a_swept_spec_keeps_its_label() -> None:
    first = params.specs_from_cli(["leaky_relu"], [], SLOPES)[0]
    assert probe(first, start=-1, stop=1, points=3).label == "leaky_relu(negative_slope=0.01)"


def test_check_has_a_row_per_value() -> None:
    result = run("check", "leaky_relu", "--sweep", "negative_slope=0.1,0.3", "--dtype",
                 "float32", "--json")  # fmt: skip
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert [r["label"] for r in rows] == [
        "leaky_relu(negative_slope=0.1)", "leaky_relu(negative_slope=0.3)",
    ]  # fmt: skip


def test_export_draws_one_figure_per_swept_activation(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run("export", "leaky_relu", "relu", "--sweep", SLOPES[0], "--out", str(out),
                 "--jobs", "1", "--points", "101", "--dpi", "40")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "index.html", "leaky_relu-sweep-negative_slope.png", "manifest.json", "relu.png",
    ]  # fmt: skip
    entry = json.loads((out / "manifest.json").read_text())["files"][
        "leaky_relu-sweep-negative_slope.png"
    ]
    assert entry["sweep"] == {"negative_slope": [0.01, 0.1, 0.3]}
    assert entry["params"] == {}
    assert entry["label"] == "leaky_relu(negative_slope ∈ {0.01, 0.1, 0.3})"
    values = entry["saturation"]["sweep"]
    assert [v["label"] for v in values] == [
        "leaky_relu(negative_slope=0.01)", "leaky_relu(negative_slope=0.1)",
        "leaky_relu(negative_slope=0.3)",
    ]  # fmt: skip
    assert [v["grad0"] for v in values] == pytest.approx([0.01, 0.1, 0.3])
    page = (out / "index.html").read_text()
    assert '<img src="leaky_relu-sweep-negative_slope.png"' in page
    assert "<dt>leaky_relu(negative_slope=0.3)</dt><dd>peak |f′| 1 on" in page
    # the same export again: byte-identical, nothing rewritten
    again = run("export", "leaky_relu", "relu", "--sweep", SLOPES[0], "--out", str(out),
                "--jobs", "1", "--points", "101", "--dpi", "40", "--check")  # fmt: skip
    assert again.exit_code == 0, again.stderr


def test_export_library_takes_a_sweep(tmp_path: Path) -> None:
    found = params.sweep("elu", {"alpha": [0.5, 2.0]})
    report = export([found], tmp_path, grid=Grid(-4, 4, points=41), dpi=40, jobs=1)
    assert sorted(p.name for p in report.written) == [
        "elu-sweep-alpha.png", "index.html", "manifest.json",
    ]  # fmt: skip


def test_glu_takes_no_sweep() -> None:
    result = run("export", "glu", "--sweep", "alpha=1,2")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: glu takes no --param")


# --- custom activations with parameters ----------------------------------------

MODULE = """
import torch
from torch import nn

class Scaled(nn.Module):
    def __init__(self, alpha: float = 1.0, mode: str = "tanh", inplace: bool = False, n: int = 1):
        super().__init__()
        assert isinstance(n, int) and isinstance(inplace, bool)
        self.alpha, self.mode, self.n, self.inplace = alpha, mode, n, inplace

    def forward(self, x):
        y = self.alpha * (torch.tanh(x) if self.mode == "tanh" else torch.sigmoid(x))
        return y * self.n * (2 if self.inplace else 1)

class Learned(nn.Module):
    def __init__(self, init: float = 0.5):
        super().__init__()
        self.a = nn.Parameter(torch.tensor(init))

    def forward(self, x):
        return x * torch.sigmoid(self.a * x)
"""


@pytest.fixture()
def user_module(user_modules: UserModules) -> None:
    user_modules(sweepacts=MODULE)


@pytest.mark.usefixtures("user_module")
def test_params_are_constructor_keyword_arguments() -> None:
    p = probe("sweepacts:Scaled", params={"alpha": "0.5", "mode": "sigmoid", "n": "3",
                                          "inplace": "True"},
              start=-1, stop=1, points=3, dtype="float64")  # fmt: skip
    np.testing.assert_allclose(p.y, 0.5 * 3 * 2 / (1 + np.exp(-p.x)))
    assert p.label == "sweepacts:Scaled(alpha=0.5, mode=sigmoid, inplace=True, n=3)"
    assert p.spec.slug == "sweepacts-Scaled-alpha=0.5-mode=sigmoid-inplace=True-n=3"


@pytest.mark.usefixtures("user_module")
def test_custom_params_sweep_and_export_like_builtins(tmp_path: Path) -> None:
    result = run("table", "sweepacts:Scaled", "--sweep", "alpha=0.5,2", *SMALL, "--csv")
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0][1] == "f(x) [alpha=0.5]" and rows[0][4] == "f(x) [alpha=2]"
    assert float(rows[5][4]) == pytest.approx(2 * np.tanh(2.0))
    result = run("export", "sweepacts:Scaled", "--sweep", "alpha=0.5,2", "--out", "out",
                 "--jobs", "1", "--points", "41", "--dpi", "40")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "out" / "sweepacts-Scaled-sweep-alpha.png").is_file()


@pytest.mark.usefixtures("user_module")
def test_a_wrong_constructor_argument_lists_the_accepted_ones() -> None:
    result = run("plot", "sweepacts:Scaled", "--param", "beta=2")
    assert (result.exit_code, result.stderr) == (
        2,
        "Error: sweepacts:Scaled has no parameter 'beta', allowed: alpha (a number or text, "
        "default 1.0), mode (a number or text, default tanh), inplace (False | True, default "
        "False), n (a whole number, default 1)\n",
    )
    result = run("plot", "sweepacts:Scaled", "--param", "inplace=yes")
    assert result.stderr == (
        "Error: sweepacts:Scaled: inplace must be one of False | True (got 'yes')\n"
    )


# --- PReLU's learnable slope ----------------------------------------------------


def test_prelu_weight_grad_is_the_sum_of_the_negative_samples() -> None:
    p = probe("prelu", params={"init": 0.1})
    (w,) = weight_grads(p)
    assert w.name == "weight" and w.value == pytest.approx(0.1)
    # ∂(Σy)/∂a = Σ over the samples x < 0 of x (y = a·x there)
    assert w.total == pytest.approx(float(p.x[p.x < 0].sum()), rel=1e-6)
    np.testing.assert_array_equal(w.per_sample, np.where(p.x < 0, p.x, 0.0))
    # and the summed per-sample column is what backward() put in weight.grad
    assert float(w.per_sample.sum()) == pytest.approx(w.total, rel=1e-6)


def test_table_prelu_weight_grad_column_summary_and_json() -> None:
    result = run("table", "prelu", "--weight-grad", *SMALL)
    assert result.exit_code == 0
    out = result.stdout
    assert (
        "∂(Σy)/∂weight = -3 at weight = 0.25 (weight.grad after backward(ones_like(y)); the sum "
        "of the ∂y/∂weight column)"
    ) in out
    rows = list(csv.reader(io.StringIO(run("table", "prelu", "--weight-grad", *SMALL,
                                           "--csv").stdout)))  # fmt: skip
    assert rows[0] == ["x", "f(x)", "f′(x)", "∂y/∂weight", "regime"]
    assert [float(r[3]) for r in rows[1:]] == [-2.0, -1.0, 0.0, 0.0, 0.0]
    data = json.loads(run("table", "prelu", "--weight-grad", *SMALL, "--json").stdout)
    assert data["weight_grad"] == {
        "weight": {"value": 0.25, "grad": -3.0, "per_sample": [-2.0, -1.0, 0.0, 0.0, 0.0]}
    }


@pytest.mark.usefixtures("user_module")
def test_weight_grad_of_a_custom_module_parameter() -> None:
    p = probe("sweepacts:Learned", start=-2, stop=2, points=5, dtype="float64")
    (w,) = weight_grads(p)
    s = 1 / (1 + np.exp(-0.5 * p.x))
    np.testing.assert_allclose(w.per_sample, p.x * p.x * s * (1 - s))  # ∂(x·σ(a·x))/∂a
    assert w.total == pytest.approx(float(np.sum(p.x * p.x * s * (1 - s))))


def test_weight_grad_needs_a_learnable_parameter_and_one_table() -> None:
    result = run("table", "relu", "--weight-grad", *SMALL)
    assert (result.exit_code, result.stderr) == (
        2,
        "Error: relu has no learnable scalar parameter; --weight-grad applies to prelu (its "
        "slope a) or an nn.Module of yours with scalar nn.Parameters\n",
    )
    result = run("table", "prelu", "--weight-grad", "--sweep", "init=0.1,0.2")
    assert (result.exit_code, result.stderr) == (
        2,
        "Error: --weight-grad shows one table; drop --sweep, or run one per value\n",
    )
    with pytest.raises(UsageError):
        weight_grads(probe("relu"))


def test_the_notebook_names() -> None:
    import actviz

    assert actviz.sweep is params.sweep and actviz.Sweep is params.Sweep
    assert actviz.weight_grads is weight_grads


@pytest.mark.parametrize(
    ("values", "fixed", "shown"),
    [
        ({"min_val": [-2, -1]}, {}, "Sweep(hardtanh, min_val=[-2, -1])"),
        ({"min_val": [-2, -1], "max_val": [1, 2]}, {},
         "Sweep(hardtanh, min_val=[-2, -1], max_val=[1, 2])"),
        ({"min_val": [-2.5, -1]}, {"max_val": 3}, "Sweep(hardtanh, max_val=3, min_val=[-2.5, -1])"),
        ({}, {"max_val": 1}, "Sweep(hardtanh)"),  # 1 is max_val's default: not repeated
    ],
)  # fmt: skip
def test_a_sweep_prints_short_in_a_notebook(
    values: dict[str, list[float]], fixed: dict[str, float], shown: str
) -> None:
    """Not the dataclass repr: that printed the registry entry with its lambdas."""
    import actviz

    found = actviz.sweep("hardtanh", values, fixed)
    assert repr(found) == shown
    # what it names is the sweep's own: its swept values and its non-default fixed ones
    for key, swept in found.as_dict().items():
        assert f"{key}=[{', '.join(f'{v:g}' for v in swept)}]" in shown
    for key, value in found.params.items():
        assert (f"{key}={value:g}" in shown) == (value != found.activation.defaults[key])
    assert "lambda" not in shown and "Activation(" not in shown


def test_several_sweeps_in_one_plot_are_each_named_once() -> None:
    from actviz.plotting import figure_title

    specs = params.specs_from_cli(
        ["leaky_relu", "elu", "relu"], [], ["negative_slope=0.01,0.3", "alpha=0.5,1"]
    )
    probes = probe_many(specs, Grid(-1, 1, points=5))
    assert figure_title(probes) == (
        "leaky_relu(negative_slope ∈ {0.01, 0.3}), elu(alpha ∈ {0.5, 1}), relu"
    )
    assert default_stem(probes) == "leaky_relu-sweep-negative_slope_vs_elu-sweep-alpha_vs_relu"


def test_write_table_writes_each_format_and_refuses_before_probing() -> None:
    from actviz.probing import Grid
    from actviz.tables import write_table

    out = io.StringIO()
    write_table("relu", out, Grid(-1, 1, points=3), fmt="csv")
    assert out.getvalue() == (
        "x,f(x),f′(x),regime\n-1.0,0.0,0.0,dead\n0.0,0.0,0.0,dead\n1.0,1.0,1.0,active\n"
    )
    out = io.StringIO()
    slopes = params.sweep("leaky_relu", {"negative_slope": [0.1, 0.2]})
    write_table(slopes, out, Grid(points=2), fmt="json")
    document = json.loads(out.getvalue())
    assert document["sweep"] == {"negative_slope": [0.1, 0.2]}
    assert [v["params"]["negative_slope"] for v in document["values"]] == [0.1, 0.2]
    out = io.StringIO()
    write_table(["relu"], out, Grid(-1, 1, points=3))
    assert out.getvalue().splitlines()[0].strip() == "relu on cpu, 3 samples"
    assert "│ -1 │    0 │     0 │ dead   │" in out.getvalue()
    with pytest.raises(UsageError, match="^weight_grad=True shows one table; drop sweeps"):
        write_table(slopes, out, weight_grad=True)
    with pytest.raises(InvalidGridError, match="^the grid has 5,001 points, above the 5,000"):
        write_table("no_such_activation", out, Grid(points=5001))  # before the name
    with pytest.raises(UsageError, match="^unknown table format 'xml'; choose one of table"):
        write_table("relu", out, fmt="xml")


# --- the curve cap, counted before any value is parsed (issue 19) --------------


def _values(start: int, count: int) -> str:
    return ",".join(str(start + i) for i in range(count))


@pytest.mark.parametrize(
    ("command", "sweeps", "line"),
    [
        (  # two 700-value sweeps with --points 2 ran past 180 s
            ["table", "hardtanh", "--points", "2", "--csv"],
            ["max_val=" + _values(1, 700), "min_val=" + _values(-700, 700)],
            "Error: the sweeps make 700 × 700 (hardtanh) = 490,000 curves, above the cap of "
            "100 for one command; give fewer values (--sweep, sweep()'s values)",
        ),
        (  # check had no cap: a 100 × 100 grid ran past 120 s
            ["check", "hardtanh"],
            ["max_val=" + _values(1, 100), "min_val=" + _values(-100, 100)],
            "Error: the sweeps make 100 × 100 (hardtanh) = 10,000 curves, above the cap of "
            "100 for one command; give fewer values (--sweep, sweep()'s values)",
        ),
        (  # refused only after 52 s before
            ["plot", "leaky_relu"],
            ["negative_slope=" + ",".join(f"{i / 1000:g}" for i in range(1, 6001))],
            "Error: the sweeps make 6,000 (leaky_relu) = 6,000 curves, above the cap of 100 "
            "for one command; give fewer values (--sweep, sweep()'s values)",
        ),
        (  # the cap is for the command: every activation's curves together
            ["check", "elu", "celu"],
            ["alpha=" + _values(1, 51)],
            "Error: the sweeps make 51 (elu) + 51 (celu) = 102 curves, above the cap "
            "of 100 for one command; give fewer values (--sweep, sweep()'s values)",
        ),
    ],
)
def test_too_many_curves_are_refused_before_any_is_expanded(
    command: list[str], sweeps: list[str], line: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_expansion(*_: object, **__: object) -> None:
        raise AssertionError("a curve was expanded")

    monkeypatch.setattr(params, "Spec", no_expansion)
    args = [*command, *(a for s in sweeps for a in ("--sweep", s))]
    result = run(*args)
    assert (result.exit_code, result.stderr) == (2, line + "\n")


def test_the_library_sweep_counts_its_curves_first() -> None:
    with pytest.raises(InvalidParameterError) as caught:
        params.sweep("hardtanh", {"max_val": list(range(1, 12)), "min_val": list(range(-10, 0))})
    assert str(caught.value) == (
        "the sweeps make 11 × 10 (hardtanh) = 110 curves, above the cap of 100 for one "
        "command; give fewer values (sweeps, sweep()'s values)"
    )


def test_a_sweep_at_the_curve_cap_is_accepted() -> None:
    found = params.sweep(
        "hardtanh", {"max_val": list(range(1, 11)), "min_val": list(range(-10, 0))}
    )
    assert len(found.specs) == params.MAX_CURVES == 100
    (cli,) = params.sweeps_from_cli(["hardtanh"], [], ["max_val=" + _values(1, 100)])
    assert len(cli.specs) == 100
