"""Figures are checked by their data and their files."""

from __future__ import annotations

import itertools
import math
import re
import struct
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from actviz import registry
from actviz.atomic import write_atomically
from actviz.display import number
from actviz.errors import OutputError, UnknownFormatError, UsageError
from actviz.figure_files import plot_file
from actviz.params import specs_from_cli
from actviz.plotting import (
    Drawn,
    activation_figure,
    draw_gradients,
    draw_values,
    figure_bytes,
    regime_colour_names,
    save_figure,
)
from actviz.probing import Grid, ProbeOptions, probe, probe_many
from tests.cli.helpers import ClickError, check_error
from tests.test_figure_geometry import problems


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
    (p,) = probe_many(specs_from_cli(["elu"], ["alpha=0.5"]), Grid(), ProbeOptions(second=True))
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
    # float32 rounds tanh′ (1e-8 at 9.01) to 0: dead by rounding, hatched
    rounding = "dead: float32 rounds f′ to 0"
    assert set(drawn.shading) == {rounding, "saturated"}
    dead_x = np.concatenate([path.vertices[:, 0] for path in drawn.shading[rounding].get_paths()])
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


def test_zero_by_definition_draws_no_underflow_line_and_peaks_read_as_stretches() -> None:
    from actviz.saturation import analyze

    p = probe("hardsigmoid")
    drawn = activation_figure([p], saturations=[analyze(p)])
    assert drawn.underflow_lines == []  # f′ = 0 beyond ±3 is hardsigmoid itself
    (peak,) = drawn.peaks
    assert peak.get_label() == "peak |f′| = 0.1667 on (-3, 3)"  # torch: 0 at ±3, 1/6 between
    relu = probe("relu")
    (marker,) = activation_figure([relu], saturations=[analyze(relu)]).peaks
    assert marker.get_label() == "peak |f′| = 1 on (0, 7.9]"
    sigmoid = probe("sigmoid", start=-20, stop=20, points=401)
    lines = activation_figure([sigmoid], saturations=[analyze(sigmoid)]).underflow_lines
    assert [line.get_label() for line in lines] == ["float32 f′ underflows to 0 beyond |x| = 16.64"]


# The examples of issue 8, each with its expected outcome.


def _drawn(names: list[str], grid: Grid | None = None, **options: Any) -> Drawn:
    from actviz.saturation import analyze

    probes = probe_many(specs_from_cli(names), grid or Grid())
    saturations = [analyze(p, dtypes=("float32",)) for p in probes]
    return activation_figure(probes, saturations=saturations, **options)


def _legend_texts(drawn: Drawn) -> list[str]:
    assert drawn.legend is not None
    return [t.get_text() for t in drawn.legend.get_texts()]


@pytest.mark.parametrize("count", [5, 10])
def test_overlay_legend_keeps_every_curve_below_the_panels(count: int) -> None:
    names = ["relu", "leaky_relu", "elu", "gelu", "sigmoid", "tanh", "silu", "mish", "selu",
             "celu"][:count]  # fmt: skip
    drawn = _drawn(names)
    assert _legend_texts(drawn) == [*names, "peak |f′| of each curve"]
    assert len(drawn.peaks) == count  # every marker stays, one legend entry for them all
    assert problems(drawn) == []  # inside the figure, on no panel, overlapping nothing
    legend_top = drawn.legend.get_window_extent().y1 if drawn.legend else None
    assert legend_top is not None
    assert all(legend_top < ax.get_window_extent().y0 for ax in drawn.figure.axes)


def test_hardsigmoid_peak_label_is_inside_the_figure() -> None:
    drawn = _drawn(["hardsigmoid"])
    (peak,) = drawn.peaks
    label = str(peak.get_label())
    assert label == "peak |f′| = 0.1667 on (-3, 3)"
    assert label in _legend_texts(drawn)
    assert problems(drawn) == []


def test_gelu_far_left_shows_the_range_without_offset_text() -> None:
    drawn = _drawn(["gelu"], Grid(-10, -5))
    assert problems(drawn) == []
    for ax in drawn.figure.axes:
        assert ax.get_xlim() == pytest.approx((-10.0, -5.1))  # arange stops before -5
        assert ax.xaxis.get_offset_text().get_text() == ""
        assert ax.yaxis.get_offset_text().get_text() == ""
    labels = [t.get_text() for t in drawn.figure.axes[1].get_yticklabels()]
    assert "−4e−6" in labels  # the scale is in the labels themselves
    # f′(−5.1) is 4.411e-6 from oneDNN and 4.397e-6 from ATen: plain torch says which
    x = torch.tensor([-5.1] * 64, requires_grad=True)
    torch.nn.functional.gelu(x).backward(torch.ones_like(x))  # type: ignore[no-untyped-call]
    assert x.grad is not None
    peak = number(abs(float(x.grad[0])), "float32")
    assert f"peak |f′| = {peak} at x = -5.1" in _legend_texts(drawn)


def test_three_point_relu_shows_samples_not_a_ramp() -> None:
    drawn = _drawn(["relu"], Grid(-1, 1, points=3))
    (grad,) = drawn.grads
    assert grad.get_linestyle() == "None" and grad.get_marker() == "o"
    np.testing.assert_array_equal(grad.get_xdata(), [-1, 0, 1])
    np.testing.assert_array_equal(grad.get_ydata(), [0, 0, 1])
    (join,) = drawn.joins  # no segment touches the kink at 0: nothing joins 0 to 1
    np.testing.assert_array_equal(join.get_xdata(), [-1, np.nan, 0, np.nan, 1])
    (value,) = drawn.values  # f itself is joined, with its samples marked
    assert value.get_marker() == "o" and value.get_linestyle() == "-"
    assert drawn.figure.axes[0].get_xlim() == (-1.0, 1.0)
    assert problems(drawn) == []  # the tick labels no longer run into each other


def test_sparse_grid_joins_derivative_samples_away_from_kinks() -> None:
    drawn = _drawn(["relu6"], Grid(-2, 8, points=6))  # kinks 0 and 6 are added as samples
    (join,) = drawn.joins
    x = np.asarray(join.get_xdata(), dtype=float)
    segments = [(a, b) for a, b in itertools.pairwise(x) if np.isfinite(a + b)]
    assert segments == [(2, 4)]  # x = -2, 0, 2, 4, 6, 8: every other interval touches 0 or 6
    dense = _drawn(["relu6"], Grid(-2, 8, points=50))
    # Many samples: joined, but broken where f′ jumps (0 → 1 at 0, 1 → 0 at 6)
    (broken,) = dense.joins
    assert dense.grads[0].get_linestyle() == "None"  # the samples, the line is the join
    x = np.asarray(broken.get_xdata(), dtype=float)
    assert [float(v) for v in x[np.flatnonzero(np.isnan(x)) - 1]] == [0.0, 6.0]


def test_x_axis_is_the_probed_range_not_stretched_to_zero() -> None:
    drawn = _drawn(["sigmoid"], Grid(2, 6, points=81))
    for ax in drawn.figure.axes:
        assert ax.get_xlim() == (2.0, 6.0)
    # No y = 0 line pulling the value axis down to 0 either: sigmoid(2) = 0.88.
    assert drawn.figure.axes[0].get_ylim()[0] > 0.85


def test_limits_and_figsize() -> None:
    drawn = _drawn(["gelu"], figsize=(8.0, 5.0), xlim=(-3, 3), ylim=[(-1, 4), (-0.2, 1.2)])
    assert tuple(drawn.figure.get_size_inches()) == (8.0, 5.0)
    assert [ax.get_xlim() for ax in drawn.figure.axes] == [(-3, 3), (-3, 3)]
    assert [ax.get_ylim() for ax in drawn.figure.axes] == [(-1, 4), (-0.2, 1.2)]
    auto = _drawn(["gelu"], ylim=[None, (0, 2)])
    assert auto.figure.axes[1].get_ylim() == (0, 2) and auto.figure.axes[0].get_ylim()[0] < 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"xlim": (2, 1)}, "xlim=(2, 1): give two finite numbers LOW HIGH with LOW < HIGH"),
        ({"ylim": [None, (0, math.inf)]}, "grad_ylim=(0, inf): give two finite numbers"),
        ({"ylim": [None, None, None]}, "3 y limits given for 2 panels; give one per panel"),
        ({"figsize": (3, 3)}, "figsize=(3, 3) leaves no room for the panels next to their "),
    ],
)
def test_limit_errors(options: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        _drawn(["relu"], **options)


def test_dark_theme_shading_is_clearly_visible() -> None:
    from matplotlib.colors import to_rgb

    def luminance(rgb: tuple[float, float, float]) -> float:
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    def contrast(theme: str) -> dict[str, float]:
        # relu: dead and linear; tanh: saturated
        drawn = _drawn(["relu"], Grid(-8, 8, points=321), theme=theme)
        shaded = dict(drawn.shading)
        shaded.update(_drawn(["tanh"], Grid(-8, 8, points=321), theme=theme).shading)
        background = to_rgb(drawn.figure.axes[1].get_facecolor())
        ratios = {}
        for regime, shading in shaded.items():
            *rgb, alpha = shading.get_facecolor()[0]
            blended = tuple(
                alpha * c + (1 - alpha) * b for c, b in zip(rgb, background, strict=True)
            )
            lo, hi = sorted([luminance(blended), luminance(background)])
            ratios[regime] = (hi + 0.05) / (lo + 0.05)
        return ratios

    dark = contrast("dark")
    assert set(dark) == {"dead", "saturated", "linear"}
    # The light theme's fills on black came to 1.3 (dead) and 1.5 (linear).
    assert min(dark.values()) >= 1.8, dark
    assert regime_colour_names("dark") == "dead (grey), saturated (amber) and linear (blue)"
    assert regime_colour_names() == "dead (grey), saturated (amber) and linear (light blue)"


def test_gallery_follows_the_theme(tmp_path: Path) -> None:
    from actviz.export import export

    export(specs_from_cli(["tanh"]), tmp_path, theme="dark", jobs=1)
    page = (tmp_path / "index.html").read_text()
    assert '<meta name="color-scheme" content="dark">' in page
    assert "background: #111; color: #e8e8e8;" in page
    assert "dead (grey), saturated (amber) and linear (blue) stretches shaded" in page
    export(specs_from_cli(["tanh"]), tmp_path / "light", jobs=1)
    page = (tmp_path / "light" / "index.html").read_text()
    assert "background: #fafafa; color: #222;" in page
    assert "dead (grey), saturated (amber) and linear (light blue) stretches shaded" in page


def test_save_figure_takes_a_drawn_or_a_figure(tmp_path: Path) -> None:
    drawn = _drawn(["tanh"], theme="dark")
    written = save_figure(drawn, tmp_path / "t.png")
    assert written.read_bytes() == figure_bytes(drawn.figure, "png", theme="dark")
    assert save_figure(drawn.figure, tmp_path / "f.svg").read_bytes().startswith(b"<?xml")


def test_the_library_page_s_snippet_runs_verbatim(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = (Path(__file__).parents[1] / "docs" / "library.md").read_text(encoding="utf-8")
    code = page.split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {}
    exec(compile(code, "docs/library.md", "exec"), namespace)  # our own page, verbatim
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gelu-plain.svg", "gelu.png"]
    # The repr the README shows is the real one.
    shown = next(line for line in code.splitlines() if line.startswith("p  "))
    assert shown.split("# ", 1)[1] == repr(namespace["p"])


def test_short_reprs() -> None:
    from actviz.saturation import analyze

    p = probe("gelu", start=-4, stop=4, points=401, second=True)
    assert repr(p) == (
        "Probe(name='gelu', params={'approximate': 'none'}, dtype='float32', device='cpu', "
        "points=401, x=[-4, 4], second=True)"
    )
    assert repr(probe("rrelu", train=True, seed=3)).endswith("second=False, train=True, seed=3)")
    s = analyze(p, dtypes=("float32",))
    assert repr(s) == (
        "Saturation(eps=0.01, peak_grad=1.129, peak_at=1.42, f0=0, grad0=0.5, points=401, "
        "fractions={'saturated': 0.123, 'linear': 0.119, 'active': 0.759}, underflow=['float32'])"
    )


def test_cli_plot_theme_figsize_and_limits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from actviz import plotting
    from actviz.cli import app

    drawn: list[Drawn] = []
    original = plotting.activation_figure

    def spy(*args: Any, **kwargs: Any) -> Drawn:
        drawn.append(original(*args, **kwargs))
        return drawn[-1]

    monkeypatch.setattr(plotting, "activation_figure", spy)
    monkeypatch.chdir(tmp_path)
    args = ["plot", "relu", "gelu", "--theme", "dark", "--figsize", "8", "5", "--xlim", "-4", "4",
            "--ylim", "-1", "4", "--grad-ylim", "-0.2", "1.2", "--out", "o.png"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert (result.exit_code, result.stdout) == (0, "wrote o.png\n")
    assert png_size(tmp_path / "o.png") == (1200, 750)
    (d,) = drawn
    assert d.theme == "dark"
    assert [ax.get_xlim() for ax in d.figure.axes] == [(-4, 4), (-4, 4)]
    assert [ax.get_ylim() for ax in d.figure.axes] == [(-1, 4), (-0.2, 1.2)]
    result = CliRunner().invoke(app, ["plot", "relu", "--range", "-1", "1", "--points", "3"])
    assert (result.exit_code, result.stdout) == (0, "wrote outputs/relu.png\n")
    assert drawn[-1].grads[0].get_linestyle() == "None"


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["--xlim", "2", "1"],
            "Error: --xlim 2 1: give two finite numbers LOW HIGH with LOW < HIGH",
        ),
        (
            ["--grad-ylim", "nan", "1"],
            "Error: --grad-ylim nan 1: give two finite numbers LOW HIGH with LOW < HIGH",
        ),
        (
            ["--grad2-ylim", "0", "1"],
            "Error: --grad2-ylim sets the f″ panel, which only --second draws",
        ),
        (
            ["--figsize", "2", "2"],
            "Error: --figsize 2 2 leaves no room for the panels next to their labels and legend; "
            "use at least 4 2.9 (inches)",
        ),
        (
            ["--theme", "sepia"],
            ClickError("'--theme'", "sepia", "light", "dark"),
        ),
    ],
)
def test_cli_plot_option_errors(
    args: list[str], line: str | ClickError, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    check_error(["plot", "relu", *args], 2, line)
    assert list(tmp_path.iterdir()) == []


def test_cli_figsize_too_small_for_the_legend_says_what_fits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from actviz.cli import app

    monkeypatch.chdir(tmp_path)
    names = registry.names()[:11]
    result = CliRunner().invoke(app, ["plot", *names, "--figsize", "4", "2.4"])
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: --figsize 4 2.4 leaves no room for the panels next to "
                                    "their labels and legend; use at least 4 ")  # fmt: skip
    least = result.stderr.split("use at least ")[1].split(" (inches)")[0].split()
    result = CliRunner().invoke(app, ["plot", *names, "--figsize", *least, "--out", "f.png"])
    assert (result.exit_code, result.stdout) == (0, "wrote f.png\n")


def test_cli_glu_refuses_the_activation_plot_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from actviz.cli import app

    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["plot", "glu", "--theme", "dark", "--xlim", "0", "1"])
    assert (result.exit_code, result.stderr) == (
        2,
        "Error: --theme, --xlim apply to activation plots, not glu's heatmaps\n",
    )


def test_dead_by_definition_is_plain_grey_and_dead_by_rounding_is_hatched() -> None:
    from actviz.saturation import analyze

    relu = probe("relu")
    shading = activation_figure([relu], saturations=[analyze(relu)]).shading
    assert set(shading) == {"dead", "linear"} and not shading["dead"].get_hatch()
    # σ′ is 1e-39, not 0, where float32 returns 0 (beyond x = -88.72, on every route)
    sigmoid = probe("sigmoid", start=-100, stop=-80, points=201)
    shading = activation_figure([sigmoid], saturations=[analyze(sigmoid)]).shading
    assert "dead" not in shading
    assert shading["dead: float32 rounds f′ to 0"].get_hatch() == "////"


def test_one_legend_entry_names_both_underflow_lines_and_a_lone_edge_sample_is_shaded() -> None:
    from actviz.saturation import analyze

    p = probe("sigmoid", start=-100, stop=100, points=10)
    drawn = activation_figure([p], saturations=[analyze(p)])
    labels = [line.get_label() for line in drawn.underflow_lines]
    assert labels == ["float32 f′ underflows to 0 beyond x = -88.72 and x = 16.64", "_nolegend_"]
    # x = −100 is the only dead sample on the left: its cell, −100 to −88.9, is shaded
    shade = drawn.shading["dead: float32 rounds f′ to 0"]
    xs = np.concatenate([path.vertices[:, 0] for path in shade.get_paths()])
    assert xs.min() == pytest.approx(-100) and ((xs > -100) & (xs < -80)).any()


def _freed(make: Any) -> bool:
    """Whether the figure ``make()`` returns is freed once nothing refers to it."""
    import gc
    import weakref

    ref = weakref.ref(make())
    gc.collect()
    return ref() is None


@pytest.mark.parametrize("dpi", [150, 100])
def test_an_activation_figure_is_freed_when_dropped(dpi: int) -> None:
    """Export draws every figure in one process: one kept alive by a reference cycle
    the collector cannot see (the relayout closure through subplots' object array,
    or a dictionary value holding its key) grew a 24-figure export at 600 dpi to 1.5 GB."""
    from actviz.saturation import analyze

    (found,) = probe_many(specs_from_cli(["gelu"]), Grid(start=-3, stop=3, points=101))

    def make() -> Figure:
        drawn = activation_figure([found], saturations=[analyze(found)], dpi=150)
        if dpi != 150:
            figure_bytes(drawn.figure, "png", dpi=dpi)  # laid out again at the save dpi
        return drawn.figure

    assert _freed(make)
    # The check can fail: a figure someone still holds is reported as alive.
    kept: list[Figure] = []

    def make_and_keep() -> Figure:
        kept.append(make())
        return kept[0]

    assert not _freed(make_and_keep)
