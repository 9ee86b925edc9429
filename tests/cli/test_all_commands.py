"""What every command does alike: one error line for a parse error, strict JSON for
machines, one line when stdout cannot be written, a usage that names the arguments."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.cli.helpers import ClickError, ErrorCase, case_ids, check_error, check_refused, run

pytestmark = pytest.mark.usefixtures("in_tmp")

ROOT = Path(__file__).resolve().parents[2]

ERRORS: list[ErrorCase] = [
    (["plto", "relu"], 2, ClickError("'plto'")),
    (["--verbose"], 2, ClickError("--verbose")),
]


@pytest.mark.parametrize(("args", "code", "expected"), ERRORS, ids=case_ids(ERRORS))
def test_one_error_line_and_exit_code(args: list[str], code: int, expected: ClickError) -> None:
    check_refused(args, code, expected)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["table", "tanh", "--points", "many"], "Error: something else"),  # not the line
        (["table", "tanh", "--points", "many"], ClickError("'--step'")),  # not the option named
        (["plto", "relu"], ClickError("'relu'")),  # the argument after the command
        (["table", "tanh", "--points", "5"], "Error: none"),  # no error at all
    ],
    ids=["wrong line", "wrong option", "wrong name", "no error"],
)
def test_the_error_check_catches_a_wrong_expectation(
    args: list[str], expected: str | ClickError
) -> None:
    with pytest.raises(AssertionError):
        check_error(args, 2, expected)


def test_the_error_check_catches_the_usage_of_another_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.cli import helpers

    real = helpers.run

    def swapped(*args: str) -> Any:
        result = real(*args)
        result.stderr_bytes = result.stderr_bytes.replace(b"actviz table", b"actviz plot")
        return result

    monkeypatch.setattr(helpers, "run", swapped)
    with pytest.raises(AssertionError):
        check_error(["table", "tanh", "--points", "many"], 2, ClickError("'--points'"))


def _actviz(*args: str, stdout: Any = subprocess.PIPE) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "actviz", *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        check=False,
    )


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("args", [["list"], ["table", "tanh", "--csv"], ["list", "--json"]])
def test_stdout_on_a_full_disk_is_one_line(args: list[str]) -> None:
    with open("/dev/full", "w") as full:
        done = _actviz(*args, stdout=full)
    assert done.returncode == 1
    assert done.stderr == "Error: cannot write the output: No space left on device\n"


def strict_json(text: str) -> Any:
    """``json.loads`` that refuses NaN and ±Infinity, which JSON does not have."""

    def refuse(constant: str) -> None:
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def test_the_strict_reader_refuses_what_json_lacks() -> None:
    for constant in ("NaN", "Infinity", "-Infinity"):
        with pytest.raises(ValueError, match="not JSON"):
            strict_json(f"[1.0, {constant}]")


@pytest.mark.parametrize(
    "args",
    [
        ["list", "--json"],
        ["table", "tanh", "--json", "--points", "5"],
        ["table", "sigmoid", "--json", "--range", "-200", "200", "--points", "30001"],
        ["table", "relu", "--json", "--second", "--dtype", "float16"],
        ["saturation", "--all", "--json"],
        ["saturation", "leaky_relu", "--param", "negative_slope=1e37", "--json"],
        ["check", "relu", "tanh", "--json"],
        ["jacobian", "softmax", "--input", "1e308", "-1e308", "0", "--json"],
        ["jacobian", "log_softmax", "--random", "5", "--json"],
    ],
    ids=lambda a: " ".join(a),
)
def test_every_json_output_is_strict(args: list[str]) -> None:
    result = run(*args)
    assert result.exit_code == 0, result.output
    strict_json(result.stdout)


@pytest.mark.parametrize(
    ("command", "arguments"),
    [
        ("plot", "NAMES..."),
        ("table", "NAME"),
        ("saturation", "[NAMES]..."),
        ("jacobian", "FUNCTION [VALUES]..."),
        ("graph", "EXPR"),
    ],
)
def test_help_usage_names_the_arguments(command: str, arguments: str) -> None:
    # The first line is Click's usage; what actviz owns is the command and its arguments.
    result = run(command, "--help")
    assert result.exit_code == 0
    first = result.stdout.splitlines()[0]
    assert f"actviz {command} " in first and first.endswith(f" {arguments}")
