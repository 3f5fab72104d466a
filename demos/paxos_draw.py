"""The Paxos figure: each node's role, promise and accepted values at the cursor; below, a
timeline of ballots tried (a tick per 3 px), leaders, the first messages, values learned."""

from __future__ import annotations

from functools import partial

from . import kit
from .queries import timeline, times_by_node
from .result import Check
from .svg import el

# A slot at a node: the value accepted @ its ballot (or ""), and the value learned (or None).
Cell = tuple[str, str | None]

ROLES = {
    "acceptor": "dm-role-follower",
    "proposer": "dm-role-candidate",
    "leader": "dm-role-leader",
    "down": "dm-role-down",
}
SLOTS_X = 128.0
HEADING = "At the cursor: role, promised ballot, per slot the value accepted @ its ballot"
REPLIES_UP_TO = 64  # messages in a run; beyond, replies and decisions are not drawn
STYLE = """
.px-t{fill:var(--demo-fg,#1d1d1f);font:10px system-ui,-apple-system,"Segoe UI",sans-serif}
.px-l{stroke:var(--demo-accent,#1a5fb4);stroke-width:8}.px-k{fill:var(--demo-ok,#1e7a34)}
.px-b,.px-p{stroke:var(--demo-warn,#9c5d00);fill:none}.px-b{stroke-width:7;stroke-dasharray:1.5 1.5}
.px-p{stroke-width:.8}
.px-a{stroke:var(--demo-accent,#1a5fb4);stroke-width:1;fill:none}
.px-r{stroke:var(--demo-muted,#5f6368);stroke-width:.6;stroke-dasharray:2 2;fill:none}
.px-c{fill:none;stroke:var(--demo-fg,#1d1d1f);stroke-width:.6;stroke-dasharray:2 1.5}
.px-d{fill:var(--demo-node,#e8eaed);stroke:var(--demo-ok,#1e7a34);stroke-width:1.2}
"""
LEGEND = [
    ("box", "dm-role-candidate", "proposer"),
    ("box", "dm-role-leader", "leader"),
    ("box", "dm-role-follower", "acceptor"),
    ("dash", "px-b", "ballot tried"),
    ("arrow", "px-p", "prepare"),
    ("arrow", "px-a", "accept"),
    ("arrow", "px-r", "reply, decision"),
    ("dot", "px-k", "value learned"),
]


def ballot_text(ballot: list[int]) -> str:
    return f"{ballot[0]}.{ballot[1]}"


def promise_step(promised: str, e: dict) -> str:
    return ballot_text(e["ballot"]) if e["kind"] == "promise" else promised


def role_step(role: str, e: dict) -> str:
    return e["role"] if e["kind"] == "role" else "down" if e["kind"] == "crash" else role


def slots_step(state: tuple[Cell, ...], e: dict) -> tuple[Cell, ...]:
    """Give a node's slots after one of its events: a slot's cell is (accepted
    "value@ballot" or "", learned value or None)."""
    if e["kind"] not in ("accept", "decide"):
        return state
    k, (accepted, learned) = e["slot"] - 1, state[e["slot"] - 1]
    if e["kind"] == "accept":
        cell = (f"{e['value']}@{ballot_text(e['ballot'])}", learned)
    else:
        cell = (accepted, e["value"])
    return (*state[:k], cell, *state[k + 1 :])


def draw(trace: dict, checks: list[Check], summary: str) -> str:
    """Give the SVG of a Paxos run."""
    fig = kit.Figure(trace, title="Paxos: single-decree and Multi-Paxos")
    nodes, scale, slots = trace["nodes"], fig.scale, int(trace["params"]["slots"])
    fig.text(summary)
    panel = kit.StatePanel(
        fig.y, str, kit.role_label, kit.say_role, ROLES, heading=f"{HEADING} (\u2713 learned)"
    )
    roles = timeline(trace, "acceptor", role_step)
    fig.panel(panel, roles)
    width = min((fig.width - 8 - SLOTS_X) / slots, 90.0)
    promised = timeline(trace, "-", promise_step)
    states = timeline(trace, (("", None),) * slots, slots_step)
    for i, node in enumerate(nodes):
        y = panel.y(i)
        fig.add(kit.stretches(promised[node], lambda p, y=y: [_text(p, 96, y)], node=node))
        for k, run in kit.slot_runs(states[node], lambda s, k: s[k], slots).items():
            cell = partial(_cell, x=SLOTS_X + k * width, y=y, width=width)
            fig.add(kit.stretches(run, cell, node=node))
    fig.heading("Timeline", gap=8)
    lanes = fig.timeline(trace)
    fig.add(kit.role_bars(scale, lanes, roles, {"leader": "px-l"}))
    tried = times_by_node(e for e in trace["events"] if e["kind"] == "prepare")
    fig.add(kit.binned_ticks(scale, lanes, tried, "px-b", bin_px=3.0))
    r = len(trace["messages"]) <= REPLIES_UP_TO
    style = partial(_arrow_style, replies=r)
    fig.add(kit.messages(scale, lanes, trace["messages"], style, limit=100))
    learned = [e for e in trace["events"] if e["kind"] == "decide"]
    fig.add(kit.dots(scale, lanes, learned, "px-k", dy=7, say=_learns))
    fig.add(kit.violations(scale, lanes, checks))
    fig.axis(lanes)
    fig.legend([item for item in LEGEND if r or item[1] != "px-r"])
    return fig.svg(desc=f"{summary}. Top: state at the cursor; below: a lane each.", style=STYLE)


def _text(text: str, x: float, y: float) -> str:
    return el("text", text, class_="px-t", x=x, y=y + 11)


def _cell(cell: Cell, x: float, y: float, width: float) -> list[str]:
    """Give one slot's box (solid: learned) and text: `value@ballot` accepted, a tick if
    learned (and the value learned if the acceptor holds another)."""
    accepted, learned = cell
    if not accepted and learned is None:
        return []
    same = accepted.split("@")[0] == learned
    tick = "" if learned is None else "\u2713" if same else f" \u2713{learned}"
    box = el(
        "rect",
        class_="px-c" if learned is None else "px-d",
        x=x,
        y=y + 1,
        width=width - 3,
        height=14,
    )
    return [box, _text((accepted + tick).strip(), x + 3, y)]


def _arrow_style(m: dict, *, replies: bool) -> str | None:
    """Give a delivered message's class: prepare, accept, or (in runs with few) reply."""
    if m["status"] != "delivered" or m.get("copy_of") is not None:
        return None
    return {"Prepare": "px-p", "Accept": "px-a"}.get(m.get("kind", ""), "px-r" if replies else None)


def _learns(e: dict) -> str:
    return f"{e['node']} learns {e['value']} for slot {e['slot']}"
