"""Marks shared by every figure: each gives the SVG of one kind of thing as a list of strings.

Every mark asks the figure's `TimeScale` for x and its `Lanes` for y. Marks that belong to a
moment carry `data-t` (when they appear); message arrows carry `data-sent`/`data-recv` so the
player can move a message along its arrow while it is in flight.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..result import Check
from ..sim import cooperating
from ..svg import attrs, el, esc, num
from .scale import TimeScale, time_label

CHAR_W = 5.6  # the width of one 10px character, for wrapping and legend layout


@dataclass(frozen=True)
class Lanes:
    """One horizontal lane per node, `pitch` apart, the first centred at `top + pitch/2`."""

    nodes: tuple[str, ...]
    top: float
    pitch: float

    def y(self, node: str) -> float:
        return self.top + self.pitch * (self.nodes.index(node) + 0.5)

    @property
    def bottom(self) -> float:
        return self.top + self.pitch * len(self.nodes)


def tnum(t: float) -> str:
    """Give a time for data-t/data-until: ms with up to 3 decimals, as precise as the trace."""
    s = f"{t:.3f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def group(cls: str, items: list[str], node: str | None = None) -> list[str]:
    """Give `items` inside one <g> carrying their shared class (and node); none: nothing."""
    if not items:
        return []
    return [f"<g{attrs(class_=cls, data_node=node)}>", *items, "</g>"]


def texts(
    items: Iterable[tuple[float, float, str]], cls: str, *, anchor: str | None = None
) -> list[str]:
    """Give a text of class `cls` at each (x, y, text): captions, column heads, row names."""
    return [el("text", text, class_=cls, x=x, y=y, text_anchor=anchor) for x, y, text in items]


def translate(x: float, y: float, items: list[str], **owner: str) -> list[str]:
    """Give `items` inside one <g> moved to (x, y), carrying `owner` (data_node=...,
    data_process=...): one move for a panel row, so each stretch in it holds only its text."""
    return [f'<g transform="translate({num(x)} {num(y)})"{attrs(**owner)}>', *items, "</g>"]


def wrap(text: str, width: float, char_w: float = CHAR_W) -> list[str]:
    """Give `text` broken into lines of at most `width` x units (at `char_w` per character)."""
    most = max(8, int(width // char_w))
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= most:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def text_block(
    text: str,
    *,
    x: float,
    y: float,
    width: float,
    cls: str = "dm-text dm-small",
    leading: float = 13.0,
) -> tuple[list[str], float]:
    """Give wrapped text starting with its first baseline at `y`, and the height it takes."""
    lines = wrap(text, width)
    return (
        [el("text", line, class_=cls, x=x, y=y + i * leading) for i, line in enumerate(lines)],
        leading * len(lines),
    )


def axis(scale: TimeScale, top: float, bottom: float, *, grid: bool = True) -> list[str]:
    """Give the time axis under `bottom`: a base line, ticks, labels, and grid lines to `top`."""
    step = scale.step()
    out = [el("line", class_="dm-lane", x1=scale.x0, x2=scale.x1, y1=bottom, y2=bottom)]
    grid_d, tick_d = [], []
    for t in scale.ticks():
        x = num(scale.x(t))
        # A label centred on the axis's last tick would stick out past the figure's edge
        # ("300 ms" did, by 3 px): that one ends at its tick instead.
        anchor = "end" if scale.x1 - scale.x(t) < 1.0 else "middle"
        tick_d.append(f"M{x} {num(bottom)}v4")
        if grid and t > 0:
            grid_d.append(f"M{x} {num(top)}V{num(bottom)}")
        out.append(
            el(
                "text",
                time_label(t, step),
                class_="dm-text dm-small dm-muted",
                x=scale.x(t),
                y=bottom + 16,
                text_anchor=anchor,
            )
        )
    out.append(el("path", class_="dm-lane", d="".join(tick_d)))
    if grid_d:
        out.append(el("path", class_="dm-grid", d="".join(grid_d)))
    return out


def lane_lines(
    scale: TimeScale,
    lanes: Lanes,
    cls: str = "dm-lane",
    *,
    names: dict[str, str] | None = None,
    nodes: bool = True,
) -> list[str]:
    """Give each lane's name at the left (`names[lane]`, default the lane itself) and its line
    across the time range; `nodes=False` for lanes of clients, which no fault can name (no
    data-node)."""
    out = []
    for lane in lanes.nodes:
        y, node = lanes.y(lane), lane if nodes else None
        name = lane if names is None else names[lane]
        out.append(el("text", name, class_="dm-text", x=8, y=y + 4, data_node=node))
        out.append(el("line", class_=cls, x1=scale.x0, x2=scale.x1, y1=y, y2=y, data_node=node))
    return out


def box_d(x: float, y: float, width: float, height: float) -> str:
    """Give path data for a rectangle: shorter than a <rect>, and several join into one path."""
    return f"M{num(x)} {num(y)}h{num(width)}v{num(height)}h{num(-width)}z"


def arrow_d(x0: float, y0: float, x1: float, y1: float, head: float = 4.0) -> str:
    """Give path data for a straight arrow from (x0, y0) to (x1, y1), its head included.

    The head is part of the path: markers would need ids, which repeat when a page shows
    several figures.
    """
    dx, dy = x1 - x0, y1 - y0
    length = max((dx * dx + dy * dy) ** 0.5, 1e-9)
    ux, uy = dx / length, dy / length
    # Two short strokes back from the tip, 25 degrees either side of the shaft.
    ax, ay = -ux * 0.906 - uy * 0.423, -uy * 0.906 + ux * 0.423
    bx, by = -ux * 0.906 + uy * 0.423, -uy * 0.906 - ux * 0.423
    return (
        f"M{num(x0)} {num(y0)}L{num(x1)} {num(y1)}"
        f"l{num(ax * head)} {num(ay * head)}m{num(-ax * head)} {num(-ay * head)}"
        f"l{num(bx * head)} {num(by * head)}"
    )


def message(scale: TimeScale, lanes: Lanes, m: dict, *, typical: float = 10.0) -> str:
    """Give one message: an arrow if delivered, else a stub ending in a cross, with its reason.

    `typical` is a latency in ms for drawing an undelivered message's stub.
    """
    y0, y1 = lanes.y(m["src"]), lanes.y(m["dst"])
    x0 = scale.x(m["sent"])
    if m["status"] == "delivered":
        x1 = scale.x(m["recv"])
        tip = y1 - 3.0 if y1 > y0 else y1 + 3.0  # stop short of the lane so the head shows
        return (
            f'<path d="{arrow_d(x0, y0, x1, tip)}" data-t="{tnum(m["sent"])}" '
            f'data-sent="{tnum(m["sent"])}" data-recv="{tnum(m["recv"])}" '
            f'data-node="{esc(m["src"])}"/>'
        )
    # An undelivered message goes halfway and stops at a cross; one still travelling when
    # the run ends just stops at the end, uncrossed.
    xm = min(scale.x(m["sent"] + typical), scale.x1)
    ym = (y0 + y1) / 2
    flying = m.get("reason") == "in flight at the end"
    cross = "" if flying else f"M{num(xm - 3)} {num(ym - 3)}l6 6m0-6l-6 6"
    return (
        f'<path d="M{num(x0)} {num(y0)}L{num(xm)} {num(ym)}{cross}" '
        f'data-t="{tnum(m["sent"])}" data-node="{esc(m["src"])}">'
        f"<title>{esc(m['label'])} to {esc(m['dst'])}: {esc(m.get('reason', ''))}"
        "</title></path>"
    )


def messages(
    scale: TimeScale,
    lanes: Lanes,
    msgs: Iterable[dict],
    style: Callable[[dict], str | None],
    *,
    typical: float = 10.0,
    limit: int = 400,
) -> list[str]:
    """Give the messages `style` picks, one <g> per class it names (None: leave out).

    Beyond `limit` arrows the rest are left out and a note says how many.
    """
    groups: dict[str, list[str]] = {}
    picked = 0
    skipped = 0
    for m in cooperating(msgs):
        cls = style(m)
        if cls is None:
            continue
        if picked >= limit:
            skipped += 1
            continue
        picked += 1
        groups.setdefault(cls, []).append(message(scale, lanes, m, typical=typical))
    out = [part for cls, items in groups.items() for part in group(cls, items)]
    if skipped:
        out.append(
            el(
                "text",
                f"{skipped} later messages not drawn",
                class_="dm-text dm-small dm-muted",
                x=scale.x1,
                y=lanes.bottom + 28,
                text_anchor="end",
            )
        )
    return out


def message_style(m: dict) -> str:
    """Give the default class of a message: delivered or still in flight at the end, or
    lost/dropped (dashed, red)."""
    if m["status"] == "delivered" or m.get("reason") == "in flight at the end":
        return "dm-msg"
    return "dm-msg-lost"


def bands(
    scale: TimeScale,
    partitions: Iterable[dict],
    top: float,
    bottom: float,
    *,
    label_y: float | None = None,
) -> list[str]:
    """Give a shaded band over [top, bottom] for each partition, labelled with its sides
    (by default under the time axis's labels, when the axis runs along `bottom`)."""
    out = []
    for p in partitions:
        x0, x1 = scale.x(p["start"]), scale.x(p["end"])
        sides = " | ".join(",".join(g) for g in p["groups"])
        out.append(
            el(
                "rect",
                class_="dm-band",
                x=x0,
                y=top,
                width=max(x1 - x0, 1.0),
                height=bottom - top,
                data_t=tnum(p["start"]),
            )
        )
        out.append(
            el(
                "text",
                f"partition {sides}",
                class_="dm-text dm-small dm-muted",
                x=x0 + 2,
                y=bottom + 28 if label_y is None else label_y,
                data_t=tnum(p["start"]),
            )
        )
    return out


def down_spans(
    scale: TimeScale, lanes: Lanes, down: dict[str, list[tuple[float, float]]], height: float = 12.0
) -> list[str]:
    """Give a grey bar over each lane where its node was down."""
    out = []
    for node in lanes.nodes:
        for start, end in down.get(node, ()):
            x0 = scale.x(start)
            out.append(
                el(
                    "rect",
                    class_="dm-down",
                    x=x0,
                    y=lanes.y(node) - height / 2,
                    width=max(scale.x(end) - x0, 1.0),
                    height=height,
                    data_t=tnum(start),
                    data_node=node,
                )
            )
    return out


def violations(scale: TimeScale, lanes: Lanes, checks: Iterable[Check]) -> list[str]:
    """Give a red ring where a failed check points (a node at a time), or a red line."""
    out = []
    for c in checks:
        if c.ok or c.t is None:
            continue
        x = scale.x(c.t)
        if c.node in lanes.nodes:
            out.append(
                el(
                    "circle",
                    class_="dm-violation",
                    cx=x,
                    cy=lanes.y(c.node),
                    r=7,
                    data_t=tnum(c.t),
                    data_node=c.node,
                    data_check=c.name,
                    data_say=f"{c.name} fails: {c.detail}",
                )
            )
        else:
            out.append(
                el(
                    "line",
                    class_="dm-violation",
                    x1=x,
                    x2=x,
                    y1=lanes.top,
                    y2=lanes.bottom,
                    data_t=tnum(c.t),
                    data_check=c.name,
                    data_say=f"{c.name} fails: {c.detail}",
                )
            )
    return out


# A legend entry: (swatch, class, text), where swatch is "box", "line", "arrow", "dash" or "dot".
LegendItem = tuple[str, str, str]


def legend(
    items: Iterable[LegendItem], *, x: float, y: float, width: float
) -> tuple[list[str], float]:
    """Give the legend, wrapped to `width`, with its first row's baseline at `y`; and its
    height."""
    out: list[str] = []
    cx, row = x, 0
    for swatch, cls, text in items:
        need = 18 + CHAR_W * len(text) + 12
        if cx > x and cx + need > x + width:
            cx, row = x, row + 1
        by = y + row * 16
        if swatch == "box":
            out.append(el("rect", class_=cls, x=cx, y=by - 8, width=12, height=9))
        elif swatch == "arrow":
            out.append(el("path", class_=cls, d=arrow_d(cx, by - 8, cx + 12, by - 1, 3.5)))
        elif swatch == "dash":
            out.append(el("path", class_=cls, d=f"M{num(cx)} {num(by - 4)}h12"))
        elif swatch == "dot":
            out.append(el("circle", class_=cls, cx=cx + 6, cy=by - 4, r=3))
        else:
            out.append(el("line", class_=cls, x1=cx, x2=cx + 12, y1=by - 4, y2=by - 4))
        out.append(el("text", text, class_="dm-text dm-small", x=cx + 17, y=by))
        cx += need
    return out, 16.0 * (row + 1)
