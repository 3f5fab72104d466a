"""Counterexample search: many seeds × random fault schedules, then shrinking.

A case is a demo's params with a drawn seed, fault schedule, loss, duplication and
reordering. A demo may name where its leaders are vulnerable (`NEMESIS`); then every
other case aims its faults at whoever leads, as Jepsen's nemeses do, which reaches runs
that blind faults almost never do (Raft's Figure 8). The search runs cases in a fixed
order (case i depends only on the search seed, i and the protocol searched, so `shard k/n`
runs every n-th case and n machines split one search exactly) until a guarantee of the
demo fails. It then shrinks the failing case: fewer faults, shorter partitions, no loss or
duplication or reordering, fewer nodes, a shorter run, as long as the same check still
fails. Both steps are generators that yield their progress, so a browser worker can show
it and stop between runs.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import ModuleType

from .errors import DemoError, ScheduleError
from .faults import Crash, Fault, Partition, Restart, format_schedule, parse_schedule
from .pipeline import assemble
from .registry import get
from .result import Result

# Whichever of these a demo has is its cluster size.
SIZE_PARAMS = ("nodes", "replicas", "processes", "consumers")
DROPS = (0.0, 0.0, 0.05, 0.1, 0.2, 0.3)
DUPLICATES = (0.0, 0.0, 0.1, 0.3)
REORDERS = (0.0, 0.0, 20.0, 100.0, 400.0)


@dataclass(frozen=True)
class Progress:
    """Where a search or a shrink stands: runs done so far and the phase."""

    phase: str  # "search" or "shrink"
    runs: int
    found: bool = False


@dataclass(frozen=True)
class Counterexample:
    """A failing case: its params, the check that failed, and what finding it took."""

    params: dict
    check: str
    detail: str
    runs: int  # runs of the search until the first failure
    shrink_runs: int
    first: dict  # the case as first found, before shrinking
    result: Result = field(repr=False, compare=False)

    def to_json(self) -> dict:
        return {
            "params": self.params,
            "check": self.check,
            "detail": self.detail,
            "runs": self.runs,
            "shrink_runs": self.shrink_runs,
            "first": self.first,
        }


def guarantees(module: ModuleType, params: Mapping[str, object]) -> list[str]:
    """Give the names of the checks that must hold under any fault schedule.

    A demo names the checks that may fail by design (liveness under faults, a guarantee a
    mode does not give) in `NOT_GUARANTEED`: a tuple, or a function of the params that
    gives one. Every other check is a guarantee.
    """
    skipped = getattr(module, "NOT_GUARANTEED", ())
    if callable(skipped):
        skipped = skipped(params)
    return [check.__name__ for check in module.CHECKS if check.__name__ not in set(skipped)]


def violation(
    module: ModuleType, params: Mapping[str, object], protocol: ModuleType | None = None
) -> tuple[Result, object | None]:
    """Give the run of `params` and the first guaranteed check that failed in it, or None."""
    result = assemble(module, params, protocol)
    watched = set(guarantees(module, result.params))
    for check_fn, check in zip(module.CHECKS, result.checks, strict=True):
        if check_fn.__name__ in watched and not check.ok:
            return result, check
    return result, None


def random_schedule(rng: random.Random, nodes: list[str], duration: float) -> str:
    """Give a consistent schedule of crashes, restarts and non-overlapping partitions."""
    faults: list[Fault] = []
    down: list[str] = []
    t = 0.0
    for _ in range(rng.randint(0, 6)):
        t += rng.uniform(100.0, duration / 3)
        if t >= duration - 50:
            break
        if rng.random() < 0.55:
            node = rng.choice(nodes)
            if node in down:
                faults.append(Restart(node, round(t)))
                down.remove(node)
            else:
                faults.append(Crash(node, round(t)))
                down.append(node)
        else:
            shuffled = rng.sample(nodes, len(nodes))
            cut = rng.randint(1, len(nodes) - 1)
            end = min(duration, t + rng.uniform(200.0, duration / 2))
            groups = (tuple(sorted(shuffled[:cut])), tuple(sorted(shuffled[cut:])))
            faults.append(Partition(groups, round(t), round(end)))
            t = end
    return format_schedule(faults)


def leader_moment(
    trace: Mapping[str, object], after: float, kinds: tuple[str, ...]
) -> tuple[str, float] | None:
    """Give (node, t) of the first event of one of `kinds` after `after` that a node
    records while it leads (its role event says leader and it has not crashed since), or
    None when no leader records one before the run ends."""
    leading: set[str] = set()
    for e in trace["events"]:  # sorted by time (trace contract)
        if e["kind"] == "role":
            if e["role"] == "leader":
                leading.add(e["node"])
            else:
                leading.discard(e["node"])
        elif e["kind"] == "crash":
            leading.discard(e["node"])
        elif e["t"] > after and e["kind"] in kinds and e["node"] in leading:
            return e["node"], float(e["t"])
    return None


def leader_schedule(
    module: ModuleType,
    params: Mapping[str, object],
    rng: random.Random,
    protocol: ModuleType | None = None,
) -> str:
    """Give a schedule whose faults strike leaders at the moments the demo names in
    `NEMESIS`: each is a crash (restarted later) or a partition that leaves the leader in a
    minority, one millisecond after the leader records such an event.

    Each fault is decided from a run of the same params with the faults before it (a run
    up to a fault's start does not depend on that fault), so the schedule is a function of
    the search seed, the case and the protocol, and an ordinary schedule string that the
    shrinker takes as it takes any other. A new partition ends the one before it.
    """
    nodes = module.node_names(params)
    duration = float(params["duration"])
    minority = (len(nodes) - 1) // 2
    simulate = (protocol or module).simulate
    faults: list[Fault] = []
    trace = simulate(params | {"faults": ""})
    t = rng.uniform(0.0, duration / 2)
    for _ in range(rng.randint(2, 6)):
        action, kind = rng.choice(module.NEMESIS)
        strike = leader_moment(trace, t, (kind,))
        if strike is None:
            break
        leader, at = strike
        start = round(at) + 1  # before anything the leader just sent can arrive
        end = min(round(duration), start + round(rng.uniform(200.0, 2000.0)))
        if end - start < 100:
            break
        if action == "crash":
            faults += [Crash(leader, start), Restart(leader, end)]
        else:
            others = [node for node in nodes if node != leader]
            cut = sorted([leader, *rng.sample(others, rng.randint(0, minority - 1))])
            rest = tuple(node for node in nodes if node not in cut)
            faults = [end_by(f, start) for f in faults if not starts_by(f, start)]
            faults.append(Partition((tuple(cut), rest), start, end))
        t = start  # the next strike comes later, when this one's target may be down
        trace = simulate(params | {"faults": format_schedule(faults)})
    return format_schedule(sorted(faults, key=fault_time))


def fault_time(fault: Fault) -> float:
    """Give when `fault` starts."""
    return fault.start if isinstance(fault, Partition) else fault.t


def starts_by(fault: Fault, t: float) -> bool:
    """Give whether `fault` is a partition that would start at `t` or later."""
    return isinstance(fault, Partition) and fault.start >= t


def end_by(fault: Fault, t: float) -> Fault:
    """Give `fault`, a partition still running at `t` ended there."""
    if isinstance(fault, Partition) and fault.end > t:
        return Partition(fault.groups, fault.start, t)
    return fault


def case(
    module: ModuleType,
    base: Mapping[str, object],
    search_seed: int,
    index: int,
    protocol: ModuleType | None = None,
) -> dict:
    """Give case `index` of a search: `base` with a drawn seed, faults and network.

    In a demo that names where to strike its leaders (`NEMESIS`), every odd case aims its
    faults at them (`leader_schedule`, run with `protocol`) over a network that neither
    loses, repeats nor delays messages, so that they land where they were aimed; the other
    cases are drawn blind.
    """
    rng = random.Random(f"{search_seed}:{index}")
    params = dict(base)
    params["seed"] = rng.randrange(2**31 - 1)
    params["drop"] = rng.choice(DROPS)
    params["duplicate"] = rng.choice(DUPLICATES)
    params["reorder"] = rng.choice(REORDERS)
    nodes = module.node_names(params)
    params["faults"] = random_schedule(rng, nodes, float(params["duration"]))
    if index % 2 == 1 and getattr(module, "NEMESIS", ()):
        params.update(drop=0.0, duplicate=0.0, reorder=0.0)
        params["faults"] = leader_schedule(module, params, rng, protocol)
    return params


def search(
    name: str,
    *,
    base: Mapping[str, object] | None = None,
    runs: int = 1000,
    seed: int = 1,
    shard: tuple[int, int] = (0, 1),
    protocol: ModuleType | None = None,
) -> Iterator[Progress | Counterexample | None]:
    """Yield Progress after every run; end with the shrunken Counterexample, or None.

    `base` holds params the search keeps (a figure's own); `shard` (k, n) runs the cases
    whose index is k modulo n.
    """
    module = get(name)
    k, n = shard
    if not (n >= 1 and 0 <= k < n):
        raise DemoError(f"shard: {k}/{n} is not a shard (want K/N with 0 <= K < N)")
    if runs < 1:
        raise DemoError(f"runs: {runs} is below the minimum 1")
    start = assemble_params(module, base or {})
    for done, index in enumerate(range(k, runs, n), start=1):
        params = case(module, start, seed, index, protocol)
        _, failed = violation(module, params, protocol)
        yield Progress("search", done, failed is not None)
        if failed is not None:
            shrunk = yield from shrink(module, params, failed.name, protocol)
            small, small_result, steps = shrunk
            check = next(c for c in small_result.checks if c.name == failed.name)
            yield Counterexample(small, check.name, check.detail, done, steps, params, small_result)
            return
    yield None


def assemble_params(module: ModuleType, given: Mapping[str, object]) -> dict:
    """Give the effective params for `given` (checked as a figure's params are)."""
    from .params import resolve

    return resolve(module.PARAMS, given, module.node_names)


def shrink(
    module: ModuleType, params: dict, check: str, protocol: ModuleType | None
) -> Iterator[Progress]:
    """Yield Progress per try; return (smallest params, its result, tries) that still fail
    `check`. Greedy: take the first smaller case that still fails, until none does.

    A smaller case counts only where `check` is still a guarantee: shrinking can reach
    params at which the demo no longer promises it (a run too short to finish its work, a
    mode that gives it up), and a failure there is no counterexample.
    """
    tries = 0
    best = dict(params)
    best_result = None
    improved = True
    while improved:
        improved = False
        for smaller in candidates(module, best):
            if smaller == best:  # pragma: no cover - candidates are strictly smaller
                continue
            tries += 1
            try:
                result = assemble(module, smaller, protocol)
            except ScheduleError:
                continue
            yield Progress("shrink", tries)
            if still_fails(module, result, check):
                best, best_result, improved = smaller, result, True
                break
    if best_result is None:
        best_result = assemble(module, best, protocol)
    return best, best_result, tries


def still_fails(module: ModuleType, result: Result, check: str) -> bool:
    """Give whether check `check` (its display name) failed in `result` while a guarantee at
    its params."""
    watched = set(guarantees(module, result.params))
    return any(
        fn.__name__ in watched and c.name == check and not c.ok
        for fn, c in zip(module.CHECKS, result.checks, strict=True)
    )


def candidates(module: ModuleType, params: dict) -> Iterator[dict]:
    """Give params one step smaller than `params`, most promising first."""
    nodes = module.node_names(params)
    faults = parse_schedule(str(params["faults"]), nodes, float(params["duration"]))
    for i in range(len(faults)):  # one fault fewer (a crash takes its restart along)
        rest = drop_fault(faults, i)
        yield params | {"faults": format_schedule(rest)}
    for i, f in enumerate(faults):  # a partition half as long
        if isinstance(f, Partition) and f.end - f.start >= 100:
            shorter = Partition(f.groups, f.start, round(f.start + (f.end - f.start) / 2))
            yield params | {"faults": format_schedule([*faults[:i], shorter, *faults[i + 1 :]])}
    for key in ("drop", "duplicate", "reorder"):
        if float(params.get(key, 0.0)) > 0:
            yield params | {key: 0.0}
    size = next((key for key in SIZE_PARAMS if key in params), None)
    if size is not None:
        low = next(p.min for p in module.PARAMS if p.name == size)
        if params[size] > low:
            fewer = params | {size: params[size] - 1}
            gone = set(nodes) - set(module.node_names(fewer))
            if not any(mentions(f, gone) for f in faults):
                yield fewer
    duration = float(params["duration"])
    shorter = round(duration * 0.75 / 100) * 100
    low = next(p.min for p in module.PARAMS if p.name == "duration")
    last = max((f.end if isinstance(f, Partition) else f.t for f in faults), default=0.0)
    if max(low, last) <= shorter < duration:  # rounding must not give the same duration back
        yield params | {"duration": float(shorter)}


def drop_fault(faults: list[Fault], i: int) -> list[Fault]:
    """Give `faults` without item i; a dropped crash takes the node's next restart along."""
    gone = faults[i]
    rest = faults[:i] + faults[i + 1 :]
    if isinstance(gone, Crash):
        j = next(
            (
                j
                for j, f in enumerate(rest)
                if j >= i and isinstance(f, Restart) and f.node == gone.node
            ),
            None,
        )
        if j is not None:
            rest = rest[:j] + rest[j + 1 :]
    elif isinstance(gone, Restart):
        # Without its restart the node stays down: later crash/restart pairs go too.
        rest = [
            f
            for j, f in enumerate(rest)
            if not (j >= i and isinstance(f, Crash | Restart) and f.node == gone.node)
        ]
    return rest


def mentions(fault: Fault, nodes: set[str]) -> bool:
    if isinstance(fault, Partition):
        return any(n in nodes for group in fault.groups for n in group)
    return fault.node in nodes


def run_search(name: str, **options: object) -> tuple[Counterexample | None, int]:
    """Give the search's end (a Counterexample or None) and the runs it made in all."""
    runs = 0
    for step in search(name, **options):
        if isinstance(step, Progress):
            runs += 1
        else:
            return step, runs
    return None, runs  # pragma: no cover - search always ends with a result or None
