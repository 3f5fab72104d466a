"""A host's cooperation hook (sim.COOPERATE) gets turns after the simulation too: between
the checks, before the figure, so a Stop pressed then does not wait for the whole figure."""

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
    # and none from inside the figure (draw calls no hook).
    assert calls.count("simulate") >= 1 + len(module.CHECKS) + 1
    assert "draw" not in calls


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
