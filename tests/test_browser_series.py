"""Every demo figure of the built series, run once in Debian's chromium.

The figures are found in the built HTML, so a new article or page is covered without
touching this file. One browser and one visit per page: the first run on a page pays the
cold start of Python (a few seconds), the others on that page are warm (tens of ms).
Each figure gets its seed plus one, so the run is a real one and its diagram a new one.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest
from browser_util import serve

pytestmark = pytest.mark.browser

PORT = 8121
RUN_MS = 60_000  # a cold Python start on a loaded 2-core machine, with room to spare


@dataclass
class Figure:
    id: str
    demo: str
    defaults: dict


@dataclass
class SeriesPage:
    path: str  # relative to the site root, as served under /blog/
    figures: list[Figure] = field(default_factory=list)


class _FigureFinder(HTMLParser):
    """Collects the demo figures of one page and whether the page loads the runner."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.figures: list[Figure] = []
        self.has_runner = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script" and values.get("data-manifest"):
            self.has_runner = True
        classes = (values.get("class") or "").split()
        if tag == "figure" and "demo" in classes and values.get("data-demo"):
            self.figures.append(
                Figure(
                    values.get("id") or "",
                    values["data-demo"] or "",
                    json.loads(values.get("data-defaults") or "{}"),
                )
            )


def series_pages(output: Path) -> list[SeriesPage]:
    """Give every built page that loads the runner, with its demo figures in page order."""
    pages = []
    for html in sorted(output.rglob("*.html")):
        finder = _FigureFinder()
        finder.feed(html.read_text(encoding="utf-8"))
        if finder.has_runner and finder.figures:
            path = html.relative_to(output).as_posix().removesuffix("index.html")
            pages.append(SeriesPage(path, finder.figures))
    return pages


@pytest.fixture(scope="module")
def site(built_site: Path) -> Iterator[str]:
    with serve(built_site, PORT) as base:
        yield base


# Marks what the page shows now, so the check after the run can tell it was replaced.
MARK_OLD = """fig => {
    const svg = fig.querySelector('.demo-output > svg');
    svg.__old = true;
    fig.querySelectorAll('.demo-checks > li').forEach((li) => { li.__old = true; });
    return svg.outerHTML;
}"""

# What the figure shows after the run, in terms the assertions below can read.
AFTER = """fig => {
    const svg = fig.querySelector('.demo-output > svg');
    const checks = [...fig.querySelectorAll('.demo-checks > li')];
    const error = fig.querySelector('.demo-error');
    return {
        state: fig.querySelector('.demo-status').dataset.state,
        status: fig.querySelector('.demo-status').textContent,
        error: error && !error.hidden ? error.textContent : '',
        svgs: fig.querySelectorAll('.demo-output > svg').length,
        replaced: !!svg && !svg.__old,
        svg: svg ? svg.outerHTML : '',
        checks: checks.length,
        oldChecks: checks.filter((li) => li.__old).length,
        summary: (fig.querySelector('.demo-summary')?.textContent ?? '').trim(),
        hash: decodeURIComponent(location.hash),
    };
}"""


def _run_figure(page, figure: Figure, seed: int) -> tuple[dict, str, float]:
    """Run `figure` with `seed`; give (what it shows after, its diagram before, wall ms)."""
    fig = page.locator(f"#{figure.id}")
    fig.scroll_into_view_if_needed()
    before = fig.evaluate(MARK_OLD)
    fig.locator("input[name=seed]").fill(str(seed))
    started = time.perf_counter()
    fig.locator("[data-action=run]").click()
    page.wait_for_function(
        "id => ['done', 'error', 'stopped'].includes("
        "document.querySelector(`#${id} .demo-status`).dataset.state)",
        arg=figure.id,
        timeout=RUN_MS,
    )
    return fig.evaluate(AFTER), before, (time.perf_counter() - started) * 1000


def _problems(figure: Figure, seed: int, after: dict, before: str) -> list[str]:
    where = f"{figure.id} ({figure.demo}, seed {seed})"
    if after["state"] != "done" or after["error"]:
        return [f"{where}: {after['state']}: {after['status']} {after['error']}"]
    problems = []
    if after["svgs"] != 1 or not after["replaced"] or after["svg"] == before:
        problems.append(f"{where}: the diagram was not replaced by a new one")
    if after["checks"] == 0 or after["oldChecks"]:
        problems.append(
            f"{where}: the checks panel was not rebuilt "
            f"({after['checks']} items, {after['oldChecks']} old)"
        )
    if not after["summary"]:
        problems.append(f"{where}: no summary")
    if f"{figure.id}:" not in after["hash"] or f"seed={seed}" not in after["hash"]:
        problems.append(f"{where}: the link does not hold the run ({after['hash']!r})")
    return problems


def _run_with_a_new_seed(page, figure: Figure, notes: list[str]) -> tuple[list[str], float]:
    """Run `figure` with the next seed its demo accepts; give (problems, wall ms).

    A figure may pin a value that holds for its own seed only (clocks' `focus: n3:7`); the
    demo then refuses the next seed with a ParamError, which the runner shows as it should.
    Such a figure gets up to two more seeds, and the refusal is noted, not hidden.
    """
    first = int(figure.defaults["seed"]) + 1
    for seed in range(first, first + 3):
        after, before, ms = _run_figure(page, figure, seed)
        if after["state"] == "error" and "ParamError" in after["error"]:
            notes.append(f"{figure.id} refuses seed {seed}: {after['error']}")
            continue
        return _problems(figure, seed, after, before), ms
    return [f"{figure.id}: refused seeds {first}..{first + 2}"], ms


def test_every_figure_of_the_series_runs_in_the_browser(
    browser, site: str, built_site: Path
) -> None:
    pages = series_pages(built_site)
    assert pages, "the built site has no page with demo figures"
    # One context for the whole pass: the HTTP cache keeps the runtime between pages, as it
    # would for a reader going through the series.
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    notes: list[str] = []
    timings: list[str] = []
    try:
        for series_page in pages:
            page = context.new_page()
            logged: list[str] = []
            page.on("console", lambda m, out=logged: m.type == "error" and out.append(m.text))
            page.on("pageerror", lambda e, out=logged: out.append(f"uncaught: {e}"))
            page.on(
                "response",
                lambda r, out=logged: r.status >= 400 and out.append(f"{r.status} {r.url}"),
            )
            page.goto(site + series_page.path)
            found = page.eval_on_selector_all("figure.demo[data-demo]", "els => els.map(e => e.id)")
            assert found == [f.id for f in series_page.figures], series_page.path
            page.dispatch_event(f"#{series_page.figures[0].id}", "pointerenter")
            page.wait_for_function("document.documentElement.classList.contains('demos-enhanced')")
            runs = []
            for figure in series_page.figures:
                found_problems, ms = _run_with_a_new_seed(page, figure, notes)
                problems += [f"{series_page.path} {p}" for p in found_problems]
                runs.append(f"{ms:.0f}")
            problems += [f"{series_page.path}: {line}" for line in logged]
            timings.append(f"{series_page.path} {'/'.join(runs)} ms")
            page.close()
    finally:
        context.close()
    print("series runs: " + "; ".join(timings))
    print("\n".join(notes))
    assert problems == [], "\n".join(problems)
