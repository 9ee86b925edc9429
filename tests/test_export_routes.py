"""`actviz export --check` on a mixed runner fleet: current, stale, or made on another
kernel route (only route-dependent fields differ, named); exit 0, 1, 0.

Each route is a real one: an export made in a subprocess under
ONEDNN_MAX_CPU_ISA=AVX2, ATEN_CPU_CAPABILITY=default or with oneDNN disabled,
checked here, and the other way round.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from actviz import export as export_module
from actviz.cli import app
from actviz.environment import environment
from actviz.export import export
from actviz.params import specs_from_cli

pytestmark = pytest.mark.slow

NAMES = ["gelu", "mish"]
# oneDNN off (there is no variable for it): gelu's float32 edge moves from 6.151 to
# 14.34, so the gradient panel's shading and underflow line move too.
NO_ONEDNN = (
    "import sys, torch; torch.backends.mkldnn.enabled = False; "
    "from actviz.cli import main; sys.argv[0] = 'actviz'; main()"
)


def actviz(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``actviz ARGS`` in a fresh process; ``no_onednn="1"`` disables oneDNN in it."""
    launcher = [sys.executable, "-c", NO_ONEDNN] if env.pop("no_onednn", "") else None
    command = (launcher or [sys.executable, "-m", "actviz"]) + args
    variables = {**os.environ, "CI": "1", **env}
    return subprocess.run(command, cwd=cwd, env=variables, capture_output=True, text=True)


@pytest.fixture(scope="module")
def without_onednn(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """gelu and mish exported with oneDNN disabled."""
    folder = tmp_path_factory.mktemp("no-onednn")
    done = actviz(["export", *NAMES, "--out", str(folder)], folder, no_onednn="1")
    assert done.returncode == 0, done.stderr
    entries = json.loads((folder / "manifest.json").read_text())["files"]
    assert entries["gelu.png"]["environment"]["onednn"] is False
    return folder


def test_another_route_is_current_and_named(without_onednn: Path) -> None:
    if not environment().onednn:
        pytest.skip("oneDNN is off here too: the same route")
    report = export(specs_from_cli(NAMES), without_onednn, check=True, jobs=1)
    assert report.current and report.problem() is None
    gelu = without_onednn / "gelu.png"
    assert gelu in report.route  # the figure itself differs: another edge, other shading
    fields = report.route[gelu]
    assert any(f.startswith("saturation.grad_underflow.float32[0]: 14.34") for f in fields)
    assert "environment.onednn: false → true" in fields
    assert without_onednn / "manifest.json" in report.route
    assert "made on another kernel route" in report.summary()
    # the command: exit 0, a `route` line per such file
    result = CliRunner().invoke(app, ["export", *NAMES, "--out", str(without_onednn), "--check"])
    assert result.exit_code == 0, result.output
    assert f"route     {gelu}" in result.output


def test_a_real_change_on_another_route_is_stale(
    without_onednn: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not environment().onednn:
        pytest.skip("oneDNN is off here too: the same route")
    specs = specs_from_cli(NAMES)
    gelu = without_onednn / "gelu.png"
    # another option: stale, though the route differs too
    report = export(specs, without_onednn, check=True, jobs=1, dpi=120)
    assert gelu in report.stale and not report.route
    # other code (its hash differs): stale
    monkeypatch.setattr(export_module, "source_hash", lambda: "0" * 16)
    report = export(specs, without_onednn, check=True, jobs=1)
    assert gelu in report.stale and without_onednn / "manifest.json" in report.stale
    monkeypatch.undo()
    # a file edited since it was recorded: stale
    original = gelu.read_bytes()
    try:
        gelu.write_bytes(original + b"\0")
        report = export(specs, without_onednn, check=True, jobs=1)
        assert gelu in report.stale and report.problem() is not None
    finally:
        gelu.write_bytes(original)


@pytest.mark.parametrize(
    "variables",
    [{"ONEDNN_MAX_CPU_ISA": "AVX2"}, {"ATEN_CPU_CAPABILITY": "default"}],
    ids=["onednn-avx2", "aten-default"],
)
def test_a_runner_with_another_cpu_passes_the_gate(
    tmp_path: Path, variables: dict[str, str]
) -> None:
    made = CliRunner().invoke(app, ["export", *NAMES, "--out", str(tmp_path)])
    assert made.exit_code == 0, made.output
    checked = actviz(["export", *NAMES, "--out", str(tmp_path), "--check"], tmp_path, **variables)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "stale" not in checked.stdout and "all 4 files are current" in checked.stdout
    # and the gate still fails there on a real change
    changed = actviz(
        ["export", *NAMES, "--out", str(tmp_path), "--check", "--dpi", "100"], tmp_path, **variables
    )
    assert changed.returncode == 1 and "stale" in changed.stderr + changed.stdout
