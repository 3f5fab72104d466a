// The site's service worker for the demos (written to the site's root by the build, with
// BUILD above this line): it keeps the Python runtime, the snapshot, the wheel and the
// manifest, whose names carry their version, so a second visit starts Python without
// downloading it and a demo loaded once runs offline. It never touches HTML (nor anything
// it was not told about), so new posts appear at once. A new build writes a new BUILD, the
// browser installs this worker again, and its activation drops the old build's cache.

const CACHE = BUILD.cache;
const PREFIX = "pyodide-demos-";
const scope = new URL(self.registration.scope);
// Files whose URL changes with their content: once cached, always right.
const VERSIONED = BUILD.versioned.map((path) => new URL(path, scope).href);
// The runner's own modules and styles: fresh from the network when there is one, from
// the cache when offline.
const ASSETS = BUILD.assets.map((path) => new URL(path, scope).href);

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    // One missing asset must not cost the whole worker: each is kept on its own.
    await Promise.allSettled(ASSETS.map((url) =>
      cache.add(new Request(url, { cache: "no-cache" }))));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith(PREFIX) && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET" || request.mode === "navigate") return;
  const url = request.url.split("#")[0];
  if (VERSIONED.some((prefix) => url.startsWith(prefix)) && !url.endsWith(".html")) {
    event.respondWith(cacheFirst(request));
  } else if (ASSETS.includes(url.split("?")[0])) {
    event.respondWith(networkFirst(request));
  }
});

// The page names the files it loaded before this worker was in charge (the lab's editor and
// sources when the Code view was opened early): the versioned ones among them are kept, so
// that what a reader opened once also opens offline.
self.addEventListener("message", (event) => {
  if (event.data?.type !== "keep" || !Array.isArray(event.data.urls)) return;
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    const wanted = event.data.urls.map((url) => String(url).split("#")[0])
      .filter((url) => VERSIONED.some((prefix) => url.startsWith(prefix))
        && !url.endsWith(".html"));
    await Promise.allSettled([...new Set(wanted)].map(async (url) => {
      if (!(await cache.match(url, { ignoreSearch: true }))) await cache.add(url);
    }));
  })());
});

async function cacheFirst(request) {
  const cache = await caches.open(CACHE);
  const kept = await cache.match(request, { ignoreSearch: true });
  // Code (the wasm, the scripts) goes out as the cache gave it: only such a response lets
  // the browser keep the compiled code for the next visit. Nobody reads its headers.
  if (kept && /\.(wasm|m?js)$/.test(new URL(request.url).pathname)) return kept;
  if (kept) return marked(kept);
  const response = await fetch(request);
  if (response.ok && response.type === "basic") await cache.put(request, response.clone());
  return response;
}

async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok && response.type === "basic") await cache.put(request, response.clone());
    return response;
  } catch (err) {
    const kept = await cache.match(request, { ignoreSearch: true });
    if (kept) return marked(kept);
    throw err;
  }
}

// A kept response says so (x-demos-cache: hit), so the runner can tell a repeat visit. Its
// body goes on as the cache's blob: a stream would pass every byte through this worker
// (the inflated snapshot is 25 MB).
async function marked(response) {
  const headers = new Headers(response.headers);
  headers.set("x-demos-cache", "hit");
  return new Response(await response.blob(), { status: response.status,
    statusText: response.statusText, headers });
}
