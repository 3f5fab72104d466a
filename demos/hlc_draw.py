"""The HLC figure: each process's clock offset, timestamp, register value and operation at the
cursor; below, a lane per process with its writes (lost ones struck out), reads, uncertainty
intervals and restarts, and the messages to and from the leaseholder."""

from __future__ import annotations

from collections import namedtuple
from functools import partial
from operator import itemgetter

from . import kit
from .clocks import TraceError
from .hlc import lost_writes
from .queries import events_with_downtime, timeline
from .result import Check
from .sim import cooperating
from .svg import el, num

LOST = "{} comes after {} but has the lower timestamp: last writer wins throws it away"
SMALL, MUTED = "dm-text dm-small", "dm-text dm-small dm-muted"
DESC = "Top: each process's clock and register value at the cursor. Below: a lane each."
ROLES = {"up": "dm-ok", "down": "dm-role-down"}
STYLE = """
.hl-t{fill:var(--demo-fg,#1d1d1f);font:11px ui-monospace,SFMono-Regular,Menlo,monospace}
.hl-w{fill:var(--demo-accent,#1a5fb4)}.hl-x{fill:var(--demo-bad,#c01c28)}
.hl-u{stroke:var(--demo-warn,#9c5d00);stroke-width:3;opacity:.55}
.hl-r{fill:var(--demo-fg,#1d1d1f)}.hl-m{stroke:var(--demo-accent,#1a5fb4);stroke-width:1;fill:none}
.hl-q{stroke:var(--demo-msg,#5f6368);stroke-width:.8;fill:none;opacity:.7}
.hl-n{stroke:var(--demo-warn,#9c5d00);stroke-width:1.2;fill:none}
"""
LEGEND = [
    ("box", "hl-w", "write"),
    ("box", "hl-x", "write lost to a causally earlier one"),
    ("dot", "hl-r", "read returns"),
    ("line", "hl-u", "uncertainty interval"),
    ("arrow", "hl-m", "write, ack"),
    ("arrow", "hl-q", "read, reply"),
    ("arrow", "hl-n", "uncertain: restart"),
]


# A process at the cursor: up or down, timestamp, l - pt, value held, operation, what it did.
State = namedtuple("State", "role ts lag held doing what")
START = State("up", "[0,0]", 0, "\u2205 @[0,0]", "", "")


def stamp(ts: list[int]) -> str:
    return f"[{ts[0]},{ts[1]}]"


OPS = {  # op: what the player says, what the process is doing after it (None: as before)
    "write": ("writes {value} at {ts}", "writing {value}"),
    "read": ("reads at {rts}, uncertain up to {limit}", "read @{rts} \u2264{limit}"),
    "restart": ("restarts its read at {rts}, uncertain up to {limit}", "read @{rts} \u2264{limit}"),
    "apply": ("stores {value} {wts}", None),
    "acked": ("learns {value} is stored", ""),
    "uncertain": ("hears of {uncertain}, within its uncertainty interval", "uncertain: restart"),
    "give-up": ("gives up waiting", ""),
    "serve": ("serves a read", None),
    "ack": ("acks a write", None),
    "reply": ("replies", None),
    "late": ("ignores a late reply", None),
    "result": ("", None),
}


def step(s: State, e: dict) -> State:
    """Give a process's State after one of its events (or a crash or restart)."""
    if e["kind"] in ("crash", "restart"):
        role, what = ("up", "restarts") if e["kind"] == "restart" else ("down", "crashes")
        return s._replace(role=role, doing="", what=what)
    shown = {k: stamp(v) if isinstance(v, list) else v for k, v in e.items() if k != "returns"}
    what, doing = OPS[e["op"]]
    what = what.format(**shown) + ("" if e.get("kept", True) else ", below the newest")
    doing = "" if e.get("done") else s.doing if doing is None else doing.format(**shown)
    kept = e.get("kept") or e["op"] == "acked"  # an acked write is the writer's newest
    held = f"{e['value']} @{shown.get('wts', shown['ts'])}" if kept else s.held
    if "returns" in e:
        value, vts = e["returns"]
        what, doing = f"reads {value} {stamp(vts)}", ""
        held = f"{value} @{stamp(vts)}" if e["kind"] == "recv" else held  # n1 keeps its newest
    return State("up", shown["ts"], e["ts"][0] - e["pt"], held, doing, what)


def draw(trace: dict, checks: list[Check], summary: str) -> str:
    """Give the SVG of an HLC run."""
    fig = kit.Figure(trace, title="Hybrid logical clocks against physical timestamps")
    nodes, scale, hybrid = trace["nodes"], fig.scale, trace["params"]["mode"] == "hlc"
    fig.text(summary)
    head = "At the cursor: clock offset, timestamp " + ("[l,c], l\u2212pt" if hybrid else "[pt,0]")
    head += f", value @ timestamp ({trace['leaseholder']} holds the register), operation"
    panel = kit.StatePanel(fig.y, itemgetter(0), partial(_row, hybrid), _say, ROLES, heading=head)
    fig.panel(panel, timeline({**trace, "events": events_with_downtime(trace)}, START, step))
    offsets = [(46, panel.y(i) + 11, f"+{trace['offsets'][n]} ms") for i, n in enumerate(nodes)]
    fig.add(kit.texts(offsets, MUTED))
    fig.heading("Timeline (real time)", gap=8)
    lanes = fig.timeline(trace, pitch=40.0, down=16)
    fig.add(kit.messages(scale, lanes, trace["messages"], arrow_class, typical=15))
    fig.add(operations(trace, scale, lanes) + kit.violations(scale, lanes, checks))
    fig.axis(lanes)
    fig.legend(LEGEND)
    return fig.svg(desc=f"{summary}. {DESC}", style=STYLE)


def _row(hybrid: bool, node: str, s: State, y: float) -> list[str]:
    texts = (s.ts, f"{s.lag}" if hybrid else "", s.held, s.doing)
    return kit.columns(node, texts, y, xs=(96, 196, 236, 380), cls="hl-t")


def _say(node: str, before: State | None, s: State) -> str:
    return f"{node} {s.what}: {s.ts}"


def arrow_class(m: dict) -> str | None:
    """Give a message's class: writes and acks, reads and replies, uncertain replies."""
    uncertain = m["label"].startswith("uncertain")
    if m["status"] != "delivered" or uncertain:
        return "hl-n" if uncertain and m["status"] == "delivered" else kit.message_style(m)
    return "hl-m" if m.get("kind") in ("Write", "Ack") else "hl-q"


def operations(trace: dict, scale: kit.TimeScale, lanes: kit.Lanes) -> list[str]:
    """Give a square per write (red: thrown away by last writer wins although it comes after
    the write that beats it), a dot per read's result labelled with its value, and under each
    read attempt its uncertainty interval: a bar as long as the max offset."""
    try:
        lost = {
            after["id"]: LOST.format(after["value"], before["value"])
            for before, after in lost_writes(trace)
        }
    except TraceError:  # a trace no run could give; its checks say why
        lost = {}
    out = []
    for e in cooperating(trace["events"]):
        x, y, at = scale.x(e["t"]), lanes.y(e["node"]), {"data_t": kit.tnum(e["t"])}
        at["data_node"] = e["node"]
        if e.get("op") in ("read", "restart"):
            width = min(max(scale.px(e["limit"] - e["rts"][0]), 1.0), scale.x1 - x)
            out.append(el("path", class_="hl-u", d=f"M{num(x)} {num(y + 9)}h{num(width)}", **at))
        if e.get("op") == "write":
            cls, say = ("hl-x", lost[e["id"]]) if e["id"] in lost else ("hl-w", None)
            box = el("rect", class_=cls, x=x - 4, y=y - 4, width=8, height=8, data_say=say, **at)
            text = e["value"] + " lost" * (say is not None)
            # A lost write is ringed (kit.violations): its label goes above the ring.
            above = 13 if say is not None else 8
            out += [box, el("text", text, class_=SMALL, x=x - 4, y=y - above, **at)]
    reads = [e for e in trace["events"] if "returns" in e and e.get("op") != "write"]
    out += kit.dots(scale, lanes, reads, "hl-r", r=3)
    return out + kit.labels(scale, lanes, reads, lambda e: e["returns"][0], MUTED, dx=-4, dy=22)
