"""The ``actviz`` command line: a thin Typer layer over the library.

Each command parses its strings into the library's typed values (specs, a
:class:`~actviz.probing.Grid`, :class:`~actviz.probing.ProbeOptions`,
:class:`~actviz.figure_files.FigureOptions`), calls one library function, and
prints. Heavy imports (torch, matplotlib) happen inside the commands that need
them, so ``actviz --help`` and ``actviz list`` start fast.

The package: ``options`` (choices and option types declared once, and
:data:`~actviz.cli.options.FLAGS`, the one table from library parameters to
flags), ``boundary`` (the one error boundary and the process's end),
``progress`` (export's progress lines) and this module (the app, its commands
and :func:`main`, the console script).
"""

# No `from __future__ import annotations` here: Typer would have to eval every
# annotation string at start-up, which costs more than evaluating them once.
import os
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from actviz import __version__, custom, params, registry, startup
from actviz.cli.boundary import Boundary, ClosedStdout, leave, on_signal, quiet_interrupts, say
from actviz.cli.options import (
    FLAGS,
    AllOpt,
    AsCsv,
    AsJson,
    BiasStd,
    Device,
    Dpi,
    Dtype,
    Dtypes,
    Eps,
    ExploreTheme,
    FigFormat,
    FigSize,
    Formats,
    GradYLim,
    LimitsOpt,
    Names,
    NoKinks,
    OutDir,
    OutFile,
    ParamsOpt,
    Points,
    Range,
    Second,
    Seed,
    ShapeMethod,
    SomeNames,
    SortKey,
    Step,
    SweepOpt,
    ThemeOpt,
    Train,
    XLim,
    YLim,
    check_figure_format,
    complete_name,
    emit,
    named_or_all,
    output_format,
)
from actviz.cli.progress import file_progress
from actviz.defaults import (
    DEFAULT_DPI,
    DEFAULT_DTYPE,
    DEFAULT_EPS,
    DEFAULT_OUT_DIR,
    DEFAULT_RANGE,
    DEFAULT_THEME,
    EXPLORE_OUT,
    EXPLORE_RANGE,
    GRAPH_EPS,
    SHAPE_ETA,
    SHAPE_TAU,
    SHAPE_ZETA,
)
from actviz.errors import RuntimeFailure, UsageError, render

app = typer.Typer(
    cls=Boundary,
    name="actviz",
    help="See and measure how a PyTorch activation function and its gradient behave.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion for bash, zsh and fish
    pretty_exceptions_enable=False,
    # Plain help: rich-formatted help imports markdown-it and doubles start-up time.
    rich_markup_mode=None,
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"actviz {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Show the version and exit.", callback=_show_version, is_eager=True
        ),
    ] = False,
) -> None:
    """See and measure how a PyTorch activation function and its gradient behave."""


def _targets(names: list[str], param: list[str] | None, sweep: list[str] | None) -> Any:
    """What NAMES, --param and --sweep ask a figure for: the specs (one per swept value),
    or a lone two-input activation (glu), drawn as heatmaps."""
    if len(names) == 1 and registry.two_input(names[0]) is not None:
        return params.targets_from_cli(names, param or [], sweep or [])[0]  # refuses --param
    return params.specs_from_cli(names, param or [], sweep or [])


def _grid(range_: tuple[float, float], points: int | None, step: float | None) -> Any:
    from actviz.probing import Grid

    return Grid(*range_, points, step)


@app.command("list")
def list_command(as_json: AsJson = False) -> None:
    """List every registered activation with its parameters and formula."""
    from actviz.tables import registry_listing

    typer.echo(registry_listing(as_json=as_json))


@app.command("plot")
def plot_command(
    names: Names,
    range_: Range = DEFAULT_RANGE,
    points: Points = None,
    step: Step = None,
    param: ParamsOpt = None,
    sweep: SweepOpt = None,
    out: OutFile = None,
    out_dir: OutDir = Path(DEFAULT_OUT_DIR),
    fmt: FigFormat = None,
    dpi: Dpi = DEFAULT_DPI,
    dtype: Dtype = DEFAULT_DTYPE,
    device: Device = "cpu",
    train: Train = False,
    seed: Seed = 0,
    second: Second = False,
    eps: Eps = DEFAULT_EPS,
    no_shade: Annotated[bool, typer.Option("--no-shade", help="Do not shade the regimes.")] = False,
    no_kinks: NoKinks = False,
    theme: ThemeOpt = DEFAULT_THEME,
    figsize: FigSize = None,
    xlim: XLim = None,
    ylim: YLim = None,
    grad_ylim: GradYLim = None,
    grad2_ylim: Annotated[
        LimitsOpt,
        typer.Option(
            "--grad2-ylim", metavar="LOW HIGH", help="y limits of the f″ panel (--second)."
        ),
    ] = None,
    term: Annotated[
        bool,
        typer.Option("--term", help="Draw in the terminal instead of writing a file."),
    ] = False,
) -> None:
    """Plot f(x) and f′(x) side by side; several names overlay in one figure.

    `actviz plot glu` draws GLU(a, b) = a·σ(b) and its two partial derivatives
    as heatmaps over the (a, b) plane instead.

    The gradient panel shades dead, saturated and linear stretches, marks the
    peak |f′| and draws dashed lines where f′ underflows to exactly 0 in
    float32. With few samples (under 50) they are drawn as markers.

    --term draws both panels in the terminal (braille, colour unless NO_COLOR
    or a pipe, as wide as the terminal or COLUMNS) and writes no file.
    """
    from actviz import figure_files, terminal
    from actviz.probing import ProbeOptions

    options = ProbeOptions(dtype, device, second, train, seed, kinks=not no_kinks)
    figure = figure_files.FigureOptions(out, out_dir, fmt, dpi, theme, figsize, xlim, ylim,
                                        grad_ylim, grad2_ylim, shade=not no_shade)  # fmt: skip
    if term:
        _check_term(names, figure.given())
    grid, specs = _grid(range_, points, step), _targets(names, param, sweep)
    if term:
        typer.echo(terminal.plot_names(specs, grid, options, eps=eps))
        return
    typer.echo(f"wrote {figure_files.write_plot(specs, grid, options, figure, eps=eps)}")


def _check_term(names: list[str], given: list[str]) -> None:
    """--term draws curves in the terminal: no image-file options, no heatmaps."""
    if given:
        verb = "sets" if len(given) == 1 else "set"
        flags = ", ".join(FLAGS[name] for name in given)
        raise UsageError(f"{flags} {verb} image files; --term draws in the terminal")
    if registry.two_input(names[0]) is not None:
        raise UsageError(f"{names[0]} is drawn as heatmaps; --term draws curves of f(x)")


@app.command("table")
def table_command(
    name: Annotated[
        str,
        typer.Argument(
            metavar="NAME", help="Activation name or alias.", autocompletion=complete_name
        ),
    ],
    range_: Range = DEFAULT_RANGE,
    points: Points = None,
    step: Step = None,
    param: ParamsOpt = None,
    sweep: SweepOpt = None,
    dtype: Dtype = DEFAULT_DTYPE,
    device: Device = "cpu",
    train: Train = False,
    seed: Seed = 0,
    second: Second = False,
    eps: Eps = DEFAULT_EPS,
    no_kinks: NoKinks = False,
    weight_grad: Annotated[
        bool,
        typer.Option(
            "--weight-grad",
            help="Also ∂y/∂w and ∂(Σy)/∂w of the learnable slope (prelu's a; a module's "
            "scalar nn.Parameters).",
        ),
    ] = False,
    as_json: AsJson = False,
    as_csv: AsCsv = False,
) -> None:
    """Print x, f(x), f′(x) and the regime of every sample, then the saturation summary.

    With --sweep: x, then a column block per value, then each value's summary.
    """
    from actviz import tables
    from actviz.probing import ProbeOptions

    fmt = output_format(as_json, as_csv)  # before any work
    options = ProbeOptions(dtype, device, second, train, seed, kinks=not no_kinks)
    grid, (found,) = _grid(range_, points, step), params.sweeps_from_cli([name], param or [],
                                                                         sweep or [])  # fmt: skip
    # A sweep (even of one value) prints its column blocks; else the one spec's table.
    specs = found if sweep else found.specs[0]
    # CSV and JSON stream to stdout: a million rows need not sit in memory as text.
    tables.write_table(specs, sys.stdout, grid, options, fmt=fmt, eps=eps,
                       weight_grad=weight_grad)  # fmt: skip


@app.command("saturation")
def saturation_command(
    names: SomeNames = None,
    all_: AllOpt = False,
    range_: Range = DEFAULT_RANGE,
    points: Points = None,
    step: Step = None,
    param: ParamsOpt = None,
    sweep: SweepOpt = None,
    dtype: Dtype = DEFAULT_DTYPE,
    eps: Eps = DEFAULT_EPS,
    sort: Annotated[SortKey, typer.Option("--sort", help="Column to sort by.")] = "name",
    reverse: Annotated[bool, typer.Option("--reverse", help="Sort descending.")] = False,
    as_json: AsJson = False,
    as_csv: AsCsv = False,
) -> None:
    """One row per activation: peak f′, f′(0), saturation onset, dead and saturated
    share, and the |x| where f′ underflows to exactly 0 in float16, bfloat16, float32."""
    from actviz.probing import Grid, ProbeOptions
    from actviz.saturation import survey

    output = output_format(as_json, as_csv)
    specs = named_or_all(names, all_, param, sweep)
    rows = survey.survey_rows(specs, Grid(*range_, points, step), ProbeOptions(dtype), eps=eps,
                              sort=sort, reverse=reverse)  # fmt: skip
    emit(output, lambda: survey.survey_table(rows), lambda: survey.survey_json(rows),
          lambda: survey.survey_csv(rows))  # fmt: skip


@app.command("check")
def check_command(
    names: SomeNames = None,
    all_: AllOpt = False,
    param: ParamsOpt = None,
    sweep: SweepOpt = None,
    dtype: Dtypes = None,
    formula: Annotated[
        str | None,
        typer.Option(
            "--reference",
            metavar="EXPR",
            help="Your activation's exact formula in x, e.g. \"x * sigmoid(x)\" (graph's "
            "language), evaluated at 50 digits: the reference instead of a numeric one.",
        ),
    ] = None,
    as_json: AsJson = False,
    accept: Annotated[
        Path | None,
        typer.Option(
            "--accept",
            metavar="FILE",
            help="Known failures (a --write-baseline file): reported, not failed; new ones fail.",
        ),
    ] = None,
    write_baseline: Annotated[
        Path | None,
        typer.Option(
            "--write-baseline",
            metavar="FILE",
            help="Write this run's failures to FILE (for --accept) and exit 0.",
        ),
    ] = None,
) -> None:
    """Check torch's f, f′ and f″ against a 50-digit mpmath reference, in ulps of each
    dtype, over [−1000, 1000] and at the kinks; gradcheck in full mode as a second opinion.

    Your own activation (module:callable) is checked against derivatives of its
    float64 f (Ridders-extrapolated differences, each with its error estimate), or
    against --reference EXPR at 50 digits. Names the regions where torch's own
    formula loses the digits (findings, not failures). Exits 1 on a genuine error,
    or with --accept FILE on one not listed there.
    """
    from actviz.check import verify
    from actviz.check.baseline import Gate
    from actviz.check.report import check_table

    gate = Gate.open(accept, write_baseline)  # the baseline read, or its place checked, first
    output = output_format(as_json)
    specs = named_or_all(names, all_, param, sweep)
    if formula is not None and len(specs) != 1:
        raise UsageError(f"--reference is the formula of one activation; {len(specs)} are "
                         "named (name one, without --all or --sweep)")  # fmt: skip
    # verify_all checks the dtypes (and the formula) before any work
    checks = verify.verify_all(specs, dtype, formula=formula)
    verdict = gate.judge(checks)
    emit(output, lambda: check_table(checks, verdict, gate.source),
          lambda: gate.data(checks, verdict))  # fmt: skip
    if wrote := gate.finish(checks):
        typer.echo(wrote, err=output != "table")
    if failed := gate.failure_message(checks, verdict):
        raise RuntimeFailure(failed)


@app.command("jacobian", context_settings={"ignore_unknown_options": True})
def jacobian_command(
    function: Annotated[
        str, typer.Argument(metavar="FUNCTION", help="softmax | log_softmax | softmin")
    ],
    values: Annotated[
        list[float] | None,
        typer.Argument(
            metavar="[VALUES]...", help="The input a (after --input).", show_default=False
        ),
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

    Default input: the seed lesson's a = [0.8865, 0.8730, 0.6643].
    """
    from actviz.jacobian import jacobian_report, run

    done = run(function, values, use_input=use_input, random=random, seed=seed, out=out,
               explained=explain and not as_json)  # fmt: skip
    if done.figure is not None:
        typer.echo(f"wrote {done.figure}", err=as_json)
    if done.explanation:
        typer.echo("\n".join(done.explanation))
    report = done.report
    emit(output_format(as_json), lambda: jacobian_report(report), report.as_dict)


# Unknown options are kept as arguments, so that an expression may start with
# a minus sign: actviz graph "-x*w" --set x=1 --set w=2.
@app.command("graph", context_settings={"ignore_unknown_options": True})
def graph_command(
    expression: Annotated[str, typer.Argument(metavar="EXPR", help='e.g. "sigmoid(w*x + b)"')],
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
    ] = GRAPH_EPS,
) -> None:
    """Draw the computational graph of EXPR with the value and gradient of every node.

    The first example below is the seed lesson's neuron.
    """
    from rich.console import Console

    from actviz.graph import run
    from actviz.graph.drawing import check_out, tree, write
    from actviz.graph.expression import parse_assignments

    check_out(out)  # before any work or file
    graph = run(expression, parse_assignments(assignments or []), const=const or [], eps=eps)
    Console().print(tree(graph))
    for message in graph.messages:
        typer.echo(message)
    typer.echo(write(graph, out).message)


@app.command("export")
def export_command(
    names: SomeNames = None,
    all_: AllOpt = False,
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path(DEFAULT_OUT_DIR),
    fmt: Formats = "png",
    dpi: Dpi = DEFAULT_DPI,
    theme: ThemeOpt = DEFAULT_THEME,
    range_: Range = DEFAULT_RANGE,
    points: Points = None,
    step: Step = None,
    param: ParamsOpt = None,
    sweep: SweepOpt = None,
    eps: Eps = DEFAULT_EPS,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs", help="Worker processes, at most one per usable core [default: one per core]."
        ),
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; exit 1 if files are missing or stale.")
    ] = False,
    prune: Annotated[
        bool, typer.Option("--prune", help="Remove images in OUT that this export does not make.")
    ] = False,
    figsize: FigSize = None,
    xlim: XLim = None,
    ylim: YLim = None,
    grad_ylim: GradYLim = None,
) -> None:
    """Export every activation (default) or the named ones to images, a manifest and a gallery.

    Same inputs give byte-identical files; unchanged files are left alone.
    Images already in OUT that this export does not make stay in the manifest
    and gallery (--prune removes them).
    """
    from actviz.export import export, jobs_note
    from actviz.probing import Grid

    if names and all_:
        raise UsageError("name activations or give --all, not both")
    if note := jobs_note(jobs):
        typer.echo(render(note, FLAGS), err=True)
    specs = params.targets_from_cli(names or registry.all_names(), param or [], sweep or [])
    grid = Grid(*range_, points, step)
    with file_progress(check) as (on_total, on_file):
        report = export(specs, out, formats=fmt, dpi=dpi, theme=theme, grid=grid, eps=eps,
                        jobs=jobs, check=check, prune=prune, on_file=on_file, on_total=on_total,
                        figsize=figsize, xlim=xlim, ylim=[ylim, grad_ylim])  # fmt: skip
    if problem := report.problem():
        raise RuntimeFailure(problem)
    typer.echo(report.summary())


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
    eps: Eps = DEFAULT_EPS,
    no_baseline: Annotated[
        bool, typer.Option("--no-baseline", help="Skip the run at nn.Linear's default init.")
    ] = False,
    output_grad: Annotated[
        str,
        typer.Option(
            "--output-grad",
            help="random (seeded N(0, 1): what mean-field theory and training see) | ones "
            "(backward(ones_like(out)): the gradient of Σ outputs) | loss (MSE to a seeded "
            "random target)",
        ),
    ] = "random",
    shape: Annotated[
        ShapeMethod | None,
        typer.Option(
            "--shape",
            help="dks | tat: also run each activation shaped for --layers (actviz shape), "
            "orthogonal weights of gain 1, beside the unshaped one; no baseline then",
        ),
    ] = None,
    no_plot: Annotated[bool, typer.Option("--no-plot", help="Write no figure.")] = False,
    out: OutFile = None,
    out_dir: OutDir = Path(DEFAULT_OUT_DIR),
    fmt: FigFormat = None,
    dpi: Dpi = DEFAULT_DPI,
    as_json: AsJson = False,
    as_csv: AsCsv = False,
) -> None:
    """A deep MLP at initialisation, layer by layer: activation and gradient statistics,
    saturated and dead units, a verdict (vanishing, stable, exploding) and a figure.

    Each network is also run at nn.Linear's default init (dashed in the figure).
    Example: actviz depth sigmoid tanh relu gelu --layers 30
    """
    from actviz.depth import simulation as depth_sim
    from actviz.depth import tables as depth_tables

    output = output_format(as_json, as_csv)
    specs = params.specs_from_cli(names, param or [])
    check_figure_format(fmt, wanted=not no_plot)
    result = depth_sim.simulate(specs, layers=layers, width=width, batch=batch, init=init,
                             gain=gain, bias_std=bias_std, seed=seed, eps=eps,
                             baseline=not no_baseline, output_grad=output_grad,
                             shape=shape)  # fmt: skip
    if not no_plot:
        from actviz.figure_files import depth_file

        path = depth_file(result, out=out, out_dir=out_dir, fmt=fmt, dpi=dpi)
        typer.echo(f"wrote {path}", err=output != "table")
    emit(output, lambda: depth_tables.depth_report(result), result.as_dict,
          lambda: depth_tables.depth_csv(result))  # fmt: skip


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
    out_dir: OutDir = Path(DEFAULT_OUT_DIR),
    fmt: FigFormat = None,
    dpi: Dpi = DEFAULT_DPI,
    as_json: AsJson = False,
    as_csv: AsCsv = False,
) -> None:
    """The initialisation gain that keeps signal and gradient alive, computed for any
    activation: forward and backward second-moment gains, torch's calculate_gain, the
    critical σ_w (edge of chaos) at --bias-std and χ₁ at nn.Linear's default init."""
    from actviz.depth import gain as init_gain
    from actviz.depth import tables as depth_tables

    output = output_format(as_json, as_csv)
    specs = named_or_all(names, all_, param)
    check_figure_format(fmt, wanted=plot)
    gains = init_gain.gain(specs, bias_std=bias_std)
    if plot:
        from actviz.figure_files import phase_file

        path = phase_file(init_gain.phase_curves(specs), out=out, out_dir=out_dir, fmt=fmt,
                          dpi=dpi)  # fmt: skip
        typer.echo(f"wrote {path}", err=output != "table")
    emit(output, lambda: depth_tables.gain_report(gains), lambda: [g.as_dict() for g in gains],
          lambda: depth_tables.gain_csv(gains))  # fmt: skip


@app.command("explore")
def explore_command(
    names: SomeNames = None,
    all_: AllOpt = False,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            metavar="KEY=VALUE",
            help="Fix a parameter (no slider), repeatable; NAME.KEY=VALUE targets one activation.",
        ),
    ] = None,
    sweep: Annotated[
        list[str] | None,
        typer.Option(
            "--sweep",
            metavar="KEY=V1,V2,...",
            help="The values a parameter's slider stops at, repeatable; NAME.KEY=... targets one.",
        ),
    ] = None,
    range_: Annotated[
        tuple[float, float],
        typer.Option("--range", metavar="START STOP", help="Input range every curve is probed on."),
    ] = EXPLORE_RANGE,
    out: Annotated[
        str | None,  # text, as plot's: Path('') would be '.' in the error
        typer.Option("--out", help=f"The HTML page to write [default: {EXPLORE_OUT}]."),
    ] = None,
    theme: Annotated[
        ExploreTheme, typer.Option("--theme", help="Colours at first; auto follows the browser.")
    ] = "auto",
) -> None:
    """Write one self-contained HTML page to explore activations: f, f′ and f″ with a
    slider per parameter, three dtypes, regimes, underflow edges and hover readouts,
    every number computed by torch beforehand (nothing is fetched; works offline)."""
    from actviz.explore import explore_file

    if bool(names) == all_:
        raise UsageError("name activations or give --all" + (", not both" if all_ else ""))
    targets = params.sweeps_from_cli(registry.names() if all_ else names or [], param or [],
                                     sweep or [])  # fmt: skip
    typer.echo(explore_file(targets, out, start=range_[0], stop=range_[1], theme=theme))


@app.command("cmap")
def cmap_command(
    names: SomeNames = None,
    all_: AllOpt = False,
    param: ParamsOpt = None,
    layers: Annotated[
        int, typer.Option("--layers", help="Layers composed in the network's map C∘…∘C.")
    ] = 10,
    no_plot: Annotated[bool, typer.Option("--no-plot", help="Write no figure.")] = False,
    out: OutFile = None,
    out_dir: OutDir = Path(DEFAULT_OUT_DIR),
    fmt: FigFormat = None,
    dpi: Dpi = DEFAULT_DPI,
    as_json: AsJson = False,
) -> None:
    """The correlation map C(c) of mean-field theory: how one layer (and --layers of
    them) changes the correlation c of two inputs, with C(0), C′(1) and C″(1) for
    input variance 1 (the DKS convention) and a figure of C and of C∘…∘C."""
    from actviz.depth.cmap import kernel, report

    output = output_format(as_json)
    specs = named_or_all(names, all_, param)
    check_figure_format(fmt, wanted=not no_plot)
    maps = kernel.cmap(specs, layers=layers)
    if not no_plot:
        path = report.cmap_file(maps, out=out, out_dir=out_dir, fmt=fmt, dpi=dpi)
        typer.echo(f"wrote {path}", err=output != "table")
    emit(output, lambda: report.cmap_table(maps), lambda: [m.as_dict() for m in maps])


@app.command("shape")
def shape_command(
    depth: Annotated[
        int, typer.Option("--depth", help="Layers of the vanilla MLP the shape is for.")
    ],
    names: SomeNames = None,
    all_: AllOpt = False,
    param: ParamsOpt = None,
    method: Annotated[ShapeMethod, typer.Option("--method", help="DKS or TAT.")] = "dks",
    zeta: Annotated[
        float, typer.Option("--zeta", help="DKS: the network's C′(1) (> 1).")
    ] = SHAPE_ZETA,
    eta: Annotated[
        float, typer.Option("--eta", help="TAT, leaky relu: the network's C(0) (0 < η < 1).")
    ] = SHAPE_ETA,
    tau: Annotated[
        float, typer.Option("--tau", help="TAT, smooth: the network's C″(1) (> 0).")
    ] = SHAPE_TAU,
    out: Annotated[
        Path | None, typer.Option("--out", help="Also draw the figure to this file.")
    ] = None,
    dpi: Dpi = DEFAULT_DPI,
    theme: ThemeOpt = DEFAULT_THEME,
    as_json: AsJson = False,
) -> None:
    """Shape an activation for a deep vanilla MLP (no normalisation, no skip
    connections) by DKS or TAT: φ̂(x) = γ·(φ(α·x + β) + δ), with the network's C(0),
    C′(1), C″(1) against the method's targets; --json includes each one's snippet."""
    from actviz.depth.shape import report, solve

    output = output_format(as_json)
    specs = named_or_all(names, all_, param)
    survey = solve.shape_all(specs, depth=depth, method=method, zeta=zeta, eta=eta, tau=tau,
                             skip_refused=all_)  # fmt: skip
    if out is not None and survey.shaped:
        path = report.shape_file(survey.shaped, out=out, dpi=dpi, theme=theme)
        typer.echo(f"wrote {path}", err=output != "table")
    emit(output, lambda: report.shape_table(survey), survey.as_dict)


@app.command("env")
def env_command(as_json: AsJson = False) -> None:
    """Show the kernel route actviz measures on here: torch, ATen's CPU capability,
    oneDNN, intra-op threads.

    Where torch rounds f′ to exactly 0 can depend on it (gelu's bfloat16 edge is
    6.156 with oneDNN's native bfloat16, 13.81 without); --json output, the export
    manifest and the footer under a † record the same environment."""
    from actviz.display import strict_json
    from actviz.environment import environment

    found = environment()
    typer.echo(strict_json(found.as_dict()) if as_json else found.text())


class _Command(TyperCommand):
    """Usage lines without the braces Typer puts around required arguments ({NAME})."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return [piece.strip("{}") for piece in super().collect_usage_pieces(ctx)]


# The end of every command's --help: real commands to copy (tests/test_help.py
# checks that each command has them and that the README shows each command).
EXAMPLES = {
    "list": ["actviz list", "actviz list --json"],
    "plot": [
        "actviz plot sigmoid tanh --out pair.png",
        "actviz plot gelu --range -4 4 --second --theme dark",
        "actviz plot sigmoid --term",
    ],
    "table": ["actviz table sigmoid --step 1", "actviz table relu --range -2 2 --points 5 --csv"],
    "saturation": [
        "actviz saturation --all --sort peak --reverse",
        "actviz saturation sigmoid tanh --json",
    ],
    "check": [
        "actviz check tanh",
        "actviz check gelu silu --dtype float32",
        "actviz check --all --accept known.json",
    ],
    "jacobian": [
        "actviz jacobian softmax",
        "actviz jacobian log_softmax --input 0.5 -1 2 --out jacobian.png",
    ],
    "graph": [
        'actviz graph "sigmoid(w*x + b)" --set w=5 --set b=1 --set x=0.1 --const x',
        'actviz graph "tanh(x)" --set x=0.5,1 --out tanh.dot',
    ],
    "export": [
        "actviz export --out outputs",
        "actviz export sigmoid tanh --format png,svg",
        "actviz export --check",
    ],
    # main's depth and gain commands (merged alongside): examples ready for them
    "depth": [
        "actviz depth sigmoid tanh relu gelu --layers 30",
        "actviz depth relu --init kaiming --no-plot --json",
    ],
    "gain": ["actviz gain --all", "actviz gain tanh --plot"],
    "cmap": ["actviz cmap relu tanh gelu --layers 20", "actviz cmap --all --no-plot --json"],
    "shape": [
        "actviz shape tanh gelu --depth 50 --method dks",
        "actviz shape leaky_relu --depth 100 --method tat --eta 0.9 --out tat.png",
        "actviz shape --all --depth 20 --method tat --json",
    ],
    "env": ["actviz env", "actviz env --json"],
    "explore": [
        "actviz explore --all --out outputs/explore.html",
        "actviz explore leaky_relu elu --sweep negative_slope=0,0.1,0.3 --out explore.html",
    ],
}


def _epilog(lines: list[str]) -> str:
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)  # \b: keep the lines


app.info.epilog = _epilog([EXAMPLES["plot"][2], EXAMPLES["saturation"][0], "actviz list"])
for _info in app.registered_commands:  # every command above, without touching each decorator
    if _info.cls in (None, TyperCommand):
        _info.cls = _Command
    if _info.name in EXAMPLES:  # tests/test_help.py fails for a command without examples
        _info.epilog = _epilog(EXAMPLES[_info.name])


def main() -> None:
    """Console-script entry point: Ctrl-C and SIGTERM stop a command with one line.

    Exit codes: 0 ok, 1 failure at run time, 2 usage error, 130 interrupted
    (SIGINT), 143 terminated (SIGTERM). Installed here, not on import, so that
    a notebook importing actviz keeps its own handlers (and its own sys.path).
    """
    sys.unraisablehook = quiet_interrupts
    try:
        os.getcwd()
    except OSError:  # torch and others fail in odd ways without one: refuse before any work
        typer.secho(
            "Error: the working folder no longer exists (deleted or moved away); cd to a "
            "folder that exists and run again",
            err=True,
            fg=typer.colors.RED,
        )
        sys.exit(1)
    # A read-only HOME: matplotlib gets a private folder, or it warns on every import
    # (and in every export worker, which inherits the variable).
    startup.private_matplotlib_folder()
    if sys.stdout is None:  # started with file descriptor 1 closed (`actviz list >&-`)
        sys.stdout = ClosedStdout()
    # Users expect `actviz plot mymodule:fn` to find mymodule.py right here. The
    # working folder is searched for that module only, and last (custom.py): a
    # numpy.py there never runs in place of numpy. Done here, not in the library,
    # which leaves a notebook's search path alone.
    custom.set_module_folder(os.getcwd())
    startup.hold_signals_while_importing()  # a Ctrl-C during torch's import aborts it
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    code: object = 0
    try:
        app(prog_name="actviz")
    except SystemExit as done:
        code = done.code
    leave(code if isinstance(code, int) else 0 if code is None else say(code))
