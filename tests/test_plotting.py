"""Figures are checked by their data and their files."""

from __future__ import annotations

import struct
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pytest
from matplotlib.figure import Figure

from actviz import registry
from actviz.atomic import write_atomically
from actviz.errors import OutputError, UnknownFormatError
from actviz.plotting import activation_figure, draw_gradients, draw_values, plot_file
from actviz.probe import Grid, probe, probe_many
from actviz.registry import specs_from_cli


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_plotted_lines_are_the_probe() -> None:
    probes = probe_many(specs_from_cli(["relu", "gelu", "silu"]), Grid())
    drawn = activation_figure(probes)
    assert len(drawn.values) == len(drawn.grads) == 3
    for p, value, grad in zip(probes, drawn.values, drawn.grads, strict=True):
        np.testing.assert_array_equal(value.get_xdata(), p.x)
        np.testing.assert_array_equal(value.get_ydata(), p.y)
        np.testing.assert_array_equal(grad.get_ydata(), p.grad)
        assert value.get_label() == p.label
    legend = drawn.legend  # one figure legend below the panels, none on the axes
    assert legend is not None and legend in drawn.figure.legends
    assert [ax.get_legend() for ax in drawn.figure.axes] == [None, None]
    assert [t.get_text() for t in legend.get_texts()] == ["relu", "gelu", "silu"]
    assert drawn.figure.get_suptitle() == "relu, gelu, silu"


def test_second_derivative_panel_and_title_with_params() -> None:
    (p,) = probe_many(specs_from_cli(["elu"], ["alpha=0.5"]), Grid(), second=True)
    drawn = activation_figure([p], second=True)
    assert len(drawn.figure.axes) == 3
    assert p.grad2 is not None
    np.testing.assert_array_equal(drawn.grad2s[0].get_ydata(), p.grad2)
    assert drawn.figure.get_suptitle() == "elu(alpha=0.5)"


def test_many_curves_get_distinct_colours() -> None:
    probes = [probe(n) for n in registry.names()[:12]]
    drawn = activation_figure(probes)
    colours = {tuple(mpl.colors.to_rgba(line.get_color())) for line in drawn.values}
    assert len(colours) == 12


def test_draw_helpers_use_given_axes_and_leave_rcparams_alone() -> None:
    before = dict(mpl.rcParams)
    fig = Figure()
    ax1, ax2 = fig.subplots(1, 2)
    p = probe("tanh", start=-2, stop=2, points=5)
    (line,) = draw_values(ax1, [p])
    (gline,) = draw_gradients(ax2, [p])
    assert line.axes is ax1 and gline.axes is ax2
    activation_figure([p])
    assert dict(mpl.rcParams) == before


def test_plot_file_writes_png_of_expected_size(tmp_path: Path) -> None:
    path = plot_file([probe("sigmoid")], out_dir=tmp_path)
    assert path == tmp_path / "sigmoid.png"
    assert png_size(path) == (1440, 540)  # 9.6 x 3.6 inches at 150 dpi
    assert list(tmp_path.iterdir()) == [path]  # no temporary files left behind


@pytest.mark.parametrize(("fmt", "magic"), [("svg", b"<?xml"), ("pdf", b"%PDF")])
def test_other_formats(tmp_path: Path, fmt: str, magic: bytes) -> None:
    path = plot_file([probe("tanh")], out=tmp_path / "t", fmt=fmt)
    assert path == tmp_path / f"t.{fmt}"
    assert path.read_bytes().startswith(magic)


def test_format_errors(tmp_path: Path) -> None:
    with pytest.raises(
        UnknownFormatError, match="unknown format 'bmp'; choose one of png, svg, pdf"
    ):
        plot_file([probe("tanh")], out=tmp_path / "t.bmp")
    with pytest.raises(UnknownFormatError, match="does not end in .svg"):
        plot_file([probe("tanh")], out=tmp_path / "t.png", fmt="svg")


def test_overlay_name_and_long_overlays(tmp_path: Path) -> None:
    probes = probe_many(specs_from_cli(["relu", "leaky_relu"], ["negative_slope=0.1"]), Grid())
    assert plot_file(probes, out_dir=tmp_path).name == "relu_vs_leaky_relu-negative_slope=0.1.png"
    many = probe_many(specs_from_cli(registry.names()[:12]), Grid())
    first = "_vs_".join(registry.names()[:3])
    assert plot_file(many, out_dir=tmp_path).name == f"{first}_and_9_more.png"


def test_atomic_write_keeps_old_file_and_no_temp_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")

    def explode(handle: object) -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(OutputError, match=r"cannot write .*a.bin: No space left on device"):
        write_atomically(target, explode)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]


def test_unwritable_destination(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(OutputError, match="cannot write"):
        plot_file([probe("relu")], out=blocker / "relu.png")


def test_saturation_is_drawn_on_the_gradient_panel() -> None:
    from actviz.saturation import analyze

    p = probe("tanh", start=-12, stop=12, points=241)
    s = analyze(p, dtypes=("float32",))
    drawn = activation_figure([p], saturations=[s])
    assert set(drawn.shading) == {"dead", "saturated"}
    dead_x = np.concatenate([path.vertices[:, 0] for path in drawn.shading["dead"].get_paths()])
    # float32 tanh′ is exactly 0 beyond |x| ≈ 9.01: the grey band starts there
    assert dead_x.min() == pytest.approx(-12) and dead_x.max() == pytest.approx(12)
    assert 9.0 < np.abs(dead_x).min() < 9.11  # first dead sample on the 0.1 grid
    (peak,) = drawn.peaks
    assert np.asarray(peak.get_xdata()).tolist() == [s.peak_at]
    assert abs(s.peak_at) < 1e-6  # float32 linspace puts -1.8e-7 where 0 is meant
    assert np.asarray(peak.get_ydata()).tolist() == [s.peak_grad] == [p.grad.max()]
    edges = sorted(float(np.asarray(line.get_xdata())[0]) for line in drawn.underflow_lines)
    u = s.underflow["float32"]
    assert u.grad_left is not None and u.grad_right is not None
    assert edges == [-u.grad_left, u.grad_right]
    assert activation_figure([p], saturations=[s], shade=False).shading == {}


def test_overlays_mark_peaks_but_do_not_shade() -> None:
    from actviz.saturation import analyze

    probes = probe_many(specs_from_cli(["relu", "gelu"]), Grid())
    drawn = activation_figure(probes, saturations=[analyze(p, dtypes=()) for p in probes])
    assert drawn.shading == {} and len(drawn.peaks) == 2 and drawn.underflow_lines == []
    assert [m.get_color() for m in drawn.peaks] == [line.get_color() for line in drawn.grads]
