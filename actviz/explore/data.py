"""The explorer's numbers: each activation at every position of its parameter
sliders, in every dtype, probed by torch (actviz.probing) and analysed
(actviz.saturation), so that the page only looks values up.

A slider offers a few values of one parameter: the values of :data:`SLIDER_VALUES`
for a registered activation (the registry says which parameters there are;
this table only which values a slider stops at), the values of a sweep
(``--sweep``), or for an activation of your own a ladder around its default
(:func:`ladder`). An activation with two sliders is computed at every
combination of their values (rrelu's lower and upper together, not one at a
time), so any position the page offers is torch's; a combination the registry
refuses (rrelu's lower above upper) keeps the registry's reason instead of a
curve. A parameter given one value (``--param``) gets no slider.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from actviz.defaults import DEFAULT_RANGE, EXPLORE_RANGE
from actviz.errors import (
    CustomActivationError,
    InvalidGridError,
    InvalidParameterError,
    UsageError,
)
from actviz.params import Sweep
from actviz.registry import Activation, Param, ParamValue, Spec, format_value, get

if TYPE_CHECKING:
    from actviz.environment import Environment
    from actviz.explore.shown import Shown
    from actviz.probing import Probe
    from actviz.saturation import Saturation

EXPLORE_DTYPES = ("float32", "bfloat16", "float16")
# Samples per curve where the dtype can hold that many distinct values (the step
# is never below the dtype's spacing at the range's ends: bfloat16 gets 321 on
# [-20, 20]). 801 keep every curve smooth at a 1,000-pixel-wide panel's zoom of
# [-8, 8] (320 samples there) and the page for all activations near 2 MB.
POINTS = 801
# Slider positions of one activation (the product of its sliders' value counts):
# each is probed and analysed in every dtype (about 20 ms each on a 2-core machine).
MAX_POSITIONS = 64

# The values each slider of a registered activation stops at: its default, the
# values people use, and the ends that show what the parameter does.
SLIDER_VALUES: dict[str, dict[str, tuple[ParamValue, ...]]] = {
    "leaky_relu": {"negative_slope": (0.0, 0.01, 0.05, 0.1, 0.2, 0.3, 0.5)},
    "prelu": {"init": (0.0, 0.1, 0.25, 0.5, 1.0)},
    "rrelu": {"lower": (0.0, 1 / 8, 0.2, 0.3, 0.5), "upper": (0.2, 1 / 3, 0.5, 0.8, 1.0)},
    "elu": {"alpha": (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0)},
    "celu": {"alpha": (0.25, 0.5, 1.0, 1.5, 2.0, 3.0)},
    "gelu": {"approximate": ("none", "tanh")},
    "softplus": {"beta": (0.5, 1.0, 2.0, 5.0, 10.0), "threshold": (1.0, 5.0, 10.0, 20.0)},
    "hardtanh": {"min_val": (-3.0, -2.0, -1.0, -0.5, 0.0), "max_val": (0.5, 1.0, 2.0, 3.0, 6.0)},
    "softshrink": {"lambd": (0.0, 0.25, 0.5, 1.0, 2.0, 3.0)},
    "hardshrink": {"lambd": (0.0, 0.25, 0.5, 1.0, 2.0, 3.0)},
    "threshold": {
        "threshold": (-1.0, 0.0, 0.1, 0.5, 1.0, 2.0),
        "value": (-1.0, 0.0, 1.0, 5.0, 20.0),
    },
}
# An activation of your own: its numeric default times these (0: these themselves).
LADDER = (0.25, 0.5, 1.0, 2.0, 4.0)
LADDER_AT_ZERO = (-1.0, -0.5, 0.0, 0.5, 1.0)


@dataclass(frozen=True)
class Slider:
    """One parameter's slider: the values it stops at, and where it starts."""

    name: str
    values: tuple[ParamValue, ...]
    start: int  # index into values

    @property
    def default(self) -> ParamValue:
        return self.values[self.start]


@dataclass(frozen=True, eq=False)
class Curve:
    """One activation at one slider position in one dtype: torch's probe and its
    analysis, or why there is none (``refused``: the registry's constraint between
    parameters, or a value the dtype cannot hold)."""

    params: Mapping[str, ParamValue]
    dtype: str
    probe: Probe | None = None
    saturation: Saturation | None = None
    refused: str | None = None
    shown: Shown | None = None  # what the page shows besides the samples

    def __repr__(self) -> str:
        state = (
            f"refused: {self.refused}"
            if self.refused
            else f"{len(self.probe.x)} samples"
            if self.probe is not None
            else "no probe"
        )
        return f"Curve({dict(self.params)}, {self.dtype}, {state})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))  # IPython's and hypothesis' printers: not every field


@dataclass(frozen=True, eq=False)
class ExploredActivation:
    """One activation of an explorer: its sliders and a :class:`Curve` per slider
    position and dtype."""

    activation: Activation
    fixed: Mapping[str, ParamValue]  # parameters given one value: no slider
    sliders: tuple[Slider, ...]
    curves: Mapping[tuple[tuple[int, ...], str], Curve]  # (position, dtype) → curve

    @property
    def name(self) -> str:
        return self.activation.name

    def __repr__(self) -> str:
        sliders = ", ".join(f"{s.name}={list(s.values)}" for s in self.sliders)
        return f"ExploredActivation({self.label}; sliders: {sliders or 'none'})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))  # IPython's and hypothesis' printers: not every field

    @property
    def label(self) -> str:
        """The name, with the parameters that have no slider where they are not defaults."""
        defaults = self.activation.defaults
        shown = {k: v for k, v in self.fixed.items() if v != defaults.get(k)}
        return Spec(self.activation, {**defaults, **shown}).label

    def positions(self) -> Iterator[tuple[int, ...]]:
        """Every slider position, the first slider varying slowest."""
        return itertools.product(*(range(len(s.values)) for s in self.sliders))

    def curve(self, dtype: str, **params: object) -> Curve:
        """The curve at the slider values ``params`` (the others at their start)."""
        index = []
        for slider in self.sliders:
            wanted = params.pop(slider.name, slider.default)
            if wanted not in slider.values:
                shown = ", ".join(map(format_value, slider.values))
                raise InvalidParameterError(
                    f"{self.name}'s {slider.name} slider stops at {shown} (got {wanted!r})"
                )
            index.append(slider.values.index(wanted))
        if params:
            raise InvalidParameterError(
                f"{self.name} has no slider for {', '.join(params)}; "
                f"its sliders: {', '.join(s.name for s in self.sliders) or 'none'}"
            )
        found = self.curves.get((tuple(index), dtype))
        if found is None:
            raise InvalidParameterError(
                f"dtype {dtype!r} was not explored; these were: {', '.join(self.dtypes)}"
            )
        return found

    @property
    def dtypes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(d for _, d in self.curves))


def ladder(param: Param) -> tuple[ParamValue, ...]:
    """The values a slider of a parameter not in :data:`SLIDER_VALUES` stops at: every
    choice (a bool argument's False and True), or the default times :data:`LADDER`
    (an int argument's rounded to whole numbers); () for text (no slider: the default)."""
    if param.choices:
        return param.choices
    if not isinstance(param.default, float) or param.required:
        return ()
    steps = LADDER if param.default != 0 else LADDER_AT_ZERO
    values = [param.default * s if param.default != 0 else s for s in steps]
    if param.whole:
        values = sorted({float(round(v)) for v in values})
    return tuple(v for v in values if _allowed(param, v))


def _allowed(param: Param, value: ParamValue) -> bool:
    try:
        param.coerce(value, "")
    except InvalidParameterError:
        return False
    return True


def sliders_of(
    activation: Activation,
    fixed: Mapping[str, ParamValue],
    swept: Mapping[str, Sequence[ParamValue]] | None = None,
) -> tuple[Slider, ...]:
    """The sliders of ``activation``: a swept parameter's values, else the table's or
    the ladder's; none for a parameter in ``fixed``."""
    table = SLIDER_VALUES.get(activation.name, {}) if not activation.custom else {}
    found = []
    for param in activation.params:
        if param.name in fixed:
            continue
        given = (swept or {}).get(param.name)
        values = tuple(given) if given is not None else table.get(param.name, ladder(param))
        if len(values) < 2:
            continue  # one value is no slider (text, required: given through fixed)
        start = values.index(param.default) if param.default in values else 0
        found.append(Slider(param.name, values, start))
    return tuple(found)


Target = str | Spec | Sweep


def _target(target: object) -> tuple[Activation, dict[str, ParamValue], dict[str, Any]]:
    """(activation, fixed parameters, swept values) of a name, Spec or Sweep."""
    if isinstance(target, str):
        return get(target), {}, {}
    if isinstance(target, Sweep):
        fixed = {k: v for k, v in target.params.items() if k in target.fixed}
        return target.activation, fixed, dict(target.as_dict())
    if isinstance(target, Spec):
        return target.activation, dict(target.changed_params()), {}
    raise UsageError(
        "activations must be activation names, Specs or Sweeps, e.g. ['relu', 'tanh'] "
        f"(got {target!r:.60})"
    )


def targets_of(activations: object) -> list[Target]:
    """``activations`` as a list of names, Specs and Sweeps (one may stand alone)."""
    if isinstance(activations, (str, Spec, Sweep)):
        return [activations]
    if not isinstance(activations, (list, tuple)) or not activations:
        raise UsageError(
            "activations must be an activation name, a Spec, a Sweep or a non-empty list of "
            f"them, e.g. ['relu', 'tanh'] (got {activations!r:.60})"
        )
    return list(activations)


@dataclass(frozen=True)
class Plan:
    """What to compute: the range, the dtypes and the activations' sliders."""

    start: float
    stop: float
    dtypes: tuple[str, ...]
    entries: tuple[tuple[Activation, dict[str, ParamValue], tuple[Slider, ...]], ...]

    def steps(self) -> dict[str, int]:
        """Sample count per dtype (see :data:`POINTS`)."""
        return {d: points_for(self.start, self.stop, d) for d in self.dtypes}


def plan(
    activations: object,
    *,
    start: float = EXPLORE_RANGE[0],
    stop: float = EXPLORE_RANGE[1],
    dtypes: Sequence[str] = EXPLORE_DTYPES,
) -> Plan:
    """Check everything that can be checked before torch runs; what :func:`compute` does."""
    import sys

    _TORCH_AT_START[:] = ["torch" in sys.modules]
    from actviz.evaluation import torch_dtype
    from actviz.probing import Grid

    if isinstance(dtypes, str) or not isinstance(dtypes, (list, tuple)) or not dtypes:
        raise UsageError(f"dtypes must be a non-empty list such as ['float32'] (got {dtypes!r})")
    chosen = tuple(dict.fromkeys(dtypes))
    for d in chosen:
        if d not in EXPLORE_DTYPES:
            raise InvalidParameterError(
                f"dtypes: {d!r} is not one the explorer offers; choose from "
                f"{', '.join(EXPLORE_DTYPES)}"
            )
    for d in chosen:
        Grid(start, stop, points_for(start, stop, d)).check_dtype(
            torch_dtype(d),
            other_dtype=False,
            other_points=False,  # explore takes neither
        )
    entries: list[tuple[Activation, dict[str, ParamValue], tuple[Slider, ...]]] = []
    for target in targets_of(activations):
        activation, fixed, swept = _target(target)
        for key, values in list(swept.items()):
            if len(values) < 2:  # one value is no slider: fixed
                fixed[key] = values[0]
                del swept[key]
        # a required parameter missing, a bad value: say so now (a swept one at its first stop)
        activation.resolve({**{k: v[0] for k, v in swept.items()}, **fixed})
        sliders = sliders_of(activation, fixed, swept)
        count = math.prod(len(s.values) for s in sliders)
        if count > MAX_POSITIONS:
            sizes = " × ".join(str(len(s.values)) for s in sliders)
            raise InvalidParameterError(
                f"{activation.name}'s sliders make {sizes} = {count} positions, above the cap "
                f"of {MAX_POSITIONS}; give fewer values (sweeps) or fix a parameter (params)"
            )
        if any(
            (a.name, f, s) == (activation.name, fixed, sliders) for a, f, s in entries
        ):  # the same activation twice (explore sigmoid sigmoid): once, as plot draws it
            continue
        entries.append((activation, fixed, sliders))
    return Plan(float(start), float(stop), chosen, tuple(entries))


def points_for(start: float, stop: float, dtype: str) -> int:
    """:data:`POINTS`, or fewer where ``dtype`` is coarser than that spacing at the
    range's ends (each sample a distinct value of the dtype)."""
    import torch

    if not (math.isfinite(start) and math.isfinite(stop)) or start >= stop:
        raise InvalidGridError(
            f"start ({start:g}) must be less than stop ({stop:g}), both finite numbers"
        )
    largest = max(abs(start), abs(stop))
    _, exponent = math.frexp(largest)
    spacing = torch.finfo(getattr(torch, dtype)).eps * 2.0 ** (exponent - 1)
    return max(2, min(POINTS, int((stop - start) / spacing) + 1))


def compute(target: Plan, jobs: int | None = None) -> tuple[ExploredActivation, ...]:
    """Probe and analyse every activation at every slider position in every dtype, in
    ``jobs`` worker processes (None: one per usable core where workers can be forked)."""
    tasks = [
        (index, position)
        for index, (_, _, sliders) in enumerate(target.entries)
        for position in itertools.product(*(range(len(s.values)) for s in sliders))
    ]
    workers = _workers(jobs, len(tasks))
    if workers > 1:
        results = _in_workers(target, tasks, workers)
    else:
        results = [_position(target, index, position) for index, position in tasks]
    curves: list[dict[tuple[tuple[int, ...], str], Curve]] = [{} for _ in target.entries]
    for (index, position), found in zip(tasks, results, strict=True):
        activation = target.entries[index][0]
        for dtype, curve in zip(target.dtypes, found, strict=True):
            curves[index][(position, dtype)] = _rebuilt(activation, curve)
    for (activation, _, _), made in zip(target.entries, curves, strict=True):
        refusals = [c.refused for c in made.values()]
        if activation.custom and all(refusals):  # no position works: one line, as plot says
            raise CustomActivationError(str(refusals[0]))
    return tuple(
        ExploredActivation(activation, dict(fixed), sliders, found)
        for (activation, fixed, sliders), found in zip(target.entries, curves, strict=True)
    )


# A curve as a worker hands it back: its probe without the Spec (whose registry
# entry holds lambdas, which do not pickle), rebuilt in the parent by _rebuilt.
Done = tuple[Curve, dict[str, Any] | None]


def _position(target: Plan, index: int, position: tuple[int, ...]) -> list[Done]:
    """The curves of one slider position, one per dtype."""
    activation, fixed, sliders = target.entries[index]
    chosen = {s.name: s.values[i] for s, i in zip(sliders, position, strict=True)}
    counts = target.steps()
    found: list[Done] = []
    for dtype in target.dtypes:
        curve = _curve(activation, {**fixed, **chosen}, dtype, target.start, target.stop,
                       counts[dtype])  # fmt: skip
        fields = None
        if curve.probe is not None:
            fields = {f.name: getattr(curve.probe, f.name)
                      for f in dataclasses.fields(curve.probe)
                      if f.init and f.name != "spec"}  # fmt: skip
            curve = Curve(curve.params, curve.dtype, None, curve.saturation, None, curve.shown)
        found.append((curve, fields))
    return found


def _rebuilt(activation: Activation, done: Done) -> Curve:
    from actviz.probing import Probe

    curve, fields = done
    if fields is None:
        return curve
    probe = Probe(spec=Spec(activation, dict(curve.params)), **fields)
    return Curve(curve.params, curve.dtype, probe, curve.saturation, None, curve.shown)


def _workers(jobs: int | None, tasks: int) -> int:
    from actviz.export.pool import can_fork, usable_cores

    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise UsageError(f"jobs must be a whole number of at least 1, or None (got {jobs!r})")
    if jobs is None:
        # As export's workers: forked only from a process whose torch has computed
        # nothing yet (a forked copy of running OpenMP threads can deadlock).
        jobs = usable_cores() if can_fork(torch_imported=_torch_ran()) else 1
    return max(1, min(jobs, usable_cores(), tasks))


_TORCH_AT_START: list[bool] = []  # set by plan(): was torch imported before this explorer?


def _torch_ran() -> bool:
    return bool(_TORCH_AT_START and _TORCH_AT_START[-1])


_WORK: list[Plan] = []  # the plan, inherited by forked workers


def _work(task: tuple[int, tuple[int, ...]]) -> list[Done]:
    return _position(_WORK[0], *task)


def _worker_init() -> None:
    import signal

    # Ctrl-C reaches the whole process group: the parent alone stops the work.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _in_workers(
    target: Plan, tasks: list[tuple[int, tuple[int, ...]]], workers: int
) -> list[list[Done]]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    # What torch's first backward(gradient) imports (sympy), imported once here and
    # shared by the forked workers, as export does (actviz.export._settle).
    import torch.fx.experimental.symbolic_shapes  # noqa: F401

    from actviz.errors import RuntimeFailure

    _WORK[:] = [target]
    executor = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_worker_init,
    )
    try:
        return list(executor.map(_work, tasks, chunksize=2))
    except BrokenProcessPool:
        raise RuntimeFailure(
            "a worker process died while computing the explorer's curves; "
            "run again with jobs=1 to see why"
        ) from None
    finally:
        for process in list((getattr(executor, "_processes", None) or {}).values()):
            if process.is_alive():
                process.terminate()
        executor.shutdown(wait=True, cancel_futures=True)
        _WORK.clear()


def _curve(
    activation: Activation,
    given: dict[str, ParamValue],
    dtype: str,
    start: float,
    stop: float,
    points: int,
) -> Curve:
    from actviz.explore.shown import shown
    from actviz.probing import probe
    from actviz.saturation import analyze

    try:
        params = activation.resolve(given)
    except InvalidParameterError as refused:  # rrelu's lower above upper
        return Curve(given, dtype, refused=str(refused))
    try:
        found = probe(
            Spec(activation, params), start=start, stop=stop, points=points, dtype=dtype,
            second=True,
        )  # fmt: skip
    except (InvalidParameterError, InvalidGridError) as refused:  # not finite in this dtype
        return Curve(params, dtype, refused=str(refused))
    except CustomActivationError as failed:  # your own, at this position: not built, not finite
        if not activation.custom:
            raise
        return Curve(params, dtype, refused=str(failed))
    saturation = analyze(found, dtypes=(dtype,))
    return Curve(params, dtype, found, saturation, shown=shown(found, saturation))


def route(explored: Sequence[ExploredActivation]) -> Environment:
    """The kernel route the curves were computed on (one process, one route)."""
    from actviz.environment import environment

    for entry in explored:
        for curve in entry.curves.values():
            if curve.saturation is not None and curve.saturation.environment is not None:
                return curve.saturation.environment
    return environment()


VIEW = DEFAULT_RANGE  # what the page shows first, where the range holds it
