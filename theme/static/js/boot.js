// Starting the Python worker, kept tiny so the entry module can call it on the reader's
// first reach for a demo's controls, before the rest of the runner has arrived.

// Give {worker, id, interrupt, early}: a module worker already told to boot. `early` keeps
// what the worker says until the page's client takes it over.
export function startWorker(manifestURL, id) {
  // An interrupt buffer stops Python in place; it needs SharedArrayBuffer, which only a
  // cross-origin-isolated page has. Elsewhere Stop means terminate and start afresh.
  const interrupt = globalThis.crossOriginIsolated
    ? new Int8Array(new SharedArrayBuffer(1)) : null;
  const worker = new Worker(new URL("./worker.js", import.meta.url),
    { type: "module", name: "python" });
  const early = [];
  worker.onmessage = (event) => early.push(event);
  worker.onerror = (event) => early.push(event);
  worker.postMessage({ type: "init", id, manifestURL, interrupt: interrupt && interrupt.buffer });
  return { worker, id, interrupt, early };
}
