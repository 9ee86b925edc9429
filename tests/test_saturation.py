"""Regimes and the peak gradient, from a probe."""

from __future__ import annotations

import numpy as np

from actviz.probe import probe
from actviz.saturation import analyze


def test_relu_left_half_dead_right_half_active() -> None:
    s = analyze(probe("relu", start=-1, stop=1, points=10))
    assert s.regime.tolist() == ["dead"] * 5 + ["active"] * 5
    assert s.peak_grad == 1.0 and s.peak_count == 5
    assert s.fraction("dead") == 0.5


def test_sigmoid_peak_and_saturation() -> None:
    p = probe("sigmoid", start=-8, stop=8, points=1601, dtype="float64")
    s = analyze(p)
    assert s.peak_grad == 0.25 and abs(s.peak_at) < 1e-12  # torch.linspace: -1.7e-16, not 0
    saturated = p.x[s.regime == "saturated"]
    # σ′ < 0.01 · 0.25 beyond |x| = ln((1 + √0.99)/(1 − √0.99)) ≈ 5.983
    edge = np.log((1 + np.sqrt(0.99)) / (1 - np.sqrt(0.99)))
    assert np.abs(saturated).min() > edge
    assert np.abs(saturated).min() < edge + 0.011


def test_all_dead_grid_has_zero_peak_and_no_nan() -> None:
    s = analyze(probe("relu", start=-3, stop=-1, points=5))
    assert s.peak_grad == 0.0 and set(s.regime) == {"dead"}
