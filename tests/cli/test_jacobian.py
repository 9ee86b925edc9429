"""``actviz jacobian``: its refusals, each one line with its exit code, and JSON's
null where a value overflows."""

from __future__ import annotations

import pytest

from tests.cli.helpers import ClickError, ErrorCase, case_ids, check_refused, run
from tests.cli.test_all_commands import strict_json

pytestmark = pytest.mark.usefixtures("in_tmp")

ERRORS: list[ErrorCase] = [
    (
        ["jacobian", "softmax", "--random", "3", "--seed", "18446744073709551616"],
        2,
        "Error: seed must be a whole number from 0 to 2**64 - 1 (got 18446744073709551616)",
    ),
    (["jacobian"], 2, ClickError("'FUNCTION'")),
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
]


@pytest.mark.parametrize(("args", "code", "expected"), ERRORS, ids=case_ids(ERRORS))
def test_one_error_line_and_exit_code(
    args: list[str], code: int, expected: str | ClickError
) -> None:
    check_refused(args, code, expected)


def test_jacobian_json_with_extreme_input_has_null_not_infinity() -> None:
    # log_softmax of a 1e308 spread: −2e308 overflows to −inf; JSON gets null
    data = strict_json(
        run("jacobian", "log_softmax", "--input", "1e308", "-1e308", "--json").stdout
    )
    assert data["output"] == [0.0, None]
