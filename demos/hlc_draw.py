"""The HLC figure: each process's clock offset, timestamp, register value and operation at the
cursor; below, a lane per process with its writes (lost ones struck out), reads, uncertainty
intervals and restarts, and the messages to and from the leaseholder."""

from __future__ import annotations

from collections import namedtuple

from . import kit
from .clocks import TraceError
from .hlc import lost_writes
from .queries import down_intervals, timeline
from .result import Check
from .svg import el, num

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
LEGEND = [("box", "hl-w", "write"), ("box", "hl-x", "write lost to a causally earlier one"),
          ("dot", "hl-r", "read returns"), ("line", "hl-u", "uncertainty interval"),
          ("arrow", "hl-m", "write, ack"), ("arrow", "hl-q", "read, reply"),
          ("arrow", "hl-n", "uncertain: restart")]  # fmt: skip


# A process at the cursor: up, timestamp, l - pt, value held, operation, what it just did.
State = namedtuple("State", "up ts lag held doing what")


def stamp(ts: list[int]) -> str:
    return f"[{ts[0]},{ts[1]}]"


SAYS = {"write": "writes {value} at {ts}", "read": "reads at {rts}, uncertain up to {limit}",
        "restart": "restarts its read at {rts}, uncertain up to {limit}",
        "apply": "stores {value} {wts}", "acked": "learns {value} is stored",
        "uncertain": "hears of {uncertain}, within its uncertainty interval",
        "give-up": "gives up waiting", "serve": "serves a read", "ack": "acks a write",
        "reply": "replies", "late": "ignores a late reply", "result": ""}  # fmt: skip
DOING = {"read": "read @{rts} \u2264{limit}", "restart": "read @{rts} \u2264{limit}",
         "write": "writing {value}", "uncertain": "uncertain: restart"}  # fmt: skip


def step(s: State, e: dict) -> State:
    """Give a process's State after one of its events (or a crash or restart)."""
    if e["kind"] in ("crash", "restart"):
        up = e["kind"] == "restart"
        return s._replace(up=up, doing="", what="restarts" if up else "crashes")
    shown = {k: stamp(v) if isinstance(v, list) else v for k, v in e.items() if k != "returns"}
    what = SAYS[e["op"]].format(**shown) + ("" if e.get("kept", True) else ", below the newest")
    doing = DOING.get(e["op"], "" if e["op"] in ("acked", "give-up") else s.doing).format(**shown)
    doing = "" if e.get("done") else doing
    held = f"{e['value']} @{shown.get('wts', shown['ts'])}" if e.get("kept") else s.held
    if e["op"] == "acked":
        held = f"{e['value']} @{shown['wts']}"
    if "returns" in e:
        value, vts = e["returns"]
        what, doing = f"reads {value} {stamp(vts)}", ""
        held = f"{value} @{stamp(vts)}" if e["kind"] == "recv" else held  # n1 keeps its newest
    return State(True, shown["ts"], e["ts"][0] - e["pt"], held, doing, what)


def history(trace: dict) -> dict[str, list[tuple[float, State]]]:
    """Give each process's State over time, crashes and restarts taken from the downtime."""
    ends = [(n, t, kind) for n, spans in down_intervals(trace).items() for span in spans
            for t, kind in zip(span, ("crash", "restart"), strict=True)]  # fmt: skip
    marks = [{"t": t, "node": n, "kind": k} for n, t, k in ends if t < trace["duration"]]
    events = sorted(trace["events"] + marks, key=lambda e: e["t"])
    start = State(True, "[0,0]", 0, "\u2205 @[0,0]", "", "")
    return timeline({**trace, "events": events}, start, step)


def draw(trace: dict, checks: list[Check], summary: str) -> str:
    """Give the SVG of an HLC run."""
    fig = kit.Figure(trace, title="Hybrid logical clocks against physical timestamps")
    nodes, scale, hybrid = trace["nodes"], fig.scale, trace["params"]["mode"] == "hlc"
    fig.text(summary)
    head = "At the cursor: clock offset, timestamp " + ("[l,c], l\u2212pt" if hybrid else "[pt,0]")

    def row(node: str, s: State, y: float) -> list[str]:
        cells = [(96, s.ts), (196, f"{s.lag}" if hybrid else ""), (236, s.held), (380, s.doing)]
        return [el("text", text, class_="hl-t", x=x, y=y + 11) for x, text in cells if text]

    head += f", value @ timestamp ({trace['leaseholder']} holds the register), operation"
    panel = kit.StatePanel(fig.y, lambda s: "up" if s.up else "down", row,
                           lambda n, _, s: f"{n} {s.what}: {s.ts}", ROLES, 18.0, head)  # fmt: skip
    fig.add(panel.render(history(trace)))
    offsets = [f"+{trace['offsets'][node]} ms" for node in nodes]
    fig.add([el("text", o, class_="dm-text dm-small dm-muted", x=46, y=panel.y(i) + 11)
             for i, o in enumerate(offsets)])  # fmt: skip
    fig.reserve(panel.height(nodes) + 8)
    fig.add([kit.heading("Timeline (real time)", fig.y + 10)])
    fig.reserve(14)
    lanes = fig.lanes(nodes, pitch=40.0)
    fig.add(kit.bands(scale, trace["partitions"], lanes.top, lanes.bottom))
    fig.add(kit.lane_lines(scale, lanes))
    fig.add(kit.down_spans(scale, lanes, down_intervals(trace), height=16))
    fig.add(kit.messages(scale, lanes, trace["messages"], arrow_class, typical=15))
    fig.add(operations(trace, scale, lanes) + kit.violations(scale, lanes, checks))
    fig.add(kit.axis(scale, lanes.top, lanes.bottom))
    fig.reserve(34)
    legend, height = kit.legend(LEGEND, x=8, y=fig.y + 10, width=fig.width - 16)
    fig.add(legend)
    fig.reserve(height)
    return fig.svg(desc=f"{summary}. {DESC}", style=STYLE)


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
        lost = {after["id"]: before for before, after in lost_writes(trace)}
    except TraceError:  # a trace no run could give; its checks say why
        lost = {}
    out = []
    for e in trace["events"]:
        x, y, t, node = scale.x(e["t"]), lanes.y(e["node"]), kit.tnum(e["t"]), e["node"]
        if e.get("op") in ("read", "restart"):
            width = min(max(scale.px(e["limit"] - e["rts"][0]), 1.0), scale.x1 - x)
            d = f"M{num(x)} {num(y + 9)}h{num(width)}"
            out.append(el("path", class_="hl-u", d=d, data_t=t, data_node=node))
        if e.get("op") == "write":
            beaten = lost.get(e["id"])
            cls = "hl-x" if beaten else "hl-w"
            say = (f"{e['value']} comes after {beaten['value']} but has the lower timestamp: "
                   "last writer wins throws it away") if beaten else None  # fmt: skip
            out += [el("rect", class_=cls, x=x - 4, y=y - 4, width=8, height=8, data_t=t,
                       data_node=node, data_say=say),
                    el("text", e["value"] + (" lost" if beaten else ""), class_="dm-text dm-small",
                       x=x - 4, y=y - 8, data_t=t, data_node=node)]  # fmt: skip
        elif "returns" in e:
            out += [el("circle", class_="hl-r", cx=x, cy=y, r=3, data_t=t, data_node=node),
                    el("text", e["returns"][0], class_="dm-text dm-small dm-muted", x=x - 4,
                       y=y + 22, data_t=t, data_node=node)]  # fmt: skip
    return out
