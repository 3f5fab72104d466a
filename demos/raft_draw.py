"""The Raft demo's SVG: the cluster at the end of the run above a timeline of every server.

Drawn from the trace dict alone. Heartbeats are far too many to draw one by one, so each
lane gets tick marks where its server heard one (one tick per few pixels), while votes and
AppendEntries that carry entries are drawn as arrows.
"""

from __future__ import annotations

from .result import Check
from .svg import attrs, document, el, esc, num

WIDTH = 720.0
X0, X1 = 44.0, 700.0  # the timeline's x range for 0..duration
ROW = 18.0  # a server's row in the end-state table
LANE = 26.0  # a server's lane in the timeline
BOX = 14.0  # a log entry in the end-state table
LOG_X = 124.0
DOT_BIN_PX = 4.0  # applies closer than this share a dot
TICK_BIN_PX = 4.0  # heartbeats heard within this many pixels share one tick
TICK_CHUNKS = 20  # tick paths per lane, so playback can reveal them as time passes
MAX_ARROWS = 200  # beyond this, arrows are left out and the diagram says how many

STYLE = """
.raft-f{fill:var(--demo-grid,#c9ccd1)}
.raft-fl{stroke:var(--demo-grid,#c9ccd1);stroke-width:4}
.raft-c{fill:var(--demo-warn,#9c5d00);stroke:var(--demo-warn,#9c5d00)}
.raft-l{fill:var(--demo-accent,#1a5fb4);stroke:var(--demo-accent,#1a5fb4)}
.raft-d{stroke:var(--demo-down,#d0d3d8);stroke-opacity:.7;stroke-width:22}
g.raft-c,g.raft-l{stroke-width:10}
.raft-v{stroke:var(--demo-ok,#1e7a34);stroke-width:1;fill:none}
.raft-a{stroke:var(--demo-accent,#1a5fb4);stroke-width:1;fill:none}
.raft-hb{stroke:var(--demo-muted,#5f6368);stroke-width:3;stroke-dasharray:1 3;fill:none}
.raft-k{fill:var(--demo-ok,#1e7a34);stroke:var(--demo-ok,#1e7a34);stroke-width:5;stroke-linecap:round}
.raft-e{fill:var(--demo-node,#e8eaed);stroke:var(--demo-fg,#1d1d1f);stroke-width:.75}
.raft-u{fill:none;stroke:var(--demo-fg,#1d1d1f);stroke-width:.75;stroke-dasharray:2 1.5}
.raft-cp{stroke:var(--demo-ok,#1e7a34);stroke-width:2}
.raft-t{font-size:9px;text-anchor:middle}
"""

ROLE_CLASS = {"follower": "raft-f", "candidate": "raft-c", "leader": "raft-l"}


class _Timeline:
    """Maps time to x and servers to lane centres."""

    def __init__(self, nodes: list[str], duration: float, top: float) -> None:
        self.duration = duration
        self.lane = {n: top + LANE * (i + 0.5) for i, n in enumerate(nodes)}
        self.bottom = top + LANE * len(nodes)

    def x(self, t: float) -> float:
        return X0 + (X1 - X0) * min(max(t, 0.0), self.duration) / self.duration


def draw(trace: dict, checks: list[Check], *, title: str, summary: str, noop: str) -> str:
    """Give the SVG for a finished run's trace; `noop` is the command of a leader's no-op."""
    nodes: list[str] = trace["nodes"]
    duration = float(trace["duration"])
    body = [el("text", summary, class_="dm-text dm-small", x=8, y=14)]
    body += _end_state(trace, noop, top=24.0)
    tl = _Timeline(nodes, duration, top=24.0 + ROW * (len(nodes) + 1) + 22)
    body.append(el("text", "Timeline", class_="dm-text", x=8, y=tl.lane[nodes[0]] - LANE / 2 - 4))
    body += _partitions(trace, tl)
    body += _lanes(trace, tl)
    body += _heartbeats(trace, tl)
    body += _arrows(trace, tl)
    body += _commits(trace, tl, noop)
    body += _requests(trace, tl)
    body += _violations(checks, tl)
    body += _axis(tl)
    height = tl.bottom + 58
    body += _legend(tl.bottom + 36)
    desc = (f"{summary}. Top: each server's role, term and log at the end (solid boxes are "
            "committed). Below: one lane per server over time.")
    return document(width=WIDTH, height=height, title=title, desc=desc, body=body, style=STYLE,
                    duration=duration, time_x=(X0, X1), demo="raft")


def _end_state(trace: dict, noop: str, top: float) -> list[str]:
    """Give one row per server: name, role and term, then its log up to the commit point."""
    out = [el("text", "End of run: role, term, log (number = entry's term; solid = "
              "committed; bar = commit point)", class_="dm-text dm-small", x=8, y=top + 10)]
    for row, node in enumerate(trace["nodes"]):
        state = trace["cluster"][node]
        y = top + ROW * (row + 1)
        role = state["role"]
        out.append(el("text", node, class_="dm-text", x=8, y=y + 11, data_node=node))
        badge = "dm-down" if role == "down" else ROLE_CLASS[role]
        out.append(el("rect", class_=badge, x=30, y=y + 2, width=10, height=10, data_node=node))
        out.append(el("text", f"{role} t{state['term']}", class_="dm-text dm-small", x=44,
                      y=y + 11, data_node=node))
        out += _log_row(node, state, noop, y)
    return out


def _log_row(node: str, state: dict, noop: str, y: float) -> list[str]:
    log = state["log"]
    first = max(0, len(log) - int((X1 - LOG_X) // (BOX + 1)))  # a long log shows its tail
    out = []
    if first:
        out.append(el("text", "…", class_="dm-text dm-muted", x=LOG_X - 12, y=y + 11))
    shapes: dict[str, list[str]] = {"raft-e": [], "raft-u": []}
    glyphs: list[tuple[float, str]] = []  # one x per character: the row's terms are one <text>
    for i in range(first, len(log)):
        x = LOG_X + (i - first) * (BOX + 1)
        shapes["raft-e" if i < state["commit_index"] else "raft-u"].append(
            f"M{num(x)} {num(y)}h{num(BOX)}v{num(BOX)}h-{num(BOX)}z")
        digits = str(log[i]["term"])
        glyphs += [(x + BOX / 2 + 5.5 * (k - (len(digits) - 1) / 2), d)
                   for k, d in enumerate(digits)]
    listing = " ".join(f"{i + 1}:{e['command']}" for i, e in enumerate(log)
                       if e["command"] != noop)
    out.append(f'<g data-node="{esc(node)}"><title>{esc(node)}, commands by log index: '
               f'{esc(listing or "none")}</title>')
    out += [el("path", class_=cls, d="".join(d)) for cls, d in shapes.items() if d]
    if glyphs:
        xs = " ".join(_f(gx) for gx, _ in glyphs)
        out.append(f'<text class="dm-text raft-t" x="{xs}" y="{_f(y + 10.5)}">'
                   f'{"".join(d for _, d in glyphs)}</text>')
    out.append("</g>")
    commit = state["commit_index"] - first
    if commit > 0:
        x = LOG_X + commit * (BOX + 1) - 0.5
        out.append(el("line", class_="raft-cp", x1=x, x2=x, y1=y - 1, y2=y + BOX + 1))
    return out


def _partitions(trace: dict, tl: _Timeline) -> list[str]:
    out = []
    top = tl.lane[trace["nodes"][0]] - LANE / 2
    for p in trace.get("partitions", []):
        x0, x1 = tl.x(p["start"]), tl.x(p["end"])
        groups = " | ".join(",".join(g) for g in p["groups"])
        out.append(el("rect", class_="dm-band", x=x0, y=top, width=max(x1 - x0, 1.0),
                      height=tl.bottom - top, data_t=p["start"]))
        out.append(el("text", f"partition {groups}", class_="dm-text dm-small dm-muted",
                      x=x0 + 2, y=tl.bottom + 10, data_t=p["start"]))
    return out


def _segments(trace: dict, node: str) -> list[tuple[float, float, str, int]]:
    """Give (start, end, role or "down", term) for every stretch of one server's run."""
    segments: list[tuple[float, float, str, int]] = []
    start, role, term = 0.0, "", 0
    for e in trace["events"]:
        if e["node"] != node or e["kind"] not in ("role", "crash"):
            continue
        if role:
            segments.append((start, e["t"], role, term))
        start, role = e["t"], ("down" if e["kind"] == "crash" else e["role"])
        term = e.get("term", term)
    if role:
        segments.append((start, float(trace["duration"]), role, term))
    return segments


def _f(x: float) -> str:
    """Give a timeline number with one decimal at most: enough for 720 units, and short."""
    text = f"{x:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _ms(t: float) -> str:
    """Give a time for data-t in whole ms: playback needs no finer steps."""
    return f"{t:.0f}"


def _merge_candidacies(segments: list[tuple[float, float, str, int]]
                       ) -> list[tuple[float, float, str, int]]:
    """Give `segments` with back-to-back candidacies (failed elections) as one stretch."""
    merged: list[tuple[float, float, str, int]] = []
    for seg in segments:
        if merged and seg[2] == "candidate" == merged[-1][2] and seg[0] == merged[-1][1]:
            merged[-1] = (merged[-1][0], seg[1], "candidate", seg[3])
        else:
            merged.append(seg)
    return merged


def _lanes(trace: dict, tl: _Timeline) -> list[str]:
    out = []
    for node in trace["nodes"]:
        y = tl.lane[node]
        out.append(el("text", node, class_="dm-text", x=8, y=y + 4, data_node=node))
        # A follower is the bare lane; other roles and downtime are drawn over it.
        out.append(el("line", class_="raft-fl", x1=X0, x2=X1, y1=y, y2=y, data_node=node))
        shapes: dict[str, list[str]] = {"raft-d": [], "raft-c": [], "raft-l": []}
        terms = []
        for start, end, role, term in _merge_candidacies(_segments(trace, node)):
            if role == "follower":
                continue
            x0 = tl.x(start)
            width = max(tl.x(end) - x0, 0.5)
            # Stroked paths (see STYLE) are shorter than rects: no y, no height.
            shapes["raft-d" if role == "down" else ROLE_CLASS[role]].append(
                f'<path d="M{_f(x0)} {_f(y)}h{_f(width)}" data-t="{_ms(start)}"/>')
            if role == "leader" and width > 22:
                terms.append(el("text", f"t{term}", x=x0 + 2, y=y - 7, data_t=start))
        for cls, items in shapes.items():
            out += _group(cls, items, node)
        out += _group("dm-text dm-small", terms, node)
    return out


def _heartbeats(trace: dict, tl: _Timeline) -> list[str]:
    """Give tick paths: ticks above a lane wherever its server heard heartbeats.

    Heartbeats are binned by a few pixels; a run of bins becomes one dashed stroke whose
    dashes are the ticks, which keeps a 30-second run to a few hundred bytes per lane.
    """
    bins: dict[str, dict[int, float]] = {n: {} for n in trace["nodes"]}
    for m in trace["messages"]:
        if m["status"] == "delivered" and m["label"].startswith("heartbeat"):
            bins[m["dst"]].setdefault(int((tl.x(m["recv"]) - X0) // TICK_BIN_PX), m["recv"])
    out = []
    bins_per_chunk = max(1, int((X1 - X0) / TICK_BIN_PX / TICK_CHUNKS))
    for node in trace["nodes"]:
        y = _f(tl.lane[node] - 7.5)
        runs: list[list[int]] = []  # [first bin, last bin]
        for b in sorted(bins[node]):
            same_chunk = runs and b // bins_per_chunk == runs[-1][0] // bins_per_chunk
            if same_chunk and b == runs[-1][1] + 1:
                runs[-1][1] = b
            else:
                runs.append([b, b])
        chunks: dict[int, list[list[int]]] = {}
        for run in runs:
            chunks.setdefault(run[0] // bins_per_chunk, []).append(run)
        paths = []
        for chunk in chunks.values():
            d = "".join(f"M{_f(X0 + a * TICK_BIN_PX)} {y}h{_f((b - a + 1) * TICK_BIN_PX)}"
                        for a, b in chunk)
            paths.append(f'<path d="{d}" data-t="{_ms(bins[node][chunk[0][0]])}"/>')
        out += _group("raft-hb", paths, node)
    return out


def _arrows(trace: dict, tl: _Timeline) -> list[str]:
    """Give arrows for granted votes and for AppendEntries that carry entries.

    A retransmission of entries a server already received once (its ack was lost) adds
    nothing to the picture, so only the first delivery of each batch is drawn.
    """
    picked, seen = [], set()
    for m in trace["messages"]:
        if m["status"] != "delivered":
            continue
        label = m["label"]
        if label.startswith("append"):
            if (m["dst"], label) in seen:
                continue
            seen.add((m["dst"], label))
        elif not label.startswith("vote yes"):
            continue
        picked.append(m)
    groups: dict[str, list[str]] = {"raft-v": [], "raft-a": []}
    for m in picked[:MAX_ARROWS]:
        y0, y1 = tl.lane[m["src"]], tl.lane[m["dst"]]
        down = y1 > y0
        tip = y1 - 3.0 if down else y1 + 3.0  # stop short of the lane so the head shows
        # The head is part of the path: markers would need ids, which repeat when a page
        # shows several figures. Lanes are close in time, so the arrow is near vertical.
        head = "l-2.5-4m2.5 4l2.5-4" if down else "l-2.5 4m2.5-4l2.5 4"
        groups["raft-v" if m["label"].startswith("vote") else "raft-a"].append(
            f'<path d="M{_f(tl.x(m["sent"]))} {_f(y0)}L{_f(tl.x(m["recv"]))} {_f(tip)}{head}" '
            f'data-t="{_ms(m["sent"])}"/>')
    out = _group("raft-v", groups["raft-v"]) + _group("raft-a", groups["raft-a"])
    if len(picked) > MAX_ARROWS:
        out.append(el("text", f"{len(picked) - MAX_ARROWS} later arrows not drawn",
                      class_="dm-text dm-small dm-muted", x=X1, y=tl.bottom + 10,
                      text_anchor="end"))
    return out


def _commits(trace: dict, tl: _Timeline, noop: str) -> list[str]:
    """Give a dot wherever a server applied client commands; applies a dot apart share one.

    No-ops are left out: every election commits one everywhere, and the leader's bar
    already shows each election.
    """
    dots: dict[str, dict[int, float]] = {n: {} for n in trace["nodes"]}
    for e in trace["events"]:
        if e["kind"] == "commit" and e["command"] != noop:
            dots[e["node"]].setdefault(int((tl.x(e["t"]) - X0) // DOT_BIN_PX), e["t"])
    out = []
    for node, at in dots.items():
        y = _f(tl.lane[node] + 8)
        # A zero-length path with a round cap is a dot, in fewer bytes than a circle.
        out += _group("raft-k", [f'<path d="M{_f(tl.x(t))} {y}h0" data-t="{_ms(t)}"/>'
                                 for t in at.values()], node)
    return out


def _requests(trace: dict, tl: _Timeline) -> list[str]:
    """Give the client commands where a leader appended them; a burst shares one label."""
    labels: list[list] = []  # [node, t, first command, how many more]
    for e in trace["events"]:
        if e["kind"] != "request":
            continue
        same = [lab for lab in labels if lab[0] == e["node"]]
        if same and tl.x(e["t"]) - tl.x(same[-1][1]) < 30:
            same[-1][3] += 1
        else:
            labels.append([e["node"], e["t"], e["command"], 0])
    return _group("dm-text dm-small", [
        el("text", f"{command} +{more}" if more else command, x=tl.x(t) + 2,
           y=tl.lane[node] + 12, data_t=t, data_node=node)
        for node, t, command, more in labels])


def _violations(checks: list[Check], tl: _Timeline) -> list[str]:
    out = []
    for c in checks:
        if c.ok or c.t is None:
            continue
        x = tl.x(c.t)
        if c.node in tl.lane:
            out.append(el("circle", class_="dm-violation", cx=x, cy=tl.lane[c.node], r=7,
                          data_t=c.t, data_node=c.node, data_check=c.name))
        else:
            top = min(tl.lane.values()) - LANE / 2
            out.append(el("line", class_="dm-violation", x1=x, x2=x, y1=top, y2=tl.bottom,
                          data_t=c.t, data_check=c.name))
    return out


def _axis(tl: _Timeline) -> list[str]:
    step = next(s for s in (100, 200, 500, 1000, 2000, 5000, 10000, 20000)
                if tl.duration / s <= 12)
    out = [el("line", class_="dm-lane", x1=X0, x2=X1, y1=tl.bottom, y2=tl.bottom)]
    t = 0.0
    while t <= tl.duration:
        x = tl.x(t)
        out.append(el("line", class_="dm-lane", x1=x, x2=x, y1=tl.bottom, y2=tl.bottom + 3))
        out.append(el("text", f"{t / 1000:g} s", class_="dm-text dm-small dm-muted", x=x,
                      y=tl.bottom + 22, text_anchor="middle"))
        t += step
    return out


def _legend(y: float) -> list[str]:
    items = [("rect", "raft-f", "follower"), ("rect", "raft-c", "candidate"),
             ("rect", "raft-l", "leader"), ("rect", "dm-down", "down"),
             ("line", "raft-v", "vote granted"), ("line", "raft-a", "entries sent"),
             ("tick", "raft-hb", "heartbeat heard"), ("dot", "raft-k", "command applied")]
    out, x = [], 8.0
    for shape, cls, text in items:
        if shape == "rect":
            out.append(el("rect", class_=cls, x=x, y=y - 8, width=12, height=8))
        elif shape == "line":
            out.append(el("path", class_=cls, d=f"M{num(x)} {num(y - 8)}L{num(x + 10)} {num(y)}"
                          "l-1-4.5m1 4.5l-4.5-1"))
        elif shape == "tick":
            out.append(el("path", class_=cls, d=f"M{num(x)} {num(y - 4)}h12"))
        else:
            out.append(el("path", class_=cls, d=f"M{num(x + 5)} {num(y - 4)}h0"))
        out.append(el("text", text, class_="dm-text dm-small", x=x + 16, y=y))
        x += 26 + 5.5 * len(text)
    return out


def _group(cls: str, items: list[str], node: str | None = None) -> list[str]:
    """Give `items` inside one <g> that carries their shared class and server."""
    if not items:
        return []
    return [f"<g{attrs(class_=cls, data_node=node)}>", *items, "</g>"]
