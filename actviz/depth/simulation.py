"""What saturation does to a deep network: a real torch MLP, measured layer by layer.

``L`` blocks of ``nn.Linear(width, width)`` + the activation, weights drawn by
an init scheme with a gain, fed a seeded batch of N(0, 1) inputs; forward,
then backward from an output gradient (:data:`OUTPUT_GRADS`): by default a
seeded random N(0, 1) one, what mean-field theory assumes and training sees;
``ones`` (``out.backward(torch.ones_like(out))``, the gradient of Σ outputs) or
``loss`` (the gradient of an MSE loss against a seeded random target). Each
layer reports its pre-activation and activation statistics, the share of
saturated and dead units (against the activation's own peak |f′|, as ``actviz
saturation`` judges them) and the gradient std flowing back into its input and
its weights. The gradient's ratio from layer L to layer 1 is compared with
mean-field theory's prediction (:func:`mean_field_ratio`). Pairs of inputs of
known correlation (:data:`CORRELATION_STARTS`) go through the same layers in a
forward of their own: their pre-activations' correlation per layer, beside
mean-field's correlation map composed with each layer's q
(:func:`mean_field_correlations`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from actviz.defaults import DEFAULT_EPS, NOTEBOOK_WIDE_DPI
from actviz.depth.gain import check_bias_std
from actviz.environment import environment, one_thread
from actviz.errors import InvalidParameterError, UsageError, arg
from actviz.registry import Spec

if TYPE_CHECKING:
    import numpy as np
    import torch
    from torch import nn

INITS = ("kaiming", "xavier", "orthogonal", "default")
GAIN_MODES = ("auto", "backward", "critical", "torch")
HIST_BINS = 61
STABLE_FACTOR = 2.0  # gradient at layer 1 within this factor of layer L: stable
# What the last layer's output is differentiated with: a seeded random N(0, 1)
# gradient (the default), torch.ones_like (the gradient of Σ outputs) or an MSE
# loss against a seeded random N(0, 1) target.
OUTPUT_GRADS = ("random", "ones", "loss")
# The measured gradient ratio agrees with mean-field's prediction when within this
# factor of it (finite width: relu/He at width 256 over 30 layers, 0.8–1.2×).
MEAN_FIELD_FACTOR = 1.5
# The caps keep every `depth` under 1 GB and 30 s on a loaded 2-core machine
# (bench/caps.py measures them); they are counted before anything is built.
MAX_LAYERS = 1_000  # each layer costs Python time (statistics, histograms) however small
MAX_UNITS = 10_000_000  # layers × width × batch: autograd keeps ~12 floats per unit
MAX_WEIGHTS = 16_000_000  # layers × width²: weights and their gradients, 8 bytes each
# Multiply-adds of all the runs together (one thread runs them, about 2·10¹⁰ a
# second): 3 × width² × batch per layer (forward and backward), 2 × width³ per
# layer for orthogonal's QR, and 5·10⁷ for each layer's own statistics (measured:
# Python time, not flops).
MAX_WORK = 100_000_000_000
LAYER_OVERHEAD = 50_000_000
# Pairs of inputs of known correlation, run through the same network in a forward
# of their own: what mean-field's correlation map predicts, measured. 0 is two
# unrelated inputs, 0.99 two near-duplicates; the question depth raises is whether
# they stay apart (below 1) or collapse to one. No negative start: an odd f mirrors
# the positive one (C(−c) = −C(c)), and a fifth curve would crowd the panel.
CORRELATION_STARTS = (0.0, 0.5, 0.9, 0.99)
# Pairs per start: one pair's correlation at width n scatters by about (1 − c²)/√n
# (0.06 at width 256); the mean of 16 independent pairs by a quarter of that (deep
# down less: there every input is alike, and the network's own deviation is common
# to all pairs). They cost 16 × 5 rows (one input a per pair, shared by every
# start, and its partner b per start), forward only: at the default batch of 256,
# a tenth of the batch's multiply-adds.
CORRELATION_PAIRS = 16
# Every start within this of 1: the pairs have collapsed; within this of each
# other (short of 1): they have met, wherever they started.
COLLAPSE_GAP = 0.01


@dataclass(frozen=True)
class LayerStats:
    """One block ``a = f(W·x + b)``; ``grad_input`` is the gradient std at its x."""

    layer: int  # 1-based
    pre_mean: float
    pre_std: float
    act_mean: float
    act_std: float
    saturated: float  # share of units with 0 < |f′| < eps·peak
    dead: float  # share with f′ exactly 0
    grad_input_std: float
    grad_weight_std: float

    def as_dict(self) -> dict[str, Any]:
        return {k: _finite(v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class Correlation:
    """Pairs of inputs of one starting correlation followed through the network.

    ``measured[l - 1]``: at layer l, the mean over the pairs (a, b) of their
    pre-activations' correlation as mean-field defines it, uncentred:
    q_ab / √(q_aa·q_bb) with q_ab = mean_i h_i(a)·h_i(b) over the layer's units
    (NaN where q_aa or q_bb is 0 or not finite). ``predicted[l - 1]``: mean-field's
    c_l, the correlation map composed with the network's σ_w, σ_b and each layer's
    q (None from where q leaves the quadrature's range, or E[f²] is 0). Layer l's
    pre-activations have passed l − 1 activations: c_1 is the start itself
    (mixed with the bias, (σ_w²·c + σ_b²)/(σ_w² + σ_b²))."""

    start: float
    pairs: int
    measured: tuple[float, ...]
    predicted: tuple[float | None, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "pairs": self.pairs,
            "measured": [_finite(v) for v in self.measured],
            "predicted": [None if v is None else _finite(v) for v in self.predicted],
        }


@dataclass(frozen=True)
class CorrelationVerdict:
    """What became of the input pairs by the last layer (:func:`correlation_verdict`):
    ``kind`` "collapsed", "met", "apart" or "none", ``layer`` from which layer on
    (collapsed and met), ``text`` in words."""

    kind: str
    layer: int | None
    text: str

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "layer": self.layer, "text": self.text}


@dataclass(frozen=True, eq=False)
class Histogram:
    """Density of one layer's values (bin centres), as ``torch.histogram(density=True)``."""

    centers: np.ndarray
    density: np.ndarray


@dataclass(frozen=True, eq=False)
class LogHistogram:
    """Density of log10|v| over one layer's values, per decade (bin centres), on
    ``HIST_BINS`` bins from ``low`` to ``high``: the smallest and largest log10|v|
    (± 0.5 if they are equal). What a log axis cannot show is counted, not
    dropped: ``zeros`` values are exactly 0, ``nonfinite`` are inf or nan. The
    density integrates to the share drawn, (count − zeros − nonfinite) / count."""

    centers: np.ndarray
    density: np.ndarray
    low: float  # nan when nothing is drawn
    high: float
    count: int
    zeros: int
    nonfinite: int


@dataclass(frozen=True)
class Verdict:
    """What happened to the gradient between the last layer and the first."""

    kind: str  # "vanishing", "exploding", "stable" or "dead"
    ratio: float  # grad std at layer 1 / at layer L
    spread: float  # max / min grad std over the layers
    text: str


@dataclass(frozen=True, eq=False)
class DepthRun:
    """One network: its settings and the statistics of every layer."""

    spec: Spec
    init: str
    gain: float | None  # None: nn.Linear's default init
    gain_mode: str  # "auto", "backward", "critical", "torch", "number", "default", "dks" or "tat"
    bias_std: float
    width: int
    batch: int
    seed: int
    eps: float
    layers: tuple[LayerStats, ...]
    activations: tuple[Histogram, ...]
    # of log10|g|, g the gradient at each layer's input: layers differ by orders of magnitude
    gradients: tuple[LogHistogram, ...]
    # (both empty for the default-init baselines, whose histograms are not drawn)
    note: str | None = None  # where the gain cannot keep the signal as it is
    output_grad: str = "random"  # one of OUTPUT_GRADS
    # mean-field's gradient ratio, layer 1 / layer L (None where q leaves the quadrature's range)
    predicted_ratio: float | None = None
    # the same network's ratio under a random output gradient (measured when
    # output_grad is not "random": whether a difference is the probe)
    random_ratio: float | None = None
    # pairs of inputs of known correlation, one per start in CORRELATION_STARTS
    # (empty for the default-init baselines, whose correlations are not drawn, and
    # at width 1, where no two inputs have a correlation below 1)
    correlations: tuple[Correlation, ...] = ()

    @property
    def label(self) -> str:
        return self.spec.label

    @property
    def probe_words(self) -> str:
        """The output gradient in a figure's few words."""
        return {"random": "random output grad", "ones": "out.backward(ones)",
                "loss": "MSE loss"}[self.output_grad]  # fmt: skip

    @property
    def setting(self) -> str:
        """``kaiming, gain 1.593 (auto)`` or ``nn.Linear default init``."""
        if self.gain is None:
            return "nn.Linear default init"
        bias = f", bias std {self.bias_std:g}" if self.bias_std else ""
        return f"{self.init}, gain {self.gain:.4g} ({self.gain_mode}){bias}"

    @property
    def verdict(self) -> Verdict:
        return verdict(self.layers)

    @property
    def mean_field(self) -> MeanField:
        return compare_mean_field(self)

    @property
    def correlation(self) -> CorrelationVerdict:
        """What became of the input pairs in the network (the measured values)."""
        return correlation_verdict([c.measured for c in self.correlations])

    @property
    def predicted_correlation(self) -> CorrelationVerdict:
        """What mean-field theory says becomes of them."""
        return correlation_verdict([c.predicted for c in self.correlations])

    @property
    def collapse_gap(self) -> float:
        """:data:`COLLAPSE_GAP`: pairs within it of 1 have collapsed (for the figure,
        which does not import this module)."""
        return COLLAPSE_GAP

    @property
    def correlation_text(self) -> str:
        """``input pairs (16 per start) at layer 30, pre-activation correlation measured
        (mean-field): 0 → 0.9657 (0.9705), …; measured: apart (…); mean-field: apart too``."""
        return correlation_text(self.correlations)

    @property
    def forward_text(self) -> str:
        """``activation std 0.75 → 0.62 over 30 layers (within 1.2×)``."""
        first, last = self.layers[0].act_std, self.layers[-1].act_std
        if (bad := _overflowed(self.layers)) is not None:
            return f"activation std {first:.3g}, overflowing at layer {bad} of {len(self.layers)}"
        return (
            f"activation std {first:.3g} → {last:.3g} over {len(self.layers)} layers "
            f"(within {self.activation_spread:.3g}×)"
        )

    @property
    def activation_spread(self) -> float:
        """max / min activation std over the layers (inf if one is 0)."""
        stds = [s.act_std for s in self.layers]
        return max(stds) / min(stds) if min(stds) > 0 else math.inf

    def __repr__(self) -> str:
        return (
            f"DepthRun(activation={self.label!r}, setting={self.setting!r}, "
            f"layers={len(self.layers)}, width={self.width}, verdict={self.verdict.kind!r})"
        )

    def as_dict(self) -> dict[str, Any]:
        v = self.verdict
        return {
            "activation": self.spec.name,
            "params": dict(self.spec.params),
            "init": self.init,
            "gain": self.gain,
            "gain_mode": self.gain_mode,
            "bias_std": self.bias_std,
            "layers": len(self.layers),
            "width": self.width,
            "batch": self.batch,
            "seed": self.seed,
            "eps": self.eps,
            "forward": {"text": self.forward_text, "spread": _finite(self.activation_spread)},
            "verdict": {
                "kind": v.kind,
                "ratio": _finite(v.ratio),
                "spread": _finite(v.spread),
                "text": v.text,
            },
            "note": self.note,
            "output_grad": self.output_grad,
            "mean_field": self.mean_field.as_dict(),
            "correlation": {
                "measured": self.correlation.as_dict(),
                "predicted": self.predicted_correlation.as_dict(),
                "text": self.correlation_text,
            },
            "correlations": [c.as_dict() for c in self.correlations],
            "per_layer": [s.as_dict() for s in self.layers],
        }


@dataclass(frozen=True, eq=False)
class Depth:
    """The runs of ``actviz depth``: one per activation, and the same networks at
    nn.Linear's default init for comparison (``baselines``, empty if not asked)."""

    runs: tuple[DepthRun, ...]
    baselines: tuple[DepthRun, ...] = ()

    def __repr__(self) -> str:
        verdicts = {r.label: r.verdict.kind for r in self.runs}
        layers = len(self.runs[0].layers) if self.runs else 0
        return f"Depth(layers={layers}, verdicts={verdicts}, baselines={len(self.baselines)})"

    def _repr_png_(self) -> bytes:
        """In Jupyter: the figure ``actviz depth`` draws (histograms and std per layer)."""
        from actviz.depth.plots import depth_figure
        from actviz.plotting import figure_bytes

        return figure_bytes(depth_figure(self), "png", dpi=NOTEBOOK_WIDE_DPI)

    def as_dict(self) -> dict[str, Any]:
        return {
            "runs": [r.as_dict() for r in self.runs],
            "baselines": [r.as_dict() for r in self.baselines],
            "environment": environment().as_dict(),  # matmul and f′ bits depend on the route
        }


def _finite(value: float) -> float | None:
    """JSON has no NaN or inf: they become null."""
    return value if math.isfinite(value) else None


def _overflowed(layers: Sequence[LayerStats]) -> int | None:
    """The first layer whose activations are not finite (float32 overflowed), or None."""
    return next((s.layer for s in layers if not math.isfinite(s.act_std)), None)


def verdict(layers: Sequence[LayerStats]) -> Verdict:
    """Vanishing, exploding or stable, from the gradient std at layer 1 vs layer L.

    A forward pass that overflowed leaves nothing to judge the gradient by
    (it flows back through inf and NaN): that is the verdict then."""
    if (overflow := _overflowed(layers)) is not None:
        return Verdict("exploding", math.inf, math.inf,
                       f"exploding: the activations overflow at layer {overflow}")  # fmt: skip
    first, last = layers[0].grad_input_std, layers[-1].grad_input_std
    stds = [s.grad_input_std for s in layers]
    depth = len(layers)
    if not all(math.isfinite(s) for s in stds):
        bad = next(s.layer for s in layers if not math.isfinite(s.grad_input_std))
        return Verdict("exploding", math.inf, math.inf,
                       f"exploding: the gradient overflows at layer {bad}")  # fmt: skip
    if last == 0:
        return Verdict("dead", 0.0, math.inf,
                       f"dead: no gradient flows back into layer {depth}")  # fmt: skip
    if first == 0:
        where = next(s.layer for s in reversed(layers) if s.grad_input_std == 0)
        return Verdict("vanishing", 0.0, math.inf, f"vanishing: the gradient is exactly 0 "
                       f"from layer {where} down (dead units or float32 underflow)")  # fmt: skip
    ratio = first / last
    spread = max(stds) / min(stds) if min(stds) > 0 else math.inf
    if ratio < 1 / STABLE_FACTOR:
        kind = "vanishing"
        text = f"gradient at layer 1 is {ratio:.1e} of layer {depth}: vanishing"
    elif ratio > STABLE_FACTOR:
        kind = "exploding"
        text = f"gradient at layer 1 is {ratio:.3g}× layer {depth}: exploding"
    else:
        kind = "stable"
        text = f"stable within {spread:.3g}× over {depth} layers"
    return Verdict(kind, ratio, spread, text)


def mean_field_ratio(target: Spec, layers: int, *, sigma_w: float, sigma_b: float) -> float | None:
    """Mean-field theory's gradient std at layer 1 over layer ``layers``.

    Inputs ~ N(0, 1) give layer 1 the pre-activation variance q₁ = σ_w² + σ_b²;
    then q ← σ_w²·E[f(√q·z)²] + σ_b², and each layer the gradient passes back
    through multiplies its second moment by σ_w²·E[f′(√q·z)²] (χ₁ where q = q*),
    by :mod:`actviz.depth.gain`'s quadrature. From layer L's input to layer 1's
    it passes layers 1 … L − 1. None where q leaves the quadrature's range
    (above :data:`~actviz.depth.gain.Q_MAX`: the signal diverges) or f is not
    finite on the whole real line."""
    from actviz.depth.gain import Q_MAX, moments
    from actviz.errors import CustomActivationError

    try:
        m = moments(target)
    except CustomActivationError:
        return None
    w2 = sigma_w * sigma_w
    q = w2 + sigma_b * sigma_b
    log_ratio2 = 0.0
    for _ in range(layers - 1):
        if not q <= Q_MAX:
            return None
        factor = w2 * m.grad2(q)
        if factor == 0:
            return 0.0
        log_ratio2 += math.log(factor)
        q = w2 * m.f2(q) + sigma_b * sigma_b
    try:
        return math.exp(log_ratio2 / 2)
    except OverflowError:
        return math.inf


def mean_field_correlations(
    target: Spec,
    layers: int,
    starts: Sequence[float] = CORRELATION_STARTS,
    *,
    sigma_w: float,
    sigma_b: float,
) -> list[list[float | None]]:
    """Mean-field's correlation of two inputs' pre-activations at layers 1 … ``layers``,
    for each starting correlation in ``starts`` (the inputs', each of second moment 1).

    Layer 1: q₁ = σ_w² + σ_b², c₁ = (σ_w²·c + σ_b²)/q₁. Then, with (u, v) of variance
    q_l and correlation c_l, c_{l+1} = (σ_w²·E[f(u)·f(v)] + σ_b²)/q_{l+1}, where
    q_{l+1} = σ_w²·E[f(√q_l·z)²] + σ_b² is the length map :func:`mean_field_ratio`
    follows (:mod:`actviz.depth.gain`'s quadrature) and E[f(u)·f(v)] is
    :func:`actviz.depth.cmap.kernel.cross_moments` at q_l. None from the layer where q
    leaves the quadrature's range (above :data:`~actviz.depth.gain.Q_MAX`; below
    :data:`~actviz.depth.gain.Q_MIN` q is taken as Q_MIN, the limit q → 0⁺, as the
    gradient's prediction does), where q is 0, or where f is not finite."""
    from actviz.depth.cmap.kernel import cross_moments
    from actviz.depth.gain import Q_MAX, Q_MIN, moments
    from actviz.errors import CustomActivationError

    found: list[list[float | None]] = [[] for _ in starts]
    w2, b2 = sigma_w * sigma_w, sigma_b * sigma_b
    q = w2 + b2
    try:
        m = moments(target)
    except CustomActivationError:
        q = 0.0  # f is not finite somewhere: no prediction
    cs = [(w2 * c + b2) / q for c in starts] if q > 0 else []
    for layer in range(1, layers + 1 if cs else 1):
        for row, c in zip(found, cs, strict=True):
            row.append(c)
        if layer == layers or not q <= Q_MAX:
            break
        q = max(q, Q_MIN)
        following = w2 * m.f2(q) + b2
        try:
            cross = cross_moments(target, cs, q=q)
        except CustomActivationError:
            break
        if not (following > 0 and math.isfinite(following)):
            break
        new = [(w2 * float(e) + b2) / following for e in cross]
        if new == cs and following == q:
            # a fixed point of the float64 map itself (collapsing activations reach one
            # within a few dozen layers): every later layer repeats it, exactly
            for row, c in zip(found, cs, strict=True):
                row.extend([c] * (layers - layer))
            break
        cs, q = new, following
    for row in found:
        row.extend([None] * (layers - len(row)))
    return found


def correlation_verdict(curves: Sequence[Sequence[float | None]]) -> CorrelationVerdict:
    """What became of the pairs by the last layer, one curve (a value per layer) per
    start: "collapsed" (every start within :data:`COLLAPSE_GAP` of 1), "met" (every
    start within the gap of the others, short of that: where they started is
    forgotten), "apart" (neither) or "none" (a start has no finite value there).
    ``layer``: from which layer on it has been so (None for apart and none)."""
    depth = len(curves[0]) if curves else 0
    gap = COLLAPSE_GAP

    def values(layer: int) -> list[float] | None:
        found = [curve[layer - 1] for curve in curves]
        return [v for v in found if v is not None and math.isfinite(v)] if found else None

    def since(holds: Callable[[list[float]], bool]) -> int:
        layer = depth
        while layer > 1 and len(v := values(layer - 1) or []) == len(curves) and holds(v):
            layer -= 1
        return layer

    last = values(depth) if depth else None
    if not last or len(last) < len(curves):
        return CorrelationVerdict(
            "none", None, "not measurable (no finite correlation at the last layer)"
        )
    low, high = min(last), max(last)
    if low >= 1 - gap:
        layer = since(lambda v: min(v) >= 1 - gap)
        return CorrelationVerdict("collapsed", layer, f"collapsed from layer {layer} on "
                                  f"(every start within {gap:g} of 1)")  # fmt: skip
    if high - low <= gap:
        layer = since(lambda v: max(v) - min(v) <= gap)
        return CorrelationVerdict("met", layer, f"met from layer {layer} on (every start "
                                  f"within {gap:g} of the others, at {_corr(low)}–{_corr(high)}, "
                                  "short of 1)")  # fmt: skip
    return CorrelationVerdict("apart", None, f"apart ({_corr(low)} to {_corr(high)}: neither "
                              f"within {gap:g} of 1 nor of each other)")  # fmt: skip


def _corr(value: float | None) -> str:
    """A correlation in the texts: 4 decimals (0.9996, where 4 significant digits say 1)."""
    from actviz.display import MISSING

    if value is None or not math.isfinite(value):
        return MISSING
    return f"{value:.4f}".replace("-0.0000", "0.0000")


def correlation_text(correlations: Sequence[Correlation]) -> str:
    """The last layer's correlation per start, measured (mean-field), and what became of
    the pairs in the network and in mean-field theory."""
    if not correlations:
        return "input pairs: none (width 1 has no two inputs of correlation below 1)"
    depth = len(correlations[0].measured)
    pairs = ", ".join(
        f"{c.start:g} → {_corr(c.measured[-1])} ({_corr(c.predicted[-1])})" for c in correlations
    )
    measured = correlation_verdict([c.measured for c in correlations])
    predicted = correlation_verdict([c.predicted for c in correlations])
    if predicted.kind == "none":
        theory = "mean-field: no prediction at the last layer (q leaves the quadrature's range)"
    elif predicted.kind == measured.kind:
        since = "" if predicted.layer is None else f", from layer {predicted.layer} on"
        theory = f"mean-field: {predicted.kind} too{since}"
    else:
        theory = f"mean-field: {predicted.text}"
    return (
        f"input pairs ({correlations[0].pairs} per start) at layer {depth}, pre-activation "
        f"correlation measured (mean-field): {pairs}; measured: {measured.text}; {theory}"
    )


def positively_homogeneous(target: Spec) -> bool:
    """f(c·x) = c·f(x) for c > 0 (relu, leaky relu): checked in float64 on a grid."""
    import numpy as np

    from actviz.errors import ActvizError
    from actviz.evaluation import evaluate

    x = np.linspace(-4.0, 4.0, 81)
    try:
        _, f1, _ = evaluate(target, x, dtype="float64")
        _, f3, _ = evaluate(target, 3 * x, dtype="float64")
    except ActvizError:
        return False
    return bool(np.allclose(f3, 3 * f1, rtol=1e-9, atol=1e-12))


@dataclass(frozen=True)
class MeanField:
    """The measured gradient ratio (layer 1 / layer L) beside mean-field's."""

    predicted: float | None
    measured: float
    random: float | None  # the same network under a random output gradient
    agrees: bool | None  # None: nothing to compare
    probe: bool  # the difference is the output gradient: random agrees, it does not
    text: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "predicted_ratio": None if self.predicted is None else _finite(self.predicted),
            "measured_ratio": _finite(self.measured),
            "random_ratio": None if self.random is None else _finite(self.random),
            "agrees": self.agrees,
            "probe": self.probe,
            "text": self.text,
        }


def _times(value: float) -> str:
    return f"{value:.3g}×"


def within(measured: float, predicted: float, factor: float = MEAN_FIELD_FACTOR) -> bool:
    """``measured`` within ``factor`` of ``predicted`` (both positive and finite)."""
    if not (0 < measured < math.inf and 0 < predicted < math.inf):
        return measured == predicted
    return abs(math.log(measured / predicted)) <= math.log(factor)


def _probe_reason(run: DepthRun) -> str:
    homogeneous = positively_homogeneous(run.spec)
    why = f" ({run.label} is positively homogeneous)" if homogeneous else ""
    if run.output_grad == "ones":
        if homogeneous:
            return f"the all-ones gradient keeps a component along the activations{why}"
        return "the all-ones gradient (of Σ outputs) is correlated with the forward signal"
    return (
        "the MSE gradient 2(y − t)/n contains the output y itself, a component along "
        f"the activations{why}"
    )


def compare_mean_field(run: DepthRun) -> MeanField:
    """Say whether ``run``'s gradient ratio is mean-field's, and when it is not,
    whether the output gradient (the probe) is why."""
    v = run.verdict
    depth = len(run.layers)
    p, r, rr = run.predicted_ratio, v.ratio, run.random_ratio
    under = "" if run.output_grad == "random" else f" under --output-grad {run.output_grad}"
    if p is None:
        text = (
            "mean-field: no prediction (the variance map leaves the quadrature's range, "
            "or f is not finite everywhere)"
        )
        return MeanField(None, r, rr, None, False, text)
    head = f"mean-field predicts {_times(p)} (layer 1 / layer {depth})"
    if not (0 < r < math.inf) or not (0 < p < math.inf):
        text = f"{head}; measured {v.kind}{under}, no ratio to compare"
        return MeanField(p, r, rr, True if r == p else None, False, text)
    if within(r, p):
        return MeanField(p, r, rr, True, False, f"{head}; measured {_times(r)}{under}: agrees")
    if run.output_grad != "random" and rr is not None and within(rr, p):
        text = (
            f"{head}; measured {_times(r)}{under}: {_probe_reason(run)}; with a random output "
            f"gradient it is {_times(rr)} on this network, as mean-field predicts"
        )
        return MeanField(p, r, rr, False, True, text)
    random = "" if rr is None else f" (with a random output gradient, {_times(rr)})"
    # under a random output gradient there is no probe to blame; under ones or loss,
    # the same network under a random gradient disagrees too
    probe = "" if run.output_grad == "random" else ", and not because of the probe"
    text = (
        f"{head}; measured {_times(r)}{under}{random}: disagrees (beyond "
        f"{MEAN_FIELD_FACTOR:g}×){probe}; mean-field is the infinite-width limit, and at "
        f"width {run.width} finite-width fluctuations compound over {depth} layers"
    )
    return MeanField(p, r, rr, False, False, text)


def resolve_gain(target: Spec, init: str, gain: str | float, bias_std: float) -> tuple[float, str]:
    """The number behind ``--gain`` for ``target``, and how it was chosen."""
    from actviz.depth import gain as init_gain

    if isinstance(gain, (int, float)) or _is_number(gain):
        value = float(gain)
        if not (math.isfinite(value) and value > 0):
            raise InvalidParameterError(f"gain must be a positive number (got {gain!r})")
        return value, "number"
    if gain not in GAIN_MODES:
        raise UsageError(
            f"unknown gain {gain!r}; choose one of {', '.join(GAIN_MODES)} or give a number"
        )
    if gain == "torch":
        found = init_gain.torch_gain(target)
        if found is None:
            raise UsageError(
                f"torch.nn.init.calculate_gain has no gain for {target.label}; "
                f"use {arg('gain', 'auto')} (computed) or a number"
            )
        return found, "torch"
    m = init_gain.moments(target)
    if gain == "auto":
        return 1 / math.sqrt(m.f2()), "auto"
    if gain == "backward":
        return 1 / math.sqrt(m.grad2()), "backward"
    critical = init_gain.critical_sigma_w(m, bias_std)
    if critical is None:
        raise UsageError(
            f"{target.label} has no critical σ_w (χ₁ = 1) in {init_gain.SIGMA_W_SCAN} at "
            f"bias std {bias_std:g}; use {arg('gain', 'auto')} or a number"
        )
    return critical, "critical"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _check(
    layers: int,
    width: int,
    batch: int,
    init: str,
    bias_std: float,
    eps: float,
    *,
    names: int = 1,
    baseline: bool = False,
) -> None:
    for name, value in (("layers", layers), ("width", width), ("batch", batch)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidParameterError(f"{name} must be a whole number (got {value!r})")
        if value < 1:
            raise InvalidParameterError(f"{name} must be at least 1 (got {value})")
    if init not in INITS:
        raise UsageError(f"unknown init {init!r}; choose one of {', '.join(INITS)}")
    check_cost(layers, width, batch, init, names=names, baseline=baseline)
    check_bias_std(bias_std)
    if not 0 < eps < 1:
        raise InvalidParameterError(f"eps must be between 0 and 1 (got {eps:g})")
    if width * batch == 1:  # every std below is over width × batch values per layer
        raise InvalidParameterError(
            "width 1 and batch 1 leave one value per layer, which has no spread to measure "
            f"(each std is over width × batch values); use {arg('batch', 2)} or more"
        )


def depth_work(
    layers: int, width: int, batch: int, init: str, *, names: int = 1, baseline: bool = False
) -> int:
    """Multiply-adds of :func:`depth` for these sizes (compared with :data:`MAX_WORK`)."""
    runs = names * (2 if baseline and init != "default" else 1)
    work = runs * layers * (3 * width * width * batch + LAYER_OVERHEAD)
    if init == "orthogonal":
        work += names * layers * 2 * width**3  # QR of each weight matrix
    return work


def check_cost(
    layers: int, width: int, batch: int, init: str, *, names: int = 1, baseline: bool = False
) -> None:
    """Refuse sizes above the caps (:data:`MAX_LAYERS`, :data:`MAX_UNITS`,
    :data:`MAX_WEIGHTS`, :data:`MAX_WORK`) before anything is allocated."""
    if layers > MAX_LAYERS:
        raise InvalidParameterError(
            f"layers ({arg('layers')}) = {layers:,} is above the cap of {MAX_LAYERS:,}"
        )
    if layers * width * batch > MAX_UNITS:
        raise InvalidParameterError(
            f"layers × width × batch = {layers * width * batch:,} is above the cap of "
            f"{MAX_UNITS:,} (autograd keeps every layer); use fewer layers ({arg('layers')}), a "
            f"smaller width ({arg('width')}) or a smaller batch ({arg('batch')})"
        )
    if layers * width * width > MAX_WEIGHTS:
        raise InvalidParameterError(
            f"layers × width² = {layers * width * width:,} weights, above the cap of "
            f"{MAX_WEIGHTS:,}; use fewer layers ({arg('layers')}) or a smaller width "
            f"({arg('width')})"
        )
    work = depth_work(layers, width, batch, init, names=names, baseline=baseline)
    if work > MAX_WORK:
        runs = f"{names} activation{'s' if names > 1 else ''}"
        if baseline and init != "default":
            runs += " and their baselines" if names > 1 else " and its baseline"
        ortho = " and orthogonal's QR" if init == "orthogonal" else ""
        raise InvalidParameterError(
            f"{runs} at {layers:,} layer{'s' if layers != 1 else ''} × width {width:,} × "
            f"batch {batch:,}{ortho} "
            f"take {work:,} multiply-adds, above the cap of {MAX_WORK:,}; use "
            f"fewer activations, fewer layers ({arg('layers')}), a smaller width "
            f"({arg('width')}) or batch "
            f"({arg('batch')}), or {arg('baseline', False)}"
        )


def simulate(
    activations: str | Spec | Sequence[str | Spec],
    *,
    layers: int = 20,
    width: int = 256,
    batch: int = 256,
    init: str = "kaiming",
    gain: str | float | None = None,
    bias_std: float = 0.0,
    seed: int = 0,
    eps: float = DEFAULT_EPS,
    baseline: bool = True,
    output_grad: str = "random",
    shape: str | None = None,
) -> Depth:
    """Run the MLP for each activation and measure every layer.

    ``gain``: ``"auto"`` (actviz's forward gain, 1/sqrt(E[f(z)²]); the default),
    ``"backward"`` (1/sqrt(E[f′(z)²])), ``"critical"`` (the edge of chaos at
    ``bias_std``), ``"torch"`` (``calculate_gain``) or a number; ``init="default"``
    keeps nn.Linear's own initialisation and takes no gain. With ``baseline``
    each network is also run at nn.Linear's default init, for comparison.

    ``output_grad``: what the last layer is differentiated with: ``"random"``
    (a seeded N(0, 1) gradient, what mean-field theory and training see; the
    default), ``"ones"`` (``backward(ones_like(out))``, the gradient of Σ
    outputs, which keeps a component along the activations) or ``"loss"`` (an
    MSE loss against a seeded N(0, 1) target). Each run's ``mean_field``
    compares its gradient ratio with mean-field's prediction; its
    ``correlations`` follow pairs of inputs of known correlation layer by layer,
    measured and predicted (``correlation``: what became of them).

    ``shape``: ``"dks"`` or ``"tat"`` also runs each activation shaped for this
    depth by :func:`actviz.depth.shape.shape` (φ̂ after every layer, orthogonal weights
    of gain 1, no biases, as the methods assume), each beside the unshaped one
    at its gain; no default-init baselines then::

        import actviz
        run = actviz.simulate("tanh", layers=30).runs[0]
        run.verdict.text, [s.act_std for s in run.layers]
    """
    from actviz.evaluation import check_seed
    from actviz.registry import specs_of

    specs = specs_of(activations)
    _check(layers, width, batch, init, bias_std, eps, names=len(specs), baseline=baseline)
    seed = check_seed(seed)
    if output_grad not in OUTPUT_GRADS:
        raise UsageError(
            f"unknown output_grad {output_grad!r}; choose one of {', '.join(OUTPUT_GRADS)}"
        )
    if init == "default" and (gain is not None or bias_std):
        raise UsageError(
            f"{arg('init', 'default')} keeps nn.Linear's own weights and biases; "
            f"{arg('gain')} and {arg('bias_std')} apply to kaiming, xavier and orthogonal"
        )

    def run(
        target: Spec, init: str, value: float | None, mode: str, bias: float, hist: bool = True
    ) -> DepthRun:
        return _run(target, init=init, gain=value, mode=mode, bias_std=bias, layers=layers,
                    width=width, batch=batch, seed=seed, eps=eps, histograms=hist,
                    output_grad=output_grad)  # fmt: skip

    shaped = []
    if shape is not None:
        from actviz.depth.shape import shape as shape_activations

        if init == "default":
            raise UsageError(
                "shape runs each activation beside its shaped form at a gain; "
                f"{arg('init', 'default')} takes none"
            )
        # solved before any network is built: a refusal costs nothing
        shaped = shape_activations(specs, depth=layers, method=shape)
    runs = []
    for i, target in enumerate(specs):
        if init == "default":
            runs.append(run(target, "default", None, "default", 0.0))
            continue
        value, mode = resolve_gain(target, init, "auto" if gain is None else gain, bias_std)
        runs.append(run(target, init, value, mode, bias_std))
        if shaped:
            # what DKS and TAT assume: orthogonal weights of gain 1, no biases
            done = shaped[i]
            runs.append(run(done.transformed, "orthogonal", 1.0, done.method, 0.0))
    baselines = []
    if baseline and init != "default" and not shaped:
        # the figure draws only the baselines' std: no histograms for them
        baselines = [run(t, "default", None, "default", 0.0, hist=False) for t in specs]
    return Depth(tuple(runs), tuple(baselines))


def _linear(width: int, init: str, gain: float | None, bias_std: float) -> nn.Linear:
    from torch import nn

    if init == "default" or gain is None:
        return nn.Linear(width, width)  # kaiming_uniform_(a=√5), U(±1/√fan_in) bias: torch's own
    layer: nn.Linear = nn.utils.skip_init(nn.Linear, width, width)  # type: ignore[no-untyped-call]
    with_gain: dict[str, Any] = {
        # kaiming_normal_ takes a nonlinearity, not a gain: its std is gain/√fan_in
        "kaiming": lambda w: nn.init.normal_(w, 0.0, gain / math.sqrt(width)),
        "xavier": lambda w: nn.init.xavier_normal_(w, gain=gain),
        "orthogonal": lambda w: nn.init.orthogonal_(w, gain=gain),
    }
    with_gain[init](layer.weight)
    if bias_std:
        nn.init.normal_(layer.bias, 0.0, bias_std)
    else:
        nn.init.zeros_(layer.bias)
    return layer


def _run(
    target: Spec,
    *,
    init: str,
    gain: float | None,
    mode: str,
    bias_std: float,
    layers: int,
    width: int,
    batch: int,
    seed: int,
    eps: float,
    histograms: bool = True,
    output_grad: str = "random",
) -> DepthRun:
    import torch

    from actviz.depth.gain import TORCH_DEFAULT_SIGMA_W

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        x = torch.randn(batch, width)
        linears = [_linear(width, init, gain, bias_std) for _ in range(layers)]
        # drawn after the weights, whatever the probe: the weights stay as they were
        random_grad = torch.randn(batch, width)
        goal = torch.randn(batch, width)
        # drawn last: everything above is what it was before the pairs were added
        pairs = _pair_inputs(width) if histograms else None
    # Layers this small gain nothing from threads, and on a busy machine torch's
    # spinning workers make the run ten times slower (measured: 7.9 s vs 0.6 s);
    # one thread also keeps the bits independent of the caller's thread count.
    with one_thread():
        run = _measure(target, x, linears, init=init, gain=gain, mode=mode,
                       bias_std=bias_std, seed=seed, eps=eps, histograms=histograms,
                       output_grad=output_grad, random_grad=random_grad, goal=goal,
                       pairs=pairs)  # fmt: skip
    if gain is None:  # nn.Linear's own: σ_w² = 1/3, biases U(±1/√width), variance 1/(3·width)
        sigma_w, sigma_b = TORCH_DEFAULT_SIGMA_W, 1 / math.sqrt(3 * width)
    else:  # kaiming, xavier (square) and orthogonal all give weights of variance gain²/width
        sigma_w, sigma_b = gain, bias_std
    predicted = mean_field_ratio(target, layers, sigma_w=sigma_w, sigma_b=sigma_b)
    correlations: tuple[Correlation, ...] = ()
    if run.correlations:
        mean_field = mean_field_correlations(target, layers, sigma_w=sigma_w, sigma_b=sigma_b)
        pairs_with = zip(run.correlations, mean_field, strict=True)
        correlations = tuple(replace(c, predicted=tuple(p)) for c, p in pairs_with)
    return replace(run, predicted_ratio=predicted, correlations=correlations)


def _pair_inputs(width: int) -> torch.Tensor | None:
    """:data:`CORRELATION_PAIRS` inputs a, then for each start c in
    :data:`CORRELATION_STARTS` as many partners b = c·a + √(1 − c²)·z, from the
    global generator (seeded by the caller). Each a and z is a N(0, 1) draw scaled
    to second moment exactly 1 (|a|² = width: the batch's q⁰), z made orthogonal to
    a first (in float64), so each pair's correlation is c itself, not c plus a draw's
    scatter of 1/√width. None at width 1: no two inputs there have |c| < 1."""
    import torch

    if width < 2:
        return None
    count = CORRELATION_PAIRS
    a, z = torch.randn(2, count, width, dtype=torch.float64)
    a = a / a.norm(dim=1, keepdim=True)
    z = z - (z * a).sum(dim=1, keepdim=True) * a
    z = z / z.norm(dim=1, keepdim=True)
    rows = [a, *(c * a + math.sqrt((1 - c) * (1 + c)) * z for c in CORRELATION_STARTS)]
    return (torch.cat(rows) * math.sqrt(width)).to(torch.float32)


def _layer(
    act: Any, target: Spec, linear: nn.Linear, signal: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """One block, Linear then the activation (a custom one's output checked): the
    batch's forward and the input pairs' forward both go through it."""
    from actviz.custom import checked_output

    pre = linear(signal)
    out = act(pre)
    if target.activation.custom:
        out = checked_output(target.activation, pre, out)
    return pre, out


def _pair_correlations(
    act: Any, target: Spec, linears: Sequence[nn.Linear], pairs: torch.Tensor
) -> tuple[Correlation, ...]:
    """The pairs through the network's own layers and activation (forward only),
    their pre-activations' correlation per layer (predictions filled in later).

    Each layer's output is detached before the next: autograd runs (a custom
    activation is checked as the batch's is, and that check needs a graph) but keeps
    one layer's graph at a time, and no gradient ever reaches the weights."""
    import torch

    pres = []
    signal = pairs
    for linear in linears:
        pre, out = _layer(act, target, linear, signal)
        pres.append(pre.detach())
        signal = out.detach()
    with torch.no_grad():
        h = torch.stack(pres).to(torch.float64)  # layers × rows × width
        count = CORRELATION_PAIRS
        a = h[:, :count]
        q_aa = (a * a).mean(dim=2)
        found = []
        for i, start in enumerate(CORRELATION_STARTS):
            b = h[:, count * (i + 1) : count * (i + 2)]
            q_ab, q_bb = (a * b).mean(dim=2), (b * b).mean(dim=2)
            # 0/0 (all units dead) and inf/inf (overflow) are NaN: no correlation there
            each = q_ab / torch.sqrt(q_aa * q_bb)
            measured = each.mean(dim=1).tolist()
            found.append(Correlation(start, count, tuple(measured), (None,) * len(measured)))
    return tuple(found)


def _measure(
    target: Spec,
    x: torch.Tensor,
    linears: Sequence[nn.Linear],
    *,
    init: str,
    gain: float | None,
    mode: str,
    bias_std: float,
    seed: int,
    eps: float,
    histograms: bool,
    output_grad: str,
    random_grad: torch.Tensor,
    goal: torch.Tensor,
    pairs: torch.Tensor | None = None,
) -> DepthRun:
    import torch

    from actviz.custom import checked_output
    from actviz.errors import ActvizError, CustomActivationError

    act = target.activation.build(target.params)
    x.requires_grad_(True)
    inputs, pres, outs = [x], [], []
    try:
        signal = x
        for linear in linears:
            pre, out = _layer(act, target, linear, signal)
            out.retain_grad()
            pres.append(pre)
            outs.append(out)
            signal = out
        random_ratio = None
        if output_grad != "random":
            # the same network under a random output gradient: is a difference the probe?
            ends = [x] if len(outs) == 1 else [x, outs[-2]]
            found = torch.autograd.grad(signal, ends, random_grad, retain_graph=True)
            first, last = float(found[0].std()), float(found[-1].std())
            random_ratio = first / last if last > 0 and math.isfinite(first / last) else None
            for out in outs:  # autograd.grad fills retained grads too: they start again empty
                out.grad = None
        if output_grad == "ones":
            torch.autograd.backward(signal, torch.ones_like(signal))
        elif output_grad == "loss":
            torch.autograd.backward(torch.nn.functional.mse_loss(signal, goal))
        else:
            torch.autograd.backward(signal, random_grad)
        inputs.extend(outs[:-1])
        # f′ at every unit of every layer in one pass: out = f(pre) elementwise,
        # so the gradient of f(pre) with ones is f′(pre) itself.
        pre_all = torch.stack([p.detach() for p in pres]).requires_grad_(True)
        out_all = act(pre_all)
        if target.activation.custom:
            out_all = checked_output(target.activation, pre_all, out_all)
        (local_all,) = torch.autograd.grad(out_all, pre_all, torch.ones_like(out_all))
        correlations = () if pairs is None else _pair_correlations(act, target, linears, pairs)
    except (ActvizError, KeyboardInterrupt):
        raise
    except BaseException as error:
        if not target.activation.custom:
            raise
        raise CustomActivationError(
            f"{target.name} raised {type(error).__name__}: {error}"
        ) from error
    stats, act_hists, grad_hists = [], [], []
    with torch.no_grad():
        # every statistic for all layers at once: one reduction per quantity
        pre_all = pre_all.detach()
        outs_all = torch.stack([o.detach() for o in outs])
        grads_in = torch.stack([_grad(t) for t in inputs])
        pre_std, pre_mean = (v.tolist() for v in torch.std_mean(pre_all, dim=(1, 2)))
        act_std, act_mean = (v.tolist() for v in torch.std_mean(outs_all, dim=(1, 2)))
        grad_in_std = grads_in.std(dim=(1, 2)).tolist()
        grad_w_std = [_weight_grad_std(linear.weight) for linear in linears]
        for i in range(len(linears)):
            saturated, dead = _regimes(target, pre_all[i], local_all[i], eps)
            stats.append(
                LayerStats(
                    layer=i + 1,
                    pre_mean=pre_mean[i],
                    pre_std=pre_std[i],
                    act_mean=act_mean[i],
                    act_std=act_std[i],
                    saturated=saturated,
                    dead=dead,
                    grad_input_std=grad_in_std[i],
                    grad_weight_std=grad_w_std[i],
                )
            )
            if histograms:
                act_hists.append(histogram(outs_all[i]))
                grad_hists.append(log_histogram(grads_in[i]))
    return DepthRun(
        spec=target,
        init=init,
        gain=gain,
        gain_mode=mode,
        bias_std=bias_std,
        width=x.shape[1],
        batch=x.shape[0],
        seed=seed,
        eps=eps,
        layers=tuple(stats),
        activations=tuple(act_hists),
        gradients=tuple(grad_hists),
        note=_note(target, mode, gain, bias_std),
        output_grad=output_grad,
        random_ratio=random_ratio,
        correlations=correlations,
    )


def _note(target: Spec, mode: str, gain: float | None, bias_std: float) -> str | None:
    """Why the auto gain cannot hold the signal, or what the critical gain really is
    (a jump of χ₁, or the trivial fixed point q* = 0), where either applies."""
    from actviz.depth.gain import critical_note, forward_note, moments

    if mode == "auto":
        return forward_note(moments(target))
    if mode == "critical" and gain is not None:
        return critical_note(moments(target), gain, bias_std)
    return None


def _weight_grad_std(weight: torch.Tensor) -> float:
    """The std of a weight's gradient (n − 1 in the denominator, as every std here);
    NaN for width 1, where the weight is one number and has no spread (said so, not
    warned about: torch's "degrees of freedom is <= 0" warning is not printed)."""
    grad = _grad(weight)
    if grad.numel() == 1:
        return math.nan
    return float(grad.std())


def _grad(t: torch.Tensor) -> torch.Tensor:
    assert t.grad is not None
    return t.grad.detach().clone()


def _regimes(
    target: Spec, pre: torch.Tensor, local: torch.Tensor, eps: float
) -> tuple[float, float]:
    """Shares of saturated and dead units in one layer, from f′ at its pre-activations."""
    import numpy as np

    from actviz.saturation import below_threshold, reference_peak

    magnitude = np.abs(local.detach().flatten().numpy())
    peak = reference_peak(target, pre.detach().flatten().numpy(), magnitude)
    top = float(np.nanmax(magnitude)) if peak is None else peak.value
    dead = magnitude == 0
    saturated = below_threshold(magnitude, eps * top) & ~dead
    return float(saturated.mean()), float(dead.mean())


def histogram(values: torch.Tensor) -> Histogram:
    """The density of ``values`` over their own range, ``HIST_BINS`` bins (as
    ``torch.histogram(density=True)``, without non-finite values)."""
    import math

    import torch

    flat = values.detach().flatten()
    low, high = (float(v) for v in torch.aminmax(flat))
    if not (math.isfinite(low) and math.isfinite(high)):  # inf or nan somewhere
        flat = flat[torch.isfinite(flat)]
        if not len(flat):
            return Histogram(_array([]), _array([]))
        low, high = (float(v) for v in torch.aminmax(flat))
    if high - low <= 1e-4 * max(abs(low), abs(high)):
        flat = flat.to(torch.float64)  # float32 bins this narrow may not split
    if high == low:  # one value: a unit-wide bin around it, as numpy does
        low, high = low - 0.5, high + 0.5
    counts = torch.histc(flat, bins=HIST_BINS, min=low, max=high).to(torch.float64)
    width = (high - low) / HIST_BINS
    centers = low + width * (torch.arange(HIST_BINS, dtype=torch.float64) + 0.5)
    return Histogram(centers.numpy(), (counts / (len(flat) * width)).numpy())


def log_histogram(values: torch.Tensor) -> LogHistogram:
    """The density of log10|``values``| over their own range, ``HIST_BINS`` bins,
    in float64 (a float32 gradient of 1e-45 is 10^-44.85 there); exact zeros and
    non-finite values are counted and left out."""
    import torch

    flat = values.detach().flatten().to(torch.float64)
    finite = torch.isfinite(flat)
    nonzero = flat != 0
    logs = torch.log10(flat[finite & nonzero].abs())
    zeros, nonfinite = int((~nonzero).sum()), int((~finite).sum())
    if not len(logs):
        return LogHistogram(_array([]), _array([]), math.nan, math.nan, len(flat), zeros, nonfinite)
    low, high = (float(v) for v in torch.aminmax(logs))
    if high == low:  # one value: a unit-wide bin around it, as numpy does
        low, high = low - 0.5, high + 0.5
    counts = torch.histc(logs, bins=HIST_BINS, min=low, max=high).to(torch.float64)
    width = (high - low) / HIST_BINS
    centers = low + width * (torch.arange(HIST_BINS, dtype=torch.float64) + 0.5)
    density = (counts / (len(flat) * width)).numpy()
    return LogHistogram(centers.numpy(), density, low, high, len(flat), zeros, nonfinite)


def _array(values: list[float]) -> np.ndarray:
    import numpy as np

    return np.asarray(values, dtype=np.float64)
