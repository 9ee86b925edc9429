"""actviz: see and measure how a PyTorch activation function and its gradient behave.

The pipeline, one module per step::

    registry  → probe     → saturation → plotting / tables → cli
    (what)      (autograd)  (analysis)   (rendering)          (thin Typer layer)

Notebook use::

    from actviz import probe, analyze, activation_figure
    p = probe("sigmoid", start=-8, stop=8, step=0.1)
    p.grad  # numpy array of f′ from y.backward(torch.ones_like(y))

Names are imported lazily so that ``import actviz`` does not pull in torch or
matplotlib until a function that needs them is used.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "ActvizError": "actviz.errors",
    "ACTIVATIONS": "actviz.registry",
    "get": "actviz.registry",
    "names": "actviz.registry",
    "spec": "actviz.registry",
    "Grid": "actviz.probe",
    "Probe": "actviz.probe",
    "probe": "actviz.probe",
    "probe_many": "actviz.probe",
    "Saturation": "actviz.saturation",
    "analyze": "actviz.saturation",
    "activation_figure": "actviz.plotting",
    "draw_values": "actviz.plotting",
    "draw_gradients": "actviz.plotting",
    "draw_second": "actviz.plotting",
    "plot_file": "actviz.plotting",
    "save_figure": "actviz.plotting",
    "probe_table": "actviz.tables",
    "registry_table": "actviz.tables",
}

if TYPE_CHECKING:
    from actviz.errors import ActvizError
    from actviz.plotting import (
        activation_figure,
        draw_gradients,
        draw_second,
        draw_values,
        plot_file,
        save_figure,
    )
    from actviz.probe import Grid, Probe, probe, probe_many
    from actviz.registry import ACTIVATIONS, get, names, spec
    from actviz.saturation import Saturation, analyze
    from actviz.tables import probe_table, registry_table

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'actviz' has no attribute {name!r}")
    return getattr(import_module(module), name)
