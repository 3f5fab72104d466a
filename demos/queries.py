"""Questions every demo asks of a trace: who was down when, which messages failed and why,
what a node's state was over time. Pure functions of the trace JSON document."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable

from .sim import cooperating


def down_intervals(trace: dict) -> dict[str, list[tuple[float, float]]]:
    """Give each node's down time as (crash, restart) intervals, in time order.

    Read from `crash`/`restart` events, or from a top-level `downtime` list for demos whose
    events cannot hold them. Every node has an entry (empty if it never crashed); a node
    still down at the end is down until the trace's duration.
    """
    duration = float(trace["duration"])
    down: dict[str, list[tuple[float, float]]] = {node: [] for node in trace["nodes"]}
    if "downtime" in trace:
        for span in trace["downtime"]:
            end = span["end"] if span["end"] is not None else duration
            down.setdefault(span["node"], []).append((span["start"], end))
        return {node: sorted(spans) for node, spans in down.items()}
    since: dict[str, float] = {}
    for e in trace["events"]:
        if e["kind"] == "crash":
            since.setdefault(e["node"], e["t"])
        elif e["kind"] == "restart" and e["node"] in since:
            down[e["node"]].append((since.pop(e["node"]), e["t"]))
    for node, t in since.items():
        down[node].append((t, duration))
    return down


def is_up(down: dict[str, list[tuple[float, float]]], node: str, t0: float, t1: float) -> bool:
    """Give whether `node` was up for the whole of [t0, t1]."""
    return all(end <= t0 or start >= t1 for start, end in down.get(node, ()))


def failed_messages(trace: dict) -> dict[str, int]:
    """Give how many messages were not delivered, by reason, most common first."""
    counts: dict[str, int] = {}
    for m in trace["messages"]:
        if m["status"] != "delivered":
            reason = m.get("reason", m["status"])
            counts[reason] = counts.get(reason, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def timeline(
    trace: dict,
    initial: object,
    step: Callable[[object, dict], object],
    nodes: Iterable[str] | None = None,
) -> dict[str, list[tuple[float, object]]]:
    """Give each node's state over time as [(since, state), ...], starting at 0.

    `step(state, event)` gives the node's state after one of its own events (or the same
    state); equal consecutive states are merged, so every entry is a real change. States
    must be immutable values (tuples, frozen dataclasses): they are compared and kept.
    """
    names = list(trace["nodes"] if nodes is None else nodes)
    changes: dict[str, list[tuple[float, object]]] = {n: [(0.0, initial)] for n in names}
    for e in cooperating(trace["events"]):
        history = changes.get(e["node"])
        if history is None:
            continue
        after = step(history[-1][1], e)
        if after == history[-1][1]:
            continue
        if history[-1][0] == e["t"]:
            history.pop()  # two changes at one instant: only the later one is ever seen
            if history and history[-1][1] == after:
                continue
        history.append((e["t"], after))
    return changes


def state_at(changes: list[tuple[float, object]], t: float) -> object:
    """Give the state in effect at time `t` from a node's [(since, state), ...] list."""
    return state_reader(changes)(t)


def state_reader(changes: list[tuple[float, object]]) -> Callable[[float], object]:
    """Give `state_at(changes, t)` as a function of `t`, for reading one history at many
    times: the times are indexed once, not at every read."""
    starts = [since for since, _ in changes]
    return lambda t: changes[max(bisect_right(starts, t) - 1, 0)][1]


def project(
    history: list[tuple[float, object]], key: Callable[[object], object]
) -> list[tuple[float, object]]:
    """Give the stretches of `key(state)` in a history of states: a coarser history."""
    out: list[tuple[float, object]] = []
    for since, state in history:
        if not out or out[-1][1] != key(state):
            out.append((since, key(state)))
    return out


def events_with_downtime(trace: dict) -> list[dict]:
    """Give the trace's events with a `crash` and a `restart` event merged in, in time order,
    for each down interval (for demos that keep their downtime beside the events).

    A node still down at the end gets no restart; at equal times the trace's own events come
    first.
    """
    return sorted(trace["events"] + _downtime_marks(trace), key=lambda e: e["t"])


def liveness(
    trace: dict, up: dict[str, object] | None = None
) -> dict[str, list[tuple[float, object]]]:
    """Give each node's state over time: `up[node]` ("up" by default) while it runs, "down"
    while it is down (from `down_intervals`)."""
    timed = {
        "nodes": trace["nodes"],
        "events": sorted(_downtime_marks(trace), key=lambda e: e["t"]),
    }
    alive = timeline(timed, True, lambda state, e: e["kind"] == "restart")
    return {
        node: [(t, ("up" if up is None else up[node]) if ok else "down") for t, ok in history]
        for node, history in alive.items()
    }


def times_by_node(
    items: Iterable[dict], time: str = "t", node: str = "node"
) -> dict[str, list[float]]:
    """Give the times of events grouped by their node, in the order given (messages: pass
    time="sent", node="src" for when each node sent)."""
    out: dict[str, list[float]] = {}
    for item in items:
        out.setdefault(item[node], []).append(item[time])
    return out


def _downtime_marks(trace: dict) -> list[dict]:
    """Give a `crash` event where each down interval starts and a `restart` where it ends
    (none past the end of the run)."""
    return [
        {"t": t, "node": node, "kind": kind}
        for node, spans in down_intervals(trace).items()
        for span in spans
        for t, kind in zip(span, ("crash", "restart"), strict=True)
        if t < trace["duration"]
    ]
