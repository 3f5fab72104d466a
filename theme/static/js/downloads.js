// Counted downloads for the Python runtime: the status bar shows real bytes, and the runtime
// receives the very responses we counted, so nothing is fetched twice.
//
// XMLHttpRequest counts natively: its progress events come a few times a second whatever
// the chunking. Counting a fetch means reading a clone of each body chunk by chunk in this
// worker, which measurably slowed the runtime's own start on a busy machine.

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

  // Give the promise of a Response for `url`, whole in memory once it settles.
  start(url) {
    const href = new URL(url, self.location.href).href;
    this.pendingHeaders += 1;
    const response = new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      let seen = 0; // bytes of this download counted so far
      xhr.open("GET", href);
      xhr.responseType = "arraybuffer";
      xhr.onreadystatechange = () => {
        if (xhr.readyState === XMLHttpRequest.HEADERS_RECEIVED) this.sized(xhr);
      };
      xhr.onprogress = (event) => {
        this.loaded += event.loaded - seen;
        seen = event.loaded;
        this.report(false);
      };
      xhr.onload = () => {
        this.loaded += xhr.response.byteLength - seen;
        this.report(true);
        try {
          resolve(new Response(xhr.response,
            { status: xhr.status, statusText: xhr.statusText, headers: headersOf(xhr) }));
        } catch (err) {
          reject(err); // a status no Response may carry
        }
      };
      xhr.onerror = () => reject(new TypeError(`the download of ${href} failed`));
      xhr.send();
    });
    this.waiting.set(href, response);
    return response;
  }

  sized(xhr) {
    this.pendingHeaders -= 1;
    const length = Number(xhr.getResponseHeader("content-length"));
    // With content-encoding the header counts compressed bytes but the body yields more.
    const plain = xhr.status === 200 && !xhr.getResponseHeader("content-encoding");
    if (plain && length > 0) this.total += length;
    else this.unsized += 1;
  }

  // A download only import() can make (the runtime's script must run as a module, straight
  // from its URL): its size counts once `done` settles, from the browser's resource timing.
  expect(url, done) {
    const href = new URL(url, self.location.href).href;
    this.unsized += 1;
    done.then(() => {
      // Zero when a cross-origin host withholds timing details: the total then falls short.
      const size = performance.getEntriesByName(href).at(-1)?.decodedBodySize ?? 0;
      this.unsized -= 1;
      this.loaded += size;
      this.total += size;
      this.report(true);
    }, () => {});
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

// The response headers of `xhr` (Content-Type matters: wasm compiles only as application/wasm).
function headersOf(xhr) {
  const headers = new Headers();
  for (const line of xhr.getAllResponseHeaders().split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  return headers;
}
