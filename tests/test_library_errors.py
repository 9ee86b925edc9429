"""Bad calls to the library raise actviz's own errors, naming the Python parameter
(issue 19): a notebook user gets ``ActvizError``, never a bare TypeError or
AttributeError from deep inside."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import actviz
from actviz import errors, graph, jacobian, plotting
from actviz import export as export_module
from actviz.check.verify import verify
from actviz.errors import ActvizError
from actviz.export import export
from actviz.glu import probe_glu
from actviz.probing import Grid, Probe, probe, probe_many
from actviz.registry import spec
from actviz.saturation import analyze
from tests.conftest import UserModules

# Typed as Any: these calls are wrong on purpose, as a notebook user may write them.
lib: Any = actviz
exporting: Any = export_module


def _figure() -> Any:
    from matplotlib.figure import Figure

    return Figure()


def _relu() -> Any:
    return actviz.probe("relu", points=5)


BAD_CALLS: list[tuple[str, Callable[[], object], str]] = [
    ("simulate(layers=2.5)", lambda: lib.simulate("relu", layers=2.5), "layers"),
    ("simulate(width='x')", lambda: lib.simulate("relu", width="x"), "width"),
    ("simulate(batch=True)", lambda: lib.simulate("relu", batch=True), "batch"),
    ("simulate(123)", lambda: lib.simulate(123), "activations"),
    ("simulate([])", lambda: lib.simulate([]), "activations"),
    ("simulate([relu, 5])", lambda: lib.simulate(["relu", 5]), "activations"),
    ("simulate(layers=0)", lambda: lib.simulate("relu", layers=0), "layers"),
    ("simulate(init='he')", lambda: lib.simulate("relu", init="he"), "init"),
    ("simulate(bias_std=-1)", lambda: lib.simulate("relu", bias_std=-1.0), "bias"),
    ("simulate(seed=-1)", lambda: lib.simulate("relu", seed=-1), "seed"),
    ("gain(5)", lambda: lib.gain(5), "activations"),
    ("gain({'relu'})", lambda: lib.gain({"relu"}), "activations"),
    ("gain(bias_std='x')", lambda: lib.gain("relu", bias_std="x"), "bias"),
    ("sweep(leaky_relu, None)", lambda: lib.sweep("leaky_relu", None), "values"),
    ("sweep(values=list)", lambda: lib.sweep("leaky_relu", [0.1]), "values"),
    ("sweep(params=5)", lambda: lib.sweep("elu", {"alpha": [1, 2]}, 5), "params"),
    ("sweep(unknown key)", lambda: lib.sweep("elu", {"beta": [1, 2]}), "beta"),
    ("weight_grads('prelu\\n')", lambda: lib.weight_grads("prelu\n"), "weight_grads"),
    ("weight_grads(None)", lambda: lib.weight_grads(None), "weight_grads"),
    ("probe(5)", lambda: lib.probe(5), "name"),
    ("probe(points='x')", lambda: lib.probe("relu", points="x"), "points"),
    ("probe(step=0)", lambda: lib.probe("relu", step=0), "step"),
    ("probe(dtype='float8')", lambda: lib.probe("relu", dtype="float8"), "dtype"),
    ("probe(device=3)", lambda: lib.probe("relu", device=3), "device"),
    ("probe(seed='a')", lambda: lib.probe("rrelu", train=True, seed="a"), "seed"),
    ("analyze(5)", lambda: lib.analyze(5), "Probe"),
    ("analyze(eps=2)", lambda: lib.analyze(_relu(), eps=2.0), "eps"),
    ("spec(params=5)", lambda: lib.spec("elu", 5), "mapping"),
    ("spec(unknown param)", lambda: lib.spec("elu", {"beta": 1}), "beta"),
    ("get('nope')", lambda: lib.get("nope"), "nope"),
    ("save_figure(out=5)", lambda: lib.save_figure(_figure(), 5), "output"),
    ("export(out_dir=5)", lambda: exporting.export(["tanh"], 5), "output folder"),
    ("export(jobs=0)", lambda: exporting.export(["tanh"], "o", jobs=0), "jobs"),
    ("activation_figure([])", lambda: lib.activation_figure([]), "probe"),
    ("activation_figure(dpi=5)", lambda: lib.activation_figure([_relu()], dpi=5), "dpi"),
    ("Grid(points=1)", lambda: lib.Grid(points=1), "point"),
    ("Grid(start=nan)", lambda: lib.Grid(float("nan"), 1.0), "range"),
    # what an outsider's careless calls raised as AttributeError, TypeError, ValueError
    ("activation_figure('gelu')", lambda: lib.activation_figure("gelu"), "probes='gelu'"),
    ("activation_figure([5])", lambda: lib.activation_figure([5]), "not a Probe"),
    ("activation_figure(saturations=2×)", lambda: lib.activation_figure(
        [_relu()], saturations=[lib.analyze(_relu())] * 2), "saturations"),
    ("activation_figure(xlim=(1,))", lambda: lib.activation_figure([_relu()], xlim=(1,)),
     "xlim=(1,)"),
    ("activation_figure(xlim=(1,2,3))", lambda: lib.activation_figure(
        [_relu()], xlim=(1, 2, 3)), "xlim=(1, 2, 3)"),
    ("activation_figure(ylim='a')", lambda: lib.activation_figure([_relu()], ylim="a"),
     "ylim='a'"),
    ("save_figure(None)", lambda: lib.save_figure(None, "x.png"), "fig"),
    ("plot_file('gelu')", lambda: lib.plot_file("gelu", out="a.png"), "probes='gelu'"),
    ("FigureOptions(figsize='ab')", lambda: lib.FigureOptions(figsize="ab"), "figsize='ab'"),
    ("FigureOptions(figsize=(1,))", lambda: lib.FigureOptions(figsize=(1,)), "figsize=(1,)"),
    ("FigureOptions(ylim=('a','b'))", lambda: lib.FigureOptions(ylim=("a", "b")),
     "ylim=('a', 'b')"),
    ("FigureOptions(grad_ylim='ab')", lambda: lib.FigureOptions(grad_ylim="ab"), "grad_ylim"),
    ("FigureOptions(xlim=1)", lambda: lib.FigureOptions(xlim=1), "xlim=1"),
    ("FigureOptions(out_dir=5)", lambda: lib.FigureOptions(out_dir=5), "out_dir=5"),
]  # fmt: skip


@pytest.mark.parametrize(("what", "call", "names"), BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
def test_a_bad_library_call_is_an_actviz_error_naming_the_parameter(
    what: str, call: Callable[[], object], names: str, tmp_path: Any, monkeypatch: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ActvizError) as error:
        call()
    assert names.lower() in str(error.value).lower(), (what, str(error.value))


def test_the_check_catches_a_bare_python_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Put the old normalisation back: gain(5) fails inside with a TypeError again."""
    from actviz import registry

    monkeypatch.setattr(registry, "specs_of", lambda a, parameter="activations": list(a))
    with pytest.raises(TypeError):
        lib.gain(5)


# --- grids, devices, seeds and inputs a notebook may get wrong (issue 9) ---------


@pytest.fixture()
def in_user_folder(user_modules: UserModules) -> Path:
    """A working folder with a user module that does not parse."""
    return user_modules(h9syntax="def f(x:\n    return x\n")


def _nan_probe() -> Probe:
    p = probe("relu", start=-1, stop=1, points=5)
    nan = np.full_like(p.x, np.nan)
    return Probe(p.spec, p.dtype, p.device, p.train, p.seed, p.x, nan, nan)


def _fig() -> Any:
    from matplotlib.figure import Figure

    return Figure()


GRID_AND_INPUT_CALLS: list[tuple[str, Callable[[], object], type[errors.ActvizError], str]] = [
    ("step 1e-320", lambda: probe("relu", step=1e-320), errors.InvalidGridError, "more than 1e308"),
    (
        "bounds ±1e308",
        lambda: probe("relu", start=-1e308, stop=1e308, points=3, dtype="float64"),
        errors.InvalidGridError,
        "its width overflows float64",
    ),
    (
        "bound 1e308 in float32",
        lambda: probe("relu", start=0, stop=1e308, points=3),
        errors.InvalidGridError,
        "does not fit in float32",
    ),
    ("cpu:junk", lambda: probe("relu", device="cpu:junk"), errors.UnknownFormatError, "cpu:junk"),
    ("cpu:1", lambda: probe("relu", device="cpu:1"), errors.UnknownFormatError, "one cpu device"),
    ("device None", lambda: probe("relu", device=None), errors.UnknownFormatError, "None"),  # type: ignore[arg-type]
    (
        "huge seed",
        lambda: probe("rrelu", train=True, seed=10**23),
        errors.UsageError,
        "seed must be a whole number from 0 to 2**64 - 1",
    ),
    ("negative seed", lambda: probe("rrelu", seed=-1), errors.UsageError, "got -1"),
    ("float seed", lambda: probe("rrelu", seed=1.5), errors.UsageError, "got 1.5"),  # type: ignore[arg-type]
    (
        "dtype int32",
        lambda: probe("relu", dtype=torch.int32),
        errors.UnknownFormatError,
        "unknown dtype 'int32'",
    ),
    ("points 2.5", lambda: probe("relu", points=2.5), errors.InvalidGridError, "got 2.5"),  # type: ignore[arg-type]
    ("points True", lambda: probe("relu", points=True), errors.InvalidGridError, "got True"),
    ("points '5'", lambda: probe("relu", points="5"), errors.InvalidGridError, "got '5'"),  # type: ignore[arg-type]
    ("start 'a'", lambda: probe("relu", start="a"), errors.InvalidGridError, "must be numbers"),  # type: ignore[arg-type]
    ("step '0.1'", lambda: probe("relu", step="0.1"), errors.InvalidGridError, "got '0.1'"),  # type: ignore[arg-type]
    ("name 123", lambda: probe(123), errors.UnknownActivationError, "got 123"),  # type: ignore[arg-type]
    (
        "params not a mapping",
        lambda: probe("elu", params=[1]),  # type: ignore[arg-type]
        errors.InvalidParameterError,
        "parameters are a mapping",
    ),
    (
        "analyze on a NaN probe",
        lambda: analyze(_nan_probe()),
        errors.InvalidGridError,
        "relu has no finite f′ on this grid",
    ),
    (
        "probe_many above the total",
        lambda: probe_many([spec("relu")] * 3, Grid(points=400_000)),
        errors.InvalidGridError,
        "3 activations × 400,000 points",
    ),
    (
        "glu plane",
        lambda: probe_glu(Grid(points=1001)),
        errors.InvalidGridError,
        "1,001 × 1,001 plane",
    ),
    (
        "save_figure dpi 0",
        lambda: plotting.save_figure(_fig(), "x.png", dpi=0),
        errors.UnknownFormatError,
        "dpi must be a whole number from 10 to 1200 (got 0)",
    ),
    (
        "save_figure to '.'",
        lambda: plotting.save_figure(_fig(), "."),
        errors.UsageError,
        "output '.' is not a file name",
    ),
    (
        "export dpi 0",
        lambda: export([spec("relu")], "out", dpi=0),
        errors.UnknownFormatError,
        "dpi must be a whole number",
    ),
    (
        "plot_file out '.'",
        lambda: actviz.plot_file([probe("relu")], out="."),
        errors.UsageError,
        "output '.' is not a file name",
    ),
    (
        "activation_figure([])",
        lambda: plotting.activation_figure([]),
        errors.UsageError,
        "give at least one probe",
    ),
    (
        "jacobian NaN",
        lambda: jacobian.jacobian("softmax", [math.nan, 1.0]),
        errors.UsageError,
        "finite numbers (got nan)",
    ),
    (
        "jacobian text",
        lambda: jacobian.jacobian("softmax", ["a", 1.0]),  # type: ignore[list-item]
        errors.UsageError,
        "must be numbers (got 'a')",
    ),
    (
        "random_input huge seed",
        lambda: jacobian.random_input(3, 10**30),
        errors.UsageError,
        "seed must be a whole number",
    ),
    (
        "graph bare variable",
        lambda: graph.run("x", {"x": [1.0]}),
        errors.UsageError,
        "just a variable",
    ),
    (
        "graph NaN",
        lambda: graph.run("sigmoid(x)", {"x": [math.nan]}),
        errors.UsageError,
        "finite numbers",
    ),
    (
        "verify os:system",
        lambda: verify(spec("os:system")),
        errors.CustomActivationError,
        "os:system raised TypeError",
    ),
    (
        "syntax error on import",
        lambda: spec("h9syntax:f"),
        errors.CustomActivationError,
        "cannot import 'h9syntax' for h9syntax:f: syntax error in",
    ),
]


@pytest.mark.parametrize(
    ("call", "kind", "message"),
    [c[1:] for c in GRID_AND_INPUT_CALLS],
    ids=[c[0] for c in GRID_AND_INPUT_CALLS],
)
def test_bad_library_calls_raise_actviz_errors(
    in_user_folder: Path, call: Callable[[], object], kind: type[errors.ActvizError], message: str
) -> None:
    with pytest.raises(kind) as caught:
        call()
    assert message in str(caught.value)


def test_error_classes_are_exported() -> None:
    for name in ("UsageError", "InvalidGridError", "CustomActivationError", "OutputError"):
        cls = getattr(actviz, name)
        assert cls is getattr(errors, name) and issubclass(cls, actviz.ActvizError)
        assert name in actviz.__all__


def test_library_functions_refuse_wrong_types_with_an_actviz_error() -> None:
    import actviz as typed

    actviz: Any = typed  # the wrong types are the point here

    relu = probe("relu", points=5)
    cases: list[tuple[Callable[[], object], str]] = [
        (lambda: actviz.analyze(None),
         "analyze takes one Probe, e.g. analyze(probe('relu')) (got None)"),
        (lambda: actviz.analyze(relu, eps="0.1"),
         "eps must be a number between 0 and 1 (got '0.1')"),
        (lambda: actviz.probe("relu", train="yes"), "train must be True or False (got 'yes')"),
        (lambda: actviz.probe_many(None, actviz.Grid()),
         "specs must be activation names or specs, e.g. ['relu'] (got None)"),
        (lambda: actviz.probe_many(["relu"], (-1, 1)),
         "grid must be a Grid, e.g. Grid(-8, 8) (got (-1, 1))"),
        (lambda: actviz.save_figure(actviz.activation_figure([relu]), None),
         "output must be a file path such as figs/plot.png (got None)"),
        (lambda: actviz.write_plot(None),
         "specs must be activation names or specs, e.g. ['relu'] (got None)"),
        (lambda: actviz.write_plot([]), "specs is empty; give at least one activation, e.g. "
         "['relu']"),
    ]  # fmt: skip
    for call, message in cases:
        with pytest.raises(actviz.ActvizError) as caught:
            call()
        assert str(caught.value) == message
