"""`actviz depth`'s input pairs: the correlation of pairs of inputs of known
starting correlation, measured layer by layer in the real network, beside
mean-field's composed correlation map.

* Measured: the network is rebuilt here with plain torch from the same seed
  (the batch, the weights, the output gradient and the MSE target, then the
  pairs: one generator, in that order) and each pair's pre-activation
  correlation q_ab/√(q_aa·q_bb) recomputed in numpy float64, pair by pair.
* Predicted: the mean-field recursion written here, c_{l+1} = (σ_w²·E[f(u)f(v)]
  + σ_b²)/q_{l+1} with the length map q_{l+1} = σ_w²·E[f(√q_l·z)²] + σ_b², on
  closed forms where there are (relu's arc-cosine kernel, leaky relu's, erf's
  arcsine kernel at any q) and on a plain Gauss–Hermite product rule otherwise.
* Measured against predicted: within a statistical bound from the width
  (:func:`noise`), for tanh, relu and a custom activation, and under hypothesis
  over activations × layers × gain modes.
* The words (collapsed, met, apart), the JSON, the CSV, the table line and
  the figure's panel say what the numbers are.

Every checker gets a wrong answer injected and must catch it.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import re
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure
from torch import nn
from typer.testing import CliRunner

from actviz.cli import app
from actviz.depth import simulation as depth_sim
from actviz.depth.plots import depth_figure, draw_correlations, pairs_title
from actviz.depth.simulation import (
    COLLAPSE_GAP,
    CORRELATION_PAIRS,
    CORRELATION_STARTS,
    Correlation,
    DepthRun,
    correlation_verdict,
)
from actviz.depth.simulation import (
    simulate as depth,
)
from actviz.depth.tables import depth_csv, depth_lines
from actviz.environment import one_thread
from actviz.errors import UsageError
from tests.conftest import UserModules

runner = CliRunner()

Curve = Sequence[float | None]
F = Callable[[np.ndarray], np.ndarray]


def _torch(fn: Callable[[torch.Tensor], torch.Tensor]) -> F:
    """A plain torch function of float64 numpy values."""
    return lambda t: fn(torch.from_numpy(np.asarray(t, dtype=np.float64))).numpy()


TORCH_F: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "tanh": torch.tanh,
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "softplus": nn.functional.softplus,
    "gelu": nn.functional.gelu,
    "silu": nn.functional.silu,
    "leaky_relu": nn.functional.leaky_relu,  # negative slope 0.01, the registry's default
    "torch:erf": torch.erf,
    "pairacts:twisted": lambda x: torch.erf(x) + 0.3 * x,
}
CUSTOM = """
import torch

def twisted(x):
    return torch.erf(x) + 0.3 * x
"""


# --- the network, rebuilt with plain torch ------------------------------------------


def rebuilt_pairs(run: DepthRun) -> list[np.ndarray]:
    """Per start, layers × pairs: each pair's pre-activation correlation in ``run``'s
    network, rebuilt here. The generator draws the batch, each layer's weight
    N(0, gain²/width) (and bias N(0, σ_b²) when there is one), the random output
    gradient and the MSE target, then a and z for the pairs; each a is scaled to
    |a|² = width, z made orthogonal to it and scaled the same, and each start c's
    partner is c·a + √(1 − c²)·z."""
    width, batch, pairs = run.width, run.batch, CORRELATION_PAIRS
    assert run.init == "kaiming" and run.gain is not None
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(run.seed)
        torch.randn(batch, width)
        layers = []
        for _ in run.layers:
            w = nn.init.normal_(torch.empty(width, width), 0.0, run.gain / math.sqrt(width))
            b = torch.zeros(width)
            if run.bias_std:
                nn.init.normal_(b, 0.0, run.bias_std)
            layers.append((w, b))
        torch.randn(batch, width)  # the random output gradient
        torch.randn(batch, width)  # the MSE target
        a, z = torch.randn(2, pairs, width, dtype=torch.float64)
    a = a / a.norm(dim=1, keepdim=True)
    z = z - (z * a).sum(dim=1, keepdim=True) * a
    z = z / z.norm(dim=1, keepdim=True)
    inputs = [a, *((c * a + math.sqrt((1 - c) * (1 + c)) * z) for c in CORRELATION_STARTS)]
    signal = (torch.cat(inputs) * math.sqrt(width)).to(torch.float32)
    f = TORCH_F[run.spec.name]
    pres = []
    with one_thread(), torch.no_grad():  # as the simulation runs: the same matmul bits
        for w, b in layers:
            pre = nn.functional.linear(signal, w, b)
            pres.append(pre.numpy().astype(np.float64))
            signal = f(pre)
    found = []
    for i in range(len(CORRELATION_STARTS)):
        rows = []
        for h in pres:
            ha, hb = h[:pairs], h[pairs * (i + 1) : pairs * (i + 2)]
            rows.append(
                [float(x @ y / math.sqrt((x @ x) * (y @ y))) for x, y in zip(ha, hb, strict=True)]
            )
        found.append(np.array(rows))
    return found


# Float32 pre-activations are the simulation's own bits (same ops, one thread); the
# correlations differ by float64 summation order only: 1e-12 relative is 10⁴ times that.
MEASURED_RTOL = 1e-9


def measurement_problems(run: DepthRun, rebuilt: list[np.ndarray]) -> list[str]:
    """Where ``run``'s measured correlations are not the rebuilt network's means over pairs."""
    found = []
    if [c.start for c in run.correlations] != list(CORRELATION_STARTS):
        return [f"starts {[c.start for c in run.correlations]}"]
    for corr, each in zip(run.correlations, rebuilt, strict=True):
        if corr.pairs != each.shape[1]:
            found.append(f"start {corr.start}: {corr.pairs} pairs, rebuilt {each.shape[1]}")
        truth = each.mean(axis=1)
        if not np.allclose(corr.measured, truth, rtol=MEASURED_RTOL, atol=MEASURED_RTOL):
            layer = int(np.argmax(np.abs(np.asarray(corr.measured) - truth))) + 1
            found.append(f"start {corr.start}: layer {layer} reads "
                         f"{corr.measured[layer - 1]}, rebuilt {truth[layer - 1]}")  # fmt: skip
    return found


# --- mean-field, written here ---------------------------------------------------------

# This file's own rule: 16-point Gauss–Legendre on 40 panels over [−10, 10] for the
# standard normal variables, the inner one also split where v = 0 (where sigmoid,
# tanh, gelu… turn, sharply on the scale 1/√q when q is large: sigmoid at its
# backward gain has q = 22). Against mpmath there: 1e-15.
GL_T, GL_W = np.polynomial.legendre.leggauss(16)
SPAN_EDGES = np.linspace(-10.0, 10.0, 41)


def _panels(edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights × the normal density on the panels between ``edges`` (rows)."""
    a, b = edges[..., :-1, None], edges[..., 1:, None]
    x = ((b - a) / 2 * GL_T + (a + b) / 2).reshape(*edges.shape[:-1], -1)
    w = ((b - a) / 2 * GL_W).reshape(x.shape) * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
    return x, w


OUTER_X, OUTER_W = _panels(SPAN_EDGES)


def arc_cosine(c: float) -> float:
    """relu: E[f(u)f(v)] / E[f(u)²] for (u, v) of correlation c, any variance (Cho & Saul)."""
    c = min(max(c, -1.0), 1.0)
    return (math.sqrt(1 - c * c) + (math.pi - math.acos(c)) * c) / math.pi


def closed_cross(name: str, q: float, c: float) -> float | None:
    """E[f(u)f(v)], (u, v) of variance q and correlation c, in closed form, or None."""
    c = min(max(c, -1.0), 1.0)
    if name == "relu":
        return q / 2 * arc_cosine(c)
    if name == "leaky_relu":  # f = a·x + b·|x|: E[u|v|] = 0, E|u||v| = (2q/π)(√(1−c²) + c·asin c)
        a, b = 1.01 / 2, 0.99 / 2
        absolute = 2 * q / math.pi * (math.sqrt(1 - c * c) + c * math.asin(c))
        return a * a * q * c + b * b * absolute
    if name == "torch:erf":  # Williams (1997): (2/π)·asin(2qc/(1 + 2q))
        return 2 / math.pi * math.asin(2 * q * c / (1 + 2 * q))
    return None


def cross(name: str, q: float, c: float) -> float:
    """E[f(u)f(v)]: the closed form, else this file's rule on u = √q·x, v = √q·(c·x + s·z)."""
    if (exact := closed_cross(name, q, c)) is not None:
        return exact
    f = _torch(TORCH_F[name])
    c = min(max(c, -1.0), 1.0)
    s, r = math.sqrt((1 - c) * (1 + c)), math.sqrt(q)
    u = f(r * OUTER_X)
    if s == 0:
        return float(OUTER_W @ (u * f(math.copysign(r, c) * OUTER_X)))
    zero = np.clip(-c * OUTER_X / s, -10.0, 10.0)[:, None]
    edges = np.sort(np.hstack([np.broadcast_to(SPAN_EDGES, (len(OUTER_X), 41)), zero]), axis=1)
    z, wz = _panels(edges)
    v = f(r * (c * OUTER_X[:, None] + s * z))
    return float(OUTER_W @ (u * (wz * v).sum(axis=1)))


GH_X, GH_W = np.polynomial.hermite_e.hermegauss(60)
GH_W = GH_W / math.sqrt(2 * math.pi)  # E[g(z)] = Σ w·g(x), z ~ N(0, 1)


def rough_cross(name: str, q: float, c: float) -> float:
    """E[f(u)f(v)] on a 60 × 60 Gauss–Hermite rule: for the slopes of :func:`noise`,
    which need a digit or two, not the values :func:`prediction_problems` checks."""
    if (exact := closed_cross(name, q, c)) is not None:
        return exact
    f = _torch(TORCH_F[name])
    s, r = math.sqrt(max((1 - c) * (1 + c), 0.0)), math.sqrt(q)
    v = f(r * (c * GH_X[:, None] + s * GH_X[None, :]))
    return float(GH_W @ (f(r * GH_X)[:, None] * v) @ GH_W)


@cache
def path(name: str, layers: int, start: float, sigma_w: float, sigma_b: float) -> tuple[
    list[float], list[float], list[float]
]:  # fmt: skip
    """Mean-field's c_l and q_l for l = 1 … ``layers`` from inputs of second moment 1
    and correlation ``start``, and the slope dc_{l+1}/dc_l at each layer."""
    w2, b2 = sigma_w * sigma_w, sigma_b * sigma_b
    q = w2 + b2
    c = (w2 * start + b2) / q
    cs, qs, slopes = [c], [q], []
    for _ in range(layers - 1):
        following = w2 * cross(name, q, 1.0) + b2
        h = 1e-3
        lo, hi = max(c - h, -1.0), min(c + h, 1.0)
        rough = rough_cross(name, q, hi) - rough_cross(name, q, lo)
        slopes.append(w2 * rough / (hi - lo) / following)
        c = (w2 * cross(name, q, c) + b2) / following
        q = following
        cs.append(c)
        qs.append(q)
    return cs, qs, slopes


def sigmas(run: DepthRun) -> tuple[float, float]:
    assert run.gain is not None
    return run.gain, run.bias_std


def prediction_problems(run: DepthRun, tolerance: float) -> list[str]:
    """Where ``run``'s mean-field correlations differ from :func:`path`'s by more than
    ``tolerance``."""
    found = []
    sigma_w, sigma_b = sigmas(run)
    for corr in run.correlations:
        truth, _, _ = path(run.spec.name, len(run.layers), corr.start, sigma_w, sigma_b)
        for layer, (got, want) in enumerate(zip(corr.predicted, truth, strict=True), start=1):
            if got is None or abs(got - want) > tolerance:
                found.append(f"start {corr.start}, layer {layer}: {got}, independently {want}")
    return found


# A measured correlation's scatter about mean-field's, from the width n alone.
# One layer: the n units' pre-activations are drawn afresh by the layer's weights
# (the sample correlation of n bivariate normal pairs scatters by (1 − c²)/√n), and
# their products f(u)f(v) are an n-unit estimate of E[f(u)f(v)] (about as much
# again). Near c = 1 a kink in f makes the products' variance go as (1 − c)^{3/2},
# not (1 − c)² (units whose u and v straddle the kink, a share ∝ θ = arccos c), so
# each layer adds 2(1 − c²)^{3/2}/n (the first, whose inputs are not passed
# through f, one of them), and earlier layers' deviations pass on through the
# map's slope: σ²_{l+1} = C′(c_l)²·σ²_l + 2(1 − c²_{l+1})^{3/2}/n. The pairs'
# mean is not credited with 1/√pairs: deep down all inputs are alike and their
# deviations are the network's, common to all pairs. Measured: at most 2.1σ over
# 8 seeds each of relu (widths 64–256, 12–30 layers), tanh (auto, critical),
# sigmoid, softplus, gelu and erf; Z = 4 leaves twice that.
Z = 4.0


def noise(n: int, cs: Sequence[float], slopes: Sequence[float]) -> list[float]:
    """σ_l of the measured correlation at each layer (see :data:`Z`)."""
    var = (1 - cs[0] ** 2) ** 1.5 / n
    found = [math.sqrt(var)]
    for c, slope in zip(cs[1:], slopes, strict=True):
        var = slope * slope * var + 2 * max(1 - c * c, 0.0) ** 1.5 / n
        found.append(math.sqrt(var))
    return found


def agreement_problems(run: DepthRun) -> list[str]:
    """Layers where ``run``'s measured correlation is more than Z·σ from mean-field's
    (the independent recursion's, which :func:`prediction_problems` holds actviz's to)."""
    found = []
    sigma_w, sigma_b = sigmas(run)
    for corr in run.correlations:
        cs, _, slopes = path(run.spec.name, len(run.layers), corr.start, sigma_w, sigma_b)
        spread = noise(run.width, cs, slopes)
        for layer, (got, want, predicted, sigma) in enumerate(
            zip(corr.measured, cs, corr.predicted, spread, strict=True), start=1
        ):
            if predicted is None or not abs(got - predicted) <= Z * sigma:
                found.append(f"start {corr.start}, layer {layer}: measured {got:.4f}, "
                             f"mean-field {want:.4f} ± {Z * sigma:.4f}")  # fmt: skip
    return found


# --- the checks ------------------------------------------------------------------------


@cache
def run_of(name: str, layers: int, width: int, gain: str = "auto", bias_std: float = 0.0,
           seed: int = 0) -> DepthRun:  # fmt: skip
    (run,) = depth(name, layers=layers, width=width, batch=8, gain=gain, bias_std=bias_std,
                   seed=seed, baseline=False).runs  # fmt: skip
    return run


SETTINGS = [
    ("tanh", 20, 256, "auto", 0.0),  # chaotic: every start → c* = 0
    ("tanh", 12, 128, "critical", 0.3),
    ("relu", 30, 256, "auto", 0.0),  # critical: every start → 1, slowly
    ("relu", 10, 128, "auto", 0.2),
    ("torch:erf", 20, 256, "auto", 0.0),  # a custom activation (module:callable)
]


@pytest.mark.parametrize(("name", "layers", "width", "gain", "bias_std"), SETTINGS)
def test_the_measured_correlations_are_the_networks(
    name: str, layers: int, width: int, gain: str, bias_std: float
) -> None:
    run = run_of(name, layers, width, gain, bias_std)
    assert measurement_problems(run, rebuilt_pairs(run)) == []


@pytest.mark.parametrize(("name", "layers", "width", "gain", "bias_std"), SETTINGS)
def test_the_prediction_is_the_mean_field_recursion(
    name: str, layers: int, width: int, gain: str, bias_std: float
) -> None:
    """Closed forms (relu, erf) and this file's rule (tanh) to float64's accuracy,
    over the layers."""
    run = run_of(name, layers, width, gain, bias_std)
    assert prediction_problems(run, 1e-9) == []


@pytest.mark.parametrize(("name", "layers", "width", "gain", "bias_std"), SETTINGS)
def test_measured_agrees_with_mean_field_within_the_width_s_scatter(
    name: str, layers: int, width: int, gain: str, bias_std: float
) -> None:
    assert agreement_problems(run_of(name, layers, width, gain, bias_std)) == []


def test_a_custom_activation_from_a_users_module(user_modules: UserModules) -> None:
    """``module:callable`` of the user's own: the same network measures and predicts."""
    user_modules(pairacts=CUSTOM)
    (run,) = depth("pairacts:twisted", layers=12, width=128, batch=8, baseline=False).runs
    assert run.spec.activation.custom
    assert measurement_problems(run, rebuilt_pairs(run)) == []
    assert prediction_problems(run, 1e-9) == []
    assert agreement_problems(run) == []


def test_the_relu_prediction_is_the_arc_cosine_kernel_composed() -> None:
    """With σ_b = 0, relu's variance map leaves q = 2·(1/2)·q = q at the auto gain
    √2, and c_{l+1} = C(c_l) exactly, C the arc-cosine kernel."""
    run = run_of("relu", 30, 256)
    assert run.gain == pytest.approx(math.sqrt(2), rel=1e-12)
    for corr in run.correlations:
        c = corr.start
        for predicted in corr.predicted:
            assert predicted == pytest.approx(c, abs=1e-12)
            c = arc_cosine(c)


def test_the_checkers_catch_wrong_answers() -> None:
    run = run_of("tanh", 12, 128, "critical", 0.3)
    rebuilt = rebuilt_pairs(run)

    def changed(fn: Callable[[Correlation], Correlation]) -> DepthRun:
        return dataclasses.replace(run, correlations=tuple(fn(c) for c in run.correlations))

    # measured one layer late, centred (Pearson's, not mean-field's), or from fewer pairs
    late = changed(lambda c: dataclasses.replace(c, measured=(c.start, *c.measured[:-1])))
    assert measurement_problems(late, rebuilt)
    each = [e[:, : CORRELATION_PAIRS // 2].mean(axis=1) for e in rebuilt]
    half = changed(lambda c: dataclasses.replace(c, measured=tuple(each[_index(c)])))
    assert measurement_problems(half, rebuilt)
    assert measurement_problems(changed(lambda c: dataclasses.replace(c, pairs=8)), rebuilt)
    # predicted one layer late, or with q held at 1 (the q = 1 correlation map composed)
    shifted = changed(lambda c: dataclasses.replace(c, predicted=(c.start, *c.predicted[:-1])))
    assert prediction_problems(shifted, 1e-9)
    assert agreement_problems(_wider_shift()) != []
    held = depth_sim.mean_field_correlations(run.spec, len(run.layers), sigma_w=1.0, sigma_b=0.0)
    unit = changed(lambda c: dataclasses.replace(c, predicted=tuple(held[_index(c)])))
    assert prediction_problems(unit, 1e-9)
    # and the statistical check sees pairs that keep their start, as a linear network's
    relu = run_of("relu", 30, 256)
    flat = tuple(dataclasses.replace(c, measured=(c.start,) * 30) for c in relu.correlations)
    assert agreement_problems(relu) == []
    assert agreement_problems(dataclasses.replace(relu, correlations=flat))


def _index(corr: Correlation) -> int:
    return list(CORRELATION_STARTS).index(corr.start)


def _wider_shift() -> DepthRun:
    """relu at width 1024 with its prediction one layer late: the bound must be
    tight enough to see it (start 0 reads 0 where mean-field says 1/π)."""
    (run,) = depth("relu", layers=6, width=1024, batch=4, baseline=False).runs
    late = tuple(dataclasses.replace(c, predicted=(c.start, *c.predicted[:-1]))
                 for c in run.correlations)  # fmt: skip
    assert agreement_problems(run) == []
    return dataclasses.replace(run, correlations=late)


ACTIVATIONS = ["tanh", "relu", "sigmoid", "softplus", "gelu", "silu", "leaky_relu", "torch:erf"]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(ACTIVATIONS),
    layers=st.integers(1, 10),
    gain=st.sampled_from(["auto", "backward", "critical", "0.8", "1.3"]),
    bias_std=st.sampled_from([0.0, 0.3]),
    seed=st.integers(0, 3),
)
def test_any_activation_gain_and_depth(
    name: str, layers: int, gain: str, bias_std: float, seed: int
) -> None:
    try:
        run = run_of(name, layers, 128, gain, bias_std, seed)
    except UsageError:  # no critical σ_w at this σ_b
        return
    assert measurement_problems(run, rebuilt_pairs(run)) == []
    assert prediction_problems(run, 1e-9) == []
    assert agreement_problems(run) == []


# --- q leaves the quadrature's range, the pairs change nothing else -----------------------


def test_no_prediction_where_q_leaves_the_quadratures_range() -> None:
    """relu at gain 100: q grows 5000× a layer and passes Q_MAX = 1e12 after layer 4."""
    (run,) = depth("relu", layers=8, width=16, batch=4, gain=100.0, baseline=False).runs
    q = [1e4 * 5000.0 ** (layer - 1) for layer in range(1, 9)]  # q_l = σ_w²·q_{l-1}/2
    # c_l needs q_{l-1} within range: c_1 … c_4 (q_3 = 2.5e11), not c_5 (q_4 = 1.25e15)
    first_none = next(layer for layer in range(2, 9) if q[layer - 2] > 1e12)
    assert first_none == 5
    for corr in run.correlations:
        assert all(v is not None for v in corr.predicted[: first_none - 1])
        assert all(v is None for v in corr.predicted[first_none - 1 :])
    assert run.predicted_correlation.kind == "none"
    assert "mean-field: no prediction at the last layer" in run.correlation_text


def test_the_pairs_change_nothing_else(monkeypatch: pytest.MonkeyPatch) -> None:
    with_pairs = depth(["tanh", "relu"], layers=5, width=32, batch=16).as_dict()
    monkeypatch.setattr(depth_sim, "_pair_inputs", lambda width: None)
    without = depth(["tanh", "relu"], layers=5, width=32, batch=16).as_dict()
    for a, b in zip(with_pairs["runs"], without["runs"], strict=True):
        assert a["correlations"] and not b["correlations"]
        for key in ("per_layer", "verdict", "mean_field", "forward"):
            assert a[key] == b[key]
    assert with_pairs["baselines"] == without["baselines"]


def test_width_1_has_no_pairs() -> None:
    (run,) = depth("tanh", layers=3, width=1, batch=4, baseline=False).runs
    assert run.correlations == ()
    assert run.correlation.kind == "none"
    assert run.correlation_text == (
        "input pairs: none (width 1 has no two inputs of correlation below 1)"
    )
    fig = Figure()
    assert draw_correlations(fig.add_subplot(), run) == []


# --- the words ---------------------------------------------------------------------------


def claims(curves: Sequence[Curve]) -> tuple[str, int | None]:
    """The verdict's kind and layer, from its definition, written out again."""
    gap = COLLAPSE_GAP
    depth_ = len(curves[0])

    def at(layer: int) -> list[float] | None:
        values = [c[layer - 1] for c in curves]
        if any(v is None or not math.isfinite(v) for v in values):
            return None
        return [float(v) for v in values if v is not None]

    def first_of_run(holds: Callable[[list[float]], bool]) -> int:
        layer = depth_
        while layer > 1 and (v := at(layer - 1)) is not None and holds(v):
            layer -= 1
        return layer

    last = at(depth_)
    if last is None:
        return "none", None
    if min(last) >= 1 - gap:
        return "collapsed", first_of_run(lambda v: min(v) >= 1 - gap)
    if max(last) - min(last) <= gap:
        return "met", first_of_run(lambda v: max(v) - min(v) <= gap)
    return "apart", None


correlation = st.one_of(
    st.floats(-1.0, 1.0),
    st.floats(0.97, 1.0),
    st.sampled_from([1 - COLLAPSE_GAP, 0.5, 0.505, 0.51]),
    st.just(math.nan),
)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 6).flatmap(
        lambda n: st.lists(st.lists(correlation, min_size=n, max_size=n), min_size=1, max_size=4)
    )
)
def test_the_verdict_is_its_definition(curves: list[list[float]]) -> None:
    verdict = correlation_verdict(curves)
    assert (verdict.kind, verdict.layer) == claims(curves)
    low, high = (four(f(c[-1] for c in curves)) for f in (min, max))
    assert (
        verdict.text
        == {
            "collapsed": f"collapsed from layer {verdict.layer} on (every start within 0.01 of 1)",
            "met": f"met from layer {verdict.layer} on (every start within 0.01 of the others, "
            f"at {low}–{high}, short of 1)",
            "apart": f"apart ({low} to {high}: neither within 0.01 of 1 nor of each other)",
            "none": "not measurable (no finite correlation at the last layer)",
        }[verdict.kind]
    )


def four(value: float) -> str:
    """4 decimals, and no minus sign on a 0 (−0.00001 is 0.0000)."""
    text = f"{value:.4f}"
    return "0.0000" if text == "-0.0000" else text


def test_a_wrong_verdict_is_caught() -> None:
    curves = [[0.5, 0.995, 0.999], [0.98, 0.991, 1.0]]
    assert claims(curves) == ("collapsed", 2)
    assert claims([[0.5, 0.995, 0.999], [0.98, 0.989, 1.0]]) == ("collapsed", 3)
    assert claims([[0.3, 0.5], [0.2, 0.505]]) == ("met", 2)
    assert claims([[0.3, 0.5], [0.2, 0.52]]) == ("apart", None)
    assert claims([[0.3, math.nan]]) == ("none", None)


@pytest.mark.parametrize(("name", "layers", "width", "gain", "bias_std"), SETTINGS)
def test_the_line_says_the_numbers(
    name: str, layers: int, width: int, gain: str, bias_std: float
) -> None:
    run = run_of(name, layers, width, gain, bias_std)
    assert line_problems(run.correlation_text, run) == []
    assert depth_lines(run)[-1] == run.correlation_text


def line_problems(text: str, run: DepthRun) -> list[str]:
    """Where the line misstates the last layer's values or the verdicts."""
    found = []
    head = (f"input pairs ({CORRELATION_PAIRS} per start) at layer {len(run.layers)}, "
            "pre-activation correlation measured (mean-field): ")  # fmt: skip
    if not text.startswith(head):
        return [f"head of {text!r}"]
    numbers = re.findall(r"(-?[\d.]+) → (-?[\d.]+|—) \((-?[\d.]+|—)\)", text)
    if len(numbers) != len(run.correlations):
        return [f"{len(numbers)} starts in {text!r}"]
    for corr, (start, measured, predicted) in zip(run.correlations, numbers, strict=True):
        truth = corr.predicted[-1]
        if float(start) != corr.start or abs(float(measured) - corr.measured[-1]) > 5e-5:
            found.append(f"start {start}: {measured}, measured {corr.measured[-1]}")
        if (predicted == "—") != (truth is None) or (
            truth is not None and abs(float(predicted) - truth) > 5e-5
        ):
            found.append(f"start {start}: mean-field {predicted}, predicted {truth}")
    kind, layer = claims([c.measured for c in run.correlations])
    since = "" if layer is None else f" from layer {layer} on"
    if f"; measured: {kind}" not in text or since not in text.split("; mean-field")[0]:
        found.append(f"measured verdict {kind}{since} not in {text!r}")
    theory, theory_layer = claims([c.predicted for c in run.correlations])
    said = text.split("; mean-field: ")[-1]
    if theory == "none":
        if not said.startswith("no prediction"):
            found.append(f"mean-field verdict: {said!r}")
    elif not said.startswith(theory if theory != kind else f"{kind} too"):
        found.append(f"mean-field verdict {theory}: {said!r}")
    elif theory_layer is not None and f"from layer {theory_layer} on" not in said:
        found.append(f"mean-field from layer {theory_layer}: {said!r}")
    return found


def test_a_wrong_line_is_caught() -> None:
    run = run_of("relu", 30, 256)
    text = run.correlation_text
    assert line_problems(text, run) == []
    last = f"{run.correlations[0].measured[-1]:.4f}"
    assert line_problems(text.replace(f"→ {last}", "→ 0.1234", 1), run)
    assert line_problems(text.replace("apart", "collapsed"), run)
    assert line_problems(text.replace("mean-field: apart too", "mean-field: met too"), run)


# --- JSON, CSV, the command, the figure ---------------------------------------------------


def test_json_round_trip_and_fields() -> None:
    result = depth("relu", layers=4, width=32, batch=8)
    data = json.loads(json.dumps(result.as_dict()))
    run, (baseline,) = data["runs"][0], data["baselines"]
    (ours,) = result.runs
    assert baseline["correlations"] == []
    assert [c["start"] for c in run["correlations"]] == list(CORRELATION_STARTS)
    for got, corr in zip(run["correlations"], ours.correlations, strict=True):
        measured, predicted = list(corr.measured), list(corr.predicted)
        assert got == {"start": corr.start, "pairs": CORRELATION_PAIRS,
                       "measured": measured, "predicted": predicted}  # fmt: skip
    assert run["correlation"] == {
        "measured": dataclasses.asdict(ours.correlation),
        "predicted": dataclasses.asdict(ours.predicted_correlation),
        "text": ours.correlation_text,
    }


def test_the_command_prints_and_writes_them(tmp_path: Any) -> None:
    args = ["depth", "tanh", "--layers", "3", "--width", "16", "--batch", "4", "--no-plot"]
    (run,) = depth("tanh", layers=3, width=16, batch=4).runs
    table = runner.invoke(app, args)
    assert table.exit_code == 0, table.output
    assert " ".join(run.correlation_text.split()) in " ".join(table.stdout.split())
    data = json.loads(runner.invoke(app, [*args, "--json"]).stdout)
    assert data["runs"][0]["correlations"][1]["measured"] == list(run.correlations[1].measured)
    rows = runner.invoke(app, [*args, "--csv"]).stdout.splitlines()
    header = rows[0].split(",")
    for layer in (1, 3):
        cells = dict(zip(header, rows[layer].split(","), strict=True))
        for corr in run.correlations:
            assert float(cells[f"pairs_{corr.start:g}"]) == corr.measured[layer - 1]
            assert float(cells[f"pairs_{corr.start:g}_mean_field"]) == corr.predicted[layer - 1]
    baseline_row = dict(zip(header, rows[4].split(","), strict=True))
    assert baseline_row["gain_mode"] == "default" and baseline_row["pairs_0"] == ""
    assert depth_csv(depth("tanh", layers=3, width=16, batch=4)) == "\n".join(rows) + "\n"


def test_the_panel_draws_the_numbers() -> None:
    result = depth(["tanh", "relu"], layers=6, width=32, batch=8)
    fig = depth_figure(result)
    panels = fig.axes[7:]
    assert len(panels) == 2
    for ax, run in zip(panels, result.runs, strict=True):
        assert ax.get_title() == pairs_title(run)
        kind, layer = claims([c.measured for c in run.correlations])
        assert ax.get_title() == "input pairs: " + kind + (
            "" if layer is None else f" from layer {layer} on"
        )
        dots = [line for line in ax.lines if line.get_marker() == "o"]
        # the predicted lines: the dotted 0.99 line has two points
        curves = [
            line
            for line in ax.lines
            if line.get_marker() != "o" and len(np.asarray(line.get_xdata())) > 2
        ]
        assert len(dots) == len(curves) == len(CORRELATION_STARTS)
        for dot, curve, corr in zip(dots, curves, run.correlations, strict=True):
            np.testing.assert_array_equal(dot.get_xdata(), range(1, 7))
            np.testing.assert_array_equal(dot.get_ydata(), corr.measured)
            np.testing.assert_array_equal(curve.get_ydata(), corr.predicted)
            assert dot.get_color() == curve.get_color()
    key = fig.legends[-1]
    assert [t.get_text() for t in key.get_texts()] == [
        "start 0", "start 0.5", "start 0.9", "start 0.99",
        f"measured (mean of {CORRELATION_PAIRS} pairs)", "mean-field", "0.99: collapsed above",
    ]  # fmt: skip


def test_a_float64_fixed_point_is_repeated_exactly() -> None:
    """sigmoid collapses: its map comes back to the last bit within a few dozen
    layers, and the later layers are copied, not recomputed: still the recursion's."""
    run = run_of("sigmoid", 40, 64)
    rows = [c.predicted for c in run.correlations]
    assert rows[0][-1] == rows[0][-2] == rows[0][-10]
    assert prediction_problems(run, 1e-9) == []


@pytest.mark.slow
def test_the_readmes_words() -> None:
    """relu drives every pair towards 1 (its arc-cosine map lies above the diagonal
    on [0, 1)); tanh at its auto gain and σ_b = 0 drives every pair to 0 (its map
    lies below the diagonal; mean-field: every start below 0.004 by layer 100)."""
    grid = np.linspace(0.0, 0.9999, 2001)
    assert all(arc_cosine(c) > c for c in grid)
    for corr in run_of("relu", 30, 256).correlations:
        predicted = [v for v in corr.predicted if v is not None]
        assert all(b > a for a, b in itertools.pairwise(predicted))
    (tanh,) = depth("tanh", layers=100, width=64, batch=4, baseline=False).runs
    assert tanh.predicted_correlation.kind == "met"
    sigma_w, _ = sigmas(tanh)
    for corr in tanh.correlations:
        predicted = [v for v in corr.predicted if v is not None]
        assert len(predicted) == 100 and predicted[-1] < 0.004
        if corr.start:
            assert all(b < a for a, b in itertools.pairwise(predicted))
    # below the diagonal on (0, 1) at the variance the layers have settled to
    _, qs, _ = path("tanh", 100, 0.5, sigma_w, 0.0)
    assert all(
        sigma_w**2 * cross("tanh", qs[-1], c) / qs[-1] < c for c in np.linspace(0.01, 0.99, 50)
    )


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_figure_fits_with_and_without_pairs(theme: str) -> None:
    from tests.test_depth_plots import DPIS, geometry

    wide = depth(["tanh", "relu", "gelu"], layers=4, width=16, batch=4)
    # (4 layers: at 3, a lone activation's colour bar label leaves the figure, as before
    # the correlation row was added)
    narrow = depth("tanh", layers=4, width=1, batch=4)
    for dpi in DPIS:
        assert geometry(depth_figure(wide, theme=theme), dpi) == []
        assert geometry(depth_figure(narrow, theme=theme), dpi) == []
