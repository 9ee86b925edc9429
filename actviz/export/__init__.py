"""Batch export: every activation to image files, reproducibly and in parallel.

One figure per activation (value and gradient panels with the saturation
shading) in each requested format, plus ``manifest.json`` (what each file is,
its sha256 and saturation numbers, the library versions) and ``index.html``
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

The package: this module orchestrates; :mod:`~actviz.export.pool` renders (in
worker processes), :mod:`~actviz.export.folder` locks the folder and delivers the
files, :mod:`~actviz.export.manifest` writes and reads ``manifest.json``, and
:mod:`~actviz.export.gallery` the ``index.html`` built from it (a template shipped
as package data).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from actviz.atomic import check_inside, check_own, held_signals, read_own, write_bytes_atomically
from actviz.defaults import DEFAULT_DPI, DEFAULT_EPS, DEFAULT_OUT_DIR, DEFAULT_THEME
from actviz.errors import Interrupted, OutputError, RuntimeFailure, Terminated, UsageError, arg
from actviz.export.folder import LOCK, OnFile, Report, deliver, locked_folder, prune_images
from actviz.export.gallery import INDEX, Card, explore_beside, gallery_cards, gallery_page
from actviz.export.manifest import (
    MANIFEST,
    file_entry,
    files_of,
    manifest_bytes,
    merge,
    read_document,
    route_line,
    route_only,
    source_hash,
    versions,
)
from actviz.export.pool import (
    MAX_EXPORT_PIXELS,
    RERUN_EXIT,
    Job,
    Rendered,
    WorkerDied,
    check_pixels,
    default_jobs,
    leave_if_rerun,
    render,
    render_all,
    usable_cores,
)
from actviz.probing import Grid
from actviz.registry import Spec, TwoInputActivation

if TYPE_CHECKING:
    from actviz.params import Sweep

__all__ = [
    "INDEX",
    "LOCK",
    "MANIFEST",
    "MAX_EXPORT_PIXELS",
    "RERUN_EXIT",
    "Card",
    "Job",
    "OnFile",
    "Rendered",
    "Report",
    "WorkerDied",
    "default_jobs",
    "export",
    "gallery_cards",
    "gallery_page",
    "jobs_note",
    "manifest_bytes",
    "parse_formats",
    "render",
    "source_hash",
    "usable_cores",
    "versions",
]


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


def export(
    specs: Sequence[Spec | Sweep | TwoInputActivation],
    out_dir: str | Path = DEFAULT_OUT_DIR,
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

    leave_if_rerun()
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
    check_pixels(todo)
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
            stack.enter_context(locked_folder(out))
        for path in own:
            check_own(path)
        document = read_document(out)
        previous = files_of(document)
        entries: dict[str, dict[str, Any]] = {}
        # Checking: entries recorded on another kernel route, with what differs.
        routed: dict[str, list[str]] = {}
        try:
            with contextlib.closing(render_all(todo, report.jobs)) as results:
                for result in results:
                    for fmt, data in result.files.items():
                        name = f"{result.slug}.{fmt}"
                        entries[name] = entry = file_entry(result, fmt, data)  # kept if on disk
                        fields = route_only(document, name, entry, out) if check else None
                        shown = None
                        if fields is not None:
                            routed[name] = fields
                            report.made_on[route_line(previous, name)] = route_line(entries, name)
                            shown = fields or ["the image only (f′ samples in their last bits)"]
                        deliver(out / name, data, check, report, emit, shown)
            files = merge(out, previous, entries, check)
            if prune:
                prune_images(out, set(entries), files, check, report, emit)
            # What the files would say had this run been made on their recorded route.
            recorded = {n: (previous or {})[n] if n in routed else e for n, e in files.items()}
            notes = [f"{n} {f}" for n, fields in routed.items() for f in fields] or [
                f"the environment of {', '.join(routed)}"
            ]
            explore = explore_beside(out)
            for path, data, as_recorded in (
                (out / MANIFEST, manifest_bytes(files), manifest_bytes(recorded)),
                (out / INDEX, gallery_page(gallery_cards(files), theme, explore=explore),
                 gallery_page(gallery_cards(recorded), theme, explore=explore)),
            ):  # fmt: skip
                same = routed and read_own(path) == as_recorded
                deliver(path, data, check, report, emit, notes if same else None)
        except KeyboardInterrupt as signal:  # Ctrl-C, or SIGTERM through cli.main
            terminated = isinstance(signal, Terminated)
            _mend(out, previous, entries, check)
            reason = "terminated" if terminated else "interrupted"
            raise Interrupted(_stopped(reason, report), terminated=terminated) from None
        except WorkerDied as death:
            if fresh:  # as any failure: a folder this export made goes with what it wrote
                raise WorkerDied(_undone(death.template, out, report)) from None
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
    files = merge(out, previous, entries, check=False)
    try:
        write_bytes_atomically(out / MANIFEST, manifest_bytes(files))
        write_bytes_atomically(
            out / INDEX, gallery_page(gallery_cards(files), explore=explore_beside(out))
        )
    except OutputError:  # a full disk, say: better no manifest than a wrong one
        with contextlib.suppress(OSError):
            (out / MANIFEST).unlink()
        return False
    return True
