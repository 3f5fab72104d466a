"""The figure markup of the page contract: prerendered run, summary, checks, a form."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from html import escape

from . import lite
from .prerender import Rendered


@dataclass
class PageShared:
    """What one page's earlier figures already hold: style sheets, help texts by id."""

    styles: set[str] = field(default_factory=set)
    helps: dict[str, str] = field(default_factory=dict)


def figure(
    *,
    slug: str,
    demo: str,
    title: str,
    caption: str,
    params: dict,
    specs: Iterable,
    rendered: Rendered,
    at: float | None = None,
    page: PageShared | None = None,
    lab: bool = False,
) -> str:
    """Give the whole `<figure class="demo">` for one fence; `at` is the moment (ms) where
    the player's cursor starts (None: at the end of the run, as the diagram is drawn).

    `lab`: the demo opens in the lab (its protocol can be edited and searched), so the
    runner offers its Code control (`data-lab="true"`); without it the runner leaves that
    control out rather than offer one that can only fail.

    `page` holds what earlier figures of the page already carry: a later figure leaves out
    an identical style sheet (a `<style>` in inline SVG applies to the whole page; a Python
    run or the whole figure brings its own back) and refers to a help text shown above
    instead of repeating it (one per page is enough to read; its id still describes the
    field).
    """
    page = page if page is not None else PageShared()
    fid = f"demo-{slug}"
    defaults = json.dumps(params, ensure_ascii=False, separators=(",", ":"))
    start = "" if at is None else f' data-at="{_number(at)}"'
    if lab:
        start += ' data-lab="true"'
    # A figure that opens mid-run keeps the stretches of that moment inline too.
    inline, whole = lite.split(rendered.svg, at)
    inline = lite.share_style(inline, page.styles)
    if whole:  # the player fetches the stretches left out of the page from this file
        start += f' data-full-svg="{lite.FOLDER}/{whole}"'
    parts = [
        f'<figure class="demo" id="{_e(fid)}" data-demo="{_e(demo)}"{start} '
        f"data-defaults='{_single_quoted(defaults)}'>",
        f'<figcaption class="demo-title">{_e(title)}</figcaption>',
        f'<div class="demo-output">{inline}</div>',
        f'<p class="demo-summary">{_e(rendered.summary)}</p>',
        '<ul class="demo-checks">',
        *(
            f'<li class="demo-check" data-ok="{"true" if c["ok"] else "false"}">'
            f"<strong>{_e(c['name'])}</strong> {_e(c['detail'])}</li>"
            for c in rendered.checks
        ),
        "</ul>",
        f'<form class="demo-controls" aria-label="Parameters for {_e(title)}">',
        *(_field(fid, spec, params[spec.name], page.helps) for spec in specs),
        '<div class="demo-buttons">',
        '<button type="button" data-action="run">Run</button>',
        '<button type="button" data-action="stop" disabled>Stop</button>',
        '<button type="button" data-action="reset">Reset</button>',
        "</div>",
        "</form>",
        '<output class="demo-status" data-state="idle" aria-live="polite">'
        "Default run, rendered at build time.</output>",
    ]
    if caption:
        parts.append(f'<p class="demo-caption">{_e(caption)}</p>')
    parts.append("</figure>")
    return "\n".join(parts)


def _field(fid: str, spec, value: object, helps: dict[str, str]) -> str:
    """Give one labelled control for `spec`, showing `value`; `helps` maps help texts the
    page already shows to their element ids."""
    input_id = f"{fid}-{spec.name}"
    shown = helps.get(spec.help) if spec.help else None
    help_id = shown or f"{input_id}-help"
    if spec.help and not shown:
        helps[spec.help] = help_id
    described = f' aria-describedby="{_e(help_id)}"' if spec.help else ""
    common = f'id="{_e(input_id)}" name="{_e(spec.name)}"'
    if spec.kind == "choice":
        options = "".join(
            f'<option value="{_e(c)}"{" selected" if c == value else ""}>{_e(c)}</option>'
            for c in spec.choices
        )
        control = f"<select {common}{described}>{options}</select>"
    elif spec.kind in ("int", "float"):
        bounds = "".join(
            f' {attr}="{_number(limit)}"'
            for attr, limit in (("min", spec.min), ("max", spec.max))
            if limit is not None
        )
        step = (
            _number(spec.step) if spec.step is not None else ("1" if spec.kind == "int" else "any")
        )
        control = (
            f'<input {common} type="number"{bounds} step="{step}" '
            f'value="{_number(value)}"{described}>'
        )
    else:
        control = f'<input {common} type="text" value="{_e(value)}"{described}>'
    help_text = (
        f'\n<small id="{_e(help_id)}">{_e(spec.help)}</small>' if spec.help and not shown else ""
    )
    return (
        f'<div class="demo-field"><label for="{_e(input_id)}">{_e(spec.label)}</label>\n'
        f"{control}{help_text}</div>"
    )


def _number(value: object) -> str:
    """Give a number as a form shows it: integers without '.0', floats exactly."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _single_quoted(text: str) -> str:
    """Escape for an attribute in single quotes, leaving JSON's double quotes readable."""
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("'", "&#x27;")
    )
