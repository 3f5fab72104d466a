// Reader input, checked strictly against a demo's parameter specs (from the manifest)
// before anything reaches Python or the form. A refused value is never echoed as HTML.

export class Refused extends Error {
  constructor(message) {
    super(message);
    this.name = "Refused";
  }
}

const INT = /^-?\d{1,16}$/;
const FLOAT = /^-?(\d{1,16}(\.\d{0,16})?|\.\d{1,16})([eE][-+]?\d{1,3})?$/;
// Everything the fault grammar needs (crash n2@1500; partition n1,n2|n3@2000-6000), nothing else.
const SCHEDULE = /^[a-z0-9 ,|@;.\-]*$/;
const TEXT = /^[A-Za-z0-9 _.,:;@|+\-]*$/;
const MAX_TEXT = 2000;

function bounds(spec) {
  const lo = spec.min ?? -Infinity;
  const hi = spec.max ?? Infinity;
  const range = spec.min != null && spec.max != null ? ` from ${spec.min} to ${spec.max}` : "";
  return { lo, hi, range };
}

// Give `raw` (a string from a form or a link) as the value for `spec`; throw Refused.
export function checkValue(spec, raw) {
  const text = String(raw).trim();
  const label = spec.label || spec.name;
  if (spec.kind === "int" || spec.kind === "float") {
    const { lo, hi, range } = bounds(spec);
    const whole = spec.kind === "int";
    const value = Number(text);
    if (!(whole ? INT : FLOAT).test(text) || !Number.isFinite(value)
        || (whole && !Number.isSafeInteger(value)) || value < lo || value > hi) {
      throw new Refused(`${label}: expected ${whole ? "a whole number" : "a number"}${range}.`);
    }
    return value;
  }
  if (spec.kind === "choice") {
    if (!(spec.choices || []).includes(text)) {
      throw new Refused(`${label}: expected one of ${(spec.choices || []).join(", ")}.`);
    }
    return text;
  }
  if (text.length > MAX_TEXT) {
    // Python refuses it too; a schedule grows this long by clicks, so say what to do.
    throw new Refused(`${label}: ${text.length} characters is too long (at most ${MAX_TEXT}); ` +
      "remove some items.");
  }
  const pattern = spec.kind === "schedule" ? SCHEDULE : TEXT;
  if (!pattern.test(text)) {
    throw new Refused(spec.kind === "schedule"
      ? `${label}: only items like "crash n2@1500; restart n2@4000; partition n1,n2|n3@2000-6000" are accepted.`
      : `${label}: contains characters that are not accepted.`);
  }
  return text;
}

// Give the params in `form`, checked; fields the form lacks keep their defaults.
export function readForm(form, specs, defaults) {
  const params = {};
  for (const spec of specs) {
    const field = form.elements.namedItem(spec.name);
    const raw = field && "value" in field ? field.value : defaults[spec.name] ?? spec.default;
    params[spec.name] = checkValue(spec, raw);
  }
  return params;
}

export function writeForm(form, values) {
  for (const [name, value] of Object.entries(values)) {
    const field = form.elements.namedItem(name);
    if (field && "value" in field) field.value = String(value);
  }
}

function same(a, b) {
  return typeof a === "number" || typeof b === "number" ? Number(a) === Number(b)
    : String(a ?? "").trim() === String(b ?? "").trim();
}

// Give [name, value] pairs for the params that differ from the figure's defaults.
export function changed(params, defaults) {
  return Object.entries(params).filter(([name, value]) => !same(value, defaults[name]));
}
