"""Counterexample search: throughput, and the time every preset takes to be found and shrunk.

Throughput: `demos.search` over the Raft demo's own code (no counterexample, so every case
runs) for --runs cases, in CPython and in the browser's worker started from a Raft figure's
Code view in Debian's chromium (the rate counts from the search's start, Python's boot
left out).

Presets: for every preset in `demos.presets`, the page of a figure of its demo is opened
fresh, the preset chosen in the Code view and "Find a counterexample" pressed. The table
gives the seconds the worker took to find and shrink it (from the search's start), the
seconds from the click (a cold worker's boot included), and the runs: search runs until
the first failure plus shrinking tries. CPython then runs the very search the page ran
(the page's base params: the figure's own with the preset's on top, seed 1, the same run
count, as `python -m demos search NAME --preset P --set ...` would) and the last column
says whether both found the same shrunken case. It measures; it asserts nothing, but it
marks a preset whose browser time is over the issue's 30 s.

    python bench/lab_bench.py [--output output] [--runs 60] [--port 8128] [--preset NAME]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from browser_util import chromium_path, find_article_with_demos, launch_chromium, serve  # noqa: E402

from demos import edit, presets, search  # noqa: E402

SEARCH_RUNS = 1000  # the page's and the CLI's default, so both make the same search
SEARCH_SEED = 1
BROWSER_LIMIT_S = 30.0  # issue 12: each preset's counterexample within 30 s in the browser
FOUND = re.compile(r"found after (\d+) runs, shrunk in (\d+) more tries")


def cpython_rate(runs: int) -> float:
    """Give the runs per second of a search over the Raft demo's own code."""
    start = time.perf_counter()
    _, done = search.run_search("raft", runs=runs, seed=SEARCH_SEED)
    return done / (time.perf_counter() - start)


def cpython_preset(preset: presets.Preset, base: dict) -> dict:
    """Give what a CPython search of `preset` from `base` finds: seconds, runs, the case."""
    protocol = edit.load_protocol(preset.demo, preset.source())
    start = time.perf_counter()
    found, _ = search.run_search(
        preset.demo, base=base, runs=SEARCH_RUNS, seed=SEARCH_SEED, protocol=protocol
    )
    seconds = time.perf_counter() - start
    if found is None:
        return {"seconds": seconds, "found": None}
    return {
        "seconds": seconds,
        "found": found.check,
        "runs": found.runs,
        "shrink": found.shrink_runs,
        "params": found.params,
    }


def figure_of(output: Path, path: str, demo: str) -> str:
    """Give the CSS selector of the first figure of `demo` on the page at `path`."""
    html = (output / path / "index.html").read_text(encoding="utf-8")
    for fig_id, name in re.findall(r'<figure class="demo" id="([^"]+)" data-demo="([^"]+)"', html):
        if name == demo:
            return f"#{fig_id}"
    raise LookupError(f"no figure of {demo} on {path}")


def open_lab(page, url: str, fig: str) -> None:
    """Load the page and open the figure's Code view."""
    page.goto(url)
    page.hover(fig)
    page.click(f"{fig} [data-action=code]")
    page.wait_for_selector(f"{fig} .demo-lab[data-ready]", timeout=60_000)


def search_on_page(page, fig: str) -> dict:
    """Press "Find a counterexample" and give what the page reports when the search ends."""
    lab = f"{fig} .demo-lab"
    start = time.perf_counter()
    page.click(f"{fig} [data-action=lab-search]")
    page.wait_for_selector(f"{lab}[data-found]", timeout=600_000)
    wall = time.perf_counter() - start
    found = page.get_attribute(lab, "data-found")
    answer = {
        "wall": wall,
        "seconds": float(page.get_attribute(lab, "data-seconds") or "nan"),
        "found": found or None,
        "base": json.loads(page.get_attribute(lab, "data-base") or "{}"),
    }
    if found:
        note = page.text_content(f"{lab} .lab-note") or ""
        match = FOUND.search(note)
        if match:
            answer["runs"], answer["shrink"] = int(match[1]), int(match[2])
        answer["params"] = json.loads(page.get_attribute(lab, "data-params") or "{}")
    return answer


def browser_rate(page, url: str, fig: str, runs: int) -> tuple[float, float]:
    """Give (runs per second, seconds) of a browser search over the demo's own code."""
    open_lab(page, url, fig)
    page.evaluate(f"document.documentElement.dataset.demoSearchRuns = '{runs}'")
    answer = search_on_page(page, fig)
    lab = f"{fig} .demo-lab"
    return float(page.get_attribute(lab, "data-rate")), answer["seconds"]


def browser(output: Path, runs: int, port: int, chosen: list[presets.Preset]) -> dict:
    """Give the browser's throughput and, per preset, what its search on a fresh page found."""
    from playwright.sync_api import sync_playwright

    results: dict = {"presets": {}}
    with serve(output, port) as base, sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            path = find_article_with_demos(output, demo="raft")
            page = chromium.new_page()
            results["rate"] = browser_rate(page, base + path, figure_of(output, path, "raft"), runs)
            page.close()
            for preset in chosen:
                path = find_article_with_demos(output, demo=preset.demo)
                fig = figure_of(output, path, preset.demo)
                page = chromium.new_page()  # a fresh page: no earlier counterexample's params
                try:
                    open_lab(page, base + path, fig)
                    if not page.locator(f"{fig} .lab-preset option[value='{preset.name}']").count():
                        print(f"  {preset.demo}/{preset.name}: not in the page's menu (old build?)")
                        continue
                    page.select_option(f"{fig} .lab-preset", preset.name)
                    page.wait_for_function(
                        "sel => !document.querySelector(sel).hidden",
                        arg=f"{fig} .lab-explain",
                    )
                    answer = search_on_page(page, fig)
                finally:
                    page.close()
                answer["page"] = f"{path}{fig}"
                results["presets"][(preset.demo, preset.name)] = answer
        finally:
            chromium.close()
    return results


def runs_text(found: dict) -> str:
    return f"{found['runs']}+{found['shrink']}" if "runs" in found else "-"


def report(chosen: list[presets.Preset], browsed: dict | None) -> None:
    """Print one row per preset: CPython and browser seconds and runs, and whether the two
    found the same case."""
    print(
        f"  {'preset':42} {'CPython s':>9} {'runs':>8}   {'browser s':>9} {'click s':>8}"
        f" {'runs':>8}   same case"
    )
    for preset in chosen:
        label = f"{preset.demo}/{preset.name}"
        page = browsed["presets"].get((preset.demo, preset.name)) if browsed else None
        base = page["base"] if page else dict(preset.base)
        here = cpython_preset(preset, base)
        row = f"  {label:42} {here['seconds']:9.2f} {runs_text(here):>8}"
        if not here["found"]:
            row += " (none found)"
        if page is None:
            print(row)
            continue
        same = "yes" if here.get("params") == page.get("params") else "NO"
        if not page["found"]:
            same = "none found in the browser"
        slow = "  OVER 30 s" if page["wall"] > BROWSER_LIMIT_S else ""
        print(
            f"{row}   {page['seconds']:9.2f} {page['wall']:8.2f} {runs_text(page):>8}"
            f"   {same}{slow}"
        )
    if browsed:
        print("  (browser s: in the worker from the search's start; click s: from the click,")
        print("   a cold worker's boot included; runs: search runs + shrinking tries)")
        for preset in chosen:
            page = browsed["presets"].get((preset.demo, preset.name))
            if page:
                where = f"{page['page']}, base {json.dumps(page['base'])}"
                print(f"  {preset.demo}/{preset.name}: {where}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", type=Path, default=ROOT / "output")
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--port", type=int, default=8128)
    parser.add_argument("--preset", action="append", default=[], help="only these (NAME)")
    args = parser.parse_args()
    chosen = [p for p in presets.presets() if not args.preset or p.name in args.preset]
    print("lab benchmark: counterexample search")
    rate = cpython_rate(args.runs)
    print(f"  CPython, raft's own code ({args.runs} runs)            {rate:8.1f} runs/s")
    browsed = None
    if chromium_path() is None:
        print("  browser: no chromium on PATH and $CHROMIUM is unset")
    elif not (args.output / "lab").is_dir():
        from browser_bench import build

        with tempfile.TemporaryDirectory(prefix="bench-site-") as tmp:
            output = Path(tmp) / "output"
            build(output)
            browsed = browser(output, args.runs, args.port, chosen)
    else:
        browsed = browser(args.output, args.runs, args.port, chosen)
    if browsed:
        rate, seconds = browsed["rate"]
        print(
            f"  browser worker, raft's own code ({args.runs} runs)     {rate:8.1f} runs/s"
            f" ({seconds:.1f} s)"
        )
    print(f"  presets: found and shrunk, {SEARCH_RUNS} runs at most, seed {SEARCH_SEED}")
    report(chosen, browsed)


if __name__ == "__main__":
    main()
