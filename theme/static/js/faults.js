// Faults by pointing: click a node in the diagram to crash it at that moment (and restart it
// 2 s later); shift-click nodes to collect a group, then partition it from the rest for 3 s.
// Every click only edits the figure's fault schedule text, which stays editable; Python
// stays the judge of whether the schedule makes sense.

const CRASH_MS = 2000;
const PARTITION_MS = 3000;
const NODE = /^[A-Za-z][A-Za-z0-9_]{0,15}$/;

const byName = (a, b) => a.localeCompare(b, "en", { numeric: true });
const roundTime = (t) => Math.round(t / 10) * 10;

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

export class FaultPicker {
  // `figure` gives: svg(), playback, faultsField(), say(text), rerun().
  constructor(figure, idPrefix) {
    this.figure = figure;
    this.picked = new Set();
    this.button = Object.assign(document.createElement("button"), {
      type: "button", className: "demo-add-partition", disabled: true,
      textContent: "Add partition" });
    this.button.setAttribute("aria-describedby", `${idPrefix}-fault-hint`);
    this.hint = Object.assign(document.createElement("small"), {
      id: `${idPrefix}-fault-hint`, className: "demo-fault-hint",
      textContent: "Click a node to crash it at that moment; shift-click nodes, then " +
        "Add partition to cut them off from the slider's time for 3 s." });
    this.button.addEventListener("click", () => this.addPartition());
  }

  // The diagram's click handler: `event` on .demo-output.
  click(event) {
    const svg = this.figure.svg();
    const target = event.target instanceof Element ? event.target.closest("[data-node]") : null;
    if (!svg || !target || !svg.contains(target)) return;
    const node = target.getAttribute("data-node");
    if (!NODE.test(node) || !this.figure.faultsField()) return;
    if (event.shiftKey) {
      this.toggle(node);
      return;
    }
    const t = this.timeAt(svg, event);
    if (t === null) {
      this.figure.say("Move the time slider to the moment of the crash, or click on the " +
        "node's timeline.");
      return;
    }
    const duration = Number(svg.getAttribute("data-duration"));
    const up = Math.min(t + CRASH_MS, duration);
    const field = this.figure.faultsField();
    if (downIntervals(field.value, node).some(([down, back]) => t <= back && down <= up)) {
      this.figure.say(`${node} is already down near ${t} ms; edit the schedule to change that.`);
      return;
    }
    this.append(up > t ? `crash ${node}@${t}; restart ${node}@${up}` : `crash ${node}@${t}`);
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
    const t = this.figure.playback.time();
    return t < duration ? roundTime(t) : null;
  }

  toggle(node) {
    if (this.picked.has(node)) this.picked.delete(node);
    else this.picked.add(node);
    this.paintPicks();
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

  // A new diagram: picks carry over by node name.
  attach() {
    this.paintPicks();
  }
}
