"""The suite's route-dependent checks, rerun under other kernel routes.

Which bits torch returns depends on the CPU route (ATen's capability, oneDNN and
its bfloat16), so every README number and underflow edge must hold on any of
them. This reruns what carries the ``route`` mark (the README blocks that print
measured numbers, the underflow brute force, the grid) in subprocesses under
each route this machine can take: another CPU is simulated by capping its ISA.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ROUTES = {
    "onednn-avx2": {"ONEDNN_MAX_CPU_ISA": "AVX2"},
    "aten-default": {"ATEN_CPU_CAPABILITY": "default"},
    "aten-avx2": {"ATEN_CPU_CAPABILITY": "avx2"},
    "no-onednn": {"ACTVIZ_TEST_NO_ONEDNN": "1"},  # tests/conftest.py turns oneDNN off
}


def _start(name: str, tmp_path: Path) -> subprocess.Popen[str]:
    variables = {**os.environ, **ROUTES[name], "MPLBACKEND": "Agg"}
    variables.pop("PYTEST_XDIST_WORKER", None)
    args = ["-q", "-m", "route and not main_route", "-p", "no:cacheprovider", "-p", "no:xdist",
            "--basetemp", str(tmp_path / name), "tests"]  # fmt: skip
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", *args], cwd=ROOT, env=variables,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("name", list(ROUTES))
def test_route_dependent_checks_pass_on_another_route(name: str, tmp_path: Path) -> None:
    done = _start(name, tmp_path)
    output, _ = done.communicate(timeout=400)
    assert done.returncode == 0, f"under {name}:\n{output[-4000:]}"
    assert " passed" in output.splitlines()[-1]
