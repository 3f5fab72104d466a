"""A partitioned log with a consumer group: keyed records, offsets, commits, rebalances.

n1 is the broker and the group coordinator, n2 the producer, n3.. the consumers of one
group. After Kafka's design (https://kafka.apache.org/documentation/#design):

- The producer sends keyed records; a key's hash picks its partition, so one key's records
  sit in one partition, in the order they were sent. Like Kafka's idempotent producer
  (KIP-98) each record carries a per-partition sequence number: the broker appends only the
  next one, acks a repeat with the offset it already has, and ignores a gap (the producer
  retries). Retries therefore never write a record twice or out of order.
- The broker keeps one append-only log per partition; a record's offset is its position.
  Logs, committed offsets, the generation and the assignment are durable (Kafka keeps the
  last two in its offsets topic); which members are alive is not. The log is not replicated
  here: one broker is the only replica, so acks=all means "appended by n1".
- Consumers heartbeat to the coordinator. One that is silent for `SESSION` ms is dropped;
  a new one is added. Either way the coordinator starts a new generation and assigns the
  partitions with the range assignor. A member that keeps a partition keeps its position.
- A consumer fetches from its position and processes the records in offset order.
  `commit: after` (at-least-once): the position is committed every `AUTO_COMMIT` ms, after
  the records before it were processed, so a crash repeats what was processed since.
  `commit: before` (at-most-once): a batch's end is committed, and acked, before the batch
  is processed, so a crash loses the rest of the batch.
- The coordinator accepts a commit only from the partition's owner in the current
  generation (a fenced zombie is refused) and never moves a committed offset back, as the
  ordered connection of a real client would ensure.

Trace kinds: `produce` at n1 when it appends a record, `process` at the consumer that
processed it, `commit` at n1 when it accepts a commit (`by` the consumer), `rebalance` at
n1; and for the figure and the key-order check, `send` at the producer, `assign` (what a
consumer holds from a new generation, `start` naming the partitions it starts at their
commit) and `commit_ack` (a commit acknowledged to it) at the consumers.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass

from .faults import parse_schedule
from .params import Param, common_params
from .result import Check
from .sim import Node, Simulation

NAME = "kafka"
TITLE = "A partitioned log: consumer groups, offsets, rebalances"

BROKER, PRODUCER = "n1", "n2"
COMMITS = ("after", "before")

PARAMS = common_params(duration=5000, faults="crash n4@2000; restart n4@3500") + (
    Param("partitions", "int", 3, "Partitions", "How many partitions the topic has.", min=1, max=8),
    Param(
        "consumers",
        "int",
        3,
        "Consumers",
        "How many consumers the group has (n3 onwards).",
        min=1,
        max=6,
    ),
    Param(
        "commit",
        "choice",
        "after",
        "Commit",
        "after: commit offsets once records are processed (at-least-once). before: commit "
        "a batch before processing it (at-most-once).",
        choices=COMMITS,
    ),
    Param(
        "records", "int", 24, "Records", "How many keyed records the producer sends.", min=1, max=80
    ),
)

LATENCY = (5.0, 15.0)
KEYS = ("bob", "erin", "frank", "grace", "ivan", "mallory", "sybil", "walter")
WORK = 70.0  # ms a consumer spends processing one record
BATCH = 5  # most records one fetch returns
POLL_WAIT = 150.0  # ms a consumer waits before fetching again after an empty fetch
RETRY = 250.0  # ms before a producer, fetch or synchronous commit is sent again
HEARTBEAT = 150.0  # ms between a consumer's heartbeats
SESSION = 600.0  # ms of silence after which the coordinator drops a member
JOIN_DELAY = 60.0  # ms the coordinator waits to gather joins into one rebalance
AUTO_COMMIT = 1000.0  # ms between a consumer's commits in `after` mode
PRODUCE_SHARE = 0.45  # all records are sent within this share of the run
SETTLE = 600.0  # ms a quiet group needs beyond the work: joining, fetch round trips, polls


@dataclass(frozen=True)
class Produce:
    partition: int
    seq: int
    key: str


@dataclass(frozen=True)
class ProduceAck:
    partition: int
    seq: int
    offset: int


@dataclass(frozen=True)
class Fetch:
    partition: int
    offset: int


@dataclass(frozen=True)
class Records:
    partition: int
    offset: int
    keys: tuple[str, ...]  # the keys of offsets offset, offset + 1, ...


@dataclass(frozen=True)
class Heartbeat:
    generation: int


@dataclass(frozen=True)
class Assign:
    generation: int
    partitions: tuple[int, ...]
    committed: tuple[int, ...]  # the committed offset of each partition above


@dataclass(frozen=True)
class Commit:
    generation: int
    partition: int
    offset: int


@dataclass(frozen=True)
class CommitAck:
    partition: int
    offset: int
    ok: bool


@dataclass(frozen=True)
class Config:
    partitions: int
    records: int
    commit: str
    spacing: float
    deadline: float  # every record is made by then


def partition_of(key: str, partitions: int) -> int:
    """Give the partition of `key`: a stable hash of it modulo the partition count."""
    return zlib.crc32(key.encode()) % partitions


def range_assign(members: list[str], partitions: int) -> dict[str, list[int]]:
    """Give the range assignor's split: sorted members take contiguous runs of partitions,
    the first `partitions % len(members)` one more each."""
    share, extra = divmod(partitions, len(members))
    out, start = {}, 0
    for i, member in enumerate(sorted(members)):
        count = share + (1 if i < extra else 0)
        out[member] = list(range(start, start + count))
        start += count
    return out


class Producer(Node):
    """Sends keyed records; keeps unacked ones in a durable outbox and resends them."""

    def __init__(self, name: str, sim: Simulation, config: Config) -> None:
        super().__init__(name, sim)
        self.config = config
        self.sent = 0  # durable: records made so far
        self.next_seq = [0] * config.partitions  # durable: per-partition sequence
        self.outbox: dict[tuple[int, int], str] = {}  # durable: (partition, seq) -> key

    def on_start(self) -> None:
        self.set_timer(self.config.spacing, self.make_record)

    def on_restart(self) -> None:
        for partition, seq in sorted(self.outbox):
            self.send_record(partition, seq)
        self.set_timer(self.gap(), self.make_record)

    def make_record(self) -> None:
        """Give the next record a key, its partition and the partition's next sequence."""
        if self.sent >= self.config.records:
            return
        self.sent += 1
        key = self.sim.rng.choice(KEYS)
        partition = partition_of(key, self.config.partitions)
        seq = self.next_seq[partition]
        self.next_seq[partition] += 1
        self.outbox[(partition, seq)] = key
        self.record("send", key=key, partition=partition, seq=seq)
        self.send_record(partition, seq)
        self.set_timer(self.gap(), self.make_record)

    def gap(self) -> float:
        """Give the wait before the next record: records come as a Poisson stream, so now
        and then a burst makes a batch of several; none comes after the deadline."""
        wait = self.sim.rng.expovariate(1.0 / self.config.spacing)
        return min(wait, max(0.0, self.config.deadline - self.sim.now))

    def send_record(self, partition: int, seq: int) -> None:
        key = self.outbox[(partition, seq)]
        self.send(BROKER, Produce(partition, seq, key), label=f"{key} → p{partition}")
        self.set_timer(RETRY, self.resend, partition, seq)

    def resend(self, partition: int, seq: int) -> None:
        if (partition, seq) in self.outbox:
            self.send_record(partition, seq)

    def on_ProduceAck(self, ack: ProduceAck, src: str, msg_id: int) -> None:
        self.outbox.pop((ack.partition, ack.seq), None)


class Broker(Node):
    """The partition logs, and the group coordinator: membership, assignment, commits."""

    def __init__(self, name: str, sim: Simulation, config: Config) -> None:
        super().__init__(name, sim)
        self.config = config
        self.logs: list[list[str]] = [[] for _ in range(config.partitions)]  # durable
        self.committed = [0] * config.partitions  # durable: the offsets topic
        self.generation = 0  # durable
        self.assignment: dict[str, list[int]] = {}  # durable
        self.last_seen: dict[str, float] = {}  # volatile: live members
        self.rebalance_timer = None

    def on_start(self) -> None:
        self.set_timer(HEARTBEAT, self.expire_members)

    def on_restart(self) -> None:
        # Give every member of the stored assignment a whole session to be heard again.
        self.last_seen = {member: self.sim.now for member in sorted(self.assignment)}
        self.rebalance_timer = None
        self.set_timer(HEARTBEAT, self.expire_members)

    # -- the log --------------------------------------------------------------------------
    def on_Produce(self, req: Produce, src: str, msg_id: int) -> None:
        log = self.logs[req.partition]
        if req.seq < len(log):  # a retry of a record already written: ack its offset again
            self.send(src, ProduceAck(req.partition, req.seq, req.seq), label="ack")
            return
        if req.seq > len(log):  # an earlier record is missing: refuse, the producer retries
            return
        log.append(req.key)
        self.record("produce", partition=req.partition, offset=len(log) - 1, key=req.key)
        self.send(src, ProduceAck(req.partition, req.seq, len(log) - 1), label="ack")

    def on_Fetch(self, req: Fetch, src: str, msg_id: int) -> None:
        keys = tuple(self.logs[req.partition][req.offset : req.offset + BATCH])
        label = f"p{req.partition} {req.offset}-{req.offset + len(keys) - 1}" if keys else "none"
        self.send(src, Records(req.partition, req.offset, keys), label=label)

    # -- the group coordinator -----------------------------------------------------------
    def on_Heartbeat(self, hb: Heartbeat, src: str, msg_id: int) -> None:
        known = src in self.last_seen
        self.last_seen[src] = self.sim.now
        if not known:
            self.schedule_rebalance()
        elif hb.generation != self.generation and src in self.assignment:
            self.send_assignment(src)

    def expire_members(self) -> None:
        """Drop members silent for a whole session; their partitions go to the others."""
        for member in sorted(self.last_seen):
            if self.sim.now - self.last_seen[member] > SESSION:
                del self.last_seen[member]
                self.schedule_rebalance()
        self.set_timer(HEARTBEAT, self.expire_members)

    def schedule_rebalance(self) -> None:
        if self.rebalance_timer is None:
            self.rebalance_timer = self.set_timer(JOIN_DELAY, self.rebalance)

    def rebalance(self) -> None:
        """Start a new generation: split the partitions over the live members, tell each."""
        self.rebalance_timer = None
        members = sorted(self.last_seen)
        self.generation += 1
        self.assignment = range_assign(members, self.config.partitions) if members else {}
        self.record(
            "rebalance",
            generation=self.generation,
            assignment={m: list(ps) for m, ps in self.assignment.items()},
        )
        for member in members:
            self.send_assignment(member)

    def send_assignment(self, member: str) -> None:
        partitions = tuple(self.assignment[member])
        committed = tuple(self.committed[p] for p in partitions)
        self.send(
            member,
            Assign(self.generation, partitions, committed),
            label=f"gen {self.generation}: " + " ".join(f"p{p}" for p in partitions),
        )

    def on_Commit(self, req: Commit, src: str, msg_id: int) -> None:
        owner = req.generation == self.generation and req.partition in self.assignment.get(src, ())
        if owner and req.offset > self.committed[req.partition]:
            self.committed[req.partition] = req.offset
            self.record("commit", partition=req.partition, offset=req.offset, by=src)
        self.send(src, CommitAck(req.partition, req.offset, owner), label="ok" if owner else "no")


class Consumer(Node):
    """Fetches and processes its partitions' records; commits before or after, by mode.

    Everything here is volatile: a restarted consumer starts from the committed offsets.
    Each partition it holds has a tenure number, so a timer or reply from an earlier
    tenure (or a copy the network repeated) is recognised and ignored.
    """

    def __init__(self, name: str, sim: Simulation, config: Config) -> None:
        super().__init__(name, sim)
        self.config = config
        self.reset()

    def reset(self) -> None:
        self.generation = 0
        self.tenures = 0
        self.tenure: dict[int, int] = {}  # partition -> tenure number
        self.position: dict[int, int] = {}  # partition -> next offset to process
        self.waiting: dict[int, tuple] = {}  # partition -> the reply it waits for
        self.acked: dict[int, int] = {}  # partition -> last commit the coordinator took

    def on_start(self) -> None:
        self.heartbeat()
        if self.config.commit == "after":
            self.set_timer(AUTO_COMMIT, self.auto_commit)

    def on_crash(self) -> None:
        self.reset()

    def on_restart(self) -> None:
        self.on_start()

    def heartbeat(self) -> None:
        self.send(BROKER, Heartbeat(self.generation), label="heartbeat")
        self.set_timer(HEARTBEAT, self.heartbeat)

    def on_Assign(self, a: Assign, src: str, msg_id: int) -> None:
        """Adopt a newer generation: keep held partitions, start new ones at their commit."""
        if a.generation <= self.generation:
            return
        # A partition is kept only from the generation just before: if one was missed, the
        # partition may have been elsewhere meanwhile, and its position here is stale.
        consecutive = a.generation == self.generation + 1
        self.generation = a.generation
        for p in sorted(self.tenure):
            if p not in a.partitions or not consecutive:
                for table in (self.tenure, self.position, self.waiting, self.acked):
                    table.pop(p, None)
        start = {}
        for p, committed in zip(a.partitions, a.committed, strict=True):
            if p not in self.tenure:
                self.tenures += 1
                self.tenure[p] = self.tenures
                self.position[p] = self.acked[p] = committed
                start[p] = committed
        self.record(
            "assign",
            generation=a.generation,
            partitions=list(a.partitions),
            start={str(p): o for p, o in start.items()},
        )
        for p in sorted(start):
            self.fetch(p, self.tenure[p])

    def fetch(self, p: int, tenure: int) -> None:
        if self.tenure.get(p) != tenure:
            return
        self.waiting[p] = ("records", self.position[p])
        self.send(BROKER, Fetch(p, self.position[p]), label=f"fetch p{p}@{self.position[p]}")
        self.set_timer(RETRY, self.refetch, p, tenure, self.position[p])

    def refetch(self, p: int, tenure: int, offset: int) -> None:
        if self.tenure.get(p) == tenure and self.waiting.get(p) == ("records", offset):
            self.fetch(p, tenure)

    def on_Records(self, r: Records, src: str, msg_id: int) -> None:
        p = r.partition
        if self.waiting.get(p) != ("records", r.offset):
            return  # a late or repeated reply: this fetch is answered or the partition gone
        tenure = self.tenure[p]
        if not r.keys:
            self.waiting[p] = ("poll",)
            self.set_timer(POLL_WAIT, self.fetch, p, tenure)
        elif self.config.commit == "before":
            self.commit_first(p, tenure, r)
        else:
            self.waiting[p] = ("work",)
            self.process(p, tenure, r, 0)

    def commit_first(self, p: int, tenure: int, batch: Records) -> None:
        """At-most-once: commit past the whole batch and wait for the ack before any work."""
        if self.tenure.get(p) != tenure:
            return
        end = batch.offset + len(batch.keys)
        self.waiting[p] = ("commit", end, batch)
        self.send(BROKER, Commit(self.generation, p, end), label=f"commit p{p}@{end}")
        self.set_timer(RETRY, self.recommit, p, tenure, end)

    def recommit(self, p: int, tenure: int, end: int) -> None:
        waiting = self.waiting.get(p)
        if self.tenure.get(p) == tenure and waiting and waiting[:2] == ("commit", end):
            self.commit_first(p, tenure, waiting[2])

    def on_CommitAck(self, ack: CommitAck, src: str, msg_id: int) -> None:
        p = ack.partition
        if not ack.ok or p not in self.tenure:
            return  # refused: fenced by a newer generation; a retry carries the new one
        if ack.offset > self.acked[p]:
            self.acked[p] = ack.offset
            self.record("commit_ack", partition=p, offset=ack.offset)
        waiting = self.waiting.get(p)
        if waiting and waiting[:2] == ("commit", ack.offset):
            self.waiting[p] = ("work",)
            self.process(p, self.tenure[p], waiting[2], 0)

    def process(self, p: int, tenure: int, batch: Records, i: int) -> None:
        """Process record i of the batch (taking WORK ms), then the next, then fetch on."""
        if self.tenure.get(p) != tenure:
            return
        if i == len(batch.keys):
            self.fetch(p, tenure)
            return
        self.set_timer(WORK, self.processed, p, tenure, batch, i)

    def processed(self, p: int, tenure: int, batch: Records, i: int) -> None:
        if self.tenure.get(p) != tenure:
            return
        offset = batch.offset + i
        self.record("process", partition=p, offset=offset, key=batch.keys[i])
        self.position[p] = offset + 1
        self.process(p, tenure, batch, i + 1)

    def auto_commit(self) -> None:
        """At-least-once: commit each held partition's position, all of it processed."""
        for p in sorted(self.tenure):
            if self.position[p] > self.acked[p]:
                self.send(
                    BROKER,
                    Commit(self.generation, p, self.position[p]),
                    label=f"commit p{p}@{self.position[p]}",
                )
        self.set_timer(AUTO_COMMIT, self.auto_commit)


# -- running ---------------------------------------------------------------------------


def node_names(params: Mapping[str, object]) -> list[str]:
    """Give the nodes: n1 broker and coordinator, n2 producer, n3.. the consumers."""
    return [BROKER, PRODUCER] + [f"n{3 + i}" for i in range(int(params["consumers"]))]


def roles(params: Mapping[str, object]) -> dict[str, str]:
    """Give each node's part: broker (also the coordinator), producer or consumer."""
    return {
        n: "broker" if n == BROKER else "producer" if n == PRODUCER else "consumer"
        for n in node_names(params)
    }


def simulate(params: dict) -> dict:
    """Run the producer, broker and consumer group with effective `params`; give the trace."""
    names = node_names(params)
    faults = parse_schedule(params["faults"], names, params["duration"])
    sim = Simulation.from_params(params, latency=LATENCY)
    deadline = float(params["duration"]) * PRODUCE_SHARE
    spacing = min(deadline / int(params["records"]), 150.0)
    config = Config(params["partitions"], params["records"], params["commit"], spacing, deadline)
    sim.add(Broker(BROKER, sim, config))
    sim.add(Producer(PRODUCER, sim, config))
    for name in names[2:]:
        sim.add(Consumer(name, sim, config))
    sim.apply_faults(faults)
    sim.run(params["duration"])
    return sim.trace_doc(names, roles=roles(params))


# -- queries (pure functions of the trace) -------------------------------------------------


def offsets_step(state: tuple, e: dict) -> tuple:
    """Give a node's (up or down, generation, ((partition, position, committed), ...)) after
    one of its events: for n1 the committed offsets (twice), for a consumer each partition's
    position and the last commit of it the coordinator acknowledged."""
    up, gen, offsets = state
    kind, held = e["kind"], {p: (at, done) for p, at, done in offsets}
    if kind in ("crash", "restart"):  # n1's generation and commits are durable
        kept = e["node"] == BROKER
        return ("down" if kind == "crash" else "up", gen * kept, offsets * kept)
    if kind == "rebalance":
        return (up, e["generation"], offsets)
    if kind == "assign":
        held = {p: o for p, o in held.items() if p in e["partitions"]}
        held.update({int(p): (o, o) for p, o in e["start"].items()})
        gen = e["generation"]
    elif kind in ("commit", "process", "commit_ack"):
        at, done = held.get(e["partition"], (0, 0))
        at = e["offset"] + 1 if kind == "process" else e["offset"] if kind == "commit" else at
        held[e["partition"]] = (at, e["offset"] if kind != "process" else done)
    else:
        return state
    return (up, gen, tuple(sorted((p, at, done) for p, (at, done) in held.items())))


# -- checks (pure functions of the trace) --------------------------------------------------


def written(trace: dict) -> list[dict]:
    """Give the records the broker appended (its `produce` events), in time order."""
    return [e for e in trace["events"] if e["kind"] == "produce"]


def times_processed(trace: dict) -> dict[tuple[int, int], list[dict]]:
    """Give each (partition, offset) its `process` events, in time order."""
    out: dict[tuple[int, int], list[dict]] = {}
    for e in trace["events"]:
        if e["kind"] == "process":
            out.setdefault((e["partition"], e["offset"]), []).append(e)
    return out


def committed_at_end(trace: dict) -> dict[int, int]:
    """Give each partition's committed offset at the end (0 if none was committed)."""
    out = {p: 0 for p in range(int(trace["params"]["partitions"]))}
    for e in trace["events"]:
        if e["kind"] == "commit":
            out[e["partition"]] = max(out[e["partition"]], e["offset"])
    return out


def lost_records(trace: dict) -> list[dict]:
    """Give the records never processed whose partition's commit has moved past them:
    no consumer will read them again."""
    done, committed = times_processed(trace), committed_at_end(trace)
    return [
        e
        for e in written(trace)
        if (e["partition"], e["offset"]) not in done and e["offset"] < committed[e["partition"]]
    ]


def _names(records: list[dict]) -> str:
    shown = ", ".join(f"p{e['partition']}@{e['offset']}" for e in records[:6])
    return shown + (f" and {len(records) - 6} more" if len(records) > 6 else "")


def check_no_loss(trace: dict) -> Check:
    """No record was skipped: every one the commit moved past was processed."""
    lost, total = lost_records(trace), len(written(trace))
    if not lost:
        return Check(
            "No record lost",
            True,
            f"every record a commit moved past was processed ({total} written)",
        )
    first = lost[0]
    past = next(
        e
        for e in trace["events"]
        if e["kind"] == "commit"
        and e["partition"] == first["partition"]
        and e["offset"] > first["offset"]
    )
    why = (
        "commit before processing: a consumer committed past them, then crashed before the work"
        if trace["params"]["commit"] == "before"
        else "committed, never processed"
    )
    return Check(
        "No record lost",
        False,
        f"{len(lost)} of {total} records never processed "
        f"though committed past ({_names(lost)}): {why}",
        t=past["t"],
        node=past["by"],
    )


def check_all_processed(trace: dict) -> Check:
    """Every record written was processed at least once by the end of the run."""
    done, records = times_processed(trace), written(trace)
    missing = [e for e in records if (e["partition"], e["offset"]) not in done]
    if not missing:
        return Check(
            "Every record processed", True, f"all {len(records)} records written were processed"
        )
    lost = len(lost_records(trace))
    return Check(
        "Every record processed",
        False,
        f"{len(missing)} of {len(records)} records never processed ({_names(missing)}); "
        f"{lost} of them lost behind a commit, {len(missing) - lost} still unread",
        t=missing[0]["t"],
        node=BROKER,
    )


def tenures(trace: dict) -> dict[tuple[str, int], list[tuple[float, float]]]:
    """Give each (consumer, partition) the spans it held the partition, by its own events:
    from an `assign` that starts it at the commit until one that takes it away or starts it
    afresh, or a crash."""
    held: dict[tuple[str, int], float] = {}
    out: dict[tuple[str, int], list[tuple[float, float]]] = {}
    end = float(trace["duration"])
    for e in trace["events"]:
        if e["kind"] not in ("assign", "crash"):
            continue
        kept = set(e.get("partitions", ())) - {int(p) for p in e.get("start", {})}
        for node, p in sorted(k for k in held if k[0] == e["node"] and k[1] not in kept):
            out.setdefault((node, p), []).append((held.pop((node, p)), e["t"]))
        for p in sorted(int(p) for p in e.get("start", {})):
            held[(e["node"], p)] = e["t"]
    for key, since in sorted(held.items()):
        out.setdefault(key, []).append((since, end))
    return out


def check_key_order(trace: dict) -> Check:
    """Within one consumer's tenure of a partition, each key's records go in offset order."""
    spans = tenures(trace)
    last: dict[tuple, int] = {}
    count = 0
    for e in trace["events"]:
        if e["kind"] != "process":
            continue
        held = [s for s in spans.get((e["node"], e["partition"]), []) if s[0] <= e["t"] <= s[1]]
        tenure = (e["node"], e["partition"], held[-1][0] if held else None, e["key"])
        if tenure in last and e["offset"] <= last[tenure]:
            return Check(
                "Key order",
                False,
                f"{e['node']} processed {e['key']} at p{e['partition']}@{e['offset']} "
                f"after offset {last[tenure]} in the same tenure",
                t=e["t"],
                node=e["node"],
            )
        last[tenure] = e["offset"]
        count += 1
    return Check(
        "Key order",
        True,
        f"each key's records in offset order within every "
        f"consumer's tenure ({count} records processed)",
    )


def duplicates(trace: dict) -> list[dict]:
    """Give every `process` event of a record processed before (the repeats)."""
    return [e for events in times_processed(trace).values() for e in events[1:]]


def check_no_duplicates(trace: dict) -> Check:
    """No record was processed twice."""
    repeats = sorted(duplicates(trace), key=lambda e: (e["t"], e["id"]))
    if not repeats:
        return Check("No duplicates", True, "no record was processed twice")
    again = sorted({(e["partition"], e["offset"]): e for e in repeats}.values(),
                   key=lambda e: (e["partition"], e["offset"]))  # fmt: skip
    first = repeats[0]
    return Check(
        "No duplicates",
        False,
        f"{len(again)} records processed more than once ({_names(again)}), {len(repeats)} "
        "repeats: work done since the last commit is done again by the partition's next owner",
        t=first["t"],
        node=first["node"],
    )


CHECKS = (check_no_loss, check_all_processed, check_key_order, check_no_duplicates)


def has_time(params: Mapping[str, object]) -> bool:
    """Give whether a quiet run leaves time to process every record: all records are made
    by the deadline, and even if every key fell in one partition its records' work, with
    room for fetches and polls, ends before the run does."""
    duration, records = float(params["duration"]), int(params["records"])
    work = records * (WORK + 10.0)
    return max(duration * PRODUCE_SHARE, work) + SETTLE <= duration


def NOT_GUARANTEED(params: Mapping[str, object]) -> tuple[str, ...]:  # noqa: N802 - see search.py
    """Give the checks the mode gives up: at-most-once may lose records, at-least-once may
    repeat them; finishing by the end needs a quiet network, no faults and time enough."""
    if params["commit"] == "before":
        return ("check_no_loss", "check_all_processed")
    quiet = not params["faults"] and not params["drop"] and not params["reorder"]
    return ("check_no_duplicates",) + (() if quiet and has_time(params) else
                                       ("check_all_processed",))  # fmt: skip


def summarize(trace: dict, checks: list[Check]) -> str:
    """Give one sentence: records written, processed, repeated and lost, and the rebalances."""
    records, done = written(trace), times_processed(trace)
    rebalances = sum(1 for e in trace["events"] if e["kind"] == "rebalance")
    repeats, lost = duplicates(trace), len(lost_records(trace))
    again = len({(e["partition"], e["offset"]) for e in repeats})
    unread = sum(1 for e in records if (e["partition"], e["offset"]) not in done) - lost
    p = trace["params"]
    twice = f"{again} of them more than once ({len(repeats)} repeats)" if repeats else "none twice"
    text = (
        f"commit {p['commit']}: {_count(len(records), 'record')} in "
        f"{_count(p['partitions'], 'partition')}, {len(records) - lost - unread} processed, "
        f"{twice}, {lost} lost"
    )
    if unread:
        text += f", {unread} unread at the end"
    return f"{text}; {_count(rebalances, 'rebalance')}."


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + "s" * (n != 1)
