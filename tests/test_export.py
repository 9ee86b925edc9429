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
from actviz.environment import environment
from actviz.errors import RuntimeFailure, UsageError
from actviz.export import Job, Rendered, export, source_hash
from actviz.export import folder as export_folder
from actviz.export import pool as export_pool
from actviz.params import specs_from_cli
from actviz.probing import Grid
from tests.cli.helpers import ClickError, check_error

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


@pytest.mark.slow
def test_parallel_equals_serial(serial: Path, tmp_path: Path) -> None:
    _export(tmp_path, formats=("png", "svg", "pdf"), jobs=2)
    assert _contents(tmp_path) == _contents(serial)


def test_manifest_hashes_and_versions(serial: Path) -> None:
    text = (serial / "manifest.json").read_text()
    data = json.loads(text)
    assert text == json.dumps(data, sort_keys=True, indent=2) + "\n"  # sorted, stable
    assert set(data["versions"]) == {"actviz", "matplotlib", "source", "torch"}
    assert data["versions"]["source"] == source_hash() and len(source_hash()) == 16
    files = data["files"]
    assert len(files) == 12
    for name, entry in files.items():
        assert entry["sha256"] == hashlib.sha256((serial / name).read_bytes()).hexdigest()
    lr = files["leaky_relu-negative_slope=0.1.png"]
    assert lr["activation"] == "leaky_relu" and lr["params"] == {"negative_slope": 0.1}
    assert lr["range"] == [-6, 6] and lr["points"] == 241 and lr["format"] == "png"
    assert lr["dpi"] == 150 and lr["dtype"] == "float32"
    assert all(e["environment"] == environment().record() for e in files.values())
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


def _fail_on_relu(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make relu's render fail as torch would; the other activations render as usual."""
    real = export_pool.render

    def flaky(job: Job) -> Rendered:
        if job.name == "relu":
            raise RuntimeFailure("relu failed in torch.float32 on cpu: boom")
        return real(job)

    monkeypatch.setattr(export_pool, "render", flaky)


def test_a_failing_activation_leaves_no_partial_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fail_on_relu(monkeypatch)
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
        (
            ["--theme", "sepia"],
            2,
            ClickError("'--theme'", "sepia", "light", "dark"),
        ),
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
    args: list[str],
    code: int,
    line: str | ClickError,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "blocker").write_text("a file")
    check_error(["export", *args], code, line)
    assert not (tmp_path / "outputs").exists()


def test_library_refuses_nothing_to_export(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="nothing to export"):
        export([], tmp_path)


def test_gallery_prints_peaks_as_stretches_and_zeros_by_kind(tmp_path: Path) -> None:
    export(specs_from_cli(["relu", "tanh", "hardsigmoid", "sigmoid"]), tmp_path, jobs=1)
    page = (tmp_path / "index.html").read_text()
    cards = dict(re.findall(r'<figure id="([^"]+)">(.*?)</figure>', page, flags=re.S))
    # the d2l grid's x[80] is exactly 0 and relu′(0) = 0: a stretch from the next sample
    assert "<dt>peak |f′|</dt><dd>1 on (0, 7.9]</dd>" in cards["relu"]
    assert "<dt>peak |f′|</dt><dd>1 at x = 0</dd>" in cards["tanh"]
    assert "e-16" not in page and "4.441" not in page
    assert "<dt>f′ = 0 by definition</dt><dd>x ≤ -3, x ≥ 3</dd>" in cards["hardsigmoid"]
    assert (
        "<dt>float32 rounds f′ to 0 beyond |x| (left / right)</dt><dd>— / —</dd>"
        in cards["hardsigmoid"]
    )
    assert "by definition" not in cards["sigmoid"]
    assert (
        "<dt>float32 rounds f′ to 0 beyond |x| (left / right)</dt><dd>88.72 / 16.64</dd>"
        in cards["sigmoid"]
    )
    manifest = json.loads((tmp_path / "manifest.json").read_text())["files"]
    assert manifest["hardsigmoid.png"]["saturation"]["grad_zero_kind"]["float32"] == [
        "definition",
        "definition",
    ]


def _manifest(out: Path) -> dict[str, Any]:
    files: dict[str, Any] = json.loads((out / "manifest.json").read_text())["files"]
    return files


def _assert_manifest_describes_disk(out: Path) -> None:
    """Every image on disk has an entry, every entry's sha256 is the file's, the gallery agrees."""
    files = _manifest(out)
    images = {p.name for p in out.iterdir() if p.suffix in (".png", ".svg", ".pdf")}
    assert set(files) == images
    for name, entry in files.items():
        assert entry["sha256"] == hashlib.sha256((out / name).read_bytes()).hexdigest(), name
    page = (out / "index.html").read_text()
    assert set(re.findall(r'<a href="([^"]+)"', page)) == images
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []


def test_subset_export_updates_its_entries_and_keeps_the_rest(tmp_path: Path) -> None:
    _export(tmp_path, formats=("png",), dpi=50, jobs=1)
    before = _manifest(tmp_path)
    args = ["export", "relu", "--range", "-6", "6", "--points", "241", "--dpi", "60",
            "--out", str(tmp_path), "--jobs", "1"]  # fmt: skip
    result = runner.invoke(app, args, env={"CI": "true"})
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[:3] == [
        f"written   {tmp_path}/relu.png",
        f"written   {tmp_path}/manifest.json",
        f"unchanged {tmp_path}/index.html",  # the cards do not show the dpi
    ]
    after = _manifest(tmp_path)
    assert sorted(after) == sorted(before) and len(after) == 4
    assert after["relu.png"]["dpi"] == 60 and after["relu.png"] != before["relu.png"]
    assert {k: v for k, v in after.items() if k != "relu.png"} == {
        k: v for k, v in before.items() if k != "relu.png"
    }
    assert after["gelu.png"]["label"] == "gelu" and after["relu.png"]["formula"] == "max(0, x)"
    _assert_manifest_describes_disk(tmp_path)
    page = (tmp_path / "index.html").read_text()
    assert len(re.findall(r"<figure ", page)) == 4 and "<title>actviz: 4 activations" in page


def test_prune_removes_what_was_not_asked_for(tmp_path: Path) -> None:
    _export(tmp_path, formats=("png", "svg"), dpi=50, jobs=1)
    (tmp_path / "notes.txt").write_text("not an image: kept")
    args = ["export", "relu", "--range", "-6", "6", "--points", "241", "--dpi", "50",
            "--format", "png", "--out", str(tmp_path), "--jobs", "1"]  # fmt: skip
    check = runner.invoke(app, [*args, "--check", "--prune"])
    assert check.exit_code == 1
    extra = [f"extra {tmp_path}/{n}" for n in ("gelu.png", "gelu.svg",
             "leaky_relu-negative_slope=0.1.png", "leaky_relu-negative_slope=0.1.svg",
             "relu.svg", "sigmoid.png", "sigmoid.svg")]  # fmt: skip
    assert check.stderr == (
        f"Error: {tmp_path} is not current: stale {tmp_path}/manifest.json; stale "
        f"{tmp_path}/index.html; {'; '.join(extra)}; run actviz export --prune\n"
    )
    result = runner.invoke(app, [*args, "--prune"], env={"CI": "true"})
    assert result.exit_code == 0, result.output
    assert [line for line in result.stdout.splitlines() if line.startswith("removed")] == [
        e.replace("extra", "removed  ", 1) for e in extra
    ]
    assert result.stdout.splitlines()[-1].startswith("2 files written, 1 unchanged, 7 removed in")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "index.html", "manifest.json", "notes.txt", "relu.png"
    ]  # fmt: skip
    assert list(_manifest(tmp_path)) == ["relu.png"]
    _assert_manifest_describes_disk(tmp_path)
    assert runner.invoke(app, [*args, "--check", "--prune"]).exit_code == 0


def test_kept_entries_must_still_match_their_files(tmp_path: Path) -> None:
    _export(tmp_path, formats=("png",), dpi=50, jobs=1)
    (tmp_path / "gelu.png").write_bytes(b"edited by hand")
    (tmp_path / "sigmoid.png").unlink()
    export(specs_from_cli(["relu"]), tmp_path, grid=GRID, dpi=50, jobs=1)
    assert sorted(_manifest(tmp_path)) == ["leaky_relu-negative_slope=0.1.png", "relu.png"]


def test_a_failed_reexport_leaves_a_manifest_that_describes_the_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _export(tmp_path, formats=("png", "svg"), dpi=50, jobs=1)
    _fail_on_relu(monkeypatch)
    with pytest.raises(RuntimeFailure, match="files written before it stopped: gelu.png, "):
        _export(tmp_path, formats=("png", "svg"), dpi=60, jobs=1)
    files = _manifest(tmp_path)
    assert files["gelu.png"]["dpi"] == 60 and files["relu.png"]["dpi"] == 50
    _assert_manifest_describes_disk(tmp_path)


def test_a_failed_export_leaves_no_folder_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(job: Job) -> Rendered:
        raise RuntimeFailure(f"{job.name} failed in torch.float32 on cpu: boom")

    monkeypatch.setattr(export_pool, "render", failing)
    with pytest.raises(RuntimeFailure, match="files written before it stopped: none"):
        _export(tmp_path / "new" / "sub", jobs=1)
    assert list(tmp_path.iterdir()) == []


def test_a_locked_folder_is_refused_with_one_line(tmp_path: Path) -> None:
    import fcntl

    out = tmp_path / "out"
    out.mkdir()
    with (out / ".actviz.lock").open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # another export is writing here
        result = runner.invoke(app, ["export", "relu", "--out", str(out)])
        assert (result.exit_code, result.stderr) == (
            1,
            f"Error: another actviz export is writing to {out}; wait for it to finish or "
            "choose another --out\n",
        )
        assert sorted(p.name for p in out.iterdir()) == [".actviz.lock"]
    export(specs_from_cli(["relu"]), out, grid=GRID, dpi=50, jobs=1)  # released: fine
    assert sorted(p.name for p in out.iterdir()) == ["index.html", "manifest.json", "relu.png"]


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_a_folder_that_refuses_files_is_not_called_locked() -> None:
    """filelock retries a lock file it cannot create until its timeout: /proc (where
    root may write, but no file can be made) read "another actviz export is writing"."""
    result = runner.invoke(app, ["export", "relu", "--out", "/proc"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: cannot write to /proc: ")
    assert "another actviz export" not in result.stderr


def test_jobs_are_capped_at_the_usable_cores(tmp_path: Path) -> None:
    cores = export_module.usable_cores()
    report = export(specs_from_cli(["relu"]), tmp_path, grid=GRID, dpi=50, jobs=cores + 62)
    assert report.jobs == cores
    args = ["export", "relu", "--range", "-6", "6", "--points", "241", "--dpi", "50"]
    result = runner.invoke(app, [*args, "--out", str(tmp_path), "--jobs", str(cores + 62)])
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        f"note: --jobs {cores + 62} is more than the {cores} usable cores; using {cores}\n"
    )
    assert export_module.default_jobs() == cores


def test_the_pool_forks_only_while_torch_is_not_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    def method() -> str:
        pool, _ = export_pool._pool(2, 2, export_pool.can_fork())
        pool.shutdown()
        assert pool._mp_context is not None
        return pool._mp_context.get_start_method()

    assert method() == "spawn"  # torch is imported here, as in a notebook
    monkeypatch.delitem(sys.modules, "torch")
    assert method() == "fork"


@pytest.mark.slow
def test_forked_workers_draw_what_one_process_draws(tmp_path: Path) -> None:
    """From the command line (torch not imported before the export) drawing workers are
    forked before the parent imports torch, and draw what the parent computed: the
    same bytes as one process, figure by figure (each worker draws into its own
    kept Figure)."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
    }
    names = ["relu", "hardswish", "glu", "threshold", "sigmoid", "gelu", "hardshrink"]
    for jobs in ("1", "2"):
        done = subprocess.run(
            [sys.executable, "-m", "actviz", "export", *names, "--dpi", "60", "--jobs", jobs,
             "--out", str(tmp_path / jobs)],
            env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    assert _contents(tmp_path / "2") == _contents(tmp_path / "1")
    assert len(_contents(tmp_path / "1")) == len(names) + 2


# What a drawing worker does with a job the parent computed: in a process that has
# not imported torch, and must not (the point of forking it before torch).
_DRAW_ONLY = """\
import pickle, sys
from actviz.export import pool
job, figure = pickle.load(sys.stdin.buffer)
files = pool._draw_figure(job, figure)
sys.stdout.buffer.write(pickle.dumps((files, {"torch", "matplotlib.pyplot"} & set(sys.modules))))
"""


def _checkout_env() -> dict[str, str]:
    """The environment, with this checkout's actviz first on the path."""
    import os

    root = str(Path(__file__).resolve().parent.parent)
    return {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}


def _drawn_elsewhere(job: Job, figure: tuple[Any, ...]) -> tuple[dict[str, bytes], set[str]]:
    """(files, which of torch and pyplot were imported) of ``figure`` drawn in a fresh
    interpreter (pyplot: matplotlib imports it to resolve its backend once anything
    reads ``rcParams["backend"]``; a drawing worker has no use for it)."""
    import pickle
    import subprocess
    import sys

    env = _checkout_env()
    done = subprocess.run([sys.executable, "-c", _DRAW_ONLY], input=pickle.dumps((job, figure)),
                          env=env, capture_output=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    files, imported = pickle.loads(done.stdout)
    return files, imported


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "params", "sweep"),
    [
        ("hardshrink", {}, ()),  # f jumps at ±0.5
        ("relu", {}, ()),  # f′ jumps at 0
        ("glu", {}, ()),  # heatmaps of a plane
        ("leaky_relu", {}, (("negative_slope", (0.01, 0.3)),)),  # a sweep: two curves
        ("threshold", {"threshold": 0.5, "value": -1.0}, ()),  # f jumps at 0.5
    ],
)
def test_a_computed_job_is_drawn_without_torch(
    name: str, params: dict[str, Any], sweep: tuple[Any, ...]
) -> None:
    """What the parent computes for a job (its probes carry their jumps and sampled
    kinks) is drawn by a process without torch, to the bytes one process draws."""
    from actviz.registry import two_input

    pair = two_input(name)
    grid = export_module._grid_for(pair, None) if pair is not None else GRID
    job = Job(name, params, ("png",), 40, "light", grid, 0.01, sweep=sweep)
    computed = export_pool._compute(job)
    files, imported = _drawn_elsewhere(job, computed.figure)
    assert imported == set()
    assert files == export_pool.render(job).files


@pytest.mark.slow
def test_a_probe_without_its_jumps_would_need_torch_to_draw() -> None:
    """The check above can fail: a probe that arrives without what drawing it
    evaluates makes the drawing process import torch."""
    import dataclasses

    job = Job("hardshrink", {}, ("png",), 40, "light", GRID, 0.01)
    kind, probes, saturations = export_pool._compute(job).figure
    bare = [dataclasses.replace(p) for p in probes]  # a copy starts with nothing found
    files, imported = _drawn_elsewhere(job, (kind, bare, saturations))
    assert "torch" in imported
    assert files == export_pool.render(job).files


@pytest.mark.slow
def test_a_job_that_fails_in_the_parent_stops_the_export_in_its_turn(tmp_path: Path) -> None:
    """With drawing workers the parent computes each job: a failure there ends the
    export after the jobs before it were written, as a failing worker does."""
    import subprocess
    import sys

    env = _checkout_env()
    hook = (
        "from actviz.errors import RuntimeFailure\n"
        "from actviz.export import pool\n"
        "real = pool._compute\n"
        "def compute(job):\n"
        "    if job.name == 'relu':\n"
        "        raise RuntimeFailure('relu failed in torch.float32 on cpu: boom')\n"
        "    return real(job)\n"
        "pool._compute = compute\n"
        "import sys\nfrom actviz.cli import main\nsys.argv[0] = 'actviz'\nmain()\n"
    )
    args = ["export", "gelu", "relu", "tanh", "--dpi", "30", "--jobs", "2", "--out", "o"]
    (tmp_path / "o").mkdir()  # not new: what was written stays, and is named
    done = subprocess.run([sys.executable, "-c", hook, *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert (done.returncode, done.stderr) == (
        1,
        "Error: export stopped (relu failed in torch.float32 on cpu: boom); files written "
        "before it stopped: gelu.png\n",
    )
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["gelu.png"]


def test_a_worker_of_a_frozen_parent_does_not_count_what_is_frozen() -> None:
    """gc.get_freeze_count() walks every frozen object (30 ms in an export worker):
    a process that froze in _settle, and its forked workers, know it without it."""
    from unittest import mock

    counted = mock.patch("gc.get_freeze_count", side_effect=AssertionError("counted"))
    with mock.patch.object(export_pool, "_frozen", True), counted:
        assert export_pool._settle(compute=False) is False  # nothing frozen again
    with counted, pytest.raises(AssertionError, match="counted"):  # the check can fail
        export_pool._settle(compute=False)


def test_export_takes_the_plot_layout_options(tmp_path: Path) -> None:
    from tests.test_plotting import png_size

    args = ["export", "sigmoid", "--out", str(tmp_path), "--jobs", "1", "--figsize", "8", "3",
            "--xlim", "-4", "4", "--grad-ylim", "0", "0.5", "--dpi", "50"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert png_size(tmp_path / "sigmoid.png") == (400, 150)  # 8 × 3 inches at 50 dpi
    entry = json.loads((tmp_path / "manifest.json").read_text())["files"]["sigmoid.png"]
    assert (entry["figsize"], entry["xlim"], entry["ylim"]) == ([8, 3], [-4, 4], [None, [0, 0.5]])
    bad = runner.invoke(
        app, ["export", "sigmoid", "--out", str(tmp_path / "x"), "--xlim", "4", "-4"]
    )
    assert (bad.exit_code, bad.stderr) == (
        2,
        "Error: --xlim 4 -4: give two finite numbers LOW HIGH with LOW < HIGH\n",
    )
    assert not (tmp_path / "x").exists()


def test_formats_as_text_and_the_planned_file_count(tmp_path: Path) -> None:
    totals: list[int] = []
    delivered: list[tuple[str, str]] = []
    report = export(specs_from_cli(["relu", "tanh"]), tmp_path, grid=Grid(-2, 2, points=21),
                    dpi=20, formats="svg, PNG,svg", jobs=1, on_total=totals.append,
                    on_file=lambda path, status: delivered.append((path.name, status)))  # fmt: skip
    # in the order given, each format once ("PNG" is png)
    names = ["relu.svg", "relu.png", "tanh.svg", "tanh.png", "manifest.json", "index.html"]
    assert totals == [6] and delivered == [(name, "written") for name in names]
    assert report.summary() == f"6 files written, 0 unchanged in {report.seconds:.1f} s"
    assert report.problem() is None
    (tmp_path / "tanh.svg").write_text("changed")
    (tmp_path / "relu.png").unlink()
    again = export(specs_from_cli(["relu", "tanh"]), tmp_path, grid=Grid(-2, 2, points=21),
                   dpi=20, formats=["png", "svg"], jobs=1, check=True)  # fmt: skip
    assert again.problem() == (
        f"{tmp_path} is not current: missing {tmp_path / 'relu.png'}; "
        f"stale {tmp_path / 'tanh.svg'}; run actviz export"
    )


def _full_disk_after(monkeypatch: pytest.MonkeyPatch, files: int) -> list[Path]:
    """Writes succeed for ``files`` files, then fail as a full disk does (ENOSPC while
    the bytes are written); returns the paths written."""
    import errno

    from actviz import atomic

    done: list[Path] = []

    def write_bytes(path: Path, data: bytes, *, follow_links: bool = False) -> Path:
        if len(done) < files:
            done.append(Path(path))
            return atomic.write_bytes_atomically(path, data, follow_links=follow_links)

        def full(handle: Any) -> None:
            handle.write(data[:10])
            raise OSError(errno.ENOSPC, "No space left on device")

        return atomic.write_atomically(path, full, follow_links=follow_links)

    monkeypatch.setattr(export_folder, "write_bytes_atomically", write_bytes)
    return done


def test_a_failed_export_into_a_new_folder_leaves_no_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's promise: the disk fills up at the third image; the two finished
    images go, and the folder this export created (and its new parent) with them:
    one line, exit 1."""
    written = _full_disk_after(monkeypatch, 2)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(
        app, ["export", "relu", "tanh", "sigmoid", "--out", "new/o", "--dpi", "20", "--jobs", "1"]
    )
    assert [p.name for p in written] == ["relu.png", "sigmoid.png"]  # finished, then removed
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: export stopped (cannot write new/o/tanh.png: No space left on device; choose a "
        "writable folder with --out); new/o was new, so it was removed with the files written\n",
    )
    assert list(tmp_path.iterdir()) == []


def test_a_failed_export_into_an_existing_folder_keeps_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a folder this run created is removed: in one that was there (empty, here),
    the finished images stay and are named, and nothing else of the folder is touched."""
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "notes.txt").write_text("mine")
    _full_disk_after(monkeypatch, 2)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(
        app, ["export", "relu", "tanh", "sigmoid", "--out", "o", "--dpi", "20", "--jobs", "1"]
    )
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: export stopped (cannot write o/tanh.png: No space left on device; choose a "
        "writable folder with --out); files written before it stopped: relu.png, sigmoid.png\n",
    )
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == [
        "notes.txt", "relu.png", "sigmoid.png"
    ]  # fmt: skip


class _Reached(Exception):
    """Raised where an export would start drawing."""


@pytest.mark.parametrize(
    ("args", "dpi", "refused"),
    [
        (["--all"], 700, True),
        (["--all"], 600, False),  # 310 million pixels: under the cap
        (["--all", "--figsize", "200", "50"], 100, True),  # 24 figures at one figure's cap
        (["relu", "--figsize", "200", "50"], 100, False),  # one such figure is allowed
        (["relu", "gelu", "tanh", "sigmoid", "--figsize", "200", "50"], 100, False),  # at the cap
        (["relu", "gelu", "tanh", "sigmoid", "silu", "--figsize", "200", "50"], 100, True),
    ],
)
def test_an_export_over_its_pixel_budget_is_refused_before_anything_is_drawn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], dpi: int, refused: bool
) -> None:
    from actviz import registry

    def reached(*_: Any) -> None:
        raise _Reached

    monkeypatch.setattr(export_module, "render_all", reached)
    out = tmp_path / "o"
    result = runner.invoke(app, ["export", *args, "--dpi", str(dpi), "--out", str(out)])
    if not refused:
        assert isinstance(result.exception, _Reached), result.output
        return
    # Counted here from the sizes the README gives: 9.6 × 3.6 inches a figure (or
    # --figsize), GLU's heatmaps 14.4 × 4.6 whatever --figsize says.
    names = registry.all_names() if "--all" in args else [a for a in args if a.isalpha()]
    size = (200 * 50) if "--figsize" in args else 9.6 * 3.6
    total = sum(14.4 * 4.6 if n == "glu" else size for n in names) * dpi**2
    assert (result.exit_code, result.stderr) == (
        2,
        f"Error: this export draws {len(names)} figures of {total:,.0f} pixels in all at "
        f"{dpi} dpi, above the cap of 400,000,000 for one export; use a smaller --dpi or "
        "--figsize, or export fewer activations at a time\n",
    )
    assert not out.exists()  # refused before the folder, its lock or a worker


# The manifest's saturation summary is numbers (issue 23): the gallery words them as it
# draws a card. Enumerated words a number cannot carry are the only strings allowed.
_WORD_FIELDS = {"grad_zero_kind"}  # "underflow" / "definition": why f′ is 0 there


def _prose(summary: Any, where: str = "saturation") -> list[str]:
    """Every leaf of a manifest summary that is text outside :data:`_WORD_FIELDS`."""
    if isinstance(summary, dict):
        return [p for k, v in summary.items() for p in _prose(v, f"{where}.{k}")]
    if isinstance(summary, list):
        return [p for i, v in enumerate(summary) for p in _prose(v, f"{where}[{i}]")]
    if isinstance(summary, str) and not any(f in where for f in _WORD_FIELDS):
        return [where]
    return []


def test_the_manifest_records_numbers_and_the_gallery_words_them(serial: Path) -> None:
    files = json.loads((serial / "manifest.json").read_text())["files"]
    assert [p for entry in files.values() for p in _prose(entry["saturation"])] == []
    # A checker that can fail: the old manifests' prose fields are caught.
    assert _prose({"peak": "peak |f′| = 1 on (0, 7.9]", "zero_by_definition": "x ≤ 0"}) == [
        "saturation.peak",
        "saturation.zero_by_definition",
    ]
    # The gallery words the recorded numbers as `actviz table` words the same analysis
    # (relu's peak of exactly 1 on (0, 6]; relu′ = 0 for x ≤ 0, torch's relu′(0) included).
    relu = files["relu.png"]["saturation"]
    assert relu["peak_grad"] == 1.0 and relu["zero_by_definition"] == [
        {"from": None, "to": 0.0, "from_closed": False, "to_closed": True}
    ]
    page = (serial / "index.html").read_text()
    cards = dict(re.findall(r'<figure id="([^"]+)">(.*?)</figure>', page, flags=re.S))
    assert "<dt>peak |f′|</dt><dd>1 on (0, 6]</dd>" in cards["relu"]
    assert "<dt>f′ = 0 by definition</dt><dd>x ≤ 0</dd>" in cards["relu"]


def test_export_all_at_the_glu_axis_cap_reaches_rendering(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from actviz import export as export_module
    from actviz.params import targets_from_cli
    from actviz.registry import all_names

    class Rendering(Exception):
        pass

    def reached(*_: object, **__: object) -> None:
        raise Rendering

    monkeypatch.setattr(export_module, "render_all", reached)
    with pytest.raises(Rendering):
        export(
            targets_from_cli(all_names(), []), tmp_path / "out", grid=Grid(-8.0, 8.0, points=1000)
        )
