"""A small deterministic discrete-event simulator: virtual time, a lossy network, faults.

Everything random comes from the one `random.Random(seed)` a `Simulation` owns. Nothing
here keeps state at module or class level, so many runs in one interpreter start clean.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, fields, is_dataclass
from operator import itemgetter

from .faults import Crash, Fault, Partition, Restart

# A host that must stay responsive during a long run (the browser worker) sets a hook here;
# the event loop calls it every COOPERATE_EVERY events, and it may pause or raise to stop the
# run. Read once when a Simulation is made; the value lives in the caller's context, so
# nothing at module level changes and runs without a hook pay nothing.
COOPERATE: ContextVar[Callable[[], None] | None] = ContextVar("demos_sim_cooperate", default=None)
COOPERATE_EVERY = 64
# How many items of a long loop after the simulation (a check, a figure) go between turns.
COOPERATE_ITEMS = 256


def take_turn() -> None:
    """Give the host's cooperation hook, if one is set, a turn: it may pause, or raise to
    stop the run."""
    hook = COOPERATE.get()
    if hook is not None:
        hook()


def cooperating[T](items: Iterable[T]) -> Iterator[T]:
    """Give `items` one by one, with a turn for the host's hook before the first and every
    COOPERATE_ITEMS after: a check or a figure over tens of thousands of events then lets a
    Stop land in it, and so does one that runs many short loops. Without a hook it costs a
    context lookup per turn."""
    for k, item in enumerate(items):
        if k % COOPERATE_ITEMS == 0:
            take_turn()
        yield item


class Timer:
    """A scheduled callback; `cancel()` marks it so the loop skips it."""

    __slots__ = ("t", "callback", "args", "cancelled")

    def __init__(self, t: float, callback: Callable, args: tuple) -> None:
        self.t = t
        self.callback = callback
        self.args = args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


@dataclass
class MessageRecord:
    """One message on the wire, as the trace shows it."""

    id: int
    src: str
    dst: str
    sent: float
    label: str
    send_event: int | None
    recv: float | None = None
    status: str = "lost"
    reason: str = "in flight at the end"
    recv_event: int | None = None
    kind: str = ""
    copy_of: int | None = None  # a duplicate names the message it repeats

    def to_json(self) -> dict:
        data = {
            "id": self.id,
            "src": self.src,
            "dst": self.dst,
            "sent": _t(self.sent),
            "recv": None if self.recv is None else _t(self.recv),
            "status": self.status,
            "label": self.label,
            "send_event": self.send_event,
            "recv_event": self.recv_event,
        }
        if self.kind:
            data["kind"] = self.kind
        if self.copy_of is not None:
            data["copy_of"] = self.copy_of
        if self.status != "delivered":
            data["reason"] = self.reason
        return data


def _t(t: float) -> float:
    """Round a time for the trace: 3 decimals keeps JSON short and stable."""
    return round(t, 3)


class Trace:
    """Records events and messages in the shape of the trace JSON contract."""

    def __init__(self) -> None:
        self.events: list[dict] = []
        self.messages: list[MessageRecord] = []

    def event(self, t: float, node: str, kind: str, **data: object) -> int:
        """Record an event at `t` on `node`; give its id."""
        eid = len(self.events)
        record = {"id": eid, "t": _t(t), "node": node, "kind": kind}
        record.update(data)
        self.events.append(record)
        return eid

    def events_json(self) -> list[dict]:
        """Give the events sorted by time (ties keep recording order)."""
        return sorted(self.events, key=itemgetter("t", "id"))


def payload_label(msg: object) -> str:
    """Give a short human label for a message dataclass: its type and its fields."""
    name = type(msg).__name__
    if not is_dataclass(msg):
        return name
    parts = []
    for f in fields(msg):
        value = getattr(msg, f.name)
        if isinstance(value, (tuple, list)):
            value = len(value)
        parts.append(f"{f.name}={value}")
    return f"{name}({', '.join(parts)})" if parts else name


class Node:
    """A process in the simulation. Subclasses handle message `M` in `on_M(self, msg, src)`."""

    def __init__(self, name: str, sim: Simulation) -> None:
        self.name = name
        self.sim = sim
        self.up = True
        self._timers: list[Timer] = []

    # -- what subclasses call -------------------------------------------------
    def send(
        self, dst: str, msg: object, *, label: str | None = None, event: int | None = None
    ) -> int:
        """Send `msg` to `dst`; give the message id."""
        return self.sim.network.send(self.name, dst, msg, label=label, send_event=event)

    def set_timer(self, delay: float, callback: Callable, *args: object) -> Timer:
        """Call `callback(*args)` after `delay` ms unless this node crashes first."""
        timer = self.sim.after(delay, self._fire, callback, args)
        self._timers.append(timer)
        if len(self._timers) > 64:
            self._timers = [t for t in self._timers if not t.cancelled and t.t >= self.sim.now]
        return timer

    def record(self, kind: str, **data: object) -> int:
        """Record an event on this node now; give its id."""
        return self.sim.trace.event(self.sim.now, self.name, kind, **data)

    # -- what subclasses override ---------------------------------------------
    def on_start(self) -> None:
        """Called once at time 0."""

    def on_crash(self) -> None:
        """Called when the node crashes: drop volatile state here."""

    def on_restart(self) -> None:
        """Called when the node comes back: rebuild volatile state from persistent state."""

    # -- plumbing -------------------------------------------------------------
    def _fire(self, callback: Callable, args: tuple) -> None:
        if self.up:
            callback(*args)

    def deliver(self, msg: object, src: str, msg_id: int) -> None:
        handler = getattr(self, f"on_{type(msg).__name__}")
        handler(msg, src, msg_id)

    def crash(self) -> None:
        self.up = False
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        self.on_crash()

    def restart(self) -> None:
        self.up = True
        self.on_restart()


class Network:
    """Delivers messages after a random latency, unless lost, partitioned, or the target is down.

    Nodes on different sides of a partition cannot talk; a message is lost if the sides
    differ when it is sent or when it would arrive. As the asynchronous model of the papers
    allows, the network may also deliver a message twice (`duplicate`: the probability of a
    second copy, arriving later) and hold any message up to `reorder` ms more, which lets a
    later message overtake an earlier one. Random numbers for these are drawn only when they
    are on, so runs without them are unchanged.
    """

    def __init__(
        self,
        sim: Simulation,
        latency: tuple[float, float],
        drop: float,
        duplicate: float = 0.0,
        reorder: float = 0.0,
    ) -> None:
        self.sim = sim
        self.latency = latency
        self.drop = drop
        self.duplicate = duplicate
        self.reorder = reorder
        self.side: dict[str, int] = {}

    def connected(self, a: str, b: str) -> bool:
        return self.side.get(a, 0) == self.side.get(b, 0)

    def partition(self, groups: tuple[tuple[str, ...], ...]) -> None:
        self.side = {n: i for i, group in enumerate(groups) for n in group}

    def heal(self) -> None:
        self.side = {}

    def send(
        self,
        src: str,
        dst: str,
        msg: object,
        *,
        label: str | None = None,
        send_event: int | None = None,
    ) -> int:
        sim = self.sim
        record = MessageRecord(
            id=len(sim.trace.messages),
            src=src,
            dst=dst,
            sent=sim.now,
            label=label if label is not None else payload_label(msg),
            send_event=send_event,
            kind=type(msg).__name__,
        )
        sim.trace.messages.append(record)
        delay = self._delay()
        if self.drop > 0.0 and sim.rng.random() < self.drop:
            record.status, record.reason = "dropped", "random loss"
            return record.id
        if not self.connected(src, dst):
            record.status, record.reason = "lost", "partition"
            return record.id
        sim.after(delay, self._arrive, record, msg)
        if self.duplicate > 0.0 and sim.rng.random() < self.duplicate:
            copy = MessageRecord(
                id=len(sim.trace.messages),
                src=src,
                dst=dst,
                sent=sim.now,
                label=record.label,
                send_event=send_event,
                kind=record.kind,
                copy_of=record.id,
            )
            sim.trace.messages.append(copy)
            sim.after(delay + self._delay(), self._arrive, copy, msg)
        return record.id

    def _delay(self) -> float:
        lo, hi = self.latency
        delay = self.sim.rng.uniform(lo, hi)
        if self.reorder > 0.0:
            delay += self.sim.rng.uniform(0.0, self.reorder)
        return delay

    def _arrive(self, record: MessageRecord, msg: object) -> None:
        sim = self.sim
        node = sim.nodes[record.dst]
        if not self.connected(record.src, record.dst):
            record.reason = "partition"
            return
        if not node.up:
            record.reason = "receiver down"
            return
        record.recv = sim.now
        record.status = "delivered"
        first_event = len(sim.trace.events)
        node.deliver(msg, record.src, record.id)
        if record.recv_event is None:
            # The first event the receiver records while handling the message is its receipt.
            for event in sim.trace.events[first_event:]:
                if event["node"] == record.dst:
                    record.recv_event = event["id"]
                    break


class Simulation:
    """Virtual time, an event heap with a per-run tie-break counter, nodes, network, trace."""

    def __init__(
        self,
        seed: int,
        *,
        latency: tuple[float, float] = (5.0, 15.0),
        drop: float = 0.0,
        duplicate: float = 0.0,
        reorder: float = 0.0,
    ) -> None:
        self.rng = random.Random(seed)
        self.now = 0.0
        self._heap: list[tuple[float, int, Timer]] = []
        self._seq = 0
        self.nodes: dict[str, Node] = {}
        self.trace = Trace()
        self.network = Network(self, latency, drop, duplicate, reorder)
        self.partitions: list[dict] = []
        self._cooperate = COOPERATE.get()

    @classmethod
    def from_params(
        cls, params: Mapping[str, object], *, latency: tuple[float, float] = (5.0, 15.0)
    ) -> Simulation:
        """Give a simulation set up by the common params: seed, drop, duplicate, reorder."""
        return cls(
            int(params["seed"]),
            latency=latency,
            drop=float(params.get("drop", 0.0)),
            duplicate=float(params.get("duplicate", 0.0)),
            reorder=float(params.get("reorder", 0.0)),
        )

    def add(self, node: Node) -> Node:
        self.nodes[node.name] = node
        return node

    def at(self, t: float, callback: Callable, *args: object) -> Timer:
        """Call `callback(*args)` at virtual time `t`."""
        timer = Timer(max(t, self.now), callback, args)
        self._seq += 1
        heapq.heappush(self._heap, (timer.t, self._seq, timer))
        return timer

    def after(self, delay: float, callback: Callable, *args: object) -> Timer:
        return self.at(self.now + delay, callback, *args)

    def apply_faults(self, faults: list[Fault]) -> None:
        """Schedule the crashes, restarts and partitions of a parsed fault schedule."""
        for f in faults:
            if isinstance(f, Crash):
                self.at(f.t, self.crash, f.node)
            elif isinstance(f, Restart):
                self.at(f.t, self.restart, f.node)
            elif isinstance(f, Partition):
                self.at(f.start, self.partition, f.groups, f.end)
                self.at(f.end, self.heal)

    def crash(self, name: str) -> None:
        node = self.nodes[name]
        if node.up:
            self.trace.event(self.now, name, "crash")
            node.crash()

    def restart(self, name: str) -> None:
        node = self.nodes[name]
        if not node.up:
            self.trace.event(self.now, name, "restart")
            node.restart()

    def partition(self, groups: tuple[tuple[str, ...], ...], end: float) -> None:
        self.network.partition(groups)
        self.partitions.append(
            {"start": _t(self.now), "end": _t(end), "groups": [list(g) for g in groups]}
        )

    def heal(self) -> None:
        self.network.heal()

    def run(self, until: float) -> None:
        """Start every node, then process events in time order up to `until` ms."""
        for node in self.nodes.values():
            node.on_start()
        self.run_until(until)

    def run_until(self, until: float) -> None:
        heap = self._heap
        cooperate = self._cooperate
        handled = 0
        while heap and heap[0][0] <= until:
            t, _, timer = heapq.heappop(heap)
            if timer.cancelled:
                continue
            self.now = t
            timer.callback(*timer.args)
            handled += 1
            if cooperate is not None and handled % COOPERATE_EVERY == 0:
                cooperate()
        self.now = until

    def messages_json(self) -> list[dict]:
        return [m.to_json() for m in cooperating(self.trace.messages)]

    def trace_doc(self, nodes: list[str], **extra: object) -> dict:
        """Give the run as a trace document: nodes, events, messages, partitions, `extra`."""
        doc = {
            "nodes": list(nodes),
            "events": self.trace.events_json(),
            "messages": self.messages_json(),
            "partitions": self.partitions,
        }
        doc.update(extra)
        return doc
