"""The kafka demo's checks, and the queries of the trace the figure shares with them.

- No record lost / every record processed: what a commit moved past was processed, and (when
  the settings promise it) everything written was.
- Key order: within one consumer's tenure of a partition, a key's records go in offset order.
- No duplicates: no record processed twice (at-least-once does not promise it).
- Acknowledged records survive: every record the producer was told is written is in the
  final log at its offset (acks=1 does not promise it).
- Only committed records read: every record a consumer processed is in the final log at
  its offset, so consumers read below the high watermark and no failover undid it.

n1, the first node, is the first broker and the first leader of partition 0.
"""

from __future__ import annotations

from .queries import down_intervals
from .result import Check


def replica_cells(trace: dict) -> list[dict]:
    """Give every record each broker held: `broker`, `partition`, `offset`, `seq`, `key`, `t`
    (when it arrived) and `until` (when a truncation cut it, or None)."""
    out: list[dict] = []
    held: dict[tuple[str, int], list[dict]] = {}
    for e in trace["events"]:
        if e["kind"] not in ("produce", "replicate", "truncate"):
            continue
        log = held.setdefault((e["node"], e["partition"]), [])
        for cell in log[e["offset"] :]:
            cell["until"] = e["t"]
        del log[e["offset"] :]
        if e["kind"] == "truncate":
            continue
        replicated = e["kind"] == "replicate"
        seqs, keys = (e["seqs"], e["keys"]) if replicated else ([e["seq"]], [e["key"]])
        for i, (seq, key) in enumerate(zip(seqs, keys, strict=True)):
            cell = {
                "broker": e["node"],
                "partition": e["partition"],
                "offset": e["offset"] + i,
                "seq": seq,
                "key": key,
                "t": e["t"],
                "until": None,
            }
            log.append(cell)
            out.append(cell)
    return out


def replica_parts(trace: dict, p: int, broker: str) -> list[tuple[float, str]]:
    """Give a broker's part in partition p over time, by the controller's word: `leader`,
    `in sync`, `behind` (out of the ISR), or `down`."""
    states = [e for e in trace["events"] if e["kind"] == "isr" and e["partition"] == p]
    down = down_intervals(trace).get(broker, [])
    times = sorted({0.0} | {e["t"] for e in states} | {t for span in down for t in span})
    out: list[tuple[float, str]] = []
    for t in times:
        now = [e for e in states if e["t"] <= t]
        part = (
            "in sync"
            if not now
            else "leader"
            if now[-1]["leader"] == broker
            else ("in sync" if broker in now[-1]["isr"] else "behind")
        )
        part = "down" if any(a <= t < b for a, b in down) else part
        if not out or out[-1][1] != part:
            out.append((t, part))
    return out


def final_logs(trace: dict) -> dict[int, list[dict]]:
    """Give each partition's log at the end as its last leader holds it: for each offset,
    the `produce` event that appended the record there (truncated records are gone)."""
    leader = {p: trace["nodes"][0] for p in range(int(trace["params"]["partitions"]))}
    appended = {}
    for e in trace["events"]:
        if e["kind"] == "isr" and e["leader"] is not None:
            leader[e["partition"]] = e["leader"]
        elif e["kind"] == "produce":
            appended[(e["partition"], e["offset"], e["seq"], e["epoch"])] = e
    logs: dict[int, list[dict]] = {p: [] for p in leader}
    for e in trace["events"]:
        if e["kind"] not in ("produce", "replicate", "truncate") or e["node"] != leader.get(
            e["partition"]
        ):
            continue
        log = logs[e["partition"]]
        del log[e["offset"] :]
        if e["kind"] == "produce":
            log.append(e)
        elif e["kind"] == "replicate":
            at = range(e["offset"], e["offset"] + len(e["seqs"]))
            ids = zip(at, e["seqs"], e["epochs"], strict=True)
            log += [appended[(e["partition"], *key)] for key in ids]
    return logs


def written(trace: dict) -> list[dict]:
    """Give the records in the partitions' final logs (their `produce` events), in time
    order: what a consumer can still read."""
    return sorted((e for log in final_logs(trace).values() for e in log), key=lambda e: e["id"])


def lost_acks(trace: dict) -> list[dict]:
    """Give the producer's `ack` events whose record is not at its offset in the final log."""
    logs = final_logs(trace)
    return [
        e
        for e in trace["events"]
        if e["kind"] == "ack"
        and not (
            e["offset"] < len(logs.get(e["partition"], []))
            and logs[e["partition"]][e["offset"]]["seq"] == e["seq"]
        )
    ]


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
        node=trace["nodes"][0],
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


def check_acked_survive(trace: dict) -> Check:
    """Every record the producer was told is written is in the final log, where it was."""
    lost, acked = lost_acks(trace), sum(1 for e in trace["events"] if e["kind"] == "ack")
    if not lost:
        return Check(
            "Acknowledged records survive",
            True,
            f"all {acked} acknowledged records are in the final logs",
        )
    first = lost[0]
    gone = next(
        (
            e
            for e in trace["events"]
            if e["kind"] == "truncate"
            and e["t"] > first["t"]
            and e["partition"] == first["partition"]
            and first["seq"] in e["seqs"]
        ),
        first,
    )
    why = "acks=1: the leader acked before any follower had it, then lost the leadership"
    return Check(
        "Acknowledged records survive",
        False,
        f"{len(lost)} of {acked} acknowledged records are gone ({_names(lost)}): "
        + (why if trace["params"].get("acks") == "1" else "a replica that lacked them led"),
        t=gone["t"],
        node=gone["node"],
    )


def check_read_committed(trace: dict) -> Check:
    """Consumers read only records that stay: each one processed is in the final log at its
    offset (they read below the high watermark, which no failover undoes)."""
    logs, count = final_logs(trace), 0
    for e in trace["events"]:
        if e["kind"] != "process" or e.get("seq") is None:
            continue
        count += 1
        log = logs.get(e["partition"], [])
        if not (e["offset"] < len(log) and log[e["offset"]]["seq"] == e["seq"]):
            return Check(
                "Only committed records read",
                False,
                f"{e['node']} processed p{e['partition']}@{e['offset']} ({e['key']}), which "
                "the final log does not hold there: it read above the high watermark",
                t=e["t"],
                node=e["node"],
            )
    return Check(
        "Only committed records read",
        True,
        f"all {count} records processed are in the final logs",
    )


CHECKS = (
    check_no_loss,
    check_all_processed,
    check_key_order,
    check_no_duplicates,
    check_acked_survive,
    check_read_committed,
)
