// A run as a link: each figure's changed params live in the URL fragment, and where its
// cursor stands as at=<ms> (when not where the figure starts),
//   #demo-raft-1:seed=3&faults=crash%20n1%401000&at=2500;demo-clocks-1:processes=4
// A prose link `#demo-calm:at=2500` names only a moment: the figure moves there, no run.
// Figures are split by ";" and params by "&"; values are percent-encoded, so neither
// separator can occur inside one.

// demo-<demo module name>-<n>: module names may hold "_" (vector_clocks).
const FIGURE_ID = /^demo-[a-z0-9_-]{1,60}$/;

// Give Map(figure id -> raw query text) for the demo entries of `hash`.
export function readFragment(hash) {
  const entries = new Map();
  const text = hash.replace(/^#/, "");
  if (!text) return entries;
  for (const part of text.split(";")) {
    const colon = part.indexOf(":");
    const id = colon > 0 ? part.slice(0, colon) : "";
    if (FIGURE_ID.test(id)) entries.set(id, part.slice(colon + 1));
  }
  return entries;
}

// Give [name, value] pairs from a figure's query text; throw on text that is not one.
export function parsePairs(query) {
  const pairs = [];
  for (const item of query.split("&")) {
    if (!item) continue;
    const eq = item.indexOf("=");
    const name = eq > 0 ? item.slice(0, eq) : item;
    if (!/^[a-z_][a-z0-9_]{0,40}$/.test(name) || eq < 0) {
      throw new Error("the link holds a parameter this demo does not have");
    }
    try {
      pairs.push([name, decodeURIComponent(item.slice(eq + 1))]);
    } catch {
      throw new Error(`the link's value for ${name} is not valid percent-encoding`);
    }
  }
  return pairs;
}

// Put figure `id`'s changed params into the fragment (none: drop its entry).
export function writeFragment(id, pairs) {
  const entries = readFragment(location.hash);
  entries.delete(id);
  if (pairs.length) {
    entries.set(id, pairs.map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`).join("&"));
  }
  const hash = [...entries].map(([key, query]) => `${key}:${query}`).join(";");
  const url = location.pathname + location.search + (hash ? `#${hash}` : "");
  // The same link again (a rerun with the same params, a Reset of a figure not in it) is
  // no change: replaceState costs several ms, each time.
  if (new URL(url, location.href).href === location.href) return;
  // replaceState: no scroll jump, no history entry per run, no hashchange event.
  history.replaceState(history.state, "", url);
}

// Give [the pairs without `at`, the cursor time `at=` asks for or null]; throw on an at=
// that is not a moment in ms.
export function takeTime(pairs) {
  const rest = pairs.filter(([name]) => name !== "at");
  const times = pairs.filter(([name]) => name === "at");
  if (!times.length) return [rest, null];
  const text = times.at(-1)[1].trim();
  const t = Number(text);
  if (times.length > 1 || !/^\d{1,9}(\.\d{1,3})?$/.test(text) || !Number.isFinite(t)) {
    throw new Error("the link's at= is not one moment in ms");
  }
  return [rest, t];
}

// Give `pairs` with the cursor time `t` added as at= (none when `t` is null).
export function withTime(pairs, t) {
  return t === null ? pairs : [...pairs, ["at", String(t)]];
}
