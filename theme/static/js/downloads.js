// Counted downloads for the Python runtime: the status bar shows real bytes, and the runtime
// receives the very responses we counted, so nothing is fetched twice.

export class Downloads {
  constructor(onProgress) {
    this.onProgress = onProgress;
    this.waiting = new Map(); // absolute URL -> Promise<Response> not yet handed out
    this.loaded = 0;
    this.total = 0;
    this.unsized = 0; // responses without an honest size: the total is then unknown
    this.pendingHeaders = 0;
    this.lastReport = 0;
  }

  start(url) {
    this.pendingHeaders += 1;
    const response = fetch(url).then((res) => {
      this.pendingHeaders -= 1;
      this.count(res);
      return res;
    });
    this.waiting.set(new URL(url, self.location.href).href, response);
    return response;
  }

  count(res) {
    const length = Number(res.headers.get("content-length"));
    // With content-encoding the header counts compressed bytes but the body yields more.
    if (res.ok && length > 0 && !res.headers.get("content-encoding")) this.total += length;
    else this.unsized += 1;
    if (!res.body) return;
    // Reading a clone counts bytes as they arrive while the original stays untouched for
    // its consumer (and keeps its URL, which Chromium's wasm code cache keys on).
    const reader = res.clone().body.getReader();
    const pump = () => reader.read().then(({ done, value }) => {
      if (done) return this.report(true);
      this.loaded += value.byteLength;
      this.report(false);
      return pump();
    });
    pump().catch(() => {});
  }

  report(force) {
    const now = performance.now();
    if (!force && now - this.lastReport < 100) return;
    this.lastReport = now;
    const known = this.pendingHeaders === 0 && this.unsized === 0;
    this.onProgress(this.loaded, known ? Math.max(this.total, this.loaded) : 0);
  }

  // Route the runtime's own fetches of these URLs to the responses already under way.
  // Gives a function that puts the real fetch back.
  serveFetches() {
    const realFetch = globalThis.fetch;
    globalThis.fetch = (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      const href = new URL(url, self.location.href).href;
      const waiting = this.waiting.get(href);
      if (waiting && !(init && init.integrity)) {
        this.waiting.delete(href);
        return waiting;
      }
      return realFetch(input, init);
    };
    return () => {
      globalThis.fetch = realFetch;
    };
  }
}
