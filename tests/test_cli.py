"""The command line of DESIGN.md: list, run, and one-line errors with status 2."""

import json
import subprocess
import sys

import pytest

import demos

REQUIRED = ("clocks", "raft", "partition")


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "demos", *args], capture_output=True, text=True, timeout=60
    )


def test_list_prints_one_name_per_line_including_the_required_demos():
    out = cli("list")
    assert out.returncode == 0
    listed = out.stdout.split()
    assert listed == demos.names()
    assert set(REQUIRED) <= set(listed)


@pytest.mark.parametrize("name", demos.names())
def test_json_follows_the_trace_contract(name):
    out = cli("run", name, "--format", "json", "--set", "seed=3")
    assert out.returncode == 0, out.stderr
    trace = json.loads(out.stdout)
    assert trace["schema"] == 1 and trace["demo"] == name
    assert trace["params"]["seed"] == 3
    assert isinstance(trace["duration"], float)
    assert trace["nodes"] and all(isinstance(n, str) for n in trace["nodes"])
    times = [e["t"] for e in trace["events"]]
    assert times == sorted(times)
    assert [e["id"] for e in trace["events"]] != [] or name == "partition"
    for m in trace["messages"]:
        assert m["status"] in ("delivered", "dropped", "lost")
        assert (m["recv"] is None) == (m["status"] != "delivered")
        assert {"id", "src", "dst", "sent", "label", "send_event", "recv_event"} <= set(m)
    assert trace["checks"] and all({"name", "ok", "detail"} <= set(c) for c in trace["checks"])


@pytest.mark.parametrize("name", demos.names())
def test_svg_and_text_formats(name):
    svg = cli("run", name, "--format", "svg")
    assert svg.returncode == 0 and svg.stdout.startswith("<svg")
    assert "<script" not in svg.stdout and " on" not in svg.stdout.split(">")[0]
    text = cli("run", name, "--format", "text")
    assert text.returncode == 0 and text.stdout.startswith(f"{name}: ")


@pytest.mark.parametrize(
    ("args", "culprit"),
    [
        (("run", "nosuch"), "'nosuch'"),
        (("run", "raft", "--set", "colour=red"), "'colour'"),
        (("run", "raft", "--set", "nodes=99"), "nodes: 99"),
        (("run", "raft", "--set", "seed=abc"), "'abc'"),
        (("run", "raft", "--set", "faults=crash n9@100"), "'n9'"),
        (("run", "raft", "--set", "novalue"), "'novalue'"),
        (("run", "raft", "--format", "pdf"), "pdf"),
        (("frobnicate",), "frobnicate"),
    ],
)
def test_bad_input_exits_2_with_one_line(args, culprit):
    out = cli(*args)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and culprit in lines[0], out.stderr
    assert "Traceback" not in out.stderr
