"""The export gallery (index.html) opened in headless Chromium, as a reader opens it.

Every image must load, nothing may be fetched from outside the folder, the
console must stay clean, and the figures must be shown large enough to read.
A screenshot of the first screen is left in the test's temp folder.
Chromium is Debian's ``chromium`` (``make chromium`` installs it as root);
without it the test is skipped.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest

from actviz.export import export
from actviz.params import targets_from_cli

# Two-panel figures, one shrunk by the old 34rem cards, and GLU's three panels.
NAMES = ["sigmoid", "relu", "gelu", "glu"]
WINDOW = (1280, 900)
# The plot's legend is 8.3 pt, 17 px at the export's 150 dpi: shown at half its
# size or more it stays 9 px or larger. The old cards showed it at 0.39 (7 px).
MIN_SCALE = 0.5

# Runs before anything else on the page: records failed loads, script errors and
# console.error calls, then (on load) what every image and resource did.
PROBE_SCRIPT = """<script>
window.__problems = [];
addEventListener("error", e => __problems.push(
  e.target && e.target.src ? "failed to load " + e.target.src : "error: " + e.message), true);
const consoleError = console.error;
console.error = (...args) => {
  __problems.push("console.error: " + args.join(" "));
  consoleError(...args);
};
addEventListener("load", () => {
  const out = document.createElement("pre");
  out.id = "actviz-check";
  out.textContent = JSON.stringify({
    images: [...document.images].map(i => ({src: i.getAttribute("src"), complete: i.complete,
      naturalWidth: i.naturalWidth, width: i.getBoundingClientRect().width})),
    resources: performance.getEntriesByType("resource").map(r => r.name),
    problems: __problems,
  });
  document.body.append(out);
});
</script>"""


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("Chromium is not installed: `make chromium` installs Debian's package as root")


def _run(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
        f"--user-data-dir={profile}", "--no-first-run", "--disable-extensions",
        # Any lookup of a host fails: a request leaving the folder becomes an error.
        "--host-resolver-rules=MAP * ~NOTFOUND", "--enable-logging=stderr", "--v=0",
        f"--window-size={WINDOW[0]},{WINDOW[1]}", "--virtual-time-budget=10000", *args,
    ]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail("Chromium took over 90 s on a local page")
    return done


def _console_errors(stderr: str) -> list[str]:
    """Page-level errors Chromium logs (its own D-Bus and GPU noise is not the page's)."""
    return [
        line
        for line in stderr.splitlines()
        if "CONSOLE" in line or "Uncaught" in line or "Failed to load resource" in line
    ]


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.fixture(scope="module")
def gallery(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("outputs")
    export(targets_from_cli(NAMES), out, jobs=1)
    return out / "index.html"


def test_gallery_has_no_external_references(gallery: Path) -> None:
    page = gallery.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.IGNORECASE)
    assert "@import" not in page and "url(" not in page


def _check_page(browser: str, page: Path, profile: Path) -> tuple[dict[str, Any], str]:
    """Load a copy of ``page`` with PROBE_SCRIPT injected; what it recorded, and Chromium's log."""
    checked = page.with_name(f"checked-{page.name}")
    checked.write_text(page.read_text().replace("<head>", "<head>\n" + PROBE_SCRIPT, 1))
    done = _run(browser, profile, "--dump-dom", checked.as_uri())
    match = re.search(r'<pre id="actviz-check">(.*?)</pre>', done.stdout, re.DOTALL)
    assert match, f"the page never finished loading:\n{done.stderr[-2000:]}"
    result: dict[str, Any] = json.loads(html.unescape(match.group(1)))
    return result, done.stderr


def test_gallery_in_chromium(gallery: Path, tmp_path: Path) -> None:
    browser = _chromium()
    result, log = _check_page(browser, gallery, tmp_path / "profile")

    images = result["images"]
    assert sorted(i["src"] for i in images) == sorted(f"{n}.png" for n in NAMES)
    for image in images:
        assert image["complete"] and image["naturalWidth"] > 0, f"{image['src']} did not load"
        scale = image["width"] / image["naturalWidth"]
        assert scale >= MIN_SCALE, f"{image['src']} is shown at {scale:.2f} of its size"
    assert result["problems"] == []
    assert _console_errors(log) == []
    # Chromium lists no file:// loads here; anything else would be a request out.
    assert all(r.startswith("file://") for r in result["resources"]), result["resources"]

    shot = tmp_path / "gallery.png"
    done = _run(browser, tmp_path / "profile-shot", f"--screenshot={shot}", gallery.as_uri())
    assert shot.exists(), f"no screenshot:\n{done.stderr[-2000:]}"
    assert _png_size(shot) == WINDOW
    print(f"screenshot of the first screen: {shot}")


def test_the_browser_check_sees_what_it_looks_for(tmp_path: Path) -> None:
    """An external image, a missing image and a console error are each caught."""
    browser = _chromium()
    page = tmp_path / "bad.html"
    page.write_text(
        "<!doctype html><html><head><title>bad</title></head><body>"
        '<img src="https://example.com/x.png"><img src="missing.png">'
        '<script>console.error("boom")</script></body></html>'
    )
    result, log = _check_page(browser, page, tmp_path / "profile")
    assert [i["naturalWidth"] for i in result["images"]] == [0, 0]
    assert "failed to load https://example.com/x.png" in result["problems"]
    assert f"failed to load {(tmp_path / 'missing.png').as_uri()}" in result["problems"]
    assert "console.error: boom" in result["problems"]
    assert any("boom" in line for line in _console_errors(log))
    assert any(r.startswith("https://example.com/") for r in result["resources"])
