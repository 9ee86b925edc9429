"""The ``actviz`` command line: a thin Typer layer over the library.

Each command parses its arguments, calls the library, and prints. Heavy
imports (torch, matplotlib) happen inside the commands that need them, so
``actviz --help`` and ``actviz list`` start fast. :class:`_Boundary` is the
one place where an :class:`~actviz.errors.ActvizError` becomes a red line on
stderr and an exit code; Ctrl-C (exit 130) and SIGTERM (exit 143, through the
handler :func:`main` installs) are stopped there too, with one line.
"""

# No `from __future__ import annotations` here: Typer would have to eval every
# annotation string at start-up, which costs more than evaluating them once.
import contextlib
import errno
import os
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn, get_args

import typer
from typer._types import TyperChoice
from typer.core import TyperCommand, TyperGroup

from actviz import __version__, custom, params, registry, startup
from actviz.defaults import (
    DEFAULT_DPI,
    DEFAULT_DTYPE,
    DEFAULT_EPS,
    DEFAULT_OUT_DIR,
    DEFAULT_RANGE,
    DEFAULT_THEME,
    EXPLORE_RANGE,
    GRAPH_EPS,
    SHAPE_ETA,
    SHAPE_TAU,
    SHAPE_ZETA,
)
from actviz.errors import ActvizError, Interrupted, RuntimeFailure, Terminated, UsageError

# Choices as Literal types: --help lists them, shell completion offers them and
# a wrong value gets Click's own one-line error. They mirror the library's
# tuples (evaluation.DTYPES, defaults.IMAGE_FORMATS, …), which tests/test_completion.py checks.
DtypeName = Literal["float16", "bfloat16", "float32", "float64"]
FormatName = Literal["png", "svg", "pdf"]
ThemeName = Literal["light", "dark"]
ExploreTheme = Literal["auto", "light", "dark"]
ShapeMethod = Literal["dks", "tat"]
SortKey = Literal[
    "name", "peak", "grad0", "onset", "dead", "saturated", "float16", "bfloat16", "float32"
]


class _DeviceChoice(TyperChoice[str]):
    """cpu | cuda, and also cuda:N for one GPU of several (a plain choice would refuse it)."""

    def __init__(self) -> None:
        super().__init__(["cpu", "cuda"])

    def convert(self, value: Any, param: Any, ctx: Any) -> str:
        if isinstance(value, str) and value.startswith("cuda:") and value[5:].isdigit():
            return value
        return super().convert(value, param, ctx)


class _Boundary(TyperGroup):
    """The one error boundary: every foreseen failure becomes one red ``Error:`` line on
    stderr and exit code 2 (usage) or 1 (run time), never a traceback; Ctrl-C becomes
    "Error: interrupted" and 130, SIGTERM "Error: terminated" and 143.

    That covers ActvizError, click's own usage errors (missing or extra
    arguments, bad option values, unknown options and commands) and a stdout
    that cannot be written (a full disk, ``> /dev/full``).
    """

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        with _one_line(), _signals_raise():
            return super().make_context(*args, **kwargs)

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        for param in self.params:  # Typer adds these two after the group is made
            if param.name in ("install_completion", "show_completion"):
                param.callback = _checked_completion_option(param.callback)
        return super().parse_args(ctx, args)

    def _main_shell_completion(self, *args: Any, **kwargs: Any) -> None:
        """A shell's completion request (``_ACTVIZ_COMPLETE``), checked first: a
        malformed one is one ``Error:`` line and exit 2, not Typer's traceback."""
        instruction = os.environ.get("_ACTVIZ_COMPLETE")
        if instruction:  # empty: no request, as Typer reads it
            try:
                with _one_line():
                    startup.check_completion_request(instruction, os.environ)
            except typer.Exit as done:
                sys.exit(done.exit_code)
        super()._main_shell_completion(*args, **kwargs)

    def invoke(self, ctx: Any) -> Any:
        with _one_line(), _signals_raise():
            try:
                result = super().invoke(ctx)
                sys.stdout.flush()  # a full disk shows here, not at interpreter exit
                if isinstance(sys.stdout, _ClosedStdout) and sys.stdout.wanted:
                    _fail(
                        "stdout is closed, so the output was not printed; run again with "
                        "stdout open",
                        1,
                    )
            except ActvizError as error:
                if _signalled and not isinstance(error, Interrupted):
                    _stop(_signalled[0] == signal.SIGTERM)  # the failure came from the signal
                raise
            except KeyboardInterrupt as stop:  # a command the library did not report on itself
                _stop(isinstance(stop, Terminated))
            except Exception:
                if _signalled:  # a signal that landed mid-import breaks the modules it left
                    _stop(_signalled[0] == signal.SIGTERM)
                raise
            if _signalled:  # the signal's exception was swallowed (in a callback, say): still stop
                _stop(_signalled[0] == signal.SIGTERM)
            return result


@contextlib.contextmanager
def _signals_raise() -> Iterator[None]:
    """Inside: a signal raises (KeyboardInterrupt, Terminated) to stop the work at once.
    Outside (Click's own wrapping, the teardown in main) it is only recorded, and
    :func:`_leave` reports it. One that came before the work starts stops it here."""
    _live.append(True)
    try:
        if _signalled:
            raise Terminated if _signalled[0] == signal.SIGTERM else KeyboardInterrupt
        yield
    finally:
        _live.pop()


@contextlib.contextmanager
def _one_line() -> Iterator[None]:
    from typer._click.exceptions import NoArgsIsHelpError
    from typer._click.exceptions import UsageError as ClickUsageError

    try:
        yield
    except ActvizError as error:
        _fail(str(error), error.exit_code)
    except KeyboardInterrupt as stop:  # while the arguments are read
        _stop(isinstance(stop, Terminated))
    except NoArgsIsHelpError:
        raise  # `actviz plot` alone: the help, as asked for by no_args_is_help
    except ClickUsageError as error:
        message = error.format_message().rstrip(".")
        if error.ctx is None:
            _fail(message, 2)
        pieces = error.ctx.command.collect_usage_pieces(error.ctx)
        _fail(f"{message}; usage: {' '.join([error.ctx.command_path, *pieces])}", 2)
    except OSError as error:
        if error.errno == errno.ENAMETOOLONG:  # a name over 255 bytes, a path over PATH_MAX
            _fail(
                f"cannot use {_shortened(error.filename)}: File name too long (each name "
                "at most 255 bytes, the whole path at most 4095); choose a shorter path",
                1,
            )
        if error.errno not in (errno.ENOSPC, errno.EPIPE, errno.EIO, errno.EFBIG):
            raise
        # The rest of stdout cannot be written either: drop it quietly at exit.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives until exit
        code = 1
        if error.errno == errno.EPIPE:  # `actviz list | head`: the reader is done, not us
            raise typer.Exit(code) from None
        _fail(f"cannot write the output: {error.strerror or error}", code)


def _shortened(name: object) -> str:
    text = os.fsdecode(name) if isinstance(name, (str, bytes)) else "a path"
    return text if len(text) <= 120 else f"{text[:60]}…{text[-50:]}"


class _ClosedStdout:
    """sys.stdout when file descriptor 1 is closed (``actviz list >&-``): swallows what
    is printed and remembers that something was, for the one line at the end."""

    wanted = False
    encoding = "utf-8"

    def write(self, text: str) -> int:
        if text:
            self.wanted = True
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def _detected_shell() -> str | None:
    """The shell running actviz, as Typer detects it (None where it cannot tell)."""
    from typer._completion_shared import _get_shell_name

    return _get_shell_name()


def _checked_completion_option(callback: Any) -> Any:
    """``--install-completion``/``--show-completion`` with the shell checked first (named,
    or detected) and a home that cannot be written as one ``Error:`` line (exit 1)."""
    if getattr(callback, "actviz_checked", False):
        return callback

    def checked(ctx: Any, param: Any, value: Any) -> Any:
        if not value or ctx.resilient_parsing:
            return callback(ctx, param, value)
        named = value if isinstance(value, str) else None
        shell = startup.completion_shell(named, None if named else _detected_shell())
        try:
            return callback(ctx, param, shell)
        except OSError as error:
            where = os.fsdecode(error.filename) if error.filename else "the home folder"
            _fail(
                f"cannot install {shell} completion: {error.strerror or error} ({where}); "
                "make the home folder writable, or add the script yourself: "
                f"`_ACTVIZ_COMPLETE=source_{shell} actviz`",
                1,
            )

    checked.actviz_checked = True  # type: ignore[attr-defined]
    return checked


def _fail(message: str, code: int) -> NoReturn:
    _tell(message)
    raise typer.Exit(code) from None


def _tell(message: str) -> None:
    """The one red ``Error:`` line on stderr."""
    # One line, even when a user's exception brings several.
    line = "; ".join(part.strip() for part in str(message).splitlines() if part.strip())
    _told.append(line)
    typer.secho(f"Error: {line}", err=True, fg=typer.colors.RED)


def _stop(terminated: bool) -> NoReturn:
    _fail("terminated" if terminated else "interrupted", 143 if terminated else 130)


app = typer.Typer(
    cls=_Boundary,
    name="actviz",
    help="See and measure how a PyTorch activation function and its gradient behave.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion for bash, zsh and fish
    pretty_exceptions_enable=False,
    # Plain help: rich-formatted help imports markdown-it and doubles start-up time.
    rich_markup_mode=None,
)


def _complete_name(incomplete: str) -> list[str]:
    """Canonical names, then aliases that spell another word (logistic, swish, rectifier).

    Aliases that differ from a name only in case or underscores (Sigmoid,
    hard_sigmoid) would only repeat it, so they are left out.
    """
    names = registry.all_names()
    canonical = {registry._key(n) for n in names}
    spellings = [a for act in registry.ACTIVATIONS for a in act.aliases] + [
        a for pair in registry.TWO_INPUT for a in pair.aliases
    ]
    aliases = [a for a in spellings if registry._key(a) not in canonical]
    prefix = incomplete.lower()
    matches = [n for n in names if n.startswith(prefix)]
    return matches + [a for a in dict.fromkeys(aliases) if a.lower().startswith(prefix)]


def _complete_formats(incomplete: str) -> list[str]:
    """``png,s`` → ``png,svg``: the formats of export's comma-separated --format."""
    done, _, last = incomplete.rpartition(",")
    head = f"{done}," if done else ""
    taken = set(done.split(","))
    return [head + f for f in get_args(FormatName) if f.startswith(last) and f not in taken]


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


Names = Annotated[
    list[str],
    typer.Argument(
        metavar="NAMES...",
        help="Activation names or aliases (see 'actviz list').",
        autocompletion=_complete_name,
        show_default=False,
    ),
]
SomeNames = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="[NAMES]...", help="Activation names or aliases.", autocompletion=_complete_name
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
        "--device", click_type=_DeviceChoice(), help="Torch device; cuda:N for one GPU of several."
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


def _request(
    names: list[str],
    param: list[str] | None,
    sweep: list[str] | None,
    range_: tuple[float, float],
    points: int | None,
    step: float | None,
) -> Any:
    """The shared activation and grid options as one ProbeRequest (checked where used)."""
    from actviz.probing import ProbeRequest

    return ProbeRequest(tuple(names), tuple(param or ()), tuple(sweep or ()), *range_, points, step)


def _named_or_all(
    names: list[str] | None, all_: bool, param: list[str] | None, sweep: list[str] | None = None
) -> list[Any]:
    """The specs for NAMES, or for every activation with --all (exactly one of the two)."""
    if bool(names) == all_:
        raise UsageError("name activations or give --all" + (", not both" if all_ else ""))
    return params.specs_from_cli(registry.names() if all_ else names or [], param or [],
                                   sweep or [])  # fmt: skip


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
    out: Annotated[
        Path | None, typer.Option("--out", help="Output file [default: OUT_DIR/NAME.png].")
    ] = None,
    out_dir: Annotated[Path, typer.Option("--out-dir", help="Folder for default names.")] = Path(
        DEFAULT_OUT_DIR
    ),
    fmt: Annotated[
        FormatName | None, typer.Option("--format", help="Image format [default: from --out].")
    ] = None,
    dpi: Annotated[int, typer.Option("--dpi", min=10, max=1200)] = DEFAULT_DPI,
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
    from actviz.figure_files import FigureOptions
    from actviz.probing import ProbeOptions

    request = _request(names, param, sweep, range_, points, step)
    options = ProbeOptions(dtype, device, second, train, seed, kinks=not no_kinks)
    figure = FigureOptions(out, out_dir, fmt, dpi, theme, figsize, xlim, ylim, grad_ylim,
                           grad2_ylim, shade=not no_shade)  # fmt: skip
    if term:
        from actviz.terminal import plot_names

        typer.echo(plot_names(request, options=options, eps=eps, figure=figure))
        return
    from actviz.figure_files import write_plot

    typer.echo(f"wrote {write_plot(request, options=options, figure=figure, eps=eps)}")


@app.command("table")
def table_command(
    name: Annotated[
        str,
        typer.Argument(
            metavar="NAME", help="Activation name or alias.", autocompletion=_complete_name
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
    from actviz.probing import ProbeOptions
    from actviz.tables import write_table

    fmt = _output_format(as_json, as_csv)  # before any work
    options = ProbeOptions(dtype, device, second, train, seed, kinks=not no_kinks)
    request = _request([name], param, sweep, range_, points, step)
    # CSV and JSON stream to stdout: a million rows need not sit in memory as text.
    write_table(request, sys.stdout, fmt=fmt, options=options, eps=eps, weight_grad=weight_grad)


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

    output = _output_format(as_json, as_csv)
    specs = _named_or_all(names, all_, param, sweep)
    rows = survey.survey_rows(specs, Grid(*range_, points, step), ProbeOptions(dtype), eps=eps,
                              sort=sort, reverse=reverse)  # fmt: skip
    _emit(output, lambda: survey.survey_table(rows), lambda: survey.survey_json(rows),
          lambda: survey.survey_csv(rows))  # fmt: skip


@app.command("check")
def check_command(
    names: SomeNames = None,
    all_: AllOpt = False,
    param: ParamsOpt = None,
    sweep: SweepOpt = None,
    dtype: Annotated[
        list[str] | None,
        typer.Option(
            "--dtype",
            click_type=TyperChoice(get_args(DtypeName)),  # Typer takes no list[Literal]
            help="Only this dtype, repeatable [default: all].",
        ),
    ] = None,
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
    output = _output_format(as_json)
    specs = _named_or_all(names, all_, param, sweep)
    if formula is not None and len(specs) != 1:
        raise UsageError(f"--reference is the formula of one activation; {len(specs)} are "
                         "named (name one, without --all or --sweep)")  # fmt: skip
    # verify_all checks the dtypes (and the formula) before any work
    checks = verify.verify_all(specs, dtype, formula=formula)
    verdict = gate.judge(checks)
    _emit(output, lambda: check_table(checks, verdict, gate.source),
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
    _emit(_output_format(as_json), lambda: jacobian_report(report), report.as_dict)


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
    fmt: Annotated[
        str,
        typer.Option(
            "--format", help="Comma-separated: png,svg,pdf.", autocompletion=_complete_formats
        ),
    ] = "png",
    dpi: Annotated[int, typer.Option("--dpi", min=10, max=1200)] = DEFAULT_DPI,
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
        typer.echo(note, err=True)
    specs = params.targets_from_cli(names or registry.all_names(), param or [], sweep or [])
    grid = Grid(*range_, points, step)
    with _file_progress(check) as (on_total, on_file):
        report = export(specs, out, formats=fmt, dpi=dpi, theme=theme, grid=grid, eps=eps,
                        jobs=jobs, check=check, prune=prune, on_file=on_file, on_total=on_total,
                        figsize=figsize, xlim=xlim, ylim=[ylim, grad_ylim])  # fmt: skip
    if problem := report.problem():
        raise RuntimeFailure(problem)
    typer.echo(report.summary())


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
    dpi: Annotated[int, typer.Option("--dpi", min=10, max=1200)] = DEFAULT_DPI,
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

    output = _output_format(as_json, as_csv)
    specs = params.specs_from_cli(names, param or [])
    _check_figure_format(fmt, wanted=not no_plot)
    result = depth_sim.simulate(specs, layers=layers, width=width, batch=batch, init=init,
                             gain=gain, bias_std=bias_std, seed=seed, eps=eps,
                             baseline=not no_baseline, output_grad=output_grad,
                             shape=shape)  # fmt: skip
    if not no_plot:
        from actviz.figure_files import depth_file

        path = depth_file(result, out=out, out_dir=out_dir, fmt=fmt, dpi=dpi)
        typer.echo(f"wrote {path}", err=output != "table")
    _emit(output, lambda: depth_tables.depth_report(result), result.as_dict,
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
    dpi: Annotated[int, typer.Option("--dpi", min=10, max=1200)] = DEFAULT_DPI,
    as_json: AsJson = False,
    as_csv: AsCsv = False,
) -> None:
    """The initialisation gain that keeps signal and gradient alive, computed for any
    activation: forward and backward second-moment gains, torch's calculate_gain, the
    critical σ_w (edge of chaos) at --bias-std and χ₁ at nn.Linear's default init."""
    from actviz.depth import gain as init_gain
    from actviz.depth import tables as depth_tables

    output = _output_format(as_json, as_csv)
    specs = _named_or_all(names, all_, param)
    _check_figure_format(fmt, wanted=plot)
    gains = init_gain.gain(specs, bias_std=bias_std)
    if plot:
        from actviz.figure_files import phase_file

        path = phase_file(init_gain.phase_curves(specs), out=out, out_dir=out_dir, fmt=fmt,
                          dpi=dpi)  # fmt: skip
        typer.echo(f"wrote {path}", err=output != "table")
    _emit(output, lambda: depth_tables.gain_report(gains), lambda: [g.as_dict() for g in gains],
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
    out: Annotated[Path, typer.Option("--out", help="The HTML page to write.")] = Path(
        "outputs/explore.html"
    ),
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
    dpi: Annotated[int, typer.Option("--dpi", min=10, max=1200)] = DEFAULT_DPI,
    as_json: AsJson = False,
) -> None:
    """The correlation map C(c) of mean-field theory: how one layer (and --layers of
    them) changes the correlation c of two inputs, with C(0), C′(1) and C″(1) for
    input variance 1 (the DKS convention) and a figure of C and of C∘…∘C."""
    from actviz.depth.cmap import kernel, report

    output = _output_format(as_json)
    specs = _named_or_all(names, all_, param)
    _check_figure_format(fmt, wanted=not no_plot)
    maps = kernel.cmap(specs, layers=layers)
    if not no_plot:
        path = report.cmap_file(maps, out=out, out_dir=out_dir, fmt=fmt, dpi=dpi)
        typer.echo(f"wrote {path}", err=output != "table")
    _emit(output, lambda: report.cmap_table(maps), lambda: [m.as_dict() for m in maps])


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
    dpi: Annotated[int, typer.Option("--dpi", min=10, max=1200)] = DEFAULT_DPI,
    theme: ThemeOpt = DEFAULT_THEME,
    as_json: AsJson = False,
) -> None:
    """Shape an activation for a deep vanilla MLP (no normalisation, no skip
    connections) by DKS or TAT: φ̂(x) = γ·(φ(α·x + β) + δ), with the network's C(0),
    C′(1), C″(1) against the method's targets; --json includes each one's snippet."""
    from actviz.depth.shape import report, solve

    output = _output_format(as_json)
    specs = _named_or_all(names, all_, param)
    survey = solve.shape_all(specs, depth=depth, method=method, zeta=zeta, eta=eta, tau=tau,
                             skip_refused=all_)  # fmt: skip
    if out is not None and survey.shaped:
        path = report.shape_file(survey.shaped, out=out, dpi=dpi, theme=theme)
        typer.echo(f"wrote {path}", err=output != "table")
    _emit(output, lambda: report.shape_table(survey), survey.as_dict)


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


@contextlib.contextmanager
def _file_progress(
    check: bool,
) -> Iterator[tuple[Callable[[int], None], Callable[[Path, str], None]]]:
    """A rich progress bar in a terminal; one plain line per file in CI and pipes.

    Yields export's ``on_total`` (the bar's length) and ``on_file`` callbacks.
    """
    if not sys.stdout.isatty() or os.environ.get("CI"):
        reader_gone = False

        def line(path: Path, status: str) -> None:
            # `actviz export | head`: once the reader has gone, finish the export
            # quietly (manifest and gallery included) rather than stop half-way.
            nonlocal reader_gone
            if reader_gone:
                return
            try:
                typer.echo(f"{status:<9} {path}")
            except BrokenPipeError:
                reader_gone = True
                sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives until exit

        yield (lambda total: None), line
        return
    from rich.progress import Progress

    with Progress(transient=True) as progress:
        task = progress.add_task("checking" if check else "exporting", total=None)

        def total(files: int) -> None:
            progress.update(task, total=files)

        def advance(path: Path, status: str) -> None:
            progress.console.print(f"{status:<9} {path}", markup=False)  # "[" in a path
            progress.advance(task)

        yield total, advance


OutputFormat = Literal["table", "json", "csv"]


def _output_format(as_json: bool, as_csv: bool = False) -> OutputFormat:
    """What --json / --csv ask for; a command calls this first, so that a conflicting
    pair is refused before any work."""
    if as_json and as_csv:
        raise UsageError("give --json or --csv, not both")
    return "json" if as_json else "csv" if as_csv else "table"


def _emit(
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


def _check_figure_format(fmt: str | None, *, wanted: bool) -> None:
    """--format of a figure that will be written, checked before the work (and
    ignored with --no-plot, as the figure is)."""
    if fmt is not None and wanted:
        from actviz.plotting import check_format

        check_format(fmt)


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


_signalled: list[int] = []  # the signal that stopped this process, once one has
_live: list[bool] = []  # non-empty while a command runs (_signals_raise)
_told: list[str] = []  # the Error: line printed, once one has been


def _on_signal(signum: int, frame: Any) -> None:
    """Stop the work as Ctrl-C does; the command reports it (exit 130, or 143 for SIGTERM).

    Outside a command (before Click calls it, during the teardown) the signal is
    only recorded: :func:`_leave` reports it, so that no phase ends by the signal
    itself or with exit 0.
    """
    if startup.holding():  # torch is being imported: it cannot unwind from here
        startup.defer(signum)
        return
    # Only the first signal counts: a second one must not cut short the
    # clean-up the first started (stopping workers, mending the manifest).
    if _signalled:
        return
    _signalled.append(signum)
    if _live:
        raise Terminated if signum == signal.SIGTERM else KeyboardInterrupt


def _quiet_interrupts(report: Any, default: Callable[[Any], None] = sys.unraisablehook) -> None:
    """sys.unraisablehook: an interrupt raised where Python can only ignore it (a weakref
    callback, a __del__) is not a traceback for the user; _Boundary still reports it."""
    if report.exc_type is None or not issubclass(report.exc_type, KeyboardInterrupt):
        default(report)


def main() -> None:
    """Console-script entry point: Ctrl-C and SIGTERM stop a command with one line.

    Exit codes: 0 ok, 1 failure at run time, 2 usage error, 130 interrupted
    (SIGINT), 143 terminated (SIGTERM). Installed here, not on import, so that
    a notebook importing actviz keeps its own handlers (and its own sys.path).
    """
    sys.unraisablehook = _quiet_interrupts
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
        sys.stdout = _ClosedStdout()
    # Users expect `actviz plot mymodule:fn` to find mymodule.py right here. The
    # working folder is searched for that module only, and last (custom.py): a
    # numpy.py there never runs in place of numpy. Done here, not in the library,
    # which leaves a notebook's search path alone.
    custom.set_module_folder(os.getcwd())
    startup.hold_signals_while_importing()  # a Ctrl-C during torch's import aborts it
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    code: object = 0
    try:
        app(prog_name="actviz")
    except SystemExit as done:
        code = done.code
    _leave(code if isinstance(code, int) else 0 if code is None else _say(code))


def _say(message: object) -> int:
    """``sys.exit(text)``: print the text, exit 1, as Python would."""
    print(message, file=sys.stderr)
    return 1


def _leave(code: int) -> NoReturn:
    """End the process: every signal that has arrived, up to the very end, is reported
    with its exit code (130, 143) and one line; nothing ends it by the signal itself.

    The interpreter's own teardown cannot promise that (it puts the default handlers
    back, and waits on torch), so this runs the exit handlers (temporary folders,
    multiprocessing's clean-up), flushes the output and leaves with ``os._exit``.
    A signal during all this is only recorded (:func:`_on_signal` outside a command).
    """
    import atexit

    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)
    if run_exit_handlers is not None:
        run_exit_handlers()
    code = _flush(code)
    held = {signal.SIGINT, signal.SIGTERM}
    if hasattr(signal, "pthread_sigmask"):
        # From here a signal stays pending: look at what is pending, then leave.
        signal.pthread_sigmask(signal.SIG_BLOCK, held)
        pending = signal.sigpending() & held
        if pending and not _signalled:
            _signalled.append(signal.SIGINT if signal.SIGINT in pending else signal.SIGTERM)
    if _signalled:
        terminated = _signalled[0] == signal.SIGTERM
        if not _told:  # one line: a line already printed (the stop, a failure) stands
            with contextlib.suppress(OSError, ValueError):
                _tell("terminated" if terminated else "interrupted")
        code = 143 if terminated else 130
        code = _flush(code)
    os._exit(code)


def _flush(code: int) -> int:
    """Flush stdout and stderr; a stdout that cannot take the rest is a failure (exit 1)
    with one line, as :func:`_one_line` says it, or none for a closed pipe."""
    try:
        sys.stdout.flush()
    except (OSError, ValueError) as error:
        errno_ = getattr(error, "errno", None)
        with contextlib.suppress(OSError, ValueError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives until exit
        if errno_ != errno.EPIPE and not _told:
            with contextlib.suppress(OSError, ValueError):
                _tell(f"cannot write the output: {getattr(error, 'strerror', None) or error}")
        code = code or 1
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    return code
