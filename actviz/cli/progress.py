"""Export's progress: a rich bar in a terminal, one plain line per file elsewhere."""

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import typer


@contextlib.contextmanager
def file_progress(
    check: bool,
) -> Iterator[tuple[Callable[[int], None], Callable[[Path, str], None]]]:
    """A rich progress bar in a terminal; one plain line per file in CI and pipes.

    Yields export's ``on_total`` (the bar's length) and ``on_file`` callbacks.
    """
    if not sys.stdout.isatty() or os.environ.get("CI"):
        reader_gone = False

        def line(path: Path, status: str) -> None:
            # `actviz export | head`: once the reader has gone, finish the export
            # quietly (manifest and gallery included) rather than stop half-way.
            nonlocal reader_gone
            if reader_gone:
                return
            try:
                typer.echo(f"{status:<9} {path}")
            except BrokenPipeError:
                reader_gone = True
                sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives until exit

        yield (lambda total: None), line
        return
    from rich.progress import Progress

    with Progress(transient=True) as progress:
        task = progress.add_task("checking" if check else "exporting", total=None)

        def total(files: int) -> None:
            progress.update(task, total=files)

        def advance(path: Path, status: str) -> None:
            progress.console.print(f"{status:<9} {path}", markup=False)  # "[" in a path
            progress.advance(task)

        yield total, advance
