"""Computational graphs with values and gradients on every node.

``actviz graph "sigmoid(w*x + b)" --set w=5 --set b=1 --set x=0.1 --const x``
parses a small arithmetic language (:mod:`actviz.graph.expression`), builds
it from torch tensors (:mod:`actviz.graph.build`), runs ``backward`` and walks
torch's own autograd graph (``grad_fn``, ``next_functions``, with
``retain_grad`` on intermediates) to show every node's op, value and gradient
— the seed notebook's micrograd drawing, for real autograd. In the words of
the rest of actviz, an activation whose local derivative is exactly 0 at
every data point is flagged dead, one whose local derivative is below ``eps``
there (and not 0 everywhere) saturated. :mod:`actviz.graph.drawing` shows the
result; its renderers are re-exported here, so one import serves a notebook.
"""

from __future__ import annotations

import ast
import math
import numbers
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from actviz import registry
from actviz.defaults import GRAPH_EPS
from actviz.display import number
from actviz.errors import RuntimeFailure, UsageError, arg
from actviz.graph.build import Builder
from actviz.graph.drawing import Graph, Node, Written, html_tree, svg, to_dot, tree, write
from actviz.graph.expression import ExpressionError, constant, parse

if TYPE_CHECKING:
    import torch

__all__ = [
    "Graph",
    "Node",
    "Written",
    "html_tree",
    "run",
    "svg",
    "to_dot",
    "tree",
    "write",
]


MAX_DATA_POINTS = 100  # values of one variable; Graphviz refuses a label past 16,384 characters


def run(
    expression: str,
    values: Mapping[str, float | Sequence[float] | Any],
    *,
    const: Sequence[str] = (),
    eps: float = GRAPH_EPS,
) -> Graph:
    """Build ``expression`` from ``values``, run backward and collect the graph.

    Each variable's value is a number (one data point) or a sequence of numbers, a
    1-D tensor or array (several data points, summed over): ``{"w": 5, "x": [1.1, -0.4]}``.
    """
    import torch

    points = _data_points(values)
    most = max((len(v) for v in points.values()), default=1)
    if most > MAX_DATA_POINTS:  # each node's label lists every value: counted before any work
        raise UsageError(
            f"graph draws at most {MAX_DATA_POINTS} data points (got {most:,}); each node "
            f"shows every value, so give fewer values in {arg('values')}"
        )
    unknown = sorted(set(const) - set(points))
    if unknown:
        raise UsageError(
            f"{arg('const')} {unknown[0]}: no such variable; give it a value with {arg('values')}"
        )
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not 0 < eps < 1:
        raise UsageError(f"{arg('eps')} must be a number between 0 and 1 (got {eps!r})")
    syntax = parse(expression, list(points))
    for name, given in points.items():
        if not all(math.isfinite(v) for v in given):
            raise UsageError(f"{arg('values')} {name}: values must be finite numbers (got {given})")
    sizes = {len(v) for v in points.values() if len(v) > 1}
    if len(sizes) > 1:
        raise UsageError("variables with several values must all have the same number of them")
    tensors = {
        name: torch.tensor(v if len(v) > 1 else v[0], dtype=torch.float64).requires_grad_(
            name not in const
        )
        for name, v in points.items()
    }
    builder = Builder(tensors)
    output = builder.build(syntax.body)
    data_points = sizes.pop() if sizes else 1
    if output.numel() > 1:  # several data points: the loss is their sum, as in the seed
        output = builder.record("sum over data", output.sum(), [])
    if not output.requires_grad:
        raise UsageError(f"nothing to differentiate: every variable is {arg('const')}")
    if output.grad_fn is None:  # "x", "(+x)": a leaf, with no operation to draw
        raise ExpressionError(
            f"{expression.strip()!r} is just a variable, with no operation to draw; write an "
            'expression such as "sigmoid(w*x + b)"'
        )
    output.backward()  # type: ignore[no-untyped-call]  # a scalar: no gradient needed
    keys: dict[int, str] = {}
    nodes = _walk(output, builder, tensors, keys)
    _refuse_non_finite(expression, nodes)
    messages = _regimes(builder, nodes, keys, eps)
    root = keys[id(output.grad_fn)]
    return Graph(expression, nodes, root, float(output.detach()), data_points, messages, eps)


def _data_points(values: Mapping[str, Any]) -> dict[str, list[float]]:
    """Each variable's values as a list of floats: a number is one data point; a
    sequence, 1-D tensor or array is several. Anything else is a usage error that names
    the Python parameter (the command line's ``--set`` always gives lists)."""
    if not isinstance(values, Mapping):
        raise UsageError(
            f"values must map each variable to its value(s), e.g. {{'w': 5, 'x': [1.1, -0.4]}} "
            f"(got {type(values).__name__})"
        )
    points: dict[str, list[float]] = {}
    for name, given in values.items():
        where = f"values[{name!r}]"
        if not isinstance(name, str):
            raise UsageError(f"values: variable names must be strings (got {name!r})")
        raw = given.tolist() if hasattr(given, "tolist") else given  # a tensor or an array
        if _is_number(raw):
            points[name] = [float(raw)]
            continue
        if isinstance(raw, str | bytes) or not isinstance(raw, Sequence):
            raise UsageError(
                f"{where} must be a number or a sequence of numbers (got {type(given).__name__})"
            )
        if not raw:
            raise UsageError(f"{where} is empty; give it at least one number")
        bad = next((v for v in raw if not _is_number(v)), None)
        if bad is not None:
            raise UsageError(
                f"{where} must be a number or a flat sequence of numbers (got {bad!r} in it)"
            )
        points[name] = [float(v) for v in raw]
    return points


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _refuse_non_finite(expression: str, nodes: Mapping[str, Node]) -> None:
    """Refuse a graph whose values or gradients overflow float64 (exp(1000), log(0)), as
    every other command refuses a non-finite result, naming the first such node."""
    for node in nodes.values():
        for what, found in (("value", node.value), ("gradient", node.grad)):
            bad = [v for v in found or [] if not math.isfinite(v)]
            if bad:
                raise RuntimeFailure(
                    f"{expression.strip()!r} is not finite in float64: {node.op} has {what} "
                    f"{bad[0]:g}; use other values"
                )


def _listed(t: torch.Tensor | None) -> list[float] | None:
    return None if t is None else [float(v) for v in t.detach().reshape(-1)]


def _walk(
    output: torch.Tensor,
    builder: Builder,
    tensors: Mapping[str, torch.Tensor],
    keys: dict[int, str],
) -> dict[str, Node]:
    """Follow grad_fn → next_functions from the output down to the leaves.

    ``keys`` maps each autograd node to a stable name (n0, n1, … in walk order),
    so the DOT text is the same from run to run.
    """

    def key_of(fn: Any) -> str:
        return keys.setdefault(id(fn), f"n{len(keys)}")

    names = {id(t): n for n, t in tensors.items()}
    nodes: dict[str, Node] = {}
    stack: list[Any] = [output.grad_fn]
    while stack:
        fn = stack.pop()
        key = key_of(fn)
        if key in nodes:
            continue
        if type(fn).__name__ == "AccumulateGrad":
            leaf = fn.variable
            nodes[key] = Node(
                key, names.get(id(leaf), "leaf"), "leaf", _listed(leaf), _listed(leaf.grad)
            )
            continue
        op, tensor, operands = builder.ops.get(
            id(fn), (type(fn).__name__.removesuffix("Backward0"), None, [])
        )
        kind = "output" if fn is output.grad_fn else "op"
        grad = [1.0] if kind == "output" else _listed(tensor.grad if tensor is not None else None)
        node = Node(key, op, kind, _listed(tensor), grad)
        for child, _ in fn.next_functions:
            if child is not None:
                node.inputs.append(key_of(child))
                stack.append(child)
        for operand in operands:  # constants and --const variables are not in torch's graph
            const = _const_node(operand, tensors, names)
            if const is not None:
                nodes.setdefault(const.key, const)
                node.inputs.append(const.key)
        nodes[key] = node
    return nodes


def _const_node(
    operand: ast.AST, tensors: Mapping[str, torch.Tensor], names: Mapping[int, str]
) -> Node | None:
    literal = constant(operand)
    if literal is not None:
        key = f"c{getattr(operand, 'col_offset', 0)}"  # one node per literal in the expression
        return Node(key, number(literal), "const", [literal], None)
    if isinstance(operand, ast.Name) and not tensors[operand.id].requires_grad:
        return Node(f"v_{operand.id}", operand.id, "const", _listed(tensors[operand.id]), None)
    return None


def regime(local: Sequence[float], eps: float) -> str | None:
    """An activation's regime from its local derivative at each data point, in actviz's
    one vocabulary: "dead" if it is exactly 0 at every point (no gradient flows back),
    "saturated" if below ``eps`` in magnitude at every point (and not 0 at all of them),
    else None."""
    if all(v == 0 for v in local):
        return "dead"
    if all(abs(v) < eps for v in local):
        return "saturated"
    return None


def _regimes(
    builder: Builder,
    nodes: dict[str, Node],
    keys: Mapping[int, str],
    eps: float,
) -> list[str]:
    """Give each activation node its regime (dead, saturated or none) and say what it
    means for the gradient, one line per activation that is dead or saturated anywhere."""
    import torch

    found: list[tuple[str, list[float], list[float]]] = []  # (name, inputs, local f′)
    for name, argument, result in builder.activations:
        key = keys.get(id(result.grad_fn), "")
        if key not in nodes:  # on constants only: no gradient passes through it
            continue
        inner = argument.detach().clone().requires_grad_(True)
        module = registry.get(name).build(registry.get(name).defaults).double()
        (local,) = torch.autograd.grad(module(inner).sum(), inner)
        derivative = [float(v) for v in local.reshape(-1)]
        nodes[key].local_derivative = derivative
        nodes[key].regime = regime(derivative, eps)
        found.append((name, [float(v) for v in argument.detach().reshape(-1)], derivative))
    leaves = [n for n in nodes.values() if n.kind == "leaf" and n.grad is not None]
    largest = number(max((abs(g) for n in leaves for g in (n.grad or [])), default=0.0))
    messages = []
    for index, (name, inputs, derivative) in enumerate(found):
        subject = "the neuron" if len(found) == 1 else f"{name} (activation {index + 1})"
        line = _verdict(subject, name, inputs, derivative, eps, largest)
        if line is not None:
            messages.append(line)
    return messages


def _verdict(
    subject: str,
    name: str,
    inputs: Sequence[float],
    derivative: Sequence[float],
    eps: float,
    largest: str,
) -> str | None:
    """One activation's regime in words: what its local derivative is and what that does
    to the gradient of everything before it."""
    limit = number(eps)
    gradients = f"(largest |grad| of a variable: {largest})"
    if len(derivative) == 1:  # one data point, or one input shared by all of them
        at, slope = number(inputs[0]), derivative[0]
        if slope == 0:
            return (
                f"{subject} is dead: {name}′({at}) = 0 exactly (float64), so no gradient "
                f"flows back through it {gradients}"
            )
        if abs(slope) < eps:
            return (
                f"{subject} is saturated: {name}′({at}) = {number(slope)}, below eps {limit}, "
                f"so every gradient flowing back through it is scaled by that much {gradients}"
            )
        return None
    count = len(derivative)
    dead = sum(v == 0 for v in derivative)
    low = sum(0 < abs(v) < eps for v in derivative)
    if dead == count:
        return (
            f"{subject} is dead for these data: {name}′ is exactly 0 (float64) at all "
            f"{count} data points, so no gradient reaches the weights through it {gradients}"
        )
    if dead + low == count:
        zeros = f" and exactly 0 at the other {dead}" if dead else ""
        return (
            f"{subject} is saturated for these data: 0 < |{name}′| < eps {limit} at {low} "
            f"of {count} data points{zeros}, so the weights get at most eps times the "
            f"gradient through it {gradients}"
        )
    parts = []
    if dead:
        verb = "is" if dead == 1 else "are"
        parts.append(f"{dead} of {count} data points {verb} dead ({name}′ exactly 0)")
    if low:
        verb = "saturates" if low == 1 else "saturate"
        parts.append(f"{low} of {count} data points {verb} {subject} (0 < |{name}′| < eps {limit})")
    if not parts:
        return None
    return "; ".join(parts) + "; only the others move the weights in full"
