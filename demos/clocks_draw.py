"""The clocks demo's space-time diagram: one lane per process, messages as arrows.

Each event shows its Lamport number above the dot (a second row up, or nudged right, when
a neighbour's number is in the way) and its vector below it when there is room (always in
the tooltip). The focus event's causal past and future are coloured; the
events concurrent with it are muted.
"""

from __future__ import annotations

from .result import Check
from .svg import document, el, esc, num

WIDTH = 720.0
X0, X1 = 52.0, 700.0  # the x range that maps 0..duration
TOP = 44.0            # y of the first lane
DOT = 4.0
# Lamport labels (10px text): a generous width per character, the baselines of the two rows
# above a dot (11 apart, so rows never touch), and the gap kept between labels in a row.
# A third row would reach the lane above's vectors when lanes are 46 apart.
LABEL_CHAR = 6.5
LABEL_ROWS = (8.0, 19.0)
LABEL_GAP = 2.5
IN_FLIGHT = "in flight at the end"  # the simulator's reason for a message still travelling

STYLE = """
.ck-ev text{text-anchor:middle}
.ck-ev circle{fill:var(--demo-muted,#5f6368);stroke:var(--demo-bg,#fff);stroke-width:1}
.ck-p circle{fill:var(--demo-accent,#1a5fb4)}
.ck-f circle{fill:var(--demo-warn,#9c5d00)}
.ck-x circle{fill:var(--demo-fg,#1d1d1f)}
.ck-x .ck-ring{fill:none;stroke:var(--demo-fg,#1d1d1f);stroke-width:1.5}
.ck-c{opacity:.5}
.ck-v{font-size:9px}
.ck-m{stroke:var(--demo-msg,#5f6368);stroke-width:1;fill:none;opacity:.5}
.ck-mp{stroke:var(--demo-accent,#1a5fb4);stroke-width:1.5;fill:none}
.ck-mf{stroke:var(--demo-warn,#9c5d00);stroke-width:1.5;fill:none}
.ck-fly{stroke-dasharray:2 2}
.ck-cross{stroke:var(--demo-bad,#c01c28);stroke-width:1.5;fill:none}
.ck-hit{fill:transparent}
"""


class Layout:
    """Where a time and a process land in the picture."""

    def __init__(self, names: list[str], duration: float) -> None:
        self.duration = duration
        self.gap = 56.0 if len(names) <= 4 else 46.0
        self.lane_y = {n: TOP + i * self.gap for i, n in enumerate(names)}
        self.bottom = TOP + (len(names) - 1) * self.gap

    def x(self, t: float) -> float:
        return X0 + (X1 - X0) * min(max(t, 0.0), self.duration) / self.duration


def draw(trace: dict, checks: list[Check], summary: str) -> str:
    """Give the SVG document for one run of the clocks demo."""
    names, events, messages = trace["nodes"], trace["events"], trace["messages"]
    downtime, partitions, focus = trace["downtime"], trace["partitions"], trace["focus"]
    duration = float(trace["duration"])
    title = "Logical clocks: Lamport timestamps and vector clocks"
    lay = Layout(names, duration)
    relation = _relations(events, focus)
    body = _axis(lay) + _partitions(lay, partitions) + _lanes(lay, names)
    body += _downtime(lay, downtime)
    body += _messages(lay, events, messages, relation)
    body += _events(lay, names, events, relation)
    body += _violations(lay, checks)
    legend_y = lay.bottom + 44
    body += _legend(legend_y)
    desc = (f"Space-time diagram, one lane per process, time to the right. {summary}. "
            "Blue: the focus event's causal past; orange: its causal future; grey: "
            "concurrent with it.")
    return document(width=WIDTH, height=legend_y + 18, title=title, desc=desc, body=body,
                    style=STYLE, duration=duration, time_x=(X0, X1), demo="clocks")


def _relations(events: list[dict], focus: dict) -> dict[int, str]:
    """Give each event id its relation to the focus: x focus, p past, f future, c concurrent."""
    relation = {e["id"]: "c" for e in events}
    relation.update({i: "p" for i in focus["past"]})
    relation.update({i: "f" for i in focus["future"]})
    relation[focus["event"]] = "x"
    return relation


def _axis(lay: Layout) -> list[str]:
    step = next((s for s in (100, 200, 500, 1000, 2000, 5000, 10000)
                 if lay.duration / s <= 8), 20000)
    out = []
    t = 0.0
    while t <= lay.duration + 1e-9:
        x = lay.x(t)
        label = f"{t / 1000:g} s" if lay.duration >= 2000 else f"{t:g} ms"
        out.append(el("line", class_="dm-grid", x1=x, y1=22.0, x2=x, y2=lay.bottom + 26))
        out.append(el("text", label, class_="dm-text dm-small dm-muted", x=x, y=16.0,
                      text_anchor="middle"))
        t += step
    return out


def _partitions(lay: Layout, partitions: list[dict]) -> list[str]:
    out = []
    for p in partitions:
        x, end = lay.x(p["start"]), lay.x(p["end"])
        groups = " | ".join(",".join(g) for g in p["groups"])
        out.append(f'<g data-t="{num(p["start"])}">'
                   + el("title", f"partition {groups} from {num(p['start'])} to "
                                 f"{num(p['end'])} ms")
                   + el("rect", class_="dm-band", x=x, y=24.0, width=max(end - x, 1.0),
                        height=lay.bottom + 2)
                   + el("text", f"partition {groups}", class_="dm-text dm-small dm-muted",
                        x=x + 3, y=lay.bottom + 23)
                   + "</g>")
    return out


def _lanes(lay: Layout, names: list[str]) -> list[str]:
    out = []
    half = lay.gap / 2
    for name in names:
        y = lay.lane_y[name]
        out.append(f'<g data-node="{esc(name)}">'
                   + el("rect", class_="ck-hit", x=0.0, y=y - half, width=WIDTH, height=lay.gap)
                   + el("line", class_="dm-lane", x1=X0, y1=y, x2=X1, y2=y)
                   + el("text", name, class_="dm-text", x=12.0, y=y + 4)
                   + "</g>")
    return out


def _downtime(lay: Layout, downtime: list[dict]) -> list[str]:
    out = []
    for d in downtime:
        y, x = lay.lane_y[d["node"]], lay.x(d["start"])
        end = lay.x(lay.duration if d["end"] is None else d["end"])
        until = "the end" if d["end"] is None else f"{num(d['end'])} ms"
        out.append(f'<g data-node="{esc(d["node"])}" data-t="{num(d["start"])}">'
                   + el("title", f"{d['node']} is down from {num(d['start'])} ms to {until}")
                   + el("rect", class_="dm-down", x=x, y=y - 9, width=max(end - x, 1.0),
                        height=18.0)
                   + el("path", class_="ck-cross", d=_cross(x, y, 5))
                   + "</g>")
        if d["end"] is not None:
            out.append(el("path", class_="ck-cross", data_node=d["node"], data_t=d["end"],
                          d=f"M{num(end)} {num(y - 9)}V{num(y + 9)}"))
    return out


def _cross(x: float, y: float, r: float) -> str:
    return (f"M{num(x - r)} {num(y - r)}L{num(x + r)} {num(y + r)}"
            f"M{num(x - r)} {num(y + r)}L{num(x + r)} {num(y - r)}")


def _messages(lay: Layout, events: list[dict], messages: list[dict],
              relation: dict[int, str]) -> list[str]:
    by_id = {e["id"]: e for e in events}
    out = []
    for m in messages:
        sx, sy = lay.x(m["sent"]), lay.lane_y[m["src"]]
        dy = lay.lane_y[m["dst"]]
        if m["status"] == "delivered":
            rx = lay.x(m["recv"])
            d, cls = _arrow(sx, sy, rx, dy), _message_class(m, relation)
            tip = f"message {m['id']} {m['src']}→{m['dst']}: {m['label']}, sent " \
                  f"{num(m['sent'])} ms, received {num(m['recv'])} ms"
        else:
            # Where a lost message would have landed is unknown: draw half a typical arrow.
            ex, ey = sx + (lay.x(m["sent"] + 400) - sx) / 2, sy + (dy - sy) / 2
            d = f"M{num(sx)} {num(sy)}L{num(ex)} {num(ey)}"
            if m.get("reason") == IN_FLIGHT:  # not lost, just not there yet: no cross
                cls = "ck-m ck-fly"
            else:
                d, cls = d + _cross(ex, ey, 3), "dm-msg-lost"
            tip = f"message {m['id']} {m['src']}→{m['dst']}: {m['label']}, sent " \
                  f"{num(m['sent'])} ms, {m['status']} ({m.get('reason', '')})"
        if m["send_event"] not in by_id:  # pragma: no cover - every send is recorded
            continue
        out.append(f'<path class="{cls}" data-t="{num(m["sent"])}" d="{d}">'
                   + el("title", tip) + "</path>")
    return out


def _message_class(m: dict, relation: dict[int, str]) -> str:
    ends = (relation.get(m["send_event"]), relation.get(m["recv_event"]))
    if all(r in ("p", "x") for r in ends):
        return "ck-mp"
    if all(r in ("f", "x") for r in ends):
        return "ck-mf"
    return "ck-m"


def _arrow(sx: float, sy: float, rx: float, ry: float) -> str:
    """Give a path from the send dot to the receive dot with an open arrowhead."""
    dx, dy = rx - sx, ry - sy
    length = max((dx * dx + dy * dy) ** 0.5, 1e-6)
    ux, uy = dx / length, dy / length
    tx, ty = rx - ux * (DOT + 1), ry - uy * (DOT + 1)  # stop at the dot's edge
    back_x, back_y = tx - ux * 6, ty - uy * 6
    px, py = -uy * 3, ux * 3
    return (f"M{num(sx)} {num(sy)}L{num(tx)} {num(ty)}"
            f"M{num(back_x + px)} {num(back_y + py)}L{num(tx)} {num(ty)}"
            f"L{num(back_x - px)} {num(back_y - py)}")


def _events(lay: Layout, names: list[str], events: list[dict],
            relation: dict[int, str]) -> list[str]:
    out = []
    # Right edges of the last labels per lane: one per Lamport row, one for the vectors.
    lamport_ends = {n: [-1e9] * len(LABEL_ROWS) for n in names}
    vector_end = {n: -1e9 for n in names}
    for e in events:
        x, y = lay.x(e["t"]), lay.lane_y[e["node"]]
        vector = "[" + ",".join(str(e["vector"][n]) for n in names) + "]"
        rel = relation[e["id"]]
        parts = [el("title", _tooltip(e, vector)), el("circle", cx=x, cy=y, r=DOT)]
        if rel == "x":
            parts.append(el("circle", class_="ck-ring", cx=x, cy=y, r=DOT + 3.5))
        label = str(e["lamport"])
        row, lx = _lamport_slot(lamport_ends[e["node"]], x, LABEL_CHAR * len(label) / 2)
        parts.append(el("text", label, class_="dm-text dm-small", x=lx, y=y - LABEL_ROWS[row]))
        half = 2.3 * len(vector)
        if x - half >= vector_end[e["node"]] + 3 and x + half <= WIDTH:
            parts.append(el("text", vector, class_="dm-text ck-v", x=x, y=y + 15))
            vector_end[e["node"]] = x + half
        out.append(f'<g class="ck-ev ck-{rel}" data-t="{num(e["t"])}" '
                   f'data-node="{esc(e["node"])}">' + "".join(parts) + "</g>")
    return out


def _lamport_slot(ends: list[float], x: float, half: float) -> tuple[int, float]:
    """Give the row and centre x for a Lamport label, and mark it taken in `ends`.

    Every number stays visible: the label goes in the lowest row where it fits over its
    dot, or else, in the row that needs the least nudge, just right of the label in the
    way. Events arrive in time order, so only each row's right edge matters.
    """
    shifts = [max(0.0, end + LABEL_GAP - (x - half)) for end in ends]
    row = shifts.index(0.0) if 0.0 in shifts else shifts.index(min(shifts))
    centre = x + shifts[row]
    ends[row] = centre + half
    return row, centre


def _tooltip(e: dict, vector: str) -> str:
    what = {"local": "local event", "send": f"send to {e.get('peer')} (message {e.get('msg')})",
            "recv": f"receive from {e.get('peer')} (message {e.get('msg')})"}[e["kind"]]
    return (f"{e['node']}:{e['seq']} {what} at {num(e['t'])} ms; Lamport {e['lamport']}, "
            f"vector {vector}")


def _violations(lay: Layout, checks: list[Check]) -> list[str]:
    return [el("circle", class_="dm-violation", data_check=c.name, data_node=c.node,
               data_t=c.t, cx=lay.x(c.t), cy=lay.lane_y[c.node], r=10.0)
            for c in checks
            if not c.ok and c.t is not None and c.node in lay.lane_y]


def _legend(y: float) -> list[str]:
    out, x = [], X0
    items = (("ck-x", "focus"), ("ck-p", "causal past"), ("ck-f", "causal future"),
             ("ck-c", "concurrent"), ("msg", "message"), ("lost", "lost"), ("down", "down"))
    for key, label in items:
        if key.startswith("ck-"):
            ring = el("circle", class_="ck-ring", cx=x, cy=y, r=DOT + 3.5) if key == "ck-x" else ""
            out.append(f'<g class="ck-ev {key}">' + el("circle", cx=x, cy=y, r=DOT) + ring
                       + "</g>")
        elif key == "msg":
            out.append(el("path", class_="ck-mp", d=_arrow(x - 8, y, x + 8, y)))
        elif key == "lost":
            out.append(el("path", class_="dm-msg-lost",
                          d=f"M{num(x - 8)} {num(y)}L{num(x + 5)} {num(y)}" + _cross(x + 5, y, 3)))
        else:
            out.append(el("rect", class_="dm-down", x=x - 8, y=y - 6, width=16.0, height=12.0))
        out.append(el("text", label, class_="dm-text dm-small", x=x + 12, y=y + 4))
        x += 30 + 6.2 * len(label)
    return out
