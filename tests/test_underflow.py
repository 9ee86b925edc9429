"""Underflow edges, checked by brute force over every float16 and bfloat16 value, and
over every float32 value from |x| = 2 to 10⁴ where the kernel route matters.

Rerun under each kernel route by tests/test_routes.py (the route mark): no
expectation here is a literal from one CPU."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
import torch

from actviz import registry
from actviz.display import underflow_pair
from actviz.underflow import UNDERFLOW_BOUND, underflow
from tests import routes

pytestmark = pytest.mark.route


@cache
def _positive(dtype: str) -> torch.Tensor:
    """Every positive finite value of a half type up to the bound, ascending."""
    if dtype == "float16":
        bits = torch.arange(1, 0x7C00, dtype=torch.int16)
        values = bits.view(torch.float16)
    else:
        bits = torch.arange(1, 0x7F80, dtype=torch.int16)
        values = bits.view(torch.bfloat16)
    return values[values <= UNDERFLOW_BOUND]


def _brute_force(name: str, dtype: str, sign: float) -> tuple[float | None, float | None]:
    """(edge, first zero in the tail) from f′ at every value, in one contiguous batch."""
    values = _positive(dtype)
    # padded, so that no value lands in the kernel's scalar tail
    x = torch.cat([sign * values, torch.full((128,), sign * float(values[-1]), dtype=values.dtype)])
    x.requires_grad_(True)
    target = registry.spec(name)
    y = target.activation.build(target.params).to(values.dtype)(x)  # PReLU's weight too
    y.backward(torch.ones_like(y))
    assert x.grad is not None
    grad = x.grad[: len(values)].float().numpy()
    magnitudes = values.float().numpy().astype(np.float64)
    nonzero = np.flatnonzero(grad != 0)
    if len(nonzero) == 0:
        return 0.0, 0.0
    if nonzero[-1] == len(values) - 1:
        return None, None
    edge = float(magnitudes[nonzero[-1] + 1])
    strong = np.flatnonzero(np.abs(grad) >= 1e-3 * np.abs(grad).max())
    tail = magnitudes[(grad == 0) & (magnitudes > magnitudes[strong[-1]])]
    return edge, float(min(tail.min(), edge))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("name", registry.names())
def test_half_type_edges_equal_brute_force(name: str, dtype: str) -> None:
    found = underflow(registry.spec(name), dtype)
    for side, sign in (("left", -1.0), ("right", 1.0)):
        edge, first = _brute_force(name, dtype, sign)
        assert getattr(found, f"grad_{side}") == edge, side
        if edge not in (None, 0.0):
            assert getattr(found, f"grad_{side}_first") == first, side


def test_softsign_edges_where_zeros_and_non_zeros_alternate() -> None:
    # 1 + |x| and x/(1 + |x|) round unevenly: f′(3514) = 2.4e-7 in float16 although
    # f′ is 0 at many |x| below it; the last non-zero is at 4094.
    f16 = underflow(registry.spec("softsign"), "float16")
    assert (f16.grad_left, f16.grad_right) == (4096.0, 4096.0)
    assert (f16.grad_left_first, f16.grad_right_first) == (1365.0, 1365.0)
    bf16 = underflow(registry.spec("softsign"), "bfloat16")
    assert (bf16.grad_right, bf16.grad_right_first) == (512.0, 172.0)
    assert underflow_pair(f16, notes=True) == "4096 / 4096 (zeros from 1365 / 1365)"


def _strided(name: str, sign: float, edge: float) -> tuple[np.ndarray, np.ndarray]:
    """|x| around ``edge`` and f′ there on torch's scalar route (a strided view)."""
    probe = torch.linspace(edge / 2, edge * 4, 20001, dtype=torch.float32)
    twice = torch.stack([sign * probe, sign * probe], 1).reshape(-1).requires_grad_(True)
    target = registry.spec(name)
    y = target.activation.build(target.params)(twice[::2])
    y.backward(torch.ones_like(y))
    assert twice.grad is not None
    return probe.double().numpy(), twice.grad[::2].double().numpy()


@pytest.mark.parametrize("name", ["gelu", "mish", "sigmoid", "tanh"])
def test_the_scalar_route_is_reported_where_it_differs(name: str) -> None:
    found = underflow(registry.spec(name), "float32")
    assert found.grad_left is not None
    x, grad = _strided(name, -1.0, found.grad_left)
    beyond = (grad != 0) & (x > found.grad_left)  # the scalar code keeps a gradient
    before = (x < found.grad_left) & (x > 0.99 * found.grad_left)
    if beyond.any() or (grad[before] == 0).all():
        assert found.grad_left_scalar is not None
        assert found.grad_left_scalar == pytest.approx(x[grad != 0].max(), rel=1e-3)
    else:  # same on both routes (on this CPU)
        assert found.grad_left_scalar is None


def test_a_wrong_edge_would_be_caught() -> None:
    """The brute force has teeth: it sees a single non-zero beyond a claimed edge."""
    edge, _ = _brute_force("softsign", "float16", 1.0)
    assert edge == 4096.0
    wrong = 3508.0  # what a monotone bisection reported before
    values = _positive("float16").float().numpy()
    x = torch.tensor(values[(values > wrong) & (values < 4096)], dtype=torch.float16)
    x.requires_grad_(True)
    torch.nn.Softsign()(x).sum().backward()
    assert x.grad is not None and bool((x.grad != 0).any())


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    # mish's brute force (10 s on ATen's scalar code) runs in the main suite only;
    # gelu's two share theirs with the README's † cells in a route rerun.
    ["gelu", "gelu(approximate=tanh)", pytest.param("mish", marks=pytest.mark.main_route)],
)
def test_float32_edges_and_their_dagger_equal_brute_force(name: str) -> None:
    """Where the route matters most: the batched edge, and whether a single element's
    edge differs (the †), against every float32 value from 2 to 10⁴ with plain torch."""
    target = registry.spec("gelu", {"approximate": "tanh"}) if "(" in name else registry.spec(name)
    found = underflow(target, "float32")
    batched = routes.edge(name, "float32", -1.0, "batched", routes.LOW)
    single = routes.edge(name, "float32", -1.0, "single", routes.LOW)
    assert found.grad_left == batched
    if routes.apart(batched, single, "float32"):
        assert found.grad_left_scalar == single
    else:
        assert found.grad_left_scalar is None
    # the plainest single element (a one-element tensor) agrees with the strided view
    if single is not None:
        assert routes.single_element_grad(name, "float32", -single * 1.01) == 0.0
        if batched is not None and batched * 1.01 < single:
            assert routes.single_element_grad(name, "float32", -batched * 1.01) != 0.0
