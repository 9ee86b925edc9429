"""A float64 reference derivative for an activation that has no exact one.

An activation imported from ``module:callable`` comes with its own backward
(autograd's, or a hand-written ``torch.autograd.Function``), and no formula
actviz could evaluate at 50 digits. Its f′ is checked against derivatives of
its own float64 f, taken by Ridders' method: central differences
``(f(x+h) − f(x−h))/2h`` for a table of steps ``h₀/1.4ᵏ``, extrapolated to
h → 0 by Richardson's rule (Numerical Recipes, "dfridr"), which also gives an
error estimate: the change between the last two extrapolations. f″ is taken
the same way from the float64 f′ (the backward under test: f″ checks the
double backward against it).

The estimate is made honest for what differences cannot see: f's own rounding.
A difference of two values of f, each off by about ``ε·s`` (``s`` the size of
the terms f is computed from, taken as ``max(|f|, |x|)``: most activations are
x times something), is off by ``ε·s/h``, so that much is added to the
estimate. Five starting steps are tried (0.5, 0.1, 0.01 and 0.001 times
``max(1, |x|)``, and half of ``|x|``, which keeps the stencil on one side of a
kink at 0); the one with the smallest estimate wins, if another one agrees with
it within their estimates, and otherwise its error is taken as the
disagreement (a table whose steps all straddle a kink can converge, smoothly
and wrongly, with a small estimate).

Where f is smooth this resolves f′ to 1e-13–1e-9 relative on [−8, 8]
(measured against mpmath for tanh, σ², softplus, gelu and mish); where f is
flat at float64's resolution (tails where f′ is far below ``ε·|x|``) or has a
kink inside every stencil, the estimate says so, and :mod:`actviz.check.verify`
reports those samples as unresolved rather than passing them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

STARTS = (0.5, 0.1, 0.01, 0.001)  # first steps, times max(1, |x|); and |x|/2
SHRINK = 1.4  # each step is the last one / SHRINK
STEPS = 12  # steps per table: h₀ down to h₀ / 1.4¹¹ ≈ h₀ / 40
SAFE = 2.0  # stop extrapolating once the error grows this much
NOISE = 8.0  # f's rounding: NOISE·ε·max(|f|, |x|) per value
RESOLVED = 1e-7  # an estimate above this fraction of |f′|: the sample is unresolved


@dataclass(frozen=True)
class Estimate:
    """A derivative at each x and the estimated absolute error of each value."""

    values: np.ndarray
    error: np.ndarray

    def resolved(self) -> np.ndarray:
        """Where the estimate is small enough that a relative error of 10·RESOLVED
        in the value checked against it cannot pass unseen."""
        import numpy as np

        return np.asarray(self.error <= RESOLVED * np.abs(self.values))


def derivative(fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> Estimate:
    """The derivative of ``fn`` (float64 values in, float64 values out, elementwise,
    one call per table: every stencil point at once) at each of ``x``."""
    import numpy as np

    x = np.asarray(x, dtype=np.float64)
    scale = np.maximum(1.0, np.abs(x))
    starts = [s * scale for s in STARTS] + [np.where(x != 0, 0.5 * np.abs(x), 0.1)]
    found = [_ridders(fn, x, start) for start in starts]
    values = np.array([e.values for e in found])  # tables × x
    errors = np.array([e.error for e in found])
    best = np.argmin(errors, axis=0)
    columns = np.arange(len(x))
    value, error = values[best, columns], errors[best, columns]
    # Ridders' estimate trusts smoothness: a table whose steps all straddle a kink can
    # settle on a wrong value with a small estimate. The best table must agree with
    # another one within their estimates; if none does, its error is the disagreement.
    with np.errstate(all="ignore"):
        apart = np.abs(values - value)
        agree = (apart <= 2 * (errors + error)) & (np.arange(len(found))[:, None] != best)
        nearest = np.min(np.where(np.arange(len(found))[:, None] != best, apart, np.inf), axis=0)
    error = np.where(agree.any(axis=0), error, np.maximum(error, nearest))
    return Estimate(value, error)


def _ridders(fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray, start: np.ndarray) -> Estimate:
    """Ridders' extrapolation of central differences from step ``start``, vectorised
    over x, with f's rounding added to the error estimate."""
    import numpy as np

    n = len(x)
    steps = start[None, :] / SHRINK ** np.arange(STEPS)[:, None]  # STEPS × n
    above, below = x + steps, x - steps
    values = np.asarray(fn(np.concatenate([above.ravel(), below.ravel()])), dtype=np.float64)
    f_above, f_below = values[: STEPS * n].reshape(STEPS, n), values[STEPS * n :].reshape(STEPS, n)
    with np.errstate(all="ignore"):
        taken = (above - below) / 2  # the steps as float64 made them
        differences = (f_above - f_below) / (2 * taken)
        size = np.maximum(np.maximum(np.abs(f_above), np.abs(f_below)), np.abs(x))
        noise = NOISE * np.finfo(np.float64).eps * size / taken  # per table row
        table = np.zeros((STEPS, STEPS, n))
        table[0, 0] = differences[0]
        answer, error = differences[0].copy(), np.full(n, np.inf)
        at = np.zeros(n, dtype=int)
        going = np.ones(n, dtype=bool)
        for i in range(1, STEPS):
            table[0, i] = differences[i]
            factor = SHRINK**2
            for j in range(1, i + 1):
                table[j, i] = (table[j - 1, i] * factor - table[j - 1, i - 1]) / (factor - 1)
                factor *= SHRINK**2
                change = np.maximum(
                    np.abs(table[j, i] - table[j - 1, i]), np.abs(table[j, i] - table[j - 1, i - 1])
                )
                better = going & (change <= error)
                answer = np.where(better, table[j, i], answer)
                error = np.where(better, change, error)
                at = np.where(better, i, at)
            going &= np.abs(table[i, i] - table[i - 1, i - 1]) < SAFE * error
        rounding = noise[at, np.arange(n)] + 4 * np.finfo(np.float64).eps * np.abs(answer)
        total = np.where(np.isfinite(answer), error + rounding, np.inf)
    return Estimate(np.where(np.isfinite(answer), answer, 0.0), total)
