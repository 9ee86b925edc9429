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
from actviz.errors import OutputError, RuntimeFailure, UsageError
from actviz.probe import Grid
from actviz.registry import Spec, spec

if TYPE_CHECKING:
    from concurrent.futures import Executor

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
    summary: dict[str, Any]


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
        summary=_summary(saturation.as_dict()),
    )


def _summary(full: dict[str, Any]) -> dict[str, Any]:
    """The saturation numbers worth keeping per file (manifest and gallery)."""
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
    }


def export(
    specs: Sequence[Spec],
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
    """
    from actviz.plotting import THEMES

    started = time.perf_counter()
    workers = default_jobs() if jobs is None else jobs
    if workers < 1:
        raise UsageError(f"--jobs must be at least 1 (got {workers})")
    if not specs:
        raise UsageError("nothing to export: name activations or use --all")
    if theme not in THEMES:  # fail here, not in a worker
        raise UsageError(f"unknown theme {theme!r}; choose one of {', '.join(THEMES)}")
    chosen = parse_formats(formats)
    out = Path(out_dir)
    if not check:
        _check_writable(out)
    todo = [
        Job(s.name, dict(s.params), chosen, dpi, theme, grid or Grid(), eps)
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


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


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
        s = result.summary
        left, right = s["grad_underflow"].get("float32", [None, None])
        facts = [
            ("peak |f′|", f"{_number(s['peak_grad'])} at x = {_number(s['peak_at'])}"),
            ("f(0), f′(0)", f"{_number(s['f0'])}, {_number(s['grad0'])}"),
            ("dead", f"{100 * s['fractions']['dead']:.1f}%"),
            ("saturated", f"{100 * s['fractions']['saturated']:.1f}%"),
            ("float32 f′ = 0 beyond |x|", f"{_number(left)} / {_number(right)}"),
        ]
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

    theme = rendered[0].job.theme if rendered else "light"
    page = _PAGE.format(count=len(rendered), cards="\n".join(cards), theme=theme,
                        css=_CSS[theme], shading=regime_colour_names(theme))  # fmt: skip
    return page.encode()


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
main {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(34rem, 1fr)); gap: 1.5rem; }}
figure {{ margin: 0; background: {css[card]}; border: 1px solid {css[border]};
  border-radius: 8px; padding: 1rem; }}
img {{ width: 100%; height: auto; }}
h2 {{ margin: 0.5rem 0 0.25rem; font-size: 1.1rem; }}
dl {{ display: grid; grid-template-columns: max-content 1fr; gap: 0.1rem 1rem; font-size: 0.9rem; }}
dt {{ color: {css[muted]}; }}
dd {{ margin: 0; font-variant-numeric: tabular-nums; }}
</style>
</head>
<body>
<h1>actviz: {count} activations</h1>
<p>Value and gradient (from <code>backward(ones_like(y))</code>) of each activation, with
{shading} stretches shaded.</p>
<main>
{cards}
</main>
</body>
</html>
"""
