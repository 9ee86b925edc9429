"""What the depth figure and the phase diagram draw is what the numbers say.

* The gradient histograms are of log10|g|: each layer's bins cover that
  layer's finite non-zero log10|g| (recomputed from the same network rebuilt
  here with plain torch), and the exact zeros and inf/nan a log axis cannot
  show are counted in the label, as many as there are.
* The phase diagram's shaded "ordered (χ₁ < 1)" region is where χ₁ < 1 and
  its "chaotic (χ₁ > 1)" region where χ₁ > 1, with χ₁ evaluated here
  independently: the variance map iterated from q = 1 and E[f′²] integrated
  with the hand-derived closed forms of tests/closed_forms.py on a
  Gauss–Legendre rule of this file's own.
* Nothing clipped or overlapping at 72, 100 and 150 dpi (matplotlib's own
  extents, as tests/test_figure_geometry.py checks the activation figures).

Every checker gets a wrong answer injected and must catch it.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Sequence
from functools import cache
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from torch import nn

from actviz import registry
from actviz.depth_plots import (
    CHAOTIC,
    ORDERED,
    depth_figure,
    draw_histograms,
    layer_words,
    left_out_words,
    phase_figure,
    phase_top,
)
from actviz.depth_sim import HIST_BINS, Depth, DepthRun, LogHistogram, depth, log_histogram
from actviz.environment import one_thread
from actviz.init_gain import PhaseCurve, phase_curves
from actviz.registry import spec
from tests.closed_forms import CLOSED_FORMS
from tests.test_figure_geometry import problems

DPIS = (72, 100, 150)
DEFAULT_FOUR = ["sigmoid", "tanh", "relu", "gelu"]  # make demo's depth figure
PHASE_DEFAULTS = ["tanh", "selu", "relu", "gelu", "sigmoid"]  # make demo's phase diagram
TORCH_ACTS = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu,
              "gelu": nn.functional.gelu}  # fmt: skip


# --- the network, rebuilt with plain torch -----------------------------------------


def raw_gradients(run: DepthRun) -> list[np.ndarray]:
    """The gradient at each layer's input of ``run``'s network, rebuilt here: the
    seeded N(0, 1) batch, then each layer's weights N(0, gain²/width) and zero bias
    from the same generator, then the output gradient as ``run.output_grad`` names it
    (a N(0, 1) draw after the weights, or ones), forward, backward."""
    width, batch = run.width, run.batch
    assert run.init == "kaiming" and run.gain is not None and run.bias_std == 0
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(run.seed)
        x = torch.randn(batch, width)
        weights = []
        for _ in run.layers:
            w = torch.empty(width, width)
            nn.init.normal_(w, 0.0, run.gain / math.sqrt(width))
            weights.append(w)
        random_grad = torch.randn(batch, width)
    assert run.output_grad in ("random", "ones")
    act = TORCH_ACTS[run.spec.name]
    with one_thread():  # as the simulation runs: the same matmul bits
        x.requires_grad_(True)
        inputs, signal = [x], x
        for w in weights:
            signal = act(nn.functional.linear(signal, w, torch.zeros(width)))
            signal.retain_grad()
            inputs.append(signal)
        ones = run.output_grad == "ones"
        torch.autograd.backward(signal, torch.ones_like(signal) if ones else random_grad)
    grads = []
    for t in inputs[:-1]:
        assert t.grad is not None
        grads.append(t.grad.detach().numpy().astype(np.float64))
    return grads


def histogram_problems(hist: LogHistogram, values: np.ndarray) -> list[str]:
    """How ``hist`` misstates ``values``, in words (empty: it does not)."""
    found = []
    zeros = int(np.count_nonzero(values == 0))
    nonfinite = int(np.count_nonzero(~np.isfinite(values)))
    if (hist.count, hist.zeros, hist.nonfinite) != (values.size, zeros, nonfinite):
        found.append(
            f"count/zeros/nonfinite {hist.count}/{hist.zeros}/{hist.nonfinite}, "
            f"true {values.size}/{zeros}/{nonfinite}"
        )
    shown = values[np.isfinite(values) & (values != 0)]
    if not shown.size:
        if len(hist.centers):
            found.append("bins drawn for a layer with no finite non-zero value")
        return found
    logs = np.log10(np.abs(shown))
    if not (hist.low <= logs.min() and logs.max() <= hist.high):
        found.append(f"bins [{hist.low}, {hist.high}] miss [{logs.min()}, {logs.max()}]")
    width = (hist.high - hist.low) / HIST_BINS
    if len(hist.centers) != HIST_BINS or not np.allclose(
        hist.centers, hist.low + width * (np.arange(HIST_BINS) + 0.5), rtol=0, atol=1e-9 * width
    ):
        found.append("bin centres are not the bins' middles")
    counts = hist.density * hist.count * width
    if not math.isclose(counts.sum(), shown.size, rel_tol=1e-9):
        found.append(f"the density holds {counts.sum():.6g} values, not {shown.size}")
    # numpy's bins against the histogram's: only values within rounding of an edge may move
    expected, edges = np.histogram(logs, bins=HIST_BINS, range=(hist.low, hist.high))
    near_edge = int(np.count_nonzero(np.min(np.abs(logs[:, None] - edges), axis=1) < 1e-9))
    if np.abs(np.rint(counts) - expected).sum() > 2 * near_edge:
        found.append("the bins' counts differ from numpy's histogram of log10|g|")
    return found


LEFT_OUT = re.compile(r"(exact zeros|inf/nan): ([\d,]+) of ([\d,]+) \(layers? ([\d–, ]+)\)")


def read_layers(text: str) -> set[int]:
    """``1–3, 7`` → {1, 2, 3, 7}."""
    layers: set[int] = set()
    for part in text.split(", "):
        first, _, last = part.partition("–")
        layers.update(range(int(first), int(last or first) + 1))
    return layers


def label_problems(label: str, grads: Sequence[np.ndarray]) -> list[str]:
    """Whether the x label's counts of exact zeros and inf/nan (and their layers)
    are the true ones."""
    found = []
    said = {m[1]: (int(m[2].replace(",", "")), int(m[3].replace(",", "")), read_layers(m[4]))
            for m in LEFT_OUT.finditer(label)}  # fmt: skip
    total = sum(g.size for g in grads)
    for words in ("exact zeros", "inf/nan"):
        per_layer = [
            int(np.count_nonzero(g == 0 if words == "exact zeros" else ~np.isfinite(g)))
            for g in grads
        ]
        true = (sum(per_layer), total, {i + 1 for i, n in enumerate(per_layer) if n})
        if sum(per_layer) == 0:
            if words in said:
                found.append(f"{words} said {said[words]}, there are none")
            if words == "exact zeros" and "exact zeros: none" not in label:
                found.append("the label does not say there are no exact zeros")
        elif said.get(words) != true:
            found.append(f"{words} said {said.get(words)}, true {true}")
    return found


@cache
def four() -> Depth:
    return depth(DEFAULT_FOUR, layers=12, width=64, batch=64)


@cache
def zeros_run() -> Depth:
    """tanh at gain 1000: |pre| ≫ 9, where float32's tanh′ is exactly 0: most
    gradients are exactly zero, whole layers of them."""
    return depth("tanh", layers=6, width=16, batch=32, gain=1000.0, baseline=False)


def test_every_layers_log_gradient_histogram_covers_its_values() -> None:
    for run in four().runs:
        grads = raw_gradients(run)
        for layer, (hist, g) in enumerate(zip(run.gradients, grads, strict=True), start=1):
            assert histogram_problems(hist, g) == [], (run.label, layer)


def test_the_zeros_a_log_axis_cannot_show_are_counted_in_the_label() -> None:
    (run,) = zeros_run().runs
    grads = raw_gradients(run)
    assert any(np.all(g == 0) for g in grads) and any(np.any(g != 0) for g in grads)
    for hist, g in zip(run.gradients, grads, strict=True):
        assert histogram_problems(hist, g) == []
    fig = Figure()
    lines = draw_histograms(fig.add_subplot(), run, "gradients")
    label = fig.axes[0].get_xlabel()
    assert label_problems(label, grads) == []
    assert "exact zeros: " in label and "none" not in label
    # a layer of zeros only has no curve; every other layer has its own
    assert len(lines) == sum(bool(np.any(g != 0)) for g in grads)
    fig = Figure()
    draw_histograms(fig.add_subplot(), four().runs[1], "gradients")
    assert label_problems(fig.axes[0].get_xlabel(), raw_gradients(four().runs[1])) == []
    assert fig.axes[0].get_xlabel().endswith("exact zeros: none")


def test_the_checkers_catch_wrong_histograms_and_wrong_counts() -> None:
    (run,) = zeros_run().runs
    grads = raw_gradients(run)
    last, g = run.gradients[-1], grads[-1]
    assert histogram_problems(last, g) == []
    narrow = dataclasses.replace(last, high=last.high - 0.3 * (last.high - last.low))
    assert any("miss" in p for p in histogram_problems(narrow, g))
    fewer = dataclasses.replace(last, zeros=last.zeros - 1)
    assert any("count/zeros" in p for p in histogram_problems(fewer, g))
    lost = dataclasses.replace(last, density=last.density * 0.5)
    assert any("holds" in p for p in histogram_problems(lost, g))
    shifted = dataclasses.replace(last, density=np.roll(last.density, 7))
    assert any("numpy" in p for p in histogram_problems(shifted, g))
    label = left_out_words(run.gradients)
    wrong = [dataclasses.replace(h, zeros=h.zeros + (i == 2)) for i, h in enumerate(run.gradients)]
    assert label_problems(left_out_words(wrong), grads) != []
    assert label_problems(label.replace("exact zeros: ", "exact zeros: 1"), grads) != []
    clean = raw_gradients(four().runs[0])
    assert label_problems("exact zeros: 3 of 9 (layer 1)", clean) != []
    assert label_problems("log₁₀|g|", clean) != []  # silence is not a count
    infs = [g.copy() for g in clean]
    infs[4][0, 0] = math.inf
    assert any("inf/nan" in p for p in label_problems(left_out_words(four().runs[0].gradients),
                                                      infs))  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(
        np.float32,
        st.integers(1, 300),
        elements=st.one_of(
            st.floats(width=32, allow_nan=True, allow_infinity=True, allow_subnormal=True),
            st.just(0.0),
            st.just(-0.0),
        ),
    )
)
def test_log_histogram_of_any_float32_values(values: np.ndarray) -> None:
    """Subnormals, ±0, ±inf, nan, one repeated value: counted, covered, nothing lost."""
    hist = log_histogram(torch.from_numpy(values))
    assert histogram_problems(hist, values.astype(np.float64)) == []


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 3)), min_size=1, max_size=40))
def test_left_out_words_say_the_counts_and_layers(per_layer: list[tuple[int, int]]) -> None:
    size = 8
    grads = []
    for zeros, infs in per_layer:
        g = np.ones(size)
        g[:zeros] = 0.0
        g[zeros : zeros + infs] = math.inf
        grads.append(g)
    hists = [log_histogram(torch.from_numpy(g)) for g in grads]
    assert label_problems(left_out_words(hists), grads) == []


def test_layer_words() -> None:
    assert layer_words([3]) == "layer 3"
    assert layer_words([1, 2, 3, 7, 9, 10]) == "layers 1–3, 7, 9–10"
    assert read_layers("1–3, 7, 9–10") == {1, 2, 3, 7, 9, 10}


@pytest.mark.parametrize("name", DEFAULT_FOUR)
def test_every_layers_gradients_are_visible(name: str) -> None:
    """Each layer's curve peaks inside the panel at a tenth of its height or more
    (on the old linear axis sigmoid's layers 1–29 were a single spike at 0)."""
    result = depth(name, layers=30, width=64, batch=64, baseline=False)
    (run,) = result.runs
    fig = depth_figure(result)
    gradient_ax = fig.axes[1]
    assert "log₁₀|g|" in gradient_ax.get_xlabel()
    lines = [line for line in gradient_ax.lines if np.asarray(line.get_xdata()).size]
    assert len(lines) == len(run.layers)
    (x0, x1), (_, y1) = gradient_ax.get_xlim(), gradient_ax.get_ylim()
    for layer, (line, hist) in enumerate(zip(lines, run.gradients, strict=True), start=1):
        np.testing.assert_array_equal(line.get_xdata(), hist.centers)
        np.testing.assert_array_equal(line.get_ydata(), hist.density)
        x, y = np.asarray(line.get_xdata()), np.asarray(line.get_ydata())
        assert x0 <= hist.low and hist.high <= x1, layer
        assert y.max() >= 0.1 * y1 and x0 <= x[np.argmax(y)] <= x1, layer


# --- the phase diagram -------------------------------------------------------------


GL_T, GL_W = np.polynomial.legendre.leggauss(16)
Z_EDGES = np.linspace(-10.0, 10.0, 41)  # 0 is an edge (relu's and selu's kink)
Q_LOW, Q_HIGH = 1e-14, 1e12  # q has gone to 0 or to ∞: χ₁ is its limit there


def expect(values: Any, q: np.ndarray, kinks: Sequence[float]) -> np.ndarray:
    """E[values(√q·z)] for z ~ N(0, 1), one q per row: 16-point Gauss–Legendre on
    40 panels over [−10, 10] in z, split also at each kink's z = k/√q (so that a
    jump in f′ is a panel edge at every scale)."""
    root = np.sqrt(q)[:, None]
    moved = np.clip(np.asarray(kinks, dtype=float)[None, :] / root, -10.0, 10.0)
    edges = np.sort(np.hstack([np.broadcast_to(Z_EDGES, (len(q), len(Z_EDGES))), moved]), axis=1)
    a, b = edges[:, :-1, None], edges[:, 1:, None]
    z = ((b - a) / 2 * GL_T + (a + b) / 2).reshape(len(q), -1)
    weights = ((b - a) / 2 * GL_W).reshape(len(q), -1) * np.exp(-0.5 * z * z)
    return (weights * values(root * z)).sum(axis=1) / math.sqrt(2 * math.pi)


def independent_chi1(name: str, sigma_b2: np.ndarray, sigma_w2: np.ndarray) -> np.ndarray:
    """χ₁ = σ_w²·E[f′(√q*·z)²], q* where q ← σ_w²·E[f(√q·z)²] + σ_b² goes from q = 1,
    the map iterated (not solved) until it stops moving, or leaves [1e-14, 1e12]."""
    f, grad, _ = CLOSED_FORMS[name]
    target = registry.spec(name)
    params, kinks = target.params, target.activation.kinks(target.params)
    q = np.ones(len(sigma_b2))
    moving = np.ones(len(sigma_b2), dtype=bool)
    for _ in range(200_000):
        i = np.flatnonzero(moving)
        if not len(i):
            break
        new = sigma_w2[i] * expect(lambda x: f(x, params) ** 2, q[i], kinks) + sigma_b2[i]
        stopped = (np.abs(new - q[i]) <= 1e-13 * q[i]) | (new < Q_LOW) | (new > Q_HIGH)
        q[i] = np.clip(new, Q_LOW, Q_HIGH)
        moving[i[stopped]] = False
    assert not moving.any(), "the variance map did not settle"
    return sigma_w2 * expect(lambda x: grad(x, params) ** 2, q, kinks)


_CHI1: dict[tuple[str, float, float], float] = {}


def chi1_at(name: str, sigma_b2: np.ndarray, sigma_w2: np.ndarray) -> np.ndarray:
    """:func:`independent_chi1`, each point computed once per session (the same
    points are checked at every dpi)."""
    keys = [(name, float(b), float(w)) for b, w in zip(sigma_b2, sigma_w2, strict=True)]
    new = [i for i, k in enumerate(keys) if k not in _CHI1]
    if new:
        found = independent_chi1(name, sigma_b2[new], sigma_w2[new])
        _CHI1.update((keys[i], float(c)) for i, c in zip(new, found, strict=True))
    return np.array([_CHI1[k] for k in keys])


def test_the_independent_chi1_agrees_with_closed_forms() -> None:
    """relu: χ₁ = σ_w²/2 at any q; tanh at σ_b = 0 below σ_w² = 1: q* = 0, χ₁ = σ_w²."""
    w2 = np.array([0.5, 1.9, 2.1, 3.0])
    np.testing.assert_allclose(independent_chi1("relu", np.full(4, 0.3), w2), w2 / 2, rtol=1e-12)
    np.testing.assert_allclose(independent_chi1("tanh", np.zeros(2), w2[:2] / 2), w2[:2] / 2,
                               rtol=1e-9)  # fmt: skip


SAMPLES_OFF = (0.02, 0.25, 0.6, 0.9, 0.97, 1.03, 1.1, 1.5)  # × the critical σ_w², at samples
BETWEEN_OFF = (0.25, 0.6, 0.9, 1.1, 1.5)  # between samples the boundary is interpolated
NARROW_PX = 3.0  # an interval between σ_b² samples narrower than this cannot be seen


def panels(fig: Figure, curves: Sequence[PhaseCurve]) -> list[tuple[Axes, PhaseCurve]]:
    """Each activation's panel, found by its title."""
    by_label = {ax.get_title().split("\n")[0]: ax for ax in fig.axes}
    return [(by_label[c.spec.label], c) for c in curves]


def region_at(ax: Axes, b2: float, w2: float) -> str | None:
    """The region whose shading covers (σ_b², σ_w²) on ``ax``, None if none; two is an error."""
    x0, x1 = ax.get_xlim()
    nudge = 1e-9 * (x1 - x0)  # the panel's left and right edges are the polygons' edges
    point = (min(max(b2, x0 + nudge), x1 - nudge), w2)
    found = {
        str(c.get_label())
        for c in ax.collections
        if str(c.get_label()) in (ORDERED, CHAOTIC)
        and any(p.contains_point(point) for p in c.get_paths())
    }
    assert len(found) <= 1, (point, found)
    return found.pop() if found else None


def phase_problems(fig: Figure, curves: Sequence[PhaseCurve]) -> list[str]:
    """Every shaded point tested (at each σ_b² sample and between samples wide enough
    to see) against the independent χ₁: ordered must be χ₁ < 1, chaotic χ₁ > 1."""
    found = []
    FigureCanvasAgg(fig)
    fig.canvas.draw()
    for ax, curve in panels(fig, curves):
        assert ax.get_xscale() == "linear" and ax.get_yscale() == "linear"
        top = ax.get_ylim()[1]
        b2 = np.asarray(curve.sigma_b2, dtype=float)
        w2 = np.asarray([math.nan if w is None else w for w in curve.sigma_w2])
        px = ax.transData.transform(np.column_stack([b2, np.zeros_like(b2)]))[:, 0]
        points: list[tuple[float, float]] = []
        for b, w in zip(b2, w2, strict=True):
            points += [(b, k * w) for k in SAMPLES_OFF if k * w < top]
        for i in range(len(b2) - 1):
            if px[i + 1] - px[i] >= NARROW_PX and not math.isnan(w2[i] + w2[i + 1]):
                mid_b, mid_w = (b2[i] + b2[i + 1]) / 2, (w2[i] + w2[i + 1]) / 2
                points += [(mid_b, k * mid_w) for k in BETWEEN_OFF if k * mid_w < top]
        points += [(b, 0.99 * top) for b in b2]  # the chaotic region runs to the top
        pb, pw = (np.array(v) for v in zip(*points, strict=True))
        chi = chi1_at(curve.spec.name, pb, pw)
        for b, w, c in zip(pb, pw, chi, strict=True):
            region = region_at(ax, b, w)
            column = np.flatnonzero(b2 == b)
            if region is None and not (len(column) and math.isnan(w2[column[0]])):
                found.append(f"{curve.spec.label}: ({b:g}, {w:g}) is not shaded (χ₁ = {c:.4g})")
            elif (region == ORDERED and not c < 1) or (region == CHAOTIC and not c > 1):
                found.append(f"{curve.spec.label}: ({b:g}, {w:g}) is {region}, but χ₁ = {c:.6g}")
    return found


@cache
def default_curves() -> tuple[PhaseCurve, ...]:
    return tuple(phase_curves([spec(n) for n in PHASE_DEFAULTS]))


def test_the_shaded_regions_are_where_chi1_says() -> None:
    """At each dpi (which intervals between samples are wide enough to see depends
    on it); one test, so that each point's χ₁ is computed once."""
    curves = default_curves()
    for dpi in DPIS:
        fig = phase_figure(curves)
        fig.set_dpi(dpi)
        assert phase_problems(fig, curves) == [], dpi


# init_gain.fixed_point brackets q* on a ladder q = 2^k: at σ_b² = 0.6, σ_w² = 2.404
# tanhshrink's variance map has two fixed points between the rungs q = 1 and 2
# (≈ 1.33, stable, and ≈ 1.6), both missed; the map iterated from q = 1 stops at
# 1.33, where χ₁ = 0.74, but init_gain sends q* to ∞ and calls it chaotic.
LADDER_MISSES = {"tanhshrink": "init_gain's q = 2^k ladder misses its q* ≈ 1.33 at σ_b² = 0.6"}


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.xfail(reason=LADDER_MISSES[n], strict=True))
        if n in LADDER_MISSES
        else n
        for n in registry.names()
    ],
)
def test_every_registered_activations_regions(name: str) -> None:
    (curve,) = (c for c in all_curves() if c.spec.name == name)
    fig = phase_figure([curve])
    fig.set_dpi(150)
    assert phase_problems(fig, [curve]) == []


def test_the_phase_checker_catches_a_wrong_boundary() -> None:
    curves = default_curves()
    tanh = curves[0]
    high = dataclasses.replace(tanh, sigma_w2=tuple(1.15 * w for w in tanh.sigma_w2 if w))
    found = phase_problems(phase_figure([high]), [high])
    assert found and all(f"is {ORDERED}, but χ₁ = 1." in p for p in found)
    low = dataclasses.replace(tanh, sigma_w2=tuple(0.85 * w for w in tanh.sigma_w2 if w))
    found = phase_problems(phase_figure([low]), [low])
    assert found and all(f"is {CHAOTIC}, but χ₁ = 0." in p for p in found)


def test_each_activation_has_its_own_readable_panel() -> None:
    """sigmoid's edge near σ_w² = 103 on its own axis, not squashing selu's 0.48–1.3."""
    curves = default_curves()
    fig = phase_figure(curves)
    for ax, curve in panels(fig, curves):
        values = [w for w in curve.sigma_w2 if w is not None]
        assert ax.get_ylim() == (0.0, phase_top(curve))
        # the curve spans the upper part of its own axis, whatever its scale
        assert 0.7 <= max(values) / ax.get_ylim()[1] <= 0.8
        assert ax.get_xlim() == (min(curve.sigma_b2), max(curve.sigma_b2))
        (line,) = ax.lines
        np.testing.assert_array_equal(line.get_ydata(), values)
    legend = fig.legends[0]
    assert [t.get_text() for t in legend.get_texts()][:2] == [ORDERED, CHAOTIC]


def test_no_critical_sigma_w_leaves_its_columns_unshaded_and_says_so() -> None:
    relu = default_curves()[2]
    holed = PhaseCurve(relu.spec, relu.sigma_b2, (*relu.sigma_w2[:5], None, *relu.sigma_w2[6:]))
    fig = phase_figure([holed])
    (ax,) = fig.axes
    count = len(holed.sigma_b2)
    assert f"no χ₁ = 1 for σ_w in [0.05, 50] at 1 of {count} σ_b² (unshaded)" in ax.get_title()
    assert geometry(fig, 100) == []
    gap = holed.sigma_b2[5]
    assert region_at(ax, gap, 1.0) is None and region_at(ax, gap, 2.5) is None
    assert region_at(ax, holed.sigma_b2[4], 1.0) == ORDERED
    assert phase_problems(fig, [holed]) == []
    # leaky_relu with slope 100: χ₁ = σ_w²(1 + 100²)/2 > 1 already at σ_w = 0.05
    (steep,) = phase_curves([spec("leaky_relu", {"negative_slope": 100.0})])
    assert set(steep.sigma_w2) == {None}
    fig = phase_figure([steep])
    (ax,) = fig.axes
    assert not ax.collections and f"at {count} of {count} σ_b²" in ax.get_title()
    assert geometry(fig, 100) == []


# --- geometry ----------------------------------------------------------------------


def geometry(fig: Figure, dpi: int) -> list[str]:
    """tests/test_figure_geometry.py's check of every text, at ``dpi``."""
    fig.set_dpi(dpi)
    FigureCanvasAgg(fig)
    title = fig._suptitle  # type: ignore[attr-defined]  # the artist; get_suptitle() is its text
    return problems(SimpleNamespace(figure=fig, title=title))  # type: ignore[arg-type]


@pytest.mark.parametrize("dpi", DPIS)
@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_depth_figure_fits(dpi: int, theme: str) -> None:
    assert geometry(depth_figure(four(), theme=theme), dpi) == []
    assert geometry(depth_figure(zeros_run(), theme=theme), dpi) == []


@pytest.mark.parametrize("dpi", DPIS)
@pytest.mark.parametrize("count", [1, 2, 5, len(registry.names())])
def test_the_phase_diagram_fits(dpi: int, count: int) -> None:
    curves = default_curves()[:count] if count <= 5 else all_curves()
    assert geometry(phase_figure(curves), dpi) == []
    assert geometry(phase_figure(curves, theme="dark"), dpi) == []


@cache
def all_curves() -> tuple[PhaseCurve, ...]:
    return tuple(phase_curves([spec(n) for n in registry.names()]))


def test_the_geometry_check_sees_a_clipped_label() -> None:
    fig = phase_figure(default_curves()[:2])
    assert geometry(fig, 100) == []
    fig.axes[1].set_xlabel("σ" * 300)
    assert any("outside the figure" in p for p in geometry(fig, 100))
