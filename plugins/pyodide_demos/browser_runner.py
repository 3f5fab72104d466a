"""The browser worker's way into the demos: params as JSON in, the figure as JSON out.

Shipped in the demos wheel as the top-level module `pyodide_demos_runner` (never imported
at build time: `pyodide.ffi` exists only in Pyodide). A run may proceed in slices: the
simulator calls a hook every few events, and the hook hands control back to the worker's
event loop once a slice of wall-clock time is spent, through `run_sync` (WebAssembly stack
switching). There the worker hears Stop, and the run ends at the next slice boundary.
"""

from __future__ import annotations

import gc
import importlib
import json
import time
from collections.abc import Callable

# The demos package this wheel ships; the bundle writes its name here when it builds the wheel.
PACKAGE = "demos"

demos = importlib.import_module(PACKAGE)
sim = importlib.import_module(f"{PACKAGE}.sim")


class RunStopped(BaseException):
    """Raised inside a run the reader stopped: a BaseException, so demo code never eats it."""


def warm_up() -> list[str]:
    """Import every demo, so a memory snapshot taken now holds them all; give their names."""
    names = demos.names()
    for name in names:
        demos.get(name)  # the package's documented way to a demo (it need not have a registry)
    return names


def run_json(name: str, params_json: str) -> str:
    """Give the browser's JSON for demo `name` run with `params_json`."""
    return json.dumps(demos.run(name, json.loads(params_json)).for_browser())


def run_in_slices(name: str, params_json: str, pause: Callable, slice_ms: float) -> str:
    """Give `run_json(name, params_json)`, yielding to the event loop every `slice_ms`.

    The cyclic garbage collector stays off from here until the host calls `collect()` when
    no run is waiting: at the heaviest params a full collection walks tens of thousands of
    live trace objects (70 ms in CPython, about three times that here), a stretch in which
    no Stop can land. One run leaves at most a few tens of MB for that collection.
    """
    gc.disable()
    return in_slices(lambda: run_json(name, params_json), pause, slice_ms)


def collect() -> int:
    """Free what the runs left behind and turn the garbage collector back on; give how many
    objects were freed. For the host to call between runs (and before any run that keeps
    the collector on: the lab's, whose searches make thousands of simulations)."""
    freed = gc.collect()
    gc.enable()
    return freed


def in_slices(task: Callable[[], str], pause: Callable, slice_ms: float) -> str:
    """Give `task()`, yielding to the event loop every `slice_ms` of its simulation.

    `pause()` gives a JS promise settled on the event loop's next turn with whether the run
    was stopped meanwhile; then RunStopped unwinds the run.
    """
    from pyodide.ffi import run_sync

    budget = slice_ms / 1000
    deadline = time.monotonic() + budget

    def cooperate() -> None:
        nonlocal deadline
        if time.monotonic() < deadline:
            return
        if run_sync(pause()):
            raise RunStopped
        deadline = time.monotonic() + budget

    token = sim.COOPERATE.set(cooperate)
    try:
        return task()
    finally:
        sim.COOPERATE.reset(token)


def can_yield(probe: Callable) -> bool:
    """Give whether this runtime can suspend a run (run_sync on the promise `probe()` gives)."""
    from pyodide.ffi import run_sync

    try:
        return run_sync(probe()) == 1
    except RuntimeError:  # no stack switching here: Stop falls back to a fresh worker
        return False
