"""What the ``actviz`` command sets up around a command, before any heavy import.

Three things, each a rule of the command line (a notebook importing actviz is left
alone):

- **matplotlib's folder.** matplotlib keeps its config and font cache in
  ``$MPLCONFIGDIR``, else ``$XDG_CONFIG_HOME/matplotlib`` and
  ``$XDG_CACHE_HOME/matplotlib`` (``~/.config``, ``~/.cache`` by default). Where
  one of those cannot be written (a read-only HOME), matplotlib warns on every
  import, once per export worker too. :func:`private_matplotlib_folder` then
  points ``MPLCONFIGDIR`` at one private temporary folder, made once, inherited
  by the workers and removed at exit: no warning, and each figure the same.
- **signals while torch is imported.** torch's import runs C++ that calls back into
  Python; a Ctrl-C raised inside one of those calls cannot unwind through it, and
  the process aborts (``terminate called after throwing an instance of
  'pybind11::error_already_set'``, exit -6, the export's lock left behind: 2 of 212
  interrupted start-ups in an audit). :func:`hold_signals_while_importing` holds
  SIGINT and SIGTERM for the length of that import (the thread's mask, and the
  command's handler deferring while :func:`holding`); one that arrives meanwhile
  lands right after it, as any other interrupt (exit 130 or 143, one line).
- **shell completion.** Typer answers a malformed completion request with a
  traceback or a bare line; :func:`check_completion_request` and
  :func:`completion_shell` refuse it first, as an :class:`ActvizError`.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import os
import shutil
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from actviz.atomic import held_signals
from actviz.errors import UsageError

if TYPE_CHECKING:
    import types
    from importlib.abc import Loader as _Loader
    from importlib.abc import MetaPathFinder as _MetaPathFinder
    from importlib.machinery import ModuleSpec
else:
    # importlib.abc costs `--help` and `list` ~4 % of their start (it imports
    # importlib.resources); the import system needs only the methods, so the
    # classes below subclass its ABCs for the type checker alone.
    _Loader = _MetaPathFinder = object

MPLCONFIGDIR = "MPLCONFIGDIR"
# The shells Typer can complete for (typer._completion_shared.Shells).
SHELLS = ("bash", "zsh", "fish", "powershell", "pwsh")
INSTRUCTIONS = ("complete", "source")


def _writable(folder: Path) -> bool:
    """matplotlib's own test: the folder exists or can be made, and can be written."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)


def matplotlib_folders(environ: Mapping[str, str]) -> list[Path]:
    """Where matplotlib would keep its config and cache without ``MPLCONFIGDIR``."""
    home = Path(environ.get("HOME") or os.path.expanduser("~"))
    if not sys.platform.startswith(("linux", "freebsd")):
        return [home / ".matplotlib"]
    config = environ.get("XDG_CONFIG_HOME") or str(home / ".config")
    cache = environ.get("XDG_CACHE_HOME") or str(home / ".cache")
    return [Path(config) / "matplotlib", Path(cache) / "matplotlib"]


def private_matplotlib_folder() -> Path | None:
    """Set ``MPLCONFIGDIR`` to a private temporary folder where matplotlib's own
    folders cannot be written; the folder made, or None (it was set, or not needed).

    Call before matplotlib is imported and before any worker starts: the workers
    inherit the variable. The folder is removed at exit.
    """
    if os.environ.get(MPLCONFIGDIR):
        return None
    if all(_writable(folder) for folder in matplotlib_folders(os.environ)):
        return None
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="actviz-matplotlib-"))
    os.environ[MPLCONFIGDIR] = str(folder)
    atexit.register(_remove, folder)
    return folder


def _remove(folder: Path) -> None:
    with contextlib.suppress(OSError):
        shutil.rmtree(folder)


# Imported with signals held: the C++ extensions whose import cannot be interrupted.
HELD_IMPORTS = ("torch",)


class _HeldLoader(_Loader):
    """The module's own loader, run with SIGINT and SIGTERM held."""

    def __init__(self, loader: _Loader) -> None:
        self._loader = loader

    def __getattr__(self, name: str) -> object:  # its resources, its code, …
        return getattr(self._loader, name)

    def create_module(self, spec: ModuleSpec) -> types.ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        global _holding
        module.__loader__ = self._loader  # what it would have been: torch reads its own
        _holding += 1
        try:
            with held_signals():
                self._loader.exec_module(module)
        finally:
            _holding -= 1
            if not _holding and _deferred:  # it lands now, as if it had just arrived
                signal.raise_signal(_deferred.pop())


# The mask holds the signals back from this (the main) thread only. Threads that
# started before (OpenBLAS's, from numpy's import) still take a signal sent to the
# process, and Python then runs its handler here, in the middle of the import: so
# the command's handler also asks holding() and, while it is true, defers().
_holding = 0
_deferred: list[int] = []


def holding() -> bool:
    """Whether a held import is running: a signal handler should defer() instead."""
    return _holding > 0


def defer(signum: int) -> None:
    """Deliver ``signum`` again once the held import is done (the first one counts)."""
    if not _deferred:
        _deferred.append(signum)


class _HoldSignals(_MetaPathFinder):
    """Finds nothing itself: hands the first import of each held name to its own
    finder, then wraps the loader found (and steps aside for later imports)."""

    def __init__(self, names: Sequence[str]) -> None:
        self._names = set(names)

    def find_spec(
        self, name: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> ModuleSpec | None:
        if name not in self._names:
            return None
        self._names.discard(name)
        if not self._names and self in sys.meta_path:
            sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        spec.loader = _HeldLoader(spec.loader)
        return spec


def hold_signals_while_importing(names: Sequence[str] = HELD_IMPORTS) -> None:
    """Make the first import of each of ``names`` run with SIGINT and SIGTERM held.

    Nothing is imported now (``--help`` and ``list`` never import torch); a module
    already imported is left as it is.
    """
    waiting = [name for name in names if name not in sys.modules]
    if waiting:
        sys.meta_path.insert(0, _HoldSignals(waiting))


def check_completion_request(instruction: str, environ: Mapping[str, str]) -> None:
    """Refuse a completion request Typer would answer with a traceback or a bare
    line: ``_ACTVIZ_COMPLETE`` is ``complete_<shell>`` or ``source_<shell>``, and
    bash's request brings ``COMP_WORDS`` and a whole-number ``COMP_CWORD``."""
    what, _, shell = instruction.partition("_")
    if what not in INSTRUCTIONS or shell not in SHELLS:
        raise UsageError(
            f"_ACTVIZ_COMPLETE={instruction!r} is not a completion request: it is "
            f"complete_SHELL or source_SHELL, SHELL one of {', '.join(SHELLS)} (the script "
            "`actviz --show-completion` prints sets it)"
        )
    if what != "complete" or shell != "bash":
        return
    words, cword = environ.get("COMP_WORDS"), environ.get("COMP_CWORD")
    if words is None or cword is None or not cword.isdigit():
        got = "unset" if cword is None else repr(cword)
        raise UsageError(
            "bash completion needs COMP_WORDS (the words typed) and COMP_CWORD (the "
            f"number of the word being completed, 0 or more), as bash sets them; "
            f"COMP_WORDS is {'unset' if words is None else 'set'}, COMP_CWORD {got}"
        )


def completion_shell(named: str | None, detected: str | None) -> str:
    """The shell ``--install-completion``/``--show-completion`` is for: the one named,
    else the one detected; refused where it is neither one Typer completes for."""
    shell = named or detected
    if shell in SHELLS:
        return shell
    if shell is None:
        raise UsageError(
            "cannot tell which shell runs actviz, so shell completion cannot be set up; "
            "run it from bash, zsh, fish or PowerShell, or add the script yourself: "
            "`_ACTVIZ_COMPLETE=source_bash actviz >> ~/.bashrc`"
        )
    raise UsageError(f"shell completion is for {', '.join(SHELLS)}, not {shell!r}")
