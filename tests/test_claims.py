"""Every label a checked claim (issue 18): what a figure or table says is held
to an independent float64 evaluation with plain torch, over activations ×
parameters × ranges × point counts, and each check is shown to catch a wrong
answer.

Regions (dead / saturated shading, zero crossings), stretches ("peak on
(0.1, 0.5]"), by-definition zeros, jumps drawn as breaks, coinciding curves,
legends at every dpi, distinct tick labels, y limits in an --xlim window.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actviz import registry
from actviz.defaults import NOTEBOOK_DPI
from actviz.display import definition_words, peak_words
from actviz.plotting import (
    Drawn,
    activation_figure,
    figure_bytes,
    format_ticks,
    shaded_spans,
)
from actviz.probing import Grid, Probe, ProbeOptions, probe, probe_many
from actviz.registry import Spec
from actviz.saturation import COARSE, Saturation, analyze
from actviz.underflow import Interval, zero_by_definition
from tests.test_figure_geometry import problems

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SINGLE = [n for n in registry.names() if registry.two_input(n) is None and n != "rrelu"]

# Parameters worth sweeping (the piecewise ones, whose edges move with them).
PARAMS: dict[str, Callable[[st.DrawFn], dict[str, float]]] = {}


@st.composite
def _params(draw: st.DrawFn, name: str) -> dict[str, float]:
    if name == "threshold":
        return {"threshold": draw(st.sampled_from([-2.0, -0.5, 0.0, 0.1, 1.0, 2.0])),
                "value": draw(st.sampled_from([-1.0, 0.0, 20.0]))}  # fmt: skip
    if name == "hardtanh":
        low = draw(st.sampled_from([-5.0, -2.0, -1.0, 0.5]))
        return {"min_val": low, "max_val": low + draw(st.sampled_from([0.5, 1.0, 3.0]))}
    if name in ("hardshrink", "softshrink"):
        return {"lambd": draw(st.sampled_from([0.0, 0.25, 0.5, 2.0]))}
    if name == "leaky_relu":
        return {"negative_slope": draw(st.sampled_from([0.0, 0.01, -0.5]))}
    return {}


def exact_grad(spec: Spec, x: np.ndarray) -> np.ndarray:
    """f′ by plain torch autograd in float64 on the torch.nn module itself."""
    module = getattr(torch.nn, spec.activation.module)(**dict(spec.params)).double().eval()
    t = torch.tensor(np.asarray(x, dtype=np.float64), requires_grad=True)
    module(t).backward(torch.ones_like(t))
    assert t.grad is not None
    return t.grad.numpy()


def exact_value(spec: Spec, x: np.ndarray) -> np.ndarray:
    module = getattr(torch.nn, spec.activation.module)(**dict(spec.params)).double().eval()
    with torch.no_grad():
        return module(torch.tensor(np.asarray(x, dtype=np.float64))).numpy()


# --- where f′ is 0 by definition ---------------------------------------------


def check_definition(spec: Spec, intervals: Sequence[Interval]) -> list[str]:
    """Against plain torch in float64: f′ = 0 at every point of the intervals
    (ends included as closed) and nowhere else on [-12, 12] plus the ends,
    except where f′ only passes through 0 (hardswish′(-1.5)): zero at x but
    not a millionth either side, and x no kink. (Further out float64 itself
    rounds tanh′ to 0 from |x| = 19.1.)"""
    ends = [v for i in intervals for v in (i.low, i.high) if math.isfinite(v)]
    kinks = list(spec.activation.kinks(spec.params))
    x = np.unique(np.concatenate([
        np.linspace(-12, 12, 4801),
        np.array(kinks + ends, dtype=np.float64),
        np.array([k + d for k in kinks + ends for d in (-1e-7, 1e-7)], dtype=np.float64),
    ]))  # fmt: skip
    grad = exact_grad(spec, x)
    near = exact_grad(spec, np.concatenate([x - 1e-6, x + 1e-6])).reshape(2, -1)
    crossing = (near != 0).all(axis=0) & ~np.isin(x, kinks)
    found = []
    for xi, gi, passing in zip(x, grad, crossing, strict=True):
        inside = any(float(xi) in i for i in intervals)
        if inside != (gi == 0) and not (gi == 0 and passing):
            found.append(f"x = {xi!r}: f′ = {gi!r} but {'inside' if inside else 'outside'}")
    return found[:5]


@pytest.mark.parametrize(
    ("name", "params", "words"),
    [
        ("threshold", {"threshold": 2, "value": 0}, "x ≤ 2"),
        ("threshold", {}, "x ≤ 0.1"),
        ("hardtanh", {"min_val": -5, "max_val": -2}, "x ≤ -5, x ≥ -2"),
        ("hardtanh", {}, "x ≤ -1, x ≥ 1"),
        ("hardshrink", {}, "-0.5 ≤ x ≤ 0.5"),
        ("softshrink", {"lambd": 2}, "-2 ≤ x ≤ 2"),
        ("relu6", {}, "x ≤ 0, x ≥ 6"),
        ("hardswish", {}, "x ≤ -3"),
        ("gelu", {}, "—"),
    ],
)
def test_by_definition_examples(name: str, params: dict[str, float], words: str) -> None:
    spec = registry.spec(name, params)
    assert definition_words(zero_by_definition(spec)) == words
    assert check_definition(spec, zero_by_definition(spec)) == []


@SETTINGS
@given(data=st.data())
def test_by_definition_matches_plain_torch_for_every_activation(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(SINGLE))
    spec = registry.spec(name, data.draw(_params(name)))
    assert check_definition(spec, zero_by_definition(spec)) == [], spec


def test_the_definition_check_catches_the_old_edges() -> None:
    """The |x|-from-0 edges said x ≤ 0 for threshold 2 and x ≥ 0 for hardtanh(-5, -2)."""
    wrong = [Interval(-math.inf, 0.0, False, True)]
    assert check_definition(registry.spec("threshold", {"threshold": 2, "value": 0}), wrong)
    hard = registry.spec("hardtanh", {"min_val": -5, "max_val": -2})
    assert check_definition(hard, [Interval(-math.inf, -5, False, True),
                                   Interval(0.0, math.inf, True, False)])  # fmt: skip
    assert check_definition(registry.spec("hardshrink"), [])  # the missing middle


def test_table_says_the_by_definition_line_with_parameters() -> None:
    from typer.testing import CliRunner

    from actviz.cli import app

    out = CliRunner().invoke(app, ["table", "threshold", "--param", "threshold=2",
                                   "--param", "value=0"]).stdout  # fmt: skip
    assert "f′ = 0 by definition: x ≤ 2\n" in out
    out = CliRunner().invoke(app, ["table", "hardshrink", "--points", "9"]).stdout
    assert "f′ = 0 by definition: -0.5 ≤ x ≤ 0.5\n" in out


# --- regimes: a zero crossing is not saturation or death ----------------------


def check_regimes(p: Probe, s: Saturation) -> list[str]:
    """Against float64 f′ on a fine grid between each sample's neighbours: a
    dead or saturated sample is never only f′ passing through 0 at speed (both
    sides of its window well above the threshold, with opposite signs), and a
    sample whose whole window is below the threshold (a true flat or tiny
    stretch) is never called active or linear."""
    threshold = s.eps * s.reference_peak
    x = np.asarray(p.x, dtype=np.float64)
    found = []
    for i in range(1, len(x) - 1):
        window = np.linspace(x[i - 1], x[i + 1], 201)
        g = exact_grad(p.spec, window)
        ends_big = abs(g[0]) > 1.5 * threshold and abs(g[-1]) > 1.5 * threshold
        if s.regime[i] in ("dead", "saturated") and ends_big and g[0] * g[-1] < 0:
            found.append(f"x = {x[i]:.6g} called {s.regime[i]} at a crossing of f′")
        tiny = (np.abs(g) < 0.5 * threshold).all() and s.regime[i] in ("active", "linear")
        if tiny and not _inside_a_crossing(p.spec, float(x[i]), threshold):
            found.append(f"x = {x[i]:.6g} called {s.regime[i]} where |f′| ≪ the threshold")
    return found


def _inside_a_crossing(spec: Spec, x: float, threshold: float) -> bool:
    """Whether the stretch of |f′| < threshold around ``x`` (float64, out to ±2)
    has f′ of opposite signs beyond its two ends: f′ passing through 0."""
    left = np.linspace(x, x - 2, 4001)
    right = np.linspace(x, x + 2, 4001)
    gl, gr = exact_grad(spec, left), exact_grad(spec, right)
    out_l, out_r = np.flatnonzero(np.abs(gl) >= threshold), np.flatnonzero(np.abs(gr) >= threshold)
    if not len(out_l) or not len(out_r):
        return False
    return bool(gl[out_l[0]] * gr[out_r[0]] < 0)


@pytest.mark.parametrize(
    ("name", "grid", "at"),
    [
        ("gelu", Grid(-1, -0.5, points=11), -0.75),
        ("hardswish", Grid(), -1.5),
        ("silu", Grid(-2, -0.5, points=16), -1.3),
    ],
)
def test_a_zero_crossing_is_active(name: str, grid: Grid, at: float) -> None:
    (p,) = probe_many([registry.spec(name)], grid, ProbeOptions(dtype="float64"))
    s = analyze(p, dtypes=())
    near = np.abs(p.x - at) <= 0.06
    assert near.any() and set(s.regime[near]) <= {"active"}
    assert check_regimes(p, s) == []


def test_a_swish_like_function_of_yours_has_no_saturated_sliver(
    user_modules: Any,
) -> None:
    user_modules(
        claimacts="import torch\ndef swishish(x):\n    return x * torch.sigmoid(1.5 * x)\n"
    )
    p = probe("claimacts:swishish", start=-2, stop=2, points=401)
    s = analyze(p, dtypes=("float32",))
    assert "saturated" not in set(s.regime)  # its f′ crosses 0 near -1.0, nothing more
    drawn = activation_figure([p], saturations=[s])
    assert "saturated" not in drawn.shading


@SETTINGS
@given(data=st.data())
def test_regimes_hold_against_plain_torch(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(SINGLE))
    spec = registry.spec(name, data.draw(_params(name)))
    start = data.draw(st.sampled_from([-8.0, -3.0, -1.5, -0.9, 0.0]))
    width = data.draw(st.sampled_from([1.0, 2.5, 7.0, 16.0]))
    points = data.draw(st.sampled_from([3, 7, 21, 60, 161]))
    (p,) = probe_many([spec], Grid(start, start + width, points=points),
                      ProbeOptions(dtype="float64", kinks=False))  # fmt: skip
    s = analyze(p, dtypes=())
    assert check_regimes(p, s) == [], (spec, start, width, points)


def test_the_regime_check_catches_a_sliver() -> None:
    (p,) = probe_many([registry.spec("hardswish")], Grid(), ProbeOptions(dtype="float64"))
    s = analyze(p, dtypes=())
    wrong = s.regime.copy()
    wrong[int(np.argmin(np.abs(p.x + 1.5)))] = "dead"  # the old grey sliver at -1.5
    import dataclasses

    assert check_regimes(p, dataclasses.replace(s, regime=wrong))


# --- shading only what the samples show ----------------------------------------


def check_shading(drawn: Drawn, p: Probe, s: Saturation) -> list[str]:
    """Every shaded x is between two consecutive samples of that regime, or within
    a hundredth of the range of a lone sample of it."""
    found = []
    span = float(p.x[-1] - p.x[0])
    for label, collection in drawn.shading.items():
        regime = "dead" if label.startswith("dead") else label
        mask = s.regime == regime
        for path in collection.get_paths():
            xs = path.vertices[:, 0]
            lo, hi = float(xs.min()), float(xs.max())
            inside = np.flatnonzero((p.x >= lo - 1e-12) & (p.x <= hi + 1e-12))
            if len(inside) >= 2:
                ok = mask[inside].all() and lo >= p.x[inside[0]] - 1e-12
                ok = ok and hi <= p.x[inside[-1]] + 1e-12
            else:
                ok = len(inside) == 1 and mask[inside[0]] and hi - lo <= span / 50 + 1e-12
            if not ok:
                found.append(f"{label} shaded on [{lo:.4g}, {hi:.4g}]")
    return found


@pytest.mark.parametrize(
    ("name", "grid", "dead"),
    [("relu", Grid(-1, 1, points=3), (-1.0, 0.0)), ("gelu", Grid(points=3), None)],
)
def test_sparse_grids_shade_only_what_the_samples_show(
    name: str, grid: Grid, dead: tuple[float, float] | None
) -> None:
    (p,) = probe_many([registry.spec(name)], grid)
    s = analyze(p, dtypes=("float32",))
    drawn = activation_figure([p], saturations=[s])
    assert check_shading(drawn, p, s) == []
    if dead is not None:
        xs = np.concatenate([q.vertices[:, 0] for q in drawn.shading["dead"].get_paths()])
        assert (float(xs.min()), float(xs.max())) == dead  # not to 0.5, where relu′ = 1


def test_a_grid_too_coarse_says_so_and_the_claim_holds() -> None:
    (p,) = probe_many([registry.spec("gelu")], Grid(points=3))
    s = analyze(p, dtypes=("float32",))
    # Independently: f′ at the midpoints against the line between the samples.
    mids = (p.x[:-1] + p.x[1:]) / 2
    line = (exact_grad(p.spec, p.x)[:-1] + exact_grad(p.spec, p.x)[1:]) / 2
    off = float(np.max(np.abs(exact_grad(p.spec, mids) - line)) / s.reference_peak)
    assert s.between == pytest.approx(off, rel=1e-9) and off > COARSE and s.coarse
    legend = activation_figure([p], saturations=[s]).legend
    assert legend is not None
    texts = [t.get_text() for t in legend.get_texts()]
    assert any(t.startswith("3 samples do not resolve f′") for t in texts)
    fine = analyze(probe("gelu"), dtypes=())
    assert not fine.coarse


@SETTINGS
@given(data=st.data())
def test_shading_holds_for_any_grid(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(SINGLE))
    spec = registry.spec(name, data.draw(_params(name)))
    start = data.draw(st.sampled_from([-8.0, -3.0, -1.0]))
    points = data.draw(st.sampled_from([2, 3, 5, 12, 49, 120]))
    (p,) = probe_many([spec], Grid(start, start + data.draw(st.sampled_from([2.0, 9.0])),
                                   points=points))  # fmt: skip
    s = analyze(p, dtypes=("float32",))
    drawn = activation_figure([p], saturations=[s])
    assert check_shading(drawn, p, s) == []


def test_the_shading_check_catches_half_cells() -> None:
    """The old shading gave every sample its half-way cell: relu dead out to 0.5."""
    (p,) = probe_many([registry.spec("relu")], Grid(-1, 1, points=3))
    s = analyze(p, dtypes=())
    drawn = activation_figure([p], saturations=[s])
    ax = drawn.figure.axes[1]
    drawn.shading["dead"].remove()
    drawn.shading["dead"] = ax.fill_between([-1, 0.5], 0, 1, transform=ax.get_xaxis_transform())
    assert check_shading(drawn, p, s)
    _, covered = shaded_spans(np.array([0.0, 1.0, 2.0]), np.array([True, False, True]))
    assert covered.tolist().count(False) == 1  # two lone samples, one break between them


# --- stretches ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "grid", "words"),
    [
        ("threshold", Grid(-0.5, 0.5, points=11), "peak |f′| = 1 on (0.1, 0.5]"),
        ("hardshrink", Grid(-1, 1, points=9), "peak |f′| = 1 on [-1, -0.5) and (0.5, 1]"),
        ("relu", Grid(), "peak |f′| = 1 on (0, 7.9]"),
        ("hardtanh", Grid(-2, 2, points=41), "peak |f′| = 1 on (-1, 1)"),
    ],
)
def test_stretches_are_what_the_function_does(name: str, grid: Grid, words: str) -> None:
    (p,) = probe_many([registry.spec(name)], grid)
    s = analyze(p, dtypes=())
    assert peak_words(s) == words
    assert check_stretches(p, s) == []


def check_stretches(p: Probe, s: Saturation) -> list[str]:
    """Every stretch the words name holds |f′| = the peak all along it (float64,
    open ends left out); every point named holds it too."""
    import re

    found = []
    text = peak_words(s)
    for lo_b, lo, hi, hi_b in re.findall(r"([\[(])(-?[\d.e-]+), (-?[\d.e-]+)([\])])", text):
        a, b = float(lo), float(hi)
        x = np.linspace(a, b, 401)[(lo_b == "(") : len(range(401)) - (hi_b == ")")]
        g = np.abs(exact_grad(p.spec, x))
        if not np.allclose(g, s.peak_grad, rtol=1e-6):
            found.append(f"{lo_b}{lo}, {hi}{hi_b}: |f′| from {g.min():.6g} to {g.max():.6g}")
    return found


def test_the_stretch_check_catches_a_stretch_past_the_kink() -> None:
    (p,) = probe_many([registry.spec("threshold")], Grid(-0.5, 0.5, points=11))
    s = analyze(p, dtypes=())
    run = s.peak_runs[0]
    import dataclasses

    wrong = dataclasses.replace(s, peak_runs=(run._replace(before=-0.1, open_before=True),))
    assert check_stretches(p, wrong)


def test_table_rows_are_distinct_at_a_kink() -> None:
    (p,) = probe_many([registry.spec("threshold")], Grid(-0.5, 0.5, points=11))
    assert len(set(p.x.tolist())) == len(p.x)


# --- jumps are breaks --------------------------------------------------------


def check_breaks(drawn: Drawn, panel: int, spec: Spec, kinks: Sequence[float],
                 field: str) -> list[str]:  # fmt: skip
    """No drawn segment of ``panel`` spans a jump of f (``field="y"``) or f′, and the
    line ends at the jump on the limits plain torch gives just either side."""
    found = []
    ax = drawn.figure.axes[panel]
    for k in kinks:
        side = np.array([k - 1e-9 * max(1, abs(k)), k + 1e-9 * max(1, abs(k))])
        limits = exact_value(spec, side) if field == "y" else exact_grad(spec, side)
        if abs(limits[1] - limits[0]) < 1e-6:
            continue
        for line in ax.get_lines():
            if line.get_linestyle() == "None" or line.get_transform() != ax.transData:
                continue  # markers, and the x = 0 / y = 0 references in axes units
            x = np.asarray(line.get_xdata(), dtype=float)
            y = np.asarray(line.get_ydata(), dtype=float)
            for x0, y0, x1, y1 in zip(x, y, x[1:], y[1:], strict=False):
                if not np.isfinite([x0, x1, y0, y1]).all():
                    continue
                k32 = float(np.float32(k))
                across = x0 < k32 < x1 or (x0 == x1 == k32 and y0 != y1)
                if across:
                    found.append(f"segment ({x0:.4g}, {y0:.4g})–({x1:.4g}, {y1:.4g}) over x = {k}")
                if x1 == k32 and x0 < k32 and not math.isclose(y1, limits[0], abs_tol=1e-6):
                    found.append(f"line ends at {y1} left of {k}, torch's limit is {limits[0]}")
                if x0 == k32 and x1 > k32 and not math.isclose(y0, limits[1], abs_tol=1e-6):
                    found.append(f"line starts at {y0} right of {k}, the limit is {limits[1]}")
    return found


@pytest.mark.parametrize(
    ("name", "params", "panel", "field"),
    [
        ("hardshrink", {}, 0, "y"),
        ("threshold", {}, 0, "y"),
        ("threshold", {"threshold": -1.0, "value": 3.0}, 0, "y"),
        ("hardswish", {}, 1, "grad"),
        ("relu", {}, 1, "grad"),
        ("hardtanh", {"min_val": -2.0, "max_val": 1.0}, 1, "grad"),
        ("softshrink", {"lambd": 1.0}, 1, "grad"),
    ],
)
def test_jumps_are_drawn_as_breaks(
    name: str, params: dict[str, float], panel: int, field: str
) -> None:
    spec = registry.spec(name, params)
    for grid in (Grid(), Grid(-4, 4, points=21)):
        (p,) = probe_many([spec], grid)
        drawn = activation_figure([p], saturations=[analyze(p, dtypes=())])
        kinks = spec.activation.kinks(spec.params)
        assert check_breaks(drawn, panel, spec, kinks, field) == [], (name, grid)


def test_the_break_check_catches_a_slope() -> None:
    spec = registry.spec("hardshrink")
    (p,) = probe_many([spec], Grid())
    drawn = activation_figure([p])
    drawn.figure.axes[0].plot(p.x, p.y)  # the old drawing: one line through every sample
    assert check_breaks(drawn, 0, spec, [0.5], "y")


# --- curves nobody can see ------------------------------------------------------


VISIBLE = 20  # pixels at dpi 100: a dotted line over 16 units of x has some 30


def visible_pixels(drawn: Drawn, dpi: int = 100) -> list[int]:
    """For each legend curve, the pixels in its colour in the value panel, rendered."""
    from matplotlib.colors import to_rgb

    fig = drawn.figure
    figure_bytes(drawn, "png", dpi=dpi)  # lays out at this dpi
    fig.canvas.draw()
    rgba = np.asarray(fig.canvas.buffer_rgba())[:, :, :3].astype(float) / 255  # type: ignore[attr-defined]
    box = fig.axes[0].get_window_extent()
    height = rgba.shape[0]
    area = rgba[int(height - box.y1) : int(height - box.y0), int(box.x0) : int(box.x1)]
    counts = []
    for line in drawn.values:
        colour = np.array(to_rgb(line.get_color()))
        counts.append(int((np.abs(area - colour).sum(axis=2) < 0.08).sum()))
    return counts


def test_coinciding_curves_stay_visible() -> None:
    from actviz import params as sweeps

    specs = sweeps.sweeps_from_cli(["hardtanh"], [], ["min_val=-2,-1", "max_val=1,2"])
    probes = probe_many([s for sweep in specs for s in sweep.specs], Grid())
    drawn = activation_figure(probes, saturations=[analyze(p, dtypes=()) for p in probes])
    assert min(visible_pixels(drawn)) >= VISIBLE, visible_pixels(drawn)
    names = ["relu", "relu6", "leaky_relu", "elu", "selu", "celu", "gelu", "silu", "mish",
             "softplus"]  # fmt: skip
    probes = probe_many([registry.spec(n) for n in names], Grid())
    drawn = activation_figure(probes, saturations=[analyze(p, dtypes=()) for p in probes])
    counts = visible_pixels(drawn)
    assert min(counts) >= VISIBLE, dict(zip(names, counts, strict=True))


def test_the_visibility_check_catches_a_hidden_curve(monkeypatch: pytest.MonkeyPatch) -> None:
    from actviz import plotting

    monkeypatch.setattr(plotting, "coincident_styles", lambda probes, fields: ["-"] * len(probes))
    twins: list[dict[str, float]] = [
        {"min_val": -2, "max_val": 1},
        {"min_val": -2, "max_val": 1.0001},
    ]
    probes = probe_many([registry.spec("hardtanh", t) for t in twins], Grid())
    drawn = activation_figure(probes)
    assert min(visible_pixels(drawn)) < VISIBLE


# --- ticks, windows, legends ---------------------------------------------------------


@SETTINGS
@given(
    centre=st.floats(-1e6, 1e6, allow_nan=False),
    width=st.sampled_from([1e-9, 3e-7, 2e-5, 1e-2, 7.0, 1e3]),
    count=st.integers(2, 9),
)
def test_tick_labels_are_distinct(centre: float, width: float, count: int) -> None:
    from matplotlib.ticker import MaxNLocator

    if width < abs(centre) * 1e-13:
        return  # below float64's resolution there is nothing to tell apart
    ticks = [t for t in MaxNLocator(nbins=count).tick_values(centre, centre + width)]
    labels = format_ticks(ticks)
    assert len(set(labels)) == len(set(ticks)), (ticks, labels)


def test_sigmoid_gradient_ticks_on_a_tiny_range_are_distinct() -> None:
    (p,) = probe_many([registry.spec("sigmoid")], Grid(1e-3, 2e-3, points=50))
    drawn = activation_figure([p], saturations=[analyze(p, dtypes=())])
    drawn.figure.canvas.draw()
    ax = drawn.figure.axes[1]
    lo, hi = ax.get_ylim()
    shown = [t.get_text() for t, v in zip(ax.get_yticklabels(), ax.get_yticks(), strict=True)
             if lo <= v <= hi]  # fmt: skip
    assert len(shown) >= 3 and len(set(shown)) == len(shown), shown


def test_y_follows_the_xlim_window() -> None:
    probes = probe_many([registry.spec("gelu"), registry.spec("silu")], Grid())
    drawn = activation_figure(probes, xlim=(-4, 4))
    x = np.linspace(-4, 4, 81)
    top = max(exact_value(registry.spec(n), x).max() for n in ("gelu", "silu"))
    assert drawn.figure.axes[0].get_ylim()[1] == pytest.approx(top + 0.05 * (top - min(
        exact_value(registry.spec(n), x).min() for n in ("gelu", "silu"))), rel=1e-3)  # fmt: skip
    assert drawn.figure.axes[0].get_ylim()[1] < 5  # not 8, as before
    assert activation_figure(probes, xlim=(-4, 4), ylim=[(0, 9)]).figure.axes[0].get_ylim() == (
        0, 9)  # fmt: skip


@pytest.mark.parametrize(
    ("name", "grid"),
    [("tanh", Grid(-10, -5)), ("gelu", Grid()), ("sigmoid", Grid(-100, 100, points=10))],
)
def test_the_issue_figures_fit_at_dpi_100(name: str, grid: Grid) -> None:
    (p,) = probe_many([registry.spec(name)], grid)
    drawn = activation_figure([p], saturations=[analyze(p, dtypes=("float32",))])
    figure_bytes(drawn, "png", dpi=100)
    assert problems(drawn) == []
    if name == "tanh":
        assert drawn.legend is not None
        assert any("at x = -5.1" in t.get_text() for t in drawn.legend.get_texts())


def test_the_notebook_picture_fits_at_its_own_dpi(monkeypatch: pytest.MonkeyPatch) -> None:
    from actviz import plotting

    made: list[Drawn] = []
    original = plotting.activation_figure

    def keep(*args: Any, **kwargs: Any) -> Drawn:
        made.append(original(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(plotting, "activation_figure", keep)
    p = probe("sigmoid", start=-100, stop=100, points=10)
    assert p._repr_png_()[:4] == b"\x89PNG"
    (drawn,) = made
    assert drawn.figure.dpi == NOTEBOOK_DPI and problems(drawn) == []


@pytest.mark.slow
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    dpi=st.integers(72, 300),
    names=st.sampled_from(
        [["tanh"], ["gelu"], ["hardshrink"], ["relu", "gelu", "silu"], SINGLE[:8]]
    ),
    theme=st.sampled_from(["light", "dark"]),
    figsize=st.sampled_from([None, (9.6, 4.0), (12.0, 6.0), (7.0, 5.0)]),
)
def test_nothing_is_cut_at_any_dpi(
    dpi: int, names: list[str], theme: str, figsize: tuple[float, float] | None
) -> None:
    probes = probe_many([registry.spec(n) for n in names], Grid(-10, -5))
    saturations = [analyze(p, dtypes=("float32",)) for p in probes]
    try:
        drawn = activation_figure(probes, saturations=saturations, theme=theme, figsize=figsize)
    except Exception as error:  # a size too small says which size fits
        assert "use at least" in str(error)
        return
    figure_bytes(drawn, "png", dpi=dpi)
    assert drawn.figure.dpi == dpi and problems(drawn) == []


@pytest.mark.slow
def test_the_suggested_figsize_fits_and_a_tenth_less_does_not() -> None:
    """Whatever size was asked for, the same suggestion: it fits, and a tenth of an
    inch less on either side does not."""
    import re

    from actviz.errors import UsageError

    for names, second in [(["relu"], False), (["relu", "gelu", "silu", "mish", "elu"], True)]:
        probes = probe_many([registry.spec(n) for n in names], Grid(), ProbeOptions(second=second))
        s = [analyze(p, dtypes=()) for p in probes]
        suggested = set()
        for small in [(1.0, 1.0), (3.0, 1.0), (4.0, 2.4), (0.1, 0.1), (5.7, 2.7), (12.0, 2.0)]:
            try:
                activation_figure(probes, saturations=s, figsize=small, second=second)
                continue  # it fits
            except UsageError as error:
                found = re.search(r"use at least ([\d.]+) ([\d.]+)", str(error))
                assert found is not None
                suggested.add(tuple(map(float, found.groups())))
        assert len(suggested) == 1, suggested
        ((w, h),) = suggested
        activation_figure(probes, saturations=s, figsize=(w, h), second=second)  # fits
        for less in [(w - 0.1, h), (w, h - 0.1)]:
            with pytest.raises(UsageError):
                activation_figure(probes, saturations=s, figsize=less, second=second)


def test_a_folder_you_name_is_not_created(tmp_path: Any) -> None:
    from typer.testing import CliRunner

    from actviz.cli import app

    target = tmp_path / "missing" / "dir" / "x.png"
    result = CliRunner().invoke(app, ["plot", "relu", "--out", str(target)])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: cannot write {target}: the folder {target.parent} does not exist; "
        "create it first\n"
    )
    assert not (tmp_path / "missing").exists()


# --- what the outsider found: kink samples stand for their own side only -------------


def test_probing_inside_no_grad_is_the_same() -> None:
    """A notebook cell (or depth's statistics) under torch.no_grad() still gets f′,
    and nothing cached from it differs."""
    with torch.no_grad():
        inside = analyze(probe("sigmoid", start=8, stop=16, points=5), dtypes=("float32",))
    outside = analyze(probe("sigmoid", start=8, stop=16, points=5), dtypes=("float32",))
    assert list(inside.regime) == list(outside.regime) == ["saturated"] * 5
    assert inside.reference == outside.reference and inside.reference is not None


@pytest.mark.parametrize(
    ("name", "grid", "kinks", "words", "coarse"),
    [
        ("relu6", Grid(0, 6, points=2), True, "peak |f′| = 0 at x = 0 and x = 6", True),
        ("hardtanh", Grid(-3, 3, points=4), False, "peak |f′| = 0 on [-3, -1] and [1, 3]", True),
        ("hardtanh", Grid(-1, 1, points=2), True, "peak |f′| = 0 at x = -1 and x = 1", True),
        ("hardswish", Grid(-4, 4, points=3), False, "peak |f′| = 1 at x = 4", True),
    ],
)
def test_samples_at_kinks_claim_no_more_than_their_side(
    name: str, grid: Grid, kinks: bool, words: str, coarse: bool
) -> None:
    (p,) = probe_many([registry.spec(name)], grid, ProbeOptions(kinks=kinks))
    s = analyze(p, dtypes=())
    assert peak_words(s) == words
    assert check_stretches(p, s) == []
    assert s.coarse == coarse
    drawn = activation_figure([p], saturations=[s])
    assert check_shading(drawn, p, s) == []
    for collection in drawn.shading.values():  # never across the live piece between kinks
        for path in collection.get_paths():
            lo, hi = path.vertices[:, 0].min(), path.vertices[:, 0].max()
            mid = np.linspace(lo, hi, 101)[1:-1]
            if len(mid) and hi - lo > float(p.x[-1] - p.x[0]) / 40:
                assert (exact_grad(p.spec, mid) == 0).all() or name == "hardswish"


@SETTINGS
@given(data=st.data())
def test_dead_share_of_a_piecewise_activation_is_its_zero_set(data: st.DataObject) -> None:
    """With its kinks sampled, a piecewise-linear activation's dead share is the
    measure of {f′ = 0} in the range (plain torch on 200,001 points)."""
    name = data.draw(st.sampled_from(["relu", "relu6", "hardtanh", "hardshrink", "threshold"]))
    spec = registry.spec(name, data.draw(_params(name)))
    start = data.draw(st.sampled_from([-8.0, -3.0, -1.0, 0.0]))
    stop = start + data.draw(st.sampled_from([1.0, 3.0, 8.0]))
    points = data.draw(st.sampled_from([2, 3, 7, 41, 160]))
    (p,) = probe_many([spec], Grid(start, stop, points=points), ProbeOptions(dtype="float64"))
    s = analyze(p, dtypes=())
    fine = np.linspace(float(p.x[0]), float(p.x[-1]), 200_001)
    exact = float((exact_grad(spec, fine) == 0).mean())
    assert s.fractions["dead"] == pytest.approx(exact, abs=2e-4), (spec, start, stop, points)


def test_a_zero_at_minus_zero_prints_as_zero() -> None:
    spec = registry.spec("hardshrink", {"lambd": 0})
    assert definition_words(zero_by_definition(spec)) == "x = 0"
