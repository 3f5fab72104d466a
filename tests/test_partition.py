"""The partition demo: CP stays linearizable, AP stays available, both converge after a heal."""

from __future__ import annotations

import copy
import json
import os
import random
import re
from pathlib import Path

import pytest

from demos import ParamError, partition
from demos.linearizability import stale_reads

GOLDEN = Path(__file__).parent / "golden" / "partition-default.svg"


def random_schedule(rng: random.Random, replicas: int, duration: float,
                    crashes: bool) -> str:
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
    return {"seed": seed, "mode": mode, "replicas": replicas, "clients": rng.randint(1, 8),
            "duration": duration, "keys": rng.choice(("x", "x,y", "a,b,c")),
            "faults": random_schedule(rng, replicas, duration, crashes)}


def by_name(result) -> dict:
    return {c.name: c for c in result.checks}


def assert_cp_properties(seed: int) -> None:
    params = random_params(seed, "cp")
    checks = by_name(partition.run(params))
    assert checks["Linearizable"].ok, (params, checks["Linearizable"].detail)
    assert checks["Convergence"].ok, (params, checks["Convergence"].detail)
    assert checks["Availability"].ok, (params, checks["Availability"].detail)


def assert_ap_properties(seed: int) -> None:
    params = random_params(seed, "ap")
    checks = by_name(partition.run(params))
    assert checks["Convergence"].ok, (params, checks["Convergence"].detail)
    assert checks["Availability"].ok, (params, checks["Availability"].detail)


@pytest.mark.parametrize("seed", range(200))
def test_cp_is_linearizable_available_on_the_majority_and_converges(seed):
    assert_cp_properties(seed)


@pytest.mark.parametrize("seed", range(200))
def test_ap_converges_after_heal(seed):
    assert_ap_properties(seed)


def test_cp_stays_linearizable_with_message_loss():
    for seed in range(40):
        params = dict(random_params(seed, "cp"), drop=0.2)
        checks = by_name(partition.run(params))
        assert checks["Linearizable"].ok, (params, checks["Linearizable"].detail)


def test_ap_default_params_always_show_a_stale_read():
    for seed in range(200):
        result = partition.run({"mode": "ap", "seed": seed})
        assert stale_reads(result.trace()["history"]), seed
        assert not by_name(result)["Linearizable"].ok, seed
        assert by_name(result)["Availability"].ok, seed
        assert by_name(result)["Convergence"].ok, seed


def test_cp_default_fails_only_on_the_minority_side():
    trace = partition.run({}).trace()
    outcomes = {(e["process"], e["type"]) for e in trace["history"] if e["type"] != "invoke"}
    assert ("c1", "fail") in outcomes  # c1 sits with n1, cut off from n2 and n3
    assert not any(kind != "ok" for process, kind in outcomes if process != "c1")
    assert all(c.ok for c in partition.run({}).checks)


@pytest.mark.slow
def test_properties_over_2000_seeds():
    for seed in range(2000):
        assert_cp_properties(seed)
        assert_ap_properties(seed)


def test_same_params_same_bytes():
    for mode in ("cp", "ap"):
        a = partition.run({"mode": mode, "seed": 7, "clients": 5})
        b = partition.run({"mode": mode, "seed": 7, "clients": 5})
        assert a.svg == b.svg
        assert a.to_json() == b.to_json()
    assert partition.run({"seed": 7}).svg != partition.run({"seed": 8}).svg


def test_trace_follows_the_contract():
    trace = json.loads(partition.run({"mode": "ap"}).to_json())
    assert trace["demo"] == "partition" and trace["nodes"] == ["n1", "n2", "n3"]
    assert set(trace["final_state"]) == {"n1", "n2", "n3"}
    assert trace["final_state"]["n1"].keys() == {"x", "y"}
    assert trace["partitions"] == [{"start": 1500.0, "end": 4500.0,
                                    "groups": [["n1"], ["n2", "n3"]]}]
    for entry in trace["history"]:
        assert {"process", "type", "f", "key", "value", "t", "node"} <= entry.keys()
        assert entry["type"] in ("invoke", "ok", "fail", "info")
        assert entry["f"] in ("read", "write")
    homes = {e["process"]: e["node"] for e in trace["history"]}
    assert homes == {"c1": "n1", "c2": "n2", "c3": "n3"}
    times = [e["t"] for e in trace["events"]]
    assert times == sorted(times)


def test_clients_wrap_around_the_replicas():
    assert [partition.home_of(i, 3) for i in range(1, 8)] == \
        ["n1", "n2", "n3", "n1", "n2", "n3", "n1"]


def test_written_values_are_unique():
    history = partition.run({"clients": 8, "mode": "ap"}).trace()["history"]
    written = [e["value"] for e in history if e["type"] == "invoke" and e["f"] == "write"]
    assert len(written) == len(set(written)) > 10


def test_a_crashed_home_replica_fails_its_clients_ops():
    result = partition.run({"mode": "ap", "faults": "crash n1@1000; restart n1@3000"})
    history = result.trace()["history"]
    assert any(e["process"] == "c1" and e["type"] == "fail" for e in history)
    check = by_name(result)["Availability"]
    assert check.ok and "home replica down" in check.detail, check.detail


def test_ap_availability_does_not_count_ops_whose_home_replica_was_down():
    for seed in range(20):
        result = partition.run({"mode": "ap", "seed": seed,
                                "faults": "crash n2@1000; restart n2@3000"})
        check = by_name(result)["Availability"]
        down = re.search(r"home replica down for (\d+) ops? \(counted, not judged\)", check.detail)
        assert check.ok and down and int(down[1]) > 0, (seed, check.detail)


def test_ap_availability_still_fails_an_op_whose_home_replica_was_up():
    trace = copy.deepcopy(partition.run({"mode": "ap", "faults": "crash n2@1000; "
                                         "restart n2@3000"}).trace())
    # c3's home n3 never crashed: its failure is the replica's fault, not a crash's
    next(e for e in trace["history"] if e["process"] == "c3" and e["type"] == "ok")["type"] \
        = "fail"
    check = {c.name: c for c in partition.checks(trace)}["Availability"]
    assert not check.ok and "c3's" in check.detail and check.node == "n3"


def test_cp_availability_is_not_judged_under_message_loss():
    for seed in range(20):
        result = partition.run({"seed": seed, "drop": 0.2})
        check = by_name(result)["Availability"]
        assert check.ok, (seed, check.detail)
        assert check.detail.startswith("not judged: message loss can defeat any timeout; ")
        assert re.search(r"\d+ of \d+ ops ok", check.detail)


def test_cp_availability_without_loss_is_still_judged():
    trace = copy.deepcopy(partition.run({}).trace())
    next(e for e in trace["history"] if e["process"] == "c2" and e["type"] == "ok")["type"] \
        = "fail"
    check = {c.name: c for c in partition.checks(trace)}["Availability"]
    assert not check.ok
    trace["params"]["drop"] = 0.01
    check = {c.name: c for c in partition.checks(trace)}["Availability"]
    assert check.ok and check.detail.startswith("not judged")


# -- each check can fail ------------------------------------------------------------------
def corrupt_and_check(mutate) -> dict:
    trace = copy.deepcopy(partition.run({}).trace())
    mutate(trace)
    return {c.name: c for c in partition.checks(trace)}


def test_linearizable_fails_on_a_stale_read():
    def stale(trace):
        reads = [e for e in trace["history"] if e["type"] == "ok" and e["f"] == "read"
                 and e["value"] is not None and e["t"] > 1000]
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
    trace = copy.deepcopy(partition.run({"mode": "ap"}).trace())
    next(e for e in trace["history"] if e["type"] == "ok")["type"] = "info"
    check = {c.name: c for c in partition.checks(trace)}["Availability"]
    assert not check.ok


def test_convergence_fails_when_replicas_disagree():
    check = corrupt_and_check(lambda trace: trace["final_state"]["n3"].update(x=-1))
    assert not check["Convergence"].ok and "n3" in check["Convergence"].detail


def test_convergence_is_not_claimed_while_still_partitioned():
    result = partition.run({"faults": "partition n1|n2,n3@1500-9000"})
    check = by_name(result)["Convergence"]
    assert check.ok and check.detail.startswith("not tested")


# -- params ------------------------------------------------------------------------------
@pytest.mark.parametrize("given, culprit", [
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
])
def test_bad_params_name_the_culprit(given, culprit):
    with pytest.raises(ParamError, match=culprit):
        partition.run(given)


def test_faults_may_name_more_replicas_when_there_are_more():
    result = partition.run({"replicas": 5, "faults": "partition n1,n2|n3,n4,n5@1000-3000"})
    assert all(c.ok for c in result.checks)


# -- the diagram ----------------------------------------------------------------------------
def test_svg_is_within_budget_and_marks_stale_reads():
    cp = partition.run({}).svg
    ap = partition.run({"mode": "ap"}).svg
    assert len(cp.encode()) < 30_000 and len(ap.encode()) < 30_000
    assert "dm-violation" in ap and 'data-check="Linearizable"' in ap
    assert 'data-check="Linearizable"' not in cp
    assert 'data-node="n1"' in cp and "data-t=" in cp and "<title>" in cp
    assert "<script" not in cp and not re.search(r"\son\w+=", cp + ap)


def test_golden_svg():
    svg = partition.run({}).svg
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(svg, encoding="utf-8")
    assert GOLDEN.exists(), "run with UPDATE_GOLDEN=1 to create the golden file"
    assert svg == GOLDEN.read_text(encoding="utf-8")


def test_svg_marks_where_a_failing_check_points():
    from demos.partition_draw import draw

    trace = copy.deepcopy(partition.run({}).trace())
    trace["final_state"]["n2"]["y"] = -1
    failed = next(e for e in trace["history"] if e["process"] == "c3" and e["type"] == "ok")
    failed["type"] = "fail"
    svg = draw(trace, partition.checks(trace))
    assert 'data-check="Convergence"' in svg and 'data-check="Availability"' in svg


# -- the ABD rules, driven directly (no gossip: on_start is never called) ---------------------
class FakeClient:
    """Stands in for a client: records the answers its replica gives."""

    def __init__(self, name: str = "c1") -> None:
        self.name = name
        self.answers: list[tuple[int, str, object]] = []

    def answer(self, token, kind, value, error=None):
        self.answers.append((token, kind, value))


def three_replicas(seed: int = 1):
    from demos.sim import Simulation

    sim = Simulation(seed, latency=(5.0, 15.0))
    names = ["n1", "n2", "n3"]
    nodes = [sim.add(partition.Replica(n, sim, i + 1, [p for p in names if p != n], "cp",
                                       ["x"]))
             for i, n in enumerate(names)]
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
