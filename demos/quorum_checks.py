"""The quorum demo's checks. Which of them the store promises depends on its settings:

- Linearizable: the history fits one sequential order. Reported as it is in every setting:
  quorum overlap alone does not promise it, so the detail says what would.
- Fresh reads: no read that began after a write completed returned an older value. A
  strict quorum with R + W > N promises it (every read quorum meets every write quorum);
  with R + W <= N or a sloppy quorum the detail counts the stale reads but does not fail.
- Convergence: once partitions heal, crashed nodes return and writes stop, every replica of
  a key that is up holds the same value and no hint is left to hand back.

The state-over-time queries the figure shares (copies, hints) sit here too.
"""

from __future__ import annotations

from . import linearizability as lin
from .partition_checks import check_linearizable as history_is_linearizable
from .partition_checks import completed_ops
from .queries import down_intervals, timeline
from .result import Check


def _quorum(trace: dict) -> tuple[int, int, int, bool]:
    p = trace["params"]
    return int(p["replicas"]), int(p["r"]), int(p["w"]), p["sloppy"] == "true"


def promise(trace: dict) -> str | None:
    """Give why these settings do not promise fresh reads, or None if they do."""
    n, r, w, sloppy = _quorum(trace)
    if r + w <= n:
        return f"not promised with R + W = {r + w} \u2264 N = {n}"
    if sloppy:
        return "not promised by a sloppy quorum: a write may land on other nodes than a read asks"
    return None


def check_linearizable(trace: dict) -> Check:
    """Give the linearizability verdict, with what these settings promise about it."""
    verdict = history_is_linearizable(trace)
    try:
        n, r, w, sloppy = _quorum(trace)
        repair = trace["params"]["read_repair"] == "true"
    except (KeyError, TypeError, ValueError) as err:
        return Check(verdict.name, False, f"malformed params: {err}")
    if r + w > n and not sloppy and repair:
        note = "promised: quorums overlap and reads write back before answering"
    elif r + w > n and not sloppy:
        note = "not promised: overlapping quorums without read repair let two reads disagree"
    else:
        note = "not promised by these settings"
    return Check(verdict.name, verdict.ok, f"{verdict.detail} ({note})", verdict.t, verdict.node)


def check_fresh_reads(trace: dict) -> Check:
    """Give whether every read that began after a write completed saw it or something newer."""
    name = "Fresh reads"
    try:
        stale = lin.stale_reads(trace["history"])
        why_not = promise(trace)
    except (lin.HistoryError, KeyError, TypeError, ValueError) as err:
        return Check(name, False, f"malformed trace: {err}")
    reads = sum(1 for e in trace["history"] if e["f"] == "read" and e["type"] == "ok")
    if not stale:
        return Check(name, True, f"all {reads} reads saw the latest completed write or newer")
    read, newer = stale[0]
    first = (
        f"the first by {read.process} at {read.call:g} ms returned {lin.show(read.value)} "
        f"after {newer.process}'s write of {newer.value!r} to {newer.key} had completed"
    )
    count = f"{len(stale)} of {reads} reads stale"
    if why_not is not None:
        return Check(name, True, f"{count} ({why_not}); {first}")
    return Check(name, False, f"{count}; {first}", t=read.call, node=read.node)


def _hop(trace: dict) -> float:
    """Give the longest one-way delay between nodes in this run, in ms."""
    return float(trace["timing"]["latency"][1]) + float(trace["params"].get("reorder", 0.0))


def settled_by(trace: dict) -> float:
    """Give when every replica must agree if no message is lost.

    A coordinator sends its last copy before it answers (or gives up), and on a whole
    network every replica gets one. A replica that missed copies behind a partition or while
    down catches up after the heal or restart: a handoff attempt, then a sync round.
    """
    timing, hop = trace["timing"], _hop(trace)
    patience = timing["client_link"] + timing["give_up"]
    ends = [op["call"] + patience if op["open"] else op["ret"] for op in completed_ops(trace)]
    last_copy = max(ends, default=0.0) + hop
    heals = [p["end"] for p in trace["partitions"]]
    restarts = [e["t"] for e in trace["events"] if e["kind"] == "restart"]
    if not heals and not restarts:
        return last_copy
    return max(last_copy, max(heals + restarts) + timing["handoff"] + timing["sync"] + 3 * hop)


def check_convergence(trace: dict) -> Check:
    """After the last heal, the up replicas of each key agree and no hint is left over."""
    name = "Convergence"
    duration = float(trace["duration"])
    late = [p for p in trace["partitions"] if p["end"] >= duration]
    if late:
        return Check(
            name, True, f"not tested: the partition from {late[-1]['start']:g} ms outlasts the run"
        )
    if float(trace["params"].get("drop", 0.0)) > 0.0:
        return Check(name, True, "not tested: message loss can outlast any number of rounds")
    try:
        quiet = settled_by(trace)
        ring, final, hints = trace["ring"], trace["final_state"], trace["final_hints"]
    except (KeyError, TypeError, lin.HistoryError) as err:
        return Check(name, False, f"malformed trace: {err}")
    if quiet > duration:
        return Check(
            name,
            True,
            f"not tested: with messages taking up to {_hop(trace):g} ms, "
            f"the replicas need until {quiet:g} ms to catch up",
        )
    down = down_intervals(trace)
    up = [n for n in trace["nodes"] if not any(b >= duration for _, b in down[n])]
    for holder in up:
        left = [h for h in hints.get(holder, []) if h["to"] in up]
        if left:
            h = left[0]
            return Check(
                name,
                False,
                f"{holder} still holds a hint {h['key']}={h['value']!r} for {h['to']}",
                t=duration,
                node=holder,
            )
    agreed = []
    for key, replicas in sorted(ring.items()):
        live = [n for n in replicas if n in up]
        values = {n: final[n].get(key) for n in live}
        for node in live[1:]:
            if values[node] != values[live[0]]:
                return Check(
                    name,
                    False,
                    f"{live[0]} holds {key}={values[live[0]]!r} but {node} holds "
                    f"{key}={values[node]!r} at the end",
                    t=duration,
                    node=node,
                )
        if live:
            agreed.append(f"{key}={values[live[0]]!r} on {','.join(live)}")
    return Check(name, True, "replicas agree: " + "; ".join(agreed))


def copies(trace: dict, key: str) -> dict[str, list[tuple[float, object]]]:
    """Give each replica of `key` its copy over time as (value, stamp in ms), or None."""

    def step(held: object, e: dict) -> object:
        if e["kind"] == "store" and e["key"] == key:
            return (e["value"], e["stamp"][0] // 1000)
        return held

    return timeline(trace, (None, 0.0), step, trace["ring"][key])


def hints(trace: dict) -> dict[str, list[tuple[float, object]]]:
    """Give the hints each node holds over time, as sorted (for, key, value) tuples."""

    def step(held: object, e: dict) -> object:
        kept = {(to, key): value for to, key, value in held}
        if e["kind"] == "hint":
            kept[(e["to"], e["key"])] = e["value"]
        elif e["kind"] == "handoff" and kept.get((e["to"], e["key"])) == e["value"]:
            del kept[(e["to"], e["key"])]
        return tuple(sorted((to, key, value) for (to, key), value in kept.items()))

    return timeline(trace, (), step)
