"""The correlation map: quadrature against closed forms (relu's arc-cosine kernel,
leaky relu's, erf's arcsine kernel), Gauss–Hermite and Monte-Carlo for the rest,
the figure's lines, the table, `actviz cmap`."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from actviz.cli import app
from actviz.depth.cmap import kernel
from actviz.depth.cmap.figure import cmap_figure, draw_maps
from actviz.depth.cmap.kernel import CorrelationMap, cmap, correlation_map, interpolate
from actviz.depth.cmap.report import cmap_table
from actviz.errors import InvalidParameterError, UsageError
from actviz.evaluation import evaluate
from actviz.registry import spec

runner = CliRunner()


def relu_kernel(c: np.ndarray) -> np.ndarray:
    """Cho & Saul's arc-cosine kernel of degree 1, normalised: C(1) = 1."""
    return (np.sqrt(np.clip(1 - c * c, 0, None)) + (math.pi - np.arccos(c)) * c) / math.pi


def leaky_kernel(c: np.ndarray, alpha: float) -> np.ndarray:
    """f = a·x + b·|x| with a = (1 + α)/2, b = (1 − α)/2: E[u·|v|] = 0, E[|u||v|] =
    (2/π)(√(1 − c²) + c·arcsin c), E[f²] = a² + b²."""
    a, b = (1 + alpha) / 2, (1 - alpha) / 2
    absolute = 2 / math.pi * (np.sqrt(np.clip(1 - c * c, 0, None)) + c * np.arcsin(c))
    return (a * a * c + b * b * absolute) / (a * a + b * b)


def erf_kernel(c: np.ndarray) -> np.ndarray:
    """E[erf(u)erf(v)] = (2/π)·arcsin(2c/3) (Williams 1997), over its value at c = 1."""
    return np.arcsin(2 * c / 3) / math.asin(2 / 3)


def worst(found: CorrelationMap, reference: Any) -> float:
    """The largest gap between the computed curve and ``reference`` on its nodes."""
    c = np.cos(found.theta)
    return float(np.max(np.abs(found.values - reference(c))))


def test_relu_is_the_arc_cosine_kernel() -> None:
    (found,) = cmap("relu")
    assert worst(found, relu_kernel) < 1e-13
    assert found.c0 == pytest.approx(1 / math.pi, rel=1e-12)
    assert found.slope == pytest.approx(1.0, rel=1e-12)  # C′(c) = (π − arccos c)/π
    assert found.curvature == math.inf  # C″(c) = 1/(π√(1 − c²))


def test_a_wrong_curve_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    real = kernel.cross_moments
    monkeypatch.setattr(kernel, "cross_moments", lambda target, cs: real(target, cs) * (1 + 1e-6))
    (found,) = cmap("relu")
    assert worst(found, relu_kernel) > 1e-7


@pytest.mark.parametrize("alpha", [0.01, 0.2, 0.5])
def test_leaky_relu_matches_its_derived_kernel(alpha: float) -> None:
    found = correlation_map(spec("leaky_relu", {"negative_slope": alpha}))
    assert worst(found, lambda c: leaky_kernel(c, alpha)) < 1e-13
    a, b = (1 + alpha) / 2, (1 - alpha) / 2
    assert found.c0 == pytest.approx(2 / math.pi * b * b / (a * a + b * b), rel=1e-12)


def test_erf_as_a_custom_activation_is_the_arcsine_kernel() -> None:
    (found,) = cmap("torch:erf")
    assert found.spec.activation.custom
    assert worst(found, erf_kernel) < 1e-13
    # C′(1) from the closed form: (2/3)/√(1 − 4/9) / arcsin(2/3)
    assert found.slope == pytest.approx(2 / (math.sqrt(5) * math.asin(2 / 3)), rel=1e-12)
    assert found.c0 == 0.0


@given(st.floats(-1.0, 1.0))
@settings(max_examples=60, deadline=None)
def test_the_interpolated_map_follows_the_closed_form_anywhere(c: float) -> None:
    found = _relu_map()
    assert float(found.at(c)) == pytest.approx(float(relu_kernel(np.array(c))), abs=1e-7)


_CACHE: dict[str, CorrelationMap] = {}


def _relu_map() -> CorrelationMap:
    if "relu" not in _CACHE:
        _CACHE["relu"] = cmap("relu", layers=5)[0]
    return _CACHE["relu"]


def test_interpolation_is_exact_for_cubics() -> None:
    theta = np.linspace(0, math.pi, 17)
    at = np.linspace(0, math.pi, 101)
    assert np.allclose(interpolate(theta, theta**3 - 2 * theta, at), at**3 - 2 * at, atol=1e-12)


def test_the_network_numbers_compose_the_layer() -> None:
    found = _relu_map()
    c = 0.0
    for _ in range(found.layers):
        c = float(relu_kernel(np.array(c)))
    assert found.network_c0 == pytest.approx(c, rel=1e-12)
    assert float(found.composite(0.0)) == pytest.approx(c, abs=1e-7)
    (tanh,) = cmap("tanh", layers=3)
    a, b = tanh.slope, tanh.curvature
    assert tanh.network_slope == pytest.approx(a**3, rel=1e-12)
    # (C∘C∘C)″(1) = C″·(a⁴ + a³ + a²), as C(1) = 1
    assert tanh.network_curvature == pytest.approx(b * (a**4 + a**3 + a**2), rel=1e-12)


def _gauss_hermite(values: Any) -> float:
    """E[values(z)], z ~ N(0, 1), by 200-point Gauss–Hermite (probabilists')."""
    z, w = np.polynomial.hermite_e.hermegauss(200)
    return float(np.sum(w * values(z)) / math.sqrt(2 * math.pi))


def test_smooth_activations_against_gauss_hermite() -> None:
    tanh = np.tanh
    second = _gauss_hermite(lambda z: tanh(z) ** 2)
    (found,) = cmap("tanh")
    assert found.slope == pytest.approx(
        _gauss_hermite(lambda z: (1 - tanh(z) ** 2) ** 2) / second, rel=1e-10
    )
    curvature = _gauss_hermite(lambda z: (2 * tanh(z) * (1 - tanh(z) ** 2)) ** 2) / second
    assert found.curvature == pytest.approx(curvature, rel=1e-10)

    def sigmoid(z: np.ndarray) -> np.ndarray:
        found: np.ndarray = 1 / (1 + np.exp(-z))
        return found

    (found,) = cmap("sigmoid")
    mean = _gauss_hermite(sigmoid)
    assert found.c0 == pytest.approx(mean**2 / _gauss_hermite(lambda z: sigmoid(z) ** 2))


@pytest.mark.parametrize("name", ["gelu", "tanh", "elu", "hardswish", "softsign"])
def test_the_map_against_monte_carlo(name: str) -> None:
    (found,) = cmap(name)
    rng = np.random.default_rng(21)
    count = 1_000_000
    for c in (-0.6, 0.3, 0.9):
        z1, z2 = rng.standard_normal((2, count))
        u, v = z1, c * z1 + math.sqrt(1 - c * c) * z2
        fu = evaluate(spec(name), u, dtype="float64")[1]
        fv = evaluate(spec(name), v, dtype="float64")[1]
        product = fu * fv / found.second_moment
        error = product.std() / math.sqrt(count)
        assert abs(product.mean() - float(found.at(c))) < 5 * error, (name, c)


def test_kinks_give_infinite_derivatives() -> None:
    by_name = {m.spec.name: m for m in cmap(["hardtanh", "hardshrink", "elu", "selu"])}
    assert by_name["hardtanh"].curvature == math.inf and math.isfinite(by_name["hardtanh"].slope)
    assert by_name["hardshrink"].slope == math.inf  # f itself jumps at ±λ
    assert math.isfinite(by_name["elu"].curvature)  # α = 1: f′ is continuous at 0
    assert by_name["selu"].curvature == math.inf  # f′ jumps from λα to λ
    assert by_name["hardshrink"].as_dict()["infinite"] == ["slope_at_1", "curvature_at_1"]


def test_errors_name_the_parameter() -> None:
    with pytest.raises(InvalidParameterError, match="layers"):
        cmap("relu", layers=0)
    with pytest.raises(InvalidParameterError, match="layers"):
        cmap("relu", layers=2.5)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="activations"):
        cmap(3)  # type: ignore[arg-type]


def test_the_figure_draws_the_computed_maps() -> None:
    maps = [_relu_map(), *cmap("torch:erf", layers=5)]
    fig = cmap_figure(maps)
    one, network = fig.axes
    lines = [line for line in one.get_lines() if line.get_label() in ("relu", "torch:erf")]
    assert len(lines) == 2
    x, y = (np.asarray(a) for a in lines[0].get_data())
    assert np.allclose(y, relu_kernel(x), atol=1e-7)
    x, y = (np.asarray(a) for a in lines[1].get_data())
    assert np.allclose(y, erf_kernel(x), atol=1e-7)
    (relu_net,) = [line for line in network.get_lines() if line.get_label() == "relu"]
    x, y = (np.asarray(a) for a in relu_net.get_data())
    expected = x
    for _ in range(5):
        expected = relu_kernel(expected)
    assert np.allclose(y, expected, atol=1e-6)


def test_draw_maps_returns_one_line_per_map() -> None:
    from matplotlib.figure import Figure

    ax = Figure().subplots()
    assert len(draw_maps(ax, [_relu_map()], layers=2)) == 1


def test_the_table_shows_the_closed_form_numbers() -> None:
    from rich.console import Console

    console = Console(width=200, record=True)
    console.print(cmap_table([_relu_map()]))
    text = console.export_text()
    assert f"{1 / math.pi:.4f}" in text  # C(0) = 1/π
    row = next(line for line in text.splitlines() if line.strip().startswith("relu"))
    assert row.split()[1:4] == [f"{1 / math.pi:.4f}", "1", "inf"]


def test_the_command_json_and_figure(tmp_path: Path) -> None:
    out = tmp_path / "maps.png"
    result = runner.invoke(app, ["cmap", "relu", "torch:erf", "--layers", "3", "--json",
                                 "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 10_000
    data = json.loads(result.stdout)
    assert [d["activation"] for d in data] == ["relu", "torch:erf"]
    assert data[0]["c0"] == pytest.approx(1 / math.pi)
    assert data[0]["curvature_at_1"] is None and data[0]["infinite"] == ["curvature_at_1"]
    c = np.array(data[1]["curve"]["c"])
    assert np.allclose(data[1]["curve"]["C"], erf_kernel(c), atol=1e-13)


def test_the_command_refuses_in_one_line() -> None:
    result = runner.invoke(app, ["cmap", "relu", "--layers", "0", "--no-plot"])
    assert result.exit_code != 0
    assert "layers must be from 1 to" in result.output
    result = runner.invoke(app, ["cmap", "--no-plot"])
    assert result.exit_code != 0 and "--all" in result.output
