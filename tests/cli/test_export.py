"""``actviz export``: its refusals, each one line with its exit code and counted before
any rendering, and an export piped into ``head``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.helpers import ClickError, ErrorCase, case_ids, check_refused, run

pytestmark = pytest.mark.usefixtures("in_tmp")

ROOT = Path(__file__).resolve().parents[2]

ERRORS: list[ErrorCase] = [
    (
        ["export", "--all", "--points", "50000"],
        2,
        "Error: 24 activations × 50,000 points = 1,200,000 samples, above the cap of 1,000,000 "
        "for one command; use fewer points or fewer activations",
    ),
    (
        ["export", "h9acts:nan", "--jobs", "1", "--out", "exported"],
        1,
        "Error: export stopped (h9acts:nan is not finite on this range in float32: f(x) = nan at "
        "x = -8 (160 of 160 samples); an activation must return finite values with finite "
        "gradients); files written before it stopped: none",
    ),
]


@pytest.mark.parametrize(("args", "code", "expected"), ERRORS, ids=case_ids(ERRORS))
def test_one_error_line_and_exit_code(
    args: list[str], code: int, expected: str | ClickError
) -> None:
    check_refused(args, code, expected)


# --- export's whole cost, counted before a worker starts (issue 19) -------------


@pytest.mark.parametrize(
    ("points", "line"),
    [
        (  # refused by GLU's per-axis cap only after 4 s of rendering before
            "1001",
            "Error: 1,001 points per axis make a 1,001 × 1,001 plane, above the cap of 1,000 per "
            "axis for two-input activations; use fewer points or a larger step",
        ),
        (  # the README promised 43,478 points each: 24 × 43,478 is over the cap
            "43478",
            "Error: 24 activations × 43,478 points = 1,043,472 samples, above the cap of "
            "1,000,000 for one command; use fewer points or fewer activations",
        ),
    ],
)
def test_export_all_above_a_cap_is_refused_before_rendering(
    points: str, line: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from actviz import export as export_module

    def no_render(*_: object, **__: object) -> None:
        raise AssertionError("rendering started")

    monkeypatch.setattr(export_module, "render_all", no_render)
    result = run("export", "--all", "--points", points, "--out", str(tmp_path / "out"))
    assert (result.exit_code, result.stderr) == (2, line + "\n")
    assert not (tmp_path / "out").exists()


def test_export_piped_to_head_still_finishes(in_tmp: Path) -> None:
    command = f"{sys.executable} -m actviz export relu gelu --jobs 1 --out exported | head -1"
    env = {**os.environ, "MPLBACKEND": "Agg", "CI": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, shell=True, env=env, capture_output=True, text=True,
                          timeout=300, check=False)  # fmt: skip
    assert done.stdout.startswith("written")
    assert sorted(p.name for p in (in_tmp / "exported").iterdir()) == [
        "gelu.png", "index.html", "manifest.json", "relu.png",
    ]  # fmt: skip
