"""The one exception family of actviz.

Every failure the core can foresee is an ``ActvizError`` whose message tells
the user what to do. ``cli.py`` is the only place that turns them into output:
one red line on stderr and the exit code carried by the class (2 for a usage
mistake, 1 for a failure at run time).
"""

from __future__ import annotations


class ActvizError(Exception):
    """Base of every error actviz raises on purpose."""

    exit_code = 1


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
