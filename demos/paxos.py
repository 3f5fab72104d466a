"""Paxos: the Synod protocol and Multi-Paxos, after Lamport, "Paxos Made Simple" (2001).

Every node is an acceptor and a learner; nodes n1..nP are also proposers. A proposer runs
phase 1 (prepare / promise) once for a ballot and, while no higher ballot preempts it, leads:
it sends phase 2 (accept / accepted) for every slot it wants filled, later slots included,
without preparing again (Multi-Paxos). A ballot is (round, proposer index), so two proposers
never share one. A proposer is the distinguished learner of its own proposals: when a
majority has accepted a slot's value at one ballot (even a ballot it has since given up),
the value is chosen, and it broadcasts the decision.

Each proposer's client hands it a value for slot s at about the same moment as the others',
so at the start proposers compete. A proposer gives up its ballot when an acceptor refuses
it or when a higher ballot reaches its own acceptor, and tries again with a ballot above any
it has seen: at once without back-off, which lets two or three proposers preempt each other
round after round (the duel of section 2.4); after a random wait whose range doubles with
each failure with back-off. Once a proposer has seen another act as leader it leaves new
slots to it, and takes over only if a slot stays undecided for `PATIENCE_MS`.

Acceptors keep their promise and accepted values across a crash (the paper's stable
storage), learners keep what they learned and proposers the highest round they tried; the
rest is forgotten. Timing (virtual ms): one-way latency 5-15.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .faults import parse_schedule
from .params import Param, common_params
from .result import Check
from .sim import Node, Simulation

NAME = "paxos"
TITLE = "Paxos: single-decree and Multi-Paxos"
PARAMS = common_params(duration=2000) + (
    Param(
        "nodes",
        "int",
        5,
        "Nodes",
        "How many nodes; each is an acceptor and a learner.",
        min=3,
        max=7,
    ),
    Param(
        "proposers",
        "int",
        2,
        "Proposers",
        "How many of the nodes (n1, n2, ...) also propose values.",
        min=1,
        max=3,
    ),
    Param(
        "slots",
        "int",
        3,
        "Slots",
        "How many log slots to fill; 1 is single-decree Paxos.",
        min=1,
        max=8,
    ),
    Param(
        "backoff",
        "choice",
        "true",
        "Back-off",
        "Whether a preempted proposer waits a random, growing time before it retries.",
        choices=("true", "false"),
    ),
)

LATENCY_MS = (5.0, 15.0)
PREPARE_TIMEOUT_MS = 80.0  # no majority of promises by then: try a higher ballot
ACCEPT_RESEND_MS = 80.0  # a slot not accepted by a majority by then: send its accept again
PATIENCE_MS = 200.0  # how long a proposer leaves a slot to the leader it knows of
BACKOFF_BASE_MS = 30.0  # back-off range after the first failure; it doubles after each
BACKOFF_CAP_MS = 960.0
FIRST_VALUE_MS = 20.0  # when the clients hand over the values of slot 1
VALUE_JITTER_MS = 6.0
SPREAD = 0.6  # slots' values arrive over this fraction of the run
JUDGE_AFTER_MS = 800.0  # liveness is judged for slots whose values came this long before the end
ACCEPTOR, PROPOSER, LEADER = "acceptor", "proposer", "leader"
IDLE, PREPARING, LEADING, WAITING = "idle", "preparing", "leading", "waiting"


@dataclass(frozen=True, order=True)
class Ballot:
    """A proposal number: rounds compare first, the proposer's index breaks ties."""

    round: int
    proposer: int

    def __str__(self) -> str:
        return f"{self.round}.{self.proposer}"


ZERO = Ballot(0, 0)


@dataclass(frozen=True)
class Prepare:
    ballot: Ballot


@dataclass(frozen=True)
class Promise:
    ballot: Ballot
    accepted: tuple[tuple[int, Ballot, str], ...]  # (slot, ballot, value) this acceptor holds


@dataclass(frozen=True)
class Accept:
    ballot: Ballot
    slot: int
    value: str


@dataclass(frozen=True)
class Accepted:
    ballot: Ballot
    slot: int
    value: str


@dataclass(frozen=True)
class Nack:
    ballot: Ballot  # the request refused
    promised: Ballot  # the higher ballot this acceptor has promised


@dataclass(frozen=True)
class Decide:
    slot: int
    value: str
    ballot: Ballot


class PaxosNode(Node):
    """An acceptor and learner, and a proposer when `index` is given."""

    def __init__(
        self, name: str, sim: Simulation, peers: list[str], *, index: int = 0, backoff: bool = True
    ) -> None:
        super().__init__(name, sim)
        self.peers = peers
        self.majority = (len(peers) + 1) // 2 + 1
        self.index = index  # 0: not a proposer
        self.backoff = backoff
        # Stable storage: survives a crash.
        self.promised = ZERO
        self.accepted: dict[int, tuple[Ballot, str]] = {}
        self.decided: dict[int, str] = {}
        self.round = 0
        self.values: dict[int, str] = {}
        self._forget_volatile_state()

    def _forget_volatile_state(self) -> None:
        self.phase = IDLE
        self.ballot = ZERO
        self.promises: dict[str, tuple[tuple[int, Ballot, str], ...]] = {}
        self.proposals: dict[int, str] = {}  # slot -> value proposed under self.ballot
        # (ballot, slot) -> acceptors that accepted our proposal: a reply to a ballot we have
        # given up still counts, since a majority at any one ballot makes the value chosen.
        self.votes: dict[tuple[Ballot, int], list[str]] = {}
        self.proposed: dict[tuple[Ballot, int], str] = {}
        self.failures = 0
        self.seen_round = 0
        self.leader_seen = ZERO  # the highest ballot another proposer was seen leading
        self._shown: str | None = None

    # -- lifecycle ------------------------------------------------------------------
    def on_start(self) -> None:
        self._show_role()

    def on_crash(self) -> None:
        self._forget_volatile_state()

    def on_restart(self) -> None:
        self._show_role()
        if self.pending():
            self.set_timer(PATIENCE_MS, self._patience_over)

    def role(self) -> str:
        if not self.index:
            return ACCEPTOR
        return LEADER if self.phase == LEADING else PROPOSER

    def _show_role(self) -> None:
        role = self.role()
        if role != self._shown:
            self._shown = role
            self.record("role", role=role, ballot=_ballot_json(self.ballot))

    def send_to(self, dst: str, msg: object, label: str) -> None:
        """Send `msg` to `dst`; our own acceptor is reached directly, not over the network."""
        if dst == self.name:
            self.deliver(msg, dst, -1)
        else:
            self.send(dst, msg, label=label)

    def to_all(self, msg: object, label: str) -> None:
        """Send `msg` to every acceptor, our own last (its refusal may end our ballot)."""
        for peer in self.peers:
            self.send_to(peer, msg, label)
        self.send_to(self.name, msg, label)

    def _see(self, ballot: Ballot) -> None:
        self.seen_round = max(self.seen_round, ballot.round)

    def _yield_to(self, ballot: Ballot) -> None:
        """React to another proposer's higher ballot reaching our own acceptor: a leader
        with no value of its own still open stops leading; a proposer with one knows its
        ballot is lost and gives it up at once (retrying, or backing off)."""
        if self.phase not in (PREPARING, LEADING) or ballot <= self.ballot:
            return
        if self.pending():
            self.preempted()
        elif self.phase == LEADING:
            self.phase = IDLE
            self.leader_seen = max(self.leader_seen, ballot)
            self._show_role()

    # -- acceptor -------------------------------------------------------------------
    def on_Prepare(self, msg: Prepare, src: str, msg_id: int) -> None:
        """Promise to ignore lower ballots and report what we accepted (phase 1b)."""
        self._see(msg.ballot)
        self._yield_to(msg.ballot)
        if msg.ballot < self.promised:
            self.send_to(src, Nack(msg.ballot, self.promised), f"nack {msg.ballot}")
            return
        self._promise(msg.ballot)  # an equal ballot is a repeat: answering again is harmless
        held = tuple((slot, b, v) for slot, (b, v) in sorted(self.accepted.items()))
        self.send_to(src, Promise(msg.ballot, held), f"promise {msg.ballot}")

    def on_Accept(self, msg: Accept, src: str, msg_id: int) -> None:
        """Accept unless we promised a higher ballot (phase 2b)."""
        self._see(msg.ballot)
        if src != self.name and msg.ballot > self.leader_seen:
            self.leader_seen = msg.ballot  # only a proposer past phase 1 sends accepts
        self._yield_to(msg.ballot)
        if msg.ballot < self.promised:
            self.send_to(src, Nack(msg.ballot, self.promised), f"nack {msg.ballot}")
            return
        self._promise(msg.ballot)
        if self.accepted.get(msg.slot) != (msg.ballot, msg.value):
            self.accepted[msg.slot] = (msg.ballot, msg.value)
            self.record("accept", slot=msg.slot, value=msg.value, ballot=_ballot_json(msg.ballot))
        self.send_to(
            src,
            Accepted(msg.ballot, msg.slot, msg.value),
            f"accepted {msg.slot}={msg.value} {msg.ballot}",
        )

    def _promise(self, ballot: Ballot) -> None:
        if ballot > self.promised:
            self.promised = ballot
            self.record("promise", ballot=_ballot_json(ballot))

    # -- learner --------------------------------------------------------------------
    def on_Decide(self, msg: Decide, src: str, msg_id: int) -> None:
        self._see(msg.ballot)
        if msg.ballot > self.leader_seen:
            self.leader_seen = msg.ballot
        self._yield_to(msg.ballot)
        self.learn(msg.slot, msg.value)

    def learn(self, slot: int, value: str) -> None:
        """Take `value` as chosen for `slot` (once: a repeat changes nothing)."""
        if slot not in self.decided:
            self.decided[slot] = value
            self.record("decide", slot=slot, value=value)

    # -- proposer -------------------------------------------------------------------
    def pending(self) -> list[int]:
        """Give the slots our client gave us a value for that we have not learned yet."""
        return [slot for slot in sorted(self.values) if slot not in self.decided]

    def receive_value(self, slot: int, value: str) -> None:
        """Our client hands us `value` for `slot` (lost if we are down)."""
        if not self.up:
            return
        self.values[slot] = value
        self.record("input", slot=slot, value=value)
        if slot in self.decided:
            return
        if self.phase == LEADING:
            if slot not in self.proposals:
                self.propose(slot, value)  # phase 1 already covers every slot
        elif self.phase == IDLE:
            if self.leader_seen.proposer not in (0, self.index):
                self.set_timer(PATIENCE_MS, self._patience_over)  # leave it to the leader
            else:
                self.prepare()

    def _patience_over(self) -> None:
        if self.phase == IDLE and self.pending():
            self.prepare()

    def prepare(self) -> None:
        """Start phase 1 with a ballot above every one we have tried or seen (phase 1a)."""
        self.round = max(self.round, self.seen_round, self.promised.round) + 1
        self.ballot = Ballot(self.round, self.index)
        self.phase = PREPARING
        self.promises, self.proposals = {}, {}
        self.record("prepare", ballot=_ballot_json(self.ballot))
        self._show_role()
        self.set_timer(PREPARE_TIMEOUT_MS, self._prepare_timeout, self.ballot)
        self.to_all(Prepare(self.ballot), f"prepare {self.ballot}")

    def on_Promise(self, msg: Promise, src: str, msg_id: int) -> None:
        if self.phase != PREPARING or msg.ballot != self.ballot:
            return  # late, repeated, or for a ballot we gave up
        self.promises[src] = msg.accepted
        if len(self.promises) >= self.majority:
            self.lead()

    def lead(self) -> None:
        """With a majority's promises, propose for each open slot the value accepted at the
        highest ballot any of them reported, or our own where none did."""
        self.phase = LEADING
        self.failures = 0
        self._show_role()
        adopted: dict[int, tuple[Ballot, str]] = {}
        for _, held in sorted(self.promises.items()):
            for slot, ballot, value in held:
                if slot not in adopted or ballot > adopted[slot][0]:
                    adopted[slot] = (ballot, value)
        for slot in sorted(set(adopted) | set(self.values)):
            if self.phase != LEADING:
                return  # our own acceptor refused: it promised a higher ballot meanwhile
            if slot not in self.decided:
                self.propose(slot, adopted[slot][1] if slot in adopted else self.values[slot])

    def propose(self, slot: int, value: str) -> None:
        """Ask every acceptor to accept `value` for `slot` under our ballot (phase 2a)."""
        self.proposals[slot] = value
        self.proposed[(self.ballot, slot)] = value
        self.votes[(self.ballot, slot)] = []
        self.record("propose", slot=slot, value=value, ballot=_ballot_json(self.ballot))
        self.set_timer(ACCEPT_RESEND_MS, self._resend_accept, self.ballot, slot)
        self.to_all(Accept(self.ballot, slot, value), f"accept {slot}={value} {self.ballot}")

    def _resend_accept(self, ballot: Ballot, slot: int) -> None:
        if self.phase != LEADING or ballot != self.ballot or slot in self.decided:
            return
        msg = Accept(ballot, slot, self.proposals[slot])
        for peer in self.peers:
            if peer not in self.votes[(ballot, slot)]:
                self.send_to(peer, msg, f"accept {slot}={msg.value} {ballot}")
        self.set_timer(ACCEPT_RESEND_MS, self._resend_accept, ballot, slot)

    def on_Accepted(self, msg: Accepted, src: str, msg_id: int) -> None:
        """Count an acceptance of one of our proposals; a majority at one ballot means the
        value is chosen: learn it and tell every other learner."""
        key = (msg.ballot, msg.slot)
        if self.proposed.get(key) != msg.value:
            return  # not ours, or forgotten in a crash
        voters = self.votes[key]
        if src not in voters:
            voters.append(src)
        if len(voters) >= self.majority and msg.slot not in self.decided:
            self.learn(msg.slot, msg.value)
            decision = Decide(msg.slot, msg.value, msg.ballot)
            for peer in self.peers:
                self.send_to(peer, decision, f"decide {msg.slot}={msg.value}")

    def on_Nack(self, msg: Nack, src: str, msg_id: int) -> None:
        self._see(msg.promised)
        if msg.ballot == self.ballot and self.phase in (PREPARING, LEADING):
            self.preempted()

    def _prepare_timeout(self, ballot: Ballot) -> None:
        if self.phase == PREPARING and ballot == self.ballot:
            self.preempted()

    def preempted(self) -> None:
        """Give up the current ballot; retry at once, or after a random back-off."""
        self.phase = WAITING
        self.failures += 1
        self._show_role()
        delay = 0.0
        if self.backoff:
            window = min(BACKOFF_BASE_MS * 2 ** (self.failures - 1), BACKOFF_CAP_MS)
            delay = self.sim.rng.uniform(0.0, window)
        self.set_timer(delay, self._retry, self.ballot)

    def _retry(self, ballot: Ballot) -> None:
        if self.phase != WAITING or ballot != self.ballot:
            return
        self.phase = IDLE
        if self.pending():
            self.prepare()


def _ballot_json(ballot: Ballot) -> list[int]:
    return [ballot.round, ballot.proposer]


def node_names(params: Mapping[str, object]) -> list[str]:
    """Give the node names n1..nN."""
    return [f"n{i}" for i in range(1, int(params["nodes"]) + 1)]


def value_name(proposer: int, slot: int) -> str:
    """Give proposer `proposer`'s value for `slot`: a letter for the proposer, then the slot."""
    return f"{'abc'[proposer - 1]}{slot}"


def value_times(params: Mapping[str, object]) -> list[float]:
    """Give when the clients hand over each slot's values, spread over the run's first 60%."""
    slots, duration = int(params["slots"]), float(params["duration"])
    return [FIRST_VALUE_MS + duration * SPREAD * k / slots for k in range(slots)]


def simulate(params: Mapping[str, object]) -> dict:
    """Give the trace document of a run with effective `params`."""
    names = node_names(params)
    proposers = min(int(params["proposers"]), len(names))
    duration = float(params["duration"])
    sim = Simulation.from_params(params, latency=LATENCY_MS)
    for i, name in enumerate(names, start=1):
        sim.add(
            PaxosNode(
                name,
                sim,
                [p for p in names if p != name],
                index=i if i <= proposers else 0,
                backoff=params["backoff"] == "true",
            )
        )
    for slot, t in enumerate(value_times(params), start=1):
        for p in range(1, proposers + 1):
            node = sim.nodes[names[p - 1]]
            sim.at(
                t + sim.rng.uniform(0.0, VALUE_JITTER_MS),
                node.receive_value,
                slot,
                value_name(p, slot),
            )
    sim.apply_faults(parse_schedule(str(params["faults"]), names, duration))
    sim.run(duration)
    return sim.trace_doc(names, proposers=names[:proposers])


# -- checks ---------------------------------------------------------------------------
def check_agreement(trace: dict) -> Check:
    """No two nodes learn different values for one slot."""
    name = "Agreement"
    first: dict[int, dict] = {}
    for e in trace["events"]:
        if e["kind"] != "decide":
            continue
        seen = first.setdefault(e["slot"], e)
        if seen["value"] != e["value"]:
            return Check(
                name,
                False,
                f"slot {e['slot']}: {seen['node']} learned "
                f"{seen['value']!r} at {seen['t']:g} ms, {e['node']} learned "
                f"{e['value']!r}",
                t=e["t"],
                node=e["node"],
            )
    return Check(name, True, f"{len(first)} slot(s) decided, each with one value")


def check_validity(trace: dict) -> Check:
    """Every value learned for a slot was handed to a proposer for that slot before."""
    name = "Validity"
    given: dict[tuple[int, str], float] = {}
    for e in trace["events"]:
        if e["kind"] == "input":
            given.setdefault((e["slot"], e["value"]), e["t"])
        elif e["kind"] == "decide":
            t = given.get((e["slot"], e["value"]))
            if t is None or t > e["t"]:
                return Check(
                    name,
                    False,
                    f"{e['node']} learned {e['value']!r} for slot "
                    f"{e['slot']}, which no proposer was given",
                    t=e["t"],
                    node=e["node"],
                )
    return Check(name, True, "every value learned was proposed")


def check_liveness(trace: dict) -> Check:
    """Without faults, loss or reordering, and with one proposer or back-off, every slot
    whose values came at least `JUDGE_AFTER_MS` before the end is learned by every node."""
    name = "Liveness"
    params = trace["params"]
    if params["faults"] or params["drop"] > 0 or params["reorder"] > 0:
        return Check(name, True, "not judged: faults, loss or reordering present")
    if params["proposers"] > 1 and params["backoff"] != "true":
        return Check(name, True, "not judged: proposers may duel without back-off")
    arrived: dict[int, float] = {}
    for e in trace["events"]:
        if e["kind"] == "input":
            arrived[e["slot"]] = max(arrived.get(e["slot"], 0.0), e["t"])
    judged = [s for s, t in sorted(arrived.items()) if t <= trace["duration"] - JUDGE_AFTER_MS]
    if not judged:
        return Check(
            name, True, f"not judged: no slot's values came {JUDGE_AFTER_MS:g} ms before the end"
        )
    learned = {(e["node"], e["slot"]) for e in trace["events"] if e["kind"] == "decide"}
    for slot in judged:
        for node in trace["nodes"]:
            if (node, slot) not in learned:
                return Check(
                    name,
                    False,
                    f"{node} never learned slot {slot} (its values came at {arrived[slot]:g} ms)",
                    t=arrived[slot],
                    node=node,
                )
    return Check(
        name,
        True,
        f"all {len(judged)} slot(s) judged were learned by all {len(trace['nodes'])} nodes",
    )


def summarize(trace: dict, checks: list[Check]) -> str:
    """Give one line on what happened: ballots tried, leaders, slots learned, checks."""
    params = trace["params"]
    prepares = [e for e in trace["events"] if e["kind"] == "prepare"]
    leaders = [e for e in trace["events"] if e["kind"] == "role" and e["role"] == LEADER]
    learned: dict[int, set[str]] = {}
    for e in trace["events"]:
        if e["kind"] == "decide":
            learned.setdefault(e["slot"], set()).add(e["node"])
    everywhere = sum(1 for nodes in learned.values() if len(nodes) == len(trace["nodes"]))
    failed = [c.name for c in checks if not c.ok]
    verdict = f"FAILED: {', '.join(failed)}" if failed else "all checks hold"
    return (
        f"{len(trace['nodes'])} nodes, {params['proposers']} proposer(s), back-off "
        f"{'on' if params['backoff'] == 'true' else 'off'}: {len(prepares)} ballot(s) "
        f"tried, {len(leaders)} won; {everywhere}/{params['slots']} slot(s) learned "
        f"everywhere; {verdict}"
    )


CHECKS = (check_agreement, check_validity, check_liveness)
