"""Figure files: file names, FigureOptions, and write_plot's dispatch (curves or glu)."""

from __future__ import annotations

from pathlib import Path

import pytest

from actviz import registry
from actviz.errors import TwoInputActivationError, UnknownFormatError, UsageError
from actviz.figure_files import FigureOptions, output_path, write_plot
from actviz.probing import Grid, ProbeOptions
from tests.test_plotting import png_size


def test_given_names_the_fields_set_in_field_order() -> None:
    assert FigureOptions().given() == []
    assert FigureOptions(out_dir="outputs").given() == []  # the default, spelled as text
    options = FigureOptions(out_dir="figs", shade=False, dpi=72, grad2_ylim=(0, 1))
    assert options.given() == ["out_dir", "dpi", "grad2_ylim", "shade"]


def test_output_path() -> None:
    assert output_path("relu", out=None, out_dir="o", fmt="svg") == (Path("o/relu.svg"), "svg")
    assert output_path("relu", out="x/f", out_dir="o", fmt="pdf") == (Path("x/f.pdf"), "pdf")
    assert output_path("relu", out="x/f.SVG", out_dir="o", fmt=None) == (Path("x/f.SVG"), "svg")
    with pytest.raises(UnknownFormatError, match=r"^output x/f.png does not end in .svg; "):
        output_path("relu", out="x/f.png", out_dir="o", fmt="svg")


RELU, GLU = ["relu"], "glu"


def test_write_plot_draws_curves_and_names_the_file(tmp_path: Path) -> None:
    figure = FigureOptions(out_dir=tmp_path, dpi=50, figsize=(8, 4))
    path = write_plot(["relu", "tanh"], Grid(points=21), figure=figure)
    assert path == tmp_path / "relu_vs_tanh.png"
    assert png_size(path) == (400, 200)
    second = write_plot("tanh", options=ProbeOptions(second=True), figure=figure)
    assert png_size(second) == (400, 200)


def test_write_plot_dispatches_a_lone_glu_to_its_heatmaps(tmp_path: Path) -> None:
    path = write_plot(GLU, Grid(-2, 2, points=11), figure=FigureOptions(out=tmp_path / "g", dpi=20))
    assert path == tmp_path / "g.png"
    assert png_size(path) == (288, 92)  # glu_figure's 14.4 × 4.6 inches, not the curves' size
    pair = registry.two_input("glu")
    assert pair is not None
    assert write_plot(pair, figure=FigureOptions(out=tmp_path / "g.png", dpi=20)) == (
        tmp_path / "g.png"
    )
    with pytest.raises(UsageError, match="^theme, xlim apply to activation plots, not glu"):
        write_plot(GLU, figure=FigureOptions(theme="dark", xlim=(0, 1), shade=False))
    with pytest.raises(TwoInputActivationError, match="^glu takes two inputs"):
        write_plot(["relu", "glu"])  # with others: refused by the registry


def test_write_plot_refuses_before_probing() -> None:
    with pytest.raises(UnknownFormatError, match="^unknown format 'bmp'"):
        write_plot(RELU, figure=FigureOptions(fmt="bmp"))
    with pytest.raises(UsageError, match="^grad2_ylim sets the f″ panel, which only second=True"):
        write_plot(RELU, figure=FigureOptions(grad2_ylim=(0, 1)))


def test_depth_and_phase_stems_stay_inside_file_name_limits() -> None:
    from actviz.figure_files import _prefixed_stem

    assert _prefixed_stem("depth", ["tanh", "relu"]) == "depth-tanh_relu"
    slugs = [f"leaky_relu-negative_slope={i / 100:g}" for i in range(10)]
    assert _prefixed_stem("phase", slugs) == "phase-leaky_relu-negative_slope=0_and_9_more"


@pytest.mark.skipif(not Path("/dev/null").exists(), reason="needs /dev/null")
@pytest.mark.parametrize(
    ("flag", "value", "told"),
    [("--out-dir", "/dev/null", "--out-dir"), ("--out", "/dev/null/x.png", "create it first")],
)
def test_an_unwritable_place_names_the_option_that_chose_it(
    flag: str, value: str, told: str
) -> None:
    """A name actviz chose under --out-dir tells you to change --out-dir, not --out
    (which you did not give); an outsider was told to change --out."""
    from typer.testing import CliRunner

    from actviz.cli import app

    result = CliRunner().invoke(app, ["plot", "relu", "--points", "5", flag, value])
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert result.stderr.rstrip().endswith(told), result.stderr
