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
    find_article_with_demos,
    heaviest_params,
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
    with serve(
        built_site,
        PORT,
        extra={"isolated": built_site},
        headers=ISOLATION_HEADERS,
        headers_under="/isolated/",
    ) as base:
        yield base, built_site


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
        self.page.on(
            "response", lambda r: r.status >= 400 and self.problems.append(f"{r.status} {r.url}")
        )

    def open(self, fragment: str = "", demo: str | None = None, enhance: bool = True) -> None:
        """Open the article; with `enhance`, point at a figure so the runner comes in."""
        if demo:
            self.path = find_article_with_demos(self.output, demo=demo)
        self.page.goto(self.base + self.path + fragment)
        if enhance:
            self.enhance()

    def enhance(self) -> None:
        """Point at the first figure, as a reader would, and wait for the runner."""
        self.page.dispatch_event("figure.demo", "pointerenter")
        self.page.wait_for_function("document.documentElement.classList.contains('demos-enhanced')")

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
            arg=[fig_id, list(states)],
            timeout=timeout,
        )
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
        arg=[fig.get_attribute("id"), seed + 1],
        timeout=10_000,
    )
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
    # The run stopped at a slice; the same warm worker answered (no second boot).
    assert "Python started in" not in status.text_content()

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
    assert "Python started in" not in status.text_content()


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


# The live diagram without what the runner adds to it (playback cursor, node tab stops).
AS_DRAWN = """svg => {
    const copy = svg.cloneNode(true);
    copy.querySelectorAll('.demo-cursor').forEach((el) => el.remove());
    for (const el of copy.querySelectorAll('[tabindex]')) {
      for (const name of ['tabindex', 'role', 'aria-label', 'aria-describedby']) {
        el.removeAttribute(name);
      }
    }
    return copy.outerHTML;
}"""


def _host_svg_in_browser(page: Page, demo: str, params: dict) -> str:
    """Give CPython's SVG for `params`, parsed and serialised by the page like the runner's."""
    import demos

    svg = demos.run(demo, params).svg
    return page.page.evaluate(
        # Imported into the page as the runner does, so both are serialised as HTML is.
        "text => document.importNode("
        "new DOMParser().parseFromString(text, 'image/svg+xml').documentElement, true).outerHTML",
        svg,
    )


def test_share_link_restores_the_same_run(page: Page) -> None:
    page.open()
    fig = page.fig(1)
    fig_id, demo = fig.get_attribute("id"), fig.get_attribute("data-demo")
    params = {**defaults_of(fig), "seed": defaults_of(fig)["seed"] + 5}
    page.open(f"#{fig_id}:seed={params['seed']}")
    assert page.finish(fig) == "done"
    assert fig.locator("input[name=seed]").input_value() == str(params["seed"])
    # Same params, same picture: Pyodide draws byte for byte what CPython draws here.
    live = fig.locator(".demo-output > svg").evaluate(AS_DRAWN)
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
        const entry = document.querySelector('script[data-manifest]').src;
        const { parseSVG } = await import(new URL('sanitize.js', entry));
        const ns = 'xmlns="http://www.w3.org/2000/svg"';
        const bad = [
          `<svg ${ns}><script>alert(1)</script></svg>`,
          `<svg ${ns}><foreignObject><p>x</p></foreignObject></svg>`,
          `<svg ${ns} onload="alert(1)"></svg>`,
          `<svg ${ns}><a href="javascript:alert(1)"><text>x</text></a></svg>`,
          `<svg ${ns}><set attributeName="href" to="javascript:alert(1)"/></svg>`,
          `<svg ${ns}><rect`,
          `<svg ${ns} style="background-image:image-set('https://example.org/x.png' 1x)"/>`,
          `<svg ${ns}><style>svg { background: u\\\\72l(https://example.org/x.png) }</style></svg>`,
        ];
        const out = bad.map((text) => { try { parseSVG(text); return 'accepted'; }
                                         catch (e) { return e.name; } });
        out.push(parseSVG(`<svg ${ns}><rect data-t="5" class="dm-bg"/></svg>`).localName);
        return out;
    }""")
    assert refusals == ["Refused"] * 8 + ["svg"]


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


def _focused(page: Page) -> dict:
    return page.page.evaluate("""() => {
        const el = document.activeElement;
        const owner = el && el.closest('[data-node]');
        return { node: owner ? owner.getAttribute('data-node') : null,
                 label: el.getAttribute('aria-label'), fresh: !el.closest('svg')?.__old };
    }""")


def test_nodes_work_by_keyboard(page: Page) -> None:
    page.open(enhance=False)
    fig = page.fig(0)
    assert fig.locator(".demo-output [tabindex]").count() == 0  # no tab stops without the runner
    page.enhance()
    targets = fig.locator(".demo-output [tabindex='0'][role=button]")
    names = targets.evaluate_all(
        "els => els.map((el) => el.closest('[data-node]').getAttribute('data-node'))"
    )
    every = fig.locator(".demo-output [data-node]").evaluate_all(
        "els => [...new Set(els.map((el) => el.getAttribute('data-node')))]"
    )
    assert sorted(names) == sorted(every) and len(names) == len(set(names))  # one stop per node

    faults = fig.locator("input[name=faults]")
    faults.evaluate("field => { field.value = ''; }")  # start from no faults, without a run
    targets.first.focus()
    page.page.keyboard.press("Tab")
    node = _focused(page)["node"]
    assert node == names[1]
    # At the end of the run no moment is chosen yet: Enter says how, and adds nothing.
    assert "pick a moment" in _focused(page)["label"]
    page.page.keyboard.press("Enter")
    assert faults.input_value() == ""
    assert "moment" in fig.locator(".demo-error").text_content()

    duration = float(fig.locator(".demo-output > svg").get_attribute("data-duration"))
    for _ in range(40):  # each ← is a hundredth of the run
        page.page.keyboard.press("ArrowLeft")
    t = round(duration * 0.6 / 10) * 10
    assert _focused(page)["label"] == f"Crash {node} at {t} ms"
    assert abs(float(fig.locator(".demo-scrubber").input_value()) - t) <= duration / 100
    fig.locator(".demo-output > svg").evaluate("svg => { svg.__old = true; }")
    page.page.keyboard.press("Enter")
    assert faults.input_value() == f"crash {node}@{t}; restart {node}@{min(t + 2000, duration):g}"
    assert page.finish(fig) == "done"
    # The new diagram keeps the reader's place: the same node has focus, at the same moment.
    assert _focused(page) == {"node": node, "label": f"Crash {node} at {t} ms", "fresh": True}

    # Shift+Enter picks the node; Add partition is one Tab stop further on.
    page.page.keyboard.press("Shift+Enter")
    assert "picked" in _focused(page)["label"]
    add = fig.locator(".demo-add-partition")
    assert f"Add partition {node} | rest" == add.text_content()
    add.focus()
    page.page.keyboard.press("Enter")
    assert f"partition {node}@{t}-" in faults.input_value()
    assert page.finish(fig) == "done"
    # A second partition over the first is refused here, before Python would refuse it.
    before = faults.input_value()
    targets.first.focus()
    page.page.keyboard.press("Shift+Enter")
    add.focus()
    page.page.keyboard.press("Enter")
    assert faults.input_value() == before
    assert "already runs" in fig.locator(".demo-error").text_content()


# Every layout shift the page has had, kept from page load on.
WATCH_SHIFTS = """() => {
    window.__shifts = [];
    new PerformanceObserver((list) => window.__shifts.push(...list.getEntries()))
        .observe({ type: 'layout-shift', buffered: true });
}"""
SHIFT_SINCE = """t => window.__shifts.filter((e) => e.startTime >= t)
    .reduce((sum, e) => sum + e.value, 0)"""
TOPS = """() => [...document.querySelectorAll('figure.demo > :not(.demo-output)')]
    .map((el) => [el.className, el.getBoundingClientRect().top + scrollY])
    .filter(([name]) => !['demo-tools', 'demo-error', 'demo-progress'].includes(name))"""


@pytest.mark.parametrize("width", [1280, 390])
def test_the_runner_arrives_without_moving_the_text(browser, site, width: int) -> None:
    base, output = site
    context = browser.new_context(viewport={"width": width, "height": 800})
    try:
        tab = context.new_page()
        tab.goto(base + find_article_with_demos(output, min_figures=2))
        tab.evaluate(WATCH_SHIFTS)
        # Scroll anchoring could hide a shift by scrolling along with it: measure without it.
        tab.add_style_tag(content="html, body { overflow-anchor: none; }")
        tab.evaluate("document.querySelector('figure.demo .demo-output').scrollIntoView()")
        tab.wait_for_timeout(200)
        tops = tab.evaluate(TOPS)
        since = tab.evaluate("performance.now()")
        # A pointer passing over brings the runner: not an input that excuses a shift.
        tab.dispatch_event("figure.demo", "pointerenter")
        tab.wait_for_function("document.documentElement.classList.contains('demos-enhanced')")
        tab.wait_for_timeout(300)
        assert tab.locator("figure.demo .demo-tools").first.is_visible()
        # Rems make fractional pixels: a hundredth of a pixel is rounding, not a move.
        after = tab.evaluate(TOPS)
        assert [name for name, _ in after] == [name for name, _ in tops]
        assert all(abs(a[1] - b[1]) < 0.5 for a, b in zip(after, tops, strict=True)), after
        assert tab.evaluate(SHIFT_SINCE, since) == 0
        # The measure can see a shift: push the figure down and it reports one.
        since = tab.evaluate("performance.now()")
        tab.evaluate(
            "document.querySelector('figure.demo').before(Object.assign("
            "document.createElement('div'), { style: 'height: 50px' }))"
        )
        tab.wait_for_timeout(300)
        assert tab.evaluate(SHIFT_SINCE, since) > 0
    finally:
        context.close()


def test_a_demo_missing_from_the_manifest_says_so(page: Page) -> None:
    page.open(enhance=False)
    page.page.evaluate("document.querySelector('figure.demo').dataset.demo = 'no_such_demo'")
    page.enhance()
    fig = page.fig(0)
    before = page.svg(fig)
    fig.locator("[data-action=run]").click()
    assert page.wait_state(fig, "error", "done", timeout=10_000) == "error"
    assert "not available" in fig.locator(STATUS).text_content()
    assert '"no_such_demo"' in fig.locator(".demo-error").text_content()
    assert page.svg(fig) == before
    assert fig.locator("[data-action=stop]").is_disabled()


def test_link_fragments_are_read_strictly(page: Page) -> None:
    page.open()
    out = page.page.evaluate("""async () => {
        const { readFragment, parsePairs, writeFragment } =
          await import(new URL('share.js', document.querySelector('script[data-manifest]').src));
        const read = (hash) => Object.fromEntries(readFragment(hash));
        const pairs = (query) => { try { return parsePairs(query); } catch { return 'refused'; } };
        writeFragment('demo-raft-9', [['faults', 'crash n1@5; restart n1@9&x=1'], ['seed', 2]]);
        const written = location.hash;
        const back = parsePairs(readFragment(written).get('demo-raft-9'));
        writeFragment('demo-raft-9', []);
        return {
          empty: read(''), heading: read('#some-heading'), bare: read('#demo-raft-1'),
          blank: read('#demo-raft-1:'), upper: read('#Demo-Raft-1:seed=1'),
          mixed: read('#intro;demo-raft-1:seed=3;;demo-vector_clocks-2:n=4'),
          ok: pairs('seed=3&&faults=crash%20n1%401000&'),
          noValue: pairs('seed'), noName: pairs('=3'), badEscape: pairs('seed=%E0%A4%A'),
          upperName: pairs('Seed=1'),
          written, back, after: location.hash,
        };
    }""")
    assert out["empty"] == out["heading"] == out["bare"] == out["upper"] == {}
    assert out["blank"] == {"demo-raft-1": ""}
    assert out["mixed"] == {"demo-raft-1": "seed=3", "demo-vector_clocks-2": "n=4"}
    assert out["ok"] == [["seed", "3"], ["faults", "crash n1@1000"]]
    assert {out[k] for k in ("noValue", "noName", "badEscape", "upperName")} == {"refused"}
    assert ";" not in out["written"].split(":", 1)[1]  # the value's ";" and "&" stay escaped
    assert out["back"] == [["faults", "crash n1@5; restart n1@9&x=1"], ["seed", "2"]]
    assert out["after"] == ""


def test_reset_drops_only_its_own_entry_from_the_link(page: Page) -> None:
    page.open()
    first, second = page.fig(0), page.fig(1)
    ids = [first.get_attribute("id"), second.get_attribute("id")]
    seeds = [defaults_of(first)["seed"] + 4, defaults_of(second)["seed"] + 4]
    page.open(f"#{ids[0]}:seed={seeds[0]};{ids[1]}:seed={seeds[1]}")
    assert page.finish(first) == "done" and page.finish(second) == "done"
    first.locator("[data-action=reset]").click()
    assert page.page.evaluate("location.hash") == f"#{ids[1]}:seed={seeds[1]}"
    second.locator("[data-action=reset]").click()
    assert "#" not in page.page.evaluate("location.href")
    assert second.locator("input[name=seed]").input_value() == str(defaults_of(second)["seed"])


def test_reset_while_a_link_waits_for_the_manifest_wins(page: Page) -> None:
    held = []
    page.page.route("**/manifest-*.json", lambda route: held.append(route))  # answered later
    page.open()
    fig = page.fig(0)
    fig_id, seed = fig.get_attribute("id"), defaults_of(fig)["seed"]
    page.page.evaluate(f"location.hash = '{fig_id}:seed={seed + 6}'")
    fig.locator("[data-action=reset]").click()
    page.page.wait_for_timeout(100)
    assert held, "the link did not ask for the manifest"
    for route in held:
        route.continue_()
    page.page.wait_for_timeout(500)
    assert page.state(fig) == "idle"
    assert fig.locator("input[name=seed]").input_value() == str(seed)
    assert fig_id not in page.page.evaluate("location.hash")


def test_an_overlong_schedule_is_refused_in_plain_words(page: Page) -> None:
    page.open()
    fig = page.fig(0)
    schedule = "; ".join(f"crash n1@{t}; restart n1@{t + 5}" for t in range(0, 2000, 10))
    assert len(schedule) > 2000
    fig.locator("input[name=faults]").fill(schedule)
    fig.locator("[data-action=run]").click()
    assert page.wait_state(fig, "error", "done", timeout=10_000) == "error"
    message = fig.locator(".demo-error").text_content()
    assert "too long" in message and "at most 2000" in message
