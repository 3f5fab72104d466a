"""What the plugin says when a site's own demo package does not fit it: the fence's line,
the cause from Node's output, no reliance on modules the README does not promise."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from pyodide_demos import browser_runner, fence, snapshot
from pyodide_demos.errors import FenceError


def test_warm_up_asks_the_package_itself_not_a_registry_module(monkeypatch) -> None:
    asked = []
    package = SimpleNamespace(names=lambda: ["a", "b"], get=asked.append)  # no .registry
    monkeypatch.setattr(browser_runner, "demos", package)
    assert browser_runner.warm_up() == ["a", "b"] and asked == ["a", "b"]


class Spec:
    def __init__(self, fails: bool) -> None:
        self.fails = fails

    def coerce(self, value: str) -> object:
        if self.fails:
            raise KeyError("no such table")
        return value


@pytest.mark.parametrize(
    ("coerce_fails", "resolve_error", "line", "says"),
    [
        (False, TypeError("resolve() takes 2 positional arguments but 3 were given"), 12, "resolv"),
        (True, None, 14, "reading seed failed: KeyError"),
    ],
)
def test_a_package_that_fails_in_its_own_code_names_the_fence_line(
    coerce_fails, resolve_error, line, says
) -> None:
    def resolve(module, given):
        raise resolve_error

    catalog = SimpleNamespace(param_error=ValueError, resolve=resolve)
    entries = {"seed": (14, "3")}
    with pytest.raises(FenceError) as err:
        fence._params(catalog, object(), "ping", {"seed": Spec(coerce_fails)}, entries, 12)
    assert err.value.line == line and says in str(err.value), str(err.value)
    if resolve_error is not None:
        assert "TypeError" in str(err.value)


def test_a_params_error_of_the_package_still_reads_as_its_own_message() -> None:
    def resolve(module, given):
        raise ValueError("seed: must be at least 0")

    catalog = SimpleNamespace(param_error=ValueError, resolve=resolve)
    with pytest.raises(FenceError) as err:
        fence._params(catalog, object(), "ping", {}, {"seed": (14, "-1")}, 12)
    assert "seed: must be at least 0" in str(err.value) and "failed" not in str(err.value)


def test_a_failed_snapshot_names_the_python_error_not_minified_source() -> None:
    log = "\n".join(
        [
            "file:///x/pyodide.asm.js:9",
            "var _createPyodideModule=(()=>{var _scriptName=" + "a" * 4000,
            "PythonError: Traceback (most recent call last):",
            '  File "/lib/python3.13/site-packages/pyodide_demos_runner.py", line 32',
            "AttributeError: module 'mydemos' has no attribute 'registry'",
            "    at new_error (file:///x/pyodide.asm.js:9:10010)",
            "Node.js v20.19.2",
        ]
    )
    assert snapshot._cause(log) == "AttributeError: module 'mydemos' has no attribute 'registry'"
    assert snapshot._cause("") == "no output"
    assert len(snapshot._cause("x" * 5000)) <= 303  # at worst a bounded line, never the blob


def test_collect_frees_what_runs_left_with_the_collector_off_and_turns_it_on() -> None:
    import gc

    class Loop:
        pass

    was = gc.isenabled()
    gc.disable()  # as run_in_slices leaves it
    try:
        for _ in range(50):
            a, b = Loop(), Loop()
            a.other, b.other = b, a  # a cycle only the collector frees
        del a, b
        assert browser_runner.collect() >= 100
        assert gc.isenabled()
    finally:
        if not was:
            gc.disable()
