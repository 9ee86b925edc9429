"""``actviz saturation``: its refusals, each one line with its exit code."""

from __future__ import annotations

import pytest

from tests.cli.helpers import ClickError, ErrorCase, case_ids, check_refused

pytestmark = pytest.mark.usefixtures("in_tmp")

ERRORS: list[ErrorCase] = [
    (
        ["saturation", "--all", "--points", "50000"],
        2,
        "Error: 23 activations × 50,000 points = 1,150,000 samples, above the cap of 1,000,000 "
        "for one command; use fewer points or fewer activations",
    ),
]


@pytest.mark.parametrize(("args", "code", "expected"), ERRORS, ids=case_ids(ERRORS))
def test_one_error_line_and_exit_code(
    args: list[str], code: int, expected: str | ClickError
) -> None:
    check_refused(args, code, expected)
