"""Atomic file writes: a reader sees the old file or the whole new one, never half.

Everything actviz writes goes through :func:`write_atomically`: the bytes go
to a temporary file in the same folder (so ``os.replace`` is a rename on one
file system), which replaces the target only once it is complete.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from actviz.errors import OutputError


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


def write_atomically(path: str | Path, write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write`` with a binary file object, then move the result to ``path``."""
    target = Path(path)
    if target.is_symlink():  # write the file it points to, not over the link
        target = target.resolve()
    if target.exists() and not target.is_file():
        # os.replace would swap a device (/dev/full, /dev/null as root) or a
        # fifo for our file: refuse instead.
        raise OutputError(f"cannot write {target}: it is not a regular file; choose another --out")
    temp: str | None = None
    with held_signals():
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
            with os.fdopen(fd, "wb") as handle:
                write(handle)
            # mkstemp makes the file private (0600); give it the usual permissions.
            os.chmod(temp, 0o666 & ~_umask())
            os.replace(temp, target)
            temp = None
        except OSError as error:
            reason = error.strerror or str(error)
            raise OutputError(
                f"cannot write {target}: {reason}; choose a writable folder with --out"
            ) from error
        finally:
            if temp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(temp)
    return target


def write_bytes_atomically(path: str | Path, data: bytes) -> Path:
    """:func:`write_atomically` for content that is already in memory."""

    def write(handle: BinaryIO) -> None:
        handle.write(data)

    return write_atomically(path, write)
