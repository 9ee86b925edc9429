"""How ``actviz jacobian`` shows a :class:`~actviz.jacobian.compute.JacobianReport`:
the annotated heatmap (on a given Axes, or in its own Figure) and the terminal table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from actviz.display import number

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from rich.console import Group

    from actviz.jacobian.compute import JacobianReport


def draw_jacobian_heatmap(ax: Axes, report: JacobianReport) -> Any:
    """The Jacobian as an annotated heatmap on ``ax``; returns the image."""
    import numpy as np

    J = report.jacobian
    limit = float(np.abs(J).max()) or 1.0
    image = ax.imshow(J, cmap="RdBu_r", vmin=-limit, vmax=limit)
    n = len(J)
    if n <= 16:  # annotations stay readable up to here
        for i in range(n):
            for j in range(n):
                color = "white" if abs(J[i, j]) > 0.6 * limit else "black"
                ax.text(j, i, number(J[i, j]), ha="center", va="center", fontsize=9, color=color)
    ax.set_xlabel("j (input a_j)")
    ax.set_ylabel(f"i (output {report.function}(a)_i)")
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    return image


def jacobian_figure(report: JacobianReport) -> Figure:
    from matplotlib.figure import Figure

    n = len(report.jacobian)
    side = min(4.0 + 0.6 * n, 12.0)
    fig = Figure(figsize=(side + 1.2, side))
    ax = fig.subplots()
    image = draw_jacobian_heatmap(ax, report)
    fig.colorbar(image, ax=ax, shrink=0.8)
    a = ", ".join(number(v) for v in report.a[:6]) + (", …" if n > 6 else "")
    ax.set_title(
        f"∂{report.function}(a)_i / ∂a_j at a = [{a}]\n{report.formula}; "
        f"max |J − closed form| = {report.identity_deviation:.1e}, "
        f"max |row sum| = {report.row_sum_deviation:.1e}",
        fontsize=9,
    )
    return fig


def jacobian_report(report: JacobianReport) -> Group:
    """``actviz jacobian``: the matrix, then the identity and row-sum checks."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    J = report.jacobian
    a = ", ".join(number(v) for v in report.a)
    table = Table(title=f"Jacobian of {report.function} at a = [{a}]")
    table.add_column("∂/∂a_j →", justify="right", style="bold")
    for j in range(len(J)):
        table.add_column(f"a_{j}", justify="right")
    for i, row in enumerate(J):
        table.add_row(f"{report.function}(a)_{i}", *(number(v) for v in row))
    return Group(
        table,
        Text(f"{report.formula}: max |J − closed form| = {report.identity_deviation:.1e}"),
        Text(f"every row sums to 0: max |row sum| = {report.row_sum_deviation:.1e}"),
    )
