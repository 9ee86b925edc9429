"""Batch export: every activation to image files, reproducibly and in parallel.

One figure per activation (value and gradient panels with the saturation
shading) in each requested format, plus ``manifest.json`` (what each file is,
its sha256 and saturation summary, the library versions) and ``index.html``
(a self-contained gallery). Same inputs give the same bytes, so committed
images diff cleanly and ``check=True`` can tell a CI job whether they are
stale.

Rendering happens in worker processes; only the parent writes files, each
atomically, so an interrupted export never leaves a partial file.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from actviz.atomic import write_bytes_atomically
from actviz.display import MISSING, definition_words, number, percent
from actviz.errors import OutputError, RuntimeFailure, UsageError
from actviz.probe import Grid
from actviz.registry import Spec, TwoInputActivation, spec, two_input

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from actviz.saturation import Saturation

MANIFEST = "manifest.json"
INDEX = "index.html"

# Called once per file: (path, status) with status "written", "unchanged",
# "missing" or "stale" (the last two only when checking).
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


@dataclass(frozen=True)
class Rendered:
    """A worker's result: encoded files by format, and the numbers for manifest and gallery."""

    job: Job
    slug: str
    label: str
    formula: str
    files: dict[str, bytes]
    summary: dict[str, Any] | None  # None: a two-input activation (GLU) has no f′(x) to analyse


@dataclass
class Report:
    """What an export (or check) did, file by file."""

    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    missing: list[Path] = field(default_factory=list)
    stale: list[Path] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def current(self) -> bool:
        return not (self.missing or self.stale)


def default_jobs() -> int:
    """One worker per core this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def parse_formats(text: str | Sequence[str]) -> tuple[str, ...]:
    """``"png,svg"`` → ``("png", "svg")``, each checked, duplicates dropped."""
    from actviz.plotting import check_format

    items = text.split(",") if isinstance(text, str) else list(text)
    formats = tuple(dict.fromkeys(check_format(f.strip()) for f in items if f.strip()))
    if not formats:
        raise UsageError("give at least one format, e.g. --format png,svg")
    return formats


def render(job: Job) -> Rendered:
    """Probe, analyse and draw one activation; encode it in every format (worker side)."""
    from actviz.plotting import activation_figure, figure_bytes
    from actviz.probe import probe_many
    from actviz.saturation import analyze

    pair = two_input(job.name)
    if pair is not None:
        return _render_two_input(job, pair)
    target = spec(job.name, job.params)
    (probe,) = probe_many([target], job.grid)
    saturation = analyze(probe, eps=job.eps)
    drawn = activation_figure([probe], saturations=[saturation], theme=job.theme)
    files = {
        fmt: figure_bytes(drawn.figure, fmt, dpi=job.dpi, theme=job.theme) for fmt in job.formats
    }
    return Rendered(
        job=job,
        slug=target.slug,
        label=probe.title,
        formula=target.activation.formula,
        files=files,
        summary=_summary(saturation),
    )


def _render_two_input(job: Job, pair: TwoInputActivation) -> Rendered:
    """GLU: its heatmaps over the (a, b) plane (``job.grid`` is already the plane's axis)."""
    from actviz.glu import glu_figure, probe_glu
    from actviz.plotting import figure_bytes

    figure = glu_figure(probe_glu(job.grid), theme=job.theme)
    files = {fmt: figure_bytes(figure, fmt, dpi=job.dpi, theme=job.theme) for fmt in job.formats}
    return Rendered(job, pair.slug, pair.name, f"f(a, b) = {pair.formula}", files, None)


def _summary(saturation: Saturation) -> dict[str, Any]:
    """The saturation numbers worth keeping per file (manifest and gallery)."""
    from actviz.display import peak_words

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
    }


def export(
    specs: Sequence[Spec | TwoInputActivation],
    out_dir: str | Path = "outputs",
    *,
    formats: Sequence[str] = ("png",),
    dpi: int = 150,
    theme: str = "light",
    grid: Grid | None = None,
    eps: float = 0.01,
    jobs: int | None = None,
    check: bool = False,
    on_file: OnFile | None = None,
) -> Report:
    """Render ``specs`` into ``out_dir`` (or, with ``check``, compare with what is there).

    Files already identical are left untouched ("unchanged"). With ``check``
    nothing is written; the report lists missing and stale files instead.
    A two-input activation (``registry.targets_from_cli``) exports its heatmaps.
    """
    from actviz.plotting import THEMES, check_dpi

    started = time.perf_counter()
    workers = default_jobs() if jobs is None else jobs
    if workers < 1:
        raise UsageError(f"--jobs must be at least 1 (got {workers})")
    if not specs:
        raise UsageError("nothing to export: name activations or use --all")
    if theme not in THEMES:  # fail here, not in a worker
        raise UsageError(f"unknown theme {theme!r}; choose one of {', '.join(THEMES)}")
    check_dpi(dpi)
    # One probe per worker at a time, but a batch at the cap on every
    # activation would take minutes: the whole export shares one sample budget.
    (grid or Grid()).check_total(len(specs))
    chosen = parse_formats(formats)
    out = Path(out_dir)
    if not check:
        _check_writable(out)
    todo = [
        Job(s.name, dict(s.params), chosen, dpi, theme, _grid_for(s, grid), eps)
        for s in sorted(specs, key=lambda s: s.slug)
    ]
    report = Report()
    emit = on_file or (lambda path, status: None)
    rendered: list[Rendered] = []
    try:
        for result in _render_all(todo, workers):
            rendered.append(result)
            for fmt, data in result.files.items():
                _deliver(out / f"{result.slug}.{fmt}", data, check, report, emit)
    except KeyboardInterrupt:
        raise RuntimeFailure(_stopped("interrupted", report)) from None
    except RuntimeFailure as error:
        raise RuntimeFailure(_stopped(str(error), report)) from error
    _deliver(out / MANIFEST, manifest(rendered), check, report, emit)
    _deliver(out / INDEX, gallery(rendered), check, report, emit)
    report.seconds = time.perf_counter() - started
    return report


def _grid_for(target: Spec | TwoInputActivation, grid: Grid | None) -> Grid:
    """The grid as given; for GLU, the axis of its (a, b) plane, so that the
    manifest records the points actually drawn."""
    if isinstance(target, TwoInputActivation):
        from actviz.glu import plane

        return plane(grid)
    return grid or Grid()


def _check_writable(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(
            f"cannot create {out}: {error.strerror or error}; choose a writable folder with --out"
        ) from error
    if not os.access(out, os.W_OK):
        raise OutputError(
            f"cannot write to {out}: permission denied; choose a writable folder with --out"
        )


def _stopped(reason: str, report: Report) -> str:
    written = ", ".join(p.name for p in report.written) or "none"
    return f"export stopped ({reason}); files written before it stopped: {written}"


def _deliver(path: Path, data: bytes, check: bool, report: Report, emit: OnFile) -> None:
    """Write ``data`` to ``path`` unless it is already there (or, checking, compare)."""
    try:
        existing = path.read_bytes() if path.is_file() else None
    except OSError:
        existing = None
    if existing == data:
        report.unchanged.append(path)
        emit(path, "unchanged")
    elif check:
        (report.stale if existing is not None else report.missing).append(path)
        emit(path, "stale" if existing is not None else "missing")
    else:
        write_bytes_atomically(path, data)
        report.written.append(path)
        emit(path, "written")


def _render_all(todo: list[Job], workers: int) -> Any:
    """Yield :class:`Rendered` in job order, in this process or in ``workers`` processes."""
    if workers == 1 or len(todo) == 1:
        yield from map(render, todo)
        return
    executor = _pool(min(workers, len(todo)))
    try:
        yield from executor.map(render, todo)
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def _pool(workers: int) -> Executor:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # Fork before torch is imported here: the workers import it side by side,
    # and this process, which only writes files, never pays for it (nor for
    # torch's slow interpreter teardown at exit).
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_worker_init)


def _worker_init() -> None:
    import matplotlib.figure  # noqa: F401
    import torch

    # Workers split the machine between them; torch's own thread pool in each
    # would only fight over the same cores.
    torch.set_num_threads(1)


def versions() -> dict[str, str]:
    """Installed versions, read from package metadata so that nothing is imported."""
    from importlib.metadata import version

    from actviz import __version__

    return {"actviz": __version__, "matplotlib": version("matplotlib"), "torch": version("torch")}


def manifest(rendered: Sequence[Rendered]) -> bytes:
    """``manifest.json``: every file with what it shows and its sha256; sorted keys."""
    files: dict[str, Any] = {}
    for result in rendered:
        job = result.job
        for fmt, data in result.files.items():
            files[f"{result.slug}.{fmt}"] = {
                "activation": job.name,
                "params": job.params,
                # floats, so that a library call and the CLI write the same bytes
                "range": [float(job.grid.start), float(job.grid.stop)],
                "points": job.grid.points,
                "step": None if job.grid.step is None else float(job.grid.step),
                "dtype": "float32",
                "format": fmt,
                "dpi": job.dpi,
                "theme": job.theme,
                "eps": job.eps,
                "sha256": hashlib.sha256(data).hexdigest(),
                "saturation": result.summary,
            }
    document = {"versions": versions(), "files": files}
    return (json.dumps(document, sort_keys=True, indent=2) + "\n").encode()


def gallery(rendered: Sequence[Rendered]) -> bytes:
    """``index.html``: one card per activation, self-contained, relative image paths."""
    cards = []
    for result in rendered:
        image_format = next((f for f in ("png", "svg") if f in result.files), None)
        name = f"{result.slug}.{image_format or next(iter(result.files))}"
        picture = (
            f'<img src="{html.escape(name)}" alt="{html.escape(result.label)}: value and gradient">'
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
    page = _PAGE.format(count=len(rendered), cards="\n".join(cards))
    return page.encode()


def _facts(result: Rendered) -> list[tuple[str, str]]:
    """The numbers under a gallery card; for GLU, its partials and inputs instead."""
    s = result.summary
    if s is None:
        pair = two_input(result.job.name)
        assert pair is not None
        return [
            ("partials", pair.derivative_formula),
            ("inputs", "a (passed through), b (gate); no saturation summary for two inputs"),
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
    by_definition = definition_words(side(0, "definition"), side(1, "definition"))
    if by_definition != MISSING:
        facts.append(("f′ = 0 by definition", by_definition))
    left, right = side(0, "underflow"), side(1, "underflow")
    facts.append(("float32 rounds f′ to 0 beyond |x|", f"{number(left)} / {number(right)}"))
    return facts


_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>actviz: {count} activations</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; background: #fafafa; color: #222; }}
main {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(34rem, 1fr)); gap: 1.5rem; }}
figure {{ margin: 0; background: #fff; border: 1px solid #ddd; border-radius: 8px; padding: 1rem; }}
img {{ width: 100%; height: auto; }}
h2 {{ margin: 0.5rem 0 0.25rem; font-size: 1.1rem; }}
dl {{ display: grid; grid-template-columns: max-content 1fr; gap: 0.1rem 1rem; font-size: 0.9rem; }}
dt {{ color: #666; }}
dd {{ margin: 0; font-variant-numeric: tabular-nums; }}
</style>
</head>
<body>
<h1>actviz: {count} activations</h1>
<p>Value and gradient (from <code>backward(ones_like(y))</code>) of each activation, with
dead (grey), saturated (amber) and linear (light blue) stretches shaded.</p>
<main>
{cards}
</main>
</body>
</html>
"""
