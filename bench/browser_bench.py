"""Browser benchmark of the demo runner, side by side on loopback and a throttled network.

Serves a built site under /blog/ on 127.0.0.1, drives Debian's chromium through Playwright
with a fresh profile per round, and prints medians. It measures; it asserts nothing.

    python bench/browser_bench.py [--output output] [--rounds 3] [--port 8104] [--hover-ms 300]

Every figure is taken twice per round: on loopback and under Chromium's network emulation
(20 Mbit/s, 40 ms round trip), because a bigger download can eat a faster boot.

- bare boot: a page that only boots the same runtime in a module worker (the floor);
  snapshot boot: the same page restoring the site's memory snapshot instead.
- cold click -> diagram: Run clicked on a fresh page, no hover before it (keyboard, script);
  hover then click: the pointer rests on Run for --hover-ms first, where a mouse reader's
  page starts Python.
- warm run: a rerun once Python is up; Stop -> next diagram: a heavy run stopped while
  Python computes (300 ms in: its simulation), then Reset and Run; late Stop: the same at
  90% of the heavy run's own length, where it is checking or drawing.
- repeat visit click -> diagram: a second page of the same profile, once the first has
  run (the service worker's cache answers), and the bytes it still downloaded.
- bytes on first Run: everything the cold page downloaded up to its first new diagram, and
  of it what was not the snapshot. (A site without a snapshot downloads the stdlib's zip,
  2.4 MB, before its first run too; with one, the zip follows the first run.)
- Stop -> next diagram also notes the next run's own time in the worker and the page's
  drawing of its answer (figure.js's `demo-draw <figure id>` performance measure), so the
  rest (the stopped run reaching its slice's end, messages) shows by difference.

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
import time
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

NETWORKS = {
    "loopback": None,
    "throttled": {
        "offline": False,
        "latency": 40,
        "downloadThroughput": 20e6 / 8,
        "uploadThroughput": 20e6 / 8,
    },
}
TARGETS = {
    "kb_before_interaction": "<= 150 KB",
    "cold_ratio": "<= 0.35 x bare (loopback), < 0.7 x (throttled)",
    "stop_to_next_diagram_ms": "<= 100 ms",
    "stop_late_to_next_diagram_ms": "<= 100 ms",
    "repeat_click_to_diagram_ms": "<= 1000 ms",
    "warm_ms": "<= 150 ms",
}

# The floor: a page that only boots the same runtime in a module worker, nothing else; with
# ?snapshot=<url>&expander=<url> it restores that gzip'd sparse memory snapshot (laid out by
# the site's own js/snapshot.js) instead of starting CPython.
FLOOR_HTML = """<!doctype html><meta charset="utf-8"><title>bare Pyodide boot</title>
<script type="module">
const worker = new Worker("floor-worker.js", { type: "module" });
const start = performance.now();
window.bootMs = new Promise((resolve) => {
  worker.onmessage = () => resolve(performance.now() - start);
});
const query = new URLSearchParams(location.search);
const absolute = (name) => query.get(name) && new URL(query.get(name), location.href).href;
worker.postMessage({ indexURL: new URL(INDEX_URL, location.href).href,
  snapshot: absolute("snapshot"), expander: absolute("expander") });
</script>
"""
FLOOR_WORKER = """self.onmessage = async (event) => {
  const { indexURL, snapshot, expander } = event.data;
  const { loadPyodide } = await import(indexURL + "pyodide.mjs");
  const options = { indexURL };
  if (snapshot) {
    const { SnapshotExpander } = await import(expander);
    options._loadSnapshot = fetch(snapshot).then(async (r) => {
      const memory = new SnapshotExpander();
      const reader = r.body.pipeThrough(new DecompressionStream("gzip")).getReader();
      for (let part = await reader.read(); !part.done; part = await reader.read()) {
        memory.push(part.value);
      }
      return memory.finish();
    });
  }
  await loadPyodide(options);
  self.postMessage("ready");
};
"""

# In-page: click Run with a new seed, give ms from the click to the new diagram in the DOM
# (the status says "done" as the run's diagram goes in; the page may also swap the whole
# prerendered figure in for its light version, which is no answer to the click).
CLICK_TO_DIAGRAM = """async (id) => {
  const fig = document.getElementById(id);
  const seed = fig.querySelector("[name=seed]");
  const status = fig.querySelector(".demo-status");
  seed.value = String(Number(seed.value) + 1);
  return await new Promise((resolve) => {
    const start = performance.now();
    new MutationObserver((_, observer) => {
      if (status.dataset.state !== "done") return;
      observer.disconnect();
      resolve(performance.now() - start);
    }).observe(status, { attributes: true, attributeFilter: ["data-state"] });
    fig.querySelector("[data-action=run]").click();
  });
}"""

# In-page: start a heavy run, Stop it while Python runs; give ms until the controls are back
# and ms from Stop to the next diagram (Reset, then Run).
STOP = r"""async ([id, heavy, delayMs]) => {
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
  await new Promise((r) => setTimeout(r, delayMs)); // inside Python: the heavy run takes seconds
  if (status.dataset.state !== "running") return null;
  const stopped = performance.now();
  stop.click();
  const controlsMs = performance.now() - stopped;
  const back = stop.disabled && !run.disabled && status.dataset.state === "stopped";
  fig.querySelector("[data-action=reset]").click();
  const nextMs = await new Promise((resolve) => {
    new MutationObserver((_, observer) => {
      if (status.dataset.state !== "done") return;
      observer.disconnect();
      resolve(performance.now() - stopped);
    }).observe(status, { attributes: true, attributeFilter: ["data-state"] });
    run.click();
  });
  // The next run's own time in the worker, as the status reports it; the rest of nextMs is
  // the stopped run reaching its slice's end, the messages and the page drawing the figure.
  const ran = /Done in (\d+) ms/.exec(status.textContent);
  // The page's own part, from the run's answer to its diagram in place (figure.js measures).
  const drawn = performance.getEntriesByName(`demo-draw ${id}`).at(-1);
  return { controlsMs, back, nextMs, nextRunMs: ran ? Number(ran[1]) : null,
    drawMs: drawn ? drawn.duration : null };
}"""

BYTES_LOADED = """() => {
  const entries = [...performance.getEntriesByType("navigation"),
                   ...performance.getEntriesByType("resource")];
  return entries.map((e) => [e.name, e.transferSize]);
}"""

# Whether the service worker's cache holds the runtime, wheel and snapshot (a promise: polled
# with evaluate, since wait_for_function would take the promise itself for a yes).
CACHE_FILLED = """(parts) => caches.keys().then(async (names) => {
  const urls = [];
  for (const n of names) urls.push(...(await (await caches.open(n)).keys()).map((r) => r.url));
  return parts.every((part) => urls.some((u) => u.includes(part)));
})"""
KEPT = [
    "pyodide.asm.wasm",
    "pyodide.asm.js",
    "python_stdlib.zip",
    ".whl",
    "/manifest-",
]
READY = "document.addEventListener('demo-python-ready', (e) => { window.pythonBoot = e.detail; })"


def wait_until_cached(page, snapshot: bool, timeout_s: float = 60) -> None:
    """Poll until the origin's caches hold every part of KEPT (and the snapshot if any)."""
    kept = [*KEPT, ".snapshot.gz"] if snapshot else KEPT
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(CACHE_FILLED, kept):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the service worker's cache never held all of {kept}")
        page.wait_for_timeout(200)


def build(output: Path) -> None:
    cache = output.parent / "cache"
    command = [
        str(Path(sys.executable).with_name("pelican")),
        str(ROOT / "content"),
        "-s",
        str(ROOT / "pelicanconf.py"),
        "-o",
        str(output),
        "-e",
        f"CACHE_PATH={json.dumps(str(cache))}",
    ]
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True)


class Tab:
    """A page in a context of its own (or a given one), on the given network, counting bytes."""

    def __init__(self, browser, network: dict | None, context=None) -> None:
        self.own = context is None
        self.context = context or browser.new_context()
        self.page = self.context.new_page()
        if network:
            cdp = self.context.new_cdp_session(self.page)
            cdp.send("Network.enable")
            cdp.send("Network.emulateNetworkConditions", network)
        self.finished: list = []  # requests of the page and its workers, as they end
        self.page.on("requestfinished", lambda request: self.finished.append(request))

    def network_bytes(self) -> tuple[int, int]:
        """Give (bytes from the network, of which the snapshot) so far."""
        total = snapshot = 0
        for request in self.finished:
            response = request.response()
            if response is None or response.from_service_worker:
                continue
            sizes = request.sizes()
            size = sizes["responseBodySize"] + sizes["responseHeadersSize"]
            total += size
            if request.url.endswith(".snapshot.gz"):
                snapshot += size
        return total, snapshot

    def close(self) -> None:
        if self.own:
            self.context.close()
        else:
            self.page.close()


def bytes_before_interaction(browser, url: str) -> tuple[float, list[str]]:
    tab = Tab(browser, None)
    tab.page.goto(url, wait_until="load")
    tab.page.wait_for_timeout(1000)  # anything lazy that would fire without a reader
    entries = tab.page.evaluate(BYTES_LOADED)
    tab.close()
    runtime = [name for name, _ in entries if "pyodide" in name or "worker" in name]
    return sum(size for _, size in entries) / 1024, runtime  # KiB, as tests/test_page_weight.py


def floor_boot_ms(browser, url: str, network: dict | None) -> float:
    tab = Tab(browser, network)
    tab.page.goto(url)
    ms = tab.page.evaluate("() => window.bootMs")
    tab.close()
    return ms


def cold_warm_repeat(
    browser, url: str, figure_id: str, network: dict | None, snapshot: bool, warm_runs: int = 5
) -> dict:
    """Give the cold click, the bytes it took, warm reruns and a repeat visit's click."""
    tab = Tab(browser, network)
    tab.page.goto(url)
    tab.page.evaluate(READY)
    cold = tab.page.evaluate(CLICK_TO_DIAGRAM, figure_id)
    first_run_bytes, snapshot_bytes = tab.network_bytes()
    boot = tab.page.evaluate("window.pythonBoot")
    warm = statistics.median(
        tab.page.evaluate(CLICK_TO_DIAGRAM, figure_id) for _ in range(warm_runs)
    )
    wait_until_cached(tab.page, snapshot)
    again = Tab(browser, network, context=tab.context)
    again.page.goto(url)
    again.page.wait_for_function("navigator.serviceWorker.controller !== null")
    again.page.evaluate(READY)
    repeat = again.page.evaluate(CLICK_TO_DIAGRAM, figure_id)
    repeat_boot = again.page.evaluate("window.pythonBoot")
    repeat_bytes, _ = again.network_bytes()
    again.close()
    tab.close()
    return {
        "cold": cold,
        "warm": warm,
        "boot": boot,
        "repeat": repeat,
        "repeat_boot": repeat_boot,
        "bytes": first_run_bytes,
        "snapshot_bytes": snapshot_bytes,
        "repeat_bytes": repeat_bytes,
    }


def cold_after_hover(
    browser, url: str, figure_id: str, hover_ms: int, network: dict | None
) -> float:
    """Give ms from the click to the new diagram when the pointer rested on Run first."""
    tab = Tab(browser, network)
    tab.page.goto(url)
    button = tab.page.locator(f"#{figure_id} [data-action=run]")
    button.scroll_into_view_if_needed()
    box = button.bounding_box()
    # A real pointer move: the page hears pointer events as from a mouse.
    tab.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    tab.page.mouse.move(box["x"] + box["width"] / 2 + 1, box["y"] + box["height"] / 2)
    tab.page.wait_for_timeout(hover_ms)
    ms = tab.page.evaluate(CLICK_TO_DIAGRAM, figure_id)
    tab.close()
    return ms


# In-page: run the heavy params to the end; give the run's own ms, as the status says.
HEAVY_RUN = r"""async ([id, heavy]) => {
  const fig = document.getElementById(id);
  const status = fig.querySelector(".demo-status");
  for (const [name, value] of Object.entries(heavy)) {
    fig.querySelector(`[name=${name}]`).value = value;
  }
  fig.querySelector("[data-action=run]").click();
  const deadline = performance.now() + 60000;
  while (status.dataset.state !== "done" && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const ran = /Done in (\d+) ms/.exec(status.textContent);
  fig.querySelector("[data-action=reset]").click();
  return ran ? Number(ran[1]) : null;
}"""


def stop_timings(
    browser, url: str, figure_id: str, heavy: dict, network: dict | None, repeat: int = 5
) -> tuple[list[dict], list[dict], int | None]:
    """Give Stop's figures, `repeat` times each, 300 ms into the heavy run (in the
    simulation) and at 90% of its length (in the checks or the figure, which take turns of
    their own; a run that ends sooner counts no Stop), and that length."""
    tab = Tab(browser, network)
    tab.page.goto(url)
    tab.page.evaluate(CLICK_TO_DIAGRAM, figure_id)  # warm, so Stop meets a running Python
    early = [tab.page.evaluate(STOP, [figure_id, heavy, 300]) for _ in range(repeat)]
    whole = tab.page.evaluate(HEAVY_RUN, [figure_id, heavy])
    late = [tab.page.evaluate(STOP, [figure_id, heavy, int(0.9 * whole)]) for _ in range(repeat)]
    tab.close()
    return [s for s in early if s], [s for s in late if s] if whole else [], whole


def first_figure(output: Path, page: str, demo: str | None = None) -> str:
    html = (output / page / "index.html").read_text(encoding="utf-8")
    for fig_id, name in re.findall(r'<figure class="demo" id="([^"]+)" data-demo="([^"]+)"', html):
        if demo is None or name == demo:
            return fig_id
    raise LookupError(f"no figure of {demo} on {page}")


def one_network(
    browser,
    base: str,
    origin: str,
    output: Path,
    network: dict | None,
    plan: dict,
    hover_ms: int,
    add,
    notes: list[str],
) -> None:
    """Take every figure of one round on one network; `add(name, value)` keeps each."""
    busiest, figure = plan["busiest"], plan["figure"]
    floor = f"{origin}/floor/floor.html"
    add("bare_boot_ms", floor_boot_ms(browser, floor, network))
    if plan["snapshot"]:
        add(
            "snapshot_boot_ms",
            floor_boot_ms(
                browser, f"{floor}?snapshot={plan['snapshot']}&expander={plan['expander']}", network
            ),
        )
    run = cold_warm_repeat(browser, base + busiest, figure, network, bool(plan["snapshot"]))
    add("cold_click_to_diagram_ms", run["cold"])
    add("warm_ms", run["warm"])
    add("repeat_click_to_diagram_ms", run["repeat"])
    boot = run["boot"] or {"ms": float("nan"), "phases": None}
    add("boot_in_worker_ms", boot["ms"])
    add("bytes_first_run_mb", run["bytes"] / 1e6)
    add("bytes_first_run_besides_snapshot_mb", (run["bytes"] - run["snapshot_bytes"]) / 1e6)
    add("bytes_repeat_visit_kb", run["repeat_bytes"] / 1e3)
    notes.append(
        f"boot marks (ms) {boot['phases']}, snapshot {boot.get('snapshot')}, "
        f"runs yield {boot.get('cooperative')}"
    )
    again = run["repeat_boot"] or {"phases": None}
    notes.append(f"repeat visit boot marks (ms) {again['phases']}")
    add(
        f"hover_{hover_ms}ms_then_click_ms",
        cold_after_hover(browser, base + busiest, figure, hover_ms, network),
    )
    stops, late, whole = stop_timings(
        browser, base + plan["stop_page"], plan["stop_figure"], plan["heavy"], network
    )
    for stop in late:
        add("stop_late_to_next_diagram_ms", stop["nextMs"])
    notes.append(f"late Stop: {len(late)} at 90% of the heavy run's {whole} ms")
    if not stops:
        notes.append("the heavy run ended before Stop")
    for stop in stops:
        add("stop_controls_ms", stop["controlsMs"])
        add("stop_to_next_diagram_ms", stop["nextMs"])
        if stop["nextRunMs"] is not None:
            add("stop_next_run_in_worker_ms", stop["nextRunMs"])
        if stop["drawMs"] is not None:
            add("stop_next_draw_in_page_ms", stop["drawMs"])
        if not stop["back"]:
            notes.append("controls not back after Stop")


def run(output: Path, rounds: int, port: int, hover_ms: int) -> None:
    pages = demo_pages(output)
    if not pages:
        raise SystemExit(f"no page with demos in {output}")
    site_manifest = manifest(output)
    index_url = site_manifest["runtime"]["indexURL"]
    if "://" not in index_url:  # relative to the manifest, which lives in /blog/demos/
        index_url = f"/blog/demos/{index_url}"
    busiest = max(pages, key=lambda p: len(pages[p]))
    heavy_demo = "partition" if any("partition" in n for n in pages.values()) else pages[busiest][0]
    stop_page = next(p for p, names in pages.items() if heavy_demo in names)
    plan = {
        "busiest": busiest,
        "figure": first_figure(output, busiest),
        "stop_page": stop_page,
        "stop_figure": first_figure(output, stop_page, heavy_demo),
        "heavy": heaviest_params(output, heavy_demo),
        "snapshot": site_manifest.get("snapshot") and f"/blog/demos/{site_manifest['snapshot']}",
        "expander": "/blog/demos/"
        + next((output / "demos").glob("runner-*/js/snapshot.js"))
        .relative_to(output / "demos")
        .as_posix(),
    }

    samples: dict[tuple[str, str], list[float]] = {}
    notes: list[str] = []
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="bench-floor-") as floor:
        Path(floor, "floor.html").write_text(FLOOR_HTML.replace("INDEX_URL", json.dumps(index_url)))
        Path(floor, "floor-worker.js").write_text(FLOOR_WORKER)
        with (
            serve(output, port, extra={"floor": Path(floor)}) as base,
            sync_playwright() as playwright,
        ):
            origin = base.rsplit("/blog/", 1)[0]
            for round_number in range(rounds):
                browser = launch_chromium(playwright)  # a fresh profile every round
                try:
                    for page in pages:
                        kb, runtime = bytes_before_interaction(browser, base + page)
                        samples.setdefault(
                            (f"kb_before_interaction {page}", "loopback"), []
                        ).append(kb)
                        if runtime:
                            notes.append(f"round {round_number}: {page} fetched {runtime} early")
                    # Alternate the order, so a drift in the machine's load does not always
                    # favour the same network.
                    order = list(NETWORKS) if round_number % 2 == 0 else list(NETWORKS)[::-1]
                    for name in order:

                        def add(metric: str, value: float, name: str = name) -> None:
                            samples.setdefault((metric, name), []).append(value)

                        said: list[str] = []
                        one_network(
                            browser, base, origin, output, NETWORKS[name], plan, hover_ms, add, said
                        )
                        notes.extend(f"round {round_number} {name}: {n}" for n in said)
                finally:
                    browser.close()
    report(samples, notes, rounds, output, plan)


def report(samples: dict, notes: list[str], rounds: int, output: Path, plan: dict) -> None:
    median = {key: statistics.median(values) for key, values in samples.items()}
    for network in NETWORKS:
        bare = median.get(("bare_boot_ms", network))
        for metric, ratio in (
            ("cold_click_to_diagram_ms", "cold_ratio"),
            ("snapshot_boot_ms", "snapshot_ratio"),
            ("repeat_click_to_diagram_ms", "repeat_ratio"),
        ):
            if bare and (metric, network) in median:
                median[(ratio, network)] = median[(metric, network)] / bare
        hover = next((k for k in median if k[0].startswith("hover_") and k[1] == network), None)
        if bare and hover:
            median[("hover_ratio", network)] = median[hover] / bare
    print(
        f"browser benchmark: median of {rounds} fresh chromium profiles (Stop: 5 a round), "
        f"site {output}"
    )
    print(
        f"  runs on {plan['busiest']} ({plan['figure']}); Stop on {plan['stop_page']} "
        f"({plan['stop_figure']}, heaviest params); throttled = 20 Mbit/s, 40 ms RTT"
    )
    metrics = list(dict.fromkeys(metric for metric, _ in median))
    print(f"  {'':<44} {'loopback':>10} {'throttled':>10}   target")
    for metric in metrics:
        cells = [shown(metric, median.get((metric, network))) for network in NETWORKS]
        print(
            f"  {metric:<44} {cells[0]:>10} {cells[1]:>10}   "
            f"{TARGETS.get(metric.split(' ')[0], '')}"
        )
    for note in notes:
        print(f"  note: {note}")


def shown(metric: str, value: float | None) -> str:
    if value is None:
        return "-"
    if metric.startswith("kb_") or metric.endswith("_kb"):
        return f"{value:.1f} KB"
    if metric.endswith("_mb"):
        return f"{value:.2f} MB"
    if metric.endswith("_ms"):
        return f"{value:.0f} ms"
    return f"{value:.2f} x"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", type=Path, default=ROOT / "output")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--port", type=int, default=8104)
    parser.add_argument(
        "--hover-ms",
        type=int,
        default=300,
        help="how long the pointer rests on Run before the 'hover' click",
    )
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
