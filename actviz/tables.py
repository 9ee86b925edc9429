"""Tables: a probe's samples, a sweep, the registry.

No torch or matplotlib imports, and rich only inside the functions that
render with it: ``actviz list`` renders here and must start fast.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, TextIO

from actviz import registry
from actviz.defaults import DEFAULT_EPS
from actviz.display import (
    MISSING,
    SUMMARY_LABELS,
    by_definition,
    coarse_words,
    coord,
    number,
    onset_words,
    peak_words,
    percent,
    reference_words,
    route_note,
    share,
    strict_json,
    underflow_pair,
)

if TYPE_CHECKING:
    from rich.console import Group
    from rich.table import Table

    from actviz.probing import Grid, Probe, ProbeOptions, Specs, WeightGrad
    from actviz.saturation import Saturation
    from actviz.underflow import Underflow

REGIME_STYLES = {"dead": "bright_black", "saturated": "yellow", "linear": "cyan", "active": "green"}


# --- one probe ---------------------------------------------------------------

# Rows per chunk when streaming CSV and JSON: memory stays flat at any size.
CSV_CHUNK = 10_000
# `actviz table` renders every row in a rich table; beyond this many rows
# that is slow and unreadable, and --csv / --json (up to the grid cap) fit better.
MAX_TABLE_ROWS = 5_000
TABLE_FORMATS = ("table", "json", "csv")


def zero_lines(saturation: Saturation) -> list[str]:
    """Where f′ is exactly 0: by the function's definition, then by each dtype's rounding."""
    lines = []
    flat = by_definition(saturation)
    if flat != MISSING:
        lines.append(f"{SUMMARY_LABELS['definition']}: {flat}")
    if not saturation.underflow:
        return lines
    dtypes = ", ".join(saturation.underflow)
    pairs = ", ".join(
        f"{d} {underflow_pair(u, notes=True)}" for d, u in saturation.underflow.items()
    )
    if "underflow" in {k for u in saturation.underflow.values() for k in _kinds(u)}:
        lines.append(f"f′ underflows to exactly 0 beyond |x| (left / right): {pairs}")
    else:
        lines.append(f"f′ never underflows to exactly 0 within |x| ≤ 10⁴ ({dtypes})")
    return lines


def _kinds(found: Underflow) -> tuple[str | None, str | None]:
    return found.grad_left_kind, found.grad_right_kind


def summary_lines(saturation: Saturation) -> list[str]:
    """The numbers under ``actviz table``, one fact a line."""
    s, dtype = saturation, saturation.dtype
    centred = "zero-centred" if abs(s.f0) < 1e-6 else "not zero-centred"
    reference = reference_words(s)
    coarse = coarse_words(s)
    lines = [
        *([coarse] if coarse else []),
        peak_words(s),
        *([reference] if reference else []),
        f"f(0) = {number(s.f0, dtype)} ({centred}), f′(0) = {number(s.grad0, dtype)}",
        f"output range [{number(s.y_min, dtype)}, {number(s.y_max, dtype)}], "
        f"monotonic: {s.monotonic}",
        "saturation onset (|f′| < eps·peak from there outwards): "
        + "; ".join(f"eps {e:g}: {onset_words(o, s.span)}" for e, o in s.onsets.items()),
        "share of the range: "
        + ", ".join(f"{r} {share(s, r)}" for r in s.fractions)
        + (
            f" (dead only by {s.dtype} rounding, the exact f′ is not 0: {percent(s.rounded_share)})"
            if s.rounded_share
            else ""
        ),
        *zero_lines(s),
    ]
    note = route_note([s])
    return [*lines, note] if note else lines


def weight_lines(weights: Sequence[WeightGrad]) -> list[str]:
    """∂(Σy)/∂w of each learnable scalar (``table prelu --weight-grad``)."""
    return [
        f"∂(Σy)/∂{w.name} = {number(w.total, 'float64')} at {w.name} = "
        f"{number(w.value, 'float32')} ({w.name}.grad after backward(ones_like(y)); "
        f"the sum of the ∂y/∂{w.name} column)"
        for w in weights
    ]


def probe_table(probe: Probe, saturation: Saturation, weights: Sequence[WeightGrad] = ()) -> Table:
    """x, f(x), f′(x) (and f″ if probed, ∂y/∂w with ``weights``) of every sample,
    coloured by regime."""
    from rich.markup import escape
    from rich.table import Table

    title = f"{probe.title} on {probe.device}, {len(probe.x)} samples"
    # escape: rich would read the title's "[eval mode: …]" as markup and drop it;
    # min_width: a narrow table would wrap its title mid-note
    table = Table(title=escape(title), min_width=len(title))
    for header in _probe_columns(probe, weights):
        table.add_column(header, justify="left" if header == "regime" else "right")
    span = saturation.span
    rounded = saturation.rounded
    for i, (x, *values, regime) in enumerate(_probe_rows(probe, saturation, weights)):
        cells = [coord(x, span), *(number(v, probe.dtype) for v in values)]
        label = "dead (rounding)" if rounded is not None and rounded[i] else regime
        table.add_row(*cells, label, style=REGIME_STYLES[regime])
    return table


def probe_report(probe: Probe, saturation: Saturation, weights: Sequence[WeightGrad] = ()) -> Group:
    """The table followed by its summary (what ``actviz table`` prints)."""
    from rich.console import Group
    from rich.text import Text

    lines = [*summary_lines(saturation), *weight_lines(weights)]
    return Group(probe_table(probe, saturation, weights), *(Text(s) for s in lines))


def probe_json(
    probe: Probe, saturation: Saturation, weights: Sequence[WeightGrad] = ()
) -> dict[str, Any]:
    """The ``actviz table --json`` object (schema in the README)."""
    data = probe.as_dict()
    data["regime"] = saturation.regime.tolist()
    data["summary"] = {"peak_grad": saturation.peak_grad, "peak_at": saturation.peak_at}
    data["saturation"] = saturation.as_dict()
    if weights:
        data["weight_grad"] = {w.name: w.as_dict() for w in weights}
    return data


# Hand-written on purpose (issue 23 weighed json.JSONEncoder.iterencode): iterencode
# streams a lazy list only through its pure-Python encoder, a piece per number, and
# took 1.9× the time of these chunks of json.dumps (C encoder) for 10⁶ float32
# values: 2.6 s against 1.35 s (one column of `table --json` at the grid cap, on the
# shared 2-core machine under load).
def write_probe_json(
    probe: Probe,
    saturation: Saturation,
    out: TextIO,
    *,
    end: str = "\n",
    weights: Sequence[WeightGrad] = (),
) -> None:
    """:func:`probe_json` as strict JSON written to ``out``, its long arrays a chunk at a
    time (same text as ``json.dumps`` with non-finite numbers as null)."""
    import json

    arrays = {
        "x": probe.x, "y": probe.y, "grad": probe.grad, "grad2": probe.grad2,
        "regime": saturation.regime,
    }  # fmt: skip
    small: dict[str, Any] = {
        "activation": probe.name, "params": dict(probe.params), "dtype": probe.dtype,
        "device": probe.device,
    }  # fmt: skip
    small["summary"] = {"peak_grad": saturation.peak_grad, "peak_at": saturation.peak_at}
    small["saturation"] = saturation.as_dict()
    small["weight_grad"] = {w.name: w.as_dict() for w in weights}
    keys = ["activation", "params", "dtype", "device", "x", "y", "grad"]
    keys += ["grad2"] if probe.grad2 is not None else []
    keys += ["regime", "summary", "saturation"]
    keys += ["weight_grad"] if weights else []
    out.write("{")
    for i, key in enumerate(keys):
        out.write(("" if i == 0 else ", ") + json.dumps(key) + ": ")
        if key not in arrays:
            out.write(strict_json(small[key]))
            continue
        values = arrays[key]
        assert values is not None
        out.write("[")
        for start in range(0, len(values), CSV_CHUNK):
            chunk = values[start : start + CSV_CHUNK].tolist()
            text = strict_json(chunk)[1:-1]
            out.write(("" if start == 0 else ", ") + text)
        out.write("]")
    out.write("}" + end)


def probe_csv(probe: Probe, saturation: Saturation) -> str:
    """The rows of ``actviz table`` as CSV, full precision."""
    buffer = io.StringIO()
    write_probe_csv(probe, saturation, buffer)
    return buffer.getvalue()


def write_probe_csv(
    probe: Probe, saturation: Saturation, out: TextIO, weights: Sequence[WeightGrad] = ()
) -> None:
    """:func:`probe_csv` written to ``out`` a chunk of rows at a time: memory stays flat
    however many rows there are (``actviz table --csv`` streams to stdout)."""
    import csv  # here, not at the top: ``actviz list`` imports this module

    csv.writer(out, lineterminator="\n").writerow(_probe_columns(probe, weights))
    columns = [probe.x, probe.y, probe.grad, *([probe.grad2] if probe.grad2 is not None else [])]
    columns += [w.per_sample for w in weights]
    # Numbers and regime words never need CSV quoting: one format per row is
    # twice as fast as csv.writer, which matters at a million rows.
    row = ",".join(["{}"] * (len(columns) + 1)) + "\n"
    for start in range(0, len(probe.x), CSV_CHUNK):
        numbers = [map(repr, c[start : start + CSV_CHUNK].tolist()) for c in columns]
        regimes = saturation.regime[start : start + CSV_CHUNK].tolist()
        out.write("".join(map(row.format, *numbers, regimes)))


def check_table_rows(rows: int) -> None:
    """Refuse a printed table of more than :data:`MAX_TABLE_ROWS` rows, before probing."""
    if rows > MAX_TABLE_ROWS:
        from actviz.errors import InvalidGridError, arg
        from actviz.probing import MAX_POINTS

        raise InvalidGridError(
            f"the grid has {rows:,} points, above the {MAX_TABLE_ROWS:,} rows a printed table "
            f"shows; use {arg('fmt', 'csv')} or {arg('fmt', 'json')} (up to {MAX_POINTS:,} "
            "points), fewer points or a "
            "larger step"
        )


def write_table(
    specs: Specs,
    out: TextIO,
    grid: Grid | None = None,
    options: ProbeOptions | None = None,
    *,
    fmt: str = "table",
    eps: float = DEFAULT_EPS,
    weight_grad: bool = False,
) -> None:
    """What ``actviz table NAME`` prints, written to ``out``: the samples and the summary
    as a rich table (``fmt="table"``), streamed JSON or streamed CSV.

    ``specs`` is one activation (a name, a spec), or several values of one
    (a :class:`~actviz.params.Sweep`, or its specs): one column block per value.
    ``weight_grad`` adds ∂y/∂w of the learnable parameters (one table only).
    What can be refused (the format, several specs with ``weight_grad``, a
    printed table over :data:`MAX_TABLE_ROWS` rows) is refused before probing.
    """
    from actviz.errors import UsageError, arg
    from actviz.probing import DEFAULT_OPTIONS, Grid, probe_many, weight_grads
    from actviz.saturation import analyze

    if fmt not in TABLE_FORMATS:
        raise UsageError(f"unknown table format {fmt!r}; choose one of {', '.join(TABLE_FORMATS)}")
    swept = not isinstance(specs, (str, registry.Spec, registry.Activation)) and (
        not isinstance(specs, Sequence) or len(specs) != 1
    )
    if weight_grad and swept:
        raise UsageError(
            f"{arg('weight_grad', True)} shows one table; drop {arg('sweeps')}, or run one "
            "per value"
        )
    grid = grid or Grid()
    if fmt == "table":
        check_table_rows(grid.count)
    probes = probe_many(specs, grid, options or DEFAULT_OPTIONS)
    weights = weight_grads(probes[0]) if weight_grad else []
    saturations = [analyze(p, eps=eps) for p in probes]
    if swept:
        writers = {"csv": write_sweep_csv, "json": write_sweep_json}
        if fmt in writers:
            writers[fmt](probes, saturations, out)
        else:
            print_renderable(sweep_report(probes, saturations), out)
        return
    (probe,), (saturation,) = probes, saturations
    if fmt == "csv":
        write_probe_csv(probe, saturation, out, weights)
    elif fmt == "json":
        write_probe_json(probe, saturation, out, weights=weights)
    else:
        print_renderable(probe_report(probe, saturation, weights), out)


def print_renderable(renderable: Any, out: TextIO) -> None:
    """Print a rich table or group to ``out``, as wide as the terminal, or 160
    columns in a pipe or log."""
    from rich.console import Console

    # Wide tables wrap badly at the 80 columns rich assumes for pipes and logs.
    Console(file=out, width=None if out.isatty() else 160).print(renderable)


def _probe_columns(probe: Probe, weights: Sequence[WeightGrad] = ()) -> list[str]:
    second = ["f″(x)"] if probe.grad2 is not None else []
    return ["x", "f(x)", "f′(x)", *second, *(f"∂y/∂{w.name}" for w in weights), "regime"]


def _probe_rows(
    probe: Probe, saturation: Saturation, weights: Sequence[WeightGrad] = ()
) -> list[list[Any]]:
    columns = [probe.x, probe.y, probe.grad]
    if probe.grad2 is not None:
        columns.append(probe.grad2)
    columns += [w.per_sample for w in weights]
    return [
        [*map(float, values), regime]
        for *values, regime in zip(*columns, saturation.regime, strict=True)
    ]


# --- a sweep: one column block per value ------------------------------------


def sweep_value(probe: Probe) -> str:
    """The swept values of one probe of a sweep: ``negative_slope=0.01``."""
    spec = probe.spec
    return ", ".join(f"{k}={registry.format_value(spec.params[k])}" for k in spec.swept)


def _sweep_blocks(probes: Sequence[Probe]) -> list[str]:
    second = any(p.grad2 is not None for p in probes)
    return ["f(x)", "f′(x)", *(["f″(x)"] if second else []), "regime"]


def sweep_columns(probes: Sequence[Probe]) -> list[str]:
    """x, then f(x), f′(x) (f″(x)) and the regime of each value: ``f(x) [negative_slope=0.1]``."""
    blocks = _sweep_blocks(probes)
    return ["x", *(f"{c} [{sweep_value(p)}]" for p in probes for c in blocks)]


def _sweep_join(
    probes: Sequence[Probe], saturations: Sequence[Saturation]
) -> tuple[Any, list[Any], list[list[str | None]]]:
    """The union of the probes' samples, and each probe's columns on it.

    The samples differ where the kinks move with the swept value (hardtanh's
    max_val): a value's cells are NaN (regime None) at the others' kinks.
    """
    import numpy as np

    x = probes[0].x
    for p in probes[1:]:
        x = np.union1d(x, p.x)
    columns: list[Any] = []
    regimes: list[list[str | None]] = []
    for p, s in zip(probes, saturations, strict=True):
        where = np.searchsorted(x, p.x)
        present = [p.y, p.grad, *([p.grad2] if p.grad2 is not None else [])]
        if len(_sweep_blocks(probes)) == 4 and p.grad2 is None:
            present.append(np.full(len(p.x), np.nan))
        for values in present:
            full = np.full(len(x), np.nan)
            full[where] = values
            columns.append(full)
        regime: list[str | None] = [None] * len(x)
        for i, r in zip(where.tolist(), s.regime.tolist(), strict=True):
            regime[i] = r
        regimes.append(regime)
    return x, columns, regimes


def sweep_table(probes: Sequence[Probe], saturations: Sequence[Saturation]) -> Table:
    """One row per sample x, one column block per swept value; regimes coloured."""
    from rich.markup import escape
    from rich.table import Table

    first = probes[0]
    keys = ", ".join(first.spec.swept)
    title = f"{first.name} over {keys} on {first.device}, {len(probes)} values"
    title += f", {first.dtype}" if first.dtype != "float32" else ""
    table = Table(title=escape(title), min_width=len(title))
    blocks = _sweep_blocks(probes)
    table.add_column("x", justify="right")
    for p in probes:
        for header in blocks:
            justify: Literal["left", "right"] = "left" if header == "regime" else "right"
            shown = ", ".join(registry.format_value(p.spec.params[k]) for k in p.spec.swept)
            table.add_column(escape(f"{header}\n{shown}"), justify=justify)
    x, columns, regimes = _sweep_join(probes, saturations)
    span = saturations[0].span
    width = len(blocks) - 1
    for i, at in enumerate(x.tolist()):
        cells = [coord(at, span)]
        for j, p in enumerate(probes):
            values = columns[j * width : (j + 1) * width]
            regime = regimes[j][i]
            cells += ["" if regime is None else number(v[i], p.dtype) for v in values]
            cells.append("" if regime is None else f"[{REGIME_STYLES[regime]}]{regime}[/]")
        table.add_row(*cells)
    return table


def sweep_summary_lines(probes: Sequence[Probe], saturations: Sequence[Saturation]) -> list[str]:
    """The summary of each value under its own heading."""
    lines = []
    for p, s in zip(probes, saturations, strict=True):
        lines.append(f"{p.label}:")
        lines += [f"  {line}" for line in summary_lines(s)]
    return lines


def sweep_report(probes: Sequence[Probe], saturations: Sequence[Saturation]) -> Group:
    """What ``actviz table NAME --sweep ...`` prints: the table, then each value's summary."""
    from rich.console import Group
    from rich.text import Text

    lines = sweep_summary_lines(probes, saturations)
    return Group(sweep_table(probes, saturations), *(Text(line) for line in lines))


def write_sweep_csv(
    probes: Sequence[Probe], saturations: Sequence[Saturation], out: TextIO
) -> None:
    """:func:`sweep_columns` and the rows as CSV, full precision; an empty cell where a
    value has no sample (another value's kink)."""
    import csv  # here, not at the top: ``actviz list`` imports this module

    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(sweep_columns(probes))
    x, columns, regimes = _sweep_join(probes, saturations)
    width = len(_sweep_blocks(probes)) - 1
    for start in range(0, len(x), CSV_CHUNK):
        stop = start + CSV_CHUNK
        xs = x[start:stop].tolist()
        chunks = [c[start:stop].tolist() for c in columns]
        for i, at in enumerate(xs):
            row = [repr(at)]
            for j in range(len(probes)):
                regime = regimes[j][start + i]
                values = [c[i] for c in chunks[j * width : (j + 1) * width]]
                row += ["" if regime is None else repr(v) for v in values]
                row.append(regime or "")
            writer.writerow(row)


def write_sweep_json(
    probes: Sequence[Probe], saturations: Sequence[Saturation], out: TextIO
) -> None:
    """``actviz table --sweep --json``: ``{"activation", "sweep": {key: [values]},
    "values": [...]}`` where each item of ``values`` is the ``table --json`` object of
    one value (combination), in the order of the sweep."""
    import json

    spec = probes[0].spec
    axes = {k: list(dict.fromkeys(p.spec.params[k] for p in probes)) for k in spec.swept}
    out.write(f'{{"activation": {json.dumps(spec.name)}, "sweep": {strict_json(axes)}, ')
    out.write('"values": [')
    for i, (p, s) in enumerate(zip(probes, saturations, strict=True)):
        out.write("" if i == 0 else ", ")
        write_probe_json(p, s, out, end="")
    out.write("]}\n")


# --- the registry --------------------------------------------------------------


def registry_listing(*, as_json: bool = False) -> str:
    """Every registered activation with its parameters, defaults and formula
    (``as_json``: :func:`actviz.registry.describe` of each, as a JSON list).

    Plain aligned text rather than a rich Table: ``actviz list`` must start
    about as fast as bare Typer, and rendering a wide rich table costs more
    than the whole interpreter start-up.
    """
    if as_json:
        import json

        return json.dumps([registry.describe(a) for a in registry.entries()], indent=2)
    width = max(len(a.name) for a in registry.entries()) + 2
    pad = " " * width
    lines = [f"{len(registry.entries())} activations (parameters: --param KEY=VALUE)"]
    for act in registry.ACTIVATIONS:
        lines.append("")
        lines.append(f"{act.name:<{width}}f(x)  = {act.formula}")
        lines.append(f"{pad}f′(x) = {act.derivative_text()}")
        lines.append(f"{pad}torch.nn.{act.module}; aliases: {', '.join(act.aliases)}")
        for p in act.params:
            default = registry.format_value(p.default)
            lines.append(f"{pad}  {p.name} = {default}  ({p.allowed}): {p.doc}")
        if act.notes:
            lines.append(f"{pad}note: {act.notes}")
    for pair in registry.TWO_INPUT:
        lines.append("")
        lines.append(f"{pair.name:<{width}}f(a, b) = {pair.formula}   (two inputs)")
        lines.append(f"{pad}{pair.derivative_formula}")
        lines.append(f"{pad}torch.nn.{pair.module}; aliases: {', '.join(pair.aliases)}")
        lines.append(f"{pad}note: {pair.notes}")
    return "\n".join(lines)
