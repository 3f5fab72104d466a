"""The lab's Python side: edited protocols, presets, counterexample search and shrinking, CLI."""

from __future__ import annotations

import json

import pytest
from conftest import demos_cli

import demos
from demos import edit, presets, search
from demos.errors import DemoError
from demos.faults import parse_schedule

PRESETS = [(p.demo, p.name) for p in presets.presets()]


# -- edited protocols -------------------------------------------------------------------------
def test_the_original_source_runs_as_an_edit_and_gives_the_same_run():
    module = edit.load_protocol("raft", edit.original_source("raft"))
    params = {"seed": 3, "faults": "crash n1@2000; restart n1@4000"}
    assert demos.run("raft", params, protocol=module).svg == demos.run("raft", params).svg


def test_a_syntax_error_names_its_line():
    source = edit.original_source("raft").replace(
        "    def can_grant_vote(self", "    def can_grant_vote(self,,", 1
    )
    with pytest.raises(edit.EditError) as caught:
        edit.load_protocol("raft", source)
    line = next(i for i, text in enumerate(source.splitlines(), 1) if ",," in text)
    assert caught.value.line == line and f"line {line}" in str(caught.value)


def test_an_error_while_loading_or_running_names_the_edited_line():
    lines = edit.original_source("raft").splitlines()
    at = next(i for i, text in enumerate(lines) if text.startswith("NAME = "))
    broken = "\n".join([*lines[:at], "NAME = undefined_name", *lines[at + 1 :]])
    with pytest.raises(edit.EditError, match=rf"line {at + 1}: NameError"):
        edit.load_protocol("raft", broken)
    source = edit.original_source("raft").replace(
        "        granted = self.can_grant_vote(msg)\n", "        granted = 1 / 0\n", 1
    )
    module = edit.load_protocol("raft", source)
    with pytest.raises(ZeroDivisionError) as caught:
        demos.run("raft", {}, protocol=module)
    message, line = edit.describe(caught.value, "<edited raft.py>")
    assert source.splitlines()[line - 1].strip() == "granted = 1 / 0"
    assert message == f"line {line}: ZeroDivisionError: division by zero"


def test_an_edit_without_simulate_is_refused_and_a_diff_shows_the_change():
    with pytest.raises(edit.EditError, match="no simulate"):
        edit.load_protocol("clocks", "x = 1\n")
    preset = presets.get_preset("raft", "vote-without-log-check")
    diff = edit.diff("raft", preset.source())
    assert diff.startswith("--- raft.py\n+++ raft.py (edited)\n")
    assert "-            and self.log_is_up_to_date(" in diff
    assert edit.diff("raft", edit.original_source("raft")) == ""


def test_checks_stay_the_demos_own_whatever_the_edit():
    source = (
        edit.original_source("raft") + "\nCHECKS = ()\ndef summarize(trace, checks):\n"
        "    return 'all fine'\n"
    )
    result = demos.run("raft", {}, protocol=edit.load_protocol("raft", source))
    assert [c.name for c in result.checks][:3] == [
        "Election safety",
        "Log matching",
        "State machine safety",
    ]
    assert result.summary != "all fine"


# -- presets ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("demo", "name"), PRESETS)
def test_each_preset_edits_its_demo_and_loads(demo, name):
    preset = presets.get_preset(demo, name)
    source = preset.source()
    assert source != edit.original_source(demo)
    edit.load_protocol(demo, source)
    assert preset.to_json()["title"] and preset.explain


def test_every_consensus_demo_has_two_presets_and_unknown_ones_are_named():
    for demo in ("raft", "paxos", "pbft", "nakamoto"):
        assert len(presets.presets(demo)) >= 2, demo
    with pytest.raises(DemoError, match=r"unknown preset 'nope' for raft \(known: "):
        presets.get_preset("raft", "nope")


# -- search and shrinking ---------------------------------------------------------------------
@pytest.mark.parametrize(("demo", "name"), PRESETS)
def test_search_finds_each_presets_bug_and_shrinks_it(demo, name):
    preset = presets.get_preset(demo, name)
    protocol = edit.load_protocol(demo, preset.source())
    found, runs = search.run_search(demo, runs=300, seed=1, protocol=protocol, base=preset.base)
    assert found is not None, f"{demo}/{name}: nothing in {runs} runs"
    module = demos.get(demo)
    first = parse_schedule(
        found.first["faults"], module.node_names(found.first), found.first["duration"]
    )
    small = parse_schedule(
        found.params["faults"], module.node_names(found.params), found.params["duration"]
    )
    assert len(small) <= len(first) and found.params["duration"] <= found.first["duration"]
    for key in ("drop", "duplicate", "reorder"):
        assert found.params[key] <= found.first[key]
    again, failed = search.violation(module, found.params, protocol)
    assert failed is not None and failed.name == found.check
    assert again.svg == found.result.svg  # the shrunken case is what the figure shows
    # The unmodified protocol survives the very same cases.
    for index in range(found.runs):
        params = search.case(module, search.assemble_params(module, preset.base), 1, index)
        assert search.violation(module, params)[1] is None, (demo, params)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("demo", "name"),
    PRESETS,
)
def test_the_original_protocol_survives_each_presets_whole_search(demo, name):
    # The browser's search of a preset: its base, seed 1; the original must pass all of it.
    base = presets.get_preset(demo, name).base
    found, runs = search.run_search(demo, runs=500, seed=1, base=base)
    assert found is None and runs == 500, found and found.to_json()


@pytest.mark.parametrize("demo", ["raft", "partition", "clocks"])
def test_the_original_protocols_give_no_counterexample(demo):
    found, runs = search.run_search(demo, runs=40, seed=7)
    assert found is None and runs == 40


@pytest.mark.slow
@pytest.mark.parametrize("demo", ["raft", "partition", "clocks"])
def test_the_original_protocols_give_no_counterexample_in_a_long_search(demo):
    found, _ = search.run_search(demo, runs=1500, seed=11)
    assert found is None, found.to_json()


def test_shards_split_one_search_exactly():
    module = demos.get("raft")
    base = search.assemble_params(module, {})
    whole = [search.case(module, base, 5, i) for i in range(12)]
    shards = {i: search.case(module, base, 5, i) for k in range(3) for i in range(k, 12, 3)}
    assert [shards[i] for i in range(12)] == whole
    assert len({json.dumps(c, sort_keys=True) for c in whole}) == 12


def test_progress_is_reported_for_every_run():
    steps = list(search.search("clocks", runs=5, seed=2))
    assert [s.runs for s in steps[:-1]] == [1, 2, 3, 4, 5] and steps[-1] is None


def test_bad_search_input_is_refused():
    with pytest.raises(DemoError, match="shard"):
        list(search.search("raft", shard=(2, 2)))
    with pytest.raises(DemoError, match="runs"):
        list(search.search("raft", runs=0))


# -- the command line -------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize(("demo", "name"), PRESETS)
def test_cli_finds_each_presets_bug_as_the_search_does(demo, name):
    preset = presets.get_preset(demo, name)
    sets = [arg for key, value in preset.base.items() for arg in ("--set", f"{key}={value}")]
    done = demos_cli("search", demo, "--preset", name, "--runs", "300", *sets, "--format", "json")
    assert done.returncode == 1, done.stdout + done.stderr
    protocol = edit.load_protocol(demo, preset.source())
    found, _ = search.run_search(demo, runs=300, seed=1, protocol=protocol, base=preset.base)
    assert json.loads(done.stdout)["counterexample"] == found.to_json()


def test_cli_finds_a_presets_bug_with_exit_1_and_reports_it_as_json():
    done = demos_cli(
        "search", "raft", "--preset", "vote-without-log-check", "--runs", "50", "--format", "json"
    )
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["found"] and report["counterexample"]["check"] == "State machine safety"
    again = demos_cli(
        "search", "raft", "--preset", "vote-without-log-check", "--runs", "50", "--format", "json"
    )
    assert again.stdout == done.stdout  # seeded: the same search finds the same case


def test_cli_finds_nothing_in_the_original_with_exit_0(tmp_path):
    edited = tmp_path / "clocks.py"
    edited.write_text(edit.original_source("clocks"))
    done = demos_cli("search", "clocks", "--module", str(edited), "--runs", "20")
    assert done.returncode == 0 and "no counterexample in 20 runs" in done.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("search", "nosuch"),
        ("search", "raft", "--preset", "nope"),
        ("search", "raft", "--shard", "1of2"),
        ("search", "raft", "--module", "/nonexistent.py"),
        ("search", "raft", "--set", "nodes=99"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(args):
    done = demos_cli(*args)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr


def test_shrinking_keeps_to_cases_where_the_check_is_still_a_guarantee(monkeypatch):
    # The preset's case, found as usual; then a demo that promises the failed check only at
    # the case's own duration and fault count or more: nothing smaller may stand in for it.
    preset = presets.get_preset("raft", "vote-without-log-check")
    protocol = edit.load_protocol("raft", preset.source())
    found, _ = search.run_search("raft", runs=300, seed=1, protocol=protocol, base=preset.base)
    assert found is not None
    module = demos.get("raft")
    checks = zip(module.CHECKS, found.result.checks, strict=True)
    failed = next(fn.__name__ for fn, c in checks if c.name == found.check)

    def size(params) -> tuple[float, int]:
        nodes = module.node_names(params)
        return float(params["duration"]), len(parse_schedule(params["faults"], nodes, 1e9))

    floor = size(found.first)
    honest = module.NOT_GUARANTEED

    def promised_only_at_full_size(params):
        smaller = size(params)[0] < floor[0] or size(params)[1] < floor[1]
        return (*honest, failed) if smaller else honest

    monkeypatch.setattr(module, "NOT_GUARANTEED", promised_only_at_full_size)
    steps = search.shrink(module, dict(found.first), found.check, protocol)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            best, result, tries = done.value
            break
    assert tries > 0 and size(best) >= floor, best
    assert search.still_fails(module, result, found.check)


@pytest.mark.parametrize("demo", ["raft", "pbft", "kafka"])
def test_every_shrinking_step_is_strictly_smaller(demo):
    module = demos.get(demo)
    base = search.assemble_params(module, {})
    for index in range(30):
        params = search.case(module, base, 3, index)
        size = case_size(module, params)
        for smaller in search.candidates(module, params):
            assert case_size(module, smaller) < size, (params, smaller)


def case_size(module, params: dict) -> tuple:
    """Give a measure every shrinking step must lower (compared element by element sum)."""
    faults = parse_schedule(params["faults"], module.node_names(params), params["duration"])
    spans = sum(f.end - f.start for f in faults if hasattr(f, "end"))
    size = next((params[k] for k in search.SIZE_PARAMS if k in params), 0)
    return (
        sum(
            (
                len(faults) * 1e9,
                spans,
                params["duration"],
                size * 1e6,
                (params["drop"] + params["duplicate"]) * 1e3,
                params["reorder"],
            )
        ),
    )


@pytest.mark.parametrize("duration", [100.0, 200.0, 300.0, 700.0, 1000.0, 1300.0])
def test_a_short_run_still_shrinks_to_something_shorter_or_not_at_all(duration):
    module = demos.get("pbft")
    params = search.assemble_params(module, {"duration": duration})
    for smaller in search.candidates(module, params):
        assert smaller["duration"] < duration, smaller
