"""Issue 9, hardening: bounded memory, one error line always, strict JSON."""

from __future__ import annotations

import io
import json
import math
import os
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import actviz
from actviz import display, errors, graph, jacobian, plotting, tables
from actviz.check.verify import verify
from actviz.cli import app
from actviz.export import export
from actviz.glu import probe_glu
from actviz.probing import Grid, Probe, probe, probe_many
from actviz.registry import spec
from actviz.saturation import analyze
from tests.conftest import UserModules

runner = CliRunner()

USER_MODULE = """
import torch

def nan(x):
    return x * float("nan")

def inf(x):
    return torch.where(x > 0, x / 0.0, x)

def complex_out(x):
    return x * (1 + 1j)

def raiser(x):
    raise ValueError("boom")

def not_a_tensor(x):
    return [1.0]

def detached(x):
    return torch.tanh(x).detach()

def reducer(x):
    return x.sum()
"""


@pytest.fixture(autouse=True)
def in_tmp(user_modules: UserModules) -> Path:
    return user_modules(
        h9acts=USER_MODULE,
        h9syntax="def f(x:\n    return x\n",
        h9raises="raise RuntimeError('not today')\n",
        h9exits="import sys\nsys.exit(3)\n",
    )


def run(*args: str) -> Any:
    return runner.invoke(app, list(args))


CAP = "(memory for autograd grows with it); use fewer points or a larger step"

# (arguments, exit code, the one stderr line)
ERRORS: list[tuple[list[str], int, str]] = [
    # --- memory and size: the count of every grid, before allocating ---
    (
        ["table", "tanh", "--range", "0", "2e6", "--csv"],
        2,
        "Error: the default step 0.1 over [0, 2e+06] gives 20,000,000 points, above the cap of "
        f"1,000,000 {CAP}",
    ),
    (
        ["plot", "relu", "--range", "-1e6", "1e6"],
        2,
        "Error: the default step 0.1 over [-1e+06, 1e+06] gives 20,000,000 points, above the "
        f"cap of 1,000,000 {CAP}",
    ),
    (
        ["table", "tanh", "--range", "0", "1e300"],
        2,
        "Error: the default step 0.1 over [0, 1e+300] gives about 1e+301 points, above the cap "
        f"of 1,000,000 {CAP}",
    ),
    (
        ["table", "tanh", "--step", "1e-320"],
        2,
        "Error: step 9.99989e-321 over [-8, 8] gives more than 1e308 points, above the cap of "
        f"1,000,000 {CAP}",
    ),
    (
        ["plot", "glu", "--points", "20000"],
        2,
        "Error: 20,000 points per axis make a 20,000 × 20,000 plane, above the cap of "
        "1,000 per axis for two-input activations; use fewer points or a larger step",
    ),
    (
        ["plot", "glu", "--points", "10000000"],
        2,
        f"Error: points (10000000) gives 10,000,000 points, above the cap of 1,000,000 {CAP}",
    ),
    (
        ["table", "tanh", "--points", "5001"],
        2,
        "Error: the grid has 5,001 points, above the 5,000 rows a printed table shows; use "
        "--csv or --json (up to 1,000,000 points), fewer points or a larger step",
    ),
    (
        ["saturation", "--all", "--points", "50000"],
        2,
        "Error: 23 activations × 50,000 points = 1,150,000 samples, above the cap of 1,000,000 "
        "for one command; use fewer points or fewer activations",
    ),
    (
        ["plot", "relu", "gelu", "--points", "600000"],
        2,
        "Error: 2 activations × 600,000 points = 1,200,000 samples, above the cap of 1,000,000 "
        "for one command; use fewer points or fewer activations",
    ),
    (
        ["export", "--all", "--points", "50000"],
        2,
        "Error: 24 activations × 50,000 points = 1,200,000 samples, above the cap of 1,000,000 "
        "for one command; use fewer points or fewer activations",
    ),
    # --- values the dtype cannot hold ---
    (
        ["table", "tanh", "--range", "-1e300", "1e300", "--points", "10"],
        2,
        "Error: range [-1e+300, 1e+300] does not fit in float32 (largest finite value "
        "3.403e+38); use a smaller range or a wider --dtype",
    ),
    (
        ["table", "tanh", "--dtype", "float16", "--range", "-1e5", "1e5", "--points", "10"],
        2,
        "Error: range [-100000, 100000] does not fit in float16 (largest finite value 6.55e+04); "
        "use a smaller range or a wider --dtype",
    ),
    (
        ["table", "tanh", "--range", "-1e39", "1e39", "--points", "10"],
        2,
        "Error: range [-1e+39, 1e+39] does not fit in float32 (largest finite value 3.403e+38); "
        "use a smaller range or a wider --dtype",
    ),
    (
        ["table", "tanh", "--range", "-3e38", "3e38", "--points", "10"],
        2,
        "Error: range [-3e+38, 3e+38] is too wide for float32: its width overflows (largest "
        "finite value 3.403e+38); use a smaller range or a wider --dtype",
    ),
    (
        ["table", "tanh", "--range", "-1e308", "1e308", "--points", "10"],
        2,
        "Error: range [-1e+308, 1e+308] is too wide: its width overflows float64",
    ),
    (
        ["table", "tanh", "--range", "0", "1e-300", "--points", "10"],
        2,
        "Error: range [0, 1e-300] collapses to a single value in float32; use a wider range or "
        "--dtype float64",
    ),
    (
        ["table", "tanh", "--range", "1e-300", "3e-300", "--points", "7", "--dtype", "float64"],
        2,
        "Error: range [1e-300, 3e-300] with 7 points is spaced 3.33e-301 apart, below the finest "
        "spacing actviz can analyse in float64 (1.49e-154); use a wider range or fewer points",
    ),
    (
        ["table", "tanh", "--dtype", "bfloat16", "--points", "2000", "--csv"],
        2,
        "Error: 2,000 points over [-8, 8] in bfloat16 are only 1,012 distinct values; use fewer "
        "points, a larger step or a wider --dtype",
    ),
    (
        ["table", "rrelu", "--train", "--seed", "100000000000000000000000"],
        2,
        "Error: seed must be a whole number from 0 to 2**64 - 1 (got 100000000000000000000000)",
    ),
    (
        ["jacobian", "softmax", "--random", "3", "--seed", "18446744073709551616"],
        2,
        "Error: seed must be a whole number from 0 to 2**64 - 1 (got 18446744073709551616)",
    ),
    (
        ["table", "tanh", "--device", "cpu:junk"],
        2,
        "Error: Invalid value for '--device': 'cpu:junk' is not one of 'cpu', 'cuda'; "
        "usage: actviz table [OPTIONS] NAME",
    ),
    (
        ["table", "leaky_relu", "--param", "negative_slope=1e300"],
        2,
        "Error: leaky_relu: negative_slope=1e+300 does not fit in float32 (largest finite value "
        "3.403e+38); use a smaller negative_slope or a wider --dtype",
    ),
    (
        ["table", "leaky_relu", "--param", "negative_slope=1e38", "--json"],
        2,
        "Error: leaky_relu(negative_slope=1e+38) is not finite in float32 on this range: f(x) = "
        "-inf at x = -8 (46 of 160 samples); use other negative_slope values, a smaller range or "
        "a wider --dtype",
    ),
    (
        ["table", "softplus", "--param", "beta=1e-320", "--dtype", "float64"],
        2,
        "Error: softplus(beta=9.99989e-321) is not finite in float64 on this range: f(x) = inf "
        "at x = -8 (160 of 160 samples); use other beta values, a smaller range or a wider "
        "--dtype",
    ),
    # --- click's own usage errors: one line, the usage folded in ---
    (["plot"], 2, "Error: Missing argument 'NAMES...'; usage: actviz plot [OPTIONS] NAMES..."),
    (["table"], 2, "Error: Missing argument 'NAME'; usage: actviz table [OPTIONS] NAME"),
    (
        ["table", "tanh", "relu"],
        2,
        "Error: Got unexpected extra argument(s) (relu); usage: actviz table [OPTIONS] NAME",
    ),
    (
        ["table", "tanh", "--points", "many"],
        2,
        "Error: Invalid value for '--points': 'many' is not a valid int; usage: actviz table "
        "[OPTIONS] NAME",
    ),
    (
        ["plot", "relu", "--dpi", "0"],
        2,
        "Error: Invalid value for '--dpi': 0 is not in the range 10<=x<=1200; usage: actviz plot "
        "[OPTIONS] NAMES...",
    ),
    (
        ["plot", "relu", "--colour", "red"],
        2,
        "Error: No such option: --colour (Possible options: --out); usage: actviz plot [OPTIONS] "
        "NAMES...",
    ),
    (
        ["plto", "relu"],
        2,
        "Error: No such command 'plto'. Did you mean 'plot'?; usage: actviz [OPTIONS] COMMAND "
        "[ARGS]...",
    ),
    (
        ["--verbose"],
        2,
        "Error: No such option: --verbose (Possible options: --version); "
        "usage: actviz [OPTIONS] COMMAND [ARGS]...",
    ),
    (
        ["jacobian"],
        2,
        "Error: Missing argument 'FUNCTION'; usage: actviz jacobian [OPTIONS] FUNCTION [VALUES]...",
    ),
    # --- tracebacks that are now one line ---
    (
        ["table", "h9acts:nan"],
        1,
        "Error: h9acts:nan is not finite on this range in float32: f(x) = nan at x = -8 (160 of "
        "160 samples); an activation must return finite values with finite gradients",
    ),
    (
        ["plot", "h9acts:inf", "--range", "-1", "1", "--points", "5"],
        1,
        "Error: h9acts:inf is not finite on this range in float32: f(x) = inf at x = 0.5 (2 of 5 "
        "samples); an activation must return finite values with finite gradients",
    ),
    (
        ["export", "h9acts:nan", "--jobs", "1", "--out", "exported"],
        1,
        "Error: export stopped (h9acts:nan is not finite on this range in float32: f(x) = nan at "
        "x = -8 (160 of 160 samples); an activation must return finite values with finite "
        "gradients); files written before it stopped: none",
    ),
    (
        ["table", "h9acts:complex_out"],
        1,
        "Error: h9acts:complex_out returned complex values (torch.complex64); an activation must "
        "return real numbers",
    ),
    (["check", "h9acts:raiser"], 1, "Error: h9acts:raiser raised ValueError: boom"),
    (
        ["check", "h9acts:not_a_tensor"],
        1,
        "Error: h9acts:not_a_tensor returned a list, not a tensor",
    ),
    (
        ["check", "h9acts:reducer"],
        1,
        "Error: h9acts:reducer returned shape (), not the shape of its 1-D input; an activation "
        "must be elementwise",
    ),
    (
        ["check", "h9acts:nan"],
        1,
        # check probes your activation on plot's grid first (float32), as plot would
        "Error: h9acts:nan is not finite on this range in float32: f(x) = nan at x = -8 (160 of "
        "160 samples); an activation must return finite values with finite gradients",
    ),
    (
        ["check", "os:system"],
        1,
        "Error: os:system raised TypeError: expected str, bytes or os.PathLike object, not Tensor",
    ),
    (
        ["check", "h9acts:complex_out"],
        1,
        "Error: h9acts:complex_out returned complex values (torch.complex64); an activation must "
        "return real numbers",
    ),
    (
        ["table", "h9raises:f"],
        1,
        "Error: cannot import 'h9raises' for h9raises:f: importing it raised RuntimeError: not "
        "today",
    ),
    (
        ["check", "h9exits:f"],
        1,
        "Error: cannot import 'h9exits' for h9exits:f: importing it raised SystemExit: 3",
    ),
    (
        ["plot", ".rel:fn"],
        2,
        "Error: '.rel:fn' is a relative import path; write the absolute one, e.g. mypkg.acts:my_fn",
    ),
    (
        ["graph", "x", "--set", "x=1"],
        2,
        "Error: 'x' is just a variable, with no operation to draw; write an expression such as "
        '"sigmoid(w*x + b)"',
    ),
    (
        ["graph", "(+x)", "--set", "x=1"],
        2,
        "Error: '(+x)' is just a variable, with no operation to draw; write an expression such as "
        '"sigmoid(w*x + b)"',
    ),
    (
        ["graph", "(" * 200 + "x" + ")" * 200, "--set", "x=1"],
        2,
        f"Error: '{'(' * 200}x{')' * 200}' is just a variable, with no operation to draw; write "
        'an expression such as "sigmoid(w*x + b)"',
    ),
    (
        ["graph", "(" * 201 + "x" + ")" * 201, "--set", "x=1"],
        2,
        "Error: invalid expression at column 201: too many nested parentheses",
    ),
    (
        ["graph", "sigmoid(x)", "--set", "x=nan"],
        2,
        "Error: --set x: values must be finite numbers (got [nan])",
    ),
    (
        ["plot", "relu", "--out", "."],
        2,
        "Error: output '.' is not a file name; give one such as figs/plot.png",
    ),
    (
        ["plot", "relu", "--out", ""],
        2,
        "Error: output '' is not a file name; give one such as figs/plot.png",
    ),
    (
        ["jacobian", "softmax", "--input", "nan", "1", "2", "--json"],
        2,
        "Error: input values must be finite numbers (got nan)",
    ),
    (
        ["jacobian", "softmax", "--input", "1", "inf", "2"],
        2,
        "Error: input values must be finite numbers (got inf)",
    ),
    (
        ["plot", "elu", "--param", "elu.alpha=0.5", "--param", "alpha=0.7"],
        2,
        "Error: --param elu.alpha=0.5 and --param alpha=0.7 both set elu's alpha; give it once, "
        "or compare the values with --sweep alpha=0.5,0.7",
    ),
    (
        ["table", "tanh", "--json", "--csv", "--points", "20000"],
        2,
        "Error: give --json or --csv, not both",
    ),
]


@pytest.mark.parametrize(("args", "code", "line"), ERRORS, ids=[" ".join(e[0]) for e in ERRORS])
def test_one_error_line_and_exit_code(args: list[str], code: int, line: str) -> None:
    result = run(*args)
    assert result.stderr == line + "\n"
    assert result.exit_code == code
    assert result.stdout == ""
    assert not Path("outputs").exists()


def test_a_folder_as_out_is_refused(in_tmp: Path) -> None:
    result = run("plot", "relu", "--out", str(in_tmp))
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: output '{in_tmp}' is a folder; give a file name such as {in_tmp}/plot.png\n"
    )


def test_graph_expression_may_start_with_a_minus(in_tmp: Path) -> None:
    result = run("graph", "-x*w", "--set", "x=2", "--set", "w=3", "--out", "g.dot")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "-x*w = -6"
    assert result.stdout.endswith("wrote g.dot\n")
    assert "w value 3, grad -2" in result.stdout  # d(−x·w)/dw = −x


def _actviz(*args: str, stdout: Any = subprocess.PIPE) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.run(
        [sys.executable, "-m", "actviz", *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        check=False,
    )


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("args", [["list"], ["table", "tanh", "--csv"], ["list", "--json"]])
def test_stdout_on_a_full_disk_is_one_line(args: list[str]) -> None:
    with open("/dev/full", "w") as full:
        done = _actviz(*args, stdout=full)
    assert done.returncode == 1
    assert done.stderr == "Error: cannot write the output: No space left on device\n"


# --- output that machines read -------------------------------------------------


def _strict(text: str) -> Any:
    def refuse(constant: str) -> None:
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize(
    "args",
    [
        ["list", "--json"],
        ["table", "tanh", "--json", "--points", "5"],
        ["table", "sigmoid", "--json", "--range", "-200", "200", "--points", "30001"],
        ["table", "relu", "--json", "--second", "--dtype", "float16"],
        ["saturation", "--all", "--json"],
        ["saturation", "leaky_relu", "--param", "negative_slope=1e37", "--json"],
        ["check", "relu", "tanh", "--json"],
        ["jacobian", "softmax", "--input", "1e308", "-1e308", "0", "--json"],
        ["jacobian", "log_softmax", "--random", "5", "--json"],
    ],
    ids=lambda a: " ".join(a),
)
def test_every_json_output_is_strict(args: list[str]) -> None:
    result = run(*args)
    assert result.exit_code == 0, result.output
    _strict(result.stdout)


def test_jacobian_json_with_extreme_input_has_null_not_infinity() -> None:
    # log_softmax of a 1e308 spread: −2e308 overflows to −inf; JSON gets null
    data = _strict(run("jacobian", "log_softmax", "--input", "1e308", "-1e308", "--json").stdout)
    assert data["output"] == [0.0, None]


def test_streamed_json_and_csv_equal_the_in_memory_forms() -> None:
    p = probe("gelu", start=-3, stop=3, points=25_001, second=True)
    s = analyze(p)
    assert p.grad2 is not None
    buffer = io.StringIO()
    tables.write_probe_json(p, s, buffer)
    assert buffer.getvalue() == display.strict_json(tables.probe_json(p, s)) + "\n"
    data = _strict(buffer.getvalue())
    assert len(data["x"]) == 25_001 and data["grad2"][0] == pytest.approx(p.grad2[0])
    csv_text = tables.probe_csv(p, s)
    assert csv_text.count("\n") == 25_002
    assert csv_text.splitlines()[1] == (
        ",".join(repr(float(c[0])) for c in (p.x, p.y, p.grad, p.grad2)) + f",{s.regime[0]}"
    )


def test_table_csv_streams_up_to_the_grid_cap() -> None:
    result = run("table", "relu", "--points", "20001", "--csv", "--range", "-1", "1")
    lines = result.stdout.splitlines()
    rows = len(probe("relu", start=-1, stop=1, points=20_001).x)  # the grid holds the kink 0
    assert result.exit_code == 0 and rows == 20_001 and len(lines) == 1 + rows
    assert lines[1] == "-1.0,0.0,0.0,dead" and lines[-1] == "1.0,1.0,1.0,linear"


# --- the notebook API: bad calls raise ActvizError subclasses --------------------


def _nan_probe() -> Probe:
    p = probe("relu", start=-1, stop=1, points=5)
    nan = np.full_like(p.x, np.nan)
    return Probe(p.spec, p.dtype, p.device, p.train, p.seed, p.x, nan, nan)


def _fig() -> Any:
    from matplotlib.figure import Figure

    return Figure()


BAD_CALLS: list[tuple[str, Callable[[], object], type[errors.ActvizError], str]] = [
    ("step 1e-320", lambda: probe("relu", step=1e-320), errors.InvalidGridError, "more than 1e308"),
    (
        "bounds ±1e308",
        lambda: probe("relu", start=-1e308, stop=1e308, points=3, dtype="float64"),
        errors.InvalidGridError,
        "its width overflows float64",
    ),
    (
        "bound 1e308 in float32",
        lambda: probe("relu", start=0, stop=1e308, points=3),
        errors.InvalidGridError,
        "does not fit in float32",
    ),
    ("cpu:junk", lambda: probe("relu", device="cpu:junk"), errors.UnknownFormatError, "cpu:junk"),
    ("cpu:1", lambda: probe("relu", device="cpu:1"), errors.UnknownFormatError, "one cpu device"),
    ("device None", lambda: probe("relu", device=None), errors.UnknownFormatError, "None"),  # type: ignore[arg-type]
    (
        "huge seed",
        lambda: probe("rrelu", train=True, seed=10**23),
        errors.UsageError,
        "seed must be a whole number from 0 to 2**64 - 1",
    ),
    ("negative seed", lambda: probe("rrelu", seed=-1), errors.UsageError, "got -1"),
    ("float seed", lambda: probe("rrelu", seed=1.5), errors.UsageError, "got 1.5"),  # type: ignore[arg-type]
    (
        "dtype int32",
        lambda: probe("relu", dtype=torch.int32),
        errors.UnknownFormatError,
        "unknown dtype 'int32'",
    ),
    ("points 2.5", lambda: probe("relu", points=2.5), errors.InvalidGridError, "got 2.5"),  # type: ignore[arg-type]
    ("points True", lambda: probe("relu", points=True), errors.InvalidGridError, "got True"),
    ("points '5'", lambda: probe("relu", points="5"), errors.InvalidGridError, "got '5'"),  # type: ignore[arg-type]
    ("start 'a'", lambda: probe("relu", start="a"), errors.InvalidGridError, "must be numbers"),  # type: ignore[arg-type]
    ("step '0.1'", lambda: probe("relu", step="0.1"), errors.InvalidGridError, "got '0.1'"),  # type: ignore[arg-type]
    ("name 123", lambda: probe(123), errors.UnknownActivationError, "got 123"),  # type: ignore[arg-type]
    (
        "params not a mapping",
        lambda: probe("elu", params=[1]),  # type: ignore[arg-type]
        errors.InvalidParameterError,
        "parameters are a mapping",
    ),
    (
        "analyze on a NaN probe",
        lambda: analyze(_nan_probe()),
        errors.InvalidGridError,
        "relu has no finite f′ on this grid",
    ),
    (
        "probe_many above the total",
        lambda: probe_many([spec("relu")] * 3, Grid(points=400_000)),
        errors.InvalidGridError,
        "3 activations × 400,000 points",
    ),
    (
        "glu plane",
        lambda: probe_glu(Grid(points=1001)),
        errors.InvalidGridError,
        "1,001 × 1,001 plane",
    ),
    (
        "save_figure dpi 0",
        lambda: plotting.save_figure(_fig(), "x.png", dpi=0),
        errors.UnknownFormatError,
        "dpi must be a whole number from 10 to 1200 (got 0)",
    ),
    (
        "save_figure to '.'",
        lambda: plotting.save_figure(_fig(), "."),
        errors.UsageError,
        "output '.' is not a file name",
    ),
    (
        "export dpi 0",
        lambda: export([spec("relu")], "out", dpi=0),
        errors.UnknownFormatError,
        "dpi must be a whole number",
    ),
    (
        "plot_file out '.'",
        lambda: actviz.plot_file([probe("relu")], out="."),
        errors.UsageError,
        "output '.' is not a file name",
    ),
    (
        "activation_figure([])",
        lambda: plotting.activation_figure([]),
        errors.UsageError,
        "give at least one probe",
    ),
    (
        "jacobian NaN",
        lambda: jacobian.jacobian("softmax", [math.nan, 1.0]),
        errors.UsageError,
        "finite numbers (got nan)",
    ),
    (
        "jacobian text",
        lambda: jacobian.jacobian("softmax", ["a", 1.0]),  # type: ignore[list-item]
        errors.UsageError,
        "must be numbers (got 'a')",
    ),
    (
        "random_input huge seed",
        lambda: jacobian.random_input(3, 10**30),
        errors.UsageError,
        "seed must be a whole number",
    ),
    (
        "graph bare variable",
        lambda: graph.run("x", {"x": [1.0]}),
        errors.UsageError,
        "just a variable",
    ),
    (
        "graph NaN",
        lambda: graph.run("sigmoid(x)", {"x": [math.nan]}),
        errors.UsageError,
        "finite numbers",
    ),
    (
        "verify os:system",
        lambda: verify(spec("os:system")),
        errors.CustomActivationError,
        "os:system raised TypeError",
    ),
    (
        "syntax error on import",
        lambda: spec("h9syntax:f"),
        errors.CustomActivationError,
        "cannot import 'h9syntax' for h9syntax:f: syntax error in",
    ),
]


@pytest.mark.parametrize(
    ("call", "kind", "message"), [c[1:] for c in BAD_CALLS], ids=[c[0] for c in BAD_CALLS]
)
def test_bad_library_calls_raise_actviz_errors(
    call: Callable[[], object], kind: type[errors.ActvizError], message: str
) -> None:
    with pytest.raises(kind) as caught:
        call()
    assert message in str(caught.value)


def test_error_classes_are_exported() -> None:
    for name in ("UsageError", "InvalidGridError", "CustomActivationError", "OutputError"):
        cls = getattr(actviz, name)
        assert cls is getattr(errors, name) and issubclass(cls, actviz.ActvizError)
        assert name in actviz.__all__


# --- no numpy warnings where inputs are fine ------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {"start": 0.0, "stop": 1e-150, "points": 10, "dtype": "float64"},
        {"start": 1e-152, "stop": 3e-152, "points": 7, "dtype": "float64"},
        {"start": -60000.0, "stop": 60000.0, "points": 50, "dtype": "float32"},
        {"start": 0.0, "stop": 1e-30, "points": 9},
    ],
)
@pytest.mark.parametrize("name", ["tanh", "relu", "sigmoid", "softplus"])
def test_tiny_and_huge_ranges_analyse_without_runtime_warnings(
    name: str, options: dict[str, Any]
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = probe(name, **options)
        s = analyze(p)
    assert np.isfinite(p.grad).all() and np.isfinite(s.peak_grad)


def test_grids_are_refused_before_anything_is_allocated(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_allocation(*args: object, **kwargs: object) -> None:
        raise AssertionError("allocated a grid that should have been refused")

    monkeypatch.setattr(torch, "arange", no_allocation)
    monkeypatch.setattr(torch, "linspace", no_allocation)
    for options in ({"start": 0, "stop": 2e6}, {"points": 10_000_000}, {"step": 1e-320}):
        with pytest.raises(errors.InvalidGridError, match="above the cap of 1,000,000"):
            probe("tanh", **options)
    assert Grid(0, 1, step=0.25).count == 4 and Grid(-8, 8).count == 160


@pytest.mark.parametrize(
    ("command", "usage"),
    [
        ("plot", "Usage: actviz plot [OPTIONS] NAMES..."),
        ("table", "Usage: actviz table [OPTIONS] NAME"),
        ("saturation", "Usage: actviz saturation [OPTIONS] [NAMES]..."),
        ("jacobian", "Usage: actviz jacobian [OPTIONS] FUNCTION [VALUES]..."),
        ("graph", "Usage: actviz graph [OPTIONS] EXPR"),
    ],
)
def test_help_usage_names_the_arguments(command: str, usage: str) -> None:
    result = run(command, "--help")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == usage


# --- export's whole cost, counted before a worker starts (issue 19) -------------


@pytest.mark.parametrize(
    ("points", "line"),
    [
        (  # refused by GLU's per-axis cap only after 4 s of rendering before
            "1001",
            "Error: 1,001 points per axis make a 1,001 × 1,001 plane, above the cap of 1,000 per "
            "axis for two-input activations; use fewer points or a larger step",
        ),
        (  # the README promised 43,478 points each: 24 × 43,478 is over the cap
            "43478",
            "Error: 24 activations × 43,478 points = 1,043,472 samples, above the cap of "
            "1,000,000 for one command; use fewer points or fewer activations",
        ),
    ],
)
def test_export_all_above_a_cap_is_refused_before_rendering(
    points: str, line: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from actviz import export as export_module

    def no_render(*_: object, **__: object) -> None:
        raise AssertionError("rendering started")

    monkeypatch.setattr(export_module, "render_all", no_render)
    result = run("export", "--all", "--points", points, "--out", str(tmp_path / "out"))
    assert (result.exit_code, result.stderr) == (2, line + "\n")
    assert not (tmp_path / "out").exists()


def test_glu_above_its_axis_cap_is_refused_before_torch_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from actviz import evaluation

    monkeypatch.setattr(evaluation, "torch_dtype", lambda *_: pytest.fail("torch was used"))
    with pytest.raises(errors.InvalidGridError, match=r"^1,001 points per axis make"):
        probe_glu(Grid(-8.0, 8.0, points=1001))


def test_export_all_at_the_glu_axis_cap_reaches_rendering(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from actviz import export as export_module
    from actviz.params import targets_from_cli
    from actviz.registry import all_names

    class Rendering(Exception):
        pass

    def reached(*_: object, **__: object) -> None:
        raise Rendering

    monkeypatch.setattr(export_module, "render_all", reached)
    with pytest.raises(Rendering):
        export(
            targets_from_cli(all_names(), []), tmp_path / "out", grid=Grid(-8.0, 8.0, points=1000)
        )
