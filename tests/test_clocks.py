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

from demos import ParamError, clocks
from demos.clocks import Process, Stamp, lamport_receive, vector_receive, vector_tick
from demos.clocks_svg import draw
from demos.result import Check
from demos.sim import Timer

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden" / "clocks-default.svg"
NAMES = ["n1", "n2", "n3"]


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

    def send(self, src: str, dst: str, msg: object, *, label: str | None = None,
             send_event: int | None = None) -> int:
        self.sent.append(Sent(len(self.sent), src, dst, msg, send_event))
        return len(self.sent) - 1

    def take(self, dst: str) -> Sent:
        assert self.taken < len(self.sent), f"expected a message to {dst}, none was sent"
        sent = self.sent[self.taken]
        self.taken += 1
        assert sent.dst == dst, f"expected a message to {dst}, got {sent}"
        return sent

    def unseen(self) -> list[Sent]:
        return self.sent[self.taken:]


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
    assert (event["kind"], event["msg"], event["peer"], event["lamport"]) == ("send", msg_id,
                                                                              "n3", 2)


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
        items.append(f"partition {','.join(shuffled[:cut])}|{','.join(shuffled[cut:])}"
                     f"@{start:.0f}-{end:.0f}")
    return "; ".join(items)


def random_params(seed: int) -> dict:
    rng = random.Random(seed)
    processes = rng.randint(2, 8)
    duration = rng.choice((500.0, 1500.0, 3000.0, 6000.0))
    names = [f"n{i}" for i in range(1, processes + 1)]
    return {"seed": seed, "processes": processes, "duration": duration,
            "rate": round(rng.uniform(0.5, 6.0), 1), "sends": round(rng.random(), 2),
            "drop": rng.choice((0.0, 0.0, 0.1, 0.4)),
            "faults": random_faults(rng, names, duration)}


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
        assert events[m["send_event"]]["msg"] == m["id"]
        assert (m["status"] == "delivered") == (m["recv_event"] is not None)


def check_seed(seed: int) -> None:
    params = random_params(seed)
    try:
        result = clocks.run(params)
    except ParamError as err:  # only a run with no events at all may refuse
        assert "no events" in str(err), err
        return
    assert result.ok, (params, result.text())
    trace = json.loads(result.to_json())
    assert_contract(trace)
    assert [c.name for c in clocks.checks(trace)] == [clocks.LAMPORT, clocks.VECTOR]
    assert all(c.ok for c in clocks.checks(trace))
    again = clocks.run(params)
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


def test_faults_show_in_the_trace():
    result = clocks.run({"faults": "crash n2@1000; restart n2@2000", "drop": 0.3, "seed": 3})
    trace = result.trace()
    assert trace["downtime"] == [{"node": "n2", "start": 1000.0, "end": 2000.0}]
    assert not [e for e in trace["events"] if e["node"] == "n2" and 1000 < e["t"] < 2000]
    assert {m["status"] for m in trace["messages"]} >= {"delivered", "dropped"}
    assert 'class="dm-down"' in result.svg and 'class="dm-msg-lost"' in result.svg


# -- each check can fail, and names the events ---------------------------------------------

@pytest.fixture(scope="module")
def real_trace() -> dict:
    trace = clocks.run({"processes": 4, "seed": 5}).trace()
    assert all(c["ok"] for c in trace["checks"])
    return trace


def with_successor(trace: dict) -> dict:
    """Give an event that has a later event on the same process."""
    events = trace["events"]
    return next(e for e in events
                if any(f["node"] == e["node"] and f["id"] > e["id"] for f in events))


def name(event: dict) -> str:
    return f"{event['node']}:{event['seq']} (event {event['id']})"


def test_lamport_check_fails_on_a_clock_that_runs_ahead(real_trace):
    trace = copy.deepcopy(real_trace)
    victim = with_successor(trace)
    victim["lamport"] = 10**6
    lamport, vector = clocks.checks(trace)
    assert not lamport.ok and vector.ok
    assert name(victim) in lamport.detail
    assert lamport.node is not None and lamport.t is not None


def test_vector_check_fails_on_a_raised_entry(real_trace):
    trace = copy.deepcopy(real_trace)
    victim = with_successor(trace)
    other = next(n for n in trace["nodes"] if n != victim["node"])
    victim["vector"][other] += 1000
    lamport, vector = clocks.checks(trace)
    assert lamport.ok and not vector.ok
    assert name(victim) in vector.detail


def tiny_trace(send_vector: list[int], recv_vector: list[int], lamports=(1, 2)) -> dict:
    """Give a hand-made trace: n1 sends message 0, n2 receives it."""
    def event(i, t, node, kind, lamport, vector):
        return {"id": i, "t": t, "node": node, "kind": kind, "seq": 1, "msg": 0,
                "lamport": lamport, "vector": dict(zip(["n1", "n2"], vector, strict=True))}
    return {"nodes": ["n1", "n2"],
            "events": [event(0, 1.0, "n1", "send", lamports[0], send_vector),
                       event(1, 9.0, "n2", "recv", lamports[1], recv_vector)],
            "messages": [{"id": 0, "src": "n1", "dst": "n2", "sent": 1.0, "recv": 9.0,
                          "status": "delivered", "label": "", "send_event": 0,
                          "recv_event": 1}]}


def test_checks_on_a_hand_made_trace_name_the_pair():
    assert [c.ok for c in clocks.checks(tiny_trace([1, 0], [1, 1]))] == [True, True]
    lamport = clocks.checks(tiny_trace([1, 0], [1, 1], lamports=(2, 2)))[0]
    assert not lamport.ok
    assert "n1:1 (event 0) happens before n2:1 (event 1)" in lamport.detail
    assert (lamport.t, lamport.node) == (9.0, "n2")
    vector = clocks.checks(tiny_trace([1, 0], [0, 1]))[1]
    assert not vector.ok
    assert "a happens before b but V(a) is not below V(b)" in vector.detail
    assert "n1:1 (event 0) [1,0]" in vector.detail and "n2:1 (event 1) [0,1]" in vector.detail


def test_vector_check_fails_when_concurrent_events_look_ordered(real_trace):
    trace = copy.deepcopy(real_trace)
    cause = clocks.causality(trace)
    everyone = (1 << len(cause.events)) - 1
    # An event with nothing before it and something concurrent with it.
    first = next(i for i in range(len(cause.events))
                 if not cause.past[i] and cause.future(i) | (1 << i) != everyone)
    victim = trace["events"][first]
    for node in victim["vector"]:
        victim["vector"][node] = 0
    vector = clocks.checks(trace)[1]
    assert not vector.ok
    assert name(victim) in vector.detail and "does not happen before" in vector.detail


def test_checks_fail_on_a_receive_without_a_send(real_trace):
    trace = copy.deepcopy(real_trace)
    receive = next(e for e in trace["events"] if e["kind"] == "recv")
    receive["msg"] = 10**6
    assert [c.ok for c in clocks.checks(trace)] == [False, False]
    assert name(receive) in clocks.checks(trace)[0].detail


def test_a_failing_check_is_marked_in_the_svg(real_trace):
    svg = draw(names=real_trace["nodes"], events=real_trace["events"],
               messages=real_trace["messages"], downtime=[], partitions=[],
               focus=real_trace["focus"], duration=real_trace["duration"], title="t",
               summary="s", checks=[Check(clocks.LAMPORT, False, "bad", t=1000.0, node="n2")])
    assert 'class="dm-violation" data-check="Lamport condition" data-node="n2"' in svg


# -- params, focus, CLI, SVG ----------------------------------------------------------------

@pytest.mark.parametrize(("given", "culprit"), [
    ({"processes": 9}, "9"),
    ({"processes": 1}, "processes"),
    ({"focus": "n9:1"}, "n9"),
    ({"focus": "banana"}, "banana"),
    ({"focus": "n2:0"}, "n2:0"),
    ({"focus": "n2:x"}, "n2:x"),
    ({"rate": 0}, "rate"),
    ({"faults": "crash n4@100"}, "n4"),
])
def test_bad_params_name_the_culprit(given, culprit):
    with pytest.raises(ParamError, match=culprit):
        clocks.run(given)


def test_a_run_without_events_blames_the_rate_not_the_focus():
    with pytest.raises(ParamError) as err:
        clocks.run({"rate": 0.1, "duration": 100, "processes": 2})
    assert str(err.value).startswith("rate:") and "no events" in str(err.value)


def test_focus_past_the_last_event_shows_the_last_one_and_says_so():
    result = clocks.run({"focus": "n2:500"})
    last = max((e for e in result.events if e["node"] == "n2"), key=lambda e: e["seq"])
    assert result.extra["focus"]["name"] == f"n2:{last['seq']}"
    assert f"focus n2:{last['seq']} (n2:500 is not in this run)" in result.summary


def test_focus_picks_the_event_and_splits_the_rest():
    result = clocks.run({"focus": "n2:3"})
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
    return subprocess.run([sys.executable, "-m", "demos", "run", "clocks", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_cli_json_follows_the_trace_contract():
    done = run_cli("--format", "json")
    assert done.returncode == 0, done.stderr
    trace = json.loads(done.stdout)
    assert {"schema", "demo", "params", "nodes", "duration", "events", "messages",
            "checks"} <= set(trace)
    assert (trace["schema"], trace["demo"], trace["nodes"]) == (1, "clocks", NAMES)
    assert {"id", "t", "node", "kind", "lamport", "vector"} <= set(trace["events"][0])
    assert {"id", "src", "dst", "sent", "recv", "status", "label", "send_event",
            "recv_event"} <= set(trace["messages"][0])
    assert_contract(trace)
    assert all(c["ok"] for c in trace["checks"])


def test_cli_rejects_a_bad_value_in_one_line():
    done = run_cli("--set", "processes=9", "--format", "text")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "processes" in done.stderr


def test_svg_is_safe_small_and_annotated():
    svg = clocks.run({}).svg
    root = ET.fromstring(svg)
    assert len(svg.encode()) < 30_000
    tags = [(el.tag.split("}")[1], el.attrib) for el in root.iter()]
    assert "script" not in {tag for tag, _ in tags}
    assert not [name for _, a in tags for name in a if name.lower().startswith("on")]
    lanes = [a["data-node"] for tag, a in tags if tag == "g" and "ck-ev" not in
             a.get("class", "") and "data-node" in a and "data-t" not in a]
    assert lanes == NAMES
    assert sum(1 for tag, a in tags if "ck-ev" in a.get("class", "") and "data-t" in a) == \
        len(clocks.run({}).events)
    assert root.attrib["data-time-x0"] and root.attrib["data-duration"] == "3000"


def test_default_svg_matches_the_golden_file():
    svg = clocks.run({}).svg
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(svg, encoding="utf-8")
    assert GOLDEN.read_text(encoding="utf-8") == svg


def lamport_boxes(svg: str) -> dict[str, list[tuple[str, float, float, float, float]]]:
    """Give each lane's Lamport labels as (text, left, top, right, bottom), 10px text."""
    lanes: dict[str, list] = {}
    for group in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}g"):
        if "ck-ev" not in group.get("class", "") or "data-node" not in group.attrib:
            continue
        for text in group.iter("{http://www.w3.org/2000/svg}text"):
            if "ck-v" in text.get("class", ""):
                continue
            x, y, half = float(text.get("x")), float(text.get("y")), 6.5 * len(text.text) / 2
            lanes.setdefault(group.get("data-node"), []).append(
                (text.text, x - half, y - 10, x + half, y))
    return lanes


@pytest.mark.parametrize("seed", [1, 2, 5, 11])
def test_lamport_labels_on_a_lane_never_overlap(seed):
    result = clocks.run({"seed": seed, "rate": 5})
    lanes = lamport_boxes(result.svg)
    shown = sorted((node, int(box[0])) for node, boxes in lanes.items() for box in boxes)
    assert shown == sorted((e["node"], e["lamport"]) for e in result.events)
    for node, boxes in lanes.items():
        for i, (a, a_left, a_top, a_right, a_bottom) in enumerate(boxes):
            for b, b_left, b_top, b_right, b_bottom in boxes[i + 1:]:
                apart = (a_right <= b_left or b_right <= a_left
                         or a_bottom <= b_top or b_bottom <= a_top)
                assert apart, f"{node}: Lamport labels {a} and {b} overlap"
