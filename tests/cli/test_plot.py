"""``actviz plot``: its refusals, each one line with its exit code, and where it will
not write (a folder, a fifo, a device; a symlink is written through)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.cli.helpers import CAP, ClickError, ErrorCase, case_ids, check_refused, run

pytestmark = pytest.mark.usefixtures("in_tmp")

ERRORS: list[ErrorCase] = [
    (
        ["plot", "relu", "--range", "-1e6", "1e6"],
        2,
        "Error: the default step 0.1 over [-1e+06, 1e+06] gives 20,000,000 points, above the "
        f"cap of 1,000,000 {CAP}",
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
        ["plot", "relu", "gelu", "--points", "600000"],
        2,
        "Error: 2 activations × 600,000 points = 1,200,000 samples, above the cap of 1,000,000 "
        "for one command; use fewer points or fewer activations",
    ),
    # --- Click's parse errors: one line, the usage folded in ---
    (["plot"], 2, ClickError("'NAMES...'")),
    (["plot", "relu", "--dpi", "0"], 2, ClickError("'--dpi'", "0")),
    (["plot", "relu", "--colour", "red"], 2, ClickError("--colour")),
    # --- tracebacks that are now one line ---
    (
        ["plot", "h9acts:inf", "--range", "-1", "1", "--points", "5"],
        1,
        "Error: h9acts:inf is not finite on this range in float32: f(x) = inf at x = 0.5 (2 of 5 "
        "samples); an activation must return finite values with finite gradients",
    ),
    (
        ["plot", ".rel:fn"],
        2,
        "Error: '.rel:fn' is a relative import path; write the absolute one, e.g. mypkg.acts:my_fn",
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
        ["plot", "elu", "--param", "elu.alpha=0.5", "--param", "alpha=0.7"],
        2,
        "Error: --param elu.alpha=0.5 and --param alpha=0.7 both set elu's alpha; give it once, "
        "or compare the values with --sweep alpha=0.5,0.7",
    ),
    (
        ["plot", "relu", "--figsize", "1e9", "1e9"],
        2,
        "Error: --figsize 1e+09 1e+09: give a width and height in inches, above 0 and at most 200",
    ),
    (
        ["plot", "relu", "--figsize", "200", "200", "--dpi", "1200"],
        2,
        "Error: a 200 × 200 inch figure at 1200 dpi is 240,000 × 240,000 pixels, above the cap "
        "of 100,000,000 pixels; use a smaller --figsize or --dpi",
    ),
    (
        ["plot", "glu", "--figsize", "4", "3"],
        2,
        "Error: --figsize applies to activation plots, not glu's heatmaps",
    ),
]


@pytest.mark.parametrize(("args", "code", "expected"), ERRORS, ids=case_ids(ERRORS))
def test_one_error_line_and_exit_code(
    args: list[str], code: int, expected: str | ClickError
) -> None:
    check_refused(args, code, expected)


def test_a_folder_as_out_is_refused(in_tmp: Path) -> None:
    result = run("plot", "relu", "--out", str(in_tmp))
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: output '{in_tmp}' is a folder; give a file name such as {in_tmp}/plot.png\n"
    )


def test_an_output_that_is_not_a_regular_file_is_refused_and_a_symlink_written_through(
    in_tmp: Path,
) -> None:
    fifo = in_tmp / "pipe.png"
    os.mkfifo(fifo)
    result = run("plot", "relu", "--out", str(fifo))
    assert (result.exit_code, result.stderr) == (
        1,
        f"Error: cannot write {fifo}: it is not a regular file; choose another --out\n",
    )
    assert fifo.is_fifo()  # still the fifo, not replaced by a PNG
    (in_tmp / "link.png").symlink_to("target.png")
    assert run("plot", "relu", "--out", "link.png").exit_code == 0
    assert (in_tmp / "link.png").is_symlink()
    assert (in_tmp / "target.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_device_named_without_a_suffix_is_refused_not_written_beside() -> None:
    result = run("plot", "relu", "--points", "5", "--out", "/dev/full")
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: cannot write /dev/full: it is not a regular file; choose another --out\n",
    )
    assert not os.path.exists("/dev/full.png")
