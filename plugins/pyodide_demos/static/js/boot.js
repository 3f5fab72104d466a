// Starting the Python worker, kept tiny so the entry module can call it on the reader's
// first reach for a demo's controls, before the rest of the runner has arrived.

// Give the promise of the site's manifest (param specs, runtime and wheel locations).
export function fetchManifest(manifestURL) {
  return fetch(manifestURL).then((response) => {
    if (!response.ok) throw new Error(`the demo manifest answered ${response.status}`);
    return response.json();
  });
}

// Ask the browser to keep the demos' runtime for the next visit and for offline runs: the
// site's service worker (named by the manifest) caches the versioned files, never HTML.
// Called once Python is up, so that it never competes with the first start.
export function keepOffline(manifestURL, manifest) {
  const worker = manifest && manifest.offline && manifest.offline.serviceWorker;
  if (!worker || !("serviceWorker" in navigator)) return;
  navigator.serviceWorker.register(new URL(worker, manifestURL), { updateViaCache: "none" })
    .catch((err) => console.warn(`The demos' service worker was not registered: ${err}`));
}

// Give {worker, id, interrupt, early, manifest}: a module worker already told to boot.
// `early` keeps what the worker says until the page's client takes it over; `manifest` is
// the promise the worker's init waits for, so the page need not fetch it again.
export function startWorker(manifestURL, id, manifest = fetchManifest(manifestURL)) {
  // An interrupt buffer stops Python in place; it needs SharedArrayBuffer, which only a
  // cross-origin-isolated page has. Elsewhere Stop means terminate and start afresh.
  const interrupt = globalThis.crossOriginIsolated
    ? new Int8Array(new SharedArrayBuffer(1)) : null;
  const worker = new Worker(new URL("./worker.js", import.meta.url),
    { type: "module", name: "python" });
  const early = [];
  worker.onmessage = (event) => early.push(event);
  worker.onerror = (event) => early.push(event);
  // The manifest travels while the worker's script does; the worker needs it first thing.
  // Without it the worker fetches the manifest itself and reports what goes wrong.
  // A test (or a site) may shorten how long a silent download is waited for.
  const stallMs = Number(document.documentElement.dataset.demoStallMs) || 0;
  // With the site's service worker in charge, the runtime's files come from its cache.
  const cached = Boolean(globalThis.navigator?.serviceWorker?.controller);
  const init = (data) => worker.postMessage({ type: "init", id, manifestURL, manifest: data,
    interrupt: interrupt && interrupt.buffer, stallMs, cached });
  manifest.then(init, () => init(undefined));
  return { worker, id, interrupt, early, manifest };
}
