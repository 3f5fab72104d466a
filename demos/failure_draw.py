"""The failure-detector figure: whom each node suspects at the cursor; one lane per node with
its heartbeats (ticks: far too many for arrows), its outages and a row per observer showing
when that observer suspected it; one detector's level over time."""

from __future__ import annotations

from dataclasses import replace

from . import kit
from .failure import View, false_suspicions, view_after
from .queries import down_intervals, timeline
from .result import Check
from .svg import attrs, el, num

ROW, HEAD, GAP = 10.0, 16.0, 8.0  # an observer's row in a lane; the heartbeat strip above them
CELL, CELL_X, PLOT_H = 24.0, 48.0, 80.0  # a peer's cell in the panel, where cells start
SLICES, TICK_GAP = 10, 3.0  # heartbeat ticks: paths per lane, and the least px between two
ROLES = {"up": "dm-ok", "down": "dm-role-down"}
TURNS = {"down": "crashes, forgetting its suspicions", "up": "restarts, trusting every peer"}
LEGEND = (("dash", "dm-msg", "heartbeat sent"), ("dash", "fd-drop", "a copy was lost"),
          ("box", "dm-accent", "suspected, rightly"), ("box", "dm-warn", "suspected while up"),
          ("box", "dm-ok", "node up"), ("box", "dm-down", "node down"))
STYLE = """
.fd-drop{stroke:var(--demo-bad,#c01c28);stroke-width:1.5}
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
    panel = kit.StatePanel(fig.y, role=lambda view: view[0], say=say, roles=ROLES,
                           heading="At the cursor: whom each node suspects (filled)",
                           draw=lambda node, view, y: [
                               el("rect", class_="fd-on", x=CELL_X + CELL * nodes.index(p),
                                  y=y + 1, width=CELL - 2, height=14, data_peer=p)
                               for p in view[1]])
    fig.add(panel.render(views) + [  # the peers' names, over the cells the panel fills
        el("text", p, class_="dm-text dm-small", x=CELL_X + CELL * j + 5, y=panel.y(i) + 12)
        for i in range(len(nodes)) for j, p in enumerate(nodes) if i != j])
    fig.reserve(panel.height(nodes) + 14)
    fig.add([kit.heading("Timeline: each node's heartbeats, and who suspected it", fig.y + 4)])
    fig.reserve(14)
    pitch = HEAD + ROW * (len(nodes) - 1) + GAP
    blocks = fig.lanes(nodes, pitch)
    lines = kit.Lanes(tuple(nodes), blocks.top - pitch / 2 + HEAD - 2, pitch)  # strips' lines
    fig.add(kit.bands(scale, trace["partitions"], blocks.top, blocks.bottom))
    fig.add(kit.down_spans(scale, blocks, down_intervals(trace), height=pitch - GAP))
    fig.add(kit.lane_lines(scale, lines))
    for node in nodes:
        fig.add([el("text", f"by {obs}", class_="dm-text dm-small dm-muted", x=scale.x0 - 4,
                    y=lines.y(node) + ROW * j + 11, text_anchor="end")
                 for j, obs in enumerate(n for n in nodes if n != node)])
        fig.add(_heartbeats(trace, node, lines.y(node) - HEAD + 2, scale))
    wrong = false_suspicions(trace)
    fig.add(_suspicions(views, lines, scale, {(e["node"], e["peer"], e["t"]) for e in wrong}))
    # A false suspicion is drawn in the suspected peer's lane: ring the first one there.
    fig.add(kit.violations(scale, lines, [replace(c, node=wrong[0]["peer"]) if wrong and
                                          c.name == "False suspicions" else c for c in checks]))
    if (level := trace.get("level") or {}).get("samples"):
        fig.add(_level_plot(level, scale, fig.reserve(PLOT_H + 16) + 12))
    fig.add(kit.axis(scale, blocks.top, fig.y))
    fig.reserve(34)
    legend, height = kit.legend(LEGEND, x=8, y=fig.y + 10, width=fig.width - 16)
    fig.add(legend)
    fig.reserve(height)
    return fig.svg(desc=f"{summary} Top: whom each node suspects at the cursor; below, each "
                   "node's heartbeats, outages, and who suspected it when.", style=STYLE)


def _suspicions(views: dict[str, list[tuple[float, View]]], lines: kit.Lanes,
                scale: kit.TimeScale, wrong: set[tuple[str, str, float]]) -> list[str]:
    """Give a bar in the peer's lane, in the observer's row, for each suspicion; `wrong`
    holds (observer, peer, t) of those that hit a live peer."""
    out = []
    for obs, history in views.items():
        opened: dict[str, float] = {}
        for since, (_, suspects) in [*history, (scale.duration, ("end", ()))]:
            for peer, start in [(p, t) for p, t in opened.items() if p not in suspects]:
                del opened[peer]
                false, x0 = (obs, peer, start) in wrong, scale.x(start)
                row = [n for n in lines.nodes if n != peer].index(obs)
                box = attrs(class_="dm-warn" if false else "dm-accent", x=x0, height=ROW - 2,
                            y=lines.y(peer) + 3 + ROW * row, width=max(scale.x(since) - x0, 1.5),
                            data_t=kit.tnum(start), data_node=peer)
                tip = f"{obs} suspects {peer} from {start:g} to {since:g} ms"
                out.append(f"<rect{box}>{el('title', tip + ' while it was up' * false)}</rect>")
            for peer in suspects:
                opened.setdefault(peer, since)
    return out


def _heartbeats(trace: dict, node: str, top: float, scale: kit.TimeScale) -> list[str]:
    """Give a tick per heartbeat `node` sent (red where the network dropped a copy)."""
    sent: dict[float, bool] = {}
    for m in trace["messages"]:
        if m["src"] == node and m.get("kind") == "Heartbeat":
            sent[m["sent"]] = sent.get(m["sent"], False) or m["status"] == "dropped"
    out = []
    for k in range(SLICES):
        times = [t for t in sorted(sent) if min(int(t * SLICES // scale.duration), SLICES - 1) == k]
        for cls, y, h, picked in (("dm-msg", 3, 8, times),
                                  ("fd-drop", 1, 12, [t for t in times if sent[t]])):
            # Snapped to a grid of TICK_GAP px: fast beats over a long run stay a few hundred.
            xs = sorted({round(scale.x(t) / TICK_GAP) * TICK_GAP for t in picked})
            if xs:
                out.append(el("path", class_=cls, data_t=kit.tnum(times[0]), data_node=node,
                              d="".join(f"M{num(x)} {num(top + y)}v{h}" for x in xs)))
    return out


def _level_plot(level: dict, scale: kit.TimeScale, top: float) -> list[str]:
    """Give the observer's suspicion level of the peer over time, against its limit."""
    limit, phi = float(level["limit"]), level["unit"] == "phi"
    at_limit = top + PLOT_H / 3  # the plot is cut off at 1.5 times the limit
    out = [el("text", f"{level['observer']} on {level['peer']}: {'phi' if phi else 'silence'}",
              class_="dm-text dm-small", x=8, y=top + 10, data_node=level["observer"]),
           el("line", class_="fd-limit", x1=scale.x0, x2=scale.x1, y1=at_limit, y2=at_limit),
           el("text", f"{'threshold' if phi else 'timeout'} {limit:g}", x=scale.x1,
              y=at_limit - 3, class_="dm-text dm-small dm-bad", text_anchor="end")]
    teeth: list[list[tuple[float, float]]] = []  # one tooth per wait for a heartbeat
    for t, v in level["samples"]:
        if not teeth or v < teeth[-1][-1][1]:
            teeth.append([])
        teeth[-1].append((t, v))
    for tooth in teeth:
        pts = [(scale.x(t), top + PLOT_H * (1 - min(v / limit / 1.5, 1))) for t, v in tooth]
        kept = pts[:1]  # a point on the line from the last kept one to the next adds nothing
        for (bx, by), (cx, cy) in zip(pts[1:-1], pts[2:], strict=True):
            ax, ay = kept[-1]
            if cx != ax and abs(ay + (cy - ay) * (bx - ax) / (cx - ax) - by) > 0.4:
                kept.append((bx, by))
        out.append(el("path", class_="fd-level", data_t=kit.tnum(tooth[0][0]),
                      data_node=level["observer"], d="M" + "L".join(
                          f"{num(px)} {num(py)}" for px, py in kept + pts[1:][-1:])))
    return out
