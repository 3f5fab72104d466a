// The page's Python: a module worker that boots Pyodide once, installs the demos wheel once,
// and answers {type, id, ...} messages (see WEB.md, "Worker protocol").
import { Downloads } from "./downloads.js";

// Set before any await: a message that arrives while the module is still awaiting is lost.
self.onmessage = (event) => handle(event.data);

let booting = null; // Promise of the run function, once "init" arrived
let interrupt = null; // Int8Array over a SharedArrayBuffer, only when crossOriginIsolated

const RUNNER = `
import json
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

async function boot({ id, manifestURL }) {
  const start = performance.now();
  const manifest = await (await fetch(manifestURL)).json();
  const indexURL = new URL(manifest.runtime.indexURL, manifestURL).href.replace(/\/?$/, "/");
  const wheelURL = new URL(manifest.wheel, manifestURL).href;
  const progress = (stage, loaded, total) =>
    self.postMessage({ type: "progress", id, stage, loaded, total });

  // Start every big download at once so the total is known early and bytes are counted
  // as they arrive; loadPyodide then gets these same responses instead of fetching again.
  const downloads = new Downloads((loaded, total) => progress("download", loaded, total));
  for (const name of ["pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json"]) {
    downloads.start(indexURL + name);
  }
  const asm = downloads.start(indexURL + "pyodide.asm.js");
  const wheel = downloads.start(wheelURL);
  const restoreFetch = downloads.serveFetches();
  try {
    // Time marks of the boot (ms since it began), for the benchmark's breakdown.
    const phases = { manifest: Math.round(performance.now() - start) };
    const mark = (name) => { phases[name] = Math.round(performance.now() - start); };
    await defineRuntimeScript(asm);
    mark("script");
    const { loadPyodide } = await import(indexURL + "pyodide.mjs");
    const pyodide = await loadPyodide({ indexURL });
    mark("runtime");
    progress("install", 0, 0);
    if (interrupt) pyodide.setInterruptBuffer(interrupt);
    const sitePackages = pyodide.runPython(
      "import sysconfig; sysconfig.get_paths()['purelib']");
    pyodide.unpackArchive(await (await wheel).arrayBuffer(), "wheel",
      { extractDir: sitePackages });
    mark("wheel");
    const namespace = pyodide.globals.get("dict")();
    pyodide.runPython(RUNNER, { globals: namespace });
    const run = namespace.get("run_for_browser");
    mark("imported");
    return { run, phases, ms: Math.round(performance.now() - start) };
  } finally {
    restoreFetch();
  }
}

// pyodide.asm.js is a classic script that loadPyodide would import() itself, outside any
// fetch we can count. Evaluating our counted copy first defines _createPyodideModule, so
// loadPyodide skips its own download.
async function defineRuntimeScript(responsePromise) {
  try {
    const code = await (await responsePromise).text();
    const blobURL = URL.createObjectURL(new Blob([code], { type: "text/javascript" }));
    try {
      await import(blobURL);
    } finally {
      URL.revokeObjectURL(blobURL);
    }
  } catch {
    // A page policy may forbid blob: modules; loadPyodide then loads the script itself.
  }
}

// A Python exception's message is the whole traceback; the reader needs its last line.
function lastLine(err) {
  const text = String(err && err.message ? err.message : err);
  const lines = text.split("\n").map((line) => line.trim()).filter(Boolean);
  return (lines.at(-1) || "unknown error").slice(0, 500);
}
