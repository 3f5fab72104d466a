"""What every demo owes the rest of the system (DESIGN.md's demo, trace and SVG contracts)."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

import demos
from demos import pipeline
from demos.params import Param

ROOT = Path(__file__).resolve().parent.parent
NAMES = demos.names()
SVG_NS = "{http://www.w3.org/2000/svg}"
BUDGET_BYTES = 36_000  # an article inlines several default figures; the page stays small


def test_the_series_demos_are_registered():
    assert {"clocks", "raft", "partition", "failure", "delivery"} <= set(NAMES)


@pytest.fixture(scope="module", params=NAMES)
def default_run(request):
    return request.param, demos.run(request.param, {})


def test_module_shape(default_run):
    name, _ = default_run
    module = demos.get(name)
    assert name == module.NAME and module.TITLE
    assert all(isinstance(p, Param) for p in module.PARAMS)
    assert {"seed", "duration", "drop", "faults", "duplicate", "reorder"} <= {
        p.name for p in module.PARAMS
    }
    assert callable(module.node_names) and callable(module.simulate)
    assert callable(module.summarize) and module.CHECKS and all(map(callable, module.CHECKS))
    assert callable(pipeline.drawer(module).draw)
    assert not hasattr(module, "run"), "runs go through demos.run, one pipeline for all"


def test_checks_are_a_function_of_the_trace(default_run):
    name, result = default_run
    trace = json.loads(result.to_json())
    assert [c.to_json() for c in pipeline.run_checks(demos.get(name), trace)] == trace["checks"]


def test_the_result_is_frozen(default_run):
    _, result = default_run
    with pytest.raises(AttributeError):
        result.svg = ""  # type: ignore[misc]
    assert isinstance(result.checks, tuple)


def test_protocol_module_holds_no_drawing(default_run):
    name, _ = default_run
    source = Path(demos.get(name).__file__).read_text()
    assert "_draw" not in source and "from .kit" not in source and "svg" not in source.lower()


def test_svg_is_safe_titled_and_timed(default_run):
    name, result = default_run
    root = ElementTree.fromstring(result.svg)
    assert root.tag == f"{SVG_NS}svg"
    assert root.find(f"{SVG_NS}title") is not None and root.find(f"{SVG_NS}title").text
    assert float(root.get("data-duration")) == result.params["duration"]
    x0, x1 = float(root.get("data-time-x0")), float(root.get("data-time-x1"))
    assert 0 <= x0 < x1
    tags = {el.tag for el in root.iter()}
    assert f"{SVG_NS}script" not in tags and f"{SVG_NS}foreignObject" not in tags
    for el in root.iter():
        assert not [a for a in el.attrib if a.lower().startswith("on")], el.attrib
        href = el.get("href", "") + el.get("{http://www.w3.org/1999/xlink}href", "")
        assert not href.lower().startswith("javascript:")
    timed = [el for el in root.iter() if el.get("data-t") is not None]
    assert timed and all(
        0 <= float(el.get("data-t")) <= result.params["duration"] + 1e-6 for el in timed
    )
    node_elements = {el.get("data-node") for el in root.iter() if el.get("data-node")}
    assert set(demos.get(name).node_names(result.params)) <= node_elements
    assert not re.search(r'(?:fill|stroke|color)="#', result.svg), "colours belong in CSS"
    # Pages inline several figures, also of one demo: an id would repeat on the page.
    assert not [el.get("id") for el in root.iter() if el.get("id")]
    assert len(result.svg.encode()) <= BUDGET_BYTES, len(result.svg.encode())


def test_same_params_same_bytes(default_run):
    name, result = default_run
    again = demos.run(name, {})
    assert again.svg == result.svg and again.to_json() == result.to_json()


def _python(version):
    env = {**os.environ, "PYENV_VERSION": version}
    found = shutil.which("pyenv") and subprocess.run(
        ["pyenv", "which", f"python{version}"], capture_output=True, text=True, env=env
    )
    if found and found.returncode == 0:
        return found.stdout.strip()
    return shutil.which(f"python{version}")


@pytest.mark.parametrize("name", NAMES)
def test_byte_identical_across_python_312_and_313(name):
    other = _python("3.12") if sys.version_info[:2] != (3, 12) else _python("3.13")
    if not other:
        pytest.skip("a second CPython (3.12 or 3.13) is not installed here")
    args = ["-m", "demos", "run", name, "--set", "seed=11", "--set", "drop=0.1", "--format"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for fmt in ("json", "svg"):
        here = subprocess.run(
            [sys.executable, *args, fmt],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            check=True,
        ).stdout
        there = subprocess.run(
            [other, *args, fmt], capture_output=True, text=True, cwd=ROOT, env=env, check=True
        ).stdout
        assert here == there, f"{name} --format {fmt} differs between Python versions"
