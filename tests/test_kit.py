"""The figure kit: the time scale, its ticks, each mark's escaping, the state panel."""

from __future__ import annotations

import re
from xml.etree import ElementTree

import pytest
from svg_moments import roles_at, stretches_at

from demos import kit
from demos.queries import down_intervals, state_at, timeline
from demos.result import Check
from demos.svg import document

HOSTILE = '<script>alert("x")</script> & \'q\''


def parse(parts: list[str]) -> ElementTree.Element:
    svg = document(width=720, height=200, title="t", desc="d", body=parts, duration=1000,
                   time_x=(44, 704))
    return ElementTree.fromstring(svg)


def test_scale_maps_the_domain_onto_the_range_and_clamps():
    scale = kit.TimeScale(10_000, 44, 704)
    assert scale.x(0) == 44 and scale.x(10_000) == 704 and scale.x(5_000) == 374
    assert scale.x(-5) == 44 and scale.x(99_999) == 704
    assert scale.t(scale.x(2_500)) == pytest.approx(2_500)
    assert scale.px(1_000) == pytest.approx(66)


@pytest.mark.parametrize(("span", "most", "step"), [
    (10_000, 11, 1_000), (10_000, 4, 5_000), (3_000, 11, 500), (30_000, 11, 5_000),
    (1_000, 11, 100), (6_000, 8, 1_000), (7, 10, 1), (250, 2, 200),
])
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
    message = {"src": "n1", "dst": HOSTILE, "sent": 10.0, "recv": None, "status": "lost",
               "label": HOSTILE, "reason": HOSTILE}
    parts = [*kit.lane_lines(scale, lanes), kit.message(scale, lanes, message),
             *kit.bands(scale, [{"start": 1, "end": 9, "groups": [["n1"], [HOSTILE]]}], 0, 80),
             *kit.violations(scale, lanes, [Check(HOSTILE, False, HOSTILE, t=5.0, node="n1")]),
             *kit.legend([("box", "dm-down", HOSTILE)], x=8, y=100, width=600)[0],
             *kit.text_block(HOSTILE, x=8, y=10, width=300)[0]]
    root = parse(parts)  # well-formed: nothing broke out of its element
    assert not [e for e in root.iter() if e.tag.endswith("script")]
    text = ElementTree.tostring(root, encoding="unicode")
    assert "<script>" not in text and HOSTILE in "".join(root.itertext())


def test_a_delivered_message_carries_its_flight_and_an_undelivered_one_its_reason():
    scale = kit.TimeScale(1000, 44, 704)
    lanes = kit.Lanes(("n1", "n2"), 20, 26)
    ok = {"src": "n1", "dst": "n2", "sent": 100.0, "recv": 112.5, "status": "delivered",
          "label": "ping"}
    lost = ok | {"recv": None, "status": "dropped", "reason": "random loss"}
    arrow = ElementTree.fromstring(kit.message(scale, lanes, ok).replace(
        "<path", '<path xmlns="http://www.w3.org/2000/svg"', 1))
    assert (arrow.get("data-sent"), arrow.get("data-recv"), arrow.get("data-t")) == (
        "100", "112.5", "100")
    stub = kit.message(scale, lanes, lost)
    assert "data-recv" not in stub and "random loss" in stub and "ping to n2" in stub


def test_messages_leave_out_what_the_style_skips_and_say_how_many_were_cut():
    scale = kit.TimeScale(1000, 44, 704)
    lanes = kit.Lanes(("n1", "n2"), 20, 26)
    msgs = [{"src": "n1", "dst": "n2", "sent": float(i), "recv": i + 5.0,
             "status": "delivered", "label": f"m{i}"} for i in range(30)]
    parts = kit.messages(scale, lanes, msgs, lambda m: None if m["sent"] % 2 else "dm-msg",
                         limit=10)
    assert sum(p.startswith("<path") for p in parts) == 10
    assert "5 later messages not drawn" in "".join(parts)


def test_legend_wraps_to_its_width():
    items = [("box", "dm-down", f"item number {i}") for i in range(12)]
    parts, height = kit.legend(items, x=8, y=10, width=300)
    ys = {float(m) for m in re.findall(r'<text[^>]* y="([\d.]+)"', "".join(parts))}
    assert height == 16 * len(ys) and len(ys) > 1
    xs = [float(m) for m in re.findall(r'<text[^>]* x="([\d.]+)"', "".join(parts))]
    assert max(xs) < 8 + 300


TRACE = {"nodes": ["n1", "n2"], "duration": 1000.0, "events": [
    {"t": 0.0, "node": "n1", "kind": "role", "role": "leader"},
    {"t": 100.0, "node": "n2", "kind": "crash"},
    {"t": 300.0, "node": "n2", "kind": "restart"},
    {"t": 300.0, "node": "n2", "kind": "role", "role": "follower"},
    {"t": 400.0, "node": "n1", "kind": "role", "role": "leader"},
    {"t": 500.0, "node": "n1", "kind": "crash"},
]}


def role_step(state: str, e: dict) -> str:
    return {"crash": "down", "restart": "up"}.get(e["kind"], e.get("role", state))


def test_timeline_merges_repeats_and_keeps_the_last_change_of_an_instant():
    changes = timeline(TRACE, "follower", role_step)
    assert changes["n1"] == [(0.0, "leader"), (500.0, "down")]
    assert changes["n2"] == [(0.0, "follower"), (100.0, "down"), (300.0, "follower")]
    assert state_at(changes["n2"], 299.9) == "down" and state_at(changes["n2"], 300) == "follower"


def test_down_intervals_from_events_and_from_a_downtime_list():
    assert down_intervals(TRACE) == {"n1": [(500.0, 1000.0)], "n2": [(100.0, 300.0)]}
    listed = {"nodes": ["n1"], "duration": 50.0, "events": [],
              "downtime": [{"node": "n1", "start": 10.0, "end": None}]}
    assert down_intervals(listed) == {"n1": [(10.0, 50.0)]}


def test_panel_shows_one_role_per_node_at_any_moment_and_the_end_without_a_player():
    changes = timeline(TRACE, "follower", role_step)
    panel = kit.StatePanel(10.0, role=lambda s: s, say=lambda n, b, a: f"{n} is {a}",
                           draw=lambda n, s, y: [], roles={"leader": "dm-role-leader"})
    svg = document(width=720, height=100, title="t", desc="d", body=panel.render(changes),
                   duration=1000, time_x=(44, 704))
    for t in (0, 99, 100, 250, 300, 499, 500, 999):
        roles = roles_at(svg, t)
        assert roles == {"n1": [state_at(changes["n1"], t)],
                         "n2": [state_at(changes["n2"], t)]}, t
    static = [g for g in stretches_at(svg, 0) + stretches_at(svg, 999)
              if "dm-off" not in g.get("class")]
    assert {(g.get("data-node"), g.get("data-t")) for g in static} == {
        ("n1", "500"), ("n2", "300")}
    says = re.findall(r'data-say="([^"]+)"', svg)
    assert says == ["n1 is down", "n2 is down", "n2 is follower"]
