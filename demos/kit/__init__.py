"""The figure kit: what every demo's drawing is made of.

- `Figure`: the SVG under construction, with one `TimeScale` and a vertical cursor, and
  its sections (`text`, `heading`, `panel`, `timeline`, `axis`, `legend`);
- marks (`marks`): lanes, time axis, message arrows, partition bands, down spans,
  violations, a legend, wrapped text; each gives SVG for one kind of thing;
- marks of a lane's history (`history`): role bars, binned ticks, dots, ticks, labels, and
  states held per slot (a log, a set of messages);
- `StatePanel`: each node's state at the cursor, as time-bounded rows;
- `series` / `level` (`plot`): a value over time as a line, against a limit.

A demo's `<name>_draw.py` builds one `Figure`, adds the shared marks and its own, and
returns `figure.svg(...)`.
"""

from .figure import Figure, heading
from .history import (
    binned_ticks,
    boxes,
    dots,
    labels,
    role_bars,
    run_groups,
    slot_runs,
    slot_stretches,
    ticks,
)
from .marks import (
    Lanes,
    arrow_d,
    axis,
    bands,
    box_d,
    down_spans,
    group,
    lane_lines,
    legend,
    message,
    message_style,
    messages,
    text_block,
    texts,
    tnum,
    translate,
    violations,
    wrap,
)
from .panel import StatePanel, columns, role_label, say_role, stretch, stretches
from .plot import Levels, level, rises, series
from .scale import TimeScale, nice_step, time_label

__all__ = [
    "Figure",
    "Lanes",
    "Levels",
    "StatePanel",
    "TimeScale",
    "arrow_d",
    "axis",
    "box_d",
    "binned_ticks",
    "boxes",
    "bands",
    "columns",
    "dots",
    "down_spans",
    "group",
    "heading",
    "labels",
    "lane_lines",
    "legend",
    "level",
    "message",
    "message_style",
    "messages",
    "nice_step",
    "rises",
    "role_bars",
    "role_label",
    "run_groups",
    "say_role",
    "series",
    "slot_runs",
    "slot_stretches",
    "stretch",
    "stretches",
    "text_block",
    "texts",
    "ticks",
    "time_label",
    "tnum",
    "translate",
    "violations",
    "wrap",
]
