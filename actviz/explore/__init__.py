"""``actviz explore``: one self-contained, interactive HTML page of activations,
every number in it computed by torch.

data.py probes and analyses each activation at every position of its parameter
sliders in every dtype; page.py packs the numbers into the page, which
explore.js draws (template.html and explore.css around it).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from actviz.defaults import EXPLORE_OUT, EXPLORE_RANGE
from actviz.explore.data import (
    EXPLORE_DTYPES,
    SLIDER_VALUES,
    Curve,
    ExploredActivation,
    Slider,
    compute,
    plan,
    route,
)
from actviz.explore.page import THEMES, Explorer, check_theme, html_path

__all__ = [
    "EXPLORE_DTYPES",
    "EXPLORE_RANGE",
    "SLIDER_VALUES",
    "THEMES",
    "Curve",
    "ExploredActivation",
    "Explorer",
    "Slider",
    "explore_file",
    "explorer",
]


def explorer(
    activations: object,
    *,
    start: float = EXPLORE_RANGE[0],
    stop: float = EXPLORE_RANGE[1],
    dtypes: Sequence[str] = EXPLORE_DTYPES,
    theme: str = "auto",
    jobs: int | None = None,
) -> Explorer:
    """An :class:`Explorer` of ``activations``: names (``"relu"``, ``"mypkg.acts:fn"``),
    :class:`~actviz.registry.Spec` s (their changed parameters get no slider) or
    :class:`~actviz.params.Sweep` s (their swept values are the slider's), one or a list.

    Every slider position of every activation is probed on ``[start, stop]`` in each
    of ``dtypes`` (f, f′ and f″ from autograd) and analysed (regimes, underflow
    edges). ``theme``: the page's colours at first, ``auto`` following the reader's
    browser; the page has a switch. ``jobs``: worker processes (None: one per usable
    core, forked, where this process's torch has computed nothing yet; else 1).
    """
    chosen_theme = check_theme(theme)
    target = plan(activations, start=start, stop=stop, dtypes=dtypes)
    explored = compute(target, jobs)
    return Explorer(explored, target, route(explored), chosen_theme)


def explore_file(
    activations: object,
    out: str | Path | None = None,
    *,
    start: float = EXPLORE_RANGE[0],
    stop: float = EXPLORE_RANGE[1],
    theme: str = "auto",
) -> str:
    """Write the :func:`explorer` page of ``activations`` to ``out`` (None:
    :data:`~actviz.defaults.EXPLORE_OUT`); says what it wrote. A symlink at ``out``
    is written through, as for any file you name; at the default name it is replaced."""
    chosen_theme = check_theme(theme)
    follow = out is not None
    path_given = EXPLORE_OUT if out is None else out
    html_path(path_given, "out", follow_links=follow)  # before the minutes of work, not after
    made = explorer(activations, start=start, stop=stop, theme=chosen_theme)
    path = made.write(path_given, follow_links=follow)
    curves = sum(len(a.curves) for a in made.activations)
    size = path.stat().st_size
    return (
        f"wrote {path} ({size / 1e6:.2f} MB: {len(made.activations)} activation(s), "
        f"{curves} curves in {', '.join(made.plan.dtypes)})"
    )
