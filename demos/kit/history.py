"""Marks for what happened over time on a lane, and helpers for states held per slot.

- `role_bars`: a thick bar over a lane while its node holds a role (a leader, a primary);
- `binned_ticks`: frequent events (heartbeats, ballots) as dashed strokes, one tick per few
  pixels, so thousands of events cost a few hundred bytes;
- `dots` / `ticks` / `labels`: a dot, an upright stroke or a text per event on its node's
  lane;
- `slot_runs` / `run_groups` / `slot_stretches`: a node's state as a row of slots (a log, a
  set of messages), each slot's value over time, the stretches several slots share, or each
  slot's own stretches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import partial

from ..sim import cooperating
from ..svg import attrs, el, esc, num
from .marks import Lanes, box_d, group, tnum
from .panel import stretches
from .scale import TimeScale

History = list[tuple[float, object]]


def role_bars(
    scale: TimeScale,
    lanes: Lanes,
    changes: dict[str, History],
    classes: dict[str, str],
    name: Callable[[object], str] = str,
    title: Callable[[str, object], str] | None = None,
) -> list[str]:
    """Give a bar over each lane for every stretch whose `name(state)` has a class in
    `classes`; `title(node, state)` gives its tooltip."""
    out = []
    for node, history in changes.items():
        bars: dict[str, list[str]] = {cls: [] for cls in classes.values()}
        for k, (since, state) in cooperating(enumerate(history)):
            cls = classes.get(name(state))
            if cls is None:
                continue
            until = history[k + 1][0] if k + 1 < len(history) else scale.duration
            x0, y = scale.x(since), lanes.y(node)
            d = f"M{num(x0)} {num(y)}h{num(max(scale.x(until) - x0, 0.5))}"
            tip = f"<title>{esc(title(node, state))}</title>" if title else ""
            close = f">{tip}</path>" if tip else "/>"
            bars[cls].append(f'<path d="{d}" data-t="{tnum(since)}"{close}')
        for cls, items in bars.items():
            out += group(cls, items, node)
    return out


def binned_ticks(
    scale: TimeScale,
    lanes: Lanes,
    times: dict[str, Iterable[float]],
    cls: str,
    *,
    bin_px: float = 4.0,
    dy: float = -7.5,
    chunk: int = 32,
) -> list[str]:
    """Give a tick above each lane for every `bin_px` of time in which its node had an event.

    Neighbouring ticks form one dashed stroke (style `cls` with a dash array), cut every
    `chunk` bins so the player reveals them as time passes.
    """
    out = []
    for node in lanes.nodes:
        first: dict[int, float] = {}
        for t in times.get(node, ()):
            first.setdefault(int((scale.x(t) - scale.x0) // bin_px), t)
        runs: list[list[int]] = []
        for b in sorted(first):
            if runs and b == runs[-1][1] + 1 and b % chunk:
                runs[-1][1] = b
            else:
                runs.append([b, b])
        y = num(lanes.y(node) + dy)
        out += group(
            cls,
            [
                f'<path d="M{num(scale.x0 + a * bin_px)} {y}h{num((b - a + 1) * bin_px)}"'
                f' data-t="{tnum(first[a])}"/>'
                for a, b in runs
            ],
            node,
        )
    return out


def dots(
    scale: TimeScale,
    lanes: Lanes,
    events: Iterable[dict],
    cls: str,
    *,
    dy: float = 0.0,
    r: float = 2.5,
    say: Callable[[dict], str] | None = None,
    title: Callable[[dict], str] | None = None,
) -> list[str]:
    """Give a dot on its node's lane at the time of each event; `say(event)` gives what the
    player announces when a reader steps to it, `title(event)` its tooltip."""
    out = []
    for e in cooperating(events):
        head = attrs(
            cx=scale.x(e["t"]),
            cy=lanes.y(e["node"]) + dy,
            r=r,
            data_t=tnum(e["t"]),
            data_node=e["node"],
            data_say=say(e) if say else None,
        )
        out.append(
            f"<circle{head}>{el('title', title(e))}</circle>" if title else f"<circle{head}/>"
        )
    return group(cls, out)


def ticks(
    scale: TimeScale,
    lanes: Lanes,
    events: Iterable[dict],
    cls: str,
    *,
    height: float = 16.0,
    dy: float = 0.0,
    say: Callable[[dict], str] | None = None,
) -> list[str]:
    """Give a stroke `height` tall across its node's lane at the time of each event (a view
    change, a block found); `say(event)` gives what the player announces there."""
    out = []
    for e in cooperating(events):
        top = lanes.y(e["node"]) + dy - height / 2
        d = f"M{num(scale.x(e['t']))} {num(top)}v{num(height)}"
        said = say(e) if say else None
        out.append(el("path", d=d, data_t=tnum(e["t"]), data_node=e["node"], data_say=said))
    return group(cls, out)


def labels(
    scale: TimeScale,
    lanes: Lanes,
    events: Iterable[dict],
    text: Callable[[dict], str],
    cls: str,
    *,
    dx: float = 0.0,
    dy: float = 0.0,
) -> list[str]:
    """Give `text(event)` beside each event on its node's lane (a value written, a result
    read), shown from the event's time."""
    return [
        el(
            "text",
            text(e),
            class_=cls,
            x=scale.x(e["t"]) + dx,
            y=lanes.y(e["node"]) + dy,
            data_t=tnum(e["t"]),
            data_node=e["node"],
        )
        for e in cooperating(events)
    ]


def slot_runs(
    history: History, value: Callable[[object, int], object], slots: int
) -> dict[int, History]:
    """Give each slot's value over time from a node's history of states; `value(state,
    slot)` gives the slot's value in a state (None: empty)."""
    runs: dict[int, History] = {i: [(0.0, None)] for i in range(slots)}
    for since, state in cooperating(history):
        for i in range(slots):
            now = value(state, i)
            if runs[i][-1][1] == now:
                continue
            if runs[i][-1][0] == since:
                runs[i].pop()
            runs[i].append((since, now))
    return runs


def slot_stretches(
    history: History,
    slots: Sequence[object],
    draw: Callable[[object, object], list[str]],
    *,
    node: str | None = None,
    say: Callable[[object, object, object], str | None] | None = None,
) -> list[str]:
    """Give each slot of a node's state (a tuple: the value of `slots[i]` at i, None: empty)
    as its own stretches; `draw(slot, value)` draws a value, `say(slot, before, after)` tells
    a change."""
    out = []
    for i, run in slot_runs(history, lambda state, i: state[i], len(slots)).items():
        tell = partial(say, slots[i]) if say else None
        out += stretches(run, partial(draw, slots[i]), node=node, say=tell)
    return out


def run_groups(
    runs: dict[int, History], kind: Callable[[object], object]
) -> list[tuple[float, float | None, object, list[tuple[int, object]]]]:
    """Give the stretches slots share, as (since, until, kind, [(slot, value), ...]) in
    time order: slots whose values of one `kind` appear and go at the same moments."""
    together: dict[tuple, list[tuple[int, object]]] = {}
    for slot, history in runs.items():
        for k, (since, value) in cooperating(enumerate(history)):
            until = history[k + 1][0] if k + 1 < len(history) else None
            if value is not None and (until is None or until > since):
                together.setdefault((since, until, kind(value)), []).append((slot, value))
    return [
        (since, until, key, slots)
        for (since, until, key), slots in sorted(
            together.items(), key=lambda kv: (kv[0][0], str(kv[0][2]))
        )
    ]


def boxes(
    xs: list[float],
    y: float,
    cls: str,
    labels: str,
    *,
    size: float = 14.0,
    label_cls: str = "dm-text dm-tiny",
) -> list[str]:
    """Give a row of squares at `xs` as one path, and one character of `labels` centred in
    each as one text."""
    d = "".join(box_d(x, y, size, size) for x in xs)
    return [
        el("path", class_=cls, d=d),
        el(
            "text",
            labels,
            class_=label_cls,
            x=" ".join(num(x + size / 2) for x in xs),
            y=y + size * 0.75,
        ),
    ]
