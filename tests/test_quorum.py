"""The quorum demo: R/W quorums, read repair, sloppy quorums and hinted handoff through a fake
network; whole runs over many seeds; the three things the article shows side by side; checks
that can fail; the figure."""

from __future__ import annotations

import copy
import json
import os
import random
import re
from pathlib import Path
from xml.etree import ElementTree

import pytest
from svg_moments import SVG, roles_at, shown_at, texts

import demos
from demos import ParamError, pipeline, quorum
from demos.linearizability import stale_reads
from demos.quorum import ZERO, Ack, Get, Got, Handoff, HandoffAck, Put, Replica, Sync
from demos.quorum_draw import draw

GOLDEN = Path(__file__).parent / "golden" / "quorum-default.svg"
STRICT = {"nodes": 3, "r": 1, "w": 3, "clients": 4, "duration": 4000}  # ONE / ALL: R + W > N


def run(params: dict | None = None) -> demos.Result:
    return pipeline.assemble(quorum, params or {})


def checks_of(trace: dict) -> dict:
    """Give the demo's checks applied to `trace`, by name."""
    return {c.name: c for c in (check(trace) for check in quorum.CHECKS)}


def by_name(result: demos.Result) -> dict:
    return {c.name: c for c in result.checks}


def ok_writes_during(result: demos.Result, start: float, end: float) -> int:
    history = result.extra["history"]
    calls = {}
    count = 0
    for e in history:
        if e["type"] == "invoke":
            calls[e["process"]] = e["t"]
        elif e["f"] == "write" and e["type"] == "ok" and start <= calls[e["process"]] < end:
            count += 1
    return count


# -- the rules, driven by hand through a fake network (tests/fakes.py) ------------------------
class FakeClient:
    """Stands in for a client: records the answers its coordinator gives."""

    def __init__(self, name: str = "c1") -> None:
        self.name = name
        self.answers: list[tuple[int, str, object]] = []

    def answer(self, token, kind, value, error=None):
        self.answers.append((token, kind, value))


def node(sim, name="n1", *, nodes=5, n=3, r=2, w=2, sloppy=False, repair=False) -> Replica:
    """Give a node of a ring of `nodes` where key x's preference list is n1..nN."""
    ring = [f"n{i}" for i in range(1, nodes + 1)]
    quorum_params = {
        "r": r,
        "w": w,
        "sloppy": "true" if sloppy else "false",
        "read_repair": "true" if repair else "false",
    }
    return Replica(name, sim, int(name[1:]), {"x": ring[:n]}, ring, quorum_params)


def answered(sim, client: FakeClient) -> list:
    sim.advance(sim.now + quorum.CLIENT_LINK)
    return client.answers


def test_a_write_stores_locally_and_answers_after_w_distinct_acks(sim):
    n1, client = node(sim, w=3), FakeClient()
    sim.now = 2.5
    n1.request(client, 1, "write", "x", 7)
    assert n1.store["x"] == ((2500, 1), 7)  # the coordinator's clock, in µs, and its number
    puts = sim.take_all(Put)
    assert {dst for _, dst, _ in puts} == {"n2", "n3"}
    assert puts[0][2] == Put(1, "x", (2500, 1), 7)
    n1.deliver(Ack(1), "n2", 0)
    n1.deliver(Ack(1), "n2", 1)  # a copy counts once: n1 and n2 are not 3
    assert answered(sim, client) == []
    n1.deliver(Ack(1), "n3", 2)
    assert answered(sim, client) == [(1, "ok", 7)]


def test_a_coordinators_stamps_only_grow(sim):
    n1, client = node(sim, w=1), FakeClient()
    n1.request(client, 1, "write", "x", 1)
    n1.request(client, 2, "write", "x", 2)  # the same instant: the clock still moves on
    sim.take_all(Put)
    assert n1.store["x"] == ((2, 1), 2)


def test_a_read_answers_the_newest_of_r_replies(sim):
    n2, client = node(sim, "n2"), FakeClient()
    n2.store["x"] = ((5, 1), 10)
    n2.request(client, 1, "read", "x", None)  # n2's own copy is one of the two
    assert {dst for _, dst, _ in sim.take_all(Get)} == {"n1", "n3"}
    n2.deliver(Got(1, "x", (9, 3), 30), "n3", 0)
    assert answered(sim, client) == [(1, "ok", 30)]
    n2.deliver(Got(1, "x", (1, 1), 1), "n1", 1)  # late: the op is over
    assert answered(sim, client) == [(1, "ok", 30)] and sim.take_all(Put) == []


def test_without_read_repair_a_read_leaves_stale_replicas_alone(sim):
    n2, client = node(sim, "n2"), FakeClient()
    n2.request(client, 1, "read", "x", None)
    sim.take_all(Get)
    n2.deliver(Got(1, "x", (9, 3), 30), "n3", 0)
    assert answered(sim, client) == [(1, "ok", 30)]
    assert n2.store["x"] == (ZERO, None)  # nothing written back, not even locally


def test_read_repair_writes_back_to_w_replicas_before_answering(sim):
    n2, client = node(sim, "n2", w=3, r=2, repair=True), FakeClient()
    n2.request(client, 1, "read", "x", None)
    sim.take_all(Get)
    n2.deliver(Got(1, "x", (9, 3), 30), "n3", 0)
    assert answered(sim, client) == []  # only n3 holds 30: it must reach three
    assert n2.store["x"] == ((9, 3), 30)  # the coordinator's own copy is repaired at once
    assert sim.take("n2", "n1", Put) == Put(1, "x", (9, 3), 30)
    n2.deliver(Got(1, "x", (9, 9), 99), "n1", 1)  # a reply after the read phase: ignored
    n2.deliver(Ack(1), "n1", 2)
    assert answered(sim, client) == [(1, "ok", 30)]


def test_read_repair_is_skipped_when_w_replicas_already_agree(sim):
    n2, client = node(sim, "n2", w=2, repair=True), FakeClient()
    n2.store["x"] = ((9, 3), 30)
    n2.request(client, 1, "read", "x", None)
    sim.take_all(Get)
    n2.deliver(Got(1, "x", (9, 3), 30), "n3", 0)
    assert answered(sim, client) == [(1, "ok", 30)] and sim.take_all(Put) == []


def test_a_strict_write_without_a_quorum_ends_unknown(sim):
    n1, client = node(sim), FakeClient()
    n1.request(client, 1, "write", "x", 7)
    sim.take_all(Put)
    sim.advance(quorum.GIVE_UP + quorum.CLIENT_LINK)
    assert client.answers == [(1, "info", 7)]  # n1 holds it: it may still spread
    assert n1.store["x"][1] == 7


def test_a_read_without_a_quorum_fails(sim):
    n4, client = node(sim, "n4"), FakeClient()
    n4.request(client, 1, "read", "x", None)
    assert {dst for _, dst, _ in sim.take_all(Get)} == {"n1", "n2", "n3"}
    sim.advance(quorum.GIVE_UP + quorum.CLIENT_LINK)
    assert client.answers == [(1, "fail", None)]


def test_a_sloppy_write_hands_silent_replicas_copies_to_the_next_nodes(sim):
    n1, client = node(sim, sloppy=True, w=3), FakeClient()
    n1.request(client, 1, "write", "x", 7)
    sim.take_all(Put)
    n1.deliver(Ack(1), "n3", 0)
    sim.advance(quorum.FALLBACK)
    # n2 is silent: its copy goes to n4, the first node past the preference list
    assert sim.take("n1", "n4", Put) == Put(1, "x", (1, 1), 7, hint="n2")
    n1.deliver(Ack(1), "n4", 1)
    assert answered(sim, client) == [(1, "ok", 7)]


def test_a_hint_is_kept_apart_and_handed_back_until_acknowledged(sim):
    n4 = node(sim, "n4")
    n4.deliver(Put(3, "x", (5, 1), 7, hint="n2"), "n1", 0)
    assert sim.take("n4", "n1", Ack) == Ack(3)
    assert n4.store == {} and n4.hints == {("n2", "x"): ((5, 1), 7)}
    n4.deliver(Get(4, "x"), "n1", 1)  # a sloppy read asks the fallback: it answers its hint
    assert sim.take("n4", "n1", Got) == Got(4, "x", (5, 1), 7)
    n4.hand_off()
    assert sim.take("n4", "n2", Handoff) == Handoff("x", (5, 1), 7)
    n4.deliver(Put(5, "x", (8, 3), 9, hint="n2"), "n3", 2)  # a newer hint for n2
    sim.take("n4", "n3", Ack)
    n4.deliver(HandoffAck("x", (5, 1)), "n2", 3)  # the ack of the older one: keep the newer
    assert n4.hints == {("n2", "x"): ((8, 3), 9)}
    n4.deliver(HandoffAck("x", (8, 3)), "n2", 4)
    assert n4.hints == {} and [e["kind"] for e in sim.kinds("handoff")] == ["handoff"]


def test_a_replica_keeps_the_highest_stamp_whatever_the_order(sim):
    n2 = node(sim, "n2")
    n2.deliver(Put(1, "x", (30, 1), 30), "n1", 0)
    n2.deliver(Sync((("x", (20, 3), 20),)), "n3", 1)  # older, arriving later
    n2.deliver(Handoff("x", (10, 4), 10), "n4", 2)
    n2.deliver(Put(1, "x", (30, 1), 30), "n1", 3)  # a copy
    assert n2.store["x"] == ((30, 1), 30)
    assert [m for _, _, m in sim.take_all(Ack)] == [Ack(1), Ack(1)]
    assert sim.take("n2", "n4", HandoffAck) == HandoffAck("x", (10, 4))
    assert [e["value"] for e in sim.kinds("store")] == [30]


def test_anti_entropy_pushes_each_key_to_its_other_replicas(sim):
    n2 = node(sim, "n2")
    n2.store["x"] = ((4, 1), 4)
    n2.sync()
    assert sim.take("n2", "n1", Sync) == Sync((("x", (4, 1), 4),))
    assert sim.take("n2", "n3", Sync) == Sync((("x", (4, 1), 4),))


def test_a_crash_forgets_pending_ops_but_keeps_the_data(sim):
    n1, client = node(sim), FakeClient()
    n1.request(client, 1, "write", "x", 7)
    sim.take_all(Put)
    n1.crash()
    n1.restart()
    n1.deliver(Ack(1), "n2", 0)
    sim.advance(quorum.GIVE_UP + quorum.CLIENT_LINK)
    assert client.answers == [] and n1.store["x"][1] == 7 and n1.pending == {}
    sim.take_all(Sync)


def test_preference_lists_walk_the_ring():
    assert quorum.ring(["x"], ["n1", "n2", "n3", "n4", "n5"], 3) == {"x": ["n4", "n5", "n1"]}
    n4 = Replica(
        "n4",
        None,
        4,
        {"x": ["n4", "n5", "n1"]},
        ["n1", "n2", "n3", "n4", "n5"],
        {"r": 1, "w": 1, "sloppy": "true", "read_repair": "false"},
    )
    assert n4.past_preference("x") == ["n2", "n3"]


# -- whole runs over many seeds -----------------------------------------------------------------
def random_schedule(rng: random.Random, nodes: int, duration: float) -> str:
    """Give a partition or two and maybe a crash, all over before the quiet end."""
    names = [f"n{i}" for i in range(1, nodes + 1)]
    last = duration - quorum.SETTLE - 300
    items, t = [], rng.uniform(0, 800)
    for _ in range(rng.randint(0, 2)):
        end = min(t + rng.uniform(300, 2000), last)
        if end <= t:
            break
        shuffled = rng.sample(names, nodes)
        cut = rng.randint(1, nodes - 1)
        items.append(
            f"partition {','.join(shuffled[:cut])}|{','.join(shuffled[cut:])}@{t:.0f}-{end:.0f}"
        )
        t = end + rng.uniform(0, 600)
    if rng.random() < 0.5:
        down = rng.uniform(0, last - 600)
        name = rng.choice(names)
        items.append(f"crash {name}@{down:.0f}; restart {name}@{down + rng.uniform(50, 500):.0f}")
    return "; ".join(items)


def random_params(seed: int, **fixed) -> dict:
    """Give random settings with R + W > N and a strict quorum unless `fixed` says otherwise."""
    rng = random.Random(seed)
    nodes = rng.randint(3, 8)
    n = rng.randint(3, min(nodes, 7))
    r = rng.randint(1, n)
    w = rng.randint(n - r + 1, n)
    duration = rng.choice((2500.0, 3000.0, 4000.0))
    params = {
        "seed": seed,
        "nodes": nodes,
        "replicas": n,
        "r": r,
        "w": w,
        "clients": rng.randint(1, 6),
        "duration": duration,
        "keys": rng.choice(("x", "x,y", "a,b,c")),
        "faults": random_schedule(rng, nodes, duration),
    }
    return params | fixed


def unreliable(params: dict) -> dict:
    """Give `params` on a network that duplicates and reorders, by amounts from its seed."""
    rng = random.Random(params["seed"] * 31 + 7)
    return params | {
        "duplicate": round(rng.uniform(0.05, 0.5), 2),
        "reorder": rng.choice((10.0, 40.0, 100.0, 300.0)),
    }


def assert_promises(params: dict) -> None:
    """The strict quorum's promises: fresh reads, convergence, and with read repair
    linearizability."""
    checks = by_name(run(params))
    assert checks["Fresh reads"].ok, (params, checks["Fresh reads"].detail)
    assert checks["Convergence"].ok, (params, checks["Convergence"].detail)
    if params.get("read_repair") == "true":
        assert checks["Linearizable"].ok, (params, checks["Linearizable"].detail)


@pytest.mark.parametrize("seed", range(30))
def test_strict_overlapping_quorums_never_read_stale_and_converge(seed):
    assert_promises(random_params(seed))


@pytest.mark.parametrize("seed", range(30))
def test_read_repair_makes_overlapping_quorums_linearizable(seed):
    assert_promises(random_params(seed, read_repair="true"))


@pytest.mark.parametrize("seed", range(40))
def test_promises_hold_when_messages_are_duplicated_and_reordered(seed):
    assert_promises(unreliable(random_params(seed, read_repair="true")))
    assert_promises(unreliable(random_params(seed + 1000)))


@pytest.mark.parametrize("seed", range(30))
def test_sloppy_and_small_quorums_still_converge(seed):
    rng = random.Random(seed)
    params = random_params(seed, sloppy="true", read_repair=rng.choice(("true", "false")))
    params |= {"r": 1, "w": 1} if seed % 2 else {}
    check = by_name(run(unreliable(params) if seed % 3 == 0 else params))["Convergence"]
    assert check.ok, (params, check.detail)


def test_duplicates_and_reordering_reach_the_nodes():
    # The properties above mean something only if copies and late messages were delivered.
    messages = run({"duplicate": 0.5, "reorder": 200.0}).messages
    copies = [m for m in messages if "copy_of" in m and m["status"] == "delivered"]
    late = [m for m in messages if m["status"] == "delivered" and m["recv"] - m["sent"] > 100]
    assert len(copies) > 50 and len(late) > 50


def test_message_loss_breaks_no_promise_of_safety():
    for seed in range(20):
        params = random_params(seed, read_repair="true", drop=0.2)
        checks = by_name(run(params))
        assert checks["Linearizable"].ok and checks["Fresh reads"].ok, params
        assert checks["Convergence"].detail.startswith("not tested: message loss"), params


@pytest.mark.slow
def test_promises_over_3000_seeded_schedules():
    for seed in range(1000):
        assert_promises(random_params(seed))
        assert_promises(random_params(seed, read_repair="true"))
        assert_promises(unreliable(random_params(seed, read_repair="true")))


# -- the three things side by side ---------------------------------------------------------------
def test_small_quorums_read_stale_values_on_a_healthy_network():
    small = {"nodes": 3, "r": 1, "w": 1}  # every client's coordinator is a replica
    stale = [s for s in range(1, 21) if stale_reads(run(small | {"seed": s}).extra["history"])]
    assert len(stale) >= 15, stale
    check = by_name(run(small | {"seed": stale[0]}))["Fresh reads"]
    assert check.ok and "not promised with R + W = 2 \u2264 N = 3" in check.detail


def test_overlapping_quorums_are_not_linearizable_without_read_repair():
    bad = [s for s in range(1, 31) if not by_name(run(STRICT | {"seed": s}))["Linearizable"].ok]
    assert bad, "no seed in 1..30 showed new-then-old"
    for seed in bad:
        result = run(STRICT | {"seed": seed})
        assert by_name(result)["Fresh reads"].ok  # no read after a completed write is stale
        assert not stale_reads(result.extra["history"])
        assert "not promised: overlapping quorums" in by_name(result)["Linearizable"].detail
        repaired = run(STRICT | {"seed": seed, "read_repair": "true"})
        assert by_name(repaired)["Linearizable"].ok, seed


def test_sloppy_quorums_accept_writes_a_strict_quorum_refuses():
    cut = {"faults": "partition n1,n2|n3,n4,n5@1000-2500", "clients": 2, "duration": 4000}
    for seed in range(1, 11):
        strict, sloppy = run(cut | {"seed": seed}), run(cut | {"seed": seed, "sloppy": "true"})
        # c1 and c2 sit at n1 and n2, cut off from n4 and n5 (x lives on n4, n5, n1)
        assert ok_writes_during(strict, 1000, 2200) == 0, seed
        assert ok_writes_during(sloppy, 1000, 2200) > 0, seed
        assert any(e["kind"] == "hint" for e in sloppy.events)
        assert any(e["kind"] == "handoff" for e in sloppy.events)  # handed back after heal
        assert by_name(sloppy)["Convergence"].ok and by_name(strict)["Convergence"].ok


# -- each check can fail ----------------------------------------------------------------------
def corrupt(mutate, params: dict | None = None) -> dict:
    trace = copy.deepcopy(run(params).trace())
    mutate(trace)
    return checks_of(trace)


def make_stale(trace: dict) -> None:
    reads = [
        e
        for e in trace["history"]
        if e["type"] == "ok" and e["f"] == "read" and e["value"] is not None and e["t"] > 1000
    ]
    reads[-1]["value"] = None  # the empty register, long after the first writes


def test_linearizable_fails_on_a_stale_read():
    check = corrupt(make_stale)["Linearizable"]
    assert not check.ok and "stale read" in check.detail and check.t is not None


def test_linearizable_fails_on_a_malformed_history():
    check = corrupt(lambda trace: trace["history"].pop(0))["Linearizable"]
    assert not check.ok and "malformed" in check.detail


def test_fresh_reads_fails_where_it_is_promised_and_not_where_it_is_not():
    check = corrupt(make_stale)["Fresh reads"]
    assert not check.ok and check.t is not None and check.node is not None
    assert corrupt(make_stale, {"r": 1, "w": 1})["Fresh reads"].ok
    assert corrupt(make_stale, {"sloppy": "true"})["Fresh reads"].ok
    check = corrupt(lambda trace: trace["params"].pop("r"))["Fresh reads"]
    assert not check.ok and "malformed" in check.detail


def test_convergence_fails_when_replicas_disagree():
    check = corrupt(lambda trace: trace["final_state"]["n5"].update(x=-1))["Convergence"]
    assert not check.ok and "n5 holds x=-1" in check.detail and check.node == "n5"


def test_convergence_fails_when_a_hint_is_never_handed_back():
    check = corrupt(
        lambda trace: trace["final_hints"]["n2"].append({"to": "n4", "key": "x", "value": 3})
    )["Convergence"]
    assert not check.ok and "n2 still holds a hint x=3 for n4" in check.detail


def test_convergence_fails_without_the_protocol_timing():
    check = corrupt(lambda trace: trace.pop("timing"))["Convergence"]
    assert not check.ok and "malformed" in check.detail


def test_convergence_is_not_claimed_too_early():
    assert (
        run({"faults": "partition n1|n2,n3,n4,n5@500-9000"})
        .checks[2]
        .detail.startswith("not tested: the partition")
    )
    check = corrupt(
        lambda trace: trace["final_state"]["n5"].update(x=-1),
        {"faults": "partition n1|n2,n3,n4,n5@500-1400"},
    )["Convergence"]
    assert check.ok and "need until" in check.detail


def test_a_crashed_replica_is_not_asked_to_agree():
    result = run({"faults": "crash n5@1300"})
    assert by_name(result)["Convergence"].ok
    assert "n4,n1" in by_name(result)["Convergence"].detail


# -- params, determinism, the trace ------------------------------------------------------------
@pytest.mark.parametrize(
    "given, culprit",
    [
        ({"nodes": 2}, "nodes"),
        ({"nodes": 9}, "nodes"),
        ({"replicas": 8}, "replicas"),
        ({"nodes": 3, "replicas": 4}, "replicas"),
        ({"r": 0}, "r"),
        ({"r": 4}, "r"),
        ({"w": 4}, "w"),
        ({"sloppy": "yes"}, "sloppy"),
        ({"read_repair": "1"}, "read_repair"),
        ({"keys": "x,x"}, "keys"),
        ({"faults": "crash n6@100"}, "n6"),
        ({"reorder": 6000}, "reorder"),
        ({"duration": 20001}, "duration"),
    ],
)
def test_bad_params_name_the_culprit(given, culprit):
    with pytest.raises(ParamError, match=culprit):
        run(given)


def test_same_params_same_bytes():
    params = {
        "seed": 7,
        "clients": 5,
        "sloppy": "true",
        "duplicate": 0.2,
        "reorder": 30,
        "faults": "partition n1,n2|n3,n4,n5@800-2000",
    }
    a = run(params)
    run(random_params(5))  # nothing may leak from one run into the next
    b = run(params)
    assert a.svg == b.svg and a.to_json() == b.to_json()
    assert run({"seed": 7}).svg != run({"seed": 8}).svg


def test_trace_follows_the_contract():
    trace = json.loads(
        run({"keys": "x,y", "faults": "partition n1|n2,n3,n4,n5@500-1500"}).to_json()
    )
    assert trace["demo"] == "quorum" and trace["nodes"] == ["n1", "n2", "n3", "n4", "n5"]
    assert trace["ring"] == {"x": ["n4", "n5", "n1"], "y": ["n5", "n1", "n2"]}
    assert trace["final_state"]["n1"].keys() == {"x", "y"} and trace["final_state"]["n3"] == {}
    assert trace["partitions"] == [
        {"start": 500.0, "end": 1500.0, "groups": [["n1"], ["n2", "n3", "n4", "n5"]]}
    ]
    for entry in trace["history"]:
        assert {"process", "type", "f", "key", "value", "t", "node"} <= entry.keys()
    assert [c["name"] for c in trace["checks"]] == ["Linearizable", "Fresh reads", "Convergence"]


def test_store_events_replay_to_the_final_state():
    for params in ({}, random_params(3), unreliable(random_params(4, sloppy="true"))):
        trace = run(params).trace()
        state = {n: dict.fromkeys(kv) for n, kv in trace["final_state"].items()}
        stamps = {n: dict.fromkeys(kv, [0, 0]) for n, kv in trace["final_state"].items()}
        for e in trace["events"]:
            if e["kind"] == "store":
                assert e["stamp"] > stamps[e["node"]][e["key"]], e  # only ever newer
                state[e["node"]][e["key"]] = e["value"]
                stamps[e["node"]][e["key"]] = e["stamp"]
        assert state == trace["final_state"], params


# -- the figure: the panel shows the trace's state at every moment --------------------------
def visible(svg: str, t: float) -> dict:
    """Give what the figure's panel shows at `t`: each node's role and texts (copies and
    hints), each client's op, read from the stretches that show then."""
    root = ElementTree.fromstring(svg)
    parent = {child: el for el in root.iter() for child in el}
    shown: dict = {"roles": roles_at(svg, t), "texts": {}, "pending": {}}
    for g in root.iter(f"{SVG}g"):
        if "dm-state" not in g.get("class", "").split() or not shown_at(g, t):
            continue
        if any(el.get("data-role") for el in g.iter()):
            continue  # a role mark: roles_at has it
        owner = g if g.get("data-node") else parent[g]
        if owner.get("data-node"):
            shown["texts"].setdefault(owner.get("data-node"), []).extend(texts(g))
        else:
            shown["pending"].setdefault(owner.get("data-process"), []).extend(texts(g))
    return shown


def expected(trace: dict, t: float) -> dict:
    """Give the state at `t` straight from the trace events and history."""
    down = dict.fromkeys(trace["nodes"], False)
    held = {(n, k): ("\u2205", None) for k, ring in trace["ring"].items() for n in ring}
    hinted: dict[str, dict] = {n: {} for n in trace["nodes"]}
    for e in trace["events"]:
        if e["t"] > t:
            break
        if e["kind"] in ("crash", "restart"):
            down[e["node"]] = e["kind"] == "crash"
        elif e["kind"] == "store":
            held[(e["node"], e["key"])] = (e["value"], e["stamp"][0] // 1000)
        elif e["kind"] == "hint":
            hinted[e["node"]][(e["to"], e["key"])] = e["value"]
        elif e["kind"] == "handoff" and hinted[e["node"]].get((e["to"], e["key"])) == e["value"]:
            del hinted[e["node"]][(e["to"], e["key"])]
    shown: dict[str, list[str]] = {}
    for (node, key), (value, stamp) in held.items():
        text = f"{key}={value}" if stamp is None else f"{key}={value} @{stamp}"
        shown.setdefault(node, []).append(text)
    for node, hints in hinted.items():
        if hints:
            items = [f"{k}={v} for {to}" for (to, k), v in sorted(hints.items())]
            more = f" +{len(items) - 2}" if len(items) > 2 else ""
            shown.setdefault(node, []).append("hints: " + ", ".join(items[:2]) + more)
    pending = {}
    for e in trace["history"]:
        if e["t"] <= t:
            what = f"write {e['key']}:={e['value']}" if e["f"] == "write" else f"read {e['key']}"
            pending[e["process"]] = [what] if e["type"] == "invoke" else []
    roles = {n: ["down" if down[n] else "up"] for n in trace["nodes"]}
    return {"roles": roles, "texts": {n: sorted(v) for n, v in shown.items()}, "pending": pending}


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"keys": "x,y", "faults": "crash n1@300; restart n1@900"},
        {"sloppy": "true", "clients": 5, "faults": "partition n1,n2|n3,n4,n5@200-900"},
        unreliable(random_params(11, sloppy="true")),
        random_params(12, read_repair="true") | {"drop": 0.1},
        random_params(13) | {"nodes": 8, "replicas": 7, "clients": 6, "keys": "a,b,c,d"},
    ],
)
def test_the_panel_shows_the_trace_state_at_random_moments(params):
    result = run(params)
    trace = result.trace()
    rng = random.Random(json.dumps(params, sort_keys=True))
    waiting = hinted = 0
    for t in sorted(rng.uniform(0, trace["duration"]) for _ in range(20)):
        shown, truth = visible(result.svg, t), expected(trace, t)
        assert shown["roles"] == truth["roles"], t  # exactly one role mark per node
        assert {n: sorted(v) for n, v in shown["texts"].items()} == truth["texts"], t
        assert {c: shown["pending"].get(c, []) for c in truth["pending"]} == truth["pending"], t
        waiting += sum(map(len, truth["pending"].values()))
        hinted += sum("hints:" in text for v in truth["texts"].values() for text in v)
    assert waiting
    assert hinted or params.get("sloppy") != "true" or "partition" not in params["faults"]


def test_the_panel_has_one_role_per_node_at_every_change():
    result = run({"faults": "crash n1@300; restart n1@800; crash n4@1000"})
    times = sorted(
        {
            float(g.get("data-t"))
            for g in ElementTree.fromstring(result.svg).iter()
            if g.get("data-t") is not None
        }
    )
    assert len(times) > 100
    for t in times:
        roles = roles_at(result.svg, t)
        assert sorted(roles) == result.nodes and all(len(r) == 1 for r in roles.values()), t
    assert roles_at(result.svg, 500)["n1"] == ["down"] and roles_at(result.svg, 900)["n1"] == ["up"]
    assert roles_at(result.svg, 1400)["n4"] == ["down"]


def test_the_static_figure_shows_the_end_of_the_run():
    result = run()
    root = ElementTree.fromstring(result.svg)
    on = [g for g in root.iter(f"{SVG}g") if (g.get("class") or "") == "dm-state"]
    assert all(g.get("data-until") is None for g in on)
    shown = ["".join(t.text or "" for t in g.iter(f"{SVG}text")) for g in on]
    final = result.extra["final_state"]["n4"]["x"]
    assert sum(text.startswith(f"x={final} @") for text in shown) == 3


def test_the_panel_says_what_changes():
    svg = run({"sloppy": "true", "faults": "crash n1@300; partition n2,n3|n4,n5,n1@400-900"}).svg
    assert 'data-say="n1 is down"' in svg and 'data-say="n1 is up"' not in svg
    assert re.search(r'data-say="n4 holds x=\d+ @\d+"', svg)
    assert re.search(r'data-say="n\d holds hints: x=\d+ for n\d"', svg)
    assert re.search(r'data-say="c1 asks: write x:=\d+"', svg)
    split = {"sloppy": "true", "faults": "partition n1,n2|n3,n4,n5@300-900", "duration": 1800}
    svg = run(split).svg
    assert 'data-say="n2 takes x=5 for n4, as a hint"' in svg
    assert 'data-say="n2 hands x=11 back to n4"' in svg


def test_svg_is_within_budget_and_marks_stale_reads():
    small = run({"nodes": 3, "r": 1, "w": 1}).svg
    assert len(run().svg.encode()) < 32_000 and len(small.encode()) < 40_000
    assert "dm-violation" in small and 'data-check="Linearizable"' in small
    assert "<script" not in small and not re.search(r"\son\w+=", small)
    assert 'data-node="c1"' not in small  # a client is no node the reader may crash


def test_golden_svg():
    svg = run().svg
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(svg, encoding="utf-8")
    assert GOLDEN.exists(), "run with UPDATE_GOLDEN=1 to create the golden file"
    assert svg == GOLDEN.read_text(encoding="utf-8")


def test_svg_marks_where_a_failing_check_points():
    trace = copy.deepcopy(run().trace())
    trace["final_state"]["n5"]["x"] = -1
    checks = list(checks_of(trace).values())
    svg = draw(trace, checks, quorum.summarize(trace, checks))
    assert 'data-check="Convergence"' in svg
