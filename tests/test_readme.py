"""The console examples of the README and of the docs pages (docs/*.md) are run, and
their output must match, so no number in them can go stale.

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

import functools
import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from actviz import custom
from actviz.cli import app
from tests import routes

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
# The README first, then every docs page: the same runner, the same route rules.
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
ELLIPSIS = re.compile(r"^[\s│|┃]*(\.\.\.[\s│|┃]*)+$")


@dataclass
class Step:
    command: str
    expected: list[str] = field(default_factory=list)
    line: int = 0
    page: str = "README.md"

    @property
    def where(self) -> str:
        return f"{self.page} line {self.line}"


def sessions(page: Path = README, root: Path = ROOT) -> list[list[Step]]:
    """The ```console blocks of one page, as lists of commands with their output."""
    blocks: list[list[Step]] = []
    name = page.relative_to(root).as_posix()
    lines = page.read_text(encoding="utf-8").splitlines()
    inside = False
    steps: list[Step] = []
    for number, line in enumerate(lines, start=1):
        if line.startswith("```console"):
            inside, steps = True, []
            blocks.append(steps)
        elif line.startswith("```") and inside:
            inside = False
        elif inside and line.startswith("$ "):
            steps.append(Step(line[2:], line=number, page=name))
        elif inside and steps:
            steps[-1].expected.append(line)
    return [b for b in blocks if b]


RULE = re.compile(r"^[─━═┄ ]+$")


def _normal(line: str) -> str:
    """A line as compared: spaces collapsed (a route-dependent cell can change a
    column's width), a rule of any length as one."""
    line = " ".join(line.split())
    return "─" if RULE.match(line) else line


def _same(want: str, got: str) -> bool:
    """One expected line against one printed line; a ``†`` cell is route-dependent:
    it is checked against plain torch on this machine (:func:`_route_cell`)."""
    if "†" not in want:
        return want == got
    wanted, printed = want.split(" "), got.split(" ")
    if len(wanted) != len(printed):
        return False
    for i, (w, g) in enumerate(zip(wanted, printed, strict=True)):
        # a † cell is always checked against plain torch, even when it reads as shown
        if ("†" in w and _route_cell(tuple(printed), i) != g) or ("†" not in w and w != g):
            return False
    return True


def _matches(expected: list[str], actual: list[str]) -> bool:
    """``expected`` (with ``...`` wildcards) against ``actual``, lines normalised."""
    want = [_normal(e) for e in expected]
    got = [_normal(a) for a in actual]
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
            same = j < len(got) and _same(want[i], got[j])
        return same and match(i + 1, j + 1)

    return match(0, 0)


def _run(step: Step, folder: Path, runner: CliRunner) -> tuple[int, list[str]]:
    command = step.command
    words = shlex.split(command, comments=True)
    if words[:2] == ["mkdir", "-p"] and "&&" in words:  # a folder made before the command
        at = words.index("&&")
        for name in words[2:at]:
            (folder / name).mkdir(parents=True, exist_ok=True)
        words = words[at + 1 :]
    target = None
    if ">" in words:
        at = words.index(">")
        words, target = words[:at], words[at + 1]
    assert words[0] == "actviz", f"{step.where}: only actviz commands run here"
    result = runner.invoke(app, words[1:], env={"COLUMNS": "160"})
    output = result.stdout + result.stderr
    if target is not None:
        (folder / target).write_text(result.stdout)
        output = result.stderr
    return result.exit_code, output.splitlines()


# `actviz saturation`'s last three columns: left / right |x| in these dtypes.
SURVEY_DTYPES = ("float16", "bfloat16", "float32")


@functools.cache
def _route_cell(row: tuple[str, ...], index: int) -> str:
    """What a † cell of an `actviz saturation` row on the default grid must read on this
    machine, found with plain torch (tests/routes.py): an underflow cell's edge by brute
    force on the batched route, with † where a single element's edge is more than one
    step away; a dead or saturated share (columns 7 and 8), with † where a sample lies
    between the two float32 edges."""
    from actviz.display import number, percent

    if index in (7, 8):  # label, peak, (x), f′(0), onset L, /, onset R, dead, saturated, ...
        assert len(row) >= 19, f"not a whole `actviz saturation` row: {row}"
        dead, saturated = routes.shares(row[0])
        between = routes.between_edges(row[0])
        return percent(dead if index == 7 else saturated) + ("†" if between else "")
    at = index - (len(row) - 3 * len(SURVEY_DTYPES))
    assert at >= 0 and at % 3 != 1, f"a † outside the underflow and share columns: {row}"
    dtype, sign = SURVEY_DTYPES[at // 3], -1.0 if at % 3 == 0 else 1.0
    claimed = row[index].rstrip("†")
    low = min(float(claimed) / 2, routes.LOW) if claimed != "—" else routes.LOW / 2
    batched = routes.edge(row[0], dtype, sign, "batched", low)
    single = routes.edge(row[0], dtype, sign, "single", low)
    marked = routes.apart(batched, single, dtype)
    return (number(batched, dtype) if batched is not None else "—") + ("†" if marked else "")


BLOCKS = [block for page in PAGES for block in sessions(page)]
# Commands that print measured numbers: their blocks are rerun under other kernel
# routes (tests/test_routes.py selects them with -m route). cmap's C(0), C′(1), C″(1)
# and their L-layer composites are quadratures of f, f′, f″ evaluated through torch in
# float64, whose last bits depend on the route, as gain's are.
MEASURING = {"table", "saturation", "check", "depth", "gain", "jacobian", "graph", "env",
             "cmap", "shape"}  # fmt: skip
# Commands whose pages' output holds no number computed through torch: names, the
# files written, the paths.
ROUTE_FREE = {"list", "plot", "export", "explore"}


def _marks(block: list[Step]) -> list[pytest.MarkDecorator]:
    return [pytest.mark.route] if _commands(block) & MEASURING else []


def _commands(block: list[Step]) -> set[str]:
    return {s.command.split()[1] for s in block if s.command.startswith("actviz ")}


def unclassified(commands: set[str]) -> set[str]:
    """Commands neither :data:`MEASURING` nor :data:`ROUTE_FREE`: a new command must be
    put in one, so that a block of numbers is not left out of the route reruns."""
    return commands - MEASURING - ROUTE_FREE


@pytest.mark.parametrize(
    "block",
    [pytest.param(b, marks=_marks(b), id=f"{b[0].page}:{b[0].line}") for b in BLOCKS],
)
def test_console_examples(
    block: list[Step], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    # `cat myacts.py` makes a module of the working folder, searched as cli.main has it.
    custom.set_module_folder(tmp_path)
    try:
        _run_block(block, tmp_path)
    finally:
        custom.set_module_folder(None)
        for name, module in list(sys.modules.items()):
            if str(tmp_path) in str(getattr(module, "__file__", "")):
                del sys.modules[name]


def _run_block(block: list[Step], tmp_path: Path) -> None:
    runner = CliRunner()
    for step in block:
        if step.command.startswith("cat "):
            (tmp_path / step.command.split()[1]).write_text("\n".join(step.expected) + "\n")
            continue
        code, output = _run(step, tmp_path, runner)
        shows_error = any(e.startswith("Error:") for e in step.expected)
        assert (code != 0) == shows_error, (step.where, step.command, output[-5:])
        if step.expected:
            assert _matches(step.expected, output), (
                f"{step.where}: `{step.command}` printed:\n" + "\n".join(output)
            )


def test_every_command_is_measuring_or_route_free() -> None:
    registered = {c.name for c in app.registered_commands if c.name}
    assert not MEASURING & ROUTE_FREE
    assert unclassified(registered) == set()
    assert (MEASURING | ROUTE_FREE) - registered == set()  # no stale names
    # every block that runs cmap carries the route mark
    cmap = [b for b in BLOCKS if "cmap" in _commands(b)]
    assert cmap and all(pytest.mark.route in _marks(b) for b in cmap)
    # a command added without a class is caught, and a block of it left unmarked
    assert unclassified(registered | {"newcmd"}) == {"newcmd"}
    assert _marks([Step("actviz newcmd relu")]) == []


def test_the_pages_have_examples_for_every_command() -> None:
    commands = {s.command.split()[1] for b in BLOCKS for s in b if s.command.startswith("actviz")}
    registered = {c.name for c in app.registered_commands}
    assert registered <= commands, registered - commands


@pytest.mark.slow
def test_route_cells_are_checked_against_plain_torch_here() -> None:
    row = "gelu 1.129 (1.4) 0.5 -3.1 / — 11.6% 19.5% — 6.035 / — {} / — {} / —"
    empty = tuple(row.format("—", "—").split(" "))
    bfloat16, float32 = _route_cell(empty, 13), _route_cell(empty, 16)
    # gelu's bfloat16 edge: 6.156 where oneDNN runs bfloat16 natively, 13.81 elsewhere;
    # its float32 edge: 6.151 where oneDNN computes it, 14.34 where ATen does
    assert bfloat16 in ("6.156†", "13.81") and float32 in ("6.151†", "14.34")
    printed = row.format(bfloat16, float32)
    # whatever a † cell of a page shows, it is checked against plain torch here
    assert _same(row.format("6.156†", "6.151†"), printed)
    assert _same(row.format("13.81†", "14.34†"), printed)
    # a wrong number in a † cell is caught, and so is a † that plain torch does not bear out
    for wrong in ("6.155†", "13.75", "13.81†" if bfloat16 == "13.81" else "6.156"):
        assert not _same(row.format("6.156†", "6.151†"), row.format(wrong, float32)), wrong


def test_every_page_with_a_console_session_is_run(tmp_path: Path) -> None:
    run = {block[0].page for block in BLOCKS}
    having = {
        p.relative_to(ROOT).as_posix()
        for p in PAGES
        if any(line.startswith("$ ") for line in p.read_text(encoding="utf-8").splitlines())
    }
    assert "README.md" in run and len(run) >= 8 and run == having
    # a console block on a new page is read, with its page and line
    page = tmp_path / "docs" / "new.md"
    page.parent.mkdir()
    page.write_text("text\n\n```console\n$ actviz list\n24 activations ...\n```\n")
    ((step,),) = sessions(page, tmp_path)
    assert (step.where, step.command, step.expected) == (
        "docs/new.md line 4",
        "actviz list",
        ["24 activations ..."],
    )


def test_wildcards_match_any_number_of_lines_and_nothing_else() -> None:
    assert _matches(["a", "...", "d"], ["a", "b", "c", "d"])
    assert _matches(["a", "│ ... │ ... │", "d"], ["a", "d"])
    assert not _matches(["a", "d"], ["a", "b", "d"])
    assert not _matches(["a", "...", "e"], ["a", "b", "d"])
    assert _matches(["peak is ..."], ["peak is 1 at x = 0"])
    assert not _matches(["peak is ..."], ["peak was 1"])
