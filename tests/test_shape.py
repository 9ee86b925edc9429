"""`actviz shape`: DKS and TAT targets checked by an independent evaluation.

Every target is recomputed here from the papers' definitions, on the
transformed function written with the closed forms of tests/closed_forms.py
(numpy, not torch) and a quadrature of this file's own: Gauss–Legendre in z on
panels 0.025 wide over [−12, 12], split where α and β move the kinks (the
library integrates over x = α·z + β on other panels, with torch's autograd).
The network's C(0) is iterated on leaky relu's closed-form kernel, or on a
two-dimensional Gauss–Hermite rule for smooth φ̂; one wide MLP is run for real.
"""

from __future__ import annotations

import dataclasses
import json
import math
import pickle
import sys
import textwrap
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from actviz.cli import app
from actviz.depth.shape import Shaped, shape, shape_all, solve
from actviz.depth.shape.figure import draw_activations, draw_network_maps, shape_figure
from actviz.depth.shape.report import shape_table
from actviz.errors import InvalidParameterError, NoSolutionError, ShapeRefusedError
from actviz.registry import spec
from tests.closed_forms import CLOSED_FORMS
from tests.test_figure_geometry import problems

runner = CliRunner()
Form = Callable[[np.ndarray], np.ndarray]

# The library solves each residual to 1e-13 and its quadrature agrees with this
# file's to ~1e-13 (both are float64 Gauss–Legendre rules resolving every kink);
# the targets are checked to 1e-9 relative, the library's own acceptance (MET),
# which a wrong answer (a parameter off by 1e-6) misses by orders of magnitude.
RTOL = 1e-9


def _erf_forms() -> tuple[Form, Form, Form]:
    erf = np.vectorize(math.erf)
    return (
        lambda x: erf(x),
        lambda x: 2 / math.sqrt(math.pi) * np.exp(-x * x),
        lambda x: -4 * x / math.sqrt(math.pi) * np.exp(-x * x),
    )


def forms(s: Shaped) -> tuple[Form, Form, Form]:
    """f, f′, f″ of the base activation, from the test's own closed forms."""
    if s.base.name == "torch:erf":
        return _erf_forms()
    f, f1, f2 = CLOSED_FORMS[s.base.name]
    p = dict(s.base.params)
    return (lambda x: f(x, p)), (lambda x: f1(x, p)), (lambda x: f2(x, p))


def z_rule(cuts: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """E over z ~ N(0, 1): nodes and weights (density included) on [−12, 12]."""
    edges = np.unique(np.concatenate([np.linspace(-12, 12, 961),
                                      [c for c in cuts if abs(c) < 12]]))  # fmt: skip
    t, w = np.polynomial.legendre.leggauss(16)
    a, b = edges[:-1, None], edges[1:, None]
    z = ((b - a) / 2 * t + (a + b) / 2).ravel()
    weights = ((b - a) / 2 * w).ravel() * np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    return z, weights


def leaky_kernel(c: float, slope: float) -> float:
    """C(c) of leaky relu: f = a·x + b·|x| (a = (1 + s)/2, b = (1 − s)/2), E[u·|v|] = 0,
    E[|u||v|] = (2/π)(√(1 − c²) + c·arcsin c), E[f²] = a² + b²."""
    a, b = (1 + slope) / 2, (1 - slope) / 2
    absolute = 2 / math.pi * (math.sqrt(max(1 - c * c, 0.0)) + c * math.asin(c))
    return (a * a * c + b * b * absolute) / (a * a + b * b)


def hermite_cmap(phi_hat: Form, c: float, q: float) -> float:
    """C(c) = E[φ̂(u)φ̂(v)]/q on a 120 × 120 Gauss–Hermite rule (smooth φ̂ only)."""
    z, w = np.polynomial.hermite_e.hermegauss(120)
    w = w / math.sqrt(2 * math.pi)
    u = z[:, None]
    v = c * z[:, None] + math.sqrt(1 - c * c) * z[None, :]
    return float(np.sum(w[:, None] * w[None, :] * phi_hat(u) * phi_hat(v)) / q)


def independent(s: Shaped) -> dict[str, float]:
    """Q(1), Q′(1), C(0), C′(1), C″(1) of φ̂ = γ·(f(α·z + β) + δ), and the network's
    C′(1), C″(1) by their closed forms for a chain of L layers."""
    f, f1, f2 = forms(s)
    alpha, beta, gamma, delta = s.alpha, s.beta, s.gamma, s.delta
    kinks = [(k - beta) / alpha for k in s.base.activation.kinks(s.base.params)]
    z, w = z_rule(kinks)
    x = alpha * z + beta
    value = gamma * (f(x) + delta)
    grad = gamma * alpha * f1(x)
    curve = gamma * alpha**2 * f2(x)
    q = float(np.sum(w * value * value))
    slope = float(np.sum(w * grad * grad)) / q
    curvature = float(np.sum(w * curve * curve)) / q
    layers = s.depth
    # (C∘…∘C)″(1) = C″(1)·Σ_{k<L} C′(1)^(2L−2−k), from the chain rule with C(1) = 1
    network_curvature = curvature * sum(slope ** (2 * layers - 2 - k) for k in range(layers))
    return {
        "q_value": q,
        "q_slope": float(np.sum(w * value * grad * z)),
        "c0": float(np.sum(w * value)) ** 2 / q,
        "slope_at_1": slope,
        "curvature_at_1": curvature,
        "network_slope_at_1": slope**layers,
        "network_curvature_at_1": network_curvature,
    }


def misses(s: Shaped) -> dict[str, tuple[float, float]]:
    """The targets the independent evaluation finds missed: name → (value, target).
    Kinked activations have no C″(1) to check (inf both ways)."""
    found = independent(s)
    if s.negative_slope is not None:
        c = 0.0
        for _ in range(s.depth):
            c = leaky_kernel(c, s.negative_slope)
        found["network_c0"] = c
    off = {}
    for key, target in s.targets.items():
        got = found[key]
        if not abs(got - target) <= RTOL * max(1.0, abs(target)):
            off[key] = (got, target)
    return off


@cache
def shaped(name: str, depth: int, method: str, **settings_: float) -> Shaped:
    (found,) = shape(name, depth=depth, method=method, **settings_)
    return found


# --- the targets, independently -----------------------------------------------------


@pytest.mark.parametrize("name", ["tanh", "gelu", "softplus", "selu", "hardswish", "softsign"])
def test_dks_meets_its_targets(name: str) -> None:
    s = shaped(name, 10, "dks")
    assert misses(s) == {}
    assert set(s.targets) == {"q_value", "q_slope", "c0", "slope_at_1", "network_slope_at_1"}
    assert s.targets["network_slope_at_1"] == 1.5 and s.network_c0 == 0.0
    mine = independent(s)
    # the reported numbers are the independent ones (not only the targets)
    assert s.layer.slope == pytest.approx(mine["slope_at_1"], rel=RTOL)
    if math.isfinite(s.layer.curvature):
        assert s.network_curvature == pytest.approx(mine["network_curvature_at_1"], rel=1e-8)
    else:  # f′ jumps (selu at 0, hardswish at ±3)
        assert name in ("selu", "hardswish") and s.network_curvature == math.inf


@pytest.mark.parametrize("name", ["tanh", "gelu", "softplus", "elu", "logsigmoid"])
def test_tat_smooth_meets_its_targets(name: str) -> None:
    s = shaped(name, 10, "tat")
    assert misses(s) == {}
    assert s.targets["network_curvature_at_1"] == 0.3
    assert s.network_slope == pytest.approx(1.0, rel=RTOL)


def test_tat_smooth_network_c0_against_gauss_hermite() -> None:
    for name in ("tanh", "gelu"):
        s = shaped(name, 10, "tat")
        f, _, _ = forms(s)

        def phi_hat(z: np.ndarray, s: Shaped = s, f: Form = f) -> np.ndarray:
            return s.gamma * (f(s.alpha * z + s.beta) + s.delta)

        c = 0.0
        for _ in range(s.depth):
            c = hermite_cmap(phi_hat, c, independent(s)["q_value"])
        # both rules resolve this smooth φ̂ (α ≈ 0.19) to ~1e-13; 10 steps of a map
        # with slope < 1 on [0, c] keep that
        assert s.network_c0 == pytest.approx(c, abs=1e-11)
        assert s.network_c0_accuracy < 1e-12


def test_tat_leaky_relu_meets_eta() -> None:
    s = shaped("leaky_relu", 50, "tat")
    assert s.negative_slope is not None and 0 < s.negative_slope < 1
    assert s.gamma == pytest.approx(math.sqrt(2 / (1 + s.negative_slope**2)), rel=1e-15)
    assert s.base.params["negative_slope"] == s.negative_slope
    assert misses(s) == {}
    assert s.params == {"negative_slope": s.negative_slope, "scale": s.gamma}
    assert s.layer.q_slope == pytest.approx(1.0, rel=RTOL)  # homogeneous: Q(q) = q
    assert s.network_curvature == math.inf


def test_erf_as_a_custom_activation() -> None:
    s = shaped("torch:erf", 20, "dks", zeta=2.0)
    assert s.spec.activation.custom and misses(s) == {}
    s = shaped("torch:erf", 20, "tat", tau=0.5)
    assert misses(s) == {}


# --- property-based ------------------------------------------------------------------


@given(
    name=st.sampled_from(["gelu", "tanh", "softsign", "silu", "sigmoid", "mish", "selu"]),
    depth=st.integers(3, 40),
    zeta=st.floats(1.1, 3.0),
)
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
def test_dks_property(name: str, depth: int, zeta: float) -> None:
    try:
        (s,) = shape(name, depth=depth, method="dks", zeta=zeta)
    except NoSolutionError:
        reject()
    assert misses(s) == {}


@given(
    name=st.sampled_from(["gelu", "tanh", "softplus", "elu", "softsign", "logsigmoid"]),
    depth=st.integers(2, 30),
    tau=st.floats(0.05, 2.0),
)
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
def test_tat_smooth_property(name: str, depth: int, tau: float) -> None:
    try:
        (s,) = shape(name, depth=depth, method="tat", tau=tau)
    except NoSolutionError:
        reject()
    assert misses(s) == {}


@given(depth=st.integers(1, 40), share=st.floats(0.05, 0.95))
@settings(max_examples=10, deadline=None)
def test_tat_leaky_property(depth: int, share: float) -> None:
    relu = 0.0
    for _ in range(depth):
        relu = leaky_kernel(relu, 0.0)
    (s,) = shape("leaky_relu", depth=depth, method="tat", eta=share * relu)
    assert misses(s) == {}


# --- wrong answers are caught --------------------------------------------------------


@pytest.mark.parametrize("field", ["alpha", "beta", "gamma", "delta"])
def test_the_independent_check_catches_a_wrong_parameter(field: str) -> None:
    s = shaped("tanh", 10, "dks")
    wrong = dataclasses.replace(s, **{field: getattr(s, field) * (1 + 1e-6)})
    assert misses(wrong) != {}


def test_the_independent_check_catches_a_wrong_slope() -> None:
    s = shaped("leaky_relu", 50, "tat")
    assert s.negative_slope is not None
    wrong = dataclasses.replace(s, negative_slope=s.negative_slope * (1 + 1e-6))
    assert "network_c0" in misses(wrong)


def test_the_library_refuses_its_own_wrong_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    real = solve._search

    def off(*args: Any, **kwargs: Any) -> Any:
        found = real(*args, **kwargs)
        assert found is not None
        return dataclasses.replace(found, alpha=found.alpha * (1 + 1e-6))

    monkeypatch.setattr(solve, "_search", off)
    with pytest.raises(NoSolutionError, match="miss the DKS targets"):
        shape("tanh", depth=10, method="dks")
    monkeypatch.setattr(solve, "_leaky_slope", lambda depth, eta: 0.1)
    with pytest.raises(NoSolutionError, match="network_c0"):
        shape("leaky_relu", depth=50, method="tat")


# --- refusals and settings ----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "method", "kind", "words"),
    [
        ("relu", "dks", ShapeRefusedError, "positively homogeneous"),
        ("leaky_relu", "dks", ShapeRefusedError, "leaky_relu --method tat"),
        ("torch.nn.functional:relu", "dks", ShapeRefusedError, "positively homogeneous"),
        ("relu", "tat", ShapeRefusedError, "no negative slope for TAT to pick"),
        ("threshold", "dks", ShapeRefusedError, "f jumps at a kink"),
        ("selu", "tat", ShapeRefusedError, "f′ jumps at a kink"),
        ("hardtanh", "dks", NoSolutionError, "found no α, β"),
    ],
)
def test_refusals_name_the_reason(name: str, method: str, kind: type, words: str) -> None:
    with pytest.raises(kind, match=words):
        shape(name, depth=10, method=method)


def test_tat_leaky_relu_refuses_what_cannot_be_reached() -> None:
    with pytest.raises(ShapeRefusedError, match="reaches only 0.87"):
        shape("leaky_relu", depth=10, method="tat")  # relu's network C(0) at depth 10
    with pytest.raises(ShapeRefusedError, match="drop negative_slope=0.2"):
        shape(spec("leaky_relu", {"negative_slope": 0.2}), depth=50, method="tat")


def test_settings_are_checked_by_name() -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"depth": 0}, "depth"), ({"depth": 2.5}, "depth"), ({"zeta": 1.0}, "zeta"),
        ({"eta": 1.0}, "eta"), ({"tau": 0.0}, "tau"), ({"method": "ntk"}, "method"),
    ]  # fmt: skip
    for kwargs, name in cases:
        arguments: dict[str, Any] = {"depth": 10, **kwargs}
        with pytest.raises(InvalidParameterError, match=f"^{name} "):
            shape("tanh", **arguments)


def test_shape_all_lists_the_refused_with_their_reasons() -> None:
    survey = shape_all(["tanh", "relu", "threshold"], depth=10, method="dks")
    assert [s.spec.name for s in survey.shaped] == ["tanh"]
    assert {r.spec.name: "homogeneous" in r.reason or "jumps" in r.reason
            for r in survey.refused} == {"relu": True, "threshold": True}  # fmt: skip
    with pytest.raises(ShapeRefusedError):
        shape_all(["tanh", "relu"], depth=10, skip_refused=False)


# --- the activation as code ---------------------------------------------------------


def _snippet_module(s: Shaped) -> Any:
    namespace: dict[str, Any] = {}
    exec(compile(s.snippet(), "<snippet>", "exec"), namespace)  # the user's paste
    return namespace[next(k for k in namespace if k.startswith(s.method.upper()))]()


@pytest.mark.parametrize(("name", "method"), [("tanh", "dks"), ("leaky_relu", "tat"),
                                              ("gelu", "tat"), ("torch:erf", "dks")])  # fmt: skip
def test_the_snippet_computes_what_the_module_does(name: str, method: str) -> None:
    import torch

    s = shaped(name, 50 if name == "leaky_relu" else 10, method)
    pasted = _snippet_module(s)
    module = s.module()
    for dtype in (torch.float32, torch.float64):
        x = torch.linspace(-6, 6, 1001, dtype=dtype)
        assert torch.equal(pasted(x), module(x))  # the same expression, operation by operation
        assert torch.equal(s(x), module(x))
    # and both are φ̂ as this file writes it
    f, _, _ = forms(s)
    x64 = np.linspace(-6, 6, 1001)
    expected = s.gamma * (f(s.alpha * x64 + s.beta) + s.delta)
    assert np.allclose(module(torch.from_numpy(x64)).numpy(), expected, rtol=1e-13, atol=1e-13)


def test_a_custom_module_class_with_arguments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    (tmp_path / "shapeacts.py").write_text(
        textwrap.dedent("""
        import torch
        from torch import nn

        class Bent(nn.Module):
            def __init__(self, k: float = 1.0) -> None:
                super().__init__()
                self.k = k

            def forward(self, x):
                return torch.tanh(x) + self.k * 0.1 * x
    """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    (s,) = shape(spec("shapeacts:Bent", {"k": 2.0}), depth=10, method="dks")
    assert "from shapeacts import Bent" in s.snippet() and "Bent(k=2.0)" in s.snippet()
    x = torch.linspace(-5, 5, 101, dtype=torch.float64)
    assert torch.equal(_snippet_module(s)(x), s.module()(x))
    # the targets, from this file's own quadrature of tanh(u) + 0.2·u
    s_forms = (lambda u: np.tanh(u) + 0.2 * u, lambda u: 1 - np.tanh(u) ** 2 + 0.2,
               lambda u: -2 * np.tanh(u) * (1 - np.tanh(u) ** 2))  # fmt: skip
    monkeypatch.setattr(sys.modules[__name__], "forms", lambda _: s_forms)
    assert misses(s) == {}


def test_the_module_drops_into_an_mlp_and_pickles() -> None:
    import torch

    s = shaped("tanh", 10, "dks")
    mlp = torch.nn.Sequential(torch.nn.Linear(4, 4, bias=False), s.module(),
                              torch.nn.Linear(4, 1, bias=False))  # fmt: skip
    x = torch.randn(3, 4)
    again = pickle.loads(pickle.dumps(mlp))
    assert torch.equal(mlp(x), again(x))
    assert "alpha=" in repr(s.module())


@pytest.mark.slow
def test_a_wide_mlp_keeps_the_predicted_correlation() -> None:
    """Pairs of inputs of correlation c through a real 10-layer MLP with DKS's tanh,
    2048 wide, orthogonal weights, no biases: the last pre-activations' mean square
    stays 1 and each pair's correlation is the network's C map at c."""
    import torch

    s = shaped("tanh", 10, "dks")
    f, _, _ = forms(s)
    q = independent(s)["q_value"]
    width, cs = 2048, (0.0, 0.5, 0.9)
    generator = torch.Generator().manual_seed(21)
    a, b = torch.randn(2, width, generator=generator, dtype=torch.float64)
    b = b - (a @ b) / (a @ a) * a  # orthogonal to a
    a, b = a / a.norm() * math.sqrt(width), b / b.norm() * math.sqrt(width)  # mean square 1
    h = torch.stack([v for c in cs for v in (a, c * a + math.sqrt(1 - c * c) * b)])
    with torch.no_grad():
        for _ in range(s.depth):
            weight = torch.empty(width, width, dtype=torch.float64)
            torch.nn.init.orthogonal_(weight, generator=generator)
            h = s(h) @ weight.T  # orthogonal: the mean square of φ̂(h) is kept
    mean_square = (h * h).mean(dim=1)
    # finite width moves q by a few per cent over 10 layers (1.04 at this seed); plain
    # tanh would have it at ~0.1
    assert mean_square.numpy() == pytest.approx(np.ones(2 * len(cs)), abs=0.1)
    for i, c in enumerate(cs):
        expected = c
        for _ in range(s.depth):
            expected = hermite_cmap(lambda z: s.gamma * (f(s.alpha * z + s.beta) + s.delta),
                                    expected, q)  # fmt: skip
        pair = h[2 * i : 2 * i + 2]
        found = float((pair[0] * pair[1]).mean() / mean_square[2 * i : 2 * i + 2].prod().sqrt())
        # finite width: fluctuations of order 1/√2048 ≈ 0.02 (0.014 at most at this
        # seed); plain tanh's network gives 0.456 at c = 0.5, where DKS's gives 0.399
        assert found == pytest.approx(expected, abs=0.03), c


# --- the table, JSON, figure, CLI ---------------------------------------------------


def test_the_table_shows_parameters_and_the_network() -> None:
    from rich.console import Console

    survey = shape_all(["tanh", "relu"], depth=10, method="dks")
    console = Console(width=200, record=True)
    console.print(shape_table(survey))
    text = console.export_text()
    (s,) = survey.shaped
    row = next(line for line in text.splitlines() if line.strip().startswith("tanh"))
    cells = row.split()
    assert float(cells[1]) == pytest.approx(s.alpha, rel=1e-3)
    assert float(cells[4]) == pytest.approx(s.delta, rel=1e-3)
    assert cells[5:8] == ["0", "1.5", f"{independent(s)['network_curvature_at_1']:.4g}"]
    assert "not shaped by DKS" in text and "positively homogeneous" in text


def test_the_command_json_round_trip(tmp_path: Path) -> None:
    import torch

    out = tmp_path / "shape.png"
    result = runner.invoke(app, ["shape", "tanh", "leaky_relu", "--depth", "20", "--method",
                                 "tat", "--json", "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 10_000
    data = json.loads(result.stdout)
    assert data["method"] == "tat" and data["refused"] == []
    tanh, leaky = data["shaped"]
    s = shaped("tanh", 20, "tat")
    assert tanh["shaped"] == s.params and tanh["targets"]["network_curvature_at_1"] == 0.3
    assert leaky["shaped"]["negative_slope"] == pytest.approx(
        shaped("leaky_relu", 20, "tat").negative_slope, rel=1e-15)  # fmt: skip
    assert leaky["network"]["curvature_at_1"] is None
    assert "curvature_at_1" in leaky["infinite"]
    namespace: dict[str, Any] = {}
    exec(tanh["snippet"], namespace)
    x = torch.linspace(-3, 3, 7)
    assert torch.equal(namespace["TATTanh"]()(x), s.module()(x))


def test_the_command_refuses_in_one_line() -> None:
    for args, code, words in [
        (["relu", "--depth", "10"], 2, "positively homogeneous"),
        (["hardtanh", "--depth", "10"], 1, "found no α, β"),
        (["leaky_relu", "--depth", "10", "--method", "tat"], 2, "reaches only"),
        (["tanh", "--depth", "10", "--zeta", "0.5"], 2, "zeta must be greater than 1"),
        (["tanh"], 2, "--depth"),
        (["--depth", "10"], 2, "--all"),
    ]:
        result = runner.invoke(app, ["shape", *args])
        assert result.exit_code == code, (args, result.output)
        assert words in result.output, (args, result.output)
        assert "Traceback" not in result.output
        # one Error: line (Click's own usage block for a missing option: three)
        assert len(result.output.strip().splitlines()) <= 3


def test_the_command_lists_refusals_with_all(monkeypatch: pytest.MonkeyPatch) -> None:
    from actviz import registry

    monkeypatch.setattr(registry, "names", lambda: ["tanh", "relu"])
    result = runner.invoke(app, ["shape", "--all", "--depth", "10", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [d["activation"] for d in data["shaped"]] == ["tanh"]
    assert data["refused"][0]["activation"] == "relu"


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_figure_fits(theme: str) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from actviz.plotting import Drawn

    # three smooth ones and leaky relu, whose label (TAT's slope) is the longest
    found = [shaped(n, 20, "tat") for n in ("tanh", "gelu", "softplus", "leaky_relu")]
    for dpi in (72, 100, 150):
        fig = shape_figure(found, theme=theme)
        FigureCanvasAgg(fig)
        fig.set_dpi(dpi)
        drawn = Drawn(fig, [], [], [], {}, [], [], title=fig._suptitle)  # type: ignore[attr-defined]
        assert problems(drawn) == [], (theme, dpi)


def test_the_figure_draws_the_computed_curves() -> None:
    from matplotlib.figure import Figure

    s = shaped("leaky_relu", 50, "tat")
    assert s.negative_slope is not None
    ax = Figure().subplots()
    dashed, solid = draw_network_maps(ax, [s])
    c, y = (np.asarray(a, dtype=float) for a in solid.get_data())
    expected = c.copy()
    for _ in range(s.depth):
        expected = np.array([leaky_kernel(v, s.negative_slope) for v in expected])
    # the map is drawn from 129 values of C, interpolated (cubic in θ), then composed
    assert np.allclose(y, expected, atol=1e-5)
    c, y = (np.asarray(a, dtype=float) for a in dashed.get_data())
    expected = c.copy()
    for _ in range(s.depth):
        expected = np.array([leaky_kernel(v, 0.01) for v in expected])  # the default slope
    assert np.allclose(y, expected, atol=1e-5)
    ax = Figure().subplots()
    before, after = draw_activations(ax, [shaped("tanh", 10, "dks")])
    t = shaped("tanh", 10, "dks")
    x, y = (np.asarray(a, dtype=float) for a in after.get_data())
    assert np.allclose(y, t.gamma * (np.tanh(t.alpha * x + t.beta) + t.delta), atol=1e-13)
    x, y = (np.asarray(a, dtype=float) for a in before.get_data())
    assert np.allclose(y, np.tanh(x), atol=1e-15)
