"""The simulator core: ordering, timers, loss, partitions, crashes, and clean reruns."""

from dataclasses import dataclass

from demos.faults import parse_schedule
from demos.sim import Node, Simulation


@dataclass(frozen=True)
class Ping:
    n: int


class Echo(Node):
    """Sends a Ping to every peer each 10 ms; records what arrives."""

    def __init__(self, name, sim, peers):
        super().__init__(name, sim)
        self.peers = peers
        self.got: list[tuple[float, str, int]] = []
        self.count = 0
        self.restarts = 0

    def on_start(self):
        self.set_timer(10, self.tick)

    def tick(self):
        self.count += 1
        for peer in self.peers:
            self.send(peer, Ping(self.count))
        self.set_timer(10, self.tick)

    def on_Ping(self, msg, src, msg_id):
        self.got.append((self.sim.now, src, msg.n))

    def on_crash(self):
        self.count = 0

    def on_restart(self):
        self.restarts += 1
        self.set_timer(10, self.tick)


def cluster(seed=1, drop=0.0, faults="", names=("n1", "n2", "n3"), until=200.0):
    sim = Simulation(seed, latency=(1.0, 5.0), drop=drop)
    for name in names:
        sim.add(Echo(name, sim, [p for p in names if p != name]))
    sim.apply_faults(parse_schedule(faults, list(names), until))
    sim.run(until)
    return sim


def test_events_run_in_time_order_with_fifo_ties():
    sim = Simulation(0)
    seen = []
    sim.at(5, seen.append, "b")
    sim.at(1, seen.append, "a")
    sim.at(5, seen.append, "c")
    cancelled = sim.at(3, seen.append, "x")
    cancelled.cancel()
    sim.run_until(10)
    assert seen == ["a", "b", "c"]
    assert sim.now == 10


def test_messages_arrive_within_the_latency_range():
    sim = cluster()
    delivered = [m for m in sim.trace.messages if m.status == "delivered"]
    assert delivered and all(1.0 <= m.recv - m.sent <= 5.0 for m in delivered)
    assert all(m.status in ("delivered", "lost") for m in sim.trace.messages)


def test_drop_loses_about_that_share():
    sim = cluster(drop=0.3, until=2000)
    msgs = sim.trace.messages
    share = sum(m.status == "dropped" for m in msgs) / len(msgs)
    assert 0.25 < share < 0.35


def test_partition_blocks_across_groups_and_heals():
    sim = cluster(faults="partition n1|n2,n3@50-120")
    for m in sim.trace.messages:
        crosses = (m.src == "n1") != (m.dst == "n1")
        if crosses and 55 <= m.sent < 115:
            assert m.status == "lost" and m.reason == "partition"
        if m.sent > 125 and m.recv is not None:
            assert m.status == "delivered"
    assert sim.partitions == [{"start": 50.0, "end": 120.0, "groups": [["n1"], ["n2", "n3"]]}]
    assert any(
        m.src == "n1" and m.status == "delivered" and m.sent > 125 for m in sim.trace.messages
    )


def test_crashed_node_is_silent_until_restart():
    sim = cluster(faults="crash n2@50; restart n2@100")
    n2 = sim.nodes["n2"]
    sent = [m.sent for m in sim.trace.messages if m.src == "n2"]
    assert not [t for t in sent if 50 < t < 100]
    assert any(t > 100 for t in sent) and n2.restarts == 1
    lost = [m for m in sim.trace.messages if m.dst == "n2" and m.reason == "receiver down"]
    assert lost and all(50 <= m.sent < 100 for m in lost)
    kinds = [(e["node"], e["kind"]) for e in sim.trace.events_json()]
    assert kinds == [("n2", "crash"), ("n2", "restart")]


def test_same_seed_same_run_and_reruns_start_clean():
    def fingerprint(seed):
        sim = cluster(seed=seed, drop=0.2, faults="crash n3@40; partition n1|n2@60-90")
        return sim.messages_json(), sim.trace.events_json()

    first = fingerprint(7)
    assert fingerprint(8) != first
    assert fingerprint(7) == first


class Quiet(Node):
    """Sends nothing on its own; records what arrives."""

    def __init__(self, name, sim):
        super().__init__(name, sim)
        self.got: list[int] = []

    def on_Ping(self, msg, src, msg_id):
        self.got.append(msg.n)


def test_a_message_in_flight_when_a_partition_starts_is_lost():
    sim = Simulation(1, latency=(10.0, 10.0))
    n1, n2 = sim.add(Quiet("n1", sim)), sim.add(Quiet("n2", sim))
    sim.apply_faults(parse_schedule("partition n1|n2@20-100", ["n1", "n2"], 200.0))
    sim.at(15.0, n1.send, "n2", Ping(1))  # connected when sent, cut off when it arrives
    sim.at(15.0, n2.send, "n1", Ping(2))
    sim.at(5.0, n1.send, "n2", Ping(3))  # arrives at 15, before the split: delivered
    sim.run(200.0)
    outcome = {
        m.label: (m.status, m.reason if m.status != "delivered" else None)
        for m in sim.trace.messages
    }
    assert outcome == {
        "Ping(n=1)": ("lost", "partition"),
        "Ping(n=2)": ("lost", "partition"),
        "Ping(n=3)": ("delivered", None),
    }
    assert n2.got == [3] and n1.got == []
