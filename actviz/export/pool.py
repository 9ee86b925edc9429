"""Rendering an export's figures: one :class:`Job` per activation, computed with torch
(probe, analysis) and then drawn and encoded with matplotlib, in this process or in
a pool of worker processes.

Where workers may be forked, the work is split: drawing workers are forked first and
import matplotlib while this process imports torch, then this process computes each
job and hands its numbers to them (:func:`_render_split`). Only this process writes
files (``actviz.export``); a worker hands back bytes.
"""

from __future__ import annotations

import collections
import contextlib
import os
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from actviz.atomic import held_signals
from actviz.errors import RuntimeFailure, UsageError, arg
from actviz.export.manifest import saturation_summary
from actviz.probing import Grid
from actviz.registry import TwoInputActivation, spec, two_input

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

    from actviz.plotting import FigureCache
    from actviz.probing import Probe
    from actviz.saturation import Saturation

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


def usable_cores() -> int:
    """The cores this process may run on (its affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_jobs() -> int:
    """One worker per usable core (:func:`usable_cores`, the affinity mask).

    Forked, the workers draw while this process computes (:func:`_render_split`),
    or compute and draw what they share of its imports (:func:`_render_in_pool`);
    either way this process leaves them the cores. ``python bench/export.py
    --repeat 9`` on the 2-core machine, nothing else running: ``export --all
    --jobs 2`` took 0.68× the wall time of ``--jobs 1`` (medians 2.53 s and
    3.70 s) for 1.16× its CPU time. With both cores busy elsewhere (load 3-4,
    measured with the workers of :func:`_render_in_pool`) it was 1.11×: there is
    no spare core to gain, and ``--jobs 1`` is faster. (The earlier default, one
    core left to the parent, came from workers that each imported torch,
    measured beside a CI run.)
    """
    return usable_cores()


def render(job: Job) -> Rendered:
    """Probe, analyse and draw one activation; encode it in every format.

    Drawn under matplotlib's own defaults, not the user's matplotlibrc or style: the
    same inputs give the same bytes on every machine (and a check can trust that
    only the kernel route can make them differ).
    """
    computed = _compute(job)
    return _rendered(job, computed, _draw_figure(job, computed.figure))


@dataclass(frozen=True)
class Computed:
    """One job's numbers, computed with torch: what its figure draws (``figure``: the
    probes and their analyses, or GLU's probe) and what the manifest records of it.
    Plain data, so that it can travel to a drawing worker, which needs no torch for it
    (each probe carries its jumps and sampled kinks: :meth:`Probe.jumps`)."""

    slug: str
    label: str
    formula: str
    figure: tuple[Any, ...]  # ("curves", probes, saturations) or ("glu", GluProbe)
    summary: dict[str, Any] | None
    environment: dict[str, Any]
    code: str | None


def _rendered(job: Job, computed: Computed, files: dict[str, bytes]) -> Rendered:
    return Rendered(
        job, computed.slug, computed.label, computed.formula, files, computed.summary,
        environment=computed.environment, code=computed.code,
    )  # fmt: skip


def _draw_figure(job: Job, figure: tuple[Any, ...]) -> dict[str, bytes]:
    """The job's figure drawn from its computed numbers, encoded in each format."""
    from matplotlib import style

    with style.context("default"):
        if figure[0] == "glu":
            files = _draw_glu(job, figure[1])
        else:
            files = _draw(job, figure[1], figure[2])
    if _pixels(job) > _COLLECT_ABOVE:
        import gc

        gc.collect()
    return files


def _pixels(job: Job) -> float:
    """Pixels of the figure ``job`` draws, at the size asked for (a legend may add a little)."""
    from actviz.glu import ROW_SIZE
    from actviz.plotting import PANEL_SIZE

    if two_input(job.name) is not None:
        width, height = ROW_SIZE  # GLU's heatmaps keep their size
    else:
        width, height = job.figsize or (PANEL_SIZE[0] * 2, PANEL_SIZE[1])
    return width * height * job.dpi**2


def check_pixels(todo: Sequence[Job]) -> None:
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


def _compute(job: Job) -> Computed:
    """Probe and analyse the job's activation (a sweep: each value; GLU: its plane)."""
    from actviz.probing import probe_many
    from actviz.saturation import analyze

    pair = two_input(job.name)
    if pair is not None:
        return _compute_two_input(job, pair)
    if job.sweep:
        return _compute_sweep(job)
    target = spec(job.name, job.params)
    (probe,) = probe_many([target], job.grid)
    saturation = analyze(probe, eps=job.eps)
    return Computed(
        slug=target.slug,
        label=probe.title,
        formula=target.activation.formula,
        figure=_curves([probe], [saturation]),
        summary=saturation_summary(saturation),
        environment=_environment(),
        code=_code(job.name),
    )


def _curves(probes: Sequence[Probe], saturations: Sequence[Saturation]) -> tuple[Any, ...]:
    """What an activation figure draws, with what drawing it evaluates found here
    (where each curve jumps, and the kinks as sampled), so that it travels along."""
    for probe in probes:
        probe.sampled_kinks()
        for name in ("y", "grad", "grad2"):
            if getattr(probe, name) is not None:
                probe.jumps(name)
    return ("curves", list(probes), list(saturations))


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


def _compute_sweep(job: Job) -> Computed:
    """A sweep: every value's curve in one figure; the summary of each value."""
    from actviz.params import sweep
    from actviz.probing import probe_many
    from actviz.saturation import analyze

    found = sweep(job.name, dict(job.sweep), job.params)
    probes = probe_many(found.specs, job.grid)
    saturations = [analyze(p, eps=job.eps) for p in probes]
    summary = {
        "sweep": [
            {"label": p.label, **saturation_summary(s)}
            for p, s in zip(probes, saturations, strict=True)
        ]
    }
    formula = found.activation.formula
    return Computed(
        found.slug, found.label, formula, _curves(probes, saturations), summary,
        _environment(), _code(job.name),
    )  # fmt: skip


def _compute_two_input(job: Job, pair: TwoInputActivation) -> Computed:
    """GLU: its probe over the (a, b) plane (``job.grid`` is already the plane's axis)."""
    from actviz.glu import probe_glu

    formula = f"f(a, b) = {pair.formula}"
    figure = ("glu", probe_glu(job.grid))
    return Computed(pair.slug, pair.name, formula, figure, None, _environment(), _code(job.name))


def _draw_glu(job: Job, probe: Any) -> dict[str, bytes]:
    """GLU's heatmaps, encoded in each format."""
    from actviz.glu import glu_figure
    from actviz.plotting import figure_bytes

    figure = glu_figure(probe, theme=job.theme)
    return {fmt: figure_bytes(figure, fmt, dpi=job.dpi, theme=job.theme) for fmt in job.formats}


class WorkerDied(RuntimeFailure):
    """A worker process ended without handing back its result (an OOM kill, a segfault,
    ``os._exit`` in an activation of your own): the message names how and what it drew."""


# A spawned worker that finds itself re-running the caller's script (an export at the
# top level of a script without `if __name__ == "__main__":`) leaves with this code.
RERUN_EXIT = 86


def leave_if_rerun() -> None:
    """In a worker that is still starting (spawn re-runs the caller's main script),
    leave quietly, as multiprocessing's own check would with a traceback: the parent
    reads the exit code and says what to do in one line."""
    import multiprocessing

    # Set while a spawned process unpickles its start-up data (multiprocessing's own check).
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise SystemExit(RERUN_EXIT)


# The Figure that this process's activation figures are drawn into, one after
# another (plotting.FigureCache): set while render_all renders here, and in a worker.
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
def _settled(backward: bool = True, draw: bool = True) -> Iterator[None]:
    """:func:`_settle` for a while: what it froze is unfrozen at the end."""
    global _frozen
    import gc

    froze = _settle(backward=backward, draw=draw)
    try:
        yield
    finally:
        if froze:
            gc.unfreeze()
            _frozen = False


# Whether this process froze its objects in _settle (a forked worker inherits it).
# gc.get_freeze_count() walks every frozen object: in each worker of `export --all`,
# 400,000 of them, 30 ms.
_frozen = False


def _settle(
    threads: int | None = None,
    onednn: bool | None = None,
    *,
    backward: bool = True,
    compute: bool = True,
    draw: bool = True,
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
    ``compute``: torch, for probing; ``draw``: matplotlib, for drawing (a drawing
    worker of :func:`_render_split` imports no torch).
    ``threads`` and ``onednn`` (a worker's) are set before torch computes anything.
    ``backward=False`` (a process about to fork) leaves the first backward, and the
    imports it makes, to each child: on a machine with a GPU the first backward
    starts autograd's device threads, and the children of a process that has
    them cannot use autograd (torch's wiki, "Autograd and Fork").
    """
    global _frozen
    import gc

    enabled = gc.isenabled()
    gc.disable()
    try:
        if draw:
            import matplotlib.backends.backend_agg
            import matplotlib.figure
            import matplotlib.style  # noqa: F401  (render draws in its default style)

            import actviz.plotting  # noqa: F401
        if compute:
            _import_torch(threads, onednn, backward)
    finally:
        if enabled:
            gc.enable()
    if _frozen or gc.get_freeze_count():
        return False
    gc.freeze()
    _frozen = True
    return True


def _import_torch(threads: int | None, onednn: bool | None, backward: bool) -> None:
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


def render_all(todo: list[Job], workers: int) -> Generator[Rendered, None, None]:
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
    fork = can_fork()  # before this process imports torch (below, if it may fork)
    if fork and not any(_code(job.name) is not None for job in todo):
        yield from _render_split(todo, workers)
        return
    # Forked, the workers share what this process imported for them (_pool); its
    # first backward each makes for itself (see _settle).
    with _settled(backward=False) if fork else contextlib.nullcontext():
        yield from _render_in_pool(todo, workers, fork)


def _render_split(todo: list[Job], workers: int) -> Generator[Rendered, None, None]:
    """:func:`render_all` with the work split: ``workers`` drawing workers, forked
    before this process imports torch, import matplotlib (one after the other, on
    the core this process leaves idle) while this process imports torch; then
    this process computes each job (:func:`_compute`) and hands its numbers to them.

    Measured on the 2-core machine (``export --all``, 10 paired rounds against
    workers that each compute and draw, forked once this process has imported
    both, as :func:`_render_in_pool` does): 0.93× its wall time (medians 2.55 s
    and 2.74 s), since the import of matplotlib no longer waits on torch's.
    An activation of your own takes the other way: its module, imported to draw
    it, imports torch. Results, errors and deaths are reported as there.
    """
    with _running(todo, workers, fork=True, draw_only=True) as executor:
        # The workers are forked here, before torch is imported; holding the signals
        # until they have set up keeps a Ctrl-C from reaching one before it ignores it.
        with held_signals(), no_working_folder_in_children():
            executor.submit(os.getpid)
        # Drawing, in job order: (job, future, what was computed); delivered ones go.
        pending: collections.deque[tuple[Job, Any, Computed]] = collections.deque()
        failure: Exception | None = None

        def deliver() -> Rendered:
            job, drawing, computed = pending.popleft()
            return _rendered(job, computed, _result(drawing, executor))

        with _settled(draw=False):
            for index, job in enumerate(todo):
                # A few jobs ahead of the drawing, no more: a large grid's numbers
                # are held until drawn.
                while len(pending) >= _AHEAD * workers:
                    yield deliver()
                try:
                    computed = _compute(job)
                except Exception as error:  # raised in its turn, after the jobs before it
                    failure = error
                    break
                drawing = executor.submit(_draw_claimed, index, job, computed.figure)
                pending.append((job, drawing, computed))
                while pending and pending[0][1].done():  # as they are drawn
                    yield deliver()
        while pending:
            yield deliver()
        if failure is not None:
            raise failure


def _render_in_pool(todo: list[Job], workers: int, fork: bool) -> Generator[Rendered, None, None]:
    """:func:`render_all` in ``workers`` processes (forked, or else spawned)."""
    with _running(todo, workers, fork) as executor:
        # The workers start here; holding the signals until they have set up
        # keeps a Ctrl-C from reaching one before it ignores it (_worker_init).
        with held_signals(), no_working_folder_in_children():
            futures = [executor.submit(_render_claimed, i, job) for i, job in enumerate(todo)]
        for future in futures:
            yield _result(future, executor)


@contextlib.contextmanager
def _running(
    todo: list[Job], workers: int, fork: bool, draw_only: bool = False
) -> Iterator[ProcessPoolExecutor]:
    """The worker pool for ``todo`` (:func:`_pool`), stopped at the end; a worker's
    death while it is in use is raised as :class:`WorkerDied` (:func:`_death`)."""
    from concurrent.futures.process import BrokenProcessPool

    with no_working_folder_in_children():
        executor, claims = _pool(min(workers, len(todo)), len(todo), fork, draw_only)
    # pid → Process, read after a death; the pool keeps it up to date (private, so optional).
    processes = getattr(executor, "_processes", None)
    try:
        try:
            yield executor
        except BrokenProcessPool:
            _stop(executor)  # every worker has exited: their exit codes are known
            raise _death(dict(processes or {}), list(claims), todo) from None
    finally:
        # Every result is in, or none is wanted: stop the workers rather than ask them
        # to leave. One killed while idle may have died holding the queue's lock, and
        # the pool's polite shutdown would then wait on the others for ever (CPython
        # 3.11, when the kill and the shutdown come together). A signal lands once the
        # workers are gone, not halfway.
        with held_signals():
            _stop(executor)


def _stop(executor: ProcessPoolExecutor) -> None:
    """Terminate the workers, and shut the pool down once they are gone.

    A worker killed while it sent a result (an OOM kill, a Ctrl-C's SIGTERM) leaves
    half a message in the pipe, and the pool's reader thread waits for the rest for
    ever: the pipe stays open as long as this process holds its own end for writing
    (CPython 3.11's ProcessPoolExecutor). Once the workers are gone, closing that
    end ends the wait (the reader sees the pipe closed and calls the pool broken),
    so the shutdown can join the thread. The pool's queue is private: where it is
    not found, the shutdown is as before."""
    _terminate(executor)
    for process in _workers_of(executor):
        process.join(timeout=10)
    writer = getattr(getattr(executor, "_result_queue", None), "_writer", None)
    if writer is not None and all(p.exitcode is not None for p in _workers_of(executor)):
        with contextlib.suppress(OSError):
            writer.close()
    executor.shutdown(wait=True, cancel_futures=True)


def _workers_of(executor: ProcessPoolExecutor) -> list[Any]:
    """The pool's worker processes now (its private record: none where it is not found)."""
    return list((getattr(executor, "_processes", None) or {}).values())


def _result(future: Any, executor: ProcessPoolExecutor) -> Any:
    """``future.result()``, or :class:`BrokenProcessPool` when a worker has died and
    the pool cannot say so (killed while sending a result: see :func:`_stop`)."""
    from concurrent.futures import TimeoutError as Timeout
    from concurrent.futures.process import BrokenProcessPool

    while True:
        try:
            return future.result(timeout=_POLL)
        except Timeout:
            if any(process.exitcode is not None for process in _workers_of(executor)):
                try:  # a death the pool sees is reported at once
                    return future.result(timeout=_POLL)
                except Timeout:
                    raise BrokenProcessPool("a worker died while sending its result") from None


_POLL = 1.0  # seconds between looks at the workers while a result is awaited


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


_claims: Any = None  # in a worker: the pool's shared claims (render_all), set by _worker_init


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


# How many jobs per drawing worker the computing process may be ahead of the drawing.
_AHEAD = 3


def _draw_claimed(index: int, job: Job, figure: tuple[Any, ...]) -> dict[str, bytes]:
    """:func:`_draw_figure` in a drawing worker, with its pid in the claims meanwhile."""
    pid = os.getpid()
    if _claims is not None:
        _claims[index] = pid
    try:
        return _draw_figure(job, figure)
    finally:
        if _claims is not None:
            _claims[index] = -pid


def _terminate(executor: ProcessPoolExecutor) -> None:
    stop = getattr(executor, "terminate_workers", None)  # Python ≥ 3.14
    if stop is not None:
        stop()
        return
    for process in _workers_of(executor):
        with contextlib.suppress(OSError, ValueError):
            process.terminate()


@contextlib.contextmanager
def no_working_folder_in_children() -> Iterator[None]:
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


def can_fork(torch_imported: bool | None = None) -> bool:
    """Whether workers may be forked: where fork exists and torch was not imported
    before the work began (``torch_imported``: whether it was; None: whether it
    is now). The one rule for export's workers and the explorer's.

    Forking a process whose torch has run (a notebook: its OpenMP threads are
    up) can deadlock the child, so those workers are spawned. An export that
    may fork does so before it computes anything: its drawing workers before it
    imports torch (:func:`_render_split`), or, for an activation of your own,
    workers that compute too once it has imported torch and matplotlib for
    them, computing nothing with them (:func:`_settle` with
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

    if torch_imported is None:
        torch_imported = "torch" in sys.modules
    return "fork" in multiprocessing.get_all_start_methods() and not torch_imported


def _pool(
    workers: int, jobs: int, fork: bool, draw_only: bool = False
) -> tuple[ProcessPoolExecutor, Any]:
    """The worker pool, and its claims: a shared array of ``jobs`` pids (see :func:`_death`).
    ``draw_only``: workers that only draw (:func:`_render_split`), importing matplotlib
    one at a time, and no torch."""
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
    # One import at a time: they share the core that this process, importing torch
    # meanwhile, leaves free.
    importing = context.Lock() if draw_only else None
    executor = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_worker_init,
        initargs=(onednn, os.getpid(), claims, module_folder(), importing),
    )
    return executor, claims


def _worker_init(
    onednn: bool | None = None,
    parent: int | None = None,
    claims: Any = None,
    folder: str | None = None,
    importing: Any = None,
) -> None:
    """A worker's set-up; with ``importing`` (a lock, held while importing), a drawing
    worker's (:func:`_render_split`)."""
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
    if importing is not None:
        with importing:
            _settle(compute=False)
    else:
        # Workers split the machine between them; torch's own thread pool in each
        # would only fight over the same cores.
        _settle(threads=1, onednn=onednn)  # for the life of this worker
    from actviz.plotting import FigureCache

    _figures = FigureCache()  # for the life of this worker
