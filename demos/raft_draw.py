"""The Raft figure: each server's role, term, log and commit point at the cursor, above a
timeline of elections, votes, replication and applied commands.

Heartbeats are far too many to draw one by one: each lane gets a dotted stroke where its
server heard them. Votes and AppendEntries that carry entries are arrows.
"""

from __future__ import annotations

from typing import NamedTuple

from . import kit
from .queries import down_intervals, timeline
from .result import Check
from .svg import el, esc, num

BOX = 14.0  # a log entry in the panel
LOG_X = 110.0
NOOP = "no-op"
ROLES = {"follower": "dm-role-follower", "candidate": "dm-role-candidate",
         "leader": "dm-role-leader", "down": "dm-role-down"}
STYLE = """
.raft-c{stroke:var(--demo-warn,#9c5d00);stroke-width:10}
.raft-l{stroke:var(--demo-accent,#1a5fb4);stroke-width:10}
.raft-v{stroke:var(--demo-ok,#1e7a34);stroke-width:1;fill:none}
.raft-a{stroke:var(--demo-accent,#1a5fb4);stroke-width:1;fill:none}
.raft-hb{stroke:var(--demo-muted,#5f6368);stroke-width:3;stroke-dasharray:1 3;fill:none}
.raft-k{fill:var(--demo-ok,#1e7a34)}
.raft-e{fill:var(--demo-node,#e8eaed);stroke:var(--demo-fg,#1d1d1f);stroke-width:.75}
.raft-u{fill:none;stroke:var(--demo-fg,#1d1d1f);stroke-width:.75;stroke-dasharray:2 1.5}
.raft-t{font-size:9px;text-anchor:middle}
"""


class Server(NamedTuple):
    """One server's state at a moment."""

    role: str
    term: int
    log: tuple[tuple[int, str], ...]
    commit: int


def step(s: Server, e: dict) -> Server:
    """Give a server's state after one of its own trace events."""
    kind = e["kind"]
    if kind == "role":
        return s._replace(role=e["role"], term=e["term"])
    if kind == "crash":
        return s._replace(role="down", commit=0)
    if kind == "log":
        return s._replace(log=s.log[: e["keep"]] + tuple(tuple(x) for x in e["entries"]))
    if kind == "commit":
        return s._replace(commit=max(s.commit, e["index"]))
    return s


def say(node: str, before: tuple[str, int] | None, now: tuple[str, int]) -> str:
    """Give the sentence the player reads when a reader steps to a change of role."""
    role, term = now
    return f"{node} is down" if role == "down" else f"{node} becomes {role} of term {term}"


def role_text(node: str, state: tuple[str, int], y: float) -> list[str]:
    return [el("text", f"{state[0]} t{state[1]}", class_="dm-text dm-small", x=44, y=y + 11)]


def log_boxes(node: str, history: list[tuple[float, Server]], y: float) -> list[str]:
    """Give a server's log as boxes that come and go (solid: committed); a long log shows
    its last entries. Entries stored or committed together share one element."""
    longest = max(len(s.log) for _, s in history)
    first = max(0, longest - int((kit.figure.WIDTH - 16 - LOG_X) // (BOX + 1)))
    runs: dict[int, list[tuple[float, object]]] = {i: [(0.0, None)] for i in range(longest)}
    for since, s in history:
        for i in range(first, longest):
            value = (s.log[i][0], i < s.commit) if i < len(s.log) else None
            if runs[i][-1][1] != value:
                runs[i].append((since, value))
    together: dict[tuple, list[tuple[int, int]]] = {}  # (since, until, solid) -> [(i, term)]
    for i in range(first, longest):
        for k, (since, value) in enumerate(runs[i]):
            until = runs[i][k + 1][0] if k + 1 < len(runs[i]) else None
            if value is not None and (until is None or until > since):
                together.setdefault((since, until, value[1]), []).append((i - first, value[0]))
    out = []
    for (since, until, solid), boxes in sorted(together.items(), key=lambda kv: kv[0][0]):
        xs = [LOG_X + k * (BOX + 1) for k, _ in boxes]
        d = "".join(f"M{num(x)} {num(y)}h14v14h-14z" for x in xs)
        parts = [el("path", class_="raft-e" if solid else "raft-u", d=d),
                 el("text", "".join(str(term % 10) for _, term in boxes),
                    class_="dm-text raft-t", x=" ".join(num(x + BOX / 2) for x in xs),
                    y=y + 10.5)]
        said = (f"{node} applies up to entry {first + boxes[-1][0] + 1}" if solid else
                f"{node} stores entries {first + boxes[0][0] + 1}-{first + boxes[-1][0] + 1}")
        out += kit.stretch(since, until, parts, node=node, say=said if since else None)
    return out


def draw(trace: dict, checks: list[Check], summary: str) -> str:
    """Give the SVG of a Raft run."""
    fig = kit.Figure(trace, title="Raft: leader election and log replication")
    nodes, scale = trace["nodes"], fig.scale
    fig.text(summary)
    panel = kit.StatePanel(fig.y, role=lambda state: state[0], draw=role_text, say=say, roles=ROLES,
                           heading="At the cursor: role, term and log (number = entry's "
                           "term; solid = committed)")
    servers = timeline(trace, Server("follower", 0, (), 0), step)
    fig.add(panel.render({node: _roles(history) for node, history in servers.items()}))
    for i, (node, history) in enumerate(servers.items()):
        fig.add(log_boxes(node, history, panel.y(i)))
    fig.reserve(panel.height(nodes) + 14)
    fig.add([kit.heading("Timeline", fig.y + 4)])
    fig.reserve(8)
    lanes = fig.lanes(nodes)
    fig.add(kit.bands(scale, trace["partitions"], lanes.top, lanes.bottom))
    fig.add(kit.lane_lines(scale, lanes))
    fig.add(kit.down_spans(scale, lanes, down_intervals(trace), height=22))
    fig.add(_terms(trace, fig, lanes))
    fig.add(_heartbeats(trace, scale, lanes))
    fig.add(kit.messages(scale, lanes, trace["messages"], _arrow_style(), limit=200))
    fig.add(_applied(trace, scale, lanes))
    fig.add(kit.violations(scale, lanes, checks))
    fig.add(kit.axis(scale, lanes.top, lanes.bottom))
    fig.reserve(34)
    legend, height = kit.legend([
        ("box", "dm-role-candidate", "candidate"), ("box", "dm-role-leader", "leader"),
        ("box", "dm-down", "down"), ("arrow", "raft-v", "vote granted"),
        ("arrow", "raft-a", "entries sent"), ("dash", "raft-hb", "heartbeat heard"),
        ("dot", "raft-k", "command applied")], x=8, y=fig.y + 10, width=fig.width - 16)
    fig.add(legend)
    fig.reserve(height)
    return fig.svg(desc=f"{summary}. Top: each server's state at the cursor. Below: one lane "
                   "per server over time.", style=STYLE)


def _terms(trace: dict, fig: kit.Figure, lanes: kit.Lanes) -> list[str]:
    """Give a bar over each lane while its server was a candidate or leader."""
    out = []
    for node, history in timeline(trace, ("follower", 0), _role_step).items():
        bars = {"raft-c": [], "raft-l": []}
        for k, (since, (role, term)) in enumerate(history):
            if role in ("candidate", "leader"):
                until = history[k + 1][0] if k + 1 < len(history) else fig.scale.duration
                x0, y = fig.scale.x(since), lanes.y(node)
                width = max(fig.scale.x(until) - x0, 0.5)
                bars["raft-c" if role == "candidate" else "raft-l"].append(
                    f'<path d="M{num(x0)} {num(y)}h{num(width)}" data-t="{kit.tnum(since)}">'
                    f"<title>{esc(node)}: {role} of term {term}</title></path>")
        for cls, items in bars.items():
            out += kit.group(cls, items, node)
    return out


def _roles(history: list[tuple[float, Server]]) -> list[tuple[float, tuple[str, int]]]:
    """Give the stretches of (role, term) in a server's history of states."""
    out: list[tuple[float, tuple[str, int]]] = []
    for since, s in history:
        if not out or out[-1][1] != (s.role, s.term):
            out.append((since, (s.role, s.term)))
    return out


def _role_step(state: tuple[str, int], e: dict) -> tuple[str, int]:
    if e["kind"] == "role":
        return e["role"], e["term"]
    return ("down", state[1]) if e["kind"] == "crash" else state


def _heartbeats(trace: dict, scale: kit.TimeScale, lanes: kit.Lanes) -> list[str]:
    """Give a dotted tick above a lane for every 4 px in which its server heard a heartbeat."""
    seen: dict[str, dict[int, float]] = {n: {} for n in lanes.nodes}
    for m in trace["messages"]:
        if m["status"] == "delivered" and m["label"].startswith("heartbeat"):
            seen[m["dst"]].setdefault(int((scale.x(m["recv"]) - scale.x0) // 4), m["recv"])
    out = []
    for node, bins in seen.items():
        y = num(lanes.y(node) - 7.5)
        runs: list[list[int]] = []  # [first bin, last bin]; a run breaks every 32 bins
        for b in sorted(bins):
            if runs and b == runs[-1][1] + 1 and b % 32:
                runs[-1][1] = b
            else:
                runs.append([b, b])
        ticks = [f'<path d="M{num(scale.x0 + a * 4)} {y}h{(b - a + 1) * 4}" '
                 f'data-t="{kit.tnum(bins[a])}"/>' for a, b in runs]
        out += kit.group("raft-hb", ticks, node)
    return out


def _arrow_style():
    """Give a style that draws granted votes and each batch of entries once."""
    seen: set[tuple[str, str]] = set()

    def style(m: dict) -> str | None:
        if m["status"] != "delivered":
            return None
        if m["label"].startswith("vote yes"):
            return "raft-v"
        if m["label"].startswith("append") and (m["dst"], m["label"]) not in seen:
            seen.add((m["dst"], m["label"]))
            return "raft-a"
        return None

    return style


def _applied(trace: dict, scale: kit.TimeScale, lanes: kit.Lanes) -> list[str]:
    """Give a dot where a server applied a client command (no-ops left out)."""
    dots = [el("circle", cx=scale.x(e["t"]), cy=lanes.y(e["node"]) + 8, r=2.5,
               data_t=kit.tnum(e["t"]), data_node=e["node"])
            for e in trace["events"] if e["kind"] == "commit" and e["command"] != NOOP]
    return kit.group("raft-k", dots)
