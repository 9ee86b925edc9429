"""`actviz export --check` on a mixed runner fleet: current, stale, or made on another
kernel route (only route-dependent fields differ, named); exit 0, 1, 0.

Each route is a real one: an export made in a subprocess under
ONEDNN_MAX_CPU_ISA=AVX2, ATEN_CPU_CAPABILITY=default or with oneDNN disabled,
checked here, and the other way round.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from actviz import export as export_module
from actviz.cli import app
from actviz.custom import code_hash, load
from actviz.environment import environment
from actviz.export import export
from actviz.export import manifest as export_manifest  # the module: no name shadows it
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
    assert without_onednn / "manifest.json" in report.route
    ((then, now),) = report.made_on.items()
    assert "oneDNN off" in then and "oneDNN on" in now
    assert "made on another kernel route" in report.summary() and then in report.summary()
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
    monkeypatch.setattr(export_manifest, "source_hash", lambda: "0" * 16)
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


# --- what is not a route: each of these passed the gate once (an outsider's attacks)


def _exported(folder: Path, names: list[str], cwd: Path | None = None) -> dict[str, Any]:
    made = CliRunner().invoke(app, ["export", *names, "--out", str(folder)])
    assert made.exit_code == 0, made.output
    document: dict[str, Any] = json.loads((folder / "manifest.json").read_text())
    return document


def _as_if_made_elsewhere(folder: Path, change: Callable[[dict[str, Any]], None]) -> None:
    """Rewrite the manifest as another route would have written it, plus ``change``:
    another CPU capability and another gelu edge, with the image bytes to match."""
    document = json.loads((folder / "manifest.json").read_text())
    for entry in document["files"].values():
        entry["environment"]["cpu_capability"] = "AVX2-ELSEWHERE"
        change(entry)
    (folder / "manifest.json").write_text(json.dumps(document, sort_keys=True, indent=2) + "\n")


def _check(folder: Path, names: list[str]) -> export_module.Report:
    return export(specs_from_cli(names), folder, check=True, jobs=1)


def test_another_route_alone_is_route(tmp_path: Path) -> None:
    """The harness: with nothing else changed, a recorded other route is current."""
    _exported(tmp_path, ["relu"])
    _as_if_made_elsewhere(tmp_path, lambda entry: None)
    report = _check(tmp_path, ["relu"])
    assert report.problem() is None and tmp_path / "manifest.json" in report.route


def test_an_edited_activation_of_your_own_is_stale_on_any_route(
    tmp_path: Path, user_modules: Callable[..., Path]
) -> None:
    user_modules(myact="import torch\ndef swish(x):\n    return x * torch.sigmoid(1.5 * x)\n")
    folder = tmp_path / "out"
    entry = _exported(folder, ["myact:swish"])["files"]["myact-swish.png"]
    assert entry["code"] is not None and entry["versions"]["source"]
    _as_if_made_elsewhere(folder, lambda entry: None)
    assert _check(folder, ["myact:swish"]).problem() is None  # the same code: a route
    # Another size too: a bytecode cache written within the same second as a file of
    # the same size would still be taken for it (CPython checks mtime and size).
    user_modules(myact="import torch\ndef swish(x):\n    return x * torch.sigmoid(3.25 * x)\n")
    sys.modules.pop("myact")  # a new process would import the edited file
    load.cache_clear()
    report = _check(folder, ["myact:swish"])
    assert folder / "myact-swish.png" in report.stale and not report.route


def test_entries_keep_the_code_that_made_them(tmp_path: Path) -> None:
    """A partial re-export by other code must not vouch for the entries it keeps."""
    _exported(tmp_path, ["gelu", "relu"])
    document = json.loads((tmp_path / "manifest.json").read_text())
    document["files"]["gelu.png"]["versions"]["source"] = "0" * 16  # drawn by older code
    (tmp_path / "manifest.json").write_text(json.dumps(document, sort_keys=True, indent=2) + "\n")
    gelu = tmp_path / "gelu.png"
    gelu.write_bytes(gelu.read_bytes() + b"\0")  # and its image differs
    document["files"]["gelu.png"]["sha256"] = hashlib.sha256(gelu.read_bytes()).hexdigest()
    (tmp_path / "manifest.json").write_text(json.dumps(document, sort_keys=True, indent=2) + "\n")
    _as_if_made_elsewhere(tmp_path, lambda entry: None)
    report = _check(tmp_path, ["gelu", "relu"])
    assert gelu in report.stale


@pytest.mark.parametrize(
    "change",
    [
        lambda e: e["environment"].update(threads=4),  # another actviz, not another route
        lambda e: e.update(environment="x"),
        lambda e: e.update(environment=None),
        lambda e: e["environment"].pop("onednn"),
        lambda e: e.update(saturation=None),
        lambda e: e["saturation"].update(grad_underflow=[1]),
    ],
    ids=["threads", "text", "null", "missing-key", "no-saturation", "bad-saturation"],
)
def test_a_malformed_record_is_stale_not_route(
    tmp_path: Path, change: Callable[[dict[str, Any]], None]
) -> None:
    _exported(tmp_path, ["gelu"])
    _as_if_made_elsewhere(tmp_path, change)
    result = CliRunner().invoke(app, ["export", "gelu", "--out", str(tmp_path), "--check"])
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert "stale" in result.stderr


def test_variables_alone_are_not_another_route(tmp_path: Path) -> None:
    """ATEN_CPU_CAPABILITY=AVX2 (upper case) is ignored by torch: the same route."""
    _exported(tmp_path, ["relu"])

    def asked(entry: dict[str, Any]) -> None:
        entry["environment"].update(cpu_capability=environment().cpu_capability)
        entry["environment"]["variables"] = {"ATEN_CPU_CAPABILITY": "AVX2"}
        entry["saturation"]["peak_grad"] = 123.0  # a hand edit riding on it

    _as_if_made_elsewhere(tmp_path, asked)
    report = _check(tmp_path, ["relu"])
    assert tmp_path / "manifest.json" in report.stale and not report.route


def test_export_ignores_the_user_s_matplotlibrc(tmp_path: Path) -> None:
    """Same inputs, same bytes: a matplotlibrc in MPLCONFIGDIR changes nothing."""
    _exported(tmp_path / "plain", ["relu"])
    config = tmp_path / "config"
    config.mkdir()
    (config / "matplotlibrc").write_text(
        "axes.facecolor: yellow\nlines.linewidth: 9\nfont.size: 20\n"
    )
    done = actviz(["export", "relu", "--out", str(tmp_path / "styled")], tmp_path,
                  MPLCONFIGDIR=str(config))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "styled" / "relu.png").read_bytes() == (
        tmp_path / "plain" / "relu.png"
    ).read_bytes()


def test_plot_follows_the_user_s_matplotlibrc(tmp_path: Path) -> None:
    """What docs/plot.md says: `plot` draws under your matplotlibrc (a tight bounding
    box crops, a see-through face makes an RGBA file); `export`, above, does not."""
    from PIL import Image

    plain = actviz(["plot", "relu", "--out", str(tmp_path / "plain.png")], tmp_path)
    assert plain.returncode == 0, plain.stderr
    config = tmp_path / "config"
    config.mkdir()
    (config / "matplotlibrc").write_text("savefig.bbox: tight\nfigure.facecolor: none\n")
    done = actviz(["plot", "relu", "--out", str(tmp_path / "styled.png")], tmp_path,
                  MPLCONFIGDIR=str(config))  # fmt: skip
    assert done.returncode == 0, done.stderr
    with Image.open(tmp_path / "plain.png") as a, Image.open(tmp_path / "styled.png") as b:
        assert (a.mode, b.mode) == ("RGB", "RGBA")
        assert b.size[0] < a.size[0] or b.size[1] < a.size[1]


@pytest.mark.filterwarnings("ignore:TF32 acceleration")
def test_underflow_edges_follow_the_onednn_switch() -> None:
    import torch

    from actviz import registry
    from actviz.underflow import underflow

    if not environment().onednn:
        pytest.skip("oneDNN is off here")
    gelu = registry.spec("gelu")
    on = underflow(gelu, "float32")
    with torch.backends.mkldnn.flags(enabled=False):
        off = underflow(gelu, "float32")
    assert on.grad_left is not None and off.grad_left is not None
    # oneDNN's float32 gelu′ is 0 from 6.151 on; ATen's from 14.34: not one cached answer
    assert off.grad_left > on.grad_left


def _in_saturation(change: Callable[[dict[str, Any]], None], entry: dict[str, Any]) -> None:
    change(entry["saturation"])


def test_only_what_a_route_moves_may_differ(tmp_path: Path) -> None:
    """Another route moves underflow edges, shares and onsets, and the last digits of a
    sample's f′; not f(0), f′(0) or a peak by a factor."""
    for change, route in [
        (lambda s: s.update(f0=42.0), False),
        (lambda s: s.update(grad0=3.0), False),
        (lambda s: s.update(peak_grad=s["peak_grad"] * 3), False),
        (lambda s: s.update(peak_grad=s["peak_grad"] * (1 + 1e-7)), True),
        (lambda s: s["fractions"].update(dead=0.5), True),
        (lambda s: s["grad_underflow"].update(bfloat16=[13.8125, None]), True),
        # f′ tying with the peak at one more sample (a last-bit difference): route
        (lambda s: s["peak_runs"].append(dict(s["peak_runs"][0], first=2.0, last=2.0)), True),
        # gelu has no zero by definition on any route: a recorded one is not the route
        (
            lambda s: s.update(
                zero_by_definition=[
                    {"from": None, "to": 0.0, "from_closed": False, "to_closed": True}
                ]
            ),
            False,
        ),
    ]:
        folder = tmp_path / str(len(list(tmp_path.iterdir())))
        _exported(folder, ["gelu"])
        _as_if_made_elsewhere(folder, functools.partial(_in_saturation, change))
        # the gallery as that route would have drawn it, so only the manifest is at stake
        document = json.loads((folder / "manifest.json").read_text())
        cards = export_module.gallery_cards(document["files"])
        (folder / "index.html").write_bytes(export_module.gallery_page(cards))
        report = _check(folder, ["gelu"])
        assert (folder / "manifest.json" in report.route) is route, report.summary()
        assert (report.problem() is None) is route


def test_your_own_activation_s_helpers_count_as_its_code(
    tmp_path: Path, user_modules: Callable[..., Path]
) -> None:
    user_modules(
        helper="K = 1.0\n",
        viahelper="import torch\nimport helper\n\n"
        "def act(x):\n    return helper.K * torch.tanh(x)\n",
    )
    first = code_hash("viahelper:act")
    assert first is not None and code_hash("viahelper:act") == first
    (tmp_path / "helper.py").write_text("K = 3.0\n")
    assert code_hash("viahelper:act") != first  # the helper's file, read afresh
    crlf = (tmp_path / "helper.py").read_bytes().replace(b"\n", b"\r\n")
    before = code_hash("viahelper:act")
    (tmp_path / "helper.py").write_bytes(crlf)
    assert code_hash("viahelper:act") == before  # a CRLF checkout is the same code
