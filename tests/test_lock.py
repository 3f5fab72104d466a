"""Locked installs: uv.lock agrees with pyproject.toml, the environment the tests run in is
exactly what the lock says, and the Makefile installs from the lock with the uv it pins."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LOCK = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
UV = Path(sys.executable).with_name("uv")


def normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_versions(lock: dict) -> dict[str, str]:
    """Give name -> version of every package the lock pins (the project itself left out)."""
    return {
        normal(p["name"]): p["version"]
        for p in lock["package"]
        if "version" in p and p.get("source", {}).get("editable") is None
    }


def mismatches(installed: dict[str, str], locked: dict[str, str]) -> list[str]:
    """Give every installed package whose version differs from the lock's."""
    return [
        f"{name} {version} installed, {locked[name]} locked"
        for name, version in sorted(installed.items())
        if name in locked and locked[name] != version
    ]


def test_the_environment_is_exactly_the_lock() -> None:
    installed = {normal(d.metadata["Name"]): d.version for d in importlib.metadata.distributions()}
    locked = locked_versions(LOCK)
    assert not mismatches(installed, locked)
    requirements = PROJECT["dependencies"] + [
        r for extra in PROJECT["optional-dependencies"].values() for r in extra
    ]
    for requirement in requirements:
        name = normal(re.match(r"[A-Za-z0-9_.-]+", requirement).group())
        assert name in locked and name in installed, requirement


def test_a_drifted_package_is_reported() -> None:
    assert mismatches({"pelican": "4.0.0", "other": "1"}, {"pelican": "4.12.0"}) == [
        "pelican 4.0.0 installed, 4.12.0 locked"
    ]


@pytest.mark.skipif(not UV.exists(), reason="uv is installed by `make setup`")
def test_the_lock_agrees_with_pyproject(tmp_path: Path) -> None:
    check = [str(UV), "lock", "--check", "--offline", "--python", sys.executable]
    done = subprocess.run(check, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    # A dependency added to pyproject.toml without `make lock` is caught.
    (tmp_path / "uv.lock").write_text((ROOT / "uv.lock").read_text())
    text = (ROOT / "pyproject.toml").read_text()
    (tmp_path / "pyproject.toml").write_text(
        text.replace('"pelican>=4.9",', '"pelican>=4.9",\n    "pelican-readtime>=0.2",', 1)
    )
    (tmp_path / "README.md").write_text("")
    stale = subprocess.run(check, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert stale.returncode != 0 and "needs to be updated" in stale.stderr, stale.stderr


def test_make_installs_from_the_lock_with_the_uv_it_pins() -> None:
    done = subprocess.run(
        ["make", "-pn", "help"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    pinned = re.search(r"^UV_VERSION := (\S+)$", done.stdout, re.M).group(1)
    assert pinned == locked_versions(LOCK)["uv"]
    makefile = (ROOT / "Makefile").read_text()
    assert "sync --locked" in makefile and "pip install -e" not in makefile
