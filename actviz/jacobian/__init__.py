"""Jacobians of the vector activations (softmax, log_softmax, softmin).

The seed lesson builds softmax's Jacobian row by row with
``torch.autograd.grad(p[i], [a])`` after ``p.backward()`` fails for a vector.
:func:`jacobian` computes the whole matrix with
``torch.autograd.functional.jacobian``, compares it with its closed form
(softmax: J = diag(s) − s sᵀ) and checks that every row sums to 0;
:func:`explain` shows the ``backward`` mistake and what ``grad_outputs`` does.

The computation lives in :mod:`~actviz.jacobian.compute`, its presentation (heatmap,
table) in :mod:`~actviz.jacobian.report`; :func:`run` is the ``jacobian`` command's
one library call, joining the two.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from actviz.jacobian.compute import (
    FUNCTIONS,
    MAX_SIZE,
    SEED_INPUT,
    JacobianReport,
    check_function,
    explain,
    jacobian,
    jacobian_input,
    random_input,
)
from actviz.jacobian.report import draw_jacobian_heatmap, jacobian_figure, jacobian_report

__all__ = [
    "FUNCTIONS",
    "MAX_SIZE",
    "SEED_INPUT",
    "JacobianReport",
    "JacobianRun",
    "check_function",
    "draw_jacobian_heatmap",
    "explain",
    "jacobian",
    "jacobian_figure",
    "jacobian_input",
    "jacobian_report",
    "random_input",
    "run",
]


@dataclass(frozen=True, eq=False)
class JacobianRun:
    """What ``actviz jacobian`` computed and wrote: the report, the heatmap's path (None
    unless asked for) and the ``backward`` explanation (empty unless asked for)."""

    report: JacobianReport
    figure: Path | None
    explanation: list[str]


def run(
    function: str,
    values: Sequence[float] | None = None,
    *,
    use_input: bool = False,
    random: int | None = None,
    seed: int = 0,
    out: str | Path | None = None,
    explained: bool = False,
) -> JacobianRun:
    """The Jacobian of ``function`` at the input the choices name (see :func:`jacobian_input`);
    the heatmap saved to ``out`` and the explanation computed where asked for."""
    check_function(function)  # an unknown function is the first thing to hear about
    if out is not None:
        from actviz.plotting import check_file_path, check_out_folder

        check_out_folder(check_file_path(out))  # a folder you name is not created for you
    a = jacobian_input(values, use_input=use_input, random=random, seed=seed)
    report = jacobian(function, a)
    figure = None
    if out is not None:
        from actviz.plotting import save_figure

        figure = save_figure(jacobian_figure(report), out)
    return JacobianRun(report, figure, explain(function, a) if explained else [])
