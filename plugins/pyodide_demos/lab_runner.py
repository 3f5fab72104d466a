"""The browser worker's way into the lab: a reader's edited protocol run, and the search.

Shipped in the demos wheel as the top-level module `pyodide_demos_lab` beside
`pyodide_demos_runner` (whose slicing it shares), and imported only when a reader first runs
edited code or searches. Answers are JSON text: a run gives the figure's JSON, a failure
in the reader's code gives {"error", "line"} so the page can mark that line.
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Callable

import pyodide_demos_runner as runner

edit = importlib.import_module(f"{runner.PACKAGE}.edit")
search_module = importlib.import_module(f"{runner.PACKAGE}.search")
errors = importlib.import_module(f"{runner.PACKAGE}.errors")

PROGRESS_EVERY_S = 0.1  # how often the page hears how far a search is


def _protocol(name: str, source: str | None):
    """Give the module made from the reader's `source` (None: the demo's own protocol)."""
    return None if source is None else edit.load_protocol(name, source)


def _failure(name: str, err: Exception) -> str:
    """Give {"error", "line"} JSON for an error of the reader's code (or of their params)."""
    if isinstance(err, edit.EditError):
        return json.dumps({"error": str(err), "line": err.line})
    if isinstance(err, errors.DemoError):
        return json.dumps({"error": str(err), "line": None})
    message, line = edit.describe(err, edit.EDITED_FILE.format(name=name))
    return json.dumps({"error": message, "line": line})


def run_edited(name: str, params_json: str, source: str | None) -> str:
    """Give the browser's JSON for demo `name` run with `params_json` and the reader's code."""
    try:
        protocol = _protocol(name, source)
        result = runner.demos.run(name, json.loads(params_json), protocol=protocol)
    except Exception as err:  # noqa: BLE001 - the reader's code may raise anything
        return _failure(name, err)
    return json.dumps(result.for_browser())


def search(name: str, options_json: str, source: str | None, report: Callable) -> str:
    """Give the search's end as JSON: {"found": counterexample} or {"found": null, "runs"}.

    `options_json` holds base (the figure's params), runs and seed; `report(phase, runs,
    found)` hears the progress every PROGRESS_EVERY_S and at the end.
    """
    options = json.loads(options_json)
    try:
        protocol = _protocol(name, source)
        steps = search_module.search(
            name,
            base=options.get("base") or {},
            runs=int(options.get("runs", 1000)),
            seed=int(options.get("seed", 1)),
            protocol=protocol,
        )
        last = time.monotonic()
        progress = None
        for step in steps:
            if isinstance(step, search_module.Progress):
                progress = step
                if time.monotonic() - last >= PROGRESS_EVERY_S:
                    last = time.monotonic()
                    report(step.phase, step.runs, step.found)
                continue
            if progress is not None:
                report(progress.phase, progress.runs, progress.found)
            if step is None:
                return json.dumps({"found": None, "runs": progress.runs if progress else 0})
            return json.dumps({"found": {**step.to_json(), "result": step.result.for_browser()}})
    except Exception as err:  # noqa: BLE001 - the reader's code may raise anything
        return _failure(name, err)
    return json.dumps({"found": None, "runs": 0})  # pragma: no cover - search always ends


def run_edited_in_slices(
    name: str, params_json: str, source: str | None, pause: Callable, slice_ms: float
) -> str:
    """Give `run_edited(...)`, pausing between slices so Stop is heard."""
    return runner.in_slices(lambda: run_edited(name, params_json, source), pause, slice_ms)


def search_in_slices(
    name: str,
    options_json: str,
    source: str | None,
    report: Callable,
    pause: Callable,
    slice_ms: float,
) -> str:
    """Give `search(...)`, pausing between slices so Stop is heard and progress is posted."""
    return runner.in_slices(lambda: search(name, options_json, source, report), pause, slice_ms)
