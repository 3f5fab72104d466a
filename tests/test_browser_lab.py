"""The lab in the browser: a figure's Code view, edited protocols, the counterexample search,
and links that carry code.

Against the real built site under /blog/, with Debian's chromium through Playwright. The
search test breaks Raft's vote rule with its preset, finds and shrinks a counterexample in
the worker, compares it with the CLI's for the same preset, seed and run count, and reopens
the shared link in a fresh context, where nothing may run until the reader asks.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_util import find_article_with_demos, serve

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
PORT = 8127
BOOT_MS = 60_000
SEARCH_MS = 120_000
PRESET = "vote-without-log-check"
CHECK = "State machine safety"


@pytest.fixture(scope="module")
def site(built_site: Path) -> Iterator[tuple[str, Path]]:
    with serve(built_site, PORT) as base:
        yield base, built_site


class Tab:
    """A fresh context on the Raft article, its console errors and requests recorded."""

    def __init__(self, browser, site: tuple[str, Path]) -> None:
        self.base, self.output = site
        self.path = find_article_with_demos(self.output, demo="raft")
        self.context = browser.new_context()
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.problems.append(m.text))
        self.page.on("pageerror", lambda e: self.problems.append(f"uncaught: {e}"))
        self.page.on("request", lambda r: self.requests.append(r.url))
        html = (self.output / self.path / "index.html").read_text(encoding="utf-8")
        start = html.index('data-demo="raft"')
        self.fig = "#" + html[html.rindex('id="', 0, start) + 4 :].split('"', 1)[0]

    def open(self, fragment: str = "") -> None:
        self.page.goto(self.base + self.path + fragment)

    def sel(self, inner: str) -> str:
        return f"{self.fig} {inner}"

    def open_code(self) -> None:
        self.page.hover(self.fig)
        self.page.wait_for_selector(self.sel("[data-action=code]"), timeout=20_000)
        self.page.click(self.sel("[data-action=code]"))
        self.page.wait_for_selector(
            self.sel(".demo-lab[data-ready] .lab-editor .cm-content"), timeout=20_000
        )

    def status(self) -> str:
        return self.page.get_attribute(self.sel(".demo-status"), "data-state") or ""

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def tab(browser, site) -> Iterator[Tab]:
    opened = Tab(browser, site)
    yield opened
    opened.close()


def cli_counterexample(base: dict) -> dict:
    """Give the CLI's counterexample for the preset, searching from the same `base`."""
    sets = [arg for key, value in base.items() for arg in ("--set", f"{key}={value}")]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "demos",
            "search",
            "raft",
            "--preset",
            PRESET,
            "--runs",
            "1000",
            "--seed",
            "1",
            "--format",
            "json",
            *sets,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    return json.loads(done.stdout)["counterexample"]


def same_values(params: dict) -> dict:
    """Give `params` with numbers as floats (JSON from JS drops the .0 of 3200.0)."""
    return {k: float(v) if isinstance(v, int | float) else v for k, v in params.items()}


def test_code_view_loads_only_when_opened(tab: Tab) -> None:
    """Article pages fetch neither the editor nor the sources until Code is pressed."""
    tab.open()
    tab.page.hover(tab.fig)
    tab.page.wait_for_selector(tab.sel("[data-action=code]"), timeout=20_000)
    assert not [u for u in tab.requests if "lab-editor" in u or "/lab/sources-" in u]
    tab.open_code()
    assert any("lab-editor" in u for u in tab.requests)
    assert any("/lab/sources-" in u and u.endswith(".raft.json") for u in tab.requests)
    # Highlighted Python with line numbers, and the presets as a menu.
    assert tab.page.locator(tab.sel(".lab-editor .cm-lineNumbers")).count() == 1
    assert tab.page.locator(tab.sel(".lab-editor .cm-content span[class]")).count() > 10
    options = tab.page.eval_on_selector_all(
        tab.sel(".lab-preset option"), "els => els.map(e => e.value)"
    )
    assert options[0] == "" and PRESET in options
    # Escape leaves the editor for the Code view's buttons: the keyboard is never trapped.
    tab.page.click(tab.sel(".lab-editor .cm-content"))
    tab.page.keyboard.press("Escape")
    assert tab.page.evaluate("document.activeElement.dataset.action") == "lab-run"
    assert tab.problems == []


# Every colour the editor paints text in, with the editor's background: for a contrast check.
EDITOR_COLOURS = """(root) => {
  const parse = (css) => css.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const editor = root.querySelector(".cm-editor");
  const colours = new Set([getComputedStyle(root.querySelector(".cm-content")).color]);
  for (const span of root.querySelectorAll(".cm-content span")) {
    colours.add(getComputedStyle(span).color);
  }
  return { background: parse(getComputedStyle(editor).backgroundColor),
    active: parse(getComputedStyle(root.querySelector(".cm-activeLine")).backgroundColor),
    colours: [...colours].map(parse) };
}"""


def _contrast(a: list[float], b: list[float]) -> float:
    def luminance(rgb: list[float]) -> float:
        linear = [c / 255 / 12.92 if c <= 10 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_code_view_reads_well_in_both_schemes_on_a_phone(browser, site, scheme: str) -> None:
    """Highlighted code keeps WCAG AA contrast on the editor's background and its active
    line, in the light and the dark scheme, and the preset menu stays inside a 390 px page."""
    opened = Tab(browser, site)
    opened.context.close()
    opened.context = browser.new_context(
        color_scheme=scheme, viewport={"width": 390, "height": 844}
    )
    opened.page = opened.context.new_page()
    try:
        opened.open()
        opened.open_code()
        # The highlighter parses as the page idles: wait until the visible part is coloured.
        opened.page.wait_for_function(
            "(sel) => document.querySelectorAll(sel).length > 10",
            arg=opened.sel(".lab-editor .cm-content span[class]"),
            timeout=10_000,
        )
        seen = opened.page.eval_on_selector(opened.sel(".lab-editor"), EDITOR_COLOURS)
        dark_background = _contrast(seen["background"], [0, 0, 0]) < 5
        assert dark_background == (scheme == "dark"), seen["background"]
        assert len(seen["colours"]) >= 3, seen  # plain text, keywords, strings at least
        for colour in seen["colours"]:
            for surface in (seen["background"], seen["active"]):
                assert _contrast(colour, surface) >= 4.5, (colour, surface)
        panel = opened.page.locator(opened.sel(".demo-lab")).bounding_box()
        menu = opened.page.locator(opened.sel(".lab-preset")).bounding_box()
        assert menu["x"] >= panel["x"] and menu["x"] + menu["width"] <= panel["x"] + panel["width"]
    finally:
        opened.close()


def test_code_that_does_not_arrive_says_so_and_opens_on_the_next_try(tab: Tab) -> None:
    """A source request that hangs ends in a message, not an endless "Loading"; closing and
    opening Code again asks afresh."""
    held = []

    def hold(route) -> None:
        held.append(route)  # never answered

    tab.page.route("**/lab/sources-*", hold)
    tab.open()
    tab.page.evaluate("document.documentElement.dataset.demoLoadLimitMs = '1500'")
    tab.page.hover(tab.fig)
    tab.page.wait_for_selector(tab.sel("[data-action=code]"), timeout=20_000)
    tab.page.click(tab.sel("[data-action=code]"))
    note = tab.page.locator(tab.sel(".lab-note"))
    note.filter(has_text="did not arrive within 2 s").wait_for(timeout=10_000)
    assert held, "the source was asked for"
    assert tab.page.locator(tab.sel(".demo-lab[data-ready]")).count() == 0
    tab.page.unroute("**/lab/sources-*", hold)
    tab.page.click(tab.sel("[data-action=code]"))  # closes
    tab.page.click(tab.sel("[data-action=code]"))  # opens again: a new request
    tab.page.wait_for_selector(
        tab.sel(".demo-lab[data-ready] .lab-editor .cm-content"), timeout=20_000
    )
    assert "raft" in tab.page.locator(tab.sel(".lab-editor .cm-content")).inner_text().lower()
    assert tab.page.locator(tab.sel(".lab-editor")).count() == 1
    assert note.text_content() == ""


def test_preset_search_shrinks_marks_and_shares(tab: Tab, browser, site) -> None:
    """Break Raft's vote rule, find the counterexample, match the CLI, share it, reopen it."""
    tab.open()
    tab.open_code()
    tab.page.select_option(tab.sel(".lab-preset"), PRESET)
    assert len(tab.page.inner_text(tab.sel(".lab-explain"))) > 40  # why the rule matters
    tab.page.click(tab.sel("[data-action=lab-search]"))
    tab.page.wait_for_selector(tab.sel(".demo-lab[data-found]"), timeout=BOOT_MS + SEARCH_MS)
    lab = tab.sel(".demo-lab")
    assert tab.page.get_attribute(lab, "data-found") == CHECK
    assert tab.status() == "done"
    # The figure shows the shrunken run, its violation marked by the kit, the check named.
    assert tab.page.locator(tab.sel(".demo-output .dm-violation")).count() >= 1
    assert CHECK in tab.page.inner_text(tab.sel(".demo-summary"))
    note = tab.page.inner_text(tab.sel(".lab-note"))
    assert "found after" in note and "shrunk in" in note
    # The same preset, seed and run count give the same case in the CLI.
    found = json.loads(tab.page.get_attribute(lab, "data-params"))
    base = json.loads(tab.page.get_attribute(lab, "data-base"))
    expected = cli_counterexample(base)
    assert expected["check"] == CHECK
    assert same_values(found) == same_values(expected["params"])
    # The link carries the params and the code; a fresh tab shows the diff and runs nothing.
    tab.page.wait_for_function("location.hash.includes('code=')", timeout=10_000)
    link = tab.page.url
    assert f"seed={found['seed']}" in link
    other = Tab(browser, site)
    try:
        other.page.goto(link)
        other.page.wait_for_selector(other.sel(".lab-diff .cm-editor"), timeout=20_000)
        assert "Nothing has run" in other.page.inner_text(other.sel(".lab-note"))
        assert other.status() == "idle"
        deleted = other.page.inner_text(other.sel(".lab-diff .cm-deletedChunk"))
        assert "log_is_up_to_date" in deleted
        other.page.wait_for_timeout(1000)
        assert (
            other.page.evaluate(
                "performance.getEntriesByType('resource')"
                ".filter(e => /pyodide|\\.whl/.test(e.name)).length"
            )
            == 0
        )
        assert other.page.workers == []
        assert other.page.locator(other.sel(".demo-output .dm-violation")).count() == 0
        # Asked to, it runs the shared code and reproduces the violation.
        other.page.click(other.sel("[data-action=lab-run]"))
        other.page.wait_for_function(
            f"document.querySelector('{other.fig} .demo-status').dataset.state === 'done'",
            timeout=BOOT_MS,
        )
        assert other.page.locator(other.sel(".demo-output .dm-violation")).count() >= 1
        assert CHECK in other.page.inner_text(other.sel(".demo-summary"))
        assert other.problems == []
    finally:
        other.close()
    assert tab.problems == []


def test_syntax_error_marks_its_line_and_restore_runs_clean(tab: Tab) -> None:
    tab.open()
    tab.open_code()
    tab.page.click(tab.sel(".lab-editor .cm-content"))
    tab.page.keyboard.press("Control+End")
    tab.page.keyboard.type("\ndef broken(:\n")
    tab.page.click(tab.sel("[data-action=lab-run]"))
    tab.page.wait_for_selector(tab.sel(".lab-editor .lab-error-line"), timeout=BOOT_MS)
    assert tab.status() == "error"
    assert "broken" in tab.page.inner_text(tab.sel(".lab-editor .lab-error-line"))
    error = tab.page.inner_text(tab.sel(".demo-error"))
    assert re.match(r"line \d+: ", error), error
    # Restore puts the demo's own code back; a run then passes its checks.
    tab.page.click(tab.sel("[data-action=lab-restore]"))
    assert tab.page.locator(tab.sel(".lab-editor .lab-error-line")).count() == 0
    tab.page.click(tab.sel("[data-action=lab-run]"))
    tab.page.wait_for_function(
        f"document.querySelector('{tab.fig} .demo-status').dataset.state === 'done'",
        timeout=BOOT_MS,
    )
    assert "code=" not in tab.page.url
    assert tab.page.locator(tab.sel(".demo-output .dm-violation")).count() == 0


def test_edit_that_loops_forever_is_stopped(tab: Tab) -> None:
    tab.open()
    tab.page.evaluate(
        "document.documentElement.dataset.demoRunLimitMs = '3000';"
        "document.documentElement.dataset.demoStopGraceMs = '500'"
    )
    tab.open_code()
    # A loop at the module's top level: loading the reader's module never returns.
    tab.page.click(tab.sel(".lab-editor .cm-content"))
    tab.page.keyboard.press("Control+End")
    tab.page.keyboard.type("\nwhile True: pass")
    tab.page.click(tab.sel("[data-action=lab-run]"))
    tab.page.wait_for_function(
        f"document.querySelector('{tab.fig} .demo-status').dataset.state === 'stopped'",
        timeout=2 * BOOT_MS,
    )  # the boot, on a loaded machine, then the 3 s limit
    assert "took too long" in tab.page.inner_text(tab.sel(".demo-status"))


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("not*base64", "Link refused"),
        ("AAAA", "does not inflate"),
    ],
)
def test_bad_code_in_a_link_is_refused(tab: Tab, code: str, message: str) -> None:
    tab.open(f"#{tab.fig[1:]}:code={code}")
    tab.page.wait_for_function(
        f"document.querySelector('{tab.fig} .demo-status').dataset.state === 'error'",
        timeout=20_000,
    )
    said = tab.page.inner_text(tab.sel(".demo-error"))
    assert message in said
    assert tab.page.locator(tab.sel(".demo-error *")).count() == 0  # text, never HTML
    assert tab.page.workers == []


def test_search_of_the_demos_own_code_finds_nothing(tab: Tab) -> None:
    """The unmodified protocol (no source sent: the worker's None) passes every case."""
    tab.open()
    tab.page.evaluate("document.documentElement.dataset.demoSearchRuns = '20'")
    tab.open_code()
    tab.page.click(tab.sel("[data-action=lab-search]"))
    tab.page.wait_for_selector(tab.sel(".demo-lab[data-found='']"), timeout=BOOT_MS + SEARCH_MS)
    assert tab.page.inner_text(tab.sel(".lab-note")).startswith("No counterexample in 20 runs")
    assert tab.status() == "done"
    assert float(tab.page.get_attribute(tab.sel(".demo-lab"), "data-rate")) > 0
    assert tab.page.locator(tab.sel(".demo-output .dm-violation")).count() == 0
    assert tab.problems == []
