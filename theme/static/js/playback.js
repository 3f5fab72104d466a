// Playback over a diagram's moments: a time slider hides every element whose data-t lies
// after the cursor. Works on the prerendered diagram too; no Python needed.
import { timeToX } from "./checks.js";

const SVG_NS = "http://www.w3.org/2000/svg";
const SPEEDS = [0.25, 0.5, 1, 2, 4];

function make(tag, props = {}, children = []) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

export class Playback {
  constructor(idPrefix) {
    this.play = make("button", { type: "button", className: "demo-play", textContent: "Play" });
    this.range = make("input", { type: "range", className: "demo-scrubber", id: `${idPrefix}-time`,
      min: "0", value: "0" });
    this.readout = make("output", { className: "demo-time", htmlFor: this.range.id });
    this.speed = make("select", { className: "demo-speed", id: `${idPrefix}-speed` },
      SPEEDS.map((s) => make("option", { value: String(s), textContent: `${s}×`,
        selected: s === 1 })));
    // The labels are for screen readers: the readout's "ms" and the "1×" say it to the
    // eye, and the bar keeps to one row down to phone widths.
    const label = (control, text) => make("label",
      { htmlFor: control.id, className: "visually-hidden", textContent: text });
    this.element = make("div", { className: "demo-playback" }, [
      this.play, label(this.range, "Time"), this.range, this.readout,
      label(this.speed, "Playback speed"), this.speed,
    ]);
    this.range.addEventListener("input", () => this.seek(Number(this.range.value)));
    this.play.addEventListener("click", () => (this.frame ? this.pause() : this.start()));
    this.svg = null;
    this.duration = 0;
    this.items = [];
    this.frame = 0;
    this.t = 0;
    this.onSeek = () => {}; // the fault picker names its node buttons after the moment
  }

  // Take over `svg` (a new or restored diagram). The cursor starts at the end (all shown),
  // or with `keepTime` stays where the reader left it, so a rerun shows the same moment.
  attach(svg, keepTime = false) {
    const kept = keepTime && this.svg && this.t < this.duration ? this.t : null;
    this.pause();
    this.svg = svg;
    this.duration = Number(svg.getAttribute("data-duration")) || 0;
    this.items = [...svg.querySelectorAll("[data-t]")]
      .map((el) => [el, Number(el.getAttribute("data-t"))]);
    this.cursor = null;
    this.element.hidden = !(this.duration > 0);
    this.range.max = String(this.duration);
    this.range.step = String(Math.max(1, Math.round(this.duration / 500)));
    this.seek(kept !== null && kept < this.duration ? kept : this.duration);
  }

  time() {
    return this.t;
  }

  seek(t) {
    // Kept apart from the slider, whose value snaps to its step: playback adds a few ms a frame.
    this.t = t;
    this.range.value = String(t);
    const atEnd = t >= this.duration;
    for (const [el, at] of this.items) el.classList.toggle("demo-future", !atEnd && at > t);
    this.readout.textContent = `${Math.round(t)} ms`;
    this.drawCursor(atEnd ? null : timeToX(this.svg, t));
    this.onSeek(t);
  }

  // Move the cursor by a hundredth of the run, backwards for direction -1.
  nudge(direction) {
    if (!(this.duration > 0)) return;
    this.pause();
    const t = this.time() + direction * this.duration / 100;
    this.seek(Math.min(this.duration, Math.max(0, t)));
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
    cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.play.textContent = "Play";
    this.play.setAttribute("aria-pressed", "false");
  }
}
