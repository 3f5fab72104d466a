"""The partition demo's diagram: replica lanes, one lane of op bars per client, final state."""

from __future__ import annotations

from . import linearizability as lin
from .result import Check
from .svg import document, el, esc, num

WIDTH = 720.0
X0, X1 = 70.0, 596.0  # the time axis: 0..duration
STATE_X = 606.0  # the final-state column
TOP = 44.0
REPLICA_LANE = 20.0
CLIENT_LANE = 36.0
BAR = 9.0

STYLE = """
.pt-ok{fill:var(--demo-ok,#1e7a34)}
.pt-fail{fill:var(--demo-bad,#c01c28)}
.pt-info{fill:var(--demo-warn,#9c5d00)}
.pt-read{fill-opacity:.45}
.pt-side{font-size:9px}
"""


def draw(trace: dict, checks: list[Check], summary: str) -> str:
    """Give the SVG for a partition run's trace."""
    duration = float(trace["duration"])
    params = trace["params"]
    nodes = trace["nodes"]
    clients = trace.get("clients") or sorted({e["process"] for e in trace["history"]})

    def x(t: float) -> float:
        return X0 + (X1 - X0) * min(max(t, 0.0), duration) / duration

    body: list[str] = []
    mode = "CP: majority quorums" if params["mode"] == "cp" else "AP: local answers, LWW"
    body.append(el("text", f"{mode} \u00b7 faults: {params['faults'] or 'none'}",
                   x=8, y=16, class_="dm-text"))
    replicas_top = TOP
    clients_top = replicas_top + REPLICA_LANE * len(nodes) + 8
    bottom = clients_top + CLIENT_LANE * len(clients)
    body += _axis(duration, x, bottom)
    body += _partitions(trace, x, replicas_top, bottom)
    failing = [c for c in checks if not c.ok]
    body += _replicas(trace, x, replicas_top, failing)
    body += _clients(trace, clients, x, clients_top, _stale(trace), failing)
    body += _footer(checks, bottom + 14)
    height = bottom + 70
    desc = (f"{len(nodes)} replicas and {len(clients)} clients over {duration:g} ms in "
            f"{params['mode']} mode. " + " ".join(
                f"{c.name}: {'ok' if c.ok else 'fails'}." for c in checks))
    return document(width=WIDTH, height=height, title=f"Partitioned register ({mode})",
                    desc=desc, body=body, style=STYLE, duration=duration, time_x=(X0, X1),
                    demo="partition")


def _axis(duration: float, x, bottom: float) -> list[str]:
    step = next(s for s in (250, 500, 1000, 2000, 5000, 10000, 20000) if duration / s <= 8)
    out = []
    t = 0.0
    while t <= duration:
        out.append(el("line", x1=num(x(t)), x2=num(x(t)), y1=TOP - 10, y2=num(bottom),
                      class_="dm-grid"))
        out.append(el("text", f"{t / 1000:g} s", x=num(x(t)), y=TOP - 13,
                      class_="dm-text dm-small dm-muted", text_anchor="middle"))
        t += step
    return out


def _partitions(trace: dict, x, top: float, bottom: float) -> list[str]:
    out = []
    for p in trace["partitions"]:
        x0, x1 = x(p["start"]), x(p["end"])
        out.append(el("rect", x=num(x0), y=num(top - 6), width=num(max(x1 - x0, 1.0)),
                      height=num(bottom - top + 6), class_="dm-band", data_t=p["start"]))
        groups = " | ".join(",".join(g) for g in p["groups"])
        out.append(el("text", f"partition {groups}", x=num(x0 + 3), y=num(bottom + 11),
                      class_="dm-text dm-small", data_t=p["start"]))
    return out


def _side_labels(trace: dict, node: str, x, y: float) -> list[str]:
    out = []
    half = len(trace["nodes"]) // 2
    for p in trace["partitions"]:
        side = next((g for g in p["groups"] if node in g), [node])
        word = "majority side" if len(side) > half else "minority side"
        out.append(el("text", word, x=num(x(p["start"]) + 3), y=num(y - 3),
                      class_="dm-text pt-side dm-muted", data_t=p["start"], data_node=node))
    return out


def _replicas(trace: dict, x, top: float, failing: list[Check]) -> list[str]:
    out = []
    final = trace["final_state"]
    values = [tuple(sorted(final[n].items())) for n in trace["nodes"]]
    common = max(values, key=values.count) if values else ()
    out.append(el("text", "final state", x=STATE_X, y=top - 13, class_="dm-text dm-small"))
    downs: dict[str, list[float]] = {}
    for e in trace["events"]:
        if e["kind"] in ("crash", "restart"):
            downs.setdefault(e["node"], []).append(e["t"])
    for i, node in enumerate(trace["nodes"]):
        y = top + REPLICA_LANE * i + REPLICA_LANE / 2
        out.append(f'<g data-node="{esc(node)}">')
        out.append(el("text", f"replica {node}", x=8, y=num(y + 4), class_="dm-text"))
        out.append(el("line", x1=X0, x2=X1, y1=num(y), y2=num(y), class_="dm-lane"))
        times = downs.get(node, [])
        for j in range(0, len(times), 2):
            t0 = times[j]
            t1 = times[j + 1] if j + 1 < len(times) else float(trace["duration"])
            out.append(el("rect", x=num(x(t0)), y=num(y - 6), width=num(max(x(t1) - x(t0), 1)),
                          height=12, class_="dm-down", data_t=t0))
        out += _side_labels(trace, node, x, y)
        state = " ".join(f"{k}={lin.show(v) if v is None else v}" for k, v in final[node].items())
        same = tuple(sorted(final[node].items())) == common
        out.append(el("text", state.replace("nothing", "\u2205"), x=STATE_X, y=num(y + 4),
                      class_="dm-text" if same else "dm-text dm-bad",
                      data_t=trace["duration"]))
        for c in failing:
            if c.node == node and c.t == trace["duration"]:
                out.append(el("rect", x=STATE_X - 3, y=num(y - 8), width=WIDTH - STATE_X,
                              height=16, class_="dm-violation", data_check=c.name,
                              data_t=c.t))
        out.append("</g>")
    return out


def _stale(trace: dict) -> dict[int, lin.Op]:
    """Give stale reads by the index of their invocation in the history."""
    try:
        return {read.index: newer for read, newer in lin.stale_reads(trace["history"])}
    except lin.HistoryError:
        return {}


def _clients(trace: dict, clients: list[str], x, top: float, stale: dict[int, lin.Op],
             failing: list[Check]) -> list[str]:
    out = []
    lanes = {c: top + CLIENT_LANE * i + CLIENT_LANE / 2 for i, c in enumerate(clients)}
    homes: dict[str, str] = {}
    for e in trace["history"]:
        homes.setdefault(e["process"], e.get("node", ""))
    for c, y in lanes.items():
        out.append(el("text", f"{c} \u2192 {homes.get(c, '?')}", x=8, y=num(y + 4),
                      class_="dm-text"))
        out.append(el("line", x1=X0, x2=X1, y1=num(y), y2=num(y), class_="dm-lane"))
    pending: dict[str, tuple[int, dict]] = {}
    label_end: dict[tuple[str, int], float] = {}
    for index, entry in enumerate(trace["history"]):
        if entry["type"] == "invoke":
            pending[entry["process"]] = (index, entry)
            continue
        start, invoke = pending.pop(entry["process"], (None, None))
        if invoke is None or entry["process"] not in lanes:
            continue
        out += _bar(invoke, entry, x, lanes[entry["process"]], stale.get(start), failing,
                    label_end)
    return out


def _bar(invoke: dict, done: dict, x, y: float, newer: lin.Op | None,
         failing: list[Check], label_end: dict) -> list[str]:
    x0 = x(invoke["t"])
    width = max(x(done["t"]) - x0, 2.5)
    kind, f, key = done["type"], invoke["f"], invoke["key"]
    value = done.get("value") if f == "read" else invoke.get("value")
    shown = "\u2205" if value is None else str(value)
    label = f"{key}:={shown}" if f == "write" else (f"{key}\u2192{shown}" if kind == "ok"
                                                    else f"{key}\u2192?")
    cls = f"pt-{kind}" + (" pt-read" if f == "read" else "")
    tip = f"{invoke['process']} {f} {label} {kind} ({invoke['t']:g}-{done['t']:g} ms)"
    if newer is not None:
        tip += f": stale, {newer.value} was written by {newer.process} before"
    out = [f'<rect x="{num(x0)}" y="{num(y - BAR / 2)}" width="{num(width)}" '
           f'height="{num(BAR)}" class="{cls}" data-t="{num(invoke["t"])}">'
           f"<title>{esc(tip)}</title></rect>"]
    pointed = {c.name for c in failing if c.t == invoke["t"] and c.node == invoke.get("node")}
    if newer is not None:
        pointed.add("Linearizable")
    for name in sorted(pointed):
        out.append(el("rect", x=num(x0 - 2), y=num(y - BAR / 2 - 2), width=num(width + 4),
                      height=num(BAR + 4), class_="dm-violation", data_check=name,
                      data_t=invoke["t"]))
    # labels go above or below the bar, wherever the previous label has ended
    for row, ty in ((0, y - BAR / 2 - 3), (1, y + BAR / 2 + 10)):
        if label_end.get((invoke["process"], row), -1.0) < x0:
            label_end[(invoke["process"], row)] = x0 + 6.2 * len(label) + 3
            out.append(el("text", label, x=num(x0), y=num(ty),
                          class_="dm-text dm-small" + (" dm-bad" if newer else ""),
                          data_t=invoke["t"]))
            break
    return out


def _footer(checks: list[Check], y: float) -> list[str]:
    out = []
    legend = [("pt-ok", "ok"), ("pt-fail", "failed (not applied)"),
              ("pt-info", "timed out (unknown)"), ("pt-ok pt-read", "pale: read")]
    lx = 8.0
    for cls, text in legend:
        out.append(el("rect", x=num(lx), y=num(y + 4), width=10, height=BAR, class_=cls))
        out.append(el("text", text, x=num(lx + 14), y=num(y + 12), class_="dm-text dm-small"))
        lx += 24 + 5.6 * len(text)
    out.append(el("rect", x=num(lx), y=num(y + 2), width=14, height=num(BAR + 4),
                  class_="dm-violation"))
    out.append(el("text", "stale read", x=num(lx + 18), y=num(y + 12),
                  class_="dm-text dm-small"))
    marks = " \u00b7 ".join(f"{'\u2713' if c.ok else '\u2717'} {c.name}" for c in checks)
    out.append(el("text", marks, x=8, y=num(y + 30), class_="dm-text"))
    failing = next((c for c in checks if not c.ok), None)
    if failing is not None:
        detail = failing.detail if len(failing.detail) <= 118 else failing.detail[:115] + "..."
        out.append(el("text", detail, x=8, y=num(y + 46), class_="dm-text dm-small dm-bad"))
    return out
