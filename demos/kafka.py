"""A partitioned, replicated log with a consumer group: keyed records, offsets, rebalances.

n1 is a broker, the controller and the group coordinator; n2 the producer; n3.. the
consumers of one group; further brokers come after the consumers (with three consumers and
three brokers: n1, n6, n7). After Kafka's design (https://kafka.apache.org/documentation/#design):

- The producer sends keyed records; a key's hash picks its partition, so one key's records
  sit in one partition, in the order they were sent. Like Kafka's idempotent producer
  (KIP-98) each record carries a per-partition sequence number: a leader appends only the
  next one, acks a repeat with the offset it already has, and ignores a gap (the producer
  retries). A gap of records that were all acknowledged is accepted: they were lost in a
  failover and the producer will never send them again.
- Every broker holds a replica of every partition; one is the partition's leader, the
  others follow it by fetching (https://kafka.apache.org/documentation/#replication).
  Followers that keep up form the in-sync replica set (ISR); the leader drops one that has
  not caught up for `LAG_MAX` ms and takes it back once it has (by asking the controller,
  as KIP-497's AlterPartition does). The high watermark is the end of what every ISR
  member holds: consumers read only below it, and with `acks: all` the leader acks a record
  once the watermark passes it and the ISR has at least `min_insync` members; `acks: 1`
  acks it on append.
- The controller (n1, kept simple: one node, no quorum of its own) fences a broker silent
  for `SESSION` ms: it leaves every ISR (but the last member stays), and a partition it led
  gets a new leader from the ISR in a new leader epoch. No out-of-sync replica is ever
  elected (unclean election is off). While n1 is down nothing is elected.
- A replica that becomes a follower in a new epoch first asks the leader where its own
  last epoch ends and truncates there (KIP-101, refined by KIP-279), then fetches. Logs and
  high watermarks are durable; which role a broker plays is not (it asks the controller).
- Consumers heartbeat to the coordinator, which drops one silent for `SESSION` ms and
  adds new ones; either way it starts a new generation and assigns the partitions with the
  range assignor. A consumer fetches from the partition's leader. `commit: after`
  (at-least-once) commits positions every `AUTO_COMMIT` ms after processing; `commit:
  before` (at-most-once) commits a batch's end, and waits for the ack, before processing it.
  The coordinator accepts a commit only from the partition's owner in the current
  generation and never moves a committed offset back.

Its checks, and the trace queries the figure shares with them, live in `kafka_checks.py`.

Trace kinds: `produce` at the leader that appends a record, `process` at the consumer,
`commit` at n1 when it accepts a commit (`by` the consumer), `rebalance` at n1; and for the
figure and the checks: `send` and `ack` at the producer, `replicate` (a follower appends),
`truncate` (a replica cuts its log), `hw` (a leader's high watermark moves) at brokers,
`isr` at n1 (a partition's leader, epoch and ISR), `assign` and `commit_ack` at consumers.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass

from . import kafka_checks
from .faults import parse_schedule
from .params import Param, common_params
from .result import Check
from .sim import Node, Simulation

NAME = "kafka"
TITLE = "A partitioned, replicated log: consumer groups, offsets, rebalances"

BROKER, PRODUCER = "n1", "n2"  # n1 is also the controller and the group coordinator
COMMITS = ("after", "before")
ACKS = ("all", "1")

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
    Param(
        "brokers",
        "int",
        1,
        "Brokers",
        "Brokers, each with a replica of every partition: n1, then names after the consumers.",
        min=1,
        max=3,
    ),
    Param(
        "acks",
        "choice",
        "all",
        "Acks",
        "all: ack once every in-sync replica has the record. 1: ack on the leader's append.",
        choices=ACKS,
    ),
    Param(
        "min_insync",
        "int",
        1,
        "Min in-sync",
        "With acks all, the fewest in-sync replicas a leader needs to take a record.",
        min=1,
        max=3,
    ),
)

LATENCY = (5.0, 15.0)
KEYS = ("bob", "erin", "frank", "grace", "ivan", "mallory", "sybil", "walter")
WORK = 70.0  # ms a consumer spends processing one record
BATCH = 5  # most records one fetch returns
POLL_WAIT = 150.0  # ms a consumer waits before fetching again after an empty fetch
RETRY = 250.0  # ms before a producer, fetch or synchronous commit is sent again
HEARTBEAT = 150.0  # ms between a consumer's (or a broker's) heartbeats
SESSION = 600.0  # ms of silence after which the coordinator (controller) drops a member
JOIN_DELAY = 60.0  # ms the coordinator waits to gather joins into one rebalance
AUTO_COMMIT = 1000.0  # ms between a consumer's commits in `after` mode
PRODUCE_SHARE = 0.45  # all records are sent within this share of the run
SETTLE = 600.0  # ms a quiet group needs beyond the work: joining, fetch round trips, polls
FETCH_WAIT = 250.0  # ms a leader holds a caught-up follower's fetch before answering empty
ISR_CHECK = 100.0  # ms between a leader's looks at its followers' lag
LAG_MAX = 500.0  # ms a follower may go without catching up before it leaves the ISR


@dataclass(frozen=True)
class Produce:
    partition: int
    seq: int
    key: str
    lowest: int = 0  # the producer's lowest unacknowledged seq of the partition


@dataclass(frozen=True)
class ProduceAck:
    partition: int
    seq: int
    offset: int


@dataclass(frozen=True)
class ProduceError:
    partition: int
    seq: int  # refused: too few in-sync replicas for acks=all


@dataclass(frozen=True)
class NotLeader:
    partition: int


@dataclass(frozen=True)
class Metadata:
    pass


@dataclass(frozen=True)
class MetadataReply:
    leaders: tuple[tuple[int, str | None], ...]  # (leader epoch, leader) per partition


@dataclass(frozen=True)
class Fetch:
    partition: int
    offset: int


@dataclass(frozen=True)
class Records:
    partition: int
    offset: int
    keys: tuple[str, ...]  # the keys of offsets offset, offset + 1, ...
    seqs: tuple[int, ...] = ()  # their producer sequence numbers


@dataclass(frozen=True)
class PartitionState:
    """The controller's word on a partition; `version` orders them (KIP-497's partition
    epoch), so a copy the network delays or repeats changes nothing."""

    partition: int
    leader: str | None
    epoch: int  # the leader epoch
    isr: tuple[str, ...]
    version: int


@dataclass(frozen=True)
class BrokerHeartbeat:
    versions: tuple[int, ...]  # the version of each partition's state the broker has


@dataclass(frozen=True)
class AlterIsr:
    partition: int
    epoch: int
    version: int  # the state the change is based on
    isr: tuple[str, ...]


@dataclass(frozen=True)
class ReplicaFetch:
    partition: int
    epoch: int
    offset: int  # the follower's log end
    number: int  # the follower's count of its fetches: only the answer to the last counts


@dataclass(frozen=True)
class ReplicaRecords:
    partition: int
    epoch: int
    offset: int
    entries: tuple[tuple[str, int, int], ...]  # (key, seq, epoch) from offset on
    hw: int
    number: int  # the fetch this answers


@dataclass(frozen=True)
class EpochQuery:
    partition: int
    leader_epoch: int
    epoch: int  # the last epoch in the follower's log


@dataclass(frozen=True)
class EpochEnd:
    partition: int
    leader_epoch: int
    epoch: int  # the largest epoch in the leader's log not above the one asked about
    end: int  # where that epoch ends in the leader's log


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
    brokers: tuple[str, ...] = (BROKER,)
    acks: str = "all"
    min_insync: int = 1


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


def replicas(p: int, brokers: tuple[str, ...]) -> tuple[str, ...]:
    """Give partition p's replicas, its preferred leader first: the brokers, rotated by p."""
    k = p % len(brokers)
    return brokers[k:] + brokers[:k]


def initial_state(p: int, brokers: tuple[str, ...]) -> PartitionState:
    """Give partition p's state at the start: its preferred leader, every replica in sync."""
    order = replicas(p, brokers)
    return PartitionState(p, order[0], 0, order, 0)


def end_of_epoch(log: list[tuple[str, int, int]], epoch: int) -> int:
    """Give where `epoch` ends in `log`: the offset of its first entry of a later epoch."""
    return next((o for o, entry in enumerate(log) if entry[2] > epoch), len(log))


class Client(Node):
    """What the producer and consumers share: a cache of each partition's leader, refreshed
    from the controller when a request fails."""

    def __init__(self, name: str, sim: Simulation, config: Config) -> None:
        super().__init__(name, sim)
        self.config = config
        self.forget_leaders()

    def forget_leaders(self) -> None:
        self.leaders = [
            (0, initial_state(p, self.config.brokers).leader) for p in range(self.config.partitions)
        ]
        self.asked = -RETRY  # when metadata was last asked for

    def ask_leaders(self) -> None:
        """Ask the controller who leads now, at most once per RETRY ms; with one broker
        nothing can change, so nothing is asked."""
        if len(self.config.brokers) > 1 and self.sim.now - self.asked >= RETRY:
            self.asked = self.sim.now
            self.send(BROKER, Metadata(), label="metadata")

    def on_MetadataReply(self, reply: MetadataReply, src: str, msg_id: int) -> None:
        for p, (epoch, leader) in enumerate(reply.leaders):
            if epoch > self.leaders[p][0]:
                self.leaders[p] = (epoch, leader)

    def on_NotLeader(self, msg: NotLeader, src: str, msg_id: int) -> None:
        self.ask_leaders()


class Producer(Client):
    """Sends keyed records to each partition's leader; keeps unacked ones in a durable outbox
    and resends them."""

    def __init__(self, name: str, sim: Simulation, config: Config) -> None:
        super().__init__(name, sim, config)
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
        key, leader = self.outbox[(partition, seq)], self.leaders[partition][1]
        lowest = min(s for p, s in self.outbox if p == partition)
        if leader is not None:
            msg = Produce(partition, seq, key, lowest)
            self.send(leader, msg, label=f"{key} → p{partition}")
        self.set_timer(RETRY, self.resend, partition, seq)

    def resend(self, partition: int, seq: int) -> None:
        if (partition, seq) in self.outbox:
            self.ask_leaders()
            self.send_record(partition, seq)

    def on_ProduceAck(self, ack: ProduceAck, src: str, msg_id: int) -> None:
        key = self.outbox.pop((ack.partition, ack.seq), None)
        if key is not None:
            self.record("ack", partition=ack.partition, offset=ack.offset, seq=ack.seq, key=key)

    def on_ProduceError(self, err: ProduceError, src: str, msg_id: int) -> None:
        pass  # too few replicas in sync: the retry timer sends the record again


class Leadership:
    """What a leader keeps of one partition while it leads it (all volatile)."""

    def __init__(self, state: PartitionState, start: int, now: float) -> None:
        self.epoch, self.version, self.start = state.epoch, state.version, start
        self.isr = set(state.isr)  # the controller's word
        self.adding: set[str] = set()  # asked to join the ISR, not yet confirmed
        self.fetched: dict[str, int] = {}  # follower -> its log end, from its fetches
        self.caught_up = dict.fromkeys(state.isr, now)  # follower -> last time caught up
        self.answered: dict[str, tuple[int, float]] = {}  # follower -> (our end, when)
        self.parked: dict[str, tuple[int, int]] = {}  # follower -> a fetch held for data
        self.waiting: dict[int, tuple[int, str]] = {}  # seq -> (offset, producer) to ack


class Following:
    """What a follower keeps of one partition (volatile)."""

    def __init__(self, leader: str, epoch: int) -> None:
        self.leader, self.epoch = leader, epoch
        self.phase = "truncate"  # then "fetch"
        self.fetches = 0  # fetches sent; the last one is outstanding


class Broker(Node):
    """A replica of every partition: the leader of some, a follower of the others."""

    def __init__(self, name: str, sim: Simulation, config: Config) -> None:
        super().__init__(name, sim)
        self.config = config
        self.logs: list[list[tuple[str, int, int]]] = [[] for _ in range(config.partitions)]
        self.hw = [0] * config.partitions  # durable, like Kafka's checkpoint file
        self.known: list[PartitionState | None] = [
            initial_state(p, config.brokers) for p in range(config.partitions)
        ]
        self.lead: dict[int, Leadership] = {}
        self.follow: dict[int, Following] = {}

    @property
    def replicated(self) -> bool:
        return len(self.config.brokers) > 1

    def on_start(self) -> None:
        for p in range(self.config.partitions):
            self.take_role(p)
        self.start_timers()

    def start_timers(self) -> None:
        if self.replicated:
            self.set_timer(ISR_CHECK, self.check_isr)
            if self.name != BROKER:
                self.heartbeat()

    def on_crash(self) -> None:
        self.lead, self.follow = {}, {}
        self.known = [None] * self.config.partitions

    def on_restart(self) -> None:
        self.start_timers()  # the controller answers the first heartbeat with every state

    def heartbeat(self) -> None:
        versions = tuple(-1 if s is None else s.version for s in self.known)
        self.send(BROKER, BrokerHeartbeat(versions), label="heartbeat")
        self.set_timer(HEARTBEAT, self.heartbeat)

    # -- roles ----------------------------------------------------------------------------
    def on_PartitionState(self, state: PartitionState, src: str, msg_id: int) -> None:
        known = self.known[state.partition]
        if known is None or state.version > known.version:
            self.known[state.partition] = state
            self.take_role(state.partition)

    def take_role(self, p: int) -> None:
        """Lead, follow or wait, as the controller's latest state of p says."""
        state = self.known[p]
        lead, follow = self.lead.get(p), self.follow.get(p)
        if state.leader == self.name:
            self.follow.pop(p, None)
            if lead is not None and lead.epoch == state.epoch:
                # The ISR changed: it is now exactly what the controller says.
                lead.isr, lead.adding, lead.version = set(state.isr), set(), state.version
                self.advance_hw(p)
            else:
                self.lead[p] = Leadership(state, len(self.logs[p]), self.sim.now)
                if self.replicated:  # the watermark it starts from may be behind the last one
                    self.record("hw", partition=p, offset=self.hw[p], epoch=state.epoch)
                self.advance_hw(p)
            return
        self.lead.pop(p, None)  # acks it owed are dropped: the producer retries
        if state.leader is None:
            self.follow.pop(p, None)
        elif follow is None or (follow.leader, follow.epoch) != (state.leader, state.epoch):
            self.follow[p] = Following(state.leader, state.epoch)
            self.ask_epoch_end(p, state.epoch)

    # -- producing ------------------------------------------------------------------------
    def on_Produce(self, req: Produce, src: str, msg_id: int) -> None:
        p, lead = req.partition, self.lead.get(req.partition)
        if lead is None:
            self.send(src, NotLeader(p), label="not leader")
            return
        log = self.logs[p]
        offset = next((o for o in range(len(log) - 1, -1, -1) if log[o][1] == req.seq), None)
        if offset is None:
            last = log[-1][1] if log else -1
            if req.seq <= last or req.seq not in (last + 1, req.lowest):
                return  # an old copy, or an earlier record is missing: the producer retries
            if self.config.acks == "all" and len(lead.isr) < self.config.min_insync:
                self.send(src, ProduceError(p, req.seq), label="too few in sync")
                return
            log.append((req.key, req.seq, lead.epoch))
            offset = len(log) - 1
            self.record(
                "produce", partition=p, offset=offset, key=req.key, seq=req.seq, epoch=lead.epoch
            )
            for follower, fetch in sorted(lead.parked.items()):
                self.answer_follower(p, follower, fetch)
        if self.config.acks == "1":
            self.send(src, ProduceAck(p, req.seq, offset), label="ack")
        else:
            lead.waiting[req.seq] = (offset, src)
        self.advance_hw(p)  # a leader alone in its ISR moves it on its own append

    def advance_hw(self, p: int) -> None:
        """Move the high watermark to what every ISR member (and every replica asked to
        join it) has; ack the records below it if enough replicas are in sync."""
        lead, log = self.lead[p], self.logs[p]
        members = sorted((lead.isr | lead.adding) - {self.name})
        hw = min([len(log)] + [lead.fetched.get(f, 0) for f in members])
        if hw > self.hw[p]:
            self.hw[p] = hw
            self.record("hw", partition=p, offset=hw, epoch=lead.epoch)
        if len(lead.isr) < self.config.min_insync:
            return  # NOT_ENOUGH_REPLICAS_AFTER_APPEND: no ack; the producer retries
        for seq, (offset, producer) in sorted(lead.waiting.items()):
            if offset < self.hw[p]:
                del lead.waiting[seq]
                self.send(producer, ProduceAck(p, seq, offset), label="ack")

    def on_Fetch(self, req: Fetch, src: str, msg_id: int) -> None:
        """Give a consumer the records from its offset, only below the high watermark."""
        p = req.partition
        if p not in self.lead:
            self.send(src, NotLeader(p), label="not leader")
            return
        entries = self.logs[p][req.offset : min(req.offset + BATCH, self.hw[p])]
        keys, seqs = tuple(e[0] for e in entries), tuple(e[1] for e in entries)
        label = f"p{p} {req.offset}-{req.offset + len(keys) - 1}" if keys else "none"
        self.send(src, Records(p, req.offset, keys, seqs), label=label)

    # -- leading: followers' fetches and the ISR -------------------------------------------
    def on_ReplicaFetch(self, req: ReplicaFetch, src: str, msg_id: int) -> None:
        p, lead = req.partition, self.lead.get(req.partition)
        end = len(self.logs[p])
        if lead is None or lead.epoch != req.epoch or req.offset > end:
            return  # not the leader of that epoch: the follower hears of the new one
        lead.fetched[src] = max(lead.fetched.get(src, 0), req.offset)
        if req.offset >= end:
            lead.caught_up[src] = self.sim.now
        elif src in lead.answered and req.offset >= lead.answered[src][0]:
            lead.caught_up[src] = max(lead.caught_up.get(src, 0.0), lead.answered[src][1])
        joins = req.offset >= max(self.hw[p], lead.start)
        if src not in lead.isr | lead.adding and joins:
            lead.adding.add(src)
            self.alter_isr(p)
        self.advance_hw(p)
        fetch = (req.offset, req.number)
        if req.offset < end:
            self.answer_follower(p, src, fetch)
        else:
            lead.parked[src] = fetch
            self.set_timer(FETCH_WAIT, self.unpark, p, lead.epoch, src, fetch)

    def answer_follower(self, p: int, follower: str, fetch: tuple[int, int]) -> None:
        lead, log, (offset, number) = self.lead[p], self.logs[p], fetch
        lead.parked.pop(follower, None)
        lead.answered[follower] = (len(log), self.sim.now)
        entries = tuple(log[offset : offset + BATCH])
        label = f"p{p} {offset}-{offset + len(entries) - 1}" if entries else "none"
        answer = ReplicaRecords(p, lead.epoch, offset, entries, self.hw[p], number)
        self.send(follower, answer, label=label)

    def unpark(self, p: int, epoch: int, follower: str, fetch: tuple[int, int]) -> None:
        lead = self.lead.get(p)
        if lead is not None and lead.epoch == epoch and lead.parked.get(follower) == fetch:
            self.answer_follower(p, follower, fetch)

    def check_isr(self) -> None:
        """Ask the controller to change any ISR whose followers fell behind or caught up."""
        for p in sorted(self.lead):
            self.alter_isr(p)
        self.set_timer(ISR_CHECK, self.check_isr)

    def alter_isr(self, p: int) -> None:
        lead, now = self.lead[p], self.sim.now
        lagging = {
            f for f in lead.isr if f != self.name and now - lead.caught_up.get(f, now) > LAG_MAX
        }
        wanted = (lead.isr - lagging) | lead.adding
        if wanted != lead.isr:
            order = tuple(r for r in replicas(p, self.config.brokers) if r in wanted)
            request = AlterIsr(p, lead.epoch, lead.version, order)
            if self.name == BROKER:
                self.on_AlterIsr(request, self.name, -1)
            else:
                self.send(BROKER, request, label=f"isr p{p}")

    # -- following ------------------------------------------------------------------------
    def ask_epoch_end(self, p: int, epoch: int) -> None:
        """KIP-101: before fetching, learn where our last epoch ends in the leader's log."""
        follow = self.follow.get(p)
        if follow is None or follow.epoch != epoch or follow.phase != "truncate":
            return
        if not self.logs[p]:
            follow.phase = "fetch"
            self.fetch_from_leader(p, epoch)
            return
        query = EpochQuery(p, epoch, self.logs[p][-1][2])
        self.send(follow.leader, query, label=f"p{p} epoch {query.epoch} end?")
        self.set_timer(RETRY, self.ask_epoch_end, p, epoch)

    def on_EpochQuery(self, q: EpochQuery, src: str, msg_id: int) -> None:
        lead, log = self.lead.get(q.partition), self.logs[q.partition]
        if lead is None or lead.epoch != q.leader_epoch:
            return
        found = max((e for _, _, e in log if e <= q.epoch), default=-1)
        self.send(
            src,
            EpochEnd(q.partition, q.leader_epoch, found, end_of_epoch(log, found)),
            label=f"ends at {end_of_epoch(log, found)}",
        )

    def on_EpochEnd(self, r: EpochEnd, src: str, msg_id: int) -> None:
        p, follow = r.partition, self.follow.get(r.partition)
        if follow is None or follow.epoch != r.leader_epoch or follow.phase != "truncate":
            return
        log = self.logs[p]
        keep = min(r.end, end_of_epoch(log, r.epoch))
        if keep < len(log):
            cut = log[keep:]
            del log[keep:]
            self.hw[p] = min(self.hw[p], keep)
            self.record(
                "truncate",
                partition=p,
                offset=keep,
                keys=[e[0] for e in cut],
                seqs=[e[1] for e in cut],
            )
        follow.phase = "fetch"
        self.fetch_from_leader(p, follow.epoch)

    def fetch_from_leader(self, p: int, epoch: int) -> None:
        follow = self.follow.get(p)
        if follow is None or follow.epoch != epoch or follow.phase != "fetch":
            return
        follow.fetches += 1
        fetch = ReplicaFetch(p, epoch, len(self.logs[p]), follow.fetches)
        self.send(follow.leader, fetch, label=f"replica fetch p{p}")
        self.set_timer(FETCH_WAIT + RETRY, self.refetch_from_leader, p, epoch, follow.fetches)

    def refetch_from_leader(self, p: int, epoch: int, number: int) -> None:
        follow = self.follow.get(p)
        if follow is not None and follow.fetches == number:
            self.fetch_from_leader(p, epoch)

    def on_ReplicaRecords(self, r: ReplicaRecords, src: str, msg_id: int) -> None:
        p, follow, log = r.partition, self.follow.get(r.partition), self.logs[r.partition]
        if follow is None or follow.epoch != r.epoch or follow.phase != "fetch":
            return
        if r.number != follow.fetches or r.offset != len(log):
            return  # a late or repeated answer
        if r.entries:
            log.extend(r.entries)
            self.record(
                "replicate",
                partition=p,
                offset=r.offset,
                keys=[e[0] for e in r.entries],
                seqs=[e[1] for e in r.entries],
                epochs=[e[2] for e in r.entries],
            )
        self.hw[p] = max(self.hw[p], min(r.hw, len(log)))
        self.fetch_from_leader(p, r.epoch)


class Controller(Broker):
    """n1: a broker that is also the controller (partition leaders and ISRs, broker
    liveness) and the group coordinator (membership, assignment, commits)."""

    def __init__(self, name: str, sim: Simulation, config: Config) -> None:
        super().__init__(name, sim, config)
        parts = range(config.partitions)
        self.states = [initial_state(p, config.brokers) for p in parts]  # durable
        self.brokers_seen = dict.fromkeys(config.brokers[1:], 0.0)  # volatile: live brokers
        self.committed = [0] * config.partitions  # durable: the offsets topic
        self.generation = 0  # durable
        self.assignment: dict[str, list[int]] = {}  # durable
        self.last_seen: dict[str, float] = {}  # volatile: live members
        self.rebalance_timer = None

    def on_start(self) -> None:
        for state in self.states:
            self.record_state(state)
        super().on_start()
        self.set_timer(HEARTBEAT, self.expire_members)

    def on_restart(self) -> None:
        # Give every member of the stored assignment, and every broker, a whole session.
        self.last_seen = {member: self.sim.now for member in sorted(self.assignment)}
        self.brokers_seen = dict.fromkeys(self.config.brokers[1:], self.sim.now)
        self.rebalance_timer = None
        self.known = list(self.states)
        for p in range(self.config.partitions):
            self.take_role(p)
        self.start_timers()
        self.set_timer(HEARTBEAT, self.expire_members)

    # -- the controller -------------------------------------------------------------------
    def record_state(self, s: PartitionState) -> None:
        self.record(
            "isr",
            partition=s.partition,
            leader=s.leader,
            epoch=s.epoch,
            isr=list(s.isr),
            version=s.version,
        )

    def publish(self, state: PartitionState) -> None:
        """Store a partition's new state and tell every broker, n1's own replica first."""
        self.states[state.partition] = state
        self.record_state(state)
        self.on_PartitionState(state, self.name, -1)
        for broker in self.config.brokers[1:]:
            self.send(broker, state, label=self.state_label(state))

    @staticmethod
    def state_label(s: PartitionState) -> str:
        return f"p{s.partition}: {s.leader or 'none'} leads, isr {' '.join(s.isr)}"

    def alive(self, broker: str) -> bool:
        return broker == self.name or broker in self.brokers_seen

    def on_BrokerHeartbeat(self, hb: BrokerHeartbeat, src: str, msg_id: int) -> None:
        returning = src not in self.brokers_seen
        self.brokers_seen[src] = self.sim.now
        if returning:
            self.unfence(src)
        for state, version in zip(self.states, hb.versions, strict=True):
            if state.version != version:
                self.send(src, state, label=self.state_label(state))

    def fence(self, broker: str) -> None:
        """A broker fell silent: it leaves every ISR (but a last member stays, so that only
        it may lead again), and its partitions get new leaders from their ISRs."""
        for s in list(self.states):
            if broker not in s.isr and broker != s.leader:
                continue
            isr = tuple(r for r in s.isr if r != broker)
            leader = s.leader
            if leader == broker:
                order = replicas(s.partition, self.config.brokers)
                leader = next((r for r in order if r in isr and self.alive(r)), None)
            isr = isr or (broker,)
            if (leader, isr) != (s.leader, s.isr):
                epoch = s.epoch + (leader != s.leader)
                self.publish(PartitionState(s.partition, leader, epoch, isr, s.version + 1))

    def unfence(self, broker: str) -> None:
        """A broker is back: it leads again any partition whose last in-sync replica it is."""
        for s in list(self.states):
            if s.leader is None and broker in s.isr:
                self.publish(PartitionState(s.partition, broker, s.epoch + 1, s.isr, s.version + 1))

    def on_AlterIsr(self, req: AlterIsr, src: str, msg_id: int) -> None:
        s = self.states[req.partition]
        current = (src, req.epoch, req.version) == (s.leader, s.epoch, s.version)
        if not current or not all(self.alive(r) for r in req.isr) or src not in req.isr:
            return  # stale, or it would take in a fenced broker: refused
        if set(req.isr) != set(s.isr):
            self.publish(PartitionState(s.partition, s.leader, s.epoch, req.isr, s.version + 1))

    def on_Metadata(self, req: Metadata, src: str, msg_id: int) -> None:
        leaders = tuple((s.epoch, s.leader) for s in self.states)
        self.send(src, MetadataReply(leaders), label="leaders")

    # -- the group coordinator -----------------------------------------------------------
    def on_Heartbeat(self, hb: Heartbeat, src: str, msg_id: int) -> None:
        known = src in self.last_seen
        self.last_seen[src] = self.sim.now
        if not known:
            self.schedule_rebalance()
        elif hb.generation != self.generation and src in self.assignment:
            self.send_assignment(src)

    def expire_members(self) -> None:
        """Drop members and brokers silent for a whole session."""
        for member in sorted(self.last_seen):
            if self.sim.now - self.last_seen[member] > SESSION:
                del self.last_seen[member]
                self.schedule_rebalance()
        for broker in sorted(self.brokers_seen):
            if self.sim.now - self.brokers_seen[broker] > SESSION:
                del self.brokers_seen[broker]
                self.fence(broker)
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


class Consumer(Client):
    """Fetches and processes its partitions' records; commits before or after, by mode.

    Everything here is volatile: a restarted consumer starts from the committed offsets.
    Each partition it holds has a tenure number, so a timer or reply from an earlier
    tenure (or a copy the network repeated) is recognised and ignored.
    """

    def __init__(self, name: str, sim: Simulation, config: Config) -> None:
        super().__init__(name, sim, config)
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
        self.forget_leaders()

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
        leader = self.leaders[p][1]
        if leader is not None:
            self.send(leader, Fetch(p, self.position[p]), label=f"fetch p{p}@{self.position[p]}")
        self.set_timer(RETRY, self.refetch, p, tenure, self.position[p])

    def refetch(self, p: int, tenure: int, offset: int) -> None:
        if self.tenure.get(p) == tenure and self.waiting.get(p) == ("records", offset):
            self.ask_leaders()
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
        seq = batch.seqs[i] if batch.seqs else None
        self.record("process", partition=p, offset=offset, key=batch.keys[i], seq=seq)
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


def broker_names(params: Mapping[str, object]) -> tuple[str, ...]:
    """Give the brokers: n1, then the names after the consumers, so that adding brokers
    leaves the producer n2 and the consumers n3.. where they were."""
    after = 3 + int(params["consumers"])
    return (BROKER,) + tuple(f"n{after + i}" for i in range(int(params.get("brokers", 1)) - 1))


def node_names(params: Mapping[str, object]) -> list[str]:
    """Give the nodes: n1 broker, controller and coordinator, n2 producer, n3.. the
    consumers, then any further brokers."""
    consumers = [f"n{3 + i}" for i in range(int(params["consumers"]))]
    return [BROKER, PRODUCER, *consumers, *broker_names(params)[1:]]


def roles(params: Mapping[str, object]) -> dict[str, str]:
    """Give each node's part: broker (n1 also the controller), producer or consumer."""
    brokers = broker_names(params)
    return {
        n: "broker" if n in brokers else "producer" if n == PRODUCER else "consumer"
        for n in node_names(params)
    }


def simulate(params: dict) -> dict:
    """Run the brokers, producer and consumer group with effective `params`; give the trace."""
    names = node_names(params)
    faults = parse_schedule(params["faults"], names, params["duration"])
    sim = Simulation.from_params(params, latency=LATENCY)
    deadline = float(params["duration"]) * PRODUCE_SHARE
    spacing = min(deadline / int(params["records"]), 150.0)
    brokers = broker_names(params)
    config = Config(
        params["partitions"],
        params["records"],
        params["commit"],
        spacing,
        deadline,
        brokers,
        params["acks"],
        params["min_insync"],
    )
    sim.add(Controller(BROKER, sim, config))
    sim.add(Producer(PRODUCER, sim, config))
    for name in names[2 : 2 + int(params["consumers"])]:
        sim.add(Consumer(name, sim, config))
    for name in brokers[1:]:
        sim.add(Broker(name, sim, config))
    sim.apply_faults(faults)
    sim.run(params["duration"])
    return sim.trace_doc(names, roles=roles(params), brokers=list(brokers))


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


CHECKS = kafka_checks.CHECKS


def has_time(params: Mapping[str, object]) -> bool:
    """Give whether a quiet run leaves time to process every record: all records are made
    by the deadline, and even if every key fell in one partition its records' work, with
    room for fetches and polls, ends before the run does."""
    duration, records = float(params["duration"]), int(params["records"])
    work = records * (WORK + 10.0)
    return max(duration * PRODUCE_SHARE, work) + SETTLE <= duration


def NOT_GUARANTEED(params: Mapping[str, object]) -> tuple[str, ...]:  # noqa: N802 - see search.py
    """Give the checks the settings give up: at-most-once may lose records, at-least-once may
    repeat them, acks=1 may lose an acknowledged record in a failover; finishing by the end
    needs a quiet network, no faults and time enough."""
    weak = ("check_acked_survive",) if params.get("acks") == "1" else ()
    if params["commit"] == "before":
        return ("check_no_loss", "check_all_processed", *weak)
    quiet = not params["faults"] and not params["drop"] and not params["reorder"]
    return ("check_no_duplicates",) + (() if quiet and has_time(params) else
                                       ("check_all_processed",)) + weak  # fmt: skip


def summarize(trace: dict, checks: list[Check]) -> str:
    """Give one sentence: records written, processed, repeated and lost, and the rebalances."""
    records, done = kafka_checks.written(trace), kafka_checks.times_processed(trace)
    rebalances = sum(1 for e in trace["events"] if e["kind"] == "rebalance")
    repeats, lost = kafka_checks.duplicates(trace), len(kafka_checks.lost_records(trace))
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
    gone = len(kafka_checks.lost_acks(trace))
    if gone:
        text += f", {_count(gone, 'acknowledged record')} gone from the log"
    return f"{text}; {_count(rebalances, 'rebalance')}."


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + "s" * (n != 1)
