"""What the commands share: choices, option types declared once, and the one table
that says each library parameter as its flag.

The library's error messages name Python parameters (:func:`actviz.errors.arg`);
:data:`FLAGS` is where the command line says them as the flags a user typed.
"""

# No `from __future__ import annotations`: Typer reads these annotations at start-up.
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import typer

from actviz import registry
from actviz.defaults import MAX_DPI, MIN_DPI
from actviz.errors import UsageError

# A library parameter (or parameter=value) → the flag that sets it, for every
# command. A name missing here is said as Python says it (tests/test_layers.py
# checks that every name a library message uses is here).
FLAGS = {
    # what to probe, and where
    "specs": "NAMES", "params": "--param", "sweeps": "--sweep", "start": "--range",
    "stop": "--range", "points": "--points", "step": "--step",
    # how: ProbeOptions
    "dtype": "--dtype", "dtypes": "--dtype", "device": "--device", "second": "--second",
    "train": "--train", "seed": "--seed", "kinks": "--no-kinks", "eps": "--eps",
    # figures: FigureOptions and the figure writers
    "out": "--out", "out_dir": "--out-dir", "fmt": "--format", "formats": "--format",
    "dpi": "--dpi", "theme": "--theme", "figsize": "--figsize", "xlim": "--xlim",
    "ylim": "--ylim", "grad_ylim": "--grad-ylim", "grad2_ylim": "--grad2-ylim",
    "shade": "--no-shade", "terminal_plot": "--term",
    # table
    "fmt=csv": "--csv", "fmt=json": "--json", "weight_grad": "--weight-grad",
    # export
    "jobs": "--jobs", "prune": "--prune", "check": "--check",
    # depth, gain, cmap, shape
    "layers": "--layers", "width": "--width", "batch": "--batch", "init": "--init",
    "gain": "--gain", "bias_std": "--bias-std", "baseline": "--no-baseline",
    "output_grad": "--output-grad", "shape": "--shape", "method": "--method",
    # check
    "formula": "--reference", "accept": "--accept", "write_baseline": "--write-baseline",
    # jacobian (COMMAND.NAME: the flag of NAME in that command only)
    "jacobian.values": "--input", "use_input": "--input", "random": "--random",
    # graph: run()'s values, parse_assignments()' assignments
    "graph.values": "--set", "assignments": "--set", "const": "--const",
    # the grid and options as a whole
    "grid": "--range/--points/--step", "options": "the probe options",
    "figure": "the figure options",
    # library-only arguments (the commands make them from NAMES): said in words
    "probes": "NAMES", "saturations": "the saturation analyses", "fig": "the figure",
}  # fmt: skip


def flags_of(command: str | None) -> dict[str, str]:
    """:data:`FLAGS` as ``command`` says them: its COMMAND.NAME entries win over NAME."""
    prefix = f"{command}."
    own = {k.removeprefix(prefix): v for k, v in FLAGS.items() if k.startswith(prefix)}
    return {**FLAGS, **own}


# Choices as Literal types: --help lists them, shell completion offers them and
# a wrong value gets Click's own one-line error. They mirror the library's
# tuples (evaluation.DTYPES, plotting.FORMATS, …), which tests/test_completion.py checks.
DtypeName = Literal["float16", "bfloat16", "float32", "float64"]
FormatName = Literal["png", "svg", "pdf"]
ThemeName = Literal["light", "dark"]
ExploreTheme = Literal["auto", "light", "dark"]
ShapeMethod = Literal["dks", "tat"]
SortKey = Literal[
    "name", "peak", "grad0", "onset", "dead", "saturated", "float16", "bfloat16", "float32"
]


DEVICES = ("cpu", "cuda")


def _device(value: str) -> str:
    """cpu | cuda, and also cuda:N for one GPU of several (a plain choice would refuse it)."""
    if value in DEVICES or (value.startswith("cuda:") and value[5:].isdigit()):
        return value
    raise typer.BadParameter(f"{value!r} is not one of {', '.join(map(repr, DEVICES))}")


def _dtype_name(value: str) -> str:
    """One of :data:`DtypeName`: check's repeatable --dtype (Typer takes no list[Literal])."""
    if value not in get_args(DtypeName):
        raise typer.BadParameter(
            f"{value!r} is not one of {', '.join(map(repr, get_args(DtypeName)))}"
        )
    return value


def _complete_device(incomplete: str) -> list[str]:
    return [d for d in DEVICES if d.startswith(incomplete)]


def _complete_dtype(incomplete: str) -> list[str]:
    return [d for d in get_args(DtypeName) if d.startswith(incomplete)]


def complete_name(incomplete: str) -> list[str]:
    """Canonical names, then aliases that spell another word (logistic, swish, rectifier).

    Aliases that differ from a name only in case or underscores (Sigmoid,
    hard_sigmoid) would only repeat it, so they are left out.
    """
    return registry.completions(incomplete)


def complete_formats(incomplete: str) -> list[str]:
    """``png,s`` → ``png,svg``: the formats of export's comma-separated --format."""
    done, _, last = incomplete.rpartition(",")
    head = f"{done}," if done else ""
    taken = set(done.split(","))
    return [head + f for f in get_args(FormatName) if f.startswith(last) and f not in taken]


Names = Annotated[
    list[str],
    typer.Argument(
        metavar="NAMES...",
        help="Activation names or aliases (see 'actviz list').",
        autocompletion=complete_name,
        show_default=False,
    ),
]
SomeNames = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="[NAMES]...", help="Activation names or aliases.", autocompletion=complete_name
    ),
]
AllOpt = Annotated[bool, typer.Option("--all", help="Every registered activation.")]
Range = Annotated[
    tuple[float, float],
    typer.Option("--range", metavar="START STOP", help="Input range (stop excluded with --step)."),
]
Points = Annotated[
    int | None, typer.Option("--points", help="Number of samples: linspace(START, STOP, N).")
]
Step = Annotated[
    float | None, typer.Option("--step", help="Spacing: arange(START, STOP, STEP) [default: 0.1].")
]
ParamsOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--param",
        metavar="KEY=VALUE",
        help="Activation parameter, repeatable; NAME.KEY=VALUE targets one activation.",
    ),
]
SweepOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--sweep",
        metavar="KEY=V1,V2,...",
        help="One curve per value, repeatable (two sweeps: every combination); "
        "NAME.KEY=... targets one activation.",
    ),
]
Dtype = Annotated[DtypeName, typer.Option("--dtype", help="Floating-point type of the probe.")]
Device = Annotated[
    str,
    typer.Option(
        "--device",
        parser=_device,
        metavar="<cpu|cuda>",
        autocompletion=_complete_device,
        help="Torch device; cuda:N for one GPU of several.",
    ),
]
Dtypes = Annotated[
    list[str] | None,
    typer.Option(
        "--dtype",
        parser=_dtype_name,
        metavar="<float16|bfloat16|float32|float64>",
        autocompletion=_complete_dtype,
        help="Only this dtype, repeatable [default: all].",
    ),
]
Train = Annotated[
    bool, typer.Option("--train", help="Training mode (RReLU draws random slopes, seeded).")
]
Seed = Annotated[int, typer.Option("--seed", help="Random seed for --train.")]
Second = Annotated[bool, typer.Option("--second", help="Also compute f″ (second derivative).")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
AsCsv = Annotated[bool, typer.Option("--csv", help="Print CSV instead of a table.")]
Eps = Annotated[
    float, typer.Option("--eps", help="Saturated: 0 < |f′| < EPS × peak |f′| (0 < EPS < 1).")
]
ThemeOpt = Annotated[ThemeName, typer.Option("--theme", help="Colours for light or dark pages.")]
FigSize = Annotated[
    tuple[float, float] | None,
    typer.Option(
        "--figsize", metavar="W H", help="Figure size in inches [default: 4.8 per panel]."
    ),
]
LimitsOpt = tuple[float, float] | None
YLim = Annotated[
    LimitsOpt, typer.Option("--ylim", metavar="LOW HIGH", help="y limits of the value panel.")
]
GradYLim = Annotated[
    LimitsOpt,
    typer.Option("--grad-ylim", metavar="LOW HIGH", help="y limits of the gradient panel."),
]
XLim = Annotated[
    tuple[float, float] | None,
    typer.Option(
        "--xlim", metavar="LOW HIGH", help="x limits of every panel [default: the range]."
    ),
]
NoKinks = Annotated[
    bool,
    typer.Option("--no-kinks", help="Sample the grid only, without the activation's kinks."),
]


# --out as text: Typer's Path would turn '' into '.', and the error would name '.'.
OutFile = Annotated[
    str | None,
    typer.Option("--out", metavar="<path>", help="Output file [default: OUT_DIR/NAME.png]."),
]
OutDir = Annotated[Path, typer.Option("--out-dir", help="Folder for default names.")]
FigFormat = Annotated[
    FormatName | None, typer.Option("--format", help="Image format [default: from --out].")
]
# export's: several formats at once, each one of FormatName.
Formats = Annotated[
    str,
    typer.Option("--format", help="Comma-separated: png,svg,pdf.", autocompletion=complete_formats),
]
Dpi = Annotated[
    int, typer.Option("--dpi", min=MIN_DPI, max=MAX_DPI, help="Resolution of png figures.")
]
BiasStd = Annotated[
    float, typer.Option("--bias-std", help="Bias std σ_b (biases ~ N(0, σ_b²)); 0: no bias.")
]


OutputFormat = Literal["table", "json", "csv"]


def output_format(as_json: bool, as_csv: bool = False) -> OutputFormat:
    """What --json / --csv ask for; a command calls this first, so that a conflicting
    pair is refused before any work."""
    if as_json and as_csv:
        raise UsageError("give --json or --csv, not both")
    return "json" if as_json else "csv" if as_csv else "table"


def emit(
    output: OutputFormat,
    table: Callable[[], Any],
    data: Callable[[], Any] | None = None,
    text: Callable[[], str] | None = None,
) -> None:
    """Print the rich ``table()``, the JSON of ``data()`` or the CSV ``text()``: only
    the one asked for is built."""
    if output == "json":
        from actviz.display import strict_json

        assert data is not None, "a command with --json gives its data"
        typer.echo(strict_json(data()))
    elif output == "csv":
        assert text is not None, "a command with --csv gives its text"
        typer.echo(text(), nl=False)
    else:
        from actviz.tables import print_renderable

        print_renderable(table(), sys.stdout)


def check_figure_format(fmt: str | None, *, wanted: bool) -> None:
    """--format of a figure that will be written, checked before the work (and
    ignored with --no-plot, as the figure is)."""
    if fmt is not None and wanted:
        from actviz.plotting import check_format

        check_format(fmt)


def named_or_all(
    names: list[str] | None, all_: bool, param: list[str] | None, sweep: list[str] | None = None
) -> list[Any]:
    """The specs for NAMES, or for every activation with --all (exactly one of the two)."""
    from actviz import params

    if bool(names) == all_:
        raise UsageError("name activations or give --all" + (", not both" if all_ else ""))
    return params.specs_from_cli(registry.names() if all_ else names or [], param or [],
                                 sweep or [])  # fmt: skip
