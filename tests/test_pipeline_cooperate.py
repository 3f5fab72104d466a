"""A host's cooperation hook (sim.COOPERATE) gets turns after the simulation too: between
the checks, before the figure and inside the figure's long loops, so a Stop pressed then
does not wait for the whole figure."""

from __future__ import annotations

import pytest

import demos
from demos import pipeline, sim
from demos.registry import get


class Stopped(BaseException):
    pass


def test_the_hook_is_called_between_the_stages_after_the_simulation(monkeypatch) -> None:
    module = get("partition")
    calls: list[str] = []
    stage = ["simulate"]
    real_draw = pipeline.drawer(module).draw

    def draw(*args):
        stage[0] = "draw"
        return real_draw(*args)

    monkeypatch.setattr(pipeline.drawer(module), "draw", draw)
    token = sim.COOPERATE.set(lambda: calls.append(stage[0]))
    try:
        result = demos.run("partition", {})
    finally:
        sim.COOPERATE.reset(token)
    assert result.svg.startswith("<svg")
    # The simulation's own turns, then one after it, one per check and one before the figure,
    # and the figure's own: its long loops (sim.cooperating) take turns too.
    assert calls.count("simulate") >= 1 + len(module.CHECKS) + 1
    assert calls.count("draw") >= 2


@pytest.mark.parametrize("name", ["partition", "hlc", "resilience", "clocks", "quorum"])
def test_a_stop_while_the_figure_is_drawn_ends_the_run_there(monkeypatch, name: str) -> None:
    module = get(name)
    stage, finished = ["simulate"], []
    real_draw = pipeline.drawer(module).draw

    def draw(*args):
        stage[0] = "draw"
        svg = real_draw(*args)
        finished.append(1)
        return svg

    monkeypatch.setattr(pipeline.drawer(module), "draw", draw)

    def stop_in_the_figure() -> None:
        if stage[0] == "draw":
            raise Stopped

    token = sim.COOPERATE.set(stop_in_the_figure)
    try:
        with pytest.raises(Stopped):
            demos.run(name, {})
    finally:
        sim.COOPERATE.reset(token)
    assert stage[0] == "draw" and not finished


def test_cooperating_gives_a_turn_before_the_first_item_and_every_so_many() -> None:
    turns: list[int] = []
    seen: list[int] = []
    token = sim.COOPERATE.set(lambda: turns.append(len(seen)))
    try:
        for item in sim.cooperating(range(2 * sim.COOPERATE_ITEMS + 1)):
            seen.append(item)
    finally:
        sim.COOPERATE.reset(token)
    assert seen == list(range(2 * sim.COOPERATE_ITEMS + 1))
    assert turns == [0, sim.COOPERATE_ITEMS, 2 * sim.COOPERATE_ITEMS]
    assert list(sim.cooperating(iter("abc"))) == ["a", "b", "c"]  # no hook: items only


def test_a_stop_after_the_simulation_ends_the_run_before_the_figure(monkeypatch) -> None:
    module = get("partition")
    drawn = []
    monkeypatch.setattr(pipeline.drawer(module), "draw", lambda *a: drawn.append(1) or "")
    simulated = []
    real_simulate = module.simulate

    def simulate(params):
        raw = real_simulate(params)
        simulated.append(1)
        return raw

    monkeypatch.setattr(module, "simulate", simulate)

    def stop_once_simulated() -> None:
        if simulated:
            raise Stopped

    token = sim.COOPERATE.set(stop_once_simulated)
    try:
        with pytest.raises(Stopped):
            demos.run("partition", {})
    finally:
        sim.COOPERATE.reset(token)
    assert simulated and not drawn
    assert sim.COOPERATE.get() is None  # nothing left behind for the next run
