"""The HLC demo: the clock rules, a gateway and the leaseholder through a fake network, whole
runs over many seeds (loss, crashes, partitions, duplication, reordering), the failures that
physical timestamps and reads without uncertainty show, checks that can fail, the figure."""

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
from demos import ParamError, hlc
from demos.hlc import Ack, Process, Read, Reply, Write, hlc_receive, hlc_send, visible
from demos.search import random_schedule

GOLDEN = Path(__file__).parent / "golden" / "hlc-default.svg"


def run(params: dict) -> demos.Result:
    return demos.run("hlc", params)


def node(
    sim, name: str = "n2", *, offset: int = 0, hybrid: bool = True, uncertainty: bool = True
) -> Process:
    """Give a process on the fake simulator, not started (so it acts only when told)."""
    ids = {"write": iter(range(1, 100)), "read": iter(range(1, 100))}
    return Process(name, sim, offset=offset, hybrid=hybrid, max_offset=50,
                   uncertainty=uncertainty, mean_gap=100.0, ids=ids)  # fmt: skip


def ops(sim) -> list[str]:
    return [e["op"] for e in sim.trace.events]


# -- the clock rules (Kulkarni et al., Figure 5) -------------------------------------------------
def test_send_follows_the_physical_clock_or_counts_up_when_it_lags():
    assert hlc_send(10, 3, 12) == (12, 0)  # the clock is ahead: l follows it, c restarts
    assert hlc_send(10, 3, 10) == (10, 4)  # no tick since: count within l
    assert hlc_send(10, 3, 7) == (10, 4)  # l heard of a later clock: keep it, count


def test_receive_takes_the_largest_l_and_counts_above_its_counters():
    assert hlc_receive(10, 2, 10, 5, 8) == (10, 6)  # ours and theirs share l: above both
    assert hlc_receive(10, 2, 9, 5, 8) == (10, 3)  # ours is largest
    assert hlc_receive(10, 2, 11, 5, 8) == (11, 6)  # theirs is largest
    assert hlc_receive(10, 2, 11, 5, 12) == (12, 0)  # the physical clock is largest


def test_a_read_meets_the_newest_version_below_it_or_an_uncertain_one_above_it():
    versions = [((100, 0), "v1"), ((130, 2), "v2"), ((190, 0), "v3")]
    assert visible(versions, (120, 0), 170, True) == ((130, 2), "v2", True)
    assert visible(versions, (130, 2), 170, True) == ((130, 2), "v2", False)
    assert visible(versions, (140, 0), 189, True) == ((130, 2), "v2", False)  # v3 is past it
    assert visible(versions, (120, 0), 170, False) == ((100, 0), "v1", False)
    assert visible(versions, (50, 0), 60, True) == ((0, 0), hlc.INITIAL, False)


# -- a gateway and the leaseholder through the fake network --------------------------------------
def test_a_gateway_writes_at_its_clock_and_completes_on_the_ack(sim):
    n2 = node(sim, offset=7)
    sim.now = 100.4
    n2.enqueue(n2.start_write)
    sim.advance(100.5)
    write = sim.take("n2", "n1", Write)
    assert write.ts == (107, 0) and write.value == "v1" and write.stamp == write.ts
    n2.deliver(Ack(1, (160, 3)), "n1", 0)
    sim.advance(112.0)
    acked = sim.trace.events[-1]
    assert acked["op"] == "acked" and acked["ts"] == [160, 4] and acked["pt"] == 108
    assert acked["value"] == "v1" and acked["wts"] == [107, 0] and n2.op is None


def test_messages_that_arrive_together_are_handled_a_millisecond_apart(sim):
    n1 = node(sim, "n1")
    sim.now = 10.2
    n1.deliver(Write(1, "v1", (15, 0), (15, 0)), "n2", 0)
    n1.deliver(Write(2, "v2", (12, 0), (12, 0)), "n3", 1)
    sim.advance(20.0)
    times = [e["t"] for e in sim.trace.events]
    assert times == [10.2, 11.0, 12.0, 13.0]  # apply, ack, apply, ack: one per millisecond
    assert [e["kept"] for e in sim.trace.events if e["op"] == "apply"] == [True, False]
    assert n1.versions == [((12, 0), "v2"), ((15, 0), "v1")]
    assert [type(m) for _, _, m in sim.take_all(Ack)] == [Ack, Ack]


def test_the_leaseholder_keeps_a_repeated_write_once(sim):
    n1 = node(sim, "n1")
    for copy_id in (0, 1):
        n1.deliver(Write(1, "v1", (15, 0), (15, 0)), "n2", copy_id)
    sim.advance(10.0)
    assert n1.versions == [((15, 0), "v1")]
    assert len(sim.take_all(Ack)) == 2  # each copy is answered; the gateway ignores the second


def test_the_leaseholder_answers_uncertain_for_a_version_within_the_interval(sim):
    n1 = node(sim, "n1", offset=50)
    n1.versions = [((60, 0), "v1"), ((140, 1), "v2")]
    n1.deliver(Read(1, 1, (100, 0), 150, (100, 0)), "n2", 0)
    sim.advance(5.0)
    reply = sim.take("n1", "n2", Reply)
    assert reply.uncertain and reply.vts == (140, 1) and reply.value == "v2"
    n1.uncertainty = False
    n1.deliver(Read(2, 1, (100, 0), 150, (100, 0)), "n2", 1)
    sim.advance(10.0)
    assert sim.take("n1", "n2", Reply) == Reply(2, 1, "v1", (60, 0), False, (100, 4))


def test_an_uncertain_read_restarts_above_the_version_keeping_its_limit(sim):
    n2 = node(sim)
    sim.now = 100.0
    n2.enqueue(n2.start_read)
    sim.advance(100.5)
    read = sim.take("n2", "n1", Read)
    assert read.ts == (100, 0) and read.limit == 150
    n2.deliver(Reply(1, 1, "v2", (140, 1), True, (141, 0)), "n1", 0)
    sim.advance(120.0)
    again = sim.take("n2", "n1", Read)
    assert again.attempt == 2 and again.limit == 150 and again.ts > (140, 1)
    assert ops(sim) == ["read", "uncertain", "restart"]
    n2.deliver(Reply(1, 1, "v1", (60, 0), False, (150, 0)), "n1", 1)  # the first attempt's
    n2.deliver(Reply(1, 2, "v2", (140, 1), False, (151, 0)), "n1", 2)
    sim.advance(130.0)
    assert ops(sim)[-2:] == ["late", "result"]
    assert sim.trace.events[-1]["returns"] == ["v2", [140, 1]] and n2.op is None


def test_physical_restart_reads_at_the_uncertain_version_even_with_a_slow_clock(sim):
    n2 = node(sim, hybrid=False)
    sim.now = 100.0
    n2.enqueue(n2.start_read)
    sim.advance(100.5)
    sim.take("n2", "n1", Read)
    n2.deliver(Reply(1, 1, "v2", (140, 0), True, (141, 0)), "n1", 0)
    sim.advance(110.0)
    assert sim.take("n2", "n1", Read).ts == (140, 0)  # its own clock reads only 101
    assert [e["ts"] for e in sim.trace.events] == [[e["pt"], 0] for e in sim.trace.events]


def test_a_gateway_gives_up_an_unanswered_operation_and_ignores_its_late_answer(sim):
    n2 = node(sim)
    n2.enqueue(n2.start_write)
    sim.advance(1.0)
    sim.take("n2", "n1", Write)
    sim.advance(300.0)
    assert ops(sim) == ["write", "give-up"] and n2.op is None
    n2.deliver(Ack(1, (5, 0)), "n1", 0)
    sim.advance(310.0)
    assert ops(sim)[-1] == "late"


def test_a_crash_forgets_the_operation_but_keeps_the_clock(sim):
    n2 = node(sim, offset=3)
    n2.deliver(Ack(9, (500, 2)), "n1", 0)
    sim.advance(1.0)
    n2.enqueue(n2.start_read)
    n2.crash()
    sim.advance(5.0)
    assert n2.op is None and not n2.inbox and (n2.l, n2.c) == (500, 3)
    n2.restart()
    sim.timers.clear()  # the restart's next action: this test starts its own
    n2.enqueue(n2.start_read)
    sim.advance(10.0)
    assert sim.take("n2", "n1", Read).ts == (500, 4)


# -- whole runs ----------------------------------------------------------------------------------
def random_params(seed: int, **fixed: object) -> dict:
    rng = random.Random(seed)
    processes = rng.randint(2, 8)
    names = [f"n{i}" for i in range(1, processes + 1)]
    return {"seed": seed, "processes": processes, "skew": rng.choice([0, 5, 30, 100, 400]),
            "rate": rng.choice([2.0, 5.0, 12.0]), "duration": 1000,
            "drop": round(rng.uniform(0.0, 0.3), 2), "duplicate": round(rng.uniform(0.0, 0.3), 2),
            "reorder": rng.choice([0, 20, 200]), "faults": random_schedule(rng, names, 1000.0),
            } | fixed  # fmt: skip


def assert_hlc_safe(seeds: range) -> None:
    for seed in seeds:
        params = random_params(seed)
        failed = [c for c in run(params).checks if not c.ok]
        assert not failed, (params, failed)


def test_hlc_with_uncertainty_holds_under_faults_loss_duplication_and_reordering():
    assert_hlc_safe(range(60))


@pytest.mark.slow
def test_hlc_with_uncertainty_holds_under_thousands_of_fault_schedules():
    assert_hlc_safe(range(60, 3060))


def failing(params: dict, seeds: range) -> dict[str, list[int]]:
    """Give, per check name, the seeds whose run fails it."""
    out: dict[str, list[int]] = {}
    for seed in seeds:
        for c in run(params | {"seed": seed}).checks:
            if not c.ok:
                out.setdefault(c.name, []).append(seed)
    return out


@pytest.mark.parametrize("skew", [25, 60, 200])
def test_physical_timestamps_break_causality_once_skew_exceeds_the_latency(skew):
    broken = failing({"mode": "physical", "skew": skew}, range(1, 11))
    assert broken.get(hlc.CAUSALITY), broken
    assert not failing({"mode": "hlc", "skew": skew}, range(1, 11))


def test_physical_timestamps_keep_causality_while_skew_stays_below_the_latency():
    # Latency is at least 10 ms and offsets are whole ms, so a skew of 9 can never reverse
    # a message; duplicates and reordering only make messages later.
    for seed in range(40):
        params = random_params(seed, mode="physical", skew=9)
        assert not [c for c in run(params).checks if not c.ok], params


def test_last_writer_wins_drops_a_causally_later_write_and_the_figure_marks_it():
    lost = failing({"mode": "physical", "skew": 100, "rate": 8.0}, range(1, 11))[hlc.LOST]
    result = run({"mode": "physical", "skew": 100, "rate": 8.0, "seed": lost[0]})
    before, after = hlc.lost_writes(result.trace())[0]
    assert after["ts"] < before["ts"] and after["t"] > before["t"]
    root = ElementTree.fromstring(result.svg)
    marks = [r for r in root.iter(f"{SVG}rect") if r.get("class") == "hl-x"]
    assert any("throws it away" in (r.get("data-say") or "") for r in marks)
    check = next(c for c in result.checks if c.name == hlc.LOST)
    assert (check.t, check.node) == (after["t"], after["node"])


def test_reads_without_uncertainty_restarts_go_stale_and_restarts_cure_them():
    params = {"skew": 100, "rate": 10.0}
    stale = failing(params | {"uncertainty": "false"}, range(1, 11)).get(hlc.STALE, [])
    assert stale
    for seed in stale:
        result = run(params | {"seed": seed})
        assert result.ok, result.text()
        assert any(e.get("op") == "restart" for e in result.events)


def test_same_params_give_identical_json_and_svg():
    params = {"seed": 11, "processes": 6, "skew": 80, "drop": 0.1, "duplicate": 0.2,
              "faults": "crash n1@300; restart n1@600; partition n1,n2|n3,n4@400-700"}  # fmt: skip
    first = run(params)
    run(random_params(5))  # nothing may leak from one run into the next
    second = run(dict(params))
    assert first.to_json() == second.to_json() and first.svg == second.svg
    assert run(params | {"seed": 12}).to_json() != first.to_json()


def test_trace_follows_the_contract():
    for mode in ("hlc", "physical"):
        trace = json.loads(run({"seed": 3, "mode": mode, "faults": "crash n3@500; restart "
                                "n3@700"}).to_json())  # fmt: skip
        assert {e["kind"] for e in trace["events"]} == {"local", "send", "recv"}
        assert all(isinstance(e["pt"], int) and len(e["ts"]) == 2 for e in trace["events"])
        if mode == "physical":
            assert all(e["ts"] == [e["pt"], 0] for e in trace["events"])
        by_id = {m["id"]: m for m in trace["messages"]}
        for e in trace["events"]:
            if e["kind"] in ("send", "recv"):
                m = by_id[e["msg"]]
                assert m["send_event" if e["kind"] == "send" else "recv_event"] == e["id"]
        assert trace["downtime"] == [{"node": "n3", "start": 500.0, "end": 700.0}]
        offsets = sorted(trace["offsets"].values())
        assert offsets[0] == 0 and offsets[-1] == trace["params"]["skew"] == 50
        assert [e["t"] for e in trace["events"]] == sorted(e["t"] for e in trace["events"])
        delivered = [m for m in trace["messages"] if m["status"] == "delivered"]
        assert all(m["recv_event"] is not None for m in delivered)


# -- the checks can fail -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def good_trace() -> dict:
    trace = run({"seed": 4, "skew": 100, "rate": 8.0}).trace()
    assert all(c["ok"] for c in trace["checks"])
    assert any(e.get("op") == "restart" for e in trace["events"])
    return trace


def failed(trace: dict, name: str):
    check = next(c(trace) for c in hlc.CHECKS if c(trace).name == name)
    assert not check.ok, check
    return check


def test_causality_fails_when_a_receive_is_stamped_below_its_send(good_trace):
    trace = copy.deepcopy(good_trace)
    recv = next(e for e in trace["events"] if e["kind"] == "recv" and e["t"] > 300)
    recv["ts"] = [0, 0]
    check = failed(trace, hlc.CAUSALITY)
    assert (check.t, check.node) == (recv["t"], recv["node"])


def test_checks_fail_on_a_receive_without_a_send(good_trace):
    trace = copy.deepcopy(good_trace)
    next(e for e in trace["events"] if e["kind"] == "recv")["msg"] = 10**6
    for name in (hlc.CAUSALITY, hlc.LOST):
        assert "before any event sends it" in failed(trace, name).detail


def test_bound_fails_when_l_runs_ahead_of_the_clock_by_more_than_the_max_offset(good_trace):
    trace = copy.deepcopy(good_trace)
    event = trace["events"][20]
    event["ts"] = [event["pt"] + trace["max_offset"] + 1, 0]
    check = failed(trace, hlc.BOUND)
    assert (check.t, check.node) == (event["t"], event["node"])


def test_lost_writes_fails_when_a_later_write_has_a_lower_timestamp(good_trace):
    trace = copy.deepcopy(good_trace)
    writes = [e for e in trace["events"] if e.get("op") == "write"]
    later = writes[-1]
    later["ts"] = [0, 1]  # below every write before it, and causality now fails too
    check = failed(trace, hlc.LOST)
    assert later["value"] in check.detail and check.node == later["node"]


def test_stale_reads_fails_when_a_read_returns_a_version_older_than_a_completed_write(good_trace):
    trace = copy.deepcopy(good_trace)
    read = [e for e in trace["events"] if "returns" in e][-1]
    read["returns"] = [hlc.INITIAL, [0, 0]]
    check = failed(trace, hlc.STALE)
    assert (check.t, check.node) == (read["t"], read["node"])


def test_svg_marks_a_failing_check(good_trace):
    trace = copy.deepcopy(good_trace)
    trace["events"][20]["ts"] = [10**6, 0]
    checks = [c(trace) for c in hlc.CHECKS]
    svg = demos.hlc_draw.draw(trace, checks, "corrupted")
    assert 'class="dm-violation"' in svg and f'data-check="{hlc.BOUND}"' in svg


# -- params and the figure -----------------------------------------------------------------------
@pytest.mark.parametrize("given", [
    {"processes": 1}, {"processes": 9}, {"skew": -1}, {"skew": 1001}, {"mode": "atomic"},
    {"uncertainty": "maybe"}, {"rate": 0}, {"faults": "crash n4@100"}, {"clocks": 3},
])  # fmt: skip
def test_bad_params_raise_param_error_naming_the_culprit(given):
    with pytest.raises(ParamError) as caught:
        run(given)
    assert next(iter(given)) in str(caught.value) or "n4" in str(caught.value)


def test_default_svg_is_within_budget_and_matches_golden():
    svg = run({}).svg
    assert len(svg.encode()) <= 34_000
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(svg, encoding="utf-8")
    assert svg == GOLDEN.read_text(encoding="utf-8"), "rerun with UPDATE_GOLDEN=1 if intended"


def expected(trace: dict, name: str, t: float) -> tuple[str, list[str]]:
    """Give (role, panel texts) of process `name` at `t`, worked out from its events."""
    if any(d["node"] == name and d["start"] <= t < (d["end"] or 1e9) for d in trace["downtime"]):
        role = "down"
    else:
        role = "up"
    mine = [e for e in trace["events"] if e["node"] == name and e["t"] <= t]
    ts, lag = (mine[-1]["ts"], mine[-1]["ts"][0] - mine[-1]["pt"]) if mine else ([0, 0], 0)
    if name == trace["leaseholder"]:
        versions = [
            (tuple(e.get("wts", e["ts"])), e["value"])
            for e in mine
            if e.get("op") == "apply" or (e.get("op") == "write" and e.get("done"))
        ]
        held = max(versions, default=((0, 0), hlc.INITIAL))
    else:
        seen = [
            (tuple(e["wts"]), e["value"])
            if e["op"] == "acked"
            else (tuple(e["returns"][1]), e["returns"][0])
            for e in mine
            if e.get("op") == "acked" or (e["kind"] == "recv" and "returns" in e)
        ]
        held = seen[-1] if seen else ((0, 0), hlc.INITIAL)
    texts = [f"[{ts[0]},{ts[1]}]", f"{held[1]} @[{held[0][0]},{held[0][1]}]"]
    if trace["params"]["mode"] == "hlc":
        texts.insert(1, str(lag))
    return role, texts


@pytest.mark.parametrize("params", [
    {"seed": 1, "faults": "crash n2@300; restart n2@600", "drop": 0.1},
    {"seed": 5, "mode": "physical", "skew": 100, "rate": 8.0},
    {"seed": 9, "processes": 7, "duplicate": 0.3, "reorder": 40.0, "skew": 200},
])  # fmt: skip
def test_panel_shows_each_process_state_at_random_moments(params):
    result = run(params)
    trace = result.trace()
    rng = random.Random(params["seed"])
    for t in sorted(rng.uniform(0, trace["duration"] - 1) for _ in range(20)):
        shown = stretches_at(result.svg, t)
        for name in trace["nodes"]:
            role, texts = expected(trace, name, t)
            mine = [g for g in shown if g.get("data-node") == name]
            marks = [m.get("data-role") for g in mine for m in g.iter() if m.get("data-role")]
            assert marks == [role], (t, name, marks)
            got = [x.text for g in mine for x in g.iter(f"{SVG}text")]
            assert got[: len(texts)] == texts, (t, name, got, texts)


def test_panel_has_one_role_per_process_at_every_change():
    result = run({"seed": 3, "processes": 5, "drop": 0.2,
                  "faults": "crash n1@300; restart n1@700; crash n4@100"})  # fmt: skip
    times = sorted({float(g.get("data-t")) for g in ElementTree.fromstring(result.svg).iter()
                    if g.get("data-t") is not None})  # fmt: skip
    for t in times[::2]:
        roles = roles_at(result.svg, t)
        assert sorted(roles) == result.nodes and all(len(r) == 1 for r in roles.values()), t


def test_each_read_attempt_shows_its_uncertainty_interval_and_the_panel_says_so():
    result = run({"seed": 15, "skew": 100, "rate": 8.0, "duration": 500})
    root = ElementTree.fromstring(result.svg)
    bars = [p for p in root.iter(f"{SVG}path") if p.get("class") == "hl-u"]
    attempts = [e for e in result.events if e.get("op") in ("read", "restart")]
    assert len(bars) == len(attempts) and any(e["op"] == "restart" for e in attempts)
    x0, x1 = 44.0, 704.0  # the figure's time range: 720 wide, 44 left and 16 right for names
    for bar, e in zip(bars, attempts, strict=True):
        width = float(bar.get("d").rpartition("h")[2])
        x = x0 + (x1 - x0) * e["t"] / 500
        # At least a pixel (a restart above its limit has an empty interval), clipped at the end
        expected = min(max((e["limit"] - e["rts"][0]) * (x1 - x0) / 500, 1.0), x1 - x)
        assert width == pytest.approx(expected, abs=0.01), e
    says = [g.get("data-say") for g in root.iter(f"{SVG}g") if g.get("data-say")]
    assert any("restarts its read at [264,2], uncertain up to 245" in s for s in says), says
