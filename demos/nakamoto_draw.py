"""The Nakamoto figure: each node's tip and the payment on its chain at the cursor; below, the
block tree over time, each block a dot on its miner's lane linked to its parent (grey: off the
final chain; orange: mined in secret), with a mark where an honest node dropped blocks."""

from __future__ import annotations

from . import kit
from .nakamoto import PAYMENT, final_chain, payment_state, reorgs, roles, tips
from .queries import down_intervals
from .result import Check
from .svg import el, num

ROLES = {"honest": "dm-role-leader", "attacker": "dm-role-candidate", "down": "dm-role-down"}
STYLE = """
.nk-m{fill:var(--demo-accent,#1a5fb4);stroke:var(--demo-accent,#1a5fb4)}
.nk-o{fill:var(--demo-muted,#5f6368);stroke:var(--demo-muted,#5f6368);opacity:.55}
.nk-s{fill:var(--demo-warn,#9c5d00);stroke:var(--demo-warn,#9c5d00)}
.nk-w{fill:var(--demo-bg,#fff);stroke:var(--demo-warn,#9c5d00)}
.nk-m line,.nk-o line,.nk-s line,.nk-w line{stroke-width:1}
.nk-p{fill:none;stroke:var(--demo-ok,#1e7a34);stroke-width:1.5}
.nk-d{fill:none;stroke:var(--demo-bad,#c01c28);stroke-width:1.5}
.nk-r{stroke:var(--demo-bad,#c01c28);stroke-width:2}
.nk-x{fill:var(--demo-fg,#1d1d1f);font:10px system-ui,-apple-system,"Segoe UI",sans-serif}
.nk-t{font-size:9px;fill:var(--demo-bad,#c01c28)}
"""
LEGEND = [("box", "dm-role-leader", "honest"), ("box", "dm-role-candidate", "attacker"),
          ("dot", "nk-m", "block on the final chain"), ("dot", "nk-o", "orphaned"),
          ("dot", "nk-s", "mined in secret"), ("dot", "nk-w", "never shown"),
          ("dot", "nk-p", "payment"), ("dot", "nk-d", "double spend"),
          ("line", "nk-r", "reorg")]  # fmt: skip
ATTACK_ONLY = ("dm-role-candidate", "nk-s", "nk-w", "nk-d")


def _tips(trace: dict, node: str, history: list, y: float) -> list[str]:
    """Give a node's tip over time (block and height) and, apart, what its chain holds of
    the payment (it changes less often once the payment is settled)."""
    holds: list[tuple[float, str]] = []
    for since, tip in history:
        text = payment_text(trace, tip)
        if not holds or holds[-1][1] != text:
            holds.append((since, text))
    tip_text = lambda tip: f"{tip} height {trace['blocks'][tip]['height']}"  # noqa: E731
    return kit.stretches(history, lambda tip: [_text(tip_text(tip), 44, y)], node=node) + (
        kit.stretches(holds, lambda text: [_text(text, 140, y)], node=node))  # fmt: skip


def _text(text: str, x: float, y: float) -> str:
    return el("text", text, class_="nk-x", x=x, y=y)


def payment_text(trace: dict, tip: str) -> str:
    """Give what a chain ending at `tip` holds, in a few words."""
    tx, block, on_top = payment_state(trace, tip)
    what = "payment" if tx == PAYMENT else "double spend"
    if not tx:
        return "no payment"
    if on_top >= int(trace["params"]["confirmations"]):
        return f"{what} in {block}, settled"
    return f"{what} in {block}, {on_top} on top"


def draw(trace: dict, checks: list[Check], summary: str) -> str:
    """Give the SVG of a Nakamoto run."""
    fig = kit.Figure(trace, title="Nakamoto consensus: the longest chain")
    nodes, scale = trace["nodes"], fig.scale
    fig.text(summary)
    panel = kit.StatePanel(fig.y, role=str, roles=ROLES, draw=lambda node, role, y: [],
                           say=lambda node, _, role: f"{node} is {role}",
                           heading="At the cursor: each node's tip, and the payment on its "
                           "chain")  # fmt: skip
    fig.add(panel.render(roles(trace)))
    for i, (node, history) in enumerate(tips(trace).items()):
        fig.add(_tips(trace, node, history, panel.y(i) + 11))
    top = fig.reserve(panel.height(nodes) + 22)
    fig.add([kit.heading("Blocks by miner over time", top + panel.height(nodes) + 18)])
    lanes = fig.lanes(nodes)
    fig.add(kit.bands(scale, trace["partitions"], lanes.top, lanes.bottom))
    fig.add(kit.lane_lines(scale, lanes))
    fig.add(kit.down_spans(scale, lanes, down_intervals(trace), height=22))
    fig.add(_tree(trace, scale, lanes) + _reorg_marks(trace, scale, lanes))
    fig.add(_releases(trace, scale, lanes) + kit.violations(scale, lanes, checks))
    fig.add(kit.axis(scale, lanes.top, lanes.bottom))
    fig.reserve(34)
    shown = [i for i in LEGEND if trace["attacker"] or i[1] not in ATTACK_ONLY]
    legend, height = kit.legend(shown, x=8, y=fig.y + 10, width=fig.width - 16)
    fig.add(legend)
    fig.reserve(height)
    return fig.svg(desc=f"{summary}. Top: each node's tip at the cursor; below: blocks on "
                   "their miners' lanes, linked to their parents.", style=STYLE)  # fmt: skip


def _fate(data: dict, main: set[str], block: str) -> str:
    if "secret" in data:
        return "nk-s" if "released" in data else "nk-w"
    return "nk-m" if block in main else "nk-o"


def _tree(trace: dict, scale: kit.TimeScale, lanes: kit.Lanes) -> list[str]:
    """Give each block as a dot on its miner's lane at the time it was mined, a line to its
    parent's dot, and a ring round a block that holds the payment or its double spend."""
    blocks, main = trace["blocks"], set(final_chain(trace))
    groups: dict[str, list[str]] = {}
    for block, data in blocks.items():
        if data["miner"] is None:
            continue
        x, y, t = scale.x(data["t"]), lanes.y(data["miner"]), kit.tnum(data["t"])
        items = groups.setdefault(_fate(data, main, block), [])
        up = blocks[data["parent"]]
        if up["miner"] is not None:
            items.append(el("line", x1=scale.x(up["t"]), y1=lanes.y(up["miner"]), x2=x, y2=y,
                            data_t=t))  # fmt: skip
        said = f"{data['miner']} mines {block} at height {data['height']}"
        items.append(el("circle", cx=x, cy=y, r=3, data_t=t, data_node=data["miner"],
                        data_say=said))  # fmt: skip
        if data.get("tx"):
            ring = "nk-p" if data["tx"] == PAYMENT else "nk-d"
            groups.setdefault(ring, []).append(el("circle", cx=x, cy=y, r=6, data_t=t))
    order = ("nk-o", "nk-w", "nk-m", "nk-s", "nk-p", "nk-d")
    return [part for cls in order for part in kit.group(cls, groups.get(cls, []))]


def _reorg_marks(trace: dict, scale: kit.TimeScale, lanes: kit.Lanes) -> list[str]:
    """Give a red tick where an honest node switched branches (-k: it dropped k blocks)."""
    marks = []
    for r in reorgs(trace):
        x, y, t = scale.x(r["t"]), lanes.y(r["node"]), kit.tnum(r["t"])
        said = f"{r['node']} switches to {r['new']}, dropping {r['dropped']} block(s)"
        marks.append(el("path", d=f"M{num(x)} {num(y - 8)}v16", data_t=t, data_node=r["node"],
                        data_say=said))  # fmt: skip
        if r["dropped"] > 1:
            marks.append(el("text", f"-{r['dropped']}", class_="dm-text nk-t", x=x + 2,
                            y=y - 5, data_t=t))  # fmt: skip
    return kit.group("nk-r", marks)


def _releases(trace: dict, scale: kit.TimeScale, lanes: kit.Lanes) -> list[str]:
    """Give a label where the attacker went secret and where it published its branch."""
    out = []
    for e in trace["events"]:
        if e["kind"] == "release":
            label, said = f"publishes {len(e['blocks'])}", f"publishes {len(e['blocks'])} blocks"
        elif e["kind"] == "attack":
            label, said = "goes secret", "sees the payment and mines in secret"
        else:
            continue
        x, y = scale.x(e["t"]) + 3, lanes.y(e["node"]) + 11
        out.append(el("text", label, class_="dm-text nk-t", x=x, y=y, data_t=kit.tnum(e["t"]),
                      data_node=e["node"], data_say=f"{e['node']} {said}"))  # fmt: skip
    return out
