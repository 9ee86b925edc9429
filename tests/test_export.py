"""Batch export: reproducible bytes, parallel equals serial, the CI check, manifest, gallery."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from actviz import export as export_module
from actviz.cli import app
from actviz.errors import RuntimeFailure, UsageError
from actviz.export import Job, Rendered, export
from actviz.probe import Grid
from actviz.registry import specs_from_cli

NAMES = ["relu", "sigmoid", "gelu", "leaky_relu"]
PARAMS = ["leaky_relu.negative_slope=0.1"]
GRID = Grid(-6, 6, points=241)
runner = CliRunner()


def _export(out: Path, **options: Any) -> export_module.Report:
    return export(specs_from_cli(NAMES, PARAMS), out, grid=GRID, **options)


def _contents(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def serial(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("serial")
    report = _export(out, formats=("png", "svg", "pdf"), jobs=1)
    assert len(report.written) == 4 * 3 + 2 and not report.unchanged
    return out


def test_files_and_stable_names(serial: Path) -> None:
    assert sorted(_contents(serial)) == sorted(
        [f"{stem}.{fmt}" for stem in ["gelu", "leaky_relu-negative_slope=0.1", "relu", "sigmoid"]
         for fmt in ("png", "svg", "pdf")] + ["index.html", "manifest.json"]
    )  # fmt: skip


def test_reexport_is_byte_identical_and_leaves_files_alone(serial: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    _export(again, formats=("png", "svg", "pdf"), jobs=1)
    assert _contents(again) == _contents(serial)
    report = _export(again, formats=("png", "svg", "pdf"), jobs=1)
    assert report.written == [] and len(report.unchanged) == 14


def test_parallel_equals_serial(serial: Path, tmp_path: Path) -> None:
    _export(tmp_path, formats=("png", "svg", "pdf"), jobs=2)
    assert _contents(tmp_path) == _contents(serial)


def test_manifest_hashes_and_versions(serial: Path) -> None:
    text = (serial / "manifest.json").read_text()
    data = json.loads(text)
    assert text == json.dumps(data, sort_keys=True, indent=2) + "\n"  # sorted, stable
    assert set(data["versions"]) == {"actviz", "matplotlib", "torch"}
    files = data["files"]
    assert len(files) == 12
    for name, entry in files.items():
        assert entry["sha256"] == hashlib.sha256((serial / name).read_bytes()).hexdigest()
    lr = files["leaky_relu-negative_slope=0.1.png"]
    assert lr["activation"] == "leaky_relu" and lr["params"] == {"negative_slope": 0.1}
    assert lr["range"] == [-6, 6] and lr["points"] == 241 and lr["format"] == "png"
    assert lr["dpi"] == 150 and lr["dtype"] == "float32"
    sigmoid = files["sigmoid.svg"]["saturation"]
    assert sigmoid["peak_grad"] == 0.25
    assert sigmoid["grad_underflow"]["float32"][1] == pytest.approx(16.6355, abs=1e-4)


def test_gallery_references_exactly_the_exported_images(serial: Path) -> None:
    page = (serial / "index.html").read_text()
    images = set(re.findall(r'<img src="([^"]+)"', page))
    links = set(re.findall(r'<a href="([^"]+)"', page))
    exported = {n for n in _contents(serial) if n not in ("index.html", "manifest.json")}
    assert images == {n for n in exported if n.endswith(".png")}
    assert links == exported
    assert "http" not in page and "<script" not in page  # self-contained
    assert "x·σ(x)" not in page and "max(0, x)" in page


def test_check_passes_then_names_altered_and_missing_files(serial: Path, tmp_path: Path) -> None:
    out = tmp_path / "committed"
    _export(out, formats=("png",), jobs=1)
    args = ["export", *NAMES, "--param", PARAMS[0], "--range", "-6", "6", "--points", "241",
            "--out", str(out), "--jobs", "1"]  # fmt: skip
    ok = runner.invoke(app, [*args, "--check"])
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.endswith(f"{out}: all 6 files are current\n")
    (out / "gelu.png").write_bytes(b"altered")
    (out / "relu.png").unlink()
    bad = runner.invoke(app, [*args, "--check"])
    assert bad.exit_code == 1
    assert bad.stderr == (
        f"Error: {out} is not current: missing {out}/relu.png; stale {out}/gelu.png; "
        "run actviz export\n"
    )
    assert not (out / "relu.png").exists()  # --check writes nothing
    fixed = runner.invoke(app, args, env={"CI": "true"})
    assert fixed.exit_code == 0
    assert f"written   {out}/relu.png\n" in fixed.stdout
    assert f"unchanged {out}/sigmoid.png\n" in fixed.stdout
    assert fixed.stdout.splitlines()[-1].startswith("2 files written, 4 unchanged in ")


def test_a_failing_activation_leaves_no_partial_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = export_module.render

    def flaky(job: Job) -> Rendered:
        if job.name == "relu":
            raise RuntimeFailure("relu failed in torch.float32 on cpu: boom")
        return real(job)

    monkeypatch.setattr(export_module, "render", flaky)
    with pytest.raises(RuntimeFailure) as caught:
        _export(tmp_path, formats=("png", "svg"), jobs=1)
    # Sorted by slug: gelu and leaky_relu were written before relu failed.
    assert str(caught.value) == (
        "export stopped (relu failed in torch.float32 on cpu: boom); files written before it "
        "stopped: gelu.png, gelu.svg, leaky_relu-negative_slope=0.1.png, "
        "leaky_relu-negative_slope=0.1.svg"
    )
    names = sorted(p.name for p in tmp_path.iterdir())
    assert not [n for n in names if n.endswith(".tmp") or n.startswith(".")]
    assert "manifest.json" not in names and "index.html" not in names


@pytest.mark.parametrize(
    ("args", "code", "line"),
    [
        (["--format", "bmp"], 2, "Error: unknown format 'bmp'; choose one of png, svg, pdf"),
        (["--format", ","], 2, "Error: give at least one format, e.g. --format png,svg"),
        (["--jobs", "0"], 2, "Error: --jobs must be at least 1 (got 0)"),
        (["--theme", "sepia"], 2, "Error: unknown theme 'sepia'; choose one of light, dark"),
        (["relu", "--all"], 2, "Error: name activations or give --all, not both"),
        (
            ["--out", "blocker/sub"],
            1,
            "Error: cannot create blocker/sub: Not a directory; "
            "choose a writable folder with --out",
        ),
    ],
)
def test_bad_export_input(
    args: list[str], code: int, line: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "blocker").write_text("a file")
    result = runner.invoke(app, ["export", *args])
    assert (result.exit_code, result.stderr) == (code, line + "\n")
    assert not (tmp_path / "outputs").exists()


def test_library_refuses_nothing_to_export(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="nothing to export"):
        export([], tmp_path)


def test_gallery_prints_peaks_as_stretches_and_zeros_by_kind(tmp_path: Path) -> None:
    export(specs_from_cli(["relu", "tanh", "hardsigmoid", "sigmoid"]), tmp_path, jobs=1)
    page = (tmp_path / "index.html").read_text()
    cards = dict(re.findall(r'<figure id="([^"]+)">(.*?)</figure>', page, flags=re.S))
    # the d2l grid's 4.4e-16 is 0, and relu′(0) = 0: a stretch, open at 0
    assert "<dt>peak |f′|</dt><dd>1 on (0, 7.9]</dd>" in cards["relu"]
    assert "<dt>peak |f′|</dt><dd>1 at x = 0</dd>" in cards["tanh"]
    assert "e-16" not in page and "4.441" not in page
    assert "<dt>f′ = 0 by definition</dt><dd>x ≤ -3, x ≥ 3</dd>" in cards["hardsigmoid"]
    assert "<dt>float32 rounds f′ to 0 beyond |x|</dt><dd>— / —</dd>" in cards["hardsigmoid"]
    assert "by definition" not in cards["sigmoid"]
    assert "<dt>float32 rounds f′ to 0 beyond |x|</dt><dd>88.72 / 16.64</dd>" in cards["sigmoid"]
    manifest = json.loads((tmp_path / "manifest.json").read_text())["files"]
    assert manifest["hardsigmoid.png"]["saturation"]["grad_zero_kind"]["float32"] == [
        "definition",
        "definition",
    ]
