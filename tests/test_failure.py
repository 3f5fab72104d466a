"""The failure-detector demo: node rules through a fake network, properties over many seeds,
checks that can fail, the contracts (params, CLI, trace, SVG) and a golden figure."""

from __future__ import annotations

import json
import math
import os
import random
import re
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest
from fakes import FakeSim

import demos
from demos import ParamError, failure, search
from demos.failure_draw import say
from demos.params import resolve

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden" / "failure-default.svg"


def monitor(sim: FakeSim, detector: str = "timeout", **kw) -> failure.Monitor:
    cfg = dict(detector=detector, interval=100.0, timeout=300.0, threshold=8.0, window=10)
    cfg.update(kw)
    node = failure.Monitor("n1", sim, ["n2", "n3"], failure.Config(**cfg))
    node.on_start()
    return node


# -- node rules ------------------------------------------------------------------------


def test_heartbeats_every_peer_each_interval(sim):
    monitor(sim)
    sim.advance(100.0)  # the first beat comes within one interval (random phase)
    assert [(d, m.seq) for _, d, m in sim.take_all(failure.Heartbeat)] == [("n2", 1), ("n3", 1)]
    sim.advance(200.0)
    assert [(d, m.seq) for _, d, m in sim.take_all(failure.Heartbeat)] == [("n2", 2), ("n3", 2)]


def test_timeout_suspects_silent_peer_and_trusts_it_when_it_speaks(sim):
    node = monitor(sim, timeout=300.0)
    for t in (100.0, 200.0, 300.0, 400.0, 500.0):
        sim.advance(t)
        node.on_Heartbeat(failure.Heartbeat(int(t)), "n2", 0)
    sim.take_all(failure.Heartbeat)
    suspects = sim.kinds("suspect")
    assert [e["peer"] for e in suspects] == ["n3"]
    assert 300.0 <= suspects[0]["t"] <= 310.0
    sim.advance(650.0)
    node.on_Heartbeat(failure.Heartbeat(1), "n3", 0)
    assert [e["peer"] for e in sim.kinds("trust")] == ["n3"]
    sim.advance(790.0)  # n2 silent since 500: suspected at 800, not before
    assert [e["peer"] for e in sim.kinds("suspect")] == ["n3"]
    sim.advance(811.0)
    assert [e["peer"] for e in sim.kinds("suspect")] == ["n3", "n2"]
    sim.take_all(failure.Heartbeat)


def test_crash_forgets_opinions_and_restart_starts_afresh(sim):
    node = monitor(sim, timeout=300.0)
    sim.advance(400.0)
    assert {e["peer"] for e in sim.kinds("suspect")} == {"n2", "n3"}
    node.crash()
    assert node.views == {}
    sim.advance(1000.0)
    sim.take_all(failure.Heartbeat)
    assert not sim.network.sent  # down: no beats
    node.restart()
    sim.advance(1250.0)
    assert len(sim.kinds("suspect")) == 2  # a fresh watch waits a full timeout again
    sim.advance(1311.0)
    assert len(sim.kinds("suspect")) == 4
    sim.take_all(failure.Heartbeat)


def test_phi_suspects_later_with_a_higher_threshold():
    def first_suspicion(threshold: float) -> float:
        fake = FakeSim()
        node = monitor(fake, "phi", threshold=threshold)
        for k in range(1, 11):
            fake.advance(k * 100.0)
            node.on_Heartbeat(failure.Heartbeat(k), "n2", 0)
            node.on_Heartbeat(failure.Heartbeat(k), "n3", 0)
        fake.advance(5000.0)
        return next(e["t"] for e in fake.kinds("suspect") if e["peer"] == "n2")

    low, high = first_suspicion(2.0), first_suspicion(12.0)
    assert 1000.0 < low < high < 5000.0


def test_phi_formula():
    window = [100.0] * 10
    # At the mean, a later arrival has probability 1/2: phi = log10(2).
    assert failure.phi(100.0, window, 25.0) == pytest.approx(math.log10(2.0))
    # The floor sets the spread of a perfectly regular stream: 3 sigma late.
    p_later = 0.5 * math.erfc(3.0 / math.sqrt(2.0))
    assert failure.phi(175.0, window, 25.0) == pytest.approx(-math.log10(p_later))
    assert failure.phi(0.0, window, 25.0) < failure.phi(150.0, window, 25.0)
    assert failure.phi(1e9, window, 25.0) == failure.PHI_MAX


def test_a_repeated_or_overtaken_heartbeat_is_ignored(sim):
    node = monitor(sim, "phi")
    sim.advance(100.0)
    node.on_Heartbeat(failure.Heartbeat(2), "n2", 0)
    learned = list(node.views["n2"].intervals)
    sim.advance(150.0)
    node.on_Heartbeat(failure.Heartbeat(2), "n2", 1)  # the network's copy of beat 2
    node.on_Heartbeat(failure.Heartbeat(1), "n2", 2)  # beat 1, overtaken by beat 2
    assert node.views["n2"].last == 100.0 and list(node.views["n2"].intervals) == learned
    sim.advance(200.0)
    node.on_Heartbeat(failure.Heartbeat(3), "n2", 3)
    assert node.views["n2"].last == 200.0 and list(node.views["n2"].intervals) == [100.0, 100.0]
    sim.take_all(failure.Heartbeat)


# -- runs and properties ---------------------------------------------------------------


def trace_of(given: dict) -> dict:
    """Give the trace of a run as the pipeline makes it, without drawing it."""
    params = resolve(failure.PARAMS, given, failure.node_names)
    return {**failure.simulate(params), "params": params, "duration": float(params["duration"])}


def _random_params(rng: random.Random) -> tuple[dict, float | None]:
    """Give params with a random schedule and, if a node stays down, the time detection
    must be complete by; None when the schedule leaves no such node or too little time."""
    nodes = rng.randint(2, 6)
    interval = rng.choice([100.0, 150.0, 200.0, 300.0])
    timeout = interval * rng.uniform(2.0, 4.0)
    jitter = rng.choice([0.0, 40.0, 80.0, 200.0])
    duration = 8000.0
    names = [f"n{i}" for i in range(1, nodes + 1)]
    victim = rng.choice(names)
    crash_at = rng.uniform(500.0, 6000.0)
    faults = [f"crash {victim}@{crash_at:.0f}"]
    settled = crash_at
    others = [n for n in names if n != victim]
    if others and rng.random() < 0.5:  # another node blinks: crashes and comes back
        blink = rng.choice(others)
        start = rng.uniform(200.0, 5000.0)
        stop = start + rng.uniform(100.0, 1500.0)
        faults += [f"crash {blink}@{start:.0f}", f"restart {blink}@{stop:.0f}"]
        settled = max(settled, stop)
    params = {
        "seed": rng.randrange(2**31),
        "nodes": nodes,
        "duration": duration,
        "drop": rng.choice([0.0, 0.05, 0.1, 0.2]),
        "faults": "; ".join(faults),
        "detector": rng.choice(["phi", "timeout"]),
        "interval": interval,
        "timeout": timeout,
        "threshold": rng.choice([1.0, 4.0, 8.0, 12.0]),
        "window": rng.choice([2, 10, 50]),
        "jitter": jitter,
        "duplicate": rng.choice([0.0, 0.0, 0.2, 0.5]),
        "reorder": rng.choice([0.0, 0.0, 100.0, 400.0]),
    }
    # Heartbeats still in flight at the crash land up to 10 + jitter + reorder ms later
    # (a duplicate up to twice that); phi's threshold can sit several fitted deviations out,
    # hence the wider margin there.
    margin = (5 * interval + timeout if params["detector"] == "timeout" else 20 * interval) + 2 * (
        10.0 + jitter + params["reorder"]
    )
    return params, (None if duration - settled <= margin else settled + margin)


def _completeness_holds(count: int, seed: int) -> None:
    rng = random.Random(seed)
    tested = 0
    for _ in range(count):
        given, deadline = _random_params(rng)
        completeness = failure.check_completeness(trace_of(given))
        if deadline is not None:
            tested += 1
            assert completeness.ok, (given, completeness.detail)
    assert tested > count // 4


def test_completeness_leaves_a_crash_too_near_the_end_unjudged():
    timeout = {"detector": "timeout", "interval": 200, "timeout": 500, "jitter": 80}
    # 5 intervals and the timeout, and twice the slowest message (10 + 80 ms): 1680 ms.
    assert failure.settle_time(resolve(failure.PARAMS, timeout, failure.node_names)) == 1680
    events = [(8000.0, "n3", "crash")]
    trace = hand_trace(["n1", "n2", "n3"], 9681.0, events, timeout)
    check = failure.check_completeness(trace)
    assert not check.ok and "n1 still trusts n3, n2 still trusts n3" in check.detail
    trace["duration"] = 9680.0
    check = failure.check_completeness(trace)
    assert check.ok and "too near the end to judge (1680 ms needed): n1 of n3" in check.detail
    # An observer back from its own crash has to watch for as long.
    events = [(1000.0, "n3", "crash"), (1500.0, "n1", "suspect", "n3"), (2000.0, "n2", "crash")]
    events += [(8000.0, "n2", "restart"), (8500.0, "n1", "suspect", "n2")]
    check = failure.check_completeness(hand_trace(["n1", "n2", "n3"], 9680.0, events, timeout))
    assert check.ok and "n2 of n3" in check.detail
    check = failure.check_completeness(hand_trace(["n1", "n2", "n3"], 9681.0, events, timeout))
    assert not check.ok and check.node == "n2" and "n1 still trusts" not in check.detail
    # So a crash in the last moments is no counterexample of the original code.
    late = {"seed": 3, "faults": "crash n4@9900"}
    assert demos.run("failure", late).checks[0].ok
    assert search.violation(failure, resolve(failure.PARAMS, late, failure.node_names))[1] is None


def test_completeness_over_100_seeds():
    _completeness_holds(100, seed=1)


@pytest.mark.slow
def test_completeness_over_3000_seeds():
    _completeness_holds(3000, seed=2)


def _timeouts_are_accurate_on_a_reliable_network(count: int, seed: int) -> None:
    """With no loss and a timeout longer than any gap, a timeout detector never errs."""
    rng = random.Random(seed)
    for _ in range(count):
        given, _ = _random_params(rng)
        # Copies the network repeats arrive late but never widen a gap: they stay in.
        given.update(drop=0.0, detector="timeout", reorder=0.0)
        given["timeout"] = given["interval"] + given["jitter"] + 11.0
        check = failure.check_false_suspicions(trace_of(given))
        assert check.ok, (given, check.detail)


def test_timeouts_accurate_without_loss_over_100_seeds():
    _timeouts_are_accurate_on_a_reliable_network(100, seed=3)


@pytest.mark.slow
def test_timeouts_accurate_without_loss_over_3000_seeds():
    _timeouts_are_accurate_on_a_reliable_network(3000, seed=4)


def test_same_params_same_bytes():
    given = {"seed": 11, "detector": "phi", "faults": "crash n2@3000; restart n2@6000"}
    a = demos.run("failure", given)
    demos.run("failure", {"seed": 3, "nodes": 6, "duplicate": 0.3})  # nothing leaks between runs
    b = demos.run("failure", dict(reversed(list(given.items()))))
    assert a.to_json() == b.to_json()
    assert a.svg == b.svg
    assert (
        demos.run("failure", {"seed": 12}).to_json() != demos.run("failure", {"seed": 13}).to_json()
    )


# -- the checks can fail ---------------------------------------------------------------


@pytest.fixture(scope="module")
def default_trace() -> dict:
    return demos.run("failure", {}).trace()


def test_completeness_fails_when_an_observer_never_suspects(default_trace):
    trace = json.loads(json.dumps(default_trace))
    assert failure.check_completeness(trace).ok
    trace["events"] = [
        e
        for e in trace["events"]
        if not (
            e["kind"] == "suspect" and e["node"] == "n2" and e["peer"] == "n3" and e["t"] >= 4000
        )
    ]
    check = failure.check_completeness(trace)
    assert not check.ok and "n2 still trusts n3" in check.detail and check.node == "n2"


def test_false_suspicions_fail_on_a_suspicion_of_a_live_node(default_trace):
    trace = json.loads(json.dumps(default_trace))
    trace["events"] = [
        e
        for e in trace["events"]
        if e["kind"] not in ("suspect", "trust") or e["peer"] == "n3" and e["t"] >= 4000
    ]
    assert failure.check_false_suspicions(trace).ok
    trace["events"].append(
        {"id": 10**6, "t": 1000.0, "node": "n1", "kind": "suspect", "peer": "n2"}
    )
    trace["events"].sort(key=lambda e: (e["t"], e["id"]))
    check = failure.check_false_suspicions(trace)
    assert not check.ok and check.t == 1000.0 and "1 of" in check.detail


def test_completeness_reports_the_detection_latencies(default_trace):
    trace = json.loads(json.dumps(default_trace))
    for e in trace["events"]:
        if e["kind"] == "suspect" and e["peer"] == "n3" and e["t"] >= 4000:
            e["t"] = 4000.0 + (900.0 if e["node"] == "n1" else 300.0)
    trace["events"].sort(key=lambda e: (e["t"], e["id"]))
    found = [check(trace) for check in failure.CHECKS]
    assert [c.name for c in found] == ["Completeness", "False suspicions"]
    assert found[0].ok and "mean 500 ms, max 900 ms over 3" in found[0].detail
    assert failure.detection(trace) == {
        "mean": 500.0,
        "max": 900.0,
        "observations": 3,
        "unnoticed": 0,
    }


def test_the_run_reports_detection_figures_at_the_top_of_the_trace():
    result = demos.run("failure", {"faults": "crash n3@4000; crash n2@6000; restart n2@6100"})
    detection = result.trace()["detection"]
    # n2, down while n3 is, does not time n3's crash; n3 cannot watch n2's short blink, and
    # n1 and n4 miss it: it is over before anyone could suspect it
    assert detection["observations"] == 2 and detection["unnoticed"] == 2
    assert 0.0 < detection["mean"] <= detection["max"] < 1000.0
    assert "2 outages ended before the observer noticed" in result.checks[0].detail
    assert "max" in result.summary and "2 outages unnoticed" in result.summary


def hand_trace(
    nodes: list[str], duration: float, events: list[tuple], given: dict | None = None
) -> dict:
    """Give a trace made by hand: `events` are (t, node, kind) or (t, node, kind, peer).

    Its params are `given` over the defaults (by default a timeout detector that needs
    820 ms to notice a crash)."""
    made = []
    for i, (t, node, kind, *peer) in enumerate(events):
        made.append(
            {"id": i, "t": t, "node": node, "kind": kind}
            | ({"peer": peer[0], "silence": 400.0} if peer else {})
        )
    quick = {"detector": "timeout", "interval": 100, "timeout": 300, "jitter": 0}
    params = resolve(failure.PARAMS, given or quick, failure.node_names)
    return {
        "params": params,
        "nodes": nodes,
        "duration": duration,
        "events": made,
        "messages": [],
        "checks": [],
    }


def test_an_observers_crash_clears_its_suspicions_before_timing_detection():
    # n1 wrongly suspects n2, then crashes and restarts: it forgot the suspicion, so when n2
    # really crashes at 1000 and n1 suspects it at 1800, detection took 800 ms, not 0.
    trace = hand_trace(
        ["n1", "n2"],
        5000.0,
        [
            (500.0, "n1", "suspect", "n2"),
            (600.0, "n1", "crash"),
            (700.0, "n1", "restart"),
            (1000.0, "n2", "crash"),
            (1800.0, "n1", "suspect", "n2"),
        ],
    )
    # (the 1 unseen is n1's own blink, which n2 never noticed)
    assert failure.detection_latencies(trace) == ([800.0], 1)
    # had n2 come back before n1 suspected it again, the outage went unnoticed
    blink = hand_trace(
        ["n1", "n2"],
        5000.0,
        [
            (500.0, "n1", "suspect", "n2"),
            (600.0, "n1", "crash"),
            (700.0, "n1", "restart"),
            (1000.0, "n2", "crash"),
            (1200.0, "n2", "restart"),
        ],
    )
    assert failure.detection_latencies(blink) == ([], 2)


def test_completeness_fails_when_a_restarted_observer_never_suspects_again():
    trace = hand_trace(
        ["n1", "n2", "n3"],
        5000.0,
        [
            (1000.0, "n3", "crash"),
            (1500.0, "n1", "suspect", "n3"),
            (1600.0, "n2", "suspect", "n3"),
            (2000.0, "n2", "crash"),
            (2500.0, "n2", "restart"),
        ],
    )
    check = failure.check_completeness(trace)
    assert not check.ok and "n2 still trusts n3" in check.detail and check.node == "n2"
    assert "n1 still trusts" not in check.detail
    trace = hand_trace(
        ["n1", "n2", "n3"],
        5000.0,
        [
            (1000.0, "n3", "crash"),
            (1500.0, "n1", "suspect", "n3"),
            (1600.0, "n2", "suspect", "n3"),
            (2000.0, "n2", "crash"),
            (2500.0, "n2", "restart"),
            (3300.0, "n2", "suspect", "n3"),
        ],
    )
    check = failure.check_completeness(trace)
    assert check.ok, check.detail


# -- contracts -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given, culprit",
    [
        ({"nodes": 9}, "nodes"),
        ({"nodes": 1}, "nodes"),
        ({"detector": "oracle"}, "detector"),
        ({"interval": "soon"}, "interval"),
        ({"threshold": 17}, "threshold"),
        ({"window": 1}, "window"),
        ({"faults": "crash n5@100"}, "n5"),
        ({"faults": "crash n2@99999"}, "crash n2@99999"),
        ({"speed": 1}, "speed"),
    ],
)
def test_bad_params_name_the_culprit(given, culprit):
    with pytest.raises(ParamError, match=re.escape(culprit)):
        demos.run("failure", given)


def test_cli_json_has_the_contract_keys():
    out = subprocess.run(
        [sys.executable, "-m", "demos", "run", "failure", "--format", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    doc = json.loads(out)
    assert {
        "schema",
        "demo",
        "params",
        "nodes",
        "duration",
        "events",
        "messages",
        "checks",
    } <= doc.keys()
    assert doc["schema"] == 1 and doc["demo"] == "failure" and doc["nodes"][0] == "n1"
    assert [c["name"] for c in doc["checks"]] == ["Completeness", "False suspicions"]
    assert doc["detection"].keys() == {"mean", "max", "observations", "unnoticed"}
    assert [e["t"] for e in doc["events"]] == sorted(e["t"] for e in doc["events"])
    suspect = next(e for e in doc["events"] if e["kind"] == "suspect")
    assert {"peer", "phi", "silence"} <= suspect.keys()
    bad = subprocess.run(
        [sys.executable, "-m", "demos", "run", "failure", "--set", "nodes=99", "--format", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "nodes" in bad.stderr


def test_svg_follows_the_contract_and_budget():
    result = demos.run("failure", {})
    svg = result.svg
    assert len(svg.encode()) <= 30_000
    assert "<script" not in svg and not re.search(r"\son\w+=", svg)
    assert "<title>" in svg and 'data-t="' in svg and 'data-node="n3"' in svg
    assert 'data-duration="10000"' in svg
    for c in result.checks:
        assert (f'data-check="{c.name}"' in svg) == (not c.ok), c.name
    timeout_svg = demos.run("failure", {"detector": "timeout"}).svg
    assert "timeout 500" in timeout_svg and len(timeout_svg.encode()) <= 30_000


def test_summary_names_detector_mistakes_and_speed():
    text = demos.run("failure", {}).summary
    assert "phi accrual" in text and "false suspicion" in text and "ms on average" in text


def test_golden_svg():
    svg = demos.run("failure", {}).svg
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(svg, encoding="utf-8")
    assert GOLDEN.read_text(encoding="utf-8") == svg


# -- the state panel -------------------------------------------------------------------

SVG = "{http://www.w3.org/2000/svg}"


def visible_stretches(svg: str, t: float) -> list:
    """Give the panel's stretches (<g class="dm-state">) the player shows at moment `t`."""
    root = ElementTree.fromstring(svg)
    return [
        g
        for g in root.iter(f"{SVG}g")
        if "dm-state" in g.get("class", "").split()
        and float(g.get("data-t")) <= t < float(g.get("data-until", "inf"))
    ]


def views_at(trace: dict, t: float) -> dict[str, tuple[str, list[str]]]:
    """Give each node's (up/down, suspected peers) at `t`, read straight from the events."""
    views = {n: ("up", set()) for n in trace["nodes"]}
    for e in trace["events"]:
        if e["t"] > t:
            break
        role, suspects = views[e["node"]]
        if e["kind"] == "crash":
            views[e["node"]] = ("down", set())
        elif e["kind"] == "restart":
            views[e["node"]] = ("up", set())
        elif e["kind"] == "suspect":
            suspects.add(e["peer"])
        elif e["kind"] == "trust":
            suspects.discard(e["peer"])
    return {n: (role, sorted(suspects)) for n, (role, suspects) in views.items()}


@pytest.mark.parametrize(
    "given",
    [
        {"seed": 1},
        {"seed": 2, "detector": "timeout", "timeout": 250, "nodes": 5},
        {
            "seed": 3,
            "faults": "crash n1@2000; restart n1@5000; crash n2@3000",
            "drop": 0.2,
            "threshold": 2,
            "duplicate": 0.3,
            "reorder": 200,
        },
        {"seed": 4, "nodes": 3, "faults": "partition n1|n2,n3@1000-4000", "detector": "timeout"},
    ],
)
def test_the_panel_shows_whom_each_node_suspects_at_any_moment(given):
    result = demos.run("failure", given)
    trace = result.trace()
    rng = random.Random(given["seed"])
    times = [e["t"] for e in trace["events"]]
    exact = rng.sample(times, min(10, len(times)))  # at an event's instant, its change shows
    moments = exact + [rng.uniform(0, trace["duration"]) for _ in range(20 - len(exact))]
    for t in moments:
        shown: dict[str, tuple[str, list[str]]] = {}
        for g in visible_stretches(result.svg, t):
            roles = [r.get("data-role") for r in g.iter() if r.get("data-role")]
            assert len(roles) == 1 and g.get("data-node") not in shown, (t, g.attrib)
            peers = [r.get("data-peer") for r in g.iter() if r.get("data-peer")]
            shown[g.get("data-node")] = (roles[0], peers)
        assert shown == views_at(trace, t), t


def test_the_panel_says_what_changed():
    result = demos.run("failure", {"seed": 3, "faults": "crash n2@3000; restart n2@6000"})
    says = [
        g.get("data-say")
        for g in ElementTree.fromstring(result.svg).iter(f"{SVG}g")
        if g.get("data-say")
    ]
    assert "n2 crashes, forgetting its suspicions" in says
    assert "n2 restarts, trusting every peer" in says
    suspect = next(e for e in result.events if e["kind"] == "suspect" and e["peer"] == "n2")
    assert f"{suspect['node']} suspects n2" in says
    trust = next(e for e in result.events if e["kind"] == "trust" and e["peer"] == "n2")
    assert f"{trust['node']} trusts n2 again" in says
    assert say("n1", ("up", ("n2",)), ("up", ("n3",))) == "n1 suspects n3; n1 trusts n2 again"
    assert say("n1", ("up", ("n2",)), ("up", ("n2",))) is None
