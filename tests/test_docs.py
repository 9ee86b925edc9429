"""The docs cannot drift: the site builds strictly, the CLI reference is the commands'
own --help, and every example a command's --help shows runs as shown.

The console examples of the README and of every docs page are run by
tests/test_readme.py; tests/test_house.py checks the layout page.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import pytest
from typer.testing import CliRunner

from actviz.cli import app
from tests import test_readme as readme

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
CLI_PAGE = DOCS / "cli.md"
HAS_MKDOCS = importlib.util.find_spec("mkdocs") is not None
HAS_COG = importlib.util.find_spec("cogapp") is not None
needs_mkdocs = pytest.mark.skipif(
    not HAS_MKDOCS, reason="MkDocs is not installed (pip install -e '.[test]' brings it)"
)
needs_cog = pytest.mark.skipif(
    not HAS_COG, reason="cog is not installed (pip install -e '.[test]' brings it)"
)


# --- the site -------------------------------------------------------------------------


def _build(root: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict",  # not --quiet: it hides warnings
         "-f", str(root / "mkdocs.yml"), "-d", str(site)],
        cwd=root, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def _copy(tmp_path: Path) -> Path:
    """The docs, their configuration and the figures they show, to break one on purpose."""
    copy = tmp_path / "repo"
    shutil.copytree(DOCS, copy / "docs")
    shutil.copy(ROOT / "mkdocs.yml", copy)
    (copy / "outputs").mkdir()
    for figure in sorted((ROOT / "outputs").glob("*.png")):
        shutil.copy(figure, copy / "outputs")
    return copy


def _pages() -> set[str]:
    return {p.name for p in DOCS.glob("*.md")}


@needs_mkdocs
def test_the_site_builds_strictly(tmp_path: Path) -> None:
    done = _build(ROOT, tmp_path / "site")
    assert done.returncode == 0, done.stdout + done.stderr
    built = {p.name for p in (tmp_path / "site").glob("*.html")}
    assert {name.removesuffix(".md") + ".html" for name in _pages()} <= built
    # the figures a page links as /outputs/NAME.png are in the site, linked relatively
    assert (tmp_path / "site" / "outputs" / "gelu.png").is_file()
    assert 'src="outputs/gelu.png"' in (tmp_path / "site" / "concepts.html").read_text()


@needs_mkdocs
@pytest.mark.parametrize(
    ("page", "old", "new", "said"),
    [  # a broken anchor, a missing page, a missing figure: each fails the strict build
        ("setup.md", "#kernel-routes-the-edge-can-depend-on-them", "#kernel-route", "anchor"),
        ("concepts.md", "(saturation.md)", "(saturations.md)", "saturations.md"),
        ("concepts.md", "/outputs/gelu.png", "/outputs/gelu-old.png", "gelu-old.png"),
    ],
)
def test_a_broken_link_fails_the_build(
    tmp_path: Path, page: str, old: str, new: str, said: str
) -> None:
    copy = _copy(tmp_path)
    text = (copy / "docs" / page).read_text(encoding="utf-8")
    assert text.count(old) == 1
    (copy / "docs" / page).write_text(text.replace(old, new))
    done = _build(copy, tmp_path / "site")
    assert done.returncode != 0 and said in done.stdout + done.stderr


@needs_mkdocs
def test_a_page_left_out_of_the_navigation_fails_the_build(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    (copy / "docs" / "orphan.md").write_text("# Orphan\n")
    done = _build(copy, tmp_path / "site")
    assert done.returncode != 0 and "orphan.md" in done.stdout + done.stderr


def test_the_readme_points_to_every_page_and_the_navigation_lists_each_once() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    linked = set(re.findall(r"\]\(docs/([a-z_-]+\.md)\)", readme))
    assert linked == _pages()
    nav = re.findall(r"^  - [^:]+: ([a-z_-]+\.md)$", (ROOT / "mkdocs.yml").read_text(), re.M)
    assert sorted(nav) == sorted(_pages()) and len(nav) == len(set(nav))


def test_the_readme_is_a_five_minute_read() -> None:
    # the measure: what, set-up, a short tour, where the rest is; the rest in docs/
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 200
    headings = [line for line in lines if line.startswith("## ")]
    assert headings == ["## Set-up: two commands", "## A short tour", "## Where the rest is"]


def _run_on_pages() -> set[str]:
    """The commands of every console block of the README and docs/, which
    tests/test_readme.py runs, checking their output; as the shell reads them."""
    return {
        shlex.join(shlex.split(step.command, comments=True))
        for page in readme.PAGES
        for block in readme.sessions(page)
        for step in block
    }


def test_every_command_of_the_readme_s_tour_table_is_run_on_a_page() -> None:
    # the table names commands without their output; a page shows it, and the suite runs it
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    tour = re.findall(r"^\| `(actviz [^`]+)` \|", readme, re.M)
    assert len(tour) >= 8
    run = _run_on_pages()
    assert [command for command in tour if shlex.join(shlex.split(command)) not in run] == []


# --- the CLI reference ------------------------------------------------------------------


def _cog_check(page: Path) -> int:
    from cogapp import Cog  # type: ignore[import-untyped]

    status: int = Cog().main(["cog", "--check", str(page)])  # prints "Checking PAGE"
    return status


@needs_cog
def test_the_cli_reference_is_the_commands_own_help() -> None:
    assert _cog_check(CLI_PAGE) == 0, "docs/cli.md is stale: run `make docs` (cog -r)"
    text = CLI_PAGE.read_text(encoding="utf-8")
    commands = [c.name for c in app.registered_commands]
    assert re.findall(r"^## `actviz ?([a-z]*)`$", text, re.M) == ["", *commands]


@needs_cog
def test_cog_check_catches_a_stale_reference(tmp_path: Path) -> None:
    stale = tmp_path / "cli.md"
    text = CLI_PAGE.read_text(encoding="utf-8")
    assert "Print JSON instead of a table." in text  # one generated line, changed
    stale.write_text(text.replace("Print JSON instead of a table.", "Print JSON.", 1))
    assert _cog_check(stale) != 0


# --- the examples every --help shows ------------------------------------------------------

COMMANDS = [c.name for c in app.registered_commands if c.name]
# An example that needs a file made first, made as the docs say to make it.
BEFORE = {
    "actviz check --all --accept known.json": "actviz check --all --write-baseline known.json",
}
# Each command's examples run in one fresh folder, in order; these take tens of seconds.
HEAVY = {"check", "export", "cmap", "shape"}


def _examples(words: list[str]) -> list[str]:
    """The ``Examples:`` lines at the end of ``actviz WORDS --help``, as printed."""
    done = CliRunner().invoke(app, [*words, "--help"], env={"COLUMNS": "80"})
    assert done.exit_code == 0, done.output
    lines = done.output.rstrip("\n").splitlines()
    start = max(i for i, line in enumerate(lines) if line.strip() == "Examples:")
    return [line.strip() for line in lines[start + 1 :]]


def _run(example: str, folder: Path) -> list[str]:
    """Run one example in ``folder``; what went wrong, if anything."""
    words = shlex.split(example)
    assert words[0] == "actviz", example
    done = CliRunner().invoke(app, words[1:], env={"COLUMNS": "160"})
    output = done.stdout + done.stderr
    wrong = [f"`{example}` exited {done.exit_code}: {output[-600:]}"] if done.exit_code else []
    for line in output.splitlines():  # every file it says it wrote is there
        if line.startswith("wrote "):
            for path in re.findall(r"(?:wrote|and) (\S+\.[a-z]+)\b", line):
                if not (folder / path).is_file():
                    wrong.append(f"`{example}` says it wrote {path}, which is not there")
    return wrong


def _run_all(
    examples: list[str], folder: Path, monkeypatch: pytest.MonkeyPatch, done: frozenset[str]
) -> list[str]:
    """Run the examples in order in ``folder``, but for those in ``done``."""
    monkeypatch.chdir(folder)
    wrong: list[str] = []
    for example in examples:
        if shlex.join(shlex.split(example)) in done:
            continue  # a page's console block runs it, and checks what it prints
        if example in BEFORE:
            wrong += _run(BEFORE[example], folder)
        wrong += _run(example, folder)
    return wrong


@pytest.mark.parametrize(
    "command",
    [pytest.param(c, marks=[pytest.mark.slow] if c in HEAVY else []) for c in COMMANDS],
)
def test_the_help_examples_run_as_shown(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    examples = _examples([command])
    assert examples and all(e.startswith(f"actviz {command} ") or e == f"actviz {command}"
                            for e in examples)  # fmt: skip
    assert _run_all(examples, tmp_path, monkeypatch, frozenset(_run_on_pages())) == []


def test_the_root_help_examples_are_commands_examples() -> None:
    # so the test above runs them too
    every = {e for c in COMMANDS for e in _examples([c])}
    shown = _examples([])
    assert shown and set(shown) <= every


def test_a_failing_example_is_caught(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    examples = ["actviz table sigmod", "actviz list", "actviz plot sigmod"]
    wrong = _run_all(examples, tmp_path, monkeypatch, frozenset({"actviz plot sigmod"}))
    assert len(wrong) == 1 and "`actviz table sigmod` exited 2" in wrong[0]
    # a `wrote` line whose file is not there is caught too
    said = SimpleNamespace(exit_code=0, stdout="wrote x.png\n", stderr="")
    with mock.patch.object(CliRunner, "invoke", return_value=said):
        wrong = _run("actviz plot relu --out x.png", tmp_path)
    assert wrong == ["`actviz plot relu --out x.png` says it wrote x.png, which is not there"]
