"""Atomic file writes: a reader sees the old file or the whole new one, never half.

Everything actviz writes goes through :func:`write_atomically`: the bytes go
to a temporary file in the same folder (so ``os.replace`` is a rename on one
file system), which replaces the target only once it is complete.

The rule for links and odd files: a symlink is followed only where the user
named the file (``--out FILE``); at a name actviz chooses (a default name, an
export's images, ``manifest.json``, ``index.html``, the lock, graph's ``.dot``)
the link itself is replaced, and such names are checked to lie inside their
folder (:func:`check_inside`). A fifo, a device or a folder where actviz reads
or writes its own file is refused, never opened in a way that could block.
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from actviz.errors import OutputError, arg


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def held_signals() -> Iterator[None]:
    """Hold back SIGINT and SIGTERM for the duration; they arrive right after.

    A Ctrl-C between creating a temporary file and moving or removing it would
    leave the temporary file behind; held, it lands once the folder is tidy.
    Only the main thread receives signals, so elsewhere this does nothing.
    """
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not (
        threading.main_thread()
    ):
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def write_atomically(
    path: str | Path,
    write: Callable[[BinaryIO], None],
    *,
    follow_links: bool = False,
    interruptible: bool = False,
    parameter: str = "out",
) -> Path:
    """Call ``write`` with a binary file object, then move the result to ``path``.

    ``parameter`` is what an error tells the user to change: ``out`` (the file or
    folder named) or ``out_dir`` (the folder of a name actviz chose).

    A symlink at ``path`` is replaced, never written through (a link planted in
    an output folder must not send our bytes elsewhere), unless ``follow_links``:
    for a file the user named (``--out FILE``), whose link is written through to
    its target. Anything at ``path`` that is neither a regular file nor a link (a
    fifo, a device, a folder) is refused.

    SIGINT and SIGTERM are held back for the whole write, so that a Ctrl-C never
    leaves a temporary file behind, unless ``interruptible``: for a ``write`` that
    may take long (graph's Graphviz render), they are held only while the
    temporary file is made and while it replaces ``path``; one that lands during
    ``write`` stops it at once, and the temporary file is removed.
    """
    import tempfile  # here, not at the top: start-up (--help, list) imports this module

    target = check_target(path, follow_links=follow_links)
    followed = follow_links and Path(path).is_symlink()
    temp: str | None = None
    # Held throughout, or (interruptible) only around making and moving the temporary file.
    whole = contextlib.nullcontext() if interruptible else held_signals()
    try:
        with whole:
            with held_signals():
                if not followed:  # a link's folder is where it points: not ours to create
                    target.parent.mkdir(parents=True, exist_ok=True)
                fd, temp = tempfile.mkstemp(
                    dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
                )
            with os.fdopen(fd, "wb") as handle:
                write(handle)
            with held_signals():
                # mkstemp makes the file private (0600); give it the usual permissions.
                os.chmod(temp, 0o666 & ~_umask())
                os.replace(temp, target)  # a rename: over a link, it replaces the link
                temp = None
    except OSError as error:
        reason = error.strerror or str(error)
        raise OutputError(
            f"cannot write {target}: {reason}; choose a writable folder with {arg(parameter)}"
        ) from error
    finally:
        if temp is not None:
            with held_signals(), contextlib.suppress(OSError):
                os.unlink(temp)
    return target


def check_target(path: str | Path, *, follow_links: bool = False) -> Path:
    """Where :func:`write_atomically` would write ``path``: the file a symlink points
    to where ``follow_links``, else ``path`` itself. Anything there that is not a
    regular file (nor, unfollowed, a link) is refused with an :class:`OutputError`,
    so a caller can check before it writes anything else (graph's ``.dot``)."""
    target = Path(path)
    if follow_links and target.is_symlink():  # write the file it points to, not over the link
        target = target.resolve()
    if not follow_links:
        check_own(target)  # a link is replaced; a fifo, a device or a folder refused
    elif _kind(target) not in (None, "file", "link"):
        # os.replace would swap a device (/dev/full, /dev/null as root) or a
        # fifo for our file: refuse instead.
        raise OutputError(
            f"cannot write {target}: it is not a regular file; choose another {arg('out')}"
        )
    return target


def _kind(path: Path) -> str | None:
    """What is at ``path``, its last link not followed: None (nothing), "file",
    "link", "folder" or "other" (a fifo, a device, a socket)."""
    try:
        mode = os.lstat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as error:
        reason = error.strerror or str(error)
        raise OutputError(f"cannot write {path}: {reason}; choose another {arg('out')}") from error
    if stat.S_ISLNK(mode):
        return "link"
    if stat.S_ISREG(mode):
        return "file"
    return "folder" if stat.S_ISDIR(mode) else "other"


def read_own(path: str | Path) -> bytes | None:
    """The bytes of a file actviz wrote (a manifest, a gallery, an image), or None
    if there is none, it cannot be read, or a symlink is there (not a file actviz
    writes: it is replaced).

    Opened without following a link and without blocking, then checked to be a
    regular file: a fifo named ``manifest.json`` must not hang us; it, a device
    or a folder is refused with an :class:`OutputError`.
    """
    target = Path(path)
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(target, flags)
    except OSError:
        return None  # nothing there, a link (O_NOFOLLOW's ELOOP), or unreadable
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OutputError(
            f"cannot use {target}: it is not a regular file; remove it or choose another "
            f"{arg('out')}"
        )
    with os.fdopen(fd, "rb") as handle:
        try:
            return handle.read()
        except OSError:
            return None


def check_own(path: str | Path) -> Path:
    """``path`` if actviz may write its own file there: nothing, a regular file or a
    symlink (replaced) is there; a fifo, a device or a folder is refused."""
    target = Path(path)
    if _kind(target) not in (None, "file", "link"):
        raise OutputError(
            f"cannot use {target}: it is not a regular file; remove it or choose another "
            f"{arg('out')}"
        )
    return target


def check_inside(folder: str | Path, path: str | Path) -> Path:
    """``path`` if it names an entry of ``folder`` (or below it), its last part not
    followed: a name actviz chose never lands outside the folder it chose."""
    target = Path(path)
    base = os.path.realpath(folder)
    where = os.path.join(os.path.realpath(target.parent), target.name)
    outside = target.name in ("", ".", "..") or os.path.commonpath([base, where]) != base
    if outside or where == base:
        raise OutputError(
            f"cannot write {target}: it lies outside the folder {folder}; "
            "actviz writes only inside the folder it chose"
        )
    return target


def write_bytes_atomically(
    path: str | Path, data: bytes, *, follow_links: bool = False, parameter: str = "out"
) -> Path:
    """:func:`write_atomically` for content that is already in memory."""

    def write(handle: BinaryIO) -> None:
        handle.write(data)

    return write_atomically(path, write, follow_links=follow_links, parameter=parameter)
