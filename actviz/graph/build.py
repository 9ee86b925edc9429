"""Evaluating a checked expression with torch, remembering what each op was.

torch's autograd graph knows ``MulBackward0``, not the ``×`` or ``sigmoid``
the user wrote; :class:`Builder` records, for each ``grad_fn`` it creates, the
op as written, its result (with ``retain_grad``) and its operands, and every
activation's input and output for the saturation verdicts.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from actviz import registry
from actviz.graph.expression import FUNCTIONS, OPERATORS

if TYPE_CHECKING:
    import torch


class Builder:
    """Evaluates a validated tree with torch, recording every op for the drawing."""

    def __init__(self, variables: Mapping[str, torch.Tensor]) -> None:
        self.variables = variables
        self.ops: dict[int, tuple[str, torch.Tensor, list[Any]]] = {}  # id(grad_fn) → record
        self.activations: list[tuple[str, torch.Tensor, torch.Tensor]] = []  # (name, in, out)

    def build(self, node: ast.AST) -> torch.Tensor:
        import torch

        if isinstance(node, ast.Constant):
            value = node.value
            assert isinstance(value, int | float)  # parse() allowed numbers only
            return torch.tensor(float(value), dtype=torch.float64)
        if isinstance(node, ast.Name):
            return self.variables[node.id]
        if isinstance(node, ast.UnaryOp):
            operand = self.build(node.operand)
            return (
                self.record("neg", -operand, [node.operand])
                if isinstance(node.op, ast.USub)
                else operand
            )
        if isinstance(node, ast.BinOp):
            left, right = self.build(node.left), self.build(node.right)
            operator = type(node.op)
            if operator is ast.Add:
                result = left + right
            elif operator is ast.Sub:
                result = left - right
            elif operator is ast.Mult:
                result = left * right
            elif operator is ast.Div:
                result = left / right
            else:
                result = left**right
            return self.record(OPERATORS[type(node.op)], result, [node.left, node.right])
        assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        name, argument = node.func.id, self.build(node.args[0])
        if name in FUNCTIONS:
            function: Any = getattr(torch, name)
            result = function(argument)
        else:
            module = registry.get(name).build(registry.get(name).defaults).double()
            result = module(argument)
            self.activations.append((name, argument, result))
        return self.record(name, result, [node.args[0]])

    def record(self, op: str, result: torch.Tensor, operands: list[Any]) -> torch.Tensor:
        """Remember ``result`` as the op ``op`` of ``operands`` (a leaf has nothing to say)."""
        if result.grad_fn is not None:
            result.retain_grad()
            self.ops[id(result.grad_fn)] = (op, result, operands)
        return result
