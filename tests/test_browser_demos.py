"""The browser runner against the real built site, served under /blog/ like a static host.

Drives Debian's chromium through Playwright (never a downloaded browser). One browser for
the module; each test opens a fresh context, so each cold start of Python is a real one
(a few seconds) and the whole file stays well under three minutes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from browser_util import (
    ISOLATION_HEADERS,
    chromium_path,
    find_article_with_demos,
    heaviest_params,
    launch_chromium,
    serve,
)

pytestmark = pytest.mark.browser

PORT = 8103
BOOT_MS = 60_000  # a cold Python start on a loaded 2-core machine, with room to spare
STATUS = ".demo-status"


@pytest.fixture(scope="module")
def site(built_site: Path) -> Iterator[tuple[str, Path]]:
    """Give (base URL of the site under /blog/, its output folder)."""
    # The same site again under /isolated/ with COOP/COEP: there Stop uses an interrupt buffer.
    with serve(built_site, PORT, extra={"isolated": built_site}, headers=ISOLATION_HEADERS,
               headers_under="/isolated/") as base:
        yield base, built_site


@pytest.fixture(scope="module")
def browser():
    if chromium_path() is None:
        pytest.skip("no chromium on PATH and $CHROMIUM is unset")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


class Page:
    """A fresh page on the article, with every console error and failed request recorded."""

    def __init__(self, browser, site: tuple[str, Path]) -> None:
        self.base, self.output = site
        self.path = find_article_with_demos(self.output, min_figures=2)
        self.context = browser.new_context()
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.problems.append(m.text))
        self.page.on("pageerror", lambda e: self.problems.append(f"uncaught: {e}"))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("response", lambda r: r.status >= 400
                     and self.problems.append(f"{r.status} {r.url}"))

    def open(self, fragment: str = "", demo: str | None = None, enhance: bool = True) -> None:
        """Open the article; with `enhance`, point at a figure so the runner comes in."""
        if demo:
            self.path = find_article_with_demos(self.output, demo=demo)
        self.page.goto(self.base + self.path + fragment)
        if enhance:
            self.page.dispatch_event("figure.demo", "pointerenter")
            self.page.wait_for_function(
                "document.documentElement.classList.contains('demos-enhanced')")

    def figures(self) -> list[str]:
        return self.page.eval_on_selector_all("figure.demo", "els => els.map(e => e.id)")

    def fig(self, index: int = 0):
        return self.page.locator(f"#{self.figures()[index]}")

    def svg(self, fig) -> str:
        return fig.locator(".demo-output > svg").evaluate("el => el.outerHTML")

    def state(self, fig) -> str:
        return fig.locator(STATUS).get_attribute("data-state")

    def wait_state(self, fig, *states: str, timeout: float = BOOT_MS) -> str:
        fig_id = fig.get_attribute("id")
        self.page.wait_for_function(
            "([id, states]) => states.includes("
            "document.querySelector(`#${id} .demo-status`).dataset.state)",
            arg=[fig_id, list(states)], timeout=timeout)
        return self.state(fig)

    def finish(self, fig) -> str:
        """Wait for the run to end; give "done", or the state with the figure's message."""
        state = self.wait_state(fig, "done", "error", "stopped")
        if state == "done":
            return state
        return f"{state}: {fig.locator('.demo-error').text_content()}"

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def page(browser, site) -> Iterator[Page]:
    """Give a fresh page; the test fails if the page logged a console error."""
    opened = Page(browser, site)
    yield opened
    problems = list(opened.problems)
    opened.close()
    assert problems == [], f"console errors or failed requests: {problems}"


def defaults_of(fig) -> dict:
    return json.loads(fig.get_attribute("data-defaults"))


def test_page_is_whole_without_any_python(page: Page) -> None:
    page.open(enhance=False)
    ids = page.figures()
    assert len(ids) >= 2
    for index in range(len(ids)):
        fig = page.fig(index)
        assert "<svg" in page.svg(fig)
        assert page.state(fig) == "idle"
        assert fig.locator(".demo-checks li").count() >= 1
    # At load only the small entry module: the runner comes when a reader points at a demo,
    # and Python only when the reader reaches for the controls.
    page.page.wait_for_timeout(300)
    loaded = " ".join(page.requests)
    assert "demos.js" in loaded
    for later in ("page.js", "manifest-", "worker.js", "pyodide", ".whl"):
        assert later not in loaded
    page.fig(0).locator(".demo-output").hover()
    page.page.wait_for_function("document.documentElement.classList.contains('demos-enhanced')")
    assert page.fig(0).locator(".demo-scrubber").is_visible()
    page.page.wait_for_timeout(300)
    loaded = " ".join(page.requests)
    assert "page.js" in loaded and "worker.js" not in loaded and "pyodide" not in loaded


def test_run_with_new_seed_then_warm_rerun(page: Page) -> None:
    page.open()
    fig = page.fig(0)
    prerendered = page.svg(fig)
    seed = defaults_of(fig)["seed"] + 1
    fig.locator("input[name=seed]").fill(str(seed))
    fig.locator("[data-action=run]").click()
    assert page.finish(fig) == "done"
    assert re.match(r"Done in \d+ ms", fig.locator(STATUS).text_content())
    assert page.svg(fig) != prerendered
    assert f"seed={seed}" in page.page.evaluate("location.hash")

    fig.locator("input[name=seed]").fill(str(seed + 1))
    started = page.page.evaluate("performance.now()")
    fig.locator("[data-action=run]").click()
    page.page.wait_for_function(
        "([id, seed]) => location.hash.includes(`seed=${seed}`) &&"
        " document.querySelector(`#${id} .demo-status`).dataset.state === 'done'",
        arg=[fig.get_attribute("id"), seed + 1], timeout=10_000)
    warm_ms = page.page.evaluate("performance.now()") - started
    assert warm_ms < 3000, f"a warm rerun took {warm_ms:.0f} ms"


def test_stop_mid_run_gives_controls_back_then_run_works(page: Page) -> None:
    page.open()
    fig = page.fig(0)
    run, stop = fig.locator("[data-action=run]"), fig.locator("[data-action=stop]")
    fig.locator("input[name=seed]").fill(str(defaults_of(fig)["seed"] + 2))
    run.click()
    assert page.state(fig) in ("loading", "running")
    assert stop.is_enabled()
    stop.click()
    # At once: no waiting for Python, which is being replaced in the background.
    assert page.state(fig) == "stopped"
    assert stop.is_disabled() and run.is_enabled()
    run.click()
    assert page.finish(fig) == "done"


def test_stop_a_running_python_and_the_time_limit(page: Page) -> None:
    page.open(demo="partition")
    fig = page.page.locator("figure.demo[data-demo=partition]").first
    run, stop, reset = (fig.locator(f"[data-action={a}]") for a in ("run", "stop", "reset"))
    status = fig.locator(STATUS)
    run.click()
    assert page.finish(fig) == "done"  # warm: what Stop meets next is Python at work

    heavy = heaviest_params(page.output, "partition")
    for name, value in heavy.items():
        fig.locator(f"[name={name}]").fill(value)
    run.click()
    page.wait_state(fig, "running", timeout=5_000)
    page.page.wait_for_timeout(300)  # well inside Python: this run takes seconds
    assert page.state(fig) == "running"
    stop.click()
    assert page.state(fig) == "stopped"
    assert stop.is_disabled() and run.is_enabled()
    reset.click()
    run.click()
    assert page.finish(fig) == "done"
    assert "Python started in" in status.text_content()  # a fresh worker answered

    # The same heavy run against a short limit stops itself and says so.
    page.page.evaluate("document.documentElement.dataset.demoRunLimitMs = '150'")
    for name, value in heavy.items():
        fig.locator(f"[name={name}]").fill(value)
    run.click()
    assert page.wait_state(fig, "stopped", "done", "error") == "stopped"
    assert "too long" in status.text_content()
    page.page.evaluate("delete document.documentElement.dataset.demoRunLimitMs")
    reset.click()
    run.click()
    assert page.finish(fig) == "done"
    assert "Python started in" in status.text_content()


def test_reset_restores_the_prerendered_figure(page: Page) -> None:
    page.open()
    fig = page.fig(0)
    prerendered = page.svg(fig)
    summary = fig.locator(".demo-summary").text_content()
    seed_default = fig.locator("input[name=seed]").input_value()
    fig.locator("input[name=seed]").fill(str(int(seed_default) + 3))
    fig.locator("[data-action=run]").click()
    assert page.finish(fig) == "done"
    assert page.svg(fig) != prerendered
    fig.locator("[data-action=reset]").click()
    assert page.svg(fig) == prerendered
    assert fig.locator(".demo-summary").text_content() == summary
    assert fig.locator("input[name=seed]").input_value() == seed_default
    assert page.state(fig) == "idle"
    assert fig.get_attribute("id") not in page.page.evaluate("location.hash")


def test_python_error_shows_in_its_figure_and_other_demos_still_run(page: Page) -> None:
    page.open()
    broken, other = page.fig(0), page.fig(1)
    before = page.svg(broken)
    # Passes the browser's character check; only Python knows n1 is not down at 10 ms.
    broken.locator("input[name=faults]").fill("restart n1@10")
    broken.locator("[data-action=run]").click()
    assert page.wait_state(broken, "done", "error") == "error"
    message = broken.locator(".demo-error").text_content()
    assert "ScheduleError" in message and "not down" in message
    assert page.svg(broken) == before

    other.locator("input[name=seed]").fill(str(defaults_of(other)["seed"] + 1))
    other.locator("[data-action=run]").click()
    assert page.finish(other) == "done"
    assert broken.locator(".demo-error").is_visible()


def _host_svg_in_browser(page: Page, demo: str, params: dict) -> str:
    """Give CPython's SVG for `params`, parsed and serialised by the page like the runner's."""
    import demos

    svg = demos.run(demo, params).svg
    return page.page.evaluate(
        "text => new DOMParser().parseFromString(text, 'image/svg+xml').documentElement.outerHTML",
        svg)


def test_share_link_restores_the_same_run(page: Page) -> None:
    page.open()
    fig = page.fig(1)
    fig_id, demo = fig.get_attribute("id"), fig.get_attribute("data-demo")
    params = {**defaults_of(fig), "seed": defaults_of(fig)["seed"] + 5}
    page.open(f"#{fig_id}:seed={params['seed']}")
    assert page.finish(fig) == "done"
    assert fig.locator("input[name=seed]").input_value() == str(params["seed"])
    # Same params, same picture: Pyodide draws byte for byte what CPython draws here.
    live = fig.locator(".demo-output > svg").evaluate("el => el.outerHTML")
    if fig.locator(".demo-check[data-ok=false]").count() == 0:
        assert live == _host_svg_in_browser(page, demo, params)


HOSTILE = {
    "seed": "<img src=x onerror=window.__pwned=1>",
    "faults": "<script>window.__pwned=1</script>",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_link_is_refused_and_never_inserted(page: Page, name: str) -> None:
    page.open()
    fig = page.fig(0)
    fig_id = fig.get_attribute("id")
    before = fig.locator(f"[name={name}]").input_value()
    page.open(f"#{fig_id}:{name}={quote(HOSTILE[name], safe='')}")
    page.wait_state(fig, "error", timeout=10_000)
    assert "refused" in fig.locator(".demo-error").text_content().lower()
    assert fig.locator(f"[name={name}]").input_value() == before
    assert page.page.locator("img[src=x], figure script").count() == 0
    assert page.page.evaluate("window.__pwned") is None
    assert not any("pyodide" in url for url in page.requests)


def test_worker_svg_with_script_or_handlers_is_refused(page: Page) -> None:
    page.open()
    refusals = page.page.evaluate("""async () => {
        const { parseSVG } = await import(new URL('../theme/js/sanitize.js', location.href));
        const ns = 'xmlns="http://www.w3.org/2000/svg"';
        const bad = [
          `<svg ${ns}><script>alert(1)</script></svg>`,
          `<svg ${ns}><foreignObject><p>x</p></foreignObject></svg>`,
          `<svg ${ns} onload="alert(1)"></svg>`,
          `<svg ${ns}><a href="javascript:alert(1)"><text>x</text></a></svg>`,
          `<svg ${ns}><set attributeName="href" to="javascript:alert(1)"/></svg>`,
          `<svg ${ns}><rect`,
        ];
        const out = bad.map((text) => { try { parseSVG(text); return 'accepted'; }
                                         catch (e) { return e.name; } });
        out.push(parseSVG(`<svg ${ns}><rect data-t="5" class="dm-bg"/></svg>`).localName);
        return out;
    }""")
    assert refusals == ["Refused"] * 6 + ["svg"]


def test_playback_and_click_to_crash(page: Page) -> None:
    page.open()
    fig = page.fig(0)
    scrubber = fig.locator(".demo-scrubber")
    scrubber.focus()
    page.page.keyboard.press("Home")
    assert fig.locator(".demo-output .demo-future").count() > 0
    page.page.keyboard.press("End")
    assert fig.locator(".demo-output .demo-future").count() == 0

    node, x, y = _node_point_on_time_axis(fig)
    page.page.mouse.click(x, y)
    faults = fig.locator("input[name=faults]").input_value()
    assert re.search(rf"crash {node}@\d+; restart {node}@\d+", faults), faults
    assert page.finish(fig) == "done"
    assert "crash" in page.page.evaluate("decodeURIComponent(location.hash)")

    # A partition: shift-click a node to pick it, put the slider at 0, add the partition.
    fig.locator("input[name=faults]").fill("")
    scrubber.focus()  # leaving the field reruns the demo without faults
    assert page.finish(fig) == "done"
    page.page.keyboard.press("Home")
    node, x, y = _node_point_on_time_axis(fig)
    page.page.keyboard.down("Shift")
    page.page.mouse.click(x, y)
    page.page.keyboard.up("Shift")
    fig.locator(".demo-add-partition").click()
    faults = fig.locator("input[name=faults]").input_value()
    assert f"partition {node}@0-" in faults, fig.locator(".demo-error").text_content()
    assert page.finish(fig) == "done"


def _node_point_on_time_axis(fig) -> tuple[str, float, float]:
    """Give (node, client x, client y) of a node's element that lies on the time axis."""
    found = fig.locator(".demo-output > svg").evaluate("""svg => {
        svg.scrollIntoView({ block: 'center' });
        const x0 = +svg.dataset.timeX0, x1 = +svg.dataset.timeX1;
        const toScreen = svg.getScreenCTM();
        for (const el of svg.querySelectorAll('[data-node]')) {
          const box = el.getBBox();
          const cx = box.x + box.width / 2, cy = box.y + box.height / 2;
          if (cx <= x0 + (x1 - x0) * 0.1 || cx >= x1 - (x1 - x0) * 0.1) continue;
          const p = new DOMPoint(cx, cy).matrixTransform(toScreen);
          const hit = document.elementFromPoint(p.x, p.y);
          const owner = hit && hit.closest('[data-node]');
          if (owner && owner.getAttribute('data-node') === el.getAttribute('data-node')) {
            return [el.getAttribute('data-node'), p.x, p.y];
          }
        }
        return null;
    }""")
    assert found, "no element of a node lies on the diagram's time axis"
    return found[0], found[1], found[2]


def test_controls_work_by_keyboard_alone(page: Page) -> None:
    page.open()
    fig = page.fig(0)
    seed_field = fig.locator("input[name=seed]")
    seed_field.focus()
    page.page.keyboard.press("Control+A")
    page.page.keyboard.type(str(defaults_of(fig)["seed"] + 7))
    for _ in range(30):
        page.page.keyboard.press("Tab")
        if page.page.evaluate("document.activeElement.dataset.action") == "run":
            break
    else:
        pytest.fail("Tab never reached the Run button")
    page.page.keyboard.press("Enter")
    assert page.finish(fig) == "done"
    assert f"seed={defaults_of(fig)['seed'] + 7}" in page.page.evaluate("location.hash")


def test_stop_interrupts_python_in_place_where_the_page_is_isolated(page: Page) -> None:
    page.base = page.base.replace("/blog/", "/isolated/")
    page.open(demo="partition")
    assert page.page.evaluate("crossOriginIsolated") is True
    fig = page.page.locator("figure.demo[data-demo=partition]").first
    run, stop, reset = (fig.locator(f"[data-action={a}]") for a in ("run", "stop", "reset"))
    run.click()
    assert page.finish(fig) == "done"
    for name, value in heaviest_params(page.output, "partition").items():
        fig.locator(f"[name={name}]").fill(value)
    run.click()
    page.wait_state(fig, "running", timeout=5_000)
    page.page.wait_for_timeout(300)
    stop.click()
    assert page.state(fig) == "stopped" and run.is_enabled()
    reset.click()
    run.click()
    assert page.finish(fig) == "done"
    # KeyboardInterrupt stopped the run; the same warm worker answers, no second boot.
    assert "Python started in" not in fig.locator(STATUS).text_content()
