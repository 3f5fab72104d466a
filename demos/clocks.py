"""Logical clocks: Lamport timestamps and vector clocks on processes that chat at random.

Each process now and then does a local event or sends its clocks to a random peer; a
receive merges the clocks it got. The checks rebuild happens-before from the trace alone
(program order plus send -> receive, transitively) and hold the clocks against it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .errors import ParamError
from .faults import parse_schedule
from .params import Param, common_params
from .result import Check
from .sim import Node, Simulation, cooperating

NAME = "clocks"
TITLE = "Logical clocks: Lamport timestamps and vector clocks"
PARAMS = common_params(duration=3000) + (
    Param(
        "processes", "int", 3, "Processes", "How many processes exchange messages.", min=2, max=8
    ),
    Param(
        "rate",
        "float",
        1.5,
        "Actions per second",
        "How often each process acts (a local event or a send), on average per second.",
        min=0.1,
        max=10.0,
        step=0.1,
    ),
    Param(
        "sends",
        "float",
        0.5,
        "Share of sends",
        "The share of actions that send a message; the rest are local events.",
        min=0.0,
        max=1.0,
        step=0.05,
    ),
    Param(
        "focus",
        "text",
        "auto",
        "Focus event",
        "The event whose causal past and future are highlighted, as node:number "
        "(n2:3 is the third event on n2); 'auto' takes the event nearest mid-run.",
    ),
)
CLOCK_KINDS = ("local", "send", "recv")
# Latency comparable to the gap between actions, so messages visibly cross and overtake
# events: that is where concurrency comes from.
LATENCY = (150.0, 700.0)


@dataclass(frozen=True)
class Stamp:
    """The clocks a process attaches to every message it sends."""

    lamport: int
    vector: tuple[int, ...]


def lamport_receive(local: int, received: int) -> int:
    """Give the Lamport clock after receiving `received`: later than both, by one."""
    return max(local, received) + 1


def vector_receive(local: tuple[int, ...], received: tuple[int, ...], me: int) -> tuple[int, ...]:
    """Give the vector clock after a receive: entrywise max, then tick our own entry."""
    merged = [max(a, b) for a, b in zip(local, received, strict=True)]
    merged[me] += 1
    return tuple(merged)


def vector_tick(local: tuple[int, ...], me: int) -> tuple[int, ...]:
    """Give the vector clock after a local event or a send."""
    ticked = list(local)
    ticked[me] += 1
    return tuple(ticked)


class Process(Node):
    """A process with a Lamport clock and a vector clock that acts at random moments.

    Crashing keeps both clocks, as if they were written to disk on every tick: a process
    that forgot them would hand out timestamps it already used, and its events after the
    restart would no longer be ordered after its events before the crash.
    """

    def __init__(
        self, name: str, sim: Simulation, names: list[str], mean_gap: float, send_share: float
    ) -> None:
        super().__init__(name, sim)
        self.names = names
        self.me = names.index(name)
        self.peers = [n for n in names if n != name]
        self.mean_gap = mean_gap
        self.send_share = send_share
        self.lamport = 0
        self.vector = (0,) * len(names)
        self.count = 0  # clock events so far: the n in "n2:3"

    def on_start(self) -> None:
        self._schedule_next_action()

    def on_restart(self) -> None:
        self._schedule_next_action()

    def _schedule_next_action(self) -> None:
        self.set_timer(self.sim.rng.expovariate(1.0 / self.mean_gap), self._act)

    def _act(self) -> None:
        rng = self.sim.rng
        if rng.random() < self.send_share:
            self.send_stamp(rng.choice(self.peers))
        else:
            self.local_event()
        self._schedule_next_action()

    def local_event(self) -> int:
        """Tick both clocks for an event nobody else sees; give its event id."""
        self.lamport += 1
        self.vector = vector_tick(self.vector, self.me)
        return self._record("local")

    def send_stamp(self, dst: str) -> int:
        """Tick both clocks and send them to `dst`; give the message id."""
        self.lamport += 1
        self.vector = vector_tick(self.vector, self.me)
        event = self._record("send", peer=dst)
        label = f"L{self.lamport} [{','.join(map(str, self.vector))}]"
        msg_id = self.send(dst, Stamp(self.lamport, self.vector), label=label, event=event)
        # The message id exists only once the message is on the wire.
        self.sim.trace.events[event]["msg"] = msg_id
        return msg_id

    def on_Stamp(self, msg: Stamp, src: str, msg_id: int) -> None:
        # A duplicate or late copy is one more receive event: merging clocks already merged
        # changes nothing (max is idempotent), and the tick orders the new event after it.
        self.lamport = lamport_receive(self.lamport, msg.lamport)
        self.vector = vector_receive(self.vector, msg.vector, self.me)
        self._record("recv", peer=src, msg=msg_id)

    def _record(self, kind: str, **data: object) -> int:
        self.count += 1
        vector = dict(zip(self.names, self.vector, strict=True))
        return self.record(kind, seq=self.count, lamport=self.lamport, vector=vector, **data)


def node_names(params: Mapping[str, object]) -> list[str]:
    """Give the process names n1..nN."""
    return [f"n{i}" for i in range(1, int(params["processes"]) + 1)]


def parse_focus(text: str, nodes: list[str]) -> tuple[str, int] | None:
    """Give (node, number) for focus text like 'n2:3', or None for 'auto'."""
    text = text.strip()
    if text in ("", "auto"):
        return None
    node, sep, number = text.partition(":")
    node = node.strip()
    if not sep or not number.strip().isdigit() or int(number) < 1:
        raise ParamError(
            f"focus: cannot read {text!r} (expected node:number such as n2:3, or auto)"
        )
    if node not in nodes:
        raise ParamError(f"focus: unknown node {node!r} in {text!r} (nodes: {', '.join(nodes)})")
    return node, int(number)


# -- happens-before, rebuilt from the trace alone --------------------------------------


class TraceError(ValueError):
    """The trace cannot describe a run: a receive without an earlier send, say."""

    def __init__(self, message: str, event: dict) -> None:
        super().__init__(message)
        self.event = event

    def check(self, name: str) -> Check:
        """Give check `name` failed at the event that makes the trace impossible."""
        return Check(name, False, str(self), t=self.event["t"], node=self.event["node"])


@dataclass(frozen=True)
class Causality:
    """Happens-before over a trace's clock events (position i is `events[i]`).

    `preds[i]` are the direct predecessors of event i (the previous event on its process
    and, for a receive, the send); `past[i]` is a bitmask of every event that happens
    before event i, built by reachability over those edges.
    """

    events: list[dict]
    preds: list[tuple[int, ...]]
    past: list[int]

    def future(self, i: int) -> int:
        """Give the bitmask of events that event i happens before."""
        bit = 1 << i
        return sum(1 << j for j, mask in enumerate(self.past) if mask & bit)


def causality(trace: Mapping) -> Causality:
    """Give happens-before for the clock events of `trace` (sorted by time, as the contract
    says, so every send is listed before its receive).

    A receive names its message, and the message names the event that sent it: a network
    that duplicates delivers one send as several messages, each received on its own.
    """
    events = [e for e in trace["events"] if e["kind"] in CLOCK_KINDS]
    sender = {m["id"]: m["send_event"] for m in trace["messages"]}
    preds: list[tuple[int, ...]] = []
    past: list[int] = []
    last_on: dict[str, int] = {}
    position: dict[int, int] = {}  # event id -> position, for the events seen so far
    for i, event in enumerate(cooperating(events)):
        edges = []
        if event["node"] in last_on:
            edges.append(last_on[event["node"]])
        if event["kind"] == "recv":
            send = position.get(sender.get(event["msg"]))
            if send is None or events[send]["kind"] != "send":
                raise TraceError(
                    f"{_name(event)} receives message {event['msg']} before any event sends it",
                    event,
                )
            edges.append(send)
        mask = 0
        for j in edges:
            mask |= past[j] | (1 << j)
        preds.append(tuple(edges))
        past.append(mask)
        last_on[event["node"]] = i
        position[event["id"]] = i
    return Causality(events, preds, past)


def _name(event: dict) -> str:
    return f"{event['node']}:{event.get('seq', '?')} (event {event['id']})"


def _bits(mask: int) -> list[int]:
    out = []
    while mask:
        low = mask & -mask
        out.append(low.bit_length() - 1)
        mask ^= low
    return out


# -- checks ------------------------------------------------------------------------------

LAMPORT = "Lamport condition"
VECTOR = "Vector clocks = happens-before"


def check_lamport_clocks(trace: Mapping) -> Check:
    """Give whether Lamport clocks respect happens-before: L(a) < L(b) whenever a -> b.

    Checking the direct edges is enough: happens-before is their transitive closure, and
    < is transitive, so it holds along every path exactly when it holds on every edge.
    """
    try:
        cause = causality(trace)
    except TraceError as err:
        return err.check(LAMPORT)
    events = cause.events
    bad = [
        (j, i)
        for i, edges in enumerate(cause.preds)
        for j in edges
        if not events[j]["lamport"] < events[i]["lamport"]
    ]
    pairs = sum(m.bit_count() for m in cause.past)
    if not bad:
        return Check(
            LAMPORT,
            True,
            f"L(a) < L(b) for all {pairs} happens-before pairs among {len(events)} events",
        )
    a, b = events[bad[0][0]], events[bad[0][1]]
    return Check(
        LAMPORT,
        False,
        f"{len(bad)} causal edge(s) break it; first: {_name(a)} happens before "
        f"{_name(b)} but Lamport {a['lamport']} is not below {b['lamport']}",
        t=b["t"],
        node=b["node"],
    )


def check_vector_clocks(trace: Mapping) -> Check:
    """Give whether vector clocks characterise happens-before: V(a) < V(b) exactly when
    a -> b, over all pairs.

    For each event b the set {a : V(a) <= V(b)} is an AND, over processes, of prefix
    bitmasks by that entry's value; removing equal vectors leaves {a : V(a) < V(b)}, which
    must equal b's causal past. That compares every pair without an n^2 Python loop.
    """
    try:
        cause = causality(trace)
    except TraceError as err:
        return err.check(VECTOR)
    events, nodes = cause.events, list(trace["nodes"])
    try:
        vectors = [tuple(int(e["vector"][n]) for n in nodes) for e in events]
    except (KeyError, TypeError, ValueError) as err:
        return Check(VECTOR, False, f"an event lacks a vector entry: {err}")
    at_most = []  # per process: entry value -> events whose entry is at most that
    for k in range(len(nodes)):
        by_value: dict[int, int] = {}
        for i, vector in enumerate(vectors):
            by_value[vector[k]] = by_value.get(vector[k], 0) | (1 << i)
        prefix, cumulative = {}, 0
        for value in sorted(by_value):
            cumulative |= by_value[value]
            prefix[value] = cumulative
        at_most.append(prefix)
    equal: dict[tuple[int, ...], int] = {}
    for i, vector in enumerate(vectors):
        equal[vector] = equal.get(vector, 0) | (1 << i)

    wrong, first = 0, None
    everyone = (1 << len(events)) - 1
    for i, vector in enumerate(vectors):
        below = everyone
        for k, value in enumerate(vector):
            below &= at_most[k][value]
        below &= ~equal[vector]
        diff = below ^ cause.past[i]
        if diff:
            wrong += diff.bit_count()
            if first is None:
                j = (diff & -diff).bit_length() - 1
                first = (j, i, bool((below >> j) & 1))
    n, pairs = len(events), sum(m.bit_count() for m in cause.past)
    if first is None:
        return Check(
            VECTOR,
            True,
            f"V(a) < V(b) exactly for the {pairs} happens-before "
            f"pairs; the other {n * (n - 1) // 2 - pairs} pairs are "
            "concurrent and incomparable",
        )
    j, i, says_before = first
    a, b = events[j], events[i]
    why = (
        "V(a) < V(b) but a does not happen before b"
        if says_before
        else "a happens before b but V(a) is not below V(b)"
    )
    return Check(
        VECTOR,
        False,
        f"{wrong} pair(s) disagree; first: a = {_name(a)} {_vec(a, nodes)}, "
        f"b = {_name(b)} {_vec(b, nodes)}: {why}",
        t=b["t"],
        node=b["node"],
    )


def _vec(event: dict, nodes: list[str]) -> str:
    return "[" + ",".join(str(event["vector"].get(n, "?")) for n in nodes) + "]"


# -- running -----------------------------------------------------------------------------


def run_processes(params: Mapping[str, object]) -> Simulation:
    """Give the finished simulation for resolved `params`."""
    names = node_names(params)
    sim = Simulation.from_params(params, latency=LATENCY)
    mean_gap = 1000.0 / float(params["rate"])
    for name in names:
        sim.add(Process(name, sim, names, mean_gap, float(params["sends"])))
    sim.apply_faults(parse_schedule(str(params["faults"]), names, float(params["duration"])))
    sim.run(float(params["duration"]))
    return sim


def split_trace(sim: Simulation) -> tuple[list[dict], list[dict], list[dict]]:
    """Give (clock events, messages, downtime) with events renumbered 0.. in time order.

    The contract allows only local/send/recv events here, so the crashes and restarts the
    simulator records become downtime spans {node, start, end} instead.
    """
    clock_events, downtime = [], []
    down_since: dict[str, float] = {}
    for event in sim.trace.events_json():
        if event["kind"] == "crash":
            down_since[event["node"]] = event["t"]
        elif event["kind"] == "restart":
            downtime.append(
                {"node": event["node"], "start": down_since.pop(event["node"]), "end": event["t"]}
            )
        else:
            clock_events.append(event)
    for node, start in sorted(down_since.items()):
        downtime.append({"node": node, "start": start, "end": None})
    downtime.sort(key=lambda d: (d["start"], d["node"]))
    new_id = {e["id"]: i for i, e in enumerate(clock_events)}
    events = [{**e, "id": new_id[e["id"]]} for e in clock_events]
    messages = sim.messages_json()
    for m in messages:
        m["send_event"] = new_id.get(m["send_event"])
    # The network cannot know which event a delivery became; the receive event says.
    for e in events:
        if e["kind"] == "recv":
            messages[e["msg"]]["recv_event"] = e["id"]
    return events, messages, downtime


def pick_focus(cause: Causality, focus: tuple[str, int] | None, duration: float) -> int | None:
    """Give the position of the focus event, or None in a run without events.

    A focus past the node's last event falls back to that last event (or, on a node with
    none, to the middle of the run): a reader who changes the seed of a figure whose
    author picked `n3:7` still gets a diagram, and the summary says what is shown. A run
    can have no events at all (every process crashed before its first action, as a random
    fault schedule may make it): that is still a run, with nothing to point at.
    """
    events = cause.events
    if not events:
        return None
    middle = duration / 2
    nearest_middle = min(range(len(events)), key=lambda i: (abs(events[i]["t"] - middle), i))
    if focus is None:
        return nearest_middle
    node, number = focus
    on_node = [i for i, e in enumerate(events) if e["node"] == node]
    if not on_node:
        return nearest_middle
    return on_node[min(number, len(on_node)) - 1]


def simulate(params: Mapping[str, object]) -> dict:
    """Give the trace document of a run: clock events, messages, downtime and the focus
    event with its causal past and future."""
    names = node_names(params)
    focus = parse_focus(str(params["focus"]), names)
    sim = run_processes(params)
    events, messages, downtime = split_trace(sim)
    cause = causality({"nodes": names, "events": events, "messages": messages})
    focus_at = pick_focus(cause, focus, float(params["duration"]))
    relation = None
    if focus_at is not None:
        relation = {
            "event": events[focus_at]["id"],
            "name": f"{events[focus_at]['node']}:{events[focus_at]['seq']}",
            "past": _bits(cause.past[focus_at]),
            "future": _bits(cause.future(focus_at)),
            "asked": f"{focus[0]}:{focus[1]}" if focus else None,
        }
    return {
        "nodes": names,
        "events": events,
        "messages": messages,
        "downtime": downtime,
        "partitions": sim.partitions,
        "focus": relation,
    }


def summarize(trace: dict, checks: list[Check]) -> str:
    """Give one line: sizes, losses, and the focus event's past, future and concurrency."""
    events, messages, relation = trace["events"], trace["messages"], trace["focus"]
    if relation is None:
        return (
            f"{len(trace['nodes'])} processes, no events: no process acted before the end "
            "of the run or its crash, so there is no focus"
        )
    concurrent = len(events) - 1 - len(relation["past"]) - len(relation["future"])
    flying = sum(1 for m in messages if m.get("reason") == "in flight at the end")
    lost = sum(1 for m in messages if m["status"] != "delivered") - flying
    copies = sum(1 for m in messages if m.get("copy_of") is not None)
    extras = (f", {flying} in flight" if flying else "") + (
        f", {copies} duplicated" if copies else ""
    )
    asked = relation.get("asked")
    shown = (
        f"focus {relation['name']}"
        if asked in (None, relation["name"])
        else f"focus {relation['name']} ({asked} is not in this run)"
    )
    return (
        f"{len(trace['nodes'])} processes, {len(events)} events, {len(messages)} messages "
        f"({lost} lost{extras}); {shown} has "
        f"{len(relation['past'])} events in its past, {len(relation['future'])} in its "
        f"future, {concurrent} concurrent"
    )


CHECKS = (check_lamport_clocks, check_vector_clocks)
