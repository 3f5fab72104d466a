"""Counterexample search throughput: runs per second in CPython and in the browser's worker.

CPython: `demos.search` over the Raft demo's own code (no counterexample, so every case
runs) for --runs cases, and the time the vote-without-log-check preset takes to be found and
shrunk. Browser: the same search of the demo's own code started from a Raft figure's Code
view in Debian's chromium, with the runs per second the page reports (Python's boot left
out: the rate counts from the search's start). It measures; it asserts nothing.

    python bench/lab_bench.py [--output output] [--runs 60] [--port 8128]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from browser_util import chromium_path, find_article_with_demos, launch_chromium, serve  # noqa: E402

from demos import edit, presets, search  # noqa: E402

PRESET = "vote-without-log-check"


def cpython(runs: int) -> tuple[float, float, int]:
    """Give (runs per second over the demo's own code, seconds to find and shrink the
    preset's counterexample, runs that took in all)."""
    start = time.perf_counter()
    found, done = search.run_search("raft", runs=runs, seed=1)
    rate = done / (time.perf_counter() - start)
    protocol = edit.load_protocol("raft", presets.get_preset("raft", PRESET).source())
    start = time.perf_counter()
    found, total = search.run_search("raft", runs=1000, seed=1, protocol=protocol)
    return rate, time.perf_counter() - start, total


def browser(output: Path, runs: int, port: int) -> tuple[float, float, float]:
    """Give (runs per second, seconds) of a browser search of the demo's own code, and the
    seconds the preset's counterexample takes to be found and shrunk there."""
    from playwright.sync_api import sync_playwright

    path = find_article_with_demos(output, demo="raft")
    html = (output / path / "index.html").read_text(encoding="utf-8")
    at = html.index('data-demo="raft"')
    fig = "#" + html[html.rindex('id="', 0, at) + 4 :].split('"', 1)[0]
    with serve(output, port) as base, sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            page = chromium.new_page()
            page.goto(base + path)
            page.evaluate(f"document.documentElement.dataset.demoSearchRuns = '{runs}'")
            page.hover(fig)
            page.click(f"{fig} [data-action=code]")
            page.wait_for_selector(f"{fig} .demo-lab[data-ready]", timeout=60_000)
            page.click(f"{fig} [data-action=lab-search]")
            page.wait_for_selector(f"{fig} .demo-lab[data-found]", timeout=600_000)
            lab = f"{fig} .demo-lab"
            rate = float(page.get_attribute(lab, "data-rate"))
            seconds = float(page.get_attribute(lab, "data-seconds"))
            page.evaluate("document.documentElement.dataset.demoSearchRuns = '1000'")
            page.select_option(f"{fig} .lab-preset", PRESET)
            page.click(f"{fig} [data-action=lab-search]")
            page.wait_for_selector(f"{fig} .demo-lab[data-found]", timeout=600_000)
            return rate, seconds, float(page.get_attribute(lab, "data-seconds"))
        finally:
            chromium.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", type=Path, default=ROOT / "output")
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--port", type=int, default=8128)
    args = parser.parse_args()
    print("lab benchmark: counterexample search on raft")
    rate, seconds, total = cpython(args.runs)
    print(f"  CPython, the demo's own code ({args.runs} runs)      {rate:8.1f} runs/s")
    print(f"  CPython, preset {PRESET}: found+shrunk  {seconds:8.2f} s ({total} runs)")
    if chromium_path() is None:
        print("  browser: no chromium on PATH and $CHROMIUM is unset")
        return
    output = args.output
    if not (output / "lab").is_dir():
        from browser_bench import build

        with tempfile.TemporaryDirectory(prefix="bench-site-") as tmp:
            output = Path(tmp) / "output"
            build(output)
            rate, seconds, preset = browser(output, args.runs, args.port)
    else:
        rate, seconds, preset = browser(output, args.runs, args.port)
    print(
        f"  browser worker, the demo's own code ({args.runs} runs) {rate:8.1f} runs/s"
        f" ({seconds:.1f} s)"
    )
    print(f"  browser worker, preset {PRESET}: found+shrunk {preset:6.2f} s")


if __name__ == "__main__":
    main()
