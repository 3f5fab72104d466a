"""The lab's build and worker sides in CPython: the sources file, the worker's entry."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from demos import edit, presets

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "plugins" / "pyodide_demos"


@pytest.fixture(scope="module")
def lab():
    """Give the worker's lab module, loaded as the wheel ships it (beside the runner)."""
    loaded = {}
    for name, path in (
        ("pyodide_demos_runner", PLUGIN / "browser_runner.py"),
        ("pyodide_demos_lab", PLUGIN / "lab_runner.py"),
    ):
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        loaded[name] = module
    yield loaded["pyodide_demos_lab"]
    for name in loaded:
        sys.modules.pop(name, None)


def test_edited_code_runs_and_its_errors_name_their_line(lab) -> None:
    source = edit.original_source("raft")
    answer = json.loads(lab.run_edited("raft", "{}", source))
    assert answer["svg"].startswith("<svg") and all(c["ok"] for c in answer["checks"])
    broken = source + "\ndef broken(:\n"
    answer = json.loads(lab.run_edited("raft", "{}", broken))
    assert answer == {
        "error": f"line {broken.count(chr(10))}: invalid syntax",
        "line": broken.count("\n"),
    }
    head = "def simulate(params: Mapping[str, object]) -> dict:\n"
    line = source[: source.index(head)].count("\n") + 2
    answer = json.loads(lab.run_edited("raft", "{}", source.replace(head, head + "    1 / 0\n")))
    assert answer == {"error": f"line {line}: ZeroDivisionError: division by zero", "line": line}
    answer = json.loads(lab.run_edited("raft", '{"nodes": 99}', None))
    assert answer["line"] is None and "nodes" in answer["error"]


def test_search_reports_progress_and_ends_as_the_cli_does(lab) -> None:
    heard = []
    preset = presets.get_preset("raft", "vote-without-log-check")
    answer = json.loads(
        lab.search(
            "raft",
            json.dumps({"runs": 1000, "seed": 1}),
            preset.source(),
            lambda *step: heard.append(step),
        )
    )
    found = answer["found"]
    assert found["check"] == "State machine safety"
    assert found["result"]["svg"].startswith("<svg")
    assert heard and heard[-1][0] == "shrink"
    from demos import search

    expected, _ = search.run_search(
        "raft", runs=1000, seed=1, protocol=edit.load_protocol("raft", preset.source())
    )
    assert found["params"] == expected.params
    answer = json.loads(lab.search("raft", json.dumps({"runs": 2}), None, lambda *_: None))
    assert answer == {"found": None, "runs": 2}


def test_sources_file_holds_each_demo_and_its_presets(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "plugins"))
    try:
        from pyodide_demos import sources
        from pyodide_demos.catalog import Catalog
    finally:
        sys.path.remove(str(ROOT / "plugins"))
    catalog = Catalog("demos", ROOT).load()
    (tmp_path / "sources-old.raft.json").write_text("{}")
    names = sources.write(tmp_path, catalog)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)
    raft = json.loads((tmp_path / sources.name_for(catalog).format(demo="raft")).read_text())
    assert raft["source"] == edit.original_source("raft")
    shipped = {p["name"]: p for p in raft["presets"]}
    for preset in presets.presets("raft"):
        assert shipped[preset.name]["source"] == preset.source()
        assert shipped[preset.name]["title"] == preset.title
