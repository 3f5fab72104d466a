"""The kafka figure: each node at the cursor (partitions, positions, commits, generation), a
timeline of records produced, processed and committed, and each
partition's replicas at the cursor: their logs, the leader, the ISR and the high watermark."""

from __future__ import annotations

from functools import partial

from . import kafka, kafka_checks, kit
from .kafka import BROKER, PRODUCER
from .queries import down_intervals, liveness, state_reader, timeline
from .result import Check
from .svg import attrs, el

PITCH, ROW = 30.0, 14.0  # lane pitch; a replica's row in the log section
ROLES = {"leader": "dm-role-leader", "follower": "dm-role-follower"}
ROLES |= {"producer": "dm-role-candidate", "down": "dm-role-down"}
X0 = 96.0  # where the log cells start
# Fetched batches are left out: the dots where they are processed follow at once, and an
# article carries all its figures inline within its page budget.
DRAWN = {"Produce": "kf-p", "Assign": "kf-a", "Commit": "kf-c"}
DRAWN |= {"CommitAck": "kf-no"}  # only a refused commit's: see _style
LEGEND = (
    *(("arrow", c, t) for c, t in (("kf-p", "record produced"), ("kf-c", "offset commit"))),
    ("arrow", "kf-a", "assignment"),
    *(("dot", c, t) for c, t in (("dm-ok", "processed"), ("dm-warn", "processed again"))),
    *(("box", c, t) for c, t in (("dm-bad", "lost"), ("kf-cell", "unread"))),
    *(("arrow", "kf-no", "commit refused"), ("line", "kf-mark", "committed offset")),
)
REPLICATION = (  # in the legend only when there is more than one broker
    ("line", "kf-hw", "high watermark"),
    *(("box", c, t) for c, t in (("kf-gone", "acked, then cut"), ("kf-cut", "cut, never acked"))),
)
STYLE = """
.kf-p{stroke:var(--demo-accent,#1a5fb4);stroke-width:1;fill:none}
.kf-c{stroke:var(--demo-ok,#1e7a34);stroke-width:1.2;stroke-dasharray:3 2;fill:none}
.kf-a,.kf-gen{stroke:var(--demo-warn,#9c5d00);stroke-width:1.2;fill:none}
.kf-n{font-size:9px;text-anchor:middle}
.kf-no{stroke:var(--demo-bad,#c01c28);stroke-width:1.2;fill:none}
.kf-mark{stroke:var(--demo-fg,#1d1d1f);stroke-width:2}.kf-cell{fill:var(--demo-node,#e8eaed)}
.kf-hw{stroke:var(--demo-accent,#1a5fb4);stroke-width:2;stroke-dasharray:3 2}
.kf-gone{fill:none;stroke:var(--demo-bad,#c01c28);stroke-width:1.5}
.kf-cut{fill:none;stroke:var(--demo-muted,#595f69);stroke-dasharray:2 1}
.kf-lost{fill:var(--demo-bad,#c01c28)}
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
    fig = kit.Figure(trace, title="Kafka: a partitioned, replicated log and a consumer group")
    nodes, scale, brokers = trace["nodes"], fig.scale, trace.get("brokers", [BROKER])
    fig.text(summary)
    fig.text(_cast(trace), cls="dm-text")
    turn = lambda n, _, up: f"{n} {'crashes' if up == 'down' else 'is up'}"  # noqa: E731
    heading = "At the cursor (consumers: partition position/committed)"
    panel = kit.StatePanel(fig.y, str, lambda *_: [], turn, ROLES, heading=heading)
    history = timeline(trace, ("up", 0, ()), kafka.offsets_step)
    fig.add(panel.render(_roles(trace, brokers)))
    for i, (node, h) in enumerate(history.items()):
        text = partial(_row_text, node if node not in brokers[1:] else None, panel.y(i) + 11)
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
    _logs(fig, trace, brokers)
    legend, height = kit.legend(
        _drawn(fig, LEGEND + REPLICATION), x=8, y=fig.y + 10, width=fig.width - 16
    )
    fig.add(legend)
    fig.reserve(height)
    desc = " Top: each node at the cursor. Middle: records produced, processed, committed."
    desc += " Bottom: each partition's replicas at the cursor, coloured by each record's fate."
    return fig.svg(desc=summary + desc, style=STYLE)


def _drawn(fig: kit.Figure, items: tuple) -> list:
    """Give the legend entries whose marks the figure draws: an article carries all its
    figures inline, so an entry for nothing costs every reader bytes."""
    drawn = "".join(fig.parts)
    return [item for item in items if f'class="{item[1]}' in drawn or f'"{item[1]}"' in drawn]


def _cast(trace: dict) -> str:
    """Give the line that says which node is what."""
    nodes, brokers = trace["nodes"], trace.get("brokers", [BROKER])
    consumers = [n for n in nodes[2:] if n not in brokers]
    who = f"{consumers[0]}–{consumers[-1]} consumers" if len(consumers) > 1 else "n3 consumer"
    more = f" · {' '.join(brokers[1:])} brokers" if len(brokers) > 1 else ""
    return f"n1 broker and group coordinator · n2 producer · {who}{more}"


def _roles(trace: dict, brokers: list[str]) -> dict[str, list[tuple[float, object]]]:
    """Give each node's role mark over time: a broker is `leader` while it leads any
    partition, else `follower`; the others keep their part; any node is `down` while down."""
    out = liveness(trace, trace["roles"])
    parts = range(int(trace["params"]["partitions"]))
    for broker in brokers:
        spans = [kafka_checks.replica_parts(trace, p, broker) for p in parts]
        times = sorted({t for span in spans for t, _ in span})
        readers = [state_reader(span) for span in spans]
        roles = [(t, _broker_role([read(t) for read in readers])) for t in times]
        out[broker] = [c for i, c in enumerate(roles) if not i or roles[i - 1][1] != c[1]]
    return out


def _broker_role(parts: list[str]) -> str:
    return "down" if "down" in parts else "leader" if "leader" in parts else "follower"


def _row_text(node: str | None, y: float, state: tuple) -> list[str]:
    """Give `node`'s panel text for `state`, its baseline at `y` (None: a broker but n1)."""
    text = row_text(node, state) if node else "down" if state[0] == "down" else "broker"
    return [el("text", text, x=44, y=y)]


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


def _logs(fig: kit.Figure, trace: dict, brokers: list[str]) -> None:
    """Add each partition's replicas at the cursor: a row per broker with its part (leader,
    in sync, behind, down) and a cell per record it holds, the high watermark (dashed) and
    the committed offset (bar); under them, each acknowledged record that was lost."""
    parts, cells = int(trace["params"]["partitions"]), kafka_checks.replica_cells(trace)
    width = min(22.0, (fig.width - X0 - 8) / max([c["offset"] + 1 for c in cells], default=1))
    fig.text("Each partition's replicas at the cursor, offset by offset", cls="dm-text", gap=2)
    block = ROW * len(brokers) + 6
    top = fig.reserve(block * parts + 4)
    row = {(p, b): top + p * block + i * ROW for p in range(parts) for i, b in enumerate(brokers)}
    for (p, b), y in row.items():
        name = f"p{p} {b}" if b == brokers[0] else b
        x = 8 + 16 * (b != brokers[0])
        fig.add([el("text", name, class_="dm-text dm-small", x=x, y=y + 10)])
        fig.add(kit.stretches(kafka_checks.replica_parts(trace, p, b), partial(_part, y)))
    fig.add(_cells(trace, cells, row, width))
    for p in range(parts):
        span = (top + p * block - 1, top + p * block + ROW * len(brokers) - 2)
        # With one broker the high watermark is the log's end: no mark says more.
        for kind, cls in (("hw", "kf-hw"), ("commit", "kf-mark"))[len(brokers) == 1 :]:
            moves = [(e["t"], e["offset"]) for e in trace["events"]
                     if e["kind"] == kind and e["partition"] == p]  # fmt: skip
            bar = partial(_offset_bar, cls, span, width)
            fig.add(kit.stretches([(0.0, 0), *_rising(moves)], bar))
    for e in kafka_checks.lost_acks(trace):
        y = fig.reserve(13)
        fig.add([_lost_ack(e, cells, y)])


def _part(y: float, part: str) -> list[str]:
    """Give a replica row's part (leader, in sync, behind, down), its baseline at `y`."""
    return [el("text", part, class_="dm-text dm-small", x=48, y=y + 10)]


def _cells(trace: dict, cells: list[dict], row: dict, width: float) -> list[str]:
    """Give a box per record a replica holds, from its arrival until a truncation cuts it,
    coloured by the record's fate: times processed, lost, unread; cut, acked or not."""
    final, done = kafka_checks.final_logs(trace), kafka_checks.times_processed(trace)
    lost = [(e["partition"], e["offset"]) for e in kafka_checks.lost_records(trace)]
    acked = {(e["partition"], e["seq"]) for e in trace["events"] if e["kind"] == "ack"}
    out = []
    for c in cells:
        key, y = (c["partition"], c["offset"]), row[(c["partition"], c["broker"])]
        log, n = final[key[0]], len(done.get(key, ()))
        kept = key[1] < len(log) and log[key[1]]["seq"] == c["seq"]
        cls = "dm-bad" if key in lost else ("kf-cell", "dm-ok")[n] if n < 2 else "dm-warn"
        cls = cls if kept else "kf-gone" if (key[0], c["seq"]) in acked else "kf-cut"
        # Only a cut record gets a tooltip (the timeline's dots name the others): an article
        # carries all its figures inline, within its page budget.
        tip = "" if kept else el("title", f"p{key[0]}@{key[1]} {c['key']} on {c['broker']}, cut")
        off = " dm-off" if c["until"] is not None else ""
        until = None if c["until"] is None else kit.tnum(c["until"])
        box = attrs(class_=cls + off, x=X0 + key[1] * width, y=y, width=width - 1.5,
                    height=ROW - 3, data_t=kit.tnum(c["t"]), data_until=until)  # fmt: skip
        out.append(f"<rect{box}>{tip}</rect>")
    return out


def _offset_bar(cls: str, span: tuple[float, float], width: float, offset: int) -> list[str]:
    """Give a bar across a partition's rows at `offset` (before the record there)."""
    x = X0 + offset * width - 0.75
    return [el("line", class_=cls, x1=x, x2=x, y1=span[0], y2=span[1])]


def _lost_ack(e: dict, cells: list[dict], y: float) -> str:
    """Give the line that names an acknowledged record gone from every log, shown from the
    moment it went (the truncation that cut it, else its acknowledgement)."""
    held = [c for c in cells if (c["partition"], c["seq"]) == (e["partition"], e["seq"])]
    cut = max((c["until"] for c in held if c["until"] is not None), default=None)
    fate = f"cut at {cut / 1000:.2f} s" if cut is not None else "not in the leader's log"
    said = f"✗ p{e['partition']}@{e['offset']} {e['key']}: acknowledged at {e['t'] / 1000:.2f} s"
    return el("text", f"{said}, {fate}", class_="dm-text dm-small kf-lost", x=8, y=y + 10,
              data_t=kit.tnum(e["t"] if cut is None else cut))  # fmt: skip


def _rising(marks: list[tuple[float, int]]) -> list[tuple[float, int]]:
    """Give the moments an offset moved (commits only move forward)."""
    return [m for i, m in enumerate(marks) if not i or m[1] != marks[i - 1][1]]
