"""The modules of actviz import each other without a circle.

Every import of one actviz module by another counts, at the top of a file or
deferred inside a function (a deferred import still makes the two modules
depend on each other; it only hides the circle until run time). Imports under
``if TYPE_CHECKING:`` do not: they are never executed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import actviz

PACKAGE = Path(actviz.__file__).parent


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported(node: ast.AST, modules: set[str]) -> set[str]:
    """The actviz modules that one import statement names."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        if node.module != "actviz":
            names = [node.module]
        else:  # from actviz import registry, verify
            names = [f"actviz.{alias.name}" for alias in node.names]
    else:
        return set()
    parts = [name.split(".") for name in names]
    return {p[1] for p in parts if len(p) > 1 and p[0] == "actviz" and p[1] in modules}


def import_graph(folder: Path) -> dict[str, set[str]]:
    """Each module of ``folder`` → the modules of ``folder`` it imports at run time."""
    modules = {path.stem for path in folder.glob("*.py")}
    graph: dict[str, set[str]] = {}
    for name in sorted(modules):
        found: set[str] = set()
        stack: list[ast.AST] = [ast.parse((folder / f"{name}.py").read_text())]
        while stack:
            node = stack.pop()
            if isinstance(node, ast.If) and _is_type_checking(node.test):
                stack.extend(node.orelse)
                continue
            found |= _imported(node, modules)
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
    assert cycle(import_graph(PACKAGE)) is None


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
