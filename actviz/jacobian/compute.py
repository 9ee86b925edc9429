"""Jacobians of the vector activations (softmax, log_softmax, softmin): the numbers.

The seed lesson builds softmax's Jacobian row by row with
``torch.autograd.grad(p[i], [a])`` after ``p.backward()`` fails for a vector.
:func:`jacobian` computes the whole matrix with
``torch.autograd.functional.jacobian``, compares it with its closed form
(softmax: J = diag(s) − s sᵀ) and checks that every row sums to 0;
:func:`explain` shows the ``backward`` mistake and what ``grad_outputs`` does.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from actviz.display import number
from actviz.errors import UsageError, arg

if TYPE_CHECKING:
    import numpy as np
    import torch

SEED_INPUT = (0.8865, 0.8730, 0.6643)  # torch.rand(3) in the seed lesson
MAX_SIZE = 64  # a matrix you can still read (and annotate)


def _softmax_closed(s: torch.Tensor) -> torch.Tensor:
    return s.diag() - s.outer(s)


def _log_softmax_closed(s: torch.Tensor) -> torch.Tensor:
    return s.new_ones(len(s)).diag() - s.new_ones(len(s)).outer(s)


# name → (torch function of a, what s is, closed form of J from s, formula)
FUNCTIONS: dict[str, tuple[str, str, Callable[[torch.Tensor], torch.Tensor], str]] = {
    "softmax": ("softmax", "s = softmax(a)", _softmax_closed, "J = diag(s) − s sᵀ"),
    "log_softmax": ("log_softmax", "s = softmax(a)", _log_softmax_closed, "J = I − 1 sᵀ"),
    "softmin": (
        "softmin",
        "s = softmin(a)",
        lambda s: -_softmax_closed(s),
        "J = −(diag(s) − s sᵀ)",
    ),
}


@dataclass(frozen=True, eq=False)
class JacobianReport:
    """J = ∂f(a)_i/∂a_j, its closed form, and how far the two and the row sums are from exact."""

    function: str
    formula: str
    a: np.ndarray
    output: np.ndarray
    jacobian: np.ndarray
    closed_form: np.ndarray
    identity_deviation: float  # max |J − closed form|
    row_sum_deviation: float  # max |Σ_j J_ij|: every row of these Jacobians sums to 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "formula": self.formula,
            "input": self.a.tolist(),
            "output": self.output.tolist(),
            "jacobian": self.jacobian.tolist(),
            "identity_deviation": self.identity_deviation,
            "row_sum_deviation": self.row_sum_deviation,
        }

    def __repr__(self) -> str:
        # The matrix is n² numbers; a console gets its size and the two checks.
        n = len(self.jacobian)
        return (
            f"JacobianReport(function={self.function!r}, n={n}, "
            f"identity_deviation={self.identity_deviation:.1e}, "
            f"row_sum_deviation={self.row_sum_deviation:.1e})"
        )

    def _repr_html_(self) -> str:
        """Jupyter shows the matrix J[i, j] with a, f(a), the formula and both checks."""
        import html

        def cells(tag: str, values: Iterable[Any]) -> str:
            return "".join(f'<{tag} style="text-align:right">{v}</{tag}>' for v in values)

        n = len(self.jacobian)
        head = "<tr><th>i \\ j</th>" + cells("th", range(n)) + "<th>f(a)_i</th></tr>"
        rows = "".join(
            f"<tr><th>{i}</th>" + cells("td", (number(v) for v in row))
            + cells("td", [number(self.output[i])]) + "</tr>"
            for i, row in enumerate(self.jacobian)
        )  # fmt: skip
        inputs = (
            '<tr style="border-bottom:1px solid"><th>a_j</th>'
            + cells("td", (number(v) for v in self.a)) + "<td></td></tr>"
        )  # fmt: skip
        # A paragraph, not a <caption>: a caption wraps to the width of a 3 × 3 table.
        about = (
            f"J[i, j] = ∂{self.function}(a)_i / ∂a_j by autograd; {self.formula}; "
            f"max |J − closed form| = {self.identity_deviation:.1e}, "
            f"max |row sum| = {self.row_sum_deviation:.1e}"
        )
        return f"<div><p>{html.escape(about)}</p><table>{head}{inputs}{rows}</table></div>"


def check_function(name: str) -> str:
    if name not in FUNCTIONS:
        raise UsageError(f"unknown function {name!r}; choose one of {', '.join(FUNCTIONS)}")
    return name


def random_input(size: int, seed: int) -> list[float]:
    """``size`` standard-normal values from a seeded generator (the global RNG is untouched)."""
    import torch

    from actviz.evaluation import check_seed

    if not isinstance(size, int) or isinstance(size, bool) or not 2 <= size <= MAX_SIZE:
        raise UsageError(f"{arg('random')} must be between 2 and {MAX_SIZE} (got {size!r})")
    generator = torch.Generator().manual_seed(check_seed(seed))
    values: list[float] = torch.randn(size, generator=generator, dtype=torch.float64).tolist()
    return values


def jacobian_input(
    values: Sequence[float] | None = None,
    *,
    use_input: bool = False,
    random: int | None = None,
    seed: int = 0,
) -> list[float]:
    """The input a from the command line's choices: ``values`` (with ``--input``), a seeded
    random a of size ``random``, or the seed lesson's :data:`SEED_INPUT`."""
    if values and not use_input:
        raise UsageError(f"unexpected values {list(values)}; put them after {arg('use_input')}")
    if use_input and random is not None:
        raise UsageError(f"give {arg('use_input')} values or {arg('random')} N, not both")
    if use_input and not values:
        raise UsageError(
            f"{arg('use_input')} needs values, e.g. {arg('values', (0.8865, 0.873, 0.6643))}"
        )
    if use_input and values:
        return list(values)
    return random_input(random, seed) if random is not None else list(SEED_INPUT)


def _function(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    import torch.nn.functional as F

    torch_name = FUNCTIONS[check_function(name)][0]
    fn = getattr(F, torch_name)
    return lambda a: fn(a, dim=0)


def _input(values: Sequence[float]) -> torch.Tensor:
    import torch

    if not 2 <= len(values) <= MAX_SIZE:
        raise UsageError(f"give between 2 and {MAX_SIZE} input values (got {len(values)})")
    for value in values:
        if not isinstance(value, numbers.Real) or isinstance(value, bool):
            raise UsageError(f"input values must be numbers (got {value!r})")
        if not math.isfinite(value):
            raise UsageError(f"input values must be finite numbers (got {value!r})")
    return torch.tensor([float(v) for v in values], dtype=torch.float64)


def jacobian(function: str, values: Sequence[float] = SEED_INPUT) -> JacobianReport:
    """The full Jacobian of ``function`` at ``values`` (float64), checked against its
    closed form."""
    import torch

    fn = _function(function)
    a = _input(values)
    J = torch.autograd.functional.jacobian(fn, a)  # type: ignore[no-untyped-call]
    output = fn(a)
    s = torch.softmax(-a if function == "softmin" else a, dim=0)
    closed = FUNCTIONS[function][2](s)
    return JacobianReport(
        function=function,
        formula=f"{FUNCTIONS[function][1]}, {FUNCTIONS[function][3]}",
        a=a.numpy(),
        output=output.numpy(),
        jacobian=J.numpy(),
        closed_form=closed.numpy(),
        identity_deviation=float((J - closed).abs().max()),
        row_sum_deviation=float(J.sum(dim=1).abs().max()),
    )


def explain(function: str, values: Sequence[float] = SEED_INPUT) -> list[str]:
    """Why ``p.backward()`` fails for a vector output, and what ``grad_outputs`` does."""
    import torch

    fn = _function(function)
    a = _input(values).requires_grad_(True)
    p = fn(a)
    try:
        p.backward()  # type: ignore[no-untyped-call]  # the mistake being shown
        failure = "(no error?)"
    except RuntimeError as error:
        failure = str(error).splitlines()[0]
    row = 1 if len(values) > 1 else 0
    (by_index,) = torch.autograd.grad(p[row], [a], retain_graph=True)
    basis = torch.zeros_like(p)
    basis[row] = 1.0
    (by_vector,) = torch.autograd.grad(p, [a], grad_outputs=basis, retain_graph=True)
    (by_ones,) = torch.autograd.grad(p, [a], grad_outputs=torch.ones_like(p))

    def vec(t: torch.Tensor) -> str:
        return "[" + ", ".join(number(v) for v in t.tolist()) + "]"

    return [
        f"p = {function}(a, dim=0) = {vec(p.detach())} is a vector, so:",
        f"  p.backward()  →  RuntimeError: {failure}",
        "backward() needs to know which combination of outputs to differentiate: a vector v",
        "of p's shape (grad_outputs / gradient), and it then computes vᵀJ, the rows of the",
        "Jacobian weighted by v. A scalar loss is the case v = 1.",
        f"  torch.autograd.grad(p[{row}], [a])                 = {vec(by_index)}",
        f"  torch.autograd.grad(p, [a], grad_outputs=e_{row})   = {vec(by_vector)}"
        f"   (row {row} of J)",
        f"  torch.autograd.grad(p, [a], grad_outputs=ones)  = {vec(by_ones)}   (1ᵀJ)",
        *_ones_explained(function, by_ones),
    ]


def _ones_explained(function: str, by_ones: torch.Tensor) -> list[str]:
    """What backward(ones) computed: 1ᵀJ, the column sums, ∂(Σᵢ pᵢ)/∂a."""
    vanishes = float(by_ones.abs().max()) < 1e-12
    total = "Σᵢ log_softmax(a)ᵢ" if function == "log_softmax" else f"Σᵢ {function}(a)ᵢ"
    why = (
        f"{total} = 1 for every a, so it is 0 (up to float64 rounding)"
        if vanishes
        else f"{total} changes with a, so it is not 0"
    )
    return [
        "The last one is 1ᵀJ, the sum of J's rows: each entry is a column sum of J,",
        f"∂({total})/∂a_j. {why[0].upper() + why[1:]}.",
        "(J's rows sum to 0 for all three functions, J·1 = 0, because adding a constant to a",
        "changes nothing; but backward computes vᵀJ, not J·v.)",
    ]
