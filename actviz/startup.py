"""What the ``actviz`` command sets up around a command, before any heavy import.

Two things, each a rule of the command line (a notebook importing actviz is left
alone):

- **matplotlib's folder.** matplotlib keeps its config and font cache in
  ``$MPLCONFIGDIR``, else ``$XDG_CONFIG_HOME/matplotlib`` and
  ``$XDG_CACHE_HOME/matplotlib`` (``~/.config``, ``~/.cache`` by default). Where
  one of those cannot be written (a read-only HOME), matplotlib warns on every
  import, once per export worker too. :func:`private_matplotlib_folder` then
  points ``MPLCONFIGDIR`` at one private temporary folder, made once, inherited
  by the workers and removed at exit: no warning, and each figure the same.
- **shell completion.** Typer answers a malformed completion request with a
  traceback or a bare line; :func:`check_completion_request` and
  :func:`completion_shell` refuse it first, as an :class:`ActvizError`.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from actviz.errors import UsageError

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
    folder = Path(tempfile.mkdtemp(prefix="actviz-matplotlib-"))
    os.environ[MPLCONFIGDIR] = str(folder)
    atexit.register(_remove, folder)
    return folder


def _remove(folder: Path) -> None:
    with contextlib.suppress(OSError):
        shutil.rmtree(folder)


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
