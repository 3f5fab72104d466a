"""The PBFT figure: each replica's role, view and last executed request at the cursor; below,
a lane each: pre-prepares (red: contradicting the primary's first for that number) and
new-views as arrows; prepared, committed, executed and view-change moments as marks (the
n-squared prepares and commits are not drawn one by one)."""

from __future__ import annotations

from functools import partial
from operator import itemgetter
from typing import NamedTuple

from . import kit
from .queries import down_intervals, project, timeline, times_by_node
from .result import Check
from .svg import el

ROLES = {
    "primary": "dm-role-leader",
    "backup": "dm-role-follower",
    "byzantine": "pb-z",
    "down": "dm-role-down",
}
TEXTS = partial(kit.columns, xs=(44, 104, 184), cls="pb-t")  # a panel row: role, view, executed
HEADING = "At the cursor: role, view, last request executed (#seq)"
STYLE = """
.pb-z{fill:var(--demo-bad,#c01c28)}
.pb-zb{fill:var(--demo-bad,#c01c28);opacity:.08}
.pb-pp{stroke:var(--demo-accent,#1a5fb4);stroke-width:1;fill:none}
.pb-px{stroke:var(--demo-bad,#c01c28);stroke-width:1.2;fill:none}
.pb-nv{stroke:var(--demo-ok,#1e7a34);stroke-width:1;fill:none}
.pb-pr,.pb-cm{stroke:var(--demo-accent,#1a5fb4);stroke-width:6;stroke-dasharray:1.5 1.5;fill:none}
.pb-cm{stroke:var(--demo-ok,#1e7a34)}
.pb-vc{stroke:var(--demo-warn,#9c5d00);stroke-width:2.5}
.pb-x{fill:var(--demo-ok,#1e7a34)}
.pb-t{fill:var(--demo-fg,#1d1d1f);font:10px system-ui,-apple-system,"Segoe UI",sans-serif}
"""
LEGEND = (
    ("box", "dm-role-leader", "primary"),
    ("box", "dm-role-follower", "backup"),
    ("box", "pb-z", "Byzantine"),
    ("arrow", "pb-pp", "pre-prepare"),
    ("arrow", "pb-px", "conflicting pre-prepare"),
    ("arrow", "pb-nv", "new-view"),
    ("dash", "pb-pr", "prepared (above)"),
    ("dash", "pb-cm", "committed (below)"),
    ("dot", "pb-x", "executed"),
    ("line", "pb-vc", "asks for a new view"),
)


class Replica(NamedTuple):
    view: int
    target: int | None  # the view it asks for, during a view change
    down: bool
    last: tuple[int, str] | None  # the last (seq, value) it executed


def step(r: Replica, e: dict) -> Replica:
    """Give a replica's state after one of its own trace events."""
    kind = e["kind"]
    if kind == "view":
        return r._replace(view=e["view"], target=None)
    if kind == "viewchange":
        return r._replace(target=e["view"])
    if kind in ("crash", "restart"):
        return r._replace(down=kind == "crash")
    return r._replace(last=(e["seq"], e["value"])) if kind == "execute" else r


def shown(trace: dict, node: str, r: Replica) -> tuple[str, str, str]:
    """Give (role, view text, executed text) for the panel."""
    names = trace["nodes"]
    if r.down:
        role = "down"
    elif node in trace["byzantine"]:
        role = "byzantine"
    else:
        primary = r.target is None and names[r.view % len(names)] == node
        role = "primary" if primary else "backup"
    view = f"view {r.view}" + ("" if r.target is None else f" \u2192 {r.target}?")
    return role, view, "-" if r.last is None else f"#{r.last[0]} {r.last[1]}"


def say(node: str, before: tuple | None, now: tuple) -> str:
    """Give the sentence the player reads at a change of role or view."""
    done = f", executed {now[2]}" if now[2] != "-" else ""
    return f"{node} is down" if now[0] == "down" else f"{node}: {now[0]}, {now[1]}{done}"


def draw(trace: dict, checks: list[Check], summary: str) -> str:
    """Give the SVG of a PBFT run."""
    fig = kit.Figure(trace, title="PBFT: practical Byzantine fault tolerance")
    nodes, scale = trace["nodes"], fig.scale
    fig.text(summary)
    panel = kit.StatePanel(fig.y, itemgetter(0), TEXTS, say, ROLES, heading=HEADING)
    replicas = timeline(trace, Replica(0, None, False, None), step)
    fig.panel(panel, {n: project(h, partial(shown, trace, n)) for n, h in replicas.items()})
    fig.heading("Timeline", gap=8)
    lanes = fig.lanes(nodes)
    for n in trace["byzantine"]:  # a Byzantine replica's lane is tinted
        d = kit.box_d(scale.x0, lanes.y(n) - lanes.pitch / 2, scale.x1 - scale.x0, lanes.pitch)
        fig.add([el("path", class_="pb-zb", d=d, data_node=n)])
    fig.add(kit.bands(scale, trace["partitions"], lanes.top, lanes.bottom))
    fig.add(kit.lane_lines(scale, lanes))
    fig.add(kit.down_spans(scale, lanes, down_intervals(trace), height=22))
    fig.add(kit.messages(scale, lanes, trace["messages"], _arrow_style(), limit=150))
    for kind, cls, dy in (("prepared", "pb-pr", -7), ("committed", "pb-cm", 7)):
        times = times_by_node(e for e in trace["events"] if e["kind"] == kind)
        fig.add(kit.binned_ticks(scale, lanes, times, cls, bin_px=3.0, dy=dy))
    caught = {(e["node"], e["t"]): e for e in trace["events"] if e["kind"] == "caught"}
    changes = [e for e in trace["events"] if e["kind"] == "viewchange"]
    fig.add(kit.ticks(scale, lanes, changes, "pb-vc", say=partial(_asks, caught)))
    executed = [e for e in trace["events"] if e["kind"] == "execute"]
    fig.add(kit.dots(scale, lanes, executed, "pb-x", say=_executes))
    fig.add(kit.violations(scale, lanes, checks))
    fig.axis(lanes)
    fig.legend(LEGEND)
    return fig.svg(
        desc=f"{summary}. Top: each replica at the cursor; below: a lane each.", style=STYLE
    )


def _arrow_style():
    """Give a style that draws first copies of pre-prepares (red when they contradict the
    primary's first pre-prepare for that view and sequence number) and new-views."""
    first: dict[tuple[str, str, str], str] = {}

    def style(m: dict) -> str | None:
        if m["status"] != "delivered" or m.get("copy_of") is not None:
            return None
        if m.get("kind") != "PrePrepare":
            return "pb-nv" if m.get("kind") == "NewView" else None
        _, view, seq, value = m["label"].split(" ", 3)
        told = first.setdefault((m["src"], view, seq), value)
        return "pb-pp" if told == value else "pb-px"

    return style


def _asks(caught: dict[tuple[str, float], dict], e: dict) -> str:
    """Give what the player says where a replica asks for a new view, and why."""
    why = caught.get((e["node"], e["t"]))
    lying = f": it caught the primary lying at #{why['seq']}" if why else ""
    return f"{e['node']} asks for view {e['view']}{lying}"


def _executes(e: dict) -> str:
    return f"{e['node']} executes {e['value']} at #{e['seq']}"
