// Entry point of the demo runner: <script type="module" src=".../demos.js" data-manifest="…">.
// At page load this small module only listens. The runner's modules arrive when a reader
// points at, touches or tabs into a demo (or opens a shared link); Python starts later
// still, when the reader reaches for a demo's controls.

import { startWorker } from "./boot.js";

// document.currentScript is null in modules: find our tag by its attribute instead.
const script = document.querySelector("script[data-manifest]");
const elements = [...document.querySelectorAll("figure.demo[data-demo]")];
const SHARED = /(^#|;)demo-[a-z0-9_-]+:/;

// Pointing at, touching, tabbing into or clicking the controls: the reach that starts Python.
// pointerover bubbles, so the figure hears the pointer arrive on the form even when it came
// straight onto a button, before the runner's own listeners exist.
const REACH = new Set(["pointerover", "touchstart", "focusin", "click"]);
const reaches = (event) => Boolean(event && REACH.has(event.type)
  && event.target instanceof Element && event.target.closest(".demo-controls"));

if (script && elements.length) {
  const manifestURL = new URL(script.getAttribute("data-manifest"), document.baseURI).href;
  let loading = null;
  let runner = null;
  let python = null; // a worker started before the runner arrived
  let reach = null; // the first reach for the controls before the runner arrived
  const missed = []; // clicks that came before the runner did
  const enhance = (event) => {
    if (runner) return;
    if (event && event.type === "click") missed.push(event);
    if (reaches(event)) {
      // No need to wait for the runner's modules before the worker starts its few seconds
      // of boot.
      python ??= startWorker(manifestURL, 0);
      if (event.type !== "click") reach ??= event;
    }
    loading ??= import("./page.js").then(({ start }) => {
      runner = start(manifestURL, elements, python);
      document.documentElement.classList.add("demos-enhanced");
      if (reach) runner.replay(reach);
      missed.splice(0).forEach((click) => runner.replay(click));
    });
    loading.catch(() => {}); // the page stays whole without the runner
  };
  for (const figure of elements) {
    for (const type of ["pointerenter", ...REACH]) {
      figure.addEventListener(type, enhance, { passive: true });
    }
  }
  if (SHARED.test(location.hash)) enhance();
  addEventListener("hashchange", () => SHARED.test(location.hash) && enhance());
}
