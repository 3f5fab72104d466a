// The lab of one figure: its "Code" control opens the demo's protocol module in a code
// editor (CodeMirror, build/lab-editor.js beside js/, imported only then, with the module's
// source from the site's lab/ folder). The reader's code replaces the demo's protocol for
// this figure's runs; "Find a counterexample" searches seeds and fault schedules with it in
// the worker and shows the shrunken failing run; the change travels in the link as code=.
import { decodeCode, encodeCode } from "./lab-share.js";

const EDITOR_URL = new URL("../build/lab-editor.js", import.meta.url);
export const SEARCH_RUNS = 1000; // as the CLI's default, so both find the same case
export const SEARCH_SEED = 1;
const SEARCH_LIMIT_MS = 120000;
// Params the search draws for every case: a figure's own values for them are not kept.
const DRAWN = new Set(["seed", "drop", "duplicate", "reorder", "faults"]);

// A test or the benchmark may search fewer cases: <html data-demo-search-runs="50">.
function searchRuns() {
  return Number(document.documentElement.dataset.demoSearchRuns) || SEARCH_RUNS;
}

function searchLimit() {
  return Number(document.documentElement.dataset.demoSearchLimitMs) || SEARCH_LIMIT_MS;
}

// How long the Code view waits for its editor and source (a connection that hangs, or an
// offline visit whose cache lacks them) before it says so and may be opened again.
const LOAD_LIMIT_MS = 20000;

function loadLimit() {
  return Number(document.documentElement.dataset.demoLoadLimitMs) || LOAD_LIMIT_MS;
}

const make = (tag, props = {}, ...children) => {
  const el = Object.assign(document.createElement(tag), props);
  el.append(...children);
  return el;
};

export class Lab {
  constructor(figure) {
    this.figure = figure;
    this.demo = figure.demo;
    // The build marks a figure whose demo the lab can edit and search (data-lab): the
    // site's package has the lab's modules and the demo a protocol source. Elsewhere there
    // is no Code control, and a link's code= is refused rather than opened.
    this.offered = figure.el.dataset.lab === "true";
    this.hidden = {}; // params of a counterexample or link that the form has no field for
    this.encoded = null; // the code= value of the reader's last run edited code
    this.sources = null; // promise of {source, presets} for this demo
    this.editor = null;
    this.diffView = null;
    this.button = make("button", { type: "button", className: "demo-code", textContent: "Code" });
    this.button.dataset.action = "code";
    this.button.setAttribute("aria-expanded", "false");
    this.button.addEventListener("click", () => this.toggle());
    this.build();
  }

  build() {
    const button = (action, text, title) => {
      const el = make("button", { type: "button", textContent: text, title });
      el.dataset.action = action;
      return el;
    };
    this.presetMenu = make("select", { className: "lab-preset" },
      make("option", { value: "", textContent: "The demo's own code" }));
    this.runButton = button("lab-run", "Run this code", "Run the figure with the code below");
    this.searchButton = button("lab-search", "Find a counterexample",
      "Try many seeds and fault schedules until a guaranteed check fails, then shrink the run");
    this.stopButton = button("lab-stop", "Stop", "Stop the run or the search");
    this.stopButton.disabled = true;
    this.diffButton = button("lab-diff", "Show changes", "What differs from the demo's code");
    this.diffButton.setAttribute("aria-pressed", "false");
    this.restoreButton = button("lab-restore", "Restore", "Put the demo's own code back");
    const label = make("label", { className: "lab-preset-label" }, "Preset ", this.presetMenu);
    this.explain = make("p", { className: "lab-explain", hidden: true });
    this.note = make("p", { className: "lab-note" });
    this.note.setAttribute("role", "status");
    this.editorBox = make("div", { className: "lab-editor" });
    this.diffBox = make("div", { className: "lab-diff", hidden: true });
    this.panel = make("div", { className: "demo-lab", hidden: true },
      make("div", { className: "lab-bar" }, label, this.runButton, this.searchButton,
        this.stopButton, this.diffButton, this.restoreButton),
      this.explain, this.note, this.editorBox, this.diffBox);
    this.panel.id = `${this.figure.el.id}-lab`;
    this.button.setAttribute("aria-controls", this.panel.id);
    this.presetMenu.addEventListener("change", () => this.choosePreset());
    this.runButton.addEventListener("click", () => this.figure.run());
    this.searchButton.addEventListener("click", () => this.search());
    this.stopButton.addEventListener("click", () => this.figure.stop());
    this.diffButton.addEventListener("click", () => this.showDiff(this.diffBox.hidden));
    this.restoreButton.addEventListener("click", () => this.restore());
  }

  toggle() {
    if (this.panel.hidden) this.open().catch((err) => this.say(err.message));
    else this.close();
  }

  close() {
    this.panel.hidden = true;
    this.button.setAttribute("aria-expanded", "false");
  }

  // Show the Code view; the editor and the source arrive on first use. Give the editor.
  async open() {
    // Put in the page only now: until a reader asks for it the figure is as it was built.
    if (!this.panel.isConnected) this.figure.tools.after(this.panel);
    this.panel.hidden = false;
    this.button.setAttribute("aria-expanded", "true");
    if (this.editor) return this.editor;
    if (!this.loading) {
      // A load that failed or ran out of time is tried afresh the next time Code is opened.
      this.loading = this.load();
      this.loading.catch(() => { this.loading = null; });
    }
    return this.loading;
  }

  async load() {
    this.say("Loading the code…");
    let timer = 0;
    const late = new Promise((_, reject) => {
      timer = setTimeout(() => {
        this.sources = null; // asked for again on the next try, not awaited forever
        reject(new Error(`The code did not arrive within ${Math.round(loadLimit() / 1000)} s.`
          + " Close the Code view and open it again to retry."));
      }, loadLimit());
    });
    const [editorModule, sources] = await Promise.race([late, Promise.all([
      import(EDITOR_URL.href), this.fetchSources()])]).finally(() => clearTimeout(timer));
    this.modules = editorModule;
    for (const preset of sources.presets) {
      this.presetMenu.append(make("option", { value: preset.name, textContent: preset.title }));
    }
    this.editor = editorModule.createEditor(this.editorBox, sources.source, {
      label: `${this.demo}.py, the demo's protocol`,
      onChange: () => this.changed(),
      onEscape: () => this.runButton.focus(),
    });
    this.panel.dataset.ready = "true";
    this.say("");
    return this.editor;
  }

  fetchSources() {
    this.sources ??= this.figure.page.manifest().then((manifest) => {
      if (!manifest.sources) throw new Error("This site ships no sources for the Code view.");
      const base = new URL(this.figure.page.manifestURL, document.baseURI);
      const url = new URL(manifest.sources.replace("{demo}", this.demo), base);
      return fetch(url).then((answer) => {
        if (!answer.ok) throw new Error(`The demo's code did not load (${answer.status}).`);
        return answer.json();
      });
    });
    this.sources.catch(() => { this.sources = null; });
    return this.sources;
  }

  say(text) {
    this.note.textContent = text;
  }

  changed() {
    this.editor?.markLine(null);
    if (!this.diffBox.hidden) this.showDiff(true);
  }

  async choosePreset() {
    const sources = await this.fetchSources();
    const preset = sources.presets.find((p) => p.name === this.presetMenu.value);
    this.editor.setText(preset ? preset.source : sources.source);
    this.explain.textContent = preset ? preset.explain : "";
    this.explain.hidden = !preset;
    this.say(preset ? "Preset loaded: Run it, or find a counterexample." : "");
  }

  async restore() {
    const sources = await this.fetchSources();
    this.presetMenu.value = "";
    this.explain.hidden = true;
    this.editor?.setText(sources.source);
    this.encoded = null;
    this.showDiff(false);
    this.say("The demo's own code is back.");
    this.figure.share();
  }

  async showDiff(show) {
    this.diffView?.destroy();
    this.diffView = null;
    this.diffButton.setAttribute("aria-pressed", String(show));
    this.diffBox.hidden = !show;
    if (!show || !this.editor) return;
    const sources = await this.fetchSources();
    this.diffView = this.modules.createDiff(this.diffBox, sources.source, this.editor.text());
  }

  // Give the reader's code when it differs from the demo's (else null: the demo's own runs).
  // Only a loaded editor holds code, so a figure whose Code was never opened runs as built.
  async source() {
    if (!this.editor) return null;
    const sources = await this.fetchSources();
    const text = this.editor.text();
    return text === sources.source ? null : text;
  }

  // A run finished with `source` (null: the demo's own code): keep it for the link.
  async ran(source) {
    this.editor?.markLine(null);
    this.encoded = source === null ? null : await encodeCode(source);
    this.figure.shareSoon(); // after the new diagram is drawn, not on the way to it
  }

  // The reader's code raised: mark its line and say where.
  failed(answer) {
    if (Number.isInteger(answer.line)) this.editor?.markLine(answer.line);
    this.say(answer.line ? `Error at line ${answer.line}.` : "");
  }

  busy(busy) {
    this.stopButton.disabled = !busy;
    this.searchButton.disabled = busy;
  }

  // Give `params` with the values the form has no field for (a counterexample's loss, say).
  withHidden(params) {
    return { ...params, ...this.hidden };
  }

  // Keep the values in `values` that `form` has no field for.
  keepHidden(values, specs) {
    this.hidden = {};
    for (const spec of specs) {
      const field = this.figure.form?.elements.namedItem(spec.name);
      if (!(field && "value" in field) && spec.name in values) {
        this.hidden[spec.name] = values[spec.name];
      }
    }
  }

  // Give [the pairs without code=, the code= text or null] of a link's pairs.
  takeCode(pairs) {
    const codes = pairs.filter(([name]) => name === "code");
    if (codes.length > 1) throw new Error("the link holds code= twice");
    if (codes.length && !this.offered) {
      throw new Error("the link changes the demo's code, and this figure has no Code view");
    }
    return [pairs.filter(([name]) => name !== "code"), codes.length ? codes[0][1] : null];
  }

  // A link carries code: decode it, show it with its diff; never run it from here.
  async openShared(code) {
    const text = await decodeCode(code);
    const editor = await this.open();
    editor.setText(text);
    await this.showDiff(true);
    this.say("This link changes the demo's code (the changes are shown below). " +
      "Nothing has run: read them, then press Run this code.");
  }

  // The figure's params with the drawn ones left out: what every case of the search keeps.
  searchBase(params) {
    return Object.fromEntries(Object.entries(params).filter(([name]) => !DRAWN.has(name)));
  }

  async search() {
    const figure = this.figure;
    const ticket = ++figure.ticket;
    figure.intent();
    figure.clearError();
    figure.setBusy(true);
    this.busy(true);
    let params;
    let source;
    try {
      const specs = await figure.specs();
      params = figure.formParams(specs);
      source = await this.source();
    } catch (err) {
      if (ticket === figure.ticket) {
        figure.setBusy(false);
        this.busy(false);
        figure.refuse(err);
      }
      return;
    }
    const preset = (await this.fetchSources()).presets.find((p) => p.source === source);
    const base = { ...this.searchBase(params), ...(preset ? preset.base : {}) };
    this.panel.dataset.base = JSON.stringify(base);
    delete this.panel.dataset.found; // set again when this search ends
    figure.showWaiting();
    let started = 0;
    const onProgress = ({ phase, runs }) => {
      if (ticket !== figure.ticket) return;
      const seconds = (performance.now() - started) / 1000;
      const rate = seconds > 0 ? runs / seconds : 0;
      if (phase === "search") {
        this.panel.dataset.runs = String(runs);
        this.panel.dataset.rate = rate.toFixed(1);
        this.say(`Searching: ${runs} runs, ${rate.toFixed(0)} runs per second…`);
      } else {
        this.say(`A check failed; shrinking the run: ${runs} tries…`);
      }
    };
    try {
      const answer = await figure.page.client.run(figure, this.demo, null, () => {
        started = performance.now();
        if (ticket === figure.ticket) figure.setStatus("running", "Searching…");
      }, { type: "search", source: source ?? undefined, onProgress, limit: searchLimit(),
        options: { base, runs: searchRuns(), seed: SEARCH_SEED } });
      if (ticket !== figure.ticket) return;
      if (typeof answer.error === "string") {
        this.failed(answer);
        figure.setStatus("error", "The search stopped at an error in the code.");
        figure.say(answer.error);
        return;
      }
      const seconds = (performance.now() - started) / 1000;
      this.panel.dataset.seconds = seconds.toFixed(2);
      if (!answer.found) {
        this.panel.dataset.runs = String(answer.runs);
        this.panel.dataset.rate = (answer.runs / seconds).toFixed(1);
        this.panel.dataset.found = "";
        this.say(`No counterexample in ${answer.runs} runs (${seconds.toFixed(1)} s).`);
        figure.setStatus("done", "No guaranteed check failed.");
        return;
      }
      this.showFound(answer.found, seconds, await figure.specs());
      await this.ran(source);
    } catch (err) {
      if (ticket === figure.ticket) figure.failedRequest(err);
    } finally {
      if (ticket === figure.ticket) {
        figure.setBusy(false);
        this.busy(false);
      }
    }
  }

  // Show the shrunken counterexample in the figure and make Run reproduce it.
  showFound(found, seconds, specs) {
    const figure = this.figure;
    figure.show(found.result);
    figure.writeParams(found.params);
    this.keepHidden(found.params, specs);
    figure.shown = found.params;
    this.panel.dataset.found = found.check;
    this.panel.dataset.params = JSON.stringify(found.params);
    this.say(`${found.check} fails: found after ${found.runs} runs, shrunk in ` +
      `${found.shrink_runs} more tries (${seconds.toFixed(1)} s). Run reproduces it.`);
    figure.setStatus("done", `Counterexample: ${found.check} fails.`);
  }
}
