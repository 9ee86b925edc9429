"""``actviz graph``: its refusals, each one line with its exit code, and an
expression that starts with a minus."""

from __future__ import annotations

import pytest

from tests.cli.helpers import ClickError, ErrorCase, case_ids, check_refused, run

pytestmark = pytest.mark.usefixtures("in_tmp")

ERRORS: list[ErrorCase] = [
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
        ["graph", "relu(x)", "--set", "x=1", "--set", "x=2"],
        2,
        "Error: --set x is given twice; give several values as --set x=1,2",
    ),
    (
        ["graph", "relu(x)", "--set", "x=1", "--eps", "nan"],
        2,
        "Error: --eps must be a number between 0 and 1 (got nan)",
    ),
    (
        ["graph", "relu(x)", "--set", "x=1", "--eps", "-1"],
        2,
        "Error: --eps must be a number between 0 and 1 (got -1.0)",
    ),
]


@pytest.mark.parametrize(("args", "code", "expected"), ERRORS, ids=case_ids(ERRORS))
def test_one_error_line_and_exit_code(
    args: list[str], code: int, expected: str | ClickError
) -> None:
    check_refused(args, code, expected)


def test_graph_expression_may_start_with_a_minus() -> None:
    result = run("graph", "-x*w", "--set", "x=2", "--set", "w=3", "--out", "g.dot")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "-x*w = -6"
    assert result.stdout.endswith("wrote g.dot\n")
    assert "w value 3, grad -2" in result.stdout  # d(−x·w)/dw = −x
