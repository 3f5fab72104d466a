// Playback over a diagram's moments, knowing no demo: the SVG contract is all it reads.
// An element with data-t (and maybe data-until) is shown while data-t <= cursor < data-until;
// a message arrow (data-sent, data-recv) in flight is drawn up to a dot that travels along
// it; ← and → step between the moments that have something to say (data-say, failed-check
// marks) and say it in an aria-live line. Works on the prerendered diagram: no Python.
import { timeToX } from "./checks.js";

const SVG_NS = "http://www.w3.org/2000/svg";
const SPEEDS = [0.25, 0.5, 1, 2, 4];
// What the runner adds to the diagram's classes; a drawn class list never holds these.
const MINE = ["demo-on", "demo-future", "demo-past", "demo-flying"];
// The straight shaft every kit arrow starts with: "M x0 y0 L x1 y1" (arrowhead after it).
const SHAFT = /^\s*M\s*(-?[\d.]+)[\s,]+(-?[\d.]+)\s*L\s*(-?[\d.]+)[\s,]+(-?[\d.]+)/;

function make(tag, props = {}, children = []) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

function svgElement(tag, attributes) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  return node;
}

// A moment up to this many ms before the cursor counts as the cursor's own: a link's at= is
// a whole ms, the moment it names is not.
const SLACK_MS = 1;

const number = (el, name) => {
  const text = el.getAttribute(name);
  const value = text === null || text === "" ? NaN : Number(text);
  return Number.isFinite(value) ? value : null;
};

// "2.41 s": what the aria-live line puts before each sentence.
export const spoken = (t) => `${(t / 1000).toFixed(2)} s`;

// Give the moments of `svg` worth stepping to, sorted: [{t, say}], one per distinct time,
// the sentences of one time joined. A failed-check mark without a sentence names its check.
export function momentsOf(svg) {
  const byTime = new Map();
  for (const el of svg.querySelectorAll("[data-t][data-say], [data-t][data-check]")) {
    const t = number(el, "data-t");
    const say = el.getAttribute("data-say") || `check failed: ${el.getAttribute("data-check")}`;
    if (t === null) continue;
    if (!byTime.has(t)) byTime.set(t, []);
    if (!byTime.get(t).includes(say)) byTime.get(t).push(say);
  }
  return [...byTime].sort((a, b) => a[0] - b[0]).map(([t, says]) => ({ t, say: says.join("; ") }));
}

export class Playback {
  // `options.at`: the moment (ms) the cursor starts at, the fence's `at:`; none: the end.
  constructor(idPrefix, options = {}) {
    this.play = make("button", { type: "button", className: "demo-play", textContent: "Play" });
    this.range = make("input", { type: "range", className: "demo-scrubber", id: `${idPrefix}-time`,
      min: "0", value: "0" });
    this.readout = make("output", { className: "demo-time", htmlFor: this.range.id });
    this.speed = make("select", { className: "demo-speed", id: `${idPrefix}-speed` },
      SPEEDS.map((s) => make("option", { value: String(s), textContent: `${s}×`,
        selected: s === 1 })));
    // One line that tells what happened at the cursor; a screen reader hears it when the
    // reader steps (not while playing: that would be a flood).
    this.line = make("p", { className: "demo-say", id: `${idPrefix}-say` });
    this.line.setAttribute("aria-live", "off");
    this.range.setAttribute("aria-describedby", this.line.id);
    // The labels are for screen readers: the readout's "ms" and the "1×" say it to the
    // eye, and the bar keeps to one row down to phone widths.
    const label = (control, text) => make("label",
      { htmlFor: control.id, className: "visually-hidden", textContent: text });
    this.bar = make("div", { className: "demo-playback" }, [
      this.play, label(this.range, "Time (← and → step between events)"), this.range,
      this.readout, label(this.speed, "Playback speed"), this.speed,
    ]);
    this.element = make("div", { className: "demo-player" }, [this.bar, this.line]);
    this.range.addEventListener("input", () => this.seek(Number(this.range.value)));
    this.range.addEventListener("change", () => this.settle());
    this.play.addEventListener("click", () => (this.frame ? this.pause() : this.start()));
    const at = Number(options.at);
    this.initial = options.at != null && options.at !== "" && Number.isFinite(at) ? at : null;
    this.pending = null; // a moment asked for before the next diagram arrives (a link's at=)
    this.svg = null;
    this.duration = 0;
    this.items = [];
    this.flights = [];
    this.moments = [];
    this.frame = 0;
    this.t = 0;
    this.onSeek = () => {}; // the fault picker names its node buttons after the moment
    this.onSettle = () => {}; // the cursor came to rest: the share link learns its time
  }

  // Handle ← → Home End for `figure` when its scrubber, Play button or the figure itself
  // has focus. A node's own keys (faults.js) come first and mark the event handled.
  bindKeys(figure) {
    figure.addEventListener("keydown", (event) => {
      const target = event.target;
      const ours = target === this.range || target === this.play || target === figure
        || (target instanceof Element && target.closest(".demo-output") !== null);
      if (!ours || event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey
          || event.shiftKey || !this.svg || !(this.duration > 0)) return;
      const to = {
        ArrowLeft: () => this.neighbour(-1),
        ArrowRight: () => this.neighbour(1),
        Home: () => 0,
        End: () => this.duration,
      }[event.key];
      if (!to) return;
      event.preventDefault();
      this.pause();
      const t = to();
      if (t !== null) this.seek(t, true);
      else this.announce(`${spoken(this.t)}: ${event.key === "ArrowLeft" ? "nothing earlier"
        : "nothing later"}`);
      this.settle();
    });
  }

  // Give the time of the nearest moment before (-1) or after (1) the one the cursor shows,
  // or null.
  neighbour(direction) {
    // The cursor stands on a moment up to SLACK_MS after it (a link's whole ms); else
    // between moments, where ← goes back to the start of the one it shows.
    const here = this.moments.findLast((m) => m.t <= this.t);
    const from = here && here.t >= this.t - SLACK_MS ? here.t : this.t;
    const found = direction < 0
      ? this.moments.findLast((m) => m.t < from)
      : this.moments.find((m) => m.t > this.t);
    return found ? found.t : null;
  }

  // Take over `svg` (a new or restored diagram). The cursor starts at a pending moment (a
  // link's), else with `keepTime` where the reader left it (a rerun shows the same moment),
  // else at the figure's own start (its `at:`, or the end of the run).
  attach(svg, keepTime = false) {
    const kept = keepTime && this.svg && this.t < this.duration ? this.t : null;
    this.pause();
    this.svg = svg;
    this.duration = Number(svg.getAttribute("data-duration")) || 0;
    this.items = [...svg.querySelectorAll("[data-t]")].map((el) => ({
      el,
      t: number(el, "data-t") ?? 0,
      until: number(el, "data-until") ?? Infinity,
      drawnOff: el.classList.contains("dm-off"),
      shown: null,
    }));
    this.flights = this.items.flatMap((item) => {
      const sent = number(item.el, "data-sent");
      const recv = number(item.el, "data-recv");
      return item.el.localName === "path" && sent !== null && recv !== null && recv > sent
        ? [{ ...item, sent, recv, overlay: null }] : [];
    });
    // Flights are the arrows themselves: one record, so hiding and flying agree.
    const flying = new Set(this.flights.map((f) => f.el));
    this.items = this.items.filter((item) => !flying.has(item.el)).concat(this.flights);
    this.moments = momentsOf(svg);
    this.cursor = null;
    this.element.hidden = !(this.duration > 0);
    this.range.max = String(this.duration);
    this.range.step = String(Math.max(1, Math.round(this.duration / 500)));
    const start = this.pending ?? kept ?? this.initial ?? this.duration;
    this.pending = null;
    this.seek(Math.min(Math.max(start, 0), this.duration));
    this.line.textContent = this.story(this.t) || "← and → on the time slider step between events.";
  }

  time() {
    return this.t;
  }

  // Move the cursor to `t`; with `announce` the aria-live line speaks what happened there.
  seek(t, announce = false) {
    // Kept apart from the slider, whose value snaps to its step: playback adds a few ms a frame.
    this.t = t;
    this.range.value = String(t);
    for (const item of this.items) this.show(item, t);
    this.readout.textContent = `${Math.round(t)} ms`;
    this.drawCursor(t >= this.duration ? null : timeToX(this.svg, t));
    const story = this.story(t);
    if (announce) this.announce(this.describe(t, story));
    else if (story) this.line.textContent = story;
    this.onSeek(t);
  }

  // Give what a reader who moved to `t` hears: the moment there, else the time and the last
  // event before it ("2.50 s; last event 2.41 s: n3 becomes leader of term 2").
  describe(t, story) {
    const last = this.moments.findLast((m) => m.t <= t);
    // On a moment, or so near that the time would read the same: just the moment.
    if (last && (last.t >= t - SLACK_MS || spoken(last.t) === spoken(t))) return story;
    const edge = t <= 0 ? ": start of the run" : t >= this.duration ? ": end of the run" : "";
    return `${spoken(t)}${edge}${story ? `; last event ${story}` : ""}`;
  }

  // Give the sentence of the latest moment at or before `t` ("2.41 s: n3 becomes leader"),
  // or "" before the first.
  story(t) {
    const last = this.moments.findLast((m) => m.t <= t);
    return last ? `${spoken(last.t)}: ${last.say}` : "";
  }

  announce(text) {
    this.line.setAttribute("aria-live", "polite");
    this.line.textContent = text;
  }

  // Show `item` at moment `t`: visible iff t <= cursor < until; a message in flight shows
  // the part of its arrow already travelled, and a dot where it is. The classes change only
  // where the drawing's own (dm-off: hidden, as the static page shows the end) is wrong, so
  // at the end of the run the diagram is exactly as drawn.
  show(item, t) {
    const visible = item.t <= t && t < item.until;
    const inFlight = item.sent !== undefined && visible && t < item.recv;
    const state = inFlight ? "flying" : visible ? "on" : t < item.t ? "future" : "past";
    if (state === "flying") this.fly(item, t);
    if (item.shown === state) return;
    if (item.shown === "flying") this.land(item);
    item.shown = state;
    const list = item.el.classList;
    list.toggle("demo-on", visible && item.drawnOff);
    list.toggle("demo-future", !visible && !item.drawnOff && t < item.t);
    list.toggle("demo-past", !visible && !item.drawnOff && t >= item.t);
    list.toggle("demo-flying", inFlight);
    if (!list.length) item.el.removeAttribute("class"); // as drawn, not class=""
  }

  // Draw message `flight` at `t`: its shaft up to the dot, in the arrow's own style.
  fly(flight, t) {
    const el = flight.el;
    const progress = (t - flight.sent) / (flight.recv - flight.sent);
    if (!flight.overlay) {
      const shaft = SHAFT.exec(el.getAttribute("d") || "");
      const line = svgElement("path", { class: "demo-flight" });
      const drawn = [...el.classList].filter((name) => !MINE.includes(name));
      if (drawn.length) line.setAttribute("class", `demo-flight ${drawn.join(" ")}`);
      const dot = svgElement("circle", { class: "demo-dot", r: 3 });
      el.after(line, dot);
      flight.overlay = { line, dot, shaft: shaft && shaft.slice(1).map(Number) };
    }
    const { line, dot, shaft } = flight.overlay;
    let x;
    let y;
    if (shaft) {
      const [x0, y0, x1, y1] = shaft;
      x = x0 + (x1 - x0) * progress;
      y = y0 + (y1 - y0) * progress;
      line.setAttribute("d", `M${x0} ${y0}L${x.toFixed(2)} ${y.toFixed(2)}`);
    } else {
      // Not a straight arrow: the dot travels along the whole path, drawn as it is.
      const point = el.getPointAtLength(el.getTotalLength() * progress);
      ({ x, y } = point);
      line.setAttribute("d", "");
    }
    dot.setAttribute("cx", x.toFixed(2));
    dot.setAttribute("cy", y.toFixed(2));
  }

  land(flight) {
    flight.overlay?.line.remove();
    flight.overlay?.dot.remove();
    flight.overlay = null;
  }

  // Move the cursor by a hundredth of the run, backwards for direction -1.
  nudge(direction) {
    if (!(this.duration > 0)) return;
    this.pause();
    const t = this.time() + direction * this.duration / 100;
    this.seek(Math.min(this.duration, Math.max(0, t)));
    this.settle();
  }

  // Go to `t` (a prose link or a shared link), or, before any diagram, remember it.
  reveal(t) {
    if (!this.svg) {
      this.pending = t;
      return;
    }
    this.pause();
    this.seek(Math.min(Math.max(t, 0), this.duration), true);
  }

  // Where the cursor stands, for a link: null when that is where the figure starts anyway.
  sharedTime() {
    const start = this.initial ?? this.duration;
    // Rounded up: a moment is shown from its data-t on, so the link lands on it, not before.
    return Math.abs(this.t - start) < 0.5 ? null : Math.ceil(this.t);
  }

  settle() {
    this.onSettle(this.t);
  }

  drawCursor(x) {
    if (x === null) {
      this.cursor?.remove();
      this.cursor = null;
      return;
    }
    if (!this.cursor) {
      this.cursor = document.createElementNS(SVG_NS, "line");
      this.cursor.setAttribute("class", "demo-cursor");
      this.cursor.setAttribute("y1", "0");
      this.cursor.setAttribute("y2", String(this.svg.viewBox.baseVal.height || 1000));
      this.svg.append(this.cursor);
    }
    this.cursor.setAttribute("x1", String(x));
    this.cursor.setAttribute("x2", String(x));
  }

  start() {
    if (!this.svg || !(this.duration > 0)) return;
    if (this.time() >= this.duration) this.seek(0);
    this.line.setAttribute("aria-live", "off");
    this.play.textContent = "Pause";
    this.play.setAttribute("aria-pressed", "true");
    let last = performance.now();
    const step = (now) => {
      // Simulated ms per real ms at 1× is 1: a 10 s run plays in 10 s.
      const t = Math.min(this.duration, this.time() + (now - last) * Number(this.speed.value));
      last = now;
      this.seek(t);
      this.frame = t < this.duration ? requestAnimationFrame(step) : 0;
      if (!this.frame) this.pause();
    };
    this.frame = requestAnimationFrame(step);
  }

  pause() {
    const playing = this.frame !== 0;
    cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.play.textContent = "Play";
    this.play.setAttribute("aria-pressed", "false");
    if (playing) this.settle();
  }
}
