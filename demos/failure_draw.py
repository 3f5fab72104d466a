"""The failure-detector figure: one lane per node, who suspects it, and one detector's level.

Heartbeats are far too many for arrows, so each lane shows them as ticks grouped into
time slices (one path per slice keeps playback working and the file small).
"""

from __future__ import annotations

from .queries import down_intervals
from .result import Check
from .svg import attrs, document, el, num

WIDTH = 720.0
X0, X1 = 78.0, 708.0
TOP = 44.0
ROW = 9.0          # height of one observer's suspicion row
HEAD = 16.0        # the heartbeat strip at the top of a lane
GAP = 8.0
PLOT_H = 80.0
MIN_TICK_GAP = 3.0  # px
SLICES = 10        # heartbeat ticks are grouped into this many paths per lane

STYLE = """
.fd-hb{stroke:var(--demo-msg,#5f6368);stroke-width:1}
.fd-drop{stroke:var(--demo-bad,#c01c28);stroke-width:1.5}
.fd-sus{fill:var(--demo-accent,#1a5fb4)}
.fd-false{fill:var(--demo-warn,#9c5d00)}
.fd-level{stroke:var(--demo-accent,#1a5fb4);stroke-width:1.2;fill:none}
.fd-limit{stroke:var(--demo-bad,#c01c28);stroke-width:1;stroke-dasharray:4 3}
.fd-row{font-size:9px}
.fd-lane{fill:transparent}
"""


def _tick_step(duration: float) -> float:
    for step in (100, 200, 500, 1000, 2000, 5000, 10000, 20000):
        if duration / step <= 10:
            return float(step)
    return 50000.0


class Frame:
    """Maps time to x for a run of `duration` ms."""

    def __init__(self, duration: float) -> None:
        self.duration = duration

    def x(self, t: float) -> float:
        return X0 + (X1 - X0) * min(max(t, 0.0), self.duration) / self.duration


def suspicion_bars(trace: dict) -> list[tuple[str, str, float, float]]:
    """Give (observer, peer, start, end) for every suspicion; an observer's crash ends its own."""
    end = float(trace["duration"])
    open_: dict[tuple[str, str], float] = {}
    bars = []
    for e in trace["events"]:
        if e["kind"] == "suspect":
            open_[(e["node"], e["peer"])] = e["t"]
        elif e["kind"] == "trust" and (e["node"], e["peer"]) in open_:
            bars.append((e["node"], e["peer"], open_.pop((e["node"], e["peer"])), e["t"]))
        elif e["kind"] == "crash":
            for pair in [p for p in open_ if p[0] == e["node"]]:
                bars.append((*pair, open_.pop(pair), e["t"]))
    bars.extend((o, p, s, end) for (o, p), s in open_.items())
    return sorted(bars, key=lambda b: (b[2], b[0], b[1]))


def draw(trace: dict, found: list[Check], summary: str) -> str:
    """Give the SVG for a failure-detector trace."""
    from .failure import false_suspicions

    down = down_intervals(trace)
    wrong = {(e["node"], e["peer"], e["t"]) for e in false_suspicions(trace)}
    names = trace["nodes"]
    frame = Frame(float(trace["duration"]))
    lane_h = HEAD + ROW * (len(names) - 1) + GAP
    lanes_bottom = TOP + lane_h * len(names)
    level = trace.get("level") or {}
    plot_top = lanes_bottom + 14
    height = plot_top + PLOT_H + 46 if level.get("samples") else lanes_bottom + 34
    failing = {c.name for c in found if not c.ok}

    body = [_header(trace), *_axis(frame, height - 24)]
    body += _partitions(trace, frame, lanes_bottom)
    for i, name in enumerate(names):
        y = TOP + i * lane_h
        body += _lane(trace, name, y, lane_h, frame, down[name])
    body += _bars(trace, frame, lane_h, wrong, "False suspicions" in failing)
    if "Completeness" in failing:
        body += _missed(trace, frame, lane_h, down)
    if level.get("samples"):
        body += _level_plot(level, frame, plot_top)
    body += _legend(height - 8)
    p = trace["params"]
    detector = (f"phi accrual, threshold {p['threshold']:g}" if p["detector"] == "phi"
                else f"timeout {p['timeout']:g} ms")
    desc = (f"{len(names)} nodes heartbeat every {p['interval']:g} ms; {detector}. Each lane "
            "shows a node's heartbeats, when it was down, and which observers suspected it.")
    return document(width=WIDTH, height=height, title="Failure detector: who suspects whom",
                    desc=desc, body=body, style=STYLE, duration=frame.duration,
                    time_x=(X0, X1), demo="failure")


def _header(trace: dict) -> str:
    p = trace["params"]
    detector = (f"phi accrual (threshold {p['threshold']:g}, window {p['window']})"
                if p["detector"] == "phi" else f"fixed timeout ({p['timeout']:g} ms)")
    return el("text", f"Detector: {detector}; heartbeat every {p['interval']:g} ms, "
              f"jitter {p['jitter']:g} ms, loss {p['drop']:g}", class_="dm-text", x=X0, y=16)


def _axis(frame: Frame, bottom: float) -> list[str]:
    out = []
    step = _tick_step(frame.duration)
    t = 0.0
    while t <= frame.duration + 1e-9:
        x = num(frame.x(t))
        out.append(el("line", class_="dm-grid", x1=x, x2=x, y1=TOP - 8, y2=num(bottom)))
        out.append(el("text", f"{t / 1000:g} s", class_="dm-text dm-small dm-muted", x=x,
                      y=TOP - 11, text_anchor="middle"))
        t += step
    return out


def _partitions(trace: dict, frame: Frame, bottom: float) -> list[str]:
    out = []
    for part in trace.get("partitions", []):
        x0, x1 = frame.x(part["start"]), frame.x(part["end"])
        groups = " | ".join(",".join(g) for g in part["groups"])
        out.append(el("rect", class_="dm-band", x=num(x0), y=TOP - 4, width=num(x1 - x0),
                      height=num(bottom - TOP + 4), data_t=num(part["start"])))
        out.append(el("text", f"partition {groups}", class_="dm-text dm-small dm-warn",
                      x=num(x0 + 2), y=num(bottom - 2), data_t=num(part["start"])))
    return out


def _lane(trace: dict, name: str, y: float, lane_h: float, frame: Frame,
          down: list[tuple[float, float]]) -> list[str]:
    out = [el("rect", class_="fd-lane", x=X0, y=num(y), width=num(X1 - X0),
              height=num(lane_h - GAP), data_node=name),
           el("line", class_="dm-lane", x1=X0, x2=X1, y1=num(y + HEAD - 2),
              y2=num(y + HEAD - 2)),
           el("text", name, class_="dm-text", x=8, y=num(y + 11), font_weight="bold",
              data_node=name)]
    for start, stop in down:
        x0, x1 = frame.x(start), frame.x(stop)
        out.append(el("rect", class_="dm-down", x=num(x0), y=num(y), width=num(x1 - x0),
                      height=num(lane_h - GAP), data_t=num(start), data_node=name))
        out.append(el("text", "crash", class_="dm-text dm-small dm-bad", x=num(x0 + 2),
                      y=num(y + 10), data_t=num(start), data_node=name))
    others = [n for n in trace["nodes"] if n != name]
    for j, obs in enumerate(others):
        out.append(el("text", f"by {obs}", class_="dm-text fd-row dm-muted", x=num(X0 - 4),
                      y=num(y + HEAD + ROW * j + 7), text_anchor="end"))
    out += _heartbeats(trace, name, y, frame)
    return out


def _heartbeats(trace: dict, name: str, y: float, frame: Frame) -> list[str]:
    sent: dict[float, bool] = {}  # send time -> some copy was dropped by the network
    for m in trace["messages"]:
        if m["src"] == name and m.get("kind") == "Heartbeat":
            sent[m["sent"]] = sent.get(m["sent"], False) or m["status"] == "dropped"
    width = frame.duration / SLICES
    slices: dict[int, list[float]] = {}
    for t in sorted(sent):
        slices.setdefault(min(int(t // width), SLICES - 1), []).append(t)
    out = []
    for _, times in sorted(slices.items()):
        ticks = "".join(f"M{num(x)} {num(y + 3)}v8" for x in _sparse(frame, times))
        out.append(el("path", class_="fd-hb", d=ticks, data_t=num(times[0]), data_node=name))
        lost = [t for t in times if sent[t]]
        drops = "".join(f"M{num(x)} {num(y + 1)}v12" for x in _sparse(frame, lost))
        if drops:
            out.append(el("path", class_="fd-drop", d=drops, data_t=num(times[0]),
                          data_node=name))
    return out


def _sparse(frame: Frame, times: list[float]) -> list[float]:
    """Give the x of each time, skipping ticks closer than MIN_TICK_GAP to the last one kept.

    Fast heartbeats over a long run would otherwise draw thousands of overlapping ticks.
    """
    xs: list[float] = []
    for t in times:
        x = frame.x(t)
        if not xs or x - xs[-1] >= MIN_TICK_GAP:
            xs.append(x)
    return xs


def _bars(trace: dict, frame: Frame, lane_h: float, wrong: set[tuple[str, str, float]],
          mark_false: bool) -> list[str]:
    names = trace["nodes"]
    out = []
    for obs, peer, start, stop in suspicion_bars(trace):
        row = [n for n in names if n != peer].index(obs)
        y = TOP + names.index(peer) * lane_h + HEAD + ROW * row + 1
        x0 = frame.x(start)
        width = max(frame.x(stop) - x0, 1.5)
        false = (obs, peer, start) in wrong
        violation = false and mark_false
        tip = (f"{obs} suspects {peer} from {start:g} to {stop:g} ms"
               + (" while it was up" if false else ""))
        box = attrs(class_="fd-false" if false else "fd-sus", x=num(x0), y=num(y),
                    width=num(width), height=num(ROW - 2), data_t=num(start), data_node=peer)
        out.append(f"<rect{box}>{el('title', tip)}</rect>")
        if violation:
            out.append(el("rect", class_="dm-violation", x=num(x0 - 1), y=num(y - 1),
                          width=num(width + 2), height=num(ROW), data_t=num(start),
                          data_node=peer, data_check="False suspicions"))
    return out


def _missed(trace: dict, frame: Frame, lane_h: float,
            down: dict[str, list[tuple[float, float]]]) -> list[str]:
    """Mark each row where a live observer still trusts a peer that stayed down."""
    names, end = trace["nodes"], frame.duration
    open_at_end = {(o, p) for o, p, _, stop in suspicion_bars(trace) if stop >= end}
    out = []
    for peer in names:
        if not down[peer] or down[peer][-1][1] < end:
            continue
        for row, obs in enumerate(n for n in names if n != peer):
            if (down[obs] and down[obs][-1][1] >= end) or (obs, peer) in open_at_end:
                continue
            y = TOP + names.index(peer) * lane_h + HEAD + ROW * row + 1
            out.append(el("rect", class_="dm-violation", x=num(X1 - 8),
                          y=num(y), width=8, height=num(ROW - 2), data_t=num(end),
                          data_node=peer, data_check="Completeness"))
    return out


def _level_plot(level: dict, frame: Frame, top: float) -> list[str]:
    limit, unit = float(level["limit"]), level["unit"]
    ceiling = limit * 1.5
    bottom = top + PLOT_H

    def y(v: float) -> float:
        return bottom - PLOT_H * min(v, ceiling) / ceiling

    what = "phi" if unit == "phi" else "silence (ms)"
    out = [el("line", class_="dm-lane", x1=X0, x2=X1, y1=num(bottom), y2=num(bottom)),
           el("text", f"{level['observer']} on {level['peer']}:", class_="dm-text dm-small",
              x=8, y=num(top + 10), data_node=level["observer"]),
           el("text", what, class_="dm-text dm-small dm-muted", x=8, y=num(top + 22)),
           el("line", class_="fd-limit", x1=X0, x2=X1, y1=num(y(limit)), y2=num(y(limit))),
           el("text", f"{'threshold' if unit == 'phi' else 'timeout'} {limit:g}",
              class_="dm-text dm-small dm-bad", x=X1, y=num(y(limit) - 3), text_anchor="end"),
           el("text", "0", class_="dm-text dm-small dm-muted", x=num(X0 - 4), y=num(bottom),
              text_anchor="end")]
    for tooth in _teeth(level["samples"]):
        pts = _simplify([(frame.x(t), y(v)) for t, v in tooth])
        d = "M" + "L".join(f"{num(px)} {num(py)}" for px, py in pts)
        out.append(el("path", class_="fd-level", d=d, data_t=num(tooth[0][0]),
                      data_node=level["observer"]))
    return out


def _teeth(samples: list[tuple[float, float]]) -> list[list[tuple[float, float]]]:
    """Split the level curve where it falls: each piece is one wait for a heartbeat."""
    teeth: list[list[tuple[float, float]]] = []
    for t, v in samples:
        if not teeth or v < teeth[-1][-1][1]:
            teeth.append([])
        teeth[-1].append([t, v])
    return teeth


def _simplify(pts: list[tuple[float, float]], tolerance: float = 0.4) -> list[tuple[float, float]]:
    """Give `pts` without the points that lie (within `tolerance` px) on their neighbours' line."""
    if len(pts) <= 2:
        return pts
    kept = [pts[0]]
    for i in range(1, len(pts) - 1):
        (ax, ay), (bx, by), (cx, cy) = kept[-1], pts[i], pts[i + 1]
        if cx == ax:
            continue
        on_line = ay + (cy - ay) * (bx - ax) / (cx - ax)
        if abs(on_line - by) > tolerance:
            kept.append(pts[i])
    kept.append(pts[-1])
    return kept


def _legend(y: float) -> list[str]:
    out = [el("path", class_="fd-hb", d=f"M{num(X0)} {num(y - 8)}v8"),
           el("path", class_="fd-drop", d=f"M{num(X0 + 110)} {num(y - 9)}v10")]
    for x, cls in ((X0 + 220, "fd-sus"), (X0 + 350, "fd-false"), (X0 + 490, "dm-down")):
        out.append(el("rect", class_=cls, x=num(x), y=num(y - 7), width=14, height=7))
    for x, label in ((X0 + 6, "heartbeat sent"), (X0 + 116, "a copy was lost"),
                     (X0 + 238, "suspected, rightly"), (X0 + 368, "suspected while up"),
                     (X0 + 508, "node down")):
        out.append(el("text", label, class_="dm-text dm-small", x=num(x), y=num(y)))
    return out
