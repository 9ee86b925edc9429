"""``actviz check``: its refusals, each one line with its exit code; a user's
activation that misbehaves is one line, never a traceback."""

from __future__ import annotations

import pytest

from tests.cli.helpers import ClickError, ErrorCase, case_ids, check_refused

pytestmark = pytest.mark.usefixtures("in_tmp")

ERRORS: list[ErrorCase] = [
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
        ["check", "h9exits:f"],
        1,
        "Error: cannot import 'h9exits' for h9exits:f: importing it raised SystemExit: 3",
    ),
    (["check"], 2, "Error: name activations or give --all"),
    (["check", "relu", "--all"], 2, "Error: name activations or give --all, not both"),
]


@pytest.mark.parametrize(("args", "code", "expected"), ERRORS, ids=case_ids(ERRORS))
def test_one_error_line_and_exit_code(
    args: list[str], code: int, expected: str | ClickError
) -> None:
    check_refused(args, code, expected)
