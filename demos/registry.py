"""The demos by name: look one up, list them, run one from raw params."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Mapping
from types import ModuleType

from .errors import DemoError
from .pipeline import assemble
from .result import Result

# Order is the order `python -m demos list` prints; a name whose module is absent is skipped.
NAMES = (
    "clocks",
    "raft",
    "partition",
    "failure",
    "delivery",
    "paxos",
    "pbft",
    "nakamoto",
    "quorum",
    "hlc",
    "kafka",
    "resilience",
)


def names() -> list[str]:
    """Give the names of the demos this package provides."""
    return [n for n in NAMES if importlib.util.find_spec(f"demos.{n}") is not None]


def get(name: str) -> ModuleType:
    """Give the module of demo `name`; DemoError lists the known ones if there is none."""
    if name not in names():
        raise DemoError(f"unknown demo {name!r} (known: {', '.join(names())})")
    return importlib.import_module(f"demos.{name}")


def run(
    name: str, params: Mapping[str, object] | None = None, protocol: ModuleType | None = None
) -> Result:
    """Give the result of demo `name` run with `params` (strings or typed values).

    `protocol` replaces the demo's `simulate` (see `pipeline.assemble`).
    """
    return assemble(get(name), dict(params or {}), protocol)


def spec(name: str) -> list[dict]:
    """Give demo `name`'s parameter specs as JSON data."""
    return [p.to_json() for p in get(name).PARAMS]
