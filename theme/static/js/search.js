// Site search: Pagefind's own UI over the index `make build` writes to pagefind/.
// Imported by the small loader in base.html on the first click of Search or "/", so
// no page pays for search before a reader asks for it.

const panel = document.getElementById("search-panel");
const button = document.querySelector(".search-toggle");
// The bundle's address from the page's relative link, so the site works under any sub-path.
const bundle = new URL(panel.dataset.bundle, document.baseURI);
let ready = null;

function load(tag, attributes) {
  return new Promise((resolve, reject) => {
    const element = Object.assign(document.createElement(tag), attributes);
    element.addEventListener("load", resolve, { once: true });
    element.addEventListener("error", () => reject(new Error(`search: ${attributes.src || attributes.href} did not load`)), { once: true });
    document.head.append(element);
  });
}

function start() {
  ready = ready || Promise.all([
    load("link", { rel: "stylesheet", href: new URL("pagefind-ui.css", bundle).href }),
    load("script", { src: new URL("pagefind-ui.js", bundle).href }),
  ]).then(() => {
    const mount = document.createElement("div");
    panel.append(mount);
    // Pagefind stores each page's path from the site root; baseUrl puts the sub-path
    // the site is served from in front of it.
    new window.PagefindUI({
      element: mount,
      bundlePath: bundle.href,
      baseUrl: new URL("../", bundle).pathname,
      showImages: false,
      showSubResults: true,
      resetStyles: false,
    });
  }).catch((error) => {
    ready = null;
    throw error;
  });
  return ready;
}

export async function open() {
  panel.hidden = false;
  button.setAttribute("aria-expanded", "true");
  await start();
  panel.querySelector("input")?.focus();
}

export function close() {
  panel.hidden = true;
  button.setAttribute("aria-expanded", "false");
  button.focus();
}

export function toggle() {
  return panel.hidden ? open() : close();
}

// Escape inside the panel closes it and gives focus back to the button.
panel.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && !panel.hidden) {
    event.preventDefault();
    close();
  }
});
