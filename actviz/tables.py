"""Rich tables: the samples of a probe, and the registry.

Kept free of torch and matplotlib imports: ``actviz list`` renders here.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from actviz import registry

if TYPE_CHECKING:
    from actviz.probe import Probe
    from actviz.saturation import Saturation

REGIME_STYLES = {"dead": "bright_black", "saturated": "yellow", "active": "green"}


def number(value: float) -> str:
    """Four decimals like torch's print, switching to exponent for tiny or huge values."""
    if value == 0:
        return "0" if math.copysign(1.0, value) > 0 else "-0"
    if not math.isfinite(value):
        return str(value)
    if 1e-4 <= abs(value) < 1e5:
        return f"{value:.4f}"
    return f"{value:.4e}"


def peak_sentence(probe: Probe, saturation: Saturation) -> str:
    """Where the gradient is largest, in words."""
    text = f"peak |f′| = {number(saturation.peak_grad)} at x = {number(saturation.peak_at)}"
    if saturation.peak_count > 1:
        last = number(saturation.peak_last)
        text += f" (reached by {saturation.peak_count} samples, up to x = {last})"
    return text


def probe_table(probe: Probe, saturation: Saturation) -> Table:
    """x, f(x), f′(x) (and f″ if probed) and the regime of every sample."""
    table = Table(title=f"{probe.title} on {probe.device}, {len(probe.x)} samples")
    table.add_column("x", justify="right")
    table.add_column("f(x)", justify="right")
    table.add_column("f′(x)", justify="right")
    if probe.grad2 is not None:
        table.add_column("f″(x)", justify="right")
    table.add_column("regime")
    rows: list[Any] = [probe.x, probe.y, probe.grad]
    if probe.grad2 is not None:
        rows.append(probe.grad2)
    for *values, regime in zip(*rows, saturation.regime, strict=True):
        style = REGIME_STYLES[regime]
        table.add_row(*(number(float(v)) for v in values), f"[{style}]{regime}[/]", style=None)
    return table


def probe_report(probe: Probe, saturation: Saturation) -> Group:
    """The table followed by its footer line (what ``actviz table`` prints)."""
    return Group(probe_table(probe, saturation), Text(peak_sentence(probe, saturation)))


def probe_json(probe: Probe, saturation: Saturation) -> dict[str, Any]:
    """The ``actviz table --json`` object (schema in the README)."""
    data = probe.as_dict()
    data["regime"] = saturation.regime.tolist()
    data["summary"] = {"peak_grad": saturation.peak_grad, "peak_at": saturation.peak_at}
    return data


def registry_table() -> Table:
    """Every registered activation with its parameters and formula."""
    table = Table(title=f"{len(registry.ACTIVATIONS)} activations", show_lines=True)
    table.add_column("name", style="bold cyan", no_wrap=True)
    table.add_column("torch.nn", no_wrap=True)
    table.add_column("parameters (default; allowed)")
    table.add_column("f(x)")
    table.add_column("f′(x)")
    for act in registry.ACTIVATIONS:
        params = "\n".join(
            f"{p.name} = {registry.format_value(p.default)} [dim]({p.allowed})[/]"
            for p in act.params
        )
        aliases = ", ".join(act.extra_aliases)
        name = act.name + (f"\n[dim]{aliases}[/]" if aliases else "")
        table.add_row(name, act.module, params or "—", act.formula, act.derivative_formula)
    return table
