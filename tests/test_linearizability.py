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
        entries.append((call, 0, {"process": process, "type": "invoke", "f": f, "key": "x",
                                  "value": value if f == "write" else None, "t": call}))
        if ret is not None:
            entries.append((ret, 1, {"process": process, "type": kind, "f": f, "key": "x",
                                     "value": value, "t": ret}))
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
    history = h(("a", "write", 1, 0, 10, "ok"), ("a", "write", 2, 20, 30, "ok"),
                ("b", "read", 1, 40, 50, "ok"))
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
    history = h(("a", "write", 1, 0, 100, "ok"), ("b", "read", 1, 10, 20, "ok"),
                ("c", "read", None, 30, 40, "ok"))
    assert valid(history) is False


def test_concurrent_writes_order_chosen_by_reads():
    history = h(("a", "write", 1, 0, 50, "ok"), ("b", "write", 2, 0, 50, "ok"),
                ("c", "read", 1, 60, 70, "ok"), ("c", "read", 1, 80, 90, "ok"))
    assert valid(history) is True
    flip = h(("a", "write", 1, 0, 50, "ok"), ("b", "write", 2, 0, 50, "ok"),
             ("c", "read", 1, 60, 70, "ok"), ("d", "read", 2, 80, 90, "ok"))
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
    late = h(("a", "write", 1, 0, 10, "info"), ("b", "read", None, 20, 30, "ok"),
             ("b", "read", 1, 1000, 1010, "ok"))
    assert valid(late) is True
    never = h(("a", "write", 1, 0, 10, "info"), ("b", "read", None, 20, 30, "ok"))
    assert valid(never) is True


def test_info_write_cannot_take_effect_before_it_was_invoked():
    history = h(("b", "read", 1, 0, 10, "ok"), ("a", "write", 1, 20, 30, "info"))
    assert valid(history) is False


def test_info_write_cannot_be_undone():
    history = h(("a", "write", 1, 0, 10, "info"), ("b", "read", 1, 20, 30, "ok"),
                ("b", "read", None, 40, 50, "ok"))
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
        lin.check([{"process": "a", "type": "ok", "f": "read", "key": "x", "value": 1,
                    "t": 0}])
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
        if any(later.ret < op.call for later in order[i + 1:]):
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
        fixed.append((process, f, value, call, None if kind == "info" and rng.random() < 0.3
                      else ret, kind))
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
