"""The README's promises: the two-command quick start, and a demo table that matches the code."""

import re
from pathlib import Path

import demos

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
COMMON = {"seed", "duration", "drop", "faults", "duplicate", "reorder"}


def test_quick_start_is_make_serve_and_make_test():
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    commands = [line.split("#", 1)[0].strip() for line in block.splitlines() if line.strip()]
    assert commands == ["make serve", "make test"]


def test_demo_table_lists_every_demo_with_its_own_keys():
    rows = re.findall(r"^\| `(\w+)` \|[^|]*\| (.*?) \|$", README, re.M)
    table = {name: re.findall(r"`(\w+)`", keys) for name, keys in rows}
    assert list(table) == demos.names()
    for name, keys in table.items():
        assert keys == [p.name for p in demos.get(name).PARAMS if p.name not in COMMON], name
