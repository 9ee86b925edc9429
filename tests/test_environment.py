"""The kernel route: recorded on every route-dependent result, and the variables
actviz can fix (threads, --second, the grid) fixed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from actviz import probe
from actviz.cli import app
from actviz.environment import EVALUATION_THREADS, environment, one_thread
from actviz.probing import Grid

runner = CliRunner()


def invoke(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


# --- what is recorded --------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:TF32 acceleration")
def test_environment_is_torch_s_own_account() -> None:
    found = environment()
    assert found.torch == torch.__version__
    assert found.cpu_capability == torch.backends.cpu.get_cpu_capability()
    available = torch.backends.mkldnn.is_available()  # type: ignore[no-untyped-call]
    assert found.onednn == (available and torch.backends.mkldnn.enabled)
    assert found.threads == EVALUATION_THREADS == 1
    assert found.device == "cpu"
    with torch.backends.mkldnn.flags(enabled=False):
        off = environment()
    assert not found.onednn or (off.onednn is False and off.onednn_bfloat16 is False)


def test_env_command_prints_and_emits_json() -> None:
    text = invoke("env").stdout
    assert f"ATen CPU capability  {torch.backends.cpu.get_cpu_capability()}" in text
    assert "intra-op threads     1" in text
    assert json.loads(invoke("env", "--json").stdout) == environment().as_dict()


@pytest.mark.slow
def test_env_names_the_variables_that_chose_the_route(tmp_path: Path) -> None:
    variables = {**os.environ, "ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "AVX2"}
    done = subprocess.run(
        [sys.executable, "-m", "actviz", "env", "--json"],
        env=variables, cwd=tmp_path, capture_output=True, text=True, check=True,
    )  # fmt: skip
    found = json.loads(done.stdout)
    assert found["cpu_capability"] == "DEFAULT" and found["onednn_bfloat16"] is False
    assert found["variables"] == {"ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "AVX2"}


def test_json_outputs_carry_the_environment() -> None:
    here = environment().as_dict()
    (row,) = json.loads(invoke("saturation", "gelu", "--json").stdout)
    assert row["saturation"]["environment"] == here
    table = json.loads(invoke("table", "gelu", "--points", "5", "--json").stdout)
    assert table["saturation"]["environment"] == here


def test_a_footer_names_the_environment_where_a_dagger_is_printed() -> None:
    line = environment().line()
    gelu = invoke("table", "gelu", "--points", "5").stdout
    sigmoid = invoke("table", "sigmoid", "--points", "5").stdout
    marked = "†" in gelu.split("underflows")[-1]
    assert ("measured here:" in gelu) == marked  # gelu's single element differs on CPU
    if marked:
        assert " ".join(line.split()) in " ".join(gelu.split())
    assert "†" not in sigmoid and "measured here" not in sigmoid
    survey = invoke("saturation", "gelu", "sigmoid").stdout
    assert ("measured here:" in survey) == ("†" in survey.split("onset:")[0])


# --- what is fixed -----------------------------------------------------------------


def _nonzero_with(threads: int, *, pinned: bool) -> int:
    """Non-zero f′ of mish at 100,017 samples beyond its float32 edge, with ``threads``."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        if pinned:
            found = probe("mish", start=-103.9, stop=-102.9, points=100_017)
            assert torch.get_num_threads() == threads  # the caller's count is restored
            return int((found.grad != 0).sum())
        x = torch.from_numpy(Grid(-103.9, -102.9, points=100_017).values()).float()
        x.requires_grad_(True)
        torch.nn.functional.mish(x).backward(torch.ones_like(x))  # type: ignore[no-untyped-call]
        assert x.grad is not None
        return int((x.grad != 0).sum())
    finally:
        torch.set_num_threads(before)


@pytest.mark.slow
def test_a_probe_does_not_depend_on_the_thread_count() -> None:
    counts = {t: _nonzero_with(t, pinned=True) for t in (1, 2, 3, 4)}
    assert len(set(counts.values())) == 1, counts
    grads = set()
    for threads in (1, 3):
        torch.set_num_threads(threads)
        grads.add(probe("mish", start=-104, stop=-100, points=100_017).grad.tobytes())
    torch.set_num_threads(2)
    assert len(grads) == 1
    # Without the pin, torch's own split puts scalar-code elements mid-batch (where
    # the CPU has vector kernels for mish at all): this is what the pin prevents.
    if torch.backends.cpu.get_cpu_capability() != "DEFAULT":
        assert _nonzero_with(3, pinned=False) != _nonzero_with(1, pinned=False)


def test_one_thread_restores_the_caller_s_count_even_on_error() -> None:
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with pytest.raises(RuntimeError), one_thread():
            assert torch.get_num_threads() == 1
            raise RuntimeError
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_f_prime_is_the_same_with_or_without_f_second() -> None:
    for name, dtype in (("mish", "float64"), ("gelu", "float32"), ("silu", "float64")):
        plain = probe(name, start=-10, stop=10, points=1601, dtype=dtype)
        both = probe(name, start=-10, stop=10, points=1601, dtype=dtype, second=True)
        np.testing.assert_array_equal(plain.grad, both.grad)
    # what it used to be: the graph-building backward differs at mish's 8.0625 here
    x = torch.tensor([8.0625], dtype=torch.float64, requires_grad=True)
    y = torch.nn.functional.mish(x)
    graph = torch.autograd.grad(y, x, torch.ones_like(y), create_graph=True)[0].detach()
    at = probe("mish", start=8.0625, stop=9.0625, points=2, dtype="float64", second=True)
    x2 = torch.tensor([8.0625, 9.0625], dtype=torch.float64, requires_grad=True)
    torch.nn.functional.mish(x2).backward(torch.ones_like(x2))  # type: ignore[no-untyped-call]
    assert x2.grad is not None and at.grad[0] == float(x2.grad[0])
    if float(graph) != float(x2.grad[0]):  # the difference the fix is for, where torch has it
        assert at.grad[0] != float(graph)


# --- the grid ---------------------------------------------------------------------


grids = st.builds(
    lambda start, width, n, by_step: (start, start + width, n, by_step),
    st.floats(-200, 200, allow_nan=False).map(lambda v: round(v, 3)),
    st.sampled_from([0.001, 0.3, 1.1, 2.0, 7.3, 16.0, 200.0]),
    st.integers(2, 5000),
    st.booleans(),
)


def _grid(spec: tuple[float, float, int, bool]) -> Grid:
    start, stop, n, by_step = spec
    return Grid(start, stop, step=(stop - start) / n) if by_step else Grid(start, stop, points=n)


@pytest.mark.route
@settings(max_examples=200, deadline=None)
@given(spec=grids, dtype=st.sampled_from(["float16", "bfloat16", "float32", "float64"]))
def test_the_grid_is_python_arithmetic_within_a_step_of_torch_s(
    spec: tuple[float, float, int, bool], dtype: str
) -> None:
    start, stop, n, by_step = spec
    grid = _grid(spec)
    torch_type = getattr(torch, dtype)
    try:
        x = grid.tensor(torch_type, "cpu").double().numpy()
    except Exception:  # a grid this dtype cannot hold is refused elsewhere
        return
    count = len(x)
    if by_step:
        step = (stop - start) / n
        written = [start + i * step for i in range(count)]
        own = torch.arange(start, stop, step, dtype=torch_type)
    else:
        step = (stop - start) / (n - 1)
        half = n // 2
        written = [start + i * step if i < half else stop - (n - 1 - i) * step for i in range(n)]
        own = torch.linspace(start, stop, n, dtype=torch_type)
    rounded = torch.tensor(written, dtype=torch.float64).to(torch_type).double().numpy()
    np.testing.assert_array_equal(x, rounded)
    assert len(own) == count
    scale = max(abs(start), abs(stop)) * torch.finfo(torch_type).eps
    assert np.abs(own.double().numpy() - x).max() <= 2 * scale


@pytest.mark.slow
def test_the_grid_is_the_same_on_another_route(tmp_path: Path) -> None:
    specs = [(-8.0, 8.0, 160, True), (-1.37, 5.93, 100, True), (-6.5, 9.5, 161, False),
             (-100.0, 100.0, 10, False), (0.5, 0.75, 50, False)]  # fmt: skip
    here = {
        str(s): [_grid(s).tensor(getattr(torch, d), "cpu").double().tolist() for d in DTYPES]
        for s in specs
    }
    script = (
        "import json, sys, torch; from tests.test_environment import DTYPES, _grid\n"
        f"specs = {specs!r}\n"
        "print(json.dumps({str(s): [_grid(s).tensor(getattr(torch, d), 'cpu').double().tolist()"
        " for d in DTYPES] for s in specs}))"
    )
    root = Path(__file__).resolve().parent.parent
    variables = {**os.environ, "ATEN_CPU_CAPABILITY": "default"}
    done = subprocess.run([sys.executable, "-c", script], cwd=root, env=variables,
                          capture_output=True, text=True, check=True)  # fmt: skip
    assert json.loads(done.stdout) == here
    # torch's own arange does differ between those routes (a fused multiply-add)
    assert torch.arange(-8.0, 8.0, 0.1).numpy()[80] in (0.0, np.float32(4.440892098500626e-16))


DTYPES = ("float16", "bfloat16", "float32", "float64")
