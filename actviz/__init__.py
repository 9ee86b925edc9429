"""actviz: see and measure how a PyTorch activation function and its gradient behave.

The pipeline, one module per step::

    registry  → probe     → saturation → plotting / tables → cli
    (what)      (autograd)  (analysis)   (rendering)          (thin Typer layer)

and, for deep networks at initialisation, init_gain (gains, mean field) and
depth_sim (a real MLP, layer by layer), drawn by depth_plots.

Notebook use::

    import actviz
    p = actviz.probe("sigmoid", start=-8, stop=8, step=0.1)
    p.grad  # numpy array of f′ from y.backward(torch.ones_like(y))

Nothing here imports torch, numpy or matplotlib until a function needs them.
"""

from __future__ import annotations

import sys
from importlib import import_module
from types import ModuleType
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"


class _Package(ModuleType):
    """``actviz.probe`` is always the function, never the module of that name.

    Importing the submodule ``actviz.probe`` (as the library does, lazily)
    makes Python set the package's ``probe`` attribute to the module; this
    keeps the function there instead. The submodule is not imported here:
    ``actviz list`` needs only the registry, and probe.py's dataclasses cost
    start-up time.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "probe" and isinstance(value, ModuleType):
            value = value.probe
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

# The rest is imported on first use, to keep ``actviz --help`` fast.
_ERRORS = (
    "ActvizError",
    "UsageError",
    "UnknownActivationError",
    "InvalidParameterError",
    "InvalidGridError",
    "UnknownFormatError",
    "RuntimeFailure",
    "DeviceUnavailableError",
    "CustomActivationError",
    "OutputError",
)
_LAZY = {
    **dict.fromkeys(("Grid", "Probe", "probe", "probe_many"), "actviz.probe"),
    **dict.fromkeys(_ERRORS, "actviz.errors"),
    "ACTIVATIONS": "actviz.registry",
    "get": "actviz.registry",
    "names": "actviz.registry",
    "spec": "actviz.registry",
    "Sweep": "actviz.params",
    "sweep": "actviz.params",
    "WeightGrad": "actviz.probe",
    "weight_grads": "actviz.probe",
    "Saturation": "actviz.saturation",
    "analyze": "actviz.saturation",
    "Drawn": "actviz.plotting",
    "activation_figure": "actviz.plotting",
    "draw_gradients": "actviz.plotting",
    "draw_second": "actviz.plotting",
    "draw_values": "actviz.plotting",
    "plot_file": "actviz.plotting",
    "save_figure": "actviz.plotting",
    "probe_report": "actviz.tables",
    "probe_table": "actviz.tables",
    "registry_listing": "actviz.tables",
    "Gain": "actviz.init_gain",
    "gain": "actviz.init_gain",
    "phase_curve": "actviz.init_gain",
    "Depth": "actviz.depth_sim",
    "DepthRun": "actviz.depth_sim",
    "depth": "actviz.depth_sim",
    "depth_figure": "actviz.depth_plots",
    "phase_figure": "actviz.depth_plots",
}

if TYPE_CHECKING:
    from actviz.depth_plots import depth_figure as depth_figure
    from actviz.depth_plots import phase_figure as phase_figure
    from actviz.depth_sim import Depth as Depth
    from actviz.depth_sim import DepthRun as DepthRun
    from actviz.depth_sim import depth as depth
    from actviz.errors import ActvizError as ActvizError
    from actviz.errors import CustomActivationError as CustomActivationError
    from actviz.errors import DeviceUnavailableError as DeviceUnavailableError
    from actviz.errors import InvalidGridError as InvalidGridError
    from actviz.errors import InvalidParameterError as InvalidParameterError
    from actviz.errors import OutputError as OutputError
    from actviz.errors import RuntimeFailure as RuntimeFailure
    from actviz.errors import UnknownActivationError as UnknownActivationError
    from actviz.errors import UnknownFormatError as UnknownFormatError
    from actviz.errors import UsageError as UsageError
    from actviz.init_gain import Gain as Gain
    from actviz.init_gain import gain as gain
    from actviz.init_gain import phase_curve as phase_curve
    from actviz.params import Sweep as Sweep
    from actviz.params import sweep as sweep
    from actviz.plotting import Drawn as Drawn
    from actviz.plotting import activation_figure as activation_figure
    from actviz.plotting import draw_gradients as draw_gradients
    from actviz.plotting import draw_second as draw_second
    from actviz.plotting import draw_values as draw_values
    from actviz.plotting import plot_file as plot_file
    from actviz.plotting import save_figure as save_figure
    from actviz.probe import Grid as Grid
    from actviz.probe import Probe as Probe
    from actviz.probe import WeightGrad as WeightGrad
    from actviz.probe import probe as probe
    from actviz.probe import probe_many as probe_many
    from actviz.probe import weight_grads as weight_grads
    from actviz.registry import ACTIVATIONS as ACTIVATIONS
    from actviz.registry import get as get
    from actviz.registry import names as names
    from actviz.registry import spec as spec
    from actviz.saturation import Saturation as Saturation
    from actviz.saturation import analyze as analyze
    from actviz.tables import probe_report as probe_report
    from actviz.tables import probe_table as probe_table
    from actviz.tables import registry_listing as registry_listing

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'actviz' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    if name == "probe":  # the import above set it already, to the function (see _Package)
        return globals()["probe"]
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
