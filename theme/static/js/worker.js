// The page's Python: a module worker that boots Pyodide once, puts the demos wheel on its
// path once, and answers {type, id, ...} messages (see WEB.md, "Worker protocol").

// Set before any await: a message that arrives while the module is still awaiting is lost.
self.onmessage = (event) => handle(event.data);

let booting = null; // Promise of the run function, once "init" arrived
let interrupt = null; // Int8Array over a SharedArrayBuffer, only when crossOriginIsolated

// The wheel goes on sys.path as it is: zipimport reads its modules like the stdlib's own
// zip, so nothing is unpacked (and the zipfile machinery is never imported) before a run.
const RUNNER = `
import json
import sys
sys.path.insert(0, wheel_path)
import demos

def run_for_browser(name, params_json):
    return json.dumps(demos.run(name, json.loads(params_json)).for_browser())
`;

function handle(msg) {
  if (msg.type === "init") {
    if (msg.interrupt) interrupt = new Int8Array(msg.interrupt);
    booting ??= boot(msg);
    booting.then(
      ({ ms, phases }) => self.postMessage({ type: "ready", id: msg.id, ms, phases }),
      (err) => self.postMessage({ type: "error", id: msg.id, error: lastLine(err) }),
    );
  } else if (msg.type === "run") {
    if (!booting) {
      self.postMessage({ type: "error", id: msg.id, error: "the worker got 'run' before 'init'" });
      return;
    }
    booting.then(({ run }) => runDemo(run, msg), () => {
      self.postMessage({ type: "error", id: msg.id, error: "Python did not start" });
    });
  }
}

function runDemo(run, msg) {
  // Runs queue up behind each other; the page times a run from this message on.
  self.postMessage({ type: "started", id: msg.id });
  // A Stop meant for an earlier run must not interrupt this one.
  if (interrupt) interrupt[0] = 0;
  const start = performance.now();
  try {
    const out = JSON.parse(run(msg.demo, JSON.stringify(msg.params)));
    const ms = Math.round(performance.now() - start);
    self.postMessage({ type: "result", id: msg.id, ms, ...out });
  } catch (err) {
    const error = lastLine(err);
    self.postMessage({ type: "error", id: msg.id, error,
      stopped: error.startsWith("KeyboardInterrupt") });
  }
}

async function boot({ id, manifestURL, manifest }) {
  const start = performance.now();
  // The page usually sends the manifest along; the counting module comes meanwhile.
  const counting = import("./downloads.js");
  manifest ??= await (await fetch(manifestURL)).json();
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
  // same responses instead of fetching again.
  const { Downloads } = await counting;
  const downloads = new Downloads((loaded, total) => progress("download", loaded, total));
  downloads.expect(indexURL + "pyodide.asm.js", script);
  for (const name of ["pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json"]) {
    downloads.start(indexURL + name);
  }
  const wheel = downloads.start(wheelURL);
  const restoreFetch = downloads.serveFetches();
  try {
    // Time marks of the boot (ms since it began), for the benchmark's breakdown.
    const phases = { manifest: Math.round(performance.now() - start) };
    const mark = (name) => { phases[name] = Math.round(performance.now() - start); };
    // Should our import fail, loadPyodide tries the script itself and reports what it meets.
    await script.catch(() => {});
    const { loadPyodide } = await loader; // its failure is the boot's error
    mark("script");
    const pyodide = await loadPyodide({ indexURL });
    mark("runtime");
    progress("install", 0, 0);
    if (interrupt) pyodide.setInterruptBuffer(interrupt);
    const wheelPath = "/lib/" + wheelURL.split("/").pop();
    const wheelResponse = await wheel;
    if (!wheelResponse.ok) throw new Error(`the demos wheel answered ${wheelResponse.status}`);
    pyodide.FS.writeFile(wheelPath, new Uint8Array(await wheelResponse.arrayBuffer()));
    const namespace = pyodide.globals.get("dict")();
    namespace.set("wheel_path", wheelPath);
    pyodide.runPython(RUNNER, { globals: namespace });
    const run = namespace.get("run_for_browser");
    mark("imported");
    return { run, phases, ms: Math.round(performance.now() - start) };
  } finally {
    restoreFetch();
  }
}

// A Python exception's message is the whole traceback; the reader needs its last line.
function lastLine(err) {
  const text = String(err && err.message ? err.message : err);
  const lines = text.split("\n").map((line) => line.trim()).filter(Boolean);
  return (lines.at(-1) || "unknown error").slice(0, 500);
}
