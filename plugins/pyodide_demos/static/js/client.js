// The page's side of the Python worker: one worker shared by every demo on the page,
// started on the reader's first intent. A stopped run ends at its next slice and the same
// warm Python takes the next one; only a run that does not yield (or a runtime that cannot)
// costs the worker, replaced by a fresh one.
import { fetchManifest, startWorker } from "./boot.js";

export const RUN_LIMIT_MS = 20000;
// How long a stopped run may take to reach its next slice before its worker is replaced.
export const STOP_GRACE_MS = 2000;

// A site (or a test) may set shorter limits: <html data-demo-run-limit-ms="5000">.
function runLimit() {
  return Number(document.documentElement.dataset.demoRunLimitMs) || RUN_LIMIT_MS;
}

function stopGrace() {
  return Number(document.documentElement.dataset.demoStopGraceMs) || STOP_GRACE_MS;
}

export class Stopped extends Error {
  // `restarting`: whether Python is being replaced (a fresh boot) rather than kept warm.
  constructor(reason, limit = 0, restarting = false) {
    super(reason);
    this.name = "Stopped";
    this.limit = limit; // the run limit that was hit, for reason "timeout"
    this.restarting = restarting;
  }
}

// Python could not start: a runtime file failed (the message names it) or the worker died.
export class BootError extends Error {
  constructor(message) {
    super(message);
    this.name = "BootError";
  }
}

// Tell the site's service worker, once it is active and again once it is in charge of the
// page, which files the page has loaded so far: what came before it (the lab's editor opened
// early) is then kept for offline visits too. The worker keeps only its versioned files.
function keepLoaded() {
  const container = globalThis.navigator?.serviceWorker;
  if (!container) return;
  const send = () => container.ready.then((registration) => registration.active?.postMessage({
    type: "keep", urls: performance.getEntriesByType("resource").map((entry) => entry.name) }));
  send().catch(() => {});
  container.addEventListener("controllerchange", () => send().catch(() => {}), { once: true });
}

// Ask the browser to keep the demos' runtime for the next visit and for offline runs: the
// site's service worker (named by the manifest) caches the versioned files, never HTML.
// Called once Python is up, so that it never competes with the first start.
function keepOffline(manifestURL, manifest) {
  const worker = manifest && manifest.offline && manifest.offline.serviceWorker;
  if (!worker || !("serviceWorker" in navigator)) return;
  navigator.serviceWorker.register(new URL(worker, manifestURL), { updateViaCache: "none" })
    .catch((err) => console.warn(`The demos' service worker was not registered: ${err}`));
}

export class PythonClient {
  // `started`: a worker the entry module already started (startWorker), or null.
  // `manifest`: gives the promise of the manifest, which each fresh worker is sent.
  constructor(manifestURL, started = null, manifest = () => fetchManifest(manifestURL)) {
    this.manifestURL = manifestURL;
    this.started = started;
    this.manifest = manifest;
    this.worker = null;
    this.ready = null; // Promise resolved with the boot time (ms) of the current worker
    this.nextId = 1;
    this.runs = new Map(); // id -> {demo, params, owner, resolve, reject, onStart, timer}
    this.listeners = new Set(); // progress listeners: ({stage, loaded, total}) => void
    this.bootCount = 0;
    this.isReady = false;
    this.bootMs = 0;
    this.bootReported = true; // the first result after a boot says how long the boot took
    this.interrupt = null; // the current worker's interrupt buffer, if the page may have one
    this.cooperative = false; // the current worker's runs stop at their next slice
    this.cancelling = new Map(); // id of a stopped run -> timer that replaces its worker
  }

  onProgress(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // Start the worker if none is running; give the promise of it being ready.
  start() {
    if (this.worker) return this.ready;
    this.bootCount += 1;
    const { worker, id, interrupt, early } = this.started ?? startWorker(this.manifestURL,
      this.nextId++, this.manifest());
    this.started = null;
    this.worker = worker;
    this.interrupt = interrupt;
    this.ready = new Promise((resolve, reject) => {
      const failed = (event) => {
        event.preventDefault();
        if (worker !== this.worker) return;
        const err = new BootError(event.message || "the Python worker failed to load");
        reject(err);
        this.failAll(err);
        this.discard();
      };
      const receive = (event) => this.receive(worker, event.data, id, resolve, reject);
      worker.onmessage = receive;
      worker.onerror = failed;
      early.splice(0).forEach((event) => (event.type === "error" ? failed : receive)(event));
    });
    this.ready.catch(() => {}); // callers see the failure through their own awaits
    return this.ready;
  }

  receive(worker, msg, initId, resolve, reject) {
    if (worker !== this.worker) return; // a stopped worker's last words
    if (msg.id === initId) {
      if (msg.type === "progress") this.listeners.forEach((fn) => fn(msg));
      else if (msg.type === "ready") {
        this.isReady = true;
        this.bootMs = msg.ms;
        this.cooperative = Boolean(msg.cooperative);
        // For whoever measures the page (bench/browser_bench.py): how the boot went.
        document.dispatchEvent(new CustomEvent("demo-python-ready", { detail: {
          ms: msg.ms, phases: msg.phases, cooperative: this.cooperative,
          snapshot: Boolean(msg.snapshot) } }));
        this.bootReported = false;
        resolve(msg.ms);
        this.manifest().then((manifest) => {
          keepOffline(this.manifestURL, manifest);
          if (manifest.offline) keepLoaded();
        }, () => {});
      }
      else if (msg.type === "error") {
        const err = new BootError(msg.error);
        reject(err);
        this.failAll(err);
        this.discard();
      }
      return;
    }
    if (this.cancelling.has(msg.id) && msg.type !== "started") {
      // A stopped run reached its slice's end: the worker is free, no need to replace it.
      clearTimeout(this.cancelling.get(msg.id));
      this.cancelling.delete(msg.id);
      return;
    }
    const run = this.runs.get(msg.id);
    if (!run) return;
    if (msg.type === "progress") { // a search's runs so far (lab.js)
      run.lab.onProgress?.(msg);
      return;
    }
    if (msg.type === "started") {
      run.started = true;
      run.onStart();
      const limit = run.lab.limit || runLimit();
      run.timer = setTimeout(() => this.stop(run.owner, "timeout", limit), limit);
      return;
    }
    this.runs.delete(msg.id);
    clearTimeout(run.timer);
    if (msg.type === "result") run.resolve(msg);
    else if (msg.stopped) run.reject(new Stopped("stop"));
    else run.reject(new Error(msg.error));
    this.flush(); // the owner's next request may be waiting for this one
  }

  // Run `demo` with `params` for `owner` (a figure); `onStart` fires when Python begins it.
  // The run is registered at once, so Stop also cancels a run still waiting for the boot.
  // Each owner has at most one run in the worker and one waiting: a newer request replaces
  // the waiting one, so quick edits do not pile up runs nobody will look at.
  // Where runs stop at a slice, a newer request also ends the owner's run in the worker.
  // `lab` (from lab.js): {source} runs the reader's protocol module instead of the demo's;
  // {type: "search", options, onProgress, limit} searches for a counterexample.
  run(owner, demo, params, onStart = () => {}, lab = {}) {
    for (const [id, run] of this.runs) {
      if (run.owner !== owner) continue;
      if (!run.sent) {
        this.runs.delete(id);
        run.reject(new Stopped("superseded"));
      } else if (this.cooperative) {
        this.cancel(id, run, "superseded");
      }
    }
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.runs.set(id, { demo, params, owner, resolve, reject, onStart, timer: 0,
        sent: false, started: false, lab });
      this.start().then(() => this.flush(), () => {});
    });
  }

  flush() {
    if (!this.worker || !this.isReady) return;
    const inWorker = new Set([...this.runs.values()].filter((r) => r.sent).map((r) => r.owner));
    for (const [id, run] of this.runs) {
      if (run.sent || inWorker.has(run.owner)) continue;
      run.sent = true;
      inWorker.add(run.owner);
      this.worker.postMessage({ type: run.lab.type ?? "run", id, demo: run.demo,
        params: run.params, source: run.lab.source, options: run.lab.options });
    }
  }

  busy(owner) {
    for (const run of this.runs.values()) if (run.owner === owner) return true;
    return false;
  }

  // Stop `owner`'s runs; give whether Python is being replaced (a fresh boot follows).
  // Other figures' runs are sent again to a fresh worker.
  stop(owner, reason = "stop", limit = 0) {
    const mine = [...this.runs].filter(([, run]) => run.owner === owner);
    if (!mine.length) return false; // nothing of this figure is running: keep the worker
    for (const [id, run] of mine) {
      if (run.sent) continue;
      this.runs.delete(id); // a waiting run just never goes
      run.reject(new Stopped(reason, limit));
    }
    const current = mine.find(([, run]) => run.sent);
    if (!current) return false;
    const [id, run] = current;
    if (this.cooperative) {
      this.cancel(id, run, reason, limit);
      return false;
    }
    if (this.interrupt && reason === "stop" && run.started) {
      this.interrupt[0] = 2; // SIGINT: Python raises KeyboardInterrupt, the worker stays warm
      return false;
    }
    clearTimeout(run.timer);
    this.runs.delete(id);
    run.reject(new Stopped(reason, limit, true));
    this.restart();
    return true;
  }

  // End run `id` in the worker at its next slice; the owner hears at once. Should the run
  // not reach a slice's end within the grace period (it is somewhere that does not yield),
  // its worker is replaced after all.
  cancel(id, run, reason, limit = 0) {
    clearTimeout(run.timer);
    this.runs.delete(id);
    run.reject(new Stopped(reason, limit));
    this.worker.postMessage({ type: "cancel", id });
    const worker = this.worker;
    this.cancelling.set(id, setTimeout(() => {
      this.cancelling.delete(id);
      if (worker === this.worker) this.restart();
    }, stopGrace()));
    this.flush();
  }

  // Replace the worker: runs still wanted go to the fresh one, which boots in the background
  // so the next Run waits less.
  restart() {
    for (const other of this.runs.values()) {
      clearTimeout(other.timer);
      other.sent = false;
      other.started = false;
    }
    this.discard();
    this.start().then(() => this.flush(), () => {});
  }

  discard() {
    if (this.worker) this.worker.terminate();
    this.worker = null;
    this.ready = null;
    this.isReady = false;
    this.cooperative = false;
    for (const timer of this.cancelling.values()) clearTimeout(timer);
    this.cancelling.clear();
  }

  failAll(err) {
    for (const run of this.runs.values()) {
      clearTimeout(run.timer);
      run.reject(err);
    }
    this.runs.clear();
  }
}
