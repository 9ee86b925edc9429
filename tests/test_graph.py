"""actviz graph: the seed neuron, a hand computation, and a parser that rejects hostile input."""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from actviz.cli import app
from actviz.defaults import GRAPH_EPS
from actviz.display import number
from actviz.errors import ActvizError, UsageError
from actviz.graph import run
from actviz.graph.drawing import Graph, html_tree, regime_colour, to_dot, tree
from actviz.graph.expression import ExpressionError, parse, parse_assignments

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]
SIGNAL_WITHIN = 3.0  # seconds from the signal to the exit, with dot still hanging
NEURON = "sigmoid(w*x + b)"


def _grads(expression: str, values: dict[str, list[float]], const: list[str]) -> dict[str, float]:
    graph = run(expression, values, const=const)
    return {n.op: n.grad[0] for n in graph.nodes.values() if n.kind == "leaf" and n.grad}


def test_seed_neuron_values_and_grads() -> None:
    graph = run(NEURON, {"w": [5.0], "b": [1.0], "x": [0.1]}, const=["x"])
    assert round(graph.value, 4) == 0.8176
    grads = {n.op: n.grad for n in graph.nodes.values() if n.kind == "leaf"}
    assert grads["b"] is not None and grads["w"] is not None
    assert round(grads["b"][0], 4) == 0.1491 and round(grads["w"][0], 4) == 0.0149
    consts = [n for n in graph.nodes.values() if n.kind == "const"]
    assert [(n.op, n.value, n.grad) for n in consts] == [("x", [0.1], None)]
    assert graph.messages == []


def plain_derivative(function: Callable[[torch.Tensor], torch.Tensor], at: float) -> float:
    """f′(at) by plain torch autograd in float64, independent of actviz."""
    x = torch.tensor(at, dtype=torch.float64, requires_grad=True)
    (slope,) = torch.autograd.grad(function(x), x)
    return float(slope)


def plain_regime(slopes: list[float], eps: float = GRAPH_EPS) -> str | None:
    """actviz's vocabulary, written out: dead where f′ is exactly 0 at every point,
    saturated where 0 < |f′| < eps at every point that is not dead."""
    if all(v == 0 for v in slopes):
        return "dead"
    return "saturated" if all(abs(v) < eps for v in slopes) else None


def test_seed_neuron_in_the_far_tail_is_dead() -> None:
    """σ(101.5) rounds to 1 in float64, so torch's σ′ = σ(1 − σ) is exactly 0: dead,
    not saturated (the seed called it saturated)."""
    graph = run(NEURON, {"w": [5.0], "b": [1.0], "x": [20.1]}, const=["x"])
    leaves = [n for n in graph.nodes.values() if n.kind == "leaf"]
    assert leaves and all(n.grad == [0.0] for n in leaves)
    assert plain_derivative(torch.sigmoid, 5.0 * 20.1 + 1.0) == 0.0
    (node,) = [n for n in graph.nodes.values() if n.op == "sigmoid"]
    assert (node.regime, node.dead, node.saturated) == ("dead", True, False)
    assert graph.messages == [
        "the neuron is dead: sigmoid′(101.5) = 0 exactly (float64), so no gradient flows "
        "back through it (largest |grad| of a variable: 0)"
    ]


def test_seed_dead_neuron_and_partly_dead_data() -> None:
    dead = run(NEURON, {"w": [50.0], "b": [20.0], "x": [1.3, 1.4]}, const=["x"])
    assert dead.data_points == 2
    assert [plain_derivative(torch.sigmoid, 50 * x + 20) for x in (1.3, 1.4)] == [0.0, 0.0]
    assert dead.messages == [
        "the neuron is dead for these data: sigmoid′ is exactly 0 (float64) at all 2 data "
        "points, so no gradient reaches the weights through it (largest |grad| of a "
        "variable: 0)"
    ]
    partly = run(NEURON, {"w": [50.0], "b": [20.0], "x": [1.1, -0.4]}, const=["x"])
    assert plain_derivative(torch.sigmoid, 50 * 1.1 + 20) == 0.0  # σ(75) rounds to 1
    assert partly.messages == [
        "1 of 2 data points is dead (sigmoid′ exactly 0); only the others move the weights in full"
    ]
    # the seed's drawing: b gets 0.25 from the x = −0.4 point, w gets −0.4 · 0.25 = −0.1
    assert _grads(NEURON, {"w": [50.0], "b": [20.0], "x": [1.1, -0.4]}, ["x"]) == pytest.approx(
        {"w": -0.1, "b": 0.25}, abs=1e-9
    )


@pytest.mark.parametrize(
    ("expression", "w", "function", "word"),
    [
        ("relu(w)", 0.0, torch.relu, "dead"),  # torch's one-sided relu′(0) = 0
        ("relu(w)", -1.0, torch.relu, "dead"),
        ("sigmoid(w)", 20.0, torch.sigmoid, "saturated"),  # σ′(20) ≈ 2.1e-9
        ("tanh(w)", 0.5, torch.tanh, None),
    ],
)
def test_one_vocabulary_dead_is_zero_saturated_is_below_eps(
    expression: str, w: float, function: Callable[[torch.Tensor], torch.Tensor], word: str | None
) -> None:
    slope = plain_derivative(function, w)
    assert plain_regime([slope]) == word  # the case is what it says, by plain torch
    graph = run(expression, {"w": w})
    (node,) = [n for n in graph.nodes.values() if n.kind == "output"]
    assert (node.regime, node.local_derivative) == (word, [slope])
    name = expression.split("(")[0]
    if word is None:
        assert graph.messages == []
        return
    assert graph.messages[0].startswith(f"the neuron is {word}: {name}′({number(w)}) = ")
    other = "saturated" if word == "dead" else "dead"
    assert other not in graph.messages[0]
    assert graph.count(word) == 1 and f"({word})" in _tree_text(graph)
    if word == "saturated":
        assert f"= {number(slope)}, below eps 0.001" in graph.messages[0]


PLAIN = {
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "elu": torch.nn.functional.elu,
    "softplus": torch.nn.functional.softplus,
    "gelu": torch.nn.functional.gelu,
    "hardtanh": torch.nn.functional.hardtanh,
    "relu6": torch.nn.functional.relu6,
}


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(sorted(PLAIN)),
    xs=st.lists(
        st.one_of(st.sampled_from([0.0, -1.0, 1.0, 6.0, 20.0, -20.0, 40.0, 800.0]),
                  st.floats(-60, 60, allow_nan=False)),
        min_size=1, max_size=4,
    ),
)  # fmt: skip
def test_every_regime_word_is_plain_torchs_derivative(name: str, xs: list[float]) -> None:
    """Node regimes and verdict lines, over activations × inputs × data-point counts,
    against f′ from plain torch (torch.nn.functional, float64)."""
    slopes = [plain_derivative(PLAIN[name], x) for x in xs]
    graph = run(f"{name}(x * w)", {"x": xs, "w": 1.0}, const=["x"])
    (node,) = [n for n in graph.nodes.values() if n.op == name]
    assert node.local_derivative == slopes
    assert node.regime == plain_regime(slopes)
    text = " ".join(graph.messages)
    dead, low = sum(v == 0 for v in slopes), sum(0 < abs(v) < GRAPH_EPS for v in slopes)
    if not dead and not low:
        assert graph.messages == []
    elif len(xs) == 1:
        assert text.startswith(f"the neuron is {'dead' if dead else 'saturated'}: ")
    elif dead == len(xs):
        assert text.startswith(f"the neuron is dead for these data: {name}′ is exactly 0")
    elif dead + low == len(xs):
        assert text.startswith(f"the neuron is saturated for these data: 0 < |{name}′| < eps")
        assert f"at {low} of {len(xs)} data points" in text
    else:
        assert (f"{dead} of {len(xs)} data points" in text) == bool(dead)
        assert (f"{low} of {len(xs)} data points saturate" in text) == bool(low)


def test_the_regime_check_catches_a_wrong_word() -> None:
    """The independent check above is not vacuous: a graph that calls relu's flat side
    saturated (as graph once did) disagrees with plain torch."""
    graph = run("relu(w)", {"w": -1.0})
    (node,) = [n for n in graph.nodes.values() if n.op == "relu"]
    slopes = [plain_derivative(torch.relu, -1.0)]
    assert node.regime == plain_regime(slopes) == "dead"
    node.regime = "saturated"  # the injected mistake
    assert node.regime != plain_regime(slopes)


def _tree_text(graph: Graph) -> str:
    from rich.console import Console

    console = Console(width=200, record=True, color_system=None)
    console.print(tree(graph))
    return console.export_text()


def test_dot_shades_dead_grey_and_saturated_amber_as_plot_does_with_a_legend() -> None:
    from matplotlib.colors import to_hex

    from actviz.plotting import REGIME_STYLE

    grey, amber = (to_hex(REGIME_STYLE["light"][r][0]) for r in ("dead", "saturated"))
    assert (regime_colour("dead"), regime_colour("saturated")) == (grey, amber)
    graph = run("relu(w) + sigmoid(v)", {"w": -1.0, "v": 20.0})
    dot = to_dot(graph)
    fills = dict(re.findall(r'\{(relu|sigmoid) \|[^"]*", fillcolor="(#[0-9a-f]{6})"', dot))
    assert fills == {"relu": grey, "sigmoid": amber}
    assert re.search(r"\{relu \| [^}]*\| dead\}", dot)
    assert re.search(r"\{sigmoid \| [^}]*\| saturated\}", dot)
    assert f'<td bgcolor="{grey}">dead: local f′ = 0</td>' in dot
    assert f'<td bgcolor="{amber}">saturated: 0 &lt; |local f′| &lt; eps 0.001</td>' in dot
    # only the regimes drawn get a legend entry; no flagged node, no legend
    assert "saturated:" not in to_dot(run("relu(w)", {"w": -1.0}))
    assert "legend" not in to_dot(run("relu(w)", {"w": 1.0}))
    html = html_tree(graph)
    assert f'<span style="background-color:{grey}"><b>relu</b>' in html and "(dead)</span>" in html
    assert "(saturated)</span>" in html
    value = number(float(torch.sigmoid(torch.tensor(20.0, dtype=torch.float64))))
    assert value != "1"  # σ(20) < 1: the one formatter never rounds it onto 1
    assert repr(graph) == (
        f"Graph(expression='relu(w) + sigmoid(v)', value={value}, nodes=5, dead=1, saturated=1)"
    )


def test_every_regime_colour_converts_as_matplotlib_does() -> None:
    from matplotlib.colors import to_hex

    from actviz.graph.drawing import _hex
    from actviz.plotting import REGIME_STYLE

    for theme in REGIME_STYLE.values():
        for colour, _, _ in theme.values():
            assert _hex(colour) == to_hex(colour)
    with pytest.raises(ValueError, match="not a grey level"):
        _hex("1.5")


def test_as_dict_names_each_nodes_regime_in_json() -> None:
    graph = run("relu(w) + sigmoid(v) + tanh(u)", {"w": -1.0, "v": 20.0, "u": 0.5})
    data = json.loads(json.dumps(graph.as_dict()))
    regimes = {n["op"]: n["regime"] for n in data["nodes"] if n["local_derivative"]}
    assert regimes == {"relu": "dead", "sigmoid": "saturated", "tanh": None}
    assert data["eps"] == GRAPH_EPS and data["messages"] == graph.messages
    assert {n["key"] for n in data["nodes"]} == set(graph.nodes)


def test_grads_equal_a_hand_computation() -> None:
    expression = "2 * tanh(-x) ** 2 + exp(y) / 3 - sqrt(x * y) + log(y + 1)"
    x, y = 0.5, 1.25
    t = math.tanh(-x)
    by_hand = {
        "x": 2 * 2 * t * (1 - t * t) * -1 - 0.5 * y / math.sqrt(x * y),
        "y": math.exp(y) / 3 - 0.5 * x / math.sqrt(x * y) + 1 / (y + 1),
    }
    assert _grads(expression, {"x": [x], "y": [y]}, []) == pytest.approx(by_hand, rel=1e-12)
    value = 2 * t * t + math.exp(y) / 3 - math.sqrt(x * y) + math.log(y + 1)
    assert run(expression, {"x": [x], "y": [y]}).value == pytest.approx(value, rel=1e-12)


def test_dot_output_and_cli(tmp_path: Path) -> None:
    graph = run(NEURON, {"w": [5.0], "b": [1.0], "x": [0.1]}, const=["x"])
    dot = to_dot(graph)
    assert dot.startswith("digraph actviz {") and "{w | value 5 | grad 0.01491}" in dot
    assert "{x | value 0.1}" in dot and dot == to_dot(
        run(NEURON, {"w": [5.0], "b": [1.0], "x": [0.1]}, const=["x"])
    )
    out = tmp_path / "neuron.dot"
    result = runner.invoke(app, ["graph", NEURON, "--set", "w=5", "--set", "b=1", "--set",
                                 "x=0.1", "--const", "x", "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "sigmoid value 0.8176, grad 1" in result.stdout
    assert "w value 5, grad 0.01491" in result.stdout
    assert out.read_text() == dot
    assert result.stdout.endswith(f"wrote {out}\n")


def test_without_graphviz_only_the_dot_is_written_and_the_line_says_how_to_render(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no dot on it
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["graph", "w*w", "--set", "w=3", "--out", "g.svg"])
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith(
        "wrote g.dot; Graphviz's dot is not installed, so no .svg (apt-get install graphviz, "
        "then: dot -Tsvg g.dot -o g.svg)\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.dot"]
    assert (tmp_path / "g.dot").read_text() == to_dot(run("w*w", {"w": [3.0]}))


HOSTILE = [
    ("__import__('os')", "unknown function (activations, exp, log, sqrt, sum, mean) at column 1"),
    ("os.system('ls')", "attribute access not allowed at column 1"),
    ("x.grad", "attribute access not allowed at column 1: 'x.grad'"),
    ("(lambda: 1)()", "lambdas not allowed at column 2"),
    ("[x for x in y]", "comprehensions not allowed at column 1"),
    ("x[0]", "subscripts not allowed at column 1"),
    ("2 ** 10 ** 10", "exponents must be numbers between −64 and 64 at column 6"),
    ("x ** 1000", "exponents must be numbers between −64 and 64 at column 6: '1000'"),
    ("x ** w", "exponents must be numbers between −64 and 64 at column 6: 'w'"),
    ("z + 1", "unknown name; give it a value with values z=… at column 1: 'z'"),
    ("'abc'", "only numbers are allowed as constants at column 1"),
    ("True + x", "only numbers are allowed as constants at column 1: 'True'"),
    ("x if w else 1", "conditional expressions not allowed at column 1"),
    ("x == w", "comparisons not allowed at column 1"),
    ("x and w", "boolean operators not allowed at column 1"),
    ("(w := 1)", "assignment expressions not allowed at column 2"),
    ("sigmoid(x, w)", "functions take exactly one argument at column 1"),
    ("sigmoid(x=1)", "functions take exactly one argument at column 1"),
    ("open('f')", "unknown function (activations, exp, log, sqrt, sum, mean) at column 1"),
    ("eval('1')", "unknown function (activations, exp, log, sqrt, sum, mean) at column 1"),
    ("sigmoid(*x)", "starred arguments not allowed at column 9"),
    ("f'{x}'", "strings not allowed at column 1"),
    ("x % 2", "BinOp syntax not allowed at column 1"),
    ("1 +", "invalid expression at column 1: invalid syntax"),
    ("", 'the expression is empty; e.g. actviz graph "sigmoid(w*x + b)"'),
    ("x + " * 200 + "x", "the expression is longer than 500 characters"),
]


@pytest.mark.parametrize(("expression", "message"), HOSTILE, ids=[h[0][:20] for h in HOSTILE])
def test_the_parser_rejects_anything_outside_the_language(expression: str, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse(expression, ["x", "w", "y"])
    assert str(caught.value).startswith(message)


def test_cli_rejects_with_one_line() -> None:
    result = runner.invoke(app, ["graph", "__import__('os').system('ls')", "--set", "x=1"])
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ") and len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: parse_assignments(["x"]), "--set 'x' is not NAME=VALUE (e.g. --set x=1.1,-0.4)"),
        (
            lambda: parse_assignments(["x=a"]),
            "--set 'x=a': values must be numbers, comma-separated",
        ),
        (
            lambda: run("x*w", {"x": [1.0, 2.0], "w": [1.0, 2.0, 3.0]}),
            "variables with several values must all have the same number of them",
        ),
        (
            lambda: run("x", {"x": [1.0]}, const=["y"]),
            "const y: no such variable; give it a value with values",  # run()'s parameters
        ),
        (
            lambda: run("x", {"x": [1.0]}, const=["x"]),
            "nothing to differentiate: every variable is const",
        ),
    ],
)
def test_bad_variables(call: object, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        call()  # type: ignore[operator]
    assert str(caught.value) == message


def test_a_number_is_one_data_point_and_tensors_and_arrays_are_data() -> None:
    """In a notebook ``{"w": 5}`` is one data point, as ``--set w=5`` is."""
    scalar = run(NEURON, {"w": 5, "b": 1.0, "x": 0.1}, const=["x"])
    listed = run(NEURON, {"w": [5.0], "b": [1.0], "x": [0.1]}, const=["x"])
    assert to_dot(scalar) == to_dot(listed) and scalar.messages == listed.messages == []
    several = {"w": 50.0, "b": 20.0, "x": [1.1, -0.4]}
    expected = to_dot(run(NEURON, several, const=["x"]))
    for x in (torch.tensor([1.1, -0.4], dtype=torch.float64), np.array([1.1, -0.4]), (1.1, -0.4)):
        assert to_dot(run(NEURON, {**several, "x": x}, const=["x"])) == expected
    zero_d = run("relu(w)", {"w": torch.tensor(-1.0)})
    assert zero_d.data_points == 1 and zero_d.nodes[zero_d.root].regime == "dead"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"w": "5"}, "values['w'] must be a number or a sequence of numbers (got str)"),
        ({"w": None}, "values['w'] must be a number or a sequence of numbers (got NoneType)"),
        ({"w": True}, "values['w'] must be a number or a sequence of numbers (got bool)"),
        ({"w": []}, "values['w'] is empty; give it at least one number"),
        ({"w": [1.0, "a"]}, "values['w'] must be a number or a flat sequence of numbers (got 'a' "
                            "in it)"),
        ({"w": [[1.0, 2.0]]}, "values['w'] must be a number or a flat sequence of numbers (got "
                              "[1.0, 2.0] in it)"),
        ({"w": np.ones((2, 2))}, "values['w'] must be a number or a flat sequence of numbers "
                                 "(got [1.0, 1.0] in it)"),
        ({"w": 1 + 2j}, "values['w'] must be a number or a sequence of numbers (got complex)"),
        ([("w", 5.0)], "values must map each variable to its value(s), e.g. {'w': 5, "
                       "'x': [1.1, -0.4]} (got list)"),
    ],
)  # fmt: skip
def test_values_of_the_wrong_type_name_the_python_parameter(values: object, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        run("sigmoid(w)", values)  # type: ignore[arg-type]
    assert str(caught.value) == message and isinstance(caught.value, ActvizError)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
@pytest.mark.parametrize(("fmt", "magic"), [("svg", b"<?xml"), ("png", b"\x89PNG\r\n\x1a\n"),
                                            ("pdf", b"%PDF-")])  # fmt: skip
def test_graphviz_renders_each_format(fmt: str, magic: bytes, tmp_path: Path) -> None:
    out = tmp_path / f"neuron.{fmt}"
    result = runner.invoke(app, ["graph", NEURON, "--set", "w=5", "--set", "b=1", "--set",
                                 "x=0.1", "--const", "x", "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith(f"wrote {tmp_path / 'neuron.dot'} and {out}\n")
    assert out.read_bytes().startswith(magic) and out.stat().st_size > 1000
    if fmt == "svg":
        assert "grad 0.01491" in out.read_text()


SEED_ARGS = ["--set", "w=5", "--set", "b=1", "--set", "x=0.1", "--const", "x"]


@pytest.mark.parametrize(
    ("out", "line"),
    [
        ("g.txt", "Error: cannot render .txt; use .svg, .png, .pdf or .dot\n"),
        (
            "graph",
            "Error: --out needs a file name ending in .svg, .png, .pdf or .dot (got 'graph')\n",
        ),
    ],
)
def test_bad_out_is_refused_before_any_work_or_file(
    out: str, line: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["graph", NEURON, *SEED_ARGS, "--out", out])
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", line)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_a_name_like_an_option_never_reaches_dot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["graph", NEURON, *SEED_ARGS, "--out", "-V.svg"])
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("wrote -V.dot and -V.svg\n")
    assert "grad 0.01491" in (tmp_path / "-V.svg").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["-V.dot", "-V.svg"]


def _fake_dot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str) -> None:
    """Put a ``dot`` that runs ``script`` (sh) first on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    dot = bin_dir / "dot"
    dot.write_text(f"#!/bin/sh\ncat > /dev/null\n{script}\n")
    dot.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


@pytest.mark.parametrize(
    ("script", "message"),
    [
        (  # what a full disk looked like: an error, and a 0-byte file left behind
            "echo 'Error: gvwrite_no_z problem 5' >&2; exit 1",
            "Error: Graphviz could not write out/g.svg: the disk is full or the file is not "
            "writable; free some space or choose another --out\n",
        ),
        ("exit 0", "Error: Graphviz's dot failed to render out/g.svg: it wrote no image\n"),
        (
            "printf 'not an svg'; echo 'Warning: something odd' >&2",
            "Error: Graphviz's dot failed to render out/g.svg: Warning: something odd\n",
        ),
        (
            "echo 'Error: <stdin>: syntax error in line 3' >&2; exit 1",
            "Error: Graphviz's dot failed to render out/g.svg: <stdin>: syntax error in line 3\n",
        ),
    ],
)
def test_a_failed_render_leaves_no_image_and_says_why(
    script: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_dot(tmp_path, monkeypatch, script)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "g.svg").write_text("<svg>the previous graph</svg>")
    result = runner.invoke(app, ["graph", "w*w", "--set", "w=3", "--out", "out/g.svg"])
    assert (result.exit_code, result.stderr) == (1, message)
    # the previous image is untouched, the .dot is complete, no temporary file is left
    assert (tmp_path / "out" / "g.svg").read_text() == "<svg>the previous graph</svg>"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["g.dot", "g.svg"]
    assert (tmp_path / "out" / "g.dot").read_text().rstrip().endswith("}")


@pytest.mark.parametrize(
    ("expression", "value", "line"),
    [
        ("exp(w)", 1000.0, "Error: 'exp(w)' is not finite in float64: exp has value inf; "
                           "use other values\n"),
        ("log(w)", 0.0, "Error: 'log(w)' is not finite in float64: log has value -inf; "
                        "use other values\n"),
    ],
)  # fmt: skip
def test_a_graph_that_overflows_is_refused(
    expression: str, value: float, line: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Like every other command, graph refuses a non-finite result: one line, exit 1,
    no file written."""
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["graph", expression, "--set", f"w={value}"])
    assert (result.exit_code, result.stderr) == (1, line)
    assert not (tmp_path / "outputs").exists()


def _slow_dot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ``dot`` that reads the graph, writes its pid to the file returned, and hangs."""
    started = tmp_path / "dot.pid"
    _fake_dot(tmp_path, monkeypatch, f'echo $$ > "{started}.part"; mv "{started}.part" "{started}"'
              "\nexec sleep 60")  # fmt: skip
    return started


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signum", "code", "line"),
    [(signal.SIGINT, 130, "Error: interrupted\n"), (signal.SIGTERM, 143, "Error: terminated\n")],
)
def test_a_signal_stops_a_hanging_graphviz_at_once(
    signum: int, code: int, line: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Signals are not held back while dot renders: SIGINT or SIGTERM (to actviz alone,
    as `kill` sends it) kills dot, removes the temporary file and exits 130 or 143 with
    one line, within seconds, leaving the complete .dot and no image."""
    started = _slow_dot(tmp_path, monkeypatch)
    (tmp_path / "out").mkdir()
    env = {**os.environ, "MPLBACKEND": "Agg"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    process = subprocess.Popen(
        [sys.executable, "-m", "actviz", "graph", "w*w", "--set", "w=3", "--out", "out/g.svg"],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not started.exists():
            assert process.poll() is None and time.monotonic() < deadline, "dot never started"
            time.sleep(0.05)
        dot_pid = int(started.read_text())
        sent = time.monotonic()
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=30)
        took = time.monotonic() - sent
    finally:
        with contextlib.suppress(OSError):
            os.killpg(process.pid, signal.SIGKILL)
    assert (process.returncode, stderr) == (code, line)
    assert took < SIGNAL_WITHIN, f"exited {took:.1f} s after the signal"
    with pytest.raises(ProcessLookupError):  # dot was killed (and reaped), not left running
        os.kill(dot_pid, 0)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["g.dot"]
    assert (tmp_path / "out" / "g.dot").read_text().rstrip().endswith("}")


def test_a_dot_past_its_timeout_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """dot is given DOT_TIMEOUT seconds (60); past them it is killed: one line, exit 1,
    the .dot kept, no image and no temporary file."""
    from actviz.graph import drawing as graph_drawing

    assert graph_drawing.DOT_TIMEOUT == 60
    monkeypatch.setattr(graph_drawing, "DOT_TIMEOUT", 1)
    _slow_dot(tmp_path, monkeypatch)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").mkdir()
    result = runner.invoke(app, ["graph", "w*w", "--set", "w=3", "--out", "out/g.svg"])
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: Graphviz's dot took over 1 s to render out/g.svg and was stopped; the graph "
        "is in out/g.dot\n",
    )
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["g.dot"]


def test_svg_past_the_timeout_is_a_runtime_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from actviz.errors import RuntimeFailure
    from actviz.graph import drawing as graph_drawing

    monkeypatch.setattr(graph_drawing, "DOT_TIMEOUT", 1)
    _slow_dot(tmp_path, monkeypatch)
    graph = run("w*w", {"w": 3})
    with pytest.raises(RuntimeFailure) as caught:
        graph_drawing.svg(graph)
    assert str(caught.value) == "Graphviz's dot took over 1 s to render the graph and was stopped"


@pytest.mark.parametrize(
    ("folder", "out", "line"),
    [
        ("g.svg", "out/g.svg", "Error: cannot write out/g.svg: it is not a regular file; "
                               "choose another --out\n"),
        ("g.dot", "out/g.dot", "Error: cannot write out/g.dot: it is not a regular file; "
                               "choose another --out\n"),
        ("g.dot", "out/g.png", "Error: cannot use out/g.dot: it is not a regular file; remove "
                               "it or choose another --out\n"),
    ],
)  # fmt: skip
def test_a_folder_at_the_target_is_refused_before_any_file(
    folder: str, out: str, line: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder where graph would write (--out, or the .dot beside it) is refused before
    the .dot is written: one line, exit 1, nothing left behind."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out" / folder).mkdir(parents=True)
    result = runner.invoke(app, ["graph", "w*w", "--set", "w=3", "--out", out])
    assert (result.exit_code, result.stderr) == (1, line)
    assert [p.name for p in (tmp_path / "out").iterdir()] == [folder]
    assert list((tmp_path / "out" / folder).iterdir()) == []


def test_a_folder_at_the_target_is_refused_by_write_too(tmp_path: Path) -> None:
    from actviz.errors import OutputError
    from actviz.graph.drawing import write

    (tmp_path / "g.svg").mkdir()
    with pytest.raises(OutputError):
        write(run("w*w", {"w": 3}), tmp_path / "g.svg")
    assert [p.name for p in tmp_path.iterdir()] == ["g.svg"]


def test_data_points_are_capped_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every node's label lists every value, and Graphviz refuses a label past 16,384
    characters: more than MAX_DATA_POINTS (100) values are refused in one line, exit 2,
    before anything is computed or written; 100 are drawn."""
    from actviz.graph import MAX_DATA_POINTS

    assert MAX_DATA_POINTS == 100
    assert run("w*x", {"w": 2, "x": [0.5] * 100}, const=["x"]).data_points == 100
    with pytest.raises(UsageError) as caught:
        run("w*x", {"w": 2, "x": [0.5] * 101})
    assert str(caught.value) == (
        "graph draws at most 100 data points (got 101); each node shows every value, so give "
        "fewer values in values"
    )
    monkeypatch.chdir(tmp_path)
    values = ",".join(str(i / 1000) for i in range(20_000))
    result = runner.invoke(
        app, ["graph", "sigmoid(w*x+b)", "--set", "w=5", "--set", "b=1", "--set", f"x={values}",
              "--out", "out/g.svg"],
    )  # fmt: skip
    assert (result.exit_code, result.stdout, result.stderr) == (
        2,
        "",
        "Error: graph draws at most 100 data points (got 20,000); each node shows every value, "
        "so give fewer values in --set\n",
    )
    assert list(tmp_path.iterdir()) == []
