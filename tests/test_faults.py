"""The fault-schedule grammar: what it accepts, and errors that name the bad item."""

import pytest

from demos.errors import ScheduleError
from demos.faults import Crash, Partition, Restart, format_schedule, parse_schedule

NODES = ["n1", "n2", "n3", "n4", "n5"]


def test_parses_every_item_kind_sorted_by_time():
    faults = parse_schedule(
        "restart n2@4000; crash n2@1500 ; partition n1,n2|n3,n4,n5@2000-6000", NODES, 10000
    )
    assert faults == [
        Crash("n2", 1500.0),
        Partition((("n1", "n2"), ("n3", "n4", "n5")), 2000.0, 6000.0),
        Restart("n2", 4000.0),
    ]


def test_empty_items_and_whitespace_are_ignored():
    assert parse_schedule("", NODES) == []
    assert parse_schedule(" ; ;", NODES) == []
    assert parse_schedule("crash  n1 @ 10", NODES) == [Crash("n1", 10.0)]


def test_unnamed_nodes_form_a_side_of_their_own():
    [p] = parse_schedule("partition n1@0-100", NODES)
    assert p.groups == (("n1",), ("n2", "n3", "n4", "n5"))


def test_format_is_the_inverse_of_parse():
    text = "crash n2@1500; partition n1,n2|n3,n4,n5@2000-6000; restart n2@4000"
    assert format_schedule(parse_schedule(text, NODES)) == text


@pytest.mark.parametrize(
    ("text", "culprit"),
    [
        ("crash n9@100", "'n9'"),
        ("crash n1@soon", "'soon'"),
        ("crash n1@-5", "'crash n1@-5'"),
        ("crash n1@nan", "'nan'"),
        ("crash n1@inf", "'inf'"),
        ("explode n1@5", "'explode n1@5'"),
        ("crash n1", "'crash n1'"),
        ("crash n1@5-9", "'crash n1@5-9'"),
        ("partition n1|n2@100", "needs an end time"),
        ("partition n1|n2@300-200", "ends before it starts"),
        ("partition n1|n7@1-2", "'n7'"),
        ("partition n1,n1|n2@1-2", "two groups"),
        ("partition n1|@1-2", "empty group"),
        ("partition n1,n2,n3,n4,n5@1-2", "at least two groups"),
        ("restart n1@100", "not down"),
        ("crash n1@1; crash n1@2", "already down"),
        ("partition n1|n2@1-10; partition n3|n4@5-20", "overlaps"),
        ("crash n1@20000", "after the run ends"),
    ],
)
def test_bad_items_are_named(text, culprit):
    with pytest.raises(ScheduleError) as err:
        parse_schedule(text, NODES, 10000)
    assert culprit in str(err.value)
    assert str(err.value).startswith("faults: ")
