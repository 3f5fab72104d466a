"""Helpers for writing the demos' SVG by hand: escaping, stable numbers, a shared palette.

Colours are CSS custom properties with fallbacks, so the page theme (and dark mode)
restyles every diagram while a standalone SVG file still renders.
"""

from __future__ import annotations

# Classes every demo may use; a demo adds its own rules after these.
BASE_STYLE = """
.dm-bg{fill:var(--demo-bg,#fff)}
.dm-text{fill:var(--demo-fg,#1d1d1f);font:12px system-ui,-apple-system,"Segoe UI",sans-serif}
.dm-small{font-size:10px}
.dm-muted{fill:var(--demo-muted,#5f6368)}
.dm-lane{stroke:var(--demo-grid,#c9ccd1);stroke-width:1}
.dm-grid{stroke:var(--demo-grid,#c9ccd1);stroke-width:.5;stroke-dasharray:2 3}
.dm-node{fill:var(--demo-node,#e8eaed);stroke:var(--demo-fg,#1d1d1f);stroke-width:1}
.dm-accent{fill:var(--demo-accent,#1a5fb4)}
.dm-accent-line{stroke:var(--demo-accent,#1a5fb4)}
.dm-ok{fill:var(--demo-ok,#1e7a34)}
.dm-bad{fill:var(--demo-bad,#c01c28)}
.dm-bad-line{stroke:var(--demo-bad,#c01c28)}
.dm-warn{fill:var(--demo-warn,#9c5d00)}
.dm-msg{stroke:var(--demo-msg,#5f6368);stroke-width:1;fill:none}
.dm-msg-lost{stroke:var(--demo-bad,#c01c28);stroke-width:1;stroke-dasharray:3 2;fill:none}
.dm-band{fill:var(--demo-band,#fdecc8);opacity:.6}
.dm-down{fill:var(--demo-down,#d0d3d8);opacity:.7}
.dm-violation{fill:none;stroke:var(--demo-bad,#c01c28);stroke-width:2}
.dm-off{display:none}
.dm-role-follower{fill:var(--demo-grid,#c9ccd1)}
.dm-role-candidate{fill:var(--demo-warn,#9c5d00)}
.dm-role-leader{fill:var(--demo-accent,#1a5fb4)}
.dm-role-down{fill:var(--demo-down,#d0d3d8)}
"""


# What html.escape(quote=True) replaces, in one pass. Not html itself: importing it loads
# html.entities, whose tables would ride along in every browser's Python memory snapshot.
ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"})


def esc(text: object) -> str:
    """Give `text` escaped for SVG text content and attribute values."""
    s = str(text)
    # Most text (class names, numbers, labels) has nothing to escape, and `in` is several
    # times quicker than a translate that finds nothing: a figure escapes thousands.
    if "&" in s or "<" in s or ">" in s or '"' in s or "'" in s:
        return s.translate(ESCAPES)
    return s


def num(x: float) -> str:
    """Give a coordinate with at most 2 decimals and no trailing zeros: stable across Pythons."""
    s = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def attrs(**kw: object) -> str:
    """Give XML attributes from keywords (`data_t` becomes `data-t`, `class_` becomes `class`).

    None values are left out; floats pass through `num`.
    """
    out = []
    for key, value in kw.items():
        if value is None:
            continue
        name = key.rstrip("_").replace("_", "-")
        if isinstance(value, float):
            value = num(value)
        out.append(f' {name}="{esc(value)}"')
    return "".join(out)


def el(tag: str, text: str | None = None, **kw: object) -> str:
    """Give one element; `text` is escaped."""
    if text is None:
        return f"<{tag}{attrs(**kw)}/>"
    return f"<{tag}{attrs(**kw)}>{esc(text)}</{tag}>"


def document(
    *,
    width: float,
    height: float,
    title: str,
    desc: str,
    body: list[str],
    style: str = "",
    duration: float | None = None,
    time_x: tuple[float, float] | None = None,
    demo: str = "",
) -> str:
    """Give a whole SVG document.

    `time_x` is the x range (in viewBox units) that maps 0..duration: the browser uses it
    to turn a click into a time, and the playback cursor into a position.
    """
    root = attrs(
        xmlns="http://www.w3.org/2000/svg",
        viewBox=f"0 0 {num(width)} {num(height)}",
        width=num(width),
        height=num(height),
        role="img",
        class_=f"demo-svg demo-svg-{demo}" if demo else "demo-svg",
        data_duration=None if duration is None else num(duration),
        data_time_x0=None if time_x is None else num(time_x[0]),
        data_time_x1=None if time_x is None else num(time_x[1]),
    )
    head = [
        f"<svg{root}>",
        el("title", title),
        el("desc", desc),
        f"<style>{BASE_STYLE}{style}</style>",
        el("rect", class_="dm-bg", x=0, y=0, width=num(width), height=num(height)),
    ]
    return "".join(head + body + ["</svg>"])
