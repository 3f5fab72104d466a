"""The one way every demo runs: params → simulation → trace → checks → summary → SVG.

A demo module declares, and the pipeline assembles:

- `NAME`, `TITLE`, `PARAMS` (a tuple of `Param`) and `node_names(params)`;
- `simulate(params) -> dict`: the run as a trace document (`nodes`, `events`, `messages`
  and the demo's own top-level keys), without checks;
- `CHECKS`: functions `check(trace) -> Check`, each a pure function of the trace;
- `summarize(trace, checks) -> str`: one line on what happened.

Its figure lives in `<name>_draw.py` as `draw(trace, checks, summary) -> str`, built with
`demos.kit`, so the protocol module holds the protocol and nothing else.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import ModuleType

from .params import resolve
from .result import Check, Result
from .sim import take_turn

SCHEMA = 1


def assemble(
    module: ModuleType, given: Mapping[str, object], protocol: ModuleType | None = None
) -> Result:
    """Give the result of running demo `module` with `given` params (strings or typed).

    `protocol`, when given, supplies `simulate` in place of the module's own (a reader's
    edited copy); params, checks, summary and figure always come from `module`.
    """
    params = resolve(module.PARAMS, given, module.node_names)
    raw = (protocol or module).simulate(params)
    # The host's hook gets turns between the stages after the simulation too (checks,
    # summary, figure), and inside their long loops (sim.cooperating): a Stop pressed then
    # lands within a few ms instead of after the figure.
    take_turn()
    trace = {
        "schema": SCHEMA,
        "demo": module.NAME,
        "params": params,
        "nodes": list(raw["nodes"]),
        "duration": float(params["duration"]),
        "events": raw["events"],
        "messages": raw["messages"],
    }
    trace.update({k: v for k, v in raw.items() if k not in trace})
    checks = tuple(run_checks(module, trace))
    summary = module.summarize(trace, list(checks))
    take_turn()
    svg = drawer(module).draw(trace, list(checks), summary)
    return Result(module.NAME, params, svg, summary, checks, trace)


def run_checks(module: ModuleType, trace: dict) -> list[Check]:
    """Give the module's checks applied to `trace`, in the order the module lists them."""
    results = []
    for check in module.CHECKS:
        results.append(check(trace))
        take_turn()
    return results


def drawer(module: ModuleType) -> ModuleType:
    """Give the module that draws demo `module`'s figure: `<package>.<NAME>_draw`."""
    package = module.__name__.rpartition(".")[0]
    return importlib.import_module(f"{package}.{module.NAME}_draw")
