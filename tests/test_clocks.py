"""The clocks demo: clock rules, a process on a fake network, checks that hold and can fail."""

from __future__ import annotations

import copy
import json
import os
import random
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import fakes
import pytest
from svg_moments import SVG, roles_at, stretches_at, texts

import demos
from demos import ParamError, clocks
from demos.clocks import Process, Stamp, lamport_receive, vector_receive, vector_tick
from demos.clocks_draw import ROWS, draw
from demos.kit import tnum
from demos.params import resolve
from demos.result import Check
from demos.sim import Timer

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden" / "clocks-default.svg"
NAMES = ["n1", "n2", "n3"]


def run(params: dict) -> demos.Result:
    return demos.run("clocks", params)


def checks(trace: dict) -> list[Check]:
    return [check(trace) for check in clocks.CHECKS]


# -- a fake simulation: the test looks at every message a process sends ------------------


@dataclass
class Sent:
    id: int
    src: str
    dst: str
    msg: object
    send_event: int | None


class FakeNetwork:
    """Records sends instead of delivering them; `take` hands them to the test in order."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []
        self.taken = 0

    def send(
        self,
        src: str,
        dst: str,
        msg: object,
        *,
        label: str | None = None,
        send_event: int | None = None,
    ) -> int:
        self.sent.append(Sent(len(self.sent), src, dst, msg, send_event))
        return len(self.sent) - 1

    def take(self, dst: str) -> Sent:
        assert self.taken < len(self.sent), f"expected a message to {dst}, none was sent"
        sent = self.sent[self.taken]
        self.taken += 1
        assert sent.dst == dst, f"expected a message to {dst}, got {sent}"
        return sent

    def unseen(self) -> list[Sent]:
        return self.sent[self.taken :]


class FakeSim(fakes.FakeSim):
    """The shared fake, with a network that hands sends over in order, and timers the
    test fires one at a time."""

    def __init__(self, seed: int = 1) -> None:
        super().__init__(seed)
        self.network = FakeNetwork()

    def pending(self) -> list[Timer]:
        return [t for t in self.timers if not t.cancelled]

    def fire_next(self) -> None:
        timer = min(self.pending(), key=lambda t: t.t)
        timer.cancel()
        self.now = timer.t
        timer.callback(*timer.args)


@pytest.fixture
def sim():
    fake = FakeSim()
    yield fake
    assert not fake.network.unseen(), f"messages the test did not look at: {fake.network.unseen()}"


def process(sim: FakeSim, name: str, send_share: float = 0.5) -> Process:
    return Process(name, sim, NAMES, mean_gap=100.0, send_share=send_share)


def last_event(sim: FakeSim) -> dict:
    return sim.trace.events[-1]


# -- the clock rules ---------------------------------------------------------------------


def test_lamport_receive_is_one_past_the_larger_clock():
    assert lamport_receive(3, 7) == 8
    assert lamport_receive(9, 2) == 10
    assert lamport_receive(4, 4) == 5


def test_vector_rules_take_entrywise_max_then_tick_own_entry():
    assert vector_tick((1, 0, 2), 1) == (1, 1, 2)
    assert vector_receive((1, 0, 0), (0, 2, 1), 0) == (2, 2, 1)
    assert vector_receive((0, 5, 0), (3, 1, 4), 1) == (3, 6, 4)
    with pytest.raises(ValueError):
        vector_receive((1, 0), (1, 0, 0), 0)


def test_local_event_ticks_both_clocks(sim):
    p = process(sim, "n2")
    p.local_event()
    p.local_event()
    event = last_event(sim)
    assert (event["kind"], event["seq"], event["lamport"]) == ("local", 2, 2)
    assert event["vector"] == {"n1": 0, "n2": 2, "n3": 0}


def test_send_ticks_then_carries_the_new_clocks(sim):
    p = process(sim, "n1")
    p.local_event()
    msg_id = p.send_stamp("n3")
    sent = sim.network.take("n3")
    assert sent.msg == Stamp(2, (2, 0, 0))
    assert sent.id == msg_id
    event = sim.trace.events[sent.send_event]
    assert (event["kind"], event["msg"], event["peer"], event["lamport"]) == (
        "send",
        msg_id,
        "n3",
        2,
    )


def test_a_hand_made_exchange_gives_the_textbook_clocks(sim):
    # n1 sends to n2; n2 does a local event, then receives; n2 forwards to n3, which had
    # already done four local events (so its Lamport clock is ahead).
    n1, n2, n3 = (process(sim, n) for n in NAMES)
    n1.send_stamp("n2")
    to_n2 = sim.network.take("n2")
    n2.local_event()
    n2.on_Stamp(to_n2.msg, "n1", to_n2.id)
    assert (n2.lamport, n2.vector) == (2, (1, 2, 0))
    for _ in range(4):
        n3.local_event()
    n2.send_stamp("n3")
    to_n3 = sim.network.take("n3")
    assert to_n3.msg == Stamp(3, (1, 3, 0))
    n3.on_Stamp(to_n3.msg, "n2", to_n3.id)
    received = last_event(sim)
    assert (received["kind"], received["msg"], received["peer"]) == ("recv", to_n3.id, "n2")
    assert received["lamport"] == 5  # max(4, 3) + 1
    assert received["vector"] == {"n1": 1, "n2": 3, "n3": 5}


def test_acting_with_only_sends_messages_a_peer_each_time(sim):
    p = process(sim, "n1", send_share=1.0)
    p.on_start()
    for _ in range(5):
        sim.fire_next()
        sent = sim.network.unseen()
        assert [(s.src, s.dst in ("n2", "n3")) for s in sent] == [("n1", True)]
        sim.network.take(sent[0].dst)
    assert len(sim.pending()) == 1, "each action schedules the next one"


def test_acting_with_no_sends_only_records_local_events(sim):
    p = process(sim, "n2", send_share=0.0)
    p.on_start()
    for _ in range(5):
        sim.fire_next()
    assert [e["kind"] for e in sim.trace.events] == ["local"] * 5
    assert (p.lamport, p.vector) == (5, (0, 5, 0))


def test_crash_stops_acting_and_keeps_clocks_for_the_restart(sim):
    p = process(sim, "n1", send_share=0.0)
    p.on_start()
    sim.fire_next()
    sim.fire_next()
    p.crash()
    assert not sim.pending(), "a crashed process must not act"
    assert (p.lamport, p.vector) == (2, (2, 0, 0))
    p.restart()
    sim.fire_next()
    assert (p.lamport, p.vector, p.count) == (3, (3, 0, 0), 3)


# -- whole runs: both checks hold, runs are deterministic ---------------------------------


def random_faults(rng: random.Random, names: list[str], duration: float) -> str:
    items = []
    for name in names:
        if rng.random() < 0.3:
            down = rng.uniform(0, duration * 0.8)
            items.append(f"crash {name}@{down:.0f}")
            if rng.random() < 0.6:
                items.append(f"restart {name}@{rng.uniform(down + 1, duration):.0f}")
    if rng.random() < 0.3:
        shuffled = rng.sample(names, len(names))
        cut = rng.randint(1, len(names) - 1)
        start = rng.uniform(0, duration * 0.7)
        end = rng.uniform(start + 1, duration * 1.2)
        items.append(
            f"partition {','.join(shuffled[:cut])}|{','.join(shuffled[cut:])}@{start:.0f}-{end:.0f}"
        )
    return "; ".join(items)


def random_params(seed: int) -> dict:
    rng = random.Random(seed)
    processes = rng.randint(2, 8)
    duration = rng.choice((500.0, 1500.0, 3000.0, 6000.0))
    names = [f"n{i}" for i in range(1, processes + 1)]
    return {
        "seed": seed,
        "processes": processes,
        "duration": duration,
        "rate": round(rng.uniform(0.5, 6.0), 1),
        "sends": round(rng.random(), 2),
        "drop": rng.choice((0.0, 0.0, 0.1, 0.4)),
        "duplicate": rng.choice((0.0, 0.2, 0.5, 1.0)),
        "reorder": rng.choice((0.0, 300.0, 2000.0)),
        "faults": random_faults(rng, names, duration),
    }


def assert_contract(trace: dict) -> None:
    nodes = trace["nodes"]
    events, messages = trace["events"], trace["messages"]
    assert [e["id"] for e in events] == list(range(len(events)))
    assert [e["t"] for e in events] == sorted(e["t"] for e in events)
    for e in events:
        assert e["kind"] in ("local", "send", "recv")
        assert isinstance(e["lamport"], int)
        assert list(e["vector"]) == nodes
        if e["kind"] != "local":
            m = messages[e["msg"]]
            assert m["send_event" if e["kind"] == "send" else "recv_event"] == e["id"]
    for m in messages:
        # A duplicate is a second message from the same send event, naming the first.
        assert events[m["send_event"]]["msg"] == m.get("copy_of", m["id"])
        assert (m["status"] == "delivered") == (m["recv_event"] is not None)


def check_seed(seed: int) -> None:
    params = random_params(seed)
    result = run(params)
    assert result.ok, (params, result.text())
    trace = json.loads(result.to_json())
    assert_contract(trace)
    assert [c.to_json() for c in checks(trace)] == trace["checks"]
    assert [c["name"] for c in trace["checks"]] == [clocks.LAMPORT, clocks.VECTOR]
    again = run(params)
    assert again.to_json() == result.to_json()
    assert again.svg == result.svg


@pytest.mark.parametrize("block", range(6))
def test_checks_hold_and_runs_repeat_over_300_seeds(block):
    for seed in range(block * 50, block * 50 + 50):
        check_seed(seed)


@pytest.mark.slow
def test_checks_hold_and_runs_repeat_over_3000_seeds():
    for seed in range(1000, 4000):
        check_seed(seed)


def test_a_duplicated_message_is_received_twice_after_its_one_send():
    result = run({"duplicate": 1.0, "reorder": 1000, "seed": 2, "sends": 0.8})
    assert result.ok, result.text()
    trace = result.trace()
    copies = [m for m in trace["messages"] if m.get("copy_of") is not None]
    delivered = [m for m in copies if m["status"] == "delivered"]
    assert delivered, "with duplicate=1 some copies must arrive"
    for m in delivered:
        first = trace["messages"][m["copy_of"]]
        assert m["send_event"] == first["send_event"]
        send, receive = trace["events"][m["send_event"]], trace["events"][m["recv_event"]]
        assert receive["msg"] == m["id"] and receive["node"] == m["dst"]
        assert send["lamport"] < receive["lamport"]
        assert all(send["vector"][n] <= receive["vector"][n] for n in trace["nodes"])
    assert f"{len(copies)} duplicated" in result.summary


def test_reordering_lets_later_messages_overtake_and_the_clocks_still_hold():
    result = run({"reorder": 3000, "processes": 2, "sends": 1.0, "rate": 6, "seed": 3})
    assert result.ok, result.text()
    delivered = [m for m in result.messages if m["status"] == "delivered"]
    overtaken = [
        (a, b)
        for a in delivered
        for b in delivered
        if a["src"] == b["src"] and a["sent"] < b["sent"] and a["recv"] > b["recv"]
    ]
    assert overtaken, "a 3 s extra delay must let some message overtake another"


def test_simulate_gives_the_trace_document_without_checks():
    params = resolve(clocks.PARAMS, {"seed": 3}, clocks.node_names)
    doc = clocks.simulate(params)
    assert {"nodes", "events", "messages", "downtime", "partitions", "focus"} <= set(doc)
    assert "checks" not in doc and doc["nodes"] == NAMES
    result = run({"seed": 3})
    assert result.events == doc["events"] and result.extra["focus"] == doc["focus"]


def test_faults_show_in_the_trace():
    result = run({"faults": "crash n2@1000; restart n2@2000", "drop": 0.3, "seed": 3})
    trace = result.trace()
    assert trace["downtime"] == [{"node": "n2", "start": 1000.0, "end": 2000.0}]
    assert not [e for e in trace["events"] if e["node"] == "n2" and 1000 < e["t"] < 2000]
    assert {m["status"] for m in trace["messages"]} >= {"delivered", "dropped"}
    assert 'class="dm-down"' in result.svg and 'class="dm-msg-lost"' in result.svg


# -- each check can fail, and names the events ---------------------------------------------


@pytest.fixture(scope="module")
def real_trace() -> dict:
    trace = run({"processes": 4, "seed": 5}).trace()
    assert all(c["ok"] for c in trace["checks"])
    return trace


def with_successor(trace: dict) -> dict:
    """Give an event that has a later event on the same process."""
    events = trace["events"]
    return next(
        e for e in events if any(f["node"] == e["node"] and f["id"] > e["id"] for f in events)
    )


def name(event: dict) -> str:
    return f"{event['node']}:{event['seq']} (event {event['id']})"


def test_each_check_is_a_function_of_the_trace_alone(real_trace):
    assert [c.to_json() for c in checks(copy.deepcopy(real_trace))] == real_trace["checks"]
    assert [c.__name__ for c in clocks.CHECKS] == ["check_lamport_clocks", "check_vector_clocks"]


def test_lamport_check_fails_on_a_clock_that_runs_ahead(real_trace):
    trace = copy.deepcopy(real_trace)
    victim = with_successor(trace)
    victim["lamport"] = 10**6
    lamport, vector = checks(trace)
    assert not lamport.ok and vector.ok
    assert name(victim) in lamport.detail
    assert lamport.node is not None and lamport.t is not None


def test_vector_check_fails_on_a_raised_entry(real_trace):
    trace = copy.deepcopy(real_trace)
    victim = with_successor(trace)
    other = next(n for n in trace["nodes"] if n != victim["node"])
    victim["vector"][other] += 1000
    lamport, vector = checks(trace)
    assert lamport.ok and not vector.ok
    assert name(victim) in vector.detail


def test_vector_check_fails_on_a_missing_entry(real_trace):
    trace = copy.deepcopy(real_trace)
    del trace["events"][3]["vector"][trace["nodes"][-1]]
    lamport, vector = checks(trace)
    assert lamport.ok and not vector.ok and "lacks a vector entry" in vector.detail


def tiny_trace(send_vector: list[int], recv_vector: list[int], lamports=(1, 2)) -> dict:
    """Give a hand-made trace: n1 sends message 0, n2 receives it."""

    def event(i, t, node, kind, lamport, vector):
        return {
            "id": i,
            "t": t,
            "node": node,
            "kind": kind,
            "seq": 1,
            "msg": 0,
            "lamport": lamport,
            "vector": dict(zip(["n1", "n2"], vector, strict=True)),
        }

    return {
        "nodes": ["n1", "n2"],
        "events": [
            event(0, 1.0, "n1", "send", lamports[0], send_vector),
            event(1, 9.0, "n2", "recv", lamports[1], recv_vector),
        ],
        "messages": [
            {
                "id": 0,
                "src": "n1",
                "dst": "n2",
                "sent": 1.0,
                "recv": 9.0,
                "status": "delivered",
                "label": "",
                "send_event": 0,
                "recv_event": 1,
            }
        ],
    }


def test_checks_on_a_hand_made_trace_name_the_pair():
    assert [c.ok for c in checks(tiny_trace([1, 0], [1, 1]))] == [True, True]
    lamport = clocks.check_lamport_clocks(tiny_trace([1, 0], [1, 1], lamports=(2, 2)))
    assert not lamport.ok
    assert "n1:1 (event 0) happens before n2:1 (event 1)" in lamport.detail
    assert (lamport.t, lamport.node) == (9.0, "n2")
    vector = clocks.check_vector_clocks(tiny_trace([1, 0], [0, 1]))
    assert not vector.ok
    assert "a happens before b but V(a) is not below V(b)" in vector.detail
    assert "n1:1 (event 0) [1,0]" in vector.detail and "n2:1 (event 1) [0,1]" in vector.detail


def test_a_duplicate_orders_its_second_receive_after_the_send_too():
    trace = tiny_trace([1, 0], [1, 1])
    copy_of_0 = trace["messages"][0] | {"id": 1, "recv": 12.0, "recv_event": 2, "copy_of": 0}
    trace["messages"].append(copy_of_0)
    trace["events"].append(
        {
            "id": 2,
            "t": 12.0,
            "node": "n2",
            "kind": "recv",
            "seq": 2,
            "msg": 1,
            "lamport": 3,
            "vector": {"n1": 1, "n2": 2},
        }
    )
    assert [c.ok for c in checks(trace)] == [True, True]
    trace["events"][2]["vector"]["n1"] = 0  # as if the copy's send were not in its past
    assert [c.ok for c in checks(trace)] == [True, False]


def test_vector_check_fails_when_concurrent_events_look_ordered(real_trace):
    trace = copy.deepcopy(real_trace)
    cause = clocks.causality(trace)
    everyone = (1 << len(cause.events)) - 1
    # An event with nothing before it and something concurrent with it.
    first = next(
        i
        for i in range(len(cause.events))
        if not cause.past[i] and cause.future(i) | (1 << i) != everyone
    )
    victim = trace["events"][first]
    for node in victim["vector"]:
        victim["vector"][node] = 0
    vector = clocks.check_vector_clocks(trace)
    assert not vector.ok
    assert name(victim) in vector.detail and "does not happen before" in vector.detail


@pytest.mark.parametrize("corrupt", ["unknown message", "receive before its send"])
def test_checks_fail_on_a_receive_without_an_earlier_send(real_trace, corrupt):
    trace = copy.deepcopy(real_trace)
    receive = next(e for e in trace["events"] if e["kind"] == "recv")
    if corrupt == "unknown message":
        receive["msg"] = 10**6
    else:
        # The message now claims to come from a send listed after its receive.
        later = next(e for e in trace["events"] if e["kind"] == "send" and e["t"] > receive["t"])
        trace["messages"][receive["msg"]]["send_event"] = later["id"]
    found = checks(trace)
    assert [c.ok for c in found] == [False, False]
    assert all(name(receive) in c.detail for c in found)
    assert all((c.t, c.node) == (receive["t"], receive["node"]) for c in found)


def test_a_failing_check_is_marked_in_the_svg(real_trace):
    svg = draw(real_trace, [Check(clocks.LAMPORT, False, "bad", t=1000.0, node="n2")], "s")
    marks = [e for e in ET.fromstring(svg).iter() if e.get("data-check") == clocks.LAMPORT]
    assert [(m.get("class"), m.get("data-node"), m.get("data-t")) for m in marks] == [
        ("dm-violation", "n2", "1000")
    ]


# -- params, focus, CLI ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "culprit"),
    [
        ({"processes": 9}, "9"),
        ({"processes": 1}, "processes"),
        ({"focus": "n9:1"}, "n9"),
        ({"focus": "banana"}, "banana"),
        ({"focus": "n2:0"}, "n2:0"),
        ({"focus": "n2:x"}, "n2:x"),
        ({"rate": 0}, "rate"),
        ({"faults": "crash n4@100"}, "n4"),
        ({"duplicate": 1.5}, "duplicate"),
        ({"reorder": -1}, "reorder"),
    ],
)
def test_bad_params_name_the_culprit(given, culprit):
    with pytest.raises(ParamError, match=culprit):
        run(given)


@pytest.mark.parametrize(
    "given",
    [
        {"rate": 0.1, "duration": 100, "processes": 2},  # too short for anyone to act
        {"processes": 3, "faults": "crash n1@0; crash n2@0; crash n3@0"},  # all down at once
    ],
)
def test_a_run_without_events_is_an_empty_run_not_an_error(given):
    # A random fault schedule (the lab's search) may take every process down before it acts:
    # that is a run like any other, with nothing to point at.
    result = run({**given, "focus": "n2:3"})
    trace = json.loads(result.to_json())
    assert trace["events"] == [] and trace["focus"] is None
    assert result.ok and "no events" in result.summary and "no focus" in result.summary
    assert "<svg" in result.svg and 'class="ck-ring"' not in result.svg


def test_focus_past_the_last_event_shows_the_last_one_and_says_so():
    result = run({"focus": "n2:500"})
    last = max((e for e in result.events if e["node"] == "n2"), key=lambda e: e["seq"])
    assert result.extra["focus"]["name"] == f"n2:{last['seq']}"
    assert f"focus n2:{last['seq']} (n2:500 is not in this run)" in result.summary


def test_focus_picks_the_event_and_splits_the_rest():
    result = run({"focus": "n2:3"})
    focus = result.extra["focus"]
    event = result.events[focus["event"]]
    assert (event["node"], event["seq"]) == ("n2", 3)
    assert set(focus["past"]).isdisjoint(focus["future"])
    assert all(result.events[i]["t"] < event["t"] for i in focus["past"])
    assert all(result.events[i]["t"] > event["t"] for i in focus["future"])
    concurrent = len(result.events) - 1 - len(focus["past"]) - len(focus["future"])
    assert f"focus n2:3 has {len(focus['past'])} events in its past" in result.summary
    assert result.summary.endswith(f"{concurrent} concurrent")


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "demos", "run", "clocks", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_json_follows_the_trace_contract():
    done = run_cli("--format", "json")
    assert done.returncode == 0, done.stderr
    trace = json.loads(done.stdout)
    assert {"schema", "demo", "params", "nodes", "duration", "events", "messages", "checks"} <= set(
        trace
    )
    assert (trace["schema"], trace["demo"], trace["nodes"]) == (1, "clocks", NAMES)
    assert {"id", "t", "node", "kind", "lamport", "vector"} <= set(trace["events"][0])
    assert {
        "id",
        "src",
        "dst",
        "sent",
        "recv",
        "status",
        "label",
        "send_event",
        "recv_event",
    } <= set(trace["messages"][0])
    assert_contract(trace)
    assert all(c["ok"] for c in trace["checks"])


def test_cli_rejects_a_bad_value_in_one_line():
    done = run_cli("--set", "processes=9", "--format", "text")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "processes" in done.stderr


# -- the SVG ----------------------------------------------------------------------------------


def test_svg_is_safe_small_and_annotated():
    result = run({})
    root = ET.fromstring(result.svg)
    assert len(result.svg.encode()) < 30_000
    tags = [(el.tag.split("}")[1], el.attrib) for el in root.iter()]
    assert "script" not in {tag for tag, _ in tags}
    assert not [name for _, a in tags for name in a if name.lower().startswith("on")]
    lanes = [a["data-node"] for tag, a in tags if tag == "line" and "data-node" in a]
    assert lanes == NAMES
    dots = [a for tag, a in tags if "ck-ev" in a.get("class", "").split()]
    assert [(a["data-node"], float(a["data-t"])) for a in dots] == [
        (e["node"], e["t"]) for e in result.events
    ]
    arrows = [a for tag, a in tags if "data-sent" in a]
    assert len(arrows) == sum(m["status"] == "delivered" for m in result.messages)
    assert root.attrib["data-time-x0"] and root.attrib["data-duration"] == "3000"


def test_default_svg_matches_the_golden_file():
    svg = run({}).svg
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(svg, encoding="utf-8")
    assert GOLDEN.read_text(encoding="utf-8") == svg


# Label widths as the test estimates them: the widest character measured in Chromium with
# its fallback fonts, 16px for Lamport times, 13px for vectors.
CHAR = {"ck-n": 10.2, "ck-v": 6.9}


def labels_by_lane(result: demos.Result) -> dict[tuple[str, str], list[tuple]]:
    """Give each (lane, label class)'s labels as (event id, text, left, right), in x order."""
    out: dict[tuple[str, str], list[tuple]] = {}
    dots = [
        g
        for g in ET.fromstring(result.svg).iter(f"{SVG}g")
        if "ck-ev" in g.get("class", "").split()
    ]
    for event, g in zip(result.events, dots, strict=True):
        for text in g.iter(f"{SVG}text"):
            cls = text.get("class").split()[-1]
            x, half = float(text.get("x")), CHAR[cls] * len(text.text) / 2
            out.setdefault((event["node"], cls), []).append(
                (event["id"], text.text, x - half, x + half)
            )
    return out


@pytest.mark.parametrize(
    "params",
    [
        {"seed": 1, "rate": 5},
        {"seed": 2, "rate": 5},
        {"seed": 11, "rate": 5},
        {"seed": 1, "rate": 10, "processes": 8},
        {"seed": 6, "rate": 10, "processes": 8},
        {"seed": 3, "rate": 10, "processes": 4},
    ],
)
def test_labels_never_overlap_and_the_focus_is_always_labelled(params):
    result = run(params)
    shown = labels_by_lane(result)
    by_id = {e["id"]: e for e in result.events}
    for (node, cls), labels in shown.items():
        for event_id, text, _, _ in labels:
            e = by_id[event_id]
            vector = "[" + ",".join(str(e["vector"][n]) for n in result.nodes) + "]"
            assert e["node"] == node and text == (str(e["lamport"]) if cls == "ck-n" else vector)
        for (a, _, _, a_right), (b, _, b_left, _) in zip(labels, labels[1:], strict=False):
            assert a_right <= b_left, f"{node}: labels of events {a} and {b} overlap"
    focus = result.extra["focus"]["event"]
    rows = ["ck-n", "ck-v"] if len(result.nodes) <= 4 else ["ck-n"]  # long vectors: panel only
    assert {cls for _, cls in shown} == set(rows)
    for cls in rows:
        assert focus in [label[0] for label in shown[(by_id[focus]["node"], cls)]]


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"seed": 6},
        {"seed": 4, "processes": 4, "rate": 6},
        {"seed": 1, "rate": 10, "processes": 8},
    ],
)
def test_a_label_is_left_out_only_where_a_kept_one_is_in_its_way(params):
    result = run(params)
    shown = labels_by_lane(result)
    root = ET.fromstring(result.svg)
    x0, x1 = float(root.get("data-time-x0")), float(root.get("data-time-x1"))
    rows = [
        ("ck-n", lambda e: str(e["lamport"])),
        ("ck-v", lambda e: str(list(e["vector"].values()))),
    ]
    rows = rows if len(result.nodes) <= 4 else rows[:1]
    for k, (cls, text_of) in enumerate(rows):
        kept = {label[0] for (_, c), labels in shown.items() if c == cls for label in labels}
        for e in result.events:
            if e["id"] in kept:
                continue
            x = x0 + (x1 - x0) * e["t"] / result.params["duration"]
            size = len(text_of(e).replace(" ", ""))
            _, width, gap, _ = ROWS[k]  # the room the figure gives a label
            in_way = [
                text
                for _, text, left, right in shown.get((e["node"], cls), [])
                if abs(x - (left + right) / 2) < width * (size + len(text)) / 2 + gap
            ]
            assert in_way or x + (width * size + gap) / 2 > x1 + 16, (cls, e)  # past the edge


def test_a_crowded_figure_keeps_fewer_labels():
    quiet, crowded = run({}), run({"seed": 1, "rate": 10, "processes": 8})

    def share(result: demos.Result) -> float:
        shown = labels_by_lane(result)
        kept = sum(len(labels) for (_, cls), labels in shown.items() if cls == "ck-n")
        return kept / len(result.events)

    assert 0.25 < share(crowded) < 0.75 < share(quiet)


# -- the state panel shows the trace's clocks at any moment -----------------------------------


def expected_clocks(trace: dict, node: str, t: float) -> tuple[str, str, str]:
    """Give (role, L text, V text) of `node` at `t`, replayed from the trace by hand."""
    down = any(
        d["node"] == node and d["start"] <= t and (d["end"] is None or t < d["end"])
        for d in trace["downtime"]
    )
    lamport, vector = 0, [0] * len(trace["nodes"])
    for e in trace["events"]:
        if e["node"] == node and e["t"] <= t:
            lamport, vector = e["lamport"], [e["vector"][n] for n in trace["nodes"]]
    return ("down" if down else "up", f"L={lamport}", "V=[" + ",".join(map(str, vector)) + "]")


PANEL_RUNS = [
    {"seed": 1},
    {"seed": 4, "duration": 2000, "faults": "crash n2@600; restart n2@1400"},
    {
        "seed": 9,
        "processes": 5,
        "rate": 4,
        "drop": 0.2,
        "duplicate": 0.3,
        "reorder": 800,
        "faults": "crash n1@500; crash n4@1000; restart n4@2200; partition n2|n3,n5@700-1900",
    },
    {"seed": 12, "processes": 8, "rate": 10},
]


@pytest.mark.parametrize("params", PANEL_RUNS)
def test_the_panel_shows_each_process_clocks_at_20_random_moments(params):
    result = run(params)
    trace = result.trace()
    rng = random.Random(params["seed"])
    moments = [rng.uniform(0, trace["duration"]) for _ in range(20)]
    moments += [d["start"] + 1 for d in trace["downtime"]]  # inside every downtime too
    for t in moments:
        assert roles_at(result.svg, t) == {
            n: [expected_clocks(trace, n, t)[0]] for n in trace["nodes"]
        }, t
        shown = {g.get("data-node"): tuple(texts(g)[:2]) for g in stretches_at(result.svg, t)}
        assert shown == {n: expected_clocks(trace, n, t)[1:] for n in trace["nodes"]}, t


def test_without_a_player_the_panel_shows_the_end_of_the_run():
    result = run({"seed": 4, "duration": 2000, "faults": "crash n2@600"})
    root = ET.fromstring(result.svg)
    static = [g for g in root.iter(f"{SVG}g") if g.get("class") == "dm-state"]
    trace = result.trace()
    assert [
        (g.get("data-node"), g.find(f".//{SVG}rect").get("data-role"), *texts(g)[:2])
        for g in static
    ] == [(n, *expected_clocks(trace, n, 2000.0)) for n in NAMES]
    assert [g.get("data-role") for g in root.iter() if g.get("data-role")].count("down") >= 1


def test_each_change_of_clocks_says_what_happened():
    result = run({"seed": 4, "duration": 2000, "faults": "crash n2@600; restart n2@1400"})
    said = {
        (g.get("data-node"), g.get("data-t")): g.get("data-say")
        for g in ET.fromstring(result.svg).iter(f"{SVG}g")
        if "dm-state" in g.get("class", "").split()
    }
    for e in result.events:
        vector = "[" + ",".join(str(e["vector"][n]) for n in NAMES) + "]"
        what = {
            "local": "has a local event",
            "send": f"sends to {e.get('peer')}",
            "recv": f"receives from {e.get('peer')}",
        }[e["kind"]]
        assert (
            said[(e["node"], tnum(e["t"]))] == f"{e['node']} {what}: L={e['lamport']}, V={vector}"
        )
    assert said[("n2", "600")].startswith("n2 is down; its clocks are kept: L=")
    assert said[("n2", "1400")].startswith("n2 restarts: L=")
