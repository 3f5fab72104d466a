"""Linearizability of a key-value history: Wing & Gong's search with memoised configurations.

A history is a list of Jepsen-style entries `{"process", "type", "f", "key", "value", "t"}`
where `type` is "invoke", "ok", "fail" or "info". Each key is a register of its own, and a
history of independent registers is linearizable exactly when each key's sub-history is
(linearizability is local, Herlihy & Wing 1990), so keys are checked one at a time.

The search walks configurations `(set of ops already linearized, register value)`. An op
may be linearized next when no other pending op finished before it was invoked. Visited
configurations are cached (Lowe 2017; Horn & Kroening 2015), so two orders of concurrent
writes that end in the same value are explored once. Reads that match the current value
are linearized at once: doing so never removes an option, so only writes branch.

- "fail": the op certainly did not happen; it is left out.
- "info" (or no completion at all): the op may take effect at any time after its
  invocation, or never. An unknown read tells nothing and is left out; an unknown write
  may be linearized anywhere after its call, or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

INITIAL = None  # every register starts empty
NEVER = float("inf")  # the return time of an op whose outcome is unknown
DEFAULT_LIMIT = 100_000  # configurations explored per key before giving up


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
    """The answer: `valid` is True, False, or None when the search bound was hit."""

    valid: bool | None
    detail: str
    op: Op | None = None  # on failure, the op no order can place
    explored: int = 0


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
    for index, entry in enumerate(history):
        process, kind = entry.get("process"), entry.get("type")
        if kind == "invoke":
            if process in pending:
                raise HistoryError(f"{process} invokes at {entry.get('t')} ms while its "
                                   "previous op is still pending")
            if entry.get("f") not in ("read", "write"):
                raise HistoryError(f"unknown function {entry.get('f')!r} at entry {index}")
            pending[process] = (index, entry)
            continue
        if kind not in ("ok", "fail", "info"):
            raise HistoryError(f"unknown entry type {kind!r} at entry {index}")
        if process not in pending:
            raise HistoryError(f"{process} completes at {entry.get('t')} ms without an "
                               "invocation")
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
    return Op(index, str(invoke["process"]), f, str(invoke.get("key")), value,
              float(invoke["t"]), ret, "ok" if done is not None else "info", invoke.get("node"))


def check(history: Iterable[dict], limit: int = DEFAULT_LIMIT) -> Verdict:
    """Give the verdict for a whole key-value history (keys checked independently)."""
    ops, _ = pair(history)
    by_key: dict[str, list[Op]] = {}
    for op in ops:
        by_key.setdefault(op.key, []).append(op)
    explored = 0
    unknown: Verdict | None = None
    failed: list[Verdict] = []
    for key in sorted(by_key):
        verdict = check_register(by_key[key], limit)
        explored += verdict.explored
        if verdict.valid is False:
            failed.append(verdict)
        elif verdict.valid is None and unknown is None:
            unknown = verdict
    if failed:  # report the violation a reader meets first in time
        first = min(failed, key=lambda v: (v.op.call, v.op.index) if v.op else (NEVER, 0))
        return Verdict(False, first.detail, first.op, explored)
    if unknown is not None:
        return Verdict(None, unknown.detail, None, explored)
    count = len(ops)
    return Verdict(True, f"all {count} operations fit one sequential order "
                   f"({explored} configurations explored)", None, explored)


def check_register(ops: list[Op], limit: int = DEFAULT_LIMIT) -> Verdict:
    """Give the verdict for the ops on one register."""
    search = _Search(ops)
    return search.run(limit)


class _Search:
    """The configuration graph of one register's history, searched depth first.

    Bit i of a mask stands for the op with the i-th earliest return time, so the pending
    op that returns first is the lowest unset bit.
    """

    def __init__(self, ops: list[Op]) -> None:
        self.ops = sorted(ops, key=lambda op: (op.ret, op.index))
        self.rets = [op.ret for op in self.ops]
        self.full = (1 << len(self.ops)) - 1
        self.needed = sum(1 << i for i, op in enumerate(self.ops) if op.status == "ok")
        # (call time, bit, op) in call order: the candidates are a prefix of it
        self.by_call = sorted(((op.call, 1 << i, op) for i, op in enumerate(self.ops)),
                              key=lambda item: (item[0], item[2].index))

    def min_ret(self, mask: int) -> float:
        rest = self.full & ~mask
        if not rest:
            return NEVER
        return self.rets[(rest & -rest).bit_length() - 1]

    def absorb(self, mask: int, value: object) -> int:
        """Give `mask` with every read that may go now and sees `value` linearized."""
        changed = True
        while changed:
            changed = False
            horizon = self.min_ret(mask)
            for call, bit, op in self.by_call:
                if call > horizon:
                    break
                if not mask & bit and op.f == "read" and op.value == value:
                    mask |= bit
                    changed = True
        return mask

    def run(self, limit: int) -> Verdict:
        start = (self.absorb(0, INITIAL), INITIAL)
        stack = [start]
        seen = {start}
        explored = 0
        best_ret, best_values, best_op = -1.0, [], None
        while stack:
            mask, value = stack.pop()
            if mask & self.needed == self.needed:
                return Verdict(True, "linearizable", None, explored + 1)
            explored += 1
            if explored > limit:
                return Verdict(None, f"undecided: gave up after {limit} configurations "
                               f"on key {self.ops[0].key}", None, explored)
            horizon = self.min_ret(mask)
            # the op that returns first among those pending holds everything after it back
            blocker = self.ops[(self.full & ~mask & -(self.full & ~mask)).bit_length() - 1]
            if horizon > best_ret:
                best_ret, best_values, best_op = horizon, [value], blocker
            elif horizon == best_ret and value not in best_values:
                best_values.append(value)
            for call, bit, op in self.by_call:
                if call > horizon:
                    break
                if mask & bit or op.f != "write":
                    continue
                nxt = (self.absorb(mask | bit, op.value), op.value)
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return Verdict(False, _explain(best_op, best_values), best_op, explored)


def _explain(op: Op | None, values: list[object]) -> str:
    if op is None:  # pragma: no cover - a failed search always has a blocking op
        return "not linearizable"
    could = " or ".join(show(v) for v in sorted(values, key=repr))
    return (f"not linearizable: {op.describe()}, but in every order consistent with real "
            f"time {op.key} holds {could} by then")


def stale_reads(history: Iterable[dict]) -> list[tuple[Op, Op]]:
    """Give (read, newer write) pairs where a read returned a value already overwritten.

    A read r is certainly stale when the write it saw finished before another write w
    started, and w finished before r started: any legal order puts w between them. Written
    values are unique, so the value names its write. Every pair found is a violation.
    """
    ops, _ = pair(history)
    writes = {(op.key, op.value): op for op in ops if op.f == "write"}
    done_writes = [op for op in ops if op.f == "write" and op.status == "ok"]
    found = []
    for read in ops:
        if read.f != "read" or read.status != "ok":
            continue
        seen = writes.get((read.key, read.value))
        if read.value is not INITIAL and seen is None:
            continue  # a value nobody wrote: wrong, but not stale
        newer = [w for w in done_writes
                 if w.key == read.key and w.ret < read.call and w is not seen
                 and (seen is None or seen.ret < w.call)]
        if newer:
            found.append((read, max(newer, key=lambda w: (w.ret, w.index))))
    return found
