"""Deterministic distributed-systems demos that draw themselves as SVG.

Each demo is a module `demos.<name>` with `PARAMS` (a tuple of `Param`), `node_names(params)`
and `run(params) -> Result`. Standard library only: the package runs unchanged in Pyodide.
"""

from .errors import DemoError, ParamError, ScheduleError
from .registry import get, names, run, spec
from .result import Check, Result

__all__ = [
    "Check",
    "DemoError",
    "ParamError",
    "Result",
    "ScheduleError",
    "get",
    "names",
    "run",
    "spec",
]
