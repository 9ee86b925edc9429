"""Where the gradient vanishes or dies, computed from a :class:`~actviz.probe.Probe`.

Regimes, per sample:

* **dead** — f′ is exactly 0: no gradient flows back at all;
* **saturated** — 0 < |f′| < eps × peak |f′|: a gradient flows but is tiny;
* **active** — everything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from actviz.probe import Probe

REGIMES = ("dead", "saturated", "active")
DEFAULT_EPS = 0.01


@dataclass(frozen=True, eq=False)
class Saturation:
    """Regime of every sample plus the summary numbers."""

    eps: float
    regime: np.ndarray  # one of REGIMES per sample
    peak_grad: float  # max |f′| over the grid
    peak_at: float  # first x where it is reached
    peak_count: int  # how many samples share the peak (relu: the whole right half)
    peak_last: float  # last x where it is reached

    def fraction(self, regime: str) -> float:
        return float((self.regime == regime).mean())

    def as_dict(self) -> dict[str, Any]:
        return {
            "eps": self.eps,
            "peak_grad": self.peak_grad,
            "peak_at": self.peak_at,
            "fractions": {r: self.fraction(r) for r in REGIMES},
        }


def analyze(probe: Probe, *, eps: float = DEFAULT_EPS) -> Saturation:
    """Classify every sample of ``probe`` and find the peak |f′|."""
    import numpy as np

    magnitude = np.abs(probe.grad)
    peak = float(np.nanmax(magnitude))
    at_peak = np.flatnonzero(magnitude == peak)
    regime = np.full(magnitude.shape, "active", dtype=object)
    regime[magnitude < eps * peak] = "saturated"
    regime[magnitude == 0] = "dead"
    return Saturation(
        eps=eps,
        regime=regime,
        peak_grad=peak,
        peak_at=float(probe.x[at_peak[0]]),
        peak_count=len(at_peak),
        peak_last=float(probe.x[at_peak[-1]]),
    )
