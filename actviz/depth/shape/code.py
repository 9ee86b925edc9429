"""A shaped activation as code: the ``nn.Module``, the Activation that actviz's
own measurements take, and the source a user pastes into their model.

The module and the snippet compute the same expression in the same order,
``γ * (f(α * x + β) + δ)`` (``γ * f(x)`` for TAT's leaky relu), with the
constants written as Python floats at full precision (``repr``), so the two
agree bit for bit.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from actviz.activation import Activation

if TYPE_CHECKING:
    import torch
    from torch import nn

    from actviz.depth.shape.solve import Shaped


def _plain(shaped: Shaped) -> bool:
    """True for TAT's leaky relu: only a scale, no α, β, δ."""
    return shaped.negative_slope is not None


@lru_cache(maxsize=1)
def _module_class() -> type[nn.Module]:
    """The module class (defined on first use: torch is heavy)."""
    from torch import nn

    class ShapedActivation(nn.Module):
        """``gamma * (f(alpha * x + beta) + delta)``, or ``gamma * f(x)`` if ``plain``."""

        def __init__(
            self, f: nn.Module, alpha: float, beta: float, gamma: float, delta: float, plain: bool
        ) -> None:
            super().__init__()
            self.f = f
            self.alpha, self.beta, self.gamma, self.delta = alpha, beta, gamma, delta
            self.plain = plain

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if self.plain:
                y: torch.Tensor = self.gamma * self.f(x)
                return y
            y = self.gamma * (self.f(self.alpha * x + self.beta) + self.delta)
            return y

        def extra_repr(self) -> str:
            if self.plain:
                return f"gamma={self.gamma!r}"
            return (
                f"alpha={self.alpha!r}, beta={self.beta!r}, gamma={self.gamma!r}, "
                f"delta={self.delta!r}"
            )

    # pickle finds it as actviz.depth.shape.code.ShapedActivation, through __getattr__ below
    ShapedActivation.__module__ = __name__
    ShapedActivation.__qualname__ = "ShapedActivation"
    return ShapedActivation


def __getattr__(name: str) -> Any:
    """``actviz.depth.shape.code.ShapedActivation``: the module class, made on first use."""
    if name == "ShapedActivation":
        return _module_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def shaped_module(shaped: Shaped) -> nn.Module:
    """A new module computing φ̂: the base activation's module (eval mode) inside."""
    f = shaped.base.activation.build(shaped.base.params)
    return _module_class()(f, shaped.alpha, shaped.beta, shaped.gamma, shaped.delta,
                           _plain(shaped))  # fmt: skip


def shaped_activation(shaped: Shaped) -> Activation:
    """φ̂ as an :class:`~actviz.activation.Activation` (built from :func:`shaped_module`),
    its kinks those of the base moved to (k − β)/α."""
    base = shaped.base
    moved = tuple(sorted((k - shaped.beta) / shaped.alpha
                         for k in base.activation.kinks(base.params)))  # fmt: skip
    return Activation(
        name=f"{shaped.method}({base.label})",
        module="ShapedActivation",
        formula=_formula(shaped),
        derivative_formula="autograd only (no closed form)",
        derivative=None,
        kinks=lambda _: moved,
        piecewise_linear=base.activation.piecewise_linear,
        factory=lambda _: shaped_module(shaped),
        notes=f"{base.label} shaped by {shaped.method.upper()} for depth {shaped.depth}",
    )


def _formula(shaped: Shaped) -> str:
    name = shaped.base.label
    if _plain(shaped):
        return f"{shaped.gamma!r}·{name}(x)"
    return f"{shaped.gamma!r}·({name}({shaped.alpha!r}·x + {shaped.beta!r}) + {shaped.delta!r})"


def _constructor(shaped: Shaped) -> tuple[list[str], str]:
    """(import lines, the expression that builds the base activation)."""
    from actviz.custom import constructor_arguments

    base = shaped.base
    activation = base.activation
    if not activation.custom:
        given = ", ".join(f"{k}={v!r}" for k, v in base.params.items())
        return [], f"nn.{activation.module}({given})"
    module_name, _, attribute = activation.name.partition(":")
    top = attribute.split(".")[0]
    imports = [f"from {module_name} import {top}"]
    arguments = constructor_arguments(activation.name, base.params)
    if arguments is None:
        return imports, attribute
    listed = ", ".join(f"{k}={v!r}" for k, v in arguments.items())
    return imports, f"{attribute}({listed})"


def class_name(shaped: Shaped) -> str:
    """``DKSTanh``, ``TATLeakyReLU``, ``DKSMyAct``: a Python identifier."""
    module = shaped.base.activation.module
    words = re.split(r"[^0-9A-Za-z]+", module)
    camel = "".join(w[:1].upper() + w[1:] for w in words if w)
    return shaped.method.upper() + (camel or "Activation")


def _targets_text(shaped: Shaped) -> str:
    t = shaped.targets
    if shaped.method == "dks":
        return (f"Q(1) = 1, Q'(1) = 1, C(0) = 0 and the network's "
                f"C'(1) = {t['network_slope_at_1']!r}")  # fmt: skip
    if _plain(shaped):
        return f"Q(1) = 1 and the network's C(0) = {t['network_c0']!r}"
    tau = t["network_curvature_at_1"]
    return f"Q(1) = 1, Q'(1) = 1, C'(1) = 1 and the network's C''(1) = {tau!r}"


def snippet(shaped: Shaped) -> str:
    """Plain Python/torch source of φ̂ as an ``nn.Module`` class."""
    imports, build = _constructor(shaped)
    name = class_name(shaped)
    if _plain(shaped):
        body = f"{shaped.gamma!r} * self.f(x)"
    else:
        delta = shaped.delta
        sign = "-" if delta < 0 or (delta == 0 and str(delta).startswith("-")) else "+"
        body = (
            f"{shaped.gamma!r} * (self.f({shaped.alpha!r} * x + {shaped.beta!r}) "
            f"{sign} {abs(delta)!r})"
        )
    lines = [
        "import torch",
        "from torch import nn",
        *imports,
        "",
        "",
        f"class {name}(nn.Module):",
        f'    """{shaped.base.label} shaped by {shaped.method.upper()} for a {shaped.depth}-layer '
        "vanilla MLP (actviz shape).",
        "",
        f"    It keeps {_targets_text(shaped)}.",
        "    Use it after every hidden layer: weights of variance 1/fan_in (e.g.",
        "    nn.init.orthogonal_), no biases, inputs of mean square 1 per feature.",
        '    """',
        "",
        "    def __init__(self) -> None:",
        "        super().__init__()",
        f"        self.f = {build}",
        "",
        "    def forward(self, x: torch.Tensor) -> torch.Tensor:",
        f"        return {body}",
        "",
    ]
    return "\n".join(lines)
