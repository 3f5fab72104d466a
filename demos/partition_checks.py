"""The partition demo's checks, and the questions of its trace they share with the summary
and the figure (ops with their outcomes, who reaches a majority, what each replica holds).

- Linearizable: the clients' history fits one sequential order (the safety promise of cp).
- Availability: cp answers every op that could reach a majority; ap answers every op.
- Convergence: once the partitions heal and writes stop, the replicas agree.

Availability and convergence are promises about time, so they are judged only where the
network's delays (the trace's `timing` and the `reorder` param) let the protocol keep them.
"""

from __future__ import annotations

from . import linearizability as lin
from .queries import down_intervals, timeline
from .result import Check

Down = dict[str, list[tuple[float, float]]]


def check_linearizable(trace: dict) -> Check:
    """Give whether the history is linearizable, naming the first stale read if not."""
    name = "Linearizable"
    try:
        verdict = lin.check(trace["history"])
        stale = lin.stale_reads(trace["history"])
    except (lin.HistoryError, KeyError, TypeError, ValueError) as err:
        return Check(name, False, f"malformed history: {err}")
    if verdict.valid:
        return Check(name, True, verdict.detail)
    if verdict.valid is None:
        return Check(name, False, f"not established: {verdict.detail}")
    op = verdict.op
    detail = verdict.detail
    if stale:
        read, newer = stale[0]
        detail += (
            f"; {len(stale)} stale read{'s' if len(stale) != 1 else ''}, the first "
            f"by {read.process} at {read.call:g} ms, after {newer.process} had "
            f"written {newer.value!r} to {newer.key}"
        )
    return Check(name, False, detail, t=op.call if op else None, node=op.node if op else None)


def reaches_majority(trace: dict, home: str, t0: float, t1: float, down: Down) -> bool:
    """Give whether `home` could talk to a majority of up replicas all through [t0, t1].

    Partitions and down times are taken as closed intervals, so an instant (t0 == t1) on
    a boundary counts as cut off.
    """
    nodes = trace["nodes"]
    reach = [n for n in nodes if _up_throughout(n, t0, t1, down)]
    for p in trace["partitions"]:
        if p["start"] <= t1 and p["end"] >= t0:
            side = next((g for g in p["groups"] if home in g), [home])
            reach = [n for n in reach if n in side]
    return home in reach and len(reach) > len(nodes) // 2


def sides(trace: dict) -> dict[str, list[tuple[float, str]]]:
    """Give each replica's role over time, as [(since, role), ...]: "down", or "majority" /
    "minority" as its side of the network reaches a majority of up replicas or not."""
    duration, down = float(trace["duration"]), down_intervals(trace)
    cuts = {0.0, duration} | {t for spans in down.values() for span in spans for t in span}
    cuts |= {t for p in trace["partitions"] for t in (p["start"], p["end"])}
    cuts = sorted(t for t in cuts if 0.0 <= t <= duration)
    out: dict[str, list[tuple[float, str]]] = {n: [] for n in trace["nodes"]}
    for a, b in zip(cuts, cuts[1:], strict=False):
        mid = (a + b) / 2  # the role between two cuts; at a cut the later one holds
        for node, history in out.items():
            role = (
                "down"
                if any(s <= mid < e for s, e in down[node])
                else "majority"
                if reaches_majority(trace, node, mid, mid, down)
                else "minority"
            )
            if not history or history[-1][1] != role:
                history.append((a, role))
    return out


def holdings(trace: dict, key: str) -> dict[str, list[tuple[float, object]]]:
    """Give each replica's value of `key` over time, from its `adopt` events."""
    return timeline(
        trace,
        lin.INITIAL,
        lambda value, e: e["value"] if e["kind"] == "adopt" and e["key"] == key else value,
    )


def _up_throughout(node: str, t0: float, t1: float, down: Down) -> bool:
    return not any(a <= t1 and b >= t0 for a, b in down[node])


def _hop(trace: dict) -> float:
    """Give the longest one-way delay between replicas in this run, in ms."""
    return float(trace["timing"]["latency"][1]) + float(trace["params"].get("reorder", 0.0))


def check_availability(trace: dict) -> Check:
    """cp: every op that could reach a majority succeeded; ap: every op succeeded.

    ap judges only ops whose home replica was up throughout: a crashed replica answers
    nobody in either mode. cp is not judged under message loss (a run of lost messages can
    outlast any give-up timer, so a failure there proves nothing), nor when two round
    trips at the longest delay outlast the coordinator's patience.
    """
    name = "Availability"
    try:
        ops = completed_ops(trace)
        hop, give_up = _hop(trace), float(trace["timing"]["give_up"])
    except (KeyError, TypeError, lin.HistoryError) as err:
        return Check(name, False, f"malformed history: {err}")
    total, good = len(ops), sum(1 for op in ops if op["type"] == "ok")
    share = f"{good} of {total} ops ok ({100 * good // max(total, 1)}%)"
    down = down_intervals(trace)
    if trace["params"]["mode"] == "ap":
        judged = [op for op in ops if _up_throughout(op["node"], op["call"], op["ret"], down)]
        skipped = len(ops) - len(judged)
        aside = (
            f"; home replica down for {skipped} op{'s' if skipped != 1 else ''} "
            "(counted, not judged)"
            if skipped
            else ""
        )
        bad = next((op for op in judged if op["type"] != "ok"), None)
        if bad is None:
            return Check(name, True, f"{share}: every replica answers on its own{aside}")
        return Check(
            name,
            False,
            f"{share}; {bad['process']}'s {bad['f']} at "
            f"{bad['call']:g} ms ended {bad['type']}{aside}",
            t=bad["call"],
            node=bad["node"],
        )
    reach = [reaches_majority(trace, op["node"], op["call"], op["ret"], down) for op in ops]
    covered = [op for op, reached in zip(ops, reach, strict=True) if reached]
    cut = [op for op, reached in zip(ops, reach, strict=True) if not reached]
    cut_ok = sum(1 for op in cut if op["type"] == "ok")
    text = (
        f"{share}; with a majority in reach: {sum(op['type'] == 'ok' for op in covered)} "
        f"of {len(covered)} ok; cut off from a majority: {cut_ok} of {len(cut)} ok"
    )
    if float(trace["params"].get("drop", 0.0)) > 0.0:
        return Check(name, True, f"not judged: message loss can defeat any timeout; {text}")
    if 4 * hop > give_up:
        return Check(
            name,
            True,
            f"not judged: two round trips of up to {hop:g} ms each "
            f"outlast the {give_up:g} ms a coordinator waits; {text}",
        )
    bad = next((op for op in covered if op["type"] != "ok"), None)
    if bad is None:
        return Check(name, True, text)
    return Check(
        name,
        False,
        f"{text}; {bad['process']}'s {bad['f']} at {bad['call']:g} ms "
        f"ended {bad['type']} though a majority was in reach",
        t=bad["call"],
        node=bad["node"],
    )


def completed_ops(trace: dict) -> list[dict]:
    """Give every invoked op with its outcome, in call order.

    Each is a dict: process, f, key, node, call, ret, type, value (the value written, or the
    value an ok read returned), index (of its invocation in the history) and open (True if
    no answer came by the end: it then counts as info, returning at the end).
    """
    pending: dict[str, dict] = {}
    ops: list[dict] = []
    for index, entry in enumerate(trace["history"]):
        if entry["type"] == "invoke":
            pending[entry["process"]] = {
                "process": entry["process"],
                "f": entry["f"],
                "key": entry.get("key"),
                "value": entry.get("value"),
                "node": entry["node"],
                "call": entry["t"],
                "index": index,
            }
        else:
            if entry["process"] not in pending:
                raise lin.HistoryError(f"{entry['process']} completes without an invocation")
            op = pending.pop(entry["process"])
            op.update(type=entry["type"], ret=entry["t"], open=False)
            if op["f"] == "read":
                op["value"] = entry.get("value") if entry["type"] == "ok" else None
            ops.append(op)
    for op in pending.values():
        op.update(type="info", ret=float(trace["duration"]), open=True)
        ops.append(op)
    ops.sort(key=lambda op: (op["call"], op["process"]))
    return ops


def settled_by(trace: dict) -> float:
    """Give when every replica that is up must agree, if no gossip is lost: one gossip
    round after the last heal, restart or write could still bring something new."""
    timing, hop = trace["timing"], _hop(trace)
    writes = [e["t"] for e in trace["history"] if e["type"] == "invoke" and e["f"] == "write"]
    last_write = max(writes, default=0.0) + timing["client_link"] + timing["give_up"] + hop
    heals = [p["end"] for p in trace["partitions"]]
    restarts = [e["t"] for e in trace["events"] if e["kind"] == "restart"]
    return max([last_write, *heals, *restarts]) + timing["gossip"] + hop


def check_convergence(trace: dict) -> Check:
    """After the last heal, every replica that is up holds the same value for every key."""
    name = "Convergence"
    duration = float(trace["duration"])
    late = [p for p in trace["partitions"] if p["end"] >= duration]
    if late:
        return Check(
            name,
            True,
            f"not tested: the partition from {late[-1]['start']:g} ms "
            "lasts past the end of the run",
        )
    down = down_intervals(trace)
    try:
        quiet = settled_by(trace)
    except (KeyError, TypeError) as err:
        return Check(name, False, f"malformed trace: {err}")
    if quiet > duration:
        return Check(
            name,
            True,
            f"not tested: with messages taking up to {_hop(trace):g} "
            f"ms, the replicas need until {quiet:g} ms to catch up",
        )
    final = trace["final_state"]
    up = [n for n in trace["nodes"] if not any(b >= duration for _, b in down[n])]
    if not up:
        return Check(name, True, "not tested: no replica is up at the end")
    first = final[up[0]]
    for node in up[1:]:
        for key in sorted(set(first) | set(final[node])):
            if first.get(key) != final[node].get(key):
                return Check(
                    name,
                    False,
                    f"{up[0]} holds {key}={first.get(key)!r} but "
                    f"{node} holds {key}={final[node].get(key)!r} at the end",
                    t=duration,
                    node=node,
                )
    state = ", ".join(f"{k}={v!r}" for k, v in first.items())
    skipped = (
        f" ({', '.join(n for n in trace['nodes'] if n not in up)} down)"
        if len(up) < len(trace["nodes"])
        else ""
    )
    return Check(name, True, f"all {len(up)} replicas{skipped} end with {state}")
