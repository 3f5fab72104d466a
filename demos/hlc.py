"""Hybrid logical clocks against physical timestamps, after Kulkarni, Demirbas, Madappa, Avva
and Leone, "Logical Physical Clocks" (OPODIS 2014), as CockroachDB uses them.

Each process has a physical clock that reads real time plus a fixed offset in [0, skew] ms
(one process at 0 and one at `skew`, so `skew` is the largest difference between any two).
In `hlc` mode every event gets an HLC timestamp (l, c): l is the largest physical reading
the process has heard of, c counts events within one l. In `physical` mode an event's
timestamp is just its clock reading, [pt, 0].

The processes share one register, kept as timestamped versions (MVCC) by its leaseholder n1,
as a CockroachDB range is: any process is a gateway that writes a value with its own clock's
timestamp or reads at its own clock's timestamp, by a message to n1 (n1's own operations need
none). The register's value is the version with the highest timestamp: last writer wins.
A read at timestamp t sees the newest version at or below t; a version in (t, t + max offset]
may have been written before the read began on a clock that runs ahead, so n1 answers that the
read is uncertain and the gateway restarts it at that version's timestamp, keeping the upper
end of its first interval (CockroachDB's uncertainty restart). The max offset is `skew`.

A process handles one thing at a time, each in its own millisecond (one event per step), so
two events of one process never read the same physical clock. The HLC state (l, c) and n1's
versions survive a crash, as if kept on disk; an operation in progress does not. Timing
(virtual ms): one-way latency 10-20; an operation without an answer for 200 ms is given up.
"""

from __future__ import annotations

import itertools
import math
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from .clocks import Causality, TraceError, causality, split_trace
from .faults import parse_schedule
from .params import Param, common_params
from .result import Check
from .sim import Node, Simulation

NAME = "hlc"
TITLE = "Hybrid logical clocks against physical timestamps"
PARAMS = common_params(duration=1000) + (
    Param("processes", "int", 3, "Processes", "How many processes; n1 holds the register.",
          min=2, max=8),
    Param("skew", "int", 50, "Clock skew (ms)",
          "The largest difference between any two processes' clocks; also the max offset "
          "the database assumes.", min=0, max=1000),
    Param("mode", "choice", "hlc", "Timestamps",
          "hlc: hybrid logical clocks (l, c); physical: each process's clock reading.",
          choices=("physical", "hlc")),
    Param("uncertainty", "choice", "true", "Uncertainty restarts",
          "Whether a read that meets a version within its uncertainty interval restarts.",
          choices=("true", "false")),
    Param("rate", "float", 5.0, "Operations per second",
          "How often each process starts a read or a write, on average per second.",
          min=0.5, max=20.0, step=0.5),
)  # fmt: skip

LATENCY_MS = (10.0, 20.0)
TIMEOUT_MS = 200.0  # no answer by then: the gateway gives the operation up
WRITE_SHARE = 0.5
LEASEHOLDER = "n1"

Ts = tuple[int, int]  # (l, c); (pt, 0) in physical mode
ZERO: Ts = (0, 0)
INITIAL = "\u2205"  # the register's value before any write


@dataclass(frozen=True)
class Write:
    write: int
    value: str
    ts: Ts  # the write's timestamp
    stamp: Ts  # the sender's clock, for the receiver to merge (the same as ts here)


@dataclass(frozen=True)
class Ack:
    write: int
    stamp: Ts


@dataclass(frozen=True)
class Read:
    read: int
    attempt: int
    ts: Ts  # read at this timestamp
    limit: int  # ... treating versions up to l = limit as uncertain
    stamp: Ts


@dataclass(frozen=True)
class Reply:
    read: int
    attempt: int
    value: str
    vts: Ts  # the version read, or the uncertain one that forces a restart
    uncertain: bool
    stamp: Ts


def hlc_send(l: int, c: int, pt: int) -> Ts:  # noqa: E741 (the paper's names)
    """Give (l, c) after a send or local event: l follows the physical clock if it is ahead;
    otherwise l stays and c counts up (Kulkarni et al., Figure 5, send/local)."""
    new_l = max(l, pt)
    return new_l, c + 1 if new_l == l else 0


def hlc_receive(l: int, c: int, ml: int, mc: int, pt: int) -> Ts:  # noqa: E741
    """Give (l, c) after receiving a message stamped (ml, mc): l is the largest of the three
    readings, c one above the counters that came with that l (Figure 5, receive)."""
    new_l = max(l, ml, pt)
    if new_l == l == ml:
        return new_l, max(c, mc) + 1
    if new_l == l:
        return new_l, c + 1
    if new_l == ml:
        return new_l, mc + 1
    return new_l, 0


def visible(
    versions: list[tuple[Ts, str]], ts: Ts, limit: int, uncertainty: bool
) -> tuple[Ts, str, bool]:
    """Give what a read at `ts` meets in `versions` (sorted): (timestamp, value, uncertain).

    The newest version in the uncertainty interval (ts, limit] wins if there is one (the
    read must restart above it); else the newest version at or below ts.
    """
    seen = (ZERO, INITIAL)
    for vts, value in versions:
        if vts <= ts:
            seen = (vts, value)
        elif uncertainty and vts[0] <= limit:
            return vts, value, True
    return seen[0], seen[1], False


class Process(Node):
    """A gateway for reads and writes of the register; n1 also holds it (the leaseholder)."""

    def __init__(
        self,
        name: str,
        sim: Simulation,
        *,
        offset: int,
        hybrid: bool,
        max_offset: int,
        uncertainty: bool,
        mean_gap: float,
        ids: Mapping[str, Iterator[int]],
    ) -> None:
        super().__init__(name, sim)
        self.offset = offset
        self.hybrid = hybrid
        self.max_offset = max_offset
        self.uncertainty = uncertainty
        self.mean_gap = mean_gap
        self.ids = ids
        self.lease = name == LEASEHOLDER
        # Kept across a crash (on disk): the clock state and, at n1, the versions.
        self.l, self.c = ZERO
        self.versions: list[tuple[Ts, str]] = []
        self._forget_volatile_state()

    def _forget_volatile_state(self) -> None:
        self.inbox: deque[tuple[Callable, tuple]] = deque()
        self.free_at = 0.0
        self.working = False  # a step is scheduled
        # The operation in progress: ("write", id, value, ts) or ("read", id, attempt, limit).
        self.op: tuple | None = None

    # -- one step at a time, each in its own millisecond -------------------------------------
    def enqueue(self, step: Callable, *args: object) -> None:
        """Handle `step(*args)` once every earlier step is done."""
        self.inbox.append((step, args))
        if not self.working:
            self.working = True
            self.set_timer(max(self.free_at - self.sim.now, 0.0), self._work)

    def _work(self) -> None:
        step, args = self.inbox.popleft()
        step(*args)
        self.free_at = math.floor(self.sim.now) + 1.0
        if self.inbox:
            self.set_timer(self.free_at - self.sim.now, self._work)
        else:
            self.working = False

    def deliver(self, msg: object, src: str, msg_id: int) -> None:
        self.enqueue(self._receive, msg, src, msg_id)

    def _receive(self, msg: object, src: str, msg_id: int) -> None:
        self.merge(msg.stamp)
        getattr(self, f"on_{type(msg).__name__}")(msg, src, msg_id)

    # -- clocks ------------------------------------------------------------------------------
    def pt(self) -> int:
        """Give this process's physical clock reading, in whole ms."""
        return math.floor(self.sim.now) + self.offset

    def tick(self) -> Ts:
        """Give the timestamp of a send or local event, advancing the clock."""
        pt = self.pt()
        self.l, self.c = hlc_send(self.l, self.c, pt) if self.hybrid else (pt, 0)
        return self.l, self.c

    def merge(self, stamp: Ts) -> None:
        """Advance the clock for a receive of a message stamped `stamp`."""
        pt = self.pt()
        self.l, self.c = hlc_receive(self.l, self.c, *stamp, pt) if self.hybrid else (pt, 0)

    def event(self, kind: str, **data: object) -> int:
        """Record an event with the clock as it is now; give its id."""
        return self.record(kind, pt=self.pt(), ts=[self.l, self.c], **data)

    def send_op(self, msg: object, label: str, **data: object) -> None:
        """Record a send event to the leaseholder or back, and send `msg` with it."""
        dst = data.pop("peer")
        event = self.event("send", peer=dst, **data)
        self.sim.trace.events[event]["msg"] = self.send(dst, msg, label=label, event=event)

    # -- a gateway's operations --------------------------------------------------------------
    def on_start(self) -> None:
        self._schedule_next()

    def on_crash(self) -> None:
        self._forget_volatile_state()

    def on_restart(self) -> None:
        self._schedule_next()

    def _schedule_next(self) -> None:
        self.set_timer(self.sim.rng.expovariate(1.0 / self.mean_gap), self._act)

    def _act(self) -> None:
        if self.op is None:
            is_write = self.sim.rng.random() < WRITE_SHARE
            self.enqueue(self.start_write if is_write else self.start_read)
        self._schedule_next()

    def start_write(self) -> None:
        """Write a new value at our clock's timestamp (at n1: apply it at once)."""
        k = next(self.ids["write"])
        value = f"v{k}"
        ts = self.tick()
        if self.lease:
            kept = self.apply(ts, value)
            self.event("local", op="write", write=k, value=value, done=True, kept=kept)
            return
        self.op = ("write", k, value, ts)
        self.send_op(
            Write(k, value, ts, ts),
            f"write {value}",
            op="write",
            write=k,
            value=value,
            peer=LEASEHOLDER,
        )
        self.set_timer(TIMEOUT_MS, self.enqueue, self.give_up, self.op)

    def start_read(self) -> None:
        """Read at our clock's timestamp, uncertain up to max offset above it."""
        k = next(self.ids["read"])
        ts = self.tick()
        self.read_at(k, 1, ts, ts[0] + self.max_offset, "read")

    def read_at(self, k: int, attempt: int, ts: Ts, limit: int, op: str) -> None:
        """Send read `k` (or, at n1, do it) at `ts` with uncertainty up to `limit`."""
        if self.lease:
            vts, value, uncertain = visible(self.versions, ts, limit, self.uncertainty)
            found = {"uncertain": list(vts)} if uncertain else {"returns": [value, list(vts)]}
            self.event("local", op=op, read=k, attempt=attempt, rts=list(ts), limit=limit, **found)
            if uncertain:
                self.enqueue(self.restart_read, k, attempt, vts, limit)
            return
        self.op = ("read", k, attempt, limit)
        self.send_op(
            Read(k, attempt, ts, limit, (self.l, self.c)),
            f"read @{ts[0]}.{ts[1]}",
            op=op,
            read=k,
            attempt=attempt,
            rts=list(ts),
            limit=limit,
            peer=LEASEHOLDER,
        )
        self.set_timer(TIMEOUT_MS, self.enqueue, self.give_up, self.op)

    def restart_read(self, k: int, attempt: int, vts: Ts, limit: int) -> None:
        """Restart read `k` above the uncertain version `vts`, keeping the interval's end."""
        if not self.lease and self.op != ("read", k, attempt, limit):
            return  # given up meanwhile
        ts = max(self.tick(), vts)  # under HLC the tick is already above vts: we received it
        self.read_at(k, attempt + 1, ts, limit, "restart")

    def give_up(self, op: tuple) -> None:
        if self.op == op:
            self.op = None
            self.tick()
            self.event("local", op="give-up", **{op[0]: op[1]})

    def on_Ack(self, msg: Ack, src: str, msg_id: int) -> None:
        if self.op is None or self.op[:2] != ("write", msg.write):
            self.event("recv", op="late", write=msg.write, peer=src, msg=msg_id)
            return
        _, k, value, ts = self.op
        self.event("recv", op="acked", write=k, value=value, wts=list(ts), peer=src, msg=msg_id)
        self.op = None

    def on_Reply(self, msg: Reply, src: str, msg_id: int) -> None:
        current = self.op is not None and self.op[:3] == ("read", msg.read, msg.attempt)
        common = {"read": msg.read, "attempt": msg.attempt, "peer": src, "msg": msg_id}
        if not current:
            self.event("recv", op="late", **common)
        elif msg.uncertain:
            self.event("recv", op="uncertain", uncertain=list(msg.vts), **common)
            self.enqueue(self.restart_read, msg.read, msg.attempt, msg.vts, self.op[3])
        else:
            self.event("recv", op="result", returns=[msg.value, list(msg.vts)], **common)
            self.op = None

    # -- the leaseholder ---------------------------------------------------------------------
    def apply(self, ts: Ts, value: str) -> bool:
        """Keep a version (once: a repeat changes nothing); give whether it is now the value
        of the register, the newest version (last writer wins)."""
        if (ts, value) not in self.versions:
            self.versions.append((ts, value))
            self.versions.sort()
        return self.versions[-1] == (ts, value)

    def on_Write(self, msg: Write, src: str, msg_id: int) -> None:
        kept = self.apply(msg.ts, msg.value)
        self.event(
            "recv",
            op="apply",
            write=msg.write,
            value=msg.value,
            wts=list(msg.ts),
            kept=kept,
            peer=src,
            msg=msg_id,
        )
        self.enqueue(self.reply, src, "ack", msg.write, None)

    def on_Read(self, msg: Read, src: str, msg_id: int) -> None:
        vts, value, uncertain = visible(self.versions, msg.ts, msg.limit, self.uncertainty)
        self.event(
            "recv",
            op="serve",
            read=msg.read,
            attempt=msg.attempt,
            rts=list(msg.ts),
            value=value,
            vts=list(vts),
            uncertain=uncertain,
            peer=src,
            msg=msg_id,
        )
        self.enqueue(self.reply, src, "reply", msg, (value, vts, uncertain))

    def reply(self, dst: str, op: str, about: object, found: tuple | None) -> None:
        """Answer a write with an ack, or a read with what it found."""
        stamp = self.tick()
        if found is None:
            self.send_op(Ack(about, stamp), f"ack v{about}", op=op, write=about, peer=dst)
            return
        value, vts, uncertain = found
        label = f"uncertain {value}" if uncertain else f"{value}"
        self.send_op(
            Reply(about.read, about.attempt, value, vts, uncertain, stamp),
            label,
            op=op,
            read=about.read,
            attempt=about.attempt,
            peer=dst,
        )


def node_names(params: Mapping[str, object]) -> list[str]:
    """Give the process names n1..nN."""
    return [f"n{i}" for i in range(1, int(params["processes"]) + 1)]


def clock_offsets(rng, count: int, skew: int) -> list[int]:
    """Give each process's clock offset in whole ms: one at 0, one at `skew`, the rest drawn
    in between, in random order, so the largest difference is exactly `skew`."""
    offsets = [0, skew] + [rng.randint(0, skew) for _ in range(count - 2)]
    rng.shuffle(offsets)
    return offsets


def simulate(params: Mapping[str, object]) -> dict:
    """Give the trace document of a run with effective `params`."""
    names = node_names(params)
    duration, skew = float(params["duration"]), int(params["skew"])
    sim = Simulation.from_params(params, latency=LATENCY_MS)
    offsets = dict(zip(names, clock_offsets(sim.rng, len(names), skew), strict=True))
    ids = {"write": itertools.count(1), "read": itertools.count(1)}
    for name in names:
        sim.add(Process(name, sim, offset=offsets[name], hybrid=params["mode"] == "hlc",
                        max_offset=skew, uncertainty=params["uncertainty"] == "true",
                        mean_gap=1000.0 / float(params["rate"]), ids=ids))  # fmt: skip
    sim.apply_faults(parse_schedule(str(params["faults"]), names, duration))
    sim.run(duration)
    events, messages, downtime = split_trace(sim)
    handled = {e["msg"]: e for e in events if e["kind"] == "recv"}
    for m in messages:
        # A message counts as received when its process takes it up (the recv event), not
        # when it reaches the inbox; one still queued at a crash or at the end is lost.
        if m["id"] in handled:
            m["recv"] = handled[m["id"]]["t"]
        elif m["status"] == "delivered":
            m.update(
                status="lost",
                recv=None,
                reason="receiver crashed before handling it"
                if _crashed_before(downtime, m)
                else "in flight at the end",
            )
    return {
        "nodes": names,
        "events": events,
        "messages": messages,
        "downtime": downtime,
        "partitions": sim.partitions,
        "offsets": offsets,
        "max_offset": skew,
        "leaseholder": LEASEHOLDER,
    }


def _crashed_before(downtime: list[dict], m: dict) -> bool:
    return any(d["node"] == m["dst"] and d["start"] >= m["recv"] for d in downtime)


# -- checks ------------------------------------------------------------------------------------
CAUSALITY = "Causality: e \u2192 f implies ts(e) < ts(f)"
BOUND = "HLC bound: l \u2212 pt \u2264 max offset"
LOST = "Last writer wins keeps causal order"
STALE = "No stale reads"


def _name(e: dict) -> str:
    return f"{e['node']} {e.get('op', e['kind'])} at {e['t']:g} ms [{e['ts'][0]},{e['ts'][1]}]"


def check_causality(trace: Mapping) -> Check:
    """Give whether timestamps respect happens-before: ts(e) < ts(f) whenever e -> f.

    The direct edges (program order, send -> receive) suffice: happens-before is their
    transitive closure and < is transitive.
    """
    try:
        cause = causality(trace)
    except TraceError as err:
        return err.check(CAUSALITY)
    events = cause.events
    bad = [(j, i) for i, edges in enumerate(cause.preds) for j in edges
           if not events[j]["ts"] < events[i]["ts"]]  # fmt: skip
    if not bad:
        return Check(
            CAUSALITY,
            True,
            f"on all {sum(len(p) for p in cause.preds)} causal edges among {len(events)} events",
        )
    a, b = events[bad[0][0]], events[bad[0][1]]
    return Check(
        CAUSALITY,
        False,
        f"{len(bad)} causal edge(s) go back in time; first: {_name(a)} happens before {_name(b)}",
        t=b["t"],
        node=b["node"],
    )


def check_bound(trace: Mapping) -> Check:
    """Give whether l stays within the max offset of the process's own clock: l - pt <= eps."""
    eps = int(trace["max_offset"])
    worst = max(trace["events"], key=lambda e: (e["ts"][0] - e["pt"], -e["t"]), default=None)
    if worst is None:
        return Check(BOUND, True, "no events")
    drift = worst["ts"][0] - worst["pt"]
    if drift <= eps:
        return Check(BOUND, True, f"largest l \u2212 pt is {drift} ms (max offset {eps} ms)")
    return Check(
        BOUND,
        False,
        f"{_name(worst)}: l \u2212 pt = {drift} ms exceeds the max offset {eps} ms",
        t=worst["t"],
        node=worst["node"],
    )


def lost_writes(trace: Mapping) -> list[tuple[dict, dict]]:
    """Give (earlier, later) pairs of writes where the later one happens after the earlier
    one but has a lower timestamp, so last writer wins throws it away."""
    cause = causality(trace)
    events = cause.events
    writes = [i for i, e in enumerate(events) if e.get("op") == "write"]
    newest = _newest_write_before(cause)
    pairs = []
    for i in writes:
        ts = events[i]["ts"]
        if newest[i] is None or newest[i] < ts:
            continue  # every write that happens before it has a lower timestamp
        # The earliest such write, in event order: the bits of its past, lowest first.
        past = bin(cause.past[i])[:1:-1]  # bit j at index j
        j = past.find("1")
        while not (events[j].get("op") == "write" and not events[j]["ts"] < ts):
            j = past.find("1", j + 1)
        pairs.append((events[j], events[i]))
    return pairs


def _newest_write_before(cause: Causality) -> list[object]:
    """Give for each event the highest timestamp of the writes that happen before it (None:
    no write does): the highest over its direct predecessors and what came before them."""
    events, newest = cause.events, []
    for preds in cause.preds:
        best = None
        for p in preds:
            own = events[p]["ts"] if events[p].get("op") == "write" else None
            for ts in (newest[p], own):
                if ts is not None and (best is None or best < ts):
                    best = ts
        newest.append(best)
    return newest


def check_lost_writes(trace: Mapping) -> Check:
    """Give whether every write that happens after another has the higher timestamp."""
    try:
        pairs = lost_writes(trace)
    except TraceError as err:
        return err.check(LOST)
    writes = sum(1 for e in trace["events"] if e.get("op") == "write")
    if not pairs:
        return Check(LOST, True, f"each of {writes} writes is above every write before it")
    before, after = pairs[0]
    return Check(
        LOST,
        False,
        f"{len(pairs)} write(s) lost; first: {after['value']} by "
        f"{after['node']} [{after['ts'][0]},{after['ts'][1]}] comes after "
        f"{before['value']} [{before['ts'][0]},{before['ts'][1]}] yet is older",
        t=after["t"],
        node=after["node"],
    )


def operations(trace: Mapping) -> tuple[dict, dict]:
    """Give the writes {id: (ts, value, completed at)} (None: not completed) and the reads
    {id: (began at, returned ts, value, event)} that returned."""
    writes, reads = {}, {}
    for e in trace["events"]:
        op = e.get("op")
        if op == "write":
            done = e["t"] if e.get("done") else None
            writes[e["write"]] = (tuple(e["ts"]), e["value"], done)
        elif op == "acked" and e["write"] in writes:
            ts, value, _ = writes[e["write"]]
            writes[e["write"]] = (ts, value, e["t"])
        if op == "read":
            reads[e["read"]] = (e["t"], None, None, e)
        if "returns" in e and e["read"] in reads:
            value, vts = e["returns"]
            reads[e["read"]] = (reads[e["read"]][0], tuple(vts), value, e)
    return writes, {k: r for k, r in reads.items() if r[1] is not None}


def stale_reads(trace: Mapping) -> list[tuple[dict, str, str]]:
    """Give (read's returning event, value returned, newer value) for each read that returned
    a version older than one whose write completed before the read began."""
    writes, reads = operations(trace)
    done = sorted((t, ts, value) for ts, value, t in writes.values() if t is not None)
    # newest[k]: the highest (ts, value) among the first k completed writes, by completion.
    newest: list[tuple | None] = [None]
    for _, ts, value in done:
        newest.append((ts, value) if newest[-1] is None else max(newest[-1], (ts, value)))
    completed = [t for t, _, _ in done]
    stale = []
    for began, vts, value, event in reads.values():
        before = newest[bisect_left(completed, began)]  # the writes completed before `began`
        if before is not None and (vts, value) < before:
            stale.append((event, value, before[1]))
    return stale


def check_stale_reads(trace: Mapping) -> Check:
    """Give whether every read returned a version at least as new as each write that
    completed (in real time) before the read began."""
    _, reads = operations(trace)
    stale = stale_reads(trace)
    if not stale:
        return Check(
            STALE, True, f"each of {len(reads)} reads saw every write completed before it began"
        )
    event, value, newer = stale[0]
    return Check(
        STALE,
        False,
        f"{len(stale)} stale read(s); first: {event['node']} read "
        f"{value} though {newer} was written before the read began",
        t=event["t"],
        node=event["node"],
    )


CHECKS = (check_causality, check_bound, check_lost_writes, check_stale_reads)


def summarize(trace: dict, checks: list[Check]) -> str:
    """Give one line: clocks, operations, restarts, and what broke."""
    params, events = trace["params"], trace["events"]
    writes, reads = operations(trace)
    restarts = len({e["read"] for e in events if e.get("op") == "restart"})
    failed = [c.name.split(":")[0] for c in checks if not c.ok]
    verdict = f"FAILED: {', '.join(failed)}" if failed else "all checks hold"
    mode = "HLC" if params["mode"] == "hlc" else "physical timestamps"
    return (
        f"{len(trace['nodes'])} processes, clocks up to {params['skew']} ms apart, {mode}: "
        f"{len(writes)} writes, {len(reads)} reads ({restarts} restarted as uncertain); "
        f"{verdict}"
    )
