"""What an activation is, as data: :class:`Param` and :class:`Activation`.

The types only; which activations exist is :mod:`actviz.registry`, and an
activation from ``module:callable`` is built by :mod:`actviz.custom`. Both
import these types from here, so neither imports the other to get them.

Like the registry, this module must stay importable without torch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from actviz.errors import InvalidParameterError, arg

if TYPE_CHECKING:
    from torch import Tensor, nn

ParamValue = float | str
Params = Mapping[str, ParamValue]
Derivative = Callable[["Tensor", Params], "Tensor"]


@dataclass(frozen=True)
class Param:
    """One constructor argument of a torch activation module."""

    name: str
    default: ParamValue
    doc: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # True: the bound itself is excluded
    choices: tuple[str, ...] = ()
    # A constructor argument of a user's own nn.Module: a number if it reads as
    # one, else text; ``required``: it has no default, so it must be given.
    free: bool = False
    required: bool = False
    # An ``int`` argument of a user's own nn.Module: a whole number, passed as an int.
    whole: bool = False

    @property
    def kind(self) -> str:
        if self.choices:
            return "choice"
        return "int" if self.whole else "any" if self.free else "float"

    @property
    def allowed(self) -> str:
        """The allowed values in words, for `actviz list` and error messages."""
        if self.choices:
            return " | ".join(self.choices)
        if self.whole:
            return "a whole number"
        if self.free:
            return "a number or text"
        if self.low is None and self.high is None:
            return "any finite number"
        parts = []
        if self.low is not None:
            parts.append(f"{'>' if self.low_open else '≥'} {self.low:g}")
        if self.high is not None:
            parts.append(f"≤ {self.high:g}")
        return ", ".join(parts)

    def coerce(self, value: object, owner: str) -> ParamValue:
        """Return ``value`` as this parameter's type, or raise a usage error."""
        if self.choices:
            text = str(value)
            if text not in self.choices:
                raise InvalidParameterError(
                    f"{owner}: {self.name} must be one of {self.allowed} (got {text!r})"
                )
            return text
        if self.whole:
            number = free_value(value)
            if isinstance(number, str) or not number.is_integer():
                raise InvalidParameterError(
                    f"{owner}: {self.name} is an int argument; give a whole number (got {value!r})"
                )
            return number
        if self.free:
            return free_value(value)
        # float() also reads "1_0" as 10, "１" (a full-width digit) as 1 and True as 1:
        # a number is written in ASCII digits, without separators, and is not a bool.
        written = isinstance(value, str) and (not value.isascii() or "_" in value)
        try:
            if written or isinstance(value, bool):
                raise ValueError(value)
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise InvalidParameterError(
                f"{owner}: {self.name} must be a number (got {value!r})"
            ) from None
        if not math.isfinite(number):
            bounds = "" if self.low is None and self.high is None else f", {self.allowed}"
            raise InvalidParameterError(
                f"{owner}: {self.name} must be a finite number{bounds} (got {value!r})"
            )
        too_low = self.low is not None and (
            number <= self.low if self.low_open else number < self.low
        )
        too_high = self.high is not None and number > self.high
        if too_low or too_high:
            raise InvalidParameterError(
                f"{owner}: {self.name} must be {self.allowed} (got {value!r})"
            )
        return number


def free_value(value: object) -> ParamValue:
    """A number if ``value`` reads as a finite one, else its text (custom modules' arguments)."""
    if isinstance(value, bool):
        return str(value)
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
    return number if math.isfinite(number) else str(value)


def _no_kinks(_: Params) -> tuple[float, ...]:
    return ()


@dataclass(frozen=True)
class Activation:
    """One registered activation function."""

    name: str
    module: str
    formula: str
    derivative_formula: str
    derivative: Derivative | None  # None: no closed form (a user's own activation)
    params: tuple[Param, ...] = ()
    extra_aliases: tuple[str, ...] = ()
    # Points where f′ (or f itself) is not smooth; torch returns a one-sided value there.
    kinks: Callable[[Params], tuple[float, ...]] = _no_kinks
    # What torch's autograd returns exactly at each kink (float64), in the order of
    # ``kinks``; tests hold it to torch bit for bit, and the listed f′ formula states it.
    kink_grads: Callable[[Params], tuple[float, ...]] = _no_kinks
    # Constraints between parameters; returns the problem in words, or None.
    constraint: Callable[[Params], str | None] | None = None
    # Straight pieces only: f″ is 0 away from the kinks.
    piecewise_linear: bool = False
    # RReLU draws random slopes in training mode.
    stochastic: bool = False
    notes: str = ""
    # Builds the module instead of torch.nn.<module> (activations from an import path).
    factory: Callable[[Params], nn.Module] | None = None
    _param_index: dict[str, Param] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_param_index", {p.name: p for p in self.params})

    @property
    def aliases(self) -> tuple[str, ...]:
        return (self.module, *self.extra_aliases)

    @property
    def defaults(self) -> dict[str, ParamValue]:
        return {p.name: p.default for p in self.params}

    def resolve(self, given: Mapping[str, object] | None = None) -> dict[str, ParamValue]:
        """Defaults overlaid with ``given``, each checked; raises on anything unknown."""
        values = self.defaults
        if given is not None and not isinstance(given, Mapping):
            raise InvalidParameterError(
                f"{self.name}: parameters are a mapping such as {{'alpha': 0.5}} (got {given!r})"
            )
        for key, raw in (given or {}).items():
            spec = self._param_index.get(key)
            if spec is None:
                raise InvalidParameterError(
                    f"{self.name} has no parameter {key!r}; {self.param_summary()}"
                )
            values[key] = spec.coerce(raw, self.name)
        missing = [p.name for p in self.params if p.required and p.name not in (given or {})]
        if missing:
            needed = " ".join(arg("params", f"{name}=VALUE") for name in missing)
            raise InvalidParameterError(f"{self.name} needs {', '.join(missing)}: give {needed}")
        if self.constraint is not None and (problem := self.constraint(values)):
            raise InvalidParameterError(f"{self.name}: {problem}")
        return values

    def derivative_text(self, params: Params | None = None) -> str:
        """The f′ formula and what torch returns at each kink (for ``params``, default
        the defaults): ``1 if x > 0 else 0; torch at the kink: f′(0) = 0``."""
        values = self.defaults if params is None else params
        at = [
            f"f′({_number(k)}) = {_number(g)}"
            for k, g in zip(self.kinks(values), self.kink_grads(values), strict=True)
        ]
        if not at:
            return self.derivative_formula
        where = "the kinks" if len(at) > 1 else "the kink"
        return f"{self.derivative_formula}; torch at {where}: {', '.join(at)}"

    def param_summary(self) -> str:
        if not self.params:
            return "it takes no parameters"

        def default(p: Param) -> object:  # an int argument's default as the int it is
            whole = p.whole and isinstance(p.default, float) and p.default.is_integer()
            return int(p.default) if whole and isinstance(p.default, float) else p.default

        listed = ", ".join(
            f"{p.name} ({p.allowed}, {'required' if p.required else f'default {default(p)}'})"
            for p in self.params
        )
        return f"allowed: {listed}"

    def build(self, params: Params, *, train: bool = False) -> nn.Module:
        """The torch module, in eval mode unless ``train``."""
        from torch import nn

        if self.factory is not None:
            return self.factory(params).train(train)
        module: nn.Module = getattr(nn, self.module)(**dict(params))
        return module.train(train)

    @property
    def custom(self) -> bool:
        """True for an activation loaded from ``module:callable`` rather than the registry."""
        return self.factory is not None


def _number(value: float) -> str:
    """A kink or its f′ in a formula: up to 10 significant digits, a real minus sign."""
    return f"{value:.10g}".replace("-", "−")
