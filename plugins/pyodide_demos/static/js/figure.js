// One demo figure brought to life: its form runs the demo in the page's Python worker and
// the answer replaces the prerendered diagram, summary and checks. Reset brings them back.
import { showChecks } from "./checks.js";
import { BootError, Stopped } from "./client.js";
import { FaultPicker } from "./faults.js";
import { Lab } from "./lab.js";
import { changed, checkValue, readForm, Refused, writeForm } from "./params.js";
import { Playback } from "./playback.js";
import { parseOwnSVG, parseSVG } from "./sanitize.js";
import { parsePairs, takeTime, withTime, writeFragment } from "./share.js";

const MB = 1e6;
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

// The figure names a demo the site's manifest (and so its Python bundle) does not have:
// a page built against other demos, or a stale cached manifest.
class Unavailable extends Error {
  constructor(message) {
    super(message);
    this.name = "Unavailable";
  }
}

export class DemoFigure {
  constructor(element, page) {
    this.el = element;
    this.page = page;
    this.demo = element.dataset.demo;
    this.defaults = JSON.parse(element.dataset.defaults || "{}");
    this.form = element.querySelector(".demo-controls");
    this.output = element.querySelector(".demo-output");
    this.status = element.querySelector(".demo-status");
    this.summary = element.querySelector(".demo-summary");
    this.checks = element.querySelector(".demo-checks");
    this.button = (action) => element.querySelector(`[data-action="${action}"]`);
    this.ticket = 0; // the latest request; answers to older ones are ignored
    this.watching = false; // shows the boot's progress
    this.linked = false; // whether a link set the form's values (since the last Reset)
    this.sharing = 0; // the timer that puts the latest run into the link
    this.prerendered = {
      svg: this.svg()?.cloneNode(true),
      summary: this.summary?.textContent,
      checks: this.checks?.cloneNode(true),
      status: this.status?.textContent,
    };
    this.addParts();
    this.wire();
  }

  svg() {
    const svg = this.output?.firstElementChild;
    return svg && svg.localName === "svg" ? svg : null;
  }

  faultsField() {
    return this.form?.elements.namedItem("faults") ?? null;
  }

  addParts() {
    const id = this.el.id;
    this.progress = Object.assign(document.createElement("progress"),
      { className: "demo-progress", hidden: true });
    this.progress.setAttribute("aria-label", "Python download");
    this.error = Object.assign(document.createElement("p"),
      { className: "demo-error", hidden: true });
    this.error.setAttribute("role", "alert");
    // After a failed start, inside the message: loads Python again without a reload (and
    // reruns if a run failed).
    this.retry = Object.assign(document.createElement("button"),
      { type: "button", className: "demo-retry", textContent: "Retry" });
    this.retry.dataset.action = "retry";
    this.retry.addEventListener("click", () => this.retryBoot());
    this.playback = new Playback(id, { at: this.el.dataset.at });
    this.playback.bindKeys(this.el);
    this.playback.onSettle = () => this.share();
    this.faults = new FaultPicker(this, id);
    this.playback.onSeek = (t) => {
      this.faults.label();
      // Not for the cursor's first place (the page inlines that moment): a reader's move.
      if (this.attached && t < this.playback.duration) this.wholeFigure(true);
    };
    this.lab = new Lab(this); // the Code view: the reader's protocol, the counterexample search
    const tools = document.createElement("div");
    tools.className = "demo-tools";
    const buttons = document.createElement("div");
    buttons.className = "demo-tool-buttons";
    // Only the tools that can work here: fault picking needs a `faults` param in the form,
    // the Code view a demo the build found editable (data-lab); the bar keeps its height.
    if (this.faults.offered) buttons.append(this.faults.button);
    if (this.lab.offered) buttons.append(this.lab.button);
    tools.append(this.playback.element, buttons);
    if (this.faults.offered) tools.append(this.faults.help);
    this.tools = tools;
    this.output.after(this.error, tools);
    this.status?.after(this.progress);
    const svg = this.svg();
    if (svg) this.playback.attach(svg);
    else tools.hidden = true;
    this.attached = true;
    this.faults.attach();
  }

  wire() {
    const intent = () => this.intent();
    for (const part of [this.form, this.tools]) {
      // A pointer that moves or presses, not one that only finds itself over the controls:
      // after a prose link scrolls the page, Chrome sends pointerenter to whatever now lies
      // under a resting pointer, and that must not start Python.
      part?.addEventListener("pointermove", intent);
      part?.addEventListener("pointerdown", intent);
      part?.addEventListener("focusin", intent);
    }
    this.button("run")?.addEventListener("click", () => this.run());
    this.button("stop")?.addEventListener("click", () => this.stop());
    this.button("reset")?.addEventListener("click", () => this.reset());
    this.form?.addEventListener("submit", (event) => {
      event.preventDefault();
      this.run();
    });
    this.form?.addEventListener("change", (event) => {
      if (event.target.name) this.run();
    });
    this.output.addEventListener("click", (event) => this.faults.click(event));
    this.output.addEventListener("keydown", (event) => this.faults.key(event));
  }

  // The reader reached for the controls: start Python now, it takes a few seconds.
  intent() {
    this.wholeFigure(); // a reader near the controls will likely move the cursor too
    if (this.watching) return;
    this.watching = true;
    this.listening ??= this.page.client.onProgress((msg) => this.showProgress(msg));
    const booted = this.page.client.start();
    if (!this.page.client.isReady) this.setStatus("loading", "Loading Python…");
    booted.then((ms) => {
      if (this.status?.dataset.state === "loading" && !this.page.client.busy(this)) {
        this.progress.hidden = true;
        this.setStatus("idle", `Python is ready (started in ${seconds(ms)}).`);
      }
    }, (err) => {
      this.watching = false; // the next reach for the controls tries again
      if (this.status?.dataset.state === "loading" && !this.page.client.busy(this)) {
        this.failedStart(err, false);
      }
    });
  }

  // Python did not start: say which file failed and how, offer Retry; the figure stays.
  failedStart(err, rerun) {
    this.progress.hidden = true;
    this.setStatus("error", "Python could not start.");
    this.say(err.message);
    this.error.append(" ", this.retry);
    this.retryRuns = rerun || this.retryRuns;
  }

  retryBoot() {
    const rerun = this.retryRuns;
    this.retryRuns = false;
    this.clearError();
    if (rerun) this.run();
    else this.intent();
  }

  showProgress({ stage, loaded, total }) {
    if (this.status?.dataset.state !== "loading") return;
    if (stage === "download") {
      this.progress.hidden = false;
      if (total) {
        this.progress.max = total;
        this.progress.value = loaded;
      } else {
        this.progress.removeAttribute("value"); // indeterminate: no honest total
      }
      const of = total ? ` / ${(total / MB).toFixed(1)}` : "";
      const text = `Loading Python ${(loaded / MB).toFixed(1)}${of} MB`;
      if (total && loaded >= total) this.setStatus("loading", "Starting Python…");
      else this.setStatus("loading", text);
    } else if (stage === "install") {
      this.progress.hidden = true;
      this.setStatus("loading", "Installing the demos…");
    }
  }

  setStatus(state, text) {
    if (!this.status) return;
    this.status.dataset.state = state;
    if (this.status.textContent !== text) this.status.textContent = text;
  }

  say(text) {
    this.error.textContent = text;
    this.error.hidden = false;
  }

  clearError() {
    this.error.hidden = true;
    this.error.textContent = "";
  }

  setBusy(busy) {
    const stop = this.button("stop");
    if (stop) {
      if (!busy && document.activeElement === stop) this.button("run")?.focus();
      stop.disabled = !busy;
    }
    this.lab.busy(busy);
    this.el.setAttribute("aria-busy", String(busy));
  }

  async specs() {
    const manifest = await this.page.manifest();
    const entry = manifest.demos && manifest.demos[this.demo];
    if (!entry) {
      throw new Unavailable(`This site's demo bundle has no demo named "${this.demo}", ` +
        "so this figure cannot run here; its diagram is the one drawn when the page was built.");
    }
    return entry.params;
  }

  // Run with the form's values (checked first: a refused value never reaches Python).
  // Stop is offered at once, also while the manifest or Python is still on its way.
  async run() {
    const ticket = ++this.ticket;
    this.intent();
    this.clearError();
    this.setBusy(true);
    this.showWaiting();
    let params;
    try {
      params = this.formParams(await this.specs());
    } catch (err) {
      if (ticket === this.ticket) {
        this.setBusy(false);
        this.refuse(err);
      }
      return;
    }
    if (ticket === this.ticket) await this.request(params, ticket);
  }

  // Give the form's params, checked, with the lab's values for params the form lacks.
  formParams(specs) {
    return this.lab.withHidden(readForm(this.form, specs, this.defaults));
  }

  writeParams(values) {
    if (this.form) writeForm(this.form, values);
  }

  showWaiting() {
    const ready = this.page.client.isReady;
    this.setStatus(ready ? "running" : "loading", ready ? "Running…" : "Loading Python…");
  }

  rerun() {
    this.run();
  }

  refuse(err) {
    this.setStatus("error", err instanceof Refused ? "Not run: a value was refused."
      : err instanceof Unavailable ? "Not run: this demo is not available here."
        : "Not run: the demos could not be loaded.");
    this.say(err.message);
  }

  async request(params, ticket) {
    const client = this.page.client;
    try {
      const source = await this.lab.source(); // the reader's protocol, when they changed it
      const result = await client.run(this, this.demo, params, () => {
        if (ticket === this.ticket) {
          this.progress.hidden = true;
          this.setStatus("running", "Running…");
        }
      }, source === null ? {} : { source });
      if (ticket !== this.ticket) return;
      const answered = performance.now();
      if (typeof result.error === "string") { // the reader's code raised or did not compile
        this.lab.failed(result);
        this.setStatus("error", "Your code raised an error; the diagram is the last good one.");
        this.say(result.error);
        return;
      }
      // Only our own demo, from values no link set, skips the sanitizer's walk.
      this.show(result, source === null && !this.linked);
      this.shown = params;
      this.lab.ran(source); // puts the run into the link, after the diagram is drawn
      const boot = client.bootReported ? "" : `; Python started in ${seconds(client.bootMs)}`;
      client.bootReported = true;
      this.setStatus("done", `Done in ${result.ms} ms${boot}.`);
      // For whoever measures the page (bench/browser_bench.py): the page's part of a run.
      performance.measure(`demo-draw ${this.el.id}`, { start: answered });
    } catch (err) {
      if (ticket === this.ticket) this.failedRequest(err);
    } finally {
      if (ticket === this.ticket) this.setBusy(false);
    }
  }

  // A run (or the lab's search) did not give a figure: say why.
  failedRequest(err) {
    this.progress.hidden = true;
    if (err instanceof Stopped) {
      const restart = err.restarting ? " Python restarts in the background." : "";
      this.setStatus("stopped", err.message === "timeout"
        ? `Stopped after ${seconds(err.limit)}: the run took too long.${restart}`
        : `Stopped.${restart}`);
    } else if (err instanceof BootError) {
      this.failedStart(err, true);
    } else if (err instanceof Refused) {
      this.setStatus("error", "The new diagram was refused; the last good one stays.");
      this.say(err.message);
    } else {
      this.setStatus("error", "The run raised an error; the diagram is the last good one.");
      this.say(err.message);
    }
  }

  // The page inlines the prerendered figure without the state it held before its last
  // moment (see the plugin's lite.py). A reader near the controls makes the figure fetch
  // the whole drawing, a static file, once; a reader who moves the cursor away from the end
  // gets it swapped in at the same moment. No Python is involved, and Reset shows the
  // figure as the page had it.
  wholeFigure(swap = false) {
    const path = this.el.dataset.fullSvg;
    if (!path) return;
    this.wholeRequest ??= fetch(new URL(path, new URL(this.page.manifestURL, document.baseURI)))
      .then((answer) => {
        if (!answer.ok) throw new Error(`${answer.status} for ${answer.url}`);
        return answer.text();
      })
      .then((text) => {
        const whole = parseSVG(text);
        this.el.dataset.whole ??= "fetched";
        return whole;
      })
      .catch((err) => {
        // The figure stays as drawn: the panel shows the end of the run at every moment.
        console.warn(`demo figure ${this.el.id}: whole figure not loaded: ${err.message}`);
        return null;
      });
    if (!swap) return;
    this.wholeRequest.then((whole) => {
      if (!whole || this.shown || this.svg()?.dataset.whole) return; // a run or done already
      const svg = whole.cloneNode(true);
      svg.dataset.whole = "true";
      const said = this.playback.line.textContent; // keep what the reader just heard
      const refocus = this.faults.focusedNode(); // and the node a keyboard reader is on
      this.output.replaceChildren(svg);
      this.playback.attach(svg, true);
      this.playback.line.textContent = this.playback.story(this.playback.time()) || said;
      this.faults.attach(refocus);
      this.el.dataset.whole = "loaded";
    });
  }

  // `own`: the diagram is our demo's answer to values no link set (see parseOwnSVG).
  show(result, own = false) {
    const svg = own ? parseOwnSVG(result.svg) : parseSVG(result.svg);
    const refocus = this.faults.focusedNode();
    this.output.replaceChildren(svg);
    if (this.summary) this.summary.textContent = String(result.summary ?? "");
    if (this.checks) showChecks(this.checks, Array.isArray(result.checks) ? result.checks : [], svg);
    this.playback.attach(svg, true);
    this.faults.attach(refocus);
    this.tools.hidden = false;
  }

  // Stop gives the controls back at once; the worker is replaced in the background.
  stop() {
    this.ticket += 1;
    const restarting = this.page.client.stop(this);
    this.progress.hidden = true;
    this.setBusy(false);
    this.setStatus("stopped", restarting ? "Stopped. Python restarts in the background."
      : "Stopped.");
  }

  reset() {
    this.ticket += 1;
    if (this.page.client.busy(this)) this.page.client.stop(this);
    this.setBusy(false);
    this.clearError();
    this.progress.hidden = true;
    const refocus = this.faults.focusedNode();
    if (this.prerendered.svg) {
      const svg = this.prerendered.svg.cloneNode(true);
      this.output.replaceChildren(svg);
      this.playback.attach(svg);
      if (this.el.dataset.whole) this.el.dataset.whole = "fetched";
    }
    if (this.summary) this.summary.textContent = this.prerendered.summary;
    if (this.checks && this.prerendered.checks) {
      const checks = this.prerendered.checks.cloneNode(true);
      this.checks.replaceWith(checks);
      this.checks = checks;
    }
    if (this.form) writeForm(this.form, this.defaults);
    this.lab.hidden = {};
    this.faults.picked.clear();
    this.faults.attach(refocus);
    this.setStatus("idle", this.prerendered.status ?? "");
    this.shown = null;
    this.linked = false; // the form holds the figure's own defaults again
    clearTimeout(this.sharing);
    writeFragment(this.el.id, []);
  }

  // Put the new run into the link in a task of its own, once the new diagram is in: the
  // browser may paint the diagram first (replaceState cost several ms on the way to it).
  shareSoon() {
    clearTimeout(this.sharing);
    this.sharing = setTimeout(() => this.share(), 0); // writes what is shown by then
  }

  // Put this figure's run (its changed params) and cursor time into the link.
  share() {
    const pairs = changed(this.shown ?? this.defaults, this.defaults);
    if (this.lab.encoded) pairs.push(["code", this.lab.encoded]); // the reader's protocol
    writeFragment(this.el.id, withTime(pairs, this.playback.sharedTime()));
  }

  // Apply a link's params (raw query text): refuse the whole link on any bad value.
  async restore(query) {
    this.clearError();
    const values = { ...this.defaults };
    const ticket = this.ticket;
    let at = null;
    let code = null;
    try {
      let pairs;
      [pairs, at] = takeTime(parsePairs(query));
      [pairs, code] = this.lab.takeCode(pairs);
      if (at !== null) this.playback.reveal(at);
      // Only a moment (a prose link, #demo-calm:at=2500): the cursor moves, nothing runs.
      if (at !== null && !pairs.length && code === null) {
        this.share();
        return;
      }
      const specs = await this.specs();
      // A Reset or Run while the manifest was on its way is the reader's newer word.
      if (ticket !== this.ticket) return;
      for (const [name, raw] of pairs) {
        const spec = specs.find((s) => s.name === name);
        if (!spec) throw new Refused(`The link names a parameter this demo does not have.`);
        values[name] = checkValue(spec, raw);
      }
      this.lab.keepHidden(Object.fromEntries(pairs.map(([name]) => [name, values[name]])),
        specs);
      if (code !== null) await this.lab.openShared(code);
    } catch (err) {
      if (ticket !== this.ticket) return;
      if (err instanceof Unavailable) {
        this.refuse(err);
        return;
      }
      this.setStatus("error", "The link's parameters were refused; nothing was run.");
      this.say(err instanceof Refused ? `Link refused. ${err.message}` : `Link refused: ${err.message}.`);
      return;
    }
    writeForm(this.form, values);
    this.linked = true; // the form now holds values a link chose: runs are sanitized in full
    if (code !== null) {
      // Code from a link never runs by itself: the reader reads the diff and presses Run.
      this.setStatus("idle", "This link changes the demo's code: read the changes, then Run.");
      return;
    }
    this.playback.pending = at; // the new diagram opens at the link's moment
    await this.run();
    this.playback.pending = null;
  }
}
