"""Computational graphs with values and gradients on every node.

``actviz graph "sigmoid(w*x + b)" --set w=5 --set b=1 --set x=0.1 --const x``
parses a small arithmetic language (:mod:`actviz.graph_expression`), builds
it from torch tensors (:mod:`actviz.graph_build`), runs ``backward`` and walks
torch's own autograd graph (``grad_fn``, ``next_functions``, with
``retain_grad`` on intermediates) to show every node's op, value and gradient
— the seed notebook's micrograd drawing, for real autograd. Activations whose
local derivative is below ``eps`` are flagged: a saturated neuron, or a dead
one when every data point saturates it. :mod:`actviz.graph_drawing` shows
the result; its renderers are re-exported here, so one import serves a notebook.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from actviz import registry
from actviz.defaults import GRAPH_EPS
from actviz.errors import RuntimeFailure, UsageError
from actviz.graph_build import Builder
from actviz.graph_drawing import Graph, Node, Written, html_tree, svg, to_dot, tree, write
from actviz.graph_expression import ExpressionError, constant, parse

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


def run(
    expression: str,
    values: Mapping[str, Sequence[float]],
    *,
    const: Sequence[str] = (),
    eps: float = GRAPH_EPS,
) -> Graph:
    """Build ``expression`` from ``values``, run backward and collect the graph."""
    import torch

    unknown = sorted(set(const) - set(values))
    if unknown:
        raise UsageError(f"--const {unknown[0]}: no such variable; give it a value with --set")
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not 0 < eps < 1:
        raise UsageError(f"--eps must be a number between 0 and 1 (got {eps!r})")
    syntax = parse(expression, list(values))
    for name, numbers in values.items():
        if not all(math.isfinite(v) for v in numbers):
            raise UsageError(f"--set {name}: values must be finite numbers (got {list(numbers)})")
    sizes = {len(v) for v in values.values() if len(v) > 1}
    if len(sizes) > 1:
        raise UsageError("variables with several values must all have the same number of them")
    tensors = {
        name: torch.tensor(v if len(v) > 1 else v[0], dtype=torch.float64).requires_grad_(
            name not in const
        )
        for name, v in values.items()
    }
    builder = Builder(tensors)
    output = builder.build(syntax.body)
    data_points = sizes.pop() if sizes else 1
    if output.numel() > 1:  # several data points: the loss is their sum, as in the seed
        output = builder.record("sum over data", output.sum(), [])
    if not output.requires_grad:
        raise UsageError("nothing to differentiate: every variable is --const")
    if output.grad_fn is None:  # "x", "(+x)": a leaf, with no operation to draw
        raise ExpressionError(
            f"{expression.strip()!r} is just a variable, with no operation to draw; write an "
            'expression such as "sigmoid(w*x + b)"'
        )
    output.backward()  # type: ignore[no-untyped-call]  # a scalar: no gradient needed
    keys: dict[int, str] = {}
    nodes = _walk(output, builder, tensors, keys)
    _refuse_non_finite(expression, nodes)
    messages = _saturation(builder, nodes, keys, data_points, eps)
    root = keys[id(output.grad_fn)]
    return Graph(expression, nodes, root, float(output.detach()), data_points, messages)


def _refuse_non_finite(expression: str, nodes: Mapping[str, Node]) -> None:
    """Refuse a graph whose values or gradients overflow float64 (exp(1000), log(0)), as
    every other command refuses a non-finite result, naming the first such node."""
    for node in nodes.values():
        for what, numbers in (("value", node.value), ("gradient", node.grad)):
            bad = [v for v in numbers or [] if not math.isfinite(v)]
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
    number = constant(operand)
    if number is not None:
        key = f"c{getattr(operand, 'col_offset', 0)}"  # one node per literal in the expression
        return Node(key, f"{number:g}", "const", [number], None)
    if isinstance(operand, ast.Name) and not tensors[operand.id].requires_grad:
        return Node(f"v_{operand.id}", operand.id, "const", _listed(tensors[operand.id]), None)
    return None


def _saturation(
    builder: Builder,
    nodes: dict[str, Node],
    keys: Mapping[int, str],
    data_points: int,
    eps: float,
) -> list[str]:
    """Flag activations whose local derivative is below eps; say what that means."""
    import torch

    saturated_points: set[int] = set()
    worst: tuple[str, float, float] | None = None
    for name, argument, result in builder.activations:
        inner = argument.detach().clone().requires_grad_(True)
        module = registry.get(name).build(registry.get(name).defaults).double()
        (local,) = torch.autograd.grad(module(inner).sum(), inner)
        flat = local.reshape(-1)
        low = (flat.abs() < eps).tolist()
        key = keys.get(id(result.grad_fn), "")
        if key in nodes:
            nodes[key].local_derivative = [float(v) for v in flat]
            nodes[key].saturated = all(low)
        for i, is_low in enumerate(low):
            if is_low:
                saturated_points.add(i if len(low) > 1 else -1)
        at = float(argument.detach().reshape(-1)[0])
        if worst is None or abs(float(flat[0])) < abs(worst[2]):
            worst = (name, at, float(flat[0]))
    if not builder.activations or worst is None:
        return []
    leaves = [n for n in nodes.values() if n.kind == "leaf" and n.grad is not None]
    largest = max((abs(g) for n in leaves for g in (n.grad or [])), default=0.0)
    if data_points == 1 and saturated_points:
        name, at, derivative = worst
        return [
            f"the neuron is saturated: {name}′({at:.4g}) = {derivative:.2e} < eps {eps:g}, "
            f"so every gradient before it vanishes (largest |grad| of a variable: {largest:.2e})"
        ]
    if data_points > 1 and len(saturated_points) == data_points:
        return [
            f"the neuron is dead for these data: its activation saturates at all {data_points} "
            f"data points (local derivative < {eps:g}), so no gradient reaches the weights "
            f"(largest |grad| of a variable: {largest:.2e})"
        ]
    if data_points > 1 and saturated_points:
        return [
            f"{len(saturated_points)} of {data_points} data points saturate the activation "
            f"(local derivative < {eps:g}); only the others move the weights"
        ]
    return []
