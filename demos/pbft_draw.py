"""The PBFT figure: each replica's role, view and last executed request at the cursor; below,
a lane each: pre-prepares (red: contradicting the primary's first for that number) and
new-views as arrows; prepared, committed, executed and view-change moments as marks (the
n-squared prepares and commits are not drawn one by one)."""

from __future__ import annotations

from typing import NamedTuple

from . import kit
from .queries import down_intervals, timeline
from .result import Check
from .svg import el, num

ROLES = {"primary": "dm-role-leader", "backup": "dm-role-follower", "byzantine": "pb-z",
         "down": "dm-role-down"}  # fmt: skip
STYLE = """
.pb-z{fill:var(--demo-bad,#c01c28)}
.pb-zb{fill:var(--demo-bad,#c01c28);opacity:.08}
.pb-pp{stroke:var(--demo-accent,#1a5fb4);stroke-width:1;fill:none}
.pb-px{stroke:var(--demo-bad,#c01c28);stroke-width:1.2;fill:none}
.pb-nv{stroke:var(--demo-ok,#1e7a34);stroke-width:1;fill:none}
.pb-pr{stroke:var(--demo-accent,#1a5fb4);stroke-width:1.5}
.pb-cm{stroke:var(--demo-ok,#1e7a34);stroke-width:1.5}
.pb-vc{stroke:var(--demo-warn,#9c5d00);stroke-width:2.5}
.pb-x{fill:var(--demo-ok,#1e7a34)}
.pb-t{fill:var(--demo-fg,#1d1d1f);font:10px system-ui,-apple-system,"Segoe UI",sans-serif}
"""
LEGEND = (("box", "dm-role-leader", "primary"), ("box", "dm-role-follower", "backup"),
          ("box", "pb-z", "Byzantine"), ("arrow", "pb-pp", "pre-prepare"),
          ("arrow", "pb-px", "conflicting pre-prepare"), ("arrow", "pb-nv", "new-view"),
          ("line", "pb-pr", "prepared (above)"), ("line", "pb-cm", "committed (below)"),
          ("dot", "pb-x", "executed"), ("line", "pb-vc", "asks for a new view"))  # fmt: skip


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
    panel = kit.StatePanel(fig.y, role=lambda s: s[0], roles=ROLES, say=say,
                           heading="At the cursor: role, view, last request executed (#seq)",
                           draw=lambda node, s, y: [
                               el("text", text, class_="pb-t", x=x, y=y + 11)
                               for text, x in zip(s, (44, 104, 184), strict=True)])  # fmt: skip
    changes = {}
    for node, history in timeline(trace, Replica(0, None, False, None), step).items():
        changes[node] = [(t, shown(trace, node, r)) for t, r in history]
        changes[node] = [c for k, c in enumerate(changes[node])
                         if not k or c[1] != changes[node][k - 1][1]]  # fmt: skip
    fig.add(panel.render(changes))
    fig.reserve(panel.height(nodes) + 14)
    fig.add([kit.heading("Timeline", fig.y + 4)])
    fig.reserve(8)
    lanes = fig.lanes(nodes)
    fig.add([el("rect", class_="pb-zb", x=scale.x0, y=lanes.y(n) - lanes.pitch / 2,
                width=scale.x1 - scale.x0, height=lanes.pitch, data_node=n)
             for n in trace["byzantine"]])  # fmt: skip
    fig.add(kit.bands(scale, trace["partitions"], lanes.top, lanes.bottom))
    fig.add(kit.lane_lines(scale, lanes))
    fig.add(kit.down_spans(scale, lanes, down_intervals(trace), height=22))
    fig.add(kit.messages(scale, lanes, trace["messages"], _arrow_style(), limit=150))
    fig.add(_marks(trace, scale, lanes) + kit.violations(scale, lanes, checks))
    fig.add(kit.axis(scale, lanes.top, lanes.bottom))
    fig.reserve(34)
    legend, height = kit.legend(LEGEND, x=8, y=fig.y + 10, width=fig.width - 16)
    fig.add(legend)
    fig.reserve(height)
    desc = f"{summary}. Top: each replica at the cursor; below: a lane each."
    return fig.svg(desc=desc, style=STYLE)


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


def _marks(trace: dict, scale: kit.TimeScale, lanes: kit.Lanes) -> list[str]:
    """Give ticks where replicas prepared (above the lane) and committed (below), a bar where
    one asked for a new view, and a dot where one executed a request."""
    caught = {(e["node"], e["t"]): e for e in trace["events"] if e["kind"] == "caught"}
    ticks: dict[str, list[str]] = {"pb-pr": [], "pb-cm": [], "pb-vc": [], "pb-x": []}
    for e in trace["events"]:
        x, y, node, t = scale.x(e["t"]), lanes.y(e["node"]), e["node"], kit.tnum(e["t"])
        if e["kind"] in ("prepared", "committed"):
            top = y - 10 if e["kind"] == "prepared" else y + 4
            cls = "pb-pr" if e["kind"] == "prepared" else "pb-cm"
            ticks[cls].append(el("path", d=f"M{num(x)} {num(top)}v6", data_t=t, data_node=node))
        elif e["kind"] == "viewchange":
            why = caught.get((node, e["t"]))
            said = f"{node} asks for view {e['view']}" + (
                f": it caught the primary lying at #{why['seq']}" if why else "")  # fmt: skip
            ticks["pb-vc"].append(el("path", d=f"M{num(x)} {num(y - 8)}v16", data_t=t,
                                     data_node=node, data_say=said))  # fmt: skip
        elif e["kind"] == "execute":
            said = f"{node} executes {e['value']} at #{e['seq']}"
            ticks["pb-x"].append(el("circle", cx=x, cy=y, r=2.5, data_t=t, data_node=node,
                                    data_say=said))  # fmt: skip
    return [part for cls, items in ticks.items() for part in kit.group(cls, items)]
