"""Failure detection over a lossy, jittery network: a fixed timeout against phi accrual.

Every node heartbeats every other node each `interval` ms. An observer suspects a peer
it has not heard from for too long, and trusts it again when a heartbeat arrives.

- `timeout`: suspect when the silence reaches `timeout` ms.
- `phi`: Hayashibara et al., "The phi accrual failure detector" (SRDS 2004). The observer
  keeps the last `window` inter-arrival times of each peer, fits a normal distribution to
  them, and reads phi = -log10(P(the next heartbeat comes later than the silence so far)).
  It suspects when phi reaches `threshold`: phi 8 means "a live peer would be this late
  once in 10^8 waits", if the network keeps behaving as it did.

Nothing here can tell a crashed peer from a slow link: every suspicion of a live node is a
mistake the network provoked, and the knob that cuts mistakes slows detection.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, replace

from .faults import Crash, Fault, parse_schedule
from .params import Param, common_params
from .queries import down_intervals
from .result import Check
from .sim import Node, Simulation

NAME = "failure"
TITLE = "Failure detectors: a fixed timeout against phi accrual"

PARAMS = common_params(duration=10000, drop=0.05, faults="crash n3@4000") + (
    Param("nodes", "int", 4, "Nodes", "How many nodes heartbeat each other.", min=2, max=8),
    Param(
        "detector",
        "choice",
        "phi",
        "Detector",
        "timeout: suspect after a fixed silence. phi: suspect when the silence is "
        "improbable given the heartbeats seen so far.",
        choices=("phi", "timeout"),
    ),
    Param(
        "interval",
        "float",
        200.0,
        "Heartbeat interval (ms)",
        "Each node sends every other node a heartbeat this often.",
        min=50.0,
        max=2000.0,
        step=10.0,
    ),
    Param(
        "jitter",
        "float",
        80.0,
        "Latency jitter (ms)",
        "A message takes 10 ms plus up to this much more, uniformly.",
        min=0.0,
        max=1000.0,
        step=10.0,
    ),
    Param(
        "timeout",
        "float",
        500.0,
        "Timeout (ms)",
        "timeout detector: suspect a peer silent for this long.",
        min=20.0,
        max=20000.0,
        step=50.0,
    ),
    Param(
        "threshold",
        "float",
        8.0,
        "Phi threshold",
        "phi detector: suspect at this phi (8 means a one-in-10^8 delay).",
        min=1.0,
        max=16.0,
        step=0.5,
    ),
    Param(
        "window",
        "int",
        20,
        "Window",
        "phi detector: how many recent inter-arrival times it fits.",
        min=2,
        max=200,
    ),
)

BASE_LATENCY = 10.0
# The fitted spread never goes below interval / 4: with a steady stream the measured
# spread tends to zero and the first slightly late heartbeat would look impossible.
MIN_STD_SHARE = 0.25
# How often an observer re-evaluates its peers, as a share of the heartbeat interval.
CHECK_SHARE = 0.1
# -log10 of the smallest probability a double holds: phi saturates here.
PHI_MAX = 300.0


@dataclass(frozen=True)
class Heartbeat:
    seq: int


@dataclass(frozen=True)
class Config:
    detector: str
    interval: float
    timeout: float
    threshold: float
    window: int

    @property
    def min_std(self) -> float:
        return self.interval * MIN_STD_SHARE

    @property
    def check_every(self) -> float:
        return self.interval * CHECK_SHARE

    @property
    def limit(self) -> float:
        """Give the level at which a peer becomes suspect: phi, or silence in ms."""
        return self.threshold if self.detector == "phi" else self.timeout


def phi(silence: float, intervals: list[float] | deque, min_std: float) -> float:
    """Give -log10 of the chance that a heartbeat comes later than `silence` ms.

    The inter-arrival times are taken as normally distributed with the sample mean and
    standard deviation of `intervals` (the deviation no smaller than `min_std`).
    """
    n = len(intervals)
    mean = sum(intervals) / n
    var = sum((x - mean) ** 2 for x in intervals) / n
    std = max(math.sqrt(var), min_std)
    p_later = 0.5 * math.erfc((silence - mean) / (std * math.sqrt(2.0)))
    if p_later <= 0.0:
        return PHI_MAX
    return min(-math.log10(p_later), PHI_MAX)


class PeerView:
    """What an observer knows about one peer; volatile, lost when the observer crashes."""

    def __init__(self, now: float, interval: float, window: int) -> None:
        self.last = now  # the observer starts its watch as if just heard
        self.heard = False  # the first gap is a start-up artefact, not a sample
        self.intervals: deque[float] = deque([interval], maxlen=window)
        self.suspected = False
        self.newest = 0  # the highest heartbeat number heard


class Monitor(Node):
    """A node that heartbeats its peers and runs a failure detector on each of them."""

    def __init__(
        self,
        name: str,
        sim: Simulation,
        peers: list[str],
        config: Config,
        probe: tuple[str, list] | None = None,
    ) -> None:
        super().__init__(name, sim)
        self.peers = peers
        self.config = config
        self.probe = probe  # (peer, samples): record this peer's suspicion level over time
        self.views: dict[str, PeerView] = {}
        self.seq = 0

    # -- life cycle -------------------------------------------------------------
    def on_start(self) -> None:
        self._begin()

    def on_restart(self) -> None:
        self._begin()

    def on_crash(self) -> None:
        self.views = {}

    def _begin(self) -> None:
        now, cfg = self.sim.now, self.config
        self.views = {p: PeerView(now, cfg.interval, cfg.window) for p in self.peers}
        # Random phases keep the nodes from beating and checking in lockstep.
        self.set_timer(self.sim.rng.uniform(0.0, cfg.interval), self._beat)
        self.set_timer(self.sim.rng.uniform(0.0, cfg.check_every), self._check)

    # -- heartbeats ---------------------------------------------------------------
    def _beat(self) -> None:
        self.seq += 1
        for peer in self.peers:
            self.send(peer, Heartbeat(self.seq), label=f"hb {self.seq}")
        self.set_timer(self.config.interval, self._beat)

    def on_Heartbeat(self, msg: Heartbeat, src: str, msg_id: int) -> None:
        view = self.views[src]
        if msg.seq <= view.newest:
            # A copy the network repeated, or a beat overtaken by a newer one: it says
            # nothing about the peer now, and its gap would be a false sample.
            return
        view.newest = msg.seq
        now = self.sim.now
        if view.suspected:
            # The gap that ended a suspicion was an outage, not a sample of normal jitter;
            # learning from it would make the detector sluggish for a whole window.
            view.suspected = False
            self.record("trust", peer=src, silence=round(now - view.last, 3))
        elif view.heard:
            view.intervals.append(now - view.last)
        view.heard = True
        view.last = now

    # -- detection ------------------------------------------------------------------
    def level(self, view: PeerView) -> float:
        """Give the detector's suspicion level now: phi, or the silence in ms."""
        silence = self.sim.now - view.last
        if self.config.detector == "phi":
            return phi(silence, view.intervals, self.config.min_std)
        return silence

    def _check(self) -> None:
        limit = self.config.limit
        for peer in self.peers:
            view = self.views[peer]
            level = self.level(view)
            if self.probe is not None and self.probe[0] == peer:
                self.probe[1].append([round(self.sim.now, 3), round(level, 2)])
            if not view.suspected and level >= limit:
                self._suspect(peer, view, level)
        self.set_timer(self.config.check_every, self._check)

    def _suspect(self, peer: str, view: PeerView, level: float) -> None:
        view.suspected = True
        silence = round(self.sim.now - view.last, 3)
        if self.config.detector == "phi":
            self.record("suspect", peer=peer, phi=round(level, 2), silence=silence)
        else:
            self.record("suspect", peer=peer, silence=silence)


# -- running ---------------------------------------------------------------------------


def node_names(params: Mapping[str, object]) -> list[str]:
    """Give n1..nN for the `nodes` param."""
    return [f"n{i}" for i in range(1, int(params["nodes"]) + 1)]


def watched_pair(names: list[str], faults: list[Fault]) -> tuple[str, str]:
    """Give (observer, peer) for the plot: someone watching the first node to crash."""
    crashed = [f.node for f in faults if isinstance(f, Crash)]
    peer = crashed[0] if crashed else names[-1]
    observer = next(n for n in names if n != peer)
    return observer, peer


def simulate(params: dict) -> dict:
    """Run the detectors with effective `params`; give the trace document."""
    names = node_names(params)
    faults = parse_schedule(params["faults"], names, params["duration"])
    sim = Simulation.from_params(params, latency=(BASE_LATENCY, BASE_LATENCY + params["jitter"]))
    config = Config(
        params["detector"],
        params["interval"],
        params["timeout"],
        params["threshold"],
        params["window"],
    )
    observer, peer = watched_pair(names, faults)
    samples: list[list[float]] = []
    for name in names:
        probe = (peer, samples) if name == observer else None
        sim.add(Monitor(name, sim, [p for p in names if p != name], config, probe))
    sim.apply_faults(faults)
    sim.run(params["duration"])
    doc = sim.trace_doc(
        names,
        detector=config.detector,
        level={
            "observer": observer,
            "peer": peer,
            "unit": "phi" if config.detector == "phi" else "ms",
            "limit": config.limit,
            "samples": samples,
        },
    )
    doc["detection"] = detection({**doc, "duration": float(params["duration"])})
    return doc


# -- checks (pure functions of the trace) --------------------------------------------------


def _downtimes(trace: dict) -> dict[str, list[tuple[float, float]]]:
    return down_intervals(trace)


# What an observer believes at a moment: ("up" or "down", the peers it suspects, by name).
View = tuple[str, tuple[str, ...]]


def view_after(view: View, e: dict) -> View:
    """Give an observer's view after one of its own events: a suspect event adds the peer, a
    trust event removes it, a crash forgets every suspicion (as the node does)."""
    role, suspects = view
    if e["kind"] == "suspect":
        return role, tuple(sorted({*suspects, e["peer"]}))
    if e["kind"] == "trust":
        return role, tuple(p for p in suspects if p != e["peer"])
    if e["kind"] in ("crash", "restart"):
        return ("down" if e["kind"] == "crash" else "up"), ()
    return view


def _suspected(events: list[dict], before: float = math.inf) -> dict[tuple[str, str], float]:
    """Give the suspicions standing just before time `before`: (observer, peer) -> since.

    An observer's crash wipes its opinions, as it does in the nodes.
    """
    suspects: dict[tuple[str, str], float] = {}
    for e in events:
        if e["t"] >= before:
            break
        if e["kind"] == "suspect":
            suspects[(e["node"], e["peer"])] = e["t"]
        elif e["kind"] == "trust":
            suspects.pop((e["node"], e["peer"]), None)
        elif e["kind"] == "crash":
            for pair in [p for p in suspects if p[0] == e["node"]]:
                del suspects[pair]
    return suspects


def _suspicions(trace: dict) -> list[dict]:
    return [e for e in trace["events"] if e["kind"] == "suspect"]


def _ms(x: float) -> str:
    return f"{x:.0f} ms"


def settle_time(params: Mapping[str, object]) -> float:
    """Give how long a crashed node must have been down, and its observer up, before
    Completeness demands that the observer suspects it.

    Heartbeats in flight at a crash land up to one slowest message later (a copy, twice
    that), and then the detector needs its own limit: the timeout after a few lost beats,
    or for phi a silence some fitted deviations out, for which 20 intervals sufficed over
    the 3000 seeded runs of tests/test_failure.py.
    """
    slowest = BASE_LATENCY + float(params["jitter"]) + float(params.get("reorder", 0.0))
    interval = float(params["interval"])
    if params["detector"] == "timeout":
        wait = 5 * interval + float(params["timeout"])
    else:
        wait = 20 * interval
    return wait + 2 * slowest


def check_completeness(trace: dict) -> Check:
    """Every node that crashes and stays down is suspected by every live node at the end,
    once both had `settle_time` to get there (a crash just before the end is not judged).

    The detail also gives how fast crashes were detected (see `detection`).
    """
    check = _completeness(trace)
    speed = _detection_text(detection(trace))
    return replace(check, detail=f"{check.detail}; {speed}") if speed else check


def _completeness(trace: dict) -> Check:
    end = float(trace["duration"])
    spans = _downtimes(trace)
    dead = {n: s[-1][0] for n, s in spans.items() if s and s[-1][1] >= end}
    if not dead:
        return Check("Completeness", True, "no node stayed down, so there was nothing to detect")
    live = [n for n in trace["nodes"] if n not in dead]
    # An observer back from a crash starts its watch afresh: it needs the time too.
    up_since = {n: spans[n][-1][1] if spans.get(n) else 0.0 for n in live}
    settle = settle_time(trace["params"])
    final = _suspected(trace["events"])
    parts, missing, early = [], [], []
    for peer, crashed_at in sorted(dead.items(), key=lambda kv: (kv[1], kv[0])):
        seen = []
        for obs in live:
            if (obs, peer) in final:
                seen.append(f"{obs} after {_ms(max(0.0, final[(obs, peer)] - crashed_at))}")
            elif end - max(crashed_at, up_since[obs]) > settle:
                missing.append((obs, peer, crashed_at))
            else:
                early.append(f"{obs} of {peer}")
        if seen:
            parts.append(f"{peer} (down from {crashed_at:g} ms) suspected by " + ", ".join(seen))
    if early:
        parts.append(f"too near the end to judge ({_ms(settle)} needed): " + ", ".join(early))
    if not live:
        return Check("Completeness", True, "every node is down at the end: nobody to detect")
    if missing:
        obs, peer, crashed_at = missing[0]
        names = ", ".join(f"{o} still trusts {p}" for o, p, _ in missing)
        return Check(
            "Completeness",
            False,
            f"{names} at the end ({peer} down for {_ms(end - crashed_at)})",
            t=end,
            node=obs,
        )
    return Check("Completeness", True, "; ".join(parts))


def false_suspicions(trace: dict) -> list[dict]:
    """Give the suspect events that accused a peer which never stopped.

    A suspicion is false when the peer was up throughout the silence that led to it. A
    peer that crashed and came back during that silence was rightly suspected, if late.
    """
    spans = _downtimes(trace)
    wrong = []
    for e in _suspicions(trace):
        since = e["t"] - float(e.get("silence", 0.0))
        if not any(start <= e["t"] and since < stop for start, stop in spans[e["peer"]]):
            wrong.append(e)
    return wrong


def check_false_suspicions(trace: dict) -> Check:
    """Count suspicions of a node that never stopped: the detector's mistakes.

    The check passes only with none. A run with mistakes is not a bug in the detector:
    no detector over an asynchronous network avoids them, it only trades them for speed.
    """
    suspicions = _suspicions(trace)
    wrong = false_suspicions(trace)
    if not wrong:
        return Check("False suspicions", True, f"0 of {len(suspicions)} suspicions hit a live node")
    shown = ", ".join(f"{e['node']} suspected {e['peer']} at {e['t']:g} ms" for e in wrong[:3])
    more = f" and {len(wrong) - 3} more" if len(wrong) > 3 else ""
    return Check(
        "False suspicions",
        False,
        f"{len(wrong)} of {len(suspicions)} suspicions hit a live node ({shown}{more}); "
        "a longer timeout or higher threshold errs less but detects later",
        t=wrong[0]["t"],
        node=wrong[0]["node"],
    )


def detection_latencies(trace: dict) -> tuple[list[float], int]:
    """Give crash-to-suspicion latencies over (observer, crash) and how many went unseen.

    Only observers up for the whole outage count; one already suspecting at the crash
    detects it at once.
    """
    spans = _downtimes(trace)
    latencies: list[float] = []
    unseen = 0
    for peer, outages in spans.items():
        for start, stop in outages:
            standing = _suspected(trace["events"], before=start)
            for obs in trace["nodes"]:
                if obs == peer or any(s < stop and start < e for s, e in spans[obs]):
                    continue
                hit = next(
                    (
                        e["t"]
                        for e in trace["events"]
                        if e["kind"] == "suspect"
                        and e["node"] == obs
                        and e["peer"] == peer
                        and start <= e["t"] <= stop
                    ),
                    None,
                )
                if (obs, peer) in standing:
                    latencies.append(0.0)
                elif hit is not None:
                    latencies.append(hit - start)
                else:
                    unseen += 1
    return latencies, unseen


def detection(trace: dict) -> dict:
    """Give the detection figures: mean and max latency (ms), observations, unnoticed."""
    latencies, unseen = detection_latencies(trace)
    mean = round(sum(latencies) / len(latencies), 3) if latencies else None
    worst = round(max(latencies), 3) if latencies else None
    return {"mean": mean, "max": worst, "observations": len(latencies), "unnoticed": unseen}


def _detection_text(figures: dict) -> str:
    """Give the detection figures as a clause, or '' when no crash was watched."""
    if not figures["observations"] and not figures["unnoticed"]:
        return ""  # no crash was watched: nothing to time
    text = "no crash was detected"
    if figures["observations"]:
        text = (
            f"detection took mean {_ms(figures['mean'])}, max {_ms(figures['max'])} "
            f"over {figures['observations']} observations"
        )
    if figures["unnoticed"]:
        text += f"; {figures['unnoticed']} outages ended before the observer noticed"
    return text


def summarize(trace: dict, checks: list[Check]) -> str:
    """Give one sentence naming the detector, its mistakes and its speed."""
    p = trace["params"]
    if p["detector"] == "phi":
        name = f"phi accrual (threshold {p['threshold']:g}, window {p['window']})"
    else:
        name = f"fixed timeout ({p['timeout']:g} ms)"
    wrong = len(false_suspicions(trace))
    figures = detection(trace)
    speed = (
        f"crashes detected after {_ms(figures['mean'])} on average (max {_ms(figures['max'])})"
        if figures["observations"]
        else "no crash detected"
    )
    if figures["unnoticed"]:
        speed += f", {figures['unnoticed']} outages unnoticed"
    return (
        f"{name}, heartbeat every {p['interval']:g} ms: {wrong} false "
        f"suspicion{'s' if wrong != 1 else ''}, {speed}."
    )


# Detection speed is reported (in Completeness, the summary and the trace's "detection") but
# not checked: any latency is a trade-off, not a violation.
CHECKS = (check_completeness, check_false_suspicions)


# Any timeout can be wrong about a slow but live peer: false suspicions are the price a
# detector pays for speed, not a broken promise, so a counterexample search skips them.
NOT_GUARANTEED = ("check_false_suspicions",)
