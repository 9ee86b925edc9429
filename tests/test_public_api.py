"""The package's public names: one lazy list, agreeing with what type checkers see."""

from __future__ import annotations

import ast
import importlib
import inspect
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import actviz

INIT = Path(actviz.__file__)


def _type_checking_imports() -> dict[str, str]:
    """name → module for the ``if TYPE_CHECKING:`` imports in __init__.py."""
    tree = ast.parse(INIT.read_text())
    (block,) = [
        node
        for node in tree.body
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name)
        if node.test.id == "TYPE_CHECKING"
    ]
    found: dict[str, str] = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom) and node.module is not None
        for alias in node.names:
            assert alias.asname == alias.name, "a re-export must keep its name"
            found[alias.name] = node.module
    return found


def test_the_lazy_list_and_the_type_checking_imports_agree() -> None:
    assert _type_checking_imports() == actviz._LAZY
    assert actviz.__all__ == sorted(actviz._LAZY)


def test_every_public_name_resolves_to_the_object_in_its_module() -> None:
    for name, module in actviz._LAZY.items():
        assert getattr(actviz, name) is getattr(importlib.import_module(module), name), name


def test_a_module_import_gives_the_module_and_the_package_keeps_the_function() -> None:
    import actviz.probing as module

    assert isinstance(module, ModuleType)
    assert module.__name__ == "actviz.probing"
    assert inspect.isfunction(actviz.probe)
    assert actviz.probe is module.probe
    found = actviz.probe("sigmoid", start=0, stop=2, points=3, dtype="float64")
    assert found.grad[1] == 0.19661193324148185  # the seed notebook's sigmoid′(1)


def test_an_unknown_name_is_an_attribute_error_naming_it() -> None:
    try:
        actviz.not_a_function  # noqa: B018
    except AttributeError as error:
        assert str(error) == "module 'actviz' has no attribute 'not_a_function'"
    else:
        raise AssertionError("expected AttributeError")


def test_names_are_welcome_where_specs_or_requests_are_taken() -> None:
    import actviz

    probes = actviz.probe_many(["relu", "tanh"], actviz.Grid(-1, 1, points=3))
    assert [p.name for p in probes] == ["relu", "tanh"]
    # One name is welcome where a list is, as in gain() and simulate().
    (one,) = actviz.probe_many("relu", actviz.Grid(-1, 1, points=3))
    assert one.name == "relu"


def test_submodules_are_reachable_as_attributes_after_a_plain_import() -> None:
    code = (
        "import actviz; r = actviz.jacobian.jacobian('softmax'); "
        "print(round(r.jacobian[0][0], 4), callable(actviz.probe), type(actviz.graph).__name__)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout == "0.2301 True module\n"
