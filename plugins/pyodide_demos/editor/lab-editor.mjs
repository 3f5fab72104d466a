// The lab's code editor: CodeMirror 6 from npm, bundled by esbuild (`make build`, see the
// Makefile) into the plugin's static/build/lab-editor.js. lab.js imports it only when a
// reader opens a figure's Code view, so article pages never pay for it before that.
//
// Keys: Tab and Shift-Tab indent and dedent (Python needs them); Escape leaves the editor
// (lab.js moves the focus to the Code view's buttons), so the keyboard is never trapped.
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { python } from "@codemirror/lang-python";
import { bracketMatching, HighlightStyle, indentUnit, syntaxHighlighting }
  from "@codemirror/language";
import { unifiedMergeView } from "@codemirror/merge";
import { EditorState, StateEffect, StateField } from "@codemirror/state";
import { Decoration, EditorView, highlightActiveLine, keymap, lineNumbers } from "@codemirror/view";
import { tags } from "@lezer/highlight";

// Colours for both schemes: light-dark() follows the page's color-scheme (the theme's
// toggle or the system's; light where a site sets none). Each meets WCAG AA (4.5:1) on the
// editor's background and on its active line, light and dark.
const shade = (light, dark) => `light-dark(${light}, ${dark})`;
const highlighting = HighlightStyle.define([
  { tag: [tags.keyword, tags.controlKeyword, tags.operatorKeyword, tags.definitionKeyword,
    tags.moduleKeyword], color: shade("#cf222e", "#ff7b72") },
  { tag: [tags.string, tags.special(tags.string)], color: shade("#0a3069", "#a5d6ff") },
  { tag: [tags.comment, tags.meta], color: shade("#57606a", "#9ba3ad"), fontStyle: "italic" },
  { tag: [tags.number, tags.bool, tags.null, tags.atom], color: shade("#0550ae", "#79c0ff") },
  { tag: [tags.definition(tags.variableName), tags.function(tags.definition(tags.variableName)),
    tags.definition(tags.className)], color: shade("#6639ba", "#d2a8ff") },
  { tag: [tags.standard(tags.variableName), tags.self], color: shade("#953800", "#ffa657") },
  { tag: tags.invalid, color: shade("#c01c28", "#ff8a80") },
]);

// The editor's own surfaces in both schemes: CodeMirror's base theme is light unless told
// otherwise, which left a black caret and a pale active line on a dark page.
const surfaces = EditorView.theme({
  "&": { maxHeight: "28rem", color: shade("#1d1d1f", "#e4e4e1"),
    backgroundColor: shade("#ffffff", "#1b1e23") },
  ".cm-scroller": { overflow: "auto" },
  ".cm-content": { caretColor: shade("#1d1d1f", "#e4e4e1") },
  ".cm-cursor, .cm-dropCursor": { borderLeftColor: shade("#1d1d1f", "#e4e4e1") },
  ".cm-gutters": { backgroundColor: shade("#f2f3f5", "#1f2228"),
    color: shade("#595f69", "#a5abb5"), borderRightColor: shade("#d5d8dc", "#383d45") },
  ".cm-activeLine": { backgroundColor: shade("#eef2f8", "#2a2f38") },
  ".cm-activeLineGutter": { backgroundColor: shade("#e2e8f1", "#2a2f38") },
  ".cm-selectionBackground": { backgroundColor: shade("#d5dbe3", "#343a44") },
  "&.cm-focused > .cm-scroller > .cm-selectionLayer .cm-selectionBackground":
    { backgroundColor: shade("#c8daf5", "#3b4a63") },
  ".cm-matchingBracket": { backgroundColor: shade("#d3e7d6", "#2f4a36") },
  // The diff's folded stretches: a bar in the scheme's colours, marked with a character
  // every font has (the merge view's own is missing from common Linux fonts).
  ".cm-collapsedLines": { background: shade("#eef0f3", "#2a2f38"),
    color: shade("#595f69", "#a5abb5"), "&:before": { content: '"…"' },
    "&:after": { content: '"…"' } },
});

// The line a Python error points at, marked until the text changes or another error comes.
const markError = StateEffect.define();
const errorLine = StateField.define({
  create: () => Decoration.none,
  update(marks, tr) {
    let next = tr.docChanged ? Decoration.none : marks;
    for (const effect of tr.effects) {
      if (!effect.is(markError)) continue;
      const line = effect.value;
      next = line === null ? Decoration.none : Decoration.set([
        Decoration.line({ class: "lab-error-line", attributes: { "data-error": "true" } })
          .range(tr.state.doc.line(line).from)]);
    }
    return next;
  },
  provide: (field) => EditorView.decorations.from(field),
});

const common = () => [
  lineNumbers(),
  python(),
  syntaxHighlighting(highlighting),
  EditorState.tabSize.of(4),
  indentUnit.of("    "),
  surfaces,
];

// Give an editor over `text` in `parent`: {text(), setText(s), markLine(n), focus()}.
// `onChange()` hears every edit; `onEscape()` is asked to take the focus elsewhere.
export function createEditor(parent, text, { onChange = () => {}, onEscape = () => {},
  label = "Protocol source" } = {}) {
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: text,
      extensions: [
        ...common(),
        history(),
        bracketMatching(),
        highlightActiveLine(),
        errorLine,
        keymap.of([
          { key: "Escape", run: () => { onEscape(); return true; } },
          indentWithTab,
          ...defaultKeymap,
          ...historyKeymap,
        ]),
        EditorView.contentAttributes.of({ "aria-label": label }),
        EditorView.updateListener.of((update) => { if (update.docChanged) onChange(); }),
      ],
    }),
  });
  return {
    view,
    text: () => view.state.doc.toString(),
    setText(next) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: next } });
    },
    // Mark line `line` (1-based; null clears) and bring it into view.
    markLine(line) {
      const valid = Number.isInteger(line) && line >= 1 && line <= view.state.doc.lines;
      const effects = [markError.of(valid ? line : null)];
      if (valid) {
        effects.push(EditorView.scrollIntoView(view.state.doc.line(line).from, { y: "center" }));
      }
      view.dispatch({ effects });
    },
    focus: () => view.focus(),
    destroy: () => view.destroy(),
  };
}

// Give a read-only view of `edited` with what changed from `original` marked inline
// (deleted lines shown struck through above their replacements).
export function createDiff(parent, original, edited) {
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: edited,
      extensions: [
        ...common(),
        EditorState.readOnly.of(true),
        EditorView.editable.of(false),
        unifiedMergeView({ original, mergeControls: false, highlightChanges: true,
          gutter: true, collapseUnchanged: { margin: 3, minSize: 6 } }),
        EditorView.contentAttributes.of({ "aria-label": "What changed from the original" }),
      ],
    }),
  });
  return { view, destroy: () => view.destroy() };
}
