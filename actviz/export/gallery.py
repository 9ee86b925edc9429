"""``index.html``: the gallery of an export, one card per activation, built from the
manifest's entries (their numbers worded here, as every table words them) into
``gallery.html``, a :class:`string.Template` shipped as package data.

string.Template, not jinja2: the page has one loop (the cards, escaped and joined
here) and nine values, and its ``$name`` placeholders leave the CSS's braces as
CSS writes them; jinja2 (installed with torch, but not a dependency of actviz)
would add a dependency for what a standard-library class does.
"""

from __future__ import annotations

import functools
import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from string import Template
from types import SimpleNamespace
from typing import Any

from actviz.defaults import DEFAULT_THEME, IMAGE_FORMATS
from actviz.display import (
    MISSING,
    SUMMARY_LABELS,
    definition_words,
    number,
    peak_place,
    percent,
)
from actviz.export.manifest import route_line
from actviz.registry import two_input

INDEX = "index.html"
# `actviz explore`'s page: the gallery links to it when it is in the same folder.
EXPLORE = "explore.html"


@dataclass(frozen=True)
class Card:
    """One activation in the gallery: what its card shows, from the manifest entries."""

    slug: str
    activation: str
    label: str
    formula: str
    files: tuple[str, ...]  # the formats exported, png first
    summary: dict[str, Any] | None  # None: a two-input activation (GLU)
    theme: str = DEFAULT_THEME
    environment: str = ""  # the kernel route its numbers were measured on, in one line


def gallery_cards(files: Mapping[str, dict[str, Any]]) -> list[Card]:
    """The gallery's cards, one per activation (file stem), sorted by name."""
    formats: dict[str, list[str]] = {}
    first: dict[str, dict[str, Any]] = {}
    for name, entry in files.items():
        slug, _, fmt = name.rpartition(".")
        formats.setdefault(slug, []).append(fmt)
        first.setdefault(slug, entry)
    order = {fmt: i for i, fmt in enumerate(IMAGE_FORMATS)}
    return [
        Card(
            slug=slug,
            activation=first[slug]["activation"],
            label=first[slug]["label"],
            formula=first[slug]["formula"],
            files=tuple(sorted(formats[slug], key=lambda f: order.get(f, len(order)))),
            summary=first[slug]["saturation"],
            theme=first[slug].get("theme", DEFAULT_THEME),
            environment=route_line(first, slug),
        )
        for slug in sorted(formats)
    ]


def gallery_page(
    rendered: Sequence[Card], theme: str | None = None, *, explore: bool = False
) -> bytes:
    """``index.html``: one card per activation, self-contained, relative image paths;
    with ``explore``, a link to the interactive page explore.html beside it."""
    cards = []
    for result in rendered:
        image_format = next((f for f in ("png", "svg") if f in result.files), None)
        name = f"{result.slug}.{image_format or next(iter(result.files))}"
        # A link around the image: a click opens it at full size.
        picture = (
            f'<a href="{html.escape(name)}" title="open the full-size image">'
            f'<img src="{html.escape(name)}" alt="{html.escape(result.label)}: value and gradient">'
            "</a>"
            if image_format
            else f'<a href="{html.escape(name)}">{html.escape(name)}</a>'
        )
        facts = _facts(result)
        rows = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in facts)
        links = " · ".join(
            f'<a href="{html.escape(result.slug)}.{f}">{f}</a>' for f in result.files
        )
        cards.append(
            f'<figure id="{html.escape(result.slug)}">{picture}<figcaption>'
            f"<h2>{html.escape(result.label)}</h2><code>{html.escape(result.formula)}</code>"
            f"<dl>{rows}</dl><p>{links}</p></figcaption></figure>"
        )
    from actviz.plotting import regime_colour_names

    # The page follows this export's theme; mending after a failure, the cards'.
    theme = theme or (rendered[0].theme if rendered else DEFAULT_THEME)
    # Underflow edges and dead shares depend on the kernel route: say which one(s).
    lines = sorted({c.environment for c in rendered if c.environment})
    route = html.escape("; ".join(lines) or "an unknown route")
    link = (
        f'<p class="explore">Move a slider instead: <a href="{EXPLORE}">{EXPLORE}</a> draws '
        "every activation interactively (parameters, dtypes, hover readouts).</p>"
        if explore
        else ""
    )
    page = _template().substitute(
        _CSS[theme],
        explore=link,
        count=len(rendered),
        cards="\n".join(cards),
        theme=theme,
        shading=regime_colour_names(theme),
        route=route,
    )
    return page.encode()


@functools.cache
def _template() -> Template:
    """``gallery.html``, shipped beside this module (``[tool.setuptools.package-data]``)."""
    return Template(files("actviz.export").joinpath("gallery.html").read_text(encoding="utf-8"))


def _facts(card: Card) -> list[tuple[str, str]]:
    """The numbers under a gallery card, worded from the manifest's numbers as
    ``actviz table`` words them; for GLU, its partials and inputs instead."""
    s = card.summary
    if s is None:
        pair = two_input(card.activation)
        assert pair is not None
        return [
            ("partials", pair.derivative_formula),
            ("inputs", "a (passed through), b (gate); no saturation summary for two inputs"),
        ]
    if "sweep" in s:  # a sweep: one line per value
        return [
            (
                v["label"],
                f"{SUMMARY_LABELS['peak']} {_peak(v)}; dead {percent(v['fractions']['dead'])}, "
                f"saturated {percent(v['fractions']['saturated'])}",
            )
            for v in s["sweep"]
        ]
    return [
        (SUMMARY_LABELS["peak"], _peak(s)),
        (SUMMARY_LABELS["origin"], f"{number(s['f0'], _DTYPE)}, {number(s['grad0'], _DTYPE)}"),
        ("dead", percent(s["fractions"]["dead"])),
        ("saturated", percent(s["fractions"]["saturated"])),
        *_zero_facts(s),
    ]


_DTYPE = "float32"  # an export probes in float32 (its manifest entries' "dtype")


def _peak(summary: Mapping[str, Any]) -> str:
    """``1 on (0, 7.9]``: the peak |f′| and where, from the recorded numbers."""
    return peak_place(
        summary["peak_grad"],
        [SimpleNamespace(**run) for run in summary["peak_runs"]],
        span=summary["span"],
        dtype=_DTYPE,
        first=summary["peak_at"],
        last=summary["peak_last"],
    )


def _zero_facts(summary: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Where f′ is 0 by definition, and where float32 rounds it to 0: two facts."""
    from actviz.underflow import Interval, Underflow

    left, right = summary["grad_underflow"].get(_DTYPE, [None, None])
    left_kind, right_kind = summary["grad_zero_kind"].get(_DTYPE, [None, None])
    found = Underflow(_DTYPE, left, right, None, None, grad_left_kind=left_kind,
                      grad_right_kind=right_kind)  # fmt: skip
    intervals = [
        Interval(
            -math.inf if i["from"] is None else i["from"],
            math.inf if i["to"] is None else i["to"],
            i["from_closed"],
            i["to_closed"],
        )
        for i in summary["zero_by_definition"]
    ]
    facts = []
    if (flat := definition_words(intervals)) != MISSING:
        facts.append((SUMMARY_LABELS["definition"], flat))
    edges = [found.side(side, "underflow") for side in ("left", "right")]
    label = SUMMARY_LABELS["underflow"].format(dtype=_DTYPE)
    facts.append((label, " / ".join(number(edge) for edge in edges)))
    return facts


# The page follows the images' theme: dark cards around dark figures.
_CSS = {
    "light": {"page": "#fafafa", "text": "#222", "card": "#fff", "border": "#ddd", "muted": "#666",
              "link": "#0645ad"},
    "dark": {"page": "#111", "text": "#e8e8e8", "card": "#000", "border": "#444", "muted": "#aaa",
             "link": "#8ab4f8"},
}  # fmt: skip


def explore_beside(out: Path) -> bool:
    """Whether ``actviz explore``'s page is in the folder (the gallery then links to it)."""
    return (out / EXPLORE).is_file()
