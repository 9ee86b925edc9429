"""Verify autograd's f′ for each activation: against the registry's closed form
and against central finite differences, in float64, away from the kinks.

``torch.autograd.gradcheck`` (and ``gradgradcheck`` where f″ exists) gives the
verdict on the finite-difference side; the error columns report how far
autograd is from each reference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from actviz.registry import Spec

if TYPE_CHECKING:
    import torch

CHECK_RANGE = (-6.0, 6.0)
CHECK_POINTS = 241
KINK_MARGIN = 1e-3  # well beyond the finite-difference step
FD_STEP = 1e-6
CLOSED_FORM_TOLERANCE = (1e-9, 1e-7)  # (rtol, atol): float64, same formula twice
FD_TOLERANCE = (1e-3, 1e-5)  # gradcheck's own defaults
REL_FLOOR = 1e-8


@dataclass(frozen=True)
class Check:
    """The verdict for one activation."""

    activation: str
    label: str
    points: int
    closed_form_abs: float | None  # None: no closed form (a user's own activation)
    closed_form_rel: float | None
    finite_diff_abs: float
    finite_diff_rel: float
    gradcheck: bool
    gradgradcheck: bool | None  # None: f″ is 0 by construction (piecewise linear)

    @property
    def closed_form_ok(self) -> bool:
        rtol, atol = CLOSED_FORM_TOLERANCE
        if self.closed_form_abs is None or self.closed_form_rel is None:
            return True
        return self.closed_form_abs <= atol or self.closed_form_rel <= rtol

    @property
    def passed(self) -> bool:
        return self.closed_form_ok and self.gradcheck and self.gradgradcheck is not False

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}


def check_grid(target: Spec) -> torch.Tensor:
    """float64 samples on CHECK_RANGE, keeping KINK_MARGIN away from every kink."""
    import torch

    x = torch.linspace(*CHECK_RANGE, CHECK_POINTS, dtype=torch.float64)
    keep = torch.ones_like(x, dtype=torch.bool)
    for kink in target.activation.kinks(target.params):
        keep &= (x - kink).abs() > KINK_MARGIN
    return x[keep]


def verify(target: Spec) -> Check:
    """Autograd's f′ against the closed form and against finite differences."""
    from actviz.probe import autograd_checked

    x = check_grid(target).requires_grad_(True)
    # The probe's own call: a user's activation gets the same checks as in plot and table.
    _, grad = autograd_checked(target, x)
    try:
        return _compare(target, x, grad.detach())
    except Exception as error:
        if not target.activation.custom:
            raise  # a bug in actviz: let it show
        from actviz.errors import CustomActivationError

        raise CustomActivationError(
            f"{target.name} raised {type(error).__name__}: {error}"
        ) from error


def _compare(target: Spec, x: torch.Tensor, grad: torch.Tensor) -> Check:
    import torch

    module = target.activation.build(target.params).double()
    derivative = target.activation.derivative
    closed = None if derivative is None else derivative(x.detach(), target.params)
    with torch.no_grad():
        central = (module(x + FD_STEP) - module(x - FD_STEP)) / (2 * FD_STEP)
    rtol, atol = FD_TOLERANCE
    inputs = (x.detach().clone().requires_grad_(True),)
    # fast_mode checks a random projection of the Jacobian instead of all of
    # it: for an elementwise function that is the same test, 50× cheaper.
    options: dict[str, Any] = {
        "eps": FD_STEP, "atol": atol, "rtol": rtol, "raise_exception": False, "fast_mode": True,
    }  # fmt: skip
    return Check(
        activation=target.name,
        label=target.label,
        points=len(x),
        closed_form_abs=None if closed is None else _max_abs(grad, closed),
        closed_form_rel=None if closed is None else _max_rel(grad, closed),
        finite_diff_abs=_max_abs(grad, central),
        finite_diff_rel=_max_rel(grad, central),
        gradcheck=bool(torch.autograd.gradcheck(module, inputs, **options)),
        gradgradcheck=None
        if target.activation.piecewise_linear
        else bool(torch.autograd.gradgradcheck(module, inputs, **options)),
    )


def verify_all(specs: Sequence[Spec]) -> list[Check]:
    """One :func:`verify` per spec, in order."""
    return [verify(s) for s in specs]


def _max_abs(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max())


def _max_rel(a: torch.Tensor, b: torch.Tensor) -> float:
    # Relative to the reference, but not to a vanishing one: where f′ ≈ 0 the
    # absolute error is the meaningful number.
    scale = b.abs().clamp_min(REL_FLOOR)
    return float(((a - b).abs() / scale).max())
