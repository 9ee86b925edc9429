"""``actviz table``: its refusals (grid caps, dtypes, seeds, user activations), each
one line with its exit code, and its streamed CSV and JSON."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from actviz import display, tables
from actviz.probing import probe
from actviz.saturation import analyze
from tests.cli.helpers import CAP, ClickError, ErrorCase, case_ids, check_refused, run
from tests.cli.test_all_commands import strict_json

pytestmark = pytest.mark.usefixtures("in_tmp")

ERRORS: list[ErrorCase] = [
    # --- memory and size: the count of every grid, before allocating ---
    (
        ["table", "tanh", "--range", "0", "2e6", "--csv"],
        2,
        "Error: the default step 0.1 over [0, 2e+06] gives 20,000,000 points, above the cap of "
        f"1,000,000 {CAP}",
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
        ["table", "tanh", "--points", "5001"],
        2,
        "Error: the grid has 5,001 points, above the 5,000 rows a printed table shows; use "
        "--csv or --json (up to 1,000,000 points), fewer points or a larger step",
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
    (["table", "tanh", "--device", "cpu:junk"], 2, ClickError("'--device'", "cpu:junk")),
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
    # --- Click's parse errors: one line, the usage folded in ---
    (["table"], 2, ClickError("'NAME'")),
    (["table", "tanh", "relu"], 2, ClickError("relu")),
    (["table", "tanh", "--points", "many"], 2, ClickError("'--points'", "many")),
    # --- tracebacks that are now one line ---
    (
        ["table", "h9acts:nan"],
        1,
        "Error: h9acts:nan is not finite on this range in float32: f(x) = nan at x = -8 (160 of "
        "160 samples); an activation must return finite values with finite gradients",
    ),
    (
        ["table", "h9acts:complex_out"],
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
        ["table", "tanh", "--json", "--csv", "--points", "20000"],
        2,
        "Error: give --json or --csv, not both",
    ),
    (
        ["table", "edgeacts:sysexit", "--points", "5"],
        1,
        "Error: edgeacts:sysexit raised SystemExit: 3",
    ),
    (
        ["table", "edgeacts:multiline", "--points", "5"],
        1,
        "Error: edgeacts:multiline raised ValueError: line1; line2; line3",
    ),
    (
        ["table", "edgeacts:gradconst", "--points", "5"],
        1,
        "Error: edgeacts:gradconst returned a tensor that does not depend on x (a new tensor "
        "with requires_grad=True?); compute it with torch operations on x",
    ),
]


@pytest.mark.parametrize(("args", "code", "expected"), ERRORS, ids=case_ids(ERRORS))
def test_one_error_line_and_exit_code(
    args: list[str], code: int, expected: str | ClickError
) -> None:
    check_refused(args, code, expected)


def test_streamed_json_and_csv_equal_the_in_memory_forms() -> None:
    p = probe("gelu", start=-3, stop=3, points=25_001, second=True)
    s = analyze(p)
    assert p.grad2 is not None
    buffer = io.StringIO()
    tables.write_probe_json(p, s, buffer)
    assert buffer.getvalue() == display.strict_json(tables.probe_json(p, s)) + "\n"
    data = strict_json(buffer.getvalue())
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
    assert not Path("outputs").exists()
