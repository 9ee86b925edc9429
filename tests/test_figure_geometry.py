"""Nothing clipped, nothing overlapping: checked from matplotlib's own geometry.

Every text the figure draws (suptitle, panel titles, axis labels, the tick
labels in view, offset texts, legend) must lie inside the figure, no two may
overlap, and no legend may cover a panel. The matrix: every activation alone
in both themes, overlays of 1 to all 23 curves, ``second``, several figure
sizes.
"""

from __future__ import annotations

from functools import cache
from itertools import combinations

import pytest
from matplotlib.legend import Legend
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from actviz import params, registry
from actviz.plotting import Drawn, activation_figure
from actviz.probing import Grid, Probe, ProbeOptions, probe_many
from actviz.saturation import Saturation, analyze

NAMES = registry.names()
SLACK = 0.5  # pixels: antialiasing, not layout


DEFAULT = Grid()


@cache
def probed(name: str, second: bool = False, grid: Grid = DEFAULT) -> tuple[Probe, Saturation]:
    (p,) = probe_many(params.specs_from_cli([name]), grid, ProbeOptions(second=second))
    return p, analyze(p, dtypes=("float32",))


def figure(
    names: list[str],
    *,
    second: bool = False,
    grid: Grid = DEFAULT,
    theme: str = "light",
    figsize: tuple[float, float] | None = None,
) -> Drawn:
    pairs = [probed(n, second, grid) for n in names]
    return activation_figure([p for p, _ in pairs], saturations=[s for _, s in pairs],
                             second=second, theme=theme, figsize=figsize)  # fmt: skip


def _in_view(labels: list[Text], locs: list[float], view: tuple[float, float]) -> list[Text]:
    lo, hi = sorted(view)
    tolerance = 1e-9 * max(abs(lo), abs(hi), 1e-300)
    return [t for t, v in zip(labels, locs, strict=True) if lo - tolerance <= v <= hi + tolerance]


def texts(drawn: Drawn) -> list[tuple[str, Bbox]]:
    """(description, window extent) of every text artist that is drawn, legends whole."""
    fig = drawn.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    found: list[tuple[str, Text | Legend]] = []
    if drawn.title is not None:
        found.append(("suptitle", drawn.title))
    for i, ax in enumerate(fig.axes):
        found += [(f"ax{i} title", ax.title), (f"ax{i} xlabel", ax.xaxis.label),
                  (f"ax{i} ylabel", ax.yaxis.label), (f"ax{i} x offset", ax.xaxis.offsetText),
                  (f"ax{i} y offset", ax.yaxis.offsetText)]  # fmt: skip
        xticks = _in_view(ax.get_xticklabels(), list(ax.get_xticks()), ax.get_xlim())
        yticks = _in_view(ax.get_yticklabels(), list(ax.get_yticks()), ax.get_ylim())
        found += [(f"ax{i} xtick {t.get_text()}", t) for t in xticks]
        found += [(f"ax{i} ytick {t.get_text()}", t) for t in yticks]
        found += [(f"ax{i} text {t.get_text()}", t) for t in ax.texts]
        if (legend := ax.get_legend()) is not None:
            found.append((f"ax{i} legend", legend))
    found += [(f"legend {i}", legend) for i, legend in enumerate(fig.legends)]
    boxes = []
    for name, artist in found:
        if isinstance(artist, Text) and (not artist.get_visible() or not artist.get_text()):
            continue
        boxes.append((name, artist.get_window_extent(renderer)))
    return boxes


def problems(drawn: Drawn) -> list[str]:
    """What is clipped or overlaps, in words; empty when the figure is clean."""
    boxes = texts(drawn)
    fig = drawn.figure
    frame = fig.bbox
    found = []
    for name, box in boxes:
        if (box.x0 < frame.x0 - SLACK or box.y0 < frame.y0 - SLACK
                or box.x1 > frame.x1 + SLACK or box.y1 > frame.y1 + SLACK):  # fmt: skip
            found.append(f"{name} {box.bounds} outside the figure {frame.bounds}")
    for (a, box_a), (b, box_b) in combinations(boxes, 2):
        if _overlap(box_a, box_b):
            found.append(f"{a} {box_a.bounds} overlaps {b} {box_b.bounds}")
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    for legend in fig.legends:
        for i, ax in enumerate(fig.axes):
            if _overlap(legend.get_window_extent(renderer), ax.get_window_extent(renderer)):
                found.append(f"the legend covers panel {i}")
        legend_texts = [(t.get_text(), t.get_window_extent(renderer)) for t in legend.get_texts()]
        for (a, box_a), (b, box_b) in combinations(legend_texts, 2):
            if _overlap(box_a, box_b):
                found.append(f"legend entries {a!r} and {b!r} overlap")
    return found


def _overlap(a: Bbox, b: Bbox) -> bool:
    return (min(a.x1, b.x1) - max(a.x0, b.x0) > SLACK) and (
        min(a.y1, b.y1) - max(a.y0, b.y0) > SLACK
    )


def test_the_checker_sees_clipping_and_overlap() -> None:
    """The check can fail: a label pushed off the figure and two titles on top of each other."""
    drawn = figure(["relu"])
    assert problems(drawn) == []
    drawn.figure.axes[0].set_title("value f(x)", x=-0.5)  # half outside, on nothing else
    drawn.figure.axes[1].set_xlabel("x" * 200)
    found = problems(drawn)
    assert any(p.startswith("ax0 title") and "outside the figure" in p for p in found)
    assert any(p.startswith("ax1 xlabel") and "outside the figure" in p for p in found)
    assert any("overlaps" in p for p in found)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_activation_alone(theme: str) -> None:
    bad = {n: found for n in NAMES if (found := problems(figure([n], theme=theme)))}
    assert bad == {}


@pytest.mark.parametrize("count", [1, 2, 5, 6, 10, 16, 23])
def test_overlays(count: int) -> None:
    assert problems(figure(NAMES[:count])) == []


@pytest.mark.parametrize("count", [1, 6, 23])
def test_second_derivative(count: int) -> None:
    assert problems(figure(NAMES[:count], second=True, theme="dark")) == []


@pytest.mark.parametrize("figsize", [(7.0, 4.5), (9.6, 7.0), (18.0, 3.6)])
@pytest.mark.parametrize(
    ("names", "second"),
    [
        (["hardtanh"], False),
        (["softsign"], False),
        (["gelu"], True),
        (NAMES[:6], False),
        (NAMES, False),
        (NAMES, True),
    ],
)
def test_figure_sizes(figsize: tuple[float, float], names: list[str], second: bool) -> None:
    if second and figsize[0] < 9:
        figsize = (figsize[0] * 1.5, figsize[1])  # three panels need the width
    drawn = figure(names, second=second, figsize=figsize)
    assert tuple(drawn.figure.get_size_inches()) == figsize
    assert problems(drawn) == []


@pytest.mark.parametrize(
    ("names", "grid"),
    [
        (["gelu"], Grid(-10, -5)),
        (["relu"], Grid(-1, 1, points=3)),
        (["tanh"], Grid(-1e-4, 1e-4, points=101)),
        (["softplus"], Grid(-3000, 3000, points=11)),
    ],
)
def test_odd_ranges(names: list[str], grid: Grid) -> None:
    assert problems(figure(names, grid=grid)) == []


@pytest.mark.parametrize("figsize", [None, (7.0, 4.5)])
def test_long_peak_and_underflow_labels_still_fit(
    figsize: tuple[float, float] | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The peak and underflow texts may grow (~40 characters); the legend wraps into rows."""
    from actviz import plotting

    monkeypatch.setattr(
        plotting, "_peak_label", lambda s: "peak |f′| = 1.129 on (1.4, 1.5], and more x"
    )
    monkeypatch.setattr(
        plotting, "_underflow_label", lambda d, e: f"{d} underflow: f′ = 0 for |x| ≥ {e[0]:.6g}!"
    )
    for name in ("gelu", "hardsigmoid", "tanh"):
        drawn = figure([name], figsize=figsize)
        assert drawn.legend is not None
        texts = [t.get_text() for t in drawn.legend.get_texts()]
        assert "peak |f′| = 1.129 on (1.4, 1.5], and more x" in texts
        assert problems(drawn) == []
