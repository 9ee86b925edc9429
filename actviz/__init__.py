"""actviz: see and measure how a PyTorch activation function and its gradient behave.

The pipeline, one module per step::

    registry → probing    → saturation → plotting / tables → figure_files / export → cli
    (what)     (autograd)   (analysis)   (rendering)          (files)                 (Typer)

with evaluation under probing (f and f′ at any points). Features with several
modules are packages named like their commands: ``actviz.depth`` (the
``depth``, ``gain``, ``cmap`` and ``shape`` commands: deep networks at
initialisation), ``actviz.check``, ``actviz.graph``, and the ``saturation``
survey in ``actviz.saturation``. README's "Layout" names every module.

Notebook use::

    import actviz
    p = actviz.probe("sigmoid", start=-8, stop=8, step=0.1)
    p.grad  # numpy array of f′ from y.backward(torch.ones_like(y))

Nothing here imports torch, numpy or matplotlib until a function needs them.
"""

# Only modules `python -m actviz` has loaded before this runs (importlib, os): the
# working folder is still first on sys.path here (see __main__.py), so a typing.py
# there would be imported in place of typing.
import os
from importlib import import_module

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing

__version__ = "0.1.0"


# Hand-written, not scientific-python's lazy_loader (issue 23 weighed it): its
# attach_stub imports ``ast`` (and ``lazy_loader`` itself) while ``python -m actviz``
# still has the working folder first on sys.path (``__main__.py``), so an ``ast.py``
# there would run; ``ast`` is not yet imported at that point under ``-m``. It also cost
# 8-18 ms of start-up (import and stub parse, 15 runs each, loaded 2-core machine)
# where ``import typer`` takes about 195 ms.
# Imported on first use, to keep ``actviz --help`` fast: each public name and
# the module it lives in. The TYPE_CHECKING imports below say the same for
# type checkers; tests/test_public_api.py checks that the two agree.
_LAZY_MODULES = {
    "actviz.registry": ("ACTIVATIONS", "get", "names", "spec"),
    "actviz.params": ("Sweep", "sweep"),
    "actviz.probing": (
        "Grid",
        "Probe",
        "ProbeOptions",
        "WeightGrad",
        "probe",
        "probe_many",
        "weight_grads",
    ),
    "actviz.saturation": ("Saturation", "analyze"),
    "actviz.plotting": (
        "Drawn",
        "activation_figure",
        "draw_gradients",
        "draw_second",
        "draw_values",
        "save_figure",
    ),
    "actviz.figure_files": ("FigureOptions", "plot_file", "write_plot"),
    "actviz.tables": ("probe_report", "probe_table", "registry_listing"),
    "actviz.depth.gain": ("Gain", "gain", "phase_curve"),
    "actviz.depth.simulation": ("Depth", "DepthRun", "simulate"),
    "actviz.depth.cmap.kernel": ("CorrelationMap", "correlation_map"),
    "actviz.depth.plots": ("depth_figure", "phase_figure"),
    "actviz.check.baseline": ("Baseline", "Verdict", "judge"),
    "actviz.errors": (
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
        "BaselineError",
    ),
}
_LAZY = {name: module for module, names in _LAZY_MODULES.items() for name in names}

if TYPE_CHECKING:
    from actviz.check.baseline import Baseline as Baseline
    from actviz.check.baseline import Verdict as Verdict
    from actviz.check.baseline import judge as judge
    from actviz.depth.cmap.kernel import CorrelationMap as CorrelationMap
    from actviz.depth.cmap.kernel import correlation_map as correlation_map
    from actviz.depth.gain import Gain as Gain
    from actviz.depth.gain import gain as gain
    from actviz.depth.gain import phase_curve as phase_curve
    from actviz.depth.plots import depth_figure as depth_figure
    from actviz.depth.plots import phase_figure as phase_figure
    from actviz.depth.simulation import Depth as Depth
    from actviz.depth.simulation import DepthRun as DepthRun
    from actviz.depth.simulation import simulate as simulate
    from actviz.errors import ActvizError as ActvizError
    from actviz.errors import BaselineError as BaselineError
    from actviz.errors import CustomActivationError as CustomActivationError
    from actviz.errors import DeviceUnavailableError as DeviceUnavailableError
    from actviz.errors import InvalidGridError as InvalidGridError
    from actviz.errors import InvalidParameterError as InvalidParameterError
    from actviz.errors import OutputError as OutputError
    from actviz.errors import RuntimeFailure as RuntimeFailure
    from actviz.errors import UnknownActivationError as UnknownActivationError
    from actviz.errors import UnknownFormatError as UnknownFormatError
    from actviz.errors import UsageError as UsageError
    from actviz.figure_files import FigureOptions as FigureOptions
    from actviz.figure_files import plot_file as plot_file
    from actviz.figure_files import write_plot as write_plot
    from actviz.params import Sweep as Sweep
    from actviz.params import sweep as sweep
    from actviz.plotting import Drawn as Drawn
    from actviz.plotting import activation_figure as activation_figure
    from actviz.plotting import draw_gradients as draw_gradients
    from actviz.plotting import draw_second as draw_second
    from actviz.plotting import draw_values as draw_values
    from actviz.plotting import save_figure as save_figure
    from actviz.probing import Grid as Grid
    from actviz.probing import Probe as Probe
    from actviz.probing import ProbeOptions as ProbeOptions
    from actviz.probing import WeightGrad as WeightGrad
    from actviz.probing import probe as probe
    from actviz.probing import probe_many as probe_many
    from actviz.probing import weight_grads as weight_grads
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


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        # A submodule by attribute (actviz.jacobian.jacobian(...)), as after
        # `import actviz.jacobian`; the lazy names above win over module names.
        here = os.path.dirname(__file__)
        found = os.path.isfile(os.path.join(here, f"{name}.py")) or os.path.isfile(
            os.path.join(here, name, "__init__.py")  # a command's package: actviz.depth.cmap
        )
        if not name.startswith("_") and found:
            return import_module(f"actviz.{name}")
        raise AttributeError(f"module 'actviz' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
