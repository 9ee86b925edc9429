"""``plot --term``'s summary lines: the regime words checked against plain torch, and
the wrapping at phrase boundaries checked for every activation at every width."""

from __future__ import annotations

import re
from functools import cache

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from actviz import registry
from actviz.cli import app
from actviz.display import coord
from actviz.probing import Probe, probe
from actviz.saturation import Saturation, analyze
from actviz.terminal import SUMMARY_INDENT, summary_line, terminal_plot, wrap_phrases

# f′'s own peak |f′| in closed form: relu′ = 1 (x > 0), σ′(0) = 1/4, tanh′(0) = 1.
CLOSED_FORM_PEAK = {"relu": 1.0, "sigmoid": 0.25, "tanh": 1.0}


# --- independent evaluations ---------------------------------------------------


def _torch_grad(name: str, x: np.ndarray) -> np.ndarray:
    """f′ at ``x`` (float32 samples) by plain torch: the torch.nn module and autograd."""
    activation = registry.get(name)
    module = getattr(torch.nn, activation.module)(**activation.defaults).eval()
    xt = torch.tensor(x, dtype=torch.float32, requires_grad=True)
    module(xt).sum().backward()
    assert xt.grad is not None
    grad: np.ndarray = xt.grad.double().numpy()
    return grad


def _onsets(x: np.ndarray, below: np.ndarray) -> tuple[float | None, float | None]:
    """Innermost x on each side with every sample from there outwards ``below``."""
    if not below.any():
        return None, None
    if below.all():
        return float(x[-1]), float(x[0])
    first_above = int(np.argmin(below))
    last_above = len(x) - 1 - int(np.argmin(below[::-1]))
    left = float(x[first_above - 1]) if first_above > 0 else None
    right = float(x[last_above + 1]) if last_above < len(x) - 1 else None
    return left, right


def _tail_problems(
    phrase: str,
    x: np.ndarray,
    grad: np.ndarray,
    onset: tuple[float | None, float | None],
    span: float,
    eps: float,
) -> list[str]:
    """What is wrong with the tail phrase (``dead for x ≤ 0``, ``saturated for x ≤ -6
    and x ≥ 6 (eps 0.01)``), given the onsets and f′ on the grid: a side is dead if f′
    is exactly 0 at every sample beyond its onset, saturated otherwise; "(eps …)"
    goes with saturated (and "no saturation"), never with dead alone."""
    found = re.fullmatch(r"(.*?)(?: \(eps ([^)]*)\))?", phrase)
    assert found is not None
    body, eps_text = found.groups()
    left, right = onset
    problems = []

    def word(beyond: np.ndarray) -> str:
        return "dead" if bool((grad[beyond] == 0).all()) else "saturated"

    if left is None and right is None:
        expected, words = "no saturation in range", ["saturated"]
    elif left is not None and right is not None and left >= right:
        words = [word(np.ones(x.shape, dtype=bool))]
        expected = f"{words[0]} over the whole range"
    else:
        sides = [
            (word(x <= left), "≤", left) if left is not None else None,
            (word(x >= right), "≥", right) if right is not None else None,
        ]
        parts = [(w, f"x {sign} {coord(at, span)}") for w, sign, at in filter(None, sides)]
        words = [w for w, _ in parts]
        if len(set(words)) == 1:
            expected = f"{words[0]} for " + " and ".join(where for _, where in parts)
        else:
            expected = " and ".join(f"{w} for {where}" for w, where in parts)
    if body != expected:
        problems.append(f"says {body!r}, f′ on the grid says {expected!r}")
    want_eps = f"{eps:g}" if "saturated" in words else None
    if eps_text != want_eps:
        problems.append(f"eps {eps_text!r}, expected {want_eps!r}")
    return problems


def _phrase_problems(text: str, lines: list[str], width: int) -> list[str]:
    """Where ``lines`` fail to be ``text`` wrapped to ``width`` between its
    ``; ``-separated phrases: a line too wide, text lost or changed, a wrong indent,
    or a break inside a phrase that would have fitted on a line of its own."""
    indent = SUMMARY_INDENT
    problems = [f"line {k} is {len(line)} > {width} wide" for k, line in enumerate(lines)
                if len(line) > width]  # fmt: skip
    if lines[0][:1] == " " or any(
        line[:indent] != " " * indent or line[indent : indent + 1] == " " for line in lines[1:]
    ):
        problems.append("the first line is indented or a continuation is not by 2")
    contents = [line[indent:] if k else line for k, line in enumerate(lines)]
    if " ".join(contents) != text:
        problems.append("the lines do not join back into the text")
        return problems
    pieces = text.split("; ")
    spans, start = [], 0
    for k, piece in enumerate(pieces):
        end = start + len(piece) + (1 if k < len(pieces) - 1 else 0)  # with its ";"
        spans.append((start, end))
        start = end + 1
    boundaries = {end for _, end in spans[:-1]}  # the space after each phrase's ";"
    at = -1
    for content in contents[:-1]:
        at += 1 + len(content)  # the space that this line break stands for
        if at in boundaries:
            continue
        (piece_start, piece_end) = next((s, e) for s, e in spans if s <= at < e)
        if piece_end - piece_start <= width - indent:
            problems.append(f"{text[piece_start:piece_end]!r} is split though it fits a line")
    return problems


@cache
def _default(name: str) -> tuple[Probe, Saturation]:
    p = probe(name)
    return p, analyze(p)


def _tail(summary: str) -> str:
    return summary.split("; ")[1]


# --- the regime words ----------------------------------------------------------


def test_relu_flat_side_is_dead_for_x_le_0() -> None:
    p, s = _default("relu")
    grad = _torch_grad("relu", p.x)
    assert (grad[p.x <= 0] == 0).all() and (grad[p.x > 0] == 1).all()  # relu′ in plain torch
    assert _tail(summary_line(p, s)) == "dead for x ≤ 0"
    onset = _onsets(p.x, grad < 0.01)
    assert onset == (0.0, None)
    assert _tail_problems("dead for x ≤ 0", p.x, grad, onset, s.span, 0.01) == []
    done = CliRunner().invoke(app, ["plot", "relu", "--term"], env={"COLUMNS": "120"})
    assert done.exit_code == 0, done.output
    assert "; dead for x ≤ 0;" in done.output and "saturated" not in done.output


def test_sigmoid_tails_are_saturated_on_both_sides() -> None:
    p, s = _default("sigmoid")
    grad = _torch_grad("sigmoid", p.x)
    left, right = _onsets(p.x, np.abs(grad) < 0.01 * 0.25)
    assert left is not None and right is not None and left < 0 < right
    assert (grad[p.x <= left] != 0).any() and (grad[p.x >= right] != 0).any()  # not dead
    span = float(p.x[-1] - p.x[0])
    expected = f"saturated for x ≤ {coord(left, span)} and x ≥ {coord(right, span)} (eps 0.01)"
    assert _tail(summary_line(p, s)) == expected


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(sorted(CLOSED_FORM_PEAK)),
    start=st.floats(-60, 50),
    width=st.floats(0.5, 80),
    points=st.integers(3, 400),
    eps=st.sampled_from([0.1, 0.01, 0.001]),
)
def test_tail_words_match_plain_torch_and_closed_form_peaks(
    name: str, start: float, width: float, points: int, eps: float
) -> None:
    """Onsets and words both from plain torch's f′ and the closed-form peak |f′|."""
    p = probe(name, start=start, stop=start + width, points=points)
    s = analyze(p, eps=eps)
    grad = _torch_grad(name, p.x)
    threshold = eps * CLOSED_FORM_PEAK[name]
    # a sample within float32 rounding of the threshold could go either way: not a claim
    assume(not np.any(np.abs(np.abs(grad) - threshold) <= 1e-5 * threshold))
    onset = _onsets(p.x, np.abs(grad) < threshold)
    problems = _tail_problems(_tail(summary_line(p, s)), p.x, grad, onset, s.span, eps)
    assert problems == []


@settings(max_examples=80, deadline=None)
@given(
    name=st.sampled_from(registry.names()),
    start=st.floats(-40, 30),
    width=st.floats(0.5, 60),
    points=st.integers(3, 300),
    eps=st.sampled_from([0.1, 0.01, 0.001]),
)
def test_tail_words_of_every_activation_match_plain_torch(
    name: str, start: float, width: float, points: int, eps: float
) -> None:
    """Dead or saturated on each side as plain torch's f′ says (0 at every sample beyond
    the onset, or not), at the onsets the analysis found, in the table's digits."""
    p = probe(name, start=start, stop=start + width, points=points)
    s = analyze(p, eps=eps)
    grad = _torch_grad(name, p.x)
    assert np.array_equal(grad == 0, p.grad == 0)  # the same samples are 0 in plain torch
    phrase = _tail(summary_line(p, s))
    assert _tail_problems(phrase, p.x, grad, s.onsets[eps], s.span, eps) == []


@pytest.mark.parametrize(
    ("name", "wrong"),
    [
        ("relu", "saturated for x ≤ 0 (eps 0.01)"),  # the old word
        ("relu", "dead for x ≤ 0 (eps 0.01)"),  # dead does not depend on eps
        ("relu", "dead for x ≤ -0.1"),  # the wrong onset
        ("sigmoid", "dead for x ≤ -6 and x ≥ 6"),
        ("sigmoid", "no saturation in range (eps 0.01)"),
    ],
)
def test_the_tail_check_catches_wrong_words(name: str, wrong: str) -> None:
    p, s = _default(name)
    grad = _torch_grad(name, p.x)
    onset = _onsets(p.x, np.abs(grad) < 0.01 * CLOSED_FORM_PEAK[name])
    assert _tail_problems(wrong, p.x, grad, onset, s.span, 0.01)


def test_tail_words_for_a_side_each_and_the_whole_range() -> None:
    """hardtanh: both sides dead; sigmoid far right in float32: the whole range dead
    (σ rounds to 1), or saturated where some f′ there is not 0: checked as above."""
    for name, start, stop in [("hardtanh", -8, 8), ("sigmoid", 30, 40), ("sigmoid", -30, -20)]:
        p = probe(name, start=start, stop=stop, points=101)
        s = analyze(p)
        grad = _torch_grad(name, p.x)
        phrase = _tail(summary_line(p, s))
        assert _tail_problems(phrase, p.x, grad, s.onsets[s.eps], s.span, s.eps) == []
    p, s = _default("hardtanh")
    assert _tail(summary_line(p, s)) == "dead for x ≤ -1 and x ≥ 1"


def test_a_dead_side_and_a_saturated_side_get_a_word_each() -> None:
    """sigmoid on -12, 4, 20, 36: σ′(-12) is small but not 0; float32 rounds σ(20) and
    σ(36) to 1, so σ′ is 0 there on every kernel route this runs on (if not, the
    words must say saturated on both sides, which the check also holds them to)."""
    p = probe("sigmoid", start=-12, stop=36, points=4)
    s = analyze(p)
    grad = _torch_grad("sigmoid", p.x)
    phrase = _tail(summary_line(p, s))
    assert _tail_problems(phrase, p.x, grad, s.onsets[s.eps], s.span, s.eps) == []
    if grad[0] != 0 and (grad[2:] == 0).all():
        assert phrase == "saturated for x ≤ -12 and dead for x ≥ 20 (eps 0.01)"


# --- wrapping at phrase boundaries ---------------------------------------------

_WORD = st.text("abcdefxyz0123456789.,-=|()′≤≥[]:", min_size=1, max_size=14)
_PHRASE = st.lists(_WORD, min_size=1, max_size=9).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(phrases=st.lists(_PHRASE, min_size=1, max_size=8), width=st.integers(40, 120))
def test_wrap_phrases_breaks_only_between_phrases(phrases: list[str], width: int) -> None:
    text = "; ".join(phrases)
    assert _phrase_problems(text, wrap_phrases(text, width), width) == []


@cache
def _plot_lines(name: str, width: int) -> list[str]:
    p, _ = _default(name)
    return terminal_plot([p], width=width, height=16, color=False).splitlines()


@settings(max_examples=120, deadline=None)
@given(name=st.sampled_from(registry.names()), width=st.integers(40, 120))
def test_summaries_under_the_plot_wrap_between_phrases(name: str, width: int) -> None:
    p, s = _default(name)
    summary = summary_line(p, s)
    lines = _plot_lines(name, width)
    start = next(k for k, line in enumerate(lines) if line.startswith(f"{name}: peak |f′| ="))
    assert all(len(line) <= width for line in lines)
    wrapped = wrap_phrases(summary, width)
    assert lines[start : start + len(wrapped)] == wrapped
    assert _phrase_problems(summary, wrapped, width) == []
    rest = lines[start + len(wrapped) :]  # the route note, where a share carries a †
    if rest:
        note = " ".join(line.strip() for line in rest)
        assert _phrase_problems(note, rest, width) == []


def test_a_phrase_wider_than_the_terminal_breaks_at_spaces() -> None:
    text = "short; " + " ".join(["word"] * 30) + "; end"
    lines = wrap_phrases(text, 40)
    assert _phrase_problems(text, lines, 40) == []
    # the long phrase starts a line of its own and goes on at the same indent
    assert lines[0] == "short;" and lines[1] == "  " + " ".join(["word"] * 7)
    assert lines[-1] == "  word word; end"


def test_the_phrase_check_catches_a_mid_phrase_wrap() -> None:
    import textwrap

    p, s = _default("sigmoid")
    summary = summary_line(p, s)
    naive = textwrap.wrap(summary, 60, subsequent_indent="  ")  # breaks at any space
    problems = _phrase_problems(summary, naive, 60)
    assert any("split though it fits" in problem for problem in problems)
    assert _phrase_problems(summary, [summary], 60)  # one line, too wide
    good = wrap_phrases(summary, 60)
    assert _phrase_problems(summary, [good[0], *good[2:]], 60)  # a phrase lost
