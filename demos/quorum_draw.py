"""The quorum figure: each node's copies (value and stamp) and hints, and each client's op, at
the cursor; below, the nodes' lanes with a tick where a copy changed (its value above when
there is room) and a ring where a hint was taken, and each client's ops as bars."""

from __future__ import annotations

from . import kit
from .partition_checks import completed_ops
from .partition_draw import _asked, _bars, _show  # a client's ops: drawn as partition's
from .queries import down_intervals, liveness
from .quorum_checks import copies, hints
from .result import Check
from .sim import cooperating
from .svg import el, num

ROLES = {"up": "q-up", "down": "dm-role-down"}
KEY_X, KEY_W, CHAR = 48.0, 104.0, 5.6  # the panel's first key column, its width; a letter
HEADING = "At the cursor: each node's copies (value @ stamp, ms) and hints; each client's op"
DESC = " Top: the state at the cursor. Below: nodes and clients' operations over time."
LEGEND = [
    ("line", "q-tick", "copy stored"),
    ("dot", "q-hint", "hint taken"),
    ("dot", "q-back", "hint handed back"),
    ("box", "dm-down", "down"),
    ("box", "pt-ok", "op ok"),
    ("box", "pt-fail", "failed"),
    ("box", "pt-info", "unknown"),
    ("box", "pt-ok pt-read", "pale: read"),
    ("box", "dm-violation", "stale read"),
]
STYLE = (
    ".q-up,.pt-ok{fill:var(--demo-ok,#1e7a34)}.pt-fail{fill:var(--demo-bad,#c01c28)}"
    ".pt-info{fill:var(--demo-warn,#9c5d00)}.pt-read{fill-opacity:.45}"
    ".q-tick{stroke:var(--demo-accent,#1a5fb4);stroke-width:1.5;fill:none}"
    ".q-hint{fill:var(--demo-bg,#fff);stroke:var(--demo-warn,#9c5d00);stroke-width:1.5}"
    ".q-back{fill:var(--demo-warn,#9c5d00)}"
    ".q-val{fill:var(--demo-accent,#1a5fb4);stroke:none;font-size:9px}"
)


def draw(trace: dict, checks: list[Check], summary: str) -> str:
    """Give the SVG of a quorum run."""
    p = trace["params"]
    title = f"Quorum store: N={p['replicas']}, R={p['r']}, W={p['w']}"
    fig = kit.Figure(trace, title=title, left=64)
    fig.text(summary)
    homes = {e["process"]: e["node"] for e in trace["history"]}
    names = {c: f"{c} \u2192 {homes.get(c, '?')}" for c in trace["clients"]}
    _panel(fig, trace, names)
    fig.text("Timeline", cls="dm-text", gap=4)
    scale, nodes = fig.scale, fig.lanes(trace["nodes"], pitch=22.0)
    lanes = fig.lanes(trace["clients"], pitch=34.0)
    fig.add(kit.bands(scale, trace["partitions"], nodes.top, lanes.bottom, label_y=nodes.top - 3))
    fig.add(kit.lane_lines(scale, nodes))
    fig.add(kit.down_spans(scale, nodes, down_intervals(trace)))
    fig.add(_copies(trace, scale, nodes))
    for kind, cls in (("hint", "q-hint"), ("handoff", "q-back")):
        marks = [e for e in trace["events"] if e["kind"] == kind]
        fig.add(kit.dots(scale, nodes, marks, cls, r=3.0, say=_said))
    fig.add(kit.lane_lines(scale, lanes, names=names, nodes=False))  # clients: no data-node
    fig.add(kit.group("dm-text dm-small", _bars(trace, scale, lanes)))
    fig.add(kit.violations(scale, nodes, checks))
    fig.axis(lanes, top=nodes.top)
    fig.legend(LEGEND)
    return fig.svg(desc=summary + DESC, style=STYLE)


def _panel(fig: kit.Figure, trace: dict, names: dict[str, str]) -> None:
    """Add the state at the cursor: a row per node, then a row per client."""
    nodes, rows = trace["nodes"], []
    panel = kit.StatePanel(
        fig.y, role=str, draw=lambda *_: [], say=kit.say_role, roles=ROLES, heading=HEADING
    )
    fig.add(panel.render(liveness(trace)))
    keys = list(trace["ring"])
    for k, key in enumerate(keys):
        for node, history in copies(trace, key).items():
            held = kit.stretches(
                history,
                lambda vs, key=key: [el("text", _copy(key, vs))],
                say=lambda _, vs, n=node, key=key: f"{n} holds {_copy(key, vs)}",
            )
            rows += kit.translate(
                KEY_X + KEY_W * k, panel.y(nodes.index(node)) + 11, held, data_node=node
            )
    x = KEY_X + KEY_W * len(keys)
    for node, history in hints(trace).items():
        held = kit.stretches(
            [(t, h or None) for t, h in history],
            lambda h: [el("text", _hints(h))],
            say=lambda _, h, n=node: f"{n} holds {_hints(h)}",
        )
        rows += kit.translate(x, panel.y(nodes.index(node)) + 11, held, data_node=node)
    ops = completed_ops(trace)
    for j, c in enumerate(names):
        y = panel.y(len(nodes) + j) + 11
        fig.add([el("text", names[c], class_="dm-text", x=8, y=y)])
        rows += kit.translate(
            KEY_X, y, [s for op in ops if op["process"] == c for s in _asked(op)], data_process=c
        )
    fig.add(kit.group("dm-text dm-small", rows))
    fig.reserve(panel.height(nodes + list(names)) + 10)


def _said(e: dict) -> str:
    what = f"{e['key']}={_show(e['value'])}"
    if e["kind"] == "hint":
        return f"{e['node']} takes {what} for {e['to']}, as a hint"
    return f"{e['node']} hands {what} back to {e['to']}"


def _copy(key: str, held: tuple) -> str:
    value, stamp = held
    return f"{key}={_show(value)}" + (f" @{stamp:g}" if value is not None else "")


def _hints(held: tuple) -> str:
    shown = ", ".join(f"{key}={_show(value)} for {to}" for to, key, value in held[:2])
    return "hints: " + shown + (f" +{len(held) - 2}" if len(held) > 2 else "")


def _copies(trace: dict, scale: kit.TimeScale, lanes: kit.Lanes) -> list[str]:
    """Give a tick where a node stored a newer copy, its value above when there is room;
    one group per node."""
    marks: dict[str, list[str]] = {node: [] for node in lanes.nodes}
    label_end: dict[str, float] = {}
    for e in cooperating(e for e in trace["events"] if e["kind"] == "store"):
        x, y, t = scale.x(e["t"]), lanes.y(e["node"]), kit.tnum(e["t"])
        marks[e["node"]].append(el("path", d=f"M{num(x)} {num(y - 5)}v10", data_t=t))
        label = f"{e['key']}={_show(e['value'])}" if len(trace["ring"]) > 1 else _show(e["value"])
        if label_end.get(e["node"], -1.0) < x:
            label_end[e["node"]] = x + CHAR * 0.9 * len(label) + 3
            marks[e["node"]].append(el("text", label, class_="q-val", x=x + 1, y=y - 6, data_t=t))
    return [part for node, items in marks.items() for part in kit.group("q-tick", items, node)]
