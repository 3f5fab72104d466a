"""The resilience figure: the breaker, in-flight requests, retries and queue at the cursor;
over time, offered load, goodput and calls per second (thousands of calls are far too many
for arrows), the queue, and when the breaker was open or the dependency slow."""

from __future__ import annotations

from math import ceil

from . import kit
from .queries import down_intervals, state_reader
from .resilience import counters, panel_numbers, per_second, role_history, times_of
from .result import Check
from .svg import el, num

RATE_H, QUEUE_H, PITCH, READ_X = 96.0, 44.0, 14.0, 200.0
CAPTIONS = ("requests / answered ok, last second", "in flight / retries, last second", "queue")
ROLES = dict.fromkeys(("clients", "closed", "well"), "dm-ok") | {"down": "dm-role-down"}
ROLES |= {"open": "dm-bad", "half-open": "dm-warn", "slow": "dm-warn"}
SAY = {"open": "the breaker opens: calls fail fast", "half-open": "the breaker lets a probe in"}
SAY |= {"closed": "the breaker closes", "slow": "{} slows down", "well": "{} is well again"}
SAY |= {"clients": "{} restarts", "down": "{} crashes"}
SERIES = {"offered": ("rz-offered", "offered load"), "good": ("rz-good", "goodput (answered ok)")}
SERIES |= {"calls": ("rz-calls", "calls to n3 (attempts)")}
BARS = {"open": "rz-open", "half-open": "rz-half"}  # the breaker's, on the service's lane
LEGEND = [
    ("box", "dm-bad", "breaker open"),
    ("box", "dm-warn", "half-open"),
    ("box", "dm-down", "down"),
]
DESC = "Top: breaker, in-flight requests, retries and queue at the cursor. Below: rates per \
second, the dependency's queue, and a lane per node over time."
STYLE = """
.rz-open,.rz-half{stroke:var(--demo-bad,#c01c28);stroke-width:8}.rz-half{stroke:var(--demo-warn,#9c5d00)}
.rz-offered{stroke:var(--demo-fg,#1d1d1f);stroke-width:1.2;stroke-dasharray:4 2;fill:none}
.rz-good{stroke:var(--demo-ok,#1e7a34);stroke-width:2;fill:none}
.rz-calls{stroke:var(--demo-accent,#1a5fb4);stroke-width:1.5;fill:none}
.rz-queue{fill:var(--demo-accent,#1a5fb4);opacity:.35}
.rz-cap{stroke:var(--demo-muted,#5f6368);stroke-width:.75;stroke-dasharray:1 2}
.rz-slow{fill:var(--demo-warn,#9c5d00);opacity:.12}
:where(.demo-svg-resilience .dm-state) text{fill:var(--demo-fg,#1d1d1f);font:10px sans-serif}
:where(.demo-svg-resilience .dm-state) text{text-anchor:end}
.rz-r{text-anchor:start}
"""


def sample_step(trace: dict) -> float:
    """Give how often the panel's numbers are read: about 40 times a run, on a 1-2-5 step."""
    return kit.nice_step(float(trace["duration"]), 40)


def draw(trace: dict, checks: list[Check], summary: str) -> str:
    """Give the SVG of a resilience run."""
    fig = kit.Figure(trace, title="Resilience: a service calling a slow dependency")
    nodes, scale, p = trace["nodes"], fig.scale, trace["params"]
    fig.text(summary)
    slow, breaker = f"slow (×{p['slow_factor']:g})", p["breaker"] == "true"
    text = {"clients": "clients", "closed": "breaker closed" if breaker else "no breaker"}
    text |= {"open": "breaker open", "half-open": "breaker half-open", "slow": slow}
    text |= {"well": "dependency well", "down": "down"}
    panel = kit.StatePanel(
        fig.y,
        role=lambda r: r,
        roles=ROLES,
        say=lambda n, _, r: SAY[r].format(n),
        draw=lambda n, r, y: [el("text", text[r], class_="rz-r", x=44, y=y + 11)],
        heading=f"At the cursor (numbers read every {sample_step(trace):g} ms)",
    )
    history = role_history(trace)
    fig.add(panel.render(history))
    for i, (node, numbers) in enumerate(panel_numbers(trace, sample_step(trace)).items()):
        row = lambda s, i=i: [el("text", s, x=READ_X, y=panel.y(i) + 11)]  # noqa: E731
        fig.add(kit.stretches(numbers, row, node=node))
        fig.add(
            kit.texts([(READ_X + 6, panel.y(i) + 11, CAPTIONS[i])], "dm-text dm-small dm-muted")
        )
    fig.reserve(panel.height(nodes) + 6)
    step, dur, times = kit.nice_step(float(trace["duration"]), 80), scale.duration, times_of(trace)
    at = [i * step for i in range(int(dur // step) + 1)]
    top = fig.y  # a centred second around each point, cut short at the run's ends
    rates = {
        k: [per_second(times[k], max(t - 500, 0), min(t + 500, dur)) for t in at] for k in SERIES
    }
    fig.add(_plot(rates, fig, at, "per second", float(trace["capacity"]), RATE_H))
    queue = state_reader(counters(trace)["queue"])
    waiting = {"queue": [queue(t) for t in at]}
    fig.add(_plot(waiting, fig, at, "calls waiting at n3", None, QUEUE_H))
    lanes = fig.lanes(nodes, PITCH)
    fig.add(_slowdown(trace, scale, top, lanes))
    fig.add(kit.lane_lines(scale, lanes))
    fig.add(kit.down_spans(scale, lanes, down_intervals(trace), height=10))
    fig.add(kit.role_bars(scale, lanes, {"n2": history["n2"]}, BARS))
    fig.add(kit.violations(scale, lanes, checks))
    fig.axis(lanes, top=top)
    lines = [("line", cls, label) for cls, label in SERIES.values()]
    fig.legend([*lines, ("box", "rz-queue", "queue"), ("box", "rz-slow", slow), *LEGEND])
    return fig.svg(desc=f"{summary} {DESC}", style=STYLE)


def _plot(
    series: dict[str, list[float]],
    fig: kit.Figure,
    at: list[float],
    label: str,
    cap: float | None,
    height: float,
) -> list[str]:
    """Give values at times `at` as lines, or a filled area for the queue, on a 0..nice
    maximum scale, with that maximum and `cap` (a dashed level) marked."""
    top, scale = fig.reserve(height + 22) + 16, fig.scale
    peak = max([max(v) for v in series.values()] + [cap or 0.0, 1.0])
    levels = kit.Levels(top, height, kit.nice_step(peak, 2) * ceil(peak / kit.nice_step(peak, 2)))
    muted, x0, x1, bottom = "dm-text dm-small dm-muted", scale.x0, scale.x1, top + height
    out = [
        el("text", label, class_=muted, x=x0 + 4, y=top - 2),
        el("text", f"{levels.most:g}", class_=muted, x=x0 - 4, y=top + 4, text_anchor="end"),
        el("path", class_="dm-grid", d=f"M{num(x0)} {num(top)}H{num(x1)}"),
        el("path", class_="dm-lane", d=f"M{num(x0)} {num(bottom)}H{num(x1)}"),
    ]
    if cap is not None:
        out += kit.level(scale, levels, cap, f"n3 serves {cap:g}/s when well", "rz-cap")
    for key, values in series.items():
        cls = "rz-queue" if key == "queue" else SERIES[key][0]
        out += kit.series(
            scale, levels, list(zip(at, values, strict=True)), cls, area=key == "queue"
        )
    return out


def _slowdown(trace: dict, scale: kit.TimeScale, top: float, lanes: kit.Lanes) -> list[str]:
    """Give a shaded band over plots and lanes while the dependency was slow."""
    p = trace["params"]
    if p["slow_for"] <= 0 or p["slow_factor"] == 1:
        return []
    x0, x1 = scale.x(p["slow_at"]), scale.x(p["slow_at"] + p["slow_for"])
    width, height = max(x1 - x0, 1.0), lanes.bottom - top
    return [el("rect", class_="rz-slow", x=x0, y=top, width=width, height=height)]
