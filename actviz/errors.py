"""The one exception family of actviz.

Every failure the core can foresee is an ``ActvizError`` whose message tells
the user what to do. ``cli.py`` is the only place that turns them into output:
one red line on stderr and the exit code carried by the class (2 for a usage
mistake, 1 for a failure at run time).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# A Python parameter inside an error message (:func:`arg`): between these private-use
# characters, its name, then (when a value is shown) its Python and command-line forms.
_OPEN, _SEP, _CLOSE = "\ue000", "\ue001", "\ue002"
_ARG = re.compile(
    f"{_OPEN}([^{_SEP}{_CLOSE}]*)(?:{_SEP}([^{_SEP}{_CLOSE}]*){_SEP}([^{_CLOSE}]*))?{_CLOSE}"
)
_UNSET = object()


def arg(name: str, value: object = _UNSET) -> str:
    """How an error message names the Python parameter ``name`` (with ``value``).

    ``str(error)`` says it in Python (``dtype``, ``jobs=0``, ``grad_ylim=(2, 1)``,
    ``shade=False``); the command line's boundary says it as the flag its one
    table maps the name to (``--dtype``, ``--jobs 0``, ``--grad-ylim 2 1``,
    ``--no-shade``). No library message writes a flag itself (tests/test_layers.py).
    """
    if value is _UNSET:
        return f"{_OPEN}{name}{_CLOSE}"
    python, command_line = _python_form(value), _command_line_form(value)
    return f"{_OPEN}{name}{_SEP}{python}{_SEP}{command_line}{_CLOSE}"


def _number(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _python_form(value: object) -> str:
    if isinstance(value, (tuple, list)):
        inner = ", ".join(repr(v) if isinstance(v, str) else _number(v) for v in value)
        if isinstance(value, tuple):
            return f"({inner},)" if len(value) == 1 else f"({inner})"
        return f"[{inner}]"
    return repr(value) if isinstance(value, (str, bool)) else _number(value)


def _command_line_form(value: object) -> str:
    if isinstance(value, bool):
        return ""  # the flag alone says it (--second, --no-shade)
    if isinstance(value, (tuple, list)):
        return " ".join(_number(v) for v in value)
    return _number(value)


def render(message: str, flags: Mapping[str, str] | None = None) -> str:
    """``message`` with each :func:`arg` said in Python (``flags`` None) or as the flag
    ``flags`` maps its name to (a name missing there is said in Python)."""

    def one(found: re.Match[str]) -> str:
        name, python, command_line = found.groups()
        if flags is not None and command_line and f"{name}={command_line}" in flags:
            return flags[f"{name}={command_line}"]  # fmt='csv' is --csv, not --format csv
        flag = None if flags is None else flags.get(name)
        if flag is None:
            return name if python is None else f"{name}={python}"
        return flag if not command_line else f"{flag} {command_line}"

    return _ARG.sub(one, message)


class ActvizError(Exception):
    """Base of every error actviz raises on purpose.

    Its message names Python parameters (:func:`arg`): ``str(error)`` says them as
    Python does, :meth:`said_with` as the command line's flags.
    """

    exit_code = 1

    def __str__(self) -> str:
        return render(super().__str__())

    def said_with(self, flags: Mapping[str, str]) -> str:
        """The message with each parameter named as the flag ``flags`` maps it to."""
        return render(self.template, flags)

    @property
    def template(self) -> str:
        """The message with its parameters still marked: what an error that wraps this
        one quotes, so that the boundary can still say them as flags."""
        return super().__str__()


class UsageError(ActvizError):
    """The request itself is wrong: fix the arguments and run again."""

    exit_code = 2


class UnknownActivationError(UsageError):
    """No registered activation has this name or alias."""


class TwoInputActivationError(UsageError):
    """A two-input activation (GLU) was given where f(x) of one input is needed."""


class InvalidParameterError(UsageError):
    """An activation parameter is unknown, of the wrong type or out of range."""


class InvalidGridError(UsageError):
    """The input range, point count or step cannot make a usable grid."""


class UnknownFormatError(UsageError):
    """An output format or dtype that actviz cannot produce."""


class BaselineError(UsageError):
    """A baseline of known ``check`` failures (``--accept FILE``) is missing,
    unreadable or not one."""


class RuntimeFailure(ActvizError):
    """The request was fine but could not be carried out here."""

    exit_code = 1


class DeviceUnavailableError(RuntimeFailure):
    """The requested torch device is not available on this machine."""


class CustomActivationError(RuntimeFailure):
    """A user's own activation (``module:callable``) did not behave like one."""


class OutputError(RuntimeFailure):
    """An output file could not be written."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised by the command line's handler (``cli.main``).

    A ``KeyboardInterrupt`` so that everything that cleans up after Ctrl-C
    (the export's worker pool, atomic writes) cleans up after SIGTERM too.
    """


class Interrupted(ActvizError):
    """Ctrl-C (exit 130) or SIGTERM (exit 143) stopped the work; says what was done."""

    exit_code = 130

    def __init__(self, message: str, *, terminated: bool = False) -> None:
        super().__init__(message)
        self.exit_code = 143 if terminated else 130


class ShapeRefusedError(UsageError):
    """``shape``: the method does not apply to this activation, or no parameters can
    reach its targets at these settings (and that is known, not merely not found)."""


class NoSolutionError(RuntimeFailure):
    """``shape``: the search for the activation's parameters found none that meet
    the targets."""
