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
import numbers
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from actviz.defaults import (
    DEFAULT_DTYPE,
    DEFAULT_START,
    DEFAULT_STEP,
    DEFAULT_STOP,
    NOTEBOOK_DPI,
)
from actviz.errors import (
    InvalidGridError,
    RuntimeFailure,
    UsageError,
    arg,
)
from actviz.evaluation import (
    VECTOR_PAD,
    as_numpy,
    check_device,
    check_finite,
    check_params_fit,
    check_seed,
    differentiate,
    evaluate,
    second_at,
    torch_dtype,
)
from actviz.registry import Activation, ParamValue, Spec, spec

if TYPE_CHECKING:
    from typing import TypeAlias

    import numpy as np
    import torch

    from actviz.params import Sweep

    # What the functions that probe take: one activation (a name, an entry, a spec),
    # a sweep, or a list of them.
    Specs: TypeAlias = Iterable[Spec | str | Activation | Sweep] | Spec | str | Activation | Sweep

# A grid larger than this is refused before anything is allocated. It is set
# so that every command stays under 1 GB and 30 s at the cap on a 2-core
# machine (bench/caps.py measures it): autograd, the saturation analysis and
# the figure all grow with it, and a plot has far fewer pixels anyway.
MAX_POINTS = 1_000_000
# GLU is drawn over an N × N plane: N is capped so that N² stays at MAX_POINTS.
MAX_AXIS_POINTS = math.isqrt(MAX_POINTS)


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _count_words(count: float) -> str:
    if not math.isfinite(count):
        return "more than 1e308"
    return f"{int(count):,}" if count < 1e18 else f"about {count:.3g}"


@dataclass(frozen=True)
class Grid:
    """Where to sample: ``linspace(start, stop, points)`` or ``arange(start, stop, step)``.

    The sample count is computed and checked against :data:`MAX_POINTS` here,
    before anything is allocated, for every kind of grid.
    """

    start: float = DEFAULT_START
    stop: float = DEFAULT_STOP
    points: int | None = None
    step: float | None = None

    def __post_init__(self) -> None:
        if not (_is_number(self.start) and _is_number(self.stop)):
            raise InvalidGridError(
                f"range start and stop must be numbers (got {self.start!r}, {self.stop!r})"
            )
        if not (math.isfinite(self.start) and math.isfinite(self.stop)):
            raise InvalidGridError(f"range [{self.start:g}, {self.stop:g}] must be finite numbers")
        if self.start >= self.stop:
            raise InvalidGridError(
                f"range start ({self.start:g}) must be less than stop ({self.stop:g})"
            )
        if not math.isfinite(float(self.stop) - float(self.start)):
            raise InvalidGridError(
                f"range [{self.start:g}, {self.stop:g}] is too wide: its width overflows float64"
            )
        if self.points is not None and self.step is not None:
            raise InvalidGridError("give either points or step, not both")
        if self.points is not None:
            if not isinstance(self.points, numbers.Integral) or isinstance(self.points, bool):
                raise InvalidGridError(f"points must be a whole number (got {self.points!r})")
            self._check_count(self.points, f"points ({self.points})")
            return
        if self.step is not None and not (
            _is_number(self.step) and math.isfinite(self.step) and self.step > 0
        ):
            shown = f"{self.step:g}" if _is_number(self.step) else repr(self.step)
            raise InvalidGridError(f"step must be a positive number (got {shown})")
        what = "step" if self.step is not None else "the default step"
        self._check_count(
            self._exact_count(), f"{what} {self._step:g} over [{self.start:g}, {self.stop:g}]"
        )

    @property
    def _step(self) -> float:
        return DEFAULT_STEP if self.step is None else float(self.step)

    def _exact_count(self) -> float:
        """torch.arange's own count, as a float: inf when the step is tiny."""
        ratio = (float(self.stop) - float(self.start)) / self._step
        return float(math.ceil(ratio)) if math.isfinite(ratio) else math.inf

    @staticmethod
    def _check_count(count: float, what: str) -> None:
        if count < 2:
            # a step too large for the range: say what would work instead
            hint = "; use a smaller step, or points (linspace)" if "step" in what else ""
            raise InvalidGridError(
                f"{what} gives {int(count)} point(s); at least 2 are needed{hint}"
            )
        if count > MAX_POINTS:
            raise InvalidGridError(
                f"{what} gives {_count_words(count)} points, above the cap of {MAX_POINTS:,} "
                "(memory for autograd grows with it); use fewer points or a larger step"
            )

    @property
    def count(self) -> int:
        if self.points is not None:
            return int(self.points)
        return int(self._exact_count())

    def check_total(self, curves: int) -> None:
        """Refuse ``curves`` probes of this grid held at once above :data:`MAX_POINTS` samples."""
        total = self.count * curves
        if curves > 1 and total > MAX_POINTS:
            raise InvalidGridError(
                f"{curves} activations × {self.count:,} points = {total:,} samples, above the "
                f"cap of {MAX_POINTS:,} for one command; use fewer points or fewer activations"
            )

    def check_square(self) -> None:
        """Refuse an N × N plane (GLU) with more than :data:`MAX_AXIS_POINTS` per axis."""
        if self.count > MAX_AXIS_POINTS:
            raise InvalidGridError(
                f"{self.count:,} points per axis make a {self.count:,} × {self.count:,} plane, "
                f"above the cap of {MAX_AXIS_POINTS:,} per axis for two-input activations; use "
                "fewer points or a larger step"
            )

    def check_dtype(
        self, dtype: torch.dtype, *, other_dtype: bool = True, other_points: bool = True
    ) -> None:
        """Refuse a range that overflows ``dtype`` or collapses to one value in it.

        The remedies offered are a range, and another dtype or fewer points where the
        caller takes them (``other_dtype``, ``other_points``; explore takes neither).
        """
        import torch

        info = torch.finfo(dtype)
        name = str(dtype).removeprefix("torch.")
        where = f"range [{self.start:g}, {self.stop:g}]"
        wider = f" or a wider {arg('dtype')}" if other_dtype else ""
        if max(abs(self.start), abs(self.stop)) > info.max:
            raise InvalidGridError(
                f"{where} does not fit in {name} (largest finite value {info.max:.4g}); "
                f"use a smaller range{wider}"
            )
        # linspace and arange step in the dtype itself, except for the half types
        # (float32 there, where a range that fits has a width that fits too).
        half = dtype in (torch.float16, torch.bfloat16)
        width = float(self.stop) - float(self.start)
        if not half and width > info.max:
            raise InvalidGridError(
                f"{where} is too wide for {name}: its width overflows (largest finite value "
                f"{info.max:.4g}); use a smaller range{wider}"
            )
        ends = torch.tensor([float(self.start), float(self.stop)], dtype=torch.float64).to(dtype)
        if ends[0] == ends[1]:
            raise InvalidGridError(
                f"{where} collapses to a single value in {name}; use a wider range"
                + (f" or {arg('dtype', 'float64')}" if other_dtype else "")
            )
        # The analysis divides by the spacing and by its square (np.gradient, in
        # float64): below this they underflow and the numbers become inf.
        finest = max(info.tiny, math.sqrt(sys.float_info.min))
        spacing = self._step if self.points is None else width / (self.points - 1)
        if spacing < finest:
            raise InvalidGridError(
                f"{where} with {self.count:,} points is spaced {spacing:.3g} apart, below the "
                f"finest spacing actviz can analyse in {name} ({finest:.3g}); use a wider range"
                + (" or fewer points" if other_points else "")
            )

    def values(self) -> np.ndarray:
        """The samples in float64, before rounding to a dtype: ``start + i·step``
        (arange), or linspace's ``start + i·(stop − start)/(n − 1)`` from the start
        and ``stop − (n − 1 − i)·(stop − start)/(n − 1)`` from the stop, as torch
        counts them; each operation rounded once, as Python floats do.

        Not torch.arange/linspace: torch's CPU kernels compute these with a fused
        multiply-add where the CPU has one (AVX2, AVX-512), in vector chunks, and in
        float32 for float32: ``torch.arange(-8, 8, 0.1)[80]`` is 4.4e-16 on one
        machine and exactly 0 on another (ATEN_CPU_CAPABILITY=default), where relu′
        is 1 or 0. A grid is an input, not a measurement: actviz computes it one
        way (numpy, no fused operations) and gets the same samples on any CPU,
        within one step of the dtype of torch's own on every route.
        """
        import numpy as np

        count = self.count
        index = np.arange(count, dtype=np.float64)
        start, stop = float(self.start), float(self.stop)
        if self.points is None:
            values: np.ndarray = start + self._step * index
            return values
        step = (stop - start) / (count - 1)
        halfway = count // 2
        return np.concatenate(
            [start + step * index[:halfway], stop - step * (count - 1 - index[halfway:])]
        )

    def tensor(self, dtype: torch.dtype, device: str) -> torch.Tensor:
        import torch

        self.check_dtype(dtype)
        x = torch.from_numpy(self.values()).to(device, dtype)  # rounded once to dtype
        if len(x) > 1 and not bool((x[1:] > x[:-1]).all()):
            distinct = len(torch.unique(x))
            name = str(dtype).removeprefix("torch.")
            raise InvalidGridError(
                f"{len(x):,} points over [{self.start:g}, {self.stop:g}] in {name} are only "
                f"{distinct:,} distinct values; use fewer points, a larger step or a wider "
                f"{arg('dtype')}"
            )
        return x


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
    # f(0) and f′(0) from the same pass as the grid: the x = 0 sample when 0 is
    # on the grid (exactly), else an extra x = 0 element of that pass.
    f0: float = math.nan
    grad0: float = math.nan
    # What jumps() and sampled_kinks() found, kept: they evaluate the activation
    # again, and a probe pickled to an export's drawing process takes them along,
    # so that drawing it needs no torch there.
    _found: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Frozen means the numbers too: an analysis of an edited probe would
        # describe numbers torch never gave.
        for values in (self.x, self.y, self.grad, self.grad2):
            if values is not None:
                values.flags.writeable = False

    def sampled_kinks(self) -> np.ndarray:
        """The activation's kinks as this probe samples them: rounded to its dtype
        (threshold's 0.1 is the float32 sample 0.100000001)."""
        if "kinks" not in self._found:
            import torch

            kinks = self.spec.activation.kinks(self.spec.params)
            rounded = torch.tensor(kinks, dtype=getattr(torch, self.dtype)).to(torch.float64)
            self._found["kinks"] = rounded.numpy()
        found: np.ndarray = self._found["kinks"]
        return found

    def jumps(self, field: str) -> list[tuple[float, float, float]]:
        """(kink, left limit, right limit) where f (``field="y"``), f′ (``"grad"``) or
        f″ (``"grad2"``) jumps inside the probed range: hardshrink's f at ±λ, relu′
        at 0, hardswish′ at −3. The kink is where the probe samples it (rounded to
        its dtype); the limits are float64 evaluations just either side of the
        exact kink; a change below a thousandth of the drawn values' spread is no
        jump."""
        if field not in ("y", "grad", "grad2") or getattr(self, field) is None:
            probed = "y, grad or grad2" if self.grad2 is not None else "y or grad"
            raise UsageError(f"field must be {probed} (got {field!r})")
        if field not in self._found:
            self._found[field] = self._jumps(field)
        found: list[tuple[float, float, float]] = self._found[field]
        return found

    def _jumps(self, field: str) -> list[tuple[float, float, float]]:
        import numpy as np

        x = self.x
        exact = self.spec.activation.kinks(self.spec.params)
        pairs = [
            (float(k), float(at))
            for k, at in zip(exact, self.sampled_kinks(), strict=True)
            if len(x) > 1 and x[0] < at < x[-1]
        ]
        if not pairs or self.train:
            return []
        kinks = [k for k, _ in pairs]
        data = np.asarray(getattr(self, field), dtype=float)
        data = data[np.isfinite(data)]
        spread = float(data.max() - data.min()) if len(data) else 0.0
        tiny = np.array([1e-9 * max(1.0, abs(k)) for k in kinks])
        points = np.concatenate([np.asarray(kinks) - tiny, np.asarray(kinks) + tiny])
        if field == "grad2":
            values = second_at(self.spec, points, dtype="float64", device=self.device)
        else:
            _, f, grad = evaluate(self.spec, points, dtype="float64", device=self.device)
            values = f if field == "y" else grad
        left, right = values[: len(kinks)], values[len(kinks) :]
        limit = 1e-3 * (spread or 1.0)
        return [  # at the kink as sampled: that is where the line must break
            (at, float(a), float(b))
            for (_, at), a, b in zip(pairs, left, right, strict=True)
            if abs(float(b) - float(a)) > limit
        ]

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
        if self.dtype != DEFAULT_DTYPE:
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

    def _repr_png_(self) -> bytes:
        """Jupyter shows a probe as ``actviz plot`` draws it: value and gradient, regimes shaded."""
        from actviz.plotting import UNDERFLOW_DTYPE, activation_figure, figure_bytes
        from actviz.saturation import analyze

        saturation = analyze(self, dtypes=(UNDERFLOW_DTYPE,))
        drawn = activation_figure([self], second=self.grad2 is not None, saturations=[saturation],
                                  dpi=NOTEBOOK_DPI)  # fmt: skip
        return figure_bytes(drawn, "png", dpi=NOTEBOOK_DPI)


def _json_list(values: np.ndarray) -> list[float | None]:
    """Floats for JSON; NaN and ±inf (which JSON lacks) become null."""
    return [v if math.isfinite(v) else None for v in values.tolist()]


@dataclass(frozen=True)
class ProbeOptions:
    """How to probe, apart from what and where: the same for every spec of a run.

    ``dtype`` and ``device`` choose the tensor; ``second`` adds f″ (through
    ``torch.autograd.grad(..., create_graph=True)``, with f′ still from the plain
    backward, so it is the same with or without f″); ``train`` runs the module
    in training mode (RReLU's random slopes, drawn from ``seed``); ``kinks``
    adds the activation's kinks inside the range to the grid.
    """

    dtype: str | torch.dtype = DEFAULT_DTYPE
    device: str = "cpu"
    second: bool = False
    train: bool = False
    seed: int = 0
    kinks: bool = True

    def __post_init__(self) -> None:
        for name in ("second", "train", "kinks"):
            if not isinstance(getattr(self, name), bool):
                raise UsageError(f"{name} must be True or False (got {getattr(self, name)!r})")


DEFAULT_OPTIONS = ProbeOptions()


def probe(
    activation: str | Activation | Spec,
    *,
    start: float = DEFAULT_START,
    stop: float = DEFAULT_STOP,
    points: int | None = None,
    step: float | None = None,
    params: Mapping[str, object] | None = None,
    dtype: str | torch.dtype = DEFAULT_DTYPE,
    device: str = "cpu",
    second: bool = False,
    train: bool = False,
    seed: int = 0,
    kinks: bool = True,
) -> Probe:
    """Sample ``activation`` on a grid and differentiate it with autograd.

    ``f′`` comes from ``y.backward(torch.ones_like(y))`` (the same bits with or
    without ``second=True``, whose f″ comes from ``torch.autograd.grad(...,
    create_graph=True)``), on one contiguous batch with one intra-op thread
    (actviz/environment.py: the bits do not depend on ``torch.set_num_threads``).
    With ``kinks`` (the default) the activation's kinks inside the range are
    added to the grid, so the one-sided gradient torch returns there shows.
    The keywords after ``params`` are :class:`ProbeOptions`'.
    """
    options = ProbeOptions(dtype, device, second=second, train=train, seed=seed, kinks=kinks)
    return _run(_as_spec(activation, params), Grid(start, stop, points, step), options)


def probe_many(
    specs: Specs,
    grid: Grid | None = None,
    options: ProbeOptions = DEFAULT_OPTIONS,
) -> list[Probe]:
    """One :func:`probe` per spec, all on the same grid (default: :class:`Grid`'s)
    and with the same options.

    The probes are held at once, so their total sample count is capped too.
    ``specs`` may be one spec, name (``"relu"``), activation or :class:`~actviz.params.Sweep`,
    or a list of them.
    """
    targets = [_as_spec(s, None) for s in _spec_list(specs)]
    if grid is None:
        grid = Grid()
    if not isinstance(grid, Grid):
        raise UsageError(f"{arg('grid')} must be a Grid, e.g. Grid(-8, 8) (got {grid!r:.60})")
    if not isinstance(options, ProbeOptions):
        raise UsageError(f"{arg('options')} must be a ProbeOptions (got {options!r:.60})")
    grid.check_total(len(targets))
    return [_run(s, grid, options) for s in targets]


def _spec_list(specs: object) -> list[Spec | str | Activation]:
    """``specs`` as a list: one name, spec, activation or sweep is a list of it (them)."""
    from actviz.params import Sweep

    if isinstance(specs, Sweep):
        return list(specs.specs)
    if isinstance(specs, (str, Spec, Activation)):
        return [specs]
    if not isinstance(specs, Iterable):
        raise UsageError(
            f"{arg('specs')} must be activation names or specs, e.g. ['relu'] (got {specs!r:.60})"
        )
    found: list[Spec | str | Activation] = []
    for item in specs:
        found.extend(_spec_list(item) if isinstance(item, Sweep) else [item])
    if not found:
        raise UsageError(f"{arg('specs')} is empty; give at least one activation, e.g. ['relu']")
    return found


def _as_spec(activation: str | Activation | Spec, params: Mapping[str, object] | None) -> Spec:
    if isinstance(activation, Spec):  # a sweep's spec keeps naming its swept values
        merged = spec(activation.activation, {**activation.params, **(params or {})})
        return Spec(merged.activation, merged.params, swept=activation.swept)
    return spec(activation, params)


def _samples(
    target: Spec, grid: Grid, dtype: torch.dtype, device: str, kinks: bool
) -> tuple[torch.Tensor, int, int]:
    """The samples of one pass: the grid plus the kinks inside it, then padding.

    Returns ``(x, count, origin)``: the first ``count`` elements are the grid,
    ``origin`` indexes x = 0. When 0 is a sample it is that sample (so that
    f′(0) of RReLU in train mode is the slope drawn for the x = 0 row, not a
    second draw); otherwise it is the first padding element.
    """
    import torch

    x = grid.tensor(dtype, device)
    inside = [k for k in target.activation.kinks(target.params) if grid.start <= k <= grid.stop]
    if kinks and inside:
        x = torch.unique(torch.cat([x, torch.tensor(inside, dtype=dtype, device=device)]))
    on_grid = torch.nonzero(x == 0).flatten().tolist()
    # Zeros after the grid keep every sample out of the kernel's scalar tail
    # (the underflow edges are found the same way), and the first of them is
    # x = 0 when 0 is not a sample.
    pad = torch.zeros(VECTOR_PAD - len(x) % VECTOR_PAD + VECTOR_PAD, dtype=dtype, device=device)
    return torch.cat([x, pad]), len(x), on_grid[0] if on_grid else len(x)


def _run(target: Spec, grid: Grid, options: ProbeOptions) -> Probe:
    import torch

    torch_type = torch_dtype(options.dtype)
    device, train, second = check_device(options.device), options.train, options.second
    seed = check_seed(options.seed)
    check_params_fit(target, torch_type)
    # Only RReLU in training mode draws random numbers; fork the RNG so that a
    # probe never disturbs the caller's random state.
    with torch.random.fork_rng(devices=[] if device == "cpu" else None):
        torch.manual_seed(seed)
        x, count, origin = _samples(target, grid, torch_type, device, options.kinks)
        x.requires_grad_(True)
        y, grad, grad2 = differentiate(target, x, second=second, train=train)
    xs, ys, grads = as_numpy(x), as_numpy(y), as_numpy(grad)
    # The grid only: after it come x = 0 (f(0) may be inf outside the range) and padding.
    check_finite(target, torch_type, xs[:count], {"f(x)": ys[:count], "f′(x)": grads[:count]})
    return Probe(
        spec=target,
        dtype=str(torch_type).removeprefix("torch."),
        device=device,
        train=train,
        seed=seed,
        x=xs[:count],
        y=ys[:count],
        grad=grads[:count],
        grad2=None if grad2 is None else as_numpy(grad2)[:count],
        f0=float(ys[origin]),
        grad0=float(grads[origin]),
    )


@dataclass(frozen=True, eq=False)
class WeightGrad:
    """The gradient of Σy with respect to one learnable scalar of the module (PReLU's
    slope ``a``, torch's ``weight``): what training updates, beside ∂(Σy)/∂x."""

    name: str  # the nn.Parameter's name in the module: "weight"
    value: float  # its value
    total: float  # ∂(Σy)/∂w: w.grad after y.backward(ones_like(y)) over the grid
    per_sample: np.ndarray  # ∂y_i/∂w at each x of the probe, summing to total

    def as_dict(self) -> dict[str, Any]:
        return {"value": self.value, "grad": self.total, "per_sample": _json_list(self.per_sample)}


def weight_grads(found: Probe) -> list[WeightGrad]:
    """∂(Σy)/∂w for every learnable scalar w of ``found``'s module, on its samples.

    For PReLU (y = x if x > 0 else a·x) that is Σ x over the samples x < 0. The
    total is ``w.grad`` after ``backward(ones_like(y))``, as in training. The
    per-sample column ∂y_i/∂w comes from differentiating the vector-Jacobian
    product Σ v_i·∂y_i/∂w with respect to v: one more backward pass, where
    torch's forward mode would first spend a second loading its decompositions.
    """
    import torch

    if not isinstance(found, Probe):
        raise UsageError(
            f"weight_grads takes one Probe, e.g. weight_grads(probe('prelu')) (got {found!r:.60})"
        )
    target = found.spec
    torch_type = torch_dtype(found.dtype)
    module = target.activation.build(target.params, train=found.train)
    module = module.to(found.device, torch_type)
    scalars = {n: w for n, w in module.named_parameters() if w.requires_grad and w.numel() == 1}
    if not scalars:
        raise UsageError(
            f"{target.label} has no learnable scalar parameter; {arg('weight_grad')} applies "
            f"to prelu "
            "(its slope a) or an nn.Module of yours with scalar nn.Parameters"
        )
    x = torch.tensor(found.x).to(found.device, torch_type)
    results = []
    with torch.random.fork_rng(devices=[] if found.device == "cpu" else None):
        torch.manual_seed(found.seed)
        try:
            y = module(x)
            y.backward(torch.ones_like(y), retain_graph=True)
            for name, weight in scalars.items():
                v = torch.ones_like(y, requires_grad=True)
                (vjp,) = torch.autograd.grad(y, weight, v, create_graph=True, allow_unused=True)
                per_sample = None  # y does not depend on this weight (or only as a constant)
                if vjp is not None and vjp.requires_grad:
                    (per_sample,) = torch.autograd.grad(vjp.sum(), v, allow_unused=True)
                total = 0.0 if weight.grad is None else float(weight.grad.double())
                per = torch.zeros_like(x) if per_sample is None else per_sample
                value = float(weight.detach().double())
                results.append(WeightGrad(name, value, total, as_numpy(per)))
        except (RuntimeError, NotImplementedError) as error:
            first_line = str(error).strip().splitlines()[0]
            raise RuntimeFailure(
                f"{target.label}: no gradient for its learnable parameters: {first_line}"
            ) from error
    return results
