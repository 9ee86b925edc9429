"""What a newcomer broke on a first try, each with its exact outcome."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
         "Error: hardshrink(lambd=1e+30): its gains overflow float64 at these settings (float "
         "division by zero); use smaller parameter values or --bias-std"),
        (["plot", "relu", "--figsize", "1e9", "1e9"], 2,
         "Error: --figsize 1e+09 1e+09 does not fit 2 panels; use at least 4 2.4 and at most "
         "200 200 (inches)"),
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
