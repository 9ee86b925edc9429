"""GLU as a function of two inputs: values, partials, heatmaps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from actviz.cli import app
from actviz.glu import glu_figure, probe_glu
from actviz.probe import Grid, probe
from tests.test_plotting import png_size

runner = CliRunner()


def test_value_and_partials_against_closed_forms() -> None:
    g = probe_glu(Grid(-4, 4, points=41))
    b, a = np.meshgrid(g.b, g.a, indexing="ij")
    s = 1 / (1 + np.exp(-b))
    np.testing.assert_allclose(g.value, a * s, atol=1e-12)
    np.testing.assert_allclose(g.grad_a, s, atol=1e-12)
    np.testing.assert_allclose(g.grad_b, a * s * (1 - s), atol=1e-12)


def test_the_diagonal_is_silu() -> None:
    """a = b = x turns GLU into x·σ(x): why a 1-D GLU curve is misleading."""
    g = probe_glu(Grid(-4, 4, points=41))
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
    mixed = runner.invoke(app, ["plot", "glu", "relu"])
    assert (mixed.exit_code, mixed.stderr) == (
        2,
        "Error: glu takes two inputs and is drawn as heatmaps; plot it on its own\n",
    )
