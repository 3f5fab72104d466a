"""The delivery demo: node rules through a fake network, the guarantees as properties over
many seeds, checks that can fail, the contracts (params, CLI, trace, SVG), a golden figure."""

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
from demos import ParamError, delivery
from demos.delivery import Ack, Deliver, Publish, PublishAck
from demos.delivery_draw import say
from demos.params import resolve

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden" / "delivery-default.svg"


def config(mode: str, messages: int = 1) -> delivery.Config:
    return delivery.Config(mode, messages, ack_timeout=300.0, spacing=100.0)


# -- node rules ------------------------------------------------------------------------


def test_producer_retries_until_the_broker_acks(sim):
    producer = delivery.Producer("n1", sim, config("at-least-once"))
    producer.on_start()
    sim.advance(100.0)
    sim.take("n1", "n2", Publish("m1", 1))
    sim.advance(400.0)
    sim.take("n1", "n2", Publish("m1", 2))
    producer.on_PublishAck(PublishAck("m1"), "n2", 0)
    sim.advance(2000.0)
    assert [e["msg"] for e in sim.kinds("produce")] == ["m1"]
    assert [e["of"] for e in sim.kinds("ack")] == ["publish"]


def test_at_most_once_producer_never_retries(sim):
    producer = delivery.Producer("n1", sim, config("at-most-once", messages=2))
    producer.on_start()
    sim.advance(2000.0)
    sim.take("n1", "n2", Publish("m1", 1))
    sim.take("n1", "n2", Publish("m2", 1))


def test_producer_outbox_survives_a_crash(sim):
    producer = delivery.Producer("n1", sim, config("idempotent"))
    producer.on_start()
    sim.advance(100.0)
    sim.take("n1", "n2", Publish("m1", 1))
    producer.crash()
    sim.advance(1000.0)
    producer.restart()
    sim.take("n1", "n2", Publish("m1", 2))
    producer.on_PublishAck(PublishAck("m1"), "n2", 0)
    sim.advance(3000.0)


def test_broker_acks_publish_and_redelivers_until_consumer_acks(sim):
    broker = delivery.Broker("n2", sim, config("at-least-once"))
    broker.on_Publish(Publish("m1", 1), "n1", 0)
    sim.take("n2", "n1", PublishAck("m1"))
    sim.take("n2", "n3", Deliver(1, "m1", 1))
    sim.advance(300.0)
    sim.take("n2", "n3", Deliver(1, "m1", 2))
    broker.on_Ack(Ack(1), "n3", 0)
    sim.advance(2000.0)
    # A retried publish is new to the broker: it becomes a second delivery.
    broker.on_Publish(Publish("m1", 2), "n1", 0)
    sim.take("n2", "n1", PublishAck("m1"))
    sim.take("n2", "n3", Deliver(2, "m1", 1))
    broker.crash()
    broker.restart()  # the queue is durable: the pending delivery goes out again
    sim.take("n2", "n3", Deliver(2, "m1", 2))
    broker.on_Ack(Ack(2), "n3", 0)


def test_at_most_once_broker_forgets_after_handing_on(sim):
    broker = delivery.Broker("n2", sim, config("at-most-once"))
    broker.on_Publish(Publish("m1", 1), "n1", 0)
    sim.take("n2", "n3", Deliver(1, "m1", 1))
    sim.advance(5000.0)
    assert broker.queue == {}


def test_at_least_once_consumer_acks_after_the_work_and_repeats_it(sim):
    consumer = delivery.Consumer("n3", sim, config("at-least-once"))
    consumer.on_Deliver(Deliver(1, "m1", 1), "n2", 0)
    assert not sim.network.sent
    sim.advance(delivery.WORK)
    sim.take("n3", "n2", Ack(1))
    consumer.on_Deliver(Deliver(1, "m1", 2), "n2", 0)  # our ack was lost
    sim.advance(2 * delivery.WORK)
    sim.take("n3", "n2", Ack(1))
    assert consumer.effects == {"m1": 2}


def test_consumer_crash_mid_work_applies_nothing(sim):
    consumer = delivery.Consumer("n3", sim, config("at-least-once"))
    consumer.on_Deliver(Deliver(1, "m1", 1), "n2", 0)
    consumer.crash()
    sim.advance(1000.0)
    consumer.restart()
    assert consumer.effects == {} and not sim.kinds("process")


def test_at_most_once_consumer_acks_first_so_a_crash_loses_the_message(sim):
    consumer = delivery.Consumer("n3", sim, config("at-most-once"))
    consumer.on_Deliver(Deliver(1, "m1", 1), "n2", 0)
    sim.take("n3", "n2", Ack(1))
    consumer.crash()
    sim.advance(1000.0)
    assert consumer.effects == {}


def test_idempotent_consumer_skips_an_id_it_has_applied(sim):
    consumer = delivery.Consumer("n3", sim, config("idempotent"))
    consumer.on_Deliver(Deliver(1, "m1", 1), "n2", 0)
    sim.advance(delivery.WORK)
    sim.take("n3", "n2", Ack(1))
    consumer.crash()
    consumer.restart()  # the dedup store is durable
    consumer.on_Deliver(Deliver(7, "m1", 1), "n2", 0)
    sim.advance(2 * delivery.WORK)
    sim.take("n3", "n2", Ack(7))
    assert consumer.effects == {"m1": 1}
    assert [e["msg"] for e in sim.kinds("dedup")] == ["m1"]


def test_a_copy_the_network_repeated_is_ignored_a_retry_is_not(sim):
    broker = delivery.Broker("n2", sim, config("at-most-once"))
    broker.on_Publish(Publish("m1", 1), "n1", 0)
    sim.take("n2", "n3", Deliver(1, "m1", 1))
    broker.on_Publish(Publish("m1", 1), "n1", 1)  # the same send, delivered twice
    assert not sim.network.sent and len(sim.kinds("enqueue")) == 1
    consumer = delivery.Consumer("n3", sim, config("at-most-once"))
    consumer.on_Deliver(Deliver(1, "m1", 1), "n2", 2)
    sim.take("n3", "n2", Ack(1))
    consumer.on_Deliver(Deliver(1, "m1", 1), "n2", 3)
    consumer.crash()
    consumer.restart()  # what it has received is durable: a late copy is still known
    consumer.on_Deliver(Deliver(1, "m1", 1), "n2", 4)
    assert not sim.network.sent and len(sim.kinds("deliver")) == 1
    retrying = delivery.Consumer("n3", sim, config("at-least-once"))
    retrying.on_Deliver(Deliver(1, "m1", 1), "n2", 5)
    retrying.on_Deliver(Deliver(1, "m1", 2), "n2", 6)  # a redelivery is new: work again
    sim.advance(2 * delivery.WORK)
    sim.take("n3", "n2", Ack(1))
    sim.take("n3", "n2", Ack(1))
    assert retrying.effects == {"m1": 2}


# -- the guarantees, over many seeds ---------------------------------------------------


def trace_of(given: dict) -> dict:
    """Give the trace of a run as the pipeline makes it, without drawing it."""
    params = resolve(delivery.PARAMS, given, delivery.node_names)
    return {**delivery.simulate(params), "params": params, "duration": float(params["duration"])}


def _random_params(rng: random.Random, mode: str, settle: bool) -> dict:
    """Give random params; with `settle`, every crash heals by 40% of the run."""
    duration = 10000.0
    faults = []
    for node in ("n1", "n2", "n3"):
        if rng.random() < 0.5:
            start = rng.uniform(0.0, 3000.0)
            stop = start + rng.uniform(10.0, 1000.0)
            faults.append(f"crash {node}@{start:.0f}")
            if settle or rng.random() < 0.5:
                faults.append(f"restart {node}@{stop:.0f}")
    if rng.random() < 0.3:
        start = rng.uniform(0.0, 3000.0)
        group = rng.choice(["n1|n2,n3", "n1,n2|n3", "n1,n3|n2"])
        faults.append(f"partition {group}@{start:.0f}-{start + rng.uniform(10, 1000):.0f}")
    return {
        "seed": rng.randrange(2**31),
        "mode": mode,
        "duration": duration,
        "messages": rng.randint(1, 20),
        "ack_timeout": rng.choice([100, 200, 400]),
        "drop": rng.choice([0.0, 0.1, 0.2, 0.3]),
        "faults": "; ".join(faults),
        "duplicate": rng.choice([0.0, 0.0, 0.2, 0.5]),
        "reorder": rng.choice([0.0, 0.0, 100.0, 500.0]),
    }


def _guarantees_hold(count: int, seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(count):
        mode = rng.choice(delivery.MODES)
        settle = mode != "at-most-once" or rng.random() < 0.5
        given = _random_params(rng, mode, settle)
        trace = trace_of(given)
        loss, dups = delivery.check_no_loss(trace), delivery.check_no_duplicates(trace)
        if mode != "at-most-once":
            assert loss.ok, (given, loss.detail)
        if mode != "at-least-once":
            assert dups.ok, (given, dups.detail)
        if settle:  # every message was produced
            assert len(trace["effects"]) == given["messages"], given


def test_guarantees_over_300_seeds():
    _guarantees_hold(300, seed=1)


@pytest.mark.slow
def test_guarantees_over_3000_seeds():
    _guarantees_hold(3000, seed=2)


def test_each_mode_shows_its_weakness_somewhere():
    """The properties above are not vacuous: the weaker modes do lose and duplicate."""
    losses = sum(
        not delivery.check_no_loss(trace_of({"seed": s, "mode": "at-most-once"})).ok
        for s in range(10)
    )
    dups = sum(not delivery.check_no_duplicates(trace_of({"seed": s})).ok for s in range(10))
    assert losses >= 5 and dups >= 2


def test_same_params_same_bytes():
    given = {"seed": 5, "mode": "idempotent", "drop": "0.2", "messages": "12"}
    a = demos.run("delivery", given)
    demos.run("delivery", {"seed": 9, "duplicate": 0.5})  # nothing leaks from one run
    b = demos.run("delivery", dict(reversed(list(given.items()))))
    assert a.to_json() == b.to_json()
    assert a.svg == b.svg
    assert (
        demos.run("delivery", {"seed": 1}).to_json() != demos.run("delivery", {"seed": 2}).to_json()
    )


# -- the checks can fail ---------------------------------------------------------------


@pytest.fixture(scope="module")
def clean_trace() -> dict:
    trace = demos.run("delivery", {"mode": "idempotent"}).trace()
    assert all(c["ok"] for c in trace["checks"])
    return trace


def test_no_loss_fails_when_a_message_never_took_effect(clean_trace):
    trace = json.loads(json.dumps(clean_trace))
    trace["effects"]["m4"] = 0
    check = delivery.check_no_loss(trace)
    assert not check.ok and "(m4)" in check.detail and check.node == "n1"
    assert check.t == next(
        e["t"] for e in trace["events"] if e["kind"] == "produce" and e["msg"] == "m4"
    )


def test_no_duplicates_fails_when_an_effect_repeats(clean_trace):
    trace = json.loads(json.dumps(clean_trace))
    trace["effects"]["m2"] = 3
    check = delivery.check_no_duplicates(trace)
    assert not check.ok and "(m2), 2 extra effects" in check.detail and check.node == "n3"


# -- contracts -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given, culprit",
    [
        ({"mode": "exactly-once"}, "mode"),
        ({"messages": 0}, "messages"),
        ({"messages": 51}, "messages"),
        ({"ack_timeout": "x"}, "ack_timeout"),
        ({"drop": 1.5}, "drop"),
        ({"faults": "crash n4@100"}, "n4"),
        ({"faults": "restart n3@100"}, "restart n3@100"),
        ({"consumers": 2}, "consumers"),
    ],
)
def test_bad_params_name_the_culprit(given, culprit):
    with pytest.raises(ParamError, match=re.escape(culprit)):
        demos.run("delivery", given)


def test_cli_json_has_the_contract_keys():
    out = subprocess.run(
        [sys.executable, "-m", "demos", "run", "delivery", "--format", "json"],
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
        "effects",
    } <= doc.keys()
    assert doc["nodes"] == ["n1", "n2", "n3"] and doc["params"]["mode"] == "at-least-once"
    kinds = {e["kind"] for e in doc["events"]}
    assert {"produce", "enqueue", "deliver", "process", "ack", "crash", "restart"} <= kinds
    processed = [e["msg"] for e in doc["events"] if e["kind"] == "process"]
    assert doc["effects"] == {m: processed.count(m) for m in doc["effects"]}
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "demos",
            "run",
            "delivery",
            "--set",
            "mode=twice",
            "--format",
            "json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "mode" in bad.stderr


@pytest.mark.parametrize("mode", delivery.MODES)
def test_svg_follows_the_contract_and_budget(mode):
    result = demos.run("delivery", {"mode": mode})
    svg = result.svg
    assert len(svg.encode()) <= 30_000
    assert "<script" not in svg and not re.search(r"\son\w+=", svg)
    assert "<title>" in svg and 'data-t="' in svg and 'data-node="n3"' in svg
    assert "producer" in svg and "broker" in svg and "consumer" in svg
    for c in result.checks:
        assert (f'data-check="{c.name}"' in svg) == (not c.ok), (mode, c.name)


def test_a_busy_run_stays_reasonable():
    # The 30 KB budget is for the default figure; a reader's busiest runs draw every one
    # of a few hundred arrows, and the panel one cell per change of each message at each
    # node (about 400 here): a few times the default, not more.
    svg = demos.run("delivery", {"messages": 50, "drop": 0.3, "duration": 20000}).svg
    assert len(svg.encode()) <= 160_000


def test_summary_says_what_the_mode_delivered():
    text = demos.run("delivery", {"mode": "idempotent"}).summary
    assert text.startswith("idempotent: of 10 messages, 10 took effect once")
    assert "repeats recognised and skipped" in text


def test_golden_svg():
    svg = demos.run("delivery", {}).svg
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(svg, encoding="utf-8")
    assert GOLDEN.read_text(encoding="utf-8") == svg


# -- the state panel -------------------------------------------------------------------

SVG = "{http://www.w3.org/2000/svg}"


def holdings_at(trace: dict, t: float) -> dict[str, dict[str, tuple]]:
    """Give, per node, what it holds of each message at `t` as the panel should draw it
    (fill, outline, copies or effects), read straight from the events up to `t`."""
    retries = trace["params"]["mode"] != "at-most-once"
    acked, queued, enqueued, effects, working, gone = set(), {}, set(), {}, {}, set()
    produced = []
    for e in trace["events"]:
        if e["t"] > t:
            break
        msg, kind = e.get("msg"), e["kind"]
        if kind == "produce":
            produced.append(msg)
        elif kind == "ack" and e["of"] == "publish":
            acked.add(msg)
        elif kind == "enqueue":
            enqueued.add(msg)
            queued[msg] = queued.get(msg, 0) + 1
        elif kind == "ack":
            queued[msg] -= 1
        elif kind == "deliver":
            working[msg] = working.get(msg, 0) + 1
            gone.discard(msg)
        elif kind in ("process", "dedup"):
            working[msg] -= 1
            effects[msg] = e.get("count", effects.get(msg, 0))
        elif kind == "crash" and e["node"] == "n3":
            gone |= {m for m, n in working.items() if n}
            working = {}
    shown: dict[str, dict[str, tuple]] = {"n1": {}, "n2": {}, "n3": {}}
    for m in produced:
        shown["n1"][m] = ("dv-wait" if retries and m not in acked else "dv-done", 1)
    for m in enqueued:
        copies = queued[m] if retries else 0
        shown["n2"][m] = ("dv-wait", copies) if copies else ("dv-done", 1)
    for m in set(effects) | set(working) | gone:
        n = effects.get(m, 0)
        fill = "" if n == 0 else "dm-ok" if n == 1 else "dm-warn"
        outline = "dv-gone" if m in gone else "dv-work" if working.get(m) else ""
        shown["n3"][m] = (fill, outline, n)
    return shown


def panel_at(svg: str, t: float) -> tuple[dict[str, list[str]], dict[str, dict[str, tuple]]]:
    """Give the role marks and the message cells the player shows at `t`, per node."""
    roles: dict[str, list[str]] = {"n1": [], "n2": [], "n3": []}
    cells: dict[str, dict[str, tuple]] = {"n1": {}, "n2": {}, "n3": {}}
    for g in ElementTree.fromstring(svg).iter(f"{SVG}g"):
        if "dm-state" not in g.get("class", "").split():
            continue
        if not float(g.get("data-t")) <= t < float(g.get("data-until", "inf")):
            continue
        node = g.get("data-node")
        roles[node] += [r.get("data-role") for r in g if r.get("data-role")]
        rects = [r for r in g if r.get("data-msg")]
        if rects:
            msg = rects[0].get("data-msg")
            assert msg not in cells[node], (t, node, msg)
            classes = [r.get("class") for r in rects]
            label = [x.text for x in g if x.tag == f"{SVG}text"]
            count = int(label[0][1:]) if label else None
            cells[node][msg] = (classes, count)
    return roles, cells


@pytest.mark.parametrize(
    "given",
    [
        {"seed": 1},
        {"seed": 2, "mode": "at-most-once"},
        {"seed": 1, "mode": "at-most-once", "faults": "crash n3@950; restart n3@2000"},  # mid-work
        {"seed": 3, "mode": "idempotent", "drop": 0.3, "duplicate": 0.3, "reorder": 200},
        {
            "seed": 4,
            "faults": "crash n3@500; restart n3@900; crash n2@1500; restart n2@2500; "
            "partition n1|n2,n3@2600-3000",
            "messages": 15,
        },
    ],
)
def test_the_panel_shows_what_each_node_holds_at_any_moment(given):
    result = demos.run("delivery", given)
    trace = result.trace()
    rng = random.Random(given["seed"])
    exact = rng.sample([e["t"] for e in trace["events"]], 10)
    crashes = [e["t"] for e in trace["events"] if e["kind"] == "crash"]
    for t in exact + crashes + [rng.uniform(0, trace["duration"]) for _ in range(10)]:
        roles, cells = panel_at(result.svg, t)
        down = {
            n
            for n, spans in demos.queries.down_intervals(trace).items()
            if any(a <= t < b for a, b in spans)
        }
        assert roles == {
            n: ["down" if n in down else trace["roles"][n]] for n in ("n1", "n2", "n3")
        }, t
        expected = holdings_at(trace, t)
        for node in ("n1", "n2"):
            assert cells[node] == {
                m: ([f], n if n > 1 else None) for m, (f, n) in expected[node].items()
            }, (t, node)
        assert cells["n3"] == {
            m: ([c for c in (f, o) if c], n if n > 1 else None)
            for m, (f, o, n) in expected["n3"].items()
        }, t


def test_the_panel_says_what_changed():
    result = demos.run("delivery", {"mode": "at-least-once", "seed": 1})
    says = [
        g.get("data-say")
        for g in ElementTree.fromstring(result.svg).iter(f"{SVG}g")
        if g.get("data-say")
    ]
    assert "n1 keeps m1 until it is acked" in says and "n1 is done with m1" in says
    assert "n2 keeps m1 until it is acked" in says and "n3 starts applying m1" in says
    assert "n3 applies m1" in says and "n3 crashes" in says and "n3 restarts" in says
    dup = next(m for m, n in result.doc["effects"].items() if n > 1)
    assert f"n3 applies {dup}, effect number 2" in says
    assert say("n2", "m4", None, ("dv-done", "", 1, 0)) == "n2 sends m4, keeps nothing"
    assert say("n3", "m2", ("dm-ok", "dv-work", 1, 1), ("dm-ok", "", 1, 0)) == (
        "n3 skips m2: already applied"
    )
    assert say("n3", "m2", ("", "dv-work", 0, 1), ("", "dv-gone", 0, 0)) == (
        "n3 crashes: its work on m2 is lost"
    )
    assert say("n2", "m2", ("dv-wait", "", 1, 0), ("dv-wait", "", 2, 0)) == (
        "n2 keeps m2 until it is acked (2 copies)"
    )
