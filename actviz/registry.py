"""Which activations exist, as data.

Each :class:`Activation` names the ``torch.nn`` module to build, its parameters
(type, default, allowed range), a formula, the closed-form derivative written
with tensor methods (micrograd style: the derivative sits beside the function)
and the kinks where the derivative is one-sided. CLI choices, ``actviz list``,
the docs table and the tests all read this table; nothing else lists names.

This module must stay importable without torch: ``actviz list`` and
``actviz --help`` read it, and they must start fast.
"""

from __future__ import annotations

import copyreg
import math
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from actviz import custom

# The types live in actviz/activation.py (custom.py needs them too, without the
# table); they are re-exported here, where notebooks and the pipeline look them up.
from actviz.activation import Activation as Activation
from actviz.activation import Derivative as Derivative
from actviz.activation import Param as Param
from actviz.activation import Params as Params
from actviz.activation import ParamValue as ParamValue
from actviz.activation import free_value as free_value
from actviz.errors import (
    InvalidParameterError,
    TwoInputActivationError,
    UnknownActivationError,
    UsageError,
    arg,
)
from actviz.file_names import safe_stem

if TYPE_CHECKING:
    from torch import Tensor


# --- the closed-form derivatives, written with tensor methods only -----------
# They are evaluated on detached inputs (tests, gradient checks), so a branch
# that overflows where it is not selected is harmless. They are written to
# stay exact in float64's tails (σ(x)·σ(−x) rather than σ(1 − σ)): the
# saturation analysis asks them whether a zero from torch is the function's
# or the dtype's.


def _step(x: Tensor, at: float = 0.0) -> Tensor:
    """1 where x > at, else 0 (torch's convention at the kink itself)."""
    return (x > at).to(x.dtype)


def _inside(x: Tensor, low: float, high: float) -> Tensor:
    """1 on the open interval (low, high), else 0."""
    return ((x > low) & (x < high)).to(x.dtype)


def _slope_left(x: Tensor, slope: float) -> Tensor:
    return _step(x) * (1.0 - slope) + slope


def _d_gelu(x: Tensor, p: Params) -> Tensor:
    if p["approximate"] == "tanh":
        k = math.sqrt(2.0 / math.pi)
        t = (k * (x + 0.044715 * x**3)).tanh()
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x)
    cdf = 0.5 * (1 + (x / math.sqrt(2.0)).erf())
    pdf = (-0.5 * x * x).exp() / math.sqrt(2.0 * math.pi)
    return cdf + x * pdf


def _d_mish(x: Tensor, _: Params) -> Tensor:
    softplus = x.exp().log1p().where(x < 20, x)  # log(1 + eˣ) without overflow
    t = softplus.tanh()
    return t + x * softplus.cosh() ** -2 * x.sigmoid()  # sech², not 1 − t²: no cancellation


def _d_softplus(x: Tensor, p: Params) -> Tensor:
    beta, threshold = float(p["beta"]), float(p["threshold"])
    return (beta * x).sigmoid().where(beta * x <= threshold, 1.0)


# SELU's constants (torch.nn.SELU docs, from Klambauer et al.), as text: every digit
# for check/reference.py's 50-digit mpmath, rounded to a float for torch here.
SELU_ALPHA = "1.6732632423543772848170429916717"
SELU_SCALE = "1.0507009873554804934193349852946"
_SELU_ALPHA = float(SELU_ALPHA)
_SELU_SCALE = float(SELU_SCALE)


def _f(p: Params, key: str) -> float:
    return float(p[key])


def _float32(value: float) -> float:
    """``value`` rounded to float32, as torch stores PReLU's learnable slope."""
    rounded: float = struct.unpack("f", struct.pack("f", value))[0]
    return rounded


def _softplus_at_threshold(p: Params) -> float:
    """f′ at x = threshold/beta the way torch's softplus backward computes it: 1 if
    beta·x > threshold (after rounding), else z/(z + 1) with z = exp(beta·x)."""
    beta, threshold = _f(p, "beta"), _f(p, "threshold")
    bx = beta * (threshold / beta)
    if bx > threshold:
        return 1.0
    z = math.exp(bx)
    return z / (z + 1)


_LAMBD = Param("lambd", 0.5, "half-width of the zero band", low=0.0)

ACTIVATIONS: tuple[Activation, ...] = (
    Activation(
        "relu",
        "ReLU",
        "max(0, x)",
        "1 if x > 0 else 0",
        lambda x, p: _step(x),
        piecewise_linear=True,
        kinks=lambda p: (0.0,),
        kink_grads=lambda p: (0.0,),
        extra_aliases=("rectifier",),
    ),
    Activation(
        "relu6",
        "ReLU6",
        "min(max(0, x), 6)",
        "1 if 0 < x < 6 else 0",
        lambda x, p: _inside(x, 0.0, 6.0),
        piecewise_linear=True,
        kinks=lambda p: (0.0, 6.0),
        kink_grads=lambda p: (0.0, 0.0),
    ),
    Activation(
        "leaky_relu",
        "LeakyReLU",
        "x if x > 0 else negative_slope·x",
        "1 if x > 0 else negative_slope",
        lambda x, p: _slope_left(x, _f(p, "negative_slope")),
        params=(Param("negative_slope", 0.01, "slope for x < 0"),),
        piecewise_linear=True,
        kinks=lambda p: (0.0,),
        kink_grads=lambda p: (_f(p, "negative_slope"),),
        extra_aliases=("lrelu",),
    ),
    Activation(
        "prelu",
        "PReLU",
        "x if x > 0 else a·x (a learnable, starts at init)",
        "1 if x > 0 else a",
        lambda x, p: _slope_left(x, _f(p, "init")),
        params=(Param("init", 0.25, "initial learnable slope a for x < 0"),),
        piecewise_linear=True,
        kinks=lambda p: (0.0,),
        kink_grads=lambda p: (_float32(_f(p, "init")),),  # a float32 nn.Parameter
    ),
    Activation(
        "rrelu",
        "RReLU",
        "x if x ≥ 0 else a·x; a ~ U(lower, upper) in training, (lower + upper)/2 in eval",
        "1 if x > 0 else a",
        lambda x, p: _slope_left(x, (_f(p, "lower") + _f(p, "upper")) / 2),
        params=(
            Param("lower", 1 / 8, "lower bound of the random slope", low=0.0, high=1.0),
            Param("upper", 1 / 3, "upper bound of the random slope", low=0.0, high=1.0),
        ),
        piecewise_linear=True,
        kinks=lambda p: (0.0,),
        kink_grads=lambda p: ((_f(p, "lower") + _f(p, "upper")) / 2,),  # eval mode
        constraint=lambda p: (
            None
            if _f(p, "lower") <= _f(p, "upper")
            else f"lower ({p['lower']}) must not exceed upper ({p['upper']})"
        ),
        stochastic=True,
        notes="probed in eval mode (slope (lower+upper)/2) unless --train",
    ),
    Activation(
        "elu",
        "ELU",
        "x if x > 0 else alpha·(exp(x) − 1)",
        "1 if x > 0 else alpha·exp(x)",
        lambda x, p: (_f(p, "alpha") * x.exp()).where(x <= 0, 1.0),
        params=(Param("alpha", 1.0, "scale of the negative saturation", low=0.0),),
        kinks=lambda p: (0.0,),
        kink_grads=lambda p: (_f(p, "alpha"),),
    ),
    Activation(
        "selu",
        "SELU",
        "scale·(x if x > 0 else alpha·(exp(x) − 1)), alpha ≈ 1.6733, scale ≈ 1.0507",
        "scale if x > 0 else scale·alpha·exp(x)",
        lambda x, p: _SELU_SCALE * (_SELU_ALPHA * x.exp()).where(x <= 0, 1.0),
        kinks=lambda p: (0.0,),
        kink_grads=lambda p: (_SELU_SCALE * _SELU_ALPHA,),
    ),
    Activation(
        "celu",
        "CELU",
        "max(0, x) + min(0, alpha·(exp(x/alpha) − 1))",
        "1 if x > 0 else exp(x/alpha)",
        lambda x, p: (x / _f(p, "alpha")).exp().where(x <= 0, 1.0),
        params=(Param("alpha", 1.0, "scale of the negative saturation", low=0.0, low_open=True),),
        kinks=lambda p: (0.0,),
        kink_grads=lambda p: (1.0,),
    ),
    Activation(
        "gelu",
        "GELU",
        "x·Φ(x); approximate=tanh: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))",
        "Φ(x) + x·φ(x)",
        _d_gelu,
        params=(
            Param(
                "approximate", "none", "exact erf or tanh approximation", choices=("none", "tanh")
            ),
        ),
    ),
    Activation(
        "silu",
        "SiLU",
        "x·σ(x)",
        "σ(x)·(1 + x·(1 − σ(x)))",
        lambda x, p: x.sigmoid() * (1 + x * (-x).sigmoid()),
        extra_aliases=("swish",),
    ),
    Activation(
        "mish",
        "Mish",
        "x·tanh(softplus(x))",
        "tanh(sp) + x·sech²(sp)·σ(x), sp = softplus(x)",
        _d_mish,
    ),
    Activation(
        "hardswish",
        "Hardswish",
        "x·relu6(x + 3)/6",
        "0 if x ≤ −3, x/3 + 1/2 if −3 < x < 3, 1 if x ≥ 3",
        lambda x, p: (x / 3 + 0.5).where(x < 3, 1.0).where(x > -3, 0.0),
        kinks=lambda p: (-3.0, 3.0),
        kink_grads=lambda p: (0.0, 1.0),
        extra_aliases=("hard_swish",),
    ),
    Activation(
        "hardsigmoid",
        "Hardsigmoid",
        "relu6(x + 3)/6",
        "1/6 if −3 < x < 3 else 0",
        lambda x, p: _inside(x, -3.0, 3.0) / 6,
        piecewise_linear=True,
        kinks=lambda p: (-3.0, 3.0),
        kink_grads=lambda p: (0.0, 0.0),
        extra_aliases=("hard_sigmoid",),
    ),
    Activation(
        "hardtanh",
        "Hardtanh",
        "clamp(x, min_val, max_val)",
        "1 if min_val < x < max_val else 0",
        lambda x, p: _inside(x, _f(p, "min_val"), _f(p, "max_val")),
        params=(
            Param("min_val", -1.0, "lower clamp"),
            Param("max_val", 1.0, "upper clamp"),
        ),
        piecewise_linear=True,
        kinks=lambda p: (_f(p, "min_val"), _f(p, "max_val")),
        kink_grads=lambda p: (0.0, 0.0),
        constraint=lambda p: (
            None
            if _f(p, "min_val") < _f(p, "max_val")
            else f"min_val ({p['min_val']}) must be less than max_val ({p['max_val']})"
        ),
        extra_aliases=("hard_tanh",),
    ),
    Activation(
        "sigmoid",
        "Sigmoid",
        "σ(x) = 1/(1 + exp(−x))",
        "σ(x)·(1 − σ(x))",
        lambda x, p: x.sigmoid() * (-x).sigmoid(),  # σ(−x), not 1 − σ: exact in the tail
        extra_aliases=("logistic",),
    ),
    Activation(
        "tanh",
        "Tanh",
        "tanh(x) = (eˣ − e⁻ˣ)/(eˣ + e⁻ˣ)",
        "1 − tanh²(x)",
        lambda x, p: x.cosh() ** -2,  # sech²: 1 − tanh² cancels to 0 beyond |x| ≈ 19
    ),
    Activation(
        "softplus",
        "Softplus",
        "log(1 + exp(beta·x))/beta, or x where beta·x > threshold",
        "σ(beta·x), or 1 where beta·x > threshold",
        _d_softplus,
        params=(
            Param("beta", 1.0, "sharpness", low=0.0, low_open=True),
            Param("threshold", 20.0, "beta·x above which it returns x", low=0.0, low_open=True),
        ),
        kinks=lambda p: (_f(p, "threshold") / _f(p, "beta"),),
        kink_grads=lambda p: (_softplus_at_threshold(p),),
    ),
    Activation(
        "softsign",
        "Softsign",
        "x/(1 + |x|)",
        "1/(1 + |x|)²",
        lambda x, p: 1 / (1 + x.abs()) ** 2,
        kinks=lambda p: (0.0,),  # f″ jumps there
        kink_grads=lambda p: (1.0,),
    ),
    Activation(
        "softshrink",
        "Softshrink",
        "x − lambd if x > lambd, x + lambd if x < −lambd, else 0",
        "1 if |x| > lambd else 0",
        lambda x, p: _step(x.abs(), _f(p, "lambd")),
        params=(_LAMBD,),
        piecewise_linear=True,
        kinks=lambda p: (-_f(p, "lambd"), _f(p, "lambd")),
        kink_grads=lambda p: (0.0, 0.0),
    ),
    Activation(
        "hardshrink",
        "Hardshrink",
        "x if |x| > lambd else 0",
        "1 if |x| > lambd else 0",
        lambda x, p: _step(x.abs(), _f(p, "lambd")),
        params=(_LAMBD,),
        piecewise_linear=True,
        kinks=lambda p: (-_f(p, "lambd"), _f(p, "lambd")),
        kink_grads=lambda p: (0.0, 0.0),
    ),
    Activation(
        "tanhshrink",
        "Tanhshrink",
        "x − tanh(x)",
        "tanh²(x)",
        lambda x, p: x.tanh() ** 2,
    ),
    Activation(
        "logsigmoid",
        "LogSigmoid",
        "log σ(x) = −softplus(−x)",
        "1 − σ(x) = σ(−x)",
        lambda x, p: (-x).sigmoid(),
        extra_aliases=("log_sigmoid",),
    ),
    Activation(
        "threshold",
        "Threshold",
        "x if x > threshold else value",
        "1 if x > threshold else 0",
        lambda x, p: _step(x, _f(p, "threshold")),
        params=(
            Param("threshold", 0.1, "inputs at or below it are replaced"),
            Param("value", 20.0, "the replacement value"),
        ),
        piecewise_linear=True,
        kinks=lambda p: (_f(p, "threshold"),),
        kink_grads=lambda p: (0.0,),
        notes="defaults are the torch docs example, nn.Threshold(0.1, 20)",
    ),
)


@dataclass(frozen=True)
class TwoInputActivation:
    """An activation of two inputs (GLU). Registered so that lookup, ``actviz list``
    and export know it, but it has no f(x): only ``actviz plot`` draws it, as
    heatmaps over the plane of its two inputs (actviz/glu.py)."""

    name: str
    module: str
    formula: str  # of (a, b)
    derivative_formula: str  # the partial derivatives
    extra_aliases: tuple[str, ...] = ()
    notes: str = ""

    @property
    def aliases(self) -> tuple[str, ...]:
        return (self.module, *self.extra_aliases)

    @property
    def params(self) -> dict[str, ParamValue]:
        return {}  # none to set (export's jobs and manifest read this)

    @property
    def slug(self) -> str:
        return self.name

    def refusal(self) -> str:
        """Why a command that needs f(x) of one input cannot take it, and what can."""
        return (
            f"{self.name} takes two inputs, f(a, b) = {self.formula}, not one x; "
            f"draw it on its own with 'actviz plot {self.name}'"
        )

    def refuse_params(self, assignments: Iterable[str]) -> None:
        """Raise a usage error if any ``--param`` is given: there is nothing to set."""
        if list(assignments):
            raise InvalidParameterError(
                f"{self.name} takes no {arg('params')}: torch.nn.{self.module}'s only "
                f"argument, dim, "
                "just picks the axis that holds [a, b]"
            )


TWO_INPUT: tuple[TwoInputActivation, ...] = (
    TwoInputActivation(
        "glu",
        "GLU",
        "a·σ(b)",
        "∂/∂a = σ(b), ∂/∂b = a·σ(b)·(1 − σ(b))",
        notes="nn.GLU halves its input along dim into [a, b]; a = b = x would make it silu, "
        "so 'actviz plot glu' draws heatmaps over the (a, b) plane",
    ),
)


def _key(name: str) -> str:
    """Lookup key: case, underscores and hyphens do not matter."""
    return name.lower().replace("_", "").replace("-", "")


_INDEX: dict[str, Activation] = {}
for _act in ACTIVATIONS:
    for _name in (_act.name, *_act.aliases):
        _INDEX[_key(_name)] = _act
_TWO_INPUT_INDEX = {_key(n): t for t in TWO_INPUT for n in (t.name, *t.aliases)}


def _pickled(activation: Activation) -> tuple[Any, ...]:
    """A registered activation pickles as its name, found again in the registry where
    it is unpickled (its entry holds lambdas, which pickle cannot send): an export's
    drawing workers get the probes with their specs. Any other activation pickles
    as a dataclass does. Registered here, not as Activation.__reduce__, which would
    import the registry from below it."""
    if _INDEX.get(_key(activation.name)) is activation:
        return (get, (activation.name,))
    reduced = activation.__reduce_ex__(4)
    assert isinstance(reduced, tuple)  # (a dataclass reduces to a tuple, never a name)
    return reduced


copyreg.pickle(Activation, _pickled)


def names() -> list[str]:
    """Canonical names of every registered activation of one input, in registry order."""
    return [a.name for a in ACTIVATIONS]


def all_names() -> list[str]:
    """Every registered name, the two-input activations (GLU) included."""
    return [*names(), *(t.name for t in TWO_INPUT)]


def completions(prefix: str) -> list[str]:
    """The names a shell completes ``prefix`` to: canonical names, then aliases that
    spell another word (logistic, swish, rectifier).

    Aliases that differ from a name only in case or underscores (Sigmoid,
    hard_sigmoid) would only repeat it, so they are left out.
    """
    every = all_names()
    canonical = {_key(n) for n in every}
    spellings = [a for act in ACTIVATIONS for a in act.aliases] + [
        a for pair in TWO_INPUT for a in pair.aliases
    ]
    aliases = [a for a in spellings if _key(a) not in canonical]
    lower = prefix.lower()
    matches = [n for n in every if n.startswith(lower)]
    return matches + [a for a in dict.fromkeys(aliases) if a.lower().startswith(lower)]


def two_input(name: str) -> TwoInputActivation | None:
    """The two-input activation called ``name`` (any case, alias), or None."""
    return _TWO_INPUT_INDEX.get(_key(name))


def get(name: str) -> Activation:
    """The activation called ``name`` (canonical name or alias, any case), or the
    callable at the import path ``module:callable``."""
    if not isinstance(name, str):
        raise UnknownActivationError(
            f"an activation is given by its name, e.g. 'relu' (got {name!r}); see 'actviz list'"
        )
    if ":" in name:
        return custom.load(name)
    found = _INDEX.get(_key(name))
    if found is not None:
        return found
    pair = two_input(name)
    if pair is not None:
        raise TwoInputActivationError(pair.refusal())
    spellings = {s.lower(): a.name for a in entries() for s in (a.name, *a.aliases)}
    import difflib  # only for a misspelt name: not on every start-up

    close = difflib.get_close_matches(name.lower(), spellings, n=3, cutoff=0.6)
    suggestions = list(dict.fromkeys(spellings[c] for c in close))
    if suggestions:
        hint = "did you mean " + " or ".join(repr(s) for s in suggestions) + "?"
    else:
        hint = f"run 'actviz list' to see all {len(entries())}."
    raise UnknownActivationError(f"unknown activation {name!r}; {hint}")


@dataclass(frozen=True)
class Spec:
    """An activation together with fully resolved parameter values."""

    activation: Activation
    params: Mapping[str, ParamValue]
    # The parameters a sweep varies (actviz/params.py): named in the label and
    # slug even at their default, so that every curve of a sweep says its value.
    swept: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.activation.name

    def changed_params(self) -> dict[str, ParamValue]:
        """Only the parameters that differ from the defaults."""
        defaults = self.activation.defaults
        return {k: v for k, v in self.params.items() if v != defaults[k]}

    def shown_params(self) -> dict[str, ParamValue]:
        """What the label and slug name: the changed parameters and the swept ones."""
        changed = self.changed_params()
        return {k: v for k, v in self.params.items() if k in changed or k in self.swept}

    def __repr__(self) -> str:
        """``Spec(leaky_relu, negative_slope=0.2)``: not the registry entry with its lambdas."""
        shown = [f"{k}={format_value(v)}" for k, v in self.shown_params().items()]
        return f"Spec({', '.join([self.name, *shown])})"

    @property
    def label(self) -> str:
        """``leaky_relu(negative_slope=0.1)``; defaults are not repeated (unless swept)."""
        shown = self.shown_params()
        if not shown:
            return self.name
        return f"{self.name}({', '.join(f'{k}={format_value(v)}' for k, v in shown.items())})"

    @property
    def slug(self) -> str:
        """A stable, readable file stem: ``leaky_relu-negative_slope=0.1``."""
        stem = self.name.replace(":", "-")  # mypkg.acts:fn → mypkg.acts-fn, portable
        words = [stem, *(f"{k}={format_value(v)}" for k, v in self.shown_params().items())]
        # A text parameter can be anything (../../x): only safe characters, capped.
        return safe_stem("-".join(words))


def format_value(value: ParamValue) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def specs_of(activations: object, parameter: str = "activations") -> list[Spec]:
    """``activations`` as Specs: a name (or alias, or ``module:callable``), a
    :class:`Spec`, or a list of them; anything else is a usage error naming
    ``parameter``."""
    if isinstance(activations, (str, Spec)):
        activations = [activations]
    if (
        not isinstance(activations, (list, tuple))
        or not activations
        or not all(isinstance(a, (str, Spec)) for a in activations)
    ):
        raise UsageError(
            f"{parameter} must be an activation name, a Spec, or a non-empty list of them, "
            f"e.g. ['relu', 'tanh'] (got {activations!r:.60})"
        )
    return [a if isinstance(a, Spec) else spec(a) for a in activations]


def spec(name: str | Activation, params: Mapping[str, object] | None = None) -> Spec:
    """Look up ``name`` and check ``params`` against it."""
    activation = name if isinstance(name, Activation) else get(name)
    return Spec(activation, activation.resolve(params))


def entries() -> tuple[Activation | TwoInputActivation, ...]:
    """Every registry entry, one-input activations first (``actviz list``)."""
    return (*ACTIVATIONS, *TWO_INPUT)


def describe(activation: Activation | TwoInputActivation) -> dict[str, Any]:
    """One registry entry as plain data (``actviz list --json``, docs)."""
    if isinstance(activation, TwoInputActivation):
        return {
            "name": activation.name,
            "module": f"torch.nn.{activation.module}",
            "aliases": list(activation.aliases),
            "formula": activation.formula,
            "derivative": activation.derivative_formula,
            "params": [],
            "kinks": [],
            "piecewise_linear": False,
            "notes": activation.notes,
            "inputs": 2,
        }
    return {
        "name": activation.name,
        "module": f"torch.nn.{activation.module}",
        "aliases": list(activation.aliases),
        "formula": activation.formula,
        "derivative": activation.derivative_text(),
        "params": [
            {
                "name": p.name,
                "type": p.kind,
                "default": p.default,
                "allowed": p.allowed,
                "doc": p.doc,
            }
            for p in activation.params
        ],
        "kinks": list(activation.kinks(activation.defaults)),
        "piecewise_linear": activation.piecewise_linear,
        "notes": activation.notes,
        "inputs": 1,
    }
