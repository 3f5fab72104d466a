// The lab's code editor: CodeMirror 6 from npm, bundled by esbuild (`make build`, see the
// Makefile) into the plugin's static/build/lab-editor.js. lab.js imports it only when a
// reader opens a figure's Code view, so article pages never pay for it before that.
//
// Keys: Tab and Shift-Tab indent and dedent (Python needs them); Escape leaves the editor
// (lab.js moves the focus to the Code view's buttons), so the keyboard is never trapped.
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { python } from "@codemirror/lang-python";
import { bracketMatching, indentUnit, syntaxHighlighting, defaultHighlightStyle }
  from "@codemirror/language";
import { unifiedMergeView } from "@codemirror/merge";
import { EditorState, StateEffect, StateField } from "@codemirror/state";
import { Decoration, EditorView, highlightActiveLine, keymap, lineNumbers } from "@codemirror/view";

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
  syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
  EditorState.tabSize.of(4),
  indentUnit.of("    "),
  EditorView.theme({ "&": { maxHeight: "28rem" }, ".cm-scroller": { overflow: "auto" } }),
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
