"""The clocks figure: each process's Lamport and vector clock at the cursor, over a space-time
diagram whose labels are large for phones (where it shows at half size), left out if crowded."""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

from . import kit
from .queries import events_with_downtime, timeline
from .result import Check
from .sim import cooperating
from .svg import attrs, el

ROLES = {"up": "dm-ok", "down": "dm-role-down"}
# Label rows: baseline below the dot, character width (the widest Chromium's fallback fonts
# gave: 16px digits, 13px vectors), least room between labels, class.
ROWS = ((-10.0, 10.2, 4.0, "ck-n"), (22.0, 7.0, 10.0, "ck-v"))
STYLE = """
.ck-ev text{text-anchor:middle}.ck-c{opacity:.55}.ck-n,.ck-big{font-size:16px}.ck-v{font-size:13px}
.ck-x{fill:var(--demo-fg,#1d1d1f)}.ck-ring{fill:none;stroke:var(--demo-fg,#1d1d1f);stroke-width:1.5}
.ck-m,.ck-fly{stroke:var(--demo-msg,#5f6368);stroke-width:1;fill:none;opacity:.5}
.ck-mp,.ck-mf{stroke:var(--demo-accent,#1a5fb4);stroke-width:1.5;fill:none}.ck-fly{stroke-dasharray:2}
.ck-mf{stroke:var(--demo-warn,#9c5d00)}
"""
FILL = {"x": "ck-x", "p": "dm-accent", "f": "dm-warn", "c": "dm-muted"}  # by relation to the focus
HEAD = "At the cursor: each process's Lamport clock L and vector clock V, after its latest event"
DOTS = {"x": "focus (ringed)", "p": "causal past", "f": "causal future", "c": "concurrent"}
MARKS = "arrow ck-mp message, dash dm-msg-lost lost, box dm-ok up, box dm-down down"
LEGEND = [("dot", FILL[key], text) for key, text in DOTS.items()] + [
    tuple(mark.split()) for mark in MARKS.split(", ")
]
DESC = "Top: each process's clocks at the cursor. Below: one lane per process, time to the right."


class Clock(NamedTuple):
    """A process's clocks after its latest event (vector as text), and what that event did."""

    up: bool
    lamport: int
    vector: str
    what: str


def step(c: Clock | None, e: dict) -> Clock:
    """Give a process's Clock after one of its events (or a crash or restart)."""
    kind, peer = e["kind"], e.get("peer")
    if kind in ("crash", "restart"):
        up = kind == "restart"
        return c._replace(up=up, what="restarts" if up else "is down; its clocks are kept")
    what = f"sends to {peer}" if kind == "send" else f"receives from {peer}" if peer else ""
    vector = "[" + ",".join(map(str, e["vector"].values())) + "]"  # in the trace's node order
    return Clock(True, e["lamport"], vector, what or "has a local event")


def say(node: str, before: Clock | None, now: Clock) -> str:
    """Give the sentence the player reads when a reader steps to a change of clocks."""
    return f"{node} {now.what}: L={now.lamport}, V={now.vector}"


def clocks_over_time(trace: dict) -> dict[str, list[tuple[float, Clock]]]:
    """Give each process's Clock over time; crashes and restarts come from the downtime."""
    start = Clock(True, 0, "[" + ",".join("0" for _ in trace["nodes"]) + "]", "has no event yet")
    return timeline({**trace, "events": events_with_downtime(trace)}, start, step)


def draw(trace: dict, checks: list[Check], summary: str) -> str:
    """Give the SVG of a clocks run."""
    fig = kit.Figure(trace, title="Logical clocks: Lamport timestamps and vector clocks")
    nodes, scale, history = trace["nodes"], fig.scale, clocks_over_time(trace)
    fig.text(summary)
    widest = max(len(c.vector) for changes in history.values() for _, c in changes)

    def row(node: str, c: Clock, y: float) -> list[str]:
        return [
            el("text", f"L={c.lamport}", class_="dm-text ck-big", x=48, y=y + 15),
            el("text", f"V={c.vector}", class_="dm-text ck-big", x=120, y=y + 15),
            el("text", c.what, class_="dm-text dm-muted", x=156 + 9 * widest, y=y + 15),
        ]

    panel = kit.StatePanel(fig.y, lambda c: "up" if c.up else "down", row, say, ROLES, 22.0, HEAD)
    fig.panel(panel, history)
    fig.heading("Space-time diagram")
    pitch = 50.0 if len(nodes) <= 4 else 38.0  # 38: no row of vectors
    lanes = fig.timeline(trace, pitch=pitch, down=18, label_y=fig.y + pitch * len(nodes) + 30)
    f = trace["focus"]
    relation = {e["id"]: "c" for e in trace["events"]}
    if f is not None:  # None: a run without events
        relation |= {i: "p" for i in f["past"]} | {i: "f" for i in f["future"]} | {f["event"]: "x"}
    style = partial(arrow_class, relation)
    fig.add(kit.messages(scale, lanes, trace["messages"], style, typical=200))
    fig.add(events(trace, scale, lanes, relation))
    fig.add(kit.violations(scale, lanes, checks))
    fig.axis(lanes)
    fig.legend(LEGEND)
    return fig.svg(desc=f"{summary}. {DESC}", style=STYLE)


def arrow_class(relation: dict[int, str], m: dict) -> str:
    """Give a message's class: coloured when both its ends are in the focus's past (or
    future); dashed when it was not delivered (red if lost, grey if still in flight)."""
    if m["status"] != "delivered":
        return "ck-fly" if m.get("reason") == "in flight at the end" else "dm-msg-lost"
    ends = {relation.get(m["send_event"]), relation.get(m["recv_event"])}
    return "ck-mp" if ends <= {"p", "x"} else "ck-mf" if ends <= {"f", "x"} else "ck-m"


def events(trace: dict, scale: kit.TimeScale, lanes: kit.Lanes, relation: dict) -> list[str]:
    """Give a dot per event (ringed: the focus) with its labels where they have room: a label
    is kept if it clears the last one kept in its row on its lane, and the focus's, which are
    always kept, so the focus reads in full however crowded its lane."""

    def label(e: dict, k: int) -> tuple[str, float, float]:
        text = str(e["lamport"]) if k == 0 else step(None, e).vector
        half = ROWS[k][1] * len(text) / 2 + ROWS[k][2] / 2
        return text, scale.x(e["t"]) - half, scale.x(e["t"]) + half

    rows = ROWS if len(trace["nodes"]) <= 4 else ROWS[:1]  # longer vectors are for the panel
    focus = next((e for e in trace["events"] if relation[e["id"]] == "x"), None)
    kept = {}  # (node, row) -> spans of the labels kept there; the focus's come first
    if focus is not None:
        kept = {(focus["node"], k): [label(focus, k)[1:]] for k in range(len(rows))}
    out = []
    for e in cooperating(trace["events"]):
        x, y, rel, c = scale.x(e["t"]), lanes.y(e["node"]), relation[e["id"]], step(None, e)
        tip = say(f"{e['node']}:{e['seq']}", None, c)  # n2:3 receives from n1: L=5, V=[2,3,0]
        parts = [el("title", tip), el("circle", class_=FILL[rel], cx=x, cy=y, r=4)]
        if rel == "x":
            parts.append(el("circle", class_="ck-ring", cx=x, cy=y, r=7.5))
        for k, (dy, _, _, cls) in enumerate(rows):
            text, left, right = label(e, k)
            spans = kept.setdefault((e["node"], k), [])
            clear = all(right <= a or left >= b for a, b in spans[:1] + spans[-1:])
            if rel == "x" or clear and right <= scale.x1 + 16:
                spans.append((left, right))
                parts.append(el("text", text, class_=f"dm-text {cls}", x=x, y=y + dy))
        head = attrs(class_=f"ck-ev ck-{rel}", data_t=kit.tnum(e["t"]), data_node=e["node"])
        out += [f"<g{head}>", *parts, "</g>"]
    return out
