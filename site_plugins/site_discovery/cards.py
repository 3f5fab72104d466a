"""Social cards: a 1200×630 PNG per article from its title and its first demo figure.

The card is composed as one SVG (site name, the title wrapped to fit, the figure's
prerendered SVG nested below it) and rasterised by CairoSVG, which needs the system's
libcairo2. Rendering takes about a tenth of a second per card; a card is cached under its
content hash, so a rebuild with an unchanged title and figure copies the cached PNG.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

WIDTH, HEIGHT = 1200, 630
MARGIN = 56
FONT = "sans-serif"
# The light palette of theme/static/css/main.css: a card is a picture, with no dark mode.
BACKGROUND, FOREGROUND, MUTED, ACCENT, BORDER = (
    "#fdfdfc",
    "#1d1d1f",
    "#595f69",
    "#1a5fb4",
    "#d5d8dc",
)
TITLE_SIZES = (56, 48, 42, 36)  # the largest that fits in TITLE_LINES lines wins
TITLE_LINES = 3
SUMMARY_SIZE, SUMMARY_LINES = 32, 5
# Demo SVG colours are `var(--name, fallback)`: the fallback is the light palette, and
# CairoSVG knows no custom properties.
CSS_VAR = re.compile(r"var\(\s*--[\w-]+\s*,\s*([^()]*?)\s*\)")
DEMO_FIGURE = re.compile(r'<figure\b[^>]*\bclass="(?:[^"]*\s)?demo(?:\s[^"]*)?"', re.I)
SVG_TAG = re.compile(r"<(/?)svg\b[^>]*?(/?)>", re.I)
VIEWBOX = re.compile(r'\sviewBox="\s*([-\d.]+)[\s,]+([-\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)\s*"')
# The code that draws a card is part of its cache key, so a change to the layout renders anew.
LAYOUT_DIGEST = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


@dataclass(frozen=True)
class Card:
    """What a card shows."""

    site: str
    title: str
    figure_svg: str | None  # the first demo figure's SVG, or None: then the summary shows
    summary: str = ""

    def digest(self) -> str:
        """Give the cache key: a hash of the content and of the code that lays it out."""
        parts = (LAYOUT_DIGEST, self.site, self.title, self.figure_svg or "", self.summary)
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def first_figure_svg(html: str) -> str | None:
    """Give the SVG of the first demo figure in an article's HTML, or None."""
    figure = DEMO_FIGURE.search(html)
    if figure is None:
        return None
    start = figure.end()
    depth, begin = 0, None
    for match in SVG_TAG.finditer(html, start):
        closing, self_closing = match.group(1), match.group(2)
        if not closing:
            begin = match.start() if begin is None else begin
            depth += 0 if self_closing else 1
        else:
            depth -= 1
            if depth == 0 and begin is not None:
                return html[begin : match.end()]
    return None


def wrap(text: str, size: int, width: float, measure) -> list[str]:
    """Give `text` broken into lines no wider than `width` at font `size` (a word longer
    than a line stands alone); `measure(text, size)` gives a width in pixels."""
    lines: list[str] = []
    for word in text.split():
        if lines and measure(f"{lines[-1]} {word}", size) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def title_layout(title: str, measure) -> tuple[int, list[str]]:
    """Give the font size and lines of the title: the largest size that fits in
    TITLE_LINES lines, else the smallest size with the last line cut and an ellipsis."""
    width = WIDTH - 2 * MARGIN
    for size in TITLE_SIZES:
        lines = wrap(title, size, width, measure)
        if len(lines) <= TITLE_LINES:
            return size, lines
    size = TITLE_SIZES[-1]
    lines = wrap(title, size, width, measure)[:TITLE_LINES]
    while lines[-1] and measure(lines[-1] + " …", size) > width:
        lines[-1] = lines[-1].rsplit(" ", 1)[0] if " " in lines[-1] else lines[-1][:-1]
    lines[-1] += " …"
    return size, lines


def nested_figure(svg: str, x: float, y: float, width: float, height: float) -> str:
    """Give the figure's SVG placed in the box (aspect kept, centred), colours resolved."""
    svg = CSS_VAR.sub(r"\1", svg)
    box = VIEWBOX.search(svg)
    fig_w, fig_h = (float(box.group(3)), float(box.group(4))) if box else (width, height)
    scale = min(width / fig_w, height / fig_h)
    w, h = fig_w * scale, fig_h * scale
    left, top = x + (width - w) / 2, y + (height - h) / 2
    head_end = svg.index(">") + 1
    head = re.sub(r'\s(?:width|height|x|y)="[^"]*"', "", svg[:head_end])
    head = (
        head[:-1].rstrip("/") + f' x="{left:.1f}" y="{top:.1f}" width="{w:.1f}" height="{h:.1f}">'
    )
    frame = (
        f'<rect x="{left - 8:.1f}" y="{top - 8:.1f}" width="{w + 16:.1f}" '
        f'height="{h + 16:.1f}" rx="6" fill="#ffffff" stroke="{BORDER}"/>'
    )
    return frame + head + svg[head_end:]


def card_svg(card: Card, measure) -> str:
    """Give the card as SVG text: site name, title, and the figure when there is one."""
    size, lines = title_layout(card.title, measure)
    leading = round(size * 1.18)
    site_y = MARGIN + 24
    first_baseline = site_y + 28 + size
    title = "".join(
        f'<text x="{MARGIN}" y="{first_baseline + i * leading}" font-family="{FONT}" '
        f'font-size="{size}" font-weight="bold" fill="{FOREGROUND}">{escape(line)}</text>'
        for i, line in enumerate(lines)
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="{BACKGROUND}"/>',
        f'<rect width="{WIDTH}" height="10" fill="{ACCENT}"/>',
        f'<text x="{MARGIN}" y="{site_y}" font-family="{FONT}" font-size="26" '
        f'fill="{MUTED}">{escape(card.site)}</text>',
        title,
    ]
    below = first_baseline + (len(lines) - 1) * leading
    if card.figure_svg:
        # The figure's frame (8 px around it) runs from under the title to 40 px above
        # the bottom edge.
        top = below + 48
        parts.append(
            nested_figure(
                card.figure_svg, MARGIN + 8, top, WIDTH - 2 * MARGIN - 16, HEIGHT - 48 - top
            )
        )
    elif card.summary:
        summary = wrap(card.summary, SUMMARY_SIZE, WIDTH - 2 * MARGIN, measure)[:SUMMARY_LINES]
        parts.extend(
            f'<text x="{MARGIN}" y="{below + 64 + i * round(SUMMARY_SIZE * 1.4)}" '
            f'font-family="{FONT}" font-size="{SUMMARY_SIZE}" fill="{MUTED}">{escape(line)}</text>'
            for i, line in enumerate(summary)
        )
    parts.append("</svg>")
    return "".join(parts)


class Renderer:
    """Renders cards with CairoSVG; measures text with the same cairo and fonts."""

    def __init__(self) -> None:
        # Imported here: without libcairo2 these raise OSError, and the caller decides.
        import cairocffi
        import cairosvg

        self._svg2png = cairosvg.svg2png
        self._context = cairocffi.Context(cairocffi.ImageSurface(cairocffi.FORMAT_ARGB32, 1, 1))
        self._context.select_font_face(
            FONT, cairocffi.FONT_SLANT_NORMAL, cairocffi.FONT_WEIGHT_BOLD
        )

    def measure(self, text: str, size: int) -> float:
        """Give the advance width in pixels of `text` in the bold title font at `size`."""
        self._context.set_font_size(size)
        return self._context.text_extents(text)[4]

    def png(self, card: Card) -> bytes:
        """Give the card as PNG bytes, WIDTH×HEIGHT."""
        return self._svg2png(
            bytestring=card_svg(card, self.measure).encode("utf-8"),
            output_width=WIDTH,
            output_height=HEIGHT,
        )


def write_card(card: Card, target: Path, cache_dir: Path, renderer: Renderer) -> bool:
    """Write the card's PNG to `target`, from the cache when it holds it; give True when
    it had to be rendered."""
    cached = cache_dir / f"{card.digest()}.png"
    rendered = not cached.is_file()
    if rendered:
        cache_dir.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(".part")
        partial.write_bytes(renderer.png(card))
        partial.replace(cached)  # a build stopped half-way never leaves a torn card behind
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(cached.read_bytes())
    return rendered
