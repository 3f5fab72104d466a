"""The figure kit: the time scale, its ticks, each mark's escaping, the state panel."""

from __future__ import annotations

import re
from xml.etree import ElementTree

import pytest
from svg_moments import roles_at, stretches_at

from demos import kit
from demos.queries import (
    down_intervals,
    events_with_downtime,
    liveness,
    state_at,
    timeline,
    times_by_node,
)
from demos.result import Check
from demos.svg import document

HOSTILE = "<script>alert(\"x\")</script> & 'q'"


def parse(parts: list[str]) -> ElementTree.Element:
    svg = document(
        width=720, height=200, title="t", desc="d", body=parts, duration=1000, time_x=(44, 704)
    )
    return ElementTree.fromstring(svg)


def test_scale_maps_the_domain_onto_the_range_and_clamps():
    scale = kit.TimeScale(10_000, 44, 704)
    assert scale.x(0) == 44 and scale.x(10_000) == 704 and scale.x(5_000) == 374
    assert scale.x(-5) == 44 and scale.x(99_999) == 704
    assert scale.t(scale.x(2_500)) == pytest.approx(2_500)
    assert scale.px(1_000) == pytest.approx(66)


@pytest.mark.parametrize(
    ("span", "most", "step"),
    [
        (10_000, 11, 1_000),
        (10_000, 4, 5_000),
        (3_000, 11, 500),
        (30_000, 11, 5_000),
        (1_000, 11, 100),
        (6_000, 8, 1_000),
        (7, 10, 1),
        (250, 2, 200),
    ],
)
def test_nice_steps_are_one_two_five(span, most, step):
    assert kit.nice_step(span, most) == pytest.approx(step)
    assert span / kit.nice_step(span, most) <= most + 1e-9


def test_ticks_keep_their_distance_at_any_duration():
    for duration in (100, 333, 1_000, 2_500, 7_777, 10_000, 60_000):
        scale = kit.TimeScale(duration, 44, 704)
        ticks = scale.ticks()
        assert ticks[0] == 0 and ticks[-1] <= duration
        gaps = {round(b - a, 6) for a, b in zip(ticks, ticks[1:], strict=False)}
        assert len(gaps) == 1 and scale.px(gaps.pop()) >= 56
        mantissa = re.sub(r"0+$", "", f"{ticks[1]:.0f}".rstrip(".")) if ticks[1] >= 1 else "1"
        assert mantissa[-1] in "125"


def test_time_labels_switch_to_seconds():
    assert kit.time_label(2_500, 500) == "2.5 s" and kit.time_label(40, 20) == "40 ms"


def test_marks_escape_every_text():
    scale = kit.TimeScale(1000, 44, 704)
    lanes = kit.Lanes(("n1", HOSTILE), 20, 26)
    message = {
        "src": "n1",
        "dst": HOSTILE,
        "sent": 10.0,
        "recv": None,
        "status": "lost",
        "label": HOSTILE,
        "reason": HOSTILE,
    }
    parts = [
        *kit.lane_lines(scale, lanes),
        kit.message(scale, lanes, message),
        *kit.bands(scale, [{"start": 1, "end": 9, "groups": [["n1"], [HOSTILE]]}], 0, 80),
        *kit.violations(scale, lanes, [Check(HOSTILE, False, HOSTILE, t=5.0, node="n1")]),
        *kit.legend([("box", "dm-down", HOSTILE)], x=8, y=100, width=600)[0],
        *kit.text_block(HOSTILE, x=8, y=10, width=300)[0],
    ]
    root = parse(parts)  # well-formed: nothing broke out of its element
    assert not [e for e in root.iter() if e.tag.endswith("script")]
    text = ElementTree.tostring(root, encoding="unicode")
    assert "<script>" not in text and HOSTILE in "".join(root.itertext())


def test_a_delivered_message_carries_its_flight_and_an_undelivered_one_its_reason():
    scale = kit.TimeScale(1000, 44, 704)
    lanes = kit.Lanes(("n1", "n2"), 20, 26)
    ok = {
        "src": "n1",
        "dst": "n2",
        "sent": 100.0,
        "recv": 112.5,
        "status": "delivered",
        "label": "ping",
    }
    lost = ok | {"recv": None, "status": "dropped", "reason": "random loss"}
    arrow = ElementTree.fromstring(
        kit.message(scale, lanes, ok).replace(
            "<path", '<path xmlns="http://www.w3.org/2000/svg"', 1
        )
    )
    assert (arrow.get("data-sent"), arrow.get("data-recv"), arrow.get("data-t")) == (
        "100",
        "112.5",
        "100",
    )
    stub = kit.message(scale, lanes, lost)
    assert "data-recv" not in stub and "random loss" in stub and "ping to n2" in stub


def test_messages_leave_out_what_the_style_skips_and_say_how_many_were_cut():
    scale = kit.TimeScale(1000, 44, 704)
    lanes = kit.Lanes(("n1", "n2"), 20, 26)
    msgs = [
        {
            "src": "n1",
            "dst": "n2",
            "sent": float(i),
            "recv": i + 5.0,
            "status": "delivered",
            "label": f"m{i}",
        }
        for i in range(30)
    ]
    parts = kit.messages(
        scale, lanes, msgs, lambda m: None if m["sent"] % 2 else "dm-msg", limit=10
    )
    assert sum(p.startswith("<path") for p in parts) == 10
    assert "5 later messages not drawn" in "".join(parts)


def test_legend_wraps_to_its_width():
    items = [("box", "dm-down", f"item number {i}") for i in range(12)]
    parts, height = kit.legend(items, x=8, y=10, width=300)
    ys = {float(m) for m in re.findall(r'<text[^>]* y="([\d.]+)"', "".join(parts))}
    assert height == 16 * len(ys) and len(ys) > 1
    xs = [float(m) for m in re.findall(r'<text[^>]* x="([\d.]+)"', "".join(parts))]
    assert max(xs) < 8 + 300


TRACE = {
    "nodes": ["n1", "n2"],
    "duration": 1000.0,
    "events": [
        {"t": 0.0, "node": "n1", "kind": "role", "role": "leader"},
        {"t": 100.0, "node": "n2", "kind": "crash"},
        {"t": 300.0, "node": "n2", "kind": "restart"},
        {"t": 300.0, "node": "n2", "kind": "role", "role": "follower"},
        {"t": 400.0, "node": "n1", "kind": "role", "role": "leader"},
        {"t": 500.0, "node": "n1", "kind": "crash"},
    ],
}


def role_step(state: str, e: dict) -> str:
    return {"crash": "down", "restart": "up"}.get(e["kind"], e.get("role", state))


def test_timeline_merges_repeats_and_keeps_the_last_change_of_an_instant():
    changes = timeline(TRACE, "follower", role_step)
    assert changes["n1"] == [(0.0, "leader"), (500.0, "down")]
    assert changes["n2"] == [(0.0, "follower"), (100.0, "down"), (300.0, "follower")]
    assert state_at(changes["n2"], 299.9) == "down" and state_at(changes["n2"], 300) == "follower"


def test_down_intervals_from_events_and_from_a_downtime_list():
    assert down_intervals(TRACE) == {"n1": [(500.0, 1000.0)], "n2": [(100.0, 300.0)]}
    listed = {
        "nodes": ["n1"],
        "duration": 50.0,
        "events": [],
        "downtime": [{"node": "n1", "start": 10.0, "end": None}],
    }
    assert down_intervals(listed) == {"n1": [(10.0, 50.0)]}


def test_panel_shows_one_role_per_node_at_any_moment_and_the_end_without_a_player():
    changes = timeline(TRACE, "follower", role_step)
    panel = kit.StatePanel(
        10.0,
        role=lambda s: s,
        say=lambda n, b, a: f"{n} is {a}",
        draw=lambda n, s, y: [],
        roles={"leader": "dm-role-leader"},
    )
    svg = document(
        width=720,
        height=100,
        title="t",
        desc="d",
        body=panel.render(changes),
        duration=1000,
        time_x=(44, 704),
    )
    for t in (0, 99, 100, 250, 300, 499, 500, 999):
        roles = roles_at(svg, t)
        assert roles == {"n1": [state_at(changes["n1"], t)], "n2": [state_at(changes["n2"], t)]}, t
    static = [
        g for g in stretches_at(svg, 0) + stretches_at(svg, 999) if "dm-off" not in g.get("class")
    ]
    assert {(g.get("data-node"), g.get("data-t")) for g in static} == {("n1", "500"), ("n2", "300")}
    says = re.findall(r'data-say="([^"]+)"', svg)
    assert says == ["n1 is down", "n2 is down", "n2 is follower"]


def test_events_with_downtime_merges_crashes_and_restarts_in_time_order():
    trace = {
        "nodes": ["n1", "n2"],
        "duration": 1000.0,
        "events": [
            {"t": 100.0, "node": "n1", "kind": "send"},
            {"t": 300.0, "node": "n2", "kind": "recv"},
        ],
        "downtime": [
            {"node": "n2", "start": 100.0, "end": 300.0},
            {"node": "n1", "start": 900.0, "end": None},
        ],
    }
    merged = events_with_downtime(trace)
    assert [(e["t"], e["node"], e["kind"]) for e in merged] == [
        (100.0, "n1", "send"),
        (100.0, "n2", "crash"),
        (300.0, "n2", "recv"),
        (300.0, "n2", "restart"),
        (900.0, "n1", "crash"),
    ]  # no restart past the end
    assert trace["events"][0]["kind"] == "send" and len(trace["events"]) == 2  # not mutated
    with pytest.raises(KeyError):  # a downtime span must say its node
        events_with_downtime(trace | {"downtime": [{"start": 1.0, "end": 2.0}]})


def test_texts_and_box_d_escape_and_draw_where_asked():
    parts = kit.texts([(8, 20, HOSTILE), (30, 40, "n2")], "dm-text", anchor="end")
    root = parse(parts)
    shown = [e for e in root.iter() if e.tag.endswith("text") and e.get("text-anchor") == "end"]
    assert [e.text for e in shown] == [HOSTILE, "n2"] and shown[1].get("x") == "30"
    assert kit.texts([], "dm-text") == []
    assert kit.box_d(1, 2.5, 10, 4) == "M1 2.5h10v4h-10z"
    boxes = kit.boxes([0.0, 15.0], 5.0, "raft-e", "12", size=14)
    assert boxes[0].count("z") == 2 and kit.box_d(15, 5, 14, 14) in boxes[0]


def test_series_follows_the_values_clips_them_and_drops_points_on_a_straight_line():
    scale = kit.TimeScale(1000, 0, 1000)
    levels = kit.Levels(top=10.0, height=100.0, most=10.0)
    assert levels.y(0) == 110 and levels.y(10) == 10 and levels.y(50) == 10  # clipped
    ramp = [(float(t), t / 100) for t in range(0, 1001, 100)]
    every = kit.series(scale, levels, ramp, "fd-level", t=0.0, node="n1")
    line = parse(every)[-1]
    assert line.get("data-t") == "0" and line.get("data-node") == "n1"
    assert line.get("d").count("L") == 10
    straight = kit.series(scale, levels, ramp, "fd-level", tolerance=0.4)
    assert 'd="M0 110L1000 10"' in straight[0] and "data-t" not in straight[0]
    bent = ramp[:5] + [(500.0, 9.0)] + ramp[6:]
    assert "L500 20" in kit.series(scale, levels, bent, "fd-level", tolerance=0.4)[0]
    assert kit.series(scale, levels, [], "fd-level") == []


def test_rises_cut_a_sawtooth_where_it_falls_and_level_names_its_line():
    points = [(0.0, 0.0), (1.0, 2.0), (2.0, 2.0), (3.0, 0.5), (4.0, 3.0), (5.0, 0.0)]
    assert kit.rises(points) == [points[:3], points[3:5], points[5:]]
    assert kit.rises([]) == []
    scale = kit.TimeScale(1000, 44, 704)
    parts = kit.level(scale, kit.Levels(0.0, 90.0, 9.0), 6.0, HOSTILE, "fd-limit")
    root = parse(parts)
    assert HOSTILE in "".join(root.itertext()) and 'd="M44 30H704"' in parts[0]


def test_the_figure_axis_can_reach_over_sections_above_and_below_its_lanes():
    fig = kit.Figure({"demo": "t", "duration": 1000.0}, title="t")
    lanes = fig.lanes(["n1", "n2"])
    fig.reserve(50)
    fig.axis(lanes, top=2.0, bottom=fig.y)
    grid = next(p for p in fig.parts if 'class="dm-grid"' in p)
    assert "M176 2V110" in grid and fig.y == 144
    plain = kit.Figure({"demo": "t", "duration": 1000.0}, title="t")
    plain.axis(plain.lanes(["n1"]))
    assert plain.y == 8 + 26 + 34


def test_dots_and_ticks_carry_their_moment_node_sentence_and_tooltip_escaped():
    scale = kit.TimeScale(1000, 44, 704)
    lanes = kit.Lanes(("n1", HOSTILE), 20, 26)
    events = [{"t": 250.5, "node": HOSTILE, "what": HOSTILE}, {"t": 500.0, "node": "n1"}]
    said = lambda e: f"{e['node']} says {e.get('what', 'hi')}"  # noqa: E731
    dots = kit.dots(scale, lanes, events, "px-k", dy=7, say=said, title=said)
    ticks = kit.ticks(scale, lanes, events, "pb-vc", say=said)
    root = parse(dots + ticks)
    marks = [e for e in root.iter() if e.get("data-t")]
    assert [(m.get("data-t"), m.get("data-node")) for m in marks] == [
        ("250.5", HOSTILE),
        ("500", "n1"),
    ] * 2
    assert {m.get("data-say") for m in marks} == {f"{HOSTILE} says {HOSTILE}", "n1 says hi"}
    assert [t.text for t in root.iter() if t.tag.endswith("title")][1:] == [
        f"{HOSTILE} says {HOSTILE}",
        "n1 says hi",
    ]  # after the document's own title
    assert ticks[2].startswith('<path d="M374 25v16"')  # n1's lane at y=33, 16 tall
    plain = kit.dots(scale, lanes, events[1:], "raft-k")
    assert "data-say" not in "".join(plain) and "<title>" not in "".join(plain)
    assert kit.ticks(scale, lanes, [], "pb-vc") == [] and kit.dots(scale, lanes, [], "x") == []


def test_columns_put_a_rows_texts_at_their_columns_and_leave_out_empty_ones():
    parts = kit.columns("n1", (HOSTILE, "", "view 2"), 40.0, xs=(44, 104, 184), cls="pb-t")
    root = parse(parts)
    texts = [e for e in root.iter() if e.tag.endswith("text")]
    assert [(t.text, t.get("x"), t.get("y")) for t in texts] == [
        (HOSTILE, "44", "51"),
        ("view 2", "184", "51"),
    ]
    with pytest.raises(ValueError):  # a text without a column is a mistake, not a silent cut
        kit.columns("n1", ("a", "b"), 0.0, xs=(44,))


def test_liveness_and_times_by_node():
    assert liveness(TRACE) == {
        "n1": [(0.0, "up"), (500.0, "down")],
        "n2": [(0.0, "up"), (100.0, "down"), (300.0, "up")],
    }
    named = liveness(TRACE, {"n1": "producer", "n2": "broker"})
    assert named["n2"] == [(0.0, "broker"), (100.0, "down"), (300.0, "broker")]
    with pytest.raises(KeyError):  # every node needs its name when names are given
        liveness(TRACE, {"n1": "producer"})
    sent = [{"sent": 5.0, "src": "n2"}, {"sent": 1.0, "src": "n1"}, {"sent": 2.0, "src": "n2"}]
    assert times_by_node(sent, time="sent", node="src") == {"n2": [5.0, 2.0], "n1": [1.0]}
    assert times_by_node(TRACE["events"])["n1"] == [0.0, 400.0, 500.0]


def test_labels_stand_beside_their_events_escaped_and_timed():
    scale = kit.TimeScale(1000, 44, 704)
    lanes = kit.Lanes(("n1", "n2"), 20, 26)
    events = [{"t": 100.0, "node": "n2", "value": HOSTILE}, {"t": 900.25, "node": "n1"}]
    parts = kit.labels(
        scale, lanes, events, lambda e: e.get("value", "v2"), "dm-text", dx=-4, dy=22
    )
    texts = [e for e in parse(parts).iter() if e.tag.endswith("text")]
    seen = [(t.text, t.get("x"), t.get("y"), t.get("data-t"), t.get("data-node")) for t in texts]
    assert seen == [(HOSTILE, "106", "81", "100", "n2"), ("v2", "634.16", "55", "900.25", "n1")]
    with pytest.raises(ValueError):  # an event on a node without a lane
        kit.labels(scale, lanes, [{"t": 1.0, "node": "n9"}], str, "dm-text")


def test_slot_stretches_give_each_slot_its_own_stretches_and_sentences():
    history = [(0.0, (None, None)), (10.0, ("a", None)), (20.0, ("a", "b")), (30.0, ("c", "b"))]
    drawn = kit.slot_stretches(
        history,
        ["m1", HOSTILE],
        lambda slot, value: [el_text(f"{slot}={value}")],
        node="n1",
        say=lambda slot, before, after: f"{slot}: {before} -> {after}",
    )
    root = parse(drawn)
    groups = [g for g in root.iter() if g.tag.endswith("}g")]
    assert [(g.get("data-t"), g.get("data-until"), g.get("data-say")) for g in groups] == [
        ("10", "30", "m1: None -> a"),
        ("30", None, "m1: a -> c"),
        ("20", None, f"{HOSTILE}: None -> b"),
    ]
    assert "".join(root.itertext()).endswith(f"{HOSTILE}=b")
    assert kit.slot_stretches(history, [], lambda slot, value: []) == []


def test_role_label_and_the_figure_panel_and_timeline_sections():
    assert kit.role_label("n1", HOSTILE, 10.0)[0].count("<script>") == 0
    trace = {
        "demo": "t",
        "duration": 1000.0,
        "nodes": ["n1", "n2"],
        "events": [{"t": 100.0, "node": "n2", "kind": "crash"}],
        "partitions": [{"start": 200.0, "end": 300.0, "groups": [["n1"], ["n2"]]}],
    }
    fig = kit.Figure(trace, title="t")
    panel = kit.StatePanel(fig.y, str, kit.role_label, lambda n, b, a: None)
    fig.panel(panel, liveness(trace), gap=10)
    assert fig.y == 8 + panel.height(["n1", "n2"]) + 10
    lanes = fig.timeline(trace, pitch=30.0, down=12)
    assert lanes.nodes == ("n1", "n2") and lanes.top == 8 + 16 + 36 + 10 and fig.y == lanes.bottom
    body = "".join(fig.parts)
    assert 'class="dm-band"' in body and "partition n1 | n2" in body
    assert 'class="dm-down"' in body and 'height="12"' in body and 'data-role="down"' in body
    unpartitioned = {key: value for key, value in trace.items() if key != "partitions"}
    with pytest.raises(KeyError):  # a trace must list its partitions, even if none
        kit.Figure(trace, title="t").timeline(unpartitioned)


def el_text(text: str) -> str:
    return f"<text>{text.replace('&', '&amp;').replace('<', '&lt;')}</text>"


def test_series_as_an_area_closes_down_to_zero():
    scale = kit.TimeScale(1000, 0, 1000)
    levels = kit.Levels(top=0.0, height=100.0, most=10.0)
    queue = kit.series(
        scale, levels, [(0.0, 0.0), (500.0, 5.0), (1000.0, 10.0)], "rz-queue", area=True
    )
    assert 'd="M0 100L0 100L500 50L1000 0L1000 100Z"' in queue[0]
    line = kit.series(scale, levels, [(0.0, 0.0), (500.0, 5.0), (1000.0, 10.0)], "rz-good")
    assert 'd="M0 100L500 50L1000 0"' in line[0]


def test_say_role_tells_the_new_role_and_role_label_escapes_it():
    assert kit.say_role("n1", "follower", "leader") == "n1 is leader"
    assert kit.say_role("n2", None, "down") == "n2 is down"
    label = parse(kit.role_label("n1", HOSTILE, 20.0))[-1]
    assert label.text == HOSTILE and label.get("x") == "44" and label.get("y") == "31"


def test_lane_lines_name_client_lanes_without_claiming_a_node():
    scale = kit.TimeScale(1000, 44, 704)
    lanes = kit.Lanes(("c1", "c2"), 20, 26)
    parts = kit.lane_lines(scale, lanes, names={"c1": HOSTILE, "c2": "c2 \u2192 n1"}, nodes=False)
    root = parse(parts)
    assert [e.text for e in root.iter() if e.tag.endswith("text")] == [HOSTILE, "c2 \u2192 n1"]
    assert not [e for e in root.iter() if e.get("data-node")]
    owned = kit.lane_lines(scale, lanes)
    assert owned[0] == '<text class="dm-text" x="8" y="37" data-node="c1">c1</text>'
    with pytest.raises(KeyError):  # every lane needs a name when names are given
        kit.lane_lines(scale, lanes, names={"c1": "c1"})


def test_translate_moves_a_row_once_and_names_its_owner_escaped():
    parts = kit.translate(124.0, 40.5, ['<text data-t="0">a</text>'], data_node=HOSTILE)
    root = parse(parts)
    row = next(g for g in root.iter() if g.tag.endswith("}g"))
    assert row.get("transform") == "translate(124 40.5)" and row.get("data-node") == HOSTILE
    assert [t.text for t in row] == ["a"]
    assert kit.translate(0, 0, [])[-1] == "</g>"  # an empty row is still one well-formed group


def test_esc_escapes_as_html_escape_does_without_importing_html():
    import html
    import random
    import subprocess
    import sys

    from demos.svg import esc

    rng = random.Random(7)
    for _ in range(5000):
        text = "".join(rng.choice("&<>\"'a é—;#x") for _ in range(rng.randint(0, 10)))
        assert esc(text) == html.escape(text, quote=True), text
    assert esc(HOSTILE) == "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#x27;q&#x27;"
    # The browser's memory snapshot holds every module a first run imports: html would
    # bring html.entities' tables along.
    probe = "import sys, demos; demos.run('raft', {}); print('html' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr
