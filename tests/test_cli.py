"""The command line, through Typer's CliRunner and as real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from actviz import plotting, registry
from actviz.cli import app
from actviz.probing import probe
from actviz.underflow import underflow
from tests.cli.helpers import ClickError, check_error
from tests.test_plotting import png_size

runner = CliRunner()


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str) -> Any:
    return runner.invoke(app, list(args))


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> list[plotting.Drawn]:
    """Every figure the commands draw, for their data."""
    figures: list[plotting.Drawn] = []
    original = plotting.activation_figure

    def spy(*args: Any, **kwargs: Any) -> plotting.Drawn:
        figures.append(original(*args, **kwargs))
        return figures[-1]

    monkeypatch.setattr(plotting, "activation_figure", spy)
    return figures


def _xy(line: Any) -> tuple[np.ndarray, np.ndarray]:
    """A drawn line's data as float64 arrays."""
    return (
        np.asarray(line.get_xdata(), dtype=np.float64),
        np.asarray(line.get_ydata(), dtype=np.float64),
    )


def test_plot_sigmoid_writes_the_probe(drawn: list[plotting.Drawn], in_tmp: Path) -> None:
    result = run("plot", "sigmoid")
    assert result.exit_code == 0, result.output
    assert result.stdout == "wrote outputs/sigmoid.png\n"
    assert png_size(in_tmp / "outputs" / "sigmoid.png") == (1440, 540)
    expected = probe("sigmoid")
    np.testing.assert_array_equal(drawn[0].values[0].get_ydata(), expected.y)
    np.testing.assert_array_equal(drawn[0].grads[0].get_ydata(), expected.grad)


def test_plot_overlays_one_curve_per_name(drawn: list[plotting.Drawn], in_tmp: Path) -> None:
    result = run("plot", "relu", "gelu", "silu")
    assert result.stdout == "wrote outputs/relu_vs_gelu_vs_silu.png\n"
    assert (in_tmp / "outputs" / "relu_vs_gelu_vs_silu.png").is_file()
    (figure,) = drawn
    assert [line.get_label() for line in figure.values] == ["relu", "gelu", "silu"]
    x, silu = _xy(figure.values[2])
    np.testing.assert_allclose(silu, x / (1 + np.exp(-x)), rtol=1e-6, atol=1e-6)
    assert figure.grad2s == []  # no --second: no f″ panel


def test_plot_param_range_points_and_second(drawn: list[plotting.Drawn], in_tmp: Path) -> None:
    (in_tmp / "figs").mkdir()  # a folder you name is not created for you
    args = ["--range", "-3", "3", "--points", "50", "--out", "figs/lr.svg", "--second"]
    result = run("plot", "leaky_relu", "--param", "negative_slope=0.1", *args)
    assert result.exit_code == 0, result.output
    assert result.stdout == "wrote figs/lr.svg\n"
    svg = (in_tmp / "figs" / "lr.svg").read_text()
    assert svg.startswith("<?xml") and "leaky_relu(negative_slope=0.1)" in svg
    (figure,) = drawn
    x, y = _xy(figure.values[0])
    assert (x[0], x[-1]) == (-3.0, 3.0) and 0.0 in x  # 50 points, and the kink joins them
    assert len(x) == 51
    slope = np.float32(0.1)
    np.testing.assert_allclose(y, np.where(x > 0, x, slope * x), rtol=1e-6)
    np.testing.assert_array_equal(_xy(figure.grads[0])[1], np.where(x > 0, 1, slope))
    (second,) = figure.grad2s  # straight pieces: f″ is 0, kink included
    np.testing.assert_array_equal(_xy(second)[1], np.zeros(51))


def test_plot_format_out_dir_and_dtype(drawn: list[plotting.Drawn], in_tmp: Path) -> None:
    result = run("plot", "tanh", "--format", "pdf", "--out-dir", "pdfs", "--dtype", "float16")
    assert result.stdout == "wrote pdfs/tanh.pdf\n"
    assert (in_tmp / "pdfs" / "tanh.pdf").read_bytes().startswith(b"%PDF")
    (x, y), grad = _xy(drawn[0].values[0]), _xy(drawn[0].grads[0])[1]
    # float16 rounds tanh(x) to exactly 1 beyond x ≈ 4.5, so torch's 1 − y² is 0 there;
    # in float32 f′ stays positive up to 8.
    np.testing.assert_allclose(y, np.tanh(x), atol=2**-11)
    far = x >= 5
    assert far.sum() == 30 and set(y[far]) == {1.0} and set(grad[far]) == {0.0}
    assert grad[x == 4][0] == 2**-10


def test_table_reproduces_the_seed_lesson_rows() -> None:
    result = run("table", "tanh", "--range", "-1", "1", "--points", "10")
    assert result.exit_code == 0, result.output
    rows = [line for line in result.stdout.splitlines() if line.startswith("│")]
    assert len(rows) == 10
    # -1 is exact; tanh′(1) = 0.419974 is not, so it is not rounded to "0.42"
    assert rows[0].split("│")[1:4] == ["      -1 ", " -0.7616 ", " 0.41997 "]
    assert "0.1107" in rows[5] and "active" in rows[5]
    assert "peak |f′| = 0.9878 at x = -0.1111 and x = 0.1111\n" in result.stdout
    assert "the activation's own peak |f′| is 1 at x = 0; saturated means |f′| < 0.01 × that" in (
        result.stdout
    )


def _regimes(output: str) -> list[str]:
    return [line.split("│")[-2].strip() for line in output.splitlines() if line.startswith("│")]


def test_table_regimes_and_summary_for_relu_and_sigmoid() -> None:
    relu = run("table", "relu", "--range", "-1", "1", "--points", "10").stdout
    data = json.loads(run("table", "relu", "--range", "-1", "1", "--points", "10", "--json").stdout)
    assert data["regime"] == ["dead"] * 6 + ["linear"] * 5  # the kink 0 is a sample
    assert data["x"][5] == 0.0
    assert "f(0) = 0 (zero-centred), f′(0) = 0" in relu
    # x ≤ 0 is exactly half of [-1, 1]: the kink sample stands for its own side only
    assert "share of the range: dead 50.0%, saturated 0.0%, linear 50.0%, active 0.0%" in relu
    assert "f′ = 0 by definition: x ≤ 0\n" in relu
    assert "f′ never underflows to exactly 0 within |x| ≤ 10⁴" in relu
    sigmoid = run("table", "sigmoid", "--range", "-100", "100", "--points", "10").stdout
    # x = ±11.1 has σ′ = 1.5e-5, far below 0.01 × σ′(0): saturated, not "active"
    # σ′(±100) = 3.7e-44 exactly: float32 rounds it to 0 ("dead (rounding)")
    assert _regimes(sigmoid) == ["dead (rounding)"] + ["saturated"] * 5 + ["dead (rounding)"] * 4
    assert "peak |f′| = 1.494e-5 at x = -11.11\n" in sigmoid
    assert (
        "f′ underflows to exactly 0 beyond |x| (left / right): float16 17.34 / 8.32, "
        "bfloat16 89 / 6.25, float32 88.72 / 16.64, float64 709.8 / 36.74"
    ) in sigmoid
    assert "by definition" not in sigmoid


def test_table_csv_and_no_kinks() -> None:
    result = run("table", "relu", "--range", "-1", "1", "--points", "3", "--csv", "--no-kinks")
    assert (
        result.stdout
        == "x,f(x),f′(x),regime\n-1.0,0.0,0.0,dead\n0.0,0.0,0.0,dead\n1.0,1.0,1.0,active\n"
    )


def _csv(output: str) -> tuple[list[str], list[list[str]]]:
    header, *rows = output.splitlines()
    return header.split(","), [row.split(",") for row in rows]


def test_table_second_adds_the_f2_column() -> None:
    result = run("table", "gelu", "--range", "-2", "2", "--points", "5", "--second", "--csv")
    header, rows = _csv(result.stdout)
    assert header == ["x", "f(x)", "f′(x)", "f″(x)", "regime"]
    x = np.array([float(r[0]) for r in rows])
    second = np.array([float(r[3]) for r in rows])
    phi = np.exp(-x * x / 2) / np.sqrt(2 * np.pi)
    np.testing.assert_allclose(second, phi * (2 - x * x), rtol=1e-6)  # gelu″ = φ(x)(2 − x²)
    assert "f″(x)" in run("table", "gelu", "--points", "5", "--second").stdout
    assert "f″" not in run("table", "gelu", "--points", "5").stdout


def test_table_dtype_rounds_the_tail_to_dead() -> None:
    args = ["table", "tanh", "--range", "4", "8", "--points", "5", "--csv"]
    _, half = _csv(run(*args, "--dtype", "float16").stdout)
    _, single = _csv(run(*args).stdout)
    # float16: tanh(5) rounds to 1, so torch's f′ = 1 − y² is exactly 0 from there on
    assert [(r[1], r[2], r[3]) for r in half] == [
        ("0.99951171875", "0.0009765625", "saturated"),
        *[("1.0", "0.0", "dead")] * 4,
    ]
    assert [r[3] for r in single] == ["saturated"] * 5
    y8, grad8 = float(single[-1][1]), float(single[-1][2])
    assert y8 < 1 and grad8 == pytest.approx(1 - y8 * y8, rel=1e-6)  # torch's 1 − y², in float32


def test_saturation_survey() -> None:
    result = run("saturation", "--all", "--sort", "float32")
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.stdout.splitlines()]
    names = [r[0] for r in rows if r and r[0] in registry.names()]
    assert len(names) == len(registry.names())
    # sorted by the float32 edge nearer 0 (gelu 6.15 with oneDNN, 14.3 without; tanh 9.01)
    edges = {n: underflow(registry.spec(n), "float32") for n in ("gelu", "tanh")}
    nearest = {n: min(e for e in (u.grad_left, u.grad_right) if e is not None)
               for n, u in edges.items()}  # fmt: skip
    assert names[:2] == sorted(nearest, key=nearest.__getitem__)
    sigmoid = next(r for r in rows if r and r[0] == "sigmoid")
    assert sigmoid[1:3] == ["0.25", "(0)"] and "88.72" in sigmoid and "16.64" in sigmoid
    data = json.loads(run("saturation", "tanh", "sigmoid", "--json").stdout)
    assert [d["activation"] for d in data] == ["sigmoid", "tanh"]  # sorted by name
    assert data[1]["saturation"]["peak_grad"] == 1.0
    assert set(data[0]["saturation"]["underflow"]) == {"float16", "bfloat16", "float32", "float64"}
    csv_text = run("saturation", "relu", "--csv").stdout
    header, relu = csv_text.splitlines()
    assert header.startswith("activation,peak_grad,peak_at,reference_peak,grad0,onset_left,")
    # numbers only, one column per quantity; an empty cell where there is none
    assert relu.split(",")[:7] == ["relu", "1.0", "0.10000000149011612", "1.0", "0.0", "0.0", ""]
    assert float(relu.split(",")[7]) == pytest.approx(80 / 159, abs=1e-6)  # x ≤ 0: 80 steps


def test_table_json_schema() -> None:
    result = run(
        "table", "elu", "--range", "-1", "1", "--points", "5", "--param", "alpha=0.5", "--json"
    )
    data = json.loads(result.stdout)
    assert list(data) == [
        "activation",
        "params",
        "dtype",
        "device",
        "x",
        "y",
        "grad",
        "regime",
        "summary",
        "saturation",
    ]
    assert data["saturation"]["fractions"]["active"] == 1.0  # 2 straight samples: no linear run
    assert data["activation"] == "elu" and data["params"] == {"alpha": 0.5}
    assert data["dtype"] == "float32" and data["x"] == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert data["grad"][4] == 1.0 and data["regime"] == ["active"] * 5
    # alpha = 0.5 halves the negative side: f(−1) = 0.5(e⁻¹ − 1), f′(−1) = 0.5e⁻¹
    assert data["y"][0] == pytest.approx(0.5 * (np.exp(-1) - 1), rel=1e-6)
    assert data["grad"][0] == pytest.approx(0.5 * np.exp(-1), rel=1e-6)
    assert data["summary"] == {"peak_grad": 1.0, "peak_at": 0.5}


def test_list_shows_every_activation() -> None:
    result = run("list")
    assert result.exit_code == 0
    for name in registry.all_names():
        assert name in result.stdout
    data = json.loads(run("list", "--json").stdout)
    assert [d["name"] for d in data] == [*registry.names(), "glu"]
    assert data[2]["params"][0]["name"] == "negative_slope"


ERRORS = [
    (
        ["plot", "sigmod"],
        2,
        "Error: unknown activation 'sigmod'; did you mean 'sigmoid' or 'logsigmoid'?",
    ),
    (
        ["table", "tanh", "--range", "1", "-1"],
        2,
        "Error: range start (1) must be less than stop (-1)",
    ),
    (["table", "tanh", "--range", "nan", "1"], 2, "Error: range [nan, 1] must be finite numbers"),
    (["table", "tanh", "--range", "-inf", "1"], 2, "Error: range [-inf, 1] must be finite numbers"),
    (
        ["table", "tanh", "--points", "1"],
        2,
        "Error: points (1) gives 1 point(s); at least 2 are needed",
    ),
    (
        ["table", "tanh", "--points", "1000001", "--csv"],
        2,
        "Error: points (1000001) gives 1,000,001 points, above the cap of 1,000,000 (memory for "
        "autograd grows with it); use fewer points or a larger step",
    ),
    (["table", "tanh", "--step", "0"], 2, "Error: step must be a positive number (got 0)"),
    (["table", "tanh", "--step", "-1"], 2, "Error: step must be a positive number (got -1)"),
    (
        ["table", "tanh", "--step", "1e-7"],
        2,
        "Error: step 1e-07 over [-8, 8] gives 160,000,000 points, above the cap of 1,000,000 "
        "(memory for autograd grows with it); use fewer points or a larger step",
    ),
    (
        ["table", "tanh", "--points", "5", "--step", "0.1"],
        2,
        "Error: give either points or step, not both",
    ),
    (
        ["plot", "elu", "--param", "beta=1"],
        2,
        "Error: elu has no parameter 'beta', allowed: alpha (≥ 0, default 1.0)",
    ),
    (["plot", "elu", "--param", "alpha=abc"], 2, "Error: elu: alpha must be a number (got 'abc')"),
    (["plot", "celu", "--param", "alpha=-1"], 2, "Error: celu: alpha must be > 0 (got '-1')"),
    (
        ["plot", "elu", "--param", "alpha"],
        2,
        "Error: parameter 'alpha' is not KEY=VALUE (e.g. --param negative_slope=0.1)",
    ),
    (
        ["plot", "tanh", "--format", "bmp"],
        2,
        ClickError("'--format'", "bmp", "png", "svg", "pdf"),
    ),
    (
        ["table", "tanh", "--dtype", "float8"],
        2,
        ClickError("'--dtype'", "float8", "float16", "bfloat16", "float32", "float64"),
    ),
]


@pytest.mark.parametrize(("args", "code", "line"), ERRORS, ids=[" ".join(e[0]) for e in ERRORS])
def test_bad_input_gives_one_line_and_exit_code(
    args: list[str], code: int, line: str | ClickError
) -> None:
    check_error(args, code, line)
    assert not Path("outputs").exists()


def test_unwritable_output_is_a_runtime_error(in_tmp: Path) -> None:
    (in_tmp / "blocker").write_text("a file, not a folder")
    result = run("plot", "relu", "--out", "blocker/relu.png")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: cannot write blocker/relu.png: ")
    assert result.stderr.endswith("the folder blocker is a file, not a folder; create it first\n")
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_gpu_is_a_runtime_error() -> None:
    result = run("plot", "relu", "--device", "cuda")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: device 'cuda' was asked for but torch {torch.__version__} sees no CUDA GPU here; "
        "use --device cpu\n"
    )


def _subprocess(code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "100"}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )


@pytest.mark.parametrize(
    "argv", [["--help"], ["list"], ["list", "--json"], ["plot", "--help"], ["--version"]]
)
def test_help_and_list_do_not_import_torch_or_matplotlib(argv: list[str]) -> None:
    # main() ends the process itself, after the exit handlers: look from one of them.
    code = (
        "import atexit, sys\n"
        f"sys.argv = ['actviz', *{argv!r}]\n"
        "def heavy():\n"
        "    found = sorted({m.split('.')[0] for m in sys.modules}\n"
        "                   & {'torch', 'matplotlib', 'plotext', 'numpy', 'rich'})\n"
        "    print('HEAVY=' + ','.join(found), file=sys.stderr)\n"
        "atexit.register(heavy)\n"
        "from actviz.cli import main\n"
        "main()\n"
    )
    done = _subprocess(code)
    assert done.returncode == 0, done.stderr
    assert "HEAVY=\n" in done.stderr, done.stderr


def test_python_dash_m_works_like_the_script() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "actviz", "list", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert [d["name"] for d in json.loads(done.stdout)] == registry.all_names()
    done = subprocess.run(
        [sys.executable, "-m", "actviz", "table", "nope"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr == "Error: unknown activation 'nope'; run 'actviz list' to see all 24.\n"
    assert "Traceback" not in done.stderr


def test_float32_grid_rounding_near_zero_prints_as_zero() -> None:
    # arange(-10, 10, 0.1) in float32 puts -5.96e-09 where 0 is meant
    result = run("saturation", "sigmoid", "--range", "-10", "10")
    row = next(line for line in result.stdout.splitlines() if line.strip().startswith("sigmoid"))
    assert row.split()[1:3] == ["0.25", "(0)"]
    table = run("table", "sigmoid", "--range", "-10", "10").stdout
    assert "peak |f′| = 0.25 at x = 0\n" in table


def test_rrelu_title_names_the_mode_and_train_summary_reads_the_x0_row() -> None:
    # rich would read "[eval mode: …]" as markup and drop it from the title
    first = run("table", "rrelu", "--range", "-1", "1", "--points", "5").stdout.splitlines()[0]
    assert first.strip() == "rrelu [eval mode: slope (lower + upper)/2] on cpu, 5 samples"
    train = run("table", "rrelu", "--range", "-1", "1", "--points", "5", "--train").stdout
    lines = train.splitlines()
    assert lines[0].strip() == "rrelu [train mode: random slopes, seed 0] on cpu, 5 samples"
    data = json.loads(
        run("table", "rrelu", "--range", "-1", "1", "--points", "5", "--train", "--json").stdout
    )
    slope = data["grad"][data["x"].index(0.0)]  # the slope drawn for x = 0 …
    assert data["saturation"]["grad0"] == slope and f"{slope:.4g}" == "0.2207"
    assert "f(0) = 0 (zero-centred), f′(0) = 0.2207\n" in train  # … is the summary's f′(0)


def test_list_states_torchs_value_at_every_kink() -> None:
    lines = run("list").stdout.splitlines()
    at = lines.index(next(line for line in lines if line.startswith("hardswish ")))
    assert lines[at + 1].strip() == (
        "f′(x) = 0 if x ≤ −3, x/3 + 1/2 if −3 < x < 3, 1 if x ≥ 3; "
        "torch at the kinks: f′(−3) = 0, f′(3) = 1"
    )
    data = {d["name"]: d for d in json.loads(run("list", "--json").stdout)}
    assert data["relu"]["derivative"] == "1 if x > 0 else 0; torch at the kink: f′(0) = 0"


def test_rich_tables_print_brackets_in_labels_verbatim() -> None:
    from rich.console import Console

    from actviz.check.report import check_table
    from actviz.check.verify import verify
    from actviz.registry import Activation, Spec
    from actviz.saturation import analyze
    from actviz.saturation.survey import survey_table
    from actviz.tables import probe_table

    # A label with "[…]", as a registry note or a user's name could bring: rich
    # would take it for markup and drop it.
    relu = registry.get("relu")
    odd = Activation("relu[bold]", "ReLU", relu.formula, relu.derivative_formula,
                     relu.derivative, kinks=relu.kinks, kink_grads=relu.kink_grads)  # fmt: skip
    p = probe(Spec(odd, {}), start=-1, stop=1, points=5)
    s = analyze(p, dtypes=())

    def printed(table: Any) -> str:
        console = Console(width=200, record=True)
        console.print(table)
        return console.export_text()

    assert printed(probe_table(p, s)).splitlines()[0].strip() == "relu[bold] on cpu, 5 samples"
    assert "relu[bold] " in printed(survey_table([(p, s)]))
    assert "relu[bold] " in printed(check_table([verify(Spec(odd, {}))]))


def test_table_prints_positions_and_exact_values_as_people_read_them() -> None:
    relu = run("table", "relu").stdout
    xs = json.loads(run("table", "relu", "--json").stdout)["x"]
    assert xs.count(0.0) == 1 and xs[80] == 0.0  # the kink 0 is the grid's x[80], once
    assert "peak |f′| = 1 on (0, 7.9]\n" in relu  # relu′ = 1 on the whole piece after 0
    tiny = run("table", "relu", "--range", "-0.3", "0.25", "--step", "0.1").stdout
    rows = [line.split("│")[1:-1] for line in tiny.splitlines() if line.startswith("│")]
    xs = [cells[0].strip() for cells in rows]
    assert "5.551e-17" not in xs and xs.count("0") == 2  # the kink 0 and -0.3 + 3 × 0.1
    assert "peak |f′| = 1 on (0, 0.2]\n" in tiny
    sigmoid = run("table", "sigmoid", "--range", "-100", "100", "--points", "10").stdout
    values = [line.split("│")[2].strip() for line in sigmoid.splitlines() if line.startswith("│")]
    assert values[-4:] == ["1"] * 4  # σ(33.3) … σ(100) are exactly 1 in float32
    assert values[5] == "0.99999"  # σ(11.1) = 0.9999851 is not


def test_zero_by_definition_in_table_json_and_survey() -> None:
    table = run("table", "hardsigmoid").stdout
    assert "f′ = 0 by definition: x ≤ -3, x ≥ 3\n" in table
    assert "f′ never underflows to exactly 0 within |x| ≤ 10⁴" in table
    data = json.loads(run("table", "hardtanh", "--points", "5", "--json").stdout)
    f32 = data["saturation"]["underflow"]["float32"]
    assert (f32["grad_left"], f32["grad_left_kind"]) == (1.0, "definition")
    sigmoid = json.loads(run("table", "sigmoid", "--points", "5", "--json").stdout)
    assert sigmoid["saturation"]["underflow"]["float32"]["grad_right_kind"] == "underflow"
    survey = run("saturation", "hardsigmoid", "sigmoid").stdout
    row = next(line for line in survey.splitlines() if line.strip().startswith("hardsigmoid"))
    assert "x ≤ -3, x ≥ 3" in row and row.split()[-3:] == ["—", "/", "—"]
