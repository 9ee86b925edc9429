"""An exact reference from a formula: ``actviz check mymod:act --reference "x * sigmoid(x)"``.

The formula is in ``actviz graph``'s expression language (:mod:`actviz.graph.expression`:
Python's ``ast`` checked against a whitelist, never ``eval``), with ``x`` its one
variable. It is evaluated at 50 digits with mpmath as a truncated Taylor series
("jet"): each value carries f, f′, f″ and f‴ at once, and each operation
applies the chain rule to them, so the four come out exact to the working
precision without any differencing. A registered activation inside the formula
(``sigmoid(x)``, ``gelu(2*x)``) brings its own 50-digit f, f′, f″, f‴ from
:mod:`actviz.check.reference`, with its default parameters.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable
from typing import Any

from actviz.check.reference import (
    GENERIC_TERMS,
    REFERENCES,
    Cancellation,
    Four,
    Mpf,
    Reference,
    generic_terms,
)
from actviz.errors import UsageError, arg
from actviz.graph.expression import ExpressionError, constant, parse

VARIABLE = "x"
Jet = tuple[Mpf, Mpf, Mpf, Mpf]  # a value and its first three derivatives in x


def expression_reference(expression: str) -> Reference:
    """The :class:`~actviz.check.reference.Reference` that ``expression`` (a formula in x)
    defines; raises :class:`~actviz.graph.expression.ExpressionError` (a usage error)
    for anything outside the language, or for ``sum``/``mean``, which are not elementwise."""
    try:
        tree = parse(expression, [VARIABLE])
    except ExpressionError as error:  # graph's words (--set, its example) made a reference's
        raise ExpressionError(_reference_words(error.template, expression)) from None
    _elementwise(tree.body, expression)
    text = expression.strip()

    def exact(x: Mpf, _: Any) -> Four:
        try:
            return _jet(tree.body, x)
        except (ZeroDivisionError, ValueError) as error:
            raise ExpressionError(
                f"the reference {text!r} is not defined at x = {float(x):g} ({error}); "
                "give a formula defined on all of [-1000, 1000]"
            ) from None
        except OverflowError as error:
            raise ExpressionError(
                f"the reference {text!r} overflows at x = {float(x):g} ({error}); give a "
                "formula whose values and derivatives fit float64 on all of [-1000, 1000]"
            ) from None

    def magnitude(x: Mpf, params: Any) -> Mpf:
        return generic_terms(exact(x, params)[0], x)

    loses = Cancellation(GENERIC_TERMS, magnitude)
    return Reference(f"reference {text}", exact, {order: loses for order in range(3)})


def _reference_words(message: str, expression: str) -> str:
    if not expression.strip():
        return (
            f'the reference is empty; give a formula in x, e.g. {arg("formula")} "x * sigmoid(x)"'
        )
    if message.startswith("unknown name"):
        where = message.split(" at column ", 1)[1]
        return f"unknown name at column {where}: a reference is a formula of x alone"
    return message


def _elementwise(node: ast.AST, text: str) -> None:
    for inner in ast.walk(node):
        name = (
            inner.func.id
            if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Name)
            else ""
        )
        if name in ("sum", "mean"):
            raise ExpressionError(
                f"{name}() is not elementwise: a reference is a formula of x "
                f"alone, such as x * sigmoid(x) (in {text.strip()!r})"
            )


def _mp() -> Any:
    import mpmath

    return mpmath


# Beyond float64's range a value cannot be compared with torch's, and mpmath would
# spend minutes on exp(exp(exp(1000))): each node of the formula is refused there.
LIMIT = sys.float_info.max


def _jet(node: ast.AST, x: Mpf) -> Jet:
    jet = _node_jet(node, x)
    if any(abs(part) > LIMIT for part in jet):
        raise OverflowError("a value or derivative beyond float64's range")
    return jet


def _node_jet(node: ast.AST, x: Mpf) -> Jet:
    mp = _mp()
    zero, one = mp.mpf(0), mp.mpf(1)
    if isinstance(node, ast.Name):  # parse() allowed only x
        return x, one, zero, zero
    value = constant(node)
    if value is not None:
        return mp.mpf(value), zero, zero, zero
    if isinstance(node, ast.UnaryOp):
        inner = _jet(node.operand, x)
        return inner if isinstance(node.op, ast.UAdd) else _scaled(inner, -one)
    if isinstance(node, ast.BinOp):
        left = _jet(node.left, x)
        if isinstance(node.op, ast.Pow):
            exponent = constant(node.right)
            assert exponent is not None  # parse() allows constant exponents only
            return _power(left, mp.mpf(exponent))
        right = _jet(node.right, x)
        if isinstance(node.op, ast.Add):
            return _sum(left, right)
        if isinstance(node.op, ast.Sub):
            return _sum(left, _scaled(right, -one))
        if isinstance(node.op, ast.Mult):
            return _product(left, right)
        return _product(left, _power(right, -one))  # ast.Div
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)  # parse() checked
    return _compose(
        _FUNCTIONS.get(node.func.id) or _activation(node.func.id), _jet(node.args[0], x)
    )


def _scaled(a: Jet, c: Mpf) -> Jet:
    return a[0] * c, a[1] * c, a[2] * c, a[3] * c


def _sum(a: Jet, b: Jet) -> Jet:
    return a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3]


def _product(a: Jet, b: Jet) -> Jet:
    """Leibniz: (ab)⁽ⁿ⁾ = Σ C(n, k) a⁽ᵏ⁾ b⁽ⁿ⁻ᵏ⁾."""
    return (
        a[0] * b[0],
        a[1] * b[0] + a[0] * b[1],
        a[2] * b[0] + 2 * a[1] * b[1] + a[0] * b[2],
        a[3] * b[0] + 3 * a[2] * b[1] + 3 * a[1] * b[2] + a[0] * b[3],
    )


def _compose(g: Callable[[Mpf], Four], u: Jet) -> Jet:
    """Faà di Bruno to third order: the jet of g(u(x)) from g's derivatives at u."""
    g0, g1, g2, g3 = g(u[0])
    return (
        g0,
        g1 * u[1],
        g2 * u[1] ** 2 + g1 * u[2],
        g3 * u[1] ** 3 + 3 * g2 * u[1] * u[2] + g1 * u[3],
    )


def _power(u: Jet, c: Mpf) -> Jet:
    mp = _mp()
    if c == int(c) and c >= 0:  # x**2 at x < 0, x**0: no logarithm needed
        n = int(c)
        return _compose(
            lambda v: tuple(
                _falling(n, k) * v ** (n - k) if n >= k else mp.mpf(0) for k in range(4)
            ),
            u,
        )
    if u[0] == 0 and c < 0:
        raise ZeroDivisionError("division by zero")
    if u[0] < 0 and c != int(c):
        raise ValueError(f"a negative number to the power {mp.nstr(c, 6)}")
    return _compose(lambda v: tuple(_falling(c, k) * v ** (c - k) for k in range(4)), u)


def _falling(c: Any, k: int) -> Any:
    """c·(c−1)·…·(c−k+1), the coefficient of the k-th derivative of v**c."""
    result = 1
    for i in range(k):
        result *= c - i
    return result


def _exp(v: Mpf) -> Four:
    if v > 710:  # e^710 is beyond float64: refused before mpmath works on it
        raise OverflowError(f"exp({_mp().nstr(v, 6)}) is beyond float64's range")
    e = _mp().exp(v)
    return e, e, e, e


def _log(v: Mpf) -> Four:
    if v <= 0:
        raise ValueError("log of a number that is not positive")
    return _mp().log(v), 1 / v, -1 / v**2, 2 / v**3


def _sqrt(v: Mpf) -> Four:
    if v < 0:
        raise ValueError("sqrt of a negative number")
    if v == 0:
        raise ZeroDivisionError("the derivative of sqrt at 0")
    s = _mp().sqrt(v)
    return s, 1 / (2 * s), -1 / (4 * s * v), 3 / (8 * s * v**2)


_FUNCTIONS: dict[str, Callable[[Mpf], Four]] = {"exp": _exp, "log": _log, "sqrt": _sqrt}


def _activation(name: str) -> Callable[[Mpf], Four]:
    from actviz import registry

    found = REFERENCES.get(name)
    if found is None:  # parse() let only registered names through; GLU has no 1-D one
        raise UsageError(f"{name} has no one-input reference to use in a formula")
    params = dict(registry.get(name).defaults)
    return lambda v: found.exact(v, params)
