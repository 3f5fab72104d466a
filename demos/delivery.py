"""Delivery guarantees: a producer, a broker and a consumer, and what acks buy.

n1 is the producer, n2 the broker, n3 the consumer. The consumer's effect (a count per
logical message) lives in durable state, as a database row would, so a crash keeps it.

- `at-most-once`: the producer sends each message once; the broker hands it on and
  forgets it; the consumer acks on receipt, before the work is done. Nothing is ever
  repeated, so a drop or a crash mid-work loses the message.
- `at-least-once`: the producer retries every `ack_timeout` ms until the broker acks;
  the broker redelivers until the consumer acks, which it does after the work. A lost
  ack repeats the work: duplicates.
- `idempotent`: at-least-once, and the consumer remembers the producer's message ids in
  a durable dedup store written in the same step as the effect. A repeat is recognised
  and acked without redoing the work: the effect happens once.

In every mode a receiver ignores a copy the network itself repeated (same sender's send:
same message and attempt), as a transport does; only retries, which the sender numbers
anew, reach the application twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .faults import parse_schedule
from .params import Param, common_params
from .result import Check
from .sim import Node, Simulation

NAME = "delivery"
TITLE = "Delivery guarantees: at-most-once, at-least-once, effectively once"

MODES = ("at-most-once", "at-least-once", "idempotent")
PRODUCER, BROKER, CONSUMER = "n1", "n2", "n3"
ROLES = {PRODUCER: "producer", BROKER: "broker", CONSUMER: "consumer"}

PARAMS = common_params(duration=4000, drop=0.1, faults="crash n3@1200; restart n3@2000") + (
    Param(
        "mode",
        "choice",
        "at-least-once",
        "Guarantee",
        "at-most-once: never retry. at-least-once: retry until acked. idempotent: retry, "
        "and the consumer skips ids it has already applied.",
        choices=MODES,
    ),
    Param(
        "messages", "int", 10, "Messages", "How many messages the producer sends.", min=1, max=50
    ),
    Param(
        "ack_timeout",
        "float",
        300.0,
        "Ack timeout (ms)",
        "How long a sender waits for an ack before sending again.",
        min=50.0,
        max=5000.0,
        step=50.0,
    ),
)

LATENCY = (10.0, 30.0)
WORK = 40.0  # ms the consumer spends applying one message
SPACING = 150.0  # ms between two new messages, unless the run is too short for that
PRODUCE_SHARE = 0.5  # all messages are produced within this share of the run


@dataclass(frozen=True)
class Publish:
    msg: str
    attempt: int


@dataclass(frozen=True)
class PublishAck:
    msg: str


@dataclass(frozen=True)
class Deliver:
    delivery: int
    msg: str
    attempt: int


@dataclass(frozen=True)
class Ack:
    delivery: int


@dataclass(frozen=True)
class Config:
    mode: str
    messages: int
    ack_timeout: float
    spacing: float

    @property
    def retries(self) -> bool:
        return self.mode != "at-most-once"


class Producer(Node):
    """Produces m1..mN; with retries on, keeps unacked messages in a durable outbox."""

    def __init__(self, name: str, sim: Simulation, config: Config) -> None:
        super().__init__(name, sim)
        self.config = config
        self.produced = 0  # durable: where the source is up to
        self.outbox: dict[str, int] = {}  # durable: message -> attempts so far

    def on_start(self) -> None:
        self.set_timer(self.config.spacing, self._produce)

    def on_restart(self) -> None:
        for msg in list(self.outbox):
            self._send(msg)
        self.set_timer(self.config.spacing, self._produce)

    def _produce(self) -> None:
        if self.produced >= self.config.messages:
            return
        self.produced += 1
        msg = f"m{self.produced}"
        self.record("produce", msg=msg)
        if self.config.retries:
            self.outbox[msg] = 0
            self._send(msg)
        else:
            self.send(BROKER, Publish(msg, 1), label=f"publish {msg} #1")
        self.set_timer(self.config.spacing, self._produce)

    def _send(self, msg: str) -> None:
        self.outbox[msg] += 1
        attempt = self.outbox[msg]
        self.send(BROKER, Publish(msg, attempt), label=f"publish {msg} #{attempt}")
        self.set_timer(self.config.ack_timeout, self._retry, msg, attempt)

    def _retry(self, msg: str, attempt: int) -> None:
        if self.outbox.get(msg) == attempt:
            self._send(msg)

    def on_PublishAck(self, ack: PublishAck, src: str, msg_id: int) -> None:
        if self.outbox.pop(ack.msg, None) is not None:
            self.record("ack", of="publish", msg=ack.msg)


class Broker(Node):
    """Stores each publish as a delivery and hands it to the consumer.

    With retries on, the queue is durable and a delivery stays until the consumer acks.
    The broker cannot tell a retried publish from a new one: each becomes a delivery.
    """

    def __init__(self, name: str, sim: Simulation, config: Config) -> None:
        super().__init__(name, sim)
        self.config = config
        self.next_delivery = 0
        self.queue: dict[int, list] = {}  # durable: delivery -> [msg, attempts]
        self.seen: set[tuple[str, int]] = set()  # durable: (msg, attempt) of each publish

    def on_restart(self) -> None:
        for delivery in list(self.queue):
            self._deliver(delivery)

    def on_Publish(self, pub: Publish, src: str, msg_id: int) -> None:
        if (pub.msg, pub.attempt) in self.seen:
            return  # the network's copy of a send already handled; a retry has a new attempt
        self.seen.add((pub.msg, pub.attempt))
        self.next_delivery += 1
        delivery = self.next_delivery
        self.record("enqueue", msg=pub.msg, delivery=delivery)
        if not self.config.retries:
            # Hand it on and forget it: nothing is kept to send again.
            self.send(CONSUMER, Deliver(delivery, pub.msg, 1), label=f"deliver {pub.msg} #1")
            return
        self.queue[delivery] = [pub.msg, 0]
        self.send(PRODUCER, PublishAck(pub.msg), label=f"puback {pub.msg}")
        self._deliver(delivery)

    def _deliver(self, delivery: int) -> None:
        entry = self.queue[delivery]
        entry[1] += 1
        msg, attempt = entry
        self.send(CONSUMER, Deliver(delivery, msg, attempt), label=f"deliver {msg} #{attempt}")
        self.set_timer(self.config.ack_timeout, self._redeliver, delivery, attempt)

    def _redeliver(self, delivery: int, attempt: int) -> None:
        if delivery in self.queue and self.queue[delivery][1] == attempt:
            self._deliver(delivery)

    def on_Ack(self, ack: Ack, src: str, msg_id: int) -> None:
        entry = self.queue.pop(ack.delivery, None)
        if entry is not None:
            self.record("ack", of="delivery", msg=entry[0], delivery=ack.delivery)


class Consumer(Node):
    """Applies each delivery's effect to durable state; acks before or after, by mode."""

    def __init__(self, name: str, sim: Simulation, config: Config) -> None:
        super().__init__(name, sim)
        self.config = config
        self.effects: dict[str, int] = {}  # durable: the effect, count per message
        self.applied: set[str] = set()  # durable: the dedup store (idempotent mode)
        self.seen: set[tuple[int, int]] = set()  # durable: (delivery, attempt) received

    def on_Deliver(self, d: Deliver, src: str, msg_id: int) -> None:
        if (d.delivery, d.attempt) in self.seen:
            return  # the network's copy, not a redelivery: that one has a new attempt
        self.seen.add((d.delivery, d.attempt))
        self.record("deliver", msg=d.msg, delivery=d.delivery, attempt=d.attempt)
        if not self.config.retries:
            # Ack on receipt: the broker is free, and a crash mid-work loses the message.
            self.send(BROKER, Ack(d.delivery), label=f"ack {d.msg}")
        self.set_timer(WORK, self._finish, d)

    def _finish(self, d: Deliver) -> None:
        if self.config.mode == "idempotent" and d.msg in self.applied:
            self.record("dedup", msg=d.msg, delivery=d.delivery)
        else:
            # Effect and dedup entry are one atomic write: no crash can fall between them.
            self.effects[d.msg] = self.effects.get(d.msg, 0) + 1
            if self.config.mode == "idempotent":
                self.applied.add(d.msg)
            self.record("process", msg=d.msg, delivery=d.delivery, count=self.effects[d.msg])
        if self.config.retries:
            self.send(BROKER, Ack(d.delivery), label=f"ack {d.msg}")


# -- running ---------------------------------------------------------------------------


def node_names(params: Mapping[str, object]) -> list[str]:
    """Give the three nodes: n1 producer, n2 broker, n3 consumer."""
    return [PRODUCER, BROKER, CONSUMER]


def spacing(params: Mapping[str, object]) -> float:
    """Give the ms between two new messages: SPACING, squeezed so all fit in the run."""
    return min(SPACING, float(params["duration"]) * PRODUCE_SHARE / int(params["messages"]))


def simulate(params: dict) -> dict:
    """Run the pipeline with effective `params`; give the trace document."""
    names = node_names(params)
    faults = parse_schedule(params["faults"], names, params["duration"])
    sim = Simulation.from_params(params, latency=LATENCY)
    config = Config(params["mode"], params["messages"], params["ack_timeout"], spacing(params))
    producer = sim.add(Producer(PRODUCER, sim, config))
    sim.add(Broker(BROKER, sim, config))
    consumer = sim.add(Consumer(CONSUMER, sim, config))
    sim.apply_faults(faults)
    sim.run(params["duration"])
    produced = [f"m{i}" for i in range(1, producer.produced + 1)]
    effects = {m: consumer.effects.get(m, 0) for m in produced}
    return sim.trace_doc(names, roles=dict(ROLES), effects=effects)


# -- checks (pure functions of the trace) --------------------------------------------------


def outcomes(trace: dict) -> dict[str, int]:
    """Give each produced message's effect count, in production order."""
    effects = trace.get("effects", {})
    return {
        e["msg"]: int(effects.get(e["msg"], 0)) for e in trace["events"] if e["kind"] == "produce"
    }


def _first(trace: dict, kind: str, msg: str, nth: int = 1) -> dict | None:
    seen = 0
    for e in trace["events"]:
        if e["kind"] == kind and e.get("msg") == msg:
            seen += 1
            if seen == nth:
                return e
    return None


def _listing(msgs: list[str]) -> str:
    return ", ".join(msgs[:8]) + (f" and {len(msgs) - 8} more" if len(msgs) > 8 else "")


def still_held(trace: dict) -> set[str]:
    """Give the messages a sender still holds at the end and will send again: with retries,
    the producer until the broker acks a publish, the broker until the consumer acks."""
    if trace["params"]["mode"] == "at-most-once":
        return set()
    acked = {(e["of"], e["msg"]) for e in trace["events"] if e["kind"] == "ack"}
    return {
        m for m in outcomes(trace) if ("publish", m) not in acked or ("delivery", m) not in acked
    }


def check_no_loss(trace: dict) -> Check:
    """Every produced message took effect at least once, or a sender still holds it to retry.

    A message no one holds any more and that never took effect is lost for good; one still
    being retried when the run ends is late, not lost.
    """
    counts = outcomes(trace)
    held = still_held(trace)
    lost = [m for m, n in counts.items() if n == 0 and m not in held]
    late = [m for m, n in counts.items() if n == 0 and m in held]
    pending = f"; {len(late)} still being retried at the end ({_listing(late)})" if late else ""
    if not lost:
        return Check(
            "No loss",
            True,
            f"{len(counts) - len(late)} of {len(counts)} produced messages took effect{pending}",
        )
    why = (
        "at-most-once never sends twice: this loss is what its lack of duplicates costs"
        if trace["params"]["mode"] == "at-most-once"
        else "every sender had let go of them, yet they never took effect"
    )
    where = _first(trace, "produce", lost[0])
    return Check(
        "No loss",
        False,
        f"{len(lost)} of {len(counts)} produced messages never took effect "
        f"({_listing(lost)}); {why}{pending}",
        t=where["t"] if where else None,
        node=PRODUCER,
    )


def check_no_duplicates(trace: dict) -> Check:
    """No message's effect was applied more than once."""
    counts = outcomes(trace)
    dups = [m for m, n in counts.items() if n > 1]
    if not dups:
        return Check(
            "No duplicate effects",
            True,
            f"no effect applied twice ({sum(counts.values())} effects for {len(counts)} messages)",
        )
    extra = sum(counts[m] - 1 for m in dups)
    where = _first(trace, "process", dups[0], nth=2)
    return Check(
        "No duplicate effects",
        False,
        f"{len(dups)} messages took effect more than once ({_listing(dups)}), "
        f"{extra} extra effects: a lost ack made a sender repeat work already done",
        t=where["t"] if where else None,
        node=CONSUMER,
    )


def summarize(trace: dict, checks: list[Check]) -> str:
    """Give one sentence: what the mode delivered, and what it cost on the wire."""
    counts = outcomes(trace)
    once = sum(1 for n in counts.values() if n == 1)
    dups = sum(1 for n in counts.values() if n > 1)
    lost = sum(1 for n in counts.values() if n == 0)
    messages = trace["messages"]
    retries = sum(
        1 for m in messages if m.get("kind") == "Publish" and not m["label"].endswith("#1")
    )
    redeliveries = sum(
        1 for m in messages if m.get("kind") == "Deliver" and not m["label"].endswith("#1")
    )
    skipped = sum(1 for e in trace["events"] if e["kind"] == "dedup")
    text = (
        f"{trace['params']['mode']}: of {len(counts)} messages, {once} took effect once, "
        f"{dups} more than once, {lost} never"
    )
    if skipped:
        text += f" ({skipped} repeats recognised and skipped)"
    return (
        f"{text}; {len(messages)} network messages, with {retries} publish retries "
        f"and {redeliveries} redeliveries."
    )


CHECKS = (check_no_loss, check_no_duplicates)


def NOT_GUARANTEED(params: Mapping[str, object]) -> tuple[str, ...]:  # noqa: N802 - see search.py
    """Give the check each mode gives up: at-most-once may lose, at-least-once may repeat."""
    return {"at-most-once": ("check_no_loss",), "at-least-once": ("check_no_duplicates",)}.get(
        str(params["mode"]), ()
    )
