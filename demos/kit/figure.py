"""A figure under construction: a width, one time scale, a vertical cursor, a list of parts."""

from __future__ import annotations

from ..queries import down_intervals
from ..svg import document, el
from .marks import Lanes, LegendItem, axis, bands, down_spans, lane_lines, legend, text_block
from .panel import StatePanel
from .scale import TimeScale

WIDTH = 720.0
LEFT = 44.0  # room for node names left of the time range
RIGHT = 16.0


class Figure:
    """Stacks sections top to bottom; every mark shares `scale`.

    `figure.y` is where the next section starts; `reserve(h)` gives that y and moves on.
    """

    def __init__(
        self,
        trace: dict,
        *,
        title: str,
        width: float = WIDTH,
        left: float = LEFT,
        right: float = RIGHT,
    ) -> None:
        self.demo = trace["demo"]
        self.title = title
        self.width = width
        self.scale = TimeScale(float(trace["duration"]), left, width - right)
        self.parts: list[str] = []
        self.y = 8.0

    def reserve(self, height: float) -> float:
        """Give the top of a section `height` tall, and move below it."""
        top = self.y
        self.y += height
        return top

    def add(self, parts: list[str]) -> None:
        self.parts += parts

    def text(self, text: str, *, cls: str = "dm-text dm-small", gap: float = 6.0) -> None:
        """Add a paragraph across the figure's width, wrapped, then `gap` of space."""
        parts, height = text_block(text, x=8, y=self.y + 10, width=self.width - 16, cls=cls)
        self.add(parts)
        self.reserve(height + gap)

    def lanes(self, nodes: list[str], pitch: float = 26.0) -> Lanes:
        """Give lanes for `nodes` starting here, and move below them."""
        lanes = Lanes(tuple(nodes), self.y, pitch)
        self.reserve(pitch * len(nodes))
        return lanes

    def panel(self, panel: StatePanel, changes: dict, gap: float = 14.0) -> None:
        """Add a state panel here, its rows drawn from `changes` (node: [(since, state)]), and
        move below it and `gap` further."""
        self.add(panel.render(changes))
        self.reserve(panel.height(list(changes)) + gap)

    def timeline(
        self,
        trace: dict,
        nodes: list[str] | None = None,
        *,
        pitch: float = 26.0,
        down: float = 22.0,
        label_y: float | None = None,
    ) -> Lanes:
        """Give lanes for `nodes` (default: the trace's) starting here, over the trace's
        partitions as bands (labels at `label_y`), each with its name, its line and its node's
        down time as bars `down` tall; and move below them."""
        lanes = self.lanes(list(trace["nodes"] if nodes is None else nodes), pitch)
        self.add(bands(self.scale, trace["partitions"], lanes.top, lanes.bottom, label_y=label_y))
        self.add(lane_lines(self.scale, lanes))
        self.add(down_spans(self.scale, lanes, down_intervals(trace), height=down))
        return lanes

    def heading(self, text: str, gap: float = 12.0) -> None:
        """Add a section heading here and move below it."""
        self.add([heading(text, self.y + 4)])
        self.reserve(gap)

    def axis(
        self,
        lanes: Lanes,
        *,
        grid: bool = True,
        top: float | None = None,
        bottom: float | None = None,
    ) -> None:
        """Add the time axis under `lanes` (grid lines across them) and room for its labels;
        `top`/`bottom` widen it over sections above or below the lanes (plots, strips)."""
        top = lanes.top if top is None else top
        bottom = lanes.bottom if bottom is None else bottom
        self.add(axis(self.scale, top, bottom, grid=grid))
        self.y = max(self.y, bottom) + 34

    def legend(self, items: list[LegendItem]) -> None:
        """Add a legend across the figure's width here and move below it."""
        parts, height = legend(items, x=8, y=self.y + 10, width=self.width - 16)
        self.add(parts)
        self.reserve(height)

    def svg(self, *, desc: str, style: str = "") -> str:
        """Give the finished SVG document."""
        return document(
            width=self.width,
            height=self.y + 8,
            title=self.title,
            desc=desc,
            body=self.parts,
            style=style,
            duration=self.scale.duration,
            time_x=(self.scale.x0, self.scale.x1),
            demo=self.demo,
        )


def heading(text: str, y: float) -> str:
    """Give a section heading whose baseline is at `y`."""
    return el("text", text, class_="dm-text", x=8, y=y)
