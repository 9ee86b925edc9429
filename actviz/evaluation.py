"""f and f′ (and f″) of one activation at given points, with torch's autograd.

The building block under everything that measures: a probe's grid
(probing.py), the underflow search, the saturation reference, the gain's
quadrature and ``check`` all evaluate through here, so every one of them
gets the same kernel route, the same checks on a user's activation and the
same one-line errors.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from actviz.errors import (
    ActvizError,
    CustomActivationError,
    DeviceUnavailableError,
    InvalidGridError,
    InvalidParameterError,
    RuntimeFailure,
    UnknownFormatError,
    UsageError,
    arg,
)
from actviz.registry import Spec

if TYPE_CHECKING:
    import numpy as np
    import torch

MAX_SEED = 2**64 - 1  # torch.manual_seed's range
DTYPES = ("float16", "bfloat16", "float32", "float64")
DEVICES = ("cpu", "cuda")


def torch_dtype(name: str | torch.dtype) -> torch.dtype:
    import torch

    if isinstance(name, torch.dtype):
        name = str(name).removeprefix("torch.")
    if not isinstance(name, str) or name not in DTYPES:
        raise UnknownFormatError(f"unknown dtype {name!r}; choose one of {', '.join(DTYPES)}")
    dtype: torch.dtype = getattr(torch, name)
    return dtype


def check_device(device: str) -> str:
    import torch

    if not isinstance(device, str):
        raise UnknownFormatError(f"device must be a string such as 'cpu' (got {device!r})")
    kind = device.split(":")[0]
    try:
        parsed = torch.device(device)
    except RuntimeError:
        parsed = None
    if kind not in DEVICES or parsed is None or parsed.type != kind:
        raise UnknownFormatError(
            f"unknown device {device!r}; choose one of {', '.join(DEVICES)} (cuda:N for a GPU)"
        )
    if kind == "cuda" and not torch.cuda.is_available():
        raise DeviceUnavailableError(
            f"device {device!r} was asked for but torch {torch.__version__} sees no CUDA GPU "
            f"here; use {arg('device', 'cpu')}"
        )
    if kind == "cuda" and parsed.index is not None and parsed.index >= torch.cuda.device_count():
        raise DeviceUnavailableError(
            f"device {device!r} was asked for but torch sees {torch.cuda.device_count()} CUDA "
            f"GPU(s) here; use cuda:0 to cuda:{torch.cuda.device_count() - 1}"
        )
    if kind == "cpu" and parsed.index not in (None, 0):
        raise UnknownFormatError(f"unknown device {device!r}; torch has one cpu device, 'cpu'")
    return device


def check_seed(seed: object) -> int:
    """``seed`` if torch.manual_seed takes it: a whole number from 0 to 2⁶⁴ − 1."""
    if (
        not isinstance(seed, numbers.Integral)
        or isinstance(seed, bool)
        or not 0 <= int(seed) <= MAX_SEED
    ):
        raise UsageError(f"seed must be a whole number from 0 to 2**64 - 1 (got {seed!r})")
    return int(seed)


def check_params_fit(target: Spec, dtype: torch.dtype) -> None:
    """Refuse a parameter that the dtype cannot hold (negative_slope=1e300 in float32)."""
    import torch

    largest = torch.finfo(dtype).max
    for key, value in target.params.items():
        if isinstance(value, float) and abs(value) > largest:
            name = str(dtype).removeprefix("torch.")
            raise InvalidParameterError(
                f"{target.name}: {key}={value:g} does not fit in {name} (largest finite value "
                f"{largest:.4g}); use a smaller {key} or a wider {arg('dtype')}"
            )


ROUTES = ("batched", "scalar")
# ATen's CPU kernels vectorise contiguous tensors in chunks and finish the last
# n mod (vector width) elements, strided input and single elements with scalar
# code, which rounds differently for some activations (mish; gelu where oneDNN
# is off). Padding by this many elements keeps every tested point in the vector
# part (vector widths are at most 32 floats); environment.py says the rest.
VECTOR_PAD = 64


def evaluate(
    target: Spec,
    xs: Iterable[float],
    *,
    dtype: str | torch.dtype,
    device: str = "cpu",
    route: str = "batched",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """f and f′ at explicit points (rounded to ``dtype``): ``(x, f(x), f′(x))``.

    The building block of the underflow search, which needs arbitrary points
    rather than a grid. Eval mode, so RReLU is deterministic. ``route``
    chooses torch's kernel path: ``"batched"`` (a contiguous tensor, padded so
    that no point falls in the scalar tail: what a probe's grid gets) or
    ``"scalar"`` (a strided view: what a single element gets).
    """
    import torch

    with torch.enable_grad():  # views made under a caller's no_grad() would carry no graph
        return _evaluate(target, xs, dtype=dtype, device=device, route=route)


def _evaluate(
    target: Spec, xs: Iterable[float], *, dtype: str | torch.dtype, device: str, route: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import torch

    x = _points(xs, dtype, device)
    count = len(x)
    if route == "batched":
        leaf = inputs = _padded(x)
    elif route == "scalar":
        leaf = torch.stack([x, x], dim=1).reshape(-1).requires_grad_(True)
        inputs = leaf[::2]  # every other element: a strided view
    else:
        raise UnknownFormatError(f"unknown route {route!r}; choose one of {', '.join(ROUTES)}")
    y, grad, _ = differentiate(target, inputs, second=False, train=False, leaf=leaf)
    grad = grad[:count] if route == "batched" else grad[::2]
    return as_numpy(x), as_numpy(y[:count]), as_numpy(grad)


def second_at(
    target: Spec, xs: Iterable[float], *, dtype: str | torch.dtype, device: str = "cpu"
) -> np.ndarray:
    """f″ at explicit points by double backward (eval mode), on the same padded
    contiguous batch as :func:`evaluate`'s."""
    import torch

    x = _points(xs, dtype, device)
    with torch.enable_grad():
        _, _, grad2 = differentiate(target, _padded(x), second=True, train=False)
    assert grad2 is not None  # asked for with second=True
    return as_numpy(grad2[: len(x)])


def _points(xs: Iterable[float], dtype: str | torch.dtype, device: str) -> torch.Tensor:
    """``xs`` as a tensor of ``dtype`` (each rounded from float64 once)."""
    import numpy as np
    import torch

    values = xs if isinstance(xs, np.ndarray) else list(xs)
    return torch.from_numpy(np.array(values, dtype=np.float64)).to(device, torch_dtype(dtype))


def _padded(x: torch.Tensor) -> torch.Tensor:
    """``x`` and copies of its last element after it, as a leaf that needs grad: padding
    keeps every point out of the kernel's scalar tail (see VECTOR_PAD)."""
    import torch

    pad = VECTOR_PAD - len(x) % VECTOR_PAD + VECTOR_PAD
    fill = x[-1:] if len(x) else torch.zeros(1, dtype=x.dtype, device=x.device)
    return torch.cat([x, fill.expand(pad)]).requires_grad_(True)


def autograd_checked(target: Spec, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """f(x) and f′(x) (eval mode) with every check :func:`probe` makes: a user's
    activation must return a real tensor of x's shape, inside autograd, finite."""
    y, grad, _ = differentiate(target, x, second=False, train=False)
    check_finite(target, x.dtype, as_numpy(x), {"f(x)": as_numpy(y), "f′(x)": as_numpy(grad)})
    return y, grad


def check_finite(
    target: Spec, dtype: torch.dtype, x: np.ndarray, columns: Mapping[str, np.ndarray]
) -> None:
    """Refuse a probe whose f or f′ is not finite at some (finite) x, saying where."""
    import numpy as np

    for what, values in columns.items():
        bad = np.flatnonzero(~np.isfinite(values))
        if len(bad) == 0:
            continue
        name = str(dtype).removeprefix("torch.")
        at = f"{what} = {values[bad[0]]:g} at x = {x[bad[0]]:g}"
        count = f"{len(bad):,} of {len(values):,} samples"
        if target.activation.custom:
            raise CustomActivationError(
                f"{target.name} is not finite on this range in {name}: {at} ({count}); an "
                "activation must return finite values with finite gradients"
            )
        changed = ", ".join(target.changed_params())
        hint = f"other {changed} values, a " if changed else "a "
        raise (InvalidParameterError if changed else InvalidGridError)(
            f"{target.label} is not finite in {name} on this range: {at} ({count}); use "
            f"{hint}smaller range or a wider {arg('dtype')}"
        )


def differentiate(
    target: Spec,
    x: torch.Tensor,
    *,
    second: bool,
    train: bool,
    leaf: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """y = f(x), f′ from backward(ones_like(y)), and f″ if ``second``.

    ``leaf``: the tensor ``x`` is a view of (a strided or padded evaluation),
    whose ``.grad`` is returned instead of ``x.grad``.
    """
    import torch

    from actviz.environment import one_thread

    # The bits must not depend on the caller's thread count, and a caller inside
    # torch.no_grad() (a notebook cell, depth's statistics) still gets its f′.
    with one_thread(), torch.enable_grad():
        return _differentiate(target, x, second=second, train=train, leaf=leaf)


def _differentiate(
    target: Spec,
    x: torch.Tensor,
    *,
    second: bool,
    train: bool,
    leaf: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    import torch

    module = target.activation.build(target.params, train=train).to(x.device, x.dtype)
    try:
        y = module(x)
        if target.activation.custom:
            from actviz.custom import checked_output

            y = checked_output(target.activation, x, y)
        if second and not target.activation.piecewise_linear:
            # f′ from the plain backward, as without f″: a backward that builds a
            # graph (create_graph=True) takes other kernels and can differ in the
            # last bits (mish's f′(8.0625) in float64).
            (grad,) = torch.autograd.grad(y, x, torch.ones_like(y), retain_graph=True)
            (graph,) = torch.autograd.grad(y, x, torch.ones_like(y), create_graph=True)
            return y, grad, _second_derivative(graph, x)
        y.backward(torch.ones_like(y))
        found = (x if leaf is None else leaf).grad
        if found is None:  # y requires grad but does not depend on x
            raise CustomActivationError(
                f"{target.name} returned a tensor that does not depend on x (a new tensor with "
                "requires_grad=True?); compute it with torch operations on x"
            )
        # Piecewise linear: f″ is 0 off the kinks by construction, and torch
        # has no double backward for some of these (hardsigmoid).
        return y, found, torch.zeros_like(x) if second else None
    except ActvizError:
        raise
    except (RuntimeError, NotImplementedError) as error:
        first_line = str(error).strip().splitlines()[0]
        raise RuntimeFailure(
            f"{target.label} failed in {x.dtype} on {x.device}: {first_line}"
        ) from error
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # sys.exit(), GeneratorExit, a BaseException of its own
        if not target.activation.custom:
            raise  # a bug in actviz: let it show
        raise CustomActivationError(
            f"{target.name} raised {type(error).__name__}: {error}"
        ) from error


def _second_derivative(grad: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    import torch

    # A piecewise-linear f has a constant f′ that autograd does not connect
    # back to x: then f″ is zero, not an error.
    if not grad.requires_grad:
        return torch.zeros_like(x)
    (grad2,) = torch.autograd.grad(grad, x, torch.ones_like(grad), allow_unused=True)
    return torch.zeros_like(x) if grad2 is None else grad2


def as_numpy(t: torch.Tensor) -> np.ndarray:
    import torch

    array: np.ndarray = t.detach().to("cpu", torch.float64).numpy()
    return array
