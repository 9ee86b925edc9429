"""Autograd on a grid: x → f(x), f′(x) and, on request, f″(x).

This is what the course notebooks do by hand::

    x = torch.arange(-8.0, 8.0, 0.1, requires_grad=True)
    y = torch.sigmoid(x)
    y.backward(torch.ones_like(x))
    x.grad

:func:`probe` does exactly that for any registered activation and returns the
numbers as a :class:`Probe` of numpy arrays.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from actviz.errors import (
    ActvizError,
    CustomActivationError,
    DeviceUnavailableError,
    InvalidGridError,
    RuntimeFailure,
    UnknownFormatError,
)
from actviz.registry import Activation, ParamValue, Spec, spec

if TYPE_CHECKING:
    import numpy as np
    import torch

# A grid larger than this is refused: x, f(x), f′(x) and what autograd keeps
# for f″ come to about half a GB in float64 at 10 million points, and a plot
# has four orders of magnitude fewer pixels than that anyway.
MAX_POINTS = 10_000_000
DEFAULT_START, DEFAULT_STOP, DEFAULT_STEP = -8.0, 8.0, 0.1  # d2l's arange(-8.0, 8.0, 0.1)
DTYPES = ("float16", "bfloat16", "float32", "float64")
DEVICES = ("cpu", "cuda")


@dataclass(frozen=True)
class Grid:
    """Where to sample: ``linspace(start, stop, points)`` or ``arange(start, stop, step)``."""

    start: float = DEFAULT_START
    stop: float = DEFAULT_STOP
    points: int | None = None
    step: float | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.start) and math.isfinite(self.stop)):
            raise InvalidGridError(f"range [{self.start:g}, {self.stop:g}] must be finite numbers")
        if self.start >= self.stop:
            raise InvalidGridError(
                f"range start ({self.start:g}) must be less than stop ({self.stop:g})"
            )
        if self.points is not None and self.step is not None:
            raise InvalidGridError("give either points or step, not both")
        if self.points is not None:
            self._check_count(self.points, f"points ({self.points})")
        elif self.step is not None:
            if not (math.isfinite(self.step) and self.step > 0):
                raise InvalidGridError(f"step must be a positive number (got {self.step:g})")
            self._check_count(
                self.count, f"step {self.step:g} over [{self.start:g}, {self.stop:g}]"
            )

    @staticmethod
    def _check_count(count: int, what: str) -> None:
        if count < 2:
            raise InvalidGridError(f"{what} gives {count} point(s); at least 2 are needed")
        if count > MAX_POINTS:
            raise InvalidGridError(
                f"{what} gives {count:,} points, above the cap of {MAX_POINTS:,} "
                "(memory for autograd grows with it); use fewer points or a larger step"
            )

    @property
    def count(self) -> int:
        if self.points is not None:
            return self.points
        step = DEFAULT_STEP if self.step is None else self.step
        return math.ceil((self.stop - self.start) / step)  # torch.arange's own count

    def tensor(self, dtype: torch.dtype, device: str) -> torch.Tensor:
        import torch

        if self.points is not None:
            return torch.linspace(self.start, self.stop, self.points, dtype=dtype, device=device)
        step = DEFAULT_STEP if self.step is None else self.step
        return torch.arange(self.start, self.stop, step, dtype=dtype, device=device)


@dataclass(frozen=True, eq=False)
class Probe:
    """The numbers of one probe. Arrays are float64 copies of the dtype's exact values."""

    spec: Spec
    dtype: str
    device: str
    train: bool
    seed: int
    x: np.ndarray
    y: np.ndarray
    grad: np.ndarray
    grad2: np.ndarray | None = None
    f0: float = math.nan  # f(0) and f′(0), whether or not 0 is on the grid
    grad0: float = math.nan

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def params(self) -> Mapping[str, ParamValue]:
        return self.spec.params

    @property
    def label(self) -> str:
        return self.spec.label

    @property
    def mode_note(self) -> str:
        """Says which slopes a stochastic activation (RReLU) was probed with."""
        if not self.spec.activation.stochastic:
            return ""
        if self.train:
            return f"train mode: random slopes, seed {self.seed}"
        return "eval mode: slope (lower + upper)/2"

    @property
    def title(self) -> str:
        parts = [self.label]
        if self.mode_note:
            parts.append(f"[{self.mode_note}]")
        if self.dtype != "float32":
            parts.append(self.dtype)
        return " ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "activation": self.name,
            "params": dict(self.params),
            "dtype": self.dtype,
            "device": self.device,
            "x": _json_list(self.x),
            "y": _json_list(self.y),
            "grad": _json_list(self.grad),
        }
        if self.grad2 is not None:
            data["grad2"] = _json_list(self.grad2)
        return data

    def __repr__(self) -> str:
        # The arrays summarised: the default repr printed every sample (23,000 characters).
        span = f"[{self.x[0]:.4g}, {self.x[-1]:.4g}]" if len(self.x) else "[]"
        mode = f", train=True, seed={self.seed}" if self.train else ""
        return (
            f"Probe(name={self.name!r}, params={dict(self.params)!r}, dtype={self.dtype!r}, "
            f"device={self.device!r}, points={len(self.x)}, x={span}, "
            f"second={self.grad2 is not None}{mode})"
        )


def _json_list(values: np.ndarray) -> list[float | None]:
    """Floats for JSON; NaN and ±inf (which JSON lacks) become null."""
    return [v if math.isfinite(v) else None for v in values.tolist()]


def torch_dtype(name: str | torch.dtype) -> torch.dtype:
    import torch

    if isinstance(name, torch.dtype):
        return name
    if name not in DTYPES:
        raise UnknownFormatError(f"unknown dtype {name!r}; choose one of {', '.join(DTYPES)}")
    dtype: torch.dtype = getattr(torch, name)
    return dtype


def check_device(device: str) -> str:
    import torch

    kind = device.split(":")[0]
    if kind not in DEVICES:
        raise UnknownFormatError(f"unknown device {device!r}; choose one of {', '.join(DEVICES)}")
    if kind == "cuda" and not torch.cuda.is_available():
        raise DeviceUnavailableError(
            f"device {device!r} was asked for but torch {torch.__version__} sees no CUDA GPU "
            "here; use --device cpu"
        )
    return device


def probe(
    activation: str | Activation | Spec,
    *,
    start: float = DEFAULT_START,
    stop: float = DEFAULT_STOP,
    points: int | None = None,
    step: float | None = None,
    params: Mapping[str, object] | None = None,
    dtype: str | torch.dtype = "float32",
    device: str = "cpu",
    second: bool = False,
    train: bool = False,
    seed: int = 0,
    kinks: bool = True,
) -> Probe:
    """Sample ``activation`` on a grid and differentiate it with autograd.

    ``f′`` comes from ``y.backward(torch.ones_like(y))``; with ``second=True``
    both derivatives come from ``torch.autograd.grad(..., create_graph=True)``.
    With ``kinks`` (the default) the activation's kinks inside the range are
    added to the grid, so the one-sided gradient torch returns there shows.
    """
    return _run(
        _as_spec(activation, params),
        Grid(start, stop, points, step),
        dtype=dtype,
        device=device,
        second=second,
        train=train,
        seed=seed,
        kinks=kinks,
    )


def probe_many(specs: Iterable[Spec], grid: Grid, **options: Any) -> list[Probe]:
    """One :func:`probe` per spec, all on the same grid."""
    return [_run(s, grid, **options) for s in specs]


def evaluate(
    target: Spec, xs: Iterable[float], *, dtype: str | torch.dtype, device: str = "cpu"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """f and f′ at explicit points (rounded to ``dtype``): ``(x, f(x), f′(x))``.

    The building block of the underflow search, which needs arbitrary points
    rather than a grid. Eval mode, so RReLU is deterministic.
    """
    import torch

    torch_type = torch_dtype(dtype)
    x = torch.tensor(list(xs), dtype=torch.float64).to(device, torch_type)
    y, grad, _ = _autograd(target, x.requires_grad_(True), second=False, train=False)
    return _numpy(x), _numpy(y), _numpy(grad)


def _as_spec(activation: str | Activation | Spec, params: Mapping[str, object] | None) -> Spec:
    if isinstance(activation, Spec):
        return spec(activation.activation, {**activation.params, **(params or {})})
    return spec(activation, params)


def _samples(
    target: Spec, grid: Grid, dtype: torch.dtype, device: str, kinks: bool
) -> torch.Tensor:
    """The grid, plus the kinks inside it, plus x = 0 as the last element."""
    import torch

    x = grid.tensor(dtype, device)
    inside = [k for k in target.activation.kinks(target.params) if grid.start <= k <= grid.stop]
    if kinks and inside:
        x = torch.unique(torch.cat([x, torch.tensor(inside, dtype=dtype, device=device)]))
    # f(0) and f′(0) ride along in the same pass and are split off afterwards.
    return torch.cat([x, torch.zeros(1, dtype=dtype, device=device)])


def _run(
    target: Spec,
    grid: Grid,
    *,
    dtype: str | torch.dtype = "float32",
    device: str = "cpu",
    second: bool = False,
    train: bool = False,
    seed: int = 0,
    kinks: bool = True,
) -> Probe:
    import torch

    torch_type = torch_dtype(dtype)
    check_device(device)
    # Only RReLU in training mode draws random numbers; fork the RNG so that a
    # probe never disturbs the caller's random state.
    with torch.random.fork_rng(devices=[] if device == "cpu" else None):
        torch.manual_seed(seed)
        x = _samples(target, grid, torch_type, device, kinks).requires_grad_(True)
        y, grad, grad2 = _autograd(target, x, second=second, train=train)
    xs, ys, grads = _numpy(x), _numpy(y), _numpy(grad)
    return Probe(
        spec=target,
        dtype=str(torch_type).removeprefix("torch."),
        device=device,
        train=train,
        seed=seed,
        x=xs[:-1],
        y=ys[:-1],
        grad=grads[:-1],
        grad2=None if grad2 is None else _numpy(grad2)[:-1],
        f0=float(ys[-1]),
        grad0=float(grads[-1]),
    )


def _autograd(
    target: Spec, x: torch.Tensor, *, second: bool, train: bool
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """y = f(x), f′ from backward(ones_like(y)), and f″ if ``second``."""
    import torch

    module = target.activation.build(target.params, train=train).to(x.device, x.dtype)
    try:
        y = module(x)
        if target.activation.custom:
            from actviz.custom import checked_output

            y = checked_output(target.activation, x, y)
        if second and not target.activation.piecewise_linear:
            (grad,) = torch.autograd.grad(y, x, torch.ones_like(y), create_graph=True)
            return y, grad, _second_derivative(grad, x)
        y.backward(torch.ones_like(y))
        assert x.grad is not None
        # Piecewise linear: f″ is 0 off the kinks by construction, and torch
        # has no double backward for some of these (hardsigmoid).
        return y, x.grad, torch.zeros_like(x) if second else None
    except ActvizError:
        raise
    except (RuntimeError, NotImplementedError) as error:
        first_line = str(error).strip().splitlines()[0]
        raise RuntimeFailure(
            f"{target.label} failed in {x.dtype} on {x.device}: {first_line}"
        ) from error
    except Exception as error:
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


def _numpy(t: torch.Tensor) -> np.ndarray:
    import torch

    array: np.ndarray = t.detach().to("cpu", torch.float64).numpy()
    return array
