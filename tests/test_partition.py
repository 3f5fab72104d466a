"""The partition demo: CP stays linearizable, AP stays available, both converge after a heal."""

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
from demos import ParamError, partition
from demos.linearizability import stale_reads
from demos.partition import ZERO, Ack, Query, Replica, Reply, Store
from demos.partition_draw import draw

GOLDEN = Path(__file__).parent / "golden" / "partition-default.svg"


def run(params: dict | None = None) -> demos.Result:
    return demos.run("partition", params or {})


def checks_of(trace: dict) -> dict:
    """Give the demo's checks applied to `trace`, by name."""
    return {c.name: c for c in (check(trace) for check in partition.CHECKS)}


def by_name(result) -> dict:
    return {c.name: c for c in result.checks}


def random_schedule(rng: random.Random, replicas: int, duration: float, crashes: bool) -> str:
    """Give one or two partitions (and maybe a crash) that all heal before the quiet end."""
    names = [f"n{i}" for i in range(1, replicas + 1)]
    last = duration - partition.SETTLE - 300
    items, t = [], rng.uniform(0, 1000)
    for _ in range(rng.randint(1, 2)):
        end = min(t + rng.uniform(300, 3000), last)
        if end <= t:
            break
        shuffled = rng.sample(names, replicas)
        cut = rng.randint(1, replicas - 1)
        groups = f"{','.join(shuffled[:cut])}|{','.join(shuffled[cut:])}"
        items.append(f"partition {groups}@{t:.0f}-{end:.0f}")
        t = end + rng.uniform(0, 800)
    if crashes and rng.random() < 0.5:
        node = rng.choice(names)
        down = rng.uniform(0, last - 600)
        items.append(f"crash {node}@{down:.0f}; restart {node}@{down + rng.uniform(50, 500):.0f}")
    return "; ".join(items)


def random_params(seed: int, mode: str, crashes: bool = True) -> dict:
    rng = random.Random(seed)
    replicas = rng.randint(3, 7)
    duration = rng.choice((3000.0, 5000.0, 6000.0))
    return {
        "seed": seed,
        "mode": mode,
        "replicas": replicas,
        "clients": rng.randint(1, 8),
        "duration": duration,
        "keys": rng.choice(("x", "x,y", "a,b,c")),
        "faults": random_schedule(rng, replicas, duration, crashes),
    }


def unreliable(params: dict) -> dict:
    """Give `params` on a network that duplicates and reorders, by amounts drawn from its seed."""
    rng = random.Random(params["seed"] * 31 + 7)
    return dict(
        params,
        duplicate=round(rng.uniform(0.05, 0.5), 2),
        reorder=rng.choice((10.0, 40.0, 60.0, 200.0, 1000.0, 3000.0)),
    )


def assert_cp_properties(params: dict) -> None:
    checks = by_name(run(params))
    assert checks["Linearizable"].ok, (params, checks["Linearizable"].detail)
    assert checks["Convergence"].ok, (params, checks["Convergence"].detail)
    assert checks["Availability"].ok, (params, checks["Availability"].detail)


def assert_ap_properties(params: dict) -> None:
    checks = by_name(run(params))
    assert checks["Convergence"].ok, (params, checks["Convergence"].detail)
    assert checks["Availability"].ok, (params, checks["Availability"].detail)


@pytest.mark.parametrize("seed", range(60))
def test_cp_is_linearizable_available_on_the_majority_and_converges(seed):
    assert_cp_properties(random_params(seed, "cp"))


@pytest.mark.parametrize("seed", range(60))
def test_ap_converges_after_heal(seed):
    assert_ap_properties(random_params(seed, "ap"))


@pytest.mark.parametrize("seed", range(50))
def test_cp_stays_safe_when_messages_are_duplicated_and_reordered(seed):
    assert_cp_properties(unreliable(random_params(seed, "cp")))


@pytest.mark.parametrize("seed", range(30))
def test_ap_still_converges_when_messages_are_duplicated_and_reordered(seed):
    assert_ap_properties(unreliable(random_params(seed, "ap")))


def test_duplicates_and_reordering_reach_the_replicas():
    # The properties above mean something only if copies and late messages were delivered.
    params = unreliable(random_params(3, "cp"))
    messages = run(params | {"duplicate": 0.5, "reorder": 200.0}).messages
    copies = [m for m in messages if "copy_of" in m and m["status"] == "delivered"]
    assert len(copies) > 50
    late = [m for m in messages if m["status"] == "delivered" and m["recv"] - m["sent"] > 100]
    assert len(late) > 50


def test_cp_stays_linearizable_with_message_loss():
    for seed in range(40):
        params = dict(random_params(seed, "cp"), drop=0.2)
        checks = by_name(run(params))
        assert checks["Linearizable"].ok, (params, checks["Linearizable"].detail)


def test_ap_default_params_always_show_a_stale_read():
    for seed in range(200):
        result = run({"mode": "ap", "seed": seed})
        assert stale_reads(result.trace()["history"]), seed
        assert not by_name(result)["Linearizable"].ok, seed
        assert by_name(result)["Availability"].ok, seed
        assert by_name(result)["Convergence"].ok, seed


def test_cp_default_fails_only_on_the_minority_side():
    result = run()
    outcomes = {(e["process"], e["type"]) for e in result.extra["history"] if e["type"] != "invoke"}
    assert ("c1", "fail") in outcomes  # c1 sits with n1, cut off from n2 and n3
    assert not any(kind != "ok" for process, kind in outcomes if process != "c1")
    assert result.ok


@pytest.mark.slow
def test_properties_over_2000_seeds():
    for seed in range(2000):
        assert_cp_properties(random_params(seed, "cp"))
        assert_ap_properties(random_params(seed, "ap"))
        assert_cp_properties(unreliable(random_params(seed, "cp")))


def test_same_params_same_bytes():
    for mode in ("cp", "ap"):
        a = run({"mode": mode, "seed": 7, "clients": 5, "duplicate": 0.2, "reorder": 30})
        run(random_params(5, "ap"))  # nothing may leak from one run into the next
        b = run({"mode": mode, "seed": 7, "clients": 5, "duplicate": 0.2, "reorder": 30})
        assert a.svg == b.svg
        assert a.to_json() == b.to_json()
    assert run({"seed": 7}).svg != run({"seed": 8}).svg


def test_trace_follows_the_contract():
    trace = json.loads(run({"mode": "ap"}).to_json())
    assert trace["demo"] == "partition" and trace["nodes"] == ["n1", "n2", "n3"]
    assert set(trace["final_state"]) == {"n1", "n2", "n3"}
    assert trace["final_state"]["n1"].keys() == {"x", "y"}
    assert trace["partitions"] == [
        {"start": 1500.0, "end": 4500.0, "groups": [["n1"], ["n2", "n3"]]}
    ]
    for entry in trace["history"]:
        assert {"process", "type", "f", "key", "value", "t", "node"} <= entry.keys()
        assert entry["type"] in ("invoke", "ok", "fail", "info")
        assert entry["f"] in ("read", "write")
    homes = {e["process"]: e["node"] for e in trace["history"]}
    assert homes == {"c1": "n1", "c2": "n2", "c3": "n3"}
    times = [e["t"] for e in trace["events"]]
    assert times == sorted(times)
    assert [c["name"] for c in trace["checks"]] == ["Linearizable", "Availability", "Convergence"]


def test_adopt_events_replay_to_the_final_state():
    for params in ({}, {"mode": "ap"}, unreliable(random_params(4, "cp")), random_params(9, "ap")):
        trace = run(params).trace()
        keys = list(trace["final_state"]["n1"])
        state = {n: dict.fromkeys(keys) for n in trace["nodes"]}
        stamps = {n: dict.fromkeys(keys, [0, 0]) for n in trace["nodes"]}
        for e in trace["events"]:
            if e["kind"] == "adopt":
                assert e["stamp"] > stamps[e["node"]][e["key"]], e  # only ever newer
                state[e["node"]][e["key"]] = e["value"]
                stamps[e["node"]][e["key"]] = e["stamp"]
        assert state == trace["final_state"], params


def test_clients_wrap_around_the_replicas():
    assert [partition.home_of(i, 3) for i in range(1, 8)] == [
        "n1",
        "n2",
        "n3",
        "n1",
        "n2",
        "n3",
        "n1",
    ]


def test_written_values_are_unique():
    history = run({"clients": 8, "mode": "ap"}).extra["history"]
    written = [e["value"] for e in history if e["type"] == "invoke" and e["f"] == "write"]
    assert len(written) == len(set(written)) > 10


def test_a_crashed_home_replica_fails_its_clients_ops():
    result = run({"mode": "ap", "faults": "crash n1@1000; restart n1@3000"})
    history = result.extra["history"]
    assert any(e["process"] == "c1" and e["type"] == "fail" for e in history)
    check = by_name(result)["Availability"]
    assert check.ok and "home replica down" in check.detail, check.detail


def test_ap_availability_does_not_count_ops_whose_home_replica_was_down():
    for seed in range(20):
        result = run({"mode": "ap", "seed": seed, "faults": "crash n2@1000; restart n2@3000"})
        check = by_name(result)["Availability"]
        down = re.search(r"home replica down for (\d+) ops? \(counted, not judged\)", check.detail)
        assert check.ok and down and int(down[1]) > 0, (seed, check.detail)


def test_ap_availability_still_fails_an_op_whose_home_replica_was_up():
    trace = run({"mode": "ap", "faults": "crash n2@1000; restart n2@3000"}).trace()
    # c3's home n3 never crashed: its failure is the replica's fault, not a crash's
    next(e for e in trace["history"] if e["process"] == "c3" and e["type"] == "ok")["type"] = "fail"
    check = checks_of(trace)["Availability"]
    assert not check.ok and "c3's" in check.detail and check.node == "n3"


def test_cp_availability_is_not_judged_under_message_loss():
    for seed in range(20):
        check = by_name(run({"seed": seed, "drop": 0.2}))["Availability"]
        assert check.ok, (seed, check.detail)
        assert check.detail.startswith("not judged: message loss can defeat any timeout; ")
        assert re.search(r"\d+ of \d+ ops ok", check.detail)


def test_cp_availability_is_judged_only_while_two_round_trips_fit_the_patience():
    trace = copy.deepcopy(run().trace())
    next(e for e in trace["history"] if e["process"] == "c2" and e["type"] == "ok")["type"] = "fail"
    assert not checks_of(trace)["Availability"].ok
    trace["params"]["drop"] = 0.01
    check = checks_of(trace)["Availability"]
    assert check.ok and check.detail.startswith("not judged")
    # 4 hops of 15 + 60 ms fit the 300 ms a coordinator waits; of 15 + 61 ms they do not
    trace["params"] |= {"drop": 0.0, "reorder": 60.0}
    assert not checks_of(trace)["Availability"].ok
    trace["params"]["reorder"] = 61.0
    check = checks_of(trace)["Availability"]
    assert check.ok and "two round trips of up to 76 ms" in check.detail


def test_long_reordering_makes_cp_unavailable_but_not_wrong():
    result = run({"reorder": 2000.0, "duplicate": 0.3})
    checks = by_name(result)
    assert checks["Linearizable"].ok, checks["Linearizable"].detail
    assert checks["Availability"].ok and checks["Availability"].detail.startswith("not judged")
    assert checks["Convergence"].detail.startswith("not tested: with messages taking up to")
    assert sum(e["type"] == "ok" for e in result.extra["history"]) < 10


# -- each check can fail ------------------------------------------------------------------
def corrupt_and_check(mutate, params: dict | None = None) -> dict:
    trace = copy.deepcopy(run(params).trace())
    mutate(trace)
    return checks_of(trace)


def test_linearizable_fails_on_a_stale_read():
    def stale(trace):
        reads = [
            e
            for e in trace["history"]
            if e["type"] == "ok" and e["f"] == "read" and e["value"] is not None and e["t"] > 1000
        ]
        reads[-1]["value"] = None  # the initial value, long after the first writes

    check = corrupt_and_check(stale)["Linearizable"]
    assert not check.ok and "stale read" in check.detail and check.t is not None


def test_linearizable_fails_on_a_malformed_history():
    check = corrupt_and_check(lambda trace: trace["history"].pop(0))["Linearizable"]
    assert not check.ok and "malformed" in check.detail


def test_availability_fails_when_a_majority_side_op_fails():
    def fail_majority(trace):
        done = next(e for e in trace["history"] if e["process"] == "c2" and e["type"] == "ok")
        done["type"] = "fail"

    check = corrupt_and_check(fail_majority)["Availability"]
    assert not check.ok and "majority was in reach" in check.detail


def test_availability_in_ap_needs_every_op():
    def timeout(trace):
        next(e for e in trace["history"] if e["type"] == "ok")["type"] = "info"

    assert not corrupt_and_check(timeout, {"mode": "ap"})["Availability"].ok


def test_availability_and_convergence_fail_without_the_protocol_timing():
    checks = corrupt_and_check(lambda trace: trace.pop("timing"))
    assert not checks["Availability"].ok and "malformed" in checks["Availability"].detail
    assert not checks["Convergence"].ok and "malformed" in checks["Convergence"].detail


def test_convergence_fails_when_replicas_disagree():
    check = corrupt_and_check(lambda trace: trace["final_state"]["n3"].update(x=-1))
    assert not check["Convergence"].ok and "n3" in check["Convergence"].detail


def test_convergence_is_not_claimed_while_still_partitioned():
    check = by_name(run({"faults": "partition n1|n2,n3@1500-9000"}))["Convergence"]
    assert check.ok and check.detail.startswith("not tested")


def test_convergence_is_not_claimed_when_a_heal_comes_too_late_to_gossip():
    # healed 100 ms before the end: less than a gossip round, so disagreement proves nothing
    check = corrupt_and_check(
        lambda trace: trace["final_state"]["n3"].update(x=-1),
        {"faults": "partition n1|n2,n3@1500-5900"},
    )["Convergence"]
    assert check.ok and "need until" in check.detail


# -- params ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "given, culprit",
    [
        ({"mode": "xx"}, "mode"),
        ({"replicas": 2}, "replicas"),
        ({"replicas": 8}, "replicas"),
        ({"clients": 0}, "clients"),
        ({"clients": 9}, "clients"),
        ({"keys": ""}, "keys"),
        ({"keys": "a,b,c,d,e"}, "keys"),
        ({"keys": "x,x"}, "keys"),
        ({"keys": "1x"}, "keys"),
        ({"faults": "partition n1|n4@100-200"}, "n4"),
        ({"faults": "crash c1@100"}, "c1"),
        ({"colour": "red"}, "colour"),
        ({"reorder": 6000}, "reorder"),
        ({"duplicate": 1.5}, "duplicate"),
    ],
)
def test_bad_params_name_the_culprit(given, culprit):
    with pytest.raises(ParamError, match=culprit):
        run(given)


def test_faults_may_name_more_replicas_when_there_are_more():
    assert run({"replicas": 5, "faults": "partition n1,n2|n3,n4,n5@1000-3000"}).ok


# -- the figure: the panel shows the trace's state at every moment --------------------------
def visible(svg: str, t: float) -> dict:
    """Give what the figure's panel shows at `t`: roles and values per replica, and each
    client's op, read from the stretches that show then."""
    root = ElementTree.fromstring(svg)
    parent = {child: el for el in root.iter() for child in el}
    shown: dict = {"roles": roles_at(svg, t), "values": {}, "pending": {}}
    for g in root.iter(f"{SVG}g"):
        if "dm-state" not in g.get("class", "").split() or not shown_at(g, t):
            continue
        if any(el.get("data-role") for el in g.iter()):
            continue  # a role mark: roles_at has it
        owner = g if g.get("data-node") else parent[g]  # a row holds a node's or client's
        if owner.get("data-node"):
            shown["values"].setdefault(owner.get("data-node"), []).extend(texts(g))
        else:
            shown["pending"].setdefault(owner.get("data-process"), []).extend(texts(g))
    return shown


def expected(trace: dict, t: float) -> dict:
    """Give the state at `t` straight from the trace: who is down, which side can reach a
    majority, what each replica last adopted, which op each client awaits."""
    down = {n: False for n in trace["nodes"]}
    values = {n: dict.fromkeys(trace["final_state"][n]) for n in trace["nodes"]}
    for e in trace["events"]:
        if e["t"] > t:
            break
        if e["kind"] in ("crash", "restart"):
            down[e["node"]] = e["kind"] == "crash"
        elif e["kind"] == "adopt":
            values[e["node"]][e["key"]] = e["value"]
    group = {n: trace["nodes"] for n in trace["nodes"]}
    for p in trace["partitions"]:
        if p["start"] <= t < p["end"]:
            group = {n: g for g in p["groups"] for n in g}
    half = len(trace["nodes"]) / 2
    roles = {
        n: ["down"]
        if down[n]
        else ["majority"]
        if sum(not down[m] for m in group[n]) > half
        else ["minority"]
        for n in trace["nodes"]
    }
    pending = {}
    for e in trace["history"]:
        if e["t"] <= t:
            what = (
                f"write {e['key']}:={'∅' if e['value'] is None else e['value']}"
                if e["f"] == "write"
                else f"read {e['key']}"
            )
            pending[e["process"]] = [what] if e["type"] == "invoke" else []
    shown = {
        n: sorted(f"{k}={'∅' if v is None else v}" for k, v in kv.items())
        for n, kv in values.items()
    }
    return {"roles": roles, "values": shown, "pending": pending}


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"mode": "ap", "faults": "crash n2@800; restart n2@2600; partition n1|n2,n3@3000-4000"},
        unreliable(random_params(11, "cp")),
        random_params(12, "ap"),
        random_params(13, "cp") | {"drop": 0.1},
        random_params(14, "ap")
        | {
            "replicas": 7,
            "clients": 8,
            "keys": "a,b,c,d",
            "faults": "partition n1,n2,n3|n4,n5,n6,n7@500-2000; crash n5@2100",
        },
    ],
)
def test_the_panel_shows_the_trace_state_at_random_moments(params):
    result = run(params)
    trace = result.trace()
    rng = random.Random(json.dumps(params, sort_keys=True))
    waiting = 0
    for t in sorted(rng.uniform(0, trace["duration"]) for _ in range(20)):
        shown, truth = visible(result.svg, t), expected(trace, t)
        assert shown["roles"] == truth["roles"], t  # exactly one role mark per replica
        assert {n: sorted(v) for n, v in shown["values"].items()} == truth["values"], t
        assert {c: shown["pending"].get(c, []) for c in truth["pending"]} == truth["pending"], t
        waiting += sum(map(len, truth["pending"].values()))
    # ap answers within 2 ms, so only cp is sure to be caught with an op in flight
    assert waiting or result.params["mode"] == "ap"


def test_the_panel_has_one_role_per_replica_at_every_change():
    result = run(
        {
            "seed": 3,
            "replicas": 5,
            "faults": "crash n1@800; restart n1@2000; "
            "partition n1,n2|n3,n4,n5@2500-4000; crash n4@3000",
        }
    )
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
    # n4's crash leaves n3 and n5 two of five: no side reaches a majority
    assert roles_at(result.svg, 3500) == {
        "n1": ["minority"],
        "n2": ["minority"],
        "n3": ["minority"],
        "n4": ["down"],
        "n5": ["minority"],
    }
    assert roles_at(result.svg, 2800)["n3"] == ["majority"]


def test_the_static_figure_shows_the_end_of_the_run():
    result = run()
    root = ElementTree.fromstring(result.svg)
    on = [g for g in root.iter(f"{SVG}g") if (g.get("class") or "") == "dm-state"]
    assert all(g.get("data-until") is None for g in on)
    texts = ["".join(t.text or "" for t in g.iter(f"{SVG}text")) for g in on]
    final = result.extra["final_state"]["n1"]
    assert texts.count(f"x={final['x']}") == 3 and texts.count(f"y={final['y']}") == 3


def test_the_panel_says_what_changes():
    svg = run().svg
    assert 'data-say="n1 is cut off"' in svg and 'data-say="n1 is in a majority"' in svg
    assert re.search(r'data-say="n2 holds x=\d+"', svg)
    assert re.search(r'data-say="c1 asks: write x:=\d+"', svg)
    assert 'data-role="down"' in run({"faults": "crash n3@100; restart n3@900"}).svg


def test_svg_is_within_budget_and_marks_stale_reads():
    cp = run().svg
    ap = run({"mode": "ap"}).svg
    assert len(cp.encode()) < 30_000 and len(ap.encode()) < 37_000
    assert "dm-violation" in ap and 'data-check="Linearizable"' in ap
    assert 'data-check="Linearizable"' not in cp
    assert 'data-node="n1"' in cp and "data-t=" in cp and "<title>" in ap
    assert "<script" not in cp and not re.search(r"\son\w+=", cp + ap)
    assert 'data-node="c1"' not in cp  # a client is no node the reader may crash


def test_golden_svg():
    svg = run().svg
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(svg, encoding="utf-8")
    assert GOLDEN.exists(), "run with UPDATE_GOLDEN=1 to create the golden file"
    assert svg == GOLDEN.read_text(encoding="utf-8")


def test_svg_marks_where_a_failing_check_points():
    trace = copy.deepcopy(run().trace())
    trace["final_state"]["n2"]["y"] = -1
    failed = next(e for e in trace["history"] if e["process"] == "c3" and e["type"] == "ok")
    failed["type"] = "fail"
    checks = list(checks_of(trace).values())
    svg = draw(trace, checks, partition.summarize(trace, checks))
    assert 'data-check="Convergence"' in svg and 'data-check="Availability"' in svg


# -- the ABD rules, driven by hand through a fake network (tests/fakes.py) -----------------
class FakeClient:
    """Stands in for a client: records the answers its replica gives."""

    def __init__(self, name: str = "c1") -> None:
        self.name = name
        self.answers: list[tuple[int, str, object]] = []

    def answer(self, token, kind, value, error=None):
        self.answers.append((token, kind, value))


def coordinator(sim, replicas: int = 5) -> Replica:
    names = [f"n{i}" for i in range(1, replicas + 1)]
    return Replica("n1", sim, 1, names[1:], "cp", ["x"])


def test_a_duplicated_reply_or_ack_counts_once(sim):
    n1, client = coordinator(sim), FakeClient()
    n1.request(client, 1, "write", "x", 7)
    op = next(msg.op for _, _, msg in sim.take_all(Query))
    n1.deliver(Reply(op, "x", ZERO, None), "n2", 0)
    n1.deliver(Reply(op, "x", ZERO, None), "n2", 1)  # a copy: n1 and n2 are not 3 of 5
    assert sim.take_all(Store) == []
    n1.deliver(Reply(op, "x", ZERO, None), "n3", 2)
    stores = sim.take_all(Store)
    assert {dst for _, dst, _ in stores} == {"n2", "n3", "n4", "n5"}
    assert stores[0][2] == Store(op, "x", (1, 1), 7)
    n1.deliver(Ack(op), "n4", 3)
    n1.deliver(Ack(op), "n4", 4)  # a copy again
    sim.advance(sim.now + partition.CLIENT_LINK)
    assert client.answers == []
    n1.deliver(Ack(op), "n5", 5)
    sim.advance(sim.now + partition.CLIENT_LINK)
    assert client.answers == [(1, "ok", 7)]


def test_a_late_reply_or_ack_changes_nothing(sim):
    n1, first, second = coordinator(sim, 3), FakeClient("c1"), FakeClient("c4")
    n1.request(first, 1, "read", "x", None)
    old = next(msg.op for _, _, msg in sim.take_all(Query))
    n1.deliver(Reply(old, "x", ZERO, None), "n2", 0)  # a majority agrees: answered at once
    sim.advance(sim.now + partition.CLIENT_LINK)
    assert first.answers == [(1, "ok", None)]
    n1.request(second, 1, "write", "x", 9)
    new = next(msg.op for _, _, msg in sim.take_all(Query))
    assert new != old
    # the first op's stragglers, with a value nobody holds, must not count for the second
    n1.deliver(Reply(old, "x", (5, 3), 99), "n3", 1)
    n1.deliver(Ack(old), "n3", 2)
    assert sim.take_all(Store) == [] and n1.store["x"] == (ZERO, None)
    n1.deliver(Reply(new, "x", ZERO, None), "n2", 3)
    assert {dst for _, dst, _ in sim.take_all(Store)} == {"n2", "n3"}
    n1.deliver(Reply(new, "x", (5, 3), 99), "n3", 4)  # a late reply once storing: ignored
    assert n1.pending[new].stamp == (1, 1) and sim.take_all(Store) == []
    assert first.answers == [(1, "ok", None)] and second.answers == []


def test_a_late_store_never_replaces_a_newer_value(sim):
    n2 = Replica("n2", sim, 2, ["n1", "n3"], "cp", ["x"])
    n2.deliver(Store(4, "x", (3, 1), 30), "n1", 0)
    n2.deliver(Store(2, "x", (2, 3), 20), "n3", 1)  # older, arriving later
    n2.deliver(Store(4, "x", (3, 1), 30), "n1", 2)  # a copy
    assert n2.store["x"] == ((3, 1), 30)
    assert [(src, dst, msg) for src, dst, msg in sim.take_all(Ack)] == [
        ("n2", "n1", Ack(4)),
        ("n2", "n3", Ack(2)),
        ("n2", "n1", Ack(4)),
    ]  # each is acked
    assert [e["value"] for e in sim.kinds("adopt")] == [30]


# -- the ABD rules in a small real cluster (no gossip: on_start is never called) -------------
def three_replicas(seed: int = 1):
    from demos.sim import Simulation

    sim = Simulation(seed, latency=(5.0, 15.0))
    names = ["n1", "n2", "n3"]
    nodes = [
        sim.add(Replica(n, sim, i + 1, [p for p in names if p != n], "cp", ["x"]))
        for i, n in enumerate(names)
    ]
    return sim, nodes


def test_a_read_writes_the_newest_value_back_to_a_majority():
    sim, (n1, n2, n3) = three_replicas()
    n1.store["x"] = ((2, 1), 20)  # a write that reached only its coordinator
    n2.store["x"] = n3.store["x"] = ((1, 2), 10)
    client = FakeClient()
    n1.request(client, 1, "read", "x", None)
    sim.run_until(200)
    assert client.answers == [(1, "ok", 20)]
    # any later majority must meet the value this read returned
    assert [n.store["x"][1] for n in (n2, n3)].count(20) >= 1
    stores = [m for m in sim.trace.messages if m.kind == "Store"]
    assert stores, "the read should have written back"


def test_a_read_skips_the_write_back_when_a_majority_agrees():
    sim, (n1, n2, n3) = three_replicas()
    for node in (n1, n2, n3):
        node.store["x"] = ((1, 2), 10)
    client = FakeClient()
    n1.request(client, 1, "read", "x", None)
    sim.run_until(200)
    assert client.answers == [(1, "ok", 10)]
    assert not [m for m in sim.trace.messages if m.kind == "Store"]


def test_two_writes_through_one_coordinator_get_distinct_stamps():
    for seed in range(20):
        sim, (n1, n2, n3) = three_replicas(seed)
        first, second = FakeClient("c1"), FakeClient("c4")
        n1.request(first, 1, "write", "x", 1)
        n1.request(second, 1, "write", "x", 2)
        sim.run_until(200)
        assert first.answers and second.answers
        stamps = {n.store["x"] for n in (n1, n2, n3)}
        assert len(stamps) == 1, (seed, stamps)  # no two values under one stamp


def test_a_coordinator_without_a_majority_fails_before_storing_anything():
    sim, (n1, n2, n3) = three_replicas()
    sim.partition((("n1",), ("n2", "n3")), end=10_000)
    client = FakeClient()
    n1.request(client, 1, "write", "x", 5)
    sim.run_until(1000)
    assert client.answers == [(1, "fail", None)]
    assert n1.store["x"] == (partition.ZERO, None)
