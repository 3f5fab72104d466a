"""The Paxos demo: acceptor and proposer rules through a fake network, whole runs over many
seeds (loss, crashes, partitions, duplication, reordering), checks that can fail, the figure."""

from __future__ import annotations

import copy
import json
import os
import random
from pathlib import Path
from xml.etree import ElementTree

import pytest
from svg_moments import SVG, roles_at, stretches_at

import demos
from demos import ParamError, paxos
from demos.paxos import (
    Accept,
    Accepted,
    Ballot,
    Decide,
    Nack,
    PaxosNode,
    Prepare,
    Promise,
)
from demos.paxos_draw import SLOTS_X, draw
from demos.search import random_schedule

GOLDEN = Path(__file__).parent / "golden" / "paxos-default.svg"
PEERS = ["n2", "n3", "n4", "n5"]
B = Ballot


def run(params: dict) -> demos.Result:
    return demos.run("paxos", params)


def checks(trace: dict) -> list:
    return [check(trace) for check in paxos.CHECKS]


def node(sim, *, index: int = 0, backoff: bool = True) -> PaxosNode:
    """Give n1 (a proposer when `index` > 0) on the fake simulator, started."""
    n1 = PaxosNode("n1", sim, list(PEERS), index=index, backoff=backoff)
    n1.on_start()
    return n1


def kinds(sim, kind: str) -> list[dict]:
    return [e for e in sim.trace.events if e["kind"] == kind]


def take_each(sim, kind: type) -> list:
    return [sim.take("n1", peer, kind) for peer in PEERS]


# -- the acceptor ------------------------------------------------------------------------------
def test_acceptor_promises_higher_ballots_and_refuses_lower_ones(sim):
    n1 = node(sim)
    n1.deliver(Prepare(B(2, 2)), "n2", 0)
    assert sim.take("n1", "n2", Promise) == Promise(B(2, 2), ())
    n1.deliver(Prepare(B(1, 3)), "n3", 1)
    assert sim.take("n1", "n3", Nack) == Nack(B(1, 3), B(2, 2))
    n1.deliver(Prepare(B(2, 2)), "n2", 2)  # a duplicate: answered again, nothing changes
    assert sim.take("n1", "n2", Promise) == Promise(B(2, 2), ())
    assert [e["ballot"] for e in kinds(sim, "promise")] == [[2, 2]]


def test_acceptor_accepts_at_or_above_its_promise_and_reports_it_in_later_promises(sim):
    n1 = node(sim)
    n1.deliver(Prepare(B(2, 2)), "n2", 0)
    sim.take("n1", "n2", Promise)
    n1.deliver(Accept(B(1, 3), 1, "c1"), "n3", 1)  # below the promise
    assert sim.take("n1", "n3", Nack) == Nack(B(1, 3), B(2, 2))
    n1.deliver(Accept(B(2, 2), 1, "b1"), "n2", 2)
    assert sim.take("n1", "n2", Accepted) == Accepted(B(2, 2), 1, "b1")
    n1.deliver(Accept(B(2, 2), 1, "b1"), "n2", 3)  # a repeat: acked, not recorded twice
    sim.take("n1", "n2", Accepted)
    assert len(kinds(sim, "accept")) == 1
    n1.deliver(Prepare(B(3, 3)), "n3", 4)
    assert sim.take("n1", "n3", Promise) == Promise(B(3, 3), ((1, B(2, 2), "b1"),))


def test_acceptor_state_survives_a_crash(sim):
    n1 = node(sim)
    n1.deliver(Accept(B(4, 2), 3, "b3"), "n2", 0)
    sim.take("n1", "n2", Accepted)
    n1.crash()
    n1.restart()
    assert n1.promised == B(4, 2) and n1.accepted == {3: (B(4, 2), "b3")}
    n1.deliver(Prepare(B(3, 3)), "n3", 1)
    assert sim.take("n1", "n3", Nack) == Nack(B(3, 3), B(4, 2))


def test_learner_learns_once(sim):
    n1 = node(sim)
    n1.deliver(Decide(1, "b1", B(1, 2)), "n2", 0)
    n1.deliver(Decide(1, "b1", B(1, 2)), "n2", 1)
    assert [(e["slot"], e["value"]) for e in kinds(sim, "decide")] == [(1, "b1")]


# -- the proposer ------------------------------------------------------------------------------
def lead(sim, n1: PaxosNode, promises: dict[str, tuple]) -> None:
    """Drive n1 through phase 1: it got a value, prepared, and these peers promised."""
    prepares = take_each(sim, Prepare)
    assert {p.ballot for p in prepares} == {n1.ballot}
    for peer, held in promises.items():
        n1.deliver(Promise(n1.ballot, held), peer, 0)


def test_proposer_adopts_the_value_accepted_at_the_highest_ballot(sim):
    n1 = node(sim, index=1)
    n1.receive_value(1, "a1")
    assert n1.ballot == B(1, 1) and n1.role() == "proposer"
    lead(sim, n1, {"n2": ((1, B(0, 2), "b1"),), "n3": ((1, B(0, 3), "c1"),)})
    assert n1.role() == "leader"
    accepts = take_each(sim, Accept)
    assert {a for a in accepts} == {Accept(B(1, 1), 1, "c1")}  # not its own a1
    assert kinds(sim, "propose")[-1] | {"id": 0, "t": 0} == {
        "id": 0, "t": 0, "node": "n1", "kind": "propose", "slot": 1, "value": "c1",
        "ballot": [1, 1]}  # fmt: skip


def test_leader_skips_phase_one_for_later_slots_and_decides_on_a_majority(sim):
    n1 = node(sim, index=1)
    n1.receive_value(1, "a1")
    lead(sim, n1, {"n2": (), "n3": ()})
    take_each(sim, Accept)
    n1.deliver(Accepted(B(1, 1), 1, "a1"), "n2", 0)
    assert not kinds(sim, "decide")  # n1 and n2: two of five
    n1.deliver(Accepted(B(1, 1), 1, "a1"), "n2", 1)  # a duplicate is not a third vote
    assert not kinds(sim, "decide")
    n1.deliver(Accepted(B(1, 1), 1, "a1"), "n4", 2)
    assert [e["value"] for e in kinds(sim, "decide")] == ["a1"]
    assert {sim.take("n1", p, Decide) for p in PEERS} == {Decide(1, "a1", B(1, 1))}
    n1.receive_value(2, "a2")
    assert {a for a in take_each(sim, Accept)} == {Accept(B(1, 1), 2, "a2")}
    assert len(kinds(sim, "prepare")) == 1


def test_preempted_proposer_retries_at_once_above_the_ballot_it_was_refused_for(sim):
    n1 = node(sim, index=1, backoff=False)
    n1.receive_value(1, "a1")
    take_each(sim, Prepare)
    n1.deliver(Nack(B(1, 1), B(5, 2)), "n2", 0)
    sim.advance(0.0)
    assert n1.ballot == B(6, 1)
    assert {p.ballot for p in take_each(sim, Prepare)} == {B(6, 1)}
    n1.deliver(Nack(B(1, 1), B(9, 2)), "n3", 1)  # refusal of a ballot already given up
    sim.advance(0.0)
    assert n1.ballot == B(6, 1) and not sim.network.sent


def test_a_higher_prepare_at_its_own_acceptor_ends_a_proposers_ballot_at_once(sim):
    n1 = node(sim, index=1, backoff=False)
    n1.receive_value(1, "a1")
    take_each(sim, Prepare)
    n1.deliver(Prepare(B(1, 2)), "n2", 0)
    assert sim.take("n1", "n2", Promise) == Promise(B(1, 2), ())
    sim.advance(0.0)
    assert n1.ballot == B(2, 1) and {p.ballot for p in take_each(sim, Prepare)} == {B(2, 1)}


def test_acceptances_of_a_ballot_given_up_still_make_the_value_learned(sim):
    n1 = node(sim, index=1, backoff=True)
    n1.receive_value(1, "a1")
    lead(sim, n1, {"n2": (), "n3": ()})
    take_each(sim, Accept)
    n1.deliver(Nack(B(1, 1), B(1, 2)), "n4", 0)  # given up: now waiting to retry
    assert n1.phase == "waiting"
    for peer in ("n2", "n3"):
        n1.deliver(Accepted(B(1, 1), 1, "a1"), peer, 1)
    assert [e["value"] for e in kinds(sim, "decide")] == ["a1"]
    assert {sim.take("n1", p, Decide) for p in PEERS} == {Decide(1, "a1", B(1, 1))}
    n1.deliver(Accepted(B(1, 1), 1, "z9"), "n5", 2)  # not what we proposed: ignored
    sim.advance(paxos.BACKOFF_CAP_MS)
    assert not sim.network.sent  # nothing left to propose: no new ballot


def test_backoff_waits_a_random_time_that_grows_with_each_failure(sim):
    n1 = node(sim, index=1, backoff=True)
    n1.receive_value(1, "a1")
    waits = []
    for k in range(4):
        take_each(sim, Prepare)
        start = sim.now
        n1.deliver(Nack(n1.ballot, B(n1.ballot.round, 2)), "n2", k)
        timer = [t for t in sim.timers if not t.cancelled and t.callback == n1._fire][-1]
        assert timer.t - start <= paxos.BACKOFF_BASE_MS * 2**k
        waits.append(timer.t - start)
        sim.advance(timer.t)
    take_each(sim, Prepare)
    assert len(set(waits)) == 4 and n1.ballot.round == 5


def test_a_leader_with_nothing_open_yields_to_a_higher_ballot(sim):
    n1 = node(sim, index=1)
    n1.receive_value(1, "a1")
    lead(sim, n1, {"n2": (), "n3": ()})
    take_each(sim, Accept)
    for peer in ("n2", "n3"):
        n1.deliver(Accepted(B(1, 1), 1, "a1"), peer, 0)
    take_each(sim, Decide)
    n1.deliver(Prepare(B(2, 2)), "n2", 1)
    sim.take("n1", "n2", Promise)
    assert n1.role() == "proposer"
    n1.receive_value(2, "a2")  # leaves slot 2 to n2 for a while
    assert not sim.network.sent
    sim.advance(paxos.PATIENCE_MS)
    assert {p.ballot for p in take_each(sim, Prepare)} == {B(3, 1)}


# -- whole runs ----------------------------------------------------------------------------------
def random_params(seed: int) -> dict:
    rng = random.Random(seed)
    nodes = rng.randint(3, 7)
    names = [f"n{i}" for i in range(1, nodes + 1)]
    return {"seed": seed, "nodes": nodes, "proposers": rng.randint(1, 3),
            "slots": rng.randint(1, 8), "backoff": rng.choice(["true", "false"]),
            "duration": 2000, "drop": round(rng.uniform(0.0, 0.3), 2),
            "duplicate": round(rng.uniform(0.0, 0.3), 2), "reorder": rng.choice([0, 20, 200]),
            "faults": random_schedule(rng, names, 2000.0)}  # fmt: skip


def assert_safe(seeds: range) -> None:
    for seed in seeds:
        params = random_params(seed)
        failed = [c for c in run(params).checks if not c.ok]
        assert not failed, (params, failed)


def test_safety_holds_under_faults_loss_duplication_and_reordering():
    assert_safe(range(120))


@pytest.mark.slow
def test_safety_holds_under_thousands_of_fault_schedules():
    assert_safe(range(120, 3120))


@pytest.mark.parametrize("proposers", [1, 2, 3])
def test_liveness_holds_with_one_proposer_or_with_backoff(proposers):
    for seed in range(30):
        result = run({"seed": seed, "proposers": proposers, "slots": 8, "duplicate": 0.2})
        assert all(c.ok for c in result.checks), (seed, result.text())
        assert "not judged" not in result.checks[2].detail


def test_duelling_proposers_without_backoff_leave_slots_undecided_and_backoff_ends_it():
    duel = run({"seed": 11, "proposers": 3, "backoff": "false", "duration": 3000, "slots": 4})
    prepares = [e for e in duel.events if e["kind"] == "prepare"]
    learned = {e["slot"] for e in duel.events if e["kind"] == "decide"}
    assert len(prepares) > 300 and len(learned) < 4
    assert prepares[-1]["t"] > duel.params["duration"] - 100  # still duelling at the end
    calm = run(duel.params | {"backoff": "true"})
    assert calm.ok and len([e for e in calm.events if e["kind"] == "prepare"]) < 15


def test_same_params_give_identical_json_and_svg():
    params = {
        "seed": 11,
        "nodes": 7,
        "proposers": 3,
        "drop": 0.1,
        "duplicate": 0.2,
        "faults": "crash n1@300; restart n1@900; partition n1,n2|n3,n4@1000-1400",
    }
    first = run(params)
    run(random_params(5))  # nothing may leak from one run into the next
    second = run(dict(params))
    assert first.to_json() == second.to_json() and first.svg == second.svg
    assert run(params | {"seed": 12}).to_json() != first.to_json()


def test_trace_follows_the_contract():
    trace = json.loads(run({"seed": 3, "faults": "crash n3@500; restart n3@900"}).to_json())
    proposes = [e for e in trace["events"] if e["kind"] == "propose"]
    assert proposes and all({"slot", "value", "ballot"} <= e.keys() for e in proposes)
    assert {e["node"] for e in proposes} <= {"n1", "n2"} == set(trace["proposers"])
    decides = [e for e in trace["events"] if e["kind"] == "decide"]
    assert {(e["node"], e["slot"]) for e in decides} >= {(n, 1) for n in trace["nodes"]}
    kinds_seen = {(e["kind"], e["node"], e["t"]) for e in trace["events"]}
    assert {("crash", "n3", 500.0), ("restart", "n3", 900.0)} <= kinds_seen
    assert [e["t"] for e in trace["events"]] == sorted(e["t"] for e in trace["events"])
    assert [c["name"] for c in trace["checks"]] == ["Agreement", "Validity", "Liveness"]


# -- the checks can fail -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def good_trace() -> dict:
    trace = run({"seed": 4}).trace()
    assert all(c["ok"] for c in trace["checks"])
    return trace


def failed(trace: dict, name: str):
    check = next(c for c in checks(trace) if c.name == name)
    assert not check.ok, check
    return check


def test_agreement_fails_when_two_nodes_learn_different_values(good_trace):
    trace = copy.deepcopy(good_trace)
    victim = [e for e in trace["events"] if e["kind"] == "decide" and e["slot"] == 2][-1]
    victim["value"] = "b2" if victim["value"] != "b2" else "a2"
    check = failed(trace, "Agreement")
    assert (check.t, check.node) == (victim["t"], victim["node"]) and "slot 2" in check.detail


def test_validity_fails_on_a_value_nobody_was_given(good_trace):
    trace = copy.deepcopy(good_trace)
    for e in trace["events"]:
        if e["kind"] == "decide" and e["slot"] == 3:
            e["value"] = "z3"
    check = failed(trace, "Validity")
    assert "'z3'" in check.detail and check.node is not None


def test_validity_fails_on_a_value_learned_before_it_was_given(good_trace):
    trace = copy.deepcopy(good_trace)
    first = next(e for e in trace["events"] if e["kind"] == "decide" and e["slot"] == 3)
    for e in trace["events"]:
        if e["kind"] == "input" and e["slot"] == 3:
            e["t"] = first["t"] + 1  # given after it was learned
    trace["events"].sort(key=lambda e: (e["t"], e["id"]))
    assert failed(trace, "Validity").t == first["t"]


def test_liveness_fails_when_a_node_never_learns_a_slot(good_trace):
    trace = copy.deepcopy(good_trace)
    lost = ("decide", "n4", 2)
    trace["events"] = [e for e in trace["events"] if (e["kind"], e["node"], e.get("slot")) != lost]
    check = failed(trace, "Liveness")
    assert check.node == "n4" and "slot 2" in check.detail


@pytest.mark.parametrize("change", [{"drop": 0.1}, {"faults": "crash n1@100"},
                                    {"reorder": 50.0}, {"backoff": "false"}])  # fmt: skip
def test_liveness_is_not_judged_where_it_is_not_promised(good_trace, change):
    trace = copy.deepcopy(good_trace)
    trace["params"] |= change
    trace["events"] = [e for e in trace["events"] if e["kind"] != "decide"]
    check = next(c for c in checks(trace) if c.name == "Liveness")
    assert check.ok and check.detail.startswith("not judged")


def test_svg_marks_a_failing_check(good_trace):
    trace = copy.deepcopy(good_trace)
    victim = [e for e in trace["events"] if e["kind"] == "decide" and e["slot"] == 1][-1]
    victim["value"] = "zz"
    svg = draw(trace, checks(trace), "s")
    assert 'class="dm-violation"' in svg and 'data-check="Agreement"' in svg
    assert f'data-t="{victim["t"]:g}"' in svg


# -- params and the figure -----------------------------------------------------------------------
@pytest.mark.parametrize("given", [
    {"nodes": 2}, {"nodes": 8}, {"proposers": 0}, {"proposers": 4}, {"slots": 0},
    {"slots": 9}, {"backoff": "on"}, {"faults": "crash n6@100"}, {"acceptors": 3},
])  # fmt: skip
def test_bad_params_raise_param_error_naming_the_culprit(given):
    with pytest.raises(ParamError) as caught:
        run(given)
    assert next(iter(given)) in str(caught.value) or "n6" in str(caught.value)


def test_default_svg_is_within_budget_and_matches_golden():
    svg = run({}).svg
    assert len(svg.encode()) <= 34_000
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(svg, encoding="utf-8")
    assert svg == GOLDEN.read_text(encoding="utf-8"), "rerun with UPDATE_GOLDEN=1 if intended"


def expected(trace: dict, node: str, t: float) -> tuple[str, str, dict[int, str]]:
    """Give (role, promised ballot, {slot: cell text}) of `node` at `t`, from its events."""
    role, promised, accepted, learned = "acceptor", "-", {}, {}
    for e in trace["events"]:
        if e["node"] != node or e["t"] > t:
            continue
        if e["kind"] in ("role", "crash"):
            role = e.get("role", "down")
        elif e["kind"] == "promise":
            promised = "{}.{}".format(*e["ballot"])
        elif e["kind"] == "accept":
            accepted[e["slot"]] = (e["value"], "{}.{}".format(*e["ballot"]))
        elif e["kind"] == "decide":
            learned[e["slot"]] = e["value"]
    cells = {}
    for slot in sorted(set(accepted) | set(learned)):
        value, ballot = accepted.get(slot, ("", ""))
        text = f"{value}@{ballot}" if value else ""
        if slot in learned:
            text += "\u2713" if value == learned[slot] else f" \u2713{learned[slot]}"
        cells[slot] = text.strip()
    return role, promised, cells


@pytest.mark.parametrize("params", [
    {"seed": 1, "faults": "crash n2@300; restart n2@1200", "drop": 0.1},
    {"seed": 5, "proposers": 3, "backoff": "false", "duration": 800, "slots": 2},
    {"seed": 9, "nodes": 7, "slots": 8, "duplicate": 0.3, "reorder": 40.0},
])  # fmt: skip
def test_panel_shows_each_nodes_state_at_random_moments(params):
    result = run(params)
    trace = result.trace()
    width = min((720 - 8 - SLOTS_X) / trace["params"]["slots"], 90.0)
    rng = random.Random(params["seed"])
    for t in sorted(rng.uniform(0, trace["duration"] - 1) for _ in range(20)):
        shown = stretches_at(result.svg, t)
        for name in trace["nodes"]:
            role, promised, cells = expected(trace, name, t)
            mine = [g for g in shown if g.get("data-node") == name]
            marks = [m.get("data-role") for g in mine for m in g.iter() if m.get("data-role")]
            assert marks == [role], (t, name, marks)
            texts = {float(x.get("x")): x.text for g in mine for x in g.iter(f"{SVG}text")}
            assert texts.pop(44.0) == role and texts.pop(96.0) == promised, (t, name, texts)
            slots = {round((x - 3 - SLOTS_X) / width) + 1: text for x, text in texts.items()}
            assert slots == cells, (t, name, slots, cells)
            solid = {round((float(r.get("x")) - SLOTS_X) / width) + 1 for g in mine
                     for r in g.iter(f"{SVG}rect") if r.get("class") == "px-d"}  # fmt: skip
            assert solid == {s for s, text in cells.items() if "\u2713" in text}


def test_panel_has_one_role_per_node_at_every_change():
    result = run({"seed": 3, "proposers": 3, "drop": 0.2, "faults": "crash n1@300; restart n1@700"})
    times = sorted({float(g.get("data-t")) for g in ElementTree.fromstring(result.svg).iter()
                    if g.get("data-t") is not None})  # fmt: skip
    for t in times[::3]:
        roles = roles_at(result.svg, t)
        assert sorted(roles) == result.nodes and all(len(r) == 1 for r in roles.values()), t
