"""The delivery figure: three lanes (producer, broker, consumer), every message as an arrow,
and a strip that tells each message's fate: lost, once, or duplicated.

Message labels read "<what> <msg> #<attempt>" (see delivery.py); the figure parses the
attempt from them to tell first sends from retries and redeliveries.
"""

from __future__ import annotations

import re

from .queries import down_intervals
from .result import Check
from .svg import attrs, document, el, num

WIDTH = 720.0
X0, X1 = 92.0, 708.0
LANE_Y = {"n1": 62.0, "n2": 132.0, "n3": 202.0}
STRIP_Y = 270.0
HEIGHT = 330.0
LATENCY_GUESS = 20.0  # ms: where a dropped message's stub ends

STYLE = """
.dv-retry{stroke:var(--demo-warn,#9c5d00);stroke-width:1;stroke-dasharray:5 2;fill:none}
.dv-ack{stroke:var(--demo-muted,#5f6368);stroke-width:.7;stroke-dasharray:1 2;fill:none}
.dv-x{stroke:var(--demo-bad,#c01c28);stroke-width:1.5}
.dv-lost{fill:var(--demo-bad,#c01c28)}
.dv-once{fill:var(--demo-ok,#1e7a34)}
.dv-dup{fill:var(--demo-warn,#9c5d00)}
.dv-cell{fill:var(--demo-bg,#fff);font-size:10px}
.dv-skip{fill:none;stroke:var(--demo-ok,#1e7a34);stroke-width:1.2}
"""

_ATTEMPT = re.compile(r"#(\d+)$")

MODE_TEXT = {
    "at-most-once": "at-most-once: one send, no retries; the consumer acks before it works",
    "at-least-once": "at-least-once: resend until acked; the consumer acks after it works",
    "idempotent": "idempotent: at-least-once, and the consumer skips ids it already applied",
}


def _tick_step(duration: float) -> float:
    for step in (100, 200, 500, 1000, 2000, 5000, 10000, 20000):
        if duration / step <= 10:
            return float(step)
    return 50000.0


def draw(trace: dict, found: list[Check], summary: str) -> str:
    """Give the SVG for a delivery trace."""
    duration = float(trace["duration"])

    def x(t: float) -> float:
        return X0 + (X1 - X0) * min(max(t, 0.0), duration) / duration

    failing = {c.name: c for c in found if not c.ok}
    mode = trace["params"]["mode"]
    body = [el("text", MODE_TEXT.get(mode, mode), class_="dm-text", x=8, y=16)]
    body += _axis(duration, x)
    body += _lanes(trace, x)
    body += _arrows(trace, x)
    body += _effects(trace, x)
    body += _strip(trace, failing)
    body += _legend()
    counts = trace.get("effects", {})
    desc = (f"{mode}: {len(counts)} messages from producer n1 through broker n2 to consumer "
            "n3. Arrows are messages (dashed: retries and redeliveries, red cross: lost); "
            "the bottom strip says how often each message took effect.")
    return document(width=WIDTH, height=HEIGHT, title="Delivery: producer, broker, consumer",
                    desc=desc, body=body, style=STYLE, duration=duration, time_x=(X0, X1),
                    demo="delivery")


def _axis(duration: float, x) -> list[str]:
    out = []
    step = _tick_step(duration)
    t = 0.0
    while t <= duration + 1e-9:
        px = num(x(t))
        out.append(el("line", class_="dm-grid", x1=px, x2=px, y1=34, y2=num(STRIP_Y - 16)))
        out.append(el("text", f"{t / 1000:g} s", class_="dm-text dm-small dm-muted", x=px,
                      y=30, text_anchor="middle"))
        t += step
    return out


def _downtimes(trace: dict) -> list[tuple[str, float, float]]:
    """Give (node, start, end) of every outage, the ones that end first first."""
    down = down_intervals(trace)
    outages = [(node, start, stop) for node, spans in down.items() for start, stop in spans]
    return sorted(outages, key=lambda o: (o[2], o[1], o[0]))


def _lanes(trace: dict, x) -> list[str]:
    roles = trace.get("roles", {})
    out = []
    for part in trace.get("partitions", []):
        out.append(el("rect", class_="dm-band", x=num(x(part["start"])), y=40,
                      width=num(x(part["end"]) - x(part["start"])), height=num(STRIP_Y - 60),
                      data_t=num(part["start"])))
    for name, y in LANE_Y.items():
        out.append(el("line", class_="dm-lane", x1=X0, x2=X1, y1=num(y), y2=num(y),
                      data_node=name))
        out.append(el("text", name, class_="dm-text", x=8, y=num(y - 2), font_weight="bold",
                      data_node=name))
        out.append(el("text", roles.get(name, ""), class_="dm-text dm-small dm-muted", x=8,
                      y=num(y + 11), data_node=name))
    for name, start, stop in _downtimes(trace):
        y = LANE_Y[name]
        out.append(el("rect", class_="dm-down", x=num(x(start)), y=num(y - 12),
                      width=num(x(stop) - x(start)), height=24, data_t=num(start),
                      data_node=name))
        out.append(el("text", "down", class_="dm-text dm-small dm-bad", x=num(x(start) + 2),
                      y=num(y - 14), data_t=num(start), data_node=name))
    return out


def _arrows(trace: dict, x) -> list[str]:
    out = []
    for m in trace["messages"]:
        y0, y1 = LANE_Y[m["src"]], LANE_Y[m["dst"]]
        x0 = x(m["sent"])
        kind = m.get("kind", "")
        found = _ATTEMPT.search(m["label"])
        attempt = int(found.group(1)) if found else 1
        is_ack = kind in ("Ack", "PublishAck")
        cls = "dv-ack" if is_ack else ("dv-retry" if attempt > 1 else "dm-msg")
        if m["status"] == "delivered":
            x1, y_end = x(m["recv"]), y1
        elif m.get("reason") == "random loss":
            x1, y_end = x(m["sent"] + LATENCY_GUESS / 2), (y0 + y1) / 2
        else:  # reached a node that was down, or a partition
            x1, y_end = x(m["sent"] + LATENCY_GUESS), y1
        head = -4 if y1 > y0 else 4
        d = f"M{num(x0)} {num(y0)}L{num(x1)} {num(y_end)}"
        if m["status"] == "delivered":
            d += f"m-2.5 {head}l2.5 {-head}l2.5 {head}"
        out.append(el("path", class_=cls, d=d, data_t=num(m["sent"])))
        if m["status"] != "delivered":
            out.append(el("path", class_="dv-x",
                          d=f"M{num(x1 - 3)} {num(y_end - 3)}l6 6m0 -6l-6 6",
                          data_t=num(m["sent"])))
    return out


def _effects(trace: dict, x) -> list[str]:
    """Mark each applied effect (and each skipped repeat) on the consumer lane."""
    y = LANE_Y["n3"]
    out = []
    row_end = [-99.0, -99.0, -99.0]  # where the last label of each row ends, in px
    for e in trace["events"]:
        if e["kind"] == "produce":
            out.append(el("text", e["msg"], class_="dm-text dm-small", x=num(x(e["t"])),
                          y=num(LANE_Y["n1"] - 6), text_anchor="middle", data_t=num(e["t"]),
                          data_node="n1"))
        elif e["kind"] == "process":
            cls = "dv-once" if e.get("count", 1) == 1 else "dv-dup"
            out.append(f"<circle{attrs(class_=cls, cx=num(x(e['t'])), cy=num(y), r=3.5,
                                         data_t=num(e['t']), data_node='n3')}>"
                       f"{el('title', _process_tip(e))}</circle>")
            px = x(e["t"])
            # Effects close in time would print their labels on top of each other.
            row = next((i for i, end in enumerate(row_end) if px - end >= 16), 0)
            row_end[row] = px
            out.append(el("text", e["msg"], class_="dm-text dm-small", x=num(px),
                          y=num(y + 16 + 10 * row), text_anchor="middle", data_t=num(e["t"])))
        elif e["kind"] == "dedup":
            out.append(f"<circle{attrs(class_='dv-skip', cx=num(x(e['t'])), cy=num(y), r=3.5,
                                         data_t=num(e['t']), data_node='n3')}>"
                       f"{el('title', e['msg'] + ' repeated: skipped')}</circle>")
    return out


def _process_tip(e: dict) -> str:
    count = e.get("count", 1)
    return f"{e['msg']} applied" + ("" if count == 1 else f" again (time {count})")


def _strip(trace: dict, failing: dict[str, Check]) -> list[str]:
    counts = trace.get("effects", {})
    out = [el("text", "effect", class_="dm-text dm-small", x=8, y=num(STRIP_Y + 12))]
    if not counts:
        return out
    width = min(44.0, (X1 - X0) / len(counts))
    last_process: dict[str, float] = {}
    for e in trace["events"]:
        if e["kind"] == "process":
            last_process[e["msg"]] = e["t"]
    for i, (msg, n) in enumerate(counts.items()):
        cx = X0 + i * width
        if n == 0:
            cls, tip, check = "dv-lost", f"{msg}: lost", "No loss"
        elif n == 1:
            cls, tip, check = "dv-once", f"{msg}: took effect once", ""
        else:
            cls, tip, check = "dv-dup", f"{msg}: took effect {n} times", "No duplicate effects"
        flagged = check in failing
        t = num(last_process.get(msg, float(trace["duration"])))
        box = attrs(class_=cls, x=num(cx + 1), y=num(STRIP_Y), width=num(width - 2),
                    height=16, data_t=t)
        out.append(f"<rect{box}>{el('title', tip)}</rect>")
        if flagged:
            out.append(el("rect", class_="dm-violation", x=num(cx + 1), y=num(STRIP_Y),
                          width=num(width - 2), height=16, data_t=t, data_check=check))
        if width >= 30:
            label = msg if n == 1 else (f"{msg} ×{n}" if n else f"{msg} ✕")
            out.append(el("text", label, class_="dm-text dv-cell", x=num(cx + width / 2),
                          y=num(STRIP_Y + 12), text_anchor="middle"))
    return out


def _legend() -> list[str]:
    y = HEIGHT - 12
    out = [el("path", class_="dm-msg", d=f"M{num(X0)} {num(y - 4)}h18"),
           el("text", "first send", class_="dm-text dm-small", x=num(X0 + 22), y=num(y)),
           el("path", class_="dv-retry", d=f"M{num(X0 + 90)} {num(y - 4)}h18"),
           el("text", "retry / redelivery", class_="dm-text dm-small", x=num(X0 + 112),
              y=num(y)),
           el("path", class_="dv-ack", d=f"M{num(X0 + 215)} {num(y - 4)}h18"),
           el("text", "ack", class_="dm-text dm-small", x=num(X0 + 237), y=num(y)),
           el("path", class_="dv-x", d=f"M{num(X0 + 270)} {num(y - 7)}l6 6m0 -6l-6 6"),
           el("text", "lost", class_="dm-text dm-small", x=num(X0 + 282), y=num(y))]
    for dx, cls, label in ((320, "dv-once", "once"), (370, "dv-dup", "duplicated"),
                           (450, "dv-lost", "never")):
        out.append(el("rect", class_=cls, x=num(X0 + dx), y=num(y - 8), width=10, height=8))
        out.append(el("text", label, class_="dm-text dm-small", x=num(X0 + dx + 14), y=num(y)))
    out.append(el("circle", class_="dv-skip", cx=num(X0 + 510), cy=num(y - 4), r=3.5))
    out.append(el("text", "repeat skipped", class_="dm-text dm-small", x=num(X0 + 518),
                  y=num(y)))
    return out
