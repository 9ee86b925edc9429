"""Notebook display: the result objects' _repr_*_ methods, and examples/tour.ipynb run on a
real Jupyter kernel (nbclient + ipykernel) with its outputs checked, so the tour cannot rot."""

from __future__ import annotations

import base64
import html
import os
import re
import shutil
import struct
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import actviz
from actviz import graph
from actviz.defaults import NOTEBOOK_DPI
from actviz.jacobian import jacobian
from actviz.plotting import UNDERFLOW_DTYPE, activation_figure, figure_bytes

ROOT = Path(actviz.__file__).resolve().parent.parent
TOUR = ROOT / "examples" / "tour.ipynb"
NEURON = ("sigmoid(w*x + b)", {"w": [5.0], "b": [1.0], "x": [0.1]})


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _table(markup: str) -> list[list[str]]:
    """The text of every row's cells (th and td), unescaped."""
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", markup)
    return [[html.unescape(c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r)] for r in rows]


# --- the reprs, in-process ----------------------------------------------------


def test_probe_shows_its_plot_figure_as_png() -> None:
    p = actviz.probe("tanh", start=-4, stop=4, points=81)
    data = p._repr_png_()
    # The figure `actviz plot` draws (regimes shaded, peak marked), at the notebook's dpi.
    saturation = actviz.analyze(p, dtypes=(UNDERFLOW_DTYPE,))
    expected = figure_bytes(activation_figure([p], saturations=[saturation]), "png", dpi=100)
    assert data == expected
    width, height = _png_size(data)
    assert NOTEBOOK_DPI == 100 and width == 960  # two 4.8-inch panels
    assert 300 < height < 480
    second = actviz.probe("tanh", start=-4, stop=4, points=81, second=True)._repr_png_()
    assert _png_size(second)[0] == 1440  # the f″ panel comes too
    assert repr(p).startswith("Probe(name='tanh',") and len(repr(p)) < 200


def test_saturation_shows_a_compact_escaped_table() -> None:
    p = actviz.probe("sigmoid", start=-100, stop=100, points=10)
    s = actviz.analyze(p)
    markup = s._repr_html_()
    assert markup.startswith("<table><caption>saturation of a float32 probe, eps 0.01</caption>")
    rows = dict(_table(markup))
    assert rows["f(0), f′(0)"] == "0.5, 0.25"
    assert rows["output range"] == "[0, 1]"
    assert rows["peak |f′|"] == "1.494e-5 at x = -11.11"
    # the interval between -11.1 and 11.1 holds σ′(0) = 0.25: active, not saturated
    assert rows["share of the range"] == "dead 44.4%, saturated 44.4%, linear 0.0%, active 11.1%"
    assert rows["float32 rounds f′ to 0 beyond |x| (left / right)"] == "88.72 / 16.64"
    assert "saturation onset, eps 0.01" in rows
    assert list(rows.items()) == s.summary_rows()
    # Escaped: the "<" of "|f′| < 0.01 × that" would otherwise open a tag.
    assert "saturated means |f′| &lt; 0.01" in markup and "|f′| < 0.01" not in markup
    assert len(repr(s)) < 300


def test_jacobian_shows_its_matrix() -> None:
    report = jacobian("softmax")
    markup = report._repr_html_()
    rows = _table(markup)
    assert rows[0] == ["i \\ j", "0", "1", "2", "f(a)_i"]
    assert rows[1][1:4] == ["0.8865", "0.873", "0.6643"]  # a, the seed lesson's input
    shown = np.array([[float(v) for v in row[1:4]] for row in rows[2:]])
    np.testing.assert_allclose(shown, report.jacobian, atol=5e-5)
    assert [float(row[4]) for row in rows[2:]] == pytest.approx(report.output, abs=5e-5)
    assert "J = diag(s) − s sᵀ" in markup and "max |row sum| = 4.2e-17" in markup
    assert repr(report) == (
        "JacobianReport(function='softmax', n=3, identity_deviation=2.8e-17, "
        "row_sum_deviation=4.2e-17)"
    )


def test_graph_is_svg_with_graphviz_and_an_html_tree_without(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    g = graph.run(*NEURON, const=["x"])
    assert repr(g) == "Graph(expression='sigmoid(w*x + b)', value=0.8176, nodes=6, saturated=0)"
    tree = graph.html_tree(g)
    assert tree.startswith('<div class="actviz-graph"><b>sigmoid(w*x + b)</b> = 0.8176<ul>')
    for line in ("<b>w</b> value 5, grad 0.01491", "<b>x</b> value 0.1</li>", "grad 0.1491"):
        assert line in tree
    assert tree.count("<li>") == 6
    if shutil.which("dot"):
        svg = g._repr_svg_()
        assert svg is not None and "<svg" in svg and "grad 0.01491" in svg
        assert g._repr_html_() is None  # a front end would show the HTML instead of the SVG
    monkeypatch.setattr(shutil, "which", lambda _: None)
    assert g._repr_svg_() is None
    assert g._repr_html_() == tree


def test_graph_tree_escapes_the_expression() -> None:
    g = graph.run("relu(a) + -a", {"a": [-2.0]})
    tree = graph.html_tree(g)
    assert "<b>relu(a) + -a</b> = 2" in tree
    g.expression = "a < b & c"
    assert "<b>a &lt; b &amp; c</b>" in graph.html_tree(g)


# --- the tour on a real kernel ------------------------------------------------


def _outputs(cell: Any) -> tuple[str, dict[str, Any]]:
    """A code cell's printed text and its rich output's data (mime type → content)."""
    text = "".join(o["text"] for o in cell.outputs if o["output_type"] == "stream")
    errors = [o for o in cell.outputs if o["output_type"] == "error"]
    assert not errors, errors
    results = [o for o in cell.outputs if o["output_type"] in ("execute_result", "display_data")]
    return text, (results[-1]["data"] if results else {})


def _execute(notebook: Any, folder: Path, kernel_name: str = "python3") -> None:
    """Run every cell on a fresh kernel; skip (saying why) only if the kernel cannot start."""
    nbclient = pytest.importorskip("nbclient", reason="the test extra (nbclient) is not installed")
    from jupyter_client.kernelspec import NoSuchKernel
    from nbclient.exceptions import DeadKernelError

    # The kernel imports this tree's actviz (not whatever the venv points at), draws with Agg.
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    client = nbclient.NotebookClient(
        notebook, kernel_name=kernel_name, timeout=60, startup_timeout=60,
        resources={"metadata": {"path": str(folder)}},
    )  # fmt: skip
    with ExitStack() as stack:
        try:
            stack.enter_context(client.setup_kernel(env=env))
        except (NoSuchKernel, DeadKernelError, RuntimeError) as problem:  # RuntimeError: no reply
            pytest.skip(f"the Jupyter kernel {kernel_name!r} could not start: {problem}")
        for index, cell in enumerate(notebook.cells):
            client.execute_cell(cell, index)


def test_a_kernel_that_cannot_start_skips_with_the_reason(tmp_path: Path) -> None:
    nbformat = pytest.importorskip("nbformat", reason="the test extra (nbformat) is not installed")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
    with pytest.raises(pytest.skip.Exception, match="kernel 'no-such-kernel' could not start"):
        _execute(notebook, tmp_path, kernel_name="no-such-kernel")


@pytest.fixture(scope="module")
def tour(tmp_path_factory: pytest.TempPathFactory) -> list[Any]:
    nbformat = pytest.importorskip("nbformat", reason="the test extra (nbformat) is not installed")
    pytest.importorskip("ipykernel", reason="the test extra (ipykernel) is not installed")
    notebook = nbformat.read(TOUR, as_version=4)
    nbformat.validate(notebook)
    # A last cell, run only here: which Python and which actviz the kernel used.
    notebook.cells.append(
        nbformat.v4.new_code_cell(
            "import sys, actviz\nprint(sys.executable)\nprint(actviz.__file__)"
        )
    )
    folder = tmp_path_factory.mktemp("tour")
    _execute(notebook, folder)
    nbformat.write(notebook, folder / "tour.executed.ipynb")  # to look at by hand
    return [c for c in notebook.cells if c.cell_type == "code"]


@pytest.mark.slow  # the tour's kernel run (fixture tour) takes ~8 s
def test_tour_runs_on_this_python_and_this_actviz(tour: list[Any]) -> None:
    text, _ = _outputs(tour[-1])
    executable, module = text.split()
    # jupyter_client starts the "python3" kernelspec's `python` as sys.executable.
    assert Path(executable).resolve() == Path(sys.executable).resolve()
    assert Path(module).resolve() == Path(actviz.__file__).resolve()


@pytest.mark.slow  # the tour's kernel run (fixture tour) takes ~8 s
def test_tour_sigmoid_prints_the_vanishing_gradient_and_shows_the_figure(
    tour: list[Any],
) -> None:
    text, data = _outputs(tour[0])
    p = actviz.probe("sigmoid", start=-100, stop=100, points=10)
    assert text == (
        f"x     = {p.x.tolist()}\nf′(x) = {p.grad.tolist()}\nexactly zero gradients: 5 of 10\n"
    )
    png = base64.b64decode(data["image/png"])
    assert png == p._repr_png_()
    assert data["text/plain"] == repr(p)


@pytest.mark.slow  # the tour's kernel run (fixture tour) takes ~8 s
def test_tour_saturation_table(tour: list[Any]) -> None:
    _, data = _outputs(tour[1])
    rows = dict(_table(data["text/html"]))
    assert rows["f(0), f′(0)"] == "0.5, 0.25"
    assert rows["share of the range"].startswith("dead 44.4%, saturated 44.4%")


@pytest.mark.slow  # the tour's kernel run (fixture tour) takes ~8 s
def test_tour_tanh_versus_relu(tour: list[Any]) -> None:
    text, _ = _outputs(tour[2])
    assert text == (
        "tanh: peak |f′| = 1, f′(0) = 1, saturated 62.3%, dead 0.0%\n"
        "relu: peak |f′| = 1, f′(0) = 0, saturated 0.0%, dead 50.3%\n"
    )
    _, data = _outputs(tour[3])
    assert _png_size(base64.b64decode(data["image/png"]))[0] == 960


@pytest.mark.slow  # the tour's kernel run (fixture tour) takes ~8 s
def test_tour_softmax_jacobian(tour: list[Any]) -> None:
    text, data = _outputs(tour[4])
    first, sums = text.splitlines()
    assert first == "row 0: [0.2301, -0.127, -0.1031]"
    assert all(abs(float(v)) < 1e-15 for v in re.findall(r"'([^']+)'", sums))
    assert _table(data["text/html"])[2][1:4] == ["0.2301", "-0.12699", "-0.1031"]


@pytest.mark.slow  # the tour's kernel run (fixture tour) takes ~8 s
def test_tour_neuron_graph(tour: list[Any]) -> None:
    text, data = _outputs(tour[5])
    assert text == "∂out/∂w = 0.01491\n∂out/∂b = 0.1491\n" or text == (
        "∂out/∂b = 0.1491\n∂out/∂w = 0.01491\n"
    )
    shown = data.get("image/svg+xml") or data["text/html"]
    assert "grad 0.01491" in shown
    assert ("image/svg+xml" in data) == (shutil.which("dot") is not None)


@pytest.mark.slow  # the tour's kernel run (fixture tour) takes ~8 s
def test_tour_depth_comparison(tour: list[Any]) -> None:
    text, data = _outputs(tour[6])
    lines = text.splitlines()
    assert lines[:2] == [
        "tanh: forward gain 1.5925, critical σ_w 1.0000",
        "relu: forward gain 1.4142, critical σ_w 1.4142",
    ]
    d = actviz.simulate(["tanh", "relu"], layers=20, width=64, batch=64)
    assert lines[2:] == [f"{run.label}: {run.verdict.text}" for run in d.runs]
    assert data["text/plain"] == repr(d)
    assert base64.b64decode(data["image/png"]) == d._repr_png_()


def test_depth_and_gain_results_show_themselves() -> None:
    (g,) = actviz.gain(["relu"])
    assert repr(g) == (
        "Gain(activation='relu', forward=1.41421, backward=1.41421, torch=1.41421, "
        "critical_sigma_w=1.41421, q1='marginal')"
    )
    rows = dict(_table(g._repr_html_()))
    assert rows["forward gain 1/√E[f(z)²]"] == "1.414" and rows["q = 1 under the forward gain"] == (
        "marginal"
    )
    d = actviz.simulate(["tanh"], layers=3, width=16, batch=16)
    assert repr(d) == "Depth(layers=3, verdicts={'tanh': 'stable'}, baselines=1)"
    assert repr(d.runs[0]).startswith("DepthRun(activation='tanh', setting='kaiming, gain 1.593")
    assert d._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"
