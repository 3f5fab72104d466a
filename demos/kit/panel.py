"""The state panel: each node's state at the cursor, drawn as time-bounded stretches.

A value over time is a list of (since, value) changes (see `queries.timeline`). Each stretch
becomes one `<g>` carrying `data-t` (its start) and, unless it lasts to the end,
`data-until`; the player shows the stretches that hold the cursor. Without the player (no
JavaScript) every stretch that ends is hidden (`dm-off`), so the panel shows the end of the
run. A panel row's role mark carries `data-role`: exactly one is visible per node.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..sim import cooperating
from ..svg import attrs, el
from .marks import tnum

# Draws one value: (node, value, y of the row's top) -> SVG parts.
DrawState = Callable[[str, object, float], list[str]]
# Says what a change means for a reader: (node, before or None, after) -> sentence or None.
SayChange = Callable[[str, object, object], str | None]


def columns(
    node: str, texts: Sequence[str], y: float, *, xs: Sequence[float], cls: str = "dm-text dm-small"
) -> list[str]:
    """Give a panel row's texts, each at its column's x (empty ones left out): the `draw` of a
    panel whose states are rows of texts (bind `xs` and `cls` with functools.partial)."""
    cells = zip(texts, xs, strict=True)
    return [el("text", text, class_=cls, x=x, y=y + 11) for text, x in cells if text]


def role_label(node: str, role: object, y: float) -> list[str]:
    """Give the role's name beside its mark in a panel row: the `draw` of a panel whose states
    are role names."""
    return [el("text", str(role), x=44, y=y + 11, class_="dm-text dm-small")]


def say_role(node: str, before: object, role: object) -> str:
    """Give "n1 is leader": the `say` of a panel whose states are role names."""
    return f"{node} is {role}"


def stretch(
    since: float,
    until: float | None,
    parts: list[str],
    *,
    node: str | None = None,
    say: str | None = None,
) -> list[str]:
    """Give `parts` as one `<g>` shown from `since` until `until` (None: to the end)."""
    cls = "dm-state" if until is None else "dm-state dm-off"
    end = None if until is None else tnum(until)
    head = attrs(class_=cls, data_node=node, data_t=tnum(since), data_until=end, data_say=say)
    return [f"<g{head}>", *parts, "</g>"]


def stretches(
    history: list[tuple[float, object]],
    draw: Callable[[object], list[str]],
    *,
    node: str | None = None,
    say: Callable[[object, object], str | None] | None = None,
) -> list[str]:
    """Give one `<g>` per stretch of a value that changes over time; a None value draws
    nothing. `say(before, after)` gives the sentence announced at a change."""
    out = []
    for k, (since, value) in cooperating(enumerate(history)):
        until = history[k + 1][0] if k + 1 < len(history) else None
        if value is None or (until is not None and until <= since):
            continue
        said = say(history[k - 1][1], value) if say and k else None
        out += stretch(since, until, draw(value), node=node, say=said)
    return out


@dataclass(frozen=True)
class StatePanel:
    """A panel of one row per node: its name, a role mark and what `draw` adds.

    `role(state)` names the state's role (`leader`, `down`, ...), drawn with class
    `roles[role]`; `say(node, before, after)` writes what the player announces when a
    reader steps to a change.
    """

    top: float
    role: Callable[[object], str]
    draw: DrawState
    say: SayChange
    roles: dict[str, str] = field(default_factory=dict)
    row: float = 18.0
    heading: str = "At the cursor"

    def height(self, nodes: list[str]) -> float:
        """Give the height the panel takes for `nodes`, heading included."""
        return 16.0 + self.row * len(nodes)

    def y(self, index: int) -> float:
        """Give the top of row `index`."""
        return self.top + 16.0 + self.row * index

    def render(self, changes: dict[str, list[tuple[float, object]]]) -> list[str]:
        """Give the panel's SVG: a heading, then each node's name and stretches of state."""
        out = [el("text", self.heading, class_="dm-text dm-small dm-muted", x=8, y=self.top + 10)]
        for i, (node, history) in enumerate(changes.items()):
            y = self.y(i)
            out.append(el("text", node, class_="dm-text", x=8, y=y + 11, data_node=node))

            def draw(state: object, node: str = node, y: float = y) -> list[str]:
                role = self.role(state)
                return [
                    el(
                        "rect",
                        class_=self.roles.get(role, "dm-node"),
                        x=30,
                        y=y + 2,
                        width=10,
                        height=10,
                        data_role=role,
                    ),
                    *self.draw(node, state, y),
                ]

            out += stretches(
                history,
                draw,
                node=node,
                say=lambda before, after, node=node: self.say(node, before, after),
            )
        return out
