"""Linearizability of a key-value history: Wing & Gong's search with memoised configurations.

A history is a list of Jepsen-style entries `{"process", "type", "f", "key", "value", "t"}`
where `type` is "invoke", "ok", "fail" or "info". Each key is a register of its own, and a
history of independent registers is linearizable exactly when each key's sub-history is
(linearizability is local, Herlihy & Wing 1990), so keys are checked one at a time.

The search walks configurations (the set of ops already linearized, the register value).
An op may be linearized next when no other pending op finished before it was invoked.
Visited configurations are cached (Lowe 2017; Horn & Kroening 2015), so two orders of
concurrent writes are explored once. Reads that match the current value are linearized at
once: doing so never removes an option, so only writes branch, and a write that no later
read returns goes without branching at all. A step looks only at the ops in flight when
the first pending op returned, so its cost grows with the number of processes, not with
the length of the history. The caller gives the search a budget of configurations; when
it runs out, the verdict says so instead of guessing.

- "fail": the op certainly did not happen; it is left out.
- "info" (or no completion at all): the op may take effect at any time after its
  invocation, or never. An unknown read tells nothing and is left out; an unknown write
  may be linearized anywhere after its call, or not at all.
"""

from __future__ import annotations

import random
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass

from .sim import cooperating

INITIAL = None  # every register starts empty
NEVER = float("inf")  # the return time of an op whose outcome is unknown
DEFAULT_LIMIT = 100_000  # configurations explored (all keys together) before giving up


class HistoryError(ValueError):
    """The history is malformed: a completion without an invocation, or the like."""


@dataclass(frozen=True)
class Op:
    """One operation: invocation and completion paired."""

    index: int  # position of its invocation in the history
    process: str
    f: str  # "read" | "write"
    key: str
    value: object  # the value written, or the value the read returned
    call: float
    ret: float  # NEVER when the outcome is unknown
    status: str  # "ok" | "info"
    node: str | None = None

    def describe(self) -> str:
        """Give the op in words, e.g. "c1's read of x (1200-1240 ms) returned 3"."""
        end = "?" if self.ret == NEVER else f"{self.ret:g}"
        span = f"({self.call:g}-{end} ms)"
        if self.f == "read":
            return f"{self.process}'s read of {self.key} {span} returned {show(self.value)}"
        return f"{self.process}'s write of {show(self.value)} to {self.key} {span}"


@dataclass(frozen=True)
class Verdict:
    """The answer: `valid` is True, False, or None when the budget ran out first."""

    valid: bool | None
    detail: str
    op: Op | None = None  # on failure, the op no order can place
    explored: int = 0  # configurations the search looked at

    @property
    def outcome(self) -> str:
        """Give "linearizable", "not linearizable" or "budget exhausted"."""
        if self.valid is None:
            return "budget exhausted"
        return "linearizable" if self.valid else "not linearizable"


def show(value: object) -> str:
    return "nothing" if value is INITIAL else repr(value)


def pair(history: Iterable[dict]) -> tuple[list[Op], list[dict]]:
    """Give the ops that may have taken effect, and the failed invocations left out.

    Each process runs one op at a time, so a completion belongs to that process's
    pending invocation.
    """
    pending: dict[str, tuple[int, dict]] = {}
    ops: list[Op] = []
    failed: list[dict] = []
    for index, entry in enumerate(cooperating(history)):
        process, kind = entry.get("process"), entry.get("type")
        if kind == "invoke":
            if process in pending:
                raise HistoryError(
                    f"{process} invokes at {entry.get('t')} ms while its "
                    "previous op is still pending"
                )
            if entry.get("f") not in ("read", "write"):
                raise HistoryError(f"unknown function {entry.get('f')!r} at entry {index}")
            pending[process] = (index, entry)
            continue
        if kind not in ("ok", "fail", "info"):
            raise HistoryError(f"unknown entry type {kind!r} at entry {index}")
        if process not in pending:
            raise HistoryError(f"{process} completes at {entry.get('t')} ms without an invocation")
        start, invoke = pending.pop(process)
        if kind == "fail":
            failed.append(invoke)
            continue
        ops.append(_op(start, invoke, entry if kind == "ok" else None))
    for start, invoke in pending.values():
        ops.append(_op(start, invoke, None))
    ops = [op for op in ops if not (op.f == "read" and op.status == "info")]
    ops.sort(key=lambda op: op.index)
    return ops, failed


def _op(index: int, invoke: dict, done: dict | None) -> Op:
    f = invoke["f"]
    if done is not None and done.get("f", f) != f:
        raise HistoryError(f"{invoke['process']}'s {f} completes as a {done.get('f')}")
    value = done.get("value") if (done is not None and f == "read") else invoke.get("value")
    ret = NEVER if done is None else float(done["t"])
    if ret < float(invoke["t"]):
        raise HistoryError(f"{invoke['process']}'s {f} completes before it was invoked")
    return Op(
        index,
        str(invoke["process"]),
        f,
        str(invoke.get("key")),
        value,
        float(invoke["t"]),
        ret,
        "ok" if done is not None else "info",
        invoke.get("node"),
    )


def check(history: Iterable[dict], *, limit: int = DEFAULT_LIMIT) -> Verdict:
    """Give the verdict for a whole key-value history (keys checked independently).

    `limit` is the budget: how many configurations the search may explore over all keys
    together. When it runs out before an answer, the verdict says so (`valid` is None)
    rather than guessing; a violation found in any key is still reported as one.
    """
    ops, _ = pair(history)
    by_key: dict[str, list[Op]] = {}
    for op in ops:
        by_key.setdefault(op.key, []).append(op)
    explored = 0
    unknown: str | None = None  # the first key whose search ran out of budget
    failed: list[Verdict] = []
    for key in sorted(by_key):
        verdict = check_register(by_key[key], limit=max(limit - explored, 0))
        explored += verdict.explored
        if verdict.valid is False:
            failed.append(verdict)
        elif verdict.valid is None and unknown is None:
            unknown = key
    if failed:  # report the violation a reader meets first in time
        first = min(failed, key=lambda v: (v.op.call, v.op.index) if v.op else (NEVER, 0))
        return Verdict(False, first.detail, first.op, explored)
    if unknown is not None:
        return Verdict(
            None,
            f"undecided: gave up on key {unknown} when the budget of "
            f"{limit} configurations ran out ({explored} explored)",
            None,
            explored,
        )
    count = len(ops)
    return Verdict(
        True,
        f"all {count} operations fit one sequential order ({explored} configurations explored)",
        None,
        explored,
    )


def check_register(ops: list[Op], *, limit: int = DEFAULT_LIMIT) -> Verdict:
    """Give the verdict for the ops on one register, exploring at most `limit` configurations."""
    return _Search(ops).run(limit)


class _Search:
    """The configuration graph of one register's history, searched depth first.

    The ops that completed ("ok") are numbered by return time: op i is the i-th to return.
    A configuration is `(k, ahead, used, value)`: ops 0..k-1 are linearized, `ahead` holds
    the ops after k linearized early, `used` the unknown writes given an effect, `value` the
    register's value. Op k returns first among the pending ops, so an op may go next only
    if it was invoked by then: the candidates are `window[k]`, the ops in flight at op k's
    return, about one per process. Every step therefore costs time in the number of
    processes, not in the length of the history, and `ahead` stays that small too.

    Unknown writes ("info") are tried only just before a pending read of their value. No
    order loses by this: an unknown write that no read sees right after it can be dropped,
    and one that some read sees is directly followed by one such read.
    """

    def __init__(self, ops: list[Op]) -> None:
        done = sorted((op for op in ops if op.status == "ok"), key=lambda op: (op.ret, op.index))
        self.ops = done
        self.count = len(done)
        self.rets = [op.ret for op in done]
        self.writes = [op.f == "write" for op in done]
        self.values = [op.value for op in done]
        self.window = self._windows()
        self.reads_of: dict[object, list[int]] = {}  # value -> the reads that returned it
        for i, op in enumerate(done):
            if op.f == "read":
                self.reads_of.setdefault(op.value, []).append(i)
        # unknown writes by value, in invocation order: (call, number, op)
        unknown = sorted(
            (op for op in ops if op.status != "ok" and op.f == "write"),
            key=lambda op: (op.call, op.index),
        )
        self.unknown: dict[object, list[tuple[float, int, Op]]] = {}
        for number, op in enumerate(unknown):
            self.unknown.setdefault(op.value, []).append((op.call, number, op))

    def _windows(self) -> list[tuple[int, ...]]:
        """Give, for each k, the ops from k on that were invoked by the time op k returned."""
        by_call = sorted(range(self.count), key=lambda i: (self.ops[i].call, self.ops[i].index))
        windows, in_flight, cursor = [], [], 0
        for k, ret in enumerate(self.rets):
            while cursor < self.count and self.ops[by_call[cursor]].call <= ret:
                in_flight.append(by_call[cursor])
                cursor += 1
            in_flight = sorted(i for i in in_flight if i >= k)
            windows.append(tuple(in_flight))
        return windows

    def settle(self, k: int, ahead: set[int], used: frozenset[int], value: object) -> tuple:
        """Give the configuration with every pending read that may go now and sees `value` done.

        Doing those reads at once never removes an option (they leave the value alone, and
        only widen what may follow), so only writes branch.
        """
        while True:
            while k in ahead:
                ahead.discard(k)
                k += 1
            if k == self.count:
                break
            for i in self.window[k]:
                if not self.writes[i] and i not in ahead and self.values[i] == value:
                    ahead.add(i)
            if k not in ahead:  # the window moves only when op k itself is done
                break
        return (k, frozenset(ahead), used, value)

    def read_later(self, value: object, k: int, ahead: frozenset[int]) -> bool:
        """Give whether a read still to be linearized returned `value`."""
        reads = self.reads_of.get(value, ())
        return any(i not in ahead for i in reads[bisect_left(reads, k) :])

    def successors(self, config: tuple) -> list[tuple]:
        """Give the configurations one write away, the likeliest to succeed last."""
        k, ahead, used, value = config
        wanted, plain, unknown = [], [], []
        for i in self.window[k]:
            if i in ahead:
                continue
            if not self.writes[i]:
                if self.values[i] != value and self.values[i] not in wanted:
                    wanted.append(self.values[i])
            elif not self.read_later(self.values[i], k, ahead):
                # No read will see this write, so any legal order stays legal with it moved
                # to the front (the next op after the reads already done is a write): the
                # one move is enough.
                return [self.settle(k, {*ahead, i}, used, self.values[i])]
            else:
                plain.append(i)
        horizon = self.rets[k]
        for seen in wanted:  # an unknown write, just before a read that sees it
            for call, number, _ in self.unknown.get(seen, ()):
                if call > horizon:
                    break
                if number not in used:
                    unknown.append(self.settle(k, set(ahead), used | {number}, seen))
        # try first the writes a pending read is waiting for, then the earliest to return
        plain.sort(key=lambda i: self.values[i] not in wanted)
        found = [self.settle(k, {*ahead, i}, used, self.values[i]) for i in plain] + unknown
        found.reverse()
        return found

    def run(self, limit: int) -> Verdict:
        start = self.settle(0, set(), frozenset(), INITIAL)
        stack = [start]
        # Once settled, no pending op that may go next reads the register's value, so the
        # next op is a write and the value cannot matter: configurations that differ only in
        # it have the same futures and are explored once.
        seen = {start[:3]}
        explored = 0
        # op best_k returns first among the pending ops in the deepest configurations and
        # holds everything after it back; the values those configurations hold explain it
        best_k, best_values = start[0], [start[3]]
        while stack:
            config = stack.pop()
            if config[0] == self.count:
                return Verdict(True, "linearizable", None, explored + 1)
            if explored >= limit:
                return Verdict(
                    None, f"undecided: gave up after {explored} configurations", None, explored
                )
            explored += 1
            for nxt in self.successors(config):
                k, _, _, value = nxt
                if k > best_k:
                    best_k, best_values = k, [value]
                elif k == best_k and value not in best_values:
                    best_values.append(value)
                if nxt[:3] not in seen:
                    seen.add(nxt[:3])
                    stack.append(nxt)
        op = self.ops[best_k]
        return Verdict(False, _explain(op, best_values), op, explored)


def _explain(op: Op | None, values: list[object]) -> str:
    if op is None:  # pragma: no cover - a failed search always has a blocking op
        return "not linearizable"
    could = " or ".join(show(v) for v in sorted(values, key=repr))
    return (
        f"not linearizable: {op.describe()}, but in every order consistent with real "
        f"time {op.key} holds {could} by then"
    )


def stale_reads(history: Iterable[dict]) -> list[tuple[Op, Op]]:
    """Give (read, newer write) pairs where a read returned a value already overwritten.

    A read r is certainly stale when the write it saw finished before another write w
    started, and w finished before r started: any legal order puts w between them. Written
    values are unique, so the value names its write. Every pair found is a violation.
    """
    ops, _ = pair(history)
    writes = {(op.key, op.value): op for op in ops if op.f == "write"}
    # per key, the completed writes in return order, to find the last one before a read
    done: dict[str, list[Op]] = {}
    for op in sorted(ops, key=lambda op: (op.ret, op.index)):
        if op.f == "write" and op.status == "ok":
            done.setdefault(op.key, []).append(op)
    done_rets = {key: [op.ret for op in key_writes] for key, key_writes in done.items()}
    found = []
    for read in ops:
        if read.f != "read" or read.status != "ok":
            continue
        seen = writes.get((read.key, read.value))
        if read.value is not INITIAL and seen is None:
            continue  # a value nobody wrote: wrong, but not stale
        key_writes = done.get(read.key, [])
        # Walk back from the last write done before the read began; only writes that end
        # after the seen write ended can have started after it, so the walk stops there.
        for i in range(bisect_left(done_rets.get(read.key, []), read.call) - 1, -1, -1):
            newer = key_writes[i]
            if seen is not None and newer.ret <= seen.ret:
                break
            if newer is not seen and (seen is None or seen.ret < newer.call):
                found.append((read, newer))
                break
    return found


def register_history(
    rng: random.Random,
    operations: int,
    *,
    processes: int = 5,
    keys: int = 1,
    unknown: float = 0.0,
    failed: float = 0.0,
) -> list[dict]:
    """Give a history of atomic registers, linearizable by construction (for tests, benches).

    Each process runs one op at a time, with a pause of 0-4 ms before and a span of 1-20 ms;
    an op takes effect at a random instant of its span, and a read returns what its register
    held at that instant. Writes write 1, 2, 3, ... A share `unknown` of the ops end "info"
    (a write then takes effect within 50 ms after its call or never; the process goes on
    under a new name, as a Jepsen client does) and a share `failed` of the writes end
    "fail" (no effect). `processes` ops may overlap at any moment.
    """
    names = [f"p{i}" for i in range(processes)]
    free_at = [float(rng.randint(0, 4)) for _ in names]
    ops = []  # [name, f, key, call, ret, outcome, effect time or None, value]
    for number in range(1, operations + 1):
        slot = rng.randrange(processes)
        call = free_at[slot] + rng.randint(0, 4)
        ret = call + rng.randint(1, 20)
        free_at[slot] = ret
        f = "write" if rng.random() < 0.5 else "read"
        roll = rng.random()
        outcome = "info" if roll < unknown else "ok"
        if f == "write" and unknown <= roll < unknown + failed:
            outcome = "fail"
        effect: float | None = rng.uniform(call, ret)
        if outcome == "fail":
            effect = None
        elif outcome == "info" and f == "write":
            effect = rng.uniform(call, call + 50) if rng.random() < 0.5 else None
        ops.append([names[slot], f, f"k{rng.randrange(keys)}", call, ret, outcome, effect, number])
        if outcome == "info":
            names[slot] = f"p{processes + number}"
    held: dict[str, object] = {}
    for op in sorted((op for op in ops if op[6] is not None), key=lambda op: op[6]):
        if op[1] == "write":
            held[op[2]] = op[7]
        else:
            op[7] = held.get(op[2], INITIAL)
    entries = []
    for order, (name, f, key, call, ret, outcome, _, value) in enumerate(ops):
        written = value if f == "write" else None
        entries.append(
            (
                call,
                1,
                order,
                {
                    "process": name,
                    "type": "invoke",
                    "f": f,
                    "key": key,
                    "value": written,
                    "t": call,
                },
            )
        )
        seen = written if outcome == "info" else value
        entries.append(
            (
                ret,
                0,
                order,
                {"process": name, "type": outcome, "f": f, "key": key, "value": seen, "t": ret},
            )
        )
    entries.sort(key=lambda entry: entry[:3])  # a completion before an invocation at the same ms
    return [entry for *_, entry in entries]
