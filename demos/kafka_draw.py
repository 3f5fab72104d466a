"""The kafka figure: each node at the cursor (partitions, positions, commits, generation), a
timeline of records produced, fetched, processed and committed, and each partition's log."""

from __future__ import annotations

from functools import partial

from . import kafka, kit
from .kafka import BROKER, PRODUCER
from .queries import down_intervals, liveness, timeline
from .result import Check
from .svg import attrs, el

PITCH, ROW = 30.0, 16.0  # lane pitch; a partition's row in the log section
ROLES = {"broker": "dm-role-leader", "producer": "dm-role-candidate", "down": "dm-role-down"}
DRAWN = {"Produce": "kf-p", "Records": "dm-msg", "Assign": "kf-a", "Commit": "kf-c"}
DRAWN |= {"CommitAck": "kf-no"}  # only a refused commit's: see _style
LEGEND = (
    *(("arrow", c, t) for c, t in (("kf-p", "record produced"), ("dm-msg", "records fetched"))),
    *(("arrow", c, t) for c, t in (("kf-c", "offset commit"), ("kf-a", "assignment"))),
    *(("dot", c, t) for c, t in (("dm-ok", "processed"), ("dm-warn", "processed again"))),
    *(("box", c, t) for c, t in (("dm-bad", "lost"), ("kf-cell", "unread"))),
    *(("arrow", "kf-no", "commit refused"), ("line", "kf-mark", "committed offset")),
)
STYLE = """
.kf-p{stroke:var(--demo-accent,#1a5fb4);stroke-width:1;fill:none}
.kf-c{stroke:var(--demo-ok,#1e7a34);stroke-width:1.2;stroke-dasharray:3 2;fill:none}
.kf-a,.kf-gen{stroke:var(--demo-warn,#9c5d00);stroke-width:1.2;fill:none}
.kf-n{font-size:9px;text-anchor:middle}
.kf-no{stroke:var(--demo-bad,#c01c28);stroke-width:1.2;fill:none}
.kf-mark{stroke:var(--demo-fg,#1d1d1f);stroke-width:2}.kf-cell{fill:var(--demo-node,#e8eaed)}
"""


def row_text(node: str, state: tuple) -> str:
    """Give what a panel row says of a node's state."""
    up, gen, offsets = state
    if up == "down" or node == PRODUCER:
        return "down" if up == "down" else "producer"
    if node == BROKER:
        committed = " ".join(f"p{p}:{o}" for p, o, _ in offsets)
        return f"broker and coordinator · gen {gen} · committed {committed}"
    held = "  ".join(f"p{p} {at}/{c}" for p, at, c in offsets)
    return f"gen {gen} · {held or 'no partitions'}"


def say(node: str, before: tuple, now: tuple) -> str | None:
    """Give the sentence the player reads when a rebalance reaches a node: the coordinator's
    new generation, or which partitions a consumer takes, gives up or keeps."""
    if before[0] != now[0] or before[1] == now[1]:
        return None  # a crash is the role mark's to say; a new offset says nothing
    if node == BROKER:
        return f"{node} starts generation {now[1]}: a rebalance"
    old, new = [p[0] for p in before[2]], [p[0] for p in now[2]]
    names = lambda ps: " and ".join(f"p{p}" for p in ps)  # noqa: E731
    gained, lost = [p for p in new if p not in old], [p for p in old if p not in new]
    moves = [f"{verb} {names(ps)}" for verb, ps in (("takes", gained), ("gives up", lost)) if ps]
    what = " and ".join(moves) or (f"keeps {names(new)}" if new else "holds no partition")
    return f"{node} {what} in generation {now[1]}"


def draw(trace: dict, checks: list[Check], summary: str) -> str:
    """Give the SVG of a kafka run."""
    fig = kit.Figure(trace, title="Kafka: a partitioned log and a consumer group")
    nodes, scale = trace["nodes"], fig.scale
    fig.text(summary)
    last = f"{nodes[2]}–{nodes[-1]} consumers" if len(nodes) > 3 else "n3 consumer"
    fig.text(f"n1 broker and group coordinator · n2 producer · {last}", cls="dm-text")
    turn = lambda n, _, up: f"{n} {'crashes' if up == 'down' else 'is up'}"  # noqa: E731
    heading = "At the cursor (consumers: partition position/committed)"
    panel = kit.StatePanel(fig.y, str, lambda *_: [], turn, ROLES, heading=heading)
    history = timeline(trace, ("up", 0, ()), kafka.offsets_step)
    fig.add(panel.render(liveness(trace, trace["roles"])))
    for i, (node, h) in enumerate(history.items()):
        text = partial(_row_text, node, panel.y(i) + 11)
        rows = kit.stretches(h, text, node=node, say=partial(say, node))
        fig.add(kit.group("dm-text dm-small", rows))  # its texts take the class from here
    fig.reserve(panel.height(nodes) + 4)
    lanes = fig.lanes(nodes, PITCH)
    fig.add(kit.bands(scale, trace["partitions"], lanes.top, lanes.bottom, label_y=lanes.top + 9))
    fig.add(kit.down_spans(scale, lanes, down_intervals(trace), height=20))
    fig.add(kit.lane_lines(scale, lanes))
    fig.add(kit.messages(scale, lanes, trace["messages"], _style, typical=10.0))
    fig.add(_marks(trace, scale, lanes))
    fig.add(kit.violations(scale, lanes, checks))
    fig.add(kit.axis(scale, lanes.top, lanes.bottom))
    fig.reserve(30)
    _logs(fig, trace)
    legend, height = kit.legend(LEGEND, x=8, y=fig.y + 10, width=fig.width - 16)
    fig.add(legend)
    fig.reserve(height)
    desc = " Top: each node at the cursor. Middle: records produced, fetched, processed, committed."
    return fig.svg(desc=summary + desc + " Bottom: each partition's log at the end.", style=STYLE)


def _row_text(node: str, y: float, state: tuple) -> list[str]:
    """Give `node`'s panel text for `state`, its baseline at `y`."""
    return [el("text", row_text(node, state), x=44, y=y)]


def _style(m: dict) -> str | None:
    """Give an arrow's class: heartbeats, acks but a refused commit's, fetches and empty
    replies are left out."""
    drawn = m.get("kind") in DRAWN and m["label"] not in ("none", "ok")
    return None if not drawn else "dm-msg-lost" if m["status"] != "delivered" else DRAWN[m["kind"]]


def _marks(trace: dict, scale: kit.TimeScale, lanes: kit.Lanes) -> list[str]:
    """Give a dot per record processed (amber: again) and a tick per new generation."""
    out, seen = [], set()
    for e in trace["events"]:
        x, t, node = scale.x(e["t"]), kit.tnum(e["t"]), e["node"]
        if e["kind"] == "process":
            record = (e["partition"], e["offset"])
            cls = "dm-warn" if record in seen else "dm-ok"
            tip = f"p{record[0]}@{record[1]} {e['key']}" + ", again" * (record in seen)
            seen.add(record)
            dot = attrs(class_=cls, cx=x, cy=lanes.y(node), r=3, data_t=t, data_node=node)
            out.append(f"<circle{dot}>{el('title', tip)}</circle>")
        elif e["kind"] == "rebalance":
            y = lanes.y(node)
            tick = attrs(class_="kf-gen", x1=x, x2=x, y1=y - 9, y2=y + 9, data_t=t, data_node=node)
            out.append(f"<line{tick}/>")
            out.append(el("text", f"g{e['generation']}", class_="dm-text kf-n", x=x, y=y - 11))
    return out


def _logs(fig: kit.Figure, trace: dict) -> None:
    """Add each partition's log at the end: a cell per offset coloured by its fate (times
    processed, lost, unread) and a bar at the committed offset."""
    parts, committed = int(trace["params"]["partitions"]), kafka.committed_at_end(trace)
    done, records = kafka.times_processed(trace), kafka.written(trace)
    lost = [(e["partition"], e["offset"]) for e in kafka.lost_records(trace)]
    width = min(22.0, (fig.width - 52) / max([e["offset"] + 1 for e in records], default=1))
    fig.text("Each partition's log at the end, offset by offset", cls="dm-text", gap=2)
    top = fig.reserve(ROW * parts + 6)
    for p, y in ((p, top + p * ROW) for p in range(parts)):
        x = 36 + committed[p] * width - 0.5
        bar = el("line", class_="kf-mark", x1=x, x2=x, y1=y - 1, y2=y + ROW - 2)
        fig.add([el("text", f"p{p}", class_="dm-text dm-small", x=8, y=y + 11), bar])
    for e in records:
        key, x = (e["partition"], e["offset"]), 36 + e["offset"] * width
        y = top + key[0] * ROW
        n = len(done.get(key, ()))
        cls = "dm-bad" if key in lost else ("kf-cell", "dm-ok")[n] if n < 2 else "dm-warn"
        tip = f"p{key[0]}@{key[1]} {e['key']}: processed {n}×" + ", lost" * (key in lost)
        box = attrs(class_=cls, x=x, y=y, width=width - 1, height=ROW - 3)
        fig.add([f"<rect{box}>{el('title', tip)}</rect>"])
