"""The command line's one error boundary, and how the process ends.

Every foreseen failure becomes one red ``Error:`` line on stderr and exit code
2 (usage) or 1 (run time), never a traceback: an :class:`~actviz.errors.ActvizError`
(its parameters said as the flags of :data:`actviz.cli.options.FLAGS`), Click's
own usage errors, a stdout that cannot be written. Ctrl-C (exit 130) and SIGTERM
(exit 143, through the handler :func:`on_signal`) stop a command with one line too.
"""

import contextlib
import errno
import os
import signal
import sys
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

import typer
from typer.core import TyperGroup

from actviz import startup
from actviz.cli.options import flags_of
from actviz.errors import ActvizError, Interrupted, Terminated

# Click's usage error, the base of typer's public BadParameter (Typer vendors Click
# privately: typer._click is no name to import).
_ClickUsageError: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError"
)


class Boundary(TyperGroup):
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
                param.callback = checked_completion_option(param.callback)
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

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        """The command run: its name chooses its own entries of the flag table."""
        name, command, rest = super().resolve_command(ctx, args)
        if command is not None and command.name:
            _command.append(command.name)
        return name, command, rest

    def invoke(self, ctx: Any) -> Any:
        with _one_line(), _signals_raise():
            try:
                result = super().invoke(ctx)
                sys.stdout.flush()  # a full disk shows here, not at interpreter exit
                if isinstance(sys.stdout, ClosedStdout) and sys.stdout.wanted:
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
    :func:`leave` reports it. One that came before the work starts stops it here."""
    _live.append(True)
    try:
        if _signalled:
            raise Terminated if _signalled[0] == signal.SIGTERM else KeyboardInterrupt
        yield
    finally:
        _live.pop()


@contextlib.contextmanager
def _one_line() -> Iterator[None]:
    try:
        yield
    except ActvizError as error:
        _fail(error.said_with(flags_of(_command[-1] if _command else None)), error.exit_code)
    except KeyboardInterrupt as stop:  # while the arguments are read
        _stop(isinstance(stop, Terminated))
    except _ClickUsageError as error:
        if type(error).__name__ == "NoArgsIsHelpError":  # as typer's own rich_utils tells it
            raise  # `actviz plot` alone: the help, as asked for by no_args_is_help
        message = error.format_message().rstrip(".")  # type: ignore[attr-defined]
        context = getattr(error, "ctx", None)
        if context is None:
            _fail(message, 2)
        pieces = context.command.collect_usage_pieces(context)
        _fail(f"{message}; usage: {' '.join([context.command_path, *pieces])}", 2)
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


class ClosedStdout:
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
    """The shell running actviz, as Typer detects it (shellingham; None where it cannot tell)."""
    import shellingham  # type: ignore[import-untyped]  # Typer's own dependency

    try:
        name: str = shellingham.detect_shell()[0]
    except shellingham.ShellDetectionFailure:
        return None
    return name


def checked_completion_option(callback: Any) -> Any:
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


_command: list[str] = []  # the command being run, once Click has found it
_signalled: list[int] = []  # the signal that stopped this process, once one has
_live: list[bool] = []  # non-empty while a command runs (_signals_raise)
_told: list[str] = []  # the Error: line printed, once one has been


def on_signal(signum: int, frame: Any) -> None:
    """Stop the work as Ctrl-C does; the command reports it (exit 130, or 143 for SIGTERM).

    Outside a command (before Click calls it, during the teardown) the signal is
    only recorded: :func:`leave` reports it, so that no phase ends by the signal
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


def quiet_interrupts(report: Any, default: Callable[[Any], None] = sys.unraisablehook) -> None:
    """sys.unraisablehook: an interrupt raised where Python can only ignore it (a weakref
    callback, a __del__) is not a traceback for the user; Boundary still reports it."""
    if report.exc_type is None or not issubclass(report.exc_type, KeyboardInterrupt):
        default(report)


def say(message: object) -> int:
    """``sys.exit(text)``: print the text, exit 1, as Python would."""
    print(message, file=sys.stderr)
    return 1


def leave(code: int) -> NoReturn:
    """End the process: every signal that has arrived, up to the very end, is reported
    with its exit code (130, 143) and one line; nothing ends it by the signal itself.

    The interpreter's own teardown cannot promise that (it puts the default handlers
    back, and waits on torch), so this runs the exit handlers (temporary folders,
    multiprocessing's clean-up), flushes the output and leaves with ``os._exit``.
    A signal during all this is only recorded (:func:`on_signal` outside a command).
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
