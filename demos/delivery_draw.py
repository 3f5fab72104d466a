"""The delivery figure: what each node holds of every message at the cursor (the producer's
unacked ones, the broker's queue, the consumer's work and effects); every message as an arrow
(dashed: a retry, from the label's "#<attempt>", see delivery.py); every effect as a dot."""

from __future__ import annotations

from functools import partial

from . import kit
from .queries import liveness, timeline
from .result import Check
from .svg import attrs, el

CELL_X, PITCH, LABEL_GAP = 110.0, 56.0, 22.0  # panel cells start; lane pitch; produce labels
TURNS = ("restarts", "crashes")
LABEL = "dm-text dv-n"
DESC = "Top: what each node holds of each message at the cursor. Below: n1, n2, n3 over time."
ROLES = {"producer": "dm-ok", "broker": "dm-ok", "consumer": "dm-ok", "down": "dm-role-down"}
LEGEND = (
    ("arrow", "dm-msg", "first send"),
    ("arrow", "dv-retry", "retry"),
    ("arrow", "dv-ack", "ack"),
    ("dash", "dm-msg-lost", "lost"),
    ("box", "dv-wait", "unacked / queued"),
    ("box", "dv-done", "acked / passed on"),
    ("box", "dv-work", "being applied"),
    ("box", "dv-gone", "work lost in a crash"),
    ("box", "dm-ok", "applied once"),
    ("box", "dm-warn", "applied again"),
    ("dot", "dv-skip", "repeat skipped"),
)
STYLE = """
.dv-retry{stroke:var(--demo-warn,#9c5d00);stroke-width:1;stroke-dasharray:5 2;fill:none}
.dv-ack{stroke:var(--demo-muted,#5f6368);stroke-width:.7;stroke-dasharray:1 2;fill:none}
.dv-wait{fill:var(--demo-accent,#1a5fb4);opacity:.45}
.dv-done{fill:var(--demo-grid,#c9ccd1)}
.dv-work{fill:none;stroke:var(--demo-fg,#1d1d1f);stroke-dasharray:2 1.5}
.dv-gone{fill:none;stroke:var(--demo-bad,#c01c28);stroke-width:1.5}
.dv-skip{fill:none;stroke:var(--demo-ok,#1e7a34);stroke-width:1.2}
.dv-n{font-size:9px;text-anchor:middle}
"""

Cell = tuple[str, str, int, int]  # a message at a node: fill, outline, copies or effects, work


def step(retries: bool, cells: tuple[Cell | None, ...], e: dict) -> tuple[Cell | None, ...]:
    """Give a node's cells (one per message, None: nothing yet) after one of its events;
    `retries`: whether the producer and broker keep a message until it is acked."""
    if e["kind"] == "crash":  # of all a node holds, only the consumer's work is volatile
        return tuple((c[0], "dv-gone", c[2], 0) if c and c[3] else c for c in cells)
    k = int(e.get("msg", "m0")[1:]) - 1
    fill, _, n, work = cells[k] or ("", "", 0, 0)
    kind = e["kind"] if e["kind"] != "ack" else f"ack {e['of']}"
    if kind in ("produce", "enqueue") and retries:
        cell = ("dv-wait", "", n + 1 if fill == "dv-wait" else 1, 0)
    elif kind in ("produce", "enqueue", "ack publish") or kind == "ack delivery" and n < 2:
        cell = ("dv-done", "", 1, 0)
    elif kind == "ack delivery":
        cell = ("dv-wait", "", n - 1, 0)
    elif kind in ("deliver", "process", "dedup"):
        n = e["count"] if kind == "process" else n
        work += 1 if kind == "deliver" else -1
        fill = "" if n < 1 else "dm-ok" if n == 1 else "dm-warn"
        cell = (fill, "dv-work" * (work > 0), n, work)
    else:
        return cells
    return (*cells[:k], cell, *cells[k + 1 :])


def say(node: str, msg: str, before: Cell | None, now: Cell) -> str:
    """Give the sentence the player reads when a reader steps to a change of one cell."""
    fill, outline, count, work = now
    if outline == "dv-gone":
        return f"{node} crashes: its work on {msg} is lost"
    if work > (before[3] if before else 0):
        return f"{node} starts applying {msg}"
    if fill == "dv-wait":
        return f"{node} keeps {msg} until it is acked" + f" ({count} copies)" * (count > 1)
    if fill == "dv-done":
        return f"{node} is done with {msg}" if before else f"{node} sends {msg}, keeps nothing"
    if before and count == before[2]:
        return f"{node} skips {msg}: already applied"
    return f"{node} applies {msg}" + f", effect number {count}" * (count > 1)


def draw(trace: dict, checks: list[Check], summary: str) -> str:
    """Give the SVG of a delivery run."""
    fig = kit.Figure(trace, title="Delivery: producer, broker, consumer")
    scale, count = fig.scale, int(trace["params"]["messages"])
    fig.text(summary)
    width, names = min(24.0, (fig.width - 8 - CELL_X) / count), [f"m{k + 1}" for k in range(count)]
    panel = kit.StatePanel(fig.y, str, kit.role_label, _turn, ROLES, heading="At the cursor")
    fig.panel(panel, liveness(trace, trace["roles"]), gap=4)
    retries = partial(step, trace["params"]["mode"] != "at-most-once")
    for i, (node, history) in enumerate(timeline(trace, (None,) * count, retries).items()):
        cell, tell = partial(_cell, y=panel.y(i), width=width), partial(say, node)
        fig.add(kit.slot_stretches(history, names, cell, node=node, say=tell))
    shown = [k for k in range(count) if width >= 20 or k % 5 == 4 or k == 0]  # m1, m5, m10...
    heads = [(CELL_X + (k + 0.5) * width, panel.top + 10, names[k]) for k in shown]
    fig.add(kit.texts(heads, LABEL))
    fig.text("Timeline", cls="dm-text", gap=2)
    lanes = fig.timeline(trace, pitch=PITCH, down=24, label_y=fig.y + 9)
    fig.add(kit.messages(scale, lanes, trace["messages"], _style, typical=20.0))
    fig.add(_marks(trace, scale, lanes) + kit.violations(scale, lanes, checks))
    fig.axis(lanes)
    fig.legend(LEGEND)
    return fig.svg(desc=f"{summary} {DESC}", style=STYLE)


def _turn(node: str, before: str | None, role: str) -> str:
    return f"{node} {TURNS[role == 'down']}"


def _cell(msg: str, cell: Cell, y: float, width: float) -> list[str]:
    """Give a message's cell: its fill, its outline, and how many copies or effects."""
    fill, outline, count, _ = cell
    x = CELL_X + (int(msg[1:]) - 1) * width
    box = {"x": x + 1, "y": y + 1, "width": width - 2, "height": 14, "data_msg": msg}
    out = [el("rect", class_=cls, **box) for cls in (fill, outline) if cls]
    if count > 1 and width >= 18:
        out.append(el("text", f"×{count}", class_=LABEL, x=x + width / 2, y=y + 12))
    return out


def _style(m: dict) -> str:
    """Give an arrow's class: acks dotted, retries dashed, undelivered red."""
    if m["status"] != "delivered":
        return "dm-msg-lost"
    if m.get("kind") in ("Ack", "PublishAck"):
        return "dv-ack"
    return "dm-msg" if m["label"].endswith("#1") else "dv-retry"


def _marks(trace: dict, scale: kit.TimeScale, lanes: kit.Lanes) -> list[str]:
    """Give produced messages' names over the producer's lane (left out where they would
    overlap) and a dot per effect on the consumer's lane (hollow: a repeat skipped)."""
    out, last = [], -LABEL_GAP
    for e in trace["events"]:
        x, y = scale.x(e["t"]), lanes.y(e["node"])
        at = {"data_t": kit.tnum(e["t"]), "data_node": e["node"]}
        if e["kind"] == "produce" and x - last >= LABEL_GAP:
            out.append(el("text", e["msg"], class_=LABEL, x=x, y=y - 6, **at))
            last = x
        elif e["kind"] in ("process", "dedup"):
            done = e["kind"] == "process"
            cls = ("dm-ok" if e.get("count") == 1 else "dm-warn") if done else "dv-skip"
            dot = attrs(class_=cls, cx=x, cy=y, r=3.5, **at)
            tip = f"{e['msg']}: " + (f"effect {e['count']}" if done else "a repeat, skipped")
            out.append(f"<circle{dot}>{el('title', tip)}</circle>")
    return out
