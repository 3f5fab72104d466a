"""The PBFT demo: replica rules through a fake network, whole runs over many seeds (loss,
crashes, partitions, duplication, reordering, traitors), checks that can fail, the figure."""

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
from demos import ParamError, pbft
from demos.pbft import (
    NULL,
    Commit,
    NewView,
    Plot,
    Prepare,
    PrePrepare,
    Replica,
    Traitor,
    ViewChange,
    new_view_pre_prepares,
    quorum_size,
)
from demos.pbft_draw import draw
from demos.search import random_schedule

GOLDEN = Path(__file__).parent / "golden" / "pbft-default.svg"
NAMES = ["n1", "n2", "n3", "n4"]
OTHERS = ["n1", "n3", "n4"]  # n2's peers


def run(params: dict) -> demos.Result:
    return demos.run("pbft", params)


def checks(trace: dict) -> list:
    return [check(trace) for check in pbft.CHECKS]


def replica(sim, name: str = "n2") -> Replica:
    """Give an honest replica of four on the fake simulator, started (f = 1, quorum 3)."""
    node = Replica(name, sim, list(NAMES))
    node.on_start()
    return node


def take_each(sim, src: str, peers: list[str], expected: object) -> list:
    return [sim.take(src, peer, expected) for peer in peers]


def kinds(sim, kind: str) -> list[dict]:
    return [e for e in sim.trace.events if e["kind"] == kind]


# -- quorums ------------------------------------------------------------------------------------
def test_quorums_are_2f_plus_1_at_3f_plus_1_and_always_share_an_honest_replica():
    assert [quorum_size(n) for n in (4, 7, 10)] == [(1, 3), (2, 5), (3, 7)]
    for n in range(4, 11):
        f, q = quorum_size(n)
        assert 2 * q - n >= f + 1  # two quorums overlap in at least one honest replica
        assert n - f >= q  # the honest replicas alone make a quorum


# -- the normal case ----------------------------------------------------------------------------
def test_backup_prepares_commits_and_executes_with_quorums(sim):
    n2 = replica(sim)
    n2.deliver(PrePrepare(0, 1, "r1"), "n1", 0)
    assert take_each(sim, "n2", OTHERS, Prepare) == [Prepare(0, 1, "r1")] * 3
    n2.deliver(Prepare(0, 1, "r1"), "n1", 1)  # the primary's prepare does not count
    assert not kinds(sim, "prepared")
    n2.deliver(Prepare(0, 1, "r1"), "n3", 2)  # with its own: 2f = 2 from backups
    assert take_each(sim, "n2", OTHERS, Commit) == [Commit(0, 1, "r1")] * 3
    n2.deliver(Commit(0, 1, "r1"), "n3", 3)
    n2.deliver(Commit(0, 1, "r1"), "n3", 4)  # a repeat is one vote
    assert not kinds(sim, "execute")
    n2.deliver(Commit(0, 1, "r1"), "n1", 5)
    assert [(e["seq"], e["value"]) for e in kinds(sim, "execute")] == [(1, "r1")]


def test_execution_waits_for_lower_sequence_numbers(sim):
    n2 = replica(sim)
    for seq, value in ((2, "r2"), (1, "r1")):
        n2.deliver(PrePrepare(0, seq, value), "n1", 0)
        n2.deliver(Prepare(0, seq, value), "n3", 1)
        for src in ("n1", "n3"):
            n2.deliver(Commit(0, seq, value), src, 2)
        if seq == 2:
            assert kinds(sim, "committed") and not kinds(sim, "execute")
    sim.take_all(Prepare), sim.take_all(Commit)
    assert [(e["seq"], e["value"]) for e in kinds(sim, "execute")] == [(1, "r1"), (2, "r2")]


def test_pre_prepares_from_a_backup_or_for_another_view_are_not_taken(sim):
    n2 = replica(sim)
    n2.deliver(PrePrepare(0, 1, "r1"), "n3", 0)  # n3 is not the primary of view 0
    n2.deliver(PrePrepare(0, 1, "r1"), "n1", 1)
    take_each(sim, "n2", OTHERS, Prepare)
    n2.deliver(PrePrepare(0, 1, "r1"), "n1", 2)  # a copy: nothing new
    n2.deliver(PrePrepare(1, 1, "r9"), "n2", 3)  # view 1 not entered yet: held, not taken
    assert n2.accepted == {(0, 1): "r1"} and len(n2.later) == 1


def test_primary_numbers_each_request_once(sim):
    n1 = replica(sim, "n1")
    n1.receive_request("r1")
    n1.receive_request("r1")  # the client's broadcast arrives twice
    n1.receive_request("r2")
    sent = sim.take_all(PrePrepare)
    assert sorted({m for _, _, m in sent}, key=lambda m: m.seq) == [
        PrePrepare(0, 1, "r1"),
        PrePrepare(0, 2, "r2"),
    ]
    assert len(sent) == 6


# -- catching the primary and changing views ----------------------------------------------------
def test_two_pre_prepares_for_one_number_start_a_view_change(sim):
    n2 = replica(sim)
    n2.deliver(PrePrepare(0, 1, "r1"), "n1", 0)
    take_each(sim, "n2", OTHERS, Prepare)
    n2.deliver(PrePrepare(0, 1, "r2"), "n1", 1)
    assert take_each(sim, "n2", OTHERS, ViewChange) == [ViewChange(1, ())] * 3
    assert kinds(sim, "caught")[0]["seq"] == 1 and n2.status == "changing"


def test_f_plus_1_prepares_for_another_value_catch_the_primary(sim):
    n2 = replica(sim)
    n2.deliver(PrePrepare(0, 1, "r1"), "n1", 0)
    take_each(sim, "n2", OTHERS, Prepare)
    n2.deliver(Prepare(0, 1, "null"), "n3", 1)  # one voice may be a traitor's
    assert not sim.network.sent
    n2.deliver(Prepare(0, 1, "null"), "n4", 2)  # f + 1: one of them is honest
    take_each(sim, "n2", OTHERS, ViewChange)
    assert kinds(sim, "caught")


def test_a_waiting_backup_asks_for_the_next_view_and_waits_twice_as_long_next(sim):
    n2 = replica(sim, "n3")
    n2.receive_request("r1")
    sim.advance(pbft.VIEW_TIMEOUT_MS - 1)
    assert not sim.network.sent
    sim.advance(pbft.VIEW_TIMEOUT_MS)
    assert take_each(sim, "n3", ["n1", "n2", "n4"], ViewChange) == [ViewChange(1, ())] * 3
    sim.advance(pbft.VIEW_TIMEOUT_MS * 3 - 1)  # no new-view: view 2 after twice the wait
    assert not sim.network.sent
    sim.advance(pbft.VIEW_TIMEOUT_MS * 3)
    assert take_each(sim, "n3", ["n1", "n2", "n4"], ViewChange) == [ViewChange(2, ())] * 3


def test_new_primary_carries_prepared_values_into_the_new_view(sim):
    n2 = replica(sim)  # the primary of view 1
    n2.deliver(PrePrepare(0, 2, "r2"), "n1", 0)
    n2.deliver(Prepare(0, 2, "r2"), "n3", 1)
    sim.take_all(Prepare), sim.take_all(Commit)
    n2.deliver(ViewChange(1, ((1, 0, "r1"),)), "n3", 2)
    n2.deliver(ViewChange(1, ()), "n4", 3)  # f + 1 ask for view 1: n2 joins
    take_each(sim, "n2", OTHERS, ViewChange)
    sent = take_each(sim, "n2", OTHERS, NewView)
    assert sent[0] == NewView(1, ("n2", "n3", "n4"), ((1, "r1"), (2, "r2")))
    assert [e["view"] for e in kinds(sim, "view")] == [0, 1] and n2.next_seq == 3


def test_new_view_pre_prepares_pick_the_highest_view_and_fill_gaps_with_null():
    changes = [((1, 0, "a"), (3, 0, "c")), ((1, 2, "b"),), ()]
    assert new_view_pre_prepares(changes) == ((1, "b"), (2, NULL), (3, "c"))


def test_backup_enters_a_new_view_only_when_its_own_view_changes_agree(sim):
    n3 = replica(sim, "n3")
    lie = NewView(1, ("n2", "n3", "n4"), ((1, "r9"),))
    n3.deliver(lie, "n2", 0)  # the view changes it names have not arrived: held
    assert n3.held == {1: lie}
    for src, certs in (("n2", ()), ("n4", ())):
        n3.deliver(ViewChange(1, certs), src, 1)
    take_each(sim, "n3", ["n1", "n2", "n4"], ViewChange)  # f + 1 asked: it joined
    assert n3.view == 0  # the new-view claimed r9 at #1, which no view change holds
    n3.deliver(NewView(1, ("n2", "n3", "n4"), ()), "n2", 2)
    assert n3.view == 1 and n3.status == "normal"


def test_messages_of_a_later_view_wait_until_it_is_entered(sim):
    n3 = replica(sim, "n3")
    n3.deliver(PrePrepare(1, 1, "r1"), "n2", 0)
    assert not sim.network.sent
    for src in ("n2", "n4"):
        n3.deliver(ViewChange(1, ()), src, 1)
    take_each(sim, "n3", ["n1", "n2", "n4"], ViewChange)
    n3.deliver(NewView(1, ("n2", "n3", "n4"), ()), "n2", 2)
    assert take_each(sim, "n3", ["n1", "n2", "n4"], Prepare) == [Prepare(1, 1, "r1")] * 3


# -- traitors -----------------------------------------------------------------------------------
def traitor(sim, name: str, behaviour: str, bad: list[str]) -> Traitor:
    node = Traitor(name, sim, list(NAMES), behaviour=behaviour, traitors=bad)
    node.on_start()
    return node


def test_a_silent_traitor_sends_nothing(sim):
    n1 = traitor(sim, "n1", "silent", ["n1"])
    n1.receive_request("r1")
    n1.deliver(ViewChange(1, ()), "n2", 0)
    n1.deliver(ViewChange(1, ()), "n3", 1)
    sim.advance(5000)
    assert not sim.network.sent


def test_an_equivocating_primary_tells_each_half_another_value_and_votes_with_it(sim):
    n1 = traitor(sim, "n1", "equivocate", ["n1", "n2"])
    n1.receive_request("r1")
    assert sim.take("n1", "n3", PrePrepare) == PrePrepare(0, 1, "r1")
    assert sim.take("n1", "n4", PrePrepare) == PrePrepare(0, 1, NULL)
    assert sim.take("n1", "n2", Plot) == Plot(0, 1, "r1", 0)
    assert sim.take("n1", "n2", Plot) == Plot(0, 1, NULL, 1)
    assert sim.take("n1", "n3", Commit) == Commit(0, 1, "r1")
    assert sim.take("n1", "n4", Commit) == Commit(0, 1, NULL)
    n1.receive_request("r2")  # the other half gets the previous request
    assert sim.take("n1", "n4", PrePrepare) == PrePrepare(0, 2, "r1")
    sim.take_all(PrePrepare), sim.take_all(Plot), sim.take_all(Commit)
    n2 = traitor(sim, "n2", "equivocate", ["n1", "n2"])
    n2.deliver(Plot(0, 1, NULL, 1), "n1", 0)
    assert [sim.take("n2", "n4", k) for k in (Prepare, Commit)] == [
        Prepare(0, 1, NULL),
        Commit(0, 1, NULL),
    ]


# -- whole runs ---------------------------------------------------------------------------------
def random_params(seed: int) -> dict:
    """Give a run with at most f traitors of either kind and a random fault schedule."""
    rng = random.Random(seed)
    nodes = rng.randint(4, 10)
    names = [f"n{i}" for i in range(1, nodes + 1)]
    return {"seed": seed, "nodes": nodes, "byzantine": rng.randint(0, min(3, (nodes - 1) // 3)),
            "behaviour": rng.choice(["silent", "equivocate"]), "requests": rng.randint(1, 8),
            "duration": 1500, "drop": round(rng.uniform(0.0, 0.3), 2),
            "duplicate": round(rng.uniform(0.0, 0.3), 2), "reorder": rng.choice([0, 20, 200]),
            "faults": random_schedule(rng, names, 1500.0)}  # fmt: skip


def assert_safe(seeds: range) -> None:
    for seed in seeds:
        params = random_params(seed)
        failed = [c for c in run(params).checks if not c.ok]
        assert not failed, (params, failed)


def test_safety_holds_with_at_most_f_traitors_under_faults_loss_duplication_reordering():
    assert_safe(range(200))


@pytest.mark.slow
def test_safety_holds_under_thousands_of_fault_schedules():
    assert_safe(range(200, 3200))


@pytest.mark.parametrize("behaviour", ["silent", "equivocate"])
@pytest.mark.parametrize("nodes,byzantine", [(4, 1), (7, 2), (10, 3), (5, 1), (9, 2)])
def test_agreement_holds_on_every_seed_when_n_is_at_least_3b_plus_1(nodes, byzantine, behaviour):
    for seed in range(1, 21):
        params = {"seed": seed, "nodes": nodes, "byzantine": byzantine,
                  "behaviour": behaviour, "requests": 4, "drop": 0.05,
                  "duplicate": 0.2, "reorder": 30.0}  # fmt: skip
        result = run(params)
        assert result.ok, (params, result.text())


def test_two_equivocating_traitors_of_four_break_agreement_and_the_figure_shows_where():
    broken = []
    for seed in range(1, 21):
        result = run({"seed": seed, "nodes": 4, "byzantine": 2, "behaviour": "equivocate"})
        agreement = result.checks[0]
        if not agreement.ok:
            broken.append(seed)
            execute = next(e for e in result.events if e["kind"] == "execute"
                           and (e["t"], e["node"]) == (agreement.t, agreement.node))  # fmt: skip
            earlier = [e for e in result.events if e["kind"] == "execute"
                       and e["seq"] == execute["seq"] and e["t"] < execute["t"]]  # fmt: skip
            assert earlier and earlier[0]["value"] != execute["value"]
            marks = [m for m in ElementTree.fromstring(result.svg).iter()
                     if m.get("data-check") == "Agreement"]  # fmt: skip
            assert [(m.get("data-node"), float(m.get("data-t"))) for m in marks] == [
                (agreement.node, agreement.t)
            ]
    assert broken, "no seed in 1..20 broke agreement"


@pytest.mark.parametrize("nodes,byzantine", [(4, 0), (4, 1), (7, 2), (10, 3)])
def test_every_request_is_executed_after_view_changes_past_silent_primaries(nodes, byzantine):
    for seed in range(1, 11):
        result = run({"seed": seed, "nodes": nodes, "byzantine": byzantine, "requests": 4,
                      "duration": 2500, "duplicate": 0.2})  # fmt: skip
        assert result.ok and "all 4" in result.checks[2].detail, (seed, result.text())
        views = [e["view"] for e in result.events if e["kind"] == "view"]
        assert max(views) == byzantine  # each silent primary in turn is passed over


def test_one_lying_primary_among_seven_is_caught_and_replaced():
    result = run({"seed": 2, "nodes": 7, "byzantine": 1, "behaviour": "equivocate"})
    caught = {e["node"] for e in result.events if e["kind"] == "caught"}
    assert len(caught) >= 3 and result.ok
    assert {e["view"] for e in result.events if e["kind"] == "view"} == {0, 1}


def test_same_params_give_identical_json_and_svg():
    params = {"seed": 11, "nodes": 7, "byzantine": 2, "behaviour": "equivocate", "drop": 0.1,
              "duplicate": 0.2, "faults": "crash n4@300; restart n4@600"}  # fmt: skip
    first = run(params)
    run(random_params(5))  # nothing may leak from one run into the next
    second = run(dict(params))
    assert first.to_json() == second.to_json() and first.svg == second.svg
    assert run(params | {"seed": 12}).to_json() != first.to_json()


def test_trace_follows_the_contract():
    trace = json.loads(run({"seed": 3, "faults": "crash n3@500; restart n3@600"}).to_json())
    assert trace["byzantine"] == ["n1"]
    executes = [e for e in trace["events"] if e["kind"] == "execute"]
    assert executes and all({"seq", "value"} <= e.keys() for e in executes)
    views = [e for e in trace["events"] if e["kind"] == "view"]
    assert {(e["node"], e["view"]) for e in views} >= {(n, 0) for n in trace["nodes"]}
    seen = {(e["kind"], e["node"], e["t"]) for e in trace["events"]}
    assert {("crash", "n3", 500.0), ("restart", "n3", 600.0)} <= seen
    assert [e["t"] for e in trace["events"]] == sorted(e["t"] for e in trace["events"])
    assert [c["name"] for c in trace["checks"]] == ["Agreement", "Validity", "Liveness"]


# -- the checks can fail ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def good_trace() -> dict:
    trace = run({"seed": 4, "nodes": 5, "requests": 3}).trace()
    assert all(c["ok"] for c in trace["checks"]) and "all 3" in trace["checks"][2]["detail"]
    return trace


def failed(trace: dict, name: str):
    check = next(c for c in checks(trace) if c.name == name)
    assert not check.ok, check
    return check


def test_agreement_fails_when_two_honest_replicas_execute_different_values(good_trace):
    trace = copy.deepcopy(good_trace)
    victim = [e for e in trace["events"] if e["kind"] == "execute" and e["seq"] == 2][-1]
    victim["value"] = "r3" if victim["value"] != "r3" else "r1"
    check = failed(trace, "Agreement")
    assert (check.t, check.node) == (victim["t"], victim["node"]) and "seq 2" in check.detail


def test_agreement_ignores_what_traitors_execute(good_trace):
    trace = copy.deepcopy(good_trace)
    victim = [e for e in trace["events"] if e["kind"] == "execute" and e["seq"] == 2][-1]
    victim["value"] = "r3" if victim["value"] != "r3" else "r1"
    trace["byzantine"] = trace["byzantine"] + [victim["node"]]
    assert next(c for c in checks(trace) if c.name == "Agreement").ok


def test_validity_fails_on_a_value_the_client_never_sent(good_trace):
    trace = copy.deepcopy(good_trace)
    for e in trace["events"]:
        if e["kind"] == "execute" and e["seq"] == 3:
            e["value"] = "r9"
    check = failed(trace, "Validity")
    assert "r9" in check.detail and check.node is not None


def test_validity_fails_on_a_value_executed_before_it_was_sent(good_trace):
    trace = copy.deepcopy(good_trace)
    first = next(e for e in trace["events"] if e["kind"] == "execute" and e["seq"] == 3)
    trace["requests"][2]["t"] = first["t"] + 1
    assert failed(trace, "Validity").t == first["t"]


def test_liveness_fails_when_an_honest_replica_never_executes_a_request(good_trace):
    trace = copy.deepcopy(good_trace)
    trace["events"] = [
        e
        for e in trace["events"]
        if not (e["kind"] == "execute" and e["node"] == "n4" and e["seq"] == 2)
    ]
    check = failed(trace, "Liveness")
    assert check.node == "n4" and "never executed" in check.detail


@pytest.mark.parametrize("change", [{"drop": 0.1}, {"faults": "crash n1@100"},
                                    {"reorder": 50.0}, {"behaviour": "equivocate"},
                                    {"byzantine": 2}, {"duration": 400.0}])  # fmt: skip
def test_liveness_is_not_judged_where_it_is_not_promised(good_trace, change):
    trace = copy.deepcopy(good_trace)
    trace["params"] |= change
    trace["duration"] = trace["params"]["duration"]
    trace["events"] = [e for e in trace["events"] if e["kind"] != "execute"]
    check = next(c for c in checks(trace) if c.name == "Liveness")
    assert check.ok and check.detail.startswith("not judged")


def test_svg_marks_a_failing_check(good_trace):
    trace = copy.deepcopy(good_trace)
    victim = [e for e in trace["events"] if e["kind"] == "execute" and e["seq"] == 1][-1]
    victim["value"] = "r2"
    svg = draw(trace, checks(trace), "s")
    assert 'class="dm-violation"' in svg and 'data-check="Agreement"' in svg
    assert f'data-t="{victim["t"]:g}"' in svg


# -- params and the figure ----------------------------------------------------------------------
@pytest.mark.parametrize("given", [
    {"nodes": 3}, {"nodes": 11}, {"byzantine": -1}, {"byzantine": 4}, {"behaviour": "lie"},
    {"requests": 0}, {"requests": 9}, {"faults": "crash n5@100"}, {"traitors": 1},
])  # fmt: skip
def test_bad_params_raise_param_error_naming_the_culprit(given):
    with pytest.raises(ParamError) as caught:
        run(given)
    assert next(iter(given)) in str(caught.value) or "n5" in str(caught.value)


def test_default_svg_is_within_budget_and_matches_golden():
    svg = run({}).svg
    assert len(svg.encode()) <= 30_000
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(svg, encoding="utf-8")
    assert svg == GOLDEN.read_text(encoding="utf-8"), "rerun with UPDATE_GOLDEN=1 if intended"


def expected(trace: dict, node: str, t: float) -> tuple[str, str, str]:
    """Give (role, view text, executed text) of `node` at `t`, from its events."""
    view, target, down, last = 0, None, False, "-"
    for e in trace["events"]:
        if e["node"] != node or e["t"] > t:
            continue
        if e["kind"] == "view":
            view, target = e["view"], None
        elif e["kind"] == "viewchange":
            target = e["view"]
        elif e["kind"] in ("crash", "restart"):
            down = e["kind"] == "crash"
        elif e["kind"] == "execute":
            last = f"#{e['seq']} {e['value']}"
    nodes = trace["nodes"]
    if down:
        role = "down"
    elif node in trace["byzantine"]:
        role = "byzantine"
    else:
        role = "primary" if target is None and nodes[view % len(nodes)] == node else "backup"
    text = f"view {view}" if target is None else f"view {view} \u2192 {target}?"
    return role, text, last


@pytest.mark.parametrize("params", [
    {"seed": 1, "faults": "crash n2@250; restart n2@500", "drop": 0.05},
    {"seed": 5, "nodes": 4, "byzantine": 2, "behaviour": "equivocate"},
    {"seed": 9, "nodes": 10, "byzantine": 3, "duration": 2000, "duplicate": 0.3,
     "reorder": 40.0, "requests": 6},
    {"seed": 3, "nodes": 7, "byzantine": 1, "behaviour": "equivocate"},
])  # fmt: skip
def test_panel_shows_each_replicas_state_at_random_moments(params):
    result = run(params)
    trace = result.trace()
    rng = random.Random(params["seed"])
    for t in sorted(rng.uniform(0, trace["duration"] - 1) for _ in range(20)):
        shown = stretches_at(result.svg, t)
        for name in trace["nodes"]:
            role, view, last = expected(trace, name, t)
            mine = [g for g in shown if g.get("data-node") == name]
            marks = [m.get("data-role") for g in mine for m in g.iter() if m.get("data-role")]
            assert marks == [role], (t, name, marks)
            texts = [x.text for g in mine for x in g.iter(f"{SVG}text")]
            assert texts == [role, view, last], (t, name, texts)


def test_panel_has_one_role_per_node_at_every_change():
    result = run({"seed": 3, "nodes": 7, "requests": 6, "duration": 1500, "drop": 0.1,
                  "faults": "crash n4@200; restart n4@350"})  # fmt: skip
    times = sorted({float(g.get("data-t")) for g in ElementTree.fromstring(result.svg).iter()
                    if g.get("data-t") is not None})  # fmt: skip
    assert len(times) > 20
    for t in times:
        roles = roles_at(result.svg, t)
        assert sorted(roles) == sorted(result.nodes) and all(len(r) == 1 for r in roles.values())
