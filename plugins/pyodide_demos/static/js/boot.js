// Starting the Python worker, kept tiny so the entry module can call it on the reader's
// first reach for a demo's controls, before the rest of the runner has arrived.

// Give the promise of the site's manifest (param specs, runtime and wheel locations).
export function fetchManifest(manifestURL) {
  return fetch(manifestURL).then((response) => {
    if (!response.ok) throw new Error(`the demo manifest answered ${response.status}`);
    return response.json();
  });
}

// Give {worker, id, interrupt, early, manifest}: a module worker already told to boot.
// `early` keeps what the worker says until the page's client takes it over. Without a
// `manifest` promise the worker is told to boot at once and fetches the manifest itself,
// off this thread, which is busy setting up the runner meanwhile; it hands the page a copy
// (on its failure the page asks for itself, and says what went wrong).
export function startWorker(manifestURL, id, manifest = null) {
  // An interrupt buffer stops Python in place; it needs SharedArrayBuffer, which only a
  // cross-origin-isolated page has. Elsewhere Stop means terminate and start afresh.
  const interrupt = globalThis.crossOriginIsolated
    ? new Int8Array(new SharedArrayBuffer(1)) : null;
  const worker = new Worker(new URL("./worker.js", import.meta.url),
    { type: "module", name: "python" });
  const early = [];
  worker.onmessage = (event) => early.push(event);
  worker.onerror = (event) => early.push(event);
  // A test (or a site) may shorten how long a silent download is waited for.
  const stallMs = Number(document.documentElement.dataset.demoStallMs) || 0;
  // With the site's service worker in charge, the runtime's files come from its cache.
  const cached = Boolean(globalThis.navigator?.serviceWorker?.controller);
  const init = (data) => worker.postMessage({ type: "init", id, manifestURL, manifest: data,
    interrupt: interrupt && interrupt.buffer, stallMs, cached });
  if (manifest) {
    manifest.then(init, () => init(undefined)); // the worker then fetches it and reports
  } else {
    init(undefined);
    manifest = new Promise((resolve) => {
      const heard = (event) => {
        const msg = event.data;
        const said = msg?.id === id && (msg.type === "manifest" || msg.type === "error");
        if (event.type === "message" && !said) return;
        worker.removeEventListener("message", heard);
        worker.removeEventListener("error", heard);
        resolve(msg?.type === "manifest" ? msg.manifest : fetchManifest(manifestURL));
      };
      worker.addEventListener("message", heard);
      worker.addEventListener("error", heard);
    });
  }
  return { worker, id, interrupt, early, manifest };
}
