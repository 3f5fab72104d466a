"""PBFT: Castro & Liskov, "Practical Byzantine Fault Tolerance" (OSDI 1999).

n replicas tolerate f = floor((n - 1) / 3) Byzantine ones with quorums of 2f + 1 (for
n = 3f + 1, the paper's setting; other n need ceil((n + f + 1) / 2), see `quorum_size`). The
primary of view v is replica v mod n (n1 leads view 0). A client broadcasts each request to
every replica; the primary gives it a sequence number in a PRE-PREPARE, backups echo it in a
PREPARE, and a replica that holds the pre-prepare and 2f matching prepares from backups is
*prepared*: it sends a COMMIT, and with 2f + 1 matching commits it executes the request once
every lower sequence number has been executed (and replies to the client, who is outside the
simulation: the reply is the `execute` event).

A backup waiting to execute a request starts a timer; when it expires the backup asks for
the next view with a VIEW-CHANGE carrying its prepared certificates. The new primary, with
2f + 1 of them, sends NEW-VIEW: for every sequence number some certificate covers, a
pre-prepare of the value prepared in the highest view (a null request for gaps). Backups check
it against the view changes they received themselves. A replica also joins a view change that
f + 1 others asked for, and starts one at once when it catches the primary equivocating: two
different pre-prepares for one sequence number, or f + 1 backups preparing another value
than the one the primary gave it (at least one of them is honest, so the primary lied).

Messages are not signed here; as the paper's authentication allows, a message's sender is
trustworthy (the simulator's `src`), so no replica forges another's message or certificate.
Replicas n1..nB are Byzantine. `silent` ones send nothing at all. `equivocate` ones, as
primary, give each request's sequence number to the request for half the honest replicas and
to another value (the previous request, or a null request) for the other half, and vote
prepare and commit to each half for the value that half was given; otherwise they follow the
protocol. The paper's checkpoints and state transfer are left out, so an honest replica a
lying primary leaves behind stays behind. Replicas keep their state across a crash. The
network may lose, duplicate and reorder messages: handlers ignore repeats and stale views,
and hold messages of a later view until they enter it. Timing (virtual ms): latency 5-15.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .faults import parse_schedule
from .params import Param, common_params
from .result import Check
from .sim import Node, Simulation, Timer

NAME = "pbft"
TITLE = "PBFT: practical Byzantine fault tolerance"
PARAMS = common_params(duration=800) + (
    Param("nodes", "int", 4, "Replicas", "How many replicas (n); f = floor((n-1)/3).",
          min=4, max=10),
    Param("byzantine", "int", 1, "Byzantine",
          "How many replicas are traitors: n1, n2, ... (n1 is the first primary).",
          min=0, max=3),
    Param("behaviour", "choice", "silent", "Behaviour",
          "What the traitors do: send nothing, or give conflicting pre-prepares to two "
          "halves of the honest replicas and vote with each half.",
          choices=("silent", "equivocate")),
    Param("requests", "int", 3, "Requests", "How many client requests, 150 ms apart.",
          min=1, max=8),
)  # fmt: skip

LATENCY_MS = (5.0, 15.0)
FIRST_REQUEST_MS = 20.0
REQUEST_GAP_MS = 150.0
REQUEST_JITTER_MS = 2.0  # the client's broadcast reaches replicas at slightly different times
VIEW_TIMEOUT_MS = 150.0  # a backup waits this long for a request; doubled per failed view
SETTLE_MS = 300.0  # slack after the last view change for liveness to be judged
NULL = "null"
NORMAL, CHANGING = "normal", "changing"


@dataclass(frozen=True)
class PrePrepare:
    view: int
    seq: int
    value: str


@dataclass(frozen=True)
class Prepare:
    view: int
    seq: int
    value: str


@dataclass(frozen=True)
class Commit:
    view: int
    seq: int
    value: str


@dataclass(frozen=True)
class ViewChange:
    view: int
    prepared: tuple[tuple[int, int, str], ...]  # (seq, view, value): the highest view each


@dataclass(frozen=True)
class Plot:
    """Between traitors only: at `seq` the primary told half `side` (0 or 1) `value`."""

    view: int
    seq: int
    value: str
    side: int


@dataclass(frozen=True)
class NewView:
    view: int
    senders: tuple[str, ...]  # whose view changes it is built from
    pre_prepares: tuple[tuple[int, str], ...]  # (seq, value) re-proposed in the new view


def quorum_size(n: int) -> tuple[int, int]:
    """Give (f, quorum) for n replicas: the fewest replicas any two sets of which share
    f + 1, so at least one honest replica. That is 2f + 1 when n = 3f + 1, the paper's
    setting; with more replicas for the same f, 2f + 1 would no longer be enough."""
    f = (n - 1) // 3
    return f, (n + f + 2) // 2


def new_view_pre_prepares(changes: list[tuple[tuple[int, int, str], ...]]) -> tuple:
    """Give the NEW-VIEW's pre-prepares from view changes' certificates: per sequence number
    the value prepared in the highest view, a null request where none is prepared."""
    best: dict[int, tuple[int, str]] = {}
    for prepared in changes:
        for seq, view, value in prepared:
            if seq not in best or view > best[seq][0]:
                best[seq] = (view, value)
    top = max(best, default=0)
    return tuple((seq, best[seq][1] if seq in best else NULL) for seq in range(1, top + 1))


class Replica(Node):
    """An honest PBFT replica."""

    def __init__(self, name: str, sim: Simulation, names: list[str]) -> None:
        super().__init__(name, sim)
        self.names = names
        self.f, self.quorum = quorum_size(len(names))
        self.view = 0
        self.status = NORMAL
        self.target = 0  # the view a view change aims at
        self.accepted: dict[tuple[int, int], str] = {}  # (view, seq) -> value pre-prepared
        self.prepares: dict[tuple[int, int, str], list[str]] = {}
        self.commits: dict[tuple[int, int, str], list[str]] = {}
        self.prepared: dict[int, tuple[int, str]] = {}  # seq -> (view, value), highest view
        self.committed: dict[int, str] = {}
        self.executed = 0
        self.known: list[str] = []  # requests from the client, in arrival order
        self.done: list[str] = []  # requests executed
        self.assigned: dict[str, int] = {}  # as primary of `view`: request -> seq
        self.next_seq = 1
        self.changes: dict[int, dict[str, tuple]] = {}  # view -> sender -> certificates
        self.held: dict[int, NewView] = {}  # new views waiting for their view changes
        self.later: list[tuple[object, str]] = []  # messages of a view not yet entered
        self.attempts = 0  # view changes since a request last executed
        self.timer: Timer | None = None

    # -- roles and sending -------------------------------------------------------------
    def primary(self, view: int) -> str:
        return self.names[view % len(self.names)]

    def multicast(self, msg: object, label: str, to: list[str] | None = None) -> None:
        """Send `msg` to every other replica (or those in `to`)."""
        for peer in self.names if to is None else to:
            if peer != self.name:
                self.send(peer, msg, label=label)

    def on_start(self) -> None:
        self.record("view", view=0)

    def on_restart(self) -> None:
        self.timer = None
        self.watch()

    # -- the client --------------------------------------------------------------------
    def receive_request(self, value: str) -> None:
        """The client's broadcast of `value` reaches us (lost if we are down)."""
        if not self.up or value in self.known:
            return
        self.known.append(value)
        self.record("request", value=value)
        if self.status == NORMAL and self.primary(self.view) == self.name:
            self.assign(value)
        self.watch()

    def pending(self) -> list[str]:
        return [v for v in self.known if v not in self.done]

    # -- normal case -------------------------------------------------------------------
    def assign(self, value: str) -> None:
        """As primary, give `value` the next sequence number (section 4.2, pre-prepare)."""
        if value in self.assigned or value in self.done:
            return
        seq, self.next_seq = self.next_seq, self.next_seq + 1
        self.assigned[value] = seq
        self.accepted[(self.view, seq)] = value
        self.multicast(
            PrePrepare(self.view, seq, value), f"pre-prepare v{self.view} #{seq} {value}"
        )

    def current(self, msg, src: str) -> bool:
        """Give whether `msg` belongs to the view we are in; keep it if it is for a later one."""
        if msg.view > self.view or (msg.view == self.view and self.status == CHANGING):
            if msg.view >= self.target:
                self.later.append((msg, src))
            return False
        return msg.view == self.view

    def on_PrePrepare(self, msg: PrePrepare, src: str, msg_id: int) -> None:
        if src != self.primary(msg.view) or not self.current(msg, src):
            return
        key = (msg.view, msg.seq)
        if key in self.accepted:
            if self.accepted[key] != msg.value:
                self.caught(msg.seq, "two pre-prepares")
            return
        self.accept(msg.view, msg.seq, msg.value)

    def accept(self, view: int, seq: int, value: str) -> None:
        """Log a pre-prepare and echo it to everyone in a PREPARE."""
        self.accepted[(view, seq)] = value
        self.vote(self.prepares, (view, seq, value), self.name)
        self.multicast(Prepare(view, seq, value), f"prepare v{view} #{seq} {value}")
        self.try_prepare(view, seq)

    def vote(self, box: dict, key: tuple, src: str) -> None:
        voters = box.setdefault(key, [])
        if src not in voters:
            voters.append(src)

    def on_Prepare(self, msg: Prepare, src: str, msg_id: int) -> None:
        if src == self.primary(msg.view) or not self.current(msg, src):
            return
        self.vote(self.prepares, (msg.view, msg.seq, msg.value), src)
        mine = self.accepted.get((msg.view, msg.seq))
        if mine is not None and mine != msg.value and self.status == NORMAL:
            others = {
                voter
                for (v, s, value), voters in self.prepares.items()
                if (v, s) == (msg.view, msg.seq) and value != mine
                for voter in voters
            }
            if len(others) > self.f:
                self.caught(msg.seq, f"{len(others)} prepares for another value")
                return
        self.try_prepare(msg.view, msg.seq)

    def try_prepare(self, view: int, seq: int) -> None:
        """Become prepared: the pre-prepare and 2f (quorum - 1) matching prepares from
        backups."""
        value = self.accepted.get((view, seq))
        if value is None or self.prepared.get(seq, (-1, ""))[0] >= view:
            return
        if len(self.prepares.get((view, seq, value), [])) < self.quorum - 1:
            return
        self.prepared[seq] = (view, value)
        self.record("prepared", seq=seq, value=value, view=view)
        self.vote(self.commits, (view, seq, value), self.name)
        self.multicast(Commit(view, seq, value), f"commit v{view} #{seq} {value}")
        self.try_commit(view, seq, value)

    def on_Commit(self, msg: Commit, src: str, msg_id: int) -> None:
        if not self.current(msg, src):
            return
        self.vote(self.commits, (msg.view, msg.seq, msg.value), src)
        self.try_commit(msg.view, msg.seq, msg.value)

    def try_commit(self, view: int, seq: int, value: str) -> None:
        """Commit locally: prepared, and a quorum (2f + 1) of matching commits; then execute
        in order."""
        if seq in self.committed or self.prepared.get(seq) != (view, value):
            return
        if len(self.commits.get((view, seq, value), [])) < self.quorum:
            return
        self.committed[seq] = value
        self.record("committed", seq=seq, value=value, view=view)
        while self.executed + 1 in self.committed:
            self.executed += 1
            self.execute(self.executed, self.committed[self.executed])

    def execute(self, seq: int, value: str) -> None:
        """Run the request and reply to the client; progress resets the view-change timer."""
        self.record("execute", seq=seq, value=value)
        if value != NULL and value not in self.done:
            self.done.append(value)
            self.attempts = 0
            self.stop_timer()
            self.watch()

    # -- view change -------------------------------------------------------------------
    def watch(self) -> None:
        """Run the view-change timer while a backup waits to execute a request."""
        waiting = self.pending() and self.primary(self.view) != self.name
        if self.timer is None and (waiting or self.status == CHANGING):
            wait = VIEW_TIMEOUT_MS * 2 ** min(self.attempts, 6)
            self.timer = self.set_timer(wait, self.expire)

    def stop_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def expire(self) -> None:
        self.timer = None
        self.start_view_change((self.target if self.status == CHANGING else self.view) + 1)

    def caught(self, seq: int, why: str) -> None:
        """The primary gave us one value and others another: ask for the next view now."""
        self.record("caught", view=self.view, seq=seq, why=why)
        self.start_view_change(self.view + 1)

    def start_view_change(self, view: int) -> None:
        """Stop taking part in the current view and ask for `view` (section 4.4)."""
        if self.status == CHANGING and view <= self.target:
            return
        self.status, self.target = CHANGING, view
        self.attempts += 1
        self.record("viewchange", view=view)
        certs = tuple((seq, v, value) for seq, (v, value) in sorted(self.prepared.items()))
        self.changes.setdefault(view, {})[self.name] = certs
        self.multicast(ViewChange(view, certs), f"view-change v{view}")
        self.stop_timer()
        self.watch()
        self.try_new_view(view)

    def on_ViewChange(self, msg: ViewChange, src: str, msg_id: int) -> None:
        self.changes.setdefault(msg.view, {})[src] = msg.prepared
        mine = self.target if self.status == CHANGING else self.view
        ahead = {s for v, by in self.changes.items() if v > mine for s in by if s != self.name}
        if len(ahead) > self.f:  # f + 1 replicas want a later view: one of them is honest
            self.start_view_change(min(v for v in self.changes if v > mine))
        self.try_new_view(msg.view)
        if msg.view in self.held:
            self.on_NewView(self.held[msg.view], self.primary(msg.view), -1)

    def try_new_view(self, view: int) -> None:
        """As the new primary, with a quorum (2f + 1) of view changes, announce the view."""
        if self.primary(view) != self.name or self.status != CHANGING or self.target != view:
            return
        by = self.changes.get(view, {})
        if len(by) < self.quorum:
            return
        senders = tuple(sorted(by, key=self.names.index)[: self.quorum])
        pre_prepares = new_view_pre_prepares([by[s] for s in senders])
        self.multicast(NewView(view, senders, pre_prepares), f"new-view v{view}")
        self.enter(view, pre_prepares)

    def on_NewView(self, msg: NewView, src: str, msg_id: int) -> None:
        if src != self.primary(msg.view) or msg.view <= self.view or msg.view < self.target:
            return
        by = self.changes.get(msg.view, {})
        if len(msg.senders) < self.quorum or any(s not in by for s in msg.senders):
            self.held[msg.view] = msg  # check it when the view changes it names arrive
            return
        self.held.pop(msg.view, None)
        if new_view_pre_prepares([by[s] for s in msg.senders]) == msg.pre_prepares:
            self.enter(msg.view, msg.pre_prepares)

    def enter(self, view: int, pre_prepares: tuple) -> None:
        """Install `view`: log its re-proposed pre-prepares, then what waited for it."""
        self.view, self.target, self.status = view, view, NORMAL
        self.record("view", view=view)
        self.stop_timer()
        self.assigned, self.next_seq = {}, len(pre_prepares) + 1
        leading = self.primary(view) == self.name
        for seq, value in pre_prepares:
            if leading:
                self.accepted[(view, seq)] = value
                self.assigned[value] = seq
            else:
                self.accept(view, seq, value)
        waiting = [(m, s) for m, s in self.later if m.view == view]
        self.later = [(m, s) for m, s in self.later if m.view > view]
        for msg, src in waiting:
            if self.view == view and self.status == NORMAL:
                self.deliver(msg, src, -1)
        if leading:
            for value in self.pending():
                self.assign(value)
        self.watch()


class Traitor(Replica):
    """A Byzantine replica: `silent` does nothing at all; `equivocate` lies as primary,
    votes with each half a fellow traitor lied to, and otherwise follows the protocol."""

    def __init__(self, name: str, sim: Simulation, names: list[str], *, behaviour: str,
                 traitors: list[str]) -> None:  # fmt: skip
        super().__init__(name, sim, names)
        self.behaviour = behaviour
        self.traitors = traitors
        honest = [n for n in names if n not in traitors]
        half = (len(honest) + 1) // 2
        self.sides = (honest[:half], honest[half:])

    def deliver(self, msg: object, src: str, msg_id: int) -> None:
        if self.behaviour == "equivocate":
            super().deliver(msg, src, msg_id)

    def receive_request(self, value: str) -> None:
        if self.behaviour == "equivocate":
            super().receive_request(value)

    def execute(self, seq: int, value: str) -> None:
        """Nobody relies on a traitor's state: no execute events."""

    def watch(self) -> None:
        """Traitors never start a view change; they join one f + 1 others asked for."""

    def caught(self, seq: int, why: str) -> None:
        """A traitor never blames a fellow traitor."""

    def assign(self, value: str) -> None:
        """Give the next sequence number to `value` for one half of the honest replicas and
        to the previous request (or a null request) for the other; tell the fellow traitors
        which half got what, so they vote with each."""
        if value in self.assigned:
            return
        seq, self.next_seq = self.next_seq, self.next_seq + 1
        earlier = list(self.assigned)
        self.assigned[value] = seq
        pair = (value, earlier[-1] if earlier else NULL)
        for side, (half, told) in enumerate(zip(self.sides, pair, strict=True)):
            self.multicast(PrePrepare(self.view, seq, told),
                           f"pre-prepare v{self.view} #{seq} {told}", half)  # fmt: skip
            self.multicast(Plot(self.view, seq, told, side), f"plot #{seq} {told}", self.traitors)
            self.collude(Commit(self.view, seq, told), half)

    def on_Plot(self, msg: Plot, src: str, msg_id: int) -> None:
        """Vote prepare and commit with the half the primary gave `msg.value`."""
        half = self.sides[msg.side]
        self.collude(Prepare(msg.view, msg.seq, msg.value), half)
        self.collude(Commit(msg.view, msg.seq, msg.value), half)

    def collude(self, msg: Prepare | Commit, half: list[str]) -> None:
        kind = type(msg).__name__.lower()
        self.multicast(msg, f"{kind} v{msg.view} #{msg.seq} {msg.value}", half)


def node_names(params: Mapping[str, object]) -> list[str]:
    """Give the replica names n1..nN."""
    return [f"n{i}" for i in range(1, int(params["nodes"]) + 1)]


def traitors(params: Mapping[str, object]) -> list[str]:
    """Give the Byzantine replicas: n1..nB (never all of them)."""
    names = node_names(params)
    return names[: min(int(params["byzantine"]), len(names) - 1)]


def request_times(params: Mapping[str, object]) -> list[float]:
    """Give when the client broadcasts each request."""
    return [FIRST_REQUEST_MS + REQUEST_GAP_MS * k for k in range(int(params["requests"]))]


def simulate(params: Mapping[str, object]) -> dict:
    """Give the trace document of a run with effective `params`."""
    names = node_names(params)
    bad = traitors(params)
    duration = float(params["duration"])
    sim = Simulation.from_params(params, latency=LATENCY_MS)
    for name in names:
        if name in bad:
            sim.add(Traitor(name, sim, names, behaviour=str(params["behaviour"]), traitors=bad))
        else:
            sim.add(Replica(name, sim, names))
    requests = []
    for k, t in enumerate(request_times(params), start=1):
        requests.append({"value": f"r{k}", "t": t})
        for name in names:
            reach = t + sim.rng.uniform(0.0, REQUEST_JITTER_MS)
            sim.at(reach, sim.nodes[name].receive_request, f"r{k}")
    sim.apply_faults(parse_schedule(str(params["faults"]), names, duration))
    sim.run(duration)
    return sim.trace_doc(names, byzantine=bad, requests=requests)


# -- checks ---------------------------------------------------------------------------
def honest(trace: dict) -> list[str]:
    return [n for n in trace["nodes"] if n not in trace["byzantine"]]


def check_agreement(trace: dict) -> Check:
    """No two honest replicas execute different values at one sequence number."""
    name = "Agreement"
    first: dict[int, dict] = {}
    good = set(honest(trace))
    for e in trace["events"]:
        if e["kind"] != "execute" or e["node"] not in good:
            continue
        seen = first.setdefault(e["seq"], e)
        if seen["value"] != e["value"]:
            return Check(
                name,
                False,
                f"seq {e['seq']}: {seen['node']} executed {seen['value']} at "
                f"{seen['t']:g} ms, {e['node']} executed {e['value']}",
                t=e["t"],
                node=e["node"],
            )
    return Check(name, True, f"{len(first)} sequence number(s) executed, each with one value")


def check_validity(trace: dict) -> Check:
    """Every value an honest replica executes is a client request sent before, or null."""
    name = "Validity"
    sent = {r["value"]: r["t"] for r in trace["requests"]}
    good = set(honest(trace))
    for e in trace["events"]:
        if e["kind"] != "execute" or e["node"] not in good or e["value"] == NULL:
            continue
        if e["value"] not in sent or sent[e["value"]] > e["t"]:
            return Check(
                name,
                False,
                f"{e['node']} executed {e['value']} at seq {e['seq']}, "
                "which the client never sent by then",
                t=e["t"],
                node=e["node"],
            )
    return Check(name, True, "every value executed was a client request (or null)")


def liveness_bound(params: Mapping[str, object]) -> float:
    """Give how long a request may wait: a doubling timeout per traitor primary, then slack."""
    return VIEW_TIMEOUT_MS * (2 ** int(params["byzantine"]) - 1) + SETTLE_MS


def check_liveness(trace: dict) -> Check:
    """With silent traitors (or none), n >= 3f + 1, and no faults, loss or reordering, every
    request sent `liveness_bound` before the end is executed by every honest replica."""
    name = "Liveness"
    params = trace["params"]
    if params["faults"] or params["drop"] > 0 or params["reorder"] > 0:
        return Check(name, True, "not judged: faults, loss or reordering present")
    if params["byzantine"] and params["behaviour"] != "silent":
        return Check(name, True, "not judged: a lying primary may leave replicas behind")
    if params["nodes"] < 3 * params["byzantine"] + 1:
        return Check(name, True, "not judged: more traitors than f")
    bound = liveness_bound(params)
    judged = [r for r in trace["requests"] if r["t"] <= trace["duration"] - bound]
    if not judged:
        return Check(name, True, f"not judged: no request came {bound:g} ms before the end")
    done = {(e["node"], e["value"]) for e in trace["events"] if e["kind"] == "execute"}
    for r in judged:
        for node in honest(trace):
            if (node, r["value"]) not in done:
                return Check(
                    name,
                    False,
                    f"{node} never executed {r['value']} (sent at {r['t']:g} ms)",
                    t=r["t"],
                    node=node,
                )
    return Check(
        name, True, f"all {len(judged)} request(s) judged executed by every honest replica"
    )


def summarize(trace: dict, checks: list[Check]) -> str:
    """Give one line on what happened: f, traitors, views, requests executed, checks."""
    params = trace["params"]
    n = len(trace["nodes"])
    f, _ = quorum_size(n)
    bad = trace["byzantine"]
    who = f"{', '.join(bad)} {params['behaviour']}" if bad else "no traitors"
    views = [e["view"] for e in trace["events"] if e["kind"] == "view"]
    good = honest(trace)
    done = {(e["node"], e["value"]) for e in trace["events"] if e["kind"] == "execute"}
    everywhere = sum(all((g, r["value"]) in done for g in good) for r in trace["requests"])
    failed = [c.name for c in checks if not c.ok]
    verdict = f"FAILED: {', '.join(failed)}" if failed else "all checks hold"
    return (
        f"{n} replicas (f = {f}), {who}: last view {max(views, default=0)}; "
        f"{everywhere}/{len(trace['requests'])} request(s) executed by every honest "
        f"replica; {verdict}"
    )


CHECKS = (check_agreement, check_validity, check_liveness)
