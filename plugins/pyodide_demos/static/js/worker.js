// The page's Python: a module worker that boots Pyodide once (from the site's memory
// snapshot when there is one), puts the demos wheel on its path once, and answers
// {type, id, ...} messages. From the page: init {manifestURL, manifest, interrupt, stallMs,
// cached}; run {demo, params}; cancel (ends run `id` at its next slice). To the page:
// progress {stage, loaded, total} and ready {ms, phases, cooperative, snapshot} or error
// under init's id; started, then result {ms, svg, summary, checks, params} or error
// {error, stopped} under a run's id.
// The lab (lab.js): a run with `source` (the reader's protocol module) answers a result that
// may instead hold {error, line} for a fault in that code; search {demo, options: {base,
// runs, seed}, source} answers progress {phase, runs, found} under its id, then a result
// {found: counterexample or null, runs} (or {error, line}).

// Set before any await: a message that arrives while the module is still awaiting is lost.
self.onmessage = (event) => handle(event.data);

const SLICE_MS = 25; // how long a run computes before it lets the worker hear messages
// A message to ourselves is the quickest way round the event loop (a timer nested in
// timers waits at least 4 ms).
const turn = new MessageChannel();
const turns = [];
turn.port1.onmessage = () => turns.shift()?.();

let booting = null; // Promise of the runtime {runner, cooperative}, once "init" arrived
let interrupt = null; // Int8Array over a SharedArrayBuffer, only when crossOriginIsolated
const queue = []; // run messages waiting for Python, oldest first
const cancelled = new Set(); // ids of runs to stop (queued or at work)
let working = null; // the id of the run Python is at

// The wheel goes on sys.path as it is: zipimport reads its modules like the stdlib's own
// zip, so nothing is unpacked (and the zipfile machinery is never imported) before a run.
// A snapshot boot finds this already done, the modules imported; the file is written again
// because the file system is not part of the snapshot.
const RUNNER = `
import sys
if wheel_path not in sys.path:
    sys.path.insert(0, wheel_path)
import pyodide_demos_runner
pyodide_demos_runner.warm_up()
`;

function handle(msg) {
  if (msg.type === "init") {
    if (msg.interrupt) interrupt = new Int8Array(msg.interrupt);
    booting ??= boot(msg);
    booting.then(
      ({ ms, phases, cooperative, snapshot, keep }) => {
        self.postMessage({ type: "ready", id: msg.id, ms, phases, cooperative, snapshot });
        keep().catch((err) => console.warn(`The demos' files were not kept: ${err}`));
      },
      (err) => self.postMessage({ type: "error", id: msg.id, error: lastLine(err) }),
    );
  } else if (msg.type === "run" || msg.type === "search") {
    if (!booting) {
      self.postMessage({ type: "error", id: msg.id, error: "the worker got 'run' before 'init'" });
      return;
    }
    queue.push(msg);
    booting.then(next, () => {
      queue.splice(0).forEach(({ id }) =>
        self.postMessage({ type: "error", id, error: "Python did not start" }));
    });
  } else if (msg.type === "cancel") {
    const waiting = queue.findIndex((run) => run.id === msg.id);
    if (waiting >= 0) {
      queue.splice(waiting, 1);
      self.postMessage({ type: "error", id: msg.id, error: "stopped", stopped: true });
    } else if (working === msg.id) {
      cancelled.add(msg.id);
    }
  }
}

// Start the oldest waiting run unless Python is at one already.
async function next() {
  if (working !== null || !queue.length) return;
  const msg = queue.shift();
  working = msg.id;
  const runtime = await booting;
  try {
    await runDemo(runtime, msg);
  } finally {
    cancelled.delete(msg.id);
    working = null;
    next();
  }
}

async function runDemo({ runner, cooperative }, msg) {
  if (cancelled.has(msg.id)) { // stopped while it waited for the boot
    self.postMessage({ type: "error", id: msg.id, error: "stopped", stopped: true });
    return;
  }
  // Runs queue up behind each other; the page times a run from this message on.
  self.postMessage({ type: "started", id: msg.id });
  // A Stop meant for an earlier run must not interrupt this one.
  if (interrupt) interrupt[0] = 0;
  const start = performance.now();
  const params = JSON.stringify(msg.params);
  try {
    let text;
    if (cooperative) {
      // Between slices the event loop runs: a "cancel" for this run lands in `cancelled`.
      const pause = () => new Promise((resolve) => {
        turns.push(() => resolve(cancelled.has(msg.id)));
        turn.port2.postMessage(null);
      });
      text = labTask(msg)
        ? await labCall(runner, msg, params, true).callPromising(...labArgs(msg, params), pause,
          SLICE_MS)
        : await runner.run_in_slices.callPromising(msg.demo, params, pause, SLICE_MS);
    } else {
      text = labTask(msg) ? labCall(runner, msg, params, false)(...labArgs(msg, params))
        : runner.run_json(msg.demo, params);
    }
    const ms = Math.round(performance.now() - start);
    self.postMessage({ type: "result", id: msg.id, ms, ...JSON.parse(text) });
  } catch (err) {
    const error = lastLine(err);
    self.postMessage({ type: "error", id: msg.id, error,
      stopped: /^(KeyboardInterrupt|pyodide_demos_runner\.RunStopped|RunStopped)/.test(error) });
  }
}

// Whether `msg` is the lab's: the reader's own code, or a counterexample search.
function labTask(msg) {
  return msg.type === "search" || typeof msg.source === "string";
}

// Give the lab's Python function for `msg` (the sliced one where runs can pause).
function labCall(runner, msg, params, sliced) {
  const lab = runner.lab();
  if (msg.type === "search") return sliced ? lab.search_in_slices : lab.search;
  return sliced ? lab.run_edited_in_slices : lab.run_edited;
}

// Give the arguments the lab's functions take before (pause, slice): a search reports its
// progress to the page as it goes.
function labArgs(msg, params) {
  // undefined, not null: Pyodide turns JS null into jsnull, undefined into None.
  const source = typeof msg.source === "string" ? msg.source : undefined;
  if (msg.type !== "search") return [msg.demo, params, source];
  const report = (phase, runs, found) =>
    self.postMessage({ type: "progress", id: msg.id, phase, runs, found: Boolean(found) });
  return [msg.demo, JSON.stringify(msg.options ?? {}), source, report];
}

async function boot({ id, manifestURL, manifest, stallMs, cached }) {
  const start = performance.now();
  // The page usually sends the manifest along; the counting module comes meanwhile.
  const counting = import("./downloads.js");
  manifest ??= await fetchJSON(manifestURL);
  const indexURL = new URL(manifest.runtime.indexURL, manifestURL).href.replace(/\/?$/, "/");
  const wheelURL = new URL(manifest.wheel, manifestURL).href;
  const progress = (stage, loaded, total) =>
    self.postMessage({ type: "progress", id, stage, loaded, total });

  // The runtime's script is imported here and now, as loadPyodide would do it later: that
  // defines _createPyodideModule, so loadPyodide skips its own copy, and the script is
  // parsed while the data still streams in. It goes first: nothing compiles before it ran,
  // and a head start on the wire measurably beat starting the big wasm download with it.
  const script = import(indexURL + "pyodide.asm.js");
  const loader = import(indexURL + "pyodide.mjs");
  for (const pending of [script, loader]) pending.catch(() => {}); // both awaited below
  // Every data download starts at once, counted as it arrives; loadPyodide then gets these
  // same bytes instead of fetching again.
  const { Downloads } = await counting;
  const downloads = new Downloads((loaded, total) => progress("download", loaded, total),
    stallMs || undefined);
  const scriptWatched = downloads.expect(indexURL + "pyodide.asm.js", script);
  const loaderWatched = downloads.expect(indexURL + "pyodide.mjs", loader);
  // From the service worker's cache, the runtime fetches the wasm itself: compiled as it
  // streams from a response with a URL, which lets the browser keep the compiled code
  // for the next visit (bytes in memory get compiled afresh every time).
  if (!cached) downloads.start(indexURL + "pyodide.asm.wasm");
  // The snapshot holds Python already started with the demos imported; it is needed as
  // early as the wasm (its size sets the memory the module is made with).
  const snapshot = manifest.snapshot
    ? downloads.inflate(new URL(manifest.snapshot, manifestURL).href) : null;
  snapshot?.catch(() => {}); // a normal boot follows when it fails
  for (const name of ["python_stdlib.zip", "pyodide-lock.json"]) {
    downloads.start(indexURL + name);
  }
  const wheel = downloads.start(wheelURL);
  const restoreFetch = downloads.serveFetches();
  // A download that fails ends the boot at once, whatever the runtime is waiting for.
  const orFail = (promise) => Promise.race([promise, downloads.failure]);
  try {
    // Time marks of the boot (ms since it began), for the benchmark's breakdown.
    const phases = { manifest: Math.round(performance.now() - start) };
    const mark = (name) => { phases[name] = Math.round(performance.now() - start); };
    await orFail(scriptWatched);
    const { loadPyodide } = await orFail(loaderWatched);
    mark("script");
    let pyodide = null;
    if (snapshot) {
      try {
        pyodide = await orFail(restore(loadPyodide, indexURL, snapshot));
      } catch (err) {
        if (downloads.failed) throw downloads.failed;
        // Another browser or a mismatched runtime: a normal boot still gives the reader
        // their run; only whoever reads the console needs to know.
        console.warn(`The Python snapshot did not load (${lastLine(err)}); `
          + "starting Python without it.");
      }
    }
    const fromSnapshot = pyodide !== null;
    try {
      pyodide ??= await orFail(loadPyodide({ indexURL }));
    } catch (err) {
      throw downloads.failed ?? err; // the file that broke says more than the runtime
    }
    mark("runtime");
    progress("install", 0, 0);
    if (interrupt) pyodide.setInterruptBuffer(interrupt);
    const wheelPath = "/lib/" + wheelURL.split("/").pop();
    const wheelResponse = await orFail(wheel);
    pyodide.FS.writeFile(wheelPath, new Uint8Array(await wheelResponse.arrayBuffer()));
    const namespace = pyodide.globals.get("dict")();
    namespace.set("wheel_path", wheelPath);
    pyodide.runPython(RUNNER, { globals: namespace });
    const module = pyodide.pyimport("pyodide_demos_runner");
    let lab = null; // the lab's module, imported when a reader first runs their own code
    const runner = { run_json: module.run_json, run_in_slices: module.run_in_slices,
      lab: () => (lab ??= pyodide.pyimport("pyodide_demos_lab")) };
    mark("imported");
    const cooperative = await canYield(pyodide, module);
    const keep = () => keepForNextVisit(manifest, manifestURL, indexURL, downloads);
    return { runner, cooperative, snapshot: fromSnapshot, phases, keep,
      ms: Math.round(performance.now() - start) };
  } finally {
    restoreFetch();
    downloads.stop();
  }
}

// Put what this boot downloaded into the site's cache, where its service worker answers
// from on the next visit (this visit's worker started before the service worker could).
// The runtime's scripts came by import(), so they are asked for once more (the browser's
// own cache usually has them).
async function keepForNextVisit(manifest, manifestURL, indexURL, downloads) {
  if (!manifest.offline || !self.caches) return;
  const cache = await caches.open(manifest.offline.cache);
  for (const [href, response] of await downloads.fresh()) await cache.put(href, response);
  for (const url of [indexURL + "pyodide.asm.js", indexURL + "pyodide.mjs", manifestURL]) {
    if (!(await cache.match(url))) await cache.add(url);
  }
}

// Give Pyodide restored from `snapshot` (a promise of its bytes). The snapshot comes from
// Node, where CPython set up its calls to C without the browser's wasm features; its own
// set-up function (an import of the wasm module, caught as the module is made) runs again
// here, so that calls stay inside wasm and a run can pause (see canYield).
async function restore(loadPyodide, indexURL, snapshot) {
  const { instantiate, instantiateStreaming } = WebAssembly;
  let env = null;
  const keep = (imports) => {
    if (imports?.env?._PyEM_InitTrampoline_js) env = imports.env;
  };
  WebAssembly.instantiate = function (source, imports, ...rest) {
    keep(imports);
    return instantiate.call(this, source, imports, ...rest);
  };
  WebAssembly.instantiateStreaming = function (source, imports, ...rest) {
    keep(imports);
    return instantiateStreaming.call(this, source, imports, ...rest);
  };
  try {
    const bytes = await snapshot;
    plausible(bytes);
    const pyodide = await loadPyodide({ indexURL, _loadSnapshot: bytes });
    env?._PyEM_InitTrampoline_js();
    return pyodide;
  } finally {
    Object.assign(WebAssembly, { instantiate, instantiateStreaming });
  }
}

// Refuse bytes that cannot be a memory snapshot before the runtime sizes its memory by them
// (a few bytes of something else made it abort without ever settling). A snapshot is a
// header of 16-byte words whose second word is the header's length, then whole 64 KiB
// pages of memory.
function plausible(bytes) {
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, Math.min(2, bytes.length >> 2));
  const header = words.length === 2 ? words[1] : 0;
  const pages = (bytes.length - header) / 65536;
  if (!header || header % 16 || !Number.isInteger(pages) || pages < 16) {
    throw new Error(`${bytes.length} bytes that are not a memory snapshot`);
  }
}

// Whether runs can pause between slices: WebAssembly stack switching (JSPI), and CPython's
// wasm call trampoline in place (without it a suspension would meet JS frames and abort).
async function canYield(pyodide, runner) {
  const module = pyodide._module;
  if (!module?.jspiSupported || !module._PyEM_CountArgsPtr) return false;
  try {
    return await runner.can_yield.callPromising(() => Promise.resolve(1));
  } catch {
    return false;
  }
}

async function fetchJSON(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`the demo manifest answered ${response.status}`);
  return response.json();
}

// A Python exception's message is the whole traceback; the reader needs its last line.
function lastLine(err) {
  const text = String(err && err.message ? err.message : err);
  const lines = text.split("\n").map((line) => line.trim()).filter(Boolean);
  return (lines.at(-1) || "unknown error").slice(0, 500);
}
