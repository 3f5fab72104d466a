"""Figures light enough to inline: the page gets the run's last moment, the player the rest.

A figure's state panel holds every stretch of state of the run, but without the player only
the last stretch of each row shows (the others carry `dm-off`). The page inlines the figure
without those hidden stretches; the whole figure is a static file beside the demo bundle,
which the player fetches when a reader first moves the cursor. A page stays small however
long the runs it shows, and the figure is the same to a reader who never scrubs.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from pathlib import Path

HIDDEN = '<g class="dm-state dm-off"'
TAG = re.compile(r"<g[\s>]|</g>")
STYLE = re.compile(r"<style>.*?</style>", re.S)
FOLDER = "figures"


def strip_hidden(svg: str, keep_at: float | None = None) -> str:
    """Give `svg` without its hidden state stretches (each a `<g>` with nested groups), but
    for those that show at the moment `keep_at` (where a figure's cursor starts)."""
    out: list[str] = []
    i = 0
    while (start := svg.find(HIDDEN, i)) >= 0:
        out.append(svg[i:start])
        depth, k = 0, start
        while True:
            tag = TAG.search(svg, k)
            if tag is None:  # not well-formed: keep the rest as it is
                return "".join(out) + svg[start:]
            depth += -1 if tag.group(0) == "</g>" else 1
            k = tag.end()
            if depth == 0:
                break
        if keep_at is not None and _shows_at(svg[start : svg.index(">", start)], keep_at):
            out.append(svg[start:k])
        i = k
    out.append(svg[i:])
    return "".join(out)


def _shows_at(opening: str, t: float) -> bool:
    since = re.search(r'data-t="([^"]+)"', opening)
    until = re.search(r'data-until="([^"]+)"', opening)
    return (since is None or float(since[1]) <= t) and (until is None or t < float(until[1]))


def share_style(svg: str, seen: set[str]) -> str:
    """Give `svg` without its `<style>` when `seen` already holds that very style sheet
    (an earlier figure of the page inlined it); else note it in `seen`."""
    match = STYLE.search(svg)
    if match is None:
        return svg
    if match[0] in seen:
        return svg[: match.start()] + svg[match.end() :]
    seen.add(match[0])
    return svg


def file_name(svg: str) -> str:
    """Give the name the whole figure is stored under: its content hash."""
    return hashlib.sha256(svg.encode()).hexdigest()[:20] + ".svg"


def split(svg: str, at: float | None = None) -> tuple[str, str | None]:
    """Give the SVG to inline (the end of the run, and the moment `at` where the figure's
    cursor starts) and the file name of the whole figure (None: nothing left out)."""
    inline = strip_hidden(svg, at)
    return (inline, None) if inline == svg else (inline, file_name(svg))


def write(folder: Path, figures: Iterable[str]) -> int:
    """Write each whole figure that has hidden stretches into `folder`, remove figures of
    earlier builds, and give how many there are."""
    wanted = {file_name(svg): svg for svg in figures if HIDDEN in svg}
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.svg"):
        if old.name not in wanted:
            old.unlink()
    for name, svg in wanted.items():
        path = folder / name
        if not path.is_file():
            path.write_text(svg, encoding="utf-8")
    return len(wanted)
