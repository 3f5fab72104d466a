"""The index page in Debian's chromium: it renders, the theme toggle works and persists.

Serves the built site under a sub-path (/blog/) with `python -m http.server` on port 8102
and drives the system chromium through Playwright; a browser is never downloaded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_util import find_article_with_demos, serve

pytestmark = pytest.mark.browser

PORT = 8102
OVERVIEW = "understanding-distributed-systems/"


@pytest.fixture(scope="module")
def base_url(built_site: Path) -> Iterator[str]:
    with serve(built_site, PORT) as url:
        yield url


class Watched:
    """A page plus every console error, page error and failed request it produced."""

    def __init__(self, context) -> None:
        self.page = context.new_page()
        self.problems: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.on(
            "requestfailed",
            lambda request: self.problems.append(
                f"request failed: {request.url} ({request.failure})"
            ),
        )
        self.page.on("response", self._response)

    def _console(self, message) -> None:
        if message.type == "error":
            self.problems.append(f"console: {message.text}")

    def _response(self, response) -> None:
        if response.status >= 400:
            self.problems.append(f"HTTP {response.status}: {response.url}")

    def theme(self) -> dict[str, object]:
        """Give data-theme, the toggle's aria-pressed, and whether the background is dark."""
        return self.page.evaluate("""() => {
            const rgb = getComputedStyle(document.body).backgroundColor.match(/\\d+/g).map(Number);
            return {
                attribute: document.documentElement.dataset.theme ?? null,
                pressed: document.querySelector('.theme-toggle').getAttribute('aria-pressed'),
                dark: rgb[0] + rgb[1] + rgb[2] < 3 * 128,
            };
        }""")


def test_index_renders_and_the_theme_toggle_persists(browser, base_url: str) -> None:
    context = browser.new_context(color_scheme="light", viewport={"width": 1024, "height": 800})
    try:
        watched = Watched(context)
        page = watched.page
        page.goto(base_url, wait_until="networkidle")
        assert page.title().startswith("Distributed Notes")
        assert page.locator("main .card h2 a").count() >= 1
        assert page.locator(f'main a[href$="{OVERVIEW}"]').count() >= 1
        assert "system-ui" in page.evaluate("getComputedStyle(document.body).fontFamily")
        assert watched.theme() == {"attribute": None, "pressed": "false", "dark": False}

        # Keyboard only: Tab reaches the skip link first; the toggle answers Enter and Space.
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip-link"
        page.locator(".theme-toggle").focus()
        page.keyboard.press("Enter")
        assert watched.theme() == {"attribute": "dark", "pressed": "true", "dark": True}

        page.reload(wait_until="networkidle")
        assert watched.theme() == {"attribute": "dark", "pressed": "true", "dark": True}
        page.goto(base_url + OVERVIEW, wait_until="networkidle")
        assert watched.theme()["dark"], "the choice holds on other pages too"

        page.locator(".theme-toggle").focus()
        page.keyboard.press("Space")
        page.reload(wait_until="networkidle")
        assert watched.theme() == {"attribute": "light", "pressed": "false", "dark": False}
        assert not watched.problems, watched.problems
    finally:
        context.close()


def test_the_os_preference_applies_without_javascript(browser, base_url: str) -> None:
    context = browser.new_context(color_scheme="dark", java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(base_url, wait_until="networkidle")
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert sum(map(int, background[4:-1].split(","))) < 3 * 128, background
        # The toggle cannot work without a script, so it is not offered.
        assert not page.locator(".theme-toggle").is_visible()
    finally:
        context.close()


def test_pages_fit_a_360_pixel_screen(browser, base_url: str) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 740})
    try:
        watched = Watched(context)
        for path in ("", OVERVIEW, "archives/", "tags/"):
            watched.page.goto(base_url + path, wait_until="networkidle")
            width = watched.page.evaluate("document.documentElement.scrollWidth")
            assert width <= 360, f"{path or 'index'} scrolls sideways: {width}px"
        assert not watched.problems, watched.problems
    finally:
        context.close()


# For each figure: whether its diagram box scrolls sideways, and the hint drawn above it.
SCROLL_HINTS = """() => [...document.querySelectorAll("figure.demo .demo-output")].map((o) => ({
  overflows: o.scrollWidth > o.clientWidth + 1,
  hint: getComputedStyle(o, "::before").content,
}))"""


def test_a_diagram_wider_than_a_phone_says_it_scrolls(browser, base_url: str, built_site) -> None:
    """Phones hide scrollbars, so a diagram that scrolls sideways in its box says so above
    itself; on a wide screen nothing scrolls and nothing is said."""
    path = find_article_with_demos(built_site)
    for width, phone in ((390, True), (1280, False)):
        context = browser.new_context(viewport={"width": width, "height": 844})
        try:
            page = context.new_page()
            page.goto(base_url + path, wait_until="networkidle")
            boxes = page.evaluate(SCROLL_HINTS)
            assert boxes
            for box in boxes:
                assert box["overflows"] == phone, (width, box)
                assert ("Swipe the diagram sideways" in box["hint"]) == phone, (width, box)
        finally:
            context.close()
