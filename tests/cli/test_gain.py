"""``actviz gain``: its refusals, each one line with its exit code."""

from __future__ import annotations

import pytest

from tests.cli.helpers import ClickError, ErrorCase, case_ids, check_refused

pytestmark = pytest.mark.usefixtures("in_tmp")

ERRORS: list[ErrorCase] = [
    (
        ["gain", "relu", "--bias-std", "1e300"],
        2,
        "Error: bias std must be a number from 0 to 1e150 (got 1e+300)",
    ),
    (
        ["gain", "hardshrink", "--param", "lambd=1e30"],
        2,
        "Error: hardshrink(lambd=1e+30) is 0 under a standard normal input (E[f(z)²] = 0 "
        "in float64): it has no gain",
    ),
]


@pytest.mark.parametrize(("args", "code", "expected"), ERRORS, ids=case_ids(ERRORS))
def test_one_error_line_and_exit_code(
    args: list[str], code: int, expected: str | ClickError
) -> None:
    check_refused(args, code, expected)
