"""The partition figure: each replica's side and values and each client's op at the cursor, over
replica lanes (thick while cut off) and each client's ops as bars, stale reads ringed."""

from __future__ import annotations

from . import kit
from . import linearizability as lin
from .partition_checks import completed_ops, holdings, sides
from .queries import down_intervals
from .result import Check
from .sim import cooperating
from .svg import el, esc, num

ROLES = {"majority": "pt-maj", "minority": "pt-min", "down": "dm-role-down"}
SIDE = {"majority": "in a majority", "minority": "cut off", "down": "down"}
KEY_X, KEY_W, BAR = 124.0, 84.0, 9.0  # the panel's first value column and its width; a bar
HEADING = "At the cursor: each replica's side and values, each client's op awaiting an answer"
DESC = " Top: the state at the cursor. Below: replicas and clients' operations over time."
LEGEND = [
    ("box", "pt-maj", "in a majority"),
    ("box", "pt-min", "cut off from it"),
    ("box", "dm-down", "down"),
    ("box", "pt-ok", "op ok"),
    ("box", "pt-fail", "failed"),
    ("box", "pt-info", "unknown (timed out)"),
    ("box", "pt-ok pt-read", "pale: read"),
    ("box", "dm-violation", "stale read"),
]
STYLE = (
    ".pt-maj,.pt-ok{fill:var(--demo-ok,#1e7a34)}.pt-fail{fill:var(--demo-bad,#c01c28)}"
    ".pt-min,.pt-info{fill:var(--demo-warn,#9c5d00)}.pt-read{fill-opacity:.45}"
    ".pt-cut{stroke:var(--demo-warn,#9c5d00);stroke-width:4;fill:none}"
)


def draw(trace: dict, checks: list[Check], summary: str) -> str:
    """Give the SVG of a partition run."""
    fig = kit.Figure(trace, title=f"Replicated register, {trace['params']['mode']} mode", left=64)
    fig.text(summary)
    homes = {e["process"]: e["node"] for e in trace["history"]}
    names = {c: f"{c} \u2192 {homes.get(c, '?')}" for c in trace["clients"]}
    roles = sides(trace)
    _panel(fig, trace, roles, names)
    fig.text("Timeline", cls="dm-text", gap=4)
    scale, replicas = fig.scale, fig.lanes(trace["nodes"], pitch=20.0)
    lanes = fig.lanes(trace["clients"], pitch=34.0)
    top, bottom = replicas.top, lanes.bottom
    fig.add(kit.bands(scale, trace["partitions"], top, bottom, label_y=top - 3))
    fig.add(kit.lane_lines(scale, replicas))
    fig.add(kit.down_spans(scale, replicas, down_intervals(trace)))
    fig.add(kit.group("pt-cut", _cut_off(roles, scale, replicas)))
    fig.add(kit.lane_lines(scale, lanes, names=names, nodes=False))  # clients: no data-node
    fig.add(kit.group("dm-text dm-small", _bars(trace, scale, lanes)))
    fig.add(kit.violations(scale, replicas, checks))
    fig.axis(lanes, top=top)
    fig.legend(LEGEND)
    return fig.svg(desc=summary + DESC, style=STYLE)


def _panel(fig: kit.Figure, trace: dict, roles: dict, names: dict[str, str]) -> None:
    """Add the state at the cursor: a row per replica, then a row per client."""
    nodes, clients, ops = trace["nodes"], list(names), completed_ops(trace)
    panel = kit.StatePanel(fig.y, role=str, draw=_side, say=_say, roles=ROLES, heading=HEADING)
    fig.add(panel.render(roles))
    rows = []
    for k, key in enumerate(trace["final_state"][nodes[0]]):
        for i, (node, history) in enumerate(holdings(trace, key).items()):
            texts = [(since, f"{key}={_show(value)}") for since, value in history]
            held = kit.stretches(
                texts, lambda text: [el("text", text)], say=lambda _, t, n=node: f"{n} holds {t}"
            )
            rows += kit.translate(KEY_X + KEY_W * k, panel.y(i) + 11, held, data_node=node)
    for j, c in enumerate(clients):
        y = panel.y(len(nodes) + j) + 11
        fig.add([el("text", names[c], class_="dm-text", x=8, y=y)])
        asked = [part for op in cooperating(ops) if op["process"] == c for part in _asked(op)]
        rows += kit.translate(KEY_X, y, asked, data_process=c)
    fig.add(kit.group("dm-text dm-small", rows))
    fig.reserve(panel.height(nodes + clients) + 10)


def _side(node: str, role: str, y: float) -> list[str]:
    return [el("text", SIDE[role], x=44, y=y + 11, class_="dm-text dm-small")]


def _say(node: str, before: str | None, role: str) -> str:
    return f"{node} is {SIDE[role]}"


def _show(value: object) -> str:
    return "\u2205" if value is None else str(value)  # the empty register


def _asked(op: dict) -> list[str]:
    key = op["key"]
    text = f"write {key}:={_show(op['value'])}" if op["f"] == "write" else f"read {key}"
    until = None if op["open"] else op["ret"]
    return kit.stretch(op["call"], until, [el("text", text)], say=f"{op['process']} asks: {text}")


def _cut_off(roles: dict, scale: kit.TimeScale, lanes: kit.Lanes) -> list[str]:
    """Give a thick stroke along a replica's lane while it is cut off from a majority."""
    out = []
    for node, history in roles.items():
        ends = [since for since, _ in history[1:]] + [scale.duration]
        for (since, role), until in zip(history, ends, strict=True):
            if role == "minority":
                d = f"M{num(scale.x(since))} {num(lanes.y(node))}H{num(scale.x(until))}"
                out.append(el("path", d=d, data_t=kit.tnum(since)))
    return out


def _bars(trace: dict, scale: kit.TimeScale, lanes: kit.Lanes) -> list[str]:
    """Give a bar per answered op, shown from its answer; a stale read is ringed."""
    stale = {read.index: newer for read, newer in lin.stale_reads(trace["history"])}
    label_end, out = {}, []  # label_end: where the last label above (0) or below (1) ended
    for op in cooperating(op for op in completed_ops(trace) if not op["open"]):
        c, f, newer = op["process"], op["f"], stale.get(op["index"])
        x0, y = scale.x(op["call"]), lanes.y(c)
        width = max(scale.x(op["ret"]) - x0, 2.5)
        cls = f"pt-{op['type']}" + (" pt-read" if f == "read" else "")
        parts = [el("path", class_=cls, d=kit.box_d(x0, y - BAR / 2, width, BAR))]
        if newer is not None:
            why = esc(f"stale: {newer.process} wrote {newer.value} before this read began")
            ring = kit.box_d(x0 - 2, y - 6.5, width + 4, 13)
            parts.append(f'<path class="dm-violation" d="{ring}" data-check="Linearizable">')
            parts.append(f"<title>{why}</title></path>")
        shown = "?" if f == "read" and op["type"] != "ok" else _show(op["value"])
        label = f"{op['key']}:={shown}" if f == "write" else f"{op['key']}\u2192{shown}"
        line = next((k for k in (0, 1) if label_end.get((c, k), -1.0) < x0), None)
        if line is not None:
            label_end[(c, line)] = x0 + 6.2 * len(label) + 4
            cls = "dm-bad" if newer else None
            # A ringed bar's label keeps clear of the ring's stroke, above or below.
            clear = 3.0 if newer is not None else 0.0
            dy = 14.5 + clear if line else -7.5 - clear
            parts.append(el("text", label, x=x0, y=y + dy, class_=cls))
        out += [f'<g data-t="{kit.tnum(op["ret"])}">', *parts, "</g>"]
    return out
