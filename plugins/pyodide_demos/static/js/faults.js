// Faults by pointing: click a node in the diagram to crash it at that moment (and restart it
// 2 s later); shift-click nodes to collect a group, then partition it from the rest for 3 s.
// By keyboard each node has one tab stop in the diagram (its name label): Enter or Space
// crashes it at the slider's moment, ←/→ move that moment, Shift+Enter picks it.
// Every pick only edits the figure's fault schedule text, which stays editable; Python
// stays the judge of whether the schedule makes sense.

const CRASH_MS = 2000;
const PARTITION_MS = 3000;
const NODE = /^[A-Za-z][A-Za-z0-9_]{0,15}$/;

const byName = (a, b) => a.localeCompare(b, "en", { numeric: true });
const roundTime = (t) => Math.round(t / 10) * 10;
const words = (text) => text.trim().split(/[\s:,()]+/);

// Give the [down, up] intervals of `node` in schedule `text` (up is Infinity if never restarted).
export function downIntervals(text, node) {
  const moments = [];
  for (const item of text.split(";")) {
    const m = /^\s*(crash|restart)\s+(\S+?)\s*@\s*([\d.]+)\s*$/.exec(item);
    if (m && m[2] === node) moments.push([Number(m[3]), m[1]]);
  }
  moments.sort((a, b) => a[0] - b[0]);
  const intervals = [];
  for (const [t, op] of moments) {
    if (op === "crash") intervals.push([t, Infinity]);
    else if (intervals.length) intervals.at(-1)[1] = t;
  }
  return intervals;
}

// Give the [start, end] of every partition in schedule `text`.
export function partitionIntervals(text) {
  const intervals = [];
  for (const item of text.split(";")) {
    const m = /^\s*partition\s+[^@]+@\s*([\d.]+)\s*-\s*([\d.]+)\s*$/.exec(item);
    if (m) intervals.push([Number(m[1]), Number(m[2])]);
  }
  return intervals;
}

// Give Map(node -> the one element a keyboard reaches it by): the node's name label when
// the diagram has one, else its first element. Never an element of a moment (data-t),
// which playback may hide, and a hidden element cannot hold focus.
export function nodeTargets(svg) {
  const owned = new Map();
  for (const el of svg.querySelectorAll("[data-node]")) {
    const node = el.getAttribute("data-node");
    if (!NODE.test(node) || el.closest("[data-t]")) continue;
    if (!owned.has(node)) owned.set(node, []);
    owned.get(node).push(el);
  }
  const targets = new Map();
  for (const [node, elements] of owned) {
    const label = elements.flatMap((el) => [el, ...el.querySelectorAll("text")]).find((el) =>
      el.localName === "text" && !el.closest("[data-t]")
      && el.closest("[data-node]").getAttribute("data-node") === node
      && words(el.textContent).includes(node));
    targets.set(node, label ?? elements[0]);
  }
  return targets;
}

export class FaultPicker {
  // `figure` gives: svg(), playback, faultsField(), say(text), rerun().
  constructor(figure, idPrefix) {
    this.figure = figure;
    // A demo without a `faults` param has no schedule to edit: no button, tip or node stops.
    this.offered = Boolean(figure.faultsField());
    this.picked = new Set();
    this.targets = new Map(); // node -> its focusable element in the current diagram
    this.button = Object.assign(document.createElement("button"), {
      type: "button", className: "demo-add-partition", disabled: true,
      textContent: "Add partition" });
    this.button.setAttribute("aria-describedby", `${idPrefix}-fault-hint`);
    // One line says the main thing; the rest opens on demand, so the bar's height is fixed
    // and the page can keep its room free before the runner arrives (demo.css).
    this.hint = Object.assign(document.createElement("p"), {
      id: `${idPrefix}-fault-hint`,
      textContent: "Click a node to crash it at that moment; it restarts 2 s later. By " +
        "keyboard, Tab to a node's name and press Enter; ← and → move the moment. " +
        "Shift-click (or Shift+Enter) nodes to pick them, then Add partition cuts them " +
        "off from the rest for 3 s from the slider's time." });
    this.help = document.createElement("details");
    this.help.className = "demo-fault-help";
    this.help.append(Object.assign(document.createElement("summary"),
      { textContent: "Tip: click a node to crash it" }), this.hint);
    this.button.addEventListener("click", () => this.addPartition());
  }

  // The diagram's click handler: `event` on .demo-output.
  click(event) {
    const svg = this.figure.svg();
    const target = event.target instanceof Element ? event.target.closest("[data-node]") : null;
    if (!svg || !target || !svg.contains(target)) return;
    const node = target.getAttribute("data-node");
    if (!this.offered || !NODE.test(node) || !this.figure.faultsField()) return;
    if (event.shiftKey) {
      this.toggle(node);
      return;
    }
    this.crash(node, this.timeAt(svg, event));
  }

  // Enter/Space crash the focused node at the slider's moment, Shift picks it, ←/→ move
  // the moment: a keyboard does all a pointer does, from the node itself.
  key(event) {
    const node = [...this.targets].find(([, el]) => el === event.target)?.[0];
    if (!node || event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      if (!this.figure.faultsField()) return;
      if (event.shiftKey) this.toggle(node);
      else this.crash(node, this.cursorTime());
    } else if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
      event.preventDefault();
      this.figure.playback.nudge(event.key === "ArrowLeft" ? -1 : 1);
    }
  }

  // Add "crash node@t; restart node@t+2s" unless the schedule already has it down then.
  crash(node, t) {
    if (t === null) {
      this.figure.say("Pick the moment of the crash first: move the time slider (or press " +
        "← or → on the node), or click on the node's timeline.");
      return;
    }
    const duration = Number(this.figure.svg().getAttribute("data-duration"));
    const up = Math.min(t + CRASH_MS, duration);
    const field = this.figure.faultsField();
    if (downIntervals(field.value, node).some(([down, back]) => t <= back && down <= up)) {
      this.figure.say(`${node} is already down near ${t} ms; edit the schedule to change that.`);
      return;
    }
    this.append(up > t ? `crash ${node}@${t}; restart ${node}@${up}` : `crash ${node}@${t}`);
  }

  // The slider's moment, or null while it is at the end (nothing chosen yet).
  cursorTime() {
    const svg = this.figure.svg();
    const duration = svg ? Number(svg.getAttribute("data-duration")) : 0;
    const t = this.figure.playback.time();
    return duration > 0 && t < duration ? roundTime(t) : null;
  }

  // Give the moment under the pointer, or the slider's when the click is off the time axis.
  timeAt(svg, event) {
    const x0 = Number(svg.getAttribute("data-time-x0"));
    const x1 = Number(svg.getAttribute("data-time-x1"));
    const duration = Number(svg.getAttribute("data-duration"));
    if (!(duration > 0)) return null;
    const matrix = svg.getScreenCTM();
    if (matrix && x1 > x0) {
      const x = new DOMPoint(event.clientX, event.clientY).matrixTransform(matrix.inverse()).x;
      if (x >= x0 && x <= x1) return roundTime(((x - x0) / (x1 - x0)) * duration);
    }
    return this.cursorTime();
  }

  toggle(node) {
    if (this.picked.has(node)) this.picked.delete(node);
    else this.picked.add(node);
    this.paintPicks();
    this.label();
  }

  paintPicks() {
    const svg = this.figure.svg();
    if (svg) {
      for (const el of svg.querySelectorAll("[data-node]")) {
        el.classList.toggle("demo-picked", this.picked.has(el.getAttribute("data-node")));
      }
    }
    const group = [...this.picked].sort(byName);
    this.button.disabled = group.length === 0;
    this.button.textContent = group.length ? `Add partition ${group.join(",")} | rest`
      : "Add partition";
  }

  addPartition() {
    const svg = this.figure.svg();
    if (!svg || !this.picked.size) return;
    const nodes = new Set([...svg.querySelectorAll("[data-node]")]
      .map((el) => el.getAttribute("data-node")));
    if ([...nodes].every((n) => this.picked.has(n))) {
      this.figure.say("A partition needs nodes on both sides: leave some unpicked.");
      return;
    }
    const duration = Number(svg.getAttribute("data-duration"));
    const start = roundTime(this.figure.playback.time());
    if (!(start < duration)) {
      this.figure.say("Move the time slider to where the partition should start.");
      return;
    }
    const end = Math.min(start + PARTITION_MS, duration);
    // The grammar allows one partition at a time: say so here rather than after a run.
    const clash = partitionIntervals(this.figure.faultsField().value)
      .find(([from, to]) => start < to && from < end);
    if (clash) {
      this.figure.say(`A partition already runs from ${clash[0]} to ${clash[1]} ms; ` +
        "move the slider past it or edit the schedule.");
      return;
    }
    const group = [...this.picked].sort(byName).join(",");
    this.picked.clear();
    this.paintPicks();
    this.append(`partition ${group}@${start}-${end}`);
  }

  append(item) {
    const field = this.figure.faultsField();
    const before = field.value.trim().replace(/;\s*$/, "");
    field.value = before ? `${before}; ${item}` : item;
    this.figure.rerun();
  }

  // A new diagram: picks carry over by node name, and so does keyboard focus when a node
  // had it (`refocus`: that node's name), so Enter can be pressed again right away.
  attach(refocus = null) {
    this.paintPicks();
    const svg = this.figure.svg();
    this.targets = svg && this.offered ? nodeTargets(svg) : new Map();
    for (const el of this.targets.values()) {
      el.setAttribute("tabindex", "0");
      el.setAttribute("role", "button");
      el.setAttribute("aria-describedby", this.hint.id);
    }
    this.label();
    if (refocus) this.targets.get(refocus)?.focus({ preventScroll: true });
  }

  // Give the node whose target has keyboard focus, or null.
  focusedNode() {
    return [...this.targets].find(([, el]) => el === document.activeElement)?.[0] ?? null;
  }

  // Name each target for what Enter does now; called again whenever the slider moves.
  label() {
    const t = this.cursorTime();
    for (const [node, el] of this.targets) {
      const what = t === null ? `Crash ${node}: first pick a moment with ← or →`
        : `Crash ${node} at ${t} ms`;
      const text = this.picked.has(node) ? `${what} (picked for a partition)` : what;
      if (el.getAttribute("aria-label") !== text) el.setAttribute("aria-label", text);
    }
  }
}
