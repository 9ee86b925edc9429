"""The registry as data: lookup, aliases, parameters and their checks."""

from __future__ import annotations

import pytest
import torch

from actviz import params, registry
from actviz.errors import InvalidParameterError, UnknownActivationError

# The one hand-written list: the inventory of torch.nn's elementwise
# activations, so that the registry cannot silently miss one.
TORCH_ELEMENTWISE = {
    "ReLU",
    "ReLU6",
    "LeakyReLU",
    "PReLU",
    "RReLU",
    "ELU",
    "SELU",
    "CELU",
    "GELU",
    "SiLU",
    "Mish",
    "Hardswish",
    "Hardsigmoid",
    "Hardtanh",
    "Sigmoid",
    "Tanh",
    "Softplus",
    "Softsign",
    "Softshrink",
    "Hardshrink",
    "Tanhshrink",
    "LogSigmoid",
    "Threshold",
}


def test_every_elementwise_torch_activation_is_registered_once() -> None:
    modules = [a.module for a in registry.ACTIVATIONS]
    assert sorted(modules) == sorted(TORCH_ELEMENTWISE)
    assert len(set(registry.names())) == len(registry.names())
    for act in registry.ACTIVATIONS:
        assert act.name == act.name.lower()
        assert isinstance(act.build(act.defaults), getattr(torch.nn, act.module))


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("leaky_relu", "leaky_relu"),
        ("LeakyReLU", "leaky_relu"),
        ("leakyrelu", "leaky_relu"),
        ("swish", "silu"),
        ("SiLU", "silu"),
        ("logistic", "sigmoid"),
        ("Sigmoid", "sigmoid"),
        ("log-sigmoid", "logsigmoid"),
        ("hard_swish", "hardswish"),
    ],
)
def test_aliases(query: str, name: str) -> None:
    assert registry.get(query).name == name


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("sigmod", "unknown activation 'sigmod'; did you mean 'sigmoid' or 'logsigmoid'?"),
        ("relu7", "unknown activation 'relu7'; did you mean 'relu' or 'rrelu' or 'relu6'?"),
        ("banana", "unknown activation 'banana'; run 'actviz list' to see all 24."),
        ("gluu", "unknown activation 'gluu'; did you mean 'glu' or 'gelu'?"),
    ],
)
def test_unknown_names_suggest(query: str, message: str) -> None:
    with pytest.raises(UnknownActivationError) as caught:
        registry.get(query)
    assert str(caught.value) == message


def test_parameters_are_checked() -> None:
    assert registry.spec("elu", {"alpha": "0.5"}).params == {"alpha": 0.5}
    with pytest.raises(InvalidParameterError, match="elu has no parameter 'beta'; allowed: alpha"):
        registry.spec("elu", {"beta": 1})
    with pytest.raises(InvalidParameterError, match=r"elu: alpha must be a number \(got 'abc'\)"):
        registry.spec("elu", {"alpha": "abc"})
    with pytest.raises(InvalidParameterError, match=r"celu: alpha must be > 0 \(got '0'\)"):
        registry.spec("celu", {"alpha": "0"})
    with pytest.raises(InvalidParameterError, match="must be one of none | tanh"):
        registry.spec("gelu", {"approximate": "erf"})
    with pytest.raises(InvalidParameterError, match=r"min_val \(2.0\) must be less than max_val"):
        registry.spec("hardtanh", {"min_val": 2, "max_val": 1})
    with pytest.raises(InvalidParameterError, match="it takes no parameters"):
        registry.spec("relu", {"alpha": 1})
    with pytest.raises(InvalidParameterError, match=r"slope must be a finite number \(got"):
        registry.spec("leaky_relu", {"negative_slope": "nan"})
    # not "must be ≥ 0": the value is no number at all (an outsider was told so for nan)
    for value in ("nan", "1e309", "-inf", float("nan")):
        with pytest.raises(InvalidParameterError, match=r"alpha must be a finite number, ≥ 0"):
            registry.spec("elu", {"alpha": value})
    # what float() would take but nobody writes as a number: separators, other
    # scripts' digits, a bool
    for value in ("1_0", "１", True):
        with pytest.raises(InvalidParameterError, match=r"elu: alpha must be a number \(got"):
            registry.spec("elu", {"alpha": value})
    assert registry.spec("elu", {"alpha": "2.5e-1"}).params["alpha"] == 0.25


def test_cli_assignments() -> None:
    # The grammar is actviz/params.py's; the registry resolves each value.
    specs = params.specs_from_cli(["leaky_relu", "elu"], ["negative_slope=0.1", "elu.alpha=2"])
    assert [s.label for s in specs] == ["leaky_relu(negative_slope=0.1)", "elu(alpha=2)"]
    assert specs[0].slug == "leaky_relu-negative_slope=0.1"
    both = params.specs_from_cli(["elu", "celu"], ["alpha=0.5"])
    assert [s.params["alpha"] for s in both] == [0.5, 0.5]
    with pytest.raises(InvalidParameterError, match="not KEY=VALUE"):
        params.specs_from_cli(["elu"], ["alpha"])
    with pytest.raises(InvalidParameterError, match="relu has no parameter 'alpha'"):
        params.specs_from_cli(["relu"], ["alpha=1"])
    with pytest.raises(InvalidParameterError, match="elu is not among the activations given"):
        params.specs_from_cli(["relu"], ["elu.alpha=1"])


def test_describe_is_plain_data() -> None:
    entry = registry.describe(registry.get("softplus"))
    assert entry["module"] == "torch.nn.Softplus"
    assert entry["params"][0] == {
        "name": "beta",
        "type": "float",
        "default": 1.0,
        "allowed": "> 0",
        "doc": "sharpness",
    }
    assert entry["kinks"] == [20.0]


# Non-default parameters move the kinks and their one-sided values.
KINK_VARIANTS: list[tuple[str, dict[str, float]]] = [
    ("leaky_relu", {"negative_slope": 0.2}),
    ("prelu", {"init": 0.1}),
    ("rrelu", {"lower": 0.1, "upper": 0.5}),
    ("elu", {"alpha": 0.5}),
    ("celu", {"alpha": 2.0}),
    ("hardtanh", {"min_val": -2.0, "max_val": 0.5}),
    ("softplus", {"beta": 2.0, "threshold": 5.0}),
    ("softplus", {"beta": 3.0, "threshold": 1.0}),
    ("softplus", {"beta": 0.7, "threshold": 3.0}),
    ("softshrink", {"lambd": 1.0}),
    ("hardshrink", {"lambd": 0.25}),
    ("threshold", {"threshold": -1.0, "value": 3.0}),
]
KINK_CASES: list[tuple[str, dict[str, float]]] = [
    (a.name, {}) for a in registry.ACTIVATIONS if a.kinks(a.defaults)
] + KINK_VARIANTS


@pytest.mark.parametrize(
    ("name", "params"), KINK_CASES, ids=[f"{n}-{p}" if p else n for n, p in KINK_CASES]
)
def test_kink_grads_are_what_torch_returns_bit_for_bit(name: str, params: dict[str, float]) -> None:
    act = registry.get(name)
    resolved = act.resolve(params)
    kinks, recorded = act.kinks(resolved), act.kink_grads(resolved)
    assert len(recorded) == len(kinks) > 0
    x = torch.tensor(kinks, dtype=torch.float64, requires_grad=True)
    y = act.build(resolved).double()(x)
    y.backward(torch.ones_like(y))
    assert x.grad is not None
    assert x.grad.tolist() == list(recorded)  # exact: torch's branch choice at the kink
    # The closed form (written like the formula text) takes the same branch there
    # (up to PReLU's float32 slope: 0.1 is stored as 0.10000000149).
    assert act.derivative is not None
    closed = act.derivative(x.detach(), resolved).tolist()
    assert closed == pytest.approx(list(recorded), rel=1e-7, abs=0)
    # … and the listed formula states each value.
    text = act.derivative_text(resolved)
    for k, g in zip(kinks, recorded, strict=True):
        assert f"f′({k:.10g}) = {g:.10g}".replace("-", "−") in text


def test_every_activation_without_kinks_records_no_kink_grads() -> None:
    for act in registry.ACTIVATIONS:
        assert len(act.kink_grads(act.defaults)) == len(act.kinks(act.defaults))


def test_hardswish_formula_states_torchs_values_at_minus_and_plus_3() -> None:
    assert registry.get("hardswish").derivative_text() == (
        "0 if x ≤ −3, x/3 + 1/2 if −3 < x < 3, 1 if x ≥ 3; "
        "torch at the kinks: f′(−3) = 0, f′(3) = 1"
    )
    relu = registry.get("relu").derivative_text()
    assert relu == "1 if x > 0 else 0; torch at the kink: f′(0) = 0"
    assert registry.get("tanh").derivative_text() == "1 − tanh²(x)"
