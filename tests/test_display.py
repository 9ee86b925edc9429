"""One number format: exact values look exact, approximate ones never do."""

from __future__ import annotations

import math

import pytest

from actviz.display import coord, csv_text, definition_words, number, peak_words, strict_json
from actviz.probing import probe
from actviz.saturation import analyze


@pytest.mark.parametrize(
    ("value", "dtype", "text"),
    [
        (1.0, "float32", "1"),
        (0.9999850988388062, "float32", "0.99999"),  # σ(11.1): not "1", not "1.0000"
        (0.99998, "float64", "0.99998"),
        (0.9999998807907104, "float32", "0.9999999"),  # σ(16) in float32
        (0.25, "float32", "0.25"),
        (0.41997434161402614, "float64", "0.41997"),  # tanh′(1): "0.42" would look exact
        (-0.7615941559557649, "float64", "-0.7616"),
        (0.10000000149011612, "float32", "0.1"),  # float32's 0.1 *is* 0.1 in float32
        (0.10000000149011612, "float64", "0.100000001"),  # …but not in float64
        (1.494e-5, "float64", "1.494e-5"),
        (123456.0, "float64", "1.235e+5"),
        (0.0, "float32", "0"),
        (-0.0, "float32", "-0"),
        (float("inf"), "float32", "inf"),
        (float("nan"), "float32", "nan"),
        (None, "float32", "—"),
        (0.5, "bfloat16", "0.5"),
        (0.99609375, "bfloat16", "0.9961"),
    ],
)
def test_number(value: float | None, dtype: str, text: str) -> None:
    assert number(value, dtype) == text


def test_an_inexact_value_never_prints_like_an_exact_one() -> None:
    for value in (0.999985, 1.0000001, 0.5000001, 2.99999, 1e-5 * 0.99999999):
        assert float(number(value)) != value or number(value) == repr(value)
        assert number(value) not in {"1", "0.5", "3", "1e-5"}


def test_positions_are_0_up_to_the_grids_rounding() -> None:
    assert coord(4.440892098500626e-16, 16) == "0"
    assert coord(-5.96e-9, 20) == "0"
    assert coord(7.899999618530273, 16) == "7.9"  # float32 arange: 7.9 was asked for
    assert coord(1e-4, 16) == "0.0001"
    assert coord(None, 16) == "—"


def test_definition_words() -> None:
    from actviz.underflow import Interval

    inf = math.inf
    assert definition_words([Interval(-inf, -3, False, True), Interval(3, inf, True, False)]) == (
        "x ≤ -3, x ≥ 3"
    )
    assert definition_words([Interval(-inf, 0.1, False, True)]) == "x ≤ 0.1"
    assert definition_words([Interval(-0.5, 0.5, True, True)]) == "-0.5 ≤ x ≤ 0.5"
    assert definition_words([Interval(0, 0, True, True)]) == "x = 0"
    assert definition_words([Interval(-inf, 2, False, False)]) == "x < 2"
    assert definition_words([]) == "—"


def test_a_peak_reached_on_a_stretch_is_that_stretch() -> None:
    # -0.3 + 3 × 0.1 is 5.6e-17 where 0 is meant, and the kink x = 0 is a sample
    # with relu′(0) = 0: the peak holds on (0, 0.2], not "at x = 0".
    for name in ("relu", "leaky_relu"):
        tiny = probe(name, start=-0.3, stop=0.25, step=0.1)
        assert peak_words(analyze(tiny, dtypes=())) == "peak |f′| = 1 on (0, 0.2]"
    # The d2l grid's x[80] is exactly 0 on every CPU (actviz's grid has no fused
    # multiply-add): relu′(0) = 0, and relu′ = 1 on the whole piece after it.
    assert peak_words(analyze(probe("relu"), dtypes=())) == "peak |f′| = 1 on (0, 7.9]"
    assert peak_words(analyze(probe("tanh"), dtypes=())) == "peak |f′| = 1 at x = 0"
    hardtanh = analyze(probe("hardtanh", start=-2, stop=2, points=41), dtypes=())
    assert peak_words(hardtanh) == "peak |f′| = 1 on (-1, 1)"  # torch: 0 at both clamps
    two = analyze(probe("tanh", start=-1, stop=1, points=10), dtypes=())
    assert peak_words(two) == "peak |f′| = 0.9878 at x = -0.1111 and x = 0.1111"


def test_strict_json_turns_non_finite_numbers_into_null() -> None:
    text = strict_json({"a": [math.nan, 1.0, -math.inf], "b": (math.inf,), "c": "x"})
    assert text == '{"a": [null, 1.0, null], "b": [null], "c": "x"}'


def test_csv_text_keeps_full_precision_and_quotes_only_where_needed() -> None:
    text = csv_text(["x", "label"], [[0.1 + 0.2, "elu(alpha=0.5)"], [1e-300, "a, b"]])
    assert text == 'x,label\n0.30000000000000004,elu(alpha=0.5)\n1e-300,"a, b"\n'


def test_a_share_carries_a_dagger_only_where_the_route_moves_it() -> None:
    import dataclasses

    from actviz.display import percent, share

    gelu = analyze(probe("gelu"))
    plain = dataclasses.replace(gelu, shares_route=False)
    routed = dataclasses.replace(gelu, shares_route=True)
    assert share(plain, "dead") == percent(gelu.fraction("dead"))
    assert share(routed, "dead") == percent(gelu.fraction("dead")) + "†"
    assert share(routed, "saturated").endswith("†")
    assert not share(routed, "linear").endswith("†")  # a route moves zeros, not straightness
