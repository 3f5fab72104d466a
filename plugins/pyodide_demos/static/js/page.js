// The runner proper, loaded by demos.js when a reader first reaches for a demo (or opens
// a shared link): one Python client for the page, one DemoFigure per figure.
import { fetchManifest } from "./boot.js";
import { PythonClient } from "./client.js";
import { DemoFigure } from "./figure.js";
import { readFragment } from "./share.js";

class Page {
  constructor(manifestURL, elements, started) {
    this.manifestURL = manifestURL;
    this.client = new PythonClient(manifestURL, started, () => this.manifest());
    this.manifestPromise = null;
    if (started) this.keep(started.manifest); // the entry module's worker asked for it
    this.figures = new Map();
    for (const element of elements) {
      if (element.id && element.querySelector(".demo-output")) {
        this.figures.set(element.id, new DemoFigure(element, this));
      }
    }
    addEventListener("hashchange", () => this.restore());
  }

  // The manifest (param specs, runtime and wheel locations), fetched once when first needed.
  manifest() {
    if (!this.manifestPromise) this.keep(fetchManifest(this.manifestURL));
    return this.manifestPromise;
  }

  keep(promise) {
    this.manifestPromise = promise;
    promise.catch(() => {
      if (this.manifestPromise === promise) this.manifestPromise = null; // a later try may work
    });
  }

  // A shared link: restore each named figure's params and run it.
  restore() {
    let first = true;
    for (const [id, query] of readFragment(location.hash)) {
      const figure = this.figures.get(id);
      if (!figure) continue;
      if (first) figure.el.scrollIntoView({ block: "start" });
      first = false;
      figure.restore(query);
    }
  }

  // The event that brought the runner in was already a reach for the controls.
  replay(event) {
    const element = event.target instanceof Element ? event.target.closest("figure.demo") : null;
    const figure = element && this.figures.get(element.id);
    if (!figure) return;
    if (event.target.closest(".demo-controls")) figure.intent();
    if (event.type === "click") event.target.closest("button")?.click();
  }
}

// `started`: the Python worker the entry module started early, or null.
export function start(manifestURL, elements, started = null) {
  const page = new Page(manifestURL, elements, started);
  page.restore();
  return page;
}
