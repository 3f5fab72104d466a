"""The Raft figure: each server's role, term, log and commit point at the cursor, above a
timeline of elections, votes and replication (arrows) and heartbeats heard (dotted: far too
many to draw one by one)."""

from __future__ import annotations

from operator import itemgetter
from typing import NamedTuple

from . import kit
from .queries import down_intervals, project, timeline
from .result import Check
from .svg import el

BOX = 14.0  # a log entry in the panel
LOG_X = 110.0
NOOP = "no-op"
LABEL = "dm-text raft-t"
LABEL_CHAR_PX = 5.5  # the width of a small label's character, near enough to keep labels apart
BARS = {"candidate": "raft-c", "leader": "raft-l"}
first = itemgetter(0)  # a (role, term) state's role
ROLES = {r: f"dm-role-{r}" for r in ("follower", "candidate", "leader", "down")}
LEGEND = [
    ("box", "dm-role-candidate", "candidate"),
    ("box", "dm-role-leader", "leader"),
    ("box", "dm-down", "down"),
    ("arrow", "raft-v", "vote granted"),
    ("arrow", "raft-a", "entries sent"),
    ("dash", "raft-hb", "heartbeat heard"),
    ("dot", "raft-k", "command applied"),
]
STYLE = """
.raft-c{stroke:var(--demo-warn,#9c5d00);stroke-width:10}.raft-k{fill:var(--demo-ok,#1e7a34)}
.raft-l{stroke:var(--demo-accent,#1a5fb4);stroke-width:10}.raft-t{font-size:9px;text-anchor:middle}
.raft-v{stroke:var(--demo-ok,#1e7a34);stroke-width:1;fill:none}
.raft-a{stroke:var(--demo-accent,#1a5fb4);stroke-width:1;fill:none}
.raft-hb{stroke:var(--demo-muted,#5f6368);stroke-width:3;stroke-dasharray:1 3;fill:none}
.raft-e{fill:var(--demo-node,#e8eaed);stroke:var(--demo-fg,#1d1d1f);stroke-width:.75}
.raft-u{fill:none;stroke:var(--demo-fg,#1d1d1f);stroke-width:.75;stroke-dasharray:2 1.5}
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


def say(node: str, before: object, now: tuple[str, int]) -> str:
    """Give the sentence the player reads when a reader steps to a change of role."""
    role, term = now
    return f"{node} is down" if role == "down" else f"{node} becomes {role} of term {term}"


def bar_title(node: str, state: tuple[str, int]) -> str:
    return f"{node}: {state[0]} of term {state[1]}"


def role_text(node: str, state: tuple[str, int], y: float) -> list[str]:
    return [el("text", f"{state[0]} t{state[1]}", class_="dm-text dm-small", x=44, y=y + 11)]


def log_boxes(node: str, history: list[tuple[float, Server]], y: float) -> list[str]:
    """Give a server's log as boxes that come and go (solid: committed), its last entries
    when it is long; entries stored or committed together share one element."""
    longest = max(len(s.log) for _, s in history)
    first = max(0, longest - int((kit.figure.WIDTH - 16 - LOG_X) // (BOX + 1)))

    def entry(s: Server, i: int) -> tuple[int, bool] | None:
        return (s.log[first + i][0], first + i < s.commit) if first + i < len(s.log) else None

    out = []
    runs = kit.slot_runs(history, entry, longest - first)
    for since, until, solid, row in kit.run_groups(runs, lambda value: value[1]):
        xs = [LOG_X + i * (BOX + 1) for i, _ in row]
        terms = "".join(str(term % 10) for _, (term, _) in row)
        parts = kit.boxes(xs, y, "raft-e" if solid else "raft-u", terms, label_cls=LABEL)
        last = first + row[-1][0] + 1
        said = f"{node} applies up to entry {last}" if solid else f"{node} stores entries "
        said += "" if solid else f"{first + row[0][0] + 1}-{last}"
        out += kit.stretch(since, until, parts, node=node, say=said if since else None)
    return out


def draw(trace: dict, checks: list[Check], summary: str) -> str:
    """Give the SVG of a Raft run."""
    fig = kit.Figure(trace, title="Raft: leader election and log replication")
    nodes, scale = trace["nodes"], fig.scale
    fig.text(summary)
    heading = "At the cursor: role, term and log (number = entry's term; solid = committed)"
    panel = kit.StatePanel(fig.y, first, role_text, say, ROLES, heading=heading)
    servers = timeline(trace, Server("follower", 0, (), 0), step)
    roles = {
        node: project(history, lambda s: (s.role, s.term)) for node, history in servers.items()
    }
    fig.add(panel.render(roles))
    for i, (node, history) in enumerate(servers.items()):
        fig.add(log_boxes(node, history, panel.y(i)))
    fig.reserve(panel.height(nodes) + 14)
    fig.heading("Timeline", gap=8)
    lanes = fig.lanes(nodes)
    fig.add(partition_bands(scale, trace["partitions"], lanes))
    fig.add(kit.lane_lines(scale, lanes))
    fig.add(kit.down_spans(scale, lanes, down_intervals(trace), height=22))
    fig.add(kit.role_bars(scale, lanes, roles, BARS, name=first, title=bar_title))
    beats = [m for m in trace["messages"] if m["label"].startswith("heartbeat") and m["recv"]]
    heard = {n: [m["recv"] for m in beats if m["dst"] == n] for n in nodes}
    fig.add(kit.binned_ticks(scale, lanes, heard, "raft-hb"))
    fig.add(kit.messages(scale, lanes, trace["messages"], arrow_style(), limit=200))
    applied = [e for e in trace["events"] if e["kind"] == "commit" and e["command"] != NOOP]
    fig.add(kit.dots(scale, lanes, applied, "raft-k", dy=8))
    fig.add(kit.violations(scale, lanes, checks))
    fig.axis(lanes)
    fig.legend(LEGEND)
    desc = f"{summary}. Top: each server's state at the cursor. Below: a lane per server."
    return fig.svg(desc=desc, style=STYLE)


def partition_bands(scale: kit.TimeScale, partitions: list[dict], lanes: kit.Lanes) -> list[str]:
    """Give the partition bands, a label that would run into the one before it (two
    partitions in quick succession, as in the paper's Figure 8) raised above the lanes."""
    out: list[str] = []
    free_from = float("-inf")  # where the labels under the axis may start again
    for p in partitions:
        x = scale.x(p["start"])
        raised = x < free_from
        out += kit.bands(
            scale, [p], lanes.top, lanes.bottom, label_y=lanes.top - 3 if raised else None
        )
        if not raised:
            sides = " | ".join(",".join(g) for g in p["groups"])
            free_from = x + LABEL_CHAR_PX * len(f"partition {sides}") + 8
    return out


def arrow_style():
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
