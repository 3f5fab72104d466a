"""The fault-schedule grammar: `crash n2@1500; restart n2@4000; partition n1,n2|n3@2000-6000`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import ScheduleError

_ITEM = re.compile(
    r"""^\s*
    (?P<op>crash|restart|partition)\s+      # the operation
    (?P<target>[^@]+?)\s*                   # a node, or groups split by '|'
    @\s*(?P<start>[^-\s]+)                  # time in ms
    (?:\s*-\s*(?P<end>\S+))?                # end time (partitions only)
    \s*$""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Crash:
    node: str
    t: float


@dataclass(frozen=True)
class Restart:
    node: str
    t: float


@dataclass(frozen=True)
class Partition:
    groups: tuple[tuple[str, ...], ...]
    start: float
    end: float


Fault = Crash | Restart | Partition


def _time(text: str, item: str, param: str) -> float:
    try:
        t = float(text)
    except ValueError:
        raise ScheduleError(f"{param}: bad time {text!r} in {item!r}") from None
    if not (0.0 <= t < float("inf")):
        raise ScheduleError(f"{param}: bad time {text!r} in {item!r}: must be 0 or more")
    return t


def parse_schedule(
    text: str, nodes: list[str], duration: float | None = None, param: str = "faults"
) -> list[Fault]:
    """Give the faults in `text`, sorted by time; raise ScheduleError naming the bad item."""
    known = set(nodes)
    faults: list[Fault] = []
    for raw in text.split(";"):
        item = raw.strip()
        if not item:
            continue
        m = _ITEM.match(item)
        if not m:
            raise ScheduleError(
                f"{param}: cannot read {item!r} (expected 'crash nX@T', 'restart nX@T' "
                "or 'partition nA,nB|nC@T1-T2')"
            )
        op, target, start = m["op"], m["target"].strip(), _time(m["start"], item, param)
        if duration is not None and start > duration:
            raise ScheduleError(f"{param}: {item!r} starts after the run ends ({duration:g} ms)")
        if op == "partition":
            if m["end"] is None:
                raise ScheduleError(f"{param}: {item!r} needs an end time, as in @2000-6000")
            end = _time(m["end"], item, param)
            if end <= start:
                raise ScheduleError(f"{param}: {item!r} ends before it starts")
            faults.append(Partition(_groups(target, known, nodes, item, param), start, end))
        else:
            if m["end"] is not None:
                raise ScheduleError(f"{param}: {item!r} takes one time, not a range")
            if target not in known:
                raise ScheduleError(
                    f"{param}: unknown node {target!r} in {item!r} (nodes: {', '.join(nodes)})"
                )
            faults.append((Crash if op == "crash" else Restart)(target, start))
    faults.sort(key=lambda f: f.start if isinstance(f, Partition) else f.t)
    _check_consistent(faults, param)
    return faults


def _groups(
    target: str, known: set[str], nodes: list[str], item: str, param: str
) -> tuple[tuple[str, ...], ...]:
    groups: list[tuple[str, ...]] = []
    seen: set[str] = set()
    for part in target.split("|"):
        names = tuple(n.strip() for n in part.split(",") if n.strip())
        if not names:
            raise ScheduleError(f"{param}: empty group in {item!r}")
        for n in names:
            if n not in known:
                raise ScheduleError(
                    f"{param}: unknown node {n!r} in {item!r} (nodes: {', '.join(nodes)})"
                )
            if n in seen:
                raise ScheduleError(f"{param}: node {n!r} is in two groups in {item!r}")
            seen.add(n)
        groups.append(names)
    rest = tuple(n for n in nodes if n not in seen)
    if rest:  # nodes the item does not name stay together on a side of their own
        groups.append(rest)
    if len(groups) < 2:
        raise ScheduleError(f"{param}: {item!r} needs at least two groups split by '|'")
    return tuple(groups)


def _check_consistent(faults: list[Fault], param: str) -> None:
    down: set[str] = set()
    last_end = -1.0
    for f in faults:
        if isinstance(f, Crash):
            if f.node in down:
                raise ScheduleError(
                    f"{param}: 'crash {f.node}@{f.t:g}' but {f.node} is already down then"
                )
            down.add(f.node)
        elif isinstance(f, Restart):
            if f.node not in down:
                raise ScheduleError(
                    f"{param}: 'restart {f.node}@{f.t:g}' but {f.node} is not down then"
                )
            down.discard(f.node)
        else:
            if f.start < last_end:
                raise ScheduleError(
                    f"{param}: partition at {f.start:g} overlaps the one "
                    f"before it (ends {last_end:g})"
                )
            last_end = f.end


def format_schedule(faults: list[Fault]) -> str:
    """Give the schedule text for `faults` (parse_schedule's inverse)."""
    items = []
    for f in faults:
        if isinstance(f, Partition):
            groups = "|".join(",".join(g) for g in f.groups)
            items.append(f"partition {groups}@{f.start:g}-{f.end:g}")
        else:
            items.append(f"{'crash' if isinstance(f, Crash) else 'restart'} {f.node}@{f.t:g}")
    return "; ".join(items)
