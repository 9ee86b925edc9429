"""Issue 19, "Tracebacks": each failure here is one ``Error:`` line on stderr with its
exit code, never a traceback (the closed-stdout and deleted-folder cases need a real
process, so every case runs ``python -m actviz`` in a folder of its own)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LONG = "a" * 300  # one name over the 255 bytes a file system allows
TOO_LONG = "e: File name too long (each name at most 255 bytes, the whole path at most 4095); "
SHOWN = "a" * 50 + "…" + "a" * 46  # _shortened: the first 60 and last 50 characters

MODULE = """
import sys
import torch


class _InfGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, g):
        return g * float("inf")


def inf_grad(x):
    return _InfGrad.apply(x)


class Mine(BaseException):
    pass


def base(x):
    raise Mine("boom")


def generator_exit(x):
    raise GeneratorExit("bye")


def bare(x):
    raise Exception("a bare one")


class Exits(torch.nn.Module):
    def __init__(self):
        super().__init__()
        sys.exit(7)

    def forward(self, x):
        return x
"""


def actviz(
    folder: Path, *args: str, stdout_closed: bool = False
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg", "COLUMNS": "200"}
    env.pop("PYTHONSAFEPATH", None)
    return subprocess.run(
        [sys.executable, "-m", "actviz", *args],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL if not stdout_closed else None,
        stderr=subprocess.PIPE,
        text=True,
        timeout=300,
        check=False,
        # fd 1 closed in the child, as `actviz list >&-` does in a shell
        preexec_fn=(lambda: os.close(1)) if stdout_closed else None,
    )


def one_line(result: subprocess.CompletedProcess[str], line: str, code: int) -> None:
    """The boundary's promise: exactly this one line on stderr and this exit code."""
    assert (result.returncode, result.stderr) == (code, line + "\n")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "mods.py").write_text(MODULE)
    return tmp_path


def shortened(path: str) -> str:
    return path if len(path) <= 120 else f"{path[:60]}…{path[-50:]}"


@pytest.mark.parametrize(
    ("args", "name"),
    [
        (["plot", "relu", "--out"], LONG + ".png"),
        (["export", "relu", "--out"], LONG),
        (["depth", "tanh", "--layers", "2", "--out"], LONG + ".png"),
        (["jacobian", "softmax", "--input", "1", "2", "--out"], LONG + ".png"),
        (["graph", "tanh(x)", "--set", "x=1", "--out"], LONG + ".dot"),
        (["plot", "relu", "--out"], "/".join(["b" * 250] * 20) + ".png"),  # over PATH_MAX
    ],
    ids=["plot", "export", "depth", "jacobian", "graph", "path-max"],
)
def test_a_name_too_long_is_one_line(folder: Path, args: list[str], name: str) -> None:
    path = f"{folder}/{name}"
    one_line(
        actviz(folder, *args, path),
        f"Error: cannot use {shortened(path)}: File name too long (each name at most 255 bytes, "
        "the whole path at most 4095); choose a shorter path",
        1,
    )


def test_plot_out_dir_too_long_is_one_line(folder: Path) -> None:
    one_line(
        actviz(folder, "plot", "relu", "--out-dir", f"{folder}/{LONG}"),
        f"Error: cannot write {folder}/{LONG}/relu.png: File name too long; choose another --out",
        1,
    )


CLOSED = "Error: stdout is closed, so the output was not printed; run again with stdout open"


@pytest.mark.parametrize(
    "args",
    [
        ["list"],
        ["plot", "relu", "--out", "p.png"],
        ["export", "relu", "--out", "o"],
        ["table", "relu", "--csv"],
    ],
    ids=["list", "plot", "export", "table-csv"],
)
def test_stdout_closed_is_one_line_exit_1(folder: Path, args: list[str]) -> None:
    one_line(actviz(folder, *args, stdout_closed=True), CLOSED, 1)


def test_closed_stdout_counts_only_real_output() -> None:
    """With nothing printed (an empty write) the command exits 0 silently."""
    from actviz.cli.boundary import ClosedStdout

    quiet = ClosedStdout()
    quiet.write("")
    assert quiet.wanted is False
    quiet.write("x")
    assert quiet.wanted is True


def test_a_deleted_working_folder_is_one_line(tmp_path: Path) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    script = (
        f"import os, sys, subprocess; os.chdir({str(gone)!r}); os.rmdir({str(gone)!r}); "
        "sys.exit(subprocess.run([sys.executable, '-m', 'actviz', 'plot', 'relu']).returncode)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    one_line(
        result,
        "Error: the working folder no longer exists (deleted or moved away); cd to "
        "a folder that exists and run again",
        1,
    )


def test_bias_std_over_the_shared_cap_is_one_line(folder: Path) -> None:
    line = "Error: bias std must be a number from 0 to 1e150 (got 1e+200)"
    one_line(actviz(folder, "depth", "tanh", "--gain", "critical", "--bias-std", "1e200"), line, 2)
    one_line(actviz(folder, "gain", "tanh", "--bias-std", "1e200"), line, 2)


@pytest.mark.parametrize(
    ("fn", "line"),
    [
        ("base", "Error: mods:base raised Mine: boom"),
        ("generator_exit", "Error: mods:generator_exit raised GeneratorExit: bye"),
        ("Exits", "Error: mods:Exits: could not build the module without arguments: SystemExit: 7"),
        (
            "inf_grad",
            "Error: mods:inf_grad is not finite on this range in float32: f′(x) = inf at x = -8 "
            "(160 of 160 samples); an activation must return finite values with finite gradients",
        ),
    ],
)
def test_a_custom_activation_that_fails_is_one_line_exit_1(
    folder: Path, fn: str, line: str
) -> None:
    one_line(actviz(folder, "plot", f"mods:{fn}", "--out", "p.png"), line, 1)


def test_inf_gradient_refused_by_check_and_export(folder: Path) -> None:
    one_line(
        actviz(folder, "check", "mods:inf_grad"),
        "Error: mods:inf_grad is not finite on this range in float32: f′(x) = inf at "
        "x = -8 (160 of 160 samples); an activation must return finite values with finite "
        "gradients",  # the grid plot draws, first: the line plot gives
        1,
    )
    result = actviz(folder, "export", "mods:inf_grad", "--out", "o")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "f′(x) = inf" in result.stderr


def test_the_boundary_test_catches_a_traceback(folder: Path) -> None:
    """Injected wrong answer: a bare Exception from actviz's own path is a traceback,
    and one_line must fail on it."""
    result = subprocess.run(
        [sys.executable, "-c", "raise Exception('bare')"],
        capture_output=True,
        text=True,
        check=False,
    )
    with pytest.raises(AssertionError):
        one_line(result, "Error: bare", 1)
