"""The expression language of ``actviz graph``: parsed, never evaluated here.

Python's ``ast`` checked against a whitelist (numbers, the names given with
``--set``, + − × / and constant powers, activations and a few functions),
never ``eval``; and the ``--set NAME=VALUE[,VALUE…]`` grammar.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence

from actviz import registry
from actviz.errors import UsageError, arg

MAX_LENGTH = 500
MAX_EXPONENT = 64  # a constant exponent beyond this is a typo or an attack, not a neuron
FUNCTIONS = ("exp", "log", "sqrt", "sum", "mean")
OPERATORS = {ast.Add: "+", ast.Sub: "−", ast.Mult: "×", ast.Div: "/", ast.Pow: "**"}
_DESCRIPTIONS = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscripts",
    ast.Lambda: "lambdas",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.Compare: "comparisons",
    ast.BoolOp: "boolean operators",
    ast.IfExp: "conditional expressions",
    ast.NamedExpr: "assignment expressions",
    ast.JoinedStr: "strings",
    ast.Starred: "starred arguments",
}


class ExpressionError(UsageError):
    """The expression is not in actviz's small arithmetic language."""


def parse(expression: str, variables: Sequence[str]) -> ast.Expression:
    """The validated syntax tree of ``expression``; raises :class:`ExpressionError`."""
    text = expression.strip()
    if not text:
        raise ExpressionError('the expression is empty; e.g. actviz graph "sigmoid(w*x + b)"')
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as error:
        column = error.offset or 1
        raise ExpressionError(f"invalid expression at column {column}: {error.msg}") from None
    _check(tree.body, text, set(variables))
    return tree


def _fail(node: ast.AST, text: str, problem: str) -> ExpressionError:
    segment = ast.get_source_segment(text, node) or type(node).__name__
    column = getattr(node, "col_offset", 0) + 1
    return ExpressionError(f"{problem} at column {column}: {segment!r}")


def _check(node: ast.AST, text: str, variables: set[str]) -> None:
    if isinstance(node, ast.BinOp) and type(node.op) in OPERATORS:
        if isinstance(node.op, ast.Pow):
            # A plain number only: 2 ** 10 ** 10 or x ** w could blow up silently.
            exponent = constant(node.right)
            if exponent is None or abs(exponent) > MAX_EXPONENT:
                raise _fail(
                    node.right, text, f"exponents must be numbers between −{MAX_EXPONENT} and "
                    f"{MAX_EXPONENT}"
                )  # fmt: skip
        _check(node.left, text, variables)
        _check(node.right, text, variables)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        _check(node.operand, text, variables)
    elif isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise _fail(node, text, "only numbers are allowed as constants")
        if abs(node.value) > 1e300:
            raise _fail(node, text, "numbers are limited to ±1e300")
    elif isinstance(node, ast.Name):
        if node.id not in variables:
            raise _fail(
                node, text, f"unknown name; give it a value with {arg('values')} {node.id}=…"
            )
    elif isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):  # os.system(…), (lambda: …)(…): say which
            _check(node.func, text, variables)
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name is None or (name not in FUNCTIONS and name not in _activation_names()):
            raise _fail(
                node.func, text, "unknown function (activations, exp, log, sqrt, sum, mean)"
            )
        if node.keywords or len(node.args) != 1:
            raise _fail(node, text, "functions take exactly one argument")
        _check(node.args[0], text, variables)
    else:
        what = _DESCRIPTIONS.get(type(node), f"{type(node).__name__} syntax")
        raise _fail(node, text, f"{what} not allowed")


def constant(node: ast.AST) -> float | None:
    """The number a literal such as ``2`` or ``-0.5`` stands for; None for anything else."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = constant(node.operand)
        return None if inner is None else -inner
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    return None


def _activation_names() -> set[str]:
    return set(registry.names())


def parse_assignments(assignments: Sequence[str]) -> dict[str, list[float]]:
    """``["w=5", "x=1.1,-0.4"]`` → ``{"w": [5.0], "x": [1.1, -0.4]}``."""
    values: dict[str, list[float]] = {}
    for text in assignments:
        name, sep, raw = text.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise UsageError(f"--set {text!r} is not NAME=VALUE (e.g. --set x=1.1,-0.4)")
        if name in values:  # never "the last one wins": several values go in one --set
            raise UsageError(
                f"--set {name} is given twice; give several values as --set {name}=1,2"
            )
        try:
            values[name] = [float(v) for v in raw.split(",")]
        except ValueError:
            raise UsageError(f"--set {text!r}: values must be numbers, comma-separated") from None
    return values
