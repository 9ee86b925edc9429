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
from actviz.depth.gain import PhaseCurve, phase_curves
from actviz.depth.plots import (
    CHAOTIC,
    EDGE,
    JUMPS,
    ORDERED,
    UNBOUNDED,
    depth_figure,
    draw_histograms,
    layer_words,
    left_out_words,
    phase_figure,
    phase_top,
)
from actviz.depth.simulation import HIST_BINS, Depth, DepthRun, LogHistogram, log_histogram
from actviz.depth.simulation import simulate as depth
from actviz.environment import one_thread
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


# init_gain.fixed_point walks a ladder q = 2^k: at σ_b² = 0.6, σ_w² = 2.404 tanhshrink's
# variance map has two fixed points between the rungs q = 1 and 2 (≈ 1.33, stable, and
# ≈ 1.6); the map iterated from q = 1 stops at 1.33, where χ₁ = 0.74. The ladder alone
# missed them (q* → ∞, "chaotic"); its search between rungs (init_gain._dip) finds them.
@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    registry.names(),
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
        # an edge line always, a jump line only where χ₁ jumps (gelu at small σ_b²), an
        # unbounded line only where χ₁ → 1 only as q* → ∞ (relu with a bias)
        drawn = drawn_points(ax)
        assert len(ax.lines) == 1 + any(curve.jump) + any(curve.unbounded)
        every = sorted(drawn["edge"] + drawn["jump"] + drawn["unbounded"])
        assert every == [(b, w) for b, w in zip(curve.sigma_b2, curve.sigma_w2, strict=True) if w]
        assert [w for _, w in every] == values
    legend = fig.legends[0]
    assert [t.get_text() for t in legend.get_texts()] == [ORDERED, CHAOTIC, EDGE, JUMPS,
                                                          UNBOUNDED]  # fmt: skip
    # a figure without jumps or runs-off names neither, one with only jumps no edge of chaos
    texts = [t.get_text() for t in phase_figure(curves[:2]).legends[0].get_texts()]
    assert texts == [ORDERED, CHAOTIC, EDGE]
    (shrink,) = phase_curves([spec("softshrink")])
    texts = [t.get_text() for t in phase_figure([shrink]).legends[0].get_texts()]
    assert all(shrink.jump) and texts == [ORDERED, CHAOTIC, JUMPS]
    (softplus,) = phase_curves([spec("softplus")])  # χ₁ → 1 only as q* → ∞ at every σ_b²
    texts = [t.get_text() for t in phase_figure([softplus]).legends[0].get_texts()]
    assert all(softplus.unbounded) and texts == [ORDERED, CHAOTIC, UNBOUNDED]


def test_no_critical_sigma_w_leaves_its_columns_unshaded_and_says_so() -> None:
    relu = default_curves()[2]
    holed = PhaseCurve(relu.spec, relu.sigma_b2, (*relu.sigma_w2[:5], None, *relu.sigma_w2[6:]),
                       relu.jump)  # fmt: skip
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


# --- the line's style: an edge of chaos, or a jump of χ₁ across 1 -------------------
# At each drawn point χ₁ is evaluated here just below and just above the drawn σ_w:
# both within EDGE_OFF of 1 is an edge of chaos (drawn solid), one below 1 and the other
# above with a gap of JUMP_OFF or more a jump (drawn dashed, open); anything else means
# the line is not where χ₁ crosses 1. The fixed point q* is the one the map iterated
# from q = 1 reaches, found on a ladder of q (not iterated: next to a critical σ_w the
# map converges like (1 − 1e-7)^n) with this file's quadrature and closed forms.

LADDER = 2.0 ** (np.arange(-744, 641) / 16)  # Q_LOW … Q_HIGH, q = 1 at ONE, ratio 1.044
ONE = 744
# σ_w·(1 ∓ STYLE_STEP): an edge's χ₁ moves by ~2·STYLE_STEP × d ln χ₁/d ln σ_w² there
# (5.8e-6 at most on the registry's grid: mish at σ_b² = 0.1, slope 29), far inside
# EDGE_OFF; the smallest jump on that grid, silu's at σ_b² = 0.5 (χ₁ 0.963 → 1.0006),
# is 3.7 × JUMP_OFF. A step this small keeps the two sides on the two branches of a jump.
STYLE_STEP = 1e-7
EDGE_OFF, JUMP_OFF = 1e-4, 1e-2


@cache
def ladder_second_moment(name: str) -> np.ndarray:
    """E[f(√q·z)²] at each q of :data:`LADDER` (closed-form f, this file's quadrature)."""
    f, _, _ = CLOSED_FORMS[name]
    target = registry.spec(name)
    kinks = target.activation.kinks(target.params)
    return expect(lambda x: f(x, target.params) ** 2, LADDER, kinks)


ZOOM, ZOOMS = 201, 3  # points per zoom into a dip, and zooms: to ~2e-7 in log q
DIP_NOISE = 1e-12  # a local minimum shallower than this is the quadrature's noise


def fixed_points(name: str, sigma_b2: np.ndarray, sigma_w2: np.ndarray) -> np.ndarray:
    """q* the map q ← σ_w²·E[f(√q·z)²] + σ_b² reaches from q = 1, per point: the first
    root of h(q) = map(q) − q in the direction the map moves from q = 1, bracketed by
    :func:`first_root` and bisected (in log q, 60 halvings); Q_LOW or Q_HIGH where there
    is none (the signal dies, or runs off). That is the iteration's limit when no
    iterate can overshoot the root: the map stays at or below it on the way up (at or
    above it on the way down), which is asserted on the ladder (threshold's E[f²] falls
    near q = 1, so monotonicity alone would not do)."""
    f, _, _ = CLOSED_FORMS[name]
    target = registry.spec(name)
    params, kinks = target.params, target.activation.kinks(target.params)
    second = ladder_second_moment(name)
    found = np.empty(len(sigma_b2))
    for i, (b2, w2) in enumerate(zip(sigma_b2, sigma_w2, strict=True)):

        def h(q: np.ndarray, b2: float = b2, w2: float = w2) -> np.ndarray:
            return w2 * expect(lambda x: f(x, params) ** 2, q, kinks) + b2 - q

        mapped = w2 * second + b2
        bracket = first_root(h, mapped - LADDER)
        if bracket is None:
            found[i] = Q_HIGH if mapped[ONE] > 1 else Q_LOW
            continue
        a, b = np.log(bracket)
        # no overshoot: up, the map stays below the root's bracket; down, above it
        if mapped[ONE] > 1:
            far = max(bracket)
            walked = mapped[(LADDER >= 1) & (far >= LADDER)]
            assert walked.max() <= far, (name, b2, w2)
        else:
            far = min(bracket)
            walked = mapped[(far <= LADDER) & (LADDER <= 1)]
            assert walked.min() >= far, (name, b2, w2)
        sign_a = np.sign(h(np.exp(np.array([a]))))
        for _ in range(60):
            mid = (a + b) / 2
            a, b = (mid, b) if np.sign(h(np.exp(np.array([mid])))) == sign_a else (a, mid)
        found[i] = math.exp((a + b) / 2)
    return found


def first_root(h: Any, on_ladder: np.ndarray) -> tuple[float, float] | None:
    """(q, q′): the first sign change of ``h`` on the way the map moves from q = 1
    (up while h > 0, down while h < 0), None if it never changes sign. Each rung of
    :data:`LADDER` on the way, and between rungs each dip of h/q towards 0 (a local
    minimum of |h|/q on the rungs: two roots close together, next to a fold, can lie
    between two rungs), sampled densely (:data:`ZOOM`) around its lowest point, then
    around the lowest sample, :data:`ZOOMS` times."""
    up = on_ladder[ONE] > 0
    order = np.arange(ONE, len(LADDER)) if up else np.arange(ONE, -1, -1)
    toward = on_ladder[order] / LADDER[order] * (1 if up else -1)
    stops = np.flatnonzero(toward <= 0)
    end = int(stops[0]) if len(stops) else len(order)
    for k in range(end - 1):
        before = toward[k - 1] if k else math.inf  # q = 1 itself: a dip on its one side
        if not (toward[k] < before - DIP_NOISE and toward[k] < toward[k + 1] - DIP_NOISE):
            continue
        ends = (LADDER[order[max(k - 1, 0)]], LADDER[order[k + 1]])
        low, high = bounds = sorted(math.log(v) for v in ends)
        for _ in range(ZOOMS):
            logs = np.linspace(low, high, ZOOM)
            if not up:
                logs = logs[::-1]
            q = np.exp(logs)
            closing = h(q) / q * (1 if up else -1)
            crossed = np.flatnonzero(closing <= 0)
            if len(crossed):
                j = int(crossed[0])
                start = q[j - 1] if j else ends[0]
                return float(start), float(q[j])
            best = int(np.argmin(closing))
            step = (high - low) / (ZOOM - 1)
            low, high = max(logs[best] - 2 * step, bounds[0]), min(logs[best] + 2 * step, bounds[1])
    if end == len(order):
        return None
    return float(LADDER[order[end - 1]]), float(LADDER[order[end]])


_NEAR: dict[tuple[str, float, float], tuple[float, float]] = {}


def independent_near(
    name: str, sigma_b2: np.ndarray, sigma_w2: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(χ₁, q*): χ₁ = σ_w²·E[f′(√q*·z)²] with q* from :func:`fixed_points`, each point
    computed once per session (the checker and its wrong answers ask for the same points)."""
    _, grad, _ = CLOSED_FORMS[name]
    target = registry.spec(name)
    keys = [(name, float(b), float(w)) for b, w in zip(sigma_b2, sigma_w2, strict=True)]
    new = [i for i, k in enumerate(keys) if k not in _NEAR]
    if new:
        q = fixed_points(name, sigma_b2[new], sigma_w2[new])
        kinks = target.activation.kinks(target.params)
        chi = sigma_w2[new] * expect(lambda x: grad(x, target.params) ** 2, q, kinks)
        _NEAR.update((keys[i], (float(c), float(v))) for i, c, v in zip(new, chi, q, strict=True))
    found = np.array([_NEAR[k] for k in keys]).reshape(-1, 2)
    return found[:, 0], found[:, 1]


def independent_chi1_near(name: str, sigma_b2: np.ndarray, sigma_w2: np.ndarray) -> np.ndarray:
    """χ₁ of :func:`independent_near`."""
    return independent_near(name, sigma_b2, sigma_w2)[0]


# χ₁ within EDGE_OFF of 1 on both sides, and q* out past Q_HIGH just above the drawn σ_w
# while just below it is already at least FAR_Q (a fixed point that runs off as σ_w
# grows): χ₁ reaches 1 only as q* → ∞. Every finite edge on the registry's grid
# (σ_b² ≤ 1) has q* < 100 (gelu's at σ_b² = 1: 82); relu's q* just below, σ_b²/(2·1e-7),
# is 1.25e4 at the grid's smallest σ_b² > 0; at σ_b² = 0 it is Q_LOW (the signal dies),
# and relu's is an edge there (every q a fixed point at σ_w² = 2).
FAR_Q = 1e3


def verdict(below: float, above: float, q_below: float = 1.0, q_above: float = 1.0) -> str:
    """``edge``, ``jump``, ``unbounded`` or ``neither`` from χ₁ and q* just below and just
    above a critical σ_w."""
    off = max(abs(below - 1), abs(above - 1))
    if off <= EDGE_OFF:
        return "unbounded" if q_above >= Q_HIGH and q_below >= FAR_Q else "edge"
    return "jump" if below < 1 < above and off >= JUMP_OFF else "neither"


def drawn_points(ax: Axes) -> dict[str, list[tuple[float, float]]]:
    """The (σ_b², σ_w²) of ``ax``'s lines by their style: ``edge`` (solid, filled round
    markers), ``jump`` (dashed, open round markers), ``unbounded`` (dotted, filled
    triangles), ``other`` (any other line)."""
    found: dict[str, list[tuple[float, float]]] = {
        "edge": [], "jump": [], "unbounded": [], "other": []
    }  # fmt: skip
    for line in ax.lines:
        style, marker = line.get_linestyle(), line.get_marker()
        hollow = line.get_markerfacecolor() == "none"
        if marker == "o" and style == "-" and not hollow:
            kind = "edge"
        elif marker == "o" and style == "--" and hollow:
            kind = "jump"
        elif marker == "^" and style == ":" and not hollow:
            kind = "unbounded"
        else:
            kind = "other"
        x, y = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
        keep = ~np.isnan(x)
        found[kind] += [(float(b), float(w)) for b, w in zip(x[keep], y[keep], strict=True)]
    return found


KINDS = ("edge", "jump", "unbounded")


def style_problems(fig: Figure, curves: Sequence[PhaseCurve]) -> list[str]:
    """Each curve's points drawn once each, in the style the independent χ₁ and q* say."""
    found = []
    for ax, curve in panels(fig, curves):
        drawn = drawn_points(ax)
        points = [(b, w) for b, w in zip(curve.sigma_b2, curve.sigma_w2, strict=True) if w]
        every = [p for kind in (*KINDS, "other") for p in drawn[kind]]
        if sorted(every) != points:
            found.append(f"{curve.spec.label}: drew {sorted(every)}, not its points {points}")
        found += [f"{curve.spec.label}: {p} drawn in another style" for p in drawn["other"]]
        styled = [(b, w, kind) for kind in KINDS for b, w in drawn[kind]]
        if not styled:
            continue
        b2, w2 = (np.array([p[i] for p in styled]) for i in (0, 1))
        (below, q_below), (above, q_above) = (
            independent_near(curve.spec.name, b2, w2 * (1 + s * STYLE_STEP) ** 2) for s in (-1, 1)
        )
        for (b, w, kind), *sides in zip(styled, below, above, q_below, q_above, strict=True):
            said = verdict(*(float(v) for v in sides))
            if said != kind:
                found.append(
                    f"{curve.spec.label}: ({b:g}, {w:.6g}) drawn as {kind}, but χ₁ goes "
                    f"{sides[0]:.6g} → {sides[1]:.6g} there, q* {sides[2]:.3g} → "
                    f"{sides[3]:.3g} ({said})"
                )
    return found


def test_the_lines_style_is_what_chi1_does_there() -> None:
    """gelu's jumps (σ_b² ≤ 0.1) dashed and its edge (from 0.2) solid; relu's edge at
    σ_b² = 0 solid and, with a bias, χ₁ → 1 only as q* → ∞ dotted; the others solid."""
    curves = default_curves()
    assert [any(c.jump) for c in curves] == [False, False, False, True, False]
    assert [any(c.unbounded) for c in curves] == [False, False, True, False, False]
    assert style_problems(phase_figure(curves), curves) == []


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    registry.names(),
)
def test_every_registered_activations_line_style(name: str) -> None:
    (curve,) = (c for c in all_curves() if c.spec.name == name)
    assert style_problems(phase_figure([curve]), [curve]) == []


def test_the_style_checker_catches_a_flipped_flag_and_a_moved_point() -> None:
    tanh, gelu = default_curves()[0], default_curves()[3]
    flipped = [
        dataclasses.replace(gelu, jump=(False, *gelu.jump[1:])),  # σ_b² = 0: a jump as an edge
        dataclasses.replace(tanh, jump=(*tanh.jump[:8], True, *tanh.jump[9:])),  # an edge as a jump
    ]
    for curve, at in zip(flipped, (0, 8), strict=True):
        found = style_problems(phase_figure([curve]), [curve])
        b, w = curve.sigma_b2[at], curve.sigma_w2[at]
        assert len(found) == 1 and found[0].startswith(f"{curve.spec.label}: ({b:g}, {w:.6g})")
        assert ("edge, but" if at == 0 else "jump, but") in found[0]
    relu = default_curves()[2]
    flipped = [
        dataclasses.replace(relu, unbounded=(False, False, *relu.unbounded[2:])),  # as an edge
        dataclasses.replace(tanh, unbounded=(*tanh.unbounded[:8], True, *tanh.unbounded[9:])),
    ]
    for curve, at, said in zip(flipped, (1, 8), ("edge", "unbounded"), strict=True):
        found = style_problems(phase_figure([curve]), [curve])
        b, w = curve.sigma_b2[at], curve.sigma_w2[at]
        assert len(found) == 1 and found[0].startswith(f"{curve.spec.label}: ({b:g}, {w:.6g})")
        assert f"{said}, but" in found[0]
    eighth = tanh.sigma_w2[8]
    assert eighth is not None
    moved = dataclasses.replace(tanh, sigma_w2=(*tanh.sigma_w2[:8], 1.01 * eighth,
                                                *tanh.sigma_w2[9:]))  # fmt: skip
    found = style_problems(phase_figure([moved]), [moved])
    assert len(found) == 1 and found[0].endswith("(neither)")


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
