"""The lab offline: once a reader has opened a figure's Code view and run it, the editor,
the protocol's source, the runtime and the wheel are in the service worker's cache, so a
later visit opens the Code view and finds a counterexample with the network gone.

The page itself is never cached (new posts must show at once), so each later page is opened
online and the network cut before the reader touches anything. Against the real built site
under /blog/, with Debian's chromium through Playwright.
"""

from __future__ import annotations

import os
import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from browser_util import find_article_with_demos, serve

pytestmark = pytest.mark.browser

PORT = 8141
BOOT_MS = 60_000
SEARCH_MS = 120_000
PRESET = "vote-without-log-check"
CHECK = "State machine safety"

# Every URL the origin's caches hold.
CACHED = """async () => {
    const urls = [];
    for (const name of await caches.keys()) {
        urls.push(...(await (await caches.open(name)).keys()).map((r) => r.url));
    }
    return urls;
}"""
# Drop the cached URLs holding `part` (a reader's storage cleared in part).
KEPT = (
    "/build/lab-editor.js",
    ".raft.json",
    "pyodide.asm.wasm",
    "python_stdlib.zip",
    ".whl",
    ".snapshot.gz",
    "/manifest-",
)


class Visit:
    """A page of `context` on the Raft article, opened online."""

    def __init__(self, context, base: str, output: Path) -> None:
        self.page = context.new_page()
        path = find_article_with_demos(output, demo="raft")
        html = (output / path / "index.html").read_text(encoding="utf-8")
        start = html.index('data-demo="raft"')
        self.fig = "#" + html[html.rindex('id="', 0, start) + 4 :].split('"', 1)[0]
        self.page.goto(base + path)

    def sel(self, inner: str) -> str:
        return f"{self.fig} {inner}"

    def open_code(self) -> None:
        self.page.hover(self.fig)
        self.page.wait_for_selector(self.sel("[data-action=code]"), timeout=20_000)
        self.page.click(self.sel("[data-action=code]"))

    def wait_done(self, timeout: float = BOOT_MS) -> None:
        self.page.wait_for_function(
            f"['done', 'error'].includes(document.querySelector('{self.fig} .demo-status')"
            ".dataset.state)",
            timeout=timeout,
        )
        state = self.page.get_attribute(self.sel(".demo-status"), "data-state")
        assert state == "done", self.page.inner_text(self.sel(".demo-error"))

    def wait_until_cached(self, kept: tuple[str, ...], timeout_s: float = 60) -> None:
        """Poll until the caches hold a URL with each part of `kept`."""
        deadline = time.monotonic() + timeout_s
        while True:
            urls = self.page.evaluate(CACHED)
            if all(any(part in url for url in urls) for part in kept):
                return
            assert time.monotonic() < deadline, f"never cached all of {kept}: {urls}"
            self.page.wait_for_timeout(200)


@pytest.fixture(scope="module")
def site(built_site: Path, tmp_path_factory: pytest.TempPathFactory):
    # A copy of its own (hard links: quick, and removing one leaves the shared build whole),
    # so the test can take files off the server once the browser has cached them.
    copy = tmp_path_factory.mktemp("offline-lab") / "output"
    shutil.copytree(built_site, copy, copy_function=os.link)
    with serve(copy, PORT) as base:
        yield base, copy


def test_the_code_view_and_the_search_work_offline_after_one_visit(browser, site) -> None:
    base, output = site
    context = browser.new_context()
    try:
        # The first visit: the Code view opened before Python (and the service worker)
        # started, then a run.
        first = Visit(context, base, output)
        first.open_code()
        first.page.wait_for_selector(first.sel(".demo-lab[data-ready] .cm-content"))
        first.page.click(first.sel("[data-action=run]"))
        first.wait_done()
        first.wait_until_cached(KEPT)
        first.page.close()
        # From here on the server has no Python, no wheel, no snapshot and no protocol
        # sources: whatever runs below came from the cache, whatever the browser's offline
        # switch does or does not cover (a service worker's own fetches, say).
        (source,) = (output / "lab").glob("*.raft.json")
        sources_url = source.relative_to(output).as_posix()
        for gone in (output / "pyodide", output / "lab"):
            shutil.rmtree(gone)
        for pattern in ("*.whl", "*.snapshot.gz"):
            for gone in (output / "demos").glob(pattern):
                gone.unlink()

        again = Visit(context, base, output)
        again.page.wait_for_function("navigator.serviceWorker.controller !== null")
        context.set_offline(True)
        again.open_code()
        again.page.wait_for_selector(again.sel(".demo-lab[data-ready] .cm-content"))
        assert "Raft: leader election" in again.page.inner_text(
            again.sel(".lab-editor .cm-content")
        )
        again.page.select_option(again.sel(".lab-preset"), PRESET)
        again.page.click(again.sel("[data-action=lab-search]"))
        again.page.wait_for_selector(
            again.sel(".demo-lab[data-found]"), timeout=BOOT_MS + SEARCH_MS
        )
        assert again.page.get_attribute(again.sel(".demo-lab"), "data-found") == CHECK
        assert again.page.locator(again.sel(".demo-output .dm-violation")).count() >= 1
        again.page.close()

        # The server really had none of it: the cache answered above, not the network.
        for path in (sources_url, "pyodide/"):
            with pytest.raises(urllib.error.HTTPError) as missing:
                urllib.request.urlopen(base + path, timeout=10)
            assert missing.value.code == 404, path
    finally:
        context.close()
