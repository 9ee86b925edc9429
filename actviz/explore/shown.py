"""What the page shows of one curve besides its samples, worked out with the curve
(in the worker that probed it): the regime of each sample, where the lines
break, the shading, the underflow edges and the summary in words."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from actviz.probing import Probe
    from actviz.saturation import Saturation

# Regime codes of the per-sample array (index → what the hover says).
REGIME_CODES = ("active", "linear", "saturated", "dead", "dead (rounded)")
SHADED = ("dead", "rounded", "saturated", "linear")  # drawn in this order


@dataclass(frozen=True, eq=False)
class Shown:
    """The page's view of one curve: ``codes`` (an index into :data:`REGIME_CODES` per
    sample), ``smooth`` (f″ is drawn: not piecewise linear) and ``description`` (the
    JSON the page reads: breaks, peak, edges, shading, summary)."""

    codes: np.ndarray
    smooth: bool
    description: dict[str, Any]


def shown(probe: Probe, saturation: Saturation) -> Shown:
    import numpy as np

    x = probe.x
    codes = np.zeros(len(x), dtype=np.uint8)
    for i, regime in enumerate(REGIME_CODES[:4]):
        codes[saturation.regime == regime] = i
    rounded = (
        np.zeros(len(x), dtype=bool)
        if saturation.rounded is None
        else np.asarray(saturation.rounded, dtype=bool)
    )
    codes[rounded & (saturation.regime == "dead")] = REGIME_CODES.index("dead (rounded)")
    smooth = not probe.spec.activation.piecewise_linear and probe.grad2 is not None
    underflow = saturation.underflow.get(probe.dtype)
    edges = (
        [underflow.side("left", "underflow"), underflow.side("right", "underflow")]
        if underflow is not None
        else [None, None]
    )
    description = {
        "n": len(x),
        "span": saturation.span,
        "breaks": {
            key: _breaks(probe, field)
            for key, field in (("y", "y"), ("g", "grad"), ("g2", "grad2"))
            if key != "g2" or smooth
        },
        "peak": int(np.flatnonzero(x == saturation.peak_at)[0]),
        "edges": [_finite(e) for e in edges],
        "shade": _shading(saturation, x, rounded),
        "facts": [list(row) for row in saturation.summary_rows()],
        "derivative": derivative_text(probe),
    }
    return Shown(codes, smooth, description)


def derivative_text(probe: Probe) -> str:
    """The f′ formula and what torch returns at each kink for this curve's parameters
    in its dtype (leaky_relu at negative_slope 0: ``f′(0) = 0``), as actviz prints
    numbers (actviz.display.number): the sample at a kink as the hover reads it."""
    import torch

    from actviz.display import number
    from actviz.evaluation import differentiate, torch_dtype

    activation = probe.spec.activation
    kinks = activation.kinks(probe.params)
    if not kinks:
        return activation.derivative_formula
    x = torch.tensor(kinks, dtype=torch.float64).to(torch_dtype(probe.dtype)).requires_grad_()
    _, grad, _ = differentiate(probe.spec, x, second=False, train=False)
    at = [
        f"f′({number(k, probe.dtype)}) = {number(g, probe.dtype)}"
        for k, g in zip(x.detach().double().tolist(), grad.double().tolist(), strict=True)
    ]
    where = "the kinks" if len(at) > 1 else "the kink"
    return f"{activation.derivative_formula}; torch at {where}: {', '.join(at)}"


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _breaks(probe: Probe, field: str) -> list[int]:
    """The samples where f (``"y"``), f′ (``"grad"``) or f″ jumps (:meth:`Probe.jumps`:
    relu′ at 0, hardshrink at ±λ): the page's line breaks there, and the sample, torch's
    one-sided value at the kink, stands alone."""
    import numpy as np

    if not probe.spec.activation.kinks(probe.params):
        return []
    at = [kink for kink, _, _ in probe.jumps(field)]
    return [int(i) for i in np.flatnonzero(np.isin(probe.x, at))]


def _shading(
    saturation: Saturation, x: np.ndarray, rounded: np.ndarray
) -> dict[str, list[list[float]]]:
    """Per regime, the stretches of x the PNGs shade (actviz.plotting.shaded_spans)."""
    import numpy as np

    from actviz.plotting import shaded_spans

    inside = saturation.interior_small
    found: dict[str, list[list[float]]] = {}
    for regime in SHADED:
        where = np.asarray(saturation.regime == ("dead" if regime == "rounded" else regime))
        if regime == "dead":
            where = where & ~rounded
        elif regime == "rounded":
            where = where & rounded
        if not where.any():
            continue
        # As plotting.shade_regimes: an interval joins two samples of the regime only
        # where f′ at its midpoint is of their kind (small for dead and saturated).
        joinable = None if inside is None else inside == (regime != "linear")
        spans, covered = shaded_spans(np.asarray(x, dtype=float), where, joinable)
        found[regime] = _intervals(spans, covered)
    return found


def _intervals(spans: np.ndarray, covered: np.ndarray) -> list[list[float]]:
    """``fill_between``'s (x, where) as [from, to] stretches."""
    found: list[list[float]] = []
    start: float | None = None
    end = 0.0
    for value, on in zip(spans.tolist(), covered.tolist(), strict=True):
        if on and start is None:
            start = value
        if on:
            end = value
        if not on and start is not None:
            found.append([start, end])
            start = None
    if start is not None:
        found.append([start, end])
    return found
