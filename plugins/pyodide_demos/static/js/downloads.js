// Counted, watched downloads for the Python runtime: the status bar shows real bytes, every
// failure (an error status, a cut connection, a stall, a wasm file that is not wasm) ends
// the boot with a message naming the file, and the runtime receives the very bytes we
// counted, so nothing is fetched twice.
//
// XMLHttpRequest counts natively: its progress events come a few times a second whatever
// the chunking. Counting a fetch means reading a clone of each body chunk by chunk in this
// worker, which measurably slowed the runtime's own start on a busy machine.

export const STALL_MS = 15000;

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d]; // "\0asm"
const GZIP_MAGIC = [0x1f, 0x8b];
const realFetch = globalThis.fetch; // serveFetches() replaces the global one for a while

// A runtime file that did not arrive whole; the message names the file and what happened.
export class DownloadError extends Error {
  constructor(message) {
    super(message);
    this.name = "DownloadError";
  }
}

// The last part of a URL's path, the name a reader can look for on the host.
export function fileName(url) {
  return new URL(url).pathname.split("/").filter(Boolean).pop() || url;
}

export class Downloads {
  // `stallMs`: how long a download may go without a byte before it is given up.
  constructor(onProgress, stallMs = STALL_MS) {
    this.onProgress = onProgress;
    this.stallMs = stallMs;
    this.bodies = new Map(); // absolute URL -> Promise<{buffer, status, statusText, headers}>
    this.loaded = 0;
    this.total = 0;
    this.unsized = 0; // responses without an honest size: the total is then unknown
    this.pendingHeaders = 0;
    this.lastReport = 0;
    this.lastActivity = performance.now(); // any byte or header on any download
    this.fromCache = 0; // responses the site's service worker answered from its cache
    this.timers = new Set();
    // The first failure of any download: the boot races against it, so a broken file ends
    // the loading at once instead of leaving the runtime waiting for it.
    this.failure = new Promise((_, reject) => { this.fail = reject; });
    this.failure.catch(() => {});
    this.failed = null;
    this.kept = new Map(); // absolute URL -> Blob of bytes to cache for the next visit
    this.standIns = new Map(); // absolute URL -> () => Response, for the runtime's fetches
  }

  // Answer the runtime's fetches of `url` with `make()` (see serveFetches): for files whose
  // bytes reach the runtime another way, or not at boot.
  standIn(url, make) {
    this.standIns.set(new URL(url, self.location.href).href, make);
  }

  note(err) {
    this.failed ??= err;
    this.fail(err);
    return err;
  }

  // Give the promise of a Response for `url`, whole in memory once it settles.
  start(url) {
    const href = new URL(url, self.location.href).href;
    const name = fileName(href);
    this.pendingHeaders += 1;
    const body = new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      let seen = 0; // bytes of this download counted so far
      let sized = false;
      let stalled = false;
      let last = performance.now();
      const timer = setInterval(() => {
        if (performance.now() - last < this.stallMs) return;
        stalled = true;
        xhr.abort();
      }, Math.min(1000, this.stallMs / 4));
      this.timers.add(timer);
      const done = () => {
        clearInterval(timer);
        this.timers.delete(timer);
        if (!sized) this.sized(null);
      };
      const alive = () => {
        last = performance.now();
        this.lastActivity = last;
      };
      xhr.open("GET", href);
      xhr.responseType = "arraybuffer";
      xhr.onreadystatechange = () => {
        alive();
        if (xhr.readyState === XMLHttpRequest.HEADERS_RECEIVED && !sized) {
          sized = true;
          this.sized(xhr);
        }
      };
      xhr.onprogress = (event) => {
        alive();
        this.loaded += event.loaded - seen;
        seen = event.loaded;
        this.report(false);
      };
      xhr.onload = () => {
        done();
        if (xhr.status < 200 || xhr.status > 299) {
          const text = xhr.statusText ? ` ${xhr.statusText}` : "";
          reject(this.note(new DownloadError(`${name} answered ${xhr.status}${text}`)));
          return;
        }
        this.loaded += xhr.response.byteLength - seen;
        this.report(true);
        const headers = headersOf(xhr);
        if (headers.get("x-demos-cache") === "hit") this.fromCache += 1;
        try {
          resolve({ buffer: xhr.response, status: xhr.status, statusText: xhr.statusText,
            headers: name.endsWith(".wasm") ? wasmHeaders(name, xhr.response, headers) : headers });
        } catch (err) {
          reject(this.note(err));
        }
      };
      xhr.onerror = () => {
        done();
        reject(this.note(new DownloadError(
          `${name} could not be downloaded: the connection failed or was cut off`)));
      };
      xhr.onabort = () => {
        done();
        reject(this.note(new DownloadError(stalled
          ? `${name} stalled: nothing arrived for ${Math.round(this.stallMs / 1000)} s`
          : `${name} was cancelled`)));
      };
      xhr.send();
    });
    body.catch(() => {});
    this.bodies.set(href, body);
    return body.then(toResponse);
  }

  // Give the promise that the bytes at `url`, gunzipped as they stream in when they are gzip
  // (a host may have undone the compression already, saying Content-Encoding), have all
  // gone to `sink(chunk)` in order. Counted and watched like the rest, but its failure
  // does not end the boot: the caller has a way without it (the snapshot's is a normal
  // boot). An error `sink` throws ends the download and is what the promise rejects with.
  // `keepAs`: keep the plain bytes for the next visit under that URL with that type,
  // instead of the bytes as served.
  async inflate(url, keepAs, sink) {
    const opened = this.open(url);
    let refused = null;
    try {
      const { plain, keep } = await opened.plain(keepAs);
      const reader = plain.getReader();
      for (let part = await reader.read(); !part.done; part = await reader.read()) {
        try {
          sink(part.value);
        } catch (err) {
          refused = err;
          reader.cancel().catch(() => {});
          throw err;
        }
      }
      this.report(true);
      keep();
    } catch (err) {
      throw refused ?? opened.explain(err);
    } finally {
      opened.close();
    }
  }

  // Give the promise of a Response streaming the WebAssembly at `url` (gunzipped on the way
  // when it is gzip), for WebAssembly.compileStreaming to compile as the bytes arrive.
  // Bytes that turn out not to be WebAssembly, or a download that fails at any point, end
  // the boot with a message naming the file. The plain bytes are kept under `keepAs.url`
  // for the next visit, where the service worker answers the plain file's URL.
  async wasm(url, keepAs) {
    const opened = this.open(url);
    const failed = (err) => this.note(opened.explain(err));
    try {
      const { plain, type, keep } = await opened.plain(keepAs);
      const [head, rest] = await peek(plain);
      if (head.length < 4 || WASM_MAGIC.some((byte, i) => head[i] !== byte)) {
        throw new DownloadError(`${opened.name} is not WebAssembly: the server sent ${type}`);
      }
      const watched = rest.pipeThrough(new TransformStream({
        flush: () => {
          this.report(true);
          opened.close();
          keep();
        },
      }));
      // An error in the middle of the stream reaches the compiler; the boot hears it here.
      const [body, tail] = watched.tee();
      tail.pipeTo(new WritableStream()).catch((err) => {
        failed(err);
        opened.close();
      });
      return new Response(body, { headers: { "content-type": "application/wasm" } });
    } catch (err) {
      opened.close();
      throw failed(err);
    }
  }

  // Start fetching `url`, counted and watched for stalls; give {name, plain(keepAs),
  // explain(err), close()}: plain() gives the body gunzipped when it is gzip, and keep(),
  // which files it for the next visit once read (the bytes as served, or the plain bytes
  // under keepAs.url).
  open(url) {
    const href = new URL(url, self.location.href).href;
    const name = fileName(href);
    const controller = new AbortController();
    let last = performance.now();
    let stalled = false;
    let closed = false;
    const timer = setInterval(() => {
      if (performance.now() - last < this.stallMs) return;
      stalled = true;
      controller.abort();
    }, Math.min(1000, this.stallMs / 4));
    this.timers.add(timer);
    this.pendingHeaders += 1;
    let sized = false;
    const close = () => {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      this.timers.delete(timer);
      if (!sized) this.pendingHeaders -= 1;
    };
    const explain = (err) => {
      if (err instanceof DownloadError) return err;
      if (stalled) {
        return new DownloadError(
          `${name} stalled: nothing arrived for ${Math.round(this.stallMs / 1000)} s`);
      }
      return new DownloadError(
        `${name} could not be downloaded: the connection failed or was cut off`);
    };
    const plain = async (keepAs) => {
      const response = await realFetch(href, { signal: controller.signal });
      sized = true;
      this.sizedResponse(response);
      if (!response.ok) {
        const text = response.statusText ? ` ${response.statusText}` : "";
        throw new DownloadError(`${name} answered ${response.status}${text}`);
      }
      const fromCache = response.headers.get("x-demos-cache") === "hit";
      if (fromCache) this.fromCache += 1;
      const type = response.headers.get("content-type") || "no type";
      const kept = []; // the bytes to cache for repeat visits
      const counted = response.body.pipeThrough(new TransformStream({
        transform: (chunk, out) => {
          if (!fromCache && !keepAs) kept.push(chunk);
          last = performance.now();
          this.lastActivity = last;
          this.loaded += chunk.byteLength;
          this.report(false);
          out.enqueue(chunk);
        },
      }));
      const [head, rest] = await peek(counted);
      const gzip = head.length >= 2 && GZIP_MAGIC.every((byte, i) => head[i] === byte);
      let body = gzip ? rest.pipeThrough(new DecompressionStream("gzip")) : rest;
      if (keepAs && !fromCache) {
        body = body.pipeThrough(new TransformStream({
          transform: (chunk, out) => {
            kept.push(chunk);
            out.enqueue(chunk);
          },
        }));
      }
      const keep = () => {
        if (fromCache) return;
        if (keepAs) this.kept.set(keepAs.url, new Blob(kept, { type: keepAs.type }));
        else this.kept.set(href, new Blob(kept, { type: type === "no type" ? "" : type }));
      };
      return { plain: body, type, keep };
    };
    return { name, plain, explain, close };
  }

  sizedResponse(response) {
    this.pendingHeaders -= 1;
    const length = Number(response.headers.get("content-length"));
    if (response.status === 200 && !response.headers.get("content-encoding") && length > 0) {
      this.total += length;
    } else {
      this.unsized += 1;
    }
  }

  sized(xhr) {
    this.pendingHeaders -= 1;
    if (!xhr) return;
    const length = Number(xhr.getResponseHeader("content-length"));
    // With content-encoding the header counts compressed bytes but the body yields more.
    const plain = xhr.status === 200 && !xhr.getResponseHeader("content-encoding");
    if (plain && length > 0) this.total += length;
    else this.unsized += 1;
  }

  // A download only import() can make (the runtime's scripts must run as modules, straight
  // from their URL): its size counts once `done` settles, from the browser's resource
  // timing. An import shows no progress, so it counts as stalled only when nothing at all
  // arrived on any download for the stall time; a failed import is explained by asking
  // the server for the file once more, since import() only says that it failed.
  expect(url, done) {
    const href = new URL(url, self.location.href).href;
    const name = fileName(href);
    this.unsized += 1;
    let settled = false;
    const watched = new Promise((resolve, reject) => {
      const timer = setInterval(() => {
        if (settled || performance.now() - this.lastActivity < this.stallMs) return;
        clearInterval(timer);
        reject(this.note(new DownloadError(
          `${name} stalled: nothing arrived for ${Math.round(this.stallMs / 1000)} s`)));
      }, Math.min(1000, this.stallMs / 4));
      this.timers.add(timer);
      done.then((module) => {
        settled = true;
        clearInterval(timer);
        this.lastActivity = performance.now();
        // Zero when a cross-origin host withholds timing details: the total then falls short.
        const size = performance.getEntriesByName(href).at(-1)?.decodedBodySize ?? 0;
        this.unsized -= 1;
        this.loaded += size;
        this.total += size;
        this.report(true);
        resolve(module);
      }, async (err) => {
        settled = true;
        clearInterval(timer);
        reject(this.note(await explain(href, err)));
      });
    });
    watched.catch(() => {});
    return watched;
  }

  report(force) {
    const now = performance.now();
    if (!force && now - this.lastReport < 100) return;
    this.lastReport = now;
    const known = this.pendingHeaders === 0 && this.unsized === 0;
    this.onProgress(this.loaded, known ? Math.max(this.total, this.loaded) : 0);
  }

  // Route the runtime's own fetches of these URLs to the bytes already under way. Each
  // fetch gets a fresh Response, so a second boot attempt (after a snapshot that would not
  // load) reads the same bytes again. Gives a function that puts the real fetch back.
  serveFetches() {
    const realFetch = globalThis.fetch;
    globalThis.fetch = (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      const href = new URL(url, self.location.href).href;
      const standIn = this.standIns.get(href);
      if (standIn) return Promise.resolve(standIn());
      const body = this.bodies.get(href);
      if (body && !(init && init.integrity)) return body.then(toResponse);
      return realFetch(input, init);
    };
    return () => {
      globalThis.fetch = realFetch;
    };
  }

  // Give [URL, Response] for every download that came from the network, as it was served,
  // once all have arrived: what the site's cache should keep for the next visit (of them
  // only the URLs `only`, when given).
  async fresh(only = null) {
    const entries = [...this.bodies].filter(([href]) => !only || only.includes(href));
    const bodies = await Promise.allSettled(entries.map(([, body]) => body));
    const fresh = [];
    entries.forEach(([href], i) => {
      const body = bodies[i].status === "fulfilled" ? bodies[i].value : null;
      if (body && body.headers.get("x-demos-cache") !== "hit") fresh.push([href, toResponse(body)]);
    });
    if (only) return fresh;
    for (const [href, blob] of this.kept) fresh.push([href, new Response(blob,
      { headers: { "content-type": blob.type || "application/octet-stream" } })]);
    return fresh;
  }

  stop() {
    for (const timer of this.timers) clearInterval(timer);
    this.timers.clear();
  }
}

// Give [the first chunk, a stream of the whole] of `stream`: a look at its first bytes.
async function peek(stream) {
  const reader = stream.getReader();
  const first = await reader.read();
  const head = first.done ? new Uint8Array(0) : first.value;
  const whole = new ReadableStream({
    start(controller) {
      if (head.length) controller.enqueue(head);
    },
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  return [head, whole];
}

function toResponse({ buffer, status, statusText, headers }) {
  return new Response(buffer, { status, statusText, headers });
}

// The headers to hand the runtime with a wasm file. Bytes that are not WebAssembly (a host's
// HTML error page sent with status 200) fail here with a message that says what came.
// Right bytes under a wrong MIME type still compile: the browser only insists on
// application/wasm for streaming compilation, and these bytes are already in memory.
function wasmHeaders(name, buffer, headers) {
  const head = new Uint8Array(buffer, 0, Math.min(4, buffer.byteLength));
  const type = headers.get("content-type") || "no type";
  if (head.length < 4 || WASM_MAGIC.some((byte, i) => head[i] !== byte)) {
    throw new DownloadError(`${name} is not WebAssembly: the server sent ${type}`);
  }
  if (!type.startsWith("application/wasm")) {
    console.warn(`${name} was served as ${type}; it should be application/wasm`);
    const fixed = new Headers(headers);
    fixed.set("content-type", "application/wasm");
    return fixed;
  }
  return headers;
}

// Why an import() failed, in words: ask for the file once more and report the status.
async function explain(href, err) {
  const name = fileName(href);
  try {
    const response = await fetch(href, { cache: "no-store" });
    if (!response.ok) {
      const text = response.statusText ? ` ${response.statusText}` : "";
      return new DownloadError(`${name} answered ${response.status}${text}`);
    }
    return new DownloadError(`${name} could not be loaded: ${String(err && err.message || err)}`);
  } catch {
    return new DownloadError(`${name} could not be downloaded: the connection failed or was cut off`);
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
