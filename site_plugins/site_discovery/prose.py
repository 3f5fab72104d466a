"""What a reader reads in an article's HTML: its words and its section headings.

pelican-readtime counts whitespace-separated tokens of the raw HTML, which here includes
every prerendered demo SVG (thousands of tokens a reader never reads), so the count is
made on the prose alone. Headings carry the ids Markdown's toc extension gives them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html.parser import HTMLParser

# Elements whose text is not prose: a demo figure (its SVG, controls and checks), code a
# browser runs or styles, and the "#" permalink Markdown's toc extension adds to headings.
SKIPPED = {"script", "style", "svg", "form", "template"}
HEADING_LEVELS = {"h2": 2, "h3": 3}


@dataclass(frozen=True)
class Heading:
    """One section heading: its level (2 or 3), its anchor id and its text."""

    level: int
    id: str
    text: str


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.words: list[str] = []
        self.headings: list[Heading] = []
        self._skip: list[str] = []  # tags whose content is being skipped, innermost last
        self._heading: tuple[int, str, list[str]] | None = None

    def _skipping_tag(self, tag: str, attrs: dict[str, str]) -> bool:
        classes = attrs.get("class", "").split()
        return (
            tag in SKIPPED
            or (tag == "figure" and "demo" in classes)
            or (tag == "a" and "headerlink" in classes)
        )

    def handle_starttag(self, tag: str, raw: list[tuple[str, str | None]]) -> None:
        attrs = {name: value or "" for name, value in raw}
        if self._skip:
            if tag == self._skip[-1]:
                self._skip.append(tag)
            return
        if self._skipping_tag(tag, attrs):
            self._skip.append(tag)
        elif tag in HEADING_LEVELS and attrs.get("id"):
            self._heading = (HEADING_LEVELS[tag], attrs["id"], [])

    def handle_endtag(self, tag: str) -> None:
        if self._skip:
            if tag == self._skip[-1]:
                self._skip.pop()
            return
        if self._heading and tag in HEADING_LEVELS:
            level, anchor, parts = self._heading
            text = " ".join("".join(parts).split())
            if text:
                self.headings.append(Heading(level, anchor, text))
            self._heading = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self.words.extend(data.split())
        if self._heading:
            self._heading[2].append(data)


def read(html: str) -> _Reader:
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return reader


def word_count(html: str) -> int:
    """Give the number of words of prose in `html`, demo figures and code for the browser
    left out."""
    return len(read(html).words)


def reading_minutes(html: str, words_per_minute: int) -> int:
    """Give the minutes a reader needs for the prose of `html`, rounded up, at least 1."""
    return max(1, math.ceil(word_count(html) / words_per_minute))


def headings(html: str) -> list[Heading]:
    """Give the h2 and h3 headings of `html` that have an id, in document order."""
    return read(html).headings


def outline(found: list[Heading]) -> list[tuple[Heading, list[Heading]]]:
    """Give each h2 with the h3s under it (an h3 before the first h2 is left out)."""
    sections: list[tuple[Heading, list[Heading]]] = []
    for heading in found:
        if heading.level == 2:
            sections.append((heading, []))
        elif sections:
            sections[-1][1].append(heading)
    return sections
