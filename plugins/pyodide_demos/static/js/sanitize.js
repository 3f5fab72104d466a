// The one place Python output becomes markup: SVG text is parsed as XML and refused when
// it could run code or reach out of the page.
import { Refused } from "./params.js";

const SVG_NS = "http://www.w3.org/2000/svg";
// Elements that run script, embed other documents, or can rewrite attributes over time
// (<set attributeName="href" to="javascript:…"> is a classic way around attribute checks).
const FORBIDDEN = new Set(["script", "foreignobject", "iframe", "embed", "object", "image",
  "audio", "video", "set", "animate", "animatemotion", "animatetransform", "discard",
  "handler", "listener"]);

// CSS that fetches: url() other than "#id", image-set() with bare strings, and any escape,
// since "u\72l(" is url( to a CSS parser. The demos' own styles need none of them.
const LOADS_CSS = /url\((?!['"]?#)|image-set\(|\\/i;

// Give the root <svg> of `text` parsed as XML (still in the parser's own document); throw
// Refused if it is not well-formed SVG.
function parseRoot(text) {
  const doc = new DOMParser().parseFromString(String(text), "image/svg+xml");
  const root = doc.documentElement;
  if (doc.getElementsByTagName("parsererror").length || root.localName !== "svg"
      || root.namespaceURI !== SVG_NS) {
    throw new Refused("The diagram from Python is not well-formed SVG.");
  }
  return root;
}

// The parser's document is thrown away: its tree moves into the page (adoptNode) instead of
// being copied node by node (importNode), which cost as much again as the parse.
const adopt = (root) => document.adoptNode(root);

// Give a document-owned <svg> element built from `text`; throw Refused if it is unsafe.
export function parseSVG(text) {
  const root = parseRoot(text);
  for (const node of [root, ...root.querySelectorAll("*")]) {
    const tag = node.localName.toLowerCase();
    if (FORBIDDEN.has(tag) || node.namespaceURI !== SVG_NS) {
      throw new Refused(`The diagram from Python was refused: it holds a <${tag}> element.`);
    }
    for (const attr of node.attributes) {
      const name = attr.name.toLowerCase();
      const value = attr.value.replace(/[\s\u0000-\u001f]+/g, "").toLowerCase();
      if (name.startsWith("on")) {
        throw new Refused(`The diagram from Python was refused: it holds an ${name} attribute.`);
      }
      // Only references inside the diagram itself (href="#arrow").
      const isRef = name === "href" || name.endsWith(":href");
      if ((isRef && !value.startsWith("#")) || value.includes("javascript:")
          || LOADS_CSS.test(value)) {
        throw new Refused(`The diagram from Python was refused: its ${name} points outside it.`);
      }
    }
    if (tag === "style" && (/@import|javascript:/i.test(node.textContent)
        || LOADS_CSS.test(node.textContent))) {
      throw new Refused("The diagram from Python was refused: its style loads outside files.");
    }
  }
  return adopt(root);
}

// Give the <svg> element of a diagram the site's own demo module drew in our worker from
// params the reader typed (checked by params.js) and that nothing from a link set: the
// demos escape every text they draw (svg.py), so the element-by-element walk is skipped and
// only well-formedness is checked. Anything a link or the reader's code shaped goes through
// parseSVG instead (issue 12, part 6).
export function parseOwnSVG(text) {
  return adopt(parseRoot(text));
}
