"""The ``actviz`` command line: a thin Typer layer over the library.

Each command parses its arguments, calls the library, and prints. Heavy
imports (torch, matplotlib) happen inside the commands that need them, so
``actviz --help`` and ``actviz list`` start fast. :class:`_Boundary` is the
one place where an :class:`~actviz.errors.ActvizError` becomes a red line on
stderr and an exit code.
"""

# No `from __future__ import annotations` here: Typer would have to eval every
# annotation string at start-up, which costs more than evaluating them once.
import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from actviz import registry
from actviz.errors import ActvizError, RuntimeFailure, UsageError

DTYPE_HELP = "float16 | bfloat16 | float32 | float64"


class _Boundary(TyperGroup):
    """Turns ActvizError into one red line on stderr and exit code 2 (usage) or 1."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except ActvizError as error:
            typer.secho(f"Error: {error}", err=True, fg=typer.colors.RED)
            raise typer.Exit(error.exit_code) from None


app = typer.Typer(
    cls=_Boundary,
    name="actviz",
    help="See and measure how a PyTorch activation function and its gradient behave.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help: rich-formatted help imports markdown-it and doubles start-up time.
    rich_markup_mode=None,
)


def _complete_name(incomplete: str) -> list[str]:
    return [n for n in registry.all_names() if n.startswith(incomplete.lower())]


Names = Annotated[
    list[str],
    typer.Argument(
        help="Activation names or aliases (see 'actviz list').",
        autocompletion=_complete_name,
        show_default=False,
    ),
]
SomeNames = Annotated[
    list[str] | None,
    typer.Argument(help="Activation names or aliases.", autocompletion=_complete_name),
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
Dtype = Annotated[str, typer.Option("--dtype", help=DTYPE_HELP)]
Device = Annotated[str, typer.Option("--device", help="cpu | cuda")]
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
NoKinks = Annotated[
    bool,
    typer.Option("--no-kinks", help="Sample the grid only, without the activation's kinks."),
]


def _probes(
    names: list[str],
    params: list[str] | None,
    range_: tuple[float, float],
    points: int | None,
    step: float | None,
    **options: Any,
) -> list[Any]:
    """Parse the shared activation and grid options and run the probes."""
    from actviz.probe import Grid, probe_many

    grid = Grid(range_[0], range_[1], points, step)
    specs = registry.specs_from_cli(names, params or [])
    return probe_many(specs, grid, **options)


def _named_or_all(names: list[str] | None, all_: bool, param: list[str] | None) -> list[Any]:
    """The specs for NAMES, or for every activation with --all (exactly one of the two)."""
    if bool(names) == all_:
        raise UsageError("name activations or give --all (not both)")
    return registry.specs_from_cli(registry.names() if all_ else names or [], param or [])


@app.command("list")
def list_command(as_json: AsJson = False) -> None:
    """List every registered activation with its parameters and formula."""
    if as_json:
        import json

        typer.echo(json.dumps([registry.describe(a) for a in registry.entries()], indent=2))
        return
    from actviz.tables import registry_listing

    typer.echo(registry_listing())


@app.command("plot")
def plot_command(
    names: Names,
    range_: Range = (-8.0, 8.0),
    points: Points = None,
    step: Step = None,
    param: ParamsOpt = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Output file [default: OUT_DIR/NAME.png].")
    ] = None,
    out_dir: Annotated[Path, typer.Option("--out-dir", help="Folder for default names.")] = Path(
        "outputs"
    ),
    fmt: Annotated[str | None, typer.Option("--format", help="png | svg | pdf")] = None,
    dpi: Annotated[int, typer.Option("--dpi", min=10, max=1200)] = 150,
    dtype: Dtype = "float32",
    device: Device = "cpu",
    train: Train = False,
    seed: Seed = 0,
    second: Second = False,
    eps: Eps = 0.01,
    no_shade: Annotated[bool, typer.Option("--no-shade", help="Do not shade the regimes.")] = False,
    no_kinks: NoKinks = False,
) -> None:
    """Plot f(x) and f′(x) side by side; several names overlay in one figure.

    `actviz plot glu` draws GLU(a, b) = a·σ(b) and its two partial derivatives
    as heatmaps over the (a, b) plane instead.

    The gradient panel shades dead (grey), saturated (amber) and linear (light
    blue) stretches, marks the peak |f′| and draws dashed lines where f′
    underflows to exactly 0 in float32.
    """
    from actviz.plotting import check_format, plot_file

    if fmt is not None:
        check_format(fmt)
    pair = registry.two_input(names[0]) if len(names) == 1 else None
    if pair is not None:  # GLU: heatmaps over (a, b); with others, get() refuses it
        from actviz.glu import glu_file
        from actviz.probe import Grid

        pair.refuse_params(param or [])
        path = glu_file(Grid(*range_, points, step), out=out, out_dir=out_dir, fmt=fmt, dpi=dpi,
                        dtype=dtype, device=device, second=second)  # fmt: skip
        typer.echo(f"wrote {path}")
        return
    probes = _probes(
        names, param, range_, points, step,
        dtype=dtype, device=device, train=train, seed=seed, second=second, kinks=not no_kinks,
    )  # fmt: skip
    path = plot_file(
        probes,
        out=out,
        out_dir=out_dir,
        fmt=fmt,
        second=second,
        dpi=dpi,
        eps=eps,
        shade=not no_shade,
    )
    typer.echo(f"wrote {path}")


@app.command("table")
def table_command(
    name: Annotated[
        str, typer.Argument(help="Activation name or alias.", autocompletion=_complete_name)
    ],
    range_: Range = (-8.0, 8.0),
    points: Points = None,
    step: Step = None,
    param: ParamsOpt = None,
    dtype: Dtype = "float32",
    device: Device = "cpu",
    train: Train = False,
    seed: Seed = 0,
    second: Second = False,
    eps: Eps = 0.01,
    no_kinks: NoKinks = False,
    as_json: AsJson = False,
    as_csv: AsCsv = False,
) -> None:
    """Print x, f(x), f′(x) and the regime of every sample, then the saturation summary."""
    from actviz.saturation import analyze
    from actviz.tables import probe_csv, probe_json, probe_report

    (probe,) = _probes(
        [name], param, range_, points, step,
        dtype=dtype, device=device, train=train, seed=seed, second=second, kinks=not no_kinks,
    )  # fmt: skip
    saturation = analyze(probe, eps=eps)
    _emit(probe_report(probe, saturation), lambda: probe_json(probe, saturation),
          lambda: probe_csv(probe, saturation), as_json=as_json, as_csv=as_csv)  # fmt: skip


@app.command("saturation")
def saturation_command(
    names: SomeNames = None,
    all_: AllOpt = False,
    range_: Range = (-8.0, 8.0),
    points: Points = None,
    step: Step = None,
    param: ParamsOpt = None,
    dtype: Dtype = "float32",
    eps: Eps = 0.01,
    sort: Annotated[
        str,
        typer.Option(
            "--sort",
            help="name | peak | grad0 | onset | dead | saturated | float16 | bfloat16 | float32",
        ),
    ] = "name",
    reverse: Annotated[bool, typer.Option("--reverse", help="Sort descending.")] = False,
    as_json: AsJson = False,
    as_csv: AsCsv = False,
) -> None:
    """One row per activation: peak f′, f′(0), saturation onset, dead and saturated
    share, and the |x| where f′ underflows to exactly 0 in float16, bfloat16, float32."""
    from actviz.probe import Grid
    from actviz.saturation import survey
    from actviz.tables import check_sort_key, sort_survey, survey_csv, survey_json, survey_table

    specs = _named_or_all(names, all_, param)
    check_sort_key(sort)  # before the work, not after
    rows = sort_survey(survey(specs, Grid(*range_, points, step), eps=eps, dtype=dtype), sort,
                       reverse=reverse)  # fmt: skip
    _emit(survey_table(rows), lambda: survey_json(rows), lambda: survey_csv(rows),
          as_json=as_json, as_csv=as_csv)  # fmt: skip


@app.command("check")
def check_command(
    names: SomeNames = None,
    all_: AllOpt = False,
    param: ParamsOpt = None,
    as_json: AsJson = False,
) -> None:
    """Check autograd's f′ against the closed form and finite differences (float64).

    Exits 1 if any activation fails.
    """
    from actviz.tables import check_table
    from actviz.verify import verify_all

    checks = verify_all(_named_or_all(names, all_, param))
    _emit(check_table(checks), lambda: [c.as_dict() for c in checks], lambda: "",
          as_json=as_json, as_csv=False)  # fmt: skip
    failed = [c.label for c in checks if not c.passed]
    if failed:
        raise RuntimeFailure(f"derivative check failed for {', '.join(failed)}")


@app.command("jacobian", context_settings={"ignore_unknown_options": True})
def jacobian_command(
    function: Annotated[str, typer.Argument(help="softmax | log_softmax | softmin")],
    values: Annotated[
        list[float] | None, typer.Argument(help="The input a (after --input).", show_default=False)
    ] = None,
    use_input: Annotated[
        bool, typer.Option("--input", help="Take a from the values that follow.")
    ] = False,
    random: Annotated[
        int | None, typer.Option("--random", help="A random a of this size instead.")
    ] = None,
    seed: Seed = 0,
    out: Annotated[
        Path | None, typer.Option("--out", help="Also save the annotated heatmap here.")
    ] = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="Show why p.backward() fails for a vector.")
    ] = False,
    as_json: AsJson = False,
) -> None:
    """The full Jacobian of softmax, log_softmax or softmin, checked against its closed form.

    Default input: the seed lesson's a = [0.8865, 0.8730, 0.6643]. Example:
    actviz jacobian softmax --input 0.5 -1 2 --out outputs/jacobian.png
    """
    from actviz import jacobian as lab
    from actviz.tables import jacobian_report

    lab.check_function(function)
    if values and not use_input:
        raise UsageError(f"unexpected values {values}; put them after --input")
    if use_input and random is not None:
        raise UsageError("give --input values or --random N, not both")
    if use_input and not values:
        raise UsageError("--input needs values, e.g. --input 0.8865 0.8730 0.6643")
    a = values if use_input and values else (
        lab.random_input(random, seed) if random is not None else list(lab.SEED_INPUT)
    )  # fmt: skip
    report = lab.jacobian(function, a)
    if out is not None:
        from actviz.plotting import save_figure

        typer.echo(f"wrote {save_figure(lab.jacobian_figure(report), out)}", err=as_json)
    if explain and not as_json:
        typer.echo("\n".join(lab.explain(function, a)))
    _emit(jacobian_report(report), report.as_dict, lambda: "", as_json=as_json, as_csv=False)


@app.command("graph")
def graph_command(
    expression: Annotated[str, typer.Argument(help='e.g. "sigmoid(w*x + b)"')],
    assignments: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="NAME=VALUE[,VALUE…]",
            help="A variable; several values are several data points, summed over.",
        ),
    ] = None,
    const: Annotated[
        list[str] | None, typer.Option("--const", help="A variable that needs no gradient.")
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", help=".svg/.png/.pdf (needs Graphviz) or .dot")
    ] = Path("outputs/graph.svg"),
    eps: Annotated[
        float, typer.Option("--eps", help="Saturated: local derivative below this.")
    ] = 1e-3,
) -> None:
    """Draw the computational graph of EXPR with the value and gradient of every node.

    Example (the seed neuron): actviz graph "sigmoid(w*x + b)" --set w=5 --set b=1
    --set x=0.1 --const x
    """
    from rich.console import Console

    from actviz import graph as lab

    result = lab.run(expression, lab.parse_assignments(assignments or []), const=const or [],
                     eps=eps)  # fmt: skip
    Console().print(lab.tree(result))
    for message in result.messages:
        typer.echo(message)
    dot_path, rendered = lab.write(result, out)
    if rendered is not None:
        typer.echo(f"wrote {dot_path} and {rendered}")
    elif out.suffix == ".dot":
        typer.echo(f"wrote {dot_path}")
    else:
        typer.echo(f"wrote {dot_path}; Graphviz's dot is not installed, so no {out.suffix} "
                   f"(apt-get install graphviz, then: dot -T{out.suffix.lstrip('.')} {dot_path} "
                   f"-o {out})")  # fmt: skip


@app.command("export")
def export_command(
    names: SomeNames = None,
    all_: AllOpt = False,
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("outputs"),
    fmt: Annotated[str, typer.Option("--format", help="Comma-separated: png,svg,pdf.")] = "png",
    dpi: Annotated[int, typer.Option("--dpi", min=10, max=1200)] = 150,
    theme: Annotated[str, typer.Option("--theme", help="light | dark")] = "light",
    range_: Range = (-8.0, 8.0),
    points: Points = None,
    step: Step = None,
    param: ParamsOpt = None,
    eps: Eps = 0.01,
    jobs: Annotated[
        int | None, typer.Option("--jobs", help="Worker processes [default: one per core].")
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; exit 1 if files are missing or stale.")
    ] = False,
) -> None:
    """Export every activation (default) or the named ones to images, a manifest and a gallery.

    Same inputs give byte-identical files; unchanged files are left alone.
    """
    from actviz.export import export
    from actviz.probe import Grid

    if names and all_:
        raise UsageError("name activations or give --all, not both")
    specs = registry.targets_from_cli(names or registry.all_names(), param or [])
    grid = Grid(*range_, points, step)
    formats = {f.strip() for f in fmt.split(",") if f.strip()}
    files = len(specs) * len(formats) + 2  # the images, the manifest and the gallery
    with _file_progress(files, check) as on_file:
        report = export(specs, out, formats=fmt.split(","), dpi=dpi, theme=theme, grid=grid,
                        eps=eps, jobs=jobs, check=check, on_file=on_file)  # fmt: skip
    if check:
        if not report.current:
            problems = [f"missing {p}" for p in report.missing] + [
                f"stale {p}" for p in report.stale
            ]
            raise RuntimeFailure(f"{out} is not current: {'; '.join(problems)}; run actviz export")
        typer.echo(f"{out}: all {len(report.unchanged)} files are current")
        return
    typer.echo(f"{len(report.written)} files written, {len(report.unchanged)} unchanged "
               f"in {report.seconds:.1f} s")  # fmt: skip


OutFile = Annotated[
    Path | None, typer.Option("--out", help="Figure file [default: OUT_DIR/<name>.png].")
]
OutDir = Annotated[Path, typer.Option("--out-dir", help="Folder for default names.")]
FigFormat = Annotated[str | None, typer.Option("--format", help="png | svg | pdf")]
BiasStd = Annotated[
    float, typer.Option("--bias-std", help="Bias std σ_b (biases ~ N(0, σ_b²)); 0: no bias.")
]


@app.command("depth")
def depth_command(
    names: Names,
    layers: Annotated[int, typer.Option("--layers", help="Linear + activation blocks.")] = 20,
    width: Annotated[int, typer.Option("--width", help="Units per layer.")] = 256,
    batch: Annotated[int, typer.Option("--batch", help="Inputs, drawn from N(0, 1).")] = 256,
    init: Annotated[
        str, typer.Option("--init", help="kaiming | xavier | orthogonal | default (nn.Linear's)")
    ] = "kaiming",
    gain: Annotated[
        str | None,
        typer.Option("--gain", help="auto | backward | critical | torch | NUMBER [default: auto]"),
    ] = None,
    bias_std: BiasStd = 0.0,
    seed: Annotated[int, typer.Option("--seed", help="Seed for the weights and the inputs.")] = 0,
    param: ParamsOpt = None,
    eps: Eps = 0.01,
    no_baseline: Annotated[
        bool, typer.Option("--no-baseline", help="Skip the run at nn.Linear's default init.")
    ] = False,
    no_plot: Annotated[bool, typer.Option("--no-plot", help="Write no figure.")] = False,
    out: OutFile = None,
    out_dir: OutDir = Path("outputs"),
    fmt: FigFormat = None,
    dpi: Annotated[int, typer.Option("--dpi", min=10, max=1200)] = 150,
    as_json: AsJson = False,
    as_csv: AsCsv = False,
) -> None:
    """A deep MLP at initialisation, layer by layer: activation and gradient statistics,
    saturated and dead units, a verdict (vanishing, stable, exploding) and a figure.

    Each network is also run at nn.Linear's default init (dashed in the figure).
    Example: actviz depth sigmoid tanh relu gelu --layers 30
    """
    from actviz.depth_sim import depth
    from actviz.tables import depth_csv, depth_report

    if as_json and as_csv:
        raise UsageError("give --json or --csv, not both")
    specs = registry.specs_from_cli(names, param or [])
    if fmt is not None and not no_plot:
        from actviz.plotting import check_format

        check_format(fmt)
    result = depth(specs, layers=layers, width=width, batch=batch, init=init, gain=gain,
                   bias_std=bias_std, seed=seed, eps=eps, baseline=not no_baseline)  # fmt: skip
    if not no_plot:
        from actviz.depth_plots import depth_file

        path = depth_file(result, out=out, out_dir=out_dir, fmt=fmt, dpi=dpi)
        typer.echo(f"wrote {path}", err=as_json or as_csv)
    _emit(depth_report(result), result.as_dict, lambda: depth_csv(result),
          as_json=as_json, as_csv=as_csv)  # fmt: skip


@app.command("gain")
def gain_command(
    names: SomeNames = None,
    all_: AllOpt = False,
    param: ParamsOpt = None,
    bias_std: BiasStd = 0.0,
    plot: Annotated[
        bool, typer.Option("--plot", help="Draw the χ₁ = 1 lines in the (σ_b², σ_w²) plane.")
    ] = False,
    out: OutFile = None,
    out_dir: OutDir = Path("outputs"),
    fmt: FigFormat = None,
    dpi: Annotated[int, typer.Option("--dpi", min=10, max=1200)] = 150,
    as_json: AsJson = False,
    as_csv: AsCsv = False,
) -> None:
    """The initialisation gain that keeps signal and gradient alive, computed for any
    activation: forward and backward second-moment gains, torch's calculate_gain, the
    critical σ_w (edge of chaos) at --bias-std and χ₁ at nn.Linear's default init."""
    from actviz.init_gain import gain
    from actviz.tables import gain_csv, gain_table

    if as_json and as_csv:
        raise UsageError("give --json or --csv, not both")
    specs = _named_or_all(names, all_, param)
    if fmt is not None and plot:
        from actviz.plotting import check_format

        check_format(fmt)
    gains = gain(specs, bias_std=bias_std)
    if plot:
        from actviz.depth_plots import phase_file
        from actviz.init_gain import phase_curve

        path = phase_file([phase_curve(s) for s in specs], out=out, out_dir=out_dir, fmt=fmt,
                          dpi=dpi)  # fmt: skip
        typer.echo(f"wrote {path}", err=as_json or as_csv)
    _emit(gain_table(gains), lambda: [g.as_dict() for g in gains], lambda: gain_csv(gains),
          as_json=as_json, as_csv=as_csv)  # fmt: skip


@contextlib.contextmanager
def _file_progress(files: int, check: bool) -> Iterator[Callable[[Path, str], None]]:
    """A rich progress bar in a terminal; one plain line per file in CI and pipes."""
    if not sys.stdout.isatty() or os.environ.get("CI"):
        yield lambda path, status: typer.echo(f"{status:<9} {path}")
        return
    from rich.progress import Progress

    with Progress(transient=True) as progress:
        task = progress.add_task("checking" if check else "exporting", total=files)

        def advance(path: Path, status: str) -> None:
            progress.console.print(f"{status:<9} {path}", markup=False)  # "[" in a path
            progress.advance(task)

        yield advance


def _emit(table: Any, as_data: Any, as_text: Any, *, as_json: bool, as_csv: bool) -> None:
    """Print the rich ``table``, or JSON / CSV made on demand."""
    if as_json and as_csv:
        raise UsageError("give --json or --csv, not both")
    if as_json:
        import json

        typer.echo(json.dumps(as_data()))
    elif as_csv:
        typer.echo(as_text(), nl=False)
    else:
        from rich.console import Console

        # Wide tables wrap badly at the 80 columns rich assumes for pipes and logs.
        Console(width=None if sys.stdout.isatty() else 160).print(table)


def main() -> None:
    """Console-script entry point."""
    app(prog_name="actviz")
