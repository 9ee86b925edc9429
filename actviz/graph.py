"""Computational graphs with values and gradients on every node.

``actviz graph "sigmoid(w*x + b)" --set w=5 --set b=1 --set x=0.1 --const x``
parses a small arithmetic language (Python's ``ast`` against a whitelist,
never ``eval``), builds it from torch tensors, runs ``backward`` and walks
torch's own autograd graph (``grad_fn``, ``next_functions``, with
``retain_grad`` on intermediates) to show every node's op, value and gradient
— the seed notebook's micrograd drawing, for real autograd. Activations whose
local derivative is below ``eps`` are flagged: a saturated neuron, or a dead
one when every data point saturates it.
"""

from __future__ import annotations

import ast
import math
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from actviz import registry
from actviz.errors import RuntimeFailure, UsageError

if TYPE_CHECKING:
    import torch
    from rich.tree import Tree

MAX_LENGTH = 500
MAX_EXPONENT = 64  # a constant exponent beyond this is a typo or an attack, not a neuron
FUNCTIONS = ("exp", "log", "sqrt", "sum", "mean")
DEFAULT_EPS = 1e-3
_OPERATORS = {ast.Add: "+", ast.Sub: "−", ast.Mult: "×", ast.Div: "/", ast.Pow: "**"}
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


@dataclass
class Node:
    """One vertex of the drawn graph."""

    key: str
    op: str
    kind: str  # "leaf" (requires grad), "const", "op" or "output"
    value: list[float] | None
    grad: list[float] | None
    inputs: list[str] = field(default_factory=list)
    saturated: bool = False
    local_derivative: list[float] | None = None


@dataclass
class Graph:
    expression: str
    nodes: dict[str, Node]
    root: str
    value: float
    data_points: int
    messages: list[str]

    def __repr__(self) -> str:
        # Every node with its values and gradients ran to pages; a console gets the outline.
        return (
            f"Graph(expression={self.expression!r}, value={self.value:.4g}, "
            f"nodes={len(self.nodes)}, saturated={sum(n.saturated for n in self.nodes.values())})"
        )

    def _repr_svg_(self) -> str | None:
        """Jupyter draws the graph with Graphviz's ``dot`` where it is installed."""
        return svg(self)

    def _repr_html_(self) -> str | None:
        """Without Graphviz, Jupyter shows the tree ``actviz graph`` prints (None: the SVG shows).

        A front end prefers HTML to SVG, so only one of the two may answer.
        """
        if shutil.which("dot") is not None:
            return None
        return html_tree(self)


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
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        if isinstance(node.op, ast.Pow):
            # A plain number only: 2 ** 10 ** 10 or x ** w could blow up silently.
            exponent = _constant(node.right)
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
            raise _fail(node, text, f"unknown name; give it a value with --set {node.id}=…")
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


def _constant(node: ast.AST) -> float | None:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _constant(node.operand)
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
        try:
            values[name] = [float(v) for v in raw.split(",")]
        except ValueError:
            raise UsageError(f"--set {text!r}: values must be numbers, comma-separated") from None
    return values


class _Builder:
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
                self._record("neg", -operand, [node.operand])
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
            return self._record(_OPERATORS[type(node.op)], result, [node.left, node.right])
        assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        name, argument = node.func.id, self.build(node.args[0])
        if name in FUNCTIONS:
            function: Any = getattr(torch, name)
            result = function(argument)
        else:
            module = registry.get(name).build(registry.get(name).defaults).double()
            result = module(argument)
            self.activations.append((name, argument, result))
        return self._record(name, result, [node.args[0]])

    def _record(self, op: str, result: torch.Tensor, operands: list[Any]) -> torch.Tensor:
        if result.grad_fn is not None:
            result.retain_grad()
            self.ops[id(result.grad_fn)] = (op, result, operands)
        return result


def run(
    expression: str,
    values: Mapping[str, Sequence[float]],
    *,
    const: Sequence[str] = (),
    eps: float = DEFAULT_EPS,
) -> Graph:
    """Build ``expression`` from ``values``, run backward and collect the graph."""
    import torch

    unknown = sorted(set(const) - set(values))
    if unknown:
        raise UsageError(f"--const {unknown[0]}: no such variable; give it a value with --set")
    tree = parse(expression, list(values))
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
    builder = _Builder(tensors)
    output = builder.build(tree.body)
    data_points = sizes.pop() if sizes else 1
    if output.numel() > 1:  # several data points: the loss is their sum, as in the seed
        output = builder._record("sum over data", output.sum(), [])
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
    messages = _saturation(builder, nodes, keys, data_points, eps)
    root = keys[id(output.grad_fn)]
    return Graph(expression, nodes, root, float(output.detach()), data_points, messages)


def _listed(t: torch.Tensor | None) -> list[float] | None:
    return None if t is None else [float(v) for v in t.detach().reshape(-1)]


def _walk(
    output: torch.Tensor,
    builder: _Builder,
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
    number = _constant(operand)
    if number is not None:
        key = f"c{getattr(operand, 'col_offset', 0)}"  # one node per literal in the expression
        return Node(key, f"{number:g}", "const", [number], None)
    if isinstance(operand, ast.Name) and not tensors[operand.id].requires_grad:
        return Node(f"v_{operand.id}", operand.id, "const", _listed(tensors[operand.id]), None)
    return None


def _saturation(
    builder: _Builder,
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


def _fmt(values: list[float] | None) -> str:
    if values is None:
        return "—"
    shown = [f"{v:.4g}" for v in values]
    return shown[0] if len(shown) == 1 else "[" + ", ".join(shown) + "]"


def to_dot(graph: Graph) -> str:
    """Graphviz DOT text: data flows left to right, leaves green, saturated nodes amber."""
    colours = {"leaf": "#c7e9c0", "const": "#eeeeee", "op": "#ffffff", "output": "#c6dbef"}
    lines = [
        "digraph actviz {",
        "  rankdir=LR;",
        '  node [shape=record, fontname="Helvetica", style=filled];',
        f'  label="{_escape(graph.expression)}"; labelloc=t;',
    ]
    for node in graph.nodes.values():
        colour = "#fdae6b" if node.saturated else colours[node.kind]
        parts = [node.op, f"value {_fmt(node.value)}"]
        if node.kind != "const":
            parts.append(f"grad {_fmt(node.grad)}")
        if node.local_derivative is not None:
            parts.append(f"local f′ {_fmt(node.local_derivative)}")
        label = " | ".join(_escape(p) for p in parts)
        lines.append(f'  {node.key} [label="{{{label}}}", fillcolor="{colour}"];')
    for node in graph.nodes.values():
        for source in node.inputs:
            lines.append(f"  {source} -> {node.key};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _escape(text: str) -> str:
    for char in '\\"{}|<>':
        text = text.replace(char, "\\" + char)
    return text


RENDERED = ("svg", "png", "pdf")  # what Graphviz renders for us; .dot we write ourselves
_MAGIC = {"svg": b"<svg", "png": b"\x89PNG", "pdf": b"%PDF"}  # found in a file's first 1 KiB


def check_out(out: str | Path) -> Path:
    """``out`` as a Path if actviz can write it (.svg, .png, .pdf or .dot), else a usage error.

    Called before anything is computed or written.
    """
    target = Path(out)
    fmt = target.suffix.lstrip(".")
    if not fmt:
        raise UsageError(
            f"--out needs a file name ending in .svg, .png, .pdf or .dot (got {str(out)!r})"
        )
    if fmt != "dot" and fmt not in RENDERED:
        raise UsageError(f"cannot render .{fmt}; use .svg, .png, .pdf or .dot")
    return target


def write(graph: Graph, out: str | Path) -> tuple[Path, Path | None]:
    """Write ``.dot`` next to ``out``; render ``out`` with Graphviz's ``dot`` if installed.

    Both files are written atomically. ``dot`` reads the graph on stdin and
    writes to stdout, so no file name (``-V.svg``, say) can reach it as an
    option; what it writes is checked before it replaces ``out``.
    """
    from actviz.atomic import write_atomically, write_bytes_atomically

    target = check_out(out)
    source = to_dot(graph).encode()
    dot_path = write_bytes_atomically(target.with_suffix(".dot"), source)
    fmt = target.suffix.lstrip(".")
    program = shutil.which("dot")
    if fmt == "dot" or program is None:
        return dot_path, None

    def render(handle: BinaryIO) -> None:
        try:
            done = subprocess.run(
                [program, f"-T{fmt}"], input=source, stdout=handle, stderr=subprocess.PIPE,
                check=False, timeout=120,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            raise RuntimeFailure(f"Graphviz's dot took over 2 minutes on {dot_path}") from None
        # Its exit status alone missed a full disk (a 0-byte file): look at what it wrote.
        if done.returncode != 0 or _MAGIC[fmt] not in os.pread(handle.fileno(), 1024, 0):
            raise RuntimeFailure(_graphviz_error(done.stderr.decode(errors="replace"), target))

    write_atomically(target, render)
    return dot_path, target


def _graphviz_error(stderr: str, target: Path) -> str:
    """Graphviz's complaint as one line that says what to do."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    if any("gvwrite" in line or "No space" in line for line in lines):
        return (
            f"Graphviz could not write {target}: the disk is full or the file is not writable; "
            "free some space or choose another --out"
        )
    reason = lines[0].removeprefix("Error: ") if lines else "it wrote no image"
    return f"Graphviz's dot failed to render {target}: {reason}"


def tree(graph: Graph) -> Tree:
    """The graph as a rich tree from the output down to the leaves."""
    from rich.tree import Tree

    def label(node: Node) -> str:
        style = "bold yellow" if node.saturated else "green" if node.kind == "leaf" else "white"
        text = f"[{style}]{node.op}[/] value {_fmt(node.value)}"
        if node.kind != "const":
            text += f", grad {_fmt(node.grad)}"
        if node.saturated:
            text += " [yellow](saturated)[/]"
        return text

    def add(branch: Tree, key: str, seen: set[str]) -> None:
        node = graph.nodes[key]
        child = branch.add(label(node))
        if key in seen:
            return
        for source in node.inputs:
            add(child, source, seen | {key})

    root = Tree(f"[bold]{_escape_markup(graph.expression)}[/] = {graph.value:.4g}")
    add(root, graph.root, set())
    return root


def svg(graph: Graph) -> str | None:
    """The graph as SVG text rendered by Graphviz's ``dot``; None where it is not installed."""
    program = shutil.which("dot")
    if program is None:
        return None
    try:
        done = subprocess.run(
            [program, "-Tsvg"], input=to_dot(graph).encode(), capture_output=True, check=False,
            timeout=120,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise RuntimeFailure("Graphviz's dot took over 2 minutes to render the graph") from None
    if done.returncode != 0 or b"<svg" not in done.stdout:
        lines = done.stderr.decode(errors="replace").strip().splitlines() or ["it wrote no SVG"]
        raise RuntimeFailure(f"Graphviz's dot failed to render the graph: {lines[0]}")
    return done.stdout.decode()


def html_tree(graph: Graph) -> str:
    """The tree of :func:`tree` as nested HTML lists, from the output down to the leaves."""
    import html

    def item(key: str, seen: set[str]) -> str:
        node = graph.nodes[key]
        text = f"<b>{html.escape(node.op)}</b> value {html.escape(_fmt(node.value))}"
        if node.kind != "const":
            text += f", grad {html.escape(_fmt(node.grad))}"
        if node.saturated:
            text = f'<span style="color:#b35806">{text} (saturated)</span>'
        inputs = [] if key in seen else node.inputs
        children = "".join(item(source, seen | {key}) for source in inputs)
        return f"<li>{text}" + (f"<ul>{children}</ul>" if children else "") + "</li>"

    title = f"<b>{html.escape(graph.expression)}</b> = {graph.value:.4g}"
    return f'<div class="actviz-graph">{title}<ul>{item(graph.root, set())}</ul></div>'


def _escape_markup(text: str) -> str:
    from rich.markup import escape

    return escape(text)
