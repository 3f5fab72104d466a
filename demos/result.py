"""What a demo run gives: the SVG, a summary, the checks and the trace."""

from __future__ import annotations

import json
from dataclasses import dataclass, field


def down_intervals(events: list[dict], nodes: list[str],
                   duration: float) -> dict[str, list[tuple[float, float]]]:
    """Give each node's down time as (crash, restart) intervals, in time order.

    Every node has an entry (empty if it never crashed); a node still down at the end is
    down until `duration`. `events` are trace events, sorted by time as the contract says.
    """
    down: dict[str, list[tuple[float, float]]] = {node: [] for node in nodes}
    since: dict[str, float] = {}
    for e in events:
        if e["kind"] == "crash":
            since[e["node"]] = e["t"]
        elif e["kind"] == "restart" and e["node"] in since:
            down[e["node"]].append((since.pop(e["node"]), e["t"]))
    for node, t in since.items():
        down[node].append((t, duration))
    return down


@dataclass(frozen=True)
class Check:
    """One safety or liveness property, verified against a run.

    `t` and `node` point at where a violation shows in the diagram, when there is one.
    """

    name: str
    ok: bool
    detail: str
    t: float | None = None
    node: str | None = None

    def to_json(self) -> dict:
        data: dict = {"name": self.name, "ok": self.ok, "detail": self.detail}
        if self.t is not None:
            data["t"] = self.t
        if self.node is not None:
            data["node"] = self.node
        return data


@dataclass
class Result:
    """A finished run: `trace` follows the trace JSON contract (schema 1)."""

    demo: str
    params: dict
    nodes: list[str]
    svg: str
    summary: str
    checks: list[Check]
    events: list[dict]
    messages: list[dict]
    extra: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def trace(self) -> dict:
        """Give the trace JSON document as plain data."""
        doc = {"schema": 1, "demo": self.demo, "params": self.params, "nodes": self.nodes,
               "duration": float(self.params["duration"]), "events": self.events,
               "messages": self.messages, "checks": [c.to_json() for c in self.checks]}
        doc.update(self.extra)
        return doc

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.trace(), indent=indent, ensure_ascii=False)

    def text(self) -> str:
        """Give the run as a few lines for a terminal: summary, then each check."""
        lines = [f"{self.demo}: {self.summary}"]
        for c in self.checks:
            lines.append(f"  [{'ok' if c.ok else 'FAIL'}] {c.name}: {c.detail}")
        return "\n".join(lines)

    def for_browser(self) -> dict:
        """Give what the browser runner shows: SVG, summary, checks."""
        return {"svg": self.svg, "summary": self.summary,
                "checks": [c.to_json() for c in self.checks], "params": self.params}
