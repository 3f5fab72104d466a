"""What a demo run gives: the SVG, a summary, the checks and the trace, frozen together."""

from __future__ import annotations

import json
from dataclasses import dataclass

# Keys every trace document has; the rest are a demo's own top-level keys (`extra`).
STANDARD_KEYS = ("schema", "demo", "params", "nodes", "duration", "events", "messages")


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


@dataclass(frozen=True)
class Result:
    """A finished run. `doc` is the trace JSON document (schema 1) without its checks."""

    demo: str
    params: dict
    svg: str
    summary: str
    checks: tuple[Check, ...]
    doc: dict

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def nodes(self) -> list[str]:
        return self.doc["nodes"]

    @property
    def events(self) -> list[dict]:
        return self.doc["events"]

    @property
    def messages(self) -> list[dict]:
        return self.doc["messages"]

    @property
    def extra(self) -> dict:
        """Give the demo's own top-level trace keys (history, partitions, ...)."""
        return {k: v for k, v in self.doc.items() if k not in STANDARD_KEYS}

    def trace(self) -> dict:
        """Give the trace JSON document as plain data (a new top-level dict each call)."""
        return {**self.doc, "checks": [c.to_json() for c in self.checks]}

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
        return {
            "svg": self.svg,
            "summary": self.summary,
            "checks": [c.to_json() for c in self.checks],
            "params": self.params,
        }
