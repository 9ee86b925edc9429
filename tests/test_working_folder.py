"""The working folder: searched for your ``module:callable`` modules, last, and never
allowed to shadow an installed package or the standard library (issue 19).

Files planted in the folder under the names of modules actviz, its dependencies or
Python import (``numpy.py``, ``multiprocessing.py``, ``typing.py``…) write a marker
file when imported; the real command runs as a subprocess (console script and
``python -m``), and no marker may appear.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

import actviz
from actviz import custom
from actviz.custom import load
from actviz.errors import UnknownActivationError

ROOT = Path(actviz.__file__).parents[1]
SCRIPT = str(Path(sys.executable).with_name("actviz"))  # the console script
LAUNCHERS = {"script": [SCRIPT], "-m": [sys.executable, "-m", "actviz"]}

# The modules the issue names, and optional ones torch or matplotlib look for.
NAMED = (
    "numpy", "matplotlib", "rich", "sympy", "mpmath", "plotext", "hashlib",
    "multiprocessing", "typer", "torch", "typing", "pathlib", "json", "click",
)  # fmt: skip
OPTIONAL = ("triton", "opt_einsum", "IPython", "cairo", "scipy")
STDLIB = sorted(n for n in sys.stdlib_module_names if not n.startswith("_"))
INSTALLED = sorted(
    n
    for n in importlib.metadata.packages_distributions()
    if n.isidentifier() and not n.startswith("_") and n != "actviz"
)

USERACTS = """\
import multiprocessing
import os

import torch

from helper import SCALE  # a module of yours next to this one

with open(os.environ["ACTVIZ_TEST_IMPORTS"], "a") as record:
    record.write("worker\\n" if multiprocessing.parent_process() else "main\\n")

def soft(x):
    return SCALE * torch.tanh(x)
"""


def plant(folder: Path, names: list[str], marks: Path, *, as_package: bool = False) -> None:
    """A look-alike of each module in ``folder``: importing it writes ``marks/<name>``."""
    for name in names:
        source = f"open({str(marks / name)!r}, 'w').close()\n"
        if as_package:
            (folder / name).mkdir()
            (folder / name / "__init__.py").write_text(source)
        else:
            (folder / f"{name}.py").write_text(source)


def env(imports: Path) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONSAFEPATH"}
    return {
        **environment,
        "PYTHONPATH": str(ROOT),  # this tree's actviz, for the console script too
        "MPLBACKEND": "Agg",
        "ACTVIZ_TEST_IMPORTS": str(imports),
    }


def actviz_in(
    folder: Path, launcher: list[str], *args: str, imports: Path, **extra: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*launcher, *args],
        cwd=folder,
        env=env(imports) | extra,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def user_folder(tmp: Path) -> tuple[Path, Path, Path]:
    """A working folder with a module of yours (and its helper), a marker folder
    and the file that records where the module was imported."""
    folder, marks = tmp / "work", tmp / "marks"
    folder.mkdir()
    marks.mkdir()
    (folder / "useracts.py").write_text(USERACTS)
    (folder / "helper.py").write_text("SCALE = 2.0\n")
    return folder, marks, tmp / "imports.txt"


def check_outcome(command: str, done: subprocess.CompletedProcess[str], out: Path) -> None:
    """The command did its work, as it does anywhere else."""
    assert (done.returncode, done.stderr) == (0, ""), (command, done.stdout)
    if command == "--help":
        assert {"plot", "table", "export"} <= set(done.stdout.split())  # the commands listed
    elif command == "list":
        assert "relu" in done.stdout.split()
    elif command == "table":
        assert done.stdout.splitlines() == ["x,f(x),f′(x),regime", *TABLE_ROWS]
    elif command == "plot":
        assert done.stdout == f"wrote {out / 'relu.png'}\n"
        assert (out / "relu.png").stat().st_size > 0
    elif command == "export":
        names = {"relu.png", "useracts-soft.png", "manifest.json", "index.html"}
        assert {p.name for p in out.iterdir()} == names
        manifest = json.loads((out / "manifest.json").read_text())
        assert sorted(manifest["files"]) == ["relu.png", "useracts-soft.png"]
    elif command == "depth":
        assert json.loads(done.stdout)["runs"][0]["activation"] == "relu"
    elif command == "complete":
        assert done.stdout == "sigmoid\n"
    elif command == "check":
        assert "│ relu       │  float64 │ 0 │  0 │  — │    ok │" in done.stdout


TABLE_ROWS = ["-1.0,0.0,0.0,dead", "0.0,0.0,0.0,dead", "1.0,1.0,1.0,active"]

COMMANDS: dict[str, Callable[[Path], list[str]]] = {
    "--help": lambda out: ["--help"],
    "list": lambda out: ["list"],
    "table": lambda out: ["table", "relu", "--range", "-1", "1", "--points", "3", "--csv"],
    "plot": lambda out: ["plot", "relu", "--out", str(out / "relu.png"), "--dpi", "30"],
    "export": lambda out: [
        "export",
        "relu",
        "useracts:soft",
        "--out",
        str(out),
        "--jobs",
        "2",
        "--dpi",
        "30",
        "--points",
        "50",
    ],
    "check": lambda out: ["check", "relu"],
    "complete": lambda out: [],  # shell completion: with COMPLETION in the environment
    "depth": lambda out: [
        "depth",
        "relu",
        "--layers",
        "2",
        "--width",
        "8",
        "--batch",
        "8",
        "--no-plot",
        "--json",
        "--no-baseline",
    ],
}

# What bash sends for `actviz plot sig<TAB>`.
COMPLETION = {
    "_ACTVIZ_COMPLETE": "complete_bash",
    "COMP_WORDS": "actviz plot sig",
    "COMP_CWORD": "2",
}


@pytest.mark.slow
@settings(
    max_examples=8,  # a subprocess each, torch and all
    deadline=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: the case shows what was planted
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    extra=st.lists(st.sampled_from([*OPTIONAL, *STDLIB, *INSTALLED]), max_size=25, unique=True),
    as_package=st.booleans(),
    command=st.sampled_from(sorted(COMMANDS)),
    launcher=st.sampled_from(sorted(LAUNCHERS)),
)
# Every run: export's spawned workers (your module imports torch) with multiprocessing.py
# planted, from the console script and from python -m.
@pytest.mark.slow
@example(extra=[], as_package=False, command="export", launcher="script")
@example(extra=["triton"], as_package=True, command="export", launcher="-m")
def test_no_planted_module_runs_and_the_command_still_works(
    tmp_path_factory: pytest.TempPathFactory,
    extra: list[str],
    as_package: bool,
    command: str,
    launcher: str,
) -> None:
    tmp = tmp_path_factory.mktemp("planted")
    folder, marks, imports = user_folder(tmp)
    names = sorted({*NAMED, *extra} - {"useracts", "helper"})
    plant(folder, names, marks, as_package=as_package)
    out = tmp / "out"
    out.mkdir()
    shell = COMPLETION if command == "complete" else {}
    args = COMMANDS[command](out)
    done = actviz_in(folder, LAUNCHERS[launcher], *args, imports=imports, **shell)
    assert sorted(p.name for p in marks.iterdir()) == []
    check_outcome(command, done, out)
    if command == "export":  # your module was found, in the workers as well
        assert set(imports.read_text().split()) == {"main", "worker"}


@pytest.mark.slow
def test_the_old_search_path_runs_the_planted_file(tmp_path: Path) -> None:
    # The check above can fail: with the working folder first on sys.path, as
    # cli.main put it before issue 19, the planted numpy.py runs.
    folder, marks, imports = user_folder(tmp_path)
    plant(folder, ["numpy"], marks)
    old = tmp_path / "old"
    old.mkdir()
    (old / "old_actviz.py").write_text(
        "import os, sys\n"
        "sys.path.insert(0, os.getcwd())  # what cli.main did\n"
        "from actviz.cli import main\n"
        "main()\n"
    )
    launcher = [sys.executable, str(old / "old_actviz.py")]
    actviz_in(folder, launcher, "table", "relu", "--points", "3", imports=imports)
    assert sorted(p.name for p in marks.iterdir()) == ["numpy"]


SPAWN = """\
import contextlib, multiprocessing, os, sys
from concurrent.futures import ProcessPoolExecutor
from actviz.export.pool import no_working_folder_in_children

if __name__ == "__main__":  # a spawned child runs this file too
    guard = no_working_folder_in_children if sys.argv[1] == "guarded" else contextlib.nullcontext
    with guard():
        pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        future = pool.submit(os.getpid)
    try:
        print(future.result(timeout=60) != os.getpid())
    finally:
        pool.shutdown(cancel_futures=True)
"""


@pytest.mark.skipif(sys.version_info < (3, 11), reason="PYTHONSAFEPATH is Python 3.11's")
@pytest.mark.parametrize("guarded", [True, False])
def test_spawned_workers_do_not_put_the_working_folder_first(tmp_path: Path, guarded: bool) -> None:
    # A spawned worker starts as `python -c`, which puts the working folder first
    # on sys.path; export's guard keeps it off. Unguarded (the injected fault),
    # the planted multiprocessing.py runs in the child.
    folder, marks, imports = user_folder(tmp_path)
    plant(folder, ["multiprocessing"], marks)
    script = tmp_path / "spawn.py"
    script.write_text(SPAWN)
    launcher = [sys.executable, str(script), "guarded" if guarded else "bare"]
    done = actviz_in(folder, launcher, imports=imports)
    if guarded:
        assert (done.returncode, done.stdout, done.stderr) == (0, "True\n", "")
        assert sorted(p.name for p in marks.iterdir()) == []
    else:
        assert sorted(p.name for p in marks.iterdir()) == ["multiprocessing"]


def test_the_guard_restores_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from actviz.export.pool import no_working_folder_in_children

    monkeypatch.delenv("PYTHONSAFEPATH", raising=False)
    with no_working_folder_in_children():
        assert os.environ["PYTHONSAFEPATH"] == "1"
    assert "PYTHONSAFEPATH" not in os.environ
    monkeypatch.setenv("PYTHONSAFEPATH", "yes")
    with no_working_folder_in_children():
        assert os.environ["PYTHONSAFEPATH"] == "1"
    assert os.environ["PYTHONSAFEPATH"] == "yes"


@pytest.mark.slow
@pytest.mark.parametrize("launcher", sorted(LAUNCHERS))
def test_your_module_is_found_in_the_working_folder_and_in_export_workers(
    tmp_path: Path, launcher: str
) -> None:
    folder, _marks, imports = user_folder(tmp_path)
    out = tmp_path / "out"
    done = actviz_in(
        folder, LAUNCHERS[launcher], "export", "useracts:soft", "relu", "--out", str(out),
        "--jobs", "2", "--dpi", "30", "--points", "50", imports=imports,
    )  # fmt: skip
    check_outcome("export", done, out)
    # Imported here (to check the name), then by the worker that rendered it.
    assert sorted(imports.read_text().split()) == ["main", "worker"]
    table = actviz_in(
        folder, LAUNCHERS[launcher], "table", "useracts:soft", "--range", "0", "1",
        "--points", "2", "--csv", imports=imports,
    )  # fmt: skip
    assert (table.returncode, table.stderr) == (0, "")
    assert table.stdout.splitlines()[1] == "0.0,0.0,2.0,active"  # 2 tanh(x), from helper.py


def _where(name: str) -> str:
    """Where the error line says ``name`` is found."""
    spec = importlib.util.find_spec(name)
    assert spec is not None
    built = {"built-in": "built into Python", "frozen": "frozen into Python"}
    return built.get(spec.origin or "", spec.origin or "a namespace package")


@pytest.mark.slow
@pytest.mark.parametrize("launcher", sorted(LAUNCHERS))
def test_a_module_named_like_an_installed_one_is_one_error_line(
    tmp_path: Path, launcher: str
) -> None:
    folder, marks, imports = user_folder(tmp_path)
    (folder / "numpy.py").write_text(
        f"open({str(marks / 'numpy')!r}, 'w').close()\ndef fn(x):\n    return x\n"
    )
    done = actviz_in(folder, LAUNCHERS[launcher], "table", "numpy:fn", imports=imports)
    assert (done.returncode, done.stdout, done.stderr) == (
        2,
        "",
        "Error: numpy.py in the working folder is not imported for numpy:fn: 'numpy' is an "
        f"installed module ({_where('numpy')}), which the working folder never shadows; "
        "rename numpy.py\n",
    )
    assert sorted(p.name for p in marks.iterdir()) == []


# In this process: the library with a module folder named, as cli.main names it.


@pytest.fixture()
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder that is not on sys.path, named as the module folder; forgotten after."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", ".", os.getcwd())])
    custom.set_module_folder(work)
    yield work
    custom.set_module_folder(None)
    for name in [n for n, m in sys.modules.items() if str(work) in str(getattr(m, "__file__", ""))]:
        del sys.modules[name]


@given(name=st.sampled_from([*NAMED, *STDLIB, *INSTALLED]), as_package=st.booleans())
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_a_module_of_the_folder_never_shadows_one_found_elsewhere(
    folder: Path, name: str, as_package: bool
) -> None:
    if importlib.util.find_spec(name) is None:  # a platform's module not built here
        return
    here = Path(tempfile.mkdtemp(dir=folder))  # a fresh folder for each example
    marks = Path(tempfile.mkdtemp(dir=folder))
    custom.set_module_folder(here)
    plant(here, [name], marks, as_package=as_package)
    shown = f"{name}/__init__.py" if as_package else f"{name}.py"
    kind = "a standard-library module" if name in sys.stdlib_module_names else "an installed module"
    with pytest.raises(UnknownActivationError) as caught:
        load(f"{name}:fn")
    assert str(caught.value) == (
        f"{shown} in the working folder is not imported for {name}:fn: {name!r} is {kind} "
        f"({_where(name)}), which the working folder never shadows; rename {shown}"
    )
    assert list(marks.iterdir()) == []


def test_the_folder_is_searched_only_while_your_module_is_imported(folder: Path) -> None:
    (folder / "mine.py").write_text(
        "import torch\nfrom myhelper import K\ndef f(x):\n    return K * x\n"
    )
    (folder / "myhelper.py").write_text("K = 3.0\n")
    before = list(sys.path)
    activation = load("mine:f")
    assert activation.name == "mine:f"
    assert sys.path == before  # on it only while mine was imported
    assert sys.modules["myhelper"].K == 3.0
    (folder / "later.py").write_text("def f(x):\n    return x\n")
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("later")  # not on sys.path: nothing else comes from there
    # A module found elsewhere, with none of its name in the folder, imports as ever.
    assert load("torch.nn.functional:silu").name == "torch.nn.functional:silu"


def test_without_a_module_folder_the_library_uses_sys_path_as_it_stands(
    folder: Path,
) -> None:
    (folder / "onlythere.py").write_text("def f(x):\n    return x\n")
    custom.set_module_folder(None)
    assert custom.module_folder() is None
    with pytest.raises(UnknownActivationError) as caught:
        load("onlythere:f")
    assert str(caught.value) == (
        "cannot import 'onlythere' for onlythere:f: No module named 'onlythere'"
    )
    custom.set_module_folder(folder)
    assert custom.module_folder() == str(folder)
    assert load("onlythere:f").name == "onlythere:f"
