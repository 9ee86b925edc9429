"""A figure drawn into a kept Figure (plotting.FigureCache, as batch export draws) is the
figure activation_figure draws in a new one: the same bytes, the same layout to the bit."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from matplotlib import rc_context, style

from actviz import plotting
from actviz.params import specs_from_cli, sweep
from actviz.plotting import Drawn, FigureCache, activation_figure, figure_bytes
from actviz.probing import Grid, Probe, probe_many
from actviz.saturation import Saturation, analyze

Case = tuple[list[Probe], list[Saturation], dict[str, Any]]


def _case(names: list[str], grid: Grid | None = None, **options: Any) -> Case:
    probes = probe_many(specs_from_cli(names), grid or Grid())
    return probes, [analyze(p) for p in probes], options


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    """One after another in one cache: each leaves state behind that the next must not see."""
    swept = sweep("leaky_relu", {"negative_slope": [0.01, 0.1, 0.3]})
    overlay = probe_many(swept.specs, Grid())
    return [
        _case(["hardsigmoid"], theme="dark", dpi=100),
        # After hardsigmoid, a cache that left the y label where the last drawing put
        # it measured the layout a bit off and shaded one pixel column less.
        _case(["hardswish"], theme="dark", dpi=100),
        _case(["gelu"], dpi=150),
        _case(["relu"], dpi=150, xlim=(-3.0, 3.0), ylim=[(-1.0, 2.0), (-0.5, 1.5)]),
        _case(["tanh"], dpi=150),  # limits automatic again after the fixed ones
        _case(["threshold"], Grid(-2, 2, points=21), dpi=150),  # markers, broken lines
        _case(["hardshrink"], dpi=150),  # f jumps
        (overlay, [analyze(p) for p in overlay], {"dpi": 150}),  # three curves, a legend
        _case(["sigmoid"], Grid(-100, 100, points=401), dpi=150),  # underflow lines
        _case(["softplus"], dpi=150, figsize=(7.0, 3.0)),
        _case(["mish"], dpi=72),
        _case(["selu"], dpi=72),
    ]


def _state(drawn: Drawn) -> list[Any]:
    """The layout to the last bit: figure size, and each panel's position and limits."""
    found: list[Any] = [tuple(drawn.figure.get_size_inches())]
    for ax in drawn.figure.axes:
        found += [ax.get_position().bounds, ax.get_xlim(), ax.get_ylim(), ax.dataLim.bounds]
    return found


def _drawn(cache: FigureCache | None, cases: list[Case], formats: tuple[str, ...]) -> Iterator[Any]:
    """(bytes per format, layout state) of each case, as export draws them."""
    with style.context("default"):  # as export's render does
        for probes, saturations, options in cases:
            draw = activation_figure if cache is None else cache.activation_figure
            drawn = draw(probes, saturations=saturations, **options)
            dpi = options.get("dpi", 150)
            yield [figure_bytes(drawn, fmt, dpi=dpi) for fmt in formats], _state(drawn)


def test_a_kept_figure_draws_what_a_new_one_draws(cases: list[Case]) -> None:
    kept = list(_drawn(FigureCache(), cases, ("png", "svg")))
    new = list(_drawn(None, cases, ("png", "svg")))
    for options, (files, state), (fresh_files, fresh_state) in zip(
        [c[2] for c in cases], kept, new, strict=True
    ):
        assert state == fresh_state, options
        assert files == fresh_files, options


def test_the_comparison_sees_a_cache_that_leaves_state_behind(
    cases: list[Case], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Teeth: a cache that does not put the axis labels and panels back where a new
    figure has them, or that keeps the last drawing's lines, is caught."""
    new = list(_drawn(None, cases[:2], ("png",)))
    monkeypatch.setattr(plotting, "_positions", lambda axes: [])
    kept = list(_drawn(FigureCache(), cases[:2], ("png",)))
    assert kept[0] == new[0] and kept[1][1] != new[1][1]  # the second figure's layout

    monkeypatch.undo()
    cleared = plotting._clear

    def keeping_lines(fig: Any, axes: Any, size: Any, at: Any) -> None:
        lines = [(ax, list(ax.lines)) for ax in axes]
        cleared(fig, axes, size, at)
        for ax, kept_lines in lines:
            for line in kept_lines:
                ax.add_line(line)

    monkeypatch.setattr(plotting, "_clear", keeping_lines)
    kept = list(_drawn(FigureCache(), cases[2:4], ("png",)))
    fresh = list(_drawn(None, cases[2:4], ("png",)))
    assert kept[0] == fresh[0] and kept[1][0] != fresh[1][0]  # gelu's lines behind relu's


def test_a_new_layout_or_a_relayout_gets_a_new_figure(cases: list[Case]) -> None:
    cache = FigureCache()
    probes, saturations, _ = cases[2]
    first = cache.activation_figure(probes, saturations=saturations, dpi=150)
    again = cache.activation_figure(probes, saturations=saturations, dpi=150)
    assert again.figure is first.figure  # the same layout: the kept one
    other = cache.activation_figure(probes, saturations=saturations, dpi=100)
    assert other.figure is not first.figure
    figure_bytes(other, "png", dpi=72)  # laid out again at 72 dpi: not the layout asked for
    after = cache.activation_figure(probes, saturations=saturations, dpi=100)
    assert after.figure is not other.figure
    with rc_context({"axes.linewidth": 2.5}):  # Axes made under other settings
        restyled = cache.activation_figure(probes, saturations=saturations, dpi=100)
    assert restyled.figure is not after.figure
    assert figure_bytes(after, "png", dpi=100) == figure_bytes(
        activation_figure(probes, saturations=saturations, dpi=100), "png", dpi=100
    )
