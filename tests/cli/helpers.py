"""Running one command line and checking how it fails, in one place for every
command's tests (tests/cli/test_<command>.py) and the older per-feature files.

A failure is actviz's: exit 2 (usage) or 1 (run time), nothing on stdout and exactly
one ``Error:`` line on stderr. Where actviz words the line, a test gives the whole
line; where Click words it (a parse error: a missing argument, an unknown option, a
value not of the option's type), a test gives a :class:`ClickError` instead: the
line names what was wrong and carries the command's usage, folded in by actviz
(actviz/cli/boundary.py), and Click's own wording is not asserted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from actviz.cli import app

runner = CliRunner()


def run(*args: str) -> Any:
    """``actviz ARGS...`` in this process (stdout and stderr apart)."""
    return runner.invoke(app, list(args))


@dataclass(frozen=True)
class ClickError:
    """A parse error worded by Click: the one line names each of ``names`` (the
    option or argument, the value given)."""

    names: tuple[str, ...]

    def __init__(self, *names: str) -> None:
        object.__setattr__(self, "names", names)


def _commands() -> set[str]:
    import typer.main

    group: Any = typer.main.get_command(app)
    return set(group.commands)


def error_line(args: list[str], code: int) -> str:
    """Run ``args``, check the exit code, an empty stdout and one ``Error:`` line on
    stderr; return that line (without its newline)."""
    result = run(*args)
    assert result.exit_code == code, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and result.stderr == lines[0] + "\n", result.stderr
    assert lines[0].startswith("Error: ")
    return lines[0]


def check_error(args: list[str], code: int, expected: str | ClickError) -> None:
    """``args`` fail with ``code`` and the one line ``expected`` (actviz's own words,
    whole) or, for a :class:`ClickError`, a line that names what was wrong and the
    usage of the command that was run."""
    line = error_line(args, code)
    if isinstance(expected, str):
        assert line == expected
        return
    for name in expected.names:
        assert name in line, (name, line)
    command = args[0] if args and args[0] in _commands() else None
    usage = f"; usage: actviz {command} " if command else "; usage: actviz ["
    assert usage in line, line


def check_refused(args: list[str], code: int, expected: str | ClickError) -> None:
    """:func:`check_error`, and nothing written in the working folder's outputs/."""
    check_error(args, code, expected)
    assert not Path("outputs").exists()


# (arguments, exit code, the one stderr line or what Click's line must name)
ErrorCase = tuple[list[str], int, "str | ClickError"]


def case_ids(cases: list[ErrorCase]) -> list[str]:
    """A test id per case: its command line."""
    return [" ".join(args) for args, _, _ in cases]


CAP = "(memory for autograd grows with it); use fewer points or a larger step"
