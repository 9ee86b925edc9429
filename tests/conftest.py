"""Shared fixtures."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from actviz.custom import load

# tests/test_routes.py reruns checks with oneDNN off, which torch has no variable for:
# every process of the run (xdist's workers too) imports this file and turns it off.
if os.environ.get("ACTVIZ_TEST_NO_ONEDNN"):
    import torch

    torch.backends.mkldnn.enabled = False  # type: ignore[assignment]  # the documented switch

UserModules = Callable[..., Path]


@pytest.fixture()
def user_modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[UserModules]:
    """Write modules of a user's own activations into a fresh working folder:
    ``user_modules(myacts=SOURCE, ...)``. The folder goes on sys.path, as a
    notebook's own folder is (the ``actviz`` command searches it last instead:
    tests/test_working_folder.py); the modules and the custom-activation cache
    are forgotten afterwards, so each test imports afresh."""
    names: list[str] = []

    def write(**sources: str) -> Path:
        for name, source in sources.items():
            (tmp_path / f"{name}.py").write_text(source)
            names.append(name)
        return tmp_path

    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    load.cache_clear()
    yield write
    for name in names:
        sys.modules.pop(name, None)
    load.cache_clear()
