"""The output folder of an export: its lock, delivering each file (written, unchanged or,
checking, missing and stale), pruning the images no longer asked for, and the
:class:`Report` of what happened to each file.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from actviz.atomic import check_own, held_signals, read_own, write_bytes_atomically
from actviz.defaults import DEFAULT_OUT_DIR, IMAGE_FORMATS
from actviz.errors import OutputError, arg

if TYPE_CHECKING:
    from filelock import BaseFileLock

LOCK = ".actviz.lock"  # held while an export writes; removed when it is done

# Called once per file: (path, status) with status "written", "unchanged",
# "removed" (with prune), or, when checking, "missing", "stale" and "extra".
OnFile = Callable[[Path, str], None]


@contextlib.contextmanager
def locked_folder(out: Path) -> Iterator[None]:
    """Create ``out`` if needed and hold its lock; remove the folders made here if left empty.

    The lock (filelock's ``FileLock`` on ``OUT/.actviz.lock``: ``fcntl.flock`` on
    POSIX) keeps two exports from interleaving their images and manifests: the
    second fails at once. The lock file is removed while still held, as the export
    ends (filelock keeps it by default): a contender that opened it meanwhile finds
    its inode unlinked once it gets the lock, and filelock retries on a new one.
    """
    missing = []
    parent = out
    while not parent.exists() and parent != parent.parent:
        missing.append(parent)
        parent = parent.parent
    lock: BaseFileLock | None = None
    try:
        with held_signals():  # no lock file without its holder knowing to remove it
            _check_writable(out)
            lock = _lock(out)
        yield
    finally:
        if lock is not None:
            with held_signals():
                # Removed while still held: an export that opened it a moment ago sees it gone.
                with contextlib.suppress(OSError):
                    (out / LOCK).unlink()
                lock.release()
        _remove_empty(missing)


# How long an export waits for the lock: long enough for filelock's retry after the
# previous holder removed the file as it finished, short enough to fail "at once".
_LOCK_WAIT = 0.1


def _lock(out: Path) -> BaseFileLock:
    """Hold ``OUT/.actviz.lock`` exclusively (filelock, which opens it without following
    a link and without blocking on a fifo); the lock to release."""
    from filelock import FileLock, Timeout

    path = out / LOCK
    while True:
        lock = FileLock(path)
        try:
            lock.acquire(timeout=_LOCK_WAIT)
        except Timeout:
            if not os.path.lexists(path):  # never made: the folder refuses files
                _cannot_create(path, out)  # (filelock retries such errors until the timeout)
            raise OutputError(
                f"another actviz export is writing to {out}; wait for it to finish "
                f"or choose another {arg('out')}"
            ) from None
        except OSError as error:
            if os.path.islink(path):  # O_NOFOLLOW's ELOOP: replace the link by our file
                with contextlib.suppress(FileNotFoundError):
                    _unlink(path)
                continue
            check_own(path)  # a folder there: not a regular file
            raise OutputError(
                f"cannot write to {out}: {error.strerror or error}; "
                f"choose a writable folder with {arg('out')}"
            ) from error
        if not stat.S_ISREG(os.lstat(path).st_mode):  # a fifo or a device: refused
            lock.release()
            check_own(path)
            raise OutputError(f"cannot use {path}: it is not a regular file; remove it")
        return lock


def _cannot_create(path: Path, out: Path) -> None:
    """Raise the OutputError of creating ``path`` (as the lock does): the real reason a
    lock file could not be made (/proc: "No such file or directory"), not "another export"."""
    try:
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644)
    except OSError as error:
        raise OutputError(
            f"cannot write to {out}: {error.strerror or error}; "
            f"choose a writable folder with {arg('out')}"
        ) from None
    os.close(handle)  # it could be made after all: leave it to the lock's next try
    with contextlib.suppress(OSError):
        path.unlink()


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        raise
    except OSError as error:
        raise OutputError(
            f"cannot replace the link {path}: {error.strerror or error}; remove it by hand"
        ) from error


def _remove_empty(folders: list[Path]) -> None:
    """Remove ``folders`` (innermost first) that are empty; stop at the first that is not."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


def _check_writable(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(
            f"cannot create {out}: {error.strerror or error}; choose a writable folder with "
            f"{arg('out')}"
        ) from error
    if not os.access(out, os.W_OK):
        raise OutputError(
            f"cannot write to {out}: permission denied; choose a writable folder with {arg('out')}"
        )


def _read(path: Path) -> bytes | None:
    """The file actviz wrote at ``path``: None if there is none or a link is there
    (replaced on writing); a fifo or a device is refused, never opened to block."""
    return read_own(path)


def deliver(
    path: Path,
    data: bytes,
    check: bool,
    report: Report,
    emit: OnFile,
    route: list[str] | None = None,
) -> None:
    """Write ``data`` to ``path`` unless it is already there (or, checking, compare).

    ``route``: checking, the file on disk may differ from ``data`` only because it
    was made on another kernel route (these fields differ): it is current then.
    """
    existing = _read(path)
    if existing == data:
        report.unchanged.append(path)
        emit(path, "unchanged")
    elif check and existing is not None and route is not None:
        report.route[path] = route
        emit(path, "route")
    elif check:
        there = existing is not None or os.path.lexists(path)  # a link there is stale too
        (report.stale if there else report.missing).append(path)
        emit(path, "stale" if there else "missing")
    else:
        # Written is reported written, on both channels (the `written` line and the
        # list in the stop message), even if a signal is waiting.
        with held_signals():
            write_bytes_atomically(path, data)
            report.written.append(path)
            emit(path, "written")


def prune_images(
    out: Path,
    wanted: set[str],
    files: dict[str, dict[str, Any]],
    check: bool,
    report: Report,
    emit: OnFile,
) -> None:
    """Remove the images in ``out`` that this run did not ask for, and their entries."""
    for path in sorted(out.iterdir() if out.is_dir() else []):
        if path.name in wanted or path.name.startswith("."):
            continue
        if path.suffix.lstrip(".") not in IMAGE_FORMATS or not path.is_file():
            continue
        files.pop(path.name, None)
        if check:
            report.extra.append(path)
            emit(path, "extra")
            continue
        try:
            path.unlink()
        except OSError as error:
            raise OutputError(
                f"cannot remove {path}: {error.strerror or error}; remove it by hand"
            ) from error
        report.removed.append(path)
        emit(path, "removed")
    for name in [n for n in files if n not in wanted]:
        del files[name]  # entries whose files are gone already


@dataclass
class Report:
    """What an export (or check) did, file by file."""

    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    missing: list[Path] = field(default_factory=list)
    stale: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)  # with prune
    extra: list[Path] = field(default_factory=list)  # with prune and check: would be removed
    # Checking: files that differ only because they were made on another kernel
    # route (same code, options and versions; another CPU capability, oneDNN, ...),
    # with the fields that differ. They are current: a CI gate must not fail on them.
    route: dict[Path, list[str]] = field(default_factory=dict)
    made_on: dict[str, str] = field(default_factory=dict)  # recorded route → this one, as lines
    jobs: int = 1  # worker processes used (after the cap)
    seconds: float = 0.0
    folder: Path = Path(DEFAULT_OUT_DIR)  # the export's out_dir
    check: bool = False  # a check: nothing was written

    @property
    def current(self) -> bool:
        return not (self.missing or self.stale or self.extra)

    def problem(self) -> str | None:
        """What a check found wrong, and the command that mends it; None if all is current."""
        if self.current:
            return None
        problems = [f"missing {p}" for p in self.missing] + [f"stale {p}" for p in self.stale]
        problems += [f"extra {p}" for p in self.extra]
        fix = "actviz export --prune" if self.extra else "actviz export"
        return f"{self.folder} is not current: {'; '.join(problems)}; run {fix}"

    def summary(self) -> str:
        """One line: what was written, left unchanged and removed, and how long it took
        (for a check: how many files are current)."""
        if self.check:
            current = len(self.unchanged) + len(self.route)
            if not self.route:
                return f"{self.folder}: all {current} files are current"
            made = "; ".join(
                f"{path.name}: {', '.join(fields)}" for path, fields in self.route.items()
            )
            routes = "; ".join(f"made on {a}, here {b}" for a, b in self.made_on.items())
            were = "was" if len(self.route) == 1 else "were"
            return (
                f"{self.folder}: all {current} files are current; {len(self.route)} of them {were} "
                f"made on another kernel route and differ only in what depends on it ({made}) "
                f"[{routes}]"
            )
        removed = f", {len(self.removed)} removed" if self.removed else ""
        return (
            f"{len(self.written)} files written, {len(self.unchanged)} unchanged"
            f"{removed} in {self.seconds:.1f} s"
        )
