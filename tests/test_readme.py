"""The README's console examples are run, and their output must match, so no
number in them can go stale.

Every ```console block is read as a shell session: ``$ actviz …`` runs the
command in-process (in a fresh folder), the lines up to the next ``$`` are
its expected output, and ``$ cat FILE`` followed by lines creates FILE. An
expected line matches the actual one with surrounding spaces ignored; a line
that is only ``...`` (or a table row of ``...`` cells) stands for any number
of lines, and a line ending in `` ...`` for any line that starts like it. A
command shown without output must simply succeed (or fail with the ``Error:``
line shown).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from actviz.cli import app

README = Path(__file__).resolve().parent.parent / "README.md"
ELLIPSIS = re.compile(r"^[\s│|┃]*(\.\.\.[\s│|┃]*)+$")


@dataclass
class Step:
    command: str
    expected: list[str] = field(default_factory=list)
    line: int = 0


def sessions() -> list[list[Step]]:
    """The ```console blocks of the README, as lists of commands with their output."""
    blocks: list[list[Step]] = []
    lines = README.read_text().splitlines()
    inside = False
    steps: list[Step] = []
    for number, line in enumerate(lines, start=1):
        if line.startswith("```console"):
            inside, steps = True, []
            blocks.append(steps)
        elif line.startswith("```") and inside:
            inside = False
        elif inside and line.startswith("$ "):
            steps.append(Step(line[2:], line=number))
        elif inside and steps:
            steps[-1].expected.append(line)
    return [b for b in blocks if b]


def _matches(expected: list[str], actual: list[str]) -> bool:
    """``expected`` (with ``...`` wildcards) against ``actual``, lines stripped."""
    want = [e.strip() for e in expected]
    got = [a.strip() for a in actual]
    while got and not got[-1]:
        got.pop()
    while want and not want[-1]:
        want.pop()

    def match(i: int, j: int) -> bool:
        if i == len(want):
            return j == len(got)
        if ELLIPSIS.match(want[i]) or want[i] == "...":
            return any(match(i + 1, k) for k in range(j, len(got) + 1))
        if want[i].endswith(" ..."):  # the rest of the line is left out
            same = j < len(got) and got[j].startswith(want[i].removesuffix("..."))
        else:
            same = j < len(got) and got[j] == want[i]
        return same and match(i + 1, j + 1)

    return match(0, 0)


def _run(step: Step, folder: Path, runner: CliRunner) -> tuple[int, list[str]]:
    command = step.command
    words = shlex.split(command, comments=True)
    target = None
    if ">" in words:
        at = words.index(">")
        words, target = words[:at], words[at + 1]
    assert words[0] == "actviz", f"README line {step.line}: only actviz commands run here"
    result = runner.invoke(app, words[1:], env={"COLUMNS": "160"})
    output = result.stdout + result.stderr
    if target is not None:
        (folder / target).write_text(result.stdout)
        output = result.stderr
    return result.exit_code, output.splitlines()


BLOCKS = sessions()


@pytest.mark.parametrize("block", BLOCKS, ids=[f"line{b[0].line}" for b in BLOCKS])
def test_readme_console_examples(
    block: list[Step], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))  # `cat myacts.py` makes an importable module
    runner = CliRunner()
    for step in block:
        if step.command.startswith("cat "):
            (tmp_path / step.command.split()[1]).write_text("\n".join(step.expected) + "\n")
            continue
        code, output = _run(step, tmp_path, runner)
        shows_error = any(e.startswith("Error:") for e in step.expected)
        assert (code != 0) == shows_error, (step.line, step.command, output[-5:])
        if step.expected:
            assert _matches(step.expected, output), (
                f"README line {step.line}: `{step.command}` printed:\n" + "\n".join(output)
            )


def test_the_readme_has_examples_for_every_command() -> None:
    commands = {s.command.split()[1] for b in BLOCKS for s in b if s.command.startswith("actviz")}
    registered = {c.name for c in app.registered_commands}
    assert registered <= commands, registered - commands


def test_wildcards_match_any_number_of_lines_and_nothing_else() -> None:
    assert _matches(["a", "...", "d"], ["a", "b", "c", "d"])
    assert _matches(["a", "│ ... │ ... │", "d"], ["a", "d"])
    assert not _matches(["a", "d"], ["a", "b", "d"])
    assert not _matches(["a", "...", "e"], ["a", "b", "d"])
    assert _matches(["peak is ..."], ["peak is 1 at x = 0"])
    assert not _matches(["peak is ..."], ["peak was 1"])
