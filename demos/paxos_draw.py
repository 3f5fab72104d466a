"""The Paxos figure: each node's role, promise and accepted values at the cursor; below, a
timeline of ballots tried (a tick per 3 px), leaders, the first messages, values learned."""

from __future__ import annotations

from . import kit
from .queries import down_intervals, timeline
from .result import Check
from .svg import el, num

ROLES = {"acceptor": "dm-role-follower", "proposer": "dm-role-candidate",
         "leader": "dm-role-leader", "down": "dm-role-down"}  # fmt: skip
SLOTS_X = 128.0
REPLIES_UP_TO = 64  # messages in a run; beyond, replies and decisions are not drawn
STYLE = """
.px-t{fill:var(--demo-fg,#1d1d1f);font:10px system-ui,-apple-system,"Segoe UI",sans-serif}
.px-l{stroke:var(--demo-accent,#1a5fb4);stroke-width:8}.px-k{fill:var(--demo-ok,#1e7a34)}
.px-b,.px-p{stroke:var(--demo-warn,#9c5d00)}.px-b{stroke-width:1.5}.px-p{stroke-width:.8;fill:none}
.px-a{stroke:var(--demo-accent,#1a5fb4);stroke-width:1;fill:none}
.px-r{stroke:var(--demo-muted,#5f6368);stroke-width:.6;stroke-dasharray:2 2;fill:none}
.px-c{fill:none;stroke:var(--demo-fg,#1d1d1f);stroke-width:.6;stroke-dasharray:2 1.5}
.px-d{fill:var(--demo-node,#e8eaed);stroke:var(--demo-ok,#1e7a34);stroke-width:1.2}
"""
LEGEND = [("box", "dm-role-candidate", "proposer"), ("box", "dm-role-leader", "leader"),
          ("box", "dm-role-follower", "acceptor"), ("line", "px-b", "ballot tried"),
          ("arrow", "px-p", "prepare"), ("arrow", "px-a", "accept"),
          ("arrow", "px-r", "reply, decision"), ("dot", "px-k", "value learned")]  # fmt: skip


def ballot_text(ballot: list[int]) -> str:
    return f"{ballot[0]}.{ballot[1]}"


def promise_step(promised: str, e: dict) -> str:
    return ballot_text(e["ballot"]) if e["kind"] == "promise" else promised


def role_step(role: str, e: dict) -> str:
    return e["role"] if e["kind"] == "role" else "down" if e["kind"] == "crash" else role


def slot_step(slot: int):  # a slot's cell: (accepted "value@ballot" or "", learned or None)
    def step(cell: tuple[str, str | None], e: dict) -> tuple[str, str | None]:
        if e["kind"] == "accept" and e["slot"] == slot:
            return f"{e['value']}@{ballot_text(e['ballot'])}", cell[1]
        return (cell[0], e["value"]) if e["kind"] == "decide" and e["slot"] == slot else cell

    return step


def draw(trace: dict, checks: list[Check], summary: str) -> str:
    """Give the SVG of a Paxos run."""
    fig = kit.Figure(trace, title="Paxos: single-decree and Multi-Paxos")
    nodes, scale, slots = trace["nodes"], fig.scale, int(trace["params"]["slots"])
    fig.text(summary)
    heading = "At the cursor: role, promised ballot, per slot the value accepted @ its ballot"
    panel = kit.StatePanel(fig.y, role=str, roles=ROLES, heading=heading + " (\u2713 learned)",
                           draw=lambda node, role, y: [_text(role, 44, y)],
                           say=lambda node, _, role: f"{node} is {role}")  # fmt: skip
    fig.add(panel.render(timeline(trace, "acceptor", role_step)))
    width = min((fig.width - 8 - SLOTS_X) / slots, 90.0)
    promised = timeline(trace, "-", promise_step)
    for i, node in enumerate(nodes):
        y = panel.y(i)
        fig.add(kit.stretches(promised[node], lambda p, y=y: [_text(p, 96, y)], node=node))
        fig.add(_cells(trace, node, y, slots, width))
    top = fig.reserve(panel.height(nodes) + 22)
    fig.add([kit.heading("Timeline", top + panel.height(nodes) + 18)])
    lanes = fig.lanes(nodes)
    fig.add(kit.bands(scale, trace["partitions"], lanes.top, lanes.bottom))
    fig.add(kit.lane_lines(scale, lanes))
    fig.add(kit.down_spans(scale, lanes, down_intervals(trace), height=22))
    fig.add(_leading(trace, scale, lanes) + _ballots(trace, scale, lanes))
    r = len(trace["messages"]) <= REPLIES_UP_TO
    fig.add(kit.messages(scale, lanes, trace["messages"], lambda m: _arrow_style(m, r), limit=100))
    fig.add(_learned(trace, scale, lanes) + kit.violations(scale, lanes, checks))
    fig.add(kit.axis(scale, lanes.top, lanes.bottom))
    fig.reserve(34)
    items = [item for item in LEGEND if r or item[1] != "px-r"]
    legend, height = kit.legend(items, x=8, y=fig.y + 10, width=fig.width - 16)
    fig.add(legend)
    fig.reserve(height)
    return fig.svg(desc=f"{summary}. Top: state at the cursor; below: a lane each.", style=STYLE)


def _text(text: str, x: float, y: float) -> str:
    return el("text", text, class_="px-t", x=x, y=y + 11)


def _cells(trace: dict, node: str, y: float, slots: int, width: float) -> list[str]:
    """Give a node's slot cells over time."""
    out = []
    for slot in range(1, slots + 1):
        x = SLOTS_X + (slot - 1) * width
        history = timeline(trace, ("", None), slot_step(slot), [node])[node]
        out += kit.stretches(history, lambda c, x=x: _cell(c, x, y, width), node=node)
    return out


def _cell(cell: tuple[str, str | None], x: float, y: float, width: float) -> list[str]:
    """Give one slot's box (solid: learned) and text: `value@ballot` accepted, a tick if
    learned (and the value learned if the acceptor holds another)."""
    accepted, learned = cell
    if learned is None:
        return [el("rect", class_="px-c", x=x, y=y + 1, width=width - 3, height=14),
                _text(accepted, x + 3, y)] if accepted else []  # fmt: skip
    tick = "\u2713" if accepted.split("@")[0] == learned else f" \u2713{learned}"
    return [el("rect", class_="px-d", x=x, y=y + 1, width=width - 3, height=14),
            _text((accepted + tick).strip(), x + 3, y)]  # fmt: skip


def _leading(trace: dict, scale: kit.TimeScale, lanes: kit.Lanes) -> list[str]:
    """Give a bar over a proposer's lane while it leads (phase 1 won, ballot not yet lost)."""
    bars = []
    for node, history in timeline(trace, "acceptor", role_step).items():
        for k, (since, role) in enumerate(history):
            until = history[k + 1][0] if k + 1 < len(history) else scale.duration
            if role == "leader":
                x, width = scale.x(since), max(scale.x(until) - scale.x(since), 0.8)
                d = f"M{num(x)} {num(lanes.y(node))}h{num(width)}"
                bars.append(el("path", d=d, data_t=kit.tnum(since), data_node=node))
    return kit.group("px-l", bars)


def _ballots(trace: dict, scale: kit.TimeScale, lanes: kit.Lanes) -> list[str]:
    """Give a tick above a proposer's lane for each 3 px in which it tried a new ballot."""
    ticks: dict[tuple[str, int], float] = {}
    for e in trace["events"]:
        if e["kind"] == "prepare":
            ticks.setdefault((e["node"], int((scale.x(e["t"]) - scale.x0) // 3)), e["t"])
    marks = [el("path", d=f"M{num(scale.x0 + b * 3)} {num(lanes.y(node) - 11)}v7",
                data_t=kit.tnum(t), data_node=node) for (node, b), t in ticks.items()]  # fmt: skip
    return kit.group("px-b", marks)


def _arrow_style(m: dict, replies: bool) -> str | None:
    """Give a delivered message's class: prepare, accept, or (in runs with few) reply."""
    if m["status"] != "delivered" or m.get("copy_of") is not None:
        return None
    return {"Prepare": "px-p", "Accept": "px-a"}.get(m.get("kind", ""), "px-r" if replies else None)


def _learned(trace: dict, scale: kit.TimeScale, lanes: kit.Lanes) -> list[str]:
    """Give a dot where a node learned a slot's value, announced when a reader steps to it."""
    dots = [el("circle", cx=scale.x(e["t"]), cy=lanes.y(e["node"]) + 7, r=2.5,
               data_t=kit.tnum(e["t"]), data_node=e["node"],
               data_say=f"{e['node']} learns {e['value']} for slot {e['slot']}")
            for e in trace["events"] if e["kind"] == "decide"]  # fmt: skip
    return kit.group("px-k", dots)
