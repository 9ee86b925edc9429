"""The parameter grammar of the command line: ``--param`` and ``--sweep`` → specs.

``--param KEY=VALUE`` sets one value; ``--sweep KEY=V1,V2,...`` several, one
curve (table column block, survey row, check row) per value. ``KEY`` applies
to every listed activation that takes it, ``NAME.KEY`` to the named one only.
Two sweeps of one activation make a grid: every combination, the first sweep
varying slowest. Setting one parameter of one activation twice is a usage
error (never "the last one wins"), and so is a parameter no listed activation
takes.

Like the registry, this module must stay importable without torch.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from actviz.errors import InvalidParameterError, arg
from actviz.file_names import safe_stem
from actviz.registry import (
    Activation,
    ParamValue,
    Spec,
    TwoInputActivation,
    format_value,
    get,
    two_input,
)

# Curves of one command's sweeps together: each is its own probe and saturation
# analysis (about 0.1 s each on a quiet 2-core machine, three times that loaded),
# so the count is capped before any value is parsed or any curve expanded.
MAX_CURVES = 100


@dataclass(frozen=True)
class Sweep:
    """One activation at several parameter values: every combination of ``axes``.

    ``specs`` holds one resolved :class:`Spec` per combination, in order (the
    first axis varies slowest); each names the swept values in its label.
    """

    activation: Activation
    fixed: Mapping[str, object]  # the parameters set once, as given (before defaults)
    axes: tuple[tuple[str, tuple[ParamValue, ...]], ...]
    specs: tuple[Spec, ...]

    @property
    def name(self) -> str:
        return self.activation.name

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(key for key, _ in self.axes)

    @property
    def params(self) -> dict[str, ParamValue]:
        """The fixed parameters, resolved (defaults included), without the swept ones."""
        return {k: v for k, v in self.specs[0].params.items() if k not in self.keys}

    def _fixed_words(self) -> list[str]:
        defaults = self.activation.defaults
        return [f"{k}={format_value(v)}" for k, v in self.params.items() if v != defaults[k]]

    @property
    def label(self) -> str:
        """``leaky_relu(negative_slope ∈ {0.01, 0.1, 0.3})``."""
        ranges = [f"{k} ∈ {{{', '.join(map(format_value, vs))}}}" for k, vs in self.axes]
        return f"{self.name}({', '.join([*self._fixed_words(), *ranges])})"

    @property
    def slug(self) -> str:
        """The file stem of the sweep's figure: ``leaky_relu-sweep-negative_slope``."""
        stem = self.name.replace(":", "-")
        return safe_stem("-".join([stem, *self._fixed_words(), "sweep", *self.keys]))

    def as_dict(self) -> dict[str, Any]:
        """The swept values by key (JSON, the export manifest)."""
        return {key: list(values) for key, values in self.axes}

    def __repr__(self) -> str:
        """``Sweep(hardtanh, min_val=[-2, -1])``: the dataclass's own repr printed the
        registry entry with its lambdas and every resolved spec."""
        swept = [f"{k}=[{', '.join(map(format_value, vs))}]" for k, vs in self.axes]
        return f"Sweep({', '.join([self.name, *self._fixed_words(), *swept])})"


def sweep(
    activation: str | Activation,
    values: Mapping[str, Sequence[object]],
    params: Mapping[str, object] | None = None,
) -> Sweep:
    """``activation`` at every combination of ``values`` (key → list of values), with
    ``params`` fixed; e.g. ``sweep("leaky_relu", {"negative_slope": [0.01, 0.1, 0.3]})``."""
    act = activation if isinstance(activation, Activation) else get(activation)
    for name, given in (("values", values), ("params", params)):
        if not isinstance(given, Mapping) and not (name == "params" and given is None):
            raise InvalidParameterError(
                f"{name} must be a mapping such as {{'negative_slope': [0.01, 0.1]}} "
                f"(got {given!r:.60})"
            )
    check_curves([(act.name, [len(v) for v in values.values() if isinstance(v, Sequence)])])
    fixed = dict(params or {})
    index = {p.name: p for p in act.params}
    axes: list[tuple[str, tuple[ParamValue, ...]]] = []
    for key, raw in values.items():
        found = index.get(key)
        if found is None:
            raise InvalidParameterError(
                f"{act.name} has no parameter {key!r}; {act.param_summary()}"
            )
        if key in fixed:
            raise InvalidParameterError(f"{act.name}'s {key} is both fixed and swept; give it once")
        if isinstance(raw, str) or not isinstance(raw, Sequence) or not raw:
            raise InvalidParameterError(
                f"the sweep of {act.name}'s {key} needs a list of values (got {raw!r})"
            )
        coerced = tuple(found.coerce(v, act.name) for v in raw)
        twice = next((v for i, v in enumerate(coerced) if v in coerced[:i]), None)
        if twice is not None:
            raise InvalidParameterError(
                f"the sweep of {act.name}'s {key} lists {format_value(twice)} twice; "
                "give each value once"
            )
        axes.append((key, coerced))
    keys = tuple(key for key, _ in axes)
    specs = tuple(
        Spec(act, act.resolve({**fixed, **dict(zip(keys, combo, strict=True))}), swept=keys)
        for combo in itertools.product(*(vs for _, vs in axes))
    )
    return Sweep(act, fixed, tuple(axes), specs)


def check_curves(sweeps: Sequence[tuple[str, Sequence[int]]]) -> None:
    """Refuse sweeps (activation name, number of values of each swept key) that make
    more than :data:`MAX_CURVES` curves together, before they are expanded."""
    counts = [(name, sizes, math.prod(sizes)) for name, sizes in sweeps if sizes]
    total = sum(count for _, _, count in counts)
    if total > MAX_CURVES:
        parts = " + ".join(
            f"{' × '.join(f'{n:,}' for n in sizes)} ({name})" for name, sizes, _ in counts
        )
        raise InvalidParameterError(
            f"the sweeps make {parts} = {total:,} curves, above the cap of {MAX_CURVES} for "
            f"one command; give fewer values ({arg('sweeps')}, sweep()'s values)"
        )


def sweep_of(specs: Sequence[Spec]) -> Sweep | None:
    """The sweep that ``specs`` are (one activation, the same swept keys and fixed
    parameters, more than one spec), or None: titles and file names of plots say it once."""
    if len(specs) < 2 or not specs[0].swept:
        return None
    first = specs[0]
    keys = first.swept

    def fixed(s: Spec) -> dict[str, ParamValue]:
        return {k: v for k, v in s.params.items() if k not in keys}

    if any(s.activation is not first.activation or s.swept != keys for s in specs):
        return None
    if any(fixed(s) != fixed(first) for s in specs):
        return None
    axes = tuple((k, tuple(dict.fromkeys(s.params[k] for s in specs))) for k in keys)
    return Sweep(first.activation, fixed(first), axes, tuple(specs))


def parse_assignments(assignments: Iterable[str]) -> list[tuple[str | None, str, str]]:
    """Split ``KEY=VALUE`` / ``NAME.KEY=VALUE`` strings into (name, key, value)."""
    parsed: list[tuple[str | None, str, str]] = []
    for text in assignments:
        target, sep, value = text.partition("=")
        if not sep or not target.strip():
            raise InvalidParameterError(
                f"parameter {text!r} is not KEY=VALUE (e.g. --param negative_slope=0.1)"
            )
        name, dot, key = target.strip().rpartition(".")
        parsed.append((name if dot else None, key, value.strip()))
    return parsed


def parse_sweeps(sweeps: Iterable[str]) -> list[tuple[str | None, str, list[str]]]:
    """Split ``KEY=V1,V2,...`` / ``NAME.KEY=V1,V2,...`` strings into (name, key, values)."""
    parsed: list[tuple[str | None, str, list[str]]] = []
    for text in sweeps:
        target, sep, values = text.partition("=")
        if not sep or not target.strip() or not values.strip():
            raise InvalidParameterError(
                f"sweep {text!r} is not KEY=V1,V2,... (e.g. --sweep negative_slope=0.01,0.1,0.3)"
            )
        items = [v.strip() for v in values.split(",")]
        if not all(items):
            raise InvalidParameterError(
                f"sweep {text!r} has an empty value; separate the values with single commas"
            )
        name, dot, key = target.strip().rpartition(".")
        parsed.append((name if dot else None, key, items))
    return parsed


def _hits(activations: Sequence[Activation], target: str | None, key: str) -> list[int]:
    """The indices of the listed activations a ``[NAME.]KEY`` setting applies to."""
    if target is not None and get(target) not in activations:
        raise InvalidParameterError(
            f"parameter {target}.{key}: {get(target).name} is not among the activations given"
        )
    hits = [
        i
        for i, act in enumerate(activations)
        if (target is None or get(target) is act) and key in act.defaults
    ]
    if not hits:
        where = activations if target is None else [get(target)]
        raise InvalidParameterError(
            "; ".join(
                f"{a.name} has no parameter {key!r}, {a.param_summary()}"
                for a in dict.fromkeys(where)
            )
        )
    return hits


def sweeps_from_cli(
    activation_names: Sequence[str], assignments: Iterable[str] = (), sweeps: Iterable[str] = ()
) -> list[Sweep]:
    """One :class:`Sweep` per listed activation (with no axes where nothing is swept)."""
    activations = [get(n) for n in activation_names]
    # (the option as written, target, key, values, swept) in the order given
    settings = [
        (f"--param {_written(t, k, v)}", t, k, [v], False)
        for t, k, v in parse_assignments(assignments)
    ]
    settings += [
        (f"--sweep {_written(t, k, ','.join(vs))}", t, k, vs, True)
        for t, k, vs in parse_sweeps(sweeps)
    ]
    given: list[dict[str, tuple[str, list[str], bool]]] = [{} for _ in activations]
    for option, target, key, values, swept in settings:
        for i in _hits(activations, target, key):
            before = given[i].get(key)
            if before is not None and (before[1:] != (values, swept) or swept):
                hint = "; give it once"
                if not (swept or before[2]):  # two --param: what a sweep is for
                    both = ",".join(dict.fromkeys([*before[1], *values]))
                    hint += f", or compare the values with --sweep {_written(target, key, both)}"
                raise InvalidParameterError(
                    f"{before[0]} and {option} both set {activations[i].name}'s {key}{hint}"
                )
            given[i][key] = (option, values, swept)
    check_curves(
        [
            (act.name, [len(vs) for _, vs, swept in g.values() if swept])
            for act, g in zip(activations, given, strict=True)
        ]
    )
    return [
        sweep(
            act,
            {k: vs for k, (_, vs, swept) in g.items() if swept},
            {k: vs[0] for k, (_, vs, swept) in g.items() if not swept},
        )
        for act, g in zip(activations, given, strict=True)
    ]


def _written(target: str | None, key: str, value: str) -> str:
    return f"{target}.{key}={value}" if target is not None else f"{key}={value}"


def specs_from_cli(
    activation_names: Sequence[str], assignments: Iterable[str] = (), sweeps: Iterable[str] = ()
) -> list[Spec]:
    """Resolve names, ``--param`` and ``--sweep`` strings into specs: one per
    activation, or one per swept value (combination) of it, in order."""
    return [
        s for found in sweeps_from_cli(activation_names, assignments, sweeps) for s in found.specs
    ]


def targets_from_cli(
    activation_names: Sequence[str], assignments: Iterable[str] = (), sweeps: Iterable[str] = ()
) -> list[Spec | Sweep | TwoInputActivation]:
    """Like :func:`specs_from_cli`, for commands that draw one figure per activation
    (export): a swept activation comes back as its :class:`Sweep`, a two-input
    activation (GLU) as its registry entry, in order. A ``--param`` or ``--sweep``
    aimed at a two-input activation, or given when only they are named, is refused."""
    given, swept = list(assignments), list(sweeps)
    pairs = {n: t for n in activation_names if (t := two_input(n)) is not None}
    single = [n for n in activation_names if n not in pairs]
    targets = [t for t, _, _ in parse_assignments(given)] + [t for t, _, _ in parse_sweeps(swept)]
    for target in targets:
        aimed = two_input(target) if target is not None else None
        if aimed is not None or (targets and not single and pairs):
            (aimed or next(iter(pairs.values()))).refuse_params([*given, *swept])
    found = iter(sweeps_from_cli(single, given, swept))
    results: list[Spec | Sweep | TwoInputActivation] = []
    for name in activation_names:
        if name in pairs:
            results.append(pairs[name])
            continue
        one = next(found)
        results.append(one if one.axes else one.specs[0])
    return results
