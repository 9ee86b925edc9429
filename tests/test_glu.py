"""GLU as a function of two inputs: values, partials, heatmaps."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from actviz import errors, params, registry
from actviz import export as export_module
from actviz.cli import app
from actviz.environment import environment
from actviz.errors import TwoInputActivationError
from actviz.glu import glu_figure, probe_glu
from actviz.probing import Grid, probe
from tests.cli.helpers import ClickError, check_error
from tests.test_plotting import png_size

runner = CliRunner()


def test_value_and_partials_against_closed_forms() -> None:
    g = probe_glu(Grid(-4, 4, points=41), dtype="float64")
    b, a = np.meshgrid(g.b, g.a, indexing="ij")
    s = 1 / (1 + np.exp(-b))
    np.testing.assert_allclose(g.value, a * s, atol=1e-12)
    np.testing.assert_allclose(g.grad_a, s, atol=1e-12)
    np.testing.assert_allclose(g.grad_b, a * s * (1 - s), atol=1e-12)


def test_the_diagonal_is_silu() -> None:
    """a = b = x turns GLU into x·σ(x): why a 1-D GLU curve is misleading."""
    g = probe_glu(Grid(-4, 4, points=41), dtype="float64")
    silu = probe("silu", start=-4, stop=4, points=41, dtype="float64", kinks=False)
    np.testing.assert_allclose(np.diag(g.value), silu.y, atol=1e-12)


def test_heatmaps_show_the_probe() -> None:
    g = probe_glu(Grid(-2, 2, points=11))
    fig = glu_figure(g)
    meshes = [ax.collections[0] for ax in fig.axes[:3]]
    for mesh, data in zip(meshes, (g.value, g.grad_a, g.grad_b), strict=True):
        np.testing.assert_allclose(np.asarray(mesh.get_array()).reshape(data.shape), data)


def test_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["plot", "glu", "--range", "-3", "3", "--points", "61"])
    assert result.stdout == "wrote outputs/glu.png\n"
    assert png_size(tmp_path / "outputs" / "glu.png") == (2160, 690)


REFUSAL = (
    "Error: glu takes two inputs, f(a, b) = a·σ(b), not one x; "
    "draw it on its own with 'actviz plot glu'\n"
)


@pytest.mark.parametrize(
    "args",
    [
        ["table", "glu"],
        ["table", "GLU", "--json"],
        ["saturation", "glu"],
        ["saturation", "relu", "glu"],
        ["check", "glu"],
        ["plot", "glu", "relu"],
        ["plot", "relu", "glu"],
        ["plot", "relu", "--param", "glu.dim=1"],
    ],
    ids=" ".join,
)
def test_commands_without_two_inputs_refuse_glu_in_one_line(
    args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, args)
    assert (result.exit_code, result.stderr, result.stdout) == (2, REFUSAL, "")
    assert not (tmp_path / "outputs").exists()


def test_registry_knows_glu_without_making_it_elementwise() -> None:
    assert registry.two_input("GLU") is registry.TWO_INPUT[0]
    assert "glu" not in registry.names() and registry.all_names()[-1] == "glu"
    with pytest.raises(TwoInputActivationError) as caught:
        probe("glu")
    assert f"Error: {caught.value}\n" == REFUSAL
    targets = params.targets_from_cli(["relu", "glu"])
    assert [t.name for t in targets] == ["relu", "glu"] and targets[1] is registry.TWO_INPUT[0]


def test_list_shows_glu(tmp_path: Path) -> None:
    lines = runner.invoke(app, ["list"]).stdout.splitlines()
    assert lines[0] == "24 activations (parameters: --param KEY=VALUE)"
    at = lines.index("glu          f(a, b) = a·σ(b)   (two inputs)")
    assert lines[at + 1].strip() == "∂/∂a = σ(b), ∂/∂b = a·σ(b)·(1 − σ(b))"
    assert lines[at + 2].strip() == "torch.nn.GLU; aliases: GLU"
    (entry,) = [d for d in json.loads(runner.invoke(app, ["list", "--json"]).stdout) if
                d["name"] == "glu"]  # fmt: skip
    assert entry["inputs"] == 2 and entry["module"] == "torch.nn.GLU" and entry["params"] == []


def test_second_partials_against_closed_forms() -> None:
    g = probe_glu(Grid(-4, 4, points=21), dtype="float64", second=True)
    b, a = np.meshgrid(g.b, g.a, indexing="ij")
    s = 1 / (1 + np.exp(-b))
    np.testing.assert_allclose(g.grad_a, s, atol=1e-12)  # first partials from the same pass
    np.testing.assert_allclose(g.grad_b, a * s * (1 - s), atol=1e-12)
    assert g.grad_aa is not None and g.grad_ab is not None and g.grad_bb is not None
    np.testing.assert_array_equal(g.grad_aa, 0.0)
    np.testing.assert_allclose(g.grad_ab, s * (1 - s), atol=1e-12)
    np.testing.assert_allclose(g.grad_bb, a * s * (1 - s) * (1 - 2 * s), atol=1e-12)
    fig = glu_figure(g)
    meshes = [ax.collections[0] for ax in fig.axes if ax.collections and ax.get_title()]
    assert len(meshes) == 6
    for mesh, data in zip(meshes[3:], (g.grad_aa, g.grad_ab, g.grad_bb), strict=True):
        np.testing.assert_allclose(np.asarray(mesh.get_array()).reshape(data.shape), data)
    assert probe_glu(Grid(-4, 4, points=21)).grad_aa is None


def test_plot_glu_second_draws_the_second_partials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["plot", "glu", "--points", "41", "--second"])
    assert (result.exit_code, result.stdout) == (0, "wrote outputs/glu.png\n")
    assert png_size(tmp_path / "outputs" / "glu.png") == (2160, 1380)  # two rows of heatmaps


def test_dtype_is_honoured() -> None:
    half = probe_glu(Grid(-4, 4, points=21), dtype="float16")
    assert half.dtype == "float16"
    np.testing.assert_array_equal(half.value.astype(np.float16).astype(np.float64), half.value)
    exact = probe_glu(Grid(-4, 4, points=21), dtype="float64")
    assert not np.array_equal(half.value, exact.value)
    np.testing.assert_allclose(half.value, exact.value, atol=1e-2)


GLU_ERRORS = [
    (
        ["plot", "glu", "--param", "dim=0"],
        2,
        "Error: glu takes no --param: torch.nn.GLU's only argument, dim, just picks the axis "
        "that holds [a, b]",
    ),
    (
        ["plot", "glu", "--dtype", "junk"],
        2,
        ClickError("'--dtype'", "junk"),
    ),
    (
        ["plot", "glu", "--device", "tpu"],
        2,
        ClickError("'--device'", "tpu"),
    ),
    (
        ["export", "glu", "--param", "dim=1"],
        2,
        "Error: glu takes no --param: torch.nn.GLU's only argument, dim, just picks the axis "
        "that holds [a, b]",
    ),
    (
        ["export", "relu", "glu", "--param", "glu.dim=1"],
        2,
        "Error: glu takes no --param: torch.nn.GLU's only argument, dim, just picks the axis "
        "that holds [a, b]",
    ),
]


@pytest.mark.parametrize(
    ("args", "code", "line"), GLU_ERRORS, ids=[" ".join(e[0]) for e in GLU_ERRORS]
)
def test_plot_glu_validates_like_other_activations(
    args: list[str],
    code: int,
    line: str | ClickError,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    check_error(args, code, line)
    assert not (tmp_path / "outputs").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_plot_glu_on_cuda_without_gpu_is_the_usual_runtime_error() -> None:
    result = runner.invoke(app, ["plot", "glu", "--device", "cuda"])
    assert (result.exit_code, result.stderr) == (
        1,
        f"Error: device 'cuda' was asked for but torch {torch.__version__} sees no CUDA GPU "
        "here; use --device cpu\n",
    )


def test_export_includes_glu_image_manifest_entry_and_card(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["export", "relu", "glu", "--out", str(tmp_path), "--jobs", "1", "--dpi", "40"]
    )
    assert result.exit_code == 0, result.output
    image = (tmp_path / "glu.png").read_bytes()
    assert png_size(tmp_path / "glu.png") == (576, 184)  # the three heatmaps at 40 dpi
    entry = json.loads((tmp_path / "manifest.json").read_text())["files"]["glu.png"]
    assert entry == {
        "activation": "glu",
        "label": "glu",
        "formula": "f(a, b) = a·σ(b)",
        "figsize": None,
        "xlim": None,
        "ylim": [None, None],
        "params": {},
        "range": [-8.0, 8.0],
        "points": 201,  # the (a, b) plane's axis
        "step": None,
        "dtype": "float32",
        "format": "png",
        "dpi": 40,
        "theme": "light",
        "eps": 0.01,
        "sha256": hashlib.sha256(image).hexdigest(),
        "saturation": None,
        "environment": environment().record(),  # the kernel route it was made on
        "versions": export_module.versions(),  # the code that made it
        "code": None,  # a registered activation: actviz's own code
    }
    page = (tmp_path / "index.html").read_text()
    assert '<figure id="glu"><a href="glu.png" title="open the full-size image"><img' in page
    assert "<code>f(a, b) = a·σ(b)</code>" in page
    assert "<dd>∂/∂a = σ(b), ∂/∂b = a·σ(b)·(1 − σ(b))</dd>" in page


def test_export_everything_includes_glu(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    given: list[Any] = []

    def spy(specs: Any, *args: Any, **kwargs: Any) -> export_module.Report:
        given.extend(specs)
        return export_module.Report()

    monkeypatch.setattr(export_module, "export", spy)
    assert runner.invoke(app, ["export", "--out", str(tmp_path)]).exit_code == 0
    assert [t.name for t in given] == registry.all_names()


def test_glu_above_its_axis_cap_is_refused_before_torch_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from actviz import evaluation

    monkeypatch.setattr(evaluation, "torch_dtype", lambda *_: pytest.fail("torch was used"))
    with pytest.raises(errors.InvalidGridError, match=r"^1,001 points per axis make"):
        probe_glu(Grid(-8.0, 8.0, points=1001))
