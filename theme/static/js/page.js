// The runner proper, loaded by demos.js when a reader first reaches for a demo (or opens
// a shared link): one Python client for the page, one DemoFigure per figure.
import { PythonClient } from "./client.js";
import { DemoFigure } from "./figure.js";
import { readFragment } from "./share.js";

class Page {
  constructor(manifestURL, elements, started) {
    this.manifestURL = manifestURL;
    this.client = new PythonClient(manifestURL, started);
    this.manifestPromise = null;
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
    this.manifestPromise ??= fetch(this.manifestURL).then((response) => {
      if (!response.ok) throw new Error(`the demo manifest answered ${response.status}`);
      return response.json();
    });
    this.manifestPromise.catch(() => {
      this.manifestPromise = null; // let a later attempt try again
    });
    return this.manifestPromise;
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
