"""The modules of actviz import each other without a circle.

Every import of one actviz module by another counts, at the top of a file or
deferred inside a function (a deferred import still makes the two modules
depend on each other; it only hides the circle until run time). Imports under
``if TYPE_CHECKING:`` do not: they are never executed.
"""

from __future__ import annotations

import ast
import itertools
import shutil
from pathlib import Path

import pytest

import actviz

PACKAGE = Path(actviz.__file__).parent


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _resolve(parts: list[str], modules: set[str]) -> str | None:
    """The module of ``modules`` that ``actviz.<parts>`` names: the longest dotted prefix
    of ``parts`` that is one (``cmap.kernel.cmap`` → ``cmap.kernel``), or None."""
    for end in range(len(parts), 0, -1):
        name = ".".join(parts[:end])
        if name in modules:
            return name
    return None


def _imported(node: ast.AST, modules: set[str], importer: str = "") -> set[str]:
    """The actviz modules that one import statement of module ``importer`` names
    (dotted below the package: ``depth_plots``, ``cmap`` for cmap/__init__.py,
    ``cmap.kernel``), with the packages an import runs first: ``import actviz.depth.cmap.kernel``
    runs cmap/__init__.py before kernel.py, unless the importer is inside cmap already."""
    targets: list[list[str]] = []
    if isinstance(node, ast.Import):
        targets = [alias.name.split(".") for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        if node.level:  # relative: from its own package, or one above per extra dot
            package = importer.split(".")
            if not _is_package(importer, modules):
                package = package[:-1]
            base = ["actviz", *package[: len(package) - node.level + 1]]
        else:
            base = []
        where = [*base, *(node.module.split(".") if node.module else [])]
        # from actviz.depth.cmap import kernel: a submodule where there is one, else a name of cmap
        targets = [[*where, alias.name] for alias in node.names]
    found = set()
    for parts in targets:
        if parts[:1] != ["actviz"]:
            continue
        name = _resolve(parts[1:], modules)
        if name is None:
            continue
        found.add(name)
        pieces = name.split(".")
        for end in range(1, len(pieces)):  # the packages it runs on the way
            runs_first = ".".join(pieces[:end])
            if runs_first in modules and not (importer + ".").startswith(runs_first + "."):
                found.add(runs_first)
    return found


def _is_package(name: str, modules: set[str]) -> bool:
    return any(m.startswith(name + ".") for m in modules)


def module_names(folder: Path) -> dict[str, Path]:
    """Each module under ``folder``, subpackages included, by its dotted name below the
    package (``cmap/__init__.py`` is ``cmap``; the package's own ``__init__.py`` stays
    ``__init__``, as nothing imports it by name)."""
    found = {}
    for path in sorted(folder.rglob("*.py")):
        parts = list(path.relative_to(folder).with_suffix("").parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def import_graph(folder: Path) -> dict[str, set[str]]:
    """Each module of ``folder`` (and its subpackages) → the modules it imports at run time."""
    paths = module_names(folder)
    modules = set(paths)
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        found: set[str] = set()
        stack: list[ast.AST] = [ast.parse(path.read_text())]
        while stack:
            node = stack.pop()
            if isinstance(node, ast.If) and _is_type_checking(node.test):
                stack.extend(node.orelse)
                continue
            found |= _imported(node, modules, name)
            stack.extend(ast.iter_child_nodes(node))
        graph[name] = found - {name}
    return graph


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle of ``graph`` as a path (its first module repeated at the end), or None."""
    state: dict[str, str] = {}  # "open" while on the current path, "done" after

    def visit(name: str, path: list[str]) -> list[str] | None:
        state[name] = "open"
        for target in sorted(graph[name]):
            if state.get(target) == "open":
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target, [*path, target])):
                return found
        state[name] = "done"
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start, [start])):
            return found
    return None


def test_the_modules_import_each_other_without_a_circle() -> None:
    graph = import_graph(PACKAGE)
    assert {"depth.cmap", "depth.cmap.kernel", "depth.cmap.figure", "depth.cmap.report"} <= set(
        graph
    )  # subpackages too
    assert graph["depth.cmap"] == {"depth.cmap.kernel"}
    assert "depth.cmap.figure" in graph["depth.cmap.report"]
    assert cycle(graph) is None


def _copy(tmp_path: Path) -> Path:
    copy = tmp_path / "actviz"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


@pytest.mark.parametrize(
    ("file", "line", "members"),
    [
        # inside the subpackage: report imports figure, figure would import report
        (
            "depth/cmap/figure.py",
            "from actviz.depth.cmap.report import cmap_file",
            {"depth.cmap.figure", "depth.cmap.report"},
        ),
        # the same, relative, both ways of writing it
        (
            "depth/cmap/figure.py",
            "from .report import cmap_file",
            {"depth.cmap.figure", "depth.cmap.report"},
        ),
        (
            "depth/cmap/figure.py",
            "from . import report",
            {"depth.cmap.figure", "depth.cmap.report"},
        ),
        # from a top module into a subpackage whose kernel imports it back
        ("registry.py", "from actviz.depth.cmap import kernel", {"registry", "depth.cmap.kernel"}),
        # through the subpackage's __init__, which `import actviz.depth.cmap.figure` runs first
        (
            "depth/gain.py",
            "import actviz.depth.cmap.figure",
            {"depth.gain", "depth.cmap", "depth.cmap.kernel"},
        ),
    ],
)
def test_a_circle_put_into_a_copy_is_found(
    tmp_path: Path, file: str, line: str, members: set[str]
) -> None:
    copy = _copy(tmp_path)
    assert cycle(import_graph(copy)) is None  # the copy as it is: no circle
    path = copy / file
    path.write_text(path.read_text() + f"\n\ndef _planted() -> None:\n    {line}\n")
    graph = import_graph(copy)
    found = cycle(graph)
    assert found is not None and found[0] == found[-1] and members <= set(found)
    assert all(b in graph[a] for a, b in itertools.pairwise(found))  # each step an import


def test_a_relative_import_from_a_subpackage_reaches_up(tmp_path: Path) -> None:
    """``from .. import x`` in pkg/mod.py is actviz.x; ``from . import y`` in pkg/__init__.py
    is pkg.y; a package imported from outside runs its __init__ first."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "x.py").write_text("import actviz.pkg.mod\n")
    (tmp_path / "pkg" / "__init__.py").write_text("from . import y\n")
    (tmp_path / "pkg" / "y.py").write_text("")
    (tmp_path / "pkg" / "mod.py").write_text(
        "def f():\n    from .. import x\n    from .y import z\n"
    )
    graph = import_graph(tmp_path)
    assert graph == {"x": {"pkg", "pkg.mod"}, "pkg": {"pkg.y"}, "pkg.y": set(),
                     "pkg.mod": {"x", "pkg.y"}}  # fmt: skip
    assert cycle(graph) == ["pkg.mod", "x", "pkg.mod"]


# Every form of import that _imported claims to read, one at a time, in a package laid
# out as x.py, pkg/{__init__,y,mod}.py, pkg/sub/{__init__,z}.py: (file, line, edges).
FORMS = [
    ("x.py", "import actviz.pkg.mod", {"pkg", "pkg.mod"}),  # runs pkg/__init__ first
    ("pkg/y.py", "import actviz.pkg.mod", {"pkg.mod"}),  # inside pkg already
    ("x.py", "import actviz.pkg.sub.z as q", {"pkg", "pkg.sub", "pkg.sub.z"}),
    ("x.py", "from actviz.pkg import y", {"pkg", "pkg.y"}),  # a submodule
    ("x.py", "from actviz.pkg import helper", {"pkg"}),  # a name of pkg/__init__.py
    ("pkg/mod.py", "from actviz import x", {"x"}),
    ("pkg/__init__.py", "from . import y", {"pkg.y"}),  # a package's own submodule
    ("pkg/mod.py", "from . import y", {"pkg.y"}),  # a sibling
    ("pkg/mod.py", "from .y import helper", {"pkg.y"}),
    ("pkg/mod.py", "from .. import x", {"x"}),  # one package up
    ("pkg/sub/z.py", "from ..y import helper", {"pkg.y"}),
    ("pkg/sub/__init__.py", "from .. import y", {"pkg.y"}),  # from a package's __init__
    ("pkg/sub/z.py", "from ... import x", {"x"}),  # two up
    ("pkg/y.py", "def f():\n    from actviz import x", {"x"}),  # deferred
    ("pkg/y.py", "if TYPE_CHECKING:\n    from actviz import x", set()),
    ("pkg/y.py", "if typing.TYPE_CHECKING:\n    import json\nelse:\n    import actviz.x", {"x"}),
]


@pytest.mark.parametrize(("file", "line", "edges"), FORMS, ids=[f"{f}: {s}" for f, s, _ in FORMS])
def test_every_form_of_import_is_read(
    tmp_path: Path, file: str, line: str, edges: set[str]
) -> None:
    for empty in ("x.py", "pkg/__init__.py", "pkg/y.py", "pkg/mod.py",
                  "pkg/sub/__init__.py", "pkg/sub/z.py"):  # fmt: skip
        (tmp_path / empty).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / empty).write_text("")
    (tmp_path / file).write_text(line + "\n")
    graph = import_graph(tmp_path)
    importer = file.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
    assert graph[importer] == edges
    assert all(graph[m] == set() for m in graph if m != importer)


# The imports that reach up a floor of tests/test_layers.py's LAYERS today, each for
# a reason; any other is caught, and one of these gone must leave this list too.
KNOWN_UPWARD = {
    ("probing", "plotting"): "Probe._repr_png_: Jupyter shows a probe as plot draws it",
    ("probing", "saturation"): "Probe._repr_png_ shades the regimes",
    ("saturation", "display"): "Saturation.summary_rows words its numbers as table does",
    ("saturation.survey", "display"): "the saturation command's table, CSV and JSON",
}


def upward_imports(graph: dict[str, set[str]]) -> set[tuple[str, str]]:
    """The imports of ``graph`` from a module on one floor to a module on a higher one
    (modules on no floor, the feature packages, are not checked here)."""
    from tests.test_layers import LAYERS

    def floor(name: str) -> int | None:
        module = f"actviz.{name}"
        for number, members in enumerate(LAYERS):
            if any(module == m or module.startswith(f"{m}.") for m in members):
                return number
        return None

    return {
        (a, b)
        for a, targets in graph.items()
        for b in targets
        if (fa := floor(a)) is not None and (fb := floor(b)) is not None and fb < fa
    }


def test_imports_go_down_the_floors() -> None:
    assert upward_imports(import_graph(PACKAGE)) == set(KNOWN_UPWARD)


def test_an_upward_import_put_into_a_copy_is_caught(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    path = copy / "evaluation.py"
    path.write_text(
        path.read_text() + "\n\ndef _planted() -> None:\n    from actviz import tables\n"
    )
    assert upward_imports(import_graph(copy)) == set(KNOWN_UPWARD) | {("evaluation", "tables")}


def test_the_pipeline_reads_downwards() -> None:
    graph = import_graph(PACKAGE)
    # The analysis and the evaluation under it never reach up to the grid,
    # the drawing or the CLI; the grammar reads the registry, not the reverse.
    assert not {"probing", "plotting", "cli"} & (graph["saturation"] | graph["evaluation"])
    assert "params" not in graph["registry"]
    assert [name for name, imported in graph.items() if "cli" in imported] == ["__main__"]


def test_the_types_sit_below_both_the_registry_and_custom() -> None:
    graph = import_graph(PACKAGE)
    assert graph["activation"] == {"errors"}
    assert "registry" not in graph["custom"] and "activation" in graph["custom"]
    assert {"activation", "custom"} <= graph["registry"]


def test_the_graph_sees_deferred_imports_and_skips_type_checking_ones(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("import actviz.b\nfrom actviz import c as see\n")
    (tmp_path / "b.py").write_text("def f():\n    from actviz.a import x\n")
    (tmp_path / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from actviz import a\n"
        "else:\n    import json\n"
    )
    graph = import_graph(tmp_path)
    assert graph == {"a": {"b", "c"}, "b": {"a"}, "c": set()}
    assert cycle(graph) == ["a", "b", "a"]
    assert cycle({"a": {"c"}, "b": set(), "c": {"b"}}) is None
