"""Browser benchmark of the demo runner: bytes before interaction, cold and warm runs, Stop.

Serves a built site under /blog/ on 127.0.0.1, drives Debian's chromium through Playwright
with a fresh profile per round, and prints medians. It measures; it asserts nothing.

    python bench/browser_bench.py [--output output] [--rounds 3] [--port 8104] [--hover-ms 300]

Each round boots the bare runtime and makes the cold click in fresh contexts of the same
browser, in alternating order, so the cold ratio is also given per round (its median is
steadier than the ratio of two medians on a shared machine). The headline cold click has no
hover before it, as with a keyboard or a script; "after hover" first moves the pointer onto
the Run button, which is where a mouse reader's page starts Python, and waits --hover-ms.

Without a built `--output` folder the site is built into a temporary one first.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from browser_util import (  # noqa: E402
    chromium_path,
    demo_pages,
    heaviest_params,
    launch_chromium,
    manifest,
    serve,
)

TARGETS = {
    "kb_before_interaction": "<= 150 KB",
    "cold_ratio": "<= 1.1 x bare boot",
    "cold_ratio_per_round": "<= 1.1 x bare boot",
    "warm_ms": "<= 150 ms",
    "stop_controls_ms": "at once",
}

# The floor: a page that only boots the same runtime in a module worker, nothing else.
FLOOR_HTML = """<!doctype html><meta charset="utf-8"><title>bare Pyodide boot</title>
<script type="module">
const worker = new Worker("floor-worker.js", { type: "module" });
const start = performance.now();
window.bootMs = new Promise((resolve) => {
  worker.onmessage = () => resolve(performance.now() - start);
});
worker.postMessage({ indexURL: new URL(INDEX_URL, location.href).href });
</script>
"""
FLOOR_WORKER = """self.onmessage = async (event) => {
  const { indexURL } = event.data;
  const { loadPyodide } = await import(indexURL + "pyodide.mjs");
  await loadPyodide({ indexURL });
  self.postMessage("ready");
};
"""

# In-page: click Run with a new seed, give ms from the click to the new diagram in the DOM.
CLICK_TO_DIAGRAM = """async (id) => {
  const fig = document.getElementById(id);
  const seed = fig.querySelector("[name=seed]");
  seed.value = String(Number(seed.value) + 1);
  return await new Promise((resolve) => {
    const start = performance.now();
    new MutationObserver((_, observer) => {
      observer.disconnect();
      resolve(performance.now() - start);
    }).observe(fig.querySelector(".demo-output"), { childList: true });
    fig.querySelector("[data-action=run]").click();
  });
}"""

# In-page: start a heavy run, Stop it while Python runs; give ms until the controls are back
# and ms from Stop to the next diagram (Reset, then Run on the fresh worker).
STOP = """async ([id, heavy]) => {
  const fig = document.getElementById(id);
  const status = fig.querySelector(".demo-status");
  const run = fig.querySelector("[data-action=run]");
  const stop = fig.querySelector("[data-action=stop]");
  for (const [name, value] of Object.entries(heavy)) {
    fig.querySelector(`[name=${name}]`).value = value;
  }
  run.click();
  const deadline = performance.now() + 10000;
  while (status.dataset.state !== "running" && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 5));
  }
  await new Promise((r) => setTimeout(r, 300)); // inside Python: the heavy run takes seconds
  if (status.dataset.state !== "running") return null;
  const stopped = performance.now();
  stop.click();
  const controlsMs = performance.now() - stopped;
  const back = stop.disabled && !run.disabled && status.dataset.state === "stopped";
  fig.querySelector("[data-action=reset]").click();
  const nextMs = await new Promise((resolve) => {
    new MutationObserver((_, observer) => {
      observer.disconnect();
      resolve(performance.now() - stopped);
    }).observe(fig.querySelector(".demo-output"), { childList: true });
    run.click();
  });
  return { controlsMs, back, nextMs };
}"""

BYTES_LOADED = """() => {
  const entries = [...performance.getEntriesByType("navigation"),
                   ...performance.getEntriesByType("resource")];
  return entries.map((e) => [e.name, e.transferSize]);
}"""


def build(output: Path) -> None:
    cache = output.parent / "cache"
    command = [str(Path(sys.executable).with_name("pelican")), str(ROOT / "content"), "-s",
               str(ROOT / "pelicanconf.py"), "-o", str(output), "-e",
               f"CACHE_PATH={json.dumps(str(cache))}"]
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True)


def wait_ready(page) -> None:
    # The runner itself arrives on the first interaction, which the measurement makes.
    page.wait_for_load_state("load")


def bytes_before_interaction(browser, url: str) -> tuple[float, list[str]]:
    context = browser.new_context()
    page = context.new_page()
    page.goto(url, wait_until="load")
    wait_ready(page)
    page.wait_for_timeout(1000)  # anything lazy that would fire without a reader
    entries = page.evaluate(BYTES_LOADED)
    context.close()
    runtime = [name for name, _ in entries if "pyodide" in name or "worker" in name]
    return sum(size for _, size in entries) / 1000, runtime


def bare_boot_ms(browser, url: str) -> float:
    context = browser.new_context()
    page = context.new_page()
    page.goto(url)
    ms = page.evaluate("() => window.bootMs")
    context.close()
    return ms


def cold_after_hover(browser, url: str, figure_id: str, hover_ms: int) -> float:
    """Give ms from the click to the new diagram when the pointer rested on Run first."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(url)
    wait_ready(page)
    button = page.locator(f"#{figure_id} [data-action=run]")
    button.scroll_into_view_if_needed()
    box = button.bounding_box()
    # A real pointer move: the page hears pointerover/pointerenter as from a mouse.
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_timeout(hover_ms)
    ms = page.evaluate(CLICK_TO_DIAGRAM, figure_id)
    context.close()
    return ms


def cold_and_warm(browser, url: str, figure_id: str,
                  warm_runs: int = 5) -> tuple[float, float, dict]:
    """Give ms from a cold click to the new diagram, the median warm rerun, and the worker's
    own account of its boot ({ms, phases: ms since boot start at each step})."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(url)
    wait_ready(page)
    page.evaluate("document.addEventListener('demo-python-ready',"
                  " (e) => { window.pythonBoot = e.detail; })")
    cold = page.evaluate(CLICK_TO_DIAGRAM, figure_id)
    boot = page.evaluate("window.pythonBoot")
    warm = statistics.median(page.evaluate(CLICK_TO_DIAGRAM, figure_id)
                             for _ in range(warm_runs))
    context.close()
    return cold, warm, boot


def stop_timings(browser, url: str, figure_id: str, heavy: dict) -> dict | None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(url)
    wait_ready(page)
    page.evaluate(CLICK_TO_DIAGRAM, figure_id)  # warm, so Stop meets a running Python
    result = page.evaluate(STOP, [figure_id, heavy])
    context.close()
    return result


def first_figure(output: Path, page: str, demo: str | None = None) -> str:
    html = (output / page / "index.html").read_text(encoding="utf-8")
    for fig_id, name in re.findall(r'<figure class="demo" id="([^"]+)" data-demo="([^"]+)"', html):
        if demo is None or name == demo:
            return fig_id
    raise LookupError(f"no figure of {demo} on {page}")


def run(output: Path, rounds: int, port: int, hover_ms: int) -> None:
    pages = demo_pages(output)
    if not pages:
        raise SystemExit(f"no page with demos in {output}")
    index_url = manifest(output)["runtime"]["indexURL"]
    if "://" not in index_url:  # relative to the manifest, which lives in /blog/demos/
        index_url = f"/blog/demos/{index_url}"
    busiest = max(pages, key=lambda p: len(pages[p]))
    heavy_demo = "partition" if any("partition" in n for n in pages.values()) else pages[busiest][0]
    stop_page = next(p for p, names in pages.items() if heavy_demo in names)

    samples: dict[str, list[float]] = {}
    notes: list[str] = []

    def add(name: str, value: float) -> None:
        samples.setdefault(name, []).append(value)

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="bench-floor-") as floor:
        Path(floor, "floor.html").write_text(FLOOR_HTML.replace("INDEX_URL",
                                                                json.dumps(index_url)))
        Path(floor, "floor-worker.js").write_text(FLOOR_WORKER)
        with serve(output, port, extra={"floor": Path(floor)}) as base, \
                sync_playwright() as playwright:
            origin = base.rsplit("/blog/", 1)[0]
            for round_number in range(rounds):
                browser = launch_chromium(playwright)  # a fresh profile every round
                try:
                    for page in pages:
                        kb, runtime = bytes_before_interaction(browser, base + page)
                        add(f"kb_before_interaction {page}", kb)
                        if runtime:
                            notes.append(f"round {round_number}: {page} fetched {runtime} early")
                    figure = first_figure(output, busiest)
                    # Alternate which goes first, so a drift in the machine's load
                    # does not always favour the same side.
                    if round_number % 2:
                        cold, warm, boot = cold_and_warm(browser, base + busiest, figure)
                        bare = bare_boot_ms(browser, f"{origin}/floor/floor.html")
                    else:
                        bare = bare_boot_ms(browser, f"{origin}/floor/floor.html")
                        cold, warm, boot = cold_and_warm(browser, base + busiest, figure)
                    hovered = cold_after_hover(browser, base + busiest, figure, hover_ms)
                    add("bare_boot_ms", bare)
                    add("cold_click_to_diagram_ms", cold)
                    add(f"cold_click_after_{hover_ms}ms_hover_ms", hovered)
                    add("cold_ratio_per_round", cold / bare)
                    add("hover_ratio_per_round", hovered / bare)
                    add("warm_ms", warm)
                    add("boot_in_worker_ms", boot["ms"])
                    notes.append(f"round {round_number}: worker boot marks (ms) {boot['phases']}")
                    stop = stop_timings(browser, base + stop_page,
                                        first_figure(output, stop_page, heavy_demo),
                                        heaviest_params(output, heavy_demo))
                    if stop is None:
                        notes.append(f"round {round_number}: the heavy run ended before Stop")
                    else:
                        add("stop_controls_ms", stop["controlsMs"])
                        add("stop_to_next_diagram_ms", stop["nextMs"])
                        if not stop["back"]:
                            notes.append(f"round {round_number}: controls not back after Stop")
                finally:
                    browser.close()

    median = {name: statistics.median(values) for name, values in samples.items()}
    median["cold_ratio"] = median["cold_click_to_diagram_ms"] / median["bare_boot_ms"]
    print(f"browser benchmark: median of {rounds} fresh chromium profiles, site {output}")
    print(f"  cold/warm runs on {busiest} ({first_figure(output, busiest)}); "
          f"Stop on {stop_page} ({heavy_demo}, heaviest params)")
    for name, value in median.items():
        if name.startswith("kb_"):
            shown = f"{value:.1f} KB"
        elif name.endswith("_ms"):
            shown = f"{value:.0f} ms"
        else:
            shown = f"{value:.2f} x"
        print(f"  {name:<44} {shown:>10}   {TARGETS.get(name.split(' ')[0], '')}")
    for note in notes:
        print(f"  note: {note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", type=Path, default=ROOT / "output")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--port", type=int, default=8104)
    parser.add_argument("--hover-ms", type=int, default=300,
                        help="how long the pointer rests on Run before the 'after hover' click")
    args = parser.parse_args()
    if chromium_path() is None:
        raise SystemExit("no chromium on PATH and $CHROMIUM is unset")
    output = args.output
    if not (output / "demos").is_dir():
        with tempfile.TemporaryDirectory(prefix="bench-site-") as tmp:
            output = Path(tmp) / "output"
            print(f"no built site in {args.output}: building one in {output}")
            build(output)
            run(output, args.rounds, args.port, args.hover_ms)
        return
    run(output, args.rounds, args.port, args.hover_ms)


if __name__ == "__main__":
    main()
