"""The check behind "the manifest describes the files on disk", for the tests that
break an export on purpose (signals, dead workers)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

IMAGES = (".png", ".svg", ".pdf")


def mismatches(out: Path) -> list[str]:
    """Each way ``OUT/manifest.json`` is not true to the files in ``out``, as a line:
    an entry whose file is missing or has another sha256, an image it does not list.
    Empty when it is true (or when there is no manifest: it describes nothing)."""
    path = out / "manifest.json"
    if not path.exists():
        return []
    files = json.loads(path.read_text())["files"]
    found = []
    for name, entry in sorted(files.items()):
        if not (out / name).is_file():
            found.append(f"{name}: listed, not on disk")
        elif hashlib.sha256((out / name).read_bytes()).hexdigest() != entry["sha256"]:
            found.append(f"{name}: sha256 differs from the manifest's")
    for image in sorted(p.name for p in out.iterdir() if p.suffix in IMAGES):
        if image not in files:
            found.append(f"{image}: on disk, not listed")
    return found


def leftovers(out: Path) -> list[str]:
    """Hidden files (a lock, a temporary file) left in ``out``."""
    return sorted(p.name for p in out.iterdir() if p.name.startswith("."))
