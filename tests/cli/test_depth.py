"""``actviz depth``: its refusals, each one line with its exit code."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.cli.helpers import ClickError, ErrorCase, case_ids, check_refused, run

pytestmark = pytest.mark.usefixtures("in_tmp")

ERRORS: list[ErrorCase] = [
    (
        ["depth", "relu", "--seed", "99999999999999999999999"],
        2,
        "Error: seed must be a whole number from 0 to 2**64 - 1 (got 99999999999999999999999)",
    ),
    (
        ["depth", "relu", "--seed", "-1"],
        2,
        "Error: seed must be a whole number from 0 to 2**64 - 1 (got -1)",
    ),
]


@pytest.mark.parametrize(("args", "code", "expected"), ERRORS, ids=case_ids(ERRORS))
def test_one_error_line_and_exit_code(
    args: list[str], code: int, expected: str | ClickError
) -> None:
    check_refused(args, code, expected)


def test_a_fifo_named_without_a_suffix_is_refused(in_tmp: Path) -> None:
    (in_tmp / "fifos").mkdir()
    os.mkfifo(in_tmp / "fifos" / "pipe")
    result = run("depth", "relu", "--layers", "2", "--width", "4", "--batch", "4",
                 "--out", "fifos/pipe")  # fmt: skip
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: cannot write fifos/pipe: it is not a regular file; choose another --out\n",
    )
    assert sorted(p.name for p in (in_tmp / "fifos").iterdir()) == ["pipe"]
