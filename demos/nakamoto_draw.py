"""The Nakamoto figure: each node's tip and the payment on its chain at the cursor; below, the
block tree over time, each block a dot on its miner's lane linked to its parent (grey: off the
final chain; orange: mined in secret), with a mark where an honest node dropped blocks."""

from __future__ import annotations

from functools import partial

from . import kit
from .nakamoto import PAYMENT, final_chain, payment_state, reorgs, tips
from .queries import liveness, project
from .result import Check
from .svg import el

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
.nk-q{stroke:var(--demo-warn,#9c5d00);stroke-width:2}
.nk-x{fill:var(--demo-fg,#1d1d1f);font:10px system-ui,-apple-system,"Segoe UI",sans-serif}
.nk-t{font-size:9px;fill:var(--demo-bad,#c01c28)}
"""
LEGEND = [
    ("box", "dm-role-leader", "honest"),
    ("box", "dm-role-candidate", "attacker"),
    ("dot", "nk-m", "block on the final chain"),
    ("dot", "nk-o", "orphaned"),
    ("dot", "nk-s", "mined in secret"),
    ("dot", "nk-w", "never shown"),
    ("dot", "nk-p", "payment"),
    ("dot", "nk-d", "double spend"),
    ("line", "nk-r", "reorg"),
]
ATTACK_ONLY = ("dm-role-candidate", "nk-s", "nk-w", "nk-d")


def _tips(trace: dict, node: str, history: list, y: float) -> list[str]:
    """Give a node's tip over time (block and height) and, apart, what its chain holds of
    the payment (it changes less often once the payment is settled)."""
    holds = project(history, partial(payment_text, trace))
    height = {b: d["height"] for b, d in trace["blocks"].items()}
    return kit.stretches(
        history, lambda tip: kit.texts([(44, y, f"{tip} height {height[tip]}")], "nk-x"), node=node
    ) + kit.stretches(holds, lambda text: kit.texts([(140, y, text)], "nk-x"), node=node)


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
    scale, attacker = fig.scale, trace["attacker"]
    fig.text(summary)
    panel = kit.StatePanel(
        fig.y,
        role=str,
        roles=ROLES,
        draw=lambda node, role, y: [],
        say=kit.say_role,
        heading="At the cursor: each node's tip, and the payment on its chain",
    )
    for i, (node, history) in enumerate(tips(trace).items()):
        fig.add(_tips(trace, node, history, panel.y(i) + 11))
    up = {n: "attacker" if n == attacker else "honest" for n in trace["nodes"]}
    fig.panel(panel, liveness(trace, up), gap=22)
    fig.heading("Blocks by miner over time")
    lanes = fig.timeline(trace)
    fig.add(_tree(trace, scale, lanes) + _marks(trace, scale, lanes))
    fig.add(kit.violations(scale, lanes, checks))
    fig.axis(lanes)
    fig.legend([i for i in LEGEND if attacker or i[1] not in ATTACK_ONLY])
    return fig.svg(
        desc=f"{summary}. Top: each node's tip at the cursor; below: blocks on "
        "their miners' lanes, linked to their parents.",
        style=STYLE,
    )


def _fate(data: dict, main: set[str], block: str) -> str:
    if "secret" in data:
        return "nk-s" if "released" in data else "nk-w"
    return "nk-m" if block in main else "nk-o"


def _tree(trace: dict, scale: kit.TimeScale, lanes: kit.Lanes) -> list[str]:
    """Give each block as a dot on its miner's lane at the time it was mined, a line to its
    parent's dot, and a ring round a block that holds the payment or its double spend."""
    blocks, main = trace["blocks"], set(final_chain(trace))
    links: dict[str, list[str]] = {}
    found: dict[str, list[dict]] = {}
    for block, data in blocks.items():
        if data["miner"] is None:
            continue
        mined = {"t": data["t"], "node": data["miner"], "block": block, **data}
        found.setdefault(_fate(data, main, block), []).append(mined)
        if data.get("tx"):
            found.setdefault("nk-p" if data["tx"] == PAYMENT else "nk-d", []).append(mined)
        up = blocks[data["parent"]]
        if up["miner"] is not None:
            links.setdefault(_fate(data, main, block), []).append(
                el(
                    "line",
                    x1=scale.x(up["t"]),
                    y1=lanes.y(up["miner"]),
                    x2=scale.x(data["t"]),
                    y2=lanes.y(data["miner"]),
                    data_t=kit.tnum(data["t"]),
                )
            )
    out = [
        part
        for cls in ("nk-o", "nk-w", "nk-m", "nk-s")
        for part in kit.group(cls, links.get(cls, []))
    ]
    said = "{node} mines {block} at height {height}"
    for cls in ("nk-o", "nk-w", "nk-m", "nk-s"):
        out += kit.dots(scale, lanes, found.get(cls, []), cls, r=3, say=lambda e: said.format(**e))
    for cls in ("nk-p", "nk-d"):
        out += kit.dots(scale, lanes, found.get(cls, []), cls, r=6)
    return out


def _marks(trace: dict, scale: kit.TimeScale, lanes: kit.Lanes) -> list[str]:
    """Give a red tick where an honest node switched branches (-k: it dropped k blocks), and
    an orange one, labelled, where the attacker went secret and where it published."""
    found = reorgs(trace)
    deep = [r for r in found if r["dropped"] > 1]
    said = "{node} switches to {new}, dropping {dropped} block(s)"
    out = kit.ticks(scale, lanes, found, "nk-r", say=lambda r: said.format(**r))
    # Labels start past a violation ring's radius (7): a double spend is ringed on the lane
    # at the very moment a node switches branches, and covered a label right at its tick.
    out += kit.labels(scale, lanes, deep, lambda r: f"-{r['dropped']}", "dm-text nk-t", dx=9, dy=-5)
    acts = [e for e in trace["events"] if e["kind"] in ("attack", "release")]
    words = {"attack": "goes secret", "release": "publishes"}
    text = lambda e: f"{words[e['kind']]} {len(e.get('blocks', [])) or ''}".strip()  # noqa: E731
    out += kit.ticks(scale, lanes, acts, "nk-q", say=lambda e: f"{e['node']} {text(e)}")
    return out + kit.labels(scale, lanes, acts, text, "dm-text nk-t", dx=9, dy=11)
