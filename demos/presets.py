"""Presets for the lab: one protocol rule broken on purpose, for a reader to find the bug.

A preset edits the demo's protocol source: each edit replaces a snippet that occurs exactly
once in it (a test keeps them in step with the code), and `base` holds params that give the
counterexample search room to find the failure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .edit import original_source
from .errors import DemoError


@dataclass(frozen=True)
class Preset:
    """A named change to demo `demo`'s protocol, and why it breaks."""

    demo: str
    name: str
    title: str
    explain: str
    edits: tuple[tuple[str, str], ...]
    base: dict = field(default_factory=dict)

    def source(self) -> str:
        """Give the demo's protocol source with this preset's edits made."""
        text = original_source(self.demo)
        for old, new in self.edits:
            if text.count(old) != 1:
                raise DemoError(f"preset {self.name}: its edit no longer matches {self.demo}.py")
            text = text.replace(old, new)
        return text

    def to_json(self) -> dict:
        return {
            "demo": self.demo,
            "name": self.name,
            "title": self.title,
            "explain": self.explain,
            "base": self.base,
        }


PRESETS = (
    Preset(
        "raft",
        "vote-without-log-check",
        "Grant votes without the up-to-date log check",
        "Raft §5.4.1: a voter refuses a candidate whose log is behind its own. Without the "
        "check, a server that missed committed entries can win an election and overwrite them.",
        (
            (
                "            and self.log_is_up_to_date(msg.last_log_term, msg.last_log_index)\n",
                "",
            ),
        ),
    ),
    Preset(
        "raft",
        "quorum-off-by-one",
        "Commit with one replica short of a majority",
        "Raft §5.3: an entry is committed once a majority stores it, so any two majorities "
        "share a server and every later leader has the entry. One short of a majority, two "
        "sides of a partition can both commit at the same index.",
        (
            (
                "            if replicas >= self.majority:\n",
                "            if replicas >= self.majority - 1:\n",
            ),
        ),
    ),
    Preset(
        "raft",
        "figure-8",
        "Commit entries of older terms by counting replicas, and no no-op on election",
        "Raft §5.4.2 and Figure 8: a leader counts replicas only for entries of its own term, "
        "and older entries are committed with them (a new leader's no-op makes that prompt). "
        "Counting an older term's entry on its own, a leader can commit it while a server "
        "holding a later term's entry at that index can still win an election and overwrite "
        "it everywhere.",
        (
            ("        self.append_to_log(len(self.log), (Entry(self.current_term, NOOP),))\n", ""),
            (
                "            if self.log[index - 1].term != self.current_term:\n"
                "                return\n",
                "",
            ),
        ),
        {"nodes": 5, "requests": 4, "duration": 10000},
    ),
    Preset(
        "paxos",
        "choose-without-majority",
        "Count a value chosen before a majority accepts it",
        "A value is chosen once a majority of acceptors accept it at one ballot: any two "
        "majorities share an acceptor, which carries the value into every later ballot. "
        "Declaring it chosen one acceptance short, a minority can choose a value that a later "
        "ballot never hears of.",
        (
            (
                "        if len(voters) >= self.majority and msg.slot not in self.decided:",
                "        if len(voters) >= self.majority - 1 and msg.slot not in self.decided:",
            ),
        ),
        {"proposers": 3},
    ),
    Preset(
        "paxos",
        "ignore-accepted-values",
        "Propose your own value even after a promise reports an accepted one",
        "Phase 2a must propose the value accepted at the highest ballot among the promises: "
        "that value may already be chosen. A proposer that insists on its own value can "
        "overwrite a chosen value.",
        (
            (
                "self.propose(slot, adopted[slot][1] if slot in adopted else self.values[slot])",
                "self.propose(slot, self.values[slot] if slot in self.values "
                "else adopted[slot][1])",
            ),
        ),
        {"proposers": 3},
    ),
    Preset(
        "pbft",
        "small-quorums",
        "Prepare and commit with f + 1 votes instead of 2f + 1",
        "PBFT's quorums of 2f + 1 out of 3f + 1 share f + 1 replicas, so at least one honest "
        "replica is in both. With f + 1, two quorums can share only a traitor, and an "
        "equivocating primary gets honest replicas to execute different requests.",
        (
            (
                "        if len(self.prepares.get((view, seq, value), [])) < self.quorum - 1:",
                "        if len(self.prepares.get((view, seq, value), [])) < self.f:",
            ),
            (
                "        if len(self.commits.get((view, seq, value), [])) < self.quorum:",
                "        if len(self.commits.get((view, seq, value), [])) < self.f + 1:",
            ),
        ),
        {"nodes": 4, "byzantine": 1, "behaviour": "equivocate"},
    ),
    Preset(
        "pbft",
        "forget-prepared",
        "Start a new view without the prepared certificates",
        "A NEW-VIEW must re-propose every request prepared in an earlier view: one of them may "
        "have committed somewhere. Filling every slot with a null request lets the new view "
        "execute something else where a replica already executed a client's request.",
        (
            (
                "            if seq not in best or view > best[seq][0]:\n"
                "                best[seq] = (view, value)\n",
                "            if seq not in best or view > best[seq][0]:\n"
                "                best[seq] = (view, NULL)\n",
            ),
        ),
        {"byzantine": 0, "requests": 6},
    ),
    Preset(
        "partition",
        "read-one-replica",
        "Answer reads from one replica in cp mode",
        "ABD reads ask a majority and write the newest value back before answering. A replica "
        "that answers a read from its own copy can return a value a completed write has "
        "already replaced, and the history stops being linearizable.",
        (
            (
                """        elif self.mode == "ap":\n""",
                """        elif self.mode == "ap" or f == "read":\n""",
            ),
        ),
    ),
    Preset(
        "delivery",
        "ack-before-work",
        "Acknowledge a delivery before doing its work",
        "At-least-once holds only if the consumer acks after the effect is durable. Acking on "
        "receipt frees the broker to forget the message, and a crash mid-work loses it.",
        (
            (
                "        if not self.config.retries:\n"
                "            # Ack on receipt: the broker is free",
                "        if True:  # ack on receipt, before the work\n            # Ack on receipt",
            ),
        ),
        # The mode that promises no loss, whatever mode the figure shows.
        {"mode": "at-least-once"},
    ),
    Preset(
        "hlc",
        "receive-ignores-message",
        "Receive without taking the sender's timestamp into account",
        "The HLC receive rule sets l to the largest of the local l, the message's l and the "
        "physical clock. Leaving out the message's l lets a receiver whose clock is behind "
        "stamp its receive below the send, and causally later writes lose to earlier ones.",
        (("    new_l = max(l, ml, pt)\n", "    new_l = max(l, pt)\n"),),
    ),
    Preset(
        "quorum",
        "ack-write-after-one",
        "Acknowledge a write once one replica holds it",
        "With R + W > N every read quorum meets every write quorum, so a read sees the latest "
        "acknowledged write. Acknowledging after one replica instead of W breaks the overlap, "
        "and a read that starts after the write completed can miss it.",
        (("        if len(req.acked) < self.w:\n", "        if len(req.acked) < 1:\n"),),
        # Quorums that overlap (R + W > N), where fresh reads are promised, whatever the
        # figure's own R and W.
        {"replicas": 3, "r": 2, "w": 2, "sloppy": "false"},
    ),
    Preset(
        "kafka",
        "commit-ahead",
        "Commit one offset past what was processed",
        "At-least-once holds because a consumer commits only offsets whose records it has "
        "processed. Committing one ahead means the next owner of the partition, after a crash "
        "or a rebalance, starts past a record nobody processed.",
        (
            (
                "                    Commit(self.generation, p, self.position[p]),\n",
                "                    Commit(self.generation, p, self.position[p] + 1),\n",
            ),
        ),
    ),
    Preset(
        "clocks",
        "receive-without-merge",
        "Receive without merging the sender's clocks",
        "Lamport's rule IR2 and the vector merge: a receive must move the clock past the "
        "sender's. Ticking only the local clock loses happens-before across messages.",
        (
            (
                "        self.lamport = lamport_receive(self.lamport, msg.lamport)\n"
                "        self.vector = vector_receive(self.vector, msg.vector, self.me)\n",
                "        self.lamport += 1\n"
                "        self.vector = vector_tick(self.vector, self.me)\n",
            ),
        ),
    ),
    Preset(
        "nakamoto",
        "adopt-any-block",
        "Switch to every new block, longer chain or not",
        "Section 5 of the Bitcoin paper: a node takes the longest chain as the correct one, and "
        "of two branches as long keeps the one it received first. A node that switches to "
        "whichever block arrives last follows a shorter branch as soon as a late block reaches "
        "it, and drops blocks that it had already built on.",
        (
            (
                "        if block.height > self.tip.height:\n",
                "        if block is not self.tip:  # whatever arrives last, longer or not\n",
            ),
        ),
    ),
    Preset(
        "nakamoto",
        "pay-twice",
        "Mine the payment without looking whether the chain has spent its coins",
        "Section 5: nodes accept a block only if its transactions are valid and not already "
        "spent. A miner that puts the payment into every block it mines, without looking at "
        "what the chain below already spends, builds a chain that pays twice with the same "
        "coins, and the other nodes build on it.",
        (
            (
                "        if self.sim.now >= self.payment_at and not self.spent[parent.id]:\n",
                "        if self.sim.now >= self.payment_at:  # spent before or not\n",
            ),
        ),
    ),
    Preset(
        "resilience",
        "retry-past-the-budget",
        "Retry even when the retry budget is spent",
        "A retry budget caps retries at a share of the requests: every request earns part of a "
        "token, every retry spends a whole one, and with none left the request fails at once. "
        "A service that retries on credit makes all its attempts whenever the dependency is "
        "slow, and the work it sends multiplies just when there is least capacity for it.",
        (("        if self.tokens < 1.0:\n            return False\n", ""),),
        {"retries": 3, "backoff": "jittered", "budget": 0.1, "breaker": "false"},
    ),
    Preset(
        "failure",
        "any-heartbeat-resets-every-timer",
        "Reset every peer's timer on any heartbeat",
        "A heartbeat detector keeps one timer per peer, and only that peer's heartbeat resets "
        "it. A detector that resets every timer on any heartbeat hears from its live peers "
        "all the time, so a crashed peer's silence never grows and the crash is never "
        "suspected.",
        (
            (
                "        view.last = now\n",
                "        for any_view in self.views.values():  # any peer's heartbeat\n"
                "            any_view.last = now\n",
            ),
        ),
        {"detector": "timeout"},
    ),
)


def presets(demo: str | None = None) -> list[Preset]:
    """Give the presets, or only demo `demo`'s."""
    return [p for p in PRESETS if demo is None or p.demo == demo]


def get_preset(demo: str, name: str) -> Preset:
    """Give demo `demo`'s preset `name`; DemoError lists the ones it has."""
    for p in presets(demo):
        if p.name == name:
            return p
    known = ", ".join(p.name for p in presets(demo)) or "none"
    raise DemoError(f"unknown preset {name!r} for {demo} (known: {known})")
