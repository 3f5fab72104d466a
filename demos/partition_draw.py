"""The partition figure: at the cursor, each replica's side and values and each client's op in
flight; below, replica lanes (thick where cut off from a majority) and each client's ops as
bars coloured by outcome, stale reads ringed."""

from __future__ import annotations

from . import kit
from . import linearizability as lin
from .partition_checks import completed_ops, reaches_majority
from .queries import down_intervals, timeline
from .result import Check
from .svg import attrs, el, esc, num

ROLES = {"majority": "pt-maj", "minority": "pt-min", "down": "dm-role-down"}
SIDE = {"majority": "in a majority", "minority": "cut off", "down": "down"}
KEY_X, KEY_W, BAR = 124.0, 84.0, 9.0  # the panel's first value column and its width; a bar
STYLE = (".pt-maj,.pt-ok{fill:var(--demo-ok,#1e7a34)}.pt-fail{fill:var(--demo-bad,#c01c28)}"
         ".pt-min,.pt-info{fill:var(--demo-warn,#9c5d00)}.pt-read{fill-opacity:.45}"
         ".pt-cut{stroke:var(--demo-warn,#9c5d00);stroke-width:4;fill:none}")


def sides(trace: dict) -> dict[str, list[tuple[float, str]]]:
    """Give each replica's role over time: down, or on a side that reaches a majority or not."""
    duration, down = float(trace["duration"]), down_intervals(trace)
    cuts = {0.0, duration} | {t for spans in down.values() for span in spans for t in span}
    cuts |= {t for p in trace["partitions"] for t in (p["start"], p["end"])}
    cuts = sorted(t for t in cuts if 0.0 <= t <= duration)
    out: dict[str, list[tuple[float, str]]] = {n: [] for n in trace["nodes"]}
    for a, b in zip(cuts, cuts[1:], strict=False):
        mid = (a + b) / 2  # the role between two cuts; at a cut the later one holds
        for node, history in out.items():
            role = ("down" if any(s <= mid < e for s, e in down[node]) else
                    "majority" if reaches_majority(trace, node, mid, mid, down) else "minority")
            if not history or history[-1][1] != role:
                history.append((a, role))
    return out


def held(trace: dict, key: str) -> dict[str, list[tuple[float, object]]]:
    """Give the text `key=value` each replica shows over time, from its `adopt` events."""
    return timeline(trace, f"{key}={show(lin.INITIAL)}", lambda text, e: (
        f"{key}={show(e['value'])}" if e["kind"] == "adopt" and e["key"] == key else text))


def show(value: object) -> str:
    """Give a value as the figure shows it: the empty register is \u2205."""
    return "\u2205" if value is None else str(value)


def draw(trace: dict, checks: list[Check], summary: str) -> str:
    """Give the SVG of a partition run."""
    fig = kit.Figure(trace, title=f"Replicated register, {trace['params']['mode']} mode", left=64)
    fig.text(summary)
    homes = {e["process"]: e["node"] for e in trace["history"]}
    names = {c: f"{c} \u2192 {homes.get(c, '?')}" for c in trace["clients"]}
    roles = sides(trace)
    _panel(fig, trace, roles, names)
    fig.add([kit.heading("Timeline", fig.y + 4)])
    fig.reserve(14)
    replicas, scale = fig.lanes(trace["nodes"], pitch=20.0), fig.scale
    lanes = fig.lanes(trace["clients"], pitch=34.0)
    fig.add(kit.bands(scale, trace["partitions"], replicas.top, lanes.bottom,
                      label_y=replicas.top - 3))
    fig.add(kit.lane_lines(scale, replicas))
    fig.add(kit.down_spans(scale, replicas, down_intervals(trace)))
    fig.add(kit.group("pt-cut", [  # a thick lane while its replica is cut off
        el("path", d=f"M{num(scale.x(since))} {num(replicas.y(node))}H{num(scale.x(until))}",
           data_t=kit.tnum(since)) for node, history in roles.items()
        for (since, role), (until, _) in zip(history, [*history[1:], (scale.duration, "")],
                                             strict=True) if role == "minority"]))
    for c, name in names.items():  # not lane_lines: a client is no node a fault can name
        fig.add([el("text", name, class_="dm-text", x=8, y=lanes.y(c) + 4), el(
            "line", class_="dm-lane", x1=scale.x0, x2=scale.x1, y1=lanes.y(c), y2=lanes.y(c))])
    fig.add(kit.group("dm-text dm-small", _bars(trace, scale, lanes)))
    fig.add(kit.violations(scale, replicas, checks))
    fig.add(kit.axis(scale, replicas.top, lanes.bottom))
    fig.reserve(34)
    legend, height = kit.legend([
        ("box", "pt-maj", "in a majority"), ("box", "pt-min", "cut off from it"),
        ("box", "dm-down", "down"), ("box", "pt-ok", "op ok"), ("box", "pt-fail", "failed"),
        ("box", "pt-info", "unknown (timed out)"), ("box", "pt-ok pt-read", "pale: read"),
        ("box", "dm-violation", "stale read")], x=8, y=fig.y + 10, width=fig.width - 16)
    fig.add(legend)
    fig.reserve(height)
    return fig.svg(desc=f"{summary} Top: each replica's side and values and each client's "
                   "pending operation at the cursor. Below: replicas and clients over time.",
                   style=STYLE)


def _panel(fig: kit.Figure, trace: dict, roles: dict, names: dict[str, str]) -> None:
    """Add the state at the cursor: a row per replica, then a row per client."""
    nodes, clients = trace["nodes"], list(names)
    panel = kit.StatePanel(fig.y, role=lambda role: role, roles=ROLES,
                           say=lambda node, _, role: f"{node} is {SIDE[role]}",
                           draw=lambda node, role, y: [el("text", SIDE[role], x=44, y=y + 11,
                                                          class_="dm-text dm-small")],
                           heading="At the cursor: each replica's side and values, each "
                           "client's operation waiting for an answer")
    fig.add(panel.render(roles))
    texts = []
    for k, key in enumerate(trace["final_state"][nodes[0]]):
        for i, (node, history) in enumerate(held(trace, key).items()):
            texts += _row(KEY_X + KEY_W * k, panel.y(i) + 11, kit.stretches(
                history, lambda text: [el("text", text)],
                say=lambda _, text, node=node: f"{node} holds {text}"), data_node=node)
    for j, c in enumerate(clients):
        y = panel.y(len(nodes) + j) + 11
        fig.add([el("text", names[c], class_="dm-text", x=8, y=y)])
        asked = [(op, f"write {op['key']}:={show(op['value'])}" if op["f"] == "write" else
                  f"read {op['key']}") for op in completed_ops(trace) if op["process"] == c]
        texts += _row(KEY_X, y, [part for op, text in asked for part in kit.stretch(
            op["call"], None if op["open"] else op["ret"], [el("text", text)],
            say=f"{c} asks: {text}")], data_process=c)
    fig.add(kit.group("dm-text dm-small", texts))
    fig.reserve(panel.height(nodes + clients) + 10)


def _row(x: float, y: float, items: list[str], **owner: str) -> list[str]:
    """Give a panel row's stretches placed at (x, y) together; `owner` names its node or client."""
    return [f'<g transform="translate({num(x)} {num(y)})"{attrs(**owner)}>', *items, "</g>"]


def _box(x: float, y: float, width: float, height: float) -> str:
    return f"M{num(x)} {num(y)}h{num(width)}v{num(height)}h{num(-width)}z"


def _bars(trace: dict, scale: kit.TimeScale, lanes: kit.Lanes) -> list[str]:
    """Give a bar per answered op, shown from its answer; a stale read is ringed."""
    stale = {read.index: newer for read, newer in lin.stale_reads(trace["history"])}
    label_end: dict[tuple[str, int], float] = {}
    out = []
    for op in (op for op in completed_ops(trace) if not op["open"]):
        c, f, kind, newer = op["process"], op["f"], op["type"], stale.get(op["index"])
        x0, y = scale.x(op["call"]), lanes.y(c)
        width = max(scale.x(op["ret"]) - x0, 2.5)
        shown = "?" if f == "read" and kind != "ok" else show(op["value"])
        label = f"{op['key']}:={shown}" if f == "write" else f"{op['key']}\u2192{shown}"
        parts = [el("path", class_=f"pt-{kind}" + (" pt-read" if f == "read" else ""),
                    d=_box(x0, y - BAR / 2, width, BAR))]
        if newer is not None:
            parts.append(f'<path class="dm-violation" d="{_box(x0 - 2, y - 6.5, width + 4, 13)}'
                         f'" data-check="Linearizable"><title>stale: {esc(newer.process)} '
                         f"wrote {esc(newer.value)} before this read began</title></path>")
        line = next((k for k in (0, 1) if label_end.get((c, k), -1.0) < x0), None)
        if line is not None:  # above the bar, or below it, wherever the last label ended
            label_end[(c, line)] = x0 + 6.2 * len(label) + 4
            parts.append(el("text", label, x=x0, y=y + (14.5 if line else -7.5),
                            class_="dm-bad" if newer else None))
        out += [f'<g data-t="{kit.tnum(op["ret"])}">', *parts, "</g>"]
    return out
