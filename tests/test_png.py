"""actviz writes its PNGs itself (plotting._png): the pixels must be the ones
matplotlib's own PNG (savefig through Pillow) holds, for every figure and dpi."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

import matplotlib
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from matplotlib.figure import Figure
from PIL import Image

from actviz.glu import glu_figure, probe_glu
from actviz.plotting import _png, activation_figure, figure_bytes, theme_style
from actviz.probing import Grid, probe_many
from actviz.registry import names, spec
from actviz.saturation import analyze


def _pixels(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGBA"))


def _matplotlibs(fig: Figure, dpi: int, theme: str) -> bytes:
    """The PNG savefig writes, in the rc settings figure_bytes saves under."""
    buffer = io.BytesIO()
    with matplotlib.rc_context(theme_style(theme)):
        fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _same_pixels(mine: bytes, theirs: bytes) -> bool:
    a, b = _pixels(mine), _pixels(theirs)
    return a.shape == b.shape and bool(np.array_equal(a, b))


def _chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    found, at = [], 8
    while at < len(png):
        (size,) = struct.unpack(">I", png[at : at + 4])
        kind, body = png[at + 4 : at + 8], png[at + 8 : at + 8 + size]
        (crc,) = struct.unpack(">I", png[at + 8 + size : at + 12 + size])
        assert crc == zlib.crc32(kind + body)
        found.append((kind, body))
        at += 12 + size
    return found


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("dpi", [50, 73, 100, 150])
@pytest.mark.parametrize("name", ["gelu", "hardtanh"])
def test_an_activation_figure_has_matplotlibs_pixels(name: str, dpi: int, theme: str) -> None:
    (probe,) = probe_many([spec(name)])
    drawn = activation_figure([probe], saturations=[analyze(probe)], theme=theme)
    mine = figure_bytes(drawn, "png", dpi=dpi)
    assert _same_pixels(mine, _matplotlibs(drawn.figure, dpi, theme))
    kinds = [kind for kind, _ in _chunks(mine)]
    assert kinds == [b"IHDR", b"pHYs", b"IDAT", b"IEND"]  # no date, no version
    with Image.open(io.BytesIO(mine)) as image:
        assert image.mode == "RGB"  # opaque: no alpha bytes
        assert image.info["dpi"] == pytest.approx((dpi, dpi), abs=0.0127)  # whole dots a metre
    assert figure_bytes(drawn, "png", dpi=dpi) == mine  # same figure, same bytes


def test_a_figure_on_matplotlibs_bare_canvas_keeps_its_canvas() -> None:
    """GLU's figure is a bare Figure(): it is lent an Agg canvas, then given its own back."""
    figure = glu_figure(probe_glu(Grid(-2.0, 2.0, 41)))
    own = figure.canvas
    mine = figure_bytes(figure, "png", dpi=72)
    assert figure.canvas is own
    assert _same_pixels(mine, _matplotlibs(figure, 72, "light"))


def test_a_see_through_figure_keeps_its_alpha() -> None:
    figure = Figure(figsize=(2, 1.5))
    figure.patch.set_alpha(0.0)
    ax = figure.add_subplot()
    ax.patch.set_alpha(0.3)
    ax.plot([0, 1], [1, 0], alpha=0.5)
    mine = figure_bytes(figure, "png", dpi=80)
    with Image.open(io.BytesIO(mine)) as image:
        assert image.mode == "RGBA"
    assert _pixels(mine)[..., 3].min() < 255
    assert _same_pixels(mine, _matplotlibs(figure, 80, "light"))


def test_a_tight_bounding_box_from_the_rc_settings_is_kept() -> None:
    figure = Figure(figsize=(3, 2))
    figure.add_subplot().plot([0, 1], [0, 1])
    with matplotlib.rc_context({"savefig.bbox": "tight"}):
        mine = figure_bytes(figure, "png", dpi=90)
        theirs = _matplotlibs(figure, 90, "light")
    assert _pixels(mine).shape != (180, 270, 4)  # cropped, as savefig crops it
    assert _same_pixels(mine, theirs)


@settings(max_examples=60, deadline=None)
@given(
    arrays(
        np.uint8,
        st.tuples(st.integers(1, 9), st.integers(1, 9), st.just(4)),
        elements=st.integers(0, 255) | st.just(255),
    ),
    st.integers(1, 1200),
)
def test_any_pixels_come_back_as_they_went_in(pixels: np.ndarray, dpi: int) -> None:
    png = _png(pixels, dpi)
    assert np.array_equal(_pixels(png), pixels)
    (header,) = [body for kind, body in _chunks(png) if kind == b"IHDR"]
    opaque = bool((pixels[..., 3] == 255).all())
    assert header[9] == (2 if opaque else 6)


@pytest.mark.parametrize("wrong", ["a pixel", "the row filter"])
def test_the_pixel_check_catches_a_wrong_encoder(wrong: str, monkeypatch: Any) -> None:
    """The comparison above fails on an encoder that is off by one pixel or one filter."""
    (probe,) = probe_many([spec(names()[0])])
    drawn = activation_figure([probe])
    theirs = _matplotlibs(drawn.figure, 60, "light")
    if wrong == "a pixel":
        pixels = _pixels(theirs).copy()
        pixels[3, 5, 0] ^= 1
        assert not _same_pixels(_png(pixels, 60), theirs)
    else:
        real = np.subtract

        def subtract(a: Any, b: Any, out: Any = None) -> Any:  # "Sub" data labelled "Up"
            return real(a, np.roll(b, 1, axis=-1), out=out)

        monkeypatch.setattr(np, "subtract", subtract)
        bad = figure_bytes(drawn, "png", dpi=60)
        monkeypatch.undo()
        assert not _same_pixels(bad, theirs)


def _outside_its_theme(names: list[str], theme: str) -> int:
    """Pixels that differ between actviz's file of a figure and matplotlib's savefig
    of the same figure under matplotlib's defaults (a notebook's inline display)."""
    probes = probe_many([spec(n) for n in names], Grid(-4.0, 4.0, 201))
    drawn = activation_figure(probes, saturations=[analyze(p) for p in probes], theme=theme)
    mine = _pixels(figure_bytes(drawn, "png", dpi=60))
    buffer = io.BytesIO()
    with matplotlib.rc_context(matplotlib.rcParamsDefault):
        drawn.figure.savefig(buffer, format="png", dpi=60)
    theirs = _pixels(buffer.getvalue())
    assert mine.shape == theirs.shape
    return int((mine != theirs).any(axis=-1).sum())


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("count", [1, 3, 12])
def test_a_figure_keeps_its_themes_colours_when_saved_outside_it(theme: str, count: int) -> None:
    """Curve colours are fixed when drawn: a dark figure shown inline in a notebook, or
    saved with its own savefig, has the colours of the file actviz writes."""
    assert _outside_its_theme(sorted(names())[:count], theme) == 0


def test_the_theme_check_catches_colours_looked_up_late(monkeypatch: Any) -> None:
    """Colour names ("C0") are looked up again at every draw: the check above sees it."""
    import actviz.plotting as plotting

    monkeypatch.setattr(plotting, "curve_colors", lambda count: [f"C{i}" for i in range(count)])
    assert _outside_its_theme(["gelu"], "dark") > 0


def test_a_huge_figure_is_encoded_a_strip_at_a_time(monkeypatch: Any) -> None:
    """Strips of a few rows (as a 100-megapixel figure is cut) join into the same image."""
    import actviz.plotting as plotting

    figure = Figure(figsize=(2, 1.5))
    figure.add_subplot().plot([0, 1], [1, 0])
    whole = figure_bytes(figure, "png", dpi=50)
    monkeypatch.setattr(plotting, "_STRIP_BYTES", 4 * 100 * 3 + 1)  # 3 rows a strip
    strips = figure_bytes(figure, "png", dpi=50)
    assert np.array_equal(_pixels(strips), _pixels(whole))
    assert _same_pixels(strips, _matplotlibs(figure, 50, "light"))


@pytest.mark.parametrize("size", [(0.01, 1.0), (1.0, 0.01), (0.0, 0.0)])
@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_a_figure_under_a_pixel_is_refused_naming_its_size(
    size: tuple[float, float], fmt: str
) -> None:
    from actviz.errors import UsageError

    with pytest.raises(UsageError, match=r"less than a pixel (wide|high); use a larger figsize"):
        figure_bytes(Figure(figsize=size), fmt, dpi=10)
    assert figure_bytes(Figure(figsize=(0.1, 0.1)), fmt, dpi=10)  # one pixel is drawn
