"""Known failures of ``actviz check``: a baseline file, as linters keep one.

``actviz check --all`` fails on stock torch for genuine torch defects that a
project cannot fix (hardsigmoid′ in float64, gelu″ in float16, mish″), which
makes it useless as a CI gate. A baseline records the failures of one run,
per activation label, in the words of :meth:`actviz.check.verify.Check.failures`
(``float64 f′``, ``kink 0 (float64)``, ``gradcheck``)::

    {
      "actviz": "0.1.0",
      "baseline": 1,
      "environment": {"torch": "2.13.0", ...},
      "failures": {"gelu": ["float16 f″"], "hardsigmoid": ["float64 f′"], ...},
      "torch": "2.13.0"
    }

Keys and items are sorted, so the same failures on the same environment give
the same bytes; ``actviz``, ``torch`` and ``environment`` are for the reader
(where the findings were made) and are not compared.

:func:`judge` sorts a run's failures against a baseline into a :class:`Verdict`:

* **new**: failing now and not in the baseline: the check fails;
* **known**: failing now and listed: reported, not failed;
* **fixed**: listed, checked in this run and no longer failing: reported (the
  entry is stale), not failed.

An entry is checked in this run only if its activation label was checked and,
where the entry names a dtype (``float64 f′``, ``kink 0 (float64)``), that
dtype was too; entries for anything else are left alone.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from actviz import __version__
from actviz.errors import BaselineError, OutputError, UsageError, arg

if TYPE_CHECKING:
    from actviz.check.verify import Check

FORMAT = 1  # the "baseline" key: the layout of the file
DTYPES = ("float64", "float32", "bfloat16", "float16")  # verify.DTYPES, without importing it
_KEYS = {"actviz", "baseline", "environment", "failures", "torch"}

Failures = Mapping[str, tuple[str, ...]]


def dtype_of(item: str) -> str | None:
    """The dtype a failure names (``float64 f′``, ``kink 0 (float64)``), or None where
    it names none (``gradcheck``: float64, whatever dtypes were asked for)."""
    words = item.replace("(", " ").replace(")", " ").split()
    return next((w for w in words if w in DTYPES), None)


@dataclass(frozen=True)
class Baseline:
    """Accepted failures per activation label, and what they were found on."""

    failures: Failures = field(default_factory=dict)
    torch: str | None = None
    environment: Mapping[str, Any] | None = None
    actviz: str | None = None

    @classmethod
    def from_checks(cls, checks: Iterable[Check]) -> Baseline:
        """The failures of ``checks`` (labels without any are left out), stamped with
        this process's torch and environment."""
        from actviz.environment import environment

        found: dict[str, set[str]] = {}
        for c in checks:
            if failing := c.failures():
                found.setdefault(c.label, set()).update(failing)
        env = environment().as_dict()
        return cls(_sorted(found), torch=env["torch"], environment=env, actviz=__version__)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"baseline": FORMAT, "failures": {
            label: list(items) for label, items in self.failures.items()
        }}  # fmt: skip
        for key in ("actviz", "torch", "environment"):
            if (value := getattr(self, key)) is not None:
                data[key] = dict(value) if key == "environment" else value
        return data

    def text(self) -> str:
        """The file's text: sorted JSON, two-space indent, UTF-8 (f′ as itself)."""
        return json.dumps(self.as_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    def count(self) -> int:
        return sum(len(items) for items in self.failures.values())

    def write(self, path: str | Path) -> Path:
        """Write the baseline to ``path`` atomically (a reader sees the old file or the
        new one); a symlink there is written through, as for any file the user names.
        The folder must exist: a mistyped one is not created."""
        from actviz.atomic import write_atomically

        target = check_writable(path)
        data = self.text().encode()

        def write(handle: BinaryIO) -> None:
            handle.write(data)

        try:
            return write_atomically(target, write, follow_links=True)
        except OutputError as error:
            cause = error.__cause__
            reason = getattr(cause, "strerror", None) or str(cause or error)
            raise OutputError(f"cannot write the baseline {target}: {reason}") from error

    @classmethod
    def load(cls, path: str | Path) -> Baseline:
        """The baseline in ``path``; a :class:`~actviz.errors.BaselineError` (a usage
        error) if it is missing, unreadable, not a regular file or not a baseline."""
        return cls.parse(_read(Path(path)), source=str(path))

    @classmethod
    def parse(cls, data: bytes | str, source: str = "the baseline") -> Baseline:
        """A baseline from the file's bytes (or text); ``source`` names it in errors."""

        def bad(why: str) -> BaselineError:
            return BaselineError(
                f"{source} is not an actviz check baseline: {why}; "
                f"write one with actviz check --all --write-baseline {source}"
            )

        try:
            text = data.decode() if isinstance(data, bytes) else data
        except UnicodeDecodeError:
            raise bad("it is not UTF-8 text") from None
        try:
            raw = json.loads(text, parse_constant=_no_constant)
        except (ValueError, RecursionError) as error:
            raise bad(f"it is not JSON ({error})") from None
        if not isinstance(raw, dict):
            raise bad(f"it holds a JSON {_kind(raw)}, not an object")
        if type(raw.get("baseline")) is not int or raw["baseline"] != FORMAT:
            shown = json.dumps(raw["baseline"]) if "baseline" in raw else "none"
            if len(shown) > 20:  # a long string or a whole structure: say what it is
                shown = f"a JSON {_kind(raw['baseline'])}"
            raise bad(f'its "baseline" is {shown}, not {FORMAT}')
        if extra := sorted(set(raw) - _KEYS):
            raise bad(f"unknown key {', '.join(repr(k) for k in extra)}")
        failures = raw.get("failures")
        if not isinstance(failures, dict):
            raise bad('"failures" must map each activation to a list of failures')
        found: dict[str, set[str]] = {}
        for label, items in failures.items():
            if not label.strip():
                raise bad('"failures" has an empty activation label')
            if not isinstance(items, list) or not all(
                isinstance(i, str) and i.strip() for i in items
            ):
                raise bad(f'"failures" of {label!r} must be a list of non-empty strings')
            found[label] = set(items)
        for key in ("actviz", "torch"):
            if key in raw and not isinstance(raw[key], str):
                raise bad(f'"{key}" must be a string')
        if "environment" in raw and not isinstance(raw["environment"], dict):
            raise bad('"environment" must be an object')
        return cls(
            _sorted(found),
            torch=raw.get("torch"),
            environment=raw.get("environment"),
            actviz=raw.get("actviz"),
        )


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _kind(value: object) -> str:
    kinds = {dict: "object", list: "array", str: "string", int: "number", float: "number"}
    return "boolean" if isinstance(value, bool) else kinds.get(type(value), "null")


def _sorted(found: Mapping[str, Iterable[str]]) -> dict[str, tuple[str, ...]]:
    return {label: tuple(sorted(set(found[label]))) for label in sorted(found) if found[label]}


def _read(path: Path) -> bytes:
    """The bytes of a file the user named; opened without blocking (a fifo must not
    hang the command) and refused unless it is a regular file."""
    hint = f"write one with actviz check --all --write-baseline {path}"
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise BaselineError(f"cannot read the baseline {path}: no such file; {hint}") from None
    except OSError as error:
        reason = error.strerror or str(error)
        raise BaselineError(f"cannot read the baseline {path}: {reason}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        what = "a folder" if stat.S_ISDIR(mode) else "not a regular file"
        raise BaselineError(f"cannot read the baseline {path}: it is {what}")
    with os.fdopen(fd, "rb") as handle:
        try:
            return handle.read()
        except OSError as error:
            reason = error.strerror or str(error)
            raise BaselineError(f"cannot read the baseline {path}: {reason}") from None


def check_writable(path: str | Path) -> Path:
    """``path`` if a baseline can be written there, checked before any work: a file
    name (not a folder) in a folder that exists, and nothing there but a regular
    file or a link to one (a fifo or a device is refused)."""
    from actviz.atomic import check_target

    text = os.fspath(path)
    target = Path(text)
    if not text.strip() or target.name in ("", ".", "..") or text.endswith(("/", "\\")):
        raise UsageError(f"the baseline {text!r} is not a file name; give one such as known.json")
    if target.is_dir():
        raise UsageError(f"the baseline {text} is a folder; give a file name such as known.json")
    folder = target.resolve().parent if target.is_symlink() else target.parent
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise OutputError(f"cannot write the baseline {text}: the folder {folder} {what}")
    try:
        check_target(target, follow_links=True)
    except OutputError:
        raise OutputError(
            f"cannot write the baseline {text}: it is not a regular file; choose another name"
        ) from None
    return target


@dataclass(frozen=True)
class Verdict:
    """A run's failures against a baseline, per activation label in the run's order."""

    new: Failures  # failing and not accepted: these fail the check
    known: Failures  # failing and accepted
    fixed: Failures  # accepted, checked, and no longer failing: stale entries

    @property
    def passed(self) -> bool:
        return not self.new

    def of(self, label: str) -> dict[str, list[str]]:
        """``{"known": [...], "new": [...], "fixed": [...]}`` for one label (``--json``)."""
        return {key: list(getattr(self, key).get(label, ())) for key in ("known", "new", "fixed")}

    def known_line(self, source: str) -> str | None:
        """``known failures, accepted in known.json: gelu (float16 f″); …``, or None."""
        if not self.known:
            return None
        return f"known failures, accepted in {source}: {_listing(self.known)}"

    def fixed_line(self, source: str) -> str | None:
        """``no longer fails: mish (float64 f″); remove from known.json or rewrite it
        with --write-baseline``, or None."""
        if not self.fixed:
            return None
        return (
            f"no longer fails: {_listing(self.fixed)}; "
            f"remove from {source} or rewrite it with --write-baseline"
        )

    def failure_message(self, source: str) -> str | None:
        """The ``Error:`` line for the new failures alone, or None if there are none."""
        if not self.new:
            return None
        known = self.count("known")
        also = f"; {known} known accepted" if known else ""
        return f"derivative check failed for {_listing(self.new)} (not in {source}{also})"

    def count(self, kind: str) -> int:
        found: Failures = getattr(self, kind)
        return sum(len(items) for items in found.values())


def _listing(found: Failures) -> str:
    return "; ".join(f"{label} ({', '.join(items)})" for label, items in found.items())


def judge(checks: Sequence[Check], baseline: Baseline) -> Verdict:
    """Sort the failures of ``checks`` into new, known and fixed (see the module)."""
    new: dict[str, list[str]] = {}
    known: dict[str, list[str]] = {}
    fixed: dict[str, list[str]] = {}
    failing: dict[str, list[str]] = {}
    checked: dict[str, set[str]] = {}
    for c in checks:
        items = failing.setdefault(c.label, [])
        items.extend(f for f in c.failures() if f not in items)
        checked.setdefault(c.label, set()).update(d.dtype for d in c.dtypes)
    for label, items in failing.items():
        accepted = baseline.failures.get(label, ())
        for item in items:
            (known if item in accepted else new).setdefault(label, []).append(item)
        for item in accepted:
            dtype = dtype_of(item)
            if item not in items and (dtype is None or dtype in checked[label]):
                fixed.setdefault(label, []).append(item)
    return Verdict(*({k: tuple(v) for k, v in d.items()} for d in (new, known, fixed)))


def summary(baseline: Baseline, path: str | Path) -> str:
    """``wrote known.json: 6 failures of 3 activations (gelu, hardsigmoid, mish)``."""
    n, labels = baseline.count(), list(baseline.failures)
    if not n:
        return f"wrote {path}: no failures (nothing to accept)"
    plural = "" if n == 1 else "s"
    of = f"{len(labels)} activation{'' if len(labels) == 1 else 's'}"
    return f"wrote {path}: {n} failure{plural} of {of} ({', '.join(labels)})"


@dataclass(frozen=True)
class Gate:
    """What ``actviz check`` does with a baseline: accept one (``--accept FILE``),
    write one (``--write-baseline FILE``) or neither (every failure fails)."""

    accept: Path | None = None
    baseline: Baseline | None = None
    write_to: Path | None = None

    @classmethod
    def open(cls, accept: str | Path | None, write_to: str | Path | None) -> Gate:
        """The gate for these options, checked before any work: the baseline to
        accept is read, the place to write one checked."""
        if accept is not None and write_to is not None:
            raise UsageError(f"give {arg('accept')} or {arg('write_baseline')}, not both")
        if accept is not None:
            return cls(Path(accept), Baseline.load(accept))
        if write_to is not None:
            return cls(write_to=check_writable(write_to))
        return cls()

    @property
    def source(self) -> str:
        return str(self.accept) if self.accept is not None else "the baseline"

    def judge(self, checks: Sequence[Check]) -> Verdict | None:
        """The run against the accepted baseline, or None without one."""
        return judge(checks, self.baseline) if self.baseline is not None else None

    def data(self, checks: Sequence[Check], verdict: Verdict | None) -> list[dict[str, Any]]:
        """``--json``: each check's dict, with its known, new and fixed failures where
        a baseline is accepted."""
        found = [c.as_dict() for c in checks]
        if verdict is not None:
            for raw, c in zip(found, checks, strict=True):
                raw.update(verdict.of(c.label))
        return found

    def finish(self, checks: Sequence[Check]) -> str | None:
        """Write the run's failures where asked (``wrote FILE: …``, to print)."""
        if self.write_to is None:
            return None
        made = Baseline.from_checks(checks)
        made.write(self.write_to)
        return summary(made, self.write_to)

    def failure_message(self, checks: Sequence[Check], verdict: Verdict | None) -> str | None:
        """Why the command fails (exit 1), or None: nothing when a baseline is written;
        only the new failures when one is accepted; else every failure."""
        from actviz.check.verify import failure_message

        if self.write_to is not None:
            return None
        if verdict is not None:
            return verdict.failure_message(self.source)
        return failure_message(checks)
