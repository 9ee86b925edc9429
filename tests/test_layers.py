"""The library speaks Python: a request walks the floors downward once, library errors
name Python parameters (never a flag), and the command line says them as flags
through its one table (actviz/cli/options.py's FLAGS)."""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from typer.testing import CliRunner

import actviz
from actviz import figure_files, params, plotting, probing
from actviz.cli import app
from actviz.cli.options import FLAGS, flags_of
from actviz.errors import UsageError, arg, render
from actviz.figure_files import FigureOptions
from actviz.probing import Grid, ProbeOptions

PACKAGE = Path(actviz.__file__).resolve().parent
runner = CliRunner()

# The floors, top to bottom: a module may call modules on its own floor or below,
# never above. The one place this order is written down.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("actviz.cli", "actviz.__main__"),  # parse strings, call one function, print
    ("actviz.figure_files", "actviz.export"),  # files: where, which name, writing
    ("actviz.plotting", "actviz.tables", "actviz.terminal", "actviz.glu", "actviz.display"),
    ("actviz.saturation", "actviz.underflow"),  # the analysis of a probe
    ("actviz.probing",),  # autograd on a grid
    ("actviz.evaluation", "actviz.params"),
    ("actviz.registry", "actviz.activation", "actviz.custom", "actviz.environment",
     "actviz.atomic", "actviz.file_names", "actviz.defaults", "actviz.errors",
     "actviz.startup"),
)  # fmt: skip


def floor(module: str) -> int:
    """The floor of ``module`` (a submodule is on its package's floor: actviz.cli.options)."""
    for number, modules in enumerate(LAYERS):
        if any(module == m or module.startswith(f"{m}.") for m in modules):
            return number
    raise AssertionError(f"{module} is on no floor; add it to LAYERS")


_MODULES: dict[str, str | None] = {}  # by file name: the profile hook runs on every call


def _module_of(filename: str) -> str | None:
    if filename in _MODULES:
        return _MODULES[filename]
    try:
        relative = Path(filename).resolve().relative_to(PACKAGE)
    except ValueError:
        _MODULES[filename] = None
        return None
    parts = list(relative.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    _MODULES[filename] = ".".join(["actviz", *parts])
    return _MODULES[filename]


class Edges:
    """Every call from one actviz module into another, recorded with sys.setprofile:
    (caller module, callee module) → the callee's qualified name."""

    def __init__(self) -> None:
        self.found: dict[tuple[str, str], str] = {}

    def _profile(self, frame: FrameType, event: str, _: Any) -> None:
        if event != "call" or frame.f_back is None:
            return
        callee = _module_of(frame.f_code.co_filename)
        if callee is None:
            return
        caller = _module_of(frame.f_back.f_code.co_filename)
        if caller is not None and caller != callee:
            self.found.setdefault((caller, callee), frame.f_code.co_qualname)

    def recording(self) -> Iterator[None]:
        sys.setprofile(self._profile)
        try:
            yield
        finally:
            sys.setprofile(None)

    def upward(self) -> dict[tuple[str, str], str]:
        """The edges that climb. A callback (a function made inside another, its
        qualname has <locals>: export's on_file) was handed down by its caller's
        caller, so calling it is no climb."""
        return {
            (a, b): name
            for (a, b), name in self.found.items()
            if floor(b) < floor(a) and "<locals>" not in name
        }


def _record(edges: Edges, call: Any) -> Any:
    recorder = edges.recording()
    next(recorder)
    try:
        return call()
    finally:
        next(recorder, None)


REQUESTS = [
    ["plot", "relu", "tanh", "--points", "21", "--dpi", "30"],
    ["plot", "leaky_relu", "--sweep", "negative_slope=0.1,0.2", "--points", "21", "--dpi", "30"],
    ["plot", "glu", "--points", "5", "--dpi", "30"],
    ["plot", "relu", "--term", "--points", "21"],
    ["table", "leaky_relu", "--sweep", "negative_slope=0.1,0.2", "--points", "3"],
    ["table", "prelu", "--weight-grad", "--points", "3", "--json"],
    ["export", "relu", "--jobs", "1", "--points", "21", "--dpi", "30"],
]


@pytest.mark.slow  # seven commands under a profile hook: about 20 s on 2 cores
def test_plot_table_and_export_walk_the_floors_downward(tmp_path: Path) -> None:
    edges = Edges()
    for args in REQUESTS:
        where = ["--out", str(tmp_path / "e")] if args[0] == "export" else []
        where += ["--out-dir", str(tmp_path)] if args[0] == "plot" and "--term" not in args else []
        done = _record(edges, lambda args=args, where=where: runner.invoke(app, [*args, *where]))
        assert done.exit_code == 0, (args, done.output)
    assert edges.upward() == {}
    # The walk was recorded, from the top floor to the bottom one.
    for step in [("actviz.cli", "actviz.figure_files"), ("actviz.figure_files", "actviz.probing"),
                 ("actviz.cli", "actviz.tables"), ("actviz.cli", "actviz.export"),
                 ("actviz.probing", "actviz.evaluation"), ("actviz.cli", "actviz.params"),
                 ("actviz.figure_files", "actviz.glu")]:  # fmt: skip
        assert step in edges.found, step


def test_an_upward_call_is_caught(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # probing checks its seed with a function of plotting (a floor above): a climb.
    monkeypatch.setattr(probing, "check_seed", plotting.check_dpi)
    edges = Edges()
    figure = FigureOptions(out_dir=tmp_path, dpi=30)
    _record(edges, lambda: figure_files.write_plot("relu", Grid(points=21), ProbeOptions(seed=100),
                                                   figure))  # fmt: skip
    assert edges.upward() == {("actviz.probing", "actviz.plotting"): "check_dpi"}


def test_a_module_on_no_floor_is_refused() -> None:
    assert (floor("actviz.cli.options"), floor("actviz.registry")) == (0, len(LAYERS) - 1)
    with pytest.raises(AssertionError, match="on no floor"):
        floor("actviz.nowhere")


# No library error names a flag: a string in a raised error (or in an error made to
# be raised) outside actviz/cli/ writing `--name`. Command suggestions ("run actviz
# export --prune") are commands, not parameter names, and stay.
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
# Where the input is the command line's own strings, the grammar of those strings.
GRAMMAR = {
    "params.py": ("parse_assignments", "parse_sweeps"),  # --param, --sweep
    "expression.py": ("parse_assignments",),  # graph's --set
    "startup.py": ("*",),  # --install-completion: the command line's own start-up
}


def _error_strings(tree: ast.AST) -> set[tuple[str, int, str]]:
    """(function, line, text) of each string inside a raise or an XError(...) call."""
    found = set()
    for function in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]:
        for node in ast.walk(function):
            made = isinstance(node, ast.Call) and re.search(
                r"(Error|Failure|Died)$", ast.unparse(node.func)
            )
            if isinstance(node, ast.Raise) or made:
                for inner in ast.walk(node):
                    if isinstance(inner, ast.Constant) and isinstance(inner.value, str):
                        found.add((function.name, inner.lineno, inner.value))
    return found


def flags_in_errors(source: str, name: str) -> list[str]:
    allowed = GRAMMAR.get(name, ())
    found = []
    for function, line, text in sorted(_error_strings(ast.parse(source))):
        if "*" in allowed or function in allowed:
            continue
        for flag in FLAG.finditer(text):
            if not re.search(r"actviz [a-z]+[^;]*$", text[: flag.start()]):
                found.append(f"{name}:{line}: {flag.group()} in {text!r}")
    return found


def _library_sources() -> Iterator[tuple[Path, str]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        if "cli" not in path.relative_to(PACKAGE).parts:
            yield path, path.read_text()


def test_no_library_error_names_a_flag() -> None:
    found = [f for path, text in _library_sources() for f in flags_in_errors(text, path.name)]
    assert found == []


def test_the_flag_check_catches_a_flag_in_an_error() -> None:
    wrong = "def f(x):\n    if x:\n        raise UsageError(f'use a wider --dtype (got {x})')\n"
    made = "def g():\n    return OutputError('choose another ' '--out')\n"
    assert len(flags_in_errors(wrong, "m.py")) == 1
    assert len(flags_in_errors(made, "m.py")) == 1
    fine = "def h():\n    raise RuntimeFailure('stale; run actviz export --prune')\n"
    assert flags_in_errors(fine, "m.py") == []


def _arg_names(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "arg" and node.args:
            first = node.args[0]
            if not isinstance(first, ast.Constant):  # FigureOptions' fields: checked below
                continue
            name = str(first.value)
            value = node.args[1] if len(node.args) > 1 else None
            if isinstance(value, ast.Constant) and f"{name}={value.value!s}" in FLAGS:
                names.add(f"{name}={value.value!s}")
            names.add(name)
    return names


def _unmapped(names: set[str]) -> set[str]:
    commands = {k.split(".", 1)[1] for k in FLAGS if "." in k}
    return {n for n in names if n not in FLAGS and n not in commands}


def test_every_parameter_a_library_error_names_has_its_flag() -> None:
    names = set().union(*(_arg_names(text) for _, text in _library_sources()))
    assert len(names) > 30  # the scan found the messages
    assert _unmapped(names) == set()
    assert _unmapped(_arg_names("arg('no_such_parameter')")) == {"no_such_parameter"}
    # write_plot names FigureOptions' fields, and check_limits the y limits', by variable.
    fields = set(FigureOptions.__dataclass_fields__)
    assert _unmapped(fields | {"xlim", "ylim", "grad_ylim", "grad2_ylim"}) == set()


@pytest.mark.parametrize(
    ("message", "python", "command_line"),
    [
        (f"{arg('grad_ylim', (2.0, 1.0))}: bad", "grad_ylim=(2, 1): bad", "--grad-ylim 2 1: bad"),
        (f"{arg('shade', False)} and {arg('second', True)}", "shade=False and second=True",
         "--no-shade and --second"),
        (f"use {arg('fmt', 'csv')}", "use fmt='csv'", "use --csv"),
        (f"{arg('dtype', 'float64')}", "dtype='float64'", "--dtype float64"),
        (f"{arg('jobs')} must be", "jobs must be", "--jobs must be"),
    ],
)  # fmt: skip
def test_a_parameter_is_said_in_python_and_as_its_flag(
    message: str, python: str, command_line: str
) -> None:
    error = UsageError(message)
    assert (str(error), error.said_with(FLAGS)) == (python, command_line)
    assert render(message) == python


def test_a_command_says_its_own_flag_for_a_shared_name() -> None:
    message = f"{arg('values')} needs numbers"
    assert render(message, flags_of("jacobian")) == "--input needs numbers"
    assert render(message, flags_of("graph")) == "--set needs numbers"
    assert render(message, flags_of("plot")) == "values needs numbers"


def test_the_issue_s_examples_name_python_parameters_and_flags(tmp_path: Path) -> None:
    (relu,) = actviz.probe_many("relu", Grid(points=21))  # one name, as gain() takes it
    with pytest.raises(UsageError) as caught:
        actviz.activation_figure([relu], ylim=[(0, 1), (2, 1)])
    assert str(caught.value) == (
        "grad_ylim=(2, 1): give two finite numbers LOW HIGH with LOW < HIGH"
    )
    done = runner.invoke(app, ["plot", "relu", "--grad-ylim", "2", "1"])
    assert (done.exit_code, done.stderr) == (
        2, "Error: --grad-ylim 2 1: give two finite numbers LOW HIGH with LOW < HIGH\n"
    )  # fmt: skip
    from actviz.export import export

    with pytest.raises(UsageError) as caught:
        export(params.specs_from_cli(["relu"]), tmp_path, jobs=0)
    assert str(caught.value) == "jobs must be at least 1 (got 0)"
    done = runner.invoke(app, ["export", "relu", "--jobs", "0", "--out", str(tmp_path)])
    assert (done.exit_code, done.stderr) == (2, "Error: --jobs must be at least 1 (got 0)\n")


def test_an_empty_out_is_one_line() -> None:
    done = runner.invoke(app, ["plot", "relu", "--out", ""])
    assert (done.exit_code, done.stderr) == (
        2, "Error: output '' is not a file name; give one such as figs/plot.png\n"
    )  # fmt: skip
