"""Search in Debian's chromium: Pagefind's UI over the built index, under a sub-path, offline,
by keyboard, and nothing of it fetched before a reader asks.

Serves the shared build (conftest `built_site`) under /blog/ on port 8141; every request
to any other address is aborted and recorded, so "offline" is checked, not assumed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_util import serve

pytestmark = pytest.mark.browser

PORT = 8141
ORIGIN = f"http://127.0.0.1:{PORT}/"
CAP = "cap-in-practice/"
BUDGET_KB = 150  # bytes an article page may fetch before any interaction
BYTES_LOADED = """() => [...performance.getEntriesByType("navigation"),
                         ...performance.getEntriesByType("resource")]
                        .map((e) => [e.name, e.transferSize])"""


@pytest.fixture(scope="module")
def base_url(built_site: Path) -> Iterator[str]:
    with serve(built_site, PORT) as url:
        yield url


class Offline:
    """A browser context where only the local server answers; records everything else,
    console errors, page errors and failed or refused requests."""

    def __init__(self, browser) -> None:
        self.context = browser.new_context(viewport={"width": 1024, "height": 800})
        self.outside: list[str] = []
        self.problems: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.problems.append(m.text))
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.on(
            "response",
            lambda r: r.status >= 400 and self.problems.append(f"HTTP {r.status}: {r.url}"),
        )

    def _route(self, route) -> None:
        if route.request.url.startswith(ORIGIN):
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort()

    def requested(self) -> list[str]:
        return [name for name, _ in self.page.evaluate(BYTES_LOADED)]

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def offline(browser) -> Iterator[Offline]:
    session = Offline(browser)
    try:
        yield session
    finally:
        session.close()


def article_slugs(site: Path) -> list[str]:
    return [
        path.parent.name
        for path in sorted(site.glob("*/index.html"))
        if "data-pagefind-body" in path.read_text(encoding="utf-8")
    ]


# What search, sharing and contents put into every article page (the rest is the article
# and the demo runner): the preview tags, the Search button and its empty panel, the
# loader script, the contents list.
ADDED = [
    r'<link rel="canonical"[^>]*>',
    r'<meta (?:property|name)="(?:og|twitter|article):[^>]*>',
    r'<button type="button" class="search-toggle".*?</button>',
    r'<div id="search-panel".*?</div>',
    r"<script>\s*\(function \(\) \{\s*"
    r'var button = document\.querySelector\("\.search-toggle"\).*?</script>',
    r'<nav class="toc".*?</nav>',
]
ADDED_BUDGET = 6000  # bytes


def added_bytes(html: str) -> int:
    """Give the bytes of `html` that the ADDED patterns match."""
    return sum(len(m.encode()) for pattern in ADDED for m in re.findall(pattern, html, re.S))


def test_added_bytes_counts_what_it_should() -> None:
    html = (
        '<link rel="canonical" href="x"><meta property="og:title" content="t">'
        '<meta name="description" content="d"><nav class="toc"><ol></ol></nav>'
    )
    assert added_bytes(html) == len(html) - len('<meta name="description" content="d">')


def test_articles_fetch_no_search_before_interaction(
    built_site: Path, base_url: str, offline: Offline
) -> None:
    """Search costs a page nothing until asked for, and a few KB of HTML; the page's
    total is printed against the 150 KB budget (the demo figures dominate it)."""
    for slug in article_slugs(built_site):
        offline.page.goto(f"{base_url}{slug}/", wait_until="load")
        offline.page.wait_for_timeout(800)  # anything lazy that would fire without a reader
        entries = offline.page.evaluate(BYTES_LOADED)
        names = [name for name, _ in entries]
        assert not [n for n in names if "pagefind" in n or n.endswith("/search.js")], names
        assert offline.page.locator("#search-panel").is_hidden()
        html = (built_site / slug / "index.html").read_text(encoding="utf-8")
        added = added_bytes(html)
        assert 1000 < added <= ADDED_BUDGET, (slug, added)
        kb = sum(size for _, size in entries) / 1000
        print(
            f"{slug}: {kb:.1f} KB before interaction (budget {BUDGET_KB} KB), "
            f"of which search, sharing and contents {added / 1000:.1f} KB"
        )
    assert not offline.outside and not offline.problems, offline.outside + offline.problems


def test_keyboard_search_finds_the_cap_article_offline_under_a_sub_path(
    base_url: str, offline: Offline
) -> None:
    page = offline.page
    page.goto(base_url, wait_until="load")
    page.keyboard.press("/")
    field = page.locator("#search-panel input")
    field.wait_for(timeout=15_000)
    assert page.evaluate("document.activeElement.closest('#search-panel') !== null")
    assert page.locator(".search-toggle").get_attribute("aria-expanded") == "true"
    page.keyboard.type("linearizable")
    first = page.locator(".pagefind-ui__result-link").first
    first.wait_for(timeout=15_000)
    results = page.locator(".pagefind-ui__result-link").evaluate_all(
        "links => links.map((a) => [a.textContent.trim(), a.href])"
    )
    assert results[0] == [
        "CAP in practice: what a partition forces you to choose",
        base_url + CAP,
    ], results
    # Section hits link into the article under the same sub-path, titled without the "#"
    # permalink sign.
    sections = [(text, href) for text, href in results if "#" in href]
    assert sections and all(href.startswith(base_url) for _, href in sections)
    assert not [text for text, _ in sections if text.endswith("#")], sections

    # Tab from the field to the CAP result, Enter follows it.
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.href") == base_url + CAP:
            break
    else:
        pytest.fail("Tab never reached the CAP result")
    page.keyboard.press("Enter")
    page.wait_for_url(base_url + CAP)
    assert page.locator("h1").inner_text().startswith("CAP in practice")
    assert not offline.outside, offline.outside
    assert not offline.problems, offline.problems


def test_escape_closes_search_and_the_button_reopens_it_without_refetching(
    base_url: str, offline: Offline
) -> None:
    page = offline.page
    page.goto(base_url + CAP, wait_until="load")
    button = page.locator(".search-toggle")
    button.focus()
    page.keyboard.press("Enter")
    page.locator("#search-panel input").wait_for(timeout=15_000)
    page.keyboard.type("raft")
    page.locator(".pagefind-ui__result-link").first.wait_for(timeout=15_000)
    page.keyboard.press("Escape")
    assert page.locator("#search-panel").is_hidden()
    assert button.get_attribute("aria-expanded") == "false"
    assert page.evaluate("document.activeElement.className") == "search-toggle"
    fetched = [n for n in offline.requested() if n.endswith("pagefind-ui.js")]
    button.click()
    field = page.locator("#search-panel input")
    assert field.is_visible()
    assert page.evaluate("document.activeElement.closest('#search-panel') !== null")
    assert (
        [n for n in offline.requested() if n.endswith("pagefind-ui.js")]
        == fetched
        == [base_url + "pagefind/pagefind-ui.js"]
    )
    # "/" typed into the search field is text, not the shortcut.
    page.locator("#search-panel input").fill("")
    page.locator("#search-panel input").press("/")
    assert page.locator("#search-panel input").input_value() == "/"
    assert not offline.outside and not offline.problems, offline.outside + offline.problems


def test_search_is_whole_without_javascript_hidden(
    built_site: Path, browser, base_url: str
) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(base_url + CAP)
        # Without JavaScript there is no search to offer, so no dead button either.
        assert page.locator(".search-toggle").is_hidden()
        assert page.locator("#search-panel").is_hidden()
    finally:
        context.close()
