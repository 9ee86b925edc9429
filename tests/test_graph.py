"""actviz graph: the seed neuron, a hand computation, and a parser that rejects hostile input."""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from actviz.cli import app
from actviz.errors import UsageError
from actviz.graph import run
from actviz.graph_drawing import to_dot
from actviz.graph_expression import ExpressionError, parse, parse_assignments

runner = CliRunner()
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


def test_seed_saturated_neuron() -> None:
    graph = run(NEURON, {"w": [5.0], "b": [1.0], "x": [20.1]}, const=["x"])
    leaves = [n for n in graph.nodes.values() if n.kind == "leaf"]
    assert leaves and all(n.grad is not None and abs(n.grad[0]) < 1e-40 for n in leaves)
    assert graph.messages[0].startswith("the neuron is saturated: sigmoid′(101.5) = ")
    assert any(n.saturated and n.op == "sigmoid" for n in graph.nodes.values())


def test_seed_dead_neuron_and_partly_saturated_data() -> None:
    dead = run(NEURON, {"w": [50.0], "b": [20.0], "x": [1.3, 1.4]}, const=["x"])
    assert dead.data_points == 2
    assert dead.messages[0].startswith(
        "the neuron is dead for these data: its activation saturates at all 2 data points"
    )
    partly = run(NEURON, {"w": [50.0], "b": [20.0], "x": [1.1, -0.4]}, const=["x"])
    assert partly.messages == [
        "1 of 2 data points saturate the activation (local derivative < 0.001); only the "
        "others move the weights"
    ]
    # the seed's drawing: b gets 0.25 from the x = −0.4 point, w gets −0.4 · 0.25 = −0.1
    assert _grads(NEURON, {"w": [50.0], "b": [20.0], "x": [1.1, -0.4]}, ["x"]) == pytest.approx(
        {"w": -0.1, "b": 0.25}, abs=1e-9
    )


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
    ("z + 1", "unknown name; give it a value with --set z=… at column 1: 'z'"),
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
            "--const y: no such variable; give it a value with --set",
        ),
        (
            lambda: run("x", {"x": [1.0]}, const=["x"]),
            "nothing to differentiate: every variable is --const",
        ),
    ],
)
def test_bad_variables(call: object, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        call()  # type: ignore[operator]
    assert str(caught.value) == message


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
