"""The committed outputs/ are what `make demo` makes from this code: they cannot drift.

The README shows outputs/; a change that alters a figure, the manifest or the
gallery (or any of actviz's code, whose hash the manifest records) fails here
until `make demo` is run and its files committed. The check is route-aware, as
`actviz export --check` is: on a CPU whose kernels round differently, files
that differ only in what depends on the route are current.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from actviz import registry
from actviz.cli import app
from actviz.environment import environment
from actviz.export import export
from actviz.params import specs_from_cli, targets_from_cli

ROOT = Path(__file__).resolve().parent.parent
OUTPUTS = ROOT / "outputs"


def demo_commands() -> list[list[str]]:
    """The actviz commands of the Makefile's demo target, as argument lists."""
    lines = (ROOT / "Makefile").read_text().split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    return [
        shlex.split(line.strip())[1:]
        for line in lines.splitlines()
        if line.strip().startswith("$(BIN)/actviz ")
    ]


def _recorded_environment() -> dict[str, object]:
    files = json.loads((OUTPUTS / "manifest.json").read_text())["files"]
    environments = {json.dumps(e.get("environment"), sort_keys=True) for e in files.values()}
    assert len(environments) == 1, "outputs/ mixes files made on several kernel routes"
    found: dict[str, object] = json.loads(environments.pop())
    return found


@pytest.mark.slow
def test_committed_outputs_are_current() -> None:
    (export_command,) = [c for c in demo_commands() if c[0] == "export"]
    assert export_command == ["export", "--all", "--out", "outputs"]
    targets = targets_from_cli(registry.all_names(), [], [])  # as `export --all` does
    report = export(targets, OUTPUTS, check=True, jobs=1)
    assert report.problem() is None, f"{report.problem()}: run `make demo` and commit outputs/"
    # made on this machine's route, every file is identical; elsewhere route-only
    if _recorded_environment() == environment().record():
        assert not report.route, report.summary()


@pytest.mark.slow
def test_the_demo_figures_are_current(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if _recorded_environment() != environment().record():
        pytest.skip("outputs/ were made on another kernel route; the manifest check covers it")
    monkeypatch.chdir(tmp_path)
    figures = 0
    for command in demo_commands():
        if command[0] == "export" or not any(a.startswith("--out") for a in command):
            continue
        words = [str(tmp_path) if a == "outputs" else a for a in command]
        words = [a.replace("outputs/", f"{tmp_path}/") for a in words]
        result = CliRunner().invoke(app, words)
        assert result.exit_code == 0, (command, result.output)
        for made in [*tmp_path.glob("*.png"), *tmp_path.glob("*.html")]:
            assert made.read_bytes() == (OUTPUTS / made.name).read_bytes(), (
                f"outputs/{made.name} is stale: run `make demo` and commit outputs/"
            )
            made.unlink()
            figures += 1
    # the explorer page, the d2l trio, the depth comparison, the phase diagram, the
    # correlation maps, the DKS shapes and the shaped depth comparison
    assert figures == 7


def test_the_check_fails_on_a_changed_figure(tmp_path: Path) -> None:
    copy = tmp_path / "outputs"
    specs = specs_from_cli(["relu"])
    export(specs, copy, jobs=1)
    assert export(specs, copy, check=True, jobs=1).problem() is None
    # an option changed: the same file name, another figure
    assert "stale" in (export(specs, copy, check=True, jobs=1, dpi=100).problem() or "")
    # a figure edited by hand (or made by other code): stale, never route-only
    (copy / "relu.png").write_bytes((OUTPUTS / "relu.png").read_bytes() + b"\0")
    report = export(specs, copy, check=True, jobs=1)
    assert copy / "relu.png" in report.stale and not report.route
