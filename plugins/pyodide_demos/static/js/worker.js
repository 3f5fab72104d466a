// The page's Python: a module worker that boots Pyodide once (from the site's memory
// snapshot when there is one), puts the demos wheel on its path once, and answers
// {type, id, ...} messages. From the page: init {manifestURL, manifest, interrupt, stallMs,
// cached}; run {demo, params}; cancel (ends run `id` at its next slice). To the page:
// progress {stage, loaded, total} and ready {ms, phases, cooperative, snapshot} or error
// under init's id (first manifest {manifest} when init came without one); started, then
// result {ms, svg, summary, checks, params} or error {error, stopped} under a run's id.
// The lab (lab.js): a run with `source` (the reader's protocol module) answers a result that
// may instead hold {error, line} for a fault in that code; search {demo, options: {base,
// runs, seed}, source} answers progress {phase, runs, found} under its id, then a result
// {found: counterexample or null, runs} (or {error, line}).

// Set before any await: a message that arrives while the module is still awaiting is lost.
self.onmessage = (event) => handle(event.data);

// The downloads' module comes by import(), not by a static import, which the browser would
// fetch before running this script at all: this way the boot's first fetch (the manifest,
// when the page did not send it) goes out while that module is still on its way.
const downloadsModule = import("./downloads.js");
downloadsModule.catch(() => {}); // the boot awaits it and reports a failure
const snapshotModule = import("./snapshot.js");
snapshotModule.catch(() => {}); // likewise

const networkFetch = globalThis.fetch; // the boot routes the global one for a while
const SLICE_MS = 10;
const COLLECT_IDLE_MS = 250; // how long Python sits without a run before its garbage goes
// How long Python restored from a snapshot may sit without a run before the stdlib's zip
// is fetched anyway (for the lab, lazy imports and offline visits).
const STDLIB_IDLE_MS = 3000;
const STDLIB_AFTER_RUN_MS = 1000; // how long a run computes before it lets the worker hear messages
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
    if (queue.length) next();
    // Idle a while: the garbage of the runs so far is collected then, when no run waits
    // for it (runs keep the collector off, see browser_runner.run_in_slices). Not at once:
    // a Stop is often followed by the next Run within moments, which must not wait.
    else setTimeout(() => { if (working === null && !queue.length) runtime.runner.collect(); },
      COLLECT_IDLE_MS);
  }
}

async function runDemo({ runner, cooperative, stdlib }, msg) {
  // The lab imports more of the stdlib than the demos do: its runs wait for the zip. Its
  // searches make thousands of simulations, so they keep the garbage collector on.
  if (labTask(msg)) {
    runner.collect();
    stdlib.want();
    await stdlib.settled;
    stdlib.forget();
  }
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
  const call = async () => {
    if (cooperative) {
      // Between slices the event loop runs: a "cancel" for this run lands in `cancelled`.
      const pause = () => new Promise((resolve) => {
        turns.push(() => resolve(cancelled.has(msg.id)));
        turn.port2.postMessage(null);
      });
      return labTask(msg)
        ? await labCall(runner, msg, params, true).callPromising(...labArgs(msg, params), pause,
          SLICE_MS)
        : await runner.run_in_slices.callPromising(msg.demo, params, pause, SLICE_MS);
    }
    return labTask(msg) ? labCall(runner, msg, params, false)(...labArgs(msg, params))
      : runner.run_json(msg.demo, params);
  };
  try {
    let text;
    try {
      text = await call();
    } catch (err) {
      // A run that reached for a stdlib module the snapshot lacks, before the zip was in:
      // runs are deterministic and leave nothing behind, so it runs again once it is.
      if (stdlib.done || !/ImportError|ModuleNotFoundError/.test(lastLine(err))) throw err;
      console.warn(`A run waited for the Python stdlib (${lastLine(err)}).`);
      stdlib.want();
      await stdlib.settled;
      stdlib.forget();
      text = await call();
    }
    const ms = Math.round(performance.now() - start);
    self.postMessage({ type: "result", id: msg.id, ms, ...JSON.parse(text) });
    // The first run is out: once the page has drawn it, the line is free for the rest.
    setTimeout(stdlib.want, STDLIB_AFTER_RUN_MS);
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
  const [lib, { SnapshotExpander }, fetched] = await Promise.all([downloadsModule,
    snapshotModule, manifest ?? fetchJSON(manifestURL)]);
  if (!manifest) {
    manifest = fetched;
    self.postMessage({ type: "manifest", id, manifest }); // the page waits for it too
  }
  const { Downloads } = lib;
  const indexURL = new URL(manifest.runtime.indexURL, manifestURL).href.replace(/\/?$/, "/");
  const wheelURL = new URL(manifest.wheel, manifestURL).href;
  const wasmURL = indexURL + "pyodide.asm.wasm";
  const scriptURL = indexURL + "pyodide.asm.js";
  const stdlibURL = indexURL + "python_stdlib.zip";
  // A runtime the site hosts itself (an indexURL relative to the manifest) has a gzip'd copy
  // of its wasm beside it (plugins/pyodide_demos/runtime.py): a third of the bytes, inflated
  // here as they arrive. From the service worker's cache the plain file comes instead, by
  // its own URL, so the browser can keep its compiled code.
  const packed = !cached && !/^[a-z][a-z0-9+.-]*:/i.test(manifest.runtime.indexURL);
  const progress = (stage, loaded, total) =>
    self.postMessage({ type: "progress", id, stage, loaded, total });
  const downloads = new Downloads((loaded, total) => progress("download", loaded, total),
    stallMs || undefined);

  // Every download starts at once, counted as it arrives; loadPyodide then gets these same
  // bytes instead of fetching again. The runtime's script defines _createPyodideModule, so
  // loadPyodide skips its own copy of it. It comes as it is, by import(): the browser parses
  // a module from the network off this thread while the snapshot inflates here (a gzip'd
  // copy, 0.22 MB against 1.07, parsed from a blob here, made the first click ~90 ms slower
  // on loopback).
  const script = import(scriptURL);
  const loader = import(indexURL + "pyodide.mjs");
  for (const pending of [script, loader]) pending.catch(() => {}); // both awaited below
  const scriptWatched = downloads.expect(scriptURL, script);
  const loaderWatched = downloads.expect(indexURL + "pyodide.mjs", loader);
  // The wasm compiles while it streams in, and while the snapshot does; the runtime is then
  // handed the compiled module (see withModule).
  const compiled = compileRuntime(lib, downloads, wasmURL, { packed, cached });
  compiled.catch((err) => downloads.note(err));
  // The snapshot holds Python already started with the demos imported: a sparse copy of
  // its memory, laid into place as it inflates. The cache keeps it inflated (under its own
  // name: the worker takes either), which spares a repeat visit the inflating.
  const snapshotURL = manifest.snapshot && new URL(manifest.snapshot, manifestURL).href;
  const expander = snapshotURL ? new SnapshotExpander() : null;
  const snapshot = snapshotURL
    ? downloads.inflate(snapshotURL, { url: snapshotURL, type: "application/octet-stream" },
      (chunk) => expander.push(chunk)).then(() => expander.finish())
    : null;
  snapshot?.catch((err) => expander.fail(err)); // a normal boot follows when it fails
  downloads.start(indexURL + "pyodide-lock.json");
  const wheel = downloads.start(wheelURL);
  // Python restored from the snapshot runs the demos without the stdlib's zip (the snapshot
  // imported what they use), so the zip is fetched once the first run is done (or the lab
  // or a lazy import needs it, or Python sat idle for a while), rather than sharing the
  // line with the boot's own bytes; a normal boot needs it at once.
  let stdlib = null;
  const fetchStdlib = () => (stdlib ??= downloads.start(stdlibURL));
  let wantStdlib = () => {};
  const stdlibWanted = new Promise((resolve) => { wantStdlib = resolve; });
  if (snapshot) {
    downloads.standIn(`${stdlibURL}?later`, () => new Response(new Uint8Array(0)));
  } else {
    fetchStdlib();
  }
  // The runtime asks for the wasm itself too; it gets the module compiled above instead.
  downloads.standIn(wasmURL, () => new Response(new Uint8Array(0),
    { headers: { "content-type": "application/wasm" } }));
  const restoreFetch = downloads.serveFetches();
  // A download that fails ends the boot at once, whatever the runtime is waiting for.
  const orFail = (promise) => Promise.race([promise, downloads.failure]);
  try {
    // Time marks of the boot (ms since it began), for the benchmark's breakdown.
    const phases = { manifest: Math.round(performance.now() - start) };
    const mark = (name) => { phases[name] = Math.round(performance.now() - start); };
    compiled.then(() => mark("compiled"), () => {});
    snapshot?.then(() => mark("snapshot"), () => {});
    await orFail(scriptWatched);
    const { loadPyodide } = await orFail(loaderWatched);
    mark("script");
    let pyodide = null;
    if (snapshot) {
      try {
        // The runtime gets the snapshot's memory as soon as its size is known (the first
        // bytes in), so that its script sets itself up and its wasm is instantiated while
        // the rest streams in; it gets the instance once every run is in place.
        const filled = snapshot.then(plausible);
        filled.catch(() => {}); // awaited by the instantiation
        pyodide = await orFail(withModule(compiled, mark, async (trampoline) => {
          const memory = await expander.sized;
          const restored = await loadPyodide({ indexURL, _loadSnapshot: memory,
            stdLibURL: `${stdlibURL}?later` });
          trampoline();
          return restored;
        }, filled));
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
      if (!pyodide) {
        fetchStdlib();
        pyodide = await orFail(withModule(compiled, mark, () => loadPyodide({ indexURL })));
      }
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
      collect: module.collect, lab: () => (lab ??= pyodide.pyimport("pyodide_demos_lab")) };
    mark("imported");
    const cooperative = await canYield(pyodide, module);
    // Where the restored Python looks for its stdlib (asked now, while no run is under way).
    const zipPath = fromSnapshot && pyodide.runPython(
      "import sys\nnext(p for p in sys.path if p.startswith('/lib/python') and p.endswith('.zip'))");
    const installed = fromSnapshot
      ? installLater(pyodide, stdlibWanted.then(fetchStdlib), zipPath) : Promise.resolve(true);
    setTimeout(wantStdlib, STDLIB_IDLE_MS);
    // Filling the cache copies tens of MB: it waits, like the stdlib, until the first run is
    // out, so as not to slow the reader's next clicks.
    const keep = async () => {
      await stdlibWanted;
      await keepForNextVisit(manifest, manifestURL, indexURL, downloads);
      // A snapshot boot's stdlib comes later; it joins the cache once it is in.
      if (fromSnapshot && await installed) {
        await keepForNextVisit(manifest, manifestURL, indexURL, downloads, [stdlibURL]);
      }
    };
    return { runner, cooperative, snapshot: fromSnapshot, phases, keep,
      stdlib: { ...watchStdlib(installed), want: wantStdlib,
        // An import tried while the zip was missing may have left no importer for it;
        // called between runs, never while one is paused. zipimport still holds the table
        // it read in Node from this very file, so nothing is read again.
        forget: () => {
          if (!zipPath) return;
          const names = pyodide.globals.get("dict")();
          names.set("zip", zipPath);
          pyodide.runPython("import sys\nsys.path_importer_cache.pop(zip, None)",
            { globals: names });
          names.destroy();
        } },
      ms: Math.round(performance.now() - start) };
  } finally {
    restoreFetch();
    downloads.stop();
    // What still downloads after the boot (the stdlib) is no loading for the page to show.
    downloads.onProgress = () => {};
  }
}

// Give the promise of the runtime's compiled wasm module. Compiling from a response that
// has a URL (the service worker's cached plain file) lets the browser keep the compiled code
// for the next visit; the gzip'd copy streams through DecompressionStream into the compiler;
// a runtime on another host is fetched as it is.
// `lib`: the downloads.js module.
async function compileRuntime(lib, downloads, wasmURL, { packed, cached }) {
  const { DownloadError, fileName } = lib;
  const name = fileName(wasmURL);
  let response;
  if (packed) {
    response = await downloads.wasm(`${wasmURL}.gz`, { url: wasmURL, type: "application/wasm" });
  } else if (cached) {
    response = await networkFetch(wasmURL);
    if (!response.ok) throw new DownloadError(`${name} answered ${response.status}`);
  } else {
    response = await downloads.start(wasmURL); // checked: WebAssembly with the right type
  }
  try {
    return await WebAssembly.compileStreaming(response);
  } catch (err) {
    throw downloads.failed ?? new DownloadError(`${name} did not compile: ${lastLine(err)}`);
  }
}

// Give what `boot(trampoline)` gives (`mark` notes when the module is instantiated), while
// the runtime, when it instantiates its wasm, gets
// the module `compiled` instead of compiling the bytes it fetched, and gets the instance
// only once `ready` (when given) has settled: its failure fails the boot in the making.
// `trampoline()` is for
// after a snapshot restore: the snapshot comes from Node, where CPython set up its calls to
// C without the browser's wasm features; its own set-up function (an import of the wasm
// module, caught here) runs again, so that calls stay inside wasm and a run can pause (see
// canYield).
async function withModule(compiled, mark, boot, ready = null) {
  const { instantiate, instantiateStreaming } = WebAssembly;
  let env = null;
  WebAssembly.instantiateStreaming = async function (source, imports) {
    if (imports?.env?._PyEM_InitTrampoline_js) env = imports.env;
    const module = await compiled;
    const instance = await instantiate.call(WebAssembly, module, imports);
    await ready;
    mark("instantiated");
    return { module, instance };
  };
  try {
    return await boot(() => env?._PyEM_InitTrampoline_js());
  } finally {
    Object.assign(WebAssembly, { instantiate, instantiateStreaming });
  }
}

// Give the promise that Python restored from a snapshot has the stdlib's zip in place at
// `zipPath`, the path its sys.path names (true), or that it never came (false).
async function installLater(pyodide, stdlib, zipPath) {
  try {
    const bytes = new Uint8Array(await (await stdlib).arrayBuffer());
    // Only the file system: no Python here, since a run may be paused at a slice.
    pyodide.FS.writeFile(zipPath, bytes);
    return true;
  } catch (err) {
    console.warn(`The Python stdlib did not arrive (${lastLine(err)}); `
      + "the demos run, code that imports more of it does not.");
    return false;
  }
}

// Give {settled, done}: `settled` the promise of `installing`, `done` whether it settled.
function watchStdlib(installing) {
  const state = { done: false, settled: installing };
  installing.finally(() => { state.done = true; });
  return state;
}

// Put what this boot downloaded into the site's cache, where its service worker answers
// from on the next visit (this visit's worker started before the service worker could), or
// of them only the URLs `only`:
// the plain wasm under its own URL, so the next visit compiles from there.
// The loader came by import(), so it is asked for once more (the browser's own cache
// usually has it).
async function keepForNextVisit(manifest, manifestURL, indexURL, downloads, only = null) {
  if (!manifest.offline || !self.caches) return;
  const cache = await caches.open(manifest.offline.cache);
  for (const [href, response] of await downloads.fresh(only)) await cache.put(href, response);
  if (only) return;
  for (const url of [indexURL + "pyodide.asm.js", indexURL + "pyodide.mjs", manifestURL]) {
    if (!(await cache.match(url))) await cache.add(url);
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
