// The checks panel: each invariant as pass/fail, and where a failure shows in the diagram.
const SVG_NS = "http://www.w3.org/2000/svg";

// Rebuild `list` (ul.demo-checks) from the worker's checks; mark failures in `svg`.
export function showChecks(list, checks, svg) {
  list.replaceChildren(...checks.map((check) => {
    const item = document.createElement("li");
    item.className = "demo-check";
    item.dataset.ok = String(check.ok === true);
    const name = document.createElement("strong");
    name.textContent = String(check.name);
    item.append(name, ` ${String(check.detail ?? "")}`);
    return item;
  }));
  for (const check of checks) if (check.ok !== true) markViolation(svg, check);
}

// Give the x (viewBox units) of moment `t` ms, or null when the diagram has no time axis.
export function timeToX(svg, t) {
  const x0 = Number(svg.getAttribute("data-time-x0"));
  const x1 = Number(svg.getAttribute("data-time-x1"));
  const duration = Number(svg.getAttribute("data-duration"));
  if (!(duration > 0) || !Number.isFinite(x0) || !(x1 > x0)) return null;
  return x0 + (Math.min(Math.max(t, 0), duration) / duration) * (x1 - x0);
}

function viewBoxHeight(svg) {
  const box = svg.viewBox.baseVal;
  return box && box.height ? box.height : svg.getBBox().height;
}

function svgElement(tag, attributes) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  return node;
}

// The demo may have drawn the culprit (class dm-violation, data-check=name); else the check's
// t and node place a marker: a ring at the node's lane at t, a line at t, or a box round the node.
function markViolation(svg, check) {
  const name = String(check.name);
  const drawn = [...svg.querySelectorAll("[data-check]")]
    .filter((el) => el.getAttribute("data-check") === name);
  if (drawn.length) {
    drawn.forEach((el) => el.classList.add("demo-violation"));
    return;
  }
  const t = Number.isFinite(check.t) ? check.t : null;
  const x = t === null ? null : timeToX(svg, t);
  const nodeEl = check.node == null ? null : [...svg.querySelectorAll("[data-node]")]
    .find((el) => el.getAttribute("data-node") === String(check.node));
  const box = nodeEl ? nodeEl.getBBox() : null;
  let marker;
  if (x !== null && box) {
    marker = svgElement("circle", { cx: x, cy: box.y + box.height / 2, r: 9 });
  } else if (x !== null) {
    marker = svgElement("line", { x1: x, x2: x, y1: 0, y2: viewBoxHeight(svg) });
  } else if (box) {
    marker = svgElement("rect", { x: box.x - 3, y: box.y - 3, width: box.width + 6,
      height: box.height + 6, rx: 3 });
  } else {
    return;
  }
  marker.setAttribute("class", "demo-marker");
  marker.setAttribute("data-check", name);
  if (t !== null) marker.setAttribute("data-t", String(t));
  const title = svgElement("title", {});
  title.textContent = `Check failed: ${name}`;
  marker.append(title);
  svg.append(marker);
}
