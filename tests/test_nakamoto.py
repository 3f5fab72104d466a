"""The Nakamoto demo: a miner's and the attacker's rules through a fake network, whole runs
over many seeds (loss, duplication, reordering, crashes), the double spend failing the check
as the issue states, checks that can fail, and the figure against the trace."""

from __future__ import annotations

import copy
import json
import os
import random
from pathlib import Path
from xml.etree import ElementTree

import pytest
from svg_moments import SVG, roles_at, stretches_at

import demos
from demos import ParamError, nakamoto, search
from demos.faults import Crash, Restart, format_schedule
from demos.nakamoto import (
    DOUBLE_SPEND,
    GENESIS,
    PAYMENT,
    Announce,
    Attacker,
    Block,
    Branch,
    GetBlock,
    GetTip,
    Ledger,
    Miner,
)

GOLDEN = Path(__file__).parent / "golden" / "nakamoto-default.svg"
PEERS = ["n2", "n3", "n4"]


def run(params: dict) -> demos.Result:
    return demos.run("nakamoto", params)


def checks(trace: dict) -> list:
    return [check(trace) for check in nakamoto.CHECKS]


def miner(sim, *, payment_at: float = 1e9) -> Miner:
    """Give honest n1 on the fake simulator, started."""
    n1 = Miner("n1", sim, list(PEERS), share=0.25, interval=1000.0, ledger=Ledger(),
               payment_at=payment_at)  # fmt: skip
    n1.on_start()
    return n1


def block(id_: str, parent: Block, miner_: str = "n2", tx: str = "") -> Block:
    return Block(id_, parent.id, parent.height + 1, miner_, tx)


def kinds(sim, kind: str) -> list[dict]:
    return [e for e in sim.trace.events if e["kind"] == kind]


def announced(sim, src: str, peers: list[str]) -> set[Block]:
    """Take one announcement from `src` to each of `peers`; give the blocks announced."""
    return {sim.take(src, peer, Announce).block for peer in peers}


# -- an honest miner ---------------------------------------------------------------------------
def test_a_miner_builds_on_its_tip_and_sends_the_block_to_every_peer(sim):
    n1 = miner(sim)
    n1.find_block()
    (mined,) = announced(sim, "n1", PEERS)
    assert (mined.parent, mined.height, mined.miner, mined.tx) == ("b0", 1, "n1", "")
    assert n1.tip == mined and [e["block"] for e in kinds(sim, "mine")] == [mined.id]
    n1.find_block()
    assert announced(sim, "n1", PEERS) == {n1.tip} and n1.tip.parent == mined.id


def test_longest_chain_wins_and_a_tie_keeps_the_block_seen_first(sim):
    n1 = miner(sim)
    a1, b1 = block("a1", GENESIS, "n2"), block("b1", GENESIS, "n3")
    n1.deliver(Announce(a1), "n2", 0)
    assert n1.tip == a1 and announced(sim, "n1", ["n3", "n4"]) == {a1}  # relayed, not back
    n1.deliver(Announce(b1), "n3", 1)
    assert n1.tip == a1 and not sim.network.sent  # a tie: first seen stays, nothing relayed
    b2 = block("b2", b1, "n3")
    n1.deliver(Announce(b2), "n3", 2)
    assert n1.tip == b2 and announced(sim, "n1", ["n2", "n4"]) == {b2}
    assert kinds(sim, "adopt")[-1] == kinds(sim, "adopt")[-1] | {"block": "b2", "dropped": 1}


def test_a_block_without_its_parent_waits_while_the_parent_is_fetched(sim):
    n1 = miner(sim)
    c1 = block("c1", GENESIS, "n4")
    c2 = block("c2", c1, "n4")
    c3 = block("c3", c2, "n4")
    n1.deliver(Announce(c3), "n4", 0)
    assert sim.take("n1", "n4", GetBlock) == GetBlock("c2") and n1.tip == GENESIS
    n1.deliver(Announce(c2), "n4", 1)
    assert sim.take("n1", "n4", GetBlock) == GetBlock("c1")
    n1.deliver(Announce(c3), "n3", 2)  # announced again (the request for c1 was lost):
    assert sim.take("n1", "n3", GetBlock) == GetBlock("c1")  # ask for what is still missing
    assert list(n1.held) == ["c3", "c2"]
    n1.deliver(Branch((c1,)), "n4", 3)
    assert n1.tip == c3 and announced(sim, "n1", ["n2", "n3"]) == {c3}
    assert [e["block"] for e in kinds(sim, "adopt")] == ["c1", "c2", "c3"] and not n1.held
    n1.deliver(Announce(c2), "n2", 4)  # a late duplicate changes nothing
    assert n1.tip == c3 and not sim.network.sent


def test_a_miner_answers_for_blocks_it_has_and_ignores_others(sim):
    n1 = miner(sim)
    n1.find_block()
    (mined,) = announced(sim, "n1", PEERS)
    n1.deliver(GetBlock(mined.id), "n3", 0)
    assert sim.take("n1", "n3", Branch) == Branch((mined,))
    n1.deliver(GetBlock("b99"), "n3", 1)
    assert not sim.network.sent
    for _ in range(20):
        n1.find_block()
        sim.take_all(Announce)
    n1.deliver(GetBlock(n1.tip.id), "n2", 2)  # a long branch comes back in one answer
    branch = sim.take("n1", "n2", Branch).blocks
    assert len(branch) == nakamoto.BRANCH_MAX and branch[-1] == n1.tip
    assert all(b.parent == a.id for a, b in zip(branch, branch[1:], strict=False))
    n1.deliver(GetTip(), "n4", 3)
    assert sim.take("n1", "n4", Announce) == Announce(n1.tip)


def test_the_payment_goes_into_the_first_block_after_it_is_made_and_only_once(sim):
    n1 = miner(sim, payment_at=500.0)
    n1.find_block()
    sim.now = 600.0
    n1.find_block()
    n1.find_block()
    sent = sorted({m.block for _, _, m in sim.take_all(Announce)}, key=lambda b: b.height)
    assert [b.tx for b in sent] == ["", PAYMENT, ""]
    n1.deliver(Announce(block("d1", GENESIS, "n4", DOUBLE_SPEND)), "n4", 0)  # shorter: kept
    d2 = block("d2", block("d1", GENESIS, "n4", DOUBLE_SPEND), "n4")
    n1.deliver(Announce(block("d3", d2, "n4")), "n4", 1)
    assert sim.take("n1", "n4", GetBlock) == GetBlock("d2")
    n1.deliver(Branch((block("d1", GENESIS, "n4", DOUBLE_SPEND), d2)), "n4", 2)
    n1.deliver(Announce(block("d4", block("d3", d2, "n4"), "n4")), "n4", 3)
    assert n1.tip.id == "d4"
    sim.take_all(Announce)
    n1.find_block()  # a chain with the double spend never gets the payment
    assert {m.block.tx for _, _, m in sim.take_all(Announce)} == {""}


def test_a_node_that_knows_it_is_behind_does_not_mine(sim):
    n1 = miner(sim)
    n1.find_block()
    (mine,) = announced(sim, "n1", PEERS)
    n1.deliver(Announce(block("e3", block("e2", block("e1", GENESIS)))), "n2", 0)
    assert sim.take("n1", "n2", GetBlock) == GetBlock("e2") and n1.behind()
    n1.find_block()  # a higher block waits for its parents: no block on our stale tip
    assert n1.tip == mine and len(kinds(sim, "mine")) == 1 and not sim.network.sent


def test_a_crash_keeps_the_blocks_and_forgets_what_was_waiting(sim):
    n1 = miner(sim)
    n1.find_block()
    announced(sim, "n1", PEERS)
    n1.deliver(Announce(block("e3", block("e2", block("e1", GENESIS)))), "n2", 0)
    sim.take("n1", "n2", GetBlock)
    tip = n1.tip
    sim.now = 5000.0
    n1.crash()
    n1.restart()
    assert n1.tip == tip and tip.id in n1.known and not n1.held
    assert [sim.take("n1", peer, GetTip) for peer in PEERS] == [GetTip()] * 3
    n1.find_block()  # peers have had no time to answer yet
    assert len(kinds(sim, "mine")) == 1 and n1.behind()
    sim.advance(60_000)  # mining and re-announcing start again after the restart
    assert kinds(sim, "mine")[-1]["t"] > 6000
    sim.take_all(Announce)


def test_each_node_reannounces_its_tip_to_one_random_peer(sim):
    n1 = Miner("n1", sim, list(PEERS), share=0.0, interval=1000.0, ledger=Ledger(),
               payment_at=1e9)  # fmt: skip
    n1.on_start()
    sim.advance(10_000)
    sent = sim.take_all(Announce)
    assert 6 <= len(sent) <= 20 and {m.block for _, _, m in sent} == {GENESIS}
    assert len({dst for _, dst, _ in sent}) > 1


# -- the attacker --------------------------------------------------------------------------------
def attacker(sim, confirmations: int = 2) -> Attacker:
    n4 = Attacker("n4", sim, ["n1", "n2", "n3"], share=0.4, interval=1000.0, ledger=Ledger(),
                  payment_at=0.0, confirmations=confirmations)  # fmt: skip
    n4.on_start()
    return n4


def test_the_attacker_mines_in_secret_once_it_sees_the_payment_and_publishes_when_ahead(sim):
    n4 = attacker(sim, confirmations=2)
    pay = block("p1", GENESIS, "n1", PAYMENT)
    n4.deliver(Announce(pay), "n1", 0)
    assert n4.tip == GENESIS and [e["kind"] for e in kinds(sim, "attack")] == ["attack"]
    assert not sim.network.sent  # the payment's branch is neither adopted nor relayed
    n4.find_block()
    secret = n4.tip
    assert secret.tx == DOUBLE_SPEND and secret.parent == "b0" and not sim.network.sent
    n4.deliver(GetBlock(secret.id), "n1", 1)
    assert not sim.network.sent  # a secret block is not given away
    q2 = block("q2", pay, "n1")
    n4.deliver(Announce(q2), "n1", 2)
    n4.deliver(Announce(block("q3", q2, "n2")), "n2", 3)
    assert n4.payment_buried() == 2 and not sim.network.sent
    n4.find_block()
    n4.find_block()  # height 3: level with the public chain is not enough
    assert not kinds(sim, "release") and not sim.network.sent
    n4.find_block()
    (release,) = kinds(sim, "release")
    assert len(release["blocks"]) == 4 and release["blocks"][0] == secret.id
    for peer in ("n1", "n2", "n3"):
        got = [sim.take("n4", peer, Announce).block.id for _ in range(4)]
        assert got == release["blocks"]
    n4.deliver(GetBlock(secret.id), "n1", 4)  # published now: answered
    assert sim.take("n4", "n1", Branch) == Branch((secret,))


def test_the_attacker_waits_for_the_payment_to_be_buried(sim):
    n4 = attacker(sim, confirmations=3)
    pay = block("p1", GENESIS, "n1", PAYMENT)
    n4.deliver(Announce(pay), "n1", 0)
    for _ in range(4):
        n4.find_block()
    n4.deliver(Announce(block("q2", pay, "n1")), "n1", 1)
    assert n4.payment_buried() == 1 and n4.tip.height == 4 and not kinds(sim, "release")
    assert not sim.network.sent


# -- whole runs ----------------------------------------------------------------------------------
def random_params(seed: int, *, attacker: float = 0.0) -> dict:
    """Give an honest run with loss, duplication, reordering and crashes (no partitions:
    a partition lets both sides settle blocks, which the check rightly reports)."""
    rng = random.Random(seed)
    nodes = rng.randint(3, 12)
    names = [f"n{i}" for i in range(1, nodes + 1)]
    faults, t = [], 0.0
    for victim in rng.sample(names, rng.randint(0, min(3, nodes - 1))):
        t = rng.uniform(t, 12000.0)
        faults += [Crash(victim, round(t)), Restart(victim, round(t + rng.uniform(500, 7000)))]
    return {"seed": seed, "nodes": nodes, "attacker": attacker, "duration": 20000,
            "interval": rng.choice([600, 1000, 2000]), "delay": rng.choice([0, 50, 100]),
            "confirmations": rng.randint(3, 6), "drop": round(rng.uniform(0.0, 0.3), 2),
            "duplicate": round(rng.uniform(0.0, 0.3), 2), "reorder": rng.choice([0, 20, 100]),
            "faults": format_schedule(sorted(faults, key=lambda f: f.t))}  # fmt: skip


def assert_safe(seeds: range) -> None:
    for seed in seeds:
        params = random_params(seed)
        failed = [c for c in run(params).checks if not c.ok]
        assert not failed, (params, failed)


def test_honest_nodes_never_lose_a_settled_block_under_loss_duplication_and_reordering():
    assert_safe(range(60))


@pytest.mark.slow
def test_honest_nodes_never_lose_a_settled_block_over_thousands_of_fault_schedules():
    assert_safe(range(60, 3060))


@pytest.mark.parametrize(("share", "confirmations"), [(0.4, 1), (0.4, 2), (0.45, 2)])
def test_a_strong_attacker_reverses_a_payment_with_few_confirmations(share, confirmations):
    reversed_on = []
    for seed in range(1, 21):
        result = run({"seed": seed, "attacker": share, "confirmations": confirmations})
        check, trace = result.checks[0], result.trace()
        releases = [e for e in result.events if e["kind"] == "release"]
        if check.ok or not releases or check.t < releases[0]["t"]:
            continue  # held, or (with one confirmation) an ordinary fork two blocks deep
        end = nakamoto.tips(trace)[check.node][-1][1]
        assert check.node != "n5" and nakamoto.payment_state(trace, end)[0] == DOUBLE_SPEND
        reversed_on.append(seed)
    assert reversed_on, "no seed in 1..20 reversed the payment"


def test_a_weak_attacker_against_many_confirmations_fails():
    for seed in range(1, 21):
        result = run({"seed": seed, "attacker": 0.1, "confirmations": 6})
        assert result.ok and not [e for e in result.events if e["kind"] == "release"], seed


def test_the_trace_reports_orphans_and_the_deepest_reorg():
    result = run({"seed": 2, "nodes": 8, "interval": 400, "delay": 150})
    trace = result.trace()
    main = set(nakamoto.final_chain(trace))
    mined = [b for b, d in trace["blocks"].items() if d["miner"] is not None]
    assert trace["orphan_rate"] == round(sum(b not in main for b in mined) / len(mined), 4) > 0
    deepest = trace["deepest_reorg"]
    assert deepest["dropped"] == max(r["dropped"] for r in nakamoto.reorgs(trace)) >= 1
    assert f"{trace['orphan_rate']:.0%} orphaned" in result.summary
    assert f"deepest reorg {deepest['dropped']} block(s)" in result.summary


def test_same_params_give_identical_json_and_svg():
    params = {"seed": 11, "nodes": 7, "attacker": 0.3, "drop": 0.1, "duplicate": 0.2,
              "faults": "crash n2@3000; restart n2@9000"}  # fmt: skip
    first = run(params)
    run(random_params(5))  # nothing may leak from one run into the next
    second = run(dict(params))
    assert first.to_json() == second.to_json() and first.svg == second.svg
    assert run(params | {"seed": 12}).to_json() != first.to_json()


def test_trace_follows_the_contract():
    trace = json.loads(run({"seed": 3, "attacker": 0.3}).to_json())
    assert trace["attacker"] == "n5" and trace["blocks"]["b0"]["parent"] is None
    mines = [e for e in trace["events"] if e["kind"] == "mine"]
    assert mines and all({"block", "parent", "height"} <= e.keys() for e in mines)
    for e in mines:
        data = trace["blocks"][e["block"]]
        assert (data["parent"], data["height"], data["miner"]) == (e["parent"], e["height"],
                                                                    e["node"])  # fmt: skip
    adopts = [e for e in trace["events"] if e["kind"] == "adopt"]
    assert all(trace["blocks"][e["block"]]["height"] == e["height"] for e in adopts)
    assert [e["t"] for e in trace["events"]] == sorted(e["t"] for e in trace["events"])
    assert [c["name"] for c in trace["checks"]] == [
        "Settled blocks stay",
        "Common prefix",
        "Longest chain",
        "Coins spent once",
    ]
    assert json.loads(run({"seed": 3}).to_json())["attacker"] is None


# -- the checks can fail -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def good_trace() -> dict:
    trace = run({"seed": 4, "confirmations": 2}).trace()
    assert all(c["ok"] for c in trace["checks"])
    return trace


def failed(trace: dict, name: str):
    check = next(c for c in checks(trace) if c.name == name)
    assert not check.ok, check
    return check


def test_settled_blocks_stay_fails_when_a_node_drops_a_buried_block(good_trace):
    trace = copy.deepcopy(good_trace)
    adopts = [e for e in trace["events"] if e["kind"] == "adopt" and e["node"] == "n2"]
    victim = adopts[-1]
    # n2 now switches to a block on genesis: everything it had is dropped at that moment.
    trace["blocks"]["bx"] = {"parent": "b0", "height": 99, "miner": "n3", "t": victim["t"]}
    victim["block"], victim["height"] = "bx", 99
    check = failed(trace, "Settled blocks stay")
    assert (check.t, check.node) == (victim["t"], "n2") and "bx" in check.detail


def test_settled_blocks_stay_allows_a_reorg_of_blocks_not_yet_settled(good_trace):
    trace = copy.deepcopy(good_trace)
    z = trace["params"]["confirmations"]
    adopts = [e for e in trace["events"] if e["kind"] == "adopt" and e["node"] == "n2"]
    old = next(e for e in adopts if e["height"] >= z + 3)
    last = adopts[adopts.index(old) + 1]  # n2's last switch from now on: to a new branch
    trace["events"] = [e for e in trace["events"] if e not in adopts[adopts.index(last) + 1 :]]
    for dropped, ok in ((z, True), (z + 1, False)):
        fork = nakamoto.chain(trace, old["block"])[-dropped - 1]
        height = trace["blocks"][fork]["height"] + 1
        trace["blocks"]["by"] = {"parent": fork, "height": height, "miner": "n3", "t": last["t"]}
        last["block"], last["height"] = "by", height
        check = checks(trace)[0]
        assert check.ok == ok and (ok or (check.t, check.node) == (last["t"], "n2")), check


def test_common_prefix_fails_when_two_nodes_end_on_branches_split_deep(good_trace):
    trace = copy.deepcopy(good_trace)
    end = [e for e in trace["events"] if e["kind"] == "adopt" and e["node"] == "n3"][-1]
    parent = "b0"
    for h in range(1, end["height"] + 1):  # a branch of its own from genesis up, as tall
        trace["blocks"][f"z{h}"] = {"parent": parent, "height": h, "miner": "n3", "t": end["t"]}
        parent = f"z{h}"
    end["block"] = parent
    trace["events"] = [e for e in trace["events"] if e is end or not (
                       e["kind"] == "adopt" and e["node"] == "n3")]  # fmt: skip
    check = failed(trace, "Common prefix")
    assert check.t == trace["duration"] and "n3" in check.detail


def test_longest_chain_fails_when_a_node_switches_to_a_chain_no_longer_than_its_own(good_trace):
    trace = copy.deepcopy(good_trace)
    adopts = [e for e in trace["events"] if e["kind"] == "adopt" and e["node"] == "n4"]
    before, victim = adopts[-2], adopts[-1]
    for height in (victim["height"], before["height"], before["height"] - 1):
        # A block beside n4's tip, as high as it (a tie flipped) or lower.
        parent = nakamoto.chain(trace, before["block"])[height - 1]
        trace["blocks"]["bw"] = {"parent": parent, "height": height, "miner": "n2", "t": 1.0}
        victim["block"], victim["height"] = "bw", height
        check = checks(trace)[2]
        assert check.ok == (height > before["height"]), (height, check)
        if not check.ok:
            assert (check.t, check.node) == (victim["t"], "n4") and "bw" in check.detail


def test_longest_chain_leaves_the_attacker_to_its_own_rules():
    result = run({"seed": 8, "attacker": 0.4, "confirmations": 2})
    trace = result.trace()
    assert result.checks[2].ok and trace["attacker"] == "n5"
    # The attacker's switches are its own business, however short the chain it takes.
    trace["events"].append({"id": 10**6, "t": trace["duration"], "node": "n5", "kind": "adopt",
                            "block": "b0", "height": 0})  # fmt: skip
    assert checks(trace)[2].ok


def test_coins_spent_once_fails_when_a_chain_pays_twice(good_trace):
    trace = copy.deepcopy(good_trace)
    paid = [b for b, d in trace["blocks"].items() if d.get("tx") == PAYMENT]
    assert paid and checks(trace)[3].ok
    below = nakamoto.chain(trace, paid[0])
    for tx in (PAYMENT, DOUBLE_SPEND):
        # A block that spends the coins again on top of the payment's block.
        trace["blocks"]["bv"] = {"parent": paid[0], "height": len(below), "miner": "n3",
                                 "t": 1e6, "tx": tx}  # fmt: skip
        check = checks(trace)[3]
        assert not check.ok and (check.t, check.node) == (1e6, "n3"), check
        assert f"{paid[0]} (payment)" in check.detail and f"bv ({tx})" in check.detail
    # The same spend on a branch of its own, beside the payment, is no double spend.
    trace["blocks"]["bv"]["parent"] = below[-2]
    trace["blocks"]["bv"]["height"] = len(below) - 1
    assert checks(trace)[3].ok


def test_the_search_holds_only_the_rules_no_fault_schedule_excuses():
    assert search.guarantees(nakamoto, {}) == ["check_longest_chain", "check_spent_once"]
    # A partition makes both sides settle blocks that one side later drops: no bug in that.
    result = run({"seed": 1, "nodes": 6, "duration": 25000,
                  "faults": "partition n1,n2,n3|n4,n5,n6@5000-15000"})  # fmt: skip
    assert not result.checks[0].ok and result.checks[2].ok and result.checks[3].ok
    assert search.violation(nakamoto, result.params)[1] is None


def test_svg_marks_a_failing_check():
    result = run({"seed": 8, "attacker": 0.4, "confirmations": 2})
    check = result.checks[0]
    assert not check.ok
    root = ElementTree.fromstring(result.svg)
    ring = [el for el in root.iter() if el.get("data-check") == "Settled blocks stay"]
    assert ring and ring[0].get("data-node") == check.node
    assert "publishes" in result.svg and "goes secret" in result.svg


# -- params and the figure -----------------------------------------------------------------------
@pytest.mark.parametrize("given", [
    {"nodes": 2}, {"nodes": 13}, {"attacker": 0.5}, {"attacker": -0.1}, {"confirmations": 0},
    {"confirmations": 13}, {"interval": 50}, {"delay": -1}, {"faults": "crash n6@100"},
    {"miners": 3},
])  # fmt: skip
def test_bad_params_raise_param_error_naming_the_culprit(given):
    with pytest.raises(ParamError) as caught:
        run(given)
    assert next(iter(given)) in str(caught.value) or "n6" in str(caught.value)


def test_default_svg_is_within_budget_and_matches_golden():
    svg = run({}).svg
    assert len(svg.encode()) <= 34_000
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(svg, encoding="utf-8")
    assert svg == GOLDEN.read_text(encoding="utf-8"), "rerun with UPDATE_GOLDEN=1 if intended"


def expected(trace: dict, node: str, t: float) -> tuple[str, str, str]:
    """Give (role, tip, payment) of `node` at `t` as the panel words them, read from its
    events and the block table."""
    role = "attacker" if node == trace["attacker"] else "honest"
    tip = "b0"
    for e in trace["events"]:
        if e["node"] != node or e["t"] > t:
            continue
        if e["kind"] == "crash":
            role = "down"
        elif e["kind"] == "restart":
            role = "attacker" if node == trace["attacker"] else "honest"
        elif e["kind"] == "adopt":
            tip = e["block"]
    blocks, walk, holds = trace["blocks"], tip, "no payment"
    while walk is not None:
        if blocks[walk].get("tx"):
            on_top = blocks[tip]["height"] - blocks[walk]["height"]
            depth = "settled" if on_top >= trace["params"]["confirmations"] else f"{on_top} on top"
            holds = f"{blocks[walk]['tx']} in {walk}, {depth}"
            break
        walk = blocks[walk]["parent"]
    return role, f"{tip} height {blocks[tip]['height']}", holds


@pytest.mark.parametrize("params", [
    {"seed": 1, "faults": "crash n2@3000; restart n2@12000", "drop": 0.2},
    {"seed": 8, "attacker": 0.4, "confirmations": 2},
    {"seed": 9, "nodes": 9, "interval": 400, "delay": 200, "duplicate": 0.3, "reorder": 80.0},
])  # fmt: skip
def test_panel_shows_each_nodes_state_at_random_moments(params):
    result = run(params)
    trace = result.trace()
    rng = random.Random(params["seed"])
    for t in sorted(rng.uniform(0, trace["duration"] - 1) for _ in range(20)):
        shown = stretches_at(result.svg, t)
        for name in trace["nodes"]:
            role, tip, holds = expected(trace, name, t)
            mine = [g for g in shown if g.get("data-node") == name]
            marks = [m.get("data-role") for g in mine for m in g.iter() if m.get("data-role")]
            assert marks == [role], (t, name, marks)
            texts = [x.text for g in mine for x in g.iter(f"{SVG}text")]
            assert texts == [tip, holds], (t, name, texts)


def test_panel_has_one_role_per_node_at_every_change():
    result = run({"seed": 3, "nodes": 6, "attacker": 0.3, "drop": 0.2,
                  "faults": "crash n1@3000; restart n1@7000; crash n6@5000"})  # fmt: skip
    times = sorted({float(g.get("data-t")) for g in ElementTree.fromstring(result.svg).iter()
                    if g.get("data-t") is not None})  # fmt: skip
    assert len(times) > 50
    for t in times[::2]:
        roles = roles_at(result.svg, t)
        assert sorted(roles) == sorted(result.nodes) and all(len(r) == 1 for r in roles.values())
    assert roles_at(result.svg, 6000.0)["n6"] == ["down"]


# -- the article's race script ------------------------------------------------------------------
ARTICLE = Path(__file__).parent.parent / "content" / "articles" / "blockchains.md"


@pytest.fixture(scope="module")
def race() -> dict:
    """Give the functions of the article's script (its code block without the final loop)."""
    text = ARTICLE.read_text(encoding="utf-8")
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(code.split("\nfor q in", 1)[0], namespace)  # noqa: S102 - our own article's code
    return namespace


def test_the_articles_formula_gives_the_papers_table(race):
    # Section 11's table: q = 0.1 and q = 0.3, z = 5 and z = 10.
    assert round(race["paper"](0.1, 5), 7) == 0.0009137
    assert round(race["paper"](0.3, 5), 7) == 0.1773523
    assert round(race["paper"](0.3, 10), 7) == 0.0416605
    for q in (0.1, 0.25, 0.4):  # the demo's race is harder for the attacker, and falls with z
        rates = [race["same_race"](q, z) for z in (1, 2, 4, 6)]
        assert rates == sorted(rates, reverse=True) and rates[0] < race["paper"](q, 1)


def test_the_articles_script_counts_reversed_payments(race):
    assert race["measured"](0.4, 2, seeds=8, duration=20000) > 0
    assert race["measured"](0.1, 6, seeds=4, duration=20000) == 0
    trace = run({"seed": 8, "attacker": 0.4, "confirmations": 2, "duration": 20000}).trace()
    assert race["reversed_payment"](trace)
    assert not race["reversed_payment"](run({"seed": 8, "duration": 20000}).trace())
