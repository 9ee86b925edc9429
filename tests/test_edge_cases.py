"""What a newcomer broke on a first try, each with its exact outcome."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from actviz.cli import app
from actviz.probing import probe
from actviz.saturation import analyze
from tests.conftest import UserModules

runner = CliRunner()

ACTS = """import sys, torch
def sysexit(x):
    sys.exit(3)
def multiline(x):
    raise ValueError("line1\\nline2\\nline3")
def gradconst(x):
    return torch.ones_like(x, requires_grad=True)
"""


@pytest.fixture(autouse=True)
def in_tmp(user_modules: UserModules) -> Path:
    return user_modules(edgeacts=ACTS)


@pytest.mark.parametrize(
    ("args", "code", "line"),
    [
        (["depth", "relu", "--seed", "99999999999999999999999"], 2,
         "Error: seed must be a whole number from 0 to 2**64 - 1 (got 99999999999999999999999)"),
        (["depth", "relu", "--seed", "-1"], 2,
         "Error: seed must be a whole number from 0 to 2**64 - 1 (got -1)"),
        (["gain", "relu", "--bias-std", "1e300"], 2,
         "Error: bias std must be a number from 0 to 1e150 (got 1e+300)"),
        (["gain", "hardshrink", "--param", "lambd=1e30"], 2,
         "Error: hardshrink(lambd=1e+30) is 0 under a standard normal input (E[f(z)²] = 0 "
         "in float64): it has no gain"),
        (["plot", "relu", "--figsize", "1e9", "1e9"], 2,
         "Error: --figsize 1e+09 1e+09: give a width and height in inches, above 0 and at "
         "most 200"),
        (["plot", "relu", "--figsize", "200", "200", "--dpi", "1200"], 2,
         "Error: a 200 × 200 inch figure at 1200 dpi is 240,000 × 240,000 pixels, above the cap "
         "of 100,000,000 pixels; use a smaller --figsize or --dpi"),
        (["table", "edgeacts:sysexit", "--points", "5"], 1,
         "Error: edgeacts:sysexit raised SystemExit: 3"),
        (["table", "edgeacts:multiline", "--points", "5"], 1,
         "Error: edgeacts:multiline raised ValueError: line1; line2; line3"),
        (["table", "edgeacts:gradconst", "--points", "5"], 1,
         "Error: edgeacts:gradconst returned a tensor that does not depend on x (a new tensor "
         "with requires_grad=True?); compute it with torch operations on x"),
    ],
)  # fmt: skip
def test_one_line_and_exit_code(args: list[str], code: int, line: str) -> None:
    result = runner.invoke(app, args)
    assert (result.exit_code, result.stderr) == (code, line + "\n")


def test_an_output_that_is_not_a_regular_file_is_refused_and_a_symlink_written_through(
    in_tmp: Path,
) -> None:
    fifo = in_tmp / "pipe.png"
    os.mkfifo(fifo)
    result = runner.invoke(app, ["plot", "relu", "--out", str(fifo)])
    assert (result.exit_code, result.stderr) == (
        1,
        f"Error: cannot write {fifo}: it is not a regular file; choose another --out\n",
    )
    assert fifo.is_fifo()  # still the fifo, not replaced by a PNG
    (in_tmp / "link.png").symlink_to("target.png")
    assert runner.invoke(app, ["plot", "relu", "--out", "link.png"]).exit_code == 0
    assert (in_tmp / "link.png").is_symlink()
    assert (in_tmp / "target.png").read_bytes()[:4] == b"\x89PNG"


def test_far_tails_are_dead_by_rounding_and_kink_samples_are_not() -> None:
    # float64's own closed form underflows beyond |x| ≈ 700: asked at 30, σ′ is not 0
    s = analyze(probe("sigmoid", start=-1000, stop=1000, points=5, dtype="float64"), dtypes=())
    assert s.rounded is not None and list(s.rounded) == [True, False, False, True, True]
    # threshold's f′(0.1) = 0 is torch's value at its kink, not rounding
    t = analyze(probe("threshold", start=-1, stop=1, points=5), dtypes=())
    assert t.rounded is not None and not t.rounded.any()


def test_export_piped_to_head_still_finishes(in_tmp: Path) -> None:
    command = f"{sys.executable} -m actviz export relu gelu --jobs 1 --out exported | head -1"
    root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "MPLBACKEND": "Agg", "CI": "1", "PYTHONPATH": root}
    done = subprocess.run(command, shell=True, env=env, capture_output=True, text=True,
                          timeout=300, check=False)  # fmt: skip
    assert done.stdout.startswith("written")
    assert sorted(p.name for p in (in_tmp / "exported").iterdir()) == [
        "gelu.png", "index.html", "manifest.json", "relu.png",
    ]  # fmt: skip


# --- the second newcomer round (issue 13) ---------------------------------------


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_device_named_without_a_suffix_is_refused_not_written_beside() -> None:
    result = runner.invoke(app, ["plot", "relu", "--points", "5", "--out", "/dev/full"])
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: cannot write /dev/full: it is not a regular file; choose another --out\n",
    )
    assert not os.path.exists("/dev/full.png")


def test_a_fifo_named_without_a_suffix_is_refused(tmp_path: Path) -> None:
    (tmp_path / "fifos").mkdir()
    os.mkfifo(tmp_path / "fifos" / "pipe")
    result = runner.invoke(app, ["depth", "relu", "--layers", "2", "--width", "4", "--batch",
                                 "4", "--out", "fifos/pipe"])  # fmt: skip
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: cannot write fifos/pipe: it is not a regular file; choose another --out\n",
    )
    assert sorted(p.name for p in (tmp_path / "fifos").iterdir()) == ["pipe"]


def test_library_functions_refuse_wrong_types_with_an_actviz_error() -> None:
    import actviz as typed

    actviz: Any = typed  # the wrong types are the point here

    relu = probe("relu", points=5)
    cases: list[tuple[Callable[[], object], str]] = [
        (lambda: actviz.analyze(None),
         "analyze takes one Probe, e.g. analyze(probe('relu')) (got None)"),
        (lambda: actviz.analyze(relu, eps="0.1"),
         "eps must be a number between 0 and 1 (got '0.1')"),
        (lambda: actviz.probe("relu", train="yes"), "train must be True or False (got 'yes')"),
        (lambda: actviz.probe_many(None, actviz.Grid()),
         "specs must be activation names or specs, e.g. ['relu'] (got None)"),
        (lambda: actviz.probe_many(["relu"], (-1, 1)),
         "grid must be a Grid, e.g. Grid(-8, 8) (got (-1, 1))"),
        (lambda: actviz.save_figure(actviz.activation_figure([relu]), None),
         "output must be a file path such as figs/plot.png (got None)"),
        (lambda: actviz.write_plot(None),
         "specs must be activation names or specs, e.g. ['relu'] (got None)"),
        (lambda: actviz.write_plot([]), "specs is empty; give at least one activation, e.g. "
         "['relu']"),
    ]  # fmt: skip
    for call, message in cases:
        with pytest.raises(actviz.ActvizError) as caught:
            call()
        assert str(caught.value) == message


def test_names_are_welcome_where_specs_or_requests_are_taken() -> None:
    import actviz

    probes = actviz.probe_many(["relu", "tanh"], actviz.Grid(-1, 1, points=3))
    assert [p.name for p in probes] == ["relu", "tanh"]
    # One name is welcome where a list is, as in gain() and simulate().
    (one,) = actviz.probe_many("relu", actviz.Grid(-1, 1, points=3))
    assert one.name == "relu"


def test_submodules_are_reachable_as_attributes_after_a_plain_import() -> None:
    code = (
        "import actviz; r = actviz.jacobian.jacobian('softmax'); "
        "print(round(r.jacobian[0][0], 4), callable(actviz.probe), type(actviz.graph).__name__)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout == "0.2301 True module\n"


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["graph", "relu(x)", "--set", "x=1", "--set", "x=2"],
            "Error: --set x is given twice; give several values as --set x=1,2",
        ),
        (
            ["graph", "relu(x)", "--set", "x=1", "--eps", "nan"],
            "Error: --eps must be a number between 0 and 1 (got nan)",
        ),
        (
            ["graph", "relu(x)", "--set", "x=1", "--eps", "-1"],
            "Error: --eps must be a number between 0 and 1 (got -1.0)",
        ),
        (
            ["plot", "glu", "--figsize", "4", "3"],
            "Error: --figsize applies to activation plots, not glu's heatmaps",
        ),
        (["check"], "Error: name activations or give --all"),
        (["check", "relu", "--all"], "Error: name activations or give --all, not both"),
    ],
)
def test_graph_and_wording_lines(args: list[str], line: str) -> None:
    result = runner.invoke(app, args)
    assert (result.exit_code, result.stderr) == (2, f"{line}\n")
