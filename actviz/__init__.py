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

if TYPE_CHECKING:  # for type checkers and IDEs; at run time __getattr__ imports lazily
    from actviz.errors import (
        ActvizError as ActvizError,
    )
    from actviz.plotting import (
        activation_figure as activation_figure,
    )
    from actviz.plotting import (
        draw_gradients as draw_gradients,
    )
    from actviz.plotting import (
        draw_second as draw_second,
    )
    from actviz.plotting import (
        draw_values as draw_values,
    )
    from actviz.plotting import (
        plot_file as plot_file,
    )
    from actviz.plotting import (
        save_figure as save_figure,
    )
    from actviz.probe import (
        Grid as Grid,
    )
    from actviz.probe import (
        Probe as Probe,
    )
    from actviz.probe import (
        probe as probe,
    )
    from actviz.probe import (
        probe_many as probe_many,
    )
    from actviz.registry import (
        ACTIVATIONS as ACTIVATIONS,
    )
    from actviz.registry import (
        get as get,
    )
    from actviz.registry import (
        names as names,
    )
    from actviz.registry import (
        spec as spec,
    )
    from actviz.saturation import (
        Saturation as Saturation,
    )
    from actviz.saturation import (
        analyze as analyze,
    )
    from actviz.tables import (
        probe_table as probe_table,
    )
    from actviz.tables import (
        registry_table as registry_table,
    )

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'actviz' has no attribute {name!r}")
    return getattr(import_module(module), name)
