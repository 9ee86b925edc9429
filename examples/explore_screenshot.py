"""The README's screenshot of ``actviz explore``: outputs/explore.html opened in
Debian's chromium (Playwright for Python, ``executable_path``: nothing downloaded),
four activations picked, a point hovered, the first screen saved as a PNG.

    .venv/bin/python examples/explore_screenshot.py outputs/explore.html outputs/explore.png

Needs the test extra (playwright) and chromium (``make chromium``); without them it
says so and exits 0, as ``make explore-png`` may run anywhere.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

PICKED = ("sigmoid", "leaky_relu", "elu", "hardtanh")
WINDOW = {"width": 1280, "height": 1320}


def main(page: Path, png: Path, theme: str = "light") -> int:
    browser_path = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        browser_path = None
    if browser_path is None:
        print("note: chromium or playwright is missing; no screenshot written")
        return 0
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=browser_path, args=["--no-sandbox"])
        view = browser.new_page(viewport=WINDOW)
        view.goto(page.resolve().as_uri())
        view.wait_for_selector(".actviz-explore[data-ready]", timeout=30_000)
        view.locator(".ax-theme").select_option(theme)
        names = view.evaluate(
            "document.querySelector('.actviz-explore').actvizExplore.manifest()"
            ".activations.map(a => a.name)"
        )
        for index, name in enumerate(names):
            box = view.locator(f'.ax-list input[value="{index}"]')
            if (name in PICKED) != box.is_checked():
                box.click()
        point = view.evaluate(
            "document.querySelector('.actviz-explore').actvizExplore.panelPoint('g', 1.3)"
        )
        view.mouse.move(point["x"], point["y"])
        view.wait_for_timeout(300)
        view.screenshot(path=str(png))
        browser.close()
    print(f"wrote {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2]), *sys.argv[3:]))
