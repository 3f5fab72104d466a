"""A value over time as a line under the lanes: a sampled level, a rate, a queue's length.

`Levels` maps values to y in a plot's band, as `TimeScale` maps time to x; `series` draws
the values as one path and `level` a dashed limit across the plot.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..svg import el, num
from .marks import tnum
from .scale import TimeScale


@dataclass(frozen=True)
class Levels:
    """Values in [0, most] to y in [top + height, top]; larger values stay at the top."""

    top: float
    height: float
    most: float

    def y(self, value: float) -> float:
        """Give the y of `value`, clipped to the plot."""
        return self.top + self.height * (1 - min(value / self.most, 1.0))


def series(
    scale: TimeScale,
    levels: Levels,
    points: list[tuple[float, float]],
    cls: str,
    *,
    tolerance: float | None = None,
    node: str | None = None,
    t: float | None = None,
    area: bool = False,
) -> list[str]:
    """Give (time, value) points as one line, or with `area` as a shape closed down to 0 (a
    queue's length); none: nothing.

    With a `tolerance` in px, a point within it of the straight line from the last point kept
    to the next one is left out (long smooth stretches cost a few bytes); `t` and `node` give
    the line's data-t and data-node.
    """
    xy = [(scale.x(at), levels.y(value)) for at, value in points]
    if not xy:
        return []
    kept = xy[:1]
    for b, c in zip(xy[1:-1], xy[2:], strict=True):
        if tolerance is None or _off_line(kept[-1], b, c) > tolerance:
            kept.append(b)
    line = kept + xy[1:][-1:]  # the first point, those kept, the last
    if area:
        base = levels.y(0.0)
        line = [(line[0][0], base), *line, (line[-1][0], base)]
    d = "M" + "L".join(f"{num(x)} {num(y)}" for x, y in line) + ("Z" if area else "")
    return [el("path", class_=cls, d=d, data_t=None if t is None else tnum(t), data_node=node)]


def rises(points: list[tuple[float, float]]) -> list[list[tuple[float, float]]]:
    """Give (time, value) points cut wherever the value falls: one piece per climb of a level
    that resets (a timer, a suspicion level), each to draw as its own line."""
    pieces: list[list[tuple[float, float]]] = []
    for at, value in points:
        if not pieces or value < pieces[-1][-1][1]:
            pieces.append([])
        pieces[-1].append((at, value))
    return pieces


def level(
    scale: TimeScale,
    levels: Levels,
    value: float,
    text: str,
    cls: str,
    *,
    text_cls: str = "dm-text dm-small dm-muted",
) -> list[str]:
    """Give a line across the plot at `value` (a limit, a capacity), named at its right end."""
    y = levels.y(value)
    return [
        el("path", class_=cls, d=f"M{num(scale.x0)} {num(y)}H{num(scale.x1)}"),
        el("text", text, class_=text_cls, x=scale.x1, y=y - 3, text_anchor="end"),
    ]


def _off_line(a: tuple[float, float], b: tuple[float, float], c: tuple[float, float]) -> float:
    """Give how far `b` lies above or below the line from `a` to `c` (0 if `c` is above `a`:
    a vertical drop keeps its ends only)."""
    if c[0] == a[0]:
        return 0.0
    return abs(a[1] + (c[1] - a[1]) * (b[0] - a[0]) / (c[0] - a[0]) - b[1])
