"""A replicated register under a network partition: CP (majority quorums) against AP (local).

Replicas n1..nR each hold every key as `(stamp, value)`; a stamp is `(counter, replica
number)`, so stamps are totally ordered and a higher stamp always wins. Clients c1..cK sit
next to a home replica (c_i uses n((i-1) mod R + 1)) and so are always on its side of a
partition; each issues reads and writes one at a time, with unique written values.

- cp: the home replica coordinates each op as in ABD (Attiya, Bar-Noy & Dolev). A write
  asks a majority for the highest stamp, then stores its value under a higher stamp at a
  majority. A read asks a majority and, unless that majority already agreed, writes the
  newest value back to a majority before answering, so no later read can see an older one.
  Cut off from a majority, the coordinator gives up: "fail" if nothing was stored yet,
  "info" (unknown outcome) if a store may have landed.
- ap: the home replica answers at once from its own copy and passes a write on to its
  peers without waiting. A write takes a Lamport stamp (one more than any counter the
  replica has seen), so last-writer-wins keeps the write with the highest (counter, replica
  number), and concurrent writes on the other side of a partition are silently overwritten
  at the heal.

In both modes replicas push their whole state to every peer every GOSSIP_INTERVAL ms and
adopt any higher stamp (anti-entropy). For ABD that is only a late store, so it keeps
linearizability; it is what brings a replica that missed writes up to date after a heal.

The network may lose, duplicate and delay messages. Every answer names the op it answers
(a number its coordinator never reuses) and counts once per replica and only in the phase
that asked for it, so a copy or a straggler from an earlier round changes nothing; a store
never replaces a higher stamp, so a late one is harmless.

Its checks live in `partition_checks.py`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from . import linearizability as lin
from .errors import ParamError
from .faults import parse_schedule
from .params import Param, common_params
from .partition_checks import (
    check_availability,
    check_convergence,
    check_linearizable,
    completed_ops,
)
from .result import Check
from .sim import Node, Simulation

NAME = "partition"
TITLE = "A replicated register under a partition: consistency or availability"

GOSSIP_INTERVAL = 250.0  # ms between anti-entropy pushes
RESEND = 100.0  # ms before a coordinator asks silent replicas again
GIVE_UP = 300.0  # ms a coordinator waits for a majority
CLIENT_TIMEOUT = 500.0  # ms a client waits for its replica's answer
CLIENT_LINK = 1.0  # ms between a client and its home replica (same machine)
THINK = (100.0, 300.0)  # ms a client waits between ops
SETTLE = 1000.0  # ms at the end with no client ops, so the replicas can go quiet
LATENCY = (5.0, 15.0)  # ms, one way, between replicas

PARAMS = common_params(duration=6000, faults="partition n1|n2,n3@1500-4500") + (
    Param(
        "mode",
        "choice",
        "cp",
        "Mode",
        "cp: majority quorums, linearizable, unavailable on a minority side; "
        "ap: every replica answers alone, always available, stale reads.",
        choices=("cp", "ap"),
    ),
    Param("replicas", "int", 3, "Replicas", "Replicas n1..nR holding every key.", min=3, max=7),
    Param(
        "clients",
        "int",
        3,
        "Clients",
        "Clients c1..cK; client i talks to replica n((i-1) mod R + 1).",
        min=1,
        max=8,
    ),
    Param("keys", "text", "x,y", "Keys", "One to four key names, separated by commas."),
)

Stamp = tuple[int, int]
ZERO: Stamp = (0, 0)


@dataclass(frozen=True)
class Query:
    op: int
    key: str


@dataclass(frozen=True)
class Reply:
    op: int
    key: str
    stamp: Stamp
    value: int | None


@dataclass(frozen=True)
class Store:
    op: int
    key: str
    stamp: Stamp
    value: int | None


@dataclass(frozen=True)
class Ack:
    op: int


@dataclass(frozen=True)
class Gossip:
    entries: tuple[tuple[str, Stamp, int | None], ...]


def node_names(params: Mapping[str, object]) -> list[str]:
    """Give the replicas: the only nodes a fault schedule may name."""
    return [f"n{i}" for i in range(1, int(params["replicas"]) + 1)]


def client_names(params: Mapping[str, object]) -> list[str]:
    """Give the clients' names, c1..cK."""
    return [f"c{i}" for i in range(1, int(params["clients"]) + 1)]


def home_of(client: int, replicas: int) -> str:
    """Give the home replica of client number `client` (1-based)."""
    return f"n{(client - 1) % replicas + 1}"


_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,7}$")


def parse_keys(text: str) -> list[str]:
    """Give the key names in `text`; ParamError names a bad one."""
    keys = [k.strip() for k in text.split(",") if k.strip()]
    if not 1 <= len(keys) <= 4:
        raise ParamError(f"keys: give one to four key names, got {text!r}")
    for k in keys:
        if not _KEY.match(k):
            raise ParamError(
                f"keys: {k!r} is not a short name (a letter, then up to 7 letters, digits or _)"
            )
    if len(set(keys)) != len(keys):
        raise ParamError(f"keys: a key is named twice in {text!r}")
    return keys


@dataclass
class Coordination:
    """A client op the home replica is running in cp mode (volatile: lost in a crash)."""

    op: int
    client: Client
    token: int
    f: str
    key: str
    value: int | None
    phase: str = "query"  # "query", then "store"
    heard: dict[str, tuple[Stamp, int | None]] = field(default_factory=dict)
    acked: set[str] = field(default_factory=set)
    stamp: Stamp = ZERO


class Replica(Node):
    """A replica: its store of every key, anti-entropy, and the rules of its mode."""

    def __init__(
        self, name: str, sim: Simulation, number: int, peers: list[str], mode: str, keys: list[str]
    ) -> None:
        super().__init__(name, sim)
        self.number = number
        self.peers = peers
        self.mode = mode
        self.majority = (len(peers) + 1) // 2 + 1
        self.store: dict[str, tuple[Stamp, int | None]] = {k: (ZERO, None) for k in keys}
        self.clock = 0  # highest counter seen; durable with the store
        self.next_op = 0  # never reused, so a late answer cannot match a newer op
        self.pending: dict[int, Coordination] = {}

    def on_start(self) -> None:
        self.set_timer(self.sim.rng.uniform(0.0, GOSSIP_INTERVAL), self.gossip)

    def on_crash(self) -> None:
        self.pending.clear()

    def on_restart(self) -> None:
        self.set_timer(self.sim.rng.uniform(0.0, GOSSIP_INTERVAL), self.gossip)

    def adopt(self, key: str, stamp: Stamp, value: int | None, src: str) -> bool:
        """Keep `value` (from replica `src`) if its stamp beats ours; give whether it did."""
        if stamp <= self.store[key][0]:
            return False
        self.store[key] = (stamp, value)
        self.clock = max(self.clock, stamp[0])
        self.record("adopt", key=key, value=value, stamp=list(stamp), src=src)
        return True

    # Anti-entropy: the whole state to every peer, now and then.
    def gossip(self) -> None:
        entries = tuple((k, stamp, value) for k, (stamp, value) in self.store.items())
        for peer in self.peers:
            self.send(peer, Gossip(entries), label="gossip")
        self.set_timer(GOSSIP_INTERVAL, self.gossip)

    def push(self, key: str) -> None:
        """Pass a fresh ap write on to the peers at once, without waiting for acks."""
        stamp, value = self.store[key]
        for peer in self.peers:
            self.send(peer, Gossip(((key, stamp, value),)), label=f"update {key}={value}")

    def on_Gossip(self, msg: Gossip, src: str, msg_id: int) -> None:
        for key, stamp, value in msg.entries:
            self.adopt(key, stamp, value, src)

    # A client's op arrives by a local call: the client runs beside this replica.
    def request(self, client: Client, token: int, f: str, key: str, value: int | None) -> None:
        """Take a client's op: answer it at once (ap) or start coordinating it (cp)."""
        if not self.up:
            client.answer(token, "fail", None, "replica down")
        elif self.mode == "ap":
            if f == "write":
                self.clock += 1
                self.adopt(key, (self.clock, self.number), value, self.name)
                self.push(key)
            self.reply(client, token, f, key, "ok", self.store[key][1])
        else:
            self.next_op += 1
            c = Coordination(self.next_op, client, token, f, key, value)
            self.pending[c.op] = c
            c.heard[self.name] = self.store[key]
            self.broadcast(c)
            self.set_timer(RESEND, self.resend, c.op)
            self.set_timer(GIVE_UP, self.give_up, c.op)

    def reply(
        self,
        client: Client,
        token: int,
        f: str,
        key: str,
        kind: str,
        value: int | None,
        error: str | None = None,
    ) -> None:
        self.record("reply", process=client.name, f=f, key=key, type=kind, value=value)
        self.sim.after(CLIENT_LINK, client.answer, token, kind, value, error)

    # cp: ABD. Each phase waits for a majority, and any two majorities share a replica, so a
    # later phase always meets what an earlier one stored.
    def broadcast(self, c: Coordination) -> None:
        """Send the current phase's message to every peer that has not answered it."""
        answered = c.heard if c.phase == "query" else c.acked
        for peer in self.peers:
            if peer in answered:
                continue
            if c.phase == "query":
                self.send(peer, Query(c.op, c.key), label=f"query {c.key}")
            else:
                self.send(
                    peer, Store(c.op, c.key, c.stamp, c.value), label=f"store {c.key}={c.value}"
                )

    def on_Query(self, msg: Query, src: str, msg_id: int) -> None:
        stamp, value = self.store[msg.key]
        self.send(src, Reply(msg.op, msg.key, stamp, value), label=f"reply {msg.key}={value}")

    def on_Reply(self, msg: Reply, src: str, msg_id: int) -> None:
        c = self.pending.get(msg.op)
        if c is None or c.phase != "query":
            return  # an answer to an op that is over, or past its query
        c.heard[src] = (msg.stamp, msg.value)  # by replica: a second copy counts once
        if len(c.heard) >= self.majority:
            self.queried(c)

    def queried(self, c: Coordination) -> None:
        """A majority answered: pick the newest value, then store (or answer)."""
        stamp, value = max(c.heard.values(), key=lambda sv: sv[0])
        if c.f == "write":
            # above every counter this replica has seen or issued: two writes it
            # coordinates at once must not share a stamp
            c.stamp = (max(stamp[0], self.clock) + 1, self.number)
            self.clock = c.stamp[0]
        else:
            if all(s == stamp for s, _ in c.heard.values()):
                # a majority already holds the newest value: any later quorum meets it
                self.finish(c, value)
                return
            c.stamp, c.value = stamp, value
        self.adopt(c.key, c.stamp, c.value, self.name)
        c.phase = "store"
        c.acked = {self.name}
        self.broadcast(c)

    def on_Store(self, msg: Store, src: str, msg_id: int) -> None:
        self.adopt(msg.key, msg.stamp, msg.value, src)
        self.send(src, Ack(msg.op), label="ack")

    def on_Ack(self, msg: Ack, src: str, msg_id: int) -> None:
        c = self.pending.get(msg.op)
        if c is None or c.phase != "store":
            return
        c.acked.add(src)
        if len(c.acked) >= self.majority:
            self.finish(c, c.value)

    def finish(self, c: Coordination, value: int | None) -> None:
        del self.pending[c.op]
        self.reply(c.client, c.token, c.f, c.key, "ok", value)

    def resend(self, op: int) -> None:
        c = self.pending.get(op)
        if c is not None:
            self.broadcast(c)
            self.set_timer(RESEND, self.resend, op)

    def give_up(self, op: int) -> None:
        c = self.pending.pop(op, None)
        if c is None:
            return
        if c.phase == "query":  # nothing stored anywhere: the op certainly did not happen
            self.reply(c.client, c.token, c.f, c.key, "fail", None, "no majority")
        else:  # a store may have landed somewhere: the outcome is unknown
            self.reply(
                c.client,
                c.token,
                c.f,
                c.key,
                "info",
                c.value if c.f == "write" else None,
                "no majority acked",
            )


class Workload:
    """What all clients share: the history, the key set, and the next unique value."""

    def __init__(self, keys: list[str], stop: float) -> None:
        self.keys = keys
        self.stop = stop
        self.history: list[dict] = []
        self.last_value = 0

    def new_value(self) -> int:
        self.last_value += 1
        return self.last_value


class Client:
    """A process issuing one op at a time to its home replica."""

    def __init__(self, name: str, sim: Simulation, replica: Replica, work: Workload) -> None:
        self.name = name
        self.sim = sim
        self.replica = replica
        self.work = work
        self.token = 0
        self.current: dict | None = None
        self.timeout = None

    def start(self) -> None:
        self.sim.after(self.sim.rng.uniform(0.0, THINK[1]), self.issue)

    def log(self, kind: str, f: str, key: str, value: int | None, error: str | None = None) -> None:
        entry = {
            "process": self.name,
            "type": kind,
            "f": f,
            "key": key,
            "value": value,
            "t": round(self.sim.now, 3),
            "node": self.replica.name,
        }
        if error:
            entry["error"] = error
        self.work.history.append(entry)

    def issue(self) -> None:
        if self.sim.now >= self.work.stop:
            return
        rng = self.sim.rng
        f = rng.choice(("read", "write"))
        key = rng.choice(self.work.keys)
        value = self.work.new_value() if f == "write" else None
        self.token += 1
        self.current = {"f": f, "key": key, "value": value}
        self.log("invoke", f, key, value)
        self.timeout = self.sim.after(
            CLIENT_TIMEOUT, self.answer, self.token, "info", None, "timeout"
        )
        self.sim.after(CLIENT_LINK, self.replica.request, self, self.token, f, key, value)

    def answer(self, token: int, kind: str, value: int | None, error: str | None = None) -> None:
        if token != self.token or self.current is None:
            return  # an answer to an op this client already gave up on
        op, self.current = self.current, None
        self.timeout.cancel()
        if op["f"] == "write" or kind != "ok":
            value = op["value"] if op["f"] == "write" else None
        self.log(kind, op["f"], op["key"], value, error)
        self.sim.after(self.sim.rng.uniform(*THINK), self.issue)


def run_cluster(params: Mapping[str, object], keys: list[str]) -> tuple[Simulation, Workload]:
    """Give the finished simulation and its workload."""
    duration = float(params["duration"])
    faults = parse_schedule(str(params["faults"]), node_names(params), duration)
    sim = Simulation.from_params(params, latency=LATENCY)
    names = node_names(params)
    replicas = [
        sim.add(
            Replica(name, sim, i + 1, [p for p in names if p != name], str(params["mode"]), keys)
        )
        for i, name in enumerate(names)
    ]
    work = Workload(keys, stop=max(0.0, duration - min(SETTLE, duration / 4)))
    for i, name in enumerate(client_names(params), start=1):
        Client(name, sim, replicas[(i - 1) % len(replicas)], work).start()
    sim.apply_faults(faults)
    sim.run(duration)
    return sim, work


def simulate(params: Mapping[str, object]) -> dict:
    """Give the trace document of a run: events, messages, history and final state.

    `timing` tells the checks how long this protocol waits, so they can tell a slow
    network from a broken promise.
    """
    keys = parse_keys(str(params["keys"]))
    sim, work = run_cluster(params, keys)
    final = {name: {k: node.store[k][1] for k in keys} for name, node in sim.nodes.items()}
    timing = {
        "latency": list(LATENCY),
        "give_up": GIVE_UP,
        "gossip": GOSSIP_INTERVAL,
        "client_link": CLIENT_LINK,
    }
    return sim.trace_doc(
        node_names(params),
        history=work.history,
        final_state=final,
        clients=client_names(params),
        timing=timing,
    )


def summarize(trace: dict, results: list[Check]) -> str:
    """Give one paragraph: what happened, and which checks are promises in this mode."""
    ok = {c.name: c.ok for c in results}
    ops = completed_ops(trace)
    good = sum(1 for op in ops if op["type"] == "ok")
    stale = len(lin.stale_reads(trace["history"]))
    if trace["params"]["mode"] == "cp":
        return (
            f"CP (majority quorums): {good} of {len(ops)} ops succeeded; the history is "
            f"{'' if ok['Linearizable'] else 'NOT '}linearizable. Linearizability is the "
            "safety promise here; availability gives way on a minority side, and "
            "convergence follows once the partition heals."
        )
    return (
        f"AP (local answers, last writer wins): {good} of {len(ops)} ops succeeded, "
        f"{stale} stale read{'s' if stale != 1 else ''}; the history is "
        f"{'' if ok['Linearizable'] else 'not '}linearizable. Availability and "
        "convergence after the heal are the promises here; linearizability is what "
        "gives way."
    )


CHECKS = (check_linearizable, check_availability, check_convergence)


def NOT_GUARANTEED(params: Mapping[str, object]) -> tuple[str, ...]:  # noqa: N802 - see search.py
    """Give the checks this mode does not promise: ap gives up linearizability."""
    return ("check_linearizable",) if params["mode"] == "ap" else ()
