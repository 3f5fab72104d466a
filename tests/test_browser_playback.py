"""Playback in the browser against the real built site: stepping by keyboard, messages in
flight, prose links to a moment, and at= in share links.

The expected state at each moment comes from the prerendered SVG itself, read here with
xml.etree by the SVG contract (an element is shown while data-t <= t < data-until), so the
player is checked against the drawing, not against itself. A prose link must move a figure
without Python: those tests also check that no worker, runtime or manifest was fetched.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_util import find_article_with_demos, serve

pytestmark = pytest.mark.browser

PORT = 8109
SAY = re.compile(r"^(\d+\.\d\d) s: (.+)$")
PYTHON_FILES = ("worker.js", "pyodide", "manifest-", ".whl")

# Give {node: [role, ...]} of the data-role marks a reader can see in `svg` right now.
VISIBLE_ROLES = """svg => {
    const shown = (el) => {
      for (let e = el; e && e !== svg.parentNode; e = e.parentElement) {
        if (getComputedStyle(e).display === 'none') return false;
      }
      return getComputedStyle(el).visibility !== 'hidden';
    };
    const roles = {};
    for (const el of svg.querySelectorAll('[data-role]')) {
      if (!shown(el)) continue;
      const node = el.closest('[data-node]').getAttribute('data-node');
      (roles[node] ||= []).push(el.getAttribute('data-role'));
    }
    return roles;
}"""


@pytest.fixture(scope="module")
def site(built_site: Path) -> Iterator[tuple[str, Path]]:
    with serve(built_site, PORT) as base:
        yield base, built_site


class Tab:
    """A fresh page in its own context, recording requests and console errors."""

    def __init__(self, browser, site: tuple[str, Path], width: int = 1280) -> None:
        self.base, self.output = site
        self.context = browser.new_context(viewport={"width": width, "height": 900})
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.problems: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("console", lambda m: m.type == "error" and self.problems.append(m.text))
        self.page.on("pageerror", lambda e: self.problems.append(f"uncaught: {e}"))

    def open(self, path: str, fragment: str = "") -> None:
        self.page.goto(self.base + path + fragment)

    def enhance(self) -> None:
        self.page.dispatch_event("figure.demo", "pointerenter")
        self.page.wait_for_function("document.documentElement.classList.contains('demos-enhanced')")

    def python_fetched(self) -> list[str]:
        return [url for url in self.requests if any(part in url for part in PYTHON_FILES)]


@pytest.fixture
def tab(browser, site) -> Iterator[Tab]:
    opened = Tab(browser, site)
    yield opened
    problems = list(opened.problems)
    opened.context.close()
    assert problems == [], f"console errors: {problems}"


def raft_page(output: Path) -> str:
    return find_article_with_demos(output, demo="raft")


def drawn_svg(output: Path, path: str, fig_id: str) -> ET.Element:
    """Give the prerendered SVG of figure `fig_id` on the built page `path`: the whole
    figure the player fetches when the page inlines only its last moment."""
    text = (output / path / "index.html").read_text(encoding="utf-8")
    start = text.index(f'id="{fig_id}"')
    tag = text[start : text.index(">", start)]
    whole = re.search(r'data-full-svg="([^"]+)"', tag)
    if whole:
        return ET.fromstring((output / "demos" / whole[1]).read_text(encoding="utf-8"))
    svg = text[text.index("<svg", start) : text.index("</svg>", start) + len("</svg>")]
    return ET.fromstring(svg)


def wait_whole(fig) -> None:
    """Wait until figure `fig` has its whole drawing at hand (fetched on a reader's intent;
    swapped in at the first move of the cursor)."""
    if fig.get_attribute("data-full-svg"):
        fig.locator(".demo-tools").dispatch_event("pointermove")
        fig.page.wait_for_function("f => f.dataset.whole", arg=fig.element_handle())


def attr(el: ET.Element, name: str) -> float | None:
    value = el.get(name)
    return None if value is None else float(value)


def roles_at(svg: ET.Element, t: float) -> dict[str, list[str]]:
    """Give {node: [role, ...]} the contract says is visible at `t`, from the drawing."""
    roles: dict[str, list[str]] = {}

    def walk(el: ET.Element, visible: bool, node: str | None) -> None:
        since, until = attr(el, "data-t"), attr(el, "data-until")
        if since is not None:
            visible = visible and since <= t < (math.inf if until is None else until)
        node = el.get("data-node", node)
        if visible and el.get("data-role") is not None:
            roles.setdefault(node, []).append(el.get("data-role"))
        for child in el:
            walk(child, visible, node)

    walk(svg, True, None)
    return roles


def moments(svg: ET.Element) -> list[float]:
    """Give the sorted distinct times of the drawing's marks that have something to say."""
    return sorted(
        {
            float(el.get("data-t"))
            for el in svg.iter()
            if el.get("data-t") is not None
            and (el.get("data-say") is not None or el.get("data-check") is not None)
        }
    )


def test_roles_at_reads_the_contract() -> None:
    # The oracle itself: a stretch that ends is shown before its end only; one that does not
    # end is shown from its start on; a role outside any stretch is always shown.
    svg = ET.fromstring(
        '<svg><g data-t="0" data-until="10" data-node="n1"><rect data-role="follower"/></g>'
        '<g data-t="10" data-node="n1"><rect data-role="leader"/></g>'
        '<g data-node="n2"><rect data-role="down"/></g></svg>'
    )
    assert roles_at(svg, 0) == {"n1": ["follower"], "n2": ["down"]}
    assert roles_at(svg, 9.999) == {"n1": ["follower"], "n2": ["down"]}
    assert roles_at(svg, 10) == {"n1": ["leader"], "n2": ["down"]}


def test_keyboard_steps_through_the_moments_and_says_them(tab: Tab) -> None:
    path = raft_page(tab.output)
    tab.open(path)
    tab.enhance()
    fig = tab.page.locator("figure.demo[data-demo=raft]").first
    fig_id = fig.get_attribute("id")
    drawn = drawn_svg(tab.output, path, fig_id)
    wait_whole(fig)
    nodes = sorted(roles_at(drawn, 0))
    times = [t for t in moments(drawn) if t > 0]  # Home stands on a moment at 0 already
    assert len(times) > 8, "the raft figure should have moments to step through"
    svg = fig.locator(".demo-output > svg")
    say = fig.locator(".demo-say")
    summary_top = fig.locator(".demo-summary").evaluate(
        "el => el.getBoundingClientRect().top + scrollY"
    )
    # The drawing the player ends up with: the whole figure (swapped in at the first move).
    classes_as_drawn = [el.get("class") for el in drawn.iter() if el.get("data-t") is not None]

    fig.locator(".demo-scrubber").focus()
    tab.page.keyboard.press("Home")
    assert say.text_content().startswith("0.00 s")
    assert svg.evaluate(VISIBLE_ROLES) == roles_at(drawn, 0)

    heard = []
    for step, t in enumerate(times[:8], start=1):
        tab.page.keyboard.press("ArrowRight")
        text = say.text_content()
        m = SAY.match(text)
        assert m, f"step {step}: {text!r}"
        assert float(m[1]) == pytest.approx(t / 1000, abs=0.006)
        assert re.search(r"\bn\d+\b", m[2]), f"the sentence names no node: {text!r}"
        shown = svg.evaluate(VISIBLE_ROLES)
        assert shown == roles_at(drawn, t), f"at {t} ms"
        assert sorted(shown) == nodes and all(len(r) == 1 for r in shown.values())
        heard.append(text)
    assert say.get_attribute("aria-live") == "polite"
    assert len(set(heard)) == len(heard), "each step should say something new"

    tab.page.keyboard.press("ArrowLeft")
    assert say.text_content() == heard[-2]
    assert svg.evaluate(VISIBLE_ROLES) == roles_at(drawn, times[6])
    # The cursor's time went into the link, rounded up so the link lands on the moment.
    assert f"{fig_id}:at={math.ceil(times[6])}" in tab.page.evaluate("location.hash")
    # However long the sentences, the text below the bar never moved.
    assert (
        fig.locator(".demo-summary").evaluate("el => el.getBoundingClientRect().top + scrollY")
        == summary_top
    )

    tab.page.keyboard.press("End")
    assert "end of the run" in say.text_content()
    # At the end the diagram is exactly as drawn: the player's classes are all gone.
    assert (
        svg.evaluate(
            "s => [...s.querySelectorAll('[data-t]')].map((el) => el.getAttribute('class'))"
        )
        == classes_as_drawn
    )
    assert fig_id not in tab.page.evaluate("location.hash")


def test_a_message_in_flight_travels_along_its_arrow(tab: Tab) -> None:
    path = raft_page(tab.output)
    tab.open(path)
    tab.enhance()
    fig = tab.page.locator("figure.demo[data-demo=raft]").first
    fig_id = fig.get_attribute("id")
    drawn = drawn_svg(tab.output, path, fig_id)
    flights = [
        (attr(el, "data-sent"), attr(el, "data-recv"))
        for el in drawn.iter()
        if el.get("data-recv") is not None
    ]
    sent, recv = max(flights, key=lambda f: f[1] - f[0])
    svg = fig.locator(".demo-output > svg")
    where = """(svg, [sent, recv]) => {
        const arrow = [...svg.querySelectorAll('[data-sent]')]
          .find((el) => Number(el.dataset.sent) === sent && Number(el.dataset.recv) === recv);
        // The player puts the travelled shaft and the dot right after the arrow.
        const line = arrow.nextElementSibling;
        const ours = line && line.classList.contains('demo-flight');
        const dot = ours ? line.nextElementSibling : null;
        const m = /^M(-?[\\d.]+) (-?[\\d.]+)L(-?[\\d.]+) (-?[\\d.]+)/.exec(arrow.getAttribute('d'));
        return { flying: arrow.classList.contains('demo-flying'),
                 dot: dot && [Number(dot.getAttribute('cx')), Number(dot.getAttribute('cy'))],
                 shaft: m.slice(1).map(Number),
                 line: ours ? 1 : 0 };
    }"""
    for fraction in (0.25, 0.75):
        t = sent + (recv - sent) * fraction
        tab.page.evaluate(f"location.hash = '{fig_id}:at={t:.3f}'")
        tab.page.wait_for_function(
            "([id, t]) => document.querySelector(`#${id} .demo-time`).textContent"
            " === `${Math.round(t)} ms`",
            arg=[fig_id, t],
        )
        got = svg.evaluate(where, [sent, recv])
        x0, y0, x1, y1 = got["shaft"]
        assert got["flying"] and got["line"] == 1
        assert got["dot"][0] == pytest.approx(x0 + (x1 - x0) * fraction, abs=0.05)
        assert got["dot"][1] == pytest.approx(y0 + (y1 - y0) * fraction, abs=0.05)
    tab.page.evaluate(f"location.hash = '{fig_id}:at={math.ceil(recv)}'")
    tab.page.wait_for_function(
        "([id, t]) => document.querySelector(`#${id} .demo-time`).textContent === `${t} ms`",
        arg=[fig_id, math.ceil(recv)],
    )
    got = svg.evaluate(where, [sent, recv])
    assert not got["flying"] and got["dot"] is None and got["line"] == 0
    assert tab.python_fetched() == []


def prose_link(tab: Tab) -> tuple[str, str, float]:
    """Give (href, figure id, ms) of the first prose link to a moment of a figure here."""
    href = tab.page.eval_on_selector_all(
        "a[href^='#demo-'][href*=':at=']", "links => links.map((a) => a.getAttribute('href'))[0]"
    )
    assert href, "the article has no prose link to a moment"
    m = re.fullmatch(r"#(demo-[a-z0-9-]+):at=(\d+(?:\.\d+)?)", href)
    assert m, href
    return href, m[1], float(m[2])


def test_a_prose_link_moves_its_figure_without_python(tab: Tab) -> None:
    path = raft_page(tab.output)
    tab.open(path)
    href, fig_id, t = prose_link(tab)
    fig = tab.page.locator(f"#{fig_id}")
    drawn = drawn_svg(tab.output, path, fig_id)
    tab.page.locator(f"a[href='{href}']").first.click()
    tab.page.wait_for_function(
        "([id, t]) => document.querySelector(`#${id} .demo-time`)?.textContent"
        " === `${Math.round(t)} ms`",
        arg=[fig_id, t],
    )
    # Moving away from the end fetches the whole figure (a static file, not Python).
    tab.page.wait_for_function(
        "f => !f.dataset.fullSvg || f.dataset.whole === 'loaded'", arg=fig.element_handle()
    )
    say = SAY.match(fig.locator(".demo-say").text_content())
    assert say and float(say[1]) == pytest.approx(t / 1000, abs=0.011), say
    assert fig.locator(".demo-say").get_attribute("aria-live") == "polite"
    assert fig.locator(".demo-output > svg").evaluate(VISIBLE_ROLES) == roles_at(drawn, t)
    top = fig.evaluate("el => el.getBoundingClientRect().top")
    # Swapping in the whole figure may move the scroll position by a fraction of a pixel.
    assert -1 < top < 900, "the linked figure was not scrolled into view"
    assert tab.page.locator(f"#{fig_id} .demo-status").get_attribute("data-state") == "idle"
    tab.page.wait_for_timeout(300)
    assert tab.python_fetched() == []

    # Another figure's link, while the runner is there: only that figure moves.
    links = tab.page.eval_on_selector_all(
        "a[href*=':at=']", "links => [...new Set(links.map((a) => a.getAttribute('href')))]"
    )
    other = next((h for h in links if not h.startswith(f"#{fig_id}:")), None)
    if other:
        other_id = other[1 : other.index(":")]
        other_t = float(other.split("at=")[1])
        tab.page.locator(f"a[href='{other}']").first.click()
        tab.page.wait_for_function(
            "([id, t]) => document.querySelector(`#${id} .demo-time`).textContent"
            " === `${Math.round(t)} ms`",
            arg=[other_id, other_t],
        )
        assert fig.locator(".demo-time").text_content() == f"{round(t)} ms"
    assert tab.python_fetched() == []


def test_a_link_opened_with_at_restores_the_moment(tab: Tab, browser, site) -> None:
    path = raft_page(tab.output)
    tab.open(path)
    tab.enhance()
    fig = tab.page.locator("figure.demo[data-demo=raft]").last
    fig_id = fig.get_attribute("id")
    wait_whole(fig)
    fig.locator(".demo-scrubber").focus()
    tab.page.keyboard.press("Home")
    for _ in range(5):
        tab.page.keyboard.press("ArrowRight")
    said = fig.locator(".demo-say").text_content()
    url = tab.page.evaluate("location.href")
    assert re.search(rf"#{fig_id}:at=\d+$", url), url

    other = Tab(browser, site)
    try:
        other.page.goto(url)
        other.page.wait_for_function(
            "id => document.querySelector(`#${id} .demo-say`)?.getAttribute('aria-live')"
            " === 'polite'",
            arg=fig_id,
        )
        restored = other.page.locator(f"#{fig_id}")
        other.page.wait_for_function(
            "f => !f.dataset.fullSvg || f.dataset.whole === 'loaded'",
            arg=restored.element_handle(),
        )
        assert restored.locator(".demo-say").text_content() == said
        roles = restored.locator(".demo-output > svg").evaluate(VISIBLE_ROLES)
        assert roles == fig.locator(".demo-output > svg").evaluate(VISIBLE_ROLES)
        other.page.wait_for_timeout(300)
        assert other.python_fetched() == [] and other.problems == []
    finally:
        other.context.close()


def test_a_bad_at_is_refused_and_the_fence_at_sets_the_start(tab: Tab) -> None:
    path = raft_page(tab.output)
    tab.open(path)
    fig = tab.page.locator("figure.demo[data-demo=raft]").first
    fig_id = fig.get_attribute("id")
    # The fence's at: becomes data-at; the player starts there (set here before it arrives).
    fig.evaluate("el => { el.dataset.at = '2500'; }")
    tab.enhance()
    assert fig.locator(".demo-time").text_content() == "2500 ms"
    # Where the figure starts is no news for a link; any other moment is.
    assert fig_id not in tab.page.evaluate("location.hash")
    tab.page.evaluate(f"location.hash = '{fig_id}:at=0'")
    tab.page.wait_for_function(
        "id => document.querySelector(`#${id} .demo-time`).textContent === '0 ms'", arg=fig_id
    )
    assert tab.page.evaluate("location.hash") == f"#{fig_id}:at=0"
    tab.page.evaluate(f"location.hash = '{fig_id}:at=soon'")
    tab.page.wait_for_function(
        "id => document.querySelector(`#${id} .demo-status`).dataset.state === 'error'", arg=fig_id
    )
    assert "at=" in fig.locator(".demo-error").text_content()
    assert tab.python_fetched() == []


def test_play_moves_the_cursor_and_messages_without_announcing(tab: Tab) -> None:
    path = raft_page(tab.output)
    tab.open(path)
    tab.enhance()
    fig = tab.page.locator("figure.demo[data-demo=raft]").first
    fig_id = fig.get_attribute("id")
    tab.page.evaluate(f"location.hash = '{fig_id}:at=150'")
    tab.page.wait_for_function(
        "id => document.querySelector(`#${id} .demo-time`).textContent === '150 ms'", arg=fig_id
    )
    fig.locator(".demo-speed").select_option("0.25")
    # A click from script: no pointer or focus on the controls, so Python stays unstarted.
    fig.locator(".demo-play").evaluate("button => button.click()")
    assert fig.locator(".demo-play").get_attribute("aria-pressed") == "true"
    assert fig.locator(".demo-say").get_attribute("aria-live") == "off"
    # The first election's votes are on their way a little after 170 ms.
    tab.page.wait_for_function(
        "id => document.querySelector(`#${id} .demo-dot`) !== null", arg=fig_id, timeout=10_000
    )
    fig.locator(".demo-play").evaluate("button => button.click()")
    assert fig.locator(".demo-play").get_attribute("aria-pressed") == "false"
    shown = int(fig.locator(".demo-time").text_content().split()[0])
    assert shown > 150
    # Pausing puts the moment into the link.
    assert re.search(rf"{fig_id}:at=\d+", tab.page.evaluate("location.hash"))
    assert tab.python_fetched() == []


def test_at_in_links_is_read_strictly(tab: Tab) -> None:
    tab.open(raft_page(tab.output))
    tab.enhance()
    out = tab.page.evaluate("""async () => {
        const { takeTime, withTime } =
          await import(new URL('share.js', document.querySelector('script[data-manifest]').src));
        const take = (pairs) => { try { return takeTime(pairs); } catch { return 'refused'; } };
        return {
          none: take([['seed', '3']]),
          ok: take([['seed', '3'], ['at', '2500.25']]),
          alone: take([['at', '0']]),
          refused: [[['at', '-1']], [['at', '1e3']], [['at', '']], [['at', 'soon']],
                    [['at', '1'], ['at', '2']], [['at', '2.1234']]].map(take),
          added: withTime([['seed', '3']], 2500), kept: withTime([['seed', '3']], null),
        };
    }""")
    assert out["none"] == [[["seed", "3"]], None]
    assert out["ok"] == [[["seed", "3"]], 2500.25]
    assert out["alone"] == [[], 0]
    assert out["refused"] == ["refused"] * 6
    assert out["added"] == [["seed", "3"], ["at", "2500"]]
    assert out["kept"] == [["seed", "3"]]
