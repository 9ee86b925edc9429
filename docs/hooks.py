"""MkDocs hook (mkdocs.yml): the pages show the repository's own figures.

A page links an image as ``/outputs/NAME.png``: from the repository's root, so
that GitHub shows it too, and relative to docs/ for MkDocs
(``validation.absolute_links: relative_to_docs``). The figures stay where
``make demo`` writes them; this adds them to the site, so a link to a figure
that is not there fails ``mkdocs build --strict``.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ("*.png", "*.svg")


def on_files(files: Files, config: MkDocsConfig) -> Files:
    for pattern in FIGURES:
        for path in sorted((ROOT / "outputs").glob(pattern)):
            files.append(
                File(
                    path.relative_to(ROOT).as_posix(),
                    src_dir=str(ROOT),
                    dest_dir=config.site_dir,
                    use_directory_urls=config.use_directory_urls,
                )
            )
    return files
