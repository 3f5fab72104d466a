"""The Python runtime in the browser: failures a reader can act on, Stop without a restart.

Runtime files are broken on purpose with Playwright's request interception (an error
status, an aborted request, a request that never answers, the wrong bytes or MIME type),
then put back, and Retry must recover without a reload. The stall limit is shortened for
the test through the page attribute the runner reads, so nothing waits 15 s.
"""

from __future__ import annotations

import gzip
import re
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_util import find_article_with_demos, heaviest_params, serve

PORT = 8107
BOOT_MS = 60_000
STALL_MS = 1500
# The wasm as the worker fetches it: its gzip'd copy when the site hosts the runtime.
WASM = "**/pyodide.asm.wasm*"

browser_test = pytest.mark.browser


@pytest.fixture(scope="module")
def site(built_site: Path) -> Iterator[tuple[str, Path]]:
    with serve(built_site, PORT) as base:
        yield base, built_site


class Reader:
    """A fresh page on an article with two figures or more; console errors are kept."""

    def __init__(self, browser, site: tuple[str, Path], demo: str | None = None) -> None:
        self.base, self.output = site
        self.path = (
            find_article_with_demos(self.output, demo=demo)
            if demo
            else find_article_with_demos(self.output, min_figures=2)
        )
        self.context = browser.new_context()
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.warnings: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("console", lambda m: m.type == "warning" and self.warnings.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        self.ready: list[dict] = []

    def open(self) -> None:
        self.page.goto(self.base + self.path)
        self.page.evaluate(f"document.documentElement.dataset.demoStallMs = '{STALL_MS}'")
        self.page.evaluate(
            "document.addEventListener('demo-python-ready',"
            " (e) => { (window.readyEvents ??= []).push(e.detail); })"
        )
        # Point at a figure, as a reader would: the runner arrives (Python does not start).
        self.page.dispatch_event("figure.demo", "pointerenter")
        self.page.wait_for_function("document.documentElement.classList.contains('demos-enhanced')")

    def fig(self, index: int = 0, demo: str | None = None):
        selector = f"figure.demo[data-demo={demo}]" if demo else "figure.demo"
        return self.page.locator(selector).nth(index)

    def svg(self, fig) -> str:
        return fig.locator(".demo-output > svg").evaluate("el => el.outerHTML")

    def drawn(self, fig) -> list:
        """Give what identifies the figure's diagram to a reader: its title, description,
        time axis and summary (the page may swap its light first version for the whole
        one, so the markup itself is no measure)."""
        return fig.evaluate("""el => {
            const svg = el.querySelector('.demo-output > svg');
            return svg && [svg.querySelector('title')?.textContent,
                           svg.querySelector('desc')?.textContent,
                           svg.getAttribute('data-duration'),
                           el.querySelector('.demo-summary')?.textContent];
        }""")

    def state(self, fig) -> str:
        return fig.locator(".demo-status").get_attribute("data-state")

    def wait_state(self, fig, *states: str, timeout: float = BOOT_MS) -> str:
        handle = fig.element_handle()
        self.page.wait_for_function(
            "([el, states]) => states.includes(el.querySelector('.demo-status').dataset.state)",
            arg=[handle, list(states)],
            timeout=timeout,
        )
        return self.state(fig)

    def boots(self) -> list[dict]:
        return self.page.evaluate("window.readyEvents ?? []")

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def reader(browser, site) -> Iterator[Reader]:
    opened = Reader(browser, site)
    yield opened
    opened.close()


def _stall(route) -> None:
    """Leave the request unanswered, as a host that hangs would."""


FAILURES = {
    "404": (lambda route: route.fulfill(status=404, body="missing"), "answered 404"),
    "aborted": (lambda route: route.abort("connectionreset"), "cut off"),
    "stalled": (_stall, "stalled: nothing arrived"),
    "html instead of wasm": (
        lambda route: route.fulfill(
            status=200, content_type="text/html", body="<!doctype html><p>Not here</p>"
        ),
        "not WebAssembly: the server sent text/html",
    ),
}


@browser_test
@pytest.mark.parametrize("failure", list(FAILURES))
def test_a_broken_runtime_file_ends_loading_with_its_name_and_retry_recovers(
    reader: Reader, failure: str
) -> None:
    handler, said = FAILURES[failure]
    reader.page.route(WASM, handler)
    reader.open()
    fig, other = reader.fig(0), reader.fig(1)
    prerendered, other_before = reader.drawn(fig), reader.drawn(other)
    assert prerendered
    seed = fig.locator("input[name=seed]")
    seed.fill(str(int(seed.input_value()) + 1))
    fig.locator("[data-action=run]").click()
    assert reader.wait_state(fig, "error", "done", timeout=15_000) == "error"
    message = fig.locator(".demo-error").text_content()
    assert "pyodide.asm.wasm" in message and said in message, message
    assert reader.drawn(fig) == prerendered  # the figure the page was built with stays
    retry = fig.locator("[data-action=retry]")
    assert retry.is_visible()
    assert fig.locator("[data-action=run]").is_enabled()

    # The other figure is left as it was: its diagram, no error, ready for a Run.
    assert reader.drawn(other) == other_before and reader.state(other) == "idle"
    assert not other.locator(".demo-error").is_visible()

    reader.page.unroute(WASM)
    retry.click()
    assert reader.wait_state(fig, "done", "error") == "done", fig.locator(
        ".demo-error"
    ).text_content()
    assert fig.locator(".demo-status").text_content().startswith("Done")
    assert not retry.is_visible()
    # The other figure runs on the Python that Retry brought up.
    other.locator("[data-action=run]").click()
    assert reader.wait_state(other, "done", "error") == "done"


@browser_test
def test_wasm_with_the_wrong_mime_type_still_starts(reader: Reader) -> None:
    def octet_stream(route) -> None:
        response = route.fetch()
        route.fulfill(
            response=response,
            headers={**response.headers, "content-type": "application/octet-stream"},
        )

    reader.page.route(WASM, octet_stream)
    reader.open()
    fig = reader.fig(0)
    fig.locator("[data-action=run]").click()
    assert reader.wait_state(fig, "done", "error") == "done"
    assert reader.errors == []


@browser_test
def test_a_python_exception_shows_its_last_line_and_the_worker_stays(reader: Reader) -> None:
    reader.open()
    fig = reader.fig(0)
    fig.locator("[data-action=run]").click()
    assert reader.wait_state(fig, "done", "error") == "done"
    fig.locator("input[name=faults]").fill("restart n1@10")
    fig.locator("[data-action=run]").click()
    assert reader.wait_state(fig, "done", "error") == "error"
    message = fig.locator(".demo-error").text_content()
    assert "ScheduleError: faults:" in message and "\n" not in message
    assert not fig.locator("[data-action=retry]").is_visible()  # Python itself is fine
    fig.locator("input[name=faults]").fill("")
    fig.locator("[data-action=run]").click()
    assert reader.wait_state(fig, "done", "error") == "done"
    assert len(reader.boots()) == 1  # the same Python answered


SNAPSHOT = "**/demos/python-*.snapshot.gz"
BROKEN_SNAPSHOTS = {
    "404": lambda route: route.fulfill(status=404, body="missing"),
    # Gzip of bytes that are no snapshot: the runtime refuses its magic number.
    "not a snapshot": lambda route: route.fulfill(
        status=200, content_type="application/gzip", body=gzip.compress(b"not a snapshot" * 64)
    ),
    # The real snapshot cut off halfway: its header is fine, so the runtime is already being
    # set up in memory of the right size when the bytes run out.
    "cut short": lambda route: _fulfill_inflated(route, lambda memory: memory[: len(memory) // 2]),
    # A run table that points past the memory's end.
    "runs out of bounds": lambda route: _fulfill_inflated(
        route, lambda memory: memory[:16] + struct.pack("<II", 1 << 30, 4096) + memory[24:]
    ),
}


def _fulfill_inflated(route, change) -> None:
    """Answer with the real snapshot, inflated, changed by `change`, and gzip'd again."""
    real = route.fetch()
    route.fulfill(response=real, body=gzip.compress(change(gzip.decompress(real.body()))))


@browser_test
@pytest.mark.parametrize("broken", list(BROKEN_SNAPSHOTS))
def test_a_snapshot_that_does_not_load_falls_back_to_a_normal_boot(
    reader: Reader, broken: str
) -> None:
    reader.page.route(SNAPSHOT, BROKEN_SNAPSHOTS[broken])
    reader.open()
    fig = reader.fig(0)
    fig.locator("[data-action=run]").click()
    assert reader.wait_state(fig, "done", "error") == "done", fig.locator(
        ".demo-error"
    ).text_content()
    (boot,) = reader.boots()
    assert boot["snapshot"] is False
    assert any("snapshot did not load" in w for w in reader.warnings), reader.warnings
    # The reader is told nothing; only the 404 itself shows up in the console.
    assert [e for e in reader.errors if not e.startswith("Failed to load resource")] == []


def _start_heavy_run(reader: Reader, fig) -> None:
    for name, value in heaviest_params(reader.output, "partition").items():
        fig.locator(f"[name={name}]").fill(value)
    fig.locator("[data-action=run]").click()
    reader.wait_state(fig, "running", timeout=5_000)
    reader.page.wait_for_timeout(300)  # well inside the simulation: the run takes seconds
    assert reader.state(fig) == "running"


@browser_test
def test_stop_ends_the_run_at_a_slice_and_python_stays_warm(browser, site) -> None:
    reader = Reader(browser, site, demo="partition")
    try:
        reader.open()
        fig = reader.fig(0, demo="partition")
        status = fig.locator(".demo-status")
        fig.locator("[data-action=run]").click()
        assert reader.wait_state(fig, "done", "error") == "done"
        (boot,) = reader.boots()
        # Booted from the build's snapshot, and Chromium has JSPI: runs yield.
        assert boot["snapshot"] is True and boot["cooperative"] is True, boot

        _start_heavy_run(reader, fig)
        fig.locator("[data-action=stop]").click()
        assert status.text_content() == "Stopped."  # no "restarts in the background"
        fig.locator("[data-action=reset]").click()
        fig.locator("[data-action=run]").click()
        assert reader.wait_state(fig, "done", "error", timeout=10_000) == "done"
        assert "Python started in" not in status.text_content()

        # A newer run replaces a heavy one at its next slice instead of queueing behind it.
        _start_heavy_run(reader, fig)
        fig.locator("[data-action=reset]").click()
        fig.locator("[data-action=run]").click()
        assert reader.wait_state(fig, "done", "error", timeout=10_000) == "done"

        # The run limit stops a run the same way, and the worker stays.
        reader.page.evaluate("document.documentElement.dataset.demoRunLimitMs = '400'")
        for name, value in heaviest_params(reader.output, "partition").items():
            fig.locator(f"[name={name}]").fill(value)
        fig.locator("[data-action=run]").click()
        assert reader.wait_state(fig, "stopped", "done", "error") == "stopped"
        assert re.match(r"Stopped after 0\.4 s: the run took too long\.$", status.text_content())
        reader.page.evaluate("delete document.documentElement.dataset.demoRunLimitMs")
        fig.locator("[data-action=reset]").click()
        fig.locator("[data-action=run]").click()
        assert reader.wait_state(fig, "done", "error") == "done"
        assert len(reader.boots()) == 1, reader.boots()  # never a second boot
        assert reader.errors == []
    finally:
        reader.close()


def test_the_simulation_calls_the_cooperative_hook_and_stops_when_it_raises() -> None:
    import demos
    from demos import sim

    class Halt(BaseException):
        pass

    plain = demos.run("raft", {"seed": 5}).svg
    calls: list[int] = []
    token = sim.COOPERATE.set(lambda: calls.append(1))
    try:
        hooked = demos.run("raft", {"seed": 5}).svg
    finally:
        sim.COOPERATE.reset(token)
    assert calls and hooked == plain  # yielding changes nothing in the run

    def halt() -> None:
        raise Halt

    token = sim.COOPERATE.set(halt)
    try:
        with pytest.raises(Halt):
            demos.run("raft", {"seed": 5})
    finally:
        sim.COOPERATE.reset(token)
    assert demos.run("raft", {"seed": 5}).svg == plain  # the hook does not outlive its context


# Every cache of the origin with the URLs it holds.
CACHED = """async () => {
    const out = {};
    for (const name of await caches.keys()) {
        out[name] = (await (await caches.open(name)).keys()).map((r) => r.url);
    }
    return out;
}"""
KEPT = (
    "pyodide.asm.wasm",
    "pyodide.asm.js",
    "pyodide.mjs",
    "python_stdlib.zip",
    "pyodide-lock.json",
    ".whl",
    ".snapshot.gz",
    "/manifest-",
)


def _wait_until_cached(tab, kept: tuple[str, ...], timeout_s: float = 30) -> None:
    """Wait until the origin's caches hold a URL with each part of `kept` (polled here:
    wait_for_function would take the predicate's promise itself for a yes)."""
    deadline = time.monotonic() + timeout_s
    while True:
        urls = [u for found in tab.evaluate(CACHED).values() for u in found]
        if all(any(part in u for u in urls) for part in kept):
            return
        assert time.monotonic() < deadline, f"never cached all of {kept}: {urls}"
        tab.wait_for_timeout(200)


def _run_first_figure(tab) -> dict:
    """Click Run on the first figure; give the boot's account once its new diagram is in."""
    tab.evaluate(
        "document.addEventListener('demo-python-ready', (e) => { window.boot = e.detail; })"
    )
    tab.locator("figure.demo [data-action=run]").first.click()
    tab.wait_for_function(
        "['done', 'error'].includes(document.querySelector("
        "'figure.demo .demo-status').dataset.state)",
        timeout=BOOT_MS,
    )
    fig = tab.locator("figure.demo").first
    assert fig.locator(".demo-status").get_attribute("data-state") == "done", fig.locator(
        ".demo-error"
    ).text_content()
    return tab.evaluate("window.boot")


@browser_test
def test_a_second_visit_starts_python_from_the_cache_and_runs_offline(browser, site) -> None:
    base, output = site
    url = base + find_article_with_demos(output, min_figures=2)
    context = browser.new_context()
    try:
        first = context.new_page()
        first.goto(url)
        # A cache an older build left behind: this build's service worker drops it.
        first.evaluate(
            "caches.open('pyodide-demos-0000000000000000')"
            ".then((c) => c.put('stale.whl', new Response('old')))"
        )
        assert _run_first_figure(first)["snapshot"] is True
        _wait_until_cached(first, KEPT)
        first.close()

        second = context.new_page()
        second.goto(url)  # the page itself comes from the network, as always
        second.wait_for_function("navigator.serviceWorker.controller !== null")
        context.set_offline(True)  # from here on, only the cache can answer
        boot = _run_first_figure(second)
        assert boot["snapshot"] is True
        cached = second.evaluate(CACHED)
        assert list(cached) == [next(iter(cached))] and "0000000000000000" not in str(cached)
        urls = [u for name in cached for u in cached[name]]
        assert not [u for u in urls if u.endswith((".html", "/"))], urls  # never HTML
        assert all(u.startswith(base) for u in urls)  # everything under the site's sub-path
    finally:
        context.close()
