"""explore.html driven in a real browser: Debian's chromium through Playwright for
Python (``executable_path``: no browser is downloaded, ``playwright install`` is
never run). Skipped, saying why, where either is missing.

A slider is moved and the plotted numbers must become plain torch's for that
parameter; a point is hovered and the numbers read must be torch's, in
display.number's format; float16 is chosen and the dashed edges must be where
torch rounds f′ to exactly 0 (every representable value checked); the console
stays clean and nothing but the page itself is requested. Screenshots of the
light and dark themes are written to the test's temp folder (their paths are
printed). The time from navigation to the first drawing is printed, not asserted.
"""

from __future__ import annotations

import math
import shutil
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actviz.display import coord, number
from actviz.explore import Explorer, explorer
from actviz.plotting import format_ticks
from tests import routes
from tests.explore_truth import decode, encode, page_payload, torch_values, with_payload

NAMES = ["sigmoid", "leaky_relu", "elu", "hardtanh"]
WINDOW = {"width": 1280, "height": 1000}


def _browser_path() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("Chromium is not installed: `make chromium` installs Debian's package as root")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    path = _browser_path()
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="Playwright for Python is not installed (the test extra)"
    )
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def made() -> Explorer:
    return explorer(NAMES, jobs=1)


@pytest.fixture(scope="module")
def page_file(made: Explorer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return made.write(tmp_path_factory.mktemp("explore") / "explore.html")


class Opened:
    """A page in a fresh context, with every request, console error and page error."""

    def __init__(self, browser: Any, url: str) -> None:
        self.requests: list[str] = []
        self.problems: list[str] = []
        self.context = browser.new_context(viewport=WINDOW)
        # Anything but the page itself (file://) is refused and recorded.
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.on("requestfailed", lambda r: self.problems.append(f"failed: {r.url}"))
        self.page.goto(url)
        self.page.wait_for_selector(".actviz-explore[data-ready]", timeout=30_000)

    def _route(self, route: Any) -> None:
        url = route.request.url
        self.requests.append(url)
        if url.startswith("file://"):
            route.continue_()
        else:
            route.abort()

    def _console(self, message: Any) -> None:
        if message.type in ("error", "warning"):
            self.problems.append(f"console.{message.type}: {message.text}")

    def api(self, expression: str) -> Any:
        return self.page.evaluate(
            f"(() => {{ const api = document.querySelector('.actviz-explore').actvizExplore; "
            f"return {expression}; }})()"
        )

    def plotted(self, name: str) -> dict[str, Any]:
        found: list[dict[str, Any]] = self.api("api.plotted()")
        return next(p for p in found if p["name"] == name)

    def close(self) -> None:
        self.context.close()


@pytest.fixture()
def opened(browser: Any, page_file: Path) -> Iterator[Opened]:
    page = Opened(browser, page_file.as_uri())
    yield page
    page.close()


def _same(found: list[float | None], truth: np.ndarray) -> bool:
    """The page's numbers (JSON: NaN comes back as None) equal torch's exactly: a
    float32 array in the page holds float32, bfloat16 and float16 values exactly."""
    mine = np.array([math.nan if v is None else v for v in found], dtype=np.float64)
    return bool(np.array_equal(mine, truth, equal_nan=True))


def test_the_page_loads_clean_and_fetches_nothing(opened: Opened, page_file: Path) -> None:
    ready = opened.api("api.readyMs")
    print(f"interactive {ready:.0f} ms after navigation started ({page_file.stat().st_size:,} B)")
    assert opened.problems == []
    assert opened.requests == [page_file.as_uri()]
    shown = [p["name"] for p in opened.api("api.plotted()")]
    assert shown == NAMES  # up to four are drawn at first


def test_a_slider_plots_torchs_values_for_its_parameter(opened: Opened) -> None:
    before = opened.plotted("leaky_relu")
    slider = opened.page.locator(
        '.ax-sliders fieldset[data-activation="leaky_relu"] input[data-param="negative_slope"]'
    )
    slider.focus()
    for _ in range(3):
        slider.press("ArrowRight")  # 0.01 → 0.05 → 0.1 → 0.2
    output = opened.page.locator('.ax-sliders fieldset[data-activation="leaky_relu"] output')
    assert output.inner_text() == "0.2"
    after = opened.plotted("leaky_relu")
    assert after["label"] == "leaky_relu(negative_slope=0.2)"
    assert after["y"] != before["y"]
    x = np.array(after["x"])
    y, g, _ = torch_values("leaky_relu", {"negative_slope": 0.2}, x, "float32", second=False)
    assert _same(after["y"], y) and _same(after["g"], g)
    note = opened.page.locator('.ax-sliders fieldset[data-activation="leaky_relu"] .ax-note')
    assert note.inner_text().startswith("snaps to the 7 precomputed values: 0, 0.01, 0.05")
    assert opened.problems == []


def test_hover_reads_torchs_numbers_in_the_one_format(opened: Opened) -> None:
    at = 1.3
    point = opened.api(f"api.panelPoint('g', {at})")
    opened.page.mouse.move(point["x"], point["y"])
    opened.page.wait_for_selector(".ax-hover:not([hidden])")
    hovered = {h["name"]: h["index"] for h in opened.api("api.drawn.hover")}
    for name in NAMES:
        row = opened.page.locator(f'.ax-hover .ax-row[data-activation="{name}"]').inner_text()
        plotted = opened.plotted(name)
        x = np.array(plotted["x"])
        i = hovered[name]  # the sample nearest the pointer: within half a step of 1.3
        assert abs(x[i] - at) <= 0.5 * float(np.diff(x).max()) + 0.02
        params = {"negative_slope": 0.01, "alpha": 1.0, "min_val": -1.0, "max_val": 1.0}
        mine = {k: v for k, v in params.items() if k in _param_names(name)}
        y, g, g2 = torch_values(name, mine, x, "float32", second=name in ("sigmoid", "elu"))
        expected = (
            f"x = {coord(x[i], x[-1] - x[0])} · f(x) = {number(y[i], 'float32')} · "
            f"f′(x) = {number(g[i], 'float32')} · f″(x) = {number(g2[i], 'float32')}"
        )
        assert expected in row, (row, expected)
        assert row.rstrip().endswith(plotted["regime"][i])
    assert opened.problems == []


def _param_names(name: str) -> set[str]:
    from actviz.registry import get

    return {p.name for p in get(name).params}


def test_float16_shows_where_torch_rounds_f_prime_to_zero(opened: Opened) -> None:
    opened.page.locator('.ax-dtypes input[value="float16"]').check()
    opened.page.wait_for_function(
        "document.querySelector('.actviz-explore').actvizExplore.drawn.dtype === 'float16'"
    )
    edges = [e for e in opened.api("api.drawn.edges") if e["name"] == "sigmoid"]
    truth = {
        side: routes.edge("sigmoid", "float16", sign, "batched", routes.LOW)
        for side, sign in (("left", -1.0), ("right", 1.0))
    }
    assert {e["side"]: abs(e["x"]) for e in edges} == truth
    facts = opened.page.locator('.ax-facts section[data-activation="sigmoid"]').inner_text()
    left, right = (number(truth[s], "float16") for s in ("left", "right"))
    assert f"float16 rounds f′ to 0 beyond |x| (left / right)\n{left} / {right}" in facts
    # the plotted f′ is exactly 0 beyond the edge, and not just before it
    plotted = opened.plotted("sigmoid")
    x, g = np.array(plotted["x"]), np.array(plotted["g"])
    assert (g[x >= truth["right"]] == 0).all() and g[x < truth["right"]][-1] != 0
    assert opened.problems == []


def test_zoom_pan_and_reset(opened: Opened) -> None:
    view = opened.api("api.state.view")
    assert view == [-8, 8]
    opened.page.get_by_role("button", name="zoom in").click()
    opened.page.wait_for_function(
        "document.querySelector('.actviz-explore').actvizExplore.drawn.view[1] < 8"
    )
    assert opened.api("api.drawn.view") == [-4, 4]
    point = opened.api("api.panelPoint('y', 0)")
    opened.page.mouse.move(point["x"], point["y"])
    opened.page.mouse.down()
    opened.page.mouse.move(point["x"] - 100, point["y"], steps=4)
    opened.page.mouse.up()
    panned = opened.api("api.state.view")
    assert panned[0] > -4 and math.isclose(panned[1] - panned[0], 8)
    opened.page.mouse.wheel(0, 300)
    opened.page.wait_for_timeout(100)
    assert opened.api("api.state.view[1] - api.state.view[0]") > 8
    opened.page.get_by_role("button", name="reset").click()
    opened.page.wait_for_function(  # painted on the next animation frame
        "document.querySelector('.actviz-explore').actvizExplore.drawn.view[1] === 8"
    )
    assert opened.api("api.drawn.view") == [-8, 8]
    assert opened.problems == []


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_light_and_dark_screenshots(opened: Opened, tmp_path: Path) -> None:
    backgrounds = {}
    for theme in ("light", "dark"):
        opened.page.locator(".ax-theme").select_option(theme)
        point = opened.api("api.panelPoint('g', 1.3)")
        opened.page.mouse.move(point["x"], point["y"])
        opened.page.wait_for_timeout(150)
        shot = tmp_path / f"explore-{theme}.png"
        opened.page.screenshot(path=str(shot), full_page=True)
        assert _png_size(shot)[0] == WINDOW["width"]
        print(f"screenshot, {theme} theme: {shot}")
        backgrounds[theme] = opened.page.evaluate(
            "getComputedStyle(document.querySelector('.actviz-explore')).backgroundColor"
        )
    assert backgrounds == {"light": "rgb(250, 250, 250)", "dark": "rgb(17, 17, 17)"}
    assert opened.problems == []


def test_two_explorers_in_one_notebook_do_not_clash(
    browser: Any, made: Explorer, tmp_path: Path
) -> None:
    other = explorer("tanh", dtypes=["float32", "float16"], jobs=1)
    notebook = tmp_path / "notebook.html"
    notebook.write_text(
        "<!doctype html><html><head><meta charset='utf-8'><style>div { color: red; }</style>"
        f"</head><body><p>an output</p>{made._repr_html_()}<p>another</p>"
        f"{other._repr_html_()}</body></html>"
    )
    page = Opened(browser, notebook.as_uri())
    try:
        page.page.wait_for_function("document.querySelectorAll('[data-ready]').length === 2")
        names = page.page.evaluate(
            "[...document.querySelectorAll('.actviz-explore')]"
            ".map(r => r.actvizExplore.plotted().map(p => p.name))"
        )
        assert names == [NAMES, ["tanh"]]
        page.page.locator('.actviz-explore >> nth=1 >> .ax-dtypes input[value="float16"]').check()
        # The page paints on the next animation frame: wait for it, as above.
        page.page.wait_for_function(
            "document.querySelectorAll('.actviz-explore')[1].actvizExplore.drawn.dtype"
            " === 'float16'"
        )
        dtypes = page.page.evaluate(
            "[...document.querySelectorAll('.actviz-explore')]"
            ".map(r => r.actvizExplore.drawn.dtype)"
        )
        assert dtypes == ["float32", "float16"]
        assert page.problems == []
    finally:
        page.close()


def test_the_browser_check_catches_a_wrong_number(
    browser: Any, page_file: Path, tmp_path: Path
) -> None:
    """One sample of leaky_relu's f at slope 0.2, changed in the page's data: the
    slider check above must fail on it."""
    page = page_file.read_text()
    manifest, floats, codes = decode(page_payload(page))
    (entry,) = [a for a in manifest["activations"] if a["name"] == "leaky_relu"]
    curve = entry["curves"]["4|float32"]  # negative_slope = 0.2
    floats = floats.copy()
    floats[curve["y"] + 10] += 0.5
    wrong = tmp_path / "wrong.html"
    wrong.write_text(with_payload(page, encode(manifest, floats, codes)))
    opened = Opened(browser, wrong.as_uri())
    try:
        with pytest.raises(AssertionError):
            test_a_slider_plots_torchs_values_for_its_parameter(opened)
    finally:
        opened.close()


# --- explore.js's port of the one number format, against Python's ------------------------

_dtypes = st.sampled_from(["float64", "float32", "bfloat16", "float16"])


def _in_dtype(value: float, dtype: str) -> float:
    import torch

    return float(torch.tensor(value, dtype=torch.float64).to(getattr(torch, dtype)).double())


@pytest.fixture(scope="module")
def formatter(browser: Any, page_file: Path) -> Iterator[Opened]:
    page = Opened(browser, page_file.as_uri())
    yield page
    page.close()


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(
        st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=1, max_size=60
    ),
    dtype=_dtypes,
)
def test_number_in_javascript_is_pythons(
    formatter: Opened, values: list[float], dtype: str
) -> None:
    # the values a page holds are values of its dtype: test those, and raw floats
    rounded = [_in_dtype(v, dtype) if math.isfinite(v) else v for v in values]
    for batch in (values, rounded):
        found = formatter.page.evaluate(
            "([vs, d]) => vs.map(v => document.querySelector('.actviz-explore')"
            ".actvizExplore.format.number(v === null ? NaN : v, d))",
            [[None if math.isnan(v) else v for v in batch], dtype],
        )
        assert found == [number(v, dtype) for v in batch]


@settings(max_examples=40, deadline=None)
@given(
    xs=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=40),
    span=st.floats(1e-3, 1e4),
)
def test_coord_in_javascript_is_pythons(formatter: Opened, xs: list[float], span: float) -> None:
    found = formatter.page.evaluate(
        "([xs, s]) => xs.map(x => document.querySelector('.actviz-explore')"
        ".actvizExplore.format.coord(x, s))",
        [xs, span],
    )
    assert found == [coord(x, span) for x in xs]


@settings(max_examples=60, deadline=None)
@given(
    start=st.floats(-1e7, 1e7),
    step=st.floats(1e-9, 1e6),
    count=st.integers(2, 10),
)
def test_tick_labels_in_javascript_are_pythons(
    formatter: Opened, start: float, step: float, count: int
) -> None:
    ticks = [start + k * step for k in range(count)]
    found = formatter.page.evaluate(
        "(ts) => document.querySelector('.actviz-explore').actvizExplore.format.formatTicks(ts)",
        ticks,
    )
    assert found == format_ticks(ticks)
