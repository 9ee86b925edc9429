"""Tables: the samples of a probe (rich), and the registry listing (plain text).

No torch or matplotlib imports, and rich only inside the functions that
render with it: ``actviz list`` renders here and must start fast.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from actviz import registry

if TYPE_CHECKING:
    from rich.console import Group
    from rich.table import Table

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
    from rich.table import Table

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
    from rich.console import Group
    from rich.text import Text

    return Group(probe_table(probe, saturation), Text(peak_sentence(probe, saturation)))


def probe_json(probe: Probe, saturation: Saturation) -> dict[str, Any]:
    """The ``actviz table --json`` object (schema in the README)."""
    data = probe.as_dict()
    data["regime"] = saturation.regime.tolist()
    data["summary"] = {"peak_grad": saturation.peak_grad, "peak_at": saturation.peak_at}
    return data


def registry_listing() -> str:
    """Every registered activation with its parameters, defaults and formula.

    Plain aligned text rather than a rich Table: ``actviz list`` must start
    about as fast as bare Typer, and rendering a wide rich table costs more
    than the whole interpreter start-up.
    """
    width = max(len(a.name) for a in registry.ACTIVATIONS) + 2
    pad = " " * width
    lines = [f"{len(registry.ACTIVATIONS)} activations (parameters: --param KEY=VALUE)"]
    for act in registry.ACTIVATIONS:
        lines.append("")
        lines.append(f"{act.name:<{width}}f(x)  = {act.formula}")
        lines.append(f"{pad}f′(x) = {act.derivative_formula}")
        lines.append(f"{pad}torch.nn.{act.module}; aliases: {', '.join(act.aliases)}")
        for p in act.params:
            default = registry.format_value(p.default)
            lines.append(f"{pad}  {p.name} = {default}  ({p.allowed}): {p.doc}")
        if act.notes:
            lines.append(f"{pad}note: {act.notes}")
    return "\n".join(lines)
