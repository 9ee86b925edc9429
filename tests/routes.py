"""Independent truth for route-dependent numbers: plain torch, brute force.

Where torch rounds f′ to exactly 0 depends on the kernel route (CPU capability,
oneDNN, contiguous batch or single element), so a test may not compare such a
number with a literal from another machine. These helpers find it here, on
this machine's route, by evaluating *every* representable value of the dtype
in a window with plain torch: no actviz code is involved.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator

import numpy as np
import torch

Function = Callable[[torch.Tensor], torch.Tensor]
BOUND = 1e4  # actviz searches |x| ≤ 10⁴
LOW = 2.0  # where the README's † edges are searched from (each is above 4)
CHUNK = 1 << 21  # values per evaluation: memory stays small

FUNCTIONS: dict[str, Function] = {
    "gelu": torch.nn.functional.gelu,
    "gelu(approximate=tanh)": lambda x: torch.nn.functional.gelu(x, approximate="tanh"),
    "mish": torch.nn.functional.mish,
    "silu": torch.nn.functional.silu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
}
DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}


def representable(dtype: str, low: float, high: float) -> np.ndarray:
    """Every value of ``dtype`` in [low, high] (0 < low < high), as float32 (exact)."""
    if dtype == "float16":
        a, b = (int(np.array([v], np.float16).view(np.uint16)[0]) for v in (low, high))
        return np.arange(a, b + 1, dtype=np.uint16).view(np.float16).astype(np.float32)
    a, b = (int(np.array([v], np.float32).view(np.uint32)[0]) for v in (low, high))
    if dtype == "bfloat16":
        a, b = a >> 16, b >> 16
        return (np.arange(a, b + 1, dtype=np.uint32) << 16).view(np.float32)
    return np.arange(a, b + 1, dtype=np.uint32).view(np.float32)


# The backward kernels autograd calls for these activations: the same kernel on the
# same tensors, without the forward pass and the graph (about 20x faster over 10⁸
# values). ``edge`` checks them against autograd on its first chunk.
BACKWARD: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "gelu": lambda g, x: torch.ops.aten.gelu_backward(g, x),
    "gelu(approximate=tanh)": lambda g, x: torch.ops.aten.gelu_backward(g, x, approximate="tanh"),
    "mish": lambda g, x: torch.ops.aten.mish_backward(g, x),
}


def _kernel_grad(name: str, x: torch.Tensor, route: str) -> torch.Tensor:
    """What :func:`_grad` gives, from the backward kernel alone where there is one."""
    backward = BACKWARD.get(name)
    if backward is None:
        return _grad(FUNCTIONS[name], x, route)
    n = len(x)
    if route == "batched":
        padded = torch.cat([x, x[-1:].expand(64 - n % 64 + 64)])
        return backward(torch.ones_like(padded), padded)[:n]
    view = torch.stack([x, x], dim=1).reshape(-1)[::2]
    return backward(torch.ones_like(view), view)


def _grad(function: Function, x: torch.Tensor, route: str) -> torch.Tensor:
    """f′ of every element of ``x`` on ``route``: "batched" (a contiguous tensor, padded
    so that no element is in a vector tail) or "single" (a strided view: scalar code)."""
    n = len(x)
    if route == "batched":
        leaf = torch.cat([x, x[-1:].expand(64 - n % 64 + 64)]).requires_grad_(True)
        view = leaf
    else:
        leaf = torch.stack([x, x], dim=1).reshape(-1).requires_grad_(True)
        view = leaf[::2]
    function(view).backward(torch.ones_like(view))  # type: ignore[no-untyped-call]
    assert leaf.grad is not None
    return leaf.grad[:n] if route == "batched" else leaf.grad[::2]


@functools.cache
def edge(name: str, dtype: str, side: float, route: str, low: float) -> float | None:
    """The |x| in [low, 10⁴] from which f′ is exactly 0 at every value of ``dtype`` up to
    10⁴ on ``route``: ``low`` itself when f′ is 0 across the whole window, None when f′
    is not 0 at 10⁴."""
    function = FUNCTIONS[name]
    first = last_value = None
    last: float | None = None  # the largest |x| with f′ ≠ 0
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for index, values in enumerate(_chunks(dtype, low, BOUND)):
            chunk = torch.from_numpy(side * values).to(DTYPES[dtype])
            found = _kernel_grad(name, chunk, route)
            if index == 0:  # the kernel alone is what autograd computes
                assert torch.equal(found, _grad(function, chunk, route)), (name, dtype, route)
                first = float(values[0])
            nonzero = torch.nonzero(found != 0).flatten()
            if len(nonzero):
                last = float(values[int(nonzero[-1])])
            last_value = float(values[-1])
    finally:
        torch.set_num_threads(previous)
    if last is None:
        return first
    if last == last_value:
        return None
    (after,) = representable(dtype, last, last)  # last itself, then one step up
    return float(_next_up(after, dtype))


def _chunks(dtype: str, low: float, high: float) -> Iterator[np.ndarray]:
    """Every value of ``dtype`` in [low, high], ascending, CHUNK at a time (float32)."""
    if dtype != "float32":  # at most 2¹⁵ values: one chunk
        values = representable(dtype, low, high)
        yield values[values <= high]
        return
    a, b = (int(np.array([v], np.float32).view(np.uint32)[0]) for v in (low, high))
    if np.float32(high) > high:
        b -= 1
    for start in range(a, b + 1, CHUNK):
        bits = np.arange(start, min(start + CHUNK, b + 1), dtype=np.uint32)
        yield bits.view(np.float32)


def _next_up(value: float, dtype: str) -> float:
    """The next value of ``dtype`` above ``value`` (> 0)."""
    if dtype == "float16":
        return float(np.nextafter(np.float16(value), np.float16(np.inf)))
    if dtype == "bfloat16":
        bits = int(np.array([value], np.float32).view(np.uint32)[0]) >> 16
        return float(np.array([(bits + 1) << 16], np.uint32).view(np.float32)[0])
    return float(np.nextafter(np.float32(value), np.float32(np.inf)))


def single_element_grad(name: str, dtype: str, x: float) -> float:
    """f′(x) of a one-element tensor: the plainest scalar route."""
    t = torch.tensor([x], dtype=DTYPES[dtype], requires_grad=True)
    FUNCTIONS[name](t).backward(torch.ones_like(t))  # type: ignore[no-untyped-call]
    assert t.grad is not None
    return float(t.grad[0])


def apart(a: float | None, b: float | None, dtype: str) -> bool:
    """More than one representable step of ``dtype`` between two edges (None: none)."""
    if a is None or b is None:
        return a != b
    steps = representable(dtype, min(a, b), max(a, b))
    return len(steps) > 2


# The default grid, as Python floats: arange(-8, 8, 0.1), rounded to float32 once.
DEFAULT_GRID = np.array([-8.0 + i * 0.1 for i in range(160)], dtype=np.float32)


def shares(name: str, eps: float = 0.01) -> tuple[float, float]:
    """The dead and saturated shares of the float32 default grid, with plain torch:
    f′ = 0, and 0 < |f′| < eps × the peak |f′| over linspace(-20, 20, 4001) in float64.
    Each interval between samples goes half to either end, or all to the one end
    whose kind (small |f′| or not) f′ has at its midpoint in float64 where the
    other end's kind differs."""
    function = FUNCTIONS[name]
    grad = _grad(function, torch.from_numpy(DEFAULT_GRID), "batched").double().numpy()
    window = torch.linspace(-20, 20, 4001, dtype=torch.float64)
    peak = max(float(_grad(function, window, "batched").abs().max()), float(np.abs(grad).max()))
    x = DEFAULT_GRID.astype(np.float64)
    threshold = eps * peak
    middle = _grad(function, torch.from_numpy((x[:-1] + x[1:]) / 2), "batched").numpy()
    dead = grad == 0
    saturated = ~dead & (np.abs(grad) < threshold)
    small, inside = dead | saturated, np.abs(middle) < threshold
    agree_l, agree_r = small[:-1] == inside, small[1:] == inside
    left = np.where(agree_l & ~agree_r, 1.0, np.where(~agree_l & agree_r, 0.0, 0.5))
    unseen = ~agree_l & ~agree_r  # neither end's kind: counted by the midpoint itself
    widths = np.diff(x)
    weights = np.zeros(len(x))
    weights[:-1] += np.where(unseen, 0.0, widths * left)
    weights[1:] += np.where(unseen, 0.0, widths * (1 - left))
    crossing = np.sign(grad[:-1]) * np.sign(grad[1:]) < 0
    extra_dead = widths[unseen & (middle == 0)].sum()
    extra_saturated = widths[unseen & inside & (middle != 0) & ~crossing].sum()
    total = widths.sum()
    return (
        float((weights[dead].sum() + extra_dead) / total),
        float((weights[saturated].sum() + extra_saturated) / total),
    )


def between_edges(name: str) -> bool:
    """Whether a sample of the float32 default grid lies between the batched and the
    single-element f′ edge on the left (where these activations underflow)."""
    batched = edge(name, "float32", -1.0, "batched", LOW)
    single = edge(name, "float32", -1.0, "single", LOW)
    if batched is None or single is None or not apart(batched, single, "float32"):
        return False
    low, high = sorted((batched, single))
    return bool(((low <= -DEFAULT_GRID) & (high >= -DEFAULT_GRID)).any())
