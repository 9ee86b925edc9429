"""Every command's --help ends with real examples (tests/test_docs.py runs them), and the
docs pages document every command."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from actviz.cli import EXAMPLES, app

PAGES = sorted((Path(__file__).resolve().parents[1] / "docs").glob("*.md"))
COMMANDS = sorted(get_command(app).commands)  # type: ignore[attr-defined]


def test_every_command_has_examples() -> None:
    assert set(COMMANDS) <= set(EXAMPLES)


@pytest.mark.parametrize("command", COMMANDS)
def test_help_ends_with_examples_of_the_command(command: str) -> None:
    done = CliRunner().invoke(app, [command, "--help"])
    assert done.exit_code == 0
    lines = done.output.rstrip("\n").splitlines()
    start = max(i for i, line in enumerate(lines) if line.strip() == "Examples:")
    examples = [line.strip() for line in lines[start + 1 :]]
    assert 2 <= len(examples) <= 3
    assert all(e.startswith(f"actviz {command}") for e in examples), examples


def test_root_help_ends_with_examples() -> None:
    lines = CliRunner().invoke(app, ["--help"]).output.rstrip("\n").splitlines()
    assert lines[-4].strip() == "Examples:"
    assert all(line.strip().startswith("actviz ") for line in lines[-3:])


def _docs() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in PAGES if p.name != "cli.md")


@pytest.mark.parametrize("command", COMMANDS)
def test_the_docs_document_the_command(command: str) -> None:
    # a section of its own on a hand-written page (cli.md, generated, has one for all)
    assert re.search(rf"^##+ `actviz {command}\b", _docs(), re.MULTILINE), command


def test_the_docs_document_term_version_and_completion() -> None:
    text = _docs()
    for needle in ("--term", "--version", "--install-completion", "--show-completion",
                   "NO_COLOR"):  # fmt: skip
        assert needle in text, needle
