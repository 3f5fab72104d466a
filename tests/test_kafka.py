"""The kafka demo: node rules through a fake network, the guarantees of each commit mode as
properties over many seeds, checks that can fail, the contracts (params, CLI, trace, SVG),
the state panel against the trace, a golden figure."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

import demos
from demos import ParamError, kafka, search
from demos.kafka import (
    Assign,
    Commit,
    CommitAck,
    Fetch,
    Heartbeat,
    Produce,
    ProduceAck,
    Records,
)
from demos.kafka_draw import say
from demos.queries import down_intervals

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden" / "kafka-default.svg"


def config(commit: str = "after", partitions: int = 2, records: int = 1) -> kafka.Config:
    return kafka.Config(partitions, records, commit, 100.0, 1000.0)


def trace_of(given: dict) -> dict:
    return demos.run("kafka", given).trace()


# -- node rules ------------------------------------------------------------------------


def test_keys_pick_partitions_by_hash_and_the_range_assignor_splits_them():
    assert kafka.partition_of("bob", 3) == kafka.partition_of("bob", 3) == 2
    assert {kafka.partition_of(k, 1) for k in kafka.KEYS} == {0}
    assert kafka.range_assign(["n4", "n3"], 5) == {"n3": [0, 1, 2], "n4": [3, 4]}
    assert kafka.range_assign(["n3", "n4", "n5"], 2) == {"n3": [0], "n4": [1], "n5": []}


def test_producer_resends_until_acked_and_its_outbox_survives_a_crash(sim):
    producer = kafka.Producer("n2", sim, config(records=1))
    producer.on_start()
    sim.advance(100.0)
    sent = sim.take("n2", "n1", Produce)
    assert sent.seq == 0 and sent.partition == kafka.partition_of(sent.key, 2)
    sim.advance(100.0 + kafka.RETRY)
    assert sim.take("n2", "n1", Produce) == sent
    producer.crash()
    sim.advance(1000.0)
    producer.restart()
    assert sim.take("n2", "n1", Produce) == sent
    producer.on_ProduceAck(ProduceAck(sent.partition, 0, 0), "n1", 0)
    sim.advance(5000.0)
    assert [e["key"] for e in sim.kinds("send")] == [sent.key]  # one record, never a second


def test_broker_appends_in_sequence_and_acks_a_repeat_with_its_offset(sim):
    broker = kafka.Broker("n1", sim, config())
    broker.on_start()  # the only broker: it leads every partition
    broker.on_Produce(Produce(0, 1, "bob"), "n2", 0)  # a gap: seq 0 is missing
    assert broker.logs[0] == []
    broker.on_Produce(Produce(0, 0, "erin"), "n2", 0)
    sim.take("n1", "n2", ProduceAck(0, 0, 0))
    broker.on_Produce(Produce(0, 0, "erin"), "n2", 0)  # a retry of a written record
    sim.take("n1", "n2", ProduceAck(0, 0, 0))
    broker.on_Produce(Produce(0, 1, "bob"), "n2", 0)
    sim.take("n1", "n2", ProduceAck(0, 1, 1))
    assert broker.logs[0] == [("erin", 0, 0), ("bob", 1, 0)]  # (key, seq, leader epoch)
    assert [(e["offset"], e["key"]) for e in sim.kinds("produce")] == [(0, "erin"), (1, "bob")]
    broker.on_Fetch(Fetch(0, 1), "n3", 0)
    sim.take("n1", "n3", Records(0, 1, ("bob",), (1,)))
    broker.on_Fetch(Fetch(0, 2), "n3", 0)
    sim.take("n1", "n3", Records(0, 2, ()))


def test_coordinator_rebalances_on_join_and_on_silence_and_fences_commits(sim):
    broker = kafka.Controller("n1", sim, config(partitions=3))
    broker.on_start()
    broker.on_Heartbeat(Heartbeat(0), "n3", 0)
    broker.on_Heartbeat(Heartbeat(0), "n4", 0)
    sim.advance(kafka.JOIN_DELAY)  # both joins gathered into one rebalance
    sim.take("n1", "n3", Assign(1, (0, 1), (0, 0)))
    sim.take("n1", "n4", Assign(1, (2,), (0,)))
    broker.on_Commit(Commit(1, 2, 4), "n3", 0)  # n3 does not own p2
    sim.take("n1", "n3", CommitAck(2, 4, False))
    broker.on_Commit(Commit(1, 2, 4), "n4", 0)
    sim.take("n1", "n4", CommitAck(2, 4, True))
    broker.on_Commit(Commit(1, 2, 3), "n4", 0)  # an older commit, late: never moves back
    sim.take("n1", "n4", CommitAck(2, 3, True))
    assert broker.committed == [0, 0, 4]
    # n4 falls silent; n3 keeps heartbeating.
    for t in range(1, 8):
        sim.advance(100.0 + t * 100.0)
        broker.on_Heartbeat(Heartbeat(1), "n3", 0)
    sim.advance(1500.0)
    sim.take("n1", "n3", Assign(2, (0, 1, 2), (0, 0, 4)))
    broker.on_Commit(Commit(1, 2, 6), "n4", 0)  # the zombie's commit, generation 1
    sim.take("n1", "n4", CommitAck(2, 6, False))
    assert broker.committed == [0, 0, 4]
    assert [e["assignment"] for e in sim.kinds("rebalance")] == [
        {"n3": [0, 1], "n4": [2]},
        {"n3": [0, 1, 2]},
    ]
    broker.crash()
    broker.restart()  # generation, assignment and commits are durable
    broker.on_Heartbeat(Heartbeat(1), "n3", 0)
    sim.take("n1", "n3", Assign(2, (0, 1, 2), (0, 0, 4)))
    assert broker.generation == 2 and broker.committed == [0, 0, 4]


def start_consumer(sim, commit: str) -> kafka.Consumer:
    consumer = kafka.Consumer("n3", sim, config(commit))
    consumer.on_start()
    sim.take("n3", "n1", Heartbeat(0))
    consumer.on_Assign(Assign(1, (0,), (3,)), "n1", 0)
    sim.take("n3", "n1", Fetch(0, 3))
    return consumer


def test_after_mode_processes_in_order_then_commits_on_the_timer(sim):
    consumer = start_consumer(sim, "after")
    consumer.on_Records(Records(0, 3, ("bob", "erin")), "n1", 0)
    consumer.on_Records(Records(0, 3, ("bob", "erin")), "n1", 0)  # the network's copy
    sim.advance(2 * kafka.WORK)
    assert [(e["offset"], e["key"]) for e in sim.kinds("process")] == [(3, "bob"), (4, "erin")]
    sim.take("n3", "n1", Fetch(0, 5))
    sim.advance(kafka.AUTO_COMMIT)
    sim.take_all(Heartbeat)
    refetches = sim.take_all(Fetch)  # the unanswered fetch, sent again every RETRY ms
    assert {m for _, _, m in refetches} == {Fetch(0, 5)} and len(refetches) >= 3
    sim.take("n3", "n1", Commit(1, 0, 5))
    consumer.on_CommitAck(CommitAck(0, 5, True), "n1", 0)
    consumer.on_CommitAck(CommitAck(0, 5, True), "n1", 0)  # the network's copy
    assert [(e["partition"], e["offset"]) for e in sim.kinds("commit_ack")] == [(0, 5)]
    sim.advance(3 * kafka.AUTO_COMMIT)  # nothing new processed: nothing to commit
    sim.take_all(Heartbeat)
    assert {m for _, _, m in sim.take_all(Fetch)} == {Fetch(0, 5)}
    consumer.crash()


def test_after_mode_crash_repeats_what_was_not_committed(sim):
    consumer = start_consumer(sim, "after")
    consumer.on_Records(Records(0, 3, ("bob",)), "n1", 0)
    sim.advance(kafka.WORK)
    sim.take("n3", "n1", Fetch(0, 4))
    consumer.crash()  # processed offset 3, committed nothing
    consumer.restart()
    sim.take("n3", "n1", Heartbeat(0))
    consumer.on_Assign(Assign(2, (0,), (3,)), "n1", 0)
    sim.take("n3", "n1", Fetch(0, 3))  # from the commit: offset 3 again
    consumer.crash()


def test_before_mode_waits_for_the_commit_and_a_crash_loses_the_batch(sim):
    consumer = start_consumer(sim, "before")
    consumer.on_Records(Records(0, 3, ("bob", "erin")), "n1", 0)
    sim.take("n3", "n1", Commit(1, 0, 5))
    sim.advance(kafka.WORK)
    assert not sim.kinds("process")  # no work before the commit is acked
    consumer.on_CommitAck(CommitAck(0, 5, False), "n1", 0)  # fenced: still nothing
    sim.advance(kafka.RETRY)
    sim.take_all(Heartbeat)
    sim.take("n3", "n1", Commit(1, 0, 5))
    consumer.on_CommitAck(CommitAck(0, 5, True), "n1", 0)
    sim.advance(kafka.RETRY + kafka.WORK)
    assert [e["offset"] for e in sim.kinds("process")] == [3]
    consumer.crash()  # offset 4 is committed and never processed: lost
    sim.take_all(Heartbeat)
    sim.advance(5000.0)
    assert [e["offset"] for e in sim.kinds("process")] == [3]


def test_a_missed_generation_drops_positions_a_consecutive_one_keeps_them(sim):
    consumer = start_consumer(sim, "after")
    consumer.on_Records(Records(0, 3, ("bob",)), "n1", 0)
    sim.advance(kafka.WORK)
    sim.take("n3", "n1", Fetch(0, 4))
    consumer.on_Assign(Assign(2, (0, 1), (3, 0)), "n1", 0)  # keeps p0 at 4, adds p1
    sim.take("n3", "n1", Fetch(1, 0))
    assert consumer.position == {0: 4, 1: 0}
    consumer.on_Assign(Assign(1, (0,), (0,)), "n1", 0)  # an old one, late: ignored
    consumer.on_Assign(Assign(4, (0,), (6,)), "n1", 0)  # p0 may have moved in generation 3
    sim.take("n3", "n1", Fetch(0, 6))
    assert consumer.position == {0: 6}
    assert [e["start"] for e in sim.kinds("assign")] == [{"0": 3}, {"1": 0}, {"0": 6}]
    sim.take_all(Heartbeat)
    consumer.crash()


# -- properties over many seeds ---------------------------------------------------------


def _random_params(rng: random.Random, i: int) -> dict:
    consumers = rng.randint(1, 5)
    nodes = kafka.node_names({"consumers": consumers})
    return {
        "seed": i,
        "commit": rng.choice(kafka.COMMITS),
        "consumers": consumers,
        "partitions": rng.randint(1, 6),
        "records": rng.randint(1, 40),
        "faults": search.random_schedule(rng, nodes, 5000.0),
        "drop": rng.choice((0.0, 0.05, 0.2)),
        "duplicate": rng.choice((0.0, 0.1, 0.3)),
        "reorder": rng.choice((0.0, 20.0, 100.0, 400.0)),
    }


def _guarantees_hold(runs: int, seed: int) -> None:
    rng = random.Random(seed)
    for i in range(runs):
        given = _random_params(rng, i)
        result = demos.run("kafka", given)
        skipped = kafka.NOT_GUARANTEED(result.params)
        for fn, check in zip(kafka.CHECKS, result.checks, strict=True):
            if fn.__name__ not in skipped:
                assert check.ok, (given, check.name, check.detail)


def test_guarantees_over_120_seeded_fault_schedules():
    _guarantees_hold(120, seed=1)


@pytest.mark.slow
def test_guarantees_over_3000_seeded_fault_schedules():
    _guarantees_hold(3000, seed=2)


def test_after_mode_processes_everything_in_a_quiet_run_with_time_enough():
    rng, judged = random.Random(5), 0
    for i in range(60):
        given = {"seed": i, "faults": "", "duplicate": rng.choice((0.0, 0.3)),
                 "consumers": rng.randint(1, 6), "partitions": rng.randint(1, 8),
                 "records": rng.randint(1, 80), "duration": rng.choice((2e3, 5e3, 9e3)),
                 }  # fmt: skip
        result = demos.run("kafka", given)
        if "check_all_processed" not in kafka.NOT_GUARANTEED(result.params):
            judged += 1
            assert all(c.ok for c in result.checks[:3]), (given, result.checks)
    assert judged >= 30
    assert kafka.has_time({"duration": 5000, "records": 24})
    assert not kafka.has_time({"duration": 5000, "records": 80})


def test_commit_before_with_a_consumer_crash_loses_a_record_for_some_seed():
    lost = [s for s in range(1, 21)
            if not kafka.check_no_loss(trace_of({"seed": s, "commit": "before"})).ok]  # fmt: skip
    assert lost, "no seed in 1..20 lost a record with commit before and n4 crashing"
    result = demos.run("kafka", {"seed": lost[0], "commit": "before"})
    assert result.checks[0].node in ("n3", "n4", "n5")
    assert re.search(r", [1-9]\d* lost;", result.summary)
    assert 'class="dm-bad"' in result.svg  # the lost record's cell in the log


def test_commit_after_repeats_records_after_the_rebalance_and_shows_them():
    result = demos.run("kafka", {})
    repeats = kafka.duplicates(result.trace())
    crash = next(e["t"] for e in result.doc["events"] if e["kind"] == "crash")
    assert repeats and all(e["t"] > crash for e in repeats)
    assert f"({len(repeats)} repeats)" in result.summary
    amber = re.findall(r'<circle class="dm-warn"[^>]* data-t="', result.svg)
    assert len(amber) == len(repeats)  # one amber dot per repeat on the timeline
    assert result.checks[3].name == "No duplicates" and not result.checks[3].ok


def test_not_guaranteed_names_what_each_mode_gives_up():
    base = {"faults": "", "drop": 0.0, "reorder": 0.0, "duration": 5000.0, "records": 24}
    assert kafka.NOT_GUARANTEED(base | {"commit": "before"}) == (
        "check_no_loss",
        "check_all_processed",
    )
    assert kafka.NOT_GUARANTEED(base | {"commit": "after"}) == ("check_no_duplicates",)
    assert "check_all_processed" in kafka.NOT_GUARANTEED(base | {"commit": "after", "drop": 0.1})
    names = {fn.__name__ for fn in kafka.CHECKS}
    for commit in kafka.COMMITS:
        assert set(kafka.NOT_GUARANTEED(base | {"commit": commit})) < names
    assert "check_key_order" in search.guarantees(kafka, base | {"commit": "before"})


def test_same_params_same_bytes():
    given = {"seed": 5, "commit": "before", "drop": "0.2", "duplicate": "0.2", "reorder": 50}
    a = demos.run("kafka", given)
    demos.run("kafka", {"seed": 9, "duplicate": 0.5})  # nothing leaks from one run
    b = demos.run("kafka", dict(reversed(list(given.items()))))
    assert a.to_json() == b.to_json() and a.svg == b.svg
    assert demos.run("kafka", {"seed": 1}).to_json() != demos.run("kafka", {"seed": 2}).to_json()


# -- the checks can fail ---------------------------------------------------------------


@pytest.fixture(scope="module")
def clean_trace() -> dict:
    trace = trace_of({"faults": ""})
    assert all(c["ok"] for c in trace["checks"])
    return trace


def _copy(trace: dict) -> dict:
    return json.loads(json.dumps(trace))


def _drop_processing(trace: dict, partition: int, offset: int) -> dict:
    trace["events"] = [e for e in trace["events"] if not (e["kind"] == "process" and
                       (e["partition"], e["offset"]) == (partition, offset))]  # fmt: skip
    return trace


def test_no_loss_fails_when_a_commit_passed_an_unprocessed_record(clean_trace):
    trace = _drop_processing(_copy(clean_trace), 0, 0)
    check = kafka.check_no_loss(trace)
    past = next(e for e in trace["events"] if e["kind"] == "commit" and e["partition"] == 0)
    assert not check.ok and "(p0@0)" in check.detail
    assert (check.t, check.node) == (past["t"], past["by"])


def test_all_processed_fails_for_a_record_never_read(clean_trace):
    trace = _copy(clean_trace)
    last = max(e["offset"] for e in kafka.written(trace) if e["partition"] == 1)
    trace = _drop_processing(trace, 1, last)
    for e in trace["events"]:  # nor committed past: unread, not lost
        if e["kind"] == "commit" and e["partition"] == 1:
            e["offset"] = min(e["offset"], last)
    check = kafka.check_all_processed(trace)
    assert not check.ok and f"(p1@{last})" in check.detail and "1 still unread" in check.detail
    assert kafka.check_no_loss(trace).ok


def test_key_order_fails_when_a_consumer_goes_back_in_one_tenure(clean_trace):
    trace = _copy(clean_trace)
    events = [e for e in trace["events"] if e["kind"] == "process"]
    a, b = next((a, b) for a, b in zip(events, events[1:], strict=False)
                if a["node"] == b["node"] and a["partition"] == b["partition"])  # fmt: skip
    b["key"], b["offset"] = a["key"], a["offset"]
    check = kafka.check_key_order(trace)
    assert not check.ok and (check.t, check.node) == (b["t"], b["node"])
    # The same repeat in a new tenure (an assign that starts the partition afresh) is fine.
    p = b["partition"]
    start = {"id": -1, "t": b["t"], "node": b["node"], "kind": "assign", "generation": 9,
             "partitions": [p], "start": {str(p): b["offset"]}}  # fmt: skip
    trace["events"].insert(trace["events"].index(b), start)
    assert kafka.check_key_order(trace).ok


def test_no_duplicates_fails_when_a_record_is_processed_twice(clean_trace):
    trace = _copy(clean_trace)
    first = next(e for e in trace["events"] if e["kind"] == "process")
    again = first | {"id": 10_000, "t": trace["duration"] - 1}
    trace["events"].append(again)
    check = kafka.check_no_duplicates(trace)
    assert not check.ok and (check.t, check.node) == (again["t"], again["node"])
    assert f"(p{first['partition']}@{first['offset']}), 1 repeats" in check.detail


# -- contracts -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given, culprit",
    [
        ({"commit": "never"}, "commit"),
        ({"partitions": 0}, "partitions"),
        ({"partitions": 9}, "partitions"),
        ({"consumers": 7}, "consumers"),
        ({"records": "many"}, "records"),
        ({"faults": "crash n6@100"}, "n6"),
        ({"reorder": -1}, "reorder"),
    ],
)
def test_bad_params_name_the_culprit(given, culprit):
    with pytest.raises(ParamError, match=re.escape(culprit)):
        demos.run("kafka", given)


def test_cli_json_has_the_contract_kinds():
    out = subprocess.run([sys.executable, "-m", "demos", "run", "kafka", "--format", "json"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout  # fmt: skip
    doc = json.loads(out)
    assert {"schema", "demo", "params", "nodes", "duration", "events", "messages",
            "checks", "roles"} <= doc.keys()  # fmt: skip
    assert doc["nodes"] == ["n1", "n2", "n3", "n4", "n5"]
    kinds = {e["kind"]: e for e in doc["events"]}
    assert {"produce", "process", "commit", "rebalance", "crash", "restart"} <= kinds.keys()
    assert {"partition", "offset", "key"} <= kinds["produce"].keys() & kinds["process"].keys()
    assert {"partition", "offset"} <= kinds["commit"].keys()
    assignment = kinds["rebalance"]["assignment"]
    assert all(isinstance(ps, list) for ps in assignment.values())
    bad = subprocess.run([sys.executable, "-m", "demos", "run", "kafka", "--set", "commit=x"],
                         cwd=ROOT, capture_output=True, text=True)  # fmt: skip
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "commit" in bad.stderr


@pytest.mark.parametrize("commit", kafka.COMMITS)
def test_svg_follows_the_contract_and_budget(commit):
    result = demos.run("kafka", {"commit": commit})
    svg = result.svg
    assert len(svg.encode()) <= 36_000
    assert "<script" not in svg and not re.search(r"\son\w+=", svg) and " id=" not in svg
    assert "n1 broker and group coordinator · n2 producer · n3–n5 consumers" in svg
    assert 'data-sent="' in svg and 'data-node="n4"' in svg
    for c in result.checks:
        assert (f'data-check="{c.name}"' in svg) == (not c.ok), (commit, c.name)


def test_a_busy_run_stays_reasonable():
    given = {"records": 80, "partitions": 8, "consumers": 6, "duration": 20000, "drop": 0.2}
    assert len(demos.run("kafka", given).svg.encode()) <= 150_000


def test_golden_svg():
    svg = demos.run("kafka", {}).svg
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(svg, encoding="utf-8")
    assert GOLDEN.read_text(encoding="utf-8") == svg


# -- the state panel -------------------------------------------------------------------

SVG = "{http://www.w3.org/2000/svg}"


def expected_at(trace: dict, t: float) -> dict[str, tuple[str, str]]:
    """Give each node's role and panel text at `t`, read from the events up to `t`."""
    gen, committed, up = 0, {}, dict.fromkeys(trace["nodes"], True)
    held = {n: {} for n in trace["nodes"][2:]}
    generation = dict.fromkeys(held, 0)
    for e in trace["events"]:
        if e["t"] > t:
            break
        node = e["node"]
        if e["kind"] in ("crash", "restart"):
            up[node] = e["kind"] == "restart"
            if node in held:
                held[node], generation[node] = {}, 0
        elif e["kind"] == "rebalance":
            gen = e["generation"]
        elif e["kind"] == "commit":
            committed[e["partition"]] = max(committed.get(e["partition"], 0), e["offset"])
        elif e["kind"] == "assign":  # [position, last commit acknowledged to it]
            kept = {p: o for p, o in held[node].items() if str(p) not in e["start"]}
            held[node] = {p: kept[p] for p in e["partitions"] if p in kept}
            held[node] |= {int(p): [o, o] for p, o in e["start"].items()}
            generation[node] = e["generation"]
        elif e["kind"] == "process":
            held[node][e["partition"]][0] = e["offset"] + 1
        elif e["kind"] == "commit_ack":
            held[node][e["partition"]][1] = e["offset"]
    shown = {}
    for node in trace["nodes"]:
        if not up[node]:
            shown[node] = ("down", "down")
        elif node == "n1":
            offsets = " ".join(f"p{p}:{o}" for p, o in sorted(committed.items()))
            shown[node] = ("broker", f"broker and coordinator · gen {gen} · committed {offsets}")
        elif node == "n2":
            shown[node] = ("producer", "producer")
        else:
            at = "  ".join(f"p{p} {o}/{c}" for p, (o, c) in sorted(held[node].items()))
            shown[node] = ("consumer", f"gen {generation[node]} · {at or 'no partitions'}")
    return shown


def panel_at(svg: str, t: float) -> dict[str, tuple[list[str], list[str]]]:
    """Give the role marks and the row texts the player shows at `t`, per node."""
    shown: dict[str, tuple[list[str], list[str]]] = {}
    for g in ElementTree.fromstring(svg).iter(f"{SVG}g"):
        if "dm-state" not in g.get("class", "").split():
            continue
        if not float(g.get("data-t")) <= t < float(g.get("data-until", "inf")):
            continue
        roles, texts = shown.setdefault(g.get("data-node"), ([], []))
        roles += [r.get("data-role") for r in g if r.get("data-role")]
        texts += [x.text for x in g if x.tag == f"{SVG}text"]
    return shown


@pytest.mark.parametrize(
    "given",
    [
        {"seed": 1},
        {"seed": 3, "commit": "before"},
        {"seed": 4, "consumers": 2, "partitions": 5, "duplicate": 0.3, "reorder": 200},
        {"seed": 6, "faults": "crash n1@1000; restart n1@1800; crash n3@2500", "drop": 0.1},
        {"seed": 7, "faults": "partition n1,n2,n3|n4,n5@800-2600", "consumers": 3},
    ],
)
def test_the_panel_shows_each_node_at_any_moment(given):
    result = demos.run("kafka", given)
    trace = result.trace()
    rng = random.Random(given["seed"])
    moments = rng.sample([e["t"] for e in trace["events"]], 10)
    moments += [rng.uniform(0, trace["duration"]) for _ in range(10)]
    down = down_intervals(trace)
    for t in moments:
        shown, expected = panel_at(result.svg, t), expected_at(trace, t)
        for node in trace["nodes"]:
            role, text = expected[node]
            assert shown[node] == ([role], [text]), (t, node)
            assert (role == "down") == any(a <= t < b for a, b in down[node])


def test_the_panel_says_what_changed():
    result = demos.run("kafka", {})
    says = [g.get("data-say") for g in ElementTree.fromstring(result.svg).iter(f"{SVG}g")
            if g.get("data-say")]  # fmt: skip
    assert "n1 starts generation 2: a rebalance" in says
    assert "n3 takes p1 in generation 2" in says and "n5 keeps p2 in generation 2" in says
    assert "n4 crashes" in says and "n4 is up" in says and "n4 takes p1 in generation 3" in says
    assert "n3 gives up p1 in generation 3" in says
    before, now = ("up", 1, ((0, 4, 3),)), ("up", 1, ((0, 5, 3),))
    assert say("n3", before, now) is None  # a new position says nothing
    assert say("n3", now, ("up", 2, ())) == "n3 gives up p0 in generation 2"
    assert say("n3", ("up", 0, ()), ("up", 1, ())) == "n3 holds no partition in generation 1"
    assert say("n3", now, ("up", 2, ((1, 0, 0),))) == "n3 takes p1 and gives up p0 in generation 2"
    assert say("n1", ("up", 1, ()), ("up", 1, ((2, 3, 3),))) is None  # a first commit to p2


def test_a_fenced_commit_is_refused_and_drawn():
    given = {"commit": "before", "faults": "partition n1,n2,n3|n4,n5@800-2600"}
    result = demos.run("kafka", given)
    refused = [m for m in result.doc["messages"]
               if m.get("kind") == "CommitAck" and m["label"] == "no"]  # fmt: skip
    assert refused and all(m["sent"] >= 2600 and m["dst"] in ("n4", "n5") for m in refused)
    drawn = re.search(r'<g class="kf-no">(.*?)</g>', result.svg, re.S)
    assert drawn and drawn.group(1).count("<path") == len(refused)
    assert result.checks[3].ok  # fenced, so nothing processed twice
