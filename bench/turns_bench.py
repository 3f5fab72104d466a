"""How long a run goes without giving its host a turn, per demo at its heaviest params.

In the browser a Stop (or a newer run) takes effect at the run's next turn (`sim.COOPERATE`,
called by the event loop, between the pipeline's stages and inside the long loops of checks
and figures through `sim.cooperating`). This prints, in CPython, the longest stretch between
two turns for each demo with every count and the duration at their maximum, the run's
total and its number of turns. Pyodide takes about three times as long for the same work.

    python bench/turns_bench.py [--demo NAME ...]

Each demo runs once first (imports, as the browser's snapshot already has them) and the
garbage collector runs before the measured run, so a collection left over from another
demo is not counted against this one.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import demos  # noqa: E402
from demos import sim  # noqa: E402


def heaviest(name: str) -> dict[str, object]:
    """Give the params that make demo `name` run longest: every count and the duration at
    their maximum (as the browser benchmark's Stop uses)."""
    return {
        p.name: int(p.max)
        for p in demos.get(name).PARAMS
        if p.name != "seed" and p.max is not None and (p.kind == "int" or p.name == "duration")
    }


def measure(name: str, params: dict) -> tuple[float, float, int]:
    """Give (longest stretch without a turn, whole run, turns), in ms and a count."""
    demos.run(name, params)
    gc.collect()
    turns = [time.perf_counter()]
    token = sim.COOPERATE.set(lambda: turns.append(time.perf_counter()))
    try:
        demos.run(name, params)
    finally:
        turns.append(time.perf_counter())
        sim.COOPERATE.reset(token)
    longest = max(b - a for a, b in zip(turns, turns[1:], strict=False))
    return longest * 1000, (turns[-1] - turns[0]) * 1000, len(turns) - 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", action="append", help="only this demo (repeatable)")
    args = parser.parse_args()
    print("== turns: longest stretch between two turns of the host's hook (CPython)")
    for name in args.demo or demos.names():
        params = heaviest(name)
        longest, total, turns = measure(name, params)
        shown = ", ".join(f"{k}={v}" for k, v in params.items())
        print(
            f"  {name:11s} longest {longest:6.1f} ms  run {total:7.0f} ms  "
            f"turns {turns:5d}  ({shown})"
        )


if __name__ == "__main__":
    main()
