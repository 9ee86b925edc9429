"""Issue 19: a command that succeeds prints nothing on stderr (no matplotlib cache
warning under a read-only HOME, no torch "degrees of freedom" warning from depth),
and Typer's completion machinery fails with one ``Error:`` line, never a traceback."""

from __future__ import annotations

import atexit
import math
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from typer.testing import CliRunner

import actviz
from actviz import cli, startup
from actviz.errors import InvalidParameterError, UsageError

runner = CliRunner()
ROOT = str(Path(actviz.__file__).parents[1])  # this tree's actviz, not an installed one


def _unwritable_home(tmp_path: Path) -> Path:
    """A HOME nobody can write into, root included: its parent is a plain file."""
    (tmp_path / "plain-file").write_text("")
    return tmp_path / "plain-file" / "home"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    drop = {"XDG_CACHE_HOME", "XDG_CONFIG_HOME", "MPLCONFIGDIR", "_ACTVIZ_COMPLETE",
            "COMP_WORDS", "COMP_CWORD"}  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k not in drop}
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir(exist_ok=True)
    env |= {"HOME": str(_unwritable_home(tmp_path)), "PYTHONPATH": ROOT, "MPLBACKEND": "Agg",
            "CI": "1", "TMPDIR": str(private_tmp), **extra}  # fmt: skip
    return env


def _actviz(tmp_path: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "actviz", *args], cwd=tmp_path,
                          env=_env(tmp_path, **extra), capture_output=True, text=True,
                          timeout=300)  # fmt: skip


def test_the_read_only_home_does_make_matplotlib_warn(tmp_path: Path) -> None:
    """The control: without actviz's private folder matplotlib does warn here, so
    the empty stderr below is actviz's doing."""
    command = [sys.executable, "-c", "import matplotlib.pyplot"]
    env = _env(tmp_path)
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0
    assert "Matplotlib created a temporary cache directory" in done.stderr


def test_plot_under_a_read_only_home_is_quiet(tmp_path: Path) -> None:
    done = _actviz(tmp_path, "plot", "relu", "--out", "relu.png")
    assert (done.returncode, done.stdout, done.stderr) == (0, "wrote relu.png\n", "")
    assert (tmp_path / "relu.png").is_file()
    assert list((tmp_path / "tmp").iterdir()) == []  # the private folder is gone at exit


@pytest.mark.slow
def test_export_with_two_workers_under_a_read_only_home_is_quiet(tmp_path: Path) -> None:
    done = _actviz(tmp_path, "export", "relu", "tanh", "--jobs", "2", "--out", "o")
    assert done.returncode == 0 and done.stderr == ""
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == [
        "index.html", "manifest.json", "relu.png", "tanh.png"]  # fmt: skip
    assert list((tmp_path / "tmp").iterdir()) == []


def test_the_private_folder_is_made_only_where_matplotlib_cannot_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("XDG_CACHE_HOME", "XDG_CONFIG_HOME", "MPLCONFIGDIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(atexit, "register", lambda *args: None)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # can be made: nothing to do
    assert startup.private_matplotlib_folder() is None and "MPLCONFIGDIR" not in os.environ
    assert (tmp_path / "home" / ".config" / "matplotlib").is_dir()
    monkeypatch.setenv("HOME", str(_unwritable_home(tmp_path)))
    folder = startup.private_matplotlib_folder()
    assert folder is not None and folder.is_dir()
    assert os.environ["MPLCONFIGDIR"] == str(folder) and folder.name.startswith("actviz-")
    assert startup.private_matplotlib_folder() is None  # set once: the workers inherit it
    startup._remove(folder)
    assert not folder.exists()
    # the cache folder counts too: a writable config folder alone is not enough
    monkeypatch.delenv("MPLCONFIGDIR")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(_unwritable_home(tmp_path)))
    assert startup.matplotlib_folders(os.environ)[1] == _unwritable_home(tmp_path) / "matplotlib"
    folder = startup.private_matplotlib_folder()
    assert folder is not None
    startup._remove(folder)


def test_depth_of_one_value_per_layer_is_refused_in_one_line(tmp_path: Path) -> None:
    message = ("width 1 and batch 1 leave one value per layer, which has no spread to measure "
               "(each std is over width × batch values); use {} or more")  # fmt: skip
    with pytest.raises(InvalidParameterError) as caught:
        actviz.simulate("relu", width=1, layers=2, batch=1)
    assert str(caught.value) == message.format("batch=2")  # the library's parameter
    result = runner.invoke(cli.app, ["depth", "relu", "--width", "1", "--layers", "2",
                                     "--batch", "1", "--out", str(tmp_path / "d.png")])  # fmt: skip
    line = message.format("--batch 2")  # the command's flag
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"Error: {line}\n")


def test_depth_of_width_one_gives_no_torch_warning_and_says_nan(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch's "degrees of freedom" warning would raise
        run = actviz.simulate("relu", width=1, layers=2, batch=3, baseline=False).runs[0]
    assert all(math.isnan(s.grad_weight_std) for s in run.layers)  # one weight: no spread
    assert all(math.isfinite(s.pre_std) for s in run.layers)
    done = _actviz(tmp_path, "depth", "relu", "--width", "1", "--layers", "2", "--batch", "3",
                   "--out", "d.png")  # fmt: skip
    assert done.returncode == 0 and done.stderr == ""


PROTOCOL = ("bash completion needs COMP_WORDS (the words typed) and COMP_CWORD (the number "
            "of the word being completed, 0 or more), as bash sets them; ")  # fmt: skip


@pytest.mark.parametrize(
    ("variables", "line"),
    [
        ({"_ACTVIZ_COMPLETE": "complete_bash"},
         PROTOCOL + "COMP_WORDS is unset, COMP_CWORD unset"),
        ({"_ACTVIZ_COMPLETE": "complete_bash", "COMP_WORDS": "actviz ", "COMP_CWORD": "abc"},
         PROTOCOL + "COMP_WORDS is set, COMP_CWORD 'abc'"),
        ({"_ACTVIZ_COMPLETE": "complete_bash", "COMP_CWORD": "1"},
         PROTOCOL + "COMP_WORDS is unset, COMP_CWORD '1'"),
        ({"_ACTVIZ_COMPLETE": "complete_bash", "COMP_WORDS": "actviz ", "COMP_CWORD": "-1"},
         PROTOCOL + "COMP_WORDS is set, COMP_CWORD '-1'"),
        ({"_ACTVIZ_COMPLETE": "complete_"},
         "_ACTVIZ_COMPLETE='complete_' is not a completion request: it is complete_SHELL or "
         "source_SHELL, SHELL one of bash, zsh, fish, powershell, pwsh (the script `actviz "
         "--show-completion` prints sets it)"),
        ({"_ACTVIZ_COMPLETE": "nonsense"},
         "_ACTVIZ_COMPLETE='nonsense' is not a completion request: it is complete_SHELL or "
         "source_SHELL, SHELL one of bash, zsh, fish, powershell, pwsh (the script `actviz "
         "--show-completion` prints sets it)"),
    ],
)  # fmt: skip
def test_a_malformed_completion_request_is_one_usage_line(
    tmp_path: Path, variables: dict[str, str], line: str
) -> None:
    done = _actviz(tmp_path, **variables)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", f"Error: {line}\n")


def test_a_well_formed_completion_request_still_completes(tmp_path: Path) -> None:
    done = _actviz(tmp_path, _ACTVIZ_COMPLETE="complete_bash", COMP_WORDS="actviz plot sig",
                   COMP_CWORD="2")  # fmt: skip
    assert (done.returncode, done.stdout, done.stderr) == (0, "sigmoid\n", "")
    empty = _actviz(tmp_path, "list", "--json", _ACTVIZ_COMPLETE="")  # empty: no request
    assert empty.returncode == 0 and empty.stderr == ""


def test_install_completion_into_a_read_only_home_is_one_runtime_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli.boundary, "_detected_shell", lambda: "bash")
    home = _unwritable_home(tmp_path)
    result = runner.invoke(cli.app, ["--install-completion"], env={"HOME": str(home)})
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        f"Error: cannot install bash completion: Not a directory ({home}); make the home "
        "folder writable, or add the script yourself: `_ACTVIZ_COMPLETE=source_bash actviz`\n"
    )


def test_install_completion_into_a_writable_home_still_installs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli.boundary, "_detected_shell", lambda: "bash")
    result = runner.invoke(cli.app, ["--install-completion"], env={"HOME": str(tmp_path)})
    script = tmp_path / ".bash_completions" / "actviz.sh"
    assert result.exit_code == 0 and result.stderr == ""
    restart = "Completion will take effect once you restart the terminal\n"
    assert result.stdout == f"bash completion installed in {script}\n{restart}"
    assert "_ACTVIZ_COMPLETE=complete_bash" in script.read_text()


@pytest.mark.parametrize("option", ["--install-completion", "--show-completion"])
@pytest.mark.parametrize(
    ("detected", "line"),
    [
        (None, "cannot tell which shell runs actviz, so shell completion cannot be set up; run "
               "it from bash, zsh, fish or PowerShell, or add the script yourself: "
               "`_ACTVIZ_COMPLETE=source_bash actviz >> ~/.bashrc`"),
        ("tcsh", "shell completion is for bash, zsh, fish, powershell, pwsh, not 'tcsh'"),
    ],
)  # fmt: skip
def test_a_shell_typer_cannot_complete_for_is_one_usage_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, option: str, detected: str | None, line: str
) -> None:
    monkeypatch.setattr(cli.boundary, "_detected_shell", lambda: detected)
    result = runner.invoke(cli.app, [option], env={"HOME": str(tmp_path)})
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"Error: {line}\n")
    assert list(tmp_path.iterdir()) == []  # nothing installed


def test_completion_shell_takes_the_named_shell_first() -> None:
    assert startup.completion_shell("zsh", "bash") == "zsh"
    assert startup.completion_shell(None, "fish") == "fish"
    with pytest.raises(UsageError):
        startup.completion_shell(None, None)
