"""Shared fixtures: a real build of the site, and a Pelican runner for temporary sites."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# The `sim` fixture: a fake simulator for driving one node by hand (tests/fakes.py).
pytest_plugins = ["fakes"]

ROOT = Path(__file__).resolve().parent.parent
# The plugin package is imported by its tests as Pelican would: from plugins/.
if str(ROOT / "plugins") not in sys.path:
    sys.path.insert(0, str(ROOT / "plugins"))
PELICAN = Path(sys.executable).with_name("pelican")
FAKE_DEMOS = Path(__file__).parent / "fixtures" / "fakedemos"
# The core of the real package the fixture demos stand on.
CORE = (
    "__init__.py",
    "__main__.py",
    "errors.py",
    "faults.py",
    "params.py",
    "pipeline.py",
    "queries.py",
    "result.py",
    "svg.py",
    "sim.py",
)


def demos_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Give the finished `python -m demos ARGS` run from the repository (text output)."""
    return subprocess.run(
        [sys.executable, "-m", "demos", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_pelican(
    content: Path,
    output: Path,
    *,
    cwd: Path = ROOT,
    settings: Path = ROOT / "pelicanconf.py",
    **overrides: object,
) -> subprocess.CompletedProcess:
    """Give the finished `pelican content -s settings -o output` run (plain log lines).

    `overrides` become `-e KEY=<json>` settings; CACHE_PATH defaults to beside `output`,
    so a test never touches the repository's caches.
    """
    overrides.setdefault("CACHE_PATH", str(output.parent / "cache" / "pelican"))
    command = [
        str(PELICAN),
        str(content),
        "-s",
        str(settings),
        "-o",
        str(output),
        "--log-handler",
        "plain",
        "-e",
        *(f"{key}={json.dumps(value)}" for key, value in overrides.items()),
    ]
    env = {**os.environ, "COLUMNS": "250"}
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, env=env, timeout=600, check=False
    )


@pytest.fixture(scope="session")
def pelican_runner() -> Callable[..., subprocess.CompletedProcess]:
    """Give `run_pelican(content, output, cwd=, settings=, **overrides)`."""
    return run_pelican


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Give the output folder of a build of the real site (content/, pelicanconf.py)."""
    output = tmp_path_factory.mktemp("site") / "output"
    done = run_pelican(ROOT / "content", output)
    if done.returncode != 0:
        pytest.fail(f"pelican failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return output


@pytest.fixture(scope="session")
def fake_demos_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Give a folder holding the package `fakedemos`: the real core plus fixture demos."""
    root = tmp_path_factory.mktemp("fakeroot")
    package = root / "fakedemos"
    package.mkdir()
    for name in CORE:
        shutil.copyfile(ROOT / "demos" / name, package / name)
    shutil.copytree(
        ROOT / "demos" / "kit", package / "kit", ignore=shutil.ignore_patterns("__pycache__")
    )
    for path in FAKE_DEMOS.glob("*.py"):
        shutil.copyfile(path, package / path.name)
    return root


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Give Debian's headless chromium through Playwright (never a downloaded browser);
    skip without one, except under CI, where a missing browser fails the run."""
    from browser_util import chromium_path, launch_chromium

    if chromium_path() is None:
        reason = "no chromium binary: install Debian's chromium or set $CHROMIUM"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            yield browser
        finally:
            browser.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out `slow` tests unless the -m expression asks about them (`-m slow`)."""
    if "slow" in (config.getoption("markexpr") or ""):
        return
    slow = [item for item in items if "slow" in item.keywords]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if "slow" not in item.keywords]
