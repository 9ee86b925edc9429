"""The graph and jacobian commands are thin: each parses, makes one library call, prints.

The library call is replaced by a fake that records its arguments and returns
a made-up result, so these tests fail if a command computes anything itself,
passes an option on wrongly, or prints something other than what it got back.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from actviz import graph, jacobian
from actviz.cli import app
from actviz.graph import drawing as graph_drawing
from actviz.graph.drawing import Graph, Node, Written
from actviz.jacobian import JacobianReport, JacobianRun

runner = CliRunner()

FAKE_GRAPH = Graph(
    expression="tanh(w)",
    nodes={
        "n0": Node("n0", "tanh", "output", [0.5], [1.0], inputs=["n1"]),
        "n1": Node("n1", "w", "leaf", [0.25], [0.75]),
    },
    root="n0",
    value=0.5,
    data_points=1,
    messages=["a made-up verdict"],
)


def test_graph_passes_its_options_to_run_and_prints_what_comes_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[Any, ...]] = []

    def fake_run(expression: str, values: Any, *, const: Any, eps: float) -> Graph:
        calls.append(("run", expression, values, const, eps))
        return FAKE_GRAPH

    def fake_write(result: Graph, out: Path) -> Written:
        calls.append(("write", result, out))
        return Written(Path("made-up.dot"), None, "wrote what the fake says")

    monkeypatch.setattr(graph, "run", fake_run)
    monkeypatch.setattr(graph_drawing, "write", fake_write)
    result = runner.invoke(app, ["graph", "sigmoid(w*x)", "--set", "w=5", "--set",
                                 "x=0.1,-0.4", "--const", "x", "--eps", "0.5", "--out",
                                 "g.png"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert calls == [
        ("run", "sigmoid(w*x)", {"w": [5.0], "x": [0.1, -0.4]}, ["x"], 0.5),
        ("write", FAKE_GRAPH, Path("g.png")),
    ]
    assert result.stdout.splitlines() == [
        "tanh(w) = 0.5",
        "└── tanh value 0.5, grad 1",
        "    └── w value 0.25, grad 0.75",
        "a made-up verdict",
        "wrote what the fake says",
    ]
    assert result.stderr == ""


def test_graph_defaults_reach_run(monkeypatch: pytest.MonkeyPatch) -> None:
    received: dict[str, Any] = {}

    def fake_run(expression: str, values: Any, *, const: Any, eps: float) -> Graph:
        received.update(expression=expression, values=values, const=const, eps=eps)
        return FAKE_GRAPH

    monkeypatch.setattr(graph, "run", fake_run)
    monkeypatch.setattr(graph_drawing, "write", lambda g, out: Written(out, None, f"to {out}"))
    result = runner.invoke(app, ["graph", "w"])
    assert result.exit_code == 0, result.output
    assert received == {"expression": "w", "values": {}, "const": [], "eps": 1e-3}
    assert result.stdout.endswith("to outputs/graph.svg\n")


FAKE_REPORT = JacobianReport(
    function="softmin",
    formula="a made-up formula",
    a=np.array([1.0, 2.0]),
    output=np.array([0.5, 0.5]),
    jacobian=np.array([[0.25, -0.125], [-0.125, 0.0625]]),
    closed_form=np.array([[0.25, -0.125], [-0.125, 0.0625]]),
    identity_deviation=3e-17,
    row_sum_deviation=0.125,
)


def _fake_jacobian_run(calls: list[dict[str, Any]]) -> Any:
    def fake(function: str, values: Any, **options: Any) -> JacobianRun:
        calls.append({"function": function, "values": values, **options})
        figure = None if options["out"] is None else Path("made-up.png")
        lines = ["a made-up", "explanation"] if options["explained"] else []
        return JacobianRun(FAKE_REPORT, figure, lines)

    return fake


def test_jacobian_passes_its_options_to_run_and_prints_what_comes_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(jacobian, "run", _fake_jacobian_run(calls))
    result = runner.invoke(app, ["jacobian", "softmin", "--input", "0.5", "-1", "2", "--seed",
                                 "7", "--out", "j.png", "--explain"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert calls == [
        {
            "function": "softmin",
            "values": [0.5, -1.0, 2.0],
            "use_input": True,
            "random": None,
            "seed": 7,
            "out": Path("j.png"),
            "explained": True,
        }
    ]
    lines = result.stdout.splitlines()
    assert lines[:3] == ["wrote made-up.png", "a made-up", "explanation"]
    # the title, on one line now that the one formatter prints the exact 1 and 2 short
    assert lines[3].strip() == "Jacobian of softmin at a = [1, 2]"
    # the one formatter: exact entries print exactly
    rows = {line.split("│")[1].strip(): line.split("│")[2:-1] for line in lines if "(a)_" in line}
    assert {k: [c.strip() for c in v] for k, v in rows.items()} == {
        "softmin(a)_0": ["0.25", "-0.125"],
        "softmin(a)_1": ["-0.125", "0.0625"],
    }
    assert lines[-2:] == [
        "a made-up formula: max |J − closed form| = 3.0e-17",
        "every row sums to 0: max |row sum| = 1.2e-01",
    ]


def test_jacobian_json_asks_for_no_explanation_and_prints_the_report(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(jacobian, "run", _fake_jacobian_run(calls))
    result = runner.invoke(app, ["jacobian", "softmax", "--random", "5", "--out", "j.png",
                                 "--explain", "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert calls == [
        {
            "function": "softmax",
            "values": None,
            "use_input": False,
            "random": 5,
            "seed": 0,
            "out": Path("j.png"),
            "explained": False,
        }
    ]
    assert json.loads(result.stdout) == FAKE_REPORT.as_dict()
    assert result.stderr == "wrote made-up.png\n"
