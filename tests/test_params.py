"""Parameter specs: coercion from text, bounds, choices, and resolution with defaults."""

import pytest

from demos.errors import ParamError, ScheduleError
from demos.params import Param, common_params, resolve

SPECS = common_params(duration=1000) + (
    Param("nodes", "int", 3, "Nodes", min=2, max=5),
    Param("mode", "choice", "cp", "Mode", choices=("cp", "ap")),
)


def names(params):
    return [f"n{i}" for i in range(1, params["nodes"] + 1)]


def test_defaults_fill_what_is_not_given():
    params = resolve(SPECS, {}, names)
    assert params == {
        "seed": 1,
        "duration": 1000.0,
        "drop": 0.0,
        "faults": "",
        "duplicate": 0.0,
        "reorder": 0.0,
        "nodes": 3,
        "mode": "cp",
    }


def test_text_values_are_coerced():
    params = resolve(
        SPECS,
        {"seed": "42", "drop": "0.25", "nodes": " 4 ", "mode": "ap", "faults": "crash n4@10"},
        names,
    )
    assert (params["seed"], params["drop"], params["nodes"], params["mode"]) == (42, 0.25, 4, "ap")
    assert isinstance(params["duration"], float)


@pytest.mark.parametrize(
    ("given", "culprit"),
    [
        ({"colour": "red"}, "'colour'"),
        ({"nodes": "three"}, "'three'"),
        ({"nodes": "2.5"}, "'2.5'"),
        ({"nodes": True}, "True"),
        ({"nodes": 6}, "above the maximum 5"),
        ({"nodes": 1}, "below the minimum 2"),
        ({"drop": "1.5"}, "above the maximum 1"),
        ({"drop": "nan"}, "finite"),
        ({"mode": "xx"}, "'xx' is not one of cp, ap"),
        ({"seed": "-1"}, "below the minimum 0"),
        ({"faults": 5}, "expected text"),
        ({"faults": "x" * 3000}, "longer than 2000"),
    ],
)
def test_bad_values_name_the_param_and_value(given, culprit):
    with pytest.raises(ParamError) as err:
        resolve(SPECS, given, names)
    assert culprit in str(err.value)


def test_schedule_nodes_depend_on_other_params():
    resolve(SPECS, {"nodes": 5, "faults": "crash n5@10"}, names)
    with pytest.raises(ScheduleError, match="'n5'"):
        resolve(SPECS, {"nodes": 4, "faults": "crash n5@10"}, names)


def test_spec_json_is_plain_data():
    data = [p.to_json() for p in SPECS]
    nodes = next(d for d in data if d["name"] == "nodes")
    assert nodes == {
        "name": "nodes",
        "kind": "int",
        "default": 3,
        "label": "Nodes",
        "help": "",
        "min": 2,
        "max": 5,
    }
    assert next(d for d in data if d["name"] == "mode")["choices"] == ["cp", "ap"]
