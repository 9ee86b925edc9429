"""``manifest.json``: what each exported file is (its recipe, sha256, saturation
numbers, the kernel route and versions it was made with), read back to keep the
entries of files an export did not render, and to tell a stale file from one made
on another kernel route.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from actviz.atomic import read_own
from actviz.errors import OutputError
from actviz.registry import two_input

if TYPE_CHECKING:
    from actviz.export.pool import Rendered
    from actviz.saturation import Saturation

MANIFEST = "manifest.json"


def saturation_summary(saturation: Saturation) -> dict[str, Any]:
    """The saturation numbers worth keeping per file (manifest and gallery): numbers only;
    the gallery words them as it draws each card (:mod:`actviz.export.gallery`)."""
    full = saturation.as_dict()
    return {
        "peak_grad": full["peak_grad"],
        "peak_at": full["peak_at"],
        "peak_last": saturation.peak_last,
        # Where the peak is reached: each stretch's ends, its neighbours outside it (null
        # at the range's ends), and whether a bracket is open there (display.peak_place).
        "peak_runs": [
            {
                "first": r.first,
                "last": r.last,
                "before": r.before,
                "after": r.after,
                "samples": r.samples,
                "one_piece": r.one_piece,
                "open_before": r.open_before,
                "open_after": r.open_after,
            }
            for r in saturation.peak_runs
        ],
        "span": saturation.span,  # the probed range's width: the scale of "x is 0"
        "f0": full["f0"],
        "grad0": full["grad0"],
        "onset_eps_0.01": full["onsets"]["0.01"],
        "fractions": full["fractions"],
        "grad_underflow": {
            dtype: [u["grad_left"], u["grad_right"]] for dtype, u in full["underflow"].items()
        },
        "grad_zero_kind": {
            dtype: [u["grad_left_kind"], u["grad_right_kind"]]
            for dtype, u in full["underflow"].items()
        },
        # Where f′ = 0 by definition: intervals, null for an infinite end (JSON has no inf).
        "zero_by_definition": [
            {
                "from": i.low if math.isfinite(i.low) else None,
                "to": i.high if math.isfinite(i.high) else None,
                "from_closed": i.low_closed,
                "to_closed": i.high_closed,
            }
            for i in saturation.definition
        ],
    }


def versions() -> dict[str, str]:
    """Installed versions, read from package metadata so that nothing is imported, and
    ``source``: a hash of actviz's own code, so that a check tells a code change (stale)
    from a kernel route (another CPU) even where the version number is the same."""
    from actviz import __version__

    return {
        "actviz": __version__,
        "matplotlib": _installed("matplotlib"),
        "source": source_hash(),
        "torch": _installed("torch"),
    }


@functools.cache
def _installed(package: str) -> str:
    """``package``'s version from its metadata, looked up once: each look-up searches
    sys.path (about 10 ms), and an export asks for every file it writes."""
    from importlib.metadata import version

    return version(package)


@functools.cache
def source_hash() -> str:
    """sha256 (first 16 hex digits) of actviz's Python files and templates, by name and
    content."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parents[1]  # actviz/, above actviz/export/
    for path in sorted([*package.rglob("*.py"), *package.rglob("*.html")]):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0")
        digest.update(path.read_bytes().replace(b"\r\n", b"\n") + b"\0")
    return digest.hexdigest()[:16]


# Entry fields that a kernel route can change; every other field is the recipe.
ROUTE_FIELDS = ("environment", "saturation", "sha256")


def route_only(
    document: Mapping[str, Any] | None, name: str, entry: Mapping[str, Any], out: Path
) -> list[str] | None:
    """Whether ``name`` as recorded differs from ``entry`` only by the kernel route, and
    in which saturation fields: None when it does not (a real change: stale) or when
    nothing usable was recorded.

    Route-only means: the entry was made by this very code (its own ``versions``,
    with actviz's source hash, and for an activation of your own its ``code``, which
    must be known), with the same recipe, to the type (every field but
    :data:`ROUTE_FIELDS`), under matplotlib's defaults (export ignores matplotlibrc),
    on a recorded environment that is another route of this actviz with the torch of
    its ``versions`` (:meth:`~actviz.environment.Environment.other_route`), its
    saturation differs only where a route can move it (:func:`_route_explains`), and
    its file on disk is still the one recorded. The manifest is a record, not a
    signature: an image replaced *and* its record rewritten to match is not detected.
    """
    from actviz.environment import Environment

    recorded = (files_of(document) or {}).get(name)
    if recorded is None or not card_ready(recorded):
        return None
    if recorded.get("versions") != entry["versions"]:
        return None
    if ":" in str(entry["activation"]) and entry.get("code") is None:
        return None  # your own code, unread: nothing can vouch for it
    recipe = {k: v for k, v in entry.items() if k not in ROUTE_FIELDS}
    kept = {k: v for k, v in recorded.items() if k not in ROUTE_FIELDS}
    if json.dumps(kept, sort_keys=True) != json.dumps(recipe, sort_keys=True):
        return None
    then = Environment.from_dict(recorded.get("environment"))
    now = Environment.from_dict(entry["environment"])
    if then is None or now is None or not now.other_route(then):
        return None
    if then.torch.split("+")[0] != str(entry["versions"].get("torch", "")).split("+")[0]:
        return None  # an environment that its own versions contradict
    if not _same_shape(recorded.get("saturation"), entry["saturation"]):
        return None  # not what this code writes
    if _sha256(out / name) != recorded.get("sha256"):
        return None  # edited by hand since
    old, new = recorded["saturation"], entry["saturation"]
    if not all(_route_explains(path, a, b) for path, a, b in _leaves(old, new, "saturation")):
        return None  # a difference no kernel route makes
    return list(_differences(old, new, "saturation"))


# Saturation fields a kernel route moves: where f′ becomes exactly 0 and what that
# does to the shares, onsets and zero kinds. Numbers the grid's own samples give
# (peak, f(0), f′(0)) move only in their last digits (ROUTE_TOLERANCE); the
# peak's position (where it is reached, and the stretches that reach it) follows
# the peak value.
ROUTE_MOVES = ("grad_underflow", "grad_zero_kind", "fractions", "onset_eps_0.01")
PEAK_PLACES = ("peak_at", "peak_last", "peak_runs")
ROUTE_TOLERANCE = 1e-2  # oneDNN's f′ differs from ATen's by 0.3 % in gelu's far tail


def _route_explains(path: str, old: Any, new: Any) -> bool:
    """Whether one differing saturation leaf (``path``) can come from the kernel route."""
    parts = path.replace("[", ".").split(".")
    if any(part in ROUTE_MOVES for part in parts) or old == new:
        return True
    if any(part in PEAK_PLACES for part in parts):
        return True  # checked through peak_grad
    key = parts[-1]
    if key in ("peak_grad", "f0", "grad0"):
        if isinstance(old, bool) or isinstance(new, bool):
            return False
        if isinstance(old, (int, float)) and isinstance(new, (int, float)):
            return abs(old - new) <= ROUTE_TOLERANCE * max(abs(old), abs(new))
    return False


def _leaves(old: Any, new: Any, where: str) -> Iterator[tuple[str, Any, Any]]:
    """``(path, old, new)`` of every leaf where two records of one shape differ."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(old.keys() | new.keys()):
            yield from _leaves(old.get(key), new.get(key), f"{where}.{key}")
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            yield from _leaves(a, b, f"{where}[{i}]")
    elif old != new:
        yield where, old, new


def _same_shape(old: Any, new: Any) -> bool:
    """The same keys and list lengths all the way down, and leaves of one kind (a number
    or null where a number or null is written): what a route can change is values; and
    the stretches where the peak is reached, as many as that route's f′ ties there."""
    if isinstance(new, dict):
        return (
            isinstance(old, dict)
            and old.keys() == new.keys()
            and all(
                isinstance(old[k], list) and isinstance(new[k], list)
                if k == "peak_runs"
                else _same_shape(old[k], new[k])
                for k in new
            )
        )
    if isinstance(new, list):
        return (
            isinstance(old, list)
            and len(old) == len(new)
            and all(_same_shape(a, b) for a, b in zip(old, new, strict=True))
        )
    numbers = (int, float, type(None))
    if isinstance(new, bool) or isinstance(old, bool):
        return type(old) is type(new)
    if isinstance(new, numbers):
        return isinstance(old, numbers)
    return type(old) is type(new) or old is None or new is None


def route_line(files: Mapping[str, dict[str, Any]] | None, name: str) -> str:
    """The environment of ``files[name]`` in one line (as ``actviz env`` words it)."""
    from actviz.environment import Environment

    found = Environment.from_dict((files or {}).get(name, {}).get("environment"))
    return found.line() if found is not None else "an unknown route"


def _differences(old: Any, new: Any, where: str) -> Iterator[str]:
    """``where.key[i]: old → new`` for every leaf that differs."""
    for path, a, b in _leaves(old, new, where):
        yield f"{path}: {json.dumps(a)} → {json.dumps(b)}"


def file_entry(result: Rendered, fmt: str, data: bytes) -> dict[str, Any]:
    """The manifest entry of one file, with the sha256 of ``data`` (checked on disk later)."""
    job = result.job
    swept = {"sweep": {key: list(values) for key, values in job.sweep}} if job.sweep else {}
    return {
        "activation": job.name,
        "params": job.params,
        **swept,
        "label": result.label,
        "formula": result.formula,
        # floats, so that a library call and the CLI write the same bytes
        "range": [float(job.grid.start), float(job.grid.stop)],
        "points": job.grid.points,
        "step": None if job.grid.step is None else float(job.grid.step),
        "dtype": "float32",
        "format": fmt,
        "dpi": job.dpi,
        "theme": job.theme,
        "eps": job.eps,
        "figsize": None if job.figsize is None else [float(v) for v in job.figsize],
        "xlim": None if job.xlim is None else [float(v) for v in job.xlim],
        "ylim": [None if lim is None else [float(v) for v in lim] for lim in job.ylim],
        "sha256": hashlib.sha256(data).hexdigest(),
        "saturation": result.summary,
        "environment": result.environment,
        # what made it: a kept entry keeps its own (an export of some activations
        # into a folder made by other code), and an imported activation's source
        "versions": versions(),
        "code": result.code,
    }


def manifest_bytes(files: Mapping[str, dict[str, Any]]) -> bytes:
    """``manifest.json``: every file with what it shows and its sha256; sorted keys."""
    document = {"versions": versions(), "files": dict(files)}
    return (json.dumps(document, sort_keys=True, indent=2) + "\n").encode()


def read_document(out: Path) -> dict[str, Any] | None:
    """``OUT/manifest.json``, or None if there is none (or it is unreadable, or a
    symlink: not a manifest actviz wrote). A fifo there is refused (OutputError)."""
    data = read_own(out / MANIFEST)
    if data is None:
        return None
    try:
        document = json.loads(data.decode())
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def files_of(document: Mapping[str, Any] | None) -> dict[str, dict[str, Any]] | None:
    """The ``files`` of a manifest document (None: no usable manifest)."""
    files = None if document is None else document.get("files")
    if not isinstance(files, dict):
        return None
    return {k: v for k, v in files.items() if isinstance(v, dict)}


def _sha256(path: Path) -> str | None:
    """The sha256 of the regular file at ``path``; None for nothing, a link or a fifo."""
    try:
        data = read_own(path)
    except OutputError:
        return None
    return None if data is None else hashlib.sha256(data).hexdigest()


def merge(
    out: Path,
    previous: Mapping[str, dict[str, Any]] | None,
    entries: Mapping[str, dict[str, Any]],
    check: bool,
) -> dict[str, dict[str, Any]]:
    """The entries whose sha256 is that of the file on disk: this run's, else the previous.

    Files are hashed as they are on disk, so the manifest describes the files,
    not what this run meant to write (an interrupt may land between the two).
    Checking, nothing is written: this run's entries describe what an export
    would write.
    """
    files = {
        name: entry
        for name, entry in entries.items()
        if check or _sha256(out / name) == entry["sha256"]
    }
    for name, entry in (previous or {}).items():
        if name in files or not card_ready(entry):
            continue
        if Path(name).name == name and _sha256(out / name) == entry.get("sha256"):
            files[name] = entry
    return dict(sorted(files.items()))


_CARD_KEYS = {"activation", "format", "label", "formula", "saturation"}
_SUMMARY_KEYS = {
    "peak_grad", "peak_at", "peak_last", "peak_runs", "span", "f0", "grad0", "fractions",
    "grad_underflow", "grad_zero_kind", "zero_by_definition"
}  # fmt: skip


def card_ready(entry: dict[str, Any]) -> bool:
    """Whether a kept entry has what a gallery card needs (older manifests may not)."""
    if not entry.keys() >= _CARD_KEYS:
        return False
    summary = entry["saturation"]
    if summary is None:  # a two-input activation (GLU): no saturation summary
        return two_input(str(entry["activation"])) is not None
    if isinstance(summary, dict) and isinstance(summary.get("sweep"), list):  # one per value
        values = summary["sweep"]
        return all(isinstance(v, dict) and v.keys() >= {"label", *_SUMMARY_KEYS} for v in values)
    return isinstance(summary, dict) and summary.keys() >= _SUMMARY_KEYS
