"""A Dynamo-style key-value store: N replicas per key on a ring, R/W quorums, last writer wins.

Nodes n1..nM stand on a ring in order. A key hashes to a node, and its preference list is
that node and the next N - 1 on the ring (DeCandia et al., "Dynamo", SOSP 2007, §4.3).
Clients c1..cK each sit next to a node that coordinates every op they issue, for any key, as
any Cassandra node does:

- write: the coordinator stamps the value with its clock (last writer wins: a higher stamp
  always replaces a lower one) and sends it to the N replicas; it answers "ok" once W have
  acknowledged, "info" (outcome unknown: some replicas may hold it) if W never do.
- read: it asks the N replicas and, once R have answered, picks the value with the highest
  stamp. With read repair, unless W replicas already hold that value it first writes the
  value back to the replicas until W hold it (Cassandra's blocking read repair; the second
  phase of Attiya, Bar-Noy and Dolev's algorithm), so no later quorum read can see older.
- sloppy: a replica that has not answered within FALLBACK ms is replaced by the next node
  on the ring past the preference list. A write goes there with a hint naming the replica
  it was meant for; the hint holder keeps it apart from its own data, counts towards W, and
  hands it back once the replica answers (hinted handoff). A read asks the fallback too,
  which answers with what its hints hold.

Every node pushes its copies to the other replicas of each key every SYNC_INTERVAL ms
(anti-entropy; Dynamo compares Merkle trees, which here would only save bandwidth). Stores
and hints are durable; what a coordinator is waiting for is lost in a crash. Clocks are
exact here, so a write that starts after another ended always gets a higher stamp.

The network may lose, duplicate and delay messages. Answers name the op they answer (a
number the coordinator never reuses) and count once per node and only in the phase that
asked; a store never replaces a higher stamp, so a late or repeated one is harmless.

Its checks live in `quorum_checks.py`.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from . import linearizability as lin
from .errors import ParamError
from .faults import parse_schedule
from .params import Param, common_params
from .partition import Workload, client_names, parse_keys
from .partition_checks import completed_ops
from .quorum_checks import check_convergence, check_fresh_reads, check_linearizable
from .result import Check
from .sim import Node, Simulation, Timer

NAME = "quorum"
TITLE = "Dynamo-style quorums: N replicas, R and W, sloppy quorums and read repair"

LATENCY = (5.0, 25.0)  # ms, one way, between nodes
CLIENT_LINK = 1.0  # ms between a client and its coordinator (same machine)
FALLBACK = 60.0  # ms a sloppy coordinator waits before it turns to the next nodes on the ring
GIVE_UP = 300.0  # ms a coordinator waits for its quorum
SYNC_INTERVAL = 400.0  # ms between anti-entropy pushes
HANDOFF_INTERVAL = 200.0  # ms between attempts to hand a hint back
CLIENT_TIMEOUT = 500.0  # ms a client waits for its coordinator
THINK = (20.0, 100.0)  # ms a client pauses between ops
SETTLE = 1000.0  # ms at the end with no client ops, so the store can go quiet

BOOL = ("true", "false")
PARAMS = common_params(duration=1500, max_duration=20000) + (
    Param("nodes", "int", 5, "Nodes", "Nodes n1..nM on the ring.", min=3, max=8),
    Param(
        "replicas",
        "int",
        3,
        "Replicas (N)",
        "How many nodes hold each key: its preference list on the ring.",
        min=3,
        max=7,
    ),
    Param("r", "int", 2, "Read quorum (R)", "How many replicas must answer a read.", min=1, max=7),
    Param(
        "w",
        "int",
        2,
        "Write quorum (W)",
        "How many replicas must acknowledge a write.",
        min=1,
        max=7,
    ),
    Param(
        "clients",
        "int",
        3,
        "Clients",
        "Clients c1..cK; client i talks to node n((i-1) mod M + 1).",
        min=1,
        max=8,
    ),
    Param("keys", "text", "x", "Keys", "One to four key names, separated by commas."),
    Param(
        "sloppy",
        "choice",
        "false",
        "Sloppy quorum",
        "Whether a write for an unreachable replica goes to the next node on the ring "
        "with a hint, and counts towards W.",
        choices=BOOL,
    ),
    Param(
        "read_repair",
        "choice",
        "false",
        "Read repair",
        "Whether a read writes the newest value back to W replicas before answering.",
        choices=BOOL,
    ),
)

Stamp = tuple[int, int]  # (coordinator's clock in µs, node number): unique, totally ordered
ZERO: Stamp = (0, 0)


@dataclass(frozen=True)
class Put:
    op: int
    key: str
    stamp: Stamp
    value: int | None
    hint: str | None = None  # the replica this copy is meant for, when held by a fallback


@dataclass(frozen=True)
class Ack:
    op: int


@dataclass(frozen=True)
class Get:
    op: int
    key: str


@dataclass(frozen=True)
class Got:
    op: int
    key: str
    stamp: Stamp
    value: int | None


@dataclass(frozen=True)
class Sync:
    entries: tuple[tuple[str, Stamp, int | None], ...]


@dataclass(frozen=True)
class Handoff:
    key: str
    stamp: Stamp
    value: int | None


@dataclass(frozen=True)
class HandoffAck:
    key: str
    stamp: Stamp


def node_names(params: Mapping[str, object]) -> list[str]:
    """Give the nodes on the ring: the only names a fault schedule may use."""
    return [f"n{i}" for i in range(1, int(params["nodes"]) + 1)]


def validate(params: Mapping[str, object]) -> None:
    """Raise ParamError naming the param that does not fit the others."""
    nodes, n = int(params["nodes"]), int(params["replicas"])
    if n > nodes:
        raise ParamError(f"replicas: {n} is more than the {nodes} nodes on the ring")
    for name in ("r", "w"):
        if int(params[name]) > n:
            raise ParamError(f"{name}: {params[name]} is more than the {n} replicas")


def ring(keys: list[str], nodes: list[str], n: int) -> dict[str, list[str]]:
    """Give each key's preference list: the node its name hashes to and the next n - 1."""
    out = {}
    for key in keys:
        first = zlib.crc32(key.encode()) % len(nodes)  # crc32: the same in every process
        out[key] = [nodes[(first + i) % len(nodes)] for i in range(n)]
    return out


@dataclass
class Request:
    """A client op a coordinator is running (volatile: lost in a crash)."""

    op: int
    client: Client
    token: int
    f: str
    key: str
    value: int | None
    phase: str = "get"  # reads: "get", then maybe "put" (the repair); writes: "put"
    stamp: Stamp = ZERO
    asked: list[str] = field(default_factory=list)  # nodes sent this phase's message
    answers: dict[str, tuple[Stamp, int | None]] = field(default_factory=dict)
    acked: set[str] = field(default_factory=set)


class Replica(Node):
    """A node: its copies of the keys it replicates, the hints it holds, and coordination."""

    def __init__(
        self,
        name: str,
        sim: Simulation,
        number: int,
        prefs: dict[str, list[str]],
        ring_order: list[str],
        quorum: dict[str, object],
    ) -> None:
        super().__init__(name, sim)
        self.number = number
        self.prefs = prefs
        self.ring_order = ring_order
        self.r, self.w = int(quorum["r"]), int(quorum["w"])
        self.sloppy = quorum["sloppy"] == "true"
        self.read_repair = quorum["read_repair"] == "true"
        self.store = {k: (ZERO, None) for k, pref in prefs.items() if name in pref}
        self.hints: dict[tuple[str, str], tuple[Stamp, int | None]] = {}  # (for, key) ->
        self.clock = 0  # the last stamp this node gave, so its own stamps only grow
        self.next_op = 0  # never reused, so a late answer cannot match a newer op
        self.pending: dict[int, Request] = {}

    def on_start(self) -> None:
        self.set_timer(self.sim.rng.uniform(0.0, SYNC_INTERVAL), self.sync)
        self.set_timer(HANDOFF_INTERVAL, self.hand_off)

    def on_crash(self) -> None:
        self.pending.clear()

    def on_restart(self) -> None:
        self.on_start()

    # -- a replica's own copies ------------------------------------------------------------
    def adopt(self, key: str, stamp: Stamp, value: int | None, src: str) -> None:
        """Keep `value` if its stamp beats our copy's (last writer wins)."""
        if key in self.store and stamp > self.store[key][0]:
            self.store[key] = (stamp, value)
            self.record("store", key=key, value=value, stamp=list(stamp), src=src)

    def hold_hint(self, intended: str, key: str, stamp: Stamp, value: int | None) -> None:
        """Keep a copy meant for `intended` until it can be handed back."""
        if stamp > self.hints.get((intended, key), (ZERO, None))[0]:
            self.hints[(intended, key)] = (stamp, value)
            self.record("hint", key=key, value=value, stamp=list(stamp), to=intended)

    def newest(self, key: str) -> tuple[Stamp, int | None]:
        """Give our newest copy of `key`: our own, or else the newest hint for it."""
        if key in self.store:
            return self.store[key]
        held = [sv for (_, k), sv in sorted(self.hints.items()) if k == key]
        return max(held, default=(ZERO, None), key=lambda sv: sv[0])

    def on_Put(self, msg: Put, src: str, msg_id: int) -> None:
        if msg.hint is None:
            self.adopt(msg.key, msg.stamp, msg.value, src)
        else:
            self.hold_hint(msg.hint, msg.key, msg.stamp, msg.value)
        self.send(src, Ack(msg.op), label="ack")

    def on_Get(self, msg: Get, src: str, msg_id: int) -> None:
        stamp, value = self.newest(msg.key)
        self.send(src, Got(msg.op, msg.key, stamp, value), label=f"{msg.key}={value}")

    # -- anti-entropy and hinted handoff ---------------------------------------------------
    def sync(self) -> None:
        """Push our copies to the other replicas of each key we hold."""
        for peer in self.ring_order:
            entries = tuple(
                (k, *self.store[k])
                for k in sorted(self.store)
                if peer != self.name and peer in self.prefs[k]
            )
            if entries:
                self.send(peer, Sync(entries), label="sync")
        self.set_timer(SYNC_INTERVAL, self.sync)

    def on_Sync(self, msg: Sync, src: str, msg_id: int) -> None:
        for key, stamp, value in msg.entries:
            self.adopt(key, stamp, value, src)

    def hand_off(self) -> None:
        """Offer every hint we hold to the replica it was meant for."""
        for (intended, key), (stamp, value) in sorted(self.hints.items()):
            self.send(intended, Handoff(key, stamp, value), label=f"handoff {key}={value}")
        self.set_timer(HANDOFF_INTERVAL, self.hand_off)

    def on_Handoff(self, msg: Handoff, src: str, msg_id: int) -> None:
        self.adopt(msg.key, msg.stamp, msg.value, src)
        self.send(src, HandoffAck(msg.key, msg.stamp), label="handoff ack")

    def on_HandoffAck(self, msg: HandoffAck, src: str, msg_id: int) -> None:
        held = self.hints.get((src, msg.key))
        if held is not None and held[0] == msg.stamp:  # a newer hint waits for its own ack
            del self.hints[(src, msg.key)]
            self.record("handoff", key=msg.key, value=held[1], to=src)

    # -- coordinating a client's op --------------------------------------------------------
    def request(self, client: Client, token: int, f: str, key: str, value: int | None) -> None:
        """Take a client's op and start its first phase."""
        if not self.up:
            client.answer(token, "fail", None, "coordinator down")
            return
        self.next_op += 1
        req = Request(self.next_op, client, token, f, key, value)
        self.pending[req.op] = req
        if f == "write":
            self.clock = max(self.clock + 1, round(self.sim.now * 1000))
            self.start_put(req, (self.clock, self.number), value, set())
        else:
            self.ask(req, self.prefs[key])
        if self.sloppy:
            self.set_timer(FALLBACK, self.fall_back, req.op)
        self.set_timer(GIVE_UP, self.give_up, req.op)

    def ask(self, req: Request, targets: list[str], hints: dict | None = None) -> None:
        """Send the current phase's message to `targets` (a fallback's copy carries a hint).

        The coordinator's own part comes last: it may finish the phase at once.
        """
        hints = hints or {}
        req.asked += targets
        for node in targets:
            hint = hints.get(node)
            if node == self.name:
                continue
            if req.phase == "get":
                self.send(node, Get(req.op, req.key), label=f"get {req.key}")
            else:
                label = f"put {req.key}={req.value}" + (f" for {hint}" if hint else "")
                self.send(node, Put(req.op, req.key, req.stamp, req.value, hint), label=label)
        if self.name not in targets:
            return
        if req.phase == "get":
            self.got(req, self.name, *self.newest(req.key))
            return
        hint = hints.get(self.name)
        if hint is None:
            self.adopt(req.key, req.stamp, req.value, self.name)
        else:
            self.hold_hint(hint, req.key, req.stamp, req.value)
        req.acked.add(self.name)
        self.enough(req)

    def start_put(self, req: Request, stamp: Stamp, value: int | None, holding: set[str]) -> None:
        """Store `value` under `stamp` at the replicas; `holding` already have it."""
        req.phase, req.stamp, req.value = "put", stamp, value
        req.asked, req.acked = list(holding), set(holding)
        if not self.enough(req):
            self.ask(req, [n for n in self.prefs[req.key] if n not in holding])

    def on_Got(self, msg: Got, src: str, msg_id: int) -> None:
        req = self.pending.get(msg.op)
        if req is not None and req.phase == "get":
            self.got(req, src, msg.stamp, msg.value)

    def got(self, req: Request, src: str, stamp: Stamp, value: int | None) -> None:
        req.answers[src] = (stamp, value)  # by node: a second copy counts once
        if len(req.answers) < self.r:
            return
        stamp, value = max(req.answers.values(), key=lambda sv: sv[0])
        holding = {n for n, (s, _) in req.answers.items() if s == stamp}
        if self.read_repair and len(holding) < self.w:
            self.start_put(req, stamp, value, holding)
        else:
            self.finish(req, value)

    def on_Ack(self, msg: Ack, src: str, msg_id: int) -> None:
        req = self.pending.get(msg.op)
        if req is not None and req.phase == "put":
            req.acked.add(src)
            self.enough(req)

    def enough(self, req: Request) -> bool:
        """Answer the client if W nodes hold the value; give whether it did."""
        if len(req.acked) < self.w:
            return False
        self.finish(req, req.value)
        return True

    def fall_back(self, op: int) -> None:
        """Sloppy quorum: ask the next nodes on the ring for each replica that is silent."""
        req = self.pending.get(op)
        if req is None:
            return
        heard = req.answers if req.phase == "get" else req.acked
        silent = [n for n in self.prefs[req.key] if n not in heard]
        spare = [n for n in self.past_preference(req.key) if n not in req.asked]
        pairs = list(zip(silent, spare, strict=False))
        hints = {spare_node: intended for intended, spare_node in pairs}
        self.ask(
            req, [spare_node for _, spare_node in pairs], hints if req.phase == "put" else None
        )

    def past_preference(self, key: str) -> list[str]:
        """Give the nodes after the key's preference list, in ring order."""
        pref = self.prefs[key]
        start = self.ring_order.index(pref[-1])
        around = self.ring_order[start + 1 :] + self.ring_order[: start + 1]
        return [n for n in around if n not in pref]

    def finish(self, req: Request, value: int | None) -> None:
        del self.pending[req.op]
        self.reply(req, "ok", value)

    def give_up(self, op: int) -> None:
        req = self.pending.pop(op, None)
        if req is None:
            return
        if req.f == "read" and req.phase == "get":  # a read that stored nothing did nothing
            self.reply(req, "fail", None, "no read quorum")
        else:  # some replicas may hold the value: the outcome is unknown
            self.reply(req, "info", req.value, "no write quorum")

    def reply(self, req: Request, kind: str, value: int | None, error: str | None = None) -> None:
        client = req.client
        self.record("reply", process=client.name, f=req.f, key=req.key, type=kind, value=value)
        self.sim.after(CLIENT_LINK, client.answer, req.token, kind, value, error)


class Client:
    """A process issuing one op at a time through its coordinator, with a short pause
    between ops (a busy store: reads often overlap writes)."""

    def __init__(self, name: str, sim: Simulation, node: Replica, work: Workload) -> None:
        self.name = name
        self.sim = sim
        self.node = node
        self.work = work
        self.token = 0
        self.current: dict | None = None
        self.timeout: Timer | None = None

    def start(self) -> None:
        self.sim.after(self.sim.rng.uniform(0.0, THINK[1]), self.issue)

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
        self.sim.after(CLIENT_LINK, self.node.request, self, self.token, f, key, value)

    def answer(self, token: int, kind: str, value: int | None, error: str | None = None) -> None:
        """Log the coordinator's answer to the current op (a late one is ignored)."""
        if token != self.token or self.current is None:
            return
        op, self.current = self.current, None
        self.timeout.cancel()
        if op["f"] == "write" or kind != "ok":
            value = op["value"] if op["f"] == "write" else None
        self.log(kind, op["f"], op["key"], value, error)
        self.sim.after(self.sim.rng.uniform(*THINK), self.issue)

    def log(self, kind: str, f: str, key: str, value: int | None, error: str | None = None) -> None:
        entry = {
            "process": self.name,
            "type": kind,
            "f": f,
            "key": key,
            "value": value,
            "t": round(self.sim.now, 3),
            "node": self.node.name,
        }
        if error:
            entry["error"] = error
        self.work.history.append(entry)


def simulate(params: Mapping[str, object]) -> dict:
    """Give the trace document of a run: events, messages, history, final state and hints.

    `ring` names each key's replicas; `timing` tells the checks how long this protocol
    waits, so they can tell a slow network from a broken promise.
    """
    validate(params)
    keys = parse_keys(str(params["keys"]))
    duration = float(params["duration"])
    names = node_names(params)
    faults = parse_schedule(str(params["faults"]), names, duration)
    prefs = ring(keys, names, int(params["replicas"]))
    sim = Simulation.from_params(params, latency=LATENCY)
    nodes = [
        sim.add(Replica(name, sim, i + 1, prefs, names, dict(params)))
        for i, name in enumerate(names)
    ]
    work = Workload(keys, stop=max(0.0, duration - min(SETTLE, duration / 4)))
    for i, client in enumerate(client_names(params)):
        Client(client, sim, nodes[i % len(nodes)], work).start()
    sim.apply_faults(faults)
    sim.run(duration)
    final = {n.name: {k: v for k, (_, v) in n.store.items()} for n in nodes}
    hints = {
        n.name: [{"to": to, "key": k, "value": v} for (to, k), (_, v) in sorted(n.hints.items())]
        for n in nodes
    }
    timing = {
        "latency": list(LATENCY),
        "give_up": GIVE_UP,
        "sync": SYNC_INTERVAL,
        "handoff": HANDOFF_INTERVAL,
        "client_link": CLIENT_LINK,
    }
    return sim.trace_doc(
        names,
        history=work.history,
        final_state=final,
        final_hints=hints,
        ring=prefs,
        clients=client_names(params),
        timing=timing,
    )


def summarize(trace: dict, results: list[Check]) -> str:
    """Give one paragraph: the quorum sizes, what the clients saw, and what they promise."""
    p, ok = trace["params"], {c.name: c.ok for c in results}
    n, r, w = p["replicas"], p["r"], p["w"]
    ops = completed_ops(trace)
    good = sum(1 for op in ops if op["type"] == "ok")
    stale = len(lin.stale_reads(trace["history"]))
    hinted = sum(1 for e in trace["events"] if e["kind"] == "hint")
    overlap = (
        f"R + W = {r + w} > N = {n}: every read quorum meets every write quorum"
        if r + w > n
        else f"R + W = {r + w} \u2264 N = {n}: a read may miss a write"
    )
    extras = []
    if p["sloppy"] == "true":
        extras.append(f"sloppy quorum, {hinted} hinted write{'s' if hinted != 1 else ''}")
    if p["read_repair"] == "true":
        extras.append("reads repair before answering")
    extra = f" ({'; '.join(extras)})" if extras else ""
    return (
        f"N={n}, R={r}, W={w}{extra}. {overlap}. {good} of {len(ops)} ops ok, {stale} "
        f"stale read{'s' if stale != 1 else ''}; the history is "
        f"{'' if ok['Linearizable'] else 'NOT '}linearizable."
    )


CHECKS = (check_linearizable, check_fresh_reads, check_convergence)


def NOT_GUARANTEED(params: Mapping[str, object]) -> tuple[str, ...]:  # noqa: N802 - see search.py
    """Give the checks these settings do not promise (for the counterexample search)."""
    n, r, w = int(params["replicas"]), int(params["r"]), int(params["w"])
    strict = r + w > n and params["sloppy"] != "true"
    skipped = () if strict and params["read_repair"] == "true" else ("check_linearizable",)
    return skipped if strict else (*skipped, "check_fresh_reads")
