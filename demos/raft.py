"""Raft: leader election and log replication, after Figure 2 of Ongaro & Ousterhout,
"In Search of an Understandable Consensus Algorithm" (USENIX ATC 2014).

Timing (virtual ms): one-way latency 5-15, heartbeats every 50, election timeouts drawn
from 150-300. A heartbeat round trip (at most 30) fits well inside the heartbeat
interval, and a follower only times out after missing about three heartbeats in a row,
so with a quiet network one election settles the cluster; losses and partitions are
what make it elect again.

The client sits outside the simulated network: it hands a command straight to the node
it believes leads (asking another node when that one is down or redirects it) and is
told when the leader applies it. A leader appends a no-op when it takes office (the
paper's section 8), so entries from older terms get committed without waiting for the
next command.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .faults import parse_schedule
from .params import Param, common_params
from .result import Check
from .sim import Node, Simulation, Timer

NAME = "raft"
TITLE = "Raft: leader election and log replication"
PARAMS = common_params(duration=10000) + (
    Param("nodes", "int", 5, "Nodes", "How many servers form the cluster.", min=3, max=7),
    Param(
        "requests",
        "int",
        4,
        "Client commands",
        "How many commands a client submits, spread over the run.",
        min=0,
        max=20,
    ),
)

LATENCY_MS = (5.0, 15.0)
HEARTBEAT_MS = 50.0
ELECTION_TIMEOUT_MS = (150.0, 300.0)
CLIENT_RETRY_MS = 100.0  # after a redirect or a node that is down
CLIENT_PATIENCE_MS = 1000.0  # accepted but not applied by then: ask another node
NOOP = "no-op"
FOLLOWER, CANDIDATE, LEADER = "follower", "candidate", "leader"


@dataclass(frozen=True)
class Entry:
    term: int
    command: str


@dataclass(frozen=True)
class RequestVote:
    term: int
    candidate: str
    last_log_index: int
    last_log_term: int


@dataclass(frozen=True)
class RequestVoteReply:
    term: int
    vote_granted: bool


@dataclass(frozen=True)
class AppendEntries:
    term: int
    leader: str
    prev_log_index: int
    prev_log_term: int
    entries: tuple[Entry, ...]
    leader_commit: int


@dataclass(frozen=True)
class AppendEntriesReply:
    term: int
    success: bool
    match_index: int  # on success: the last index the follower now shares with the leader
    last_log_index: int  # the follower's log length: lets a leader skip past a short log


class RaftServer(Node):
    """One Raft server. Persistent state survives a crash; the rest is rebuilt on restart."""

    def __init__(
        self,
        name: str,
        sim: Simulation,
        peers: list[str],
        on_applied: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(name, sim)
        self.peers = peers
        self.majority = (len(peers) + 1) // 2 + 1
        self.on_applied = on_applied
        # Persistent state (Figure 2): written before answering any RPC, so kept on crash.
        self.current_term = 0
        self.voted_for: str | None = None
        self.log: list[Entry] = []
        self._forget_volatile_state()

    def _forget_volatile_state(self) -> None:
        self.role = FOLLOWER
        self.commit_index = 0
        self.last_applied = 0
        self.leader_id: str | None = None
        self.votes: list[str] = []
        self.next_index: dict[str, int] = {}
        self.match_index: dict[str, int] = {}
        self.election_deadline = 0.0
        self.election_timer: Timer | None = None
        self._shown: tuple[str, int] | None = None

    # -- lifecycle ------------------------------------------------------------
    def on_start(self) -> None:
        self._show_role()
        self._reset_election_timer()

    def on_crash(self) -> None:
        self._forget_volatile_state()

    def on_restart(self) -> None:
        self._show_role()
        self._reset_election_timer()

    # -- log helpers ----------------------------------------------------------
    def last_log_index(self) -> int:
        return len(self.log)

    def term_at(self, index: int) -> int:
        """Give the term of the entry at `index` (1-based); 0 before the first entry."""
        return self.log[index - 1].term if index > 0 else 0

    def log_is_up_to_date(self, last_term: int, last_index: int) -> bool:
        """Give whether a log ending (last_term, last_index) is at least as current as ours."""
        mine = self.term_at(len(self.log))
        return last_term > mine or (last_term == mine and last_index >= len(self.log))

    # -- roles and terms ------------------------------------------------------
    def _show_role(self) -> None:
        shown = (self.role, self.current_term)
        if shown != self._shown:
            self._shown = shown
            self.record("role", role=self.role, term=self.current_term)

    def _observe_term(self, term: int) -> None:
        """Any RPC with a higher term makes us a follower of that term."""
        if term <= self.current_term:
            return
        was_leader = self.role == LEADER
        self.current_term = term
        self.voted_for = None
        self.role = FOLLOWER
        self.leader_id = None
        if was_leader:
            self._reset_election_timer()
        self._show_role()

    def _follow(self, leader: str) -> None:
        """Accept `leader` as the leader of the current term."""
        if self.role != FOLLOWER:
            self.role = FOLLOWER
            self._show_role()
        self.leader_id = leader
        self._reset_election_timer()

    def _reset_election_timer(self) -> None:
        # One pending timer per server, re-armed lazily: a heartbeat only moves the deadline.
        lo, hi = ELECTION_TIMEOUT_MS
        self.election_deadline = self.sim.now + self.sim.rng.uniform(lo, hi)
        if self.election_timer is None:
            self.election_timer = self.set_timer(
                self.election_deadline - self.sim.now, self._on_election_timer
            )

    def _on_election_timer(self) -> None:
        self.election_timer = None
        if self.role == LEADER:
            return
        if self.sim.now < self.election_deadline:
            self.election_timer = self.set_timer(
                self.election_deadline - self.sim.now, self._on_election_timer
            )
            return
        self.start_election()

    # -- elections ------------------------------------------------------------
    def start_election(self) -> None:
        """Become a candidate of a new term, vote for ourselves, ask everyone else."""
        self.current_term += 1
        self.role = CANDIDATE
        self.voted_for = self.name
        self.votes = [self.name]
        self.leader_id = None
        self._show_role()
        self._reset_election_timer()
        request = RequestVote(
            self.current_term, self.name, len(self.log), self.term_at(len(self.log))
        )
        label = f"vote? t{self.current_term}"
        for peer in self.peers:
            self.send(peer, request, label=label)

    def on_RequestVote(self, msg: RequestVote, src: str, msg_id: int) -> None:
        self._observe_term(msg.term)
        granted = self.can_grant_vote(msg)
        if granted:
            self.voted_for = msg.candidate
            self._reset_election_timer()
        self.send(
            src,
            RequestVoteReply(self.current_term, granted),
            label=f"vote {'yes' if granted else 'no'} t{self.current_term}",
        )

    def can_grant_vote(self, msg: RequestVote) -> bool:
        """Give whether `msg` gets our vote: current term, not promised elsewhere, log current."""
        return (
            msg.term == self.current_term
            and self.voted_for in (None, msg.candidate)
            and self.log_is_up_to_date(msg.last_log_term, msg.last_log_index)
        )

    def on_RequestVoteReply(self, msg: RequestVoteReply, src: str, msg_id: int) -> None:
        self._observe_term(msg.term)
        if self.role != CANDIDATE or msg.term != self.current_term or not msg.vote_granted:
            return
        if src not in self.votes:
            self.votes.append(src)
        if len(self.votes) >= self.majority:
            self.become_leader()

    def become_leader(self) -> None:
        """Take office: reset replication state, append a no-op, assert leadership at once."""
        self.role = LEADER
        self.leader_id = self.name
        self.next_index = {peer: len(self.log) + 1 for peer in self.peers}
        self.match_index = dict.fromkeys(self.peers, 0)
        self._show_role()
        self.append_to_log(len(self.log), (Entry(self.current_term, NOOP),))
        self.replicate_to_all()
        self.set_timer(HEARTBEAT_MS, self._on_heartbeat_timer, self.current_term)

    def _on_heartbeat_timer(self, term: int) -> None:
        if self.role != LEADER or term != self.current_term:
            return
        self.replicate_to_all()
        self.set_timer(HEARTBEAT_MS, self._on_heartbeat_timer, term)

    # -- replication, leader side ---------------------------------------------
    def replicate_to_all(self) -> None:
        for peer in self.peers:
            self.send_append_entries(peer)

    def send_append_entries(self, peer: str) -> None:
        """Send `peer` everything from its nextIndex on; nothing new makes it a heartbeat."""
        prev = self.next_index[peer] - 1
        entries = tuple(self.log[prev:])
        t = self.current_term
        span = f"append {prev + 1}-{prev + len(entries)}" if entries else "heartbeat"
        label = f"{span} t{t}"
        self.send(
            peer,
            AppendEntries(t, self.name, prev, self.term_at(prev), entries, self.commit_index),
            label=label,
        )

    def on_AppendEntriesReply(self, msg: AppendEntriesReply, src: str, msg_id: int) -> None:
        self._observe_term(msg.term)
        if self.role != LEADER or msg.term != self.current_term:
            return
        if msg.success:
            self.match_index[src] = max(self.match_index[src], msg.match_index)
            self.next_index[src] = self.match_index[src] + 1
            self.advance_commit_index()
        else:
            self.back_off(src, msg.last_log_index)

    def back_off(self, peer: str, peer_log_length: int) -> None:
        """After a rejected consistency check, retry one entry earlier (or at the peer's end)."""
        step_back = min(self.next_index[peer] - 1, peer_log_length + 1)
        # A late reply must not move nextIndex below what the peer already confirmed.
        self.next_index[peer] = max(step_back, self.match_index[peer] + 1, 1)

    def advance_commit_index(self) -> None:
        """Commit the highest entry of *this* term stored on a majority (Figure 8 rule).

        Older entries below it are committed with it; counting replicas of an older
        term's entry alone is not enough.
        """
        for index in range(len(self.log), self.commit_index, -1):
            if self.log[index - 1].term != self.current_term:
                return
            replicas = 1 + sum(1 for peer in self.peers if self.match_index[peer] >= index)
            if replicas >= self.majority:
                self.commit_up_to(index)
                return

    def submit_command(self, command: str) -> tuple[bool, str | None]:
        """Take a client command if we lead; give (accepted, the leader we know of)."""
        if self.role != LEADER:
            return False, self.leader_id
        # A client retries after a timeout; the same command must not enter the log twice.
        if all(entry.command != command for entry in self.log):
            self.append_to_log(len(self.log), (Entry(self.current_term, command),))
            self.record("request", index=len(self.log), term=self.current_term, command=command)
            self.replicate_to_all()
        return True, self.name

    # -- replication, follower side -------------------------------------------
    def on_AppendEntries(self, msg: AppendEntries, src: str, msg_id: int) -> None:
        self._observe_term(msg.term)
        if msg.term < self.current_term:
            self._answer_append(src, False, 0)
            return
        self._follow(msg.leader)
        if not self.log_matches(msg.prev_log_index, msg.prev_log_term):
            self._answer_append(src, False, 0)
            return
        self.store_entries(msg.prev_log_index, msg.entries)
        last_new = msg.prev_log_index + len(msg.entries)
        if msg.leader_commit > self.commit_index:
            self.commit_up_to(min(msg.leader_commit, last_new))
        self._answer_append(src, True, last_new)

    def log_matches(self, prev_index: int, prev_term: int) -> bool:
        """Give whether our log holds an entry at `prev_index` with `prev_term`."""
        return prev_index <= len(self.log) and self.term_at(prev_index) == prev_term

    def store_entries(self, prev_index: int, entries: tuple[Entry, ...]) -> None:
        """Append `entries` after `prev_index`, cutting our log at the first conflict."""
        for offset, entry in enumerate(entries):
            index = prev_index + 1 + offset
            if index <= len(self.log) and self.log[index - 1].term == entry.term:
                continue  # already stored: a late duplicate must not cut anything
            self.append_to_log(index - 1, entries[offset:])
            return

    def append_to_log(self, keep: int, entries: tuple[Entry, ...]) -> None:
        """Cut the log to its first `keep` entries and append `entries`; record the change."""
        del self.log[keep:]
        self.log.extend(entries)
        self.record("log", keep=keep, entries=[[e.term, e.command] for e in entries])

    def _answer_append(self, leader: str, success: bool, match: int) -> None:
        t = self.current_term
        label = f"ack {match} t{t}" if success else f"nack {len(self.log)} t{t}"
        self.send(leader, AppendEntriesReply(t, success, match, len(self.log)), label=label)

    # -- the state machine ----------------------------------------------------
    def commit_up_to(self, index: int) -> None:
        """Move commitIndex up to `index` and apply every newly committed entry in order."""
        if index <= self.commit_index:
            return
        self.commit_index = index
        while self.last_applied < self.commit_index:
            self.last_applied += 1
            entry = self.log[self.last_applied - 1]
            self.record("commit", index=self.last_applied, term=entry.term, command=entry.command)
            if self.role == LEADER and self.on_applied is not None:
                self.on_applied(entry.command)

    def snapshot(self) -> dict:
        """Give the server's state for the trace: role, term, commit point and log."""
        return {
            "up": self.up,
            "role": self.role if self.up else "down",
            "term": self.current_term,
            "voted_for": self.voted_for,
            "commit_index": self.commit_index,
            "log": [{"term": e.term, "command": e.command} for e in self.log],
        }


class Client:
    """Submits each command at its time to the server it believes leads, until applied."""

    def __init__(self, sim: Simulation, commands: list[tuple[float, str]]) -> None:
        self.sim = sim
        self.commands = commands
        self.servers: dict[str, RaftServer] = {}
        self.names: list[str] = []
        self.target = ""
        self.applied_at: dict[str, float] = {}

    def connect(self, servers: dict[str, RaftServer]) -> None:
        self.servers = servers
        self.names = list(servers)
        self.target = self.names[0]

    def start(self) -> None:
        for t, command in self.commands:
            self.sim.at(t, self.submit, command)

    def submit(self, command: str) -> None:
        if command in self.applied_at:
            return
        server = self.servers[self.target]
        accepted, leader = server.submit_command(command) if server.up else (False, None)
        if accepted:
            self.sim.after(CLIENT_PATIENCE_MS, self._give_up_on_target, command)
            return
        self.target = leader if leader not in (None, self.target) else self._next_server()
        self.sim.after(CLIENT_RETRY_MS, self.submit, command)

    def _give_up_on_target(self, command: str) -> None:
        if command not in self.applied_at:
            self.target = self._next_server()
            self.submit(command)

    def _next_server(self) -> str:
        return self.names[(self.names.index(self.target) + 1) % len(self.names)]

    def applied(self, command: str) -> None:
        if command != NOOP and command not in self.applied_at:
            self.applied_at[command] = round(self.sim.now, 3)

    def report(self) -> list[dict]:
        return [
            {"command": c, "submitted": t, "applied": self.applied_at.get(c)}
            for t, c in self.commands
        ]


def node_names(params: Mapping[str, object]) -> list[str]:
    """Give the server names n1..nN."""
    return [f"n{i}" for i in range(1, int(params["nodes"]) + 1)]


def client_commands(count: int, duration: float) -> list[tuple[float, str]]:
    """Give (time, command) pairs spread over the first four fifths of the run."""
    names = "xyz"
    return [
        (round(duration * 0.8 * (i + 1) / (count + 1), 3), f"{names[i % 3]}={i + 1}")
        for i in range(count)
    ]


def simulate(params: Mapping[str, object]) -> dict:
    """Give the trace document of a run with effective `params`."""
    sim, client = run_cluster(params)
    names = node_names(params)
    return sim.trace_doc(
        names,
        requests=client.report(),
        cluster={name: sim.nodes[name].snapshot() for name in names},
    )


def run_cluster(params: Mapping[str, object]) -> tuple[Simulation, Client]:
    """Give the simulation and its client after running `params` to the end."""
    names = node_names(params)
    duration = float(params["duration"])
    sim = Simulation.from_params(params, latency=LATENCY_MS)
    client = Client(sim, client_commands(int(params["requests"]), duration))
    for name in names:
        sim.add(RaftServer(name, sim, [p for p in names if p != name], client.applied))
    client.connect(sim.nodes)
    sim.apply_faults(parse_schedule(str(params["faults"]), names, duration))
    client.start()
    sim.run(duration)
    return sim, client


def check_election_safety(trace: dict) -> Check:
    """At most one leader per term."""
    name = "Election safety"
    first_leader: dict[int, dict] = {}
    for e in trace["events"]:
        if e["kind"] != "role" or e["role"] != LEADER:
            continue
        first = first_leader.setdefault(e["term"], e)
        if first["node"] != e["node"]:
            return Check(
                name,
                False,
                f"term {e['term']} has two leaders: {first['node']} "
                f"(at {first['t']:g} ms) and {e['node']} (at {e['t']:g} ms)",
                t=e["t"],
                node=e["node"],
            )
    return Check(name, True, f"{len(first_leader)} terms had a leader, none had two")


def check_log_matching(trace: dict) -> Check:
    """Entries with equal index and term hold equal commands, and equal logs before them."""
    name = "Log matching"
    seen: dict[tuple[int, int], dict] = {}
    for e in _commits(trace):
        first = seen.setdefault((e["index"], e["term"]), e)
        if first["command"] != e["command"]:
            return Check(
                name,
                False,
                f"index {e['index']} term {e['term']}: {first['node']} "
                f"applied {first['command']!r}, {e['node']} applied {e['command']!r}",
                t=e["t"],
                node=e["node"],
            )
    logs = {node: state["log"] for node, state in trace.get("cluster", {}).items()}
    names = sorted(logs)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            index = _first_prefix_mismatch(logs[a], logs[b])
            if index:
                return Check(
                    name,
                    False,
                    f"final logs of {a} and {b} share an entry of the "
                    f"same index and term, yet differ at index {index}",
                    t=float(trace["duration"]),
                    node=b,
                )
    return Check(
        name,
        True,
        f"{len(seen)} applied (index, term) pairs agree; the final logs "
        f"of {len(names)} servers agree up to every entry they share",
    )


def _first_prefix_mismatch(a: list[dict], b: list[dict]) -> int:
    """Give the first index (1-based) where two logs differ before their last common
    (index, term) entry; 0 if the prefixes up to it are equal."""
    last_shared = max(
        (i for i in range(min(len(a), len(b))) if a[i]["term"] == b[i]["term"]), default=-1
    )
    for i in range(last_shared + 1):
        if a[i] != b[i]:
            return i + 1
    return 0


def check_state_machine_safety(trace: dict) -> Check:
    """No two servers apply different entries at one index.

    An entry is its term and its command (§5.3): a client that retries sends the same
    command to the next leader, so an entry replaced by a later term's copy of the same
    command (Raft's Figure 8) differs only in its term, and is still a different entry.
    """
    name = "State machine safety"
    first_at: dict[int, dict] = {}
    for e in _commits(trace):
        first = first_at.setdefault(e["index"], e)
        if (first["term"], first["command"]) != (e["term"], e["command"]):
            return Check(
                name,
                False,
                f"index {e['index']}: {first['node']} applied "
                f"{first['command']!r} (term {first['term']}), {e['node']} applied "
                f"{e['command']!r} (term {e['term']})",
                t=e["t"],
                node=e["node"],
            )
    return Check(name, True, f"{len(first_at)} log indexes applied, one command each")


def check_leader_completeness(trace: dict) -> Check:
    """Every leader elected after an entry was applied somewhere holds that entry (§5.4).

    Terms only grow and every election needs a majority, so a server that wins after an
    entry was committed wins a later term than the one that committed it. Its log is
    rebuilt from the `log` events (logs survive crashes), the committed entries from the
    `commit` events.
    """
    name = "Leader completeness"
    logs: dict[str, list[tuple[int, str]]] = {node: [] for node in trace["nodes"]}
    applied: dict[int, tuple[int, str]] = {}
    elections = 0
    for e in trace["events"]:
        if e["kind"] == "log":
            kept = logs[e["node"]][: e["keep"]]
            logs[e["node"]] = kept + [(term, command) for term, command in e["entries"]]
        elif e["kind"] == "commit":
            applied.setdefault(e["index"], (e["term"], e["command"]))
        elif e["kind"] == "role" and e["role"] == LEADER:
            elections += 1
            log = logs[e["node"]]
            for index, (term, command) in sorted(applied.items()):
                if index > len(log) or log[index - 1] != (term, command):
                    return Check(
                        name,
                        False,
                        f"{e['node']} leads term {e['term']} without the entry at index "
                        f"{index} ({command!r}, term {term}) applied before it won",
                        t=e["t"],
                        node=e["node"],
                    )
    return Check(name, True, f"{elections} leader(s) each held every entry applied before they won")


def check_liveness(trace: dict) -> Check:
    """With no faults, no loss and timely messages, every client command is applied on every
    server. Raft promises progress only while a message round trip fits well inside the
    election timeout (§5.6), so long reordering delays are a fault here too."""
    name = "Liveness"
    params = trace["params"]
    if params.get("faults") or params.get("drop"):
        return Check(name, True, "not judged: faults present")
    if 2 * (LATENCY_MS[1] + params.get("reorder", 0.0)) >= ELECTION_TIMEOUT_MS[0]:
        return Check(name, True, "not judged: a round trip may outlast the election timeout")
    applied: dict[str, set[str]] = {node: set() for node in trace["nodes"]}
    for e in _commits(trace):
        applied[e["node"]].add(e["command"])
    requests = trace.get("requests", [])
    for r in requests:
        for node in trace["nodes"]:
            if r["command"] not in applied[node]:
                return Check(
                    name,
                    False,
                    f"{r['command']!r} (submitted at {r['submitted']:g} "
                    f"ms) was never applied on {node}",
                    t=r["submitted"],
                    node=node,
                )
    return Check(
        name, True, f"all {len(requests)} commands applied on all {len(trace['nodes'])} servers"
    )


def _commits(trace: dict) -> list[dict]:
    return [e for e in trace["events"] if e["kind"] == "commit"]


def summarize(trace: dict, checks: list[Check]) -> str:
    """Give one line on what happened: elections, leaders, commands applied, checks."""
    roles = [e for e in trace["events"] if e["kind"] == "role"]
    elections = sum(1 for e in roles if e["role"] == CANDIDATE)
    leaders = sorted({(e["term"], e["node"]) for e in roles if e["role"] == LEADER})
    applied = sum(1 for r in trace["requests"] if r["applied"] is not None)
    who = ", ".join(f"{node} (term {term})" for term, node in leaders[-3:]) or "none"
    failed = [c.name for c in checks if not c.ok]
    verdict = f"FAILED: {', '.join(failed)}" if failed else "all checks hold"
    return (
        f"{len(trace['nodes'])} servers, {elections} election(s), leaders: {who}; "
        f"{applied}/{len(trace['requests'])} commands applied; {verdict}"
    )


CHECKS = (
    check_election_safety,
    check_log_matching,
    check_state_machine_safety,
    check_leader_completeness,
    check_liveness,
)
# Progress needs a quiet network: a counterexample search looks for safety failures only.
NOT_GUARANTEED = ("check_liveness",)
# The search's nemesis aims at leaders, as Jepsen's do: it cuts a leader off from the rest
# right after it takes a client command, and crashes one right after it applies an entry.
# Those are the moves of the paper's Figure 8 (the pairs name kinds of this trace's events).
NEMESIS = (("isolate", "request"), ("crash", "commit"))
