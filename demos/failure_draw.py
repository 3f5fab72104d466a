"""The failure-detector figure: whom each node suspects at the cursor; one lane per node with
its heartbeats (ticks: far too many for arrows), its outages and a row per observer showing
when that observer suspected it; one detector's level over time."""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from operator import itemgetter

from . import kit
from .failure import View, false_suspicions, view_after
from .queries import down_intervals, timeline, times_by_node
from .result import Check
from .svg import attrs, el

ROW, STRIP, GAP = 10.0, 16.0, 8.0  # an observer's row in a lane; the heartbeat strip above them
CELL, CELL_X, PLOT_H = 24.0, 48.0, 80.0  # a peer's cell in the panel, where cells start
TICK_GAP = 3.0  # heartbeat ticks: the least px between two (fast beats stay a few hundred)
ROLES = {"up": "dm-ok", "down": "dm-role-down"}
TURNS = {"down": "crashes, forgetting its suspicions", "up": "restarts, trusting every peer"}
LEGEND = (
    ("dash", "fd-hb", "heartbeat sent"),
    ("dash", "fd-drop", "a copy was lost"),
    ("box", "dm-accent", "suspected, rightly"),
    ("box", "dm-warn", "suspected while up"),
    ("box", "dm-ok", "node up"),
    ("box", "dm-down", "node down"),
)
HEAD = "At the cursor: whom each node suspects (filled)"
MUTED = "dm-text dm-small dm-muted"
DESC = "Top: whom each node suspects at the cursor; below, each node's heartbeats, outages, and \
who suspected it when."
STYLE = """
.fd-hb{stroke:var(--demo-msg,#5f6368);stroke-width:8;stroke-dasharray:1 2;fill:none}
.fd-drop{stroke:var(--demo-bad,#c01c28);stroke-width:12;stroke-dasharray:1 2;fill:none}
.fd-on{fill:var(--demo-accent,#1a5fb4);opacity:.35}
.fd-level{stroke:var(--demo-accent,#1a5fb4);stroke-width:1.2;fill:none}
.fd-limit{stroke:var(--demo-bad,#c01c28);stroke-width:1;stroke-dasharray:4 3}
"""


def say(node: str, before: View, now: View) -> str | None:
    """Give the sentence the player reads when a reader steps to a change of view."""
    if now[0] != before[0]:
        return f"{node} {TURNS[now[0]]}"
    changes = [f"{node} suspects {p}" for p in now[1] if p not in before[1]]
    changes += [f"{node} trusts {p} again" for p in before[1] if p not in now[1]]
    return "; ".join(changes) or None


def draw(trace: dict, checks: list[Check], summary: str) -> str:
    """Give the SVG of a failure-detector run."""
    fig = kit.Figure(trace, title="Failure detector: who suspects whom", left=78.0)
    nodes, scale = trace["nodes"], fig.scale
    fig.text(summary)
    views = timeline(trace, ("up", ()), view_after)
    panel = kit.StatePanel(fig.y, itemgetter(0), partial(_suspects, nodes), say, ROLES, 18.0, HEAD)
    fig.panel(panel, views)
    for i, node in enumerate(nodes):  # the peers' names, over the cells the panel fills
        cells = [(CELL_X + CELL * j + 5, panel.y(i) + 12, p) for j, p in enumerate(nodes)]
        fig.add(kit.texts([c for c in cells if c[2] != node], "dm-text dm-small"))
    fig.heading("Timeline: each node's heartbeats, and who suspected it", gap=14)
    pitch = STRIP + ROW * (len(nodes) - 1) + GAP
    blocks = fig.lanes(nodes, pitch)
    lines = kit.Lanes(tuple(nodes), blocks.top - pitch / 2 + STRIP - 2, pitch)  # strips' lines
    fig.add(kit.bands(scale, trace["partitions"], blocks.top, blocks.bottom))
    fig.add(kit.down_spans(scale, blocks, down_intervals(trace), height=pitch - GAP))
    fig.add(kit.lane_lines(scale, lines))
    rows = [
        (scale.x0 - 4, lines.y(node) + ROW * j + 11, f"by {n}")
        for node in nodes
        for j, n in enumerate(_others(nodes, node))
    ]
    fig.add(kit.texts(rows, MUTED, anchor="end"))
    beats = [m for m in trace["messages"] if m.get("kind") == "Heartbeat"]
    lost = [m for m in beats if m["status"] == "dropped"]
    for cls, picked in (("fd-hb", beats), ("fd-drop", lost)):
        sent = times_by_node(picked, time="sent", node="src")
        fig.add(kit.binned_ticks(scale, lines, sent, cls, bin_px=TICK_GAP, dy=-7))
    wrong = false_suspicions(trace)
    fig.add(_suspicions(views, lines, scale, {(e["node"], e["peer"], e["t"]) for e in wrong}))
    if wrong:  # drawn in the suspected peer's lane: ring the first false suspicion there
        peer = wrong[0]["peer"]
        checks = [replace(c, node=peer) if c.name == "False suspicions" else c for c in checks]
    fig.add(kit.violations(scale, lines, checks))
    if (level := trace.get("level") or {}).get("samples"):
        fig.add(_level_plot(level, scale, fig.reserve(PLOT_H + 16) + 12))
    fig.axis(blocks, bottom=fig.y)
    fig.legend(LEGEND)
    return fig.svg(desc=f"{summary} {DESC}", style=STYLE)


def _others(nodes: list[str], node: str) -> list[str]:
    """Give the observers of `node`, in the order of their rows in its lane."""
    return [n for n in nodes if n != node]


def _suspects(nodes: list[str], node: str, view: View, y: float) -> list[str]:
    """Give a filled cell in a node's panel row for each peer it suspects."""
    cells = [(CELL_X + CELL * nodes.index(p), p) for p in view[1]]
    return [
        el("path", class_="fd-on", d=kit.box_d(x, y + 1, CELL - 2, 14), data_peer=p)
        for x, p in cells
    ]


def _suspicions(
    views: dict[str, list[tuple[float, View]]],
    lines: kit.Lanes,
    scale: kit.TimeScale,
    wrong: set[tuple[str, str, float]],
) -> list[str]:
    """Give a bar in the peer's lane, in the observer's row, for each suspicion; `wrong`
    holds (observer, peer, t) of those that hit a live peer."""
    out = []
    for obs, history in views.items():
        opened: dict[str, float] = {}
        for since, (_, suspects) in [*history, (scale.duration, ("end", ()))]:
            for peer, start in [(p, t) for p, t in opened.items() if p not in suspects]:
                del opened[peer]
                false, x0 = (obs, peer, start) in wrong, scale.x(start)
                y = lines.y(peer) + 3 + ROW * _others(lines.nodes, peer).index(obs)
                d = kit.box_d(x0, y, max(scale.x(since) - x0, 1.5), ROW - 2)
                cls = "dm-warn" if false else "dm-accent"
                bar = attrs(class_=cls, d=d, data_t=kit.tnum(start), data_node=peer)
                tip = f"{obs} suspects {peer} from {start:g} to {since:g} ms"
                out.append(f"<path{bar}>{el('title', tip + ' while it was up' * false)}</path>")
            for peer in suspects:
                opened.setdefault(peer, since)
    return out


def _level_plot(level: dict, scale: kit.TimeScale, top: float) -> list[str]:
    """Give the observer's suspicion level of the peer over time, against its limit."""
    limit, phi, observer = float(level["limit"]), level["unit"] == "phi", level["observer"]
    levels = kit.Levels(top, PLOT_H, 1.5 * limit)  # the plot is cut off at 1.5 times the limit
    name = f"{observer} on {level['peer']}: {'phi' if phi else 'silence'}"
    out = [el("text", name, class_="dm-text dm-small", x=8, y=top + 10, data_node=observer)]
    limit_text = f"{'threshold' if phi else 'timeout'} {limit:g}"
    out += kit.level(
        scale, levels, limit, limit_text, "fd-limit", text_cls="dm-text dm-small dm-bad"
    )
    for tooth in kit.rises(level["samples"]):  # one tooth per wait for a heartbeat
        out += kit.series(
            scale, levels, tooth, "fd-level", tolerance=0.4, node=observer, t=tooth[0][0]
        )
    return out
