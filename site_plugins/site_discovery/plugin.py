"""Pelican signal handlers of the site_discovery plugin; `register()` wires them up."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import rcssmin
from markupsafe import Markup
from pelican import signals
from pelican.contents import Article, Page

from . import cards, prose, search

logger = logging.getLogger(__name__)


def striptags(html: str) -> str:
    """Give the text of an HTML fragment, entities decoded."""
    return Markup(html).striptags()


DEFAULTS = {
    # Pagefind over the written site after every build (also each `make serve` reload).
    "SEARCH_INDEX": True,
    # Text Pagefind leaves out: demo figures are diagrams and controls, not prose; the "#"
    # permalink of each heading is not part of its title.
    "SEARCH_EXCLUDE_SELECTORS": ["figure.demo", "a.headerlink"],
    "SOCIAL_CARDS": True,
    "SOCIAL_CARDS_DIR": "cards",
    "READING_WORDS_PER_MINUTE": 220,
    # A post gets a table of contents from this many h2 sections on.
    "TOC_MIN_SECTIONS": 4,
    # Every page loads the theme's style sheets before a reader does anything: the output
    # gets them minified (the theme keeps its commented source).
    "MINIFY_THEME_CSS": True,
}


def on_initialized(pelican: object) -> None:
    """Apply the plugin's defaults to settings the site did not give."""
    for key, value in DEFAULTS.items():
        pelican.settings.setdefault(key, value)


def on_content_init(content: object) -> None:
    """Give articles and pages `reading_minutes` and `table_of_contents` (a list of
    (h2, [h3, ...]), empty below TOC_MIN_SECTIONS sections)."""
    if not isinstance(content, Article | Page) or not getattr(content, "_content", None):
        return
    settings = content.settings
    html = content._content
    content.reading_minutes = prose.reading_minutes(
        html, settings.get("READING_WORDS_PER_MINUTE", DEFAULTS["READING_WORDS_PER_MINUTE"])
    )
    sections = prose.outline(prose.headings(html))
    enough = settings.get("TOC_MIN_SECTIONS", DEFAULTS["TOC_MIN_SECTIONS"])
    content.table_of_contents = sections if len(sections) >= enough else []


class SocialCardGenerator:
    """Names each article's card while the context is built, writes the PNGs with the
    output (Pelican calls every generate_context before any generate_output)."""

    def __init__(
        self, context: dict, settings: dict, path: str, theme: str, output_path: str, **_: object
    ) -> None:
        self.context = context
        self.settings = settings
        self.output_path = Path(output_path)
        self.cache_dir = Path(settings.get("CACHE_PATH", "cache")) / "social-cards"
        self.jobs: list[tuple[cards.Card, str]] = []
        self.renderer: cards.Renderer | None = None

    def generate_context(self) -> None:
        try:
            self.renderer = cards.Renderer()
        except (ImportError, OSError) as err:
            logger.warning(
                "social cards left out: CairoSVG cannot run (%s); install libcairo2", err
            )
            return
        folder = self.settings["SOCIAL_CARDS_DIR"]
        for article in self.context.get("articles", []):
            card = cards.Card(
                site=self.settings.get("SITENAME", ""),
                title=article.title,
                figure_svg=cards.first_figure_svg(article._content),
                summary=" ".join(striptags(getattr(article, "summary", "") or "").split()),
            )
            article.social_card = f"{folder}/{article.slug}.png"
            self.jobs.append((card, article.social_card))

    def generate_output(self, writer: object) -> None:
        if self.renderer is None:
            return
        start, rendered = time.perf_counter(), 0
        for card, relative in self.jobs:
            rendered += cards.write_card(
                card, self.output_path / relative, self.cache_dir, self.renderer
            )
        logger.info(
            "social cards: %d written, %d rendered, in %.2f s",
            len(self.jobs),
            rendered,
            time.perf_counter() - start,
        )


def get_generators(pelican: object) -> type | None:
    """Give the card generator when cards are on."""
    return SocialCardGenerator if pelican.settings.get("SOCIAL_CARDS") else None


def minify_css(folder: Path) -> int:
    """Minify every style sheet under `folder` in place; give the bytes saved. Minifying a
    minified sheet changes nothing, so a rebuild that copied nothing new costs no writes."""
    saved = 0
    for sheet in sorted(folder.rglob("*.css")):
        text = sheet.read_text(encoding="utf-8")
        small = rcssmin.cssmin(text)
        if small != text:
            sheet.write_text(small, encoding="utf-8")
            saved += len(text.encode()) - len(small.encode())
    return saved


def on_finalized(pelican: object) -> None:
    """Minify the theme's style sheets in the output and index the written site for search."""
    settings = pelican.settings
    if settings.get("MINIFY_THEME_CSS"):
        theme_static = Path(pelican.output_path) / settings.get("THEME_STATIC_DIR", "theme")
        if theme_static.is_dir():
            minify_css(theme_static)
    if settings.get("SEARCH_INDEX"):
        search.build_index(Path(pelican.output_path), list(settings["SEARCH_EXCLUDE_SELECTORS"]))


def register() -> None:
    signals.initialized.connect(on_initialized)
    signals.content_object_init.connect(on_content_init)
    signals.get_generators.connect(get_generators)
    signals.finalized.connect(on_finalized)
