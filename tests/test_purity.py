"""The purity check rejects what cannot run in Pyodide, naming file:line and the import."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT
from pyodide_demos.bundle import plan
from pyodide_demos.catalog import Catalog, package_files
from pyodide_demos.config import Config
from pyodide_demos.errors import DemoBuildError
from pyodide_demos.purity import violations

CLEAN = "from __future__ import annotations\n\nimport heapq\nfrom .sim import x\n"


def package(tmp_path: Path, files: dict[str, bytes | str]) -> list[str]:
    """Give the violations of a package `pkg` holding `files` (plus a clean module)."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(CLEAN)
    for name, data in files.items():
        path = pkg / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data)
    return violations(pkg, package_files(pkg), tmp_path)


@pytest.mark.parametrize(
    ("source", "module"),
    [
        ("import threading\n", "threading"),
        ("import os\nimport subprocess\n", "subprocess"),
        ("import json\nfrom socket import socket\n", "socket"),
        ("import multiprocessing.pool\n", "multiprocessing.pool"),
        ("from concurrent.futures import ThreadPoolExecutor\n", "concurrent.futures"),
        ("import importlib\nimportlib.import_module('_thread')\n", "_thread"),
        ("import numpy as np\n", "numpy"),
        ("import tkinter\n", "tkinter"),
    ],
)
def test_forbidden_import(tmp_path: Path, source: str, module: str) -> None:
    found = package(tmp_path, {"net.py": CLEAN + source})
    line = len((CLEAN + source).splitlines())
    assert found == [f"pkg/net.py:{line}: " + found[0].split(": ", 1)[1]]
    assert f"import of {module!r}" in found[0]


def test_c_extension_and_data_files(tmp_path: Path) -> None:
    found = package(
        tmp_path, {"fast.cpython-313-x86_64-linux-gnu.so": b"\x7fELF", "data/table.json": "{}"}
    )
    assert found == [
        "pkg/data/table.json:1: not a .py source; only pure .py files ship to the browser",
        "pkg/fast.cpython-313-x86_64-linux-gnu.so:1: a C extension; only pure .py files "
        "ship to the browser",
    ]


def test_import_nested_in_a_function_is_found(tmp_path: Path) -> None:
    found = package(tmp_path, {"lazy.py": "def go():\n    import socket\n    return socket\n"})
    assert found == ["pkg/lazy.py:2: import of 'socket': no sockets in a browser worker"]


def test_stdlib_and_own_imports_pass(tmp_path: Path) -> None:
    assert package(tmp_path, {"ok.py": CLEAN + "import pkg.sim\nimport random, math\n"}) == []


def test_the_real_demos_package_is_pure() -> None:
    pkg = ROOT / "demos"
    assert violations(pkg, package_files(pkg), ROOT) == []


def test_plan_stops_the_build_on_a_violation(tmp_path: Path) -> None:
    package(tmp_path, {"net.py": "import socket\n"})
    catalog = Catalog("pkg", tmp_path)
    catalog.files = package_files(catalog.package_dir)
    config = Config(
        package="pkg",
        root=tmp_path,
        runtime="vendor",
        runtime_dir=tmp_path,
        runtime_version="0.29.5",
        runtime_python="3.13",
        output_path=tmp_path,
        demos_output="demos",
        runtime_output="pyodide",
        cache_dir=tmp_path,
        css=(),
        js=(),
        strict=True,
    )
    with pytest.raises(DemoBuildError, match=r"pkg/net.py:1: import of 'socket'"):
        plan(config, catalog)
