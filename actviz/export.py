"""Batch export: every activation to image files, reproducibly and in parallel.

One figure per activation (value and gradient panels with the saturation
shading) in each requested format, plus ``manifest.json`` (what each file is,
its sha256 and saturation summary, the library versions) and ``index.html``
(a self-contained gallery). Same inputs give the same bytes, so committed
images diff cleanly and ``check=True`` can tell a CI job whether they are
stale.

Rendering happens in worker processes when ``jobs`` > 1 (and there is more
than one job), and in this process otherwise; either way only this process
writes files, each atomically, so an interrupted export never leaves a
partial file. It holds a lock on the output folder while it writes, and
writes the manifest last, from the hashes of the files on disk: it never
describes files that are not there. Exporting some activations into a
folder that holds others updates their entries and keeps the rest.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import html
import json
import os
import stat
import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from actviz.atomic import (
    check_inside,
    check_own,
    held_signals,
    read_own,
    write_bytes_atomically,
)
from actviz.defaults import DEFAULT_DPI, DEFAULT_EPS, DEFAULT_THEME
from actviz.display import MISSING, number, percent
from actviz.errors import Interrupted, OutputError, RuntimeFailure, Terminated, UsageError, arg
from actviz.probing import Grid
from actviz.registry import Spec, TwoInputActivation, spec, two_input

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

    from actviz.params import Sweep
    from actviz.plotting import FigureCache
    from actviz.probing import Probe
    from actviz.saturation import Saturation

MANIFEST = "manifest.json"
INDEX = "index.html"
# `actviz explore`'s page: the gallery links to it when it is in the same folder.
EXPLORE = "explore.html"
LOCK = ".actviz.lock"  # held while an export writes; removed when it is done
IMAGE_FORMATS = ("png", "svg", "pdf")  # plotting.FORMATS, without importing matplotlib
# Pixels of every figure one export draws together (each is laid out on a canvas of
# its full size, whatever the format): 24 figures at the 100-megapixel cap of one
# figure took 88 s and 5.4 GB. At this cap (`export --all --dpi 600` is 310 million)
# an export takes about 20 s and 0.9 GB on one core of the 2-core machine.
MAX_EXPORT_PIXELS = 400_000_000
# A figure above this many pixels is collected as soon as it is encoded: its
# canvas sits in reference cycles that Python otherwise frees only every few
# figures (measured: 24 figures at 1200 dpi held 1.9 GB at once), while a full
# collection costs about 0.13 s, too much to pay after every small figure.
_COLLECT_ABOVE = 4_000_000

# Called once per file: (path, status) with status "written", "unchanged",
# "removed" (with prune), or, when checking, "missing", "stale" and "extra".
OnFile = Callable[[Path, str], None]


@dataclass(frozen=True)
class Job:
    """One activation to render: plain data, so it can travel to a worker process."""

    name: str
    params: dict[str, Any]
    formats: tuple[str, ...]
    dpi: int
    theme: str
    grid: Grid
    eps: float
    # The figure's layout, as `actviz plot` takes it (None: automatic).
    figsize: tuple[float, float] | None = None
    xlim: tuple[float, float] | None = None
    ylim: tuple[tuple[float, float] | None, ...] = ()  # value panel, gradient panel
    # A sweep (actviz/params.py): its keys and values, all drawn in one figure.
    sweep: tuple[tuple[str, tuple[Any, ...]], ...] = ()


@dataclass(frozen=True)
class Rendered:
    """A worker's result: encoded files by format, and the numbers for manifest and gallery."""

    job: Job
    slug: str
    label: str
    formula: str
    files: dict[str, bytes]
    summary: dict[str, Any] | None  # None: a two-input activation (GLU) has no f′(x) to analyse
    environment: dict[str, Any] = field(default_factory=dict)  # the kernel route it was made on
    code: str | None = None  # an imported activation's source hash (custom.code_hash)


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
    folder: Path = Path("outputs")  # the export's out_dir
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


def usable_cores() -> int:
    """The cores this process may run on (its affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_jobs() -> int:
    """One worker per usable core (:func:`usable_cores`, the affinity mask).

    The workers are forked after this process has imported torch and matplotlib
    (:func:`_can_fork`), so a worker costs no imports of its own, and this
    process, which only writes the files the workers encode, needs no core of
    its own. ``python bench/export.py --jobs-only --repeat 5`` on the shared
    2-core machine (load 1.4-2.3): ``export --all --jobs 2`` took 0.71× the wall
    time of ``--jobs 1`` (min 0.64, max 0.83; 3.7 s against 5.6 s) for 1.04× its
    CPU time. With both cores busy elsewhere too (load 3-4) it was 1.11× (min
    0.95, max 1.28): there is no spare core to gain, and ``--jobs 1`` is faster.
    (The earlier default, one core left to the parent, came from workers that
    each imported torch, measured beside a CI run.)
    """
    return usable_cores()


def jobs_note(jobs: int | None) -> str | None:
    """A note for ``jobs`` above :func:`usable_cores` (export caps it there), else None."""
    cores = usable_cores()
    if jobs is None or jobs <= cores:
        return None
    return f"note: --jobs {jobs} is more than the {cores} usable cores; using {cores}"


def parse_formats(text: str | Sequence[str]) -> tuple[str, ...]:
    """``"png,svg"`` → ``("png", "svg")``, each checked, duplicates dropped."""
    from actviz.plotting import check_format

    items = text.split(",") if isinstance(text, str) else list(text)
    formats = tuple(dict.fromkeys(check_format(f.strip()) for f in items if f.strip()))
    if not formats:
        raise UsageError(f"give at least one format, e.g. {arg('formats', 'png,svg')}")
    return formats


def render(job: Job) -> Rendered:
    """Probe, analyse and draw one activation; encode it in every format (worker side).

    Under matplotlib's own defaults, not the user's matplotlibrc or style: the same
    inputs give the same bytes on every machine (and a check can trust that only
    the kernel route can make them differ).
    """
    from matplotlib import style

    with style.context("default"):
        rendered = _render(job)
    if _pixels(job) > _COLLECT_ABOVE:
        import gc

        gc.collect()
    return dataclasses.replace(rendered, environment=_environment(), code=_code(job.name))


def _pixels(job: Job) -> float:
    """Pixels of the figure ``job`` draws, at the size asked for (a legend may add a little)."""
    from actviz.glu import ROW_SIZE
    from actviz.plotting import PANEL_SIZE

    if two_input(job.name) is not None:
        width, height = ROW_SIZE  # GLU's heatmaps keep their size
    else:
        width, height = job.figsize or (PANEL_SIZE[0] * 2, PANEL_SIZE[1])
    return width * height * job.dpi**2


def _check_pixels(todo: Sequence[Job]) -> None:
    """Refuse an export whose figures together exceed MAX_EXPORT_PIXELS, before any is drawn."""
    total = sum(map(_pixels, todo))
    if total > MAX_EXPORT_PIXELS:
        figures = "1 figure" if len(todo) == 1 else f"{len(todo)} figures"
        raise UsageError(
            f"this export draws {figures} of {total:,.0f} pixels in all at {todo[0].dpi} dpi, "
            f"above the cap of {MAX_EXPORT_PIXELS:,} for one export; use a smaller {arg('dpi')} "
            f"or {arg('figsize')}, or export fewer activations at a time"
        )


def _code(name: str) -> str | None:
    if ":" not in name:
        return None  # a registered activation: actviz's own code (versions.source)
    from actviz.custom import code_hash

    return code_hash(name)


def _render(job: Job) -> Rendered:
    from actviz.probing import probe_many
    from actviz.saturation import analyze

    pair = two_input(job.name)
    if pair is not None:
        return _render_two_input(job, pair)
    if job.sweep:
        return _render_sweep(job)
    target = spec(job.name, job.params)
    (probe,) = probe_many([target], job.grid)
    saturation = analyze(probe, eps=job.eps)
    files = _draw(job, [probe], [saturation])
    return Rendered(
        job=job,
        slug=target.slug,
        label=probe.title,
        formula=target.activation.formula,
        files=files,
        summary=_summary(saturation),
    )


def _environment() -> dict[str, Any]:
    from actviz.environment import environment

    return environment().record()


def _draw(job: Job, probes: Sequence[Probe], saturations: Sequence[Saturation]) -> dict[str, bytes]:
    """The activation figure of ``probes`` in the job's layout, encoded in each format."""
    from actviz.plotting import activation_figure, figure_bytes

    # Large figures are drawn afresh: the kept Figure's texts hold on to the renderers
    # they were last measured and drawn with (one per size), and at 600 dpi three of
    # them (60 MB each) raised the peak memory of `export --all --jobs 1` from 427 MB
    # to 577 MB; at this size building the Figure is a small part of the drawing.
    kept = _figures is not None and _pixels(job) <= _COLLECT_ABOVE
    draw = _figures.activation_figure if kept and _figures is not None else activation_figure
    drawn = draw(
        probes,
        saturations=saturations,
        theme=job.theme,
        figsize=job.figsize,
        xlim=job.xlim,
        ylim=list(job.ylim),
        dpi=job.dpi,
    )
    return {
        fmt: figure_bytes(drawn.figure, fmt, dpi=job.dpi, theme=job.theme) for fmt in job.formats
    }


def _render_sweep(job: Job) -> Rendered:
    """A sweep: every value's curve in one figure; the summary of each value."""
    from actviz.params import sweep
    from actviz.probing import probe_many
    from actviz.saturation import analyze

    found = sweep(job.name, dict(job.sweep), job.params)
    probes = probe_many(found.specs, job.grid)
    saturations = [analyze(p, eps=job.eps) for p in probes]
    files = _draw(job, probes, saturations)
    summary = {
        "sweep": [
            {"label": p.label, **_summary(s)} for p, s in zip(probes, saturations, strict=True)
        ]
    }
    formula = found.activation.formula
    return Rendered(job, found.slug, found.label, formula, files, summary)


def _render_two_input(job: Job, pair: TwoInputActivation) -> Rendered:
    """GLU: its heatmaps over the (a, b) plane (``job.grid`` is already the plane's axis)."""
    from actviz.glu import glu_figure, probe_glu
    from actviz.plotting import figure_bytes

    figure = glu_figure(probe_glu(job.grid), theme=job.theme)
    files = {fmt: figure_bytes(figure, fmt, dpi=job.dpi, theme=job.theme) for fmt in job.formats}
    formula = f"f(a, b) = {pair.formula}"
    return Rendered(job, pair.slug, pair.name, formula, files, None)


def _summary(saturation: Saturation) -> dict[str, Any]:
    """The saturation numbers worth keeping per file (manifest and gallery)."""
    from actviz.display import by_definition, peak_words

    full = saturation.as_dict()
    return {
        "peak_grad": full["peak_grad"],
        "peak_at": full["peak_at"],
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
        "peak": peak_words(saturation),
        "zero_by_definition": by_definition(saturation),
    }


def export(
    specs: Sequence[Spec | Sweep | TwoInputActivation],
    out_dir: str | Path = "outputs",
    *,
    formats: str | Sequence[str] = ("png",),
    dpi: int = DEFAULT_DPI,
    theme: str = DEFAULT_THEME,
    grid: Grid | None = None,
    eps: float = DEFAULT_EPS,
    jobs: int | None = None,
    check: bool = False,
    prune: bool = False,
    on_file: OnFile | None = None,
    figsize: tuple[float, float] | None = None,
    xlim: tuple[float, float] | None = None,
    ylim: Sequence[tuple[float, float] | None] = (),
    on_total: Callable[[int], None] | None = None,
) -> Report:
    """Render ``specs`` into ``out_dir`` (or, with ``check``, compare with what is there).

    Files already identical are left untouched ("unchanged"). The manifest and
    gallery keep the entries of images already in ``out_dir`` that this run
    does not render (if those files still match their recorded sha256);
    ``prune`` removes such images instead. ``jobs`` is capped at
    :func:`usable_cores`. With ``check`` nothing is written; the report lists
    missing and stale files (and, with ``prune``, extra ones) instead.
    Another export writing to ``out_dir`` at the same time is an error.
    A two-input activation (``params.targets_from_cli``) exports its heatmaps; a
    :class:`~actviz.params.Sweep` one figure with a curve per value, named by its slug
    (``leaky_relu-sweep-negative_slope.png``).
    ``figsize``, ``xlim`` and ``ylim`` (value panel, gradient panel) lay out
    every activation figure as in ``actviz plot``; GLU's heatmaps keep theirs.
    ``formats`` is a list or comma-separated text (``"png,svg"``). ``on_file``
    hears of each file as it is delivered; ``on_total``, once the inputs are
    checked, how many files that will be (images, manifest, gallery; removed
    files come on top).
    """
    from actviz.plotting import THEMES, check_dpi, check_limits

    _leave_if_rerun()
    started = time.perf_counter()
    workers = default_jobs() if jobs is None else jobs
    if workers < 1:
        raise UsageError(f"{arg('jobs')} must be at least 1 (got {workers!r})")
    if not specs:
        raise UsageError(
            f"nothing to export: {arg('specs')} is empty; give activations, e.g. ['relu']"
        )
    if theme not in THEMES:  # fail here, not in a worker
        raise UsageError(f"unknown theme {theme!r}; choose one of {', '.join(THEMES)}")
    check_dpi(dpi)
    check_limits(xlim, ylim, 2, figsize)  # here, not in a worker
    # One probe per worker at a time, but a batch at the cap on every
    # activation would take minutes: the whole export shares one sample budget.
    (grid or Grid()).check_total(sum(len(getattr(s, "specs", [s])) for s in specs))
    for target in specs:  # GLU's N × N plane too, before a worker imports torch
        if isinstance(target, TwoInputActivation):
            _grid_for(target, grid).check_square()
    chosen = parse_formats(formats)
    if not isinstance(out_dir, (str, os.PathLike)) or not os.fspath(out_dir).strip():
        raise UsageError(f"the output folder must be a path such as outputs (got {out_dir!r})")
    out = Path(out_dir)
    panels = (*ylim, None, None)[:2]  # value, gradient: one manifest for the CLI and a call
    layout = (figsize, xlim, panels)
    todo = [
        Job(s.name, dict(s.params), chosen, dpi, theme, _grid_for(s, grid), eps, *layout,
            getattr(s, "axes", ()))
        for s in sorted(specs, key=lambda s: s.slug)
    ]  # fmt: skip
    _check_pixels(todo)
    report = Report(jobs=min(workers, usable_cores()), folder=out, check=check)
    # Every name this run reads or writes: inside the folder, and no fifo among them
    # (refused now, not after minutes of rendering; a link there is replaced).
    names = [f"{s.slug}.{fmt}" for s in specs for fmt in chosen]
    own = [check_inside(out, out / name) for name in [*names, MANIFEST, INDEX]]
    if on_total is not None:
        on_total(len(todo) * len(chosen) + 2)  # the images, the manifest and the gallery
    emit = on_file or (lambda path, status: None)
    fresh = not check and not os.path.lexists(out)  # a folder this run creates
    with contextlib.ExitStack() as stack:
        if not check:
            stack.enter_context(_locked_folder(out))
        for path in own:
            check_own(path)
        document = _read_document(out)
        previous = _files_of(document)
        entries: dict[str, dict[str, Any]] = {}
        # Checking: entries recorded on another kernel route, with what differs.
        routed: dict[str, list[str]] = {}
        try:
            with contextlib.closing(_render_all(todo, report.jobs)) as results:
                for result in results:
                    for fmt, data in result.files.items():
                        name = f"{result.slug}.{fmt}"
                        entries[name] = entry = _entry(result, fmt, data)  # kept if on disk
                        fields = _route_only(document, name, entry, out) if check else None
                        shown = None
                        if fields is not None:
                            routed[name] = fields
                            report.made_on[_line(previous, name)] = _line(entries, name)
                            shown = fields or ["the image only (f′ samples in their last bits)"]
                        _deliver(out / name, data, check, report, emit, shown)
            files = _merge(out, previous, entries, check)
            if prune:
                _prune(out, set(entries), files, check, report, emit)
            # What the files would say had this run been made on their recorded route.
            recorded = {n: (previous or {})[n] if n in routed else e for n, e in files.items()}
            notes = [f"{n} {f}" for n, fields in routed.items() for f in fields] or [
                f"the environment of {', '.join(routed)}"
            ]
            for path, data, as_recorded in (
                (out / MANIFEST, manifest(files), manifest(recorded)),
                (out / INDEX, gallery(gallery_cards(files), theme, explore=_explore(out)),
                 gallery(gallery_cards(recorded), theme, explore=_explore(out))),
            ):  # fmt: skip
                same = routed and _read(path) == as_recorded
                _deliver(path, data, check, report, emit, notes if same else None)
        except KeyboardInterrupt as signal:  # Ctrl-C, or SIGTERM through cli.main
            terminated = isinstance(signal, Terminated)
            _mend(out, previous, entries, check)
            reason = "terminated" if terminated else "interrupted"
            raise Interrupted(_stopped(reason, report), terminated=terminated) from None
        except WorkerDied as death:
            mended = _mend(out, previous, entries, check)
            raise WorkerDied(_died(death.template, report, mended)) from None
        except RuntimeFailure as error:
            if fresh:  # a failed export into a new folder leaves no folder behind
                raise RuntimeFailure(_undone(error.template, out, report)) from error
            _mend(out, previous, entries, check)
            raise RuntimeFailure(_stopped(error.template, report)) from error
        except BaseException:  # anything else still leaves a manifest true to the disk
            _mend(out, previous, entries, check)
            raise
    report.seconds = time.perf_counter() - started
    return report


def _grid_for(target: Spec | Sweep | TwoInputActivation, grid: Grid | None) -> Grid:
    """The grid as given; for GLU, the axis of its (a, b) plane, so that the
    manifest records the points actually drawn."""
    if isinstance(target, TwoInputActivation):
        from actviz.glu import plane

        return plane(grid)
    return grid or Grid()


@contextlib.contextmanager
def _locked_folder(out: Path) -> Iterator[None]:
    """Create ``out`` if needed and hold its lock; remove the folders made here if left empty.

    The lock (``fcntl.flock`` on ``OUT/.actviz.lock``) keeps two exports from
    interleaving their images and manifests: the second fails at once.
    """
    missing = []
    parent = out
    while not parent.exists() and parent != parent.parent:
        missing.append(parent)
        parent = parent.parent
    lock: int | None = None
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
                os.close(lock)
        _remove_empty(missing)


def _lock(out: Path) -> int | None:
    """Hold ``OUT/.actviz.lock`` exclusively; the descriptor to close, or None without flock."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        return None
    path = out / LOCK
    # Not through a link (a planted one is removed, as atomic writes replace it),
    # and without blocking on a fifo.
    flags = os.O_RDWR | os.O_CREAT | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC
    while True:
        try:
            fd = os.open(path, flags, 0o666)
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
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # a fifo or a device: refused
            os.close(fd)
            check_own(path)
            raise OutputError(f"cannot use {path}: it is not a regular file; remove it")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise OutputError(
                f"another actviz export is writing to {out}; wait for it to finish "
                f"or choose another {arg('out')}"
            ) from None
        try:
            if os.lstat(path).st_ino == os.fstat(fd).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)  # the previous holder removed the file as it finished: lock the new one


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


def _died(reason: str, report: Report, mended: bool) -> str:
    """The line for an export whose worker died: what died, and what the folder holds now."""
    images = len(report.written)
    if mended:
        if not images:
            return f"{reason}; no file was written"
        files = "file" if images == 1 else "files"
        return f"{reason}; the manifest lists the {images} {files} written"
    written = ", ".join(p.name for p in report.written) or "none"
    return f"{reason}; files written before it stopped: {written}"


def _undone(reason: str, out: Path, report: Report) -> str:
    """After a failure in a folder this export created: remove the files it wrote there
    (the folder itself goes once the lock is released, if nothing else was put in it),
    and say so."""
    if not report.written:
        return _stopped(reason, report)
    with held_signals():
        for path in report.written:
            with contextlib.suppress(OSError):
                os.unlink(path)
    report.written.clear()
    return f"export stopped ({reason}); {out} was new, so it was removed with the files written"


def _stopped(reason: str, report: Report) -> str:
    written = ", ".join(p.name for p in report.written) or "none"
    return f"export stopped ({reason}); files written before it stopped: {written}"


def _read(path: Path) -> bytes | None:
    """The file actviz wrote at ``path``: None if there is none or a link is there
    (replaced on writing); a fifo or a device is refused, never opened to block."""
    return read_own(path)


def _deliver(
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


class WorkerDied(RuntimeFailure):
    """A worker process ended without handing back its result (an OOM kill, a segfault,
    ``os._exit`` in an activation of your own): the message names how and what it drew."""


# A spawned worker that finds itself re-running the caller's script (an export at the
# top level of a script without `if __name__ == "__main__":`) leaves with this code.
RERUN_EXIT = 86


def _leave_if_rerun() -> None:
    """In a worker that is still starting (spawn re-runs the caller's main script),
    leave quietly, as multiprocessing's own check would with a traceback: the parent
    reads the exit code and says what to do in one line."""
    import multiprocessing

    # Set while a spawned process unpickles its start-up data (multiprocessing's own check).
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise SystemExit(RERUN_EXIT)


# The Figure that this process's activation figures are drawn into, one after
# another (plotting.FigureCache): set while _render_all renders here, and in a worker.
_figures: FigureCache | None = None


@contextlib.contextmanager
def _reusing_figures() -> Iterator[None]:
    """Draw this process's activation figures into one kept Figure, let go at the end;
    meanwhile the collector leaves alone what was there before (:func:`_settled`)."""
    from actviz.plotting import FigureCache

    global _figures
    with _settled():
        _figures = FigureCache()
        try:
            yield
        finally:
            _figures = None


@contextlib.contextmanager
def _settled(backward: bool = True) -> Iterator[None]:
    """:func:`_settle` for a while: what it froze is unfrozen at the end."""
    import gc

    froze = _settle(backward=backward)
    try:
        yield
    finally:
        if froze:
            gc.unfreeze()


def _settle(
    threads: int | None = None, onednn: bool | None = None, *, backward: bool = True
) -> bool:
    """Import what rendering needs with the cycle collector off, then freeze every
    object there is (gc.freeze) so that its full collections skip them; True if
    frozen here (not when the caller has frozen objects of its own).

    The modules are imported anyway; imported with the collector on, torch,
    matplotlib and the sympy that torch's first ``backward(gradient)`` imports
    (torch.autograd._make_grads) set off full collections of the growing heap,
    and each full collection while rendering walked it all again: 0.26 s of
    collections during the imports and 0.6 s during the 24 figures of
    ``export --all`` (gc.callbacks, process time; 0.3 s once frozen).
    ``threads`` and ``onednn`` (a worker's) are set before torch computes anything.
    ``backward=False`` (a process about to fork) leaves the first backward, and the
    imports it makes, to each child: on a machine with a GPU the first backward
    starts autograd's device threads, and the children of a process that has
    them cannot use autograd (torch's wiki, "Autograd and Fork").
    """
    import gc

    enabled = gc.isenabled()
    gc.disable()
    try:
        import matplotlib.backends.backend_agg
        import matplotlib.figure  # noqa: F401
        import torch

        if threads is not None:
            torch.set_num_threads(threads)
        if onednn is not None:
            torch.backends.mkldnn.enabled = onednn  # type: ignore[assignment]  # the documented switch
        if backward:
            x = torch.zeros(1, requires_grad=True)
            y: Any = x * 1.0  # (Tensor.backward is untyped)
            y.backward(torch.ones_like(y))  # the probes' call: its one-time imports, here
        else:
            # What that first backward imports (torch.autograd._make_grads checks a
            # given gradient's shape with it, pulling in sympy), imported without
            # running anything, so that forked children share it.
            import torch.fx.experimental.symbolic_shapes
    finally:
        if enabled:
            gc.enable()
    if gc.get_freeze_count():
        return False
    gc.freeze()
    return True


def _render_all(todo: list[Job], workers: int) -> Generator[Rendered, None, None]:
    """Yield :class:`Rendered` in job order, in this process or in ``workers`` processes.

    If the caller stops early (Ctrl-C, SIGTERM, a failed render or file), the
    workers are terminated at once rather than left to finish their jobs. A
    worker that dies (the pool breaks) raises :class:`WorkerDied`, naming the
    worker's exit code or signal and the job it was drawing; the results
    yielded before it are all that this export delivers.
    """
    if workers == 1 or len(todo) == 1:
        with _reusing_figures():
            yield from map(render, todo)
        return
    fork = _can_fork()  # before this process imports torch (below, if it may fork)
    # Forked, the workers share what this process imported for them (_pool); its
    # first backward each makes for itself (see _settle).
    with _settled(backward=False) if fork else contextlib.nullcontext():
        yield from _render_in_pool(todo, workers, fork)


def _render_in_pool(todo: list[Job], workers: int, fork: bool) -> Generator[Rendered, None, None]:
    """:func:`_render_all` in ``workers`` processes (forked, or else spawned)."""
    from concurrent.futures.process import BrokenProcessPool

    with _no_working_folder_in_children():
        executor, claims = _pool(min(workers, len(todo)), len(todo), fork)
    # pid → Process, read after a death; the pool keeps it up to date (private, so optional).
    processes = getattr(executor, "_processes", None)
    try:
        try:
            # The workers start here; holding the signals until they have set up
            # keeps a Ctrl-C from reaching one before it ignores it (_worker_init).
            with held_signals(), _no_working_folder_in_children():
                futures = [executor.submit(_render_claimed, i, job) for i, job in enumerate(todo)]
            for future in futures:
                yield future.result()
        except BrokenProcessPool:
            executor.shutdown(wait=True)  # every worker has exited: their exit codes are known
            raise _death(dict(processes or {}), list(claims), todo) from None
    finally:
        # Every result is in, or none is wanted: stop the workers rather than ask them
        # to leave. One killed while idle may have died holding the queue's lock, and
        # the pool's polite shutdown would then wait on the others for ever (CPython
        # 3.11, when the kill and the shutdown come together). A signal lands once the
        # workers are gone, not halfway.
        with held_signals():
            _terminate(executor)
            executor.shutdown(wait=True, cancel_futures=True)


def _death(processes: Mapping[int, Any], claims: Sequence[int], todo: list[Job]) -> Exception:
    """What broke the pool, as the error to raise.

    ``claims[i]``: the pid of the worker drawing job ``i`` (negative once it is done,
    0 before it starts). The pool stops every other worker with SIGTERM once one
    has died, so the dead one is the worker with another exit code; if all of them
    ended by SIGTERM (someone sent one to a worker), the one drawing the first job.
    """
    import signal

    exits = {pid: process.exitcode for pid, process in processes.items()}
    drawing = {pid: i for i, pid in reversed(list(enumerate(claims))) if pid > 0}
    if not drawing and RERUN_EXIT in exits.values():
        return UsageError(
            "the export's worker processes re-ran this script: torch was imported, so they "
            "are spawned, and spawning imports the main script, which called export again; "
            'put the call under `if __name__ == "__main__":`, or pass jobs=1'
        )

    def order(pid: int) -> tuple[bool, bool, int]:
        telling = exits.get(pid) not in (None, -signal.SIGTERM)
        return (not telling, pid not in drawing, drawing.get(pid, len(claims)))

    candidates = sorted({*exits, *drawing}, key=order)
    dead = candidates[0] if candidates else None
    code = exits.get(dead) if dead is not None else None
    how = ""
    if code is not None and code >= 0:
        how = f" (exit code {code})"
    elif code is not None:
        try:
            how = f" (killed by {signal.Signals(-code).name})"
        except ValueError:
            how = f" (killed by signal {-code})"
    if dead in drawing:
        where = f"while drawing {todo[drawing[dead]].name}"
    elif dead is not None and -dead in claims:
        where = "between two drawings"
    else:
        where = "while starting"
    return WorkerDied(f"a worker process died{how} {where}")


_claims: Any = None  # in a worker: the pool's shared claims (_render_all), set by _worker_init


def _render_claimed(index: int, job: Job) -> Rendered:
    """:func:`render`, with the worker's pid in the shared claims while it draws job ``index``."""
    pid = os.getpid()
    if _claims is not None:
        _claims[index] = pid
    try:
        return render(job)
    finally:
        if _claims is not None:
            _claims[index] = -pid


def _terminate(executor: ProcessPoolExecutor) -> None:
    stop = getattr(executor, "terminate_workers", None)  # Python ≥ 3.14
    if stop is not None:
        stop()
        return
    for process in list((getattr(executor, "_processes", None) or {}).values()):
        with contextlib.suppress(OSError, ValueError):
            process.terminate()


@contextlib.contextmanager
def _no_working_folder_in_children() -> Iterator[None]:
    """Python processes started in here do not put the working folder first on sys.path.

    A spawned worker, and multiprocessing's resource tracker, start as ``python -c``,
    which puts the working folder first on sys.path: a ``multiprocessing.py`` there would
    run before the worker's own code. ``PYTHONSAFEPATH`` (Python ≥ 3.11) keeps it off;
    a spawned worker then has this process's sys.path, and finds your modules through
    :func:`actviz.custom.module_folder` (:func:`_worker_init`), as this process does.
    """
    before = os.environ.get("PYTHONSAFEPATH")
    os.environ["PYTHONSAFEPATH"] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("PYTHONSAFEPATH", None)
        else:
            os.environ["PYTHONSAFEPATH"] = before


def _can_fork() -> bool:
    """Whether workers may be forked: where fork exists and torch was not imported
    before the export began.

    Forking a process whose torch has run (a notebook: its OpenMP threads are
    up) can deadlock the child, so those workers are spawned. An export that
    imports torch itself, and computes nothing with it (:func:`_settle` with
    ``backward=False``: the process then has two threads, its own and numpy's
    OpenBLAS server, whose fork handler stops it), forks workers that share
    those imports rather than each import torch and matplotlib again:
    ``export --all --jobs 2`` on the shared 2-core machine (load 1.6-2.4, 6
    paired rounds against bench/peer_pytorch_docs.py) took a median 0.91× the
    peer's wall time that way (min 0.84, max 1.32; 1.30× its CPU time) and 1.37×
    (min 1.21; 1.61× its CPU time) with workers that imported side by side.
    """
    import multiprocessing
    import sys

    return "fork" in multiprocessing.get_all_start_methods() and "torch" not in sys.modules


def _pool(workers: int, jobs: int, fork: bool) -> tuple[ProcessPoolExecutor, Any]:
    """The worker pool, and its claims: a shared array of ``jobs`` pids (see :func:`_death`)."""
    import multiprocessing
    import sys
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("fork" if fork else "spawn")
    # A spawned worker starts with torch's defaults: give it this process's oneDNN
    # switch (a notebook may have turned it off), so that its files are made on the
    # same kernel route as this process would make them, for any number of jobs.
    onednn = None if fork else bool(sys.modules["torch"].backends.mkldnn.enabled)
    from actviz.custom import module_folder

    claims = context.RawArray("q", jobs)
    executor = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_worker_init,
        initargs=(onednn, os.getpid(), claims, module_folder()),
    )
    return executor, claims


def _worker_init(
    onednn: bool | None = None,
    parent: int | None = None,
    claims: Any = None,
    folder: str | None = None,
) -> None:
    import signal
    import sys

    global _claims, _figures
    _claims = claims

    # Ctrl-C reaches the whole process group: the parent alone decides (stops
    # the pool, says what it wrote). SIGTERM, the parent's way to stop a
    # worker, kills it quietly even if the fork copied cli.main's handler.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):  # held by the parent while it started us
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    if sys.platform == "linux":
        # Should the parent be killed outright (SIGKILL), take the workers with
        # it instead of leaving them to hold its stdout open (prctl
        # PR_SET_PDEATHSIG = 1).
        with contextlib.suppress(OSError, AttributeError):
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)
    # A parent killed between our fork and the prctl above sent no signal: look.
    if parent is not None and os.getppid() != parent:
        os._exit(1)
    from actviz.custom import set_module_folder

    set_module_folder(folder)  # where this process finds your modules (a spawned one starts bare)
    from actviz.plotting import FigureCache

    _figures = FigureCache()  # for the life of this worker
    # Workers split the machine between them; torch's own thread pool in each
    # would only fight over the same cores.
    _settle(threads=1, onednn=onednn)  # for the life of this worker


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
    """sha256 (first 16 hex digits) of actviz's Python files, by name and content."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0")
        digest.update(path.read_bytes().replace(b"\r\n", b"\n") + b"\0")
    return digest.hexdigest()[:16]


# Entry fields that a kernel route can change; every other field is the recipe.
ROUTE_FIELDS = ("environment", "saturation", "sha256")


def _route_only(
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

    recorded = (_files_of(document) or {}).get(name)
    if recorded is None or not _card_ready(recorded):
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
# peak's position and words follow the peak value.
ROUTE_MOVES = ("grad_underflow", "grad_zero_kind", "fractions", "onset_eps_0.01")
ROUTE_TOLERANCE = 1e-2  # oneDNN's f′ differs from ATen's by 0.3 % in gelu's far tail


def _route_explains(path: str, old: Any, new: Any) -> bool:
    """Whether one differing saturation leaf (``path``) can come from the kernel route."""
    parts = path.replace("[", ".").split(".")
    if any(part in ROUTE_MOVES for part in parts) or old == new:
        return True
    key = parts[-1]
    if key in ("peak_grad", "f0", "grad0", "peak_at", "peak"):
        if isinstance(old, bool) or isinstance(new, bool):
            return False
        if isinstance(old, (int, float)) and isinstance(new, (int, float)):
            scale = max(abs(old), abs(new))
            return key == "peak_at" or abs(old - new) <= ROUTE_TOLERANCE * scale
        return key == "peak"  # the peak's words: checked through peak_grad
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
    or null where a number or null is written): what a route can change is values."""
    if isinstance(new, dict):
        return (
            isinstance(old, dict)
            and old.keys() == new.keys()
            and all(_same_shape(old[k], new[k]) for k in new)
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


def _line(files: Mapping[str, dict[str, Any]] | None, name: str) -> str:
    """The environment of ``files[name]`` in one line (as ``actviz env`` words it)."""
    from actviz.environment import Environment

    found = Environment.from_dict((files or {}).get(name, {}).get("environment"))
    return found.line() if found is not None else "an unknown route"


def _differences(old: Any, new: Any, where: str) -> Iterator[str]:
    """``where.key[i]: old → new`` for every leaf that differs."""
    for path, a, b in _leaves(old, new, where):
        yield f"{path}: {json.dumps(a)} → {json.dumps(b)}"


def _entry(result: Rendered, fmt: str, data: bytes) -> dict[str, Any]:
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


def manifest(files: Mapping[str, dict[str, Any]]) -> bytes:
    """``manifest.json``: every file with what it shows and its sha256; sorted keys."""
    document = {"versions": versions(), "files": dict(files)}
    return (json.dumps(document, sort_keys=True, indent=2) + "\n").encode()


def _read_document(out: Path) -> dict[str, Any] | None:
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


def _files_of(document: Mapping[str, Any] | None) -> dict[str, dict[str, Any]] | None:
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


def _merge(
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
        if name in files or not _card_ready(entry):
            continue
        if Path(name).name == name and _sha256(out / name) == entry.get("sha256"):
            files[name] = entry
    return dict(sorted(files.items()))


def _mend(
    out: Path,
    previous: Mapping[str, dict[str, Any]] | None,
    entries: Mapping[str, dict[str, Any]],
    check: bool,
) -> bool:
    """After a failure: make an existing manifest (and gallery) describe the files on disk.

    A fresh folder gets none: a manifest marks an export that has completed once.
    Returns whether a manifest describing the files on disk was written.
    """
    if check or previous is None:
        return False
    files = _merge(out, previous, entries, check=False)
    try:
        write_bytes_atomically(out / MANIFEST, manifest(files))
        write_bytes_atomically(out / INDEX, gallery(gallery_cards(files), explore=_explore(out)))
    except OutputError:  # a full disk, say: better no manifest than a wrong one
        with contextlib.suppress(OSError):
            (out / MANIFEST).unlink()
        return False
    return True


def _prune(
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


_CARD_KEYS = {"activation", "format", "label", "formula", "saturation"}
_SUMMARY_KEYS = {
    "peak", "f0", "grad0", "fractions", "grad_underflow", "grad_zero_kind", "zero_by_definition"
}  # fmt: skip


def _card_ready(entry: dict[str, Any]) -> bool:
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


@dataclass(frozen=True)
class Card:
    """One activation in the gallery: what its card shows, from the manifest entries."""

    slug: str
    activation: str
    label: str
    formula: str
    files: tuple[str, ...]  # the formats exported, png first
    summary: dict[str, Any] | None  # None: a two-input activation (GLU)
    theme: str = DEFAULT_THEME
    environment: str = ""  # the kernel route its numbers were measured on, in one line


def gallery_cards(files: Mapping[str, dict[str, Any]]) -> list[Card]:
    """The gallery's cards, one per activation (file stem), sorted by name."""
    formats: dict[str, list[str]] = {}
    first: dict[str, dict[str, Any]] = {}
    for name, entry in files.items():
        slug, _, fmt = name.rpartition(".")
        formats.setdefault(slug, []).append(fmt)
        first.setdefault(slug, entry)
    order = {fmt: i for i, fmt in enumerate(IMAGE_FORMATS)}
    return [
        Card(
            slug=slug,
            activation=first[slug]["activation"],
            label=first[slug]["label"],
            formula=first[slug]["formula"],
            files=tuple(sorted(formats[slug], key=lambda f: order.get(f, len(order)))),
            summary=first[slug]["saturation"],
            theme=first[slug].get("theme", DEFAULT_THEME),
            environment=_line(first, slug),
        )
        for slug in sorted(formats)
    ]


def _explore(out: Path) -> bool:
    """Whether ``actviz explore``'s page is in the folder (the gallery then links to it)."""
    return (out / EXPLORE).is_file()


def gallery(rendered: Sequence[Card], theme: str | None = None, *, explore: bool = False) -> bytes:
    """``index.html``: one card per activation, self-contained, relative image paths;
    with ``explore``, a link to the interactive page explore.html beside it."""
    cards = []
    for result in rendered:
        image_format = next((f for f in ("png", "svg") if f in result.files), None)
        name = f"{result.slug}.{image_format or next(iter(result.files))}"
        # A link around the image: a click opens it at full size.
        picture = (
            f'<a href="{html.escape(name)}" title="open the full-size image">'
            f'<img src="{html.escape(name)}" alt="{html.escape(result.label)}: value and gradient">'
            "</a>"
            if image_format
            else f'<a href="{html.escape(name)}">{html.escape(name)}</a>'
        )
        facts = _facts(result)
        rows = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in facts)
        links = " · ".join(
            f'<a href="{html.escape(result.slug)}.{f}">{f}</a>' for f in result.files
        )
        cards.append(
            f'<figure id="{html.escape(result.slug)}">{picture}<figcaption>'
            f"<h2>{html.escape(result.label)}</h2><code>{html.escape(result.formula)}</code>"
            f"<dl>{rows}</dl><p>{links}</p></figcaption></figure>"
        )
    from actviz.plotting import regime_colour_names

    # The page follows this export's theme; mending after a failure, the cards'.
    theme = theme or (rendered[0].theme if rendered else DEFAULT_THEME)
    # Underflow edges and dead shares depend on the kernel route: say which one(s).
    lines = sorted({c.environment for c in rendered if c.environment})
    route = html.escape("; ".join(lines) or "an unknown route")
    link = (
        f'<p class="explore">Move a slider instead: <a href="{EXPLORE}">{EXPLORE}</a> draws '
        "every activation interactively (parameters, dtypes, hover readouts).</p>"
        if explore
        else ""
    )
    page = _PAGE.format(count=len(rendered), cards="\n".join(cards), theme=theme,
                        css=_CSS[theme], shading=regime_colour_names(theme),
                        route=route, explore=link)  # fmt: skip
    return page.encode()


def _facts(card: Card) -> list[tuple[str, str]]:
    """The numbers under a gallery card; for GLU, its partials and inputs instead."""
    s = card.summary
    if s is None:
        pair = two_input(card.activation)
        assert pair is not None
        return [
            ("partials", pair.derivative_formula),
            ("inputs", "a (passed through), b (gate); no saturation summary for two inputs"),
        ]
    if "sweep" in s:  # a sweep: one line per value
        return [
            (
                v["label"],
                f"peak |f′| {v['peak'].removeprefix('peak |f′| = ')}; dead "
                f"{percent(v['fractions']['dead'])}, saturated "
                f"{percent(v['fractions']['saturated'])}",
            )
            for v in s["sweep"]
        ]
    return [
        ("peak |f′|", s["peak"].removeprefix("peak |f′| = ")),
        ("f(0), f′(0)", f"{number(s['f0'], 'float32')}, {number(s['grad0'], 'float32')}"),
        ("dead", percent(s["fractions"]["dead"])),
        ("saturated", percent(s["fractions"]["saturated"])),
        *_zero_facts(s),
    ]


def _zero_facts(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """Where f′ is 0 by definition, and where float32 rounds it to 0: two facts."""
    edges = summary["grad_underflow"].get("float32", [None, None])
    kinds = summary["grad_zero_kind"].get("float32", [None, None])

    def side(index: int, kind: str) -> float | None:
        return edges[index] if kinds[index] == kind else None

    facts = []
    by_definition = summary.get("zero_by_definition", MISSING)
    if by_definition != MISSING:
        facts.append(("f′ = 0 by definition", by_definition))
    left, right = side(0, "underflow"), side(1, "underflow")
    facts.append(("float32 rounds f′ to 0 beyond |x|", f"{number(left)} / {number(right)}"))
    return facts


# The page follows the images' theme: dark cards around dark figures.
_CSS = {
    "light": {"page": "#fafafa", "text": "#222", "card": "#fff", "border": "#ddd", "muted": "#666",
              "link": "#0645ad"},
    "dark": {"page": "#111", "text": "#e8e8e8", "card": "#000", "border": "#444", "muted": "#aaa",
             "link": "#8ab4f8"},
}  # fmt: skip

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="color-scheme" content="{theme}">
<title>actviz: {count} activations</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem;
  background: {css[page]}; color: {css[text]}; }}
a {{ color: {css[link]}; }}
/* Cards at least 64rem wide (one a row on a laptop): at 34rem a 1440-px figure shrank
   to 0.39 of its size and its legend to 7 px; in a 1280-px window it is now 0.82 (14 px). */
main {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 64rem), 1fr));
  gap: 1.5rem; }}
figure {{ margin: 0; background: {css[card]}; border: 1px solid {css[border]};
  border-radius: 8px; padding: 1rem; }}
figure > a {{ display: block; cursor: zoom-in; }}
img {{ display: block; width: 100%; max-width: 1440px; height: auto; margin: 0 auto; }}
figcaption {{ display: grid; grid-template-columns: minmax(14rem, 1fr) 2fr; gap: 0 2rem;
  align-items: start; }}
figcaption > dl {{ grid-column: 2; grid-row: 1 / span 3; }}
@media (max-width: 48rem) {{ figcaption {{ grid-template-columns: 1fr; }}
  figcaption > dl {{ grid-column: 1; grid-row: auto; }} }}
code {{ overflow-wrap: anywhere; }}
h2 {{ margin: 0.5rem 0 0.25rem; font-size: 1.1rem; }}
dl {{ display: grid; grid-template-columns: max-content 1fr; gap: 0.1rem 1rem; font-size: 0.9rem; }}
dt {{ color: {css[muted]}; }}
dd {{ margin: 0; font-variant-numeric: tabular-nums; }}
</style>
</head>
<body>
<h1>actviz: {count} activations</h1>
<p>Value and gradient (from <code>backward(ones_like(y))</code>) of each activation, with
{shading} stretches shaded. Click a figure to open it at full size.</p>
<p class="route">Underflow edges and dead shares depend on torch's kernel route; these were
measured on {route} (<code>actviz env</code>).</p>
{explore}
<main>
{cards}
</main>
</body>
</html>
"""
