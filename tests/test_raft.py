"""The Raft demo: single-server rules through a fake network, then whole runs over many seeds."""

from __future__ import annotations

import copy
import json
import os
import random
import re
from pathlib import Path
from xml.etree import ElementTree

import pytest
from svg_moments import SVG, roles_at, stretches_at, texts

import demos
from demos import ParamError, raft
from demos.faults import Crash, Partition, Restart, format_schedule
from demos.raft import (
    AppendEntries,
    AppendEntriesReply,
    Entry,
    RaftServer,
    RequestVote,
    RequestVoteReply,
)
from demos.raft_draw import draw
from demos.sim import Simulation

GOLDEN = Path(__file__).parent / "golden" / "raft-default.svg"


def run(params: dict) -> demos.Result:
    return demos.run("raft", params)


def checks(trace: dict) -> list:
    return [check(trace) for check in raft.CHECKS]


# -- a fake network that makes every test account for what the server sent ------------------
class FakeNetwork:
    """Records sends instead of delivering them; a test must take every message it caused."""

    def __init__(self) -> None:
        self.outbox: list[tuple[str, object, str]] = []

    def send(
        self,
        src: str,
        dst: str,
        msg: object,
        *,
        label: str | None = None,
        send_event: int | None = None,
    ) -> int:
        self.outbox.append((dst, msg, label or ""))
        return len(self.outbox) - 1

    def take(self, dst: str, kind: type) -> object:
        """Give (and forget) the first message of `kind` sent to `dst`."""
        for i, (to, msg, _) in enumerate(self.outbox):
            if to == dst and isinstance(msg, kind):
                del self.outbox[i]
                return msg
        raise AssertionError(f"no {kind.__name__} to {dst}; sent: {self.outbox}")

    def take_each(self, dsts: list[str], kind: type) -> dict[str, object]:
        return {dst: self.take(dst, kind) for dst in dsts}


@pytest.fixture
def net():
    network = FakeNetwork()
    yield network
    assert network.outbox == [], f"messages the test did not look at: {network.outbox}"


PEERS = ["n2", "n3", "n4", "n5"]


def make_server(
    net: FakeNetwork, *, term: int = 0, log: list[Entry] | None = None
) -> tuple[Simulation, RaftServer]:
    sim = Simulation(0)
    sim.network = net
    server = sim.add(RaftServer("n1", sim, list(PEERS)))
    server.current_term = term
    server.log = list(log or [])
    server.on_start()
    return sim, server


def make_leader(net: FakeNetwork, *, term: int, log: list[Entry]) -> tuple[Simulation, RaftServer]:
    """Give a server that won the election of term+1 with votes from n2 and n3."""
    sim, server = make_server(net, term=term, log=log)
    sim.run_until(ELECTION_MAX)
    net.take_each(PEERS, RequestVote)
    for voter in ("n2", "n3"):
        server.deliver(RequestVoteReply(term + 1, True), voter, 0)
    assert server.role == "leader"
    net.take_each(PEERS, AppendEntries)
    return sim, server


ELECTION_MAX = raft.ELECTION_TIMEOUT_MS[1]


def events(server: RaftServer, kind: str) -> list[dict]:
    return [e for e in server.sim.trace.events if e["kind"] == kind]


# -- elections ---------------------------------------------------------------------------
def test_follower_grants_one_vote_per_term(net):
    _, server = make_server(net)
    server.deliver(RequestVote(1, "n2", 0, 0), "n2", 0)
    assert net.take("n2", RequestVoteReply) == RequestVoteReply(1, True)
    server.deliver(RequestVote(1, "n3", 0, 0), "n3", 1)
    assert net.take("n3", RequestVoteReply) == RequestVoteReply(1, False)
    server.deliver(RequestVote(1, "n2", 0, 0), "n2", 2)  # a retry of the same candidate
    assert net.take("n2", RequestVoteReply) == RequestVoteReply(1, True)
    server.deliver(RequestVote(2, "n3", 0, 0), "n3", 3)  # a new term frees the vote
    assert net.take("n3", RequestVoteReply) == RequestVoteReply(2, True)
    assert server.voted_for == "n3"


def test_stale_term_is_rejected(net):
    _, server = make_server(net, term=3)
    server.deliver(RequestVote(2, "n2", 9, 2), "n2", 0)
    assert net.take("n2", RequestVoteReply) == RequestVoteReply(3, False)
    server.deliver(AppendEntries(2, "n2", 0, 0, (Entry(2, "x=1"),), 1), "n2", 1)
    assert net.take("n2", AppendEntriesReply).success is False
    assert server.log == [] and server.leader_id is None and server.current_term == 3


def test_candidate_with_an_older_log_gets_no_vote(net):
    _, server = make_server(net, term=2, log=[Entry(1, "a"), Entry(2, "b")])
    server.deliver(RequestVote(3, "n2", 5, 1), "n2", 0)  # longer, but older last term
    assert net.take("n2", RequestVoteReply) == RequestVoteReply(3, False)
    server.deliver(RequestVote(3, "n3", 1, 2), "n3", 1)  # same last term, shorter
    assert net.take("n3", RequestVoteReply) == RequestVoteReply(3, False)
    server.deliver(RequestVote(3, "n4", 2, 2), "n4", 2)  # as up to date
    assert net.take("n4", RequestVoteReply) == RequestVoteReply(3, True)


def test_timeout_starts_an_election_and_a_majority_makes_a_leader(net):
    sim, server = make_server(net, term=4)
    sim.run_until(raft.ELECTION_TIMEOUT_MS[0] - 1)
    assert server.role == "follower"
    sim.run_until(ELECTION_MAX)
    votes = net.take_each(PEERS, RequestVote)
    assert set(votes.values()) == {RequestVote(5, "n1", 0, 0)}
    server.deliver(RequestVoteReply(5, True), "n2", 0)
    server.deliver(RequestVoteReply(5, True), "n2", 1)  # a duplicate counts once
    assert server.role == "candidate"
    server.deliver(RequestVoteReply(5, True), "n3", 2)
    assert server.role == "leader"
    sent = net.take_each(PEERS, AppendEntries)
    assert sent["n4"].entries == (Entry(5, raft.NOOP),)
    sim.run_until(sim.now + raft.HEARTBEAT_MS)
    assert net.take_each(PEERS, AppendEntries)["n2"].term == 5
    roles = [(e["role"], e["term"]) for e in events(server, "role")]
    assert roles == [("follower", 4), ("candidate", 5), ("leader", 5)]


def test_any_higher_term_turns_a_leader_into_a_follower(net):
    _, server = make_leader(net, term=1, log=[])
    server.deliver(AppendEntriesReply(7, False, 0, 0), "n4", 0)
    assert (server.role, server.current_term, server.voted_for) == ("follower", 7, None)
    last = events(server, "role")[-1]
    assert (last["role"], last["term"]) == ("follower", 7)


# -- AppendEntries, follower side -----------------------------------------------------------
def test_consistency_check_rejects_a_mismatched_prev_log_term(net):
    _, server = make_server(net, term=2, log=[Entry(1, "a"), Entry(1, "b"), Entry(2, "c")])
    server.deliver(AppendEntries(3, "n2", 3, 3, (Entry(3, "d"),), 0), "n2", 0)
    assert net.take("n2", AppendEntriesReply) == AppendEntriesReply(3, False, 0, 3)
    assert [e.command for e in server.log] == ["a", "b", "c"]
    assert server.leader_id == "n2"  # rejected entries, but a legitimate leader all the same


def test_conflicting_suffix_is_cut_and_replaced(net):
    log = [Entry(1, "a"), Entry(1, "b"), Entry(2, "c"), Entry(2, "d")]
    _, server = make_server(net, term=2, log=log)
    server.deliver(AppendEntries(3, "n2", 2, 1, (Entry(3, "e"),), 0), "n2", 0)
    assert net.take("n2", AppendEntriesReply) == AppendEntriesReply(3, True, 3, 3)
    assert server.log == [Entry(1, "a"), Entry(1, "b"), Entry(3, "e")]


def test_a_late_duplicate_does_not_cut_newer_entries(net):
    _, server = make_server(net, term=1, log=[Entry(1, "a"), Entry(1, "b"), Entry(1, "c")])
    server.deliver(AppendEntries(1, "n2", 0, 0, (Entry(1, "a"),), 0), "n2", 0)
    assert net.take("n2", AppendEntriesReply).success
    assert len(server.log) == 3


def test_follower_commits_up_to_leader_commit_and_applies_in_order(net):
    _, server = make_server(net, term=1)
    entries = (Entry(1, "x=1"), Entry(1, "y=2"), Entry(1, "z=3"))
    server.deliver(AppendEntries(1, "n2", 0, 0, entries[:2], 5), "n2", 0)
    net.take("n2", AppendEntriesReply)
    assert server.commit_index == 2  # not past the last entry this message brought
    server.deliver(AppendEntries(1, "n2", 2, 1, entries[2:], 3), "n2", 1)
    net.take("n2", AppendEntriesReply)
    applied = [(e["index"], e["command"]) for e in events(server, "commit")]
    assert applied == [(1, "x=1"), (2, "y=2"), (3, "z=3")]


# -- AppendEntries, leader side --------------------------------------------------------------
def test_leader_steps_next_index_back_on_reject(net):
    sim, server = make_leader(net, term=1, log=[Entry(1, "a"), Entry(1, "b")])
    assert server.next_index["n2"] == 3
    server.deliver(AppendEntriesReply(2, False, 0, 5), "n2", 0)  # long, conflicting log
    assert server.next_index["n2"] == 2
    sim.run_until(sim.now + raft.HEARTBEAT_MS)
    retry = net.take_each(PEERS, AppendEntries)["n2"]
    assert (retry.prev_log_index, retry.prev_log_term) == (1, 1)
    assert retry.entries == (Entry(1, "b"), Entry(2, raft.NOOP))
    server.deliver(AppendEntriesReply(2, False, 0, 0), "n2", 1)  # empty log: skip to its end
    assert server.next_index["n2"] == 1
    server.deliver(AppendEntriesReply(2, True, 3, 3), "n2", 2)
    assert (server.match_index["n2"], server.next_index["n2"]) == (3, 4)


def test_leader_does_not_commit_an_old_term_entry_by_counting_replicas(net):
    _, server = make_leader(net, term=2, log=[Entry(2, "x=1")])
    for peer in ("n2", "n3", "n4"):  # a majority holds index 1, from term 2
        server.deliver(AppendEntriesReply(3, True, 1, 1), peer, 0)
    assert server.commit_index == 0
    for peer in ("n2", "n3"):  # the term-3 no-op at index 2 reaches a majority
        server.deliver(AppendEntriesReply(3, True, 2, 2), peer, 1)
    assert server.commit_index == 2
    assert [e["index"] for e in events(server, "commit")] == [1, 2]


def test_leader_takes_each_client_command_once(net):
    _, server = make_leader(net, term=0, log=[])
    assert server.submit_command("x=1") == (True, "n1")
    net.take_each(PEERS, AppendEntries)
    assert server.submit_command("x=1") == (True, "n1")  # a retry adds nothing
    assert [e.command for e in server.log] == [raft.NOOP, "x=1"]


def test_follower_redirects_client_to_the_leader_it_knows(net):
    _, server = make_server(net, term=1)
    assert server.submit_command("x=1") == (False, None)
    server.deliver(AppendEntries(1, "n3", 0, 0, (), 0), "n3", 0)
    net.take("n3", AppendEntriesReply)
    assert server.submit_command("x=1") == (False, "n3")


def test_crash_keeps_persistent_state_only(net):
    sim, server = make_leader(net, term=1, log=[Entry(1, "a")])
    for peer in ("n2", "n3"):
        server.deliver(AppendEntriesReply(2, True, 2, 2), peer, 0)
    assert server.commit_index == 2
    sim.crash("n1")
    sim.restart("n1")
    assert (server.current_term, server.voted_for, len(server.log)) == (2, "n1", 2)
    assert (server.role, server.commit_index, server.last_applied) == ("follower", 0, 0)
    assert server.next_index == {} and server.match_index == {}
    sim.run_until(sim.now + raft.HEARTBEAT_MS * 2)  # the old heartbeat timer died with it


# -- whole runs ------------------------------------------------------------------------------
def random_schedule(rng: random.Random, names: list[str], duration: float) -> str:
    """Give a consistent schedule of crashes, restarts and (non-overlapping) partitions."""
    faults: list = []
    down: set[str] = set()
    t = 0.0
    for _ in range(rng.randint(0, 6)):
        t += rng.uniform(200, duration / 4)
        if t >= duration - 100:  # leave room for a partition to end after it starts
            break
        if rng.random() < 0.5:
            node = rng.choice(names)
            faults.append((Restart if node in down else Crash)(node, round(t)))
            down ^= {node}
        else:
            shuffled = rng.sample(names, len(names))
            cut = rng.randint(1, len(names) - 1)
            end = min(duration, t + rng.uniform(300, 4000))
            faults.append(
                Partition(
                    (tuple(sorted(shuffled[:cut])), tuple(sorted(shuffled[cut:]))),
                    round(t),
                    round(end),
                )
            )
            t = end
    return format_schedule(faults)


def random_params(seed: int) -> dict:
    rng = random.Random(seed)
    nodes = rng.randint(3, 7)
    names = [f"n{i}" for i in range(1, nodes + 1)]
    return {
        "seed": seed,
        "nodes": nodes,
        "drop": round(rng.uniform(0.0, 0.3), 2),
        "faults": random_schedule(rng, names, 10000.0),
        "requests": rng.randint(0, 20),
    }


def assert_safe(seeds: range) -> None:
    for seed in seeds:
        params = random_params(seed)
        failed = [c for c in run(params).checks if not c.ok]
        assert not failed, (params, failed)


def test_safety_holds_under_random_faults():
    assert_safe(range(100))  # thousands more in the slow variant


@pytest.mark.slow
def test_safety_holds_under_random_faults_many_seeds():
    assert_safe(range(300, 3300))


def test_liveness_holds_without_faults_at_default_params():
    for seed in range(100):
        result = run({"seed": seed})
        assert all(c.ok for c in result.checks), (seed, result.text())
        assert all(r["applied"] is not None for r in result.trace()["requests"])


def test_same_params_give_identical_json_and_svg():
    params = {
        "seed": 11,
        "nodes": 7,
        "drop": 0.1,
        "requests": 9,
        "faults": "crash n2@1500; restart n2@4000; partition n1,n2|n3,n4@5000-7000",
    }
    first = run(params)
    run(random_params(5))  # nothing may leak from one run into the next
    second = run(dict(params))
    assert first.to_json() == second.to_json()
    assert first.svg == second.svg
    assert run(params | {"seed": 12}).to_json() != first.to_json()


def test_trace_follows_the_contract():
    trace = json.loads(run({"seed": 3, "faults": "crash n2@2000; restart n2@5000"}).to_json())
    roles = [e for e in trace["events"] if e["kind"] == "role"]
    assert [e["node"] for e in roles if e["t"] == 0] == trace["nodes"]
    assert {e["role"] for e in roles} <= {"follower", "candidate", "leader"}
    assert all(isinstance(e["term"], int) for e in roles)
    commits = [e for e in trace["events"] if e["kind"] == "commit"]
    assert commits and all({"index", "term", "command"} <= e.keys() for e in commits)
    kinds = [(e["kind"], e["node"], e["t"]) for e in trace["events"]]
    assert ("crash", "n2", 2000.0) in kinds and ("restart", "n2", 5000.0) in kinds
    assert [e["t"] for e in trace["events"]] == sorted(e["t"] for e in trace["events"])
    assert set(trace["cluster"]) == set(trace["nodes"])
    assert [c["name"] for c in trace["checks"]] == [
        "Election safety",
        "Log matching",
        "State machine safety",
        "Leader completeness",
        "Liveness",
    ]


# -- the checks can fail ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def good_trace() -> dict:
    trace = run({"seed": 4, "requests": 5}).trace()
    assert all(c["ok"] for c in trace["checks"])
    return trace


def failed(trace: dict, name: str):
    check = next(c for c in checks(trace) if c.name == name)
    assert not check.ok, check
    return check


def test_election_safety_fails_on_two_leaders_in_a_term(good_trace):
    trace = copy.deepcopy(good_trace)
    leader = next(e for e in trace["events"] if e["kind"] == "role" and e["role"] == "leader")
    other = next(n for n in trace["nodes"] if n != leader["node"])
    trace["events"].append(leader | {"id": 999, "node": other, "t": leader["t"] + 5})
    trace["events"].sort(key=lambda e: (e["t"], e["id"]))  # as the contract keeps them
    check = failed(trace, "Election safety")
    assert (check.t, check.node) == (leader["t"] + 5, other)
    assert f"term {leader['term']}" in check.detail


def test_state_machine_safety_and_log_matching_fail_on_different_commands(good_trace):
    trace = copy.deepcopy(good_trace)
    commits = [e for e in trace["events"] if e["kind"] == "commit"]
    victim = [e for e in commits if e["index"] == 3][-1]  # not the first to apply index 3
    victim["command"] = "evil=1"
    check = failed(trace, "State machine safety")
    assert (check.t, check.node) == (victim["t"], victim["node"]) and "index 3" in check.detail
    check = failed(trace, "Log matching")
    assert "index 3" in check.detail and check.node is not None


def test_state_machine_safety_fails_on_the_same_command_applied_from_another_term(good_trace):
    # Raft's Figure 8: a later term's copy of a resent command replaced an applied entry.
    trace = copy.deepcopy(good_trace)
    commits = [e for e in trace["events"] if e["kind"] == "commit"]
    victim = [e for e in commits if e["index"] == 3][-1]
    victim["term"] += 1
    check = failed(trace, "State machine safety")
    assert (check.t, check.node) == (victim["t"], victim["node"])
    assert f"(term {victim['term']})" in check.detail and "index 3" in check.detail


def elect(trace: dict, node: str, log_change: dict) -> float:
    """Append a change to `node`'s log and then its election in a new term; give the time."""
    t = trace["duration"] - 1
    term = max(e["term"] for e in trace["events"] if e["kind"] == "role") + 1
    base = {"node": node, "t": t}
    trace["events"] += [
        base | {"id": 998, "kind": "log"} | log_change,
        base | {"id": 999, "kind": "role", "role": "leader", "term": term},
    ]
    return t


def test_leader_completeness_fails_on_a_leader_without_an_applied_entry(good_trace):
    trace = copy.deepcopy(good_trace)
    t = elect(trace, "n3", {"keep": 1, "entries": []})  # n3 lost everything after index 1
    check = failed(trace, "Leader completeness")
    assert (check.t, check.node) == (t, "n3") and "index 2" in check.detail


def test_leader_completeness_fails_on_an_applied_entry_replaced_by_another_term(good_trace):
    trace = copy.deepcopy(good_trace)
    first = next(e for e in trace["events"] if e["kind"] == "commit" and e["index"] == 2)
    t = elect(trace, "n2", {"keep": 1, "entries": [[first["term"] + 5, first["command"]]]})
    check = failed(trace, "Leader completeness")
    assert (check.t, check.node) == (t, "n2")
    assert f"({first['command']!r}, term {first['term']})" in check.detail


def test_log_matching_fails_on_diverging_final_logs(good_trace):
    trace = copy.deepcopy(good_trace)
    trace["cluster"]["n3"]["log"][1]["command"] = "evil=1"  # same terms, different prefix
    check = failed(trace, "Log matching")
    assert "index 2" in check.detail and check.node == "n3"
    assert check.t == trace["duration"]


def test_liveness_fails_when_a_command_never_reaches_a_server(good_trace):
    trace = copy.deepcopy(good_trace)
    command = trace["requests"][1]["command"]
    trace["events"] = [
        e
        for e in trace["events"]
        if not (e["kind"] == "commit" and e["node"] == "n5" and e["command"] == command)
    ]
    check = failed(trace, "Liveness")
    assert check.node == "n5" and command in check.detail
    assert check.t == trace["requests"][1]["submitted"]


def test_liveness_is_not_judged_with_faults_or_loss(good_trace):
    for change in ({"drop": 0.2}, {"faults": "crash n1@100"}):
        trace = copy.deepcopy(good_trace)
        trace["params"] |= change
        trace["events"] = [e for e in trace["events"] if e["kind"] != "commit"]
        check = next(c for c in checks(trace) if c.name == "Liveness")
        assert check.ok and check.detail == "not judged: faults present"


def partition_label_ys(svg: str) -> list[float]:
    return [float(y) for y in re.findall(r'<text[^>]*y="([\d.]+)"[^>]*>partition ', svg)]


def test_a_partition_label_that_would_overlap_the_one_before_is_raised_above_the_lanes():
    close = run({"seed": 1, "faults": "partition n1,n2|n3@3200-4000; partition n4|n1@4300-4650"})
    under, raised = partition_label_ys(close.svg)
    band_top = min(
        float(y) for y in re.findall(r'<rect class="dm-band"[^>]*y="([\d.]+)"', close.svg)
    )
    assert raised < band_top < under
    far = run({"seed": 1, "faults": "partition n1,n2|n3@1000-2000; partition n4|n1@6000-7000"})
    assert partition_label_ys(far.svg) == [under, under]


def test_svg_marks_a_failing_check(good_trace):
    trace = copy.deepcopy(good_trace)
    leader = next(e for e in trace["events"] if e["kind"] == "role" and e["role"] == "leader")
    other = next(n for n in trace["nodes"] if n != leader["node"])
    trace["events"].append(leader | {"id": 999, "node": other, "t": 1234.0})
    trace["events"].sort(key=lambda e: (e["t"], e["id"]))  # as the contract keeps them
    svg = draw(trace, checks(trace), "s")
    assert 'class="dm-violation"' in svg and 'data-check="Election safety"' in svg
    assert 'data-t="1234"' in svg


# -- params and the SVG ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "given",
    [
        {"nodes": 8},
        {"nodes": 2},
        {"requests": -1},
        {"requests": 21},
        {"nodes": "many"},
        {"faults": "crash n6@100"},
        {"leaders": 2},
        {"drop": 1.5},
    ],
)
def test_bad_params_raise_param_error(given):
    with pytest.raises(ParamError):
        run(given)


def test_svg_is_plain_within_budget_and_carries_data_attributes():
    svg = run({}).svg
    ElementTree.fromstring(svg)  # well-formed
    assert len(svg.encode()) <= 30_000
    assert "<script" not in svg and not re.search(r"\son[a-z]+=", svg)
    assert 'data-node="n1"' in svg and "data-t=" in svg and "data-time-x0" in svg
    heavy = run(
        {
            "nodes": 7,
            "duration": 30000,
            "drop": 0.3,
            "requests": 20,
            "faults": "crash n1@3000; restart n1@8000; crash n4@9000; "
            "partition n1,n2|n3,n4,n5@10000-15000; restart n4@20000",
        }
    ).svg
    # The panel keeps every server's state at every moment: 30 s of 30% loss means hundreds
    # of elections, each a stretch of state.
    assert len(heavy.encode()) <= 330_000


def test_default_svg_matches_golden():
    svg = run({}).svg
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(svg, encoding="utf-8")
    assert svg == GOLDEN.read_text(encoding="utf-8"), "rerun with UPDATE_GOLDEN=1 if intended"


# -- the state panel shows the trace's state at any moment ---------------------------------
def expected_state(trace: dict, node: str, t: float) -> tuple[str, int, list[int], int]:
    """Give (role, term, log terms, entries applied) of `node` at `t`, replayed from events."""
    role, term, log, applied = "follower", 0, [], 0
    for e in trace["events"]:
        if e["node"] != node or e["t"] > t:
            continue
        if e["kind"] == "role":
            role, term = e["role"], e["term"]
        elif e["kind"] == "crash":
            role, applied = "down", 0
        elif e["kind"] == "log":
            log = log[: e["keep"]] + [entry[0] for entry in e["entries"]]
        elif e["kind"] == "commit":
            applied = max(applied, e["index"])
    return role, term, log, applied


@pytest.mark.parametrize("seed", [1, 5, 9, 13])
def test_panel_shows_each_servers_state_at_random_moments(seed):
    params = {
        "seed": seed,
        "drop": 0.1,
        "requests": 6,
        "faults": "crash n2@2500; restart n2@6000; partition n1,n3|n2,n4,n5@4000-5000",
    }
    result = run(params)
    trace = result.trace()
    rng = random.Random(seed)
    for t in sorted(rng.uniform(0, trace["duration"] - 1) for _ in range(20)):
        shown = stretches_at(result.svg, t)
        for node in trace["nodes"]:
            role, term, log, applied = expected_state(trace, node, t)
            mine = [g for g in shown if g.get("data-node") == node]
            marks = [m.get("data-role") for g in mine for m in g.iter() if m.get("data-role")]
            assert marks == [role], (t, node, marks, role)
            words = " ".join(w for g in mine for w in texts(g))
            assert f"{role} t{term}" in words, (t, node, words)
            boxes = sorted(box for g in mine for box in log_boxes(g))  # by x: log order
            assert "".join(d for _, d, _ in boxes) == "".join(str(x % 10) for x in log), (
                t,
                node,
                boxes,
                log,
            )
            solid = sum(1 for _, _, committed in boxes if committed)
            assert solid == min(applied, len(log)), (t, node, solid, applied)


def log_boxes(g: ElementTree.Element) -> list[tuple[float, str, bool]]:
    """Give (x, term digit, committed) for each log box in a panel stretch."""
    label = g.find(f"{SVG}text[@class='dm-text raft-t']")
    if label is None:
        return []
    committed = g.find(f"{SVG}path[@class='raft-e']") is not None
    xs = [float(x) for x in label.get("x").split()]
    return [(x, digit, committed) for x, digit in zip(xs, label.text, strict=True)]


def test_panel_has_one_role_per_server_at_every_change():
    result = run({"seed": 3, "drop": 0.2, "faults": "crash n1@3000; restart n1@7000"})
    times = sorted(
        {
            float(g.get("data-t"))
            for g in ElementTree.fromstring(result.svg).iter()
            if g.get("data-t") is not None
        }
    )
    for t in times[::3]:
        roles = roles_at(result.svg, t)
        assert sorted(roles) == result.nodes and all(len(r) == 1 for r in roles.values()), t


def test_safety_holds_when_the_network_duplicates_and_reorders():
    for seed in range(60):
        params = random_params(seed) | {"duplicate": 0.3, "reorder": 60.0 * (seed % 5)}
        failed = [c for c in run(params).checks if not c.ok]
        assert not failed, (params, failed)
