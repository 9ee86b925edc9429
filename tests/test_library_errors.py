"""Bad calls to the library raise actviz's own errors, naming the Python parameter
(issue 19): a notebook user gets ``ActvizError``, never a bare TypeError or
AttributeError from deep inside."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import actviz
from actviz import export as export_module
from actviz.errors import ActvizError

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
