"""Activations of your own, given as module:callable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import actviz
from actviz import registry
from actviz.cli import app
from actviz.custom import load
from actviz.errors import CustomActivationError, UnknownActivationError
from actviz.probing import probe
from tests.conftest import UserModules

runner = CliRunner()

MODULE = """
import torch
from torch import nn

def swishish(x):
    return x * torch.sigmoid(1.5 * x)

class Square(nn.Module):
    def forward(self, x):
        return x * x

class NeedsArgs(nn.Module):
    def __init__(self, k):
        super().__init__()

def detached(x):
    return torch.tanh(x).detach()

def via_numpy(x):
    return torch.from_numpy(x.detach().numpy() ** 2)

def reducer(x):
    return x.sum()

def raiser(x):
    raise ValueError("boom")

def not_a_tensor(x):
    return [1.0]

NOT_CALLABLE = 3
"""


@pytest.fixture(autouse=True)
def user_module(user_modules: UserModules) -> None:
    user_modules(useracts=MODULE)


def test_function_and_module_class_are_probed_with_autograd() -> None:
    p = probe("useracts:swishish", start=-2, stop=2, points=5, dtype="float64")
    s = 1 / (1 + np.exp(-1.5 * p.x))
    np.testing.assert_allclose(p.y, p.x * s)
    np.testing.assert_allclose(p.grad, s + 1.5 * p.x * s * (1 - s))
    square = probe("useracts:Square", start=-1, stop=1, points=3, dtype="float64")
    assert square.grad.tolist() == [-2.0, 0.0, 2.0]
    assert registry.get("useracts:Square").custom


def test_the_library_leaves_sys_path_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A console process: the working folder is on sys.path only if someone puts it there.
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", ".")])
    before = list(sys.path)
    assert load("useracts:swishish").custom  # found through the fixture's sys.path entry
    probe("useracts:Square", start=-1, stop=1, points=3)
    assert sys.path == before
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "onlyhere.py").write_text("def f(x):\n    return x\n")
    monkeypatch.chdir(elsewhere)
    with pytest.raises(UnknownActivationError) as caught:
        probe("onlyhere:f", start=-1, stop=1, points=3)
    assert str(caught.value) == (
        "cannot import 'onlyhere' for onlyhere:f: No module named 'onlyhere'"
    )
    assert sys.path == before


def test_the_actviz_command_finds_a_module_in_the_working_folder(tmp_path: Path) -> None:
    # The console script itself (not `python -m`, which would add the folder on its own).
    # The module announces that it was imported, so no torch start-up is needed to tell.
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "cwdacts.py").write_text("raise RuntimeError('imported from the working folder')\n")
    env = {**os.environ, "PYTHONPATH": str(Path(actviz.__file__).parents[1])}  # this tree
    command = [str(Path(sys.executable).with_name("actviz")), "table", "cwdacts:fn"]
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
    assert (done.returncode, done.stderr) == (
        1,
        "Error: cannot import 'cwdacts' for cwdacts:fn: importing it raised RuntimeError: "
        "imported from the working folder\n",
    )
    elsewhere = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert (elsewhere.returncode, elsewhere.stderr) == (
        2,
        "Error: cannot import 'cwdacts' for cwdacts:fn: No module named 'cwdacts'\n",
    )


def test_cli_plot_table_check_export() -> None:
    result = runner.invoke(app, ["plot", "useracts:swishish", "relu"])
    assert result.stdout == "wrote outputs/useracts-swishish_vs_relu.png\n"
    check = runner.invoke(app, ["check", "useracts:swishish"])
    assert check.exit_code == 0
    assert "useracts:swishish: reference numeric: Ridders-extrapolated" in check.stdout
    # checked in every dtype against derivatives of its own float64 f (issue 20)
    (checked,) = json.loads(runner.invoke(app, ["check", "useracts:swishish", "--json"]).stdout)
    assert (checked["activation"], checked["passed"]) == ("useracts:swishish", True)
    assert [(d["dtype"], d["passed"]) for d in checked["dtypes"]] == [
        ("float64", True), ("float32", True), ("bfloat16", True), ("float16", True),
    ]  # fmt: skip
    result = runner.invoke(app, ["export", "useracts:Square", "--jobs", "1"], env={"CI": "1"})
    assert "written   outputs/useracts-Square.png" in result.stdout
    table = runner.invoke(app, ["table", "useracts:Square", "--range", "-1", "1", "--points", "3"])
    assert "useracts:Square on cpu, 3 samples" in table.stdout


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (
            "useracts:detached",
            "useracts:detached returned a tensor that does not require grad: it was computed "
            "outside autograd (.detach(), .numpy(), torch.no_grad() or a new tensor), so "
            "backward() would fail with 'element 0 of tensors does not require grad and does not "
            "have a grad_fn'; compute it with torch operations on x",
        ),
        ("useracts:via_numpy", "useracts:via_numpy returned a tensor that does not require grad"),
        (
            "useracts:reducer",
            "useracts:reducer returned shape (), not the shape of its 1-D input; an activation "
            "must be elementwise",
        ),
        ("useracts:raiser", "useracts:raiser raised ValueError: boom"),
        ("useracts:not_a_tensor", "useracts:not_a_tensor returned a list, not a tensor"),
    ],
)
def test_misbehaving_callables_are_named_and_explained(path: str, message: str) -> None:
    with pytest.raises(CustomActivationError) as caught:
        probe(path, start=-1, stop=1, points=3)
    assert str(caught.value).startswith(message)
    result = runner.invoke(app, ["table", path, "--range", "-1", "1", "--points", "3"])
    assert result.exit_code == 1 and result.stderr.startswith(f"Error: {message}")


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("nomodule:fn", "cannot import 'nomodule' for nomodule:fn: No module named 'nomodule'"),
        ("useracts:nope", "useracts has no attribute 'nope' (for useracts:nope)"),
        (
            "useracts:NOT_CALLABLE",
            "useracts:NOT_CALLABLE is not a function or an nn.Module class (it is int 3)",
        ),
        (
            "useracts:",
            "'useracts:' is not an import path; write module:callable, e.g. mypkg.acts:my_fn",
        ),
    ],
)
def test_bad_import_paths_are_usage_errors(path: str, message: str) -> None:
    with pytest.raises(UnknownActivationError) as caught:
        registry.get(path)
    assert str(caught.value) == message
    result = runner.invoke(app, ["plot", path])
    assert (result.exit_code, result.stderr) == (2, f"Error: {message}\n")


def test_a_required_constructor_argument_must_be_given() -> None:
    result = runner.invoke(app, ["table", "useracts:NeedsArgs", "--range", "-1", "1"])
    assert (result.exit_code, result.stderr) == (
        2,
        "Error: useracts:NeedsArgs needs k: give --param k=VALUE\n",
    )


def test_custom_functions_take_no_parameters() -> None:
    result = runner.invoke(app, ["plot", "useracts:swishish", "--param", "alpha=1"])
    assert result.exit_code == 2
    assert (
        result.stderr
        == "Error: useracts:swishish has no parameter 'alpha', it takes no parameters\n"
    )
