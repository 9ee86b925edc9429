"""A computational graph as drawn, and every way it is shown.

:class:`Node` and :class:`Graph` are what ``actviz.graph.run`` returns; here
they become DOT text and the files ``actviz graph`` writes (``.dot`` always;
``.svg``, ``.png`` or ``.pdf`` rendered by Graphviz's ``dot`` where it is
installed), the tree it prints, and the SVG or HTML a notebook shows.
"""

from __future__ import annotations

import html
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from actviz.defaults import GRAPH_EPS
from actviz.display import number
from actviz.errors import RuntimeFailure, UsageError, arg

if TYPE_CHECKING:
    from rich.tree import Tree


@dataclass
class Node:
    """One vertex of the drawn graph."""

    key: str
    op: str
    kind: str  # "leaf" (requires grad), "const", "op" or "output"
    value: list[float] | None
    grad: list[float] | None
    inputs: list[str] = field(default_factory=list)
    # An activation's regime, in actviz's one vocabulary: "dead" where its local
    # derivative is exactly 0 at every data point, "saturated" where it is below
    # the graph's eps at every one (and not 0 at all of them); None otherwise.
    regime: str | None = None
    local_derivative: list[float] | None = None

    @property
    def dead(self) -> bool:
        return self.regime == "dead"

    @property
    def saturated(self) -> bool:
        return self.regime == "saturated"

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "op": self.op,
            "kind": self.kind,
            "value": self.value,
            "grad": self.grad,
            "inputs": list(self.inputs),
            "regime": self.regime,
            "local_derivative": self.local_derivative,
        }


@dataclass
class Graph:
    """The graph of ``expression``: its nodes by key, the output's key and value, and the
    saturation verdicts (``messages``)."""

    expression: str
    nodes: dict[str, Node]
    root: str
    value: float
    data_points: int
    messages: list[str]
    eps: float = GRAPH_EPS  # saturated: a local derivative below this

    def count(self, regime: str) -> int:
        """How many nodes are in ``regime`` ("dead" or "saturated")."""
        return sum(n.regime == regime for n in self.nodes.values())

    def as_dict(self) -> dict[str, Any]:
        """Every node with its value, gradient and regime, and the verdicts (JSON)."""
        return {
            "expression": self.expression,
            "value": self.value,
            "root": self.root,
            "data_points": self.data_points,
            "eps": self.eps,
            "nodes": [n.as_dict() for n in self.nodes.values()],
            "messages": list(self.messages),
        }

    def __repr__(self) -> str:
        # Every node with its values and gradients ran to pages; a console gets the outline:
        # the saturated count always, the dead one where there are dead nodes.
        dead = self.count("dead")
        return (
            f"Graph(expression={self.expression!r}, value={number(self.value)}, "
            f"nodes={len(self.nodes)}, {f'dead={dead}, ' if dead else ''}"
            f"saturated={self.count('saturated')})"
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


def _fmt(values: list[float] | None) -> str:
    if values is None:
        return "—"
    shown = [number(v) for v in values]
    return shown[0] if len(shown) == 1 else "[" + ", ".join(shown) + "]"


def regime_colour(regime: str) -> str:
    """The fill of a ``regime`` node ("dead" grey, "saturated" amber): the light theme's
    shading of that regime in ``actviz plot`` (:data:`actviz.plotting.REGIME_STYLE`)."""
    from actviz.plotting import REGIME_STYLE

    return _hex(REGIME_STYLE["light"][regime][0])


def _hex(colour: str) -> str:
    """A matplotlib colour as Graphviz and HTML take it: ``#f5a623`` as it is, a grey
    level such as ``0.55`` as ``#8c8c8c`` (each channel ``round(level × 255)``)."""
    if colour.startswith("#"):
        return colour
    level = float(colour)
    if not 0 <= level <= 1:
        raise ValueError(f"not a grey level: {colour!r}")
    return "#" + f"{round(level * 255):02x}" * 3


def _regime_words(graph: Graph) -> dict[str, str]:
    """What each regime present in ``graph`` means, for the legend."""
    eps = number(graph.eps)
    meaning = {"dead": "local f′ = 0", "saturated": f"0 < |local f′| < eps {eps}"}
    present = {n.regime for n in graph.nodes.values()}
    return {r: f"{r}: {words}" for r, words in meaning.items() if r in present}


def to_dot(graph: Graph) -> str:
    """Graphviz DOT text: data flows left to right, leaves green; dead activations grey
    and saturated ones amber, as ``actviz plot`` shades them, with a legend."""
    colours = {"leaf": "#c7e9c0", "const": "#eeeeee", "op": "#ffffff", "output": "#c6dbef"}
    lines = [
        "digraph actviz {",
        "  rankdir=LR;",
        '  node [shape=record, fontname="Helvetica", style=filled];',
        f'  label="{_escape(graph.expression)}"; labelloc=t;',
    ]
    for node in graph.nodes.values():
        colour = regime_colour(node.regime) if node.regime else colours[node.kind]
        parts = [node.op, f"value {_fmt(node.value)}"]
        if node.kind != "const":
            parts.append(f"grad {_fmt(node.grad)}")
        if node.local_derivative is not None:
            parts.append(f"local f′ {_fmt(node.local_derivative)}")
        if node.regime:
            parts.append(node.regime)
        label = " | ".join(_escape(p) for p in parts)
        lines.append(f'  {node.key} [label="{{{label}}}", fillcolor="{colour}"];')
    for node in graph.nodes.values():
        for source in node.inputs:
            lines.append(f"  {source} -> {node.key};")
    legend = _regime_words(graph)
    if legend:
        rows = "".join(
            f'<tr><td bgcolor="{regime_colour(r)}">{html.escape(words)}</td></tr>'
            for r, words in legend.items()
        )
        lines.append(
            '  legend [shape=plaintext, style="", label=<<table border="0" cellborder="1" '
            f'cellspacing="0" cellpadding="4">{rows}</table>>];'
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def _escape(text: str) -> str:
    for char in '\\"{}|<>':
        text = text.replace(char, "\\" + char)
    return text


DOT_TIMEOUT = 60  # seconds Graphviz's dot may take to render one graph
RENDERED = ("svg", "png", "pdf")  # what Graphviz renders for us; .dot we write ourselves
_MAGIC = {"svg": b"<svg", "png": b"\x89PNG", "pdf": b"%PDF"}  # found in a file's first 1 KiB


def check_out(out: str | Path) -> Path:
    """``out`` as a Path if actviz can write it (.svg, .png, .pdf or .dot), else a usage error;
    a folder, a fifo or a device at ``out`` (or at the ``.dot`` beside it) is refused
    with an :class:`~actviz.errors.OutputError`.

    Called before anything is computed or written.
    """
    from actviz.atomic import check_own, check_target

    target = Path(out)
    fmt = target.suffix.lstrip(".")
    if not fmt:
        raise UsageError(
            f"{arg('out')} needs a file name ending in .svg, .png, .pdf or .dot (got {str(out)!r})"
        )
    if fmt != "dot" and fmt not in RENDERED:
        raise UsageError(f"cannot render .{fmt}; use .svg, .png, .pdf or .dot")
    check_target(target, follow_links=True)  # --out is written through a link
    if fmt != "dot":
        check_own(target.with_suffix(".dot"))  # a name actviz chose: a link there is replaced
    return target


@dataclass(frozen=True)
class Written:
    """What :func:`write` wrote: the ``.dot``, the rendered image (None if there is none),
    and the line that says so (and, without Graphviz, how to render it yourself)."""

    dot: Path
    rendered: Path | None
    message: str


def write(graph: Graph, out: str | Path) -> Written:
    """Write ``.dot`` next to ``out``; render ``out`` with Graphviz's ``dot`` if installed.

    Both files are written atomically; a symlink at ``out`` is written through to its
    target, one at the ``.dot`` beside it is replaced. ``dot`` reads the graph on stdin and
    writes to stdout, so no file name (``-V.svg``, say) can reach it as an
    option; what it writes is checked before it replaces ``out``. ``out`` is checked
    before the ``.dot`` is written, so a folder there leaves nothing behind.

    SIGINT and SIGTERM stop the render at once: ``dot`` is killed and its temporary
    file removed (the signal's KeyboardInterrupt goes on up); they are held back only
    while the image replaces ``out``. A ``dot`` that runs past :data:`DOT_TIMEOUT`
    seconds is killed, and that is a :class:`~actviz.errors.RuntimeFailure`.
    """
    from actviz.atomic import check_inside, write_atomically, write_bytes_atomically

    target = check_out(out)
    source = to_dot(graph).encode()
    fmt = target.suffix.lstrip(".")
    # The .dot beside an image is a name actviz chose: a link there is replaced, not
    # followed; --out itself (the image, or a .dot you named) is written through.
    dot_path = check_inside(target.parent, target.with_suffix(".dot"))
    dot_path = write_bytes_atomically(dot_path, source, follow_links=fmt == "dot")
    program = shutil.which("dot")
    if fmt == "dot":
        return Written(dot_path, None, f"wrote {dot_path}")
    if program is None:
        return Written(dot_path, None, (
            f"wrote {dot_path}; Graphviz's dot is not installed, so no .{fmt} (apt-get install "
            f"graphviz, then: dot -T{fmt} {dot_path} -o {target})"
        ))  # fmt: skip

    def render(handle: BinaryIO) -> None:
        try:
            done = _run_dot([program, f"-T{fmt}"], source, handle)
        except subprocess.TimeoutExpired:
            raise RuntimeFailure(
                f"Graphviz's dot took over {DOT_TIMEOUT} s to render {target} and was stopped; "
                f"the graph is in {dot_path}"
            ) from None
        # Its exit status alone missed a full disk (a 0-byte file): look at what it wrote.
        if done.returncode != 0 or _MAGIC[fmt] not in os.pread(handle.fileno(), 1024, 0):
            raise RuntimeFailure(_graphviz_error(done.stderr.decode(errors="replace"), target))

    write_atomically(target, render, follow_links=True, interruptible=True)
    return Written(dot_path, target, f"wrote {dot_path} and {target}")


def _run_dot(
    command: list[str], source: bytes, stdout: BinaryIO | int
) -> subprocess.CompletedProcess[bytes]:
    """Run Graphviz's ``dot`` on ``source`` for at most :data:`DOT_TIMEOUT` seconds.

    Past the timeout (``subprocess.TimeoutExpired``) or on any exception while it runs
    (the KeyboardInterrupt of a SIGINT or SIGTERM) dot is killed and waited for, so
    none is left running after actviz.
    """
    with subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=stdout, stderr=subprocess.PIPE
    ) as process:
        try:
            out, err = process.communicate(source, timeout=DOT_TIMEOUT)
        except BaseException:
            process.kill()
            process.wait()
            raise
    return subprocess.CompletedProcess(command, process.returncode, out, err)


def _graphviz_error(stderr: str, target: Path) -> str:
    """Graphviz's complaint as one line that says what to do."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    if any("gvwrite" in line or "No space" in line for line in lines):
        return (
            f"Graphviz could not write {target}: the disk is full or the file is not writable; "
            f"free some space or choose another {arg('out')}"
        )
    reason = lines[0].removeprefix("Error: ") if lines else "it wrote no image"
    return f"Graphviz's dot failed to render {target}: {reason}"


def tree(graph: Graph) -> Tree:
    """The graph as a rich tree from the output down to the leaves."""
    from rich.tree import Tree

    from actviz.tables import REGIME_STYLES  # the colours `actviz table` gives each regime

    def label(node: Node) -> str:
        style = (
            f"bold {REGIME_STYLES[node.regime]}" if node.regime
            else "green" if node.kind == "leaf" else "white"
        )  # fmt: skip
        text = f"[{style}]{node.op}[/] value {_fmt(node.value)}"
        if node.kind != "const":
            text += f", grad {_fmt(node.grad)}"
        if node.regime:
            text += f" [{REGIME_STYLES[node.regime]}]({node.regime})[/]"
        return text

    def add(branch: Tree, key: str, seen: set[str]) -> None:
        node = graph.nodes[key]
        child = branch.add(label(node))
        if key in seen:
            return
        for source in node.inputs:
            add(child, source, seen | {key})

    root = Tree(f"[bold]{_escape_markup(graph.expression)}[/] = {number(graph.value)}")
    add(root, graph.root, set())
    return root


def svg(graph: Graph) -> str | None:
    """The graph as SVG text rendered by Graphviz's ``dot``; None where it is not installed."""
    program = shutil.which("dot")
    if program is None:
        return None
    try:
        done = _run_dot([program, "-Tsvg"], to_dot(graph).encode(), subprocess.PIPE)
    except subprocess.TimeoutExpired:
        raise RuntimeFailure(
            f"Graphviz's dot took over {DOT_TIMEOUT} s to render the graph and was stopped"
        ) from None
    if done.returncode != 0 or b"<svg" not in done.stdout:
        lines = done.stderr.decode(errors="replace").strip().splitlines() or ["it wrote no SVG"]
        raise RuntimeFailure(f"Graphviz's dot failed to render the graph: {lines[0]}")
    return done.stdout.decode()


def html_tree(graph: Graph) -> str:
    """The tree of :func:`tree` as nested HTML lists, from the output down to the leaves."""

    def item(key: str, seen: set[str]) -> str:
        node = graph.nodes[key]
        text = f"<b>{html.escape(node.op)}</b> value {html.escape(_fmt(node.value))}"
        if node.kind != "const":
            text += f", grad {html.escape(_fmt(node.grad))}"
        if node.regime:  # shaded as the DOT node and `actviz plot` shade it
            colour = regime_colour(node.regime)
            text = f'<span style="background-color:{colour}">{text} ({node.regime})</span>'
        inputs = [] if key in seen else node.inputs
        children = "".join(item(source, seen | {key}) for source in inputs)
        return f"<li>{text}" + (f"<ul>{children}</ul>" if children else "") + "</li>"

    title = f"<b>{html.escape(graph.expression)}</b> = {number(graph.value)}"
    return f'<div class="actviz-graph">{title}<ul>{item(graph.root, set())}</ul></div>'


def _escape_markup(text: str) -> str:
    from rich.markup import escape

    return escape(text)
