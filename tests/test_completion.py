"""Shell completion as the shells ask for it: the real console script, Click's protocol.

bash sets ``COMP_WORDS``/``COMP_CWORD``; zsh and fish set
``_TYPER_COMPLETE_ARGS``; each with ``_ACTVIZ_COMPLETE=complete_<shell>``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest
from typer.testing import CliRunner

import actviz
from actviz import cli, plotting, registry
from actviz.defaults import IMAGE_FORMATS
from actviz.depth.shape import solve
from actviz.evaluation import DTYPES
from actviz.saturation import survey
from tests.cli.helpers import ClickError, check_error

ACTVIZ = str(Path(sys.executable).with_name("actviz"))
COMMANDS = ["list", "plot", "table", "saturation", "check", "jacobian", "graph", "export", "depth",
            "gain", "explore", "cmap", "shape", "env"]  # fmt: skip


def _complete(shell: str, words: str, **extra: str) -> list[str]:
    env = {**os.environ, "_ACTVIZ_COMPLETE": f"complete_{shell}", **extra}
    if shell == "bash":
        parts = words.split(" ")
        env |= {"COMP_WORDS": words, "COMP_CWORD": str(len(parts) - 1)}
    else:
        env["_TYPER_COMPLETE_ARGS"] = words
        if shell == "fish":
            env["_TYPER_COMPLETE_FISH_ACTION"] = "get-args"
    done = subprocess.run([ACTVIZ], env=env, capture_output=True, text=True, check=True)
    return done.stdout.splitlines()


def test_bash_completes_commands_and_names() -> None:
    assert _complete("bash", "actviz ") == COMMANDS
    assert _complete("bash", "actviz plot sig") == ["sigmoid"]
    # canonical names first, then aliases that are other words (not Sigmoid, leaky_relu …)
    assert _complete("bash", "actviz table l") == ["leaky_relu", "logsigmoid", "lrelu", "logistic"]
    assert _complete("bash", "actviz saturation sw") == ["swish"]
    assert _complete("bash", "actviz plot g") == ["gelu", "glu"]


def test_every_name_completes_and_no_alias_repeats_a_name() -> None:
    everything = cli.options.complete_name("")
    assert everything[: len(registry.all_names())] == registry.all_names()
    keys = [registry._key(n) for n in everything]
    assert len(keys) == len(set(keys))
    for name in everything:  # each candidate is accepted by the registry
        assert registry.two_input(name) is not None or registry.get(name) is not None


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("actviz plot relu --dtype ", ["float16", "bfloat16", "float32", "float64"]),
        ("actviz plot relu --dtype b", ["bfloat16"]),
        ("actviz table relu --device ", ["cpu", "cuda"]),
        ("actviz plot relu --format ", ["png", "svg", "pdf"]),
        ("actviz export --format png,", ["png,svg", "png,pdf"]),
        ("actviz export --theme d", ["dark"]),
        ("actviz saturation --sort f", ["float16", "float32"]),
        ("actviz check --dtype float6", ["float64"]),
    ],
)
def test_bash_completes_choices(words: str, expected: list[str]) -> None:
    assert _complete("bash", words) == expected


def test_zsh_and_fish_complete_names_and_choices() -> None:
    zsh = "\n".join(_complete("zsh", "actviz plot tan"))
    assert '"tanh"' in zsh and '"tanhshrink"' in zsh and "sigmoid" not in zsh
    assert _complete("fish", "actviz saturation --sort ") == list(get_args(cli.options.SortKey))
    assert _complete("fish", "actviz plot --theme ") == ["light", "dark"]


def test_choices_mirror_the_library() -> None:
    assert get_args(cli.options.DtypeName) == DTYPES
    assert get_args(cli.options.FormatName) == IMAGE_FORMATS
    assert get_args(cli.options.ThemeName) == plotting.THEMES
    assert list(get_args(cli.options.SortKey)) == list(survey.SORT_KEYS)
    assert get_args(cli.options.ShapeMethod) == solve.METHODS


def test_show_completion_prints_each_shells_script() -> None:
    # Typer's switch for naming the shell instead of detecting the one running us
    env = {**os.environ, "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    for shell, marker in [
        ("bash", "complete -o"),
        ("zsh", "compdef"),
        ("fish", "complete --command actviz"),
    ]:
        done = subprocess.run([ACTVIZ, "--show-completion", shell], env=env,
                              capture_output=True, text=True, check=True)  # fmt: skip
        assert marker in done.stdout and f"_ACTVIZ_COMPLETE=complete_{shell}" in done.stdout


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["plot", "relu", "--dtype", "float8"],
            ClickError("'--dtype'", "float8", "float16", "bfloat16", "float32", "float64"),
        ),
        (
            ["saturation", "--all", "--sort", "size"],
            ClickError(
                "'--sort'",
                "size",
                *["name", "peak", "grad0", "onset", "dead", "saturated", "float16", "bfloat16"],
            ),
        ),
        (
            ["plot", "relu", "--device", "tpu"],
            ClickError("'--device'", "tpu", "cpu", "cuda"),
        ),
    ],
)
def test_a_wrong_choice_is_one_line_with_the_choices(args: list[str], line: ClickError) -> None:
    check_error(args, 2, line)


def test_device_still_takes_one_gpu_of_several() -> None:
    done = CliRunner().invoke(cli.app, ["table", "relu", "--device", "cuda:1", "--points", "3"])
    if done.exit_code == 0:  # a machine with two GPUs
        return
    assert "Invalid value" not in done.output  # past the choice, to torch's own check
    assert done.output.startswith("Error: device 'cuda:1' was asked for")


def test_help_lists_the_choices() -> None:
    text = CliRunner().invoke(cli.app, ["plot", "--help"]).output
    for choice in ("<float16|bfloat16|float32|float64>", "<cpu|cuda>", "<png|svg|pdf>",
                   "<light|dark>"):  # fmt: skip
        assert choice in text


def test_version() -> None:
    done = CliRunner().invoke(cli.app, ["--version"])
    assert (done.exit_code, done.output) == (0, f"actviz {actviz.__version__}\n")
    real = subprocess.run([ACTVIZ, "--version"], capture_output=True, text=True, check=True)
    assert real.stdout == "actviz 0.1.0\n"
