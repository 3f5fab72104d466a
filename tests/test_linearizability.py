"""The linearizability checker: hand-written histories, then a brute-force cross-check."""

from __future__ import annotations

import itertools
import random

import pytest

from demos import linearizability as lin


def h(*ops) -> list[dict]:
    """Give a one-key history from (process, f, value, call, ret, type) tuples.

    `value` is the value written or read; `ret=None` leaves the op without a completion.
    """
    entries = []
    for process, f, value, call, ret, kind in ops:
        entries.append(
            (
                call,
                0,
                {
                    "process": process,
                    "type": "invoke",
                    "f": f,
                    "key": "x",
                    "value": value if f == "write" else None,
                    "t": call,
                },
            )
        )
        if ret is not None:
            entries.append(
                (
                    ret,
                    1,
                    {
                        "process": process,
                        "type": kind,
                        "f": f,
                        "key": "x",
                        "value": value,
                        "t": ret,
                    },
                )
            )
    return [e for _, _, e in sorted(entries, key=lambda item: (item[0], item[1]))]


def valid(history) -> bool | None:
    return lin.check(history).valid


# -- hand-written histories ----------------------------------------------------------------
def test_empty_history_is_linearizable():
    assert valid([]) is True


def test_sequential_write_then_read():
    assert valid(h(("a", "write", 1, 0, 10, "ok"), ("b", "read", 1, 20, 30, "ok")))


def test_read_of_initial_value():
    assert valid(h(("a", "read", None, 0, 10, "ok")))


def test_stale_read_after_a_completed_write():
    history = h(
        ("a", "write", 1, 0, 10, "ok"),
        ("a", "write", 2, 20, 30, "ok"),
        ("b", "read", 1, 40, 50, "ok"),
    )
    verdict = lin.check(history)
    assert verdict.valid is False
    assert verdict.op.process == "b" and verdict.op.value == 1
    assert "b's read of x (40-50 ms) returned 1" in verdict.detail
    assert "holds 2" in verdict.detail
    assert [(r.process, w.value) for r, w in lin.stale_reads(history)] == [("b", 2)]


def test_read_concurrent_with_a_write_may_see_either_value():
    for seen in (None, 1):
        assert valid(h(("a", "write", 1, 0, 100, "ok"), ("b", "read", seen, 10, 20, "ok")))


def test_reads_cannot_go_back_in_time():
    # the classic: a write is in progress; one read sees it, a later read does not
    history = h(
        ("a", "write", 1, 0, 100, "ok"),
        ("b", "read", 1, 10, 20, "ok"),
        ("c", "read", None, 30, 40, "ok"),
    )
    assert valid(history) is False


def test_concurrent_writes_order_chosen_by_reads():
    history = h(
        ("a", "write", 1, 0, 50, "ok"),
        ("b", "write", 2, 0, 50, "ok"),
        ("c", "read", 1, 60, 70, "ok"),
        ("c", "read", 1, 80, 90, "ok"),
    )
    assert valid(history) is True
    flip = h(
        ("a", "write", 1, 0, 50, "ok"),
        ("b", "write", 2, 0, 50, "ok"),
        ("c", "read", 1, 60, 70, "ok"),
        ("d", "read", 2, 80, 90, "ok"),
    )
    assert valid(flip) is False  # both writes were done before either read began


def test_read_of_a_value_never_written():
    assert valid(h(("a", "write", 1, 0, 10, "ok"), ("b", "read", 7, 20, 30, "ok"))) is False


def test_read_from_the_future():
    assert valid(h(("b", "read", 1, 0, 10, "ok"), ("a", "write", 1, 20, 30, "ok"))) is False


def test_failed_write_never_happened():
    history = h(("a", "write", 1, 0, 10, "fail"), ("b", "read", 1, 20, 30, "ok"))
    assert valid(history) is False
    assert valid(h(("a", "write", 1, 0, 10, "fail"), ("b", "read", None, 20, 30, "ok")))


def test_info_write_may_take_effect_late_or_never():
    late = h(
        ("a", "write", 1, 0, 10, "info"),
        ("b", "read", None, 20, 30, "ok"),
        ("b", "read", 1, 1000, 1010, "ok"),
    )
    assert valid(late) is True
    never = h(("a", "write", 1, 0, 10, "info"), ("b", "read", None, 20, 30, "ok"))
    assert valid(never) is True


def test_info_write_cannot_take_effect_before_it_was_invoked():
    history = h(("b", "read", 1, 0, 10, "ok"), ("a", "write", 1, 20, 30, "info"))
    assert valid(history) is False


def test_info_write_takes_effect_once():
    history = h(
        ("a", "write", 1, 0, 10, "info"),
        ("c", "read", 1, 20, 30, "ok"),
        ("b", "write", 2, 40, 50, "ok"),
        ("c", "read", 2, 60, 70, "ok"),
        ("c", "read", 1, 80, 90, "ok"),
    )
    assert valid(history) is False  # 1 again after 2 would need the write a second time
    assert valid(history[:-2]) is True


def test_writes_that_touch_are_concurrent():
    # the second write began the moment the first ended: either order is legal
    history = h(
        ("a", "write", 1, 0, 10, "ok"),
        ("b", "write", 2, 10, 20, "ok"),
        ("c", "read", 1, 30, 40, "ok"),
    )
    assert valid(history) is True
    assert lin.stale_reads(history) == []
    later = h(
        ("a", "write", 1, 0, 10, "ok"),
        ("b", "write", 2, 11, 12, "ok"),
        ("c", "read", 1, 30, 40, "ok"),
    )
    assert valid(later) is False
    assert [(r.process, w.value) for r, w in lin.stale_reads(later)] == [("c", 2)]


def test_info_write_cannot_be_undone():
    history = h(
        ("a", "write", 1, 0, 10, "info"),
        ("b", "read", 1, 20, 30, "ok"),
        ("b", "read", None, 40, 50, "ok"),
    )
    assert valid(history) is False


def test_op_without_completion_counts_as_info():
    assert valid(h(("a", "write", 1, 0, None, "ok"), ("b", "read", 1, 500, 510, "ok")))


def test_info_read_is_ignored():
    assert valid(h(("a", "write", 1, 0, 10, "ok"), ("b", "read", None, 20, 30, "info")))


def test_keys_are_independent():
    history = [
        {"process": "a", "type": "invoke", "f": "write", "key": "x", "value": 1, "t": 0},
        {"process": "a", "type": "ok", "f": "write", "key": "x", "value": 1, "t": 10},
        {"process": "b", "type": "invoke", "f": "read", "key": "y", "value": None, "t": 20},
        {"process": "b", "type": "ok", "f": "read", "key": "y", "value": None, "t": 30},
        {"process": "b", "type": "invoke", "f": "read", "key": "x", "value": None, "t": 40},
        {"process": "b", "type": "ok", "f": "read", "key": "x", "value": 1, "t": 50},
    ]
    assert valid(history) is True
    history[3]["value"] = 1  # y was never written
    assert valid(history) is False


def test_malformed_histories_are_rejected():
    with pytest.raises(lin.HistoryError):
        lin.check([{"process": "a", "type": "ok", "f": "read", "key": "x", "value": 1, "t": 0}])
    twice = h(("a", "write", 1, 0, None, "ok")) + h(("a", "write", 2, 5, None, "ok"))
    with pytest.raises(lin.HistoryError):
        lin.check(twice)


def test_bound_gives_unknown_not_a_guess():
    # many concurrent writes, each seen by a read, and a read no order can satisfy: the
    # search must branch (a write no read sees would be placed without branching)
    ops = [(f"w{i}", "write", i, 0, 100, "ok") for i in range(1, 11)]
    ops += [(f"r{i}", "read", i, 0, 100, "ok") for i in range(1, 11)]
    ops.append(("r", "read", 99, 0, 100, "ok"))
    verdict = lin.check(h(*ops), limit=50)
    assert verdict.valid is None and "gave up" in verdict.detail
    assert lin.check(h(*ops)).valid is False


def test_many_concurrent_writes_stay_fast():
    # memoisation: 16 overlapping writes have 2^16 subsets, not 16! orders
    ops = [(f"w{i}", "write", i, i, 1000 + i, "ok") for i in range(16)]
    ops.append(("r", "read", 3, 2000, 2010, "ok"))
    verdict = lin.check(h(*ops))
    assert verdict.valid is True and verdict.explored < 5000


def test_a_few_hundred_ops_are_quick():
    rng = random.Random(3)
    ops, value, t = [], None, 0.0
    for i in range(400):  # a sequential-ish history with a little overlap
        process = f"p{i % 4}"
        if rng.random() < 0.5:
            value = i + 1
            ops.append((process, "write", value, t, t + 15, "ok"))
        else:
            ops.append((process, "read", value, t + 1, t + 14, "ok"))
        t += 10
    verdict = lin.check(h(*ops))
    assert verdict.valid is True and verdict.explored < 4000
    verdict = lin.check(h(*ops, ("late", "read", -1, t + 100, t + 110, "ok")))
    assert verdict.valid is False and verdict.op.process == "late"


# -- brute force ---------------------------------------------------------------------------
def brute_force(history: list[dict]) -> bool:
    """Try every order of every subset of uncertain writes (the definition, slowly)."""
    ops, _ = lin.pair(history)
    sure = [op for op in ops if op.status == "ok"]
    maybe = [op for op in ops if op.status != "ok"]
    for k in range(len(maybe) + 1):
        for extra in itertools.combinations(maybe, k):
            for order in itertools.permutations(sure + list(extra)):
                if _legal(order):
                    return True
    return False


def _legal(order) -> bool:
    value = lin.INITIAL
    for i, op in enumerate(order):
        if any(later.ret < op.call for later in order[i + 1 :]):
            return False  # an op placed after this one had finished before it began
        if op.f == "write":
            value = op.value
        elif op.value != value:
            return False
    return True


def random_history(rng: random.Random) -> list[dict]:
    ops, written = [], []
    for i in range(rng.randint(1, 5)):
        call = float(rng.randint(0, 20))
        ret = call + rng.randint(0, 10)
        kind = rng.choices(("ok", "info", "fail"), (6, 2, 1))[0]
        if rng.random() < 0.5:
            written.append(i + 1)
            ops.append((f"p{i}", "write", i + 1, call, ret, kind))
        else:
            ops.append((f"p{i}", "read", None, call, ret, kind))
    fixed = []
    for process, f, value, call, ret, kind in ops:
        if f == "read":
            value = rng.choice([None] + written + [99])
        fixed.append(
            (process, f, value, call, None if kind == "info" and rng.random() < 0.3 else ret, kind)
        )
    return h(*fixed)


def test_agrees_with_brute_force_on_small_random_histories():
    rng = random.Random(2024)
    outcomes = {True: 0, False: 0}
    for _ in range(3000):
        history = random_history(rng)
        expected = brute_force(history)
        assert valid(history) is expected, history
        outcomes[expected] += 1
    assert min(outcomes.values()) > 300  # both verdicts were exercised


# -- generated histories at scale --------------------------------------------------------
def corrupt_one_read(history: list[dict]) -> tuple[list[dict], lin.Op]:
    """Give a copy where a read from the middle returns a value overwritten before it began.

    The value is the one of a write that finished before another write started, which
    finished before the read started: no legal order lets the read see it.
    """
    ops, _ = lin.pair(history)
    writes = [op for op in ops if op.f == "write" and op.status == "ok"]
    reads = [op for op in ops if op.f == "read" and op.status == "ok"]
    for read in reads[len(reads) // 2 :]:
        for old in writes:
            if old.key == read.key and any(
                w.key == read.key and old.ret < w.call and w.ret < read.call for w in writes
            ):
                break
        else:
            continue
        copy = [dict(entry) for entry in history]
        done = next(
            i
            for i, entry in enumerate(copy)
            if entry["process"] == read.process
            and entry["type"] == "ok"
            and float(entry["t"]) == read.ret
        )
        copy[done]["value"] = old.value
        stale = next(op for op in lin.pair(copy)[0] if op.index == read.index)
        return copy, stale
    raise AssertionError("no read has an older write to go stale on")


def most_in_flight(history: list[dict]) -> int:
    """Give the largest number of ops pending at once."""
    pending, most = 0, 0
    for entry in history:
        pending += 1 if entry["type"] == "invoke" else -1
        most = max(most, pending)
    return most


@pytest.fixture(scope="module")
def big_history() -> list[dict]:
    return lin.register_history(random.Random(5), 5000, processes=6, unknown=0.03, failed=0.02)


def test_generated_5000_op_history_is_linearizable(big_history):
    ops, failed = lin.pair(big_history)
    assert sum(entry["type"] == "invoke" for entry in big_history) == 5000 and failed
    assert any(op.status == "info" and op.f == "write" for op in ops)
    assert most_in_flight(big_history) >= 5  # the ops really overlap
    verdict = lin.check(big_history)
    assert verdict.valid is True and verdict.outcome == "linearizable"
    assert f"all {len(ops)} operations fit" in verdict.detail
    # each step looks at the ops in flight only, and the search barely backtracks
    assert verdict.explored < len(ops)
    assert lin.stale_reads(big_history) == []


def test_one_stale_read_in_5000_ops_is_found(big_history):
    corrupted, read = corrupt_one_read(big_history)
    verdict = lin.check(corrupted)
    assert verdict.valid is False and verdict.outcome == "not linearizable"
    assert verdict.op is not None and verdict.op.index == read.index
    assert verdict.detail.startswith(f"not linearizable: {read.describe()}")
    assert [r for r, _ in lin.stale_reads(corrupted)] == [read]


def test_several_keys_and_processes_at_scale():
    history = lin.register_history(random.Random(8), 3000, processes=10, keys=4, unknown=0.05)
    assert lin.check(history).valid is True
    corrupted, read = corrupt_one_read(history)
    verdict = lin.check(corrupted)
    assert verdict.valid is False and verdict.op.index == read.index


def test_a_tiny_budget_is_reported_not_guessed(big_history):
    corrupted, _ = corrupt_one_read(big_history)
    for history in (big_history, corrupted):
        verdict = lin.check(history, limit=10)
        assert verdict.valid is None and verdict.outcome == "budget exhausted"
        assert verdict.explored == 10 and verdict.op is None
        assert "gave up on key k0 when the budget of 10 configurations ran out" in verdict.detail
        assert "(10 explored)" in verdict.detail


def test_the_budget_is_shared_by_all_keys():
    history = lin.register_history(random.Random(2), 400, processes=4, keys=2)
    whole = lin.check(history)
    assert whole.valid is True
    first = lin.check([e for e in history if e["key"] == "k0"])
    assert 0 < first.explored < whole.explored
    # enough for k0 alone but not for both: k1 gets what is left and runs out
    verdict = lin.check(history, limit=first.explored + 1)
    assert verdict.valid is None and "on key k1" in verdict.detail
    assert verdict.explored == first.explored + 1
    assert lin.check(history, limit=whole.explored).valid is True


def test_outcome_names_each_verdict():
    assert lin.Verdict(True, "").outcome == "linearizable"
    assert lin.Verdict(False, "").outcome == "not linearizable"
    assert lin.Verdict(None, "").outcome == "budget exhausted"


def test_generated_histories_follow_one_process_one_op():
    history = lin.register_history(random.Random(4), 300, processes=3, unknown=0.2, failed=0.1)
    kinds = {entry["type"] for entry in history}
    assert kinds == {"invoke", "ok", "info", "fail"}
    assert [entry["t"] for entry in history] == sorted(entry["t"] for entry in history)
    lin.pair(history)  # raises on a process with two ops pending
    assert history == lin.register_history(
        random.Random(4), 300, processes=3, unknown=0.2, failed=0.1
    )


# -- generated small histories against the brute force -----------------------------------
def small_history(rng: random.Random) -> list[dict]:
    """Give a short history of a few processes, linearizable or, about half the time, not."""
    history = lin.register_history(
        rng,
        rng.randint(1, 6),
        processes=rng.randint(1, 4),
        unknown=rng.choice((0.0, 0.3)),
        failed=rng.choice((0.0, 0.2)),
    )
    if rng.random() < 0.3:  # equal values from different writes (consistently: still legal)
        for entry in history:
            if entry["value"] is not None:
                entry["value"] = entry["value"] % 2 + 1
    reads = [entry for entry in history if entry["type"] == "ok" and entry["f"] == "read"]
    if reads and rng.random() < 0.6:
        rng.choice(reads)["value"] = rng.choice((None, 1, 2, 3, 99))
    return history


def agree_with_brute_force(seeds: range) -> dict[bool, int]:
    outcomes = {True: 0, False: 0}
    for seed in seeds:
        history = small_history(random.Random(seed))
        expected = brute_force(history)
        assert valid(history) is expected, (seed, history)
        outcomes[expected] += 1
    return outcomes


def test_agrees_with_brute_force_on_generated_histories():
    outcomes = agree_with_brute_force(range(1500))
    assert min(outcomes.values()) > 300  # both verdicts were exercised


@pytest.mark.slow
def test_agrees_with_brute_force_on_many_more_seeds():
    outcomes = agree_with_brute_force(range(1500, 40000))
    assert min(outcomes.values()) > 5000


# -- generated histories of a few dozen ops against a plain search ------------------------
def plain_search(history: list[dict]) -> bool:
    """Give the verdict of the textbook memoised search, with none of the checker's shortcuts.

    A configuration is (ops done, value); any pending op invoked before every pending op
    returned may go next, a read only if it returns the value. Exponential only in how
    many ops overlap, so it judges histories far longer than the brute force can.
    """
    ops, _ = lin.pair(history)
    required = frozenset(i for i, op in enumerate(ops) if op.status == "ok")
    start = (frozenset(), lin.INITIAL)
    stack, seen = [start], {start}
    while stack:
        done, value = stack.pop()
        if required <= done:
            return True
        pending = [i for i in range(len(ops)) if i not in done]
        horizon = min(ops[i].ret for i in pending)
        for i in pending:
            op = ops[i]
            if op.call > horizon or (op.f == "read" and op.value != value):
                continue
            nxt = (done | {i}, op.value)
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return False


def medium_history(rng: random.Random) -> list[dict]:
    """Give 10-40 ops of up to 8 processes, often with repeated values, often corrupted."""
    history = lin.register_history(
        rng,
        rng.randint(10, 40),
        processes=rng.randint(2, 8),
        unknown=rng.choice((0.0, 0.1, 0.4)),
        failed=rng.choice((0.0, 0.1)),
    )
    if rng.random() < 0.5:  # few distinct values: many writes look alike
        distinct = rng.randint(2, 4)
        for entry in history:
            if entry["value"] is not None:
                entry["value"] = entry["value"] % distinct
    reads = [entry for entry in history if entry["type"] == "ok" and entry["f"] == "read"]
    if reads and rng.random() < 0.5:
        rng.choice(reads)["value"] = rng.choice((None, 0, 1, 2, 5, 8))
    return history


def agree_with_plain_search(seeds: range) -> dict[bool, int]:
    outcomes = {True: 0, False: 0}
    for seed in seeds:
        history = medium_history(random.Random(seed))
        expected = plain_search(history)
        assert valid(history) is expected, seed
        outcomes[expected] += 1
    return outcomes


def test_agrees_with_plain_search_on_longer_histories():
    outcomes = agree_with_plain_search(range(150))
    assert min(outcomes.values()) > 40


@pytest.mark.slow
def test_agrees_with_plain_search_on_many_more_seeds():
    outcomes = agree_with_plain_search(range(150, 6000))
    assert min(outcomes.values()) > 1500


# -- stale reads against their definition ------------------------------------------------
def stale_by_definition(history: list[dict]) -> list[tuple[int, int]]:
    """Give (read, newer write) indices as the definition says, comparing every pair."""
    ops, _ = lin.pair(history)
    writes = {(op.key, op.value): op for op in ops if op.f == "write"}
    found = []
    for read in ops:
        if read.f != "read" or read.status != "ok":
            continue
        seen = writes.get((read.key, read.value))
        if read.value is not None and seen is None:
            continue
        newer = [
            w
            for w in ops
            if w.f == "write"
            and w.status == "ok"
            and w.key == read.key
            and w.ret < read.call
            and w is not seen
            and (seen is None or seen.ret < w.call)
        ]
        if newer:
            found.append((read.index, max(newer, key=lambda w: (w.ret, w.index)).index))
    return found


def test_stale_reads_match_their_definition():
    rng = random.Random(6)
    total = 0
    for _ in range(100):
        history = lin.register_history(
            rng, 80, processes=rng.randint(2, 5), keys=2, unknown=0.1, failed=0.05
        )
        ops, _ = lin.pair(history)
        for entry in rng.sample(history, 8):
            if entry["type"] != "ok" or entry["f"] != "read":
                continue
            # a value written just before the read began (stale or not, by a hair), an old
            # one, the initial one, or one nobody wrote
            recent = [
                op.value
                for op in ops
                if op.f == "write"
                and op.key == entry["key"]
                and float(entry["t"]) - 40 <= op.ret <= float(entry["t"])
            ]
            entry["value"] = rng.choice([*recent, *recent, None, 1, 999])
        expected = stale_by_definition(history)
        got = [(read.index, newer.index) for read, newer in lin.stale_reads(history)]
        assert got == expected
        total += len(expected)
    assert total > 30
