"""What decides torch's last bits here: the kernel route every probe takes.

torch computes an activation on CPU by one of several kernels, and they round
differently, so an "exact" number (where f′ underflows to 0, a dead share, a
checked ulp count) can depend on the machine:

* **oneDNN**: contiguous gelu with two or more elements goes to oneDNN, in
  float32 always and in bfloat16 when oneDNN runs bfloat16 natively on this
  CPU (AVX-512 BF16, AMX); ``ONEDNN_MAX_CPU_ISA`` can turn that off, and
  ``torch.backends.mkldnn.enabled = False`` turns oneDNN off altogether.
* **ATen's vectorised kernels** (``ATEN_CPU_CAPABILITY``: AVX512, AVX2 or
  DEFAULT) compute a contiguous tensor in vectors and finish the last
  n mod (vector width) elements with scalar code: mish in float32 differs
  there (n mod 32 with AVX-512, n mod 16 with AVX2; with DEFAULT everything
  is scalar code).
* **Scalar code**: a single element or a strided view, whatever the CPU.
* **Intra-op threads** split a long tensor into chunks whose ends need not
  fall on a vector boundary, putting scalar-code elements mid-batch.

actviz fixes what it can: every evaluation runs on one contiguous batch,
padded so that no sample falls in a scalar tail, with **one intra-op thread**
(see :func:`one_thread`), so a probe gives the same bits whatever
``torch.set_num_threads`` says. What it cannot fix (torch's version, the
CPU's capability, oneDNN) it records: :func:`environment` is stamped on
every route-dependent result (``--json``, the export manifest, the footer of
a table that marks an edge with †, ``actviz env``).
"""

from __future__ import annotations

import contextlib
import os
import platform
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

# What a probe's grid and the underflow search evaluate on.
BATCH_ROUTE = "contiguous batch, padded out of every scalar tail, 1 intra-op thread"
EVALUATION_THREADS = 1
ENV_VARIABLES = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA")
# What tells one kernel route from another. ``threads`` and ``route`` are actviz's
# own choices (another value is another actviz); ``variables`` only say how a route
# was asked for (torch ignores a capability the CPU lacks).
ROUTE_KEYS = ("torch", "device", "machine", "cpu_capability", "onednn", "onednn_bfloat16")


@dataclass(frozen=True)
class Environment:
    """The kernel route a result was measured on. Two results agree to the last bit
    when their environments are equal; when they are not, route-dependent numbers
    (underflow edges above all) may differ."""

    torch: str  # torch.__version__
    device: str  # "cpu", or "cuda:0 (NVIDIA H100 ...)": a GPU has kernels of its own
    machine: str  # platform.machine(): x86_64, arm64, ...
    cpu_capability: str  # ATen's: AVX512, AVX2, DEFAULT, ... (ATEN_CPU_CAPABILITY caps it)
    onednn: bool  # oneDNN compiled in and torch.backends.mkldnn.enabled
    onednn_bfloat16: bool  # oneDNN runs bfloat16 natively here (gelu's bfloat16 goes to it)
    threads: int  # intra-op threads an evaluation runs with
    route: str  # how the samples are laid out (BATCH_ROUTE)
    variables: tuple[tuple[str, str], ...] = ()  # ATEN_CPU_CAPABILITY etc. where set

    def as_dict(self) -> dict[str, Any]:
        found = asdict(self)
        found["variables"] = dict(self.variables)
        return found

    def record(self) -> dict[str, Any]:
        """What an export manifest records: :meth:`as_dict` without ``variables``, which
        say how a route was asked for, not which it is (torch ignores a capability the
        CPU lacks): a variable that changes nothing changes no file."""
        found = self.as_dict()
        del found["variables"]
        return found

    @classmethod
    def from_dict(cls, data: object) -> Environment | None:
        """The environment recorded as :meth:`as_dict` or :meth:`record`, or None when
        ``data`` is not one (missing or extra keys, wrong types)."""
        fields = {f: t for f, t in cls.__annotations__.items()}
        if isinstance(data, dict) and "variables" not in data:
            data = {**data, "variables": {}}
        if not isinstance(data, dict) or set(data) != set(fields):
            return None
        variables = data["variables"]
        if not isinstance(variables, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in variables.items()
        ):
            return None
        kinds = {"threads": int, "onednn": bool, "onednn_bfloat16": bool}
        for key, value in data.items():
            if key != "variables" and type(value) is not kinds.get(key, str):
                return None
        return cls(**{**data, "variables": tuple(sorted(variables.items()))})

    def other_route(self, other: Environment) -> bool:
        """Whether ``other`` is another kernel route of this same actviz (same threads
        and layout; another torch, CPU capability, oneDNN, ...)."""
        same_actviz = (self.threads, self.route) == (other.threads, other.route)
        return same_actviz and any(getattr(self, k) != getattr(other, k) for k in ROUTE_KEYS)

    def line(self) -> str:
        """One line: ``torch 2.13.0+cpu on x86_64, ATen AVX512, oneDNN on, ...``."""
        if self.onednn:
            onednn = "oneDNN on (native bfloat16)" if self.onednn_bfloat16 else "oneDNN on"
        else:
            onednn = "oneDNN off"
        set_here = "".join(f", {k}={v}" for k, v in self.variables)
        threads = "thread" if self.threads == 1 else "threads"
        where = self.machine if self.device == "cpu" else f"{self.device} ({self.machine})"
        return (
            f"torch {self.torch} on {where}, ATen {self.cpu_capability}, {onednn}, "
            f"{self.threads} intra-op {threads}{set_here}; {self.route.split(',')[0]}"
        )

    def rows(self) -> list[tuple[str, str]]:
        """(what, value) pairs for ``actviz env``."""
        return [
            ("torch", self.torch),
            ("device", self.device),
            ("machine", self.machine),
            ("ATen CPU capability", self.cpu_capability),
            ("oneDNN", "on" if self.onednn else "off"),
            ("oneDNN bfloat16", "native" if self.onednn_bfloat16 else "not native"),
            ("intra-op threads", str(self.threads)),
            ("route", self.route),
            *((name, value) for name, value in self.variables),
        ]

    def text(self) -> str:
        """What ``actviz env`` prints."""
        width = max(len(what) for what, _ in self.rows()) + 2
        lines = ["actviz measures on this kernel route:"]
        lines += [f"  {what:<{width}}{value}" for what, value in self.rows()]
        lines.append(
            "Numbers marked † (underflow edges) may differ on another route: the CPU, "
            "ATEN_CPU_CAPABILITY, ONEDNN_MAX_CPU_ISA (DNNL_MAX_CPU_ISA) and "
            "torch.backends.mkldnn.enabled choose it."
        )
        return "\n".join(lines)


def environment(device: str = "cpu") -> Environment:
    """The environment this process evaluates in on ``device`` (imports torch)."""
    import torch

    if device != "cpu" and device.startswith("cuda") and torch.cuda.is_available():
        index = torch.device(device).index or 0
        device = f"{device} ({torch.cuda.get_device_name(index)})"

    available = torch.backends.mkldnn.is_available()  # type: ignore[no-untyped-call]
    onednn = bool(available and torch.backends.mkldnn.enabled)
    try:
        bfloat16 = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a build without oneDNN
        bfloat16 = False
    return Environment(
        torch=str(torch.__version__),
        device=device,
        machine=platform.machine() or "unknown",
        cpu_capability=str(torch.backends.cpu.get_cpu_capability()),
        onednn=onednn,
        onednn_bfloat16=onednn and bfloat16,
        threads=EVALUATION_THREADS,
        route=BATCH_ROUTE,
        variables=tuple(sorted((k, os.environ[k]) for k in ENV_VARIABLES if os.environ.get(k))),
    )


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run torch with :data:`EVALUATION_THREADS` intra-op threads, then restore the
    caller's count.

    With several threads, torch splits a long tensor into chunks whose ends need
    not be vector-aligned, and the elements there take scalar code: with 3
    threads, mish's f′ on 100,017 samples near x = -103.4 had 44 non-zero values
    that 1, 2 and 4 threads round to 0. One thread makes every probe's bits
    independent of the caller's ``torch.set_num_threads``; for elementwise
    kernels on a 2-core machine it costs little (``bench/threads.py``).
    """
    import torch

    before = torch.get_num_threads()
    if before == EVALUATION_THREADS:
        yield
        return
    torch.set_num_threads(EVALUATION_THREADS)
    try:
        yield
    finally:
        torch.set_num_threads(before)
