"""Reading a figure at a moment, as the player does: which time-bounded elements show at t."""

from __future__ import annotations

from xml.etree import ElementTree

SVG = "{http://www.w3.org/2000/svg}"


def shown_at(element: ElementTree.Element, t: float) -> bool:
    """Give whether an element with data-t / data-until shows at time `t`."""
    since = float(element.get("data-t", "0"))
    until = element.get("data-until")
    return since <= t and (until is None or t < float(until))


def stretches_at(svg: str, t: float) -> list[ElementTree.Element]:
    """Give the state-panel stretches (`<g class="dm-state ...">`) that show at time `t`."""
    root = ElementTree.fromstring(svg)
    return [
        g
        for g in root.iter(f"{SVG}g")
        if "dm-state" in g.get("class", "").split() and shown_at(g, t)
    ]


def roles_at(svg: str, t: float) -> dict[str, list[str]]:
    """Give, per node, the data-role marks the panel shows at time `t`."""
    roles: dict[str, list[str]] = {}
    for g in stretches_at(svg, t):
        for mark in g.iter():
            if mark.get("data-role") is not None:
                roles.setdefault(g.get("data-node"), []).append(mark.get("data-role"))
    return roles


def texts(element: ElementTree.Element) -> list[str]:
    """Give the text of every <text> inside `element`, in document order."""
    return [node.text or "" for node in element.iter(f"{SVG}text")]
