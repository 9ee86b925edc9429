"""The house rules a maintainer relies on, checked: thin commands, a layout page
(docs/layout.md) that matches the files, and modules that use each other's public names only."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "actviz"
MAX_COMMAND_BODY = 20  # lines from the first statement after the docstring


def _commands(path: Path = PACKAGE / "cli" / "__init__.py") -> dict[str, tuple[int, int]]:
    """Each @app.command function in the cli package: (first body line, last line)."""
    tree = ast.parse(path.read_text())
    found = {}
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        decorators = [ast.unparse(d) for d in node.decorator_list]
        if not any(d.startswith("app.command") for d in decorators):
            continue
        body = node.body
        if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]
        found[node.name] = (body[0].lineno, node.end_lineno or body[-1].lineno)
    return found


def _long_commands(path: Path = PACKAGE / "cli" / "__init__.py") -> dict[str, int]:
    """The commands of ``path`` whose body runs past MAX_COMMAND_BODY lines: name → lines."""
    sizes = {name: end - start + 1 for name, (start, end) in _commands(path).items()}
    return {name: size for name, size in sizes.items() if size > MAX_COMMAND_BODY}


def test_every_command_body_is_parse_call_print_in_a_few_lines() -> None:
    assert len(_commands()) >= 10  # every command, not none
    assert _long_commands() == {}


def test_the_body_limit_catches_a_long_command(tmp_path: Path) -> None:
    # The check above would pass vacuously if _commands found nothing long: plant one
    # (docstring, then one line too many) in a copy of the real cli module.
    source = (PACKAGE / "cli" / "__init__.py").read_text()
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_COMMAND_BODY + 1))
    planted = tmp_path / "cli.py"
    planted.write_text(
        f'{source}\n\n@app.command(\'long\')\ndef long_command() -> None:\n    """Doc."""\n{body}'
    )
    assert set(_commands(planted)) == set(_commands()) | {"long_command"}
    assert _long_commands(planted) == {"long_command": MAX_COMMAND_BODY + 1}


def _layout_modules(page: Path = ROOT / "docs" / "layout.md") -> list[str]:
    return re.findall(r"`actviz/([a-z_/]+\.py)`", page.read_text(encoding="utf-8"))


def _on_disk() -> set[str]:
    return {  # a feature's package (actviz/depth/cmap/) lists its modules too
        p.relative_to(PACKAGE).as_posix()
        for p in PACKAGE.rglob("*.py")
        if "__pycache__" not in p.parts
        and (p.name not in {"__init__.py", "__main__.py"} or _has_code(p))
    }


def test_the_layout_page_names_every_module_once_and_no_other() -> None:
    listed = _layout_modules()
    assert len(listed) == len(set(listed)), "a module listed twice"
    assert set(listed) == _on_disk()


def test_the_layout_check_catches_a_module_left_out(tmp_path: Path) -> None:
    page = (ROOT / "docs" / "layout.md").read_text(encoding="utf-8")
    row = next(line for line in page.splitlines() if "`actviz/display.py`" in line)
    (tmp_path / "short.md").write_text(page.replace(row + "\n", ""))
    assert _on_disk() - set(_layout_modules(tmp_path / "short.md")) == {"display.py"}


def _has_code(path: Path) -> bool:
    """A subpackage's ``__init__.py`` that defines functions or classes (actviz/graph/),
    not one that only documents its package or names its public API."""
    if path.parent == PACKAGE:
        return False  # actviz/__init__.py: the public names, imported lazily
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return any(isinstance(node, kinds) for node in ast.parse(path.read_text()).body)


def _private_imports() -> list[str]:
    """``from actviz.m import _name`` anywhere in the package: one module leaning on
    another's internals."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("actviz"):
                found += [
                    f"{path.name}: {node.module}.{alias.name}"
                    for alias in node.names
                    if alias.name.startswith("_") and alias.name != "__version__"
                ]
    return found


def test_modules_use_each_others_public_names_only() -> None:
    assert _private_imports() == []


def _left_out(held: set[str]) -> set[str]:
    """The repository's files under actviz/ (git's list) that ``held`` lacks."""
    listed = subprocess.run(
        ["git", "ls-files", "actviz"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return set(listed) - held


@pytest.mark.slow
def test_a_built_wheel_holds_every_module_and_data_file(tmp_path: Path) -> None:
    """A non-editable install gets what the repository has under actviz/: every
    feature package (actviz/depth/cmap/) and the explorer's template and script."""
    pytest.importorskip("setuptools", reason="building the wheel needs setuptools")
    build = tmp_path / "src"
    shutil.copytree(ROOT, build, ignore=shutil.ignore_patterns(
        ".venv", ".git", "outputs", "site", "__pycache__", "*_cache"))  # fmt: skip
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(build)],
        check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("*.whl")
    held = set(zipfile.ZipFile(wheel).namelist())
    assert _left_out(held) == set()
    # the check can fail: a wheel without the correlation map's package is caught
    without = {n for n in held if not n.startswith("actviz/depth/cmap/")}
    assert "actviz/depth/cmap/kernel.py" in _left_out(without)
    assert "actviz/explore/explore.js" in _left_out(held - {"actviz/explore/explore.js"})


def private_uses(source: str) -> list[str]:
    """``module._name`` on what a file imported from actviz, however it was imported
    (``from actviz import registry``, ``from actviz.depth import gain as g``, ``import
    actviz.registry``, ``from .. import registry``): ``registry._key``,
    ``actviz.registry._key``; and any import of Typer's private modules (``typer._click``,
    ``typer._types``)."""
    tree = ast.parse(source)
    bound: set[str] = set()  # the names that hold something imported from actviz
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (
            node.level or (node.module or "").split(".")[0] == "actviz"
        ):
            bound |= {alias.asname or alias.name for alias in node.names}
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "actviz":
                    bound.add(alias.asname or "actviz")
        named = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        named += [a.name for a in node.names] if isinstance(node, ast.Import) else []
        found += [f"import {n}" for n in named if n.startswith("typer._")]
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            continue
        root: ast.expr = node.value
        while isinstance(root, ast.Attribute):
            root = root.value
        if isinstance(root, ast.Name) and root.id in bound:
            found.append(ast.unparse(node))
    return found


def test_no_module_reaches_into_anothers_private_names() -> None:
    found = {
        path.relative_to(PACKAGE).as_posix(): uses
        for path in sorted(PACKAGE.rglob("*.py"))
        if (uses := private_uses(path.read_text()))
    }
    assert found == {}


def test_the_private_use_check_catches_registry_key_and_typer_click() -> None:
    source = (
        "from actviz import registry\nfrom typer._click.exceptions import UsageError\n"
        "def f(n):\n    return registry._key(n)\n"
    )
    assert private_uses(source) == ["import typer._click.exceptions", "registry._key"]


@pytest.mark.parametrize(
    ("imports", "use"),
    [
        ("from actviz import registry", "registry._key"),
        ("from actviz import registry as reg", "reg._key"),
        ("import actviz.registry", "actviz.registry._key"),
        ("import actviz.registry as reg", "reg._key"),
        ("from actviz.depth import gain", "gain._edges"),
        ("from .. import registry", "registry._key"),
        ("from . import kernel", "kernel._grid"),
    ],
)
def test_a_private_use_planted_in_a_real_module_is_caught(imports: str, use: str) -> None:
    """Each way of importing, planted (deferred, inside a function) into a copy of
    actviz/depth/cmap/figure.py."""
    source = (PACKAGE / "depth" / "cmap" / "figure.py").read_text()
    assert private_uses(source) == []
    planted = f"{source}\n\ndef _planted(n):\n    {imports}\n    return {use}(n)\n"
    assert private_uses(planted) == [use]
