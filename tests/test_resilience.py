"""The resilience demo: the service's policy rules and the dependency through a fake network,
invariants over many seeds, the storm and its cure, checks that can fail, the contracts."""

from __future__ import annotations

import json
import os
import random
import re
from pathlib import Path

import pytest
from svg_moments import roles_at, stretches_at, texts

import demos
from demos import ParamError, resilience
from demos.params import resolve
from demos.pipeline import assemble
from demos.resilience import (
    BUCKET,
    COOLDOWN,
    MIN_CALLS,
    Call,
    Config,
    Reply,
    Request,
    Response,
)
from demos.resilience_draw import sample_step


def config(**kw: object) -> Config:
    given = {
        "retries": 3,
        "backoff": "none",
        "breaker": "false",
        "budget": 0.0,
        "timeout": 100.0,
        "load": 100.0,
        "workers": 2,
        "slow_at": 1000.0,
        "slow_for": 1000.0,
        "slow_factor": 5.0,
        **kw,
    }
    return Config.of(given)


def trace_of(given: dict) -> dict:
    """Give the trace of a run as the pipeline makes it, without drawing it."""
    params = resolve(resilience.PARAMS, given, resilience.node_names)
    return {**resilience.simulate(params), "params": params, "duration": float(params["duration"])}


# -- the service's rules ---------------------------------------------------------------


def test_a_timed_out_attempt_is_retried_at_once_without_back_off(sim):
    service = resilience.Service("n2", sim, config(retries=2))
    service.on_Request(Request(1), "n1", 0)
    sim.take("n2", "n3", Call(1, 1))
    sim.advance(100.0)
    sim.take("n2", "n3", Call(1, 2))
    sim.advance(200.0)
    sim.take("n2", "n3", Call(1, 3))
    sim.advance(300.0)  # the third attempt was the last one
    sim.take("n2", "n1", Response(1, False))
    assert [e["reason"] for e in sim.kinds("answer")] == ["out of retries"]
    service.on_Reply(Reply(1, 3), "n3", 1)  # too late: nothing more happens
    assert len(sim.kinds("answer")) == 1


def test_an_answer_in_time_ends_the_request_and_a_late_reply_is_wasted(sim):
    service = resilience.Service("n2", sim, config())
    service.on_Request(Request(1), "n1", 0)
    sim.take("n2", "n3", Call(1, 1))
    sim.advance(100.0)
    sim.take("n2", "n3", Call(1, 2))
    service.on_Reply(Reply(1, 1), "n3", 1)  # the first attempt's reply: it timed out
    assert not sim.network.sent
    service.on_Reply(Reply(1, 2), "n3", 2)
    sim.take("n2", "n1", Response(1, True))
    service.on_Reply(Reply(1, 2), "n3", 3)  # the network's copy
    sim.advance(1000.0)
    assert len(sim.kinds("timeout")) == 1


def test_a_request_the_network_repeats_is_served_once(sim):
    service = resilience.Service("n2", sim, config(retries=0))
    service.on_Request(Request(4), "n1", 0)
    sim.take("n2", "n3", Call(4, 1))
    service.on_Request(Request(4), "n1", 1)
    service.crash()
    service.restart()
    service.on_Request(Request(4), "n1", 2)  # still known after a crash
    assert not sim.network.sent and len(sim.kinds("accept")) == 1


@pytest.mark.parametrize(
    "backoff, waits",
    [
        ("exponential", [50.0, 100.0, 200.0, 400.0, 800.0]),
        ("jittered", None),
    ],
)
def test_back_off_waits_double_and_jitter_draws_below_them(sim, backoff, waits):
    service = resilience.Service("n2", sim, config(retries=5, backoff=backoff))
    service.on_Request(Request(1), "n1", 0)
    sim.take("n2", "n3", Call(1, 1))
    sent_at = [0.0]
    for attempt in range(2, 7):
        deadline = sim.now + 100.0
        sim.advance(deadline)  # the attempt times out; the retry waits
        assert not sim.network.sent
        while not sim.network.sent:
            sim.advance(sim.now + 1.0)
        sim.take("n2", "n3", Call(1, attempt))
        sent_at.append(sim.now)
    gaps = [b - a - 100.0 for a, b in zip(sent_at, sent_at[1:], strict=False)]
    if waits is not None:
        assert gaps == pytest.approx(waits, abs=1.0)
    else:
        ceilings = [50.0, 100.0, 200.0, 400.0, 800.0]
        assert all(0.0 <= g <= c + 1.0 for g, c in zip(gaps, ceilings, strict=True)), gaps
    sim.advance(sim.now + 100.0)
    sim.take("n2", "n1", Response(1, False))


def test_a_retry_budget_allows_a_share_of_requests_as_retries(sim):
    service = resilience.Service("n2", sim, config(retries=3, budget=0.5))
    for req in range(1, 5):  # four requests earn two tokens
        service.on_Request(Request(req), "n1", req)
        sim.take("n2", "n3", Call(req, 1))
    sim.advance(100.0)
    retried = [m for _, _, m in sim.take_all(Call)]
    assert retried == [Call(1, 2), Call(2, 2)]
    errors = sim.take_all(Response)
    assert [m for _, _, m in errors] == [Response(3, False), Response(4, False)]
    assert {e["reason"] for e in sim.kinds("answer")} == {"retry budget spent"}
    assert service.tokens == 0.0
    many = resilience.Service("n2", sim, config(budget=1.0))
    for _ in range(1, 40):
        many.earn_retry_token()
    assert many.tokens == BUCKET  # the bucket keeps no more than BUCKET for a rainy day
    sim.advance(1000.0)
    sim.take_all(Call)
    sim.take_all(Response)


def trip(service: resilience.Service, sim) -> None:
    """Send MIN_CALLS requests that all time out, so the breaker opens."""
    for req in range(1, MIN_CALLS + 1):
        service.on_Request(Request(req), "n1", req)
    sim.advance(sim.now + 100.0)
    sim.take_all(Call)
    sim.take_all(Response)


def test_the_breaker_opens_fails_fast_and_probes_after_the_cooldown(sim):
    service = resilience.Service("n2", sim, config(retries=0, breaker="true"))
    service.on_start()
    trip(service, sim)
    assert [e["state"] for e in sim.kinds("breaker")] == ["closed", "open"]
    opened = sim.now
    service.on_Request(Request(50), "n1", 50)  # open: refused without a call
    sim.take("n2", "n1", Response(50, False))
    assert sim.kinds("answer")[-1]["reason"] == "breaker open"
    sim.advance(opened + COOLDOWN)
    assert sim.kinds("breaker")[-1]["state"] == "half-open"
    service.on_Request(Request(51), "n1", 51)  # the probe
    sim.take("n2", "n3", Call(51, 1))
    service.on_Request(Request(52), "n1", 52)  # while the probe is out: refused
    sim.take("n2", "n1", Response(52, False))
    service.on_Reply(Reply(51, 1), "n3", 53)
    sim.take("n2", "n1", Response(51, True))
    assert sim.kinds("breaker")[-1]["state"] == "closed"
    service.on_Request(Request(53), "n1", 54)
    sim.take("n2", "n3", Call(53, 1))
    service.on_Reply(Reply(53, 1), "n3", 55)
    sim.take("n2", "n1", Response(53, True))


def test_a_failed_probe_opens_the_breaker_again(sim):
    service = resilience.Service("n2", sim, config(retries=0, breaker="true"))
    service.on_start()
    trip(service, sim)
    sim.advance(sim.now + COOLDOWN)
    service.on_Request(Request(60), "n1", 60)
    sim.take("n2", "n3", Call(60, 1))
    sim.advance(sim.now + 100.0)
    sim.take("n2", "n1", Response(60, False))
    assert [e["state"] for e in sim.kinds("breaker")] == ["closed", "open", "half-open", "open"]
    sim.advance(sim.now + COOLDOWN)
    assert sim.kinds("breaker")[-1]["state"] == "half-open"


def test_the_breaker_needs_enough_calls_and_half_of_them_failing():
    breaker = resilience.Breaker()
    for _ in range(MIN_CALLS - 1):
        assert not breaker.failed()
    assert breaker.state == "closed"
    breaker = resilience.Breaker()
    for _ in range(11):
        breaker.succeeded()
    assert not any(breaker.failed() for _ in range(9))  # 9 of 20: under half
    assert breaker.failed() and breaker.state == "open"  # 10 of 20
    assert not breaker.allow() and not breaker.failed()


def test_a_retry_into_an_open_breaker_fails_the_request(sim):
    service = resilience.Service(
        "n2", sim, config(retries=3, backoff="exponential", breaker="true")
    )
    service.on_start()
    for req in range(1, MIN_CALLS + 1):
        service.on_Request(Request(req), "n1", req)
    sim.advance(100.0)  # all time out; the breaker opens; retries wait 50 ms
    sim.take_all(Call)
    assert not sim.network.sent
    sim.advance(200.0)
    refused = sim.take_all(Response)
    assert len(refused) == MIN_CALLS
    assert {e["reason"] for e in sim.kinds("answer")} == {"breaker open"}
    sim.advance(5000.0)


# -- the dependency and the clients ----------------------------------------------------


def test_the_dependency_serves_in_order_with_its_workers_even_abandoned_work(sim):
    dep = resilience.Dependency("n3", sim, config(workers=2))
    for k in range(1, 5):
        dep.on_Call(Call(k, 1), "n2", k)
    assert [e["queue"] for e in sim.kinds("arrive")] == [1, 1, 1, 2]
    assert [e["req"] for e in sim.kinds("start")] == [1, 2]
    sim.advance(35.0)  # 20 ms ±50%: the first two are done
    assert sorted(m.req for _, _, m in sim.take_all(Reply)) == [1, 2]
    assert [e["req"] for e in sim.kinds("start")] == [1, 2, 3, 4]
    sim.advance(70.0)
    assert sorted(m.req for _, _, m in sim.take_all(Reply)) == [3, 4]


def test_the_slowdown_stretches_service_and_a_crash_empties_the_queue(sim):
    dep = resilience.Dependency(
        "n3", sim, config(workers=1, slow_at=0.0, slow_for=1000.0, slow_factor=10.0)
    )
    dep.set_speed(10.0)
    dep.on_Call(Call(1, 1), "n2", 0)
    dep.on_Call(Call(2, 1), "n2", 1)
    sim.advance(90.0)  # at ten times slower no call finishes within 100 ms
    assert not sim.network.sent
    dep.crash()
    sim.advance(1000.0)
    dep.restart()
    assert not dep.queue and dep.busy == 0
    dep.set_speed(1.0)
    dep.on_Call(Call(3, 1), "n2", 2)
    sim.advance(1035.0)
    sim.take("n3", "n2", Reply(3, 1))


def test_clients_send_each_request_once_and_count_one_answer(sim):
    clients = resilience.Clients("n1", sim, config(load=100.0))
    clients.on_start()
    sim.advance(1000.0)
    sent = sim.take_all(Request)
    assert 60 <= len(sent) <= 140  # about 100 in a second, at random
    assert [m.req for _, _, m in sent] == list(range(1, len(sent) + 1))
    clients.on_Response(Response(1, True), "n2", 0)
    clients.on_Response(Response(1, True), "n2", 1)
    clients.crash()
    clients.on_Response(Response(2, True), "n2", 2)  # its caller is gone
    assert [e["req"] for e in sim.kinds("response")] == [1]


# -- invariants over many seeds --------------------------------------------------------


def invariants(trace: dict) -> None:
    """Assert what holds in every run, whatever the faults and the network do."""
    p = trace["params"]
    attempts: dict[int, int] = {}
    accepted, answered = set(), set()
    retries = requests = 0
    breaker, legal = (
        None,
        {
            None: {"closed"},
            "closed": {"open", "closed"},
            "open": {"half-open", "closed"},
            "half-open": {"closed", "open"},
        },
    )
    for e in trace["events"]:
        if e["node"] == "n2" and e["kind"] == "accept":
            assert e["req"] not in accepted
            accepted.add(e["req"])
            requests += 1
        elif e["kind"] == "attempt":
            assert e["req"] in accepted and e["req"] not in answered
            attempts[e["req"]] = attempts.get(e["req"], 0) + 1
            assert e["attempt"] == attempts[e["req"]] <= p["retries"] + 1
            retries += e["attempt"] > 1
            assert retries <= p["budget"] * requests + 1e-9 or p["budget"] == 0
        elif e["kind"] == "answer":
            assert e["req"] in accepted and e["req"] not in answered
            answered.add(e["req"])
        elif e["kind"] == "breaker":
            assert p["breaker"] == "true" and e["state"] in legal[breaker], (breaker, e)
            breaker = e["state"]
        elif e["kind"] == "crash" and e["node"] == "n2":
            breaker = None
            answered |= accepted  # what it was working on is gone with it
    # The dependency never serves more calls at once than it has workers: a start takes
    # one, a reply (the network's copies aside) gives it back, a crash frees them all.
    busy = 0
    changes = [(m["sent"], 1, -1) for m in trace["messages"]
               if m["kind"] == "Reply" and "copy_of" not in m]  # fmt: skip
    changes += [(e["t"], 2, 1) for e in trace["events"] if e["kind"] == "start"]
    changes += [(e["t"], 0, 0) for e in trace["events"]
                if e["kind"] == "crash" and e["node"] == "n3"]  # fmt: skip
    for _, order, step in sorted(changes):
        busy = 0 if order == 0 else busy + step
        assert 0 <= busy <= p["workers"], (trace["params"], busy)
    ok = {e["req"] for e in trace["events"] if e["kind"] == "response" and e["ok"]}
    assert ok <= accepted


def random_params(rng: random.Random) -> dict:
    """Give random params; a third of the runs are calm (no faults, a clean network) with a
    breaker, long enough for recovery to be judged, the rest anything at all."""
    slow_at, slow_for = rng.uniform(0.0, 1000.0), rng.uniform(0.0, 1500.0)
    calm = rng.random() < 0.33
    duration = round(slow_at + slow_for + (4100.0 if calm else rng.choice([1000.0, 2500.0])))
    faults = []
    for node in ("n1", "n2", "n3"):
        if rng.random() < 0.3 and not calm:
            start = rng.uniform(0.0, duration / 2)
            faults.append(f"crash {node}@{start:.0f}")
            if rng.random() < 0.7:
                faults.append(f"restart {node}@{start + rng.uniform(10, duration / 3):.0f}")
    if rng.random() < 0.2 and not calm:
        start = rng.uniform(0.0, duration / 2)
        group = rng.choice(["n1|n2,n3", "n1,n2|n3"])
        faults.append(f"partition {group}@{start:.0f}-{start + rng.uniform(10, 800):.0f}")
    workers = rng.randint(2, 6) if calm else rng.randint(1, 6)
    return {
        "seed": rng.randrange(2**31),
        "duration": duration,
        "faults": "; ".join(faults),
        "retries": rng.randint(0, 5),
        "backoff": rng.choice(resilience.BACKOFFS),
        "breaker": "true" if calm else rng.choice(["true", "false"]),
        "budget": rng.choice([0.0, 0.0, 0.1, 0.5]),
        "timeout": rng.choice([100.0, 300.0] if calm else [30.0, 100.0, 300.0]),
        "load": round(rng.uniform(5.0, 30.0 * workers))
        if calm
        else rng.choice([20.0, 80.0, 150.0]),
        "workers": workers,
        "slow_at": slow_at,
        "slow_for": slow_for,
        "slow_factor": rng.choice([1.0, 3.0, 10.0]),
        "drop": 0.0 if calm else rng.choice([0.0, 0.1, 0.3]),
        "duplicate": 0.0 if calm else rng.choice([0.0, 0.2, 0.5]),
        "reorder": 0.0 if calm else rng.choice([0.0, 20.0, 300.0]),
    }


def guarantees_hold(count: int, seed: int) -> int:
    """Check the invariants and the promised checks on `count` random runs; give how many
    runs judged a promised recovery (so the property is not vacuous)."""
    rng = random.Random(seed)
    judged = 0
    for _ in range(count):
        given = random_params(rng)
        trace = trace_of(given)
        invariants(trace)
        skipped = resilience.NOT_GUARANTEED(trace["params"])
        for check in resilience.CHECKS:
            if check.__name__ not in skipped:
                result = check(trace)
                assert result.ok, (given, result.detail)
                judged += check is resilience.check_recovery and "not judged" not in result.detail
    return judged


def test_invariants_over_60_seeds():
    assert guarantees_hold(60, seed=1) >= 5


@pytest.mark.slow
def test_invariants_over_2000_seeds():
    assert guarantees_hold(2000, seed=2) >= 200


# -- the storm and its cure ------------------------------------------------------------

STORM = {"retries": 3, "backoff": "none", "load": 50.0, "duration": 7000.0}
CURE = {**STORM, "backoff": "jittered", "breaker": "true"}


@pytest.mark.parametrize(
    "given, recovers",
    [
        (STORM, False),
        (CURE, True),
        ({**CURE, "backoff": "none", "budget": 0.2, "breaker": "true"}, True),
    ],
)
def test_a_storm_outlives_the_slowdown_and_jitter_with_a_breaker_ends_it(given, recovers):
    for seed in range(1, 21):
        trace = trace_of({**given, "seed": seed})
        check = resilience.check_recovery(trace)
        assert check.ok == recovers, (seed, check.detail)
        if not recovers:  # metastable: still failing long after the slowdown ended
            assert check.t >= resilience.calm_at(trace) + resilience.RECOVERY - 1000
            assert not resilience.check_amplification(trace).ok


def test_the_storm_is_self_sustaining_not_overload():
    """The load is well under what the dependency serves when well; without the slowdown
    the same settings run clean, and the storm's queue keeps growing after it."""
    calm = trace_of({**STORM, "seed": 3, "slow_factor": 1.0})
    assert all(c(calm).ok for c in resilience.CHECKS)
    assert resilience.capacity(calm["params"]) >= 1.5 * STORM["load"]
    storm = trace_of({**STORM, "seed": 3})
    queue = [(e["t"], e["queue"]) for e in storm["events"] if e["kind"] == "arrive"]
    at = {t: max((q for s, q in queue if s <= t), default=0) for t in (4000.0, 7000.0)}
    assert at[7000.0] > at[4000.0] > 100


def test_not_guaranteed_names_what_a_configuration_gives_up():
    base = resolve(resilience.PARAMS, {}, resilience.node_names)
    assert resilience.NOT_GUARANTEED(base) == ("check_recovery", "check_amplification")
    cure = {**base, "breaker": "true", "budget": 0.2}
    assert resilience.NOT_GUARANTEED(cure) == ()
    assert resilience.NOT_GUARANTEED({**cure, "drop": 0.1}) == ("check_recovery",)
    assert resilience.NOT_GUARANTEED({**base, "retries": 0}) == ("check_recovery",)


# -- the checks can fail ---------------------------------------------------------------


@pytest.fixture(scope="module")
def clean_trace() -> dict:
    trace = trace_of(CURE)
    assert all(c(trace).ok for c in resilience.CHECKS)
    return trace


def test_recovery_fails_when_answers_after_the_slowdown_go_missing(clean_trace):
    trace = json.loads(json.dumps(clean_trace))
    late = {e["req"] for e in trace["events"] if e["kind"] == "request" and e["t"] >= 6500}
    trace["events"] = [
        e
        for e in trace["events"]
        if not (e["kind"] == "response" and e["req"] in late and e["t"] < 7000)
    ]
    check = resilience.check_recovery(trace)
    assert not check.ok and check.t == 6000.0 and check.node == "n1"
    assert "issued from 6 s to 7 s" in check.detail


def test_recovery_is_not_judged_when_the_run_ends_too_soon(clean_trace):
    trace = json.loads(json.dumps(clean_trace))
    trace["duration"] = 6500.0
    check = resilience.check_recovery(trace)
    assert check.ok and check.detail.startswith("not judged")


def test_amplification_fails_when_attempts_double(clean_trace):
    trace = json.loads(json.dumps(clean_trace))
    extra = [
        {**e, "attempt": e["attempt"] + 1}
        for e in trace["events"]
        if e["kind"] == "attempt" and e["t"] < 1000
    ]
    trace["events"] = sorted(trace["events"] + extra, key=lambda e: e["t"])
    check = resilience.check_amplification(trace)
    assert not check.ok and check.node == "n2" and check.t < 1000
    assert "must stay under 2" in check.detail


# -- contracts -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given, culprit",
    [
        ({"retries": 6}, "retries"),
        ({"backoff": "linear"}, "backoff"),
        ({"breaker": "yes"}, "breaker"),
        ({"budget": 1.5}, "budget"),
        ({"timeout": 5}, "timeout"),
        ({"load": 0}, "load"),
        ({"workers": 0}, "workers"),
        ({"slow_factor": 0.5}, "slow_factor"),
        ({"faults": "crash n4@100"}, "n4"),
        ({"clients": 2}, "clients"),
    ],
)
def test_bad_params_name_the_culprit(given, culprit):
    with pytest.raises(ParamError, match=re.escape(culprit)):
        resolve(resilience.PARAMS, given, resilience.node_names)


def test_a_crashed_dependency_trips_the_breaker_and_is_used_again_after_restart():
    trace = trace_of({**CURE, "slow_factor": 1.0, "faults": "crash n3@2000; restart n3@3000"})
    states = [(e["t"], e["state"]) for e in trace["events"] if e["kind"] == "breaker"]
    assert [s for _, s in states][:2] == ["closed", "open"] and 2000 < states[1][0] < 2400
    assert states[-1][1] == "closed" and states[-1][0] < 4500
    assert resilience.check_recovery(trace).ok


def run(given: dict) -> demos.Result:
    """Give a whole run, figure included, as the pipeline assembles it."""
    return assemble(resilience, given)


def test_same_params_same_bytes():
    given = {"seed": 5, "backoff": "jittered", "breaker": "true", "budget": "0.2"}
    a = run(given)
    run({"seed": 9, "duplicate": 0.5})  # nothing leaks from one run into the next
    b = run(dict(reversed(list(given.items()))))
    assert a.to_json() == b.to_json() and a.svg == b.svg
    assert run({"seed": 1}).to_json() != run({"seed": 2}).to_json()


def test_summary_says_what_was_answered_and_what_it_cost():
    result = run(CURE)
    assert result.summary.startswith("3 retries, back-off jittered, a breaker: ")
    assert "answered ok" in result.summary and "the breaker opened" in result.summary


# -- the figure ------------------------------------------------------------------------

GOLDEN = Path(__file__).resolve().parent / "golden" / "resilience-default.svg"


def test_golden_svg():
    svg = run({}).svg
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(svg, encoding="utf-8")
    assert GOLDEN.read_text(encoding="utf-8") == svg


@pytest.mark.parametrize("given", [{}, CURE])
def test_svg_follows_the_contract_and_budget(given):
    result = run(given)
    svg = result.svg
    assert len(svg.encode()) <= 36_000
    assert "<script" not in svg and not re.search(r"\son\w+=", svg)
    for c in result.checks:
        assert (f'data-check="{c.name}"' in svg) == (not c.ok), c.name


def expected_at(trace: dict, t: float, step: float) -> dict[str, tuple[str, str]]:
    """Give, per node, the role and the numbers the panel should show at `t`, read straight
    from the events: roles at `t`, numbers at the last sample time (every `step` ms)."""
    s = (t // step) * step
    up = {"n1": True, "n2": True, "n3": True}
    breaker, factor = "closed", 1.0
    inflight = queue = 0
    recent = {"request": 0, "ok": 0, "retry": 0}
    for e in trace["events"]:
        if e["t"] > t:
            break
        node, kind = e["node"], e["kind"]
        if kind in ("crash", "restart"):
            up[node] = kind == "restart"
            breaker = "closed" if node == "n2" else breaker
        breaker = e["state"] if kind == "breaker" else breaker
        factor = e["factor"] if kind == "speed" else factor
        if e["t"] > s:
            continue
        if node == "n2" and kind in ("accept", "answer", "crash"):
            inflight = {"accept": inflight + 1, "answer": inflight - 1}.get(kind, 0)
        if node == "n3" and kind in ("arrive", "start", "crash"):
            queue = e.get("queue", 0)
        if e["t"] > s - 1000:
            recent["request"] += kind == "request"
            recent["ok"] += kind == "response" and e["ok"]
            recent["retry"] += kind == "attempt" and e["attempt"] > 1
    roles = {"n1": "clients", "n2": breaker, "n3": "slow" if factor > 1 else "well"}
    roles = {n: r if up[n] else "down" for n, r in roles.items()}
    return {
        "n1": (roles["n1"], f"{recent['request']} / {recent['ok']}"),
        "n2": (roles["n2"], f"{inflight} / {recent['retry']}"),
        "n3": (roles["n3"], f"{queue}"),
    }  # fmt: skip


@pytest.mark.parametrize("given", [
    {"seed": 1}, {**CURE, "seed": 2},
    {**CURE, "seed": 3, "faults": "crash n3@1500; restart n3@2600; crash n2@5000; "
     "restart n2@5400; crash n1@6000; restart n1@6500"},
    {"seed": 4, "retries": 2, "backoff": "exponential", "budget": 0.3, "drop": 0.1,
     "duplicate": 0.2, "reorder": 30, "duration": 5000},
])  # fmt: skip
def test_the_panel_shows_the_trace_at_any_moment(given):
    result = run(given)
    trace = result.trace()
    step = sample_step(trace)
    rng = random.Random(str(given))
    for t in [0.0, step * 10 + 1] + [round(rng.uniform(0, trace["duration"]), 3) for _ in
                                     range(20)]:  # fmt: skip
        want = expected_at(trace, t, step)
        roles = roles_at(result.svg, t)
        assert roles == {n: [want[n][0]] for n in trace["nodes"]}, (t, roles)
        shown: dict[str, list[str]] = {}
        for g in stretches_at(result.svg, t):
            shown.setdefault(g.get("data-node"), []).extend(texts(g))
        for node in trace["nodes"]:
            assert want[node][1] in shown[node], (t, node, shown[node], want[node])


def test_the_breaker_and_the_slowdown_are_announced():
    svg = run(CURE).svg
    says = re.findall(r'data-say="([^"]*)"', svg)
    assert "the breaker opens: calls fail fast" in says and "n3 slows down" in says
    assert "the breaker closes" in says and "n3 is well again" in says
