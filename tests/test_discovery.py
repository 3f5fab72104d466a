"""Sharing and discovery on the built site: sitemap, canonical and link-preview tags, social
cards, reading time, contents on long posts, full-content feed, the search index, comments
off by default. Reads the shared build (conftest `built_site`); the plugin's pieces
(site_plugins/site_discovery) are also driven directly, including their failure paths.
"""

from __future__ import annotations

import gzip
import json
import math
import re
import struct
import xml.etree.ElementTree as ET
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from pelican.contents import Article
from pelican.settings import DEFAULT_CONFIG
from site_discovery import cards, plugin, prose

ROOT = Path(__file__).resolve().parent.parent
ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class Head(HTMLParser):
    """The parts of a built page these tests read."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, list[str]] = {}
        self.links: dict[str, str] = {}
        self.h1 = ""
        self.ids: list[str] = []
        self.toc: list[str] = []  # hrefs of the contents nav, in order
        self._in_h1 = self._in_toc = False
        self.feed(text)

    def handle_starttag(self, tag: str, raw: list[tuple[str, str | None]]) -> None:
        attrs = {name: value or "" for name, value in raw}
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag == "meta" and ("property" in attrs or "name" in attrs):
            key = attrs.get("property") or attrs["name"]
            self.meta.setdefault(key, []).append(attrs.get("content", ""))
        elif tag == "link" and attrs.get("rel"):
            self.links[attrs["rel"]] = attrs.get("href", "")
        elif tag == "h1":
            self._in_h1 = True
        elif tag == "nav" and "toc" in attrs.get("class", "").split():
            self._in_toc = True
        elif tag == "a" and self._in_toc:
            self.toc.append(attrs.get("href", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "h1":
            self._in_h1 = False
        elif tag == "nav":
            self._in_toc = False

    def handle_data(self, data: str) -> None:
        if self._in_h1:
            self.h1 += data

    def one(self, key: str) -> str:
        values = self.meta.get(key, [])
        assert len(values) == 1, f"{key}: {values}"
        return values[0]


def article_pages(site: Path) -> dict[str, Path]:
    """Give slug -> built page for every article (the pages Pagefind indexes)."""
    return {
        path.parent.name: path
        for path in sorted(site.glob("*/index.html"))
        if "data-pagefind-body" in path.read_text(encoding="utf-8")
    }


def base_url(site: Path) -> str:
    feed = ET.parse(site / "feeds" / "all.atom.xml").getroot()
    return feed.find(f"{ATOM}link").get("href").rstrip("/") + "/"


def png_size(data: bytes) -> tuple[int, int]:
    """Give (width, height) from a PNG's header; fail on anything that is not a PNG."""
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR", "not a PNG"
    return struct.unpack(">II", data[16:24])


def prose_of(page_html: str) -> str:
    match = re.search(
        r'<div class="prose">(.*)</div>\s*<footer class="post-footer"', page_html, re.S
    )
    assert match, "no prose block"
    return match.group(1)


@pytest.fixture(scope="module")
def articles(built_site: Path) -> dict[str, Path]:
    found = article_pages(built_site)
    assert len(found) == len(list((ROOT / "content" / "articles").glob("*.md"))) > 0
    return found


# -- sitemap --------------------------------------------------------------------------


def test_sitemap_lists_every_article_and_page_and_nothing_missing(
    built_site: Path, articles
) -> None:
    root = ET.parse(built_site / "sitemap.xml").getroot()
    locs = [url.find(f"{SITEMAP}loc").text for url in root.findall(f"{SITEMAP}url")]
    base = base_url(built_site)
    assert all(loc.startswith(base) for loc in locs), locs
    listed = {loc[len(base) :] for loc in locs}
    assert {f"{slug}/" for slug in articles} <= listed
    assert {"about/", "authors-guide/"} <= listed
    # Every listed address is a page that exists; tag and category lists are left out.
    for path in listed:
        target = (
            built_site / path / "index.html"
            if path.endswith("/") or not path
            else built_site / path
        )
        assert target.is_file(), path
        assert not path.startswith(("tag/", "category/")) and path != "404.html", path


# -- canonical, OpenGraph, Twitter, card -------------------------------------------------


def test_articles_carry_canonical_and_preview_tags_with_their_card(
    built_site: Path, articles
) -> None:
    base = base_url(built_site)
    for slug, path in articles.items():
        head = Head(path.read_text(encoding="utf-8"))
        address = f"{base}{slug}/"
        assert head.links["canonical"] == address, slug
        assert head.one("og:url") == address
        assert head.one("og:type") == "article"
        assert head.one("og:title") == head.one("twitter:title") == head.h1.strip()
        assert head.one("og:description") and head.one("twitter:description")
        assert head.one("og:site_name") == "Distributed Notes"
        assert head.one("twitter:card") == "summary_large_image"
        image = head.one("og:image")
        assert image == head.one("twitter:image") == f"{base}cards/{slug}.png"
        assert head.one("og:image:alt").startswith("Card: ")
        card = (built_site / image[len(base) :]).read_bytes()
        size = (int(head.one("og:image:width")), int(head.one("og:image:height")))
        assert png_size(card) == size == (cards.WIDTH, cards.HEIGHT)
        assert head.one("article:published_time")[:4].isdigit()


def test_other_pages_have_site_tags_and_no_card(built_site: Path) -> None:
    index = Head((built_site / "index.html").read_text(encoding="utf-8"))
    assert index.one("og:type") == "website" and index.one("twitter:card") == "summary"
    assert "og:image" not in index.meta
    about = Head((built_site / "about" / "index.html").read_text(encoding="utf-8"))
    assert about.links["canonical"] == base_url(built_site) + "about/"


def test_png_size_refuses_what_is_not_a_png(built_site: Path) -> None:
    with pytest.raises(AssertionError):
        png_size(b"GIF89a" + bytes(30))


def test_card_shows_the_figure_under_the_title_and_a_summary_without_one(tmp_path) -> None:
    from PIL import Image

    renderer = cards.Renderer()
    figure = (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 100" width="200" '
        'height="100"><style>.x{fill:var(--demo-bad,#c01c28)}</style>'
        '<rect class="x" width="200" height="100"/></svg>'
    )
    with_figure = cards.Card("Site", "A title", figure)
    plain = cards.Card("Site", "A title", None, summary="Words about the post.")
    for card, name in ((with_figure, "fig.png"), (plain, "plain.png")):
        assert cards.write_card(card, tmp_path / name, tmp_path / "cache", renderer)
    red = (0xC0, 0x1C, 0x28)
    pixels = Image.open(tmp_path / "fig.png").convert("RGB")
    # The figure's red box fills the middle of the lower part: its var() fallback applied.
    assert pixels.getpixel((cards.WIDTH // 2, 450)) == red
    plain_pixels = Image.open(tmp_path / "plain.png").convert("RGB")
    assert plain_pixels.getpixel((cards.WIDTH // 2, 450)) != red
    # Title-only: the summary is drawn (some dark-ish pixels below the title).
    band = [plain_pixels.getpixel((x, y)) for x in range(56, 600, 2) for y in range(230, 300)]
    assert any(sum(p) < 3 * 160 for p in band)


def test_card_cache_is_keyed_by_content_and_reused(tmp_path) -> None:
    renderer = cards.Renderer()
    card = cards.Card("Site", "Same title", None)
    assert cards.write_card(card, tmp_path / "a.png", tmp_path / "cache", renderer) is True
    assert cards.write_card(card, tmp_path / "b.png", tmp_path / "cache", renderer) is False
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    changed = cards.Card("Site", "Another title", None)
    assert changed.digest() != card.digest()
    assert cards.write_card(changed, tmp_path / "c.png", tmp_path / "cache", renderer) is True
    assert (tmp_path / "c.png").read_bytes() != (tmp_path / "a.png").read_bytes()


def test_first_figure_svg_takes_the_whole_first_demo_svg() -> None:
    html = (
        "<p><svg><circle/></svg></p>"  # an SVG outside any demo figure is not the figure
        '<figure class="demo" id="demo-a"><div class="demo-output">'
        '<svg viewBox="0 0 1 1"><svg><rect/></svg><g/></svg></div></figure>'
        '<figure class="demo" id="demo-b"><svg id="second"></svg></figure>'
    )
    assert cards.first_figure_svg(html) == '<svg viewBox="0 0 1 1"><svg><rect/></svg><g/></svg>'
    assert cards.first_figure_svg("<p>No figure.</p><svg></svg>") is None
    assert cards.first_figure_svg('<figure class="demo-like"><svg></svg></figure>') is None


def test_long_titles_shrink_then_wrap_then_end_in_an_ellipsis() -> None:
    def measure(text: str, size: int) -> float:
        return len(text) * size * 0.6

    size, lines = cards.title_layout("Short title", measure)
    assert (size, lines) == (cards.TITLE_SIZES[0], ["Short title"])
    long = " ".join(["consensus"] * 30)
    size, lines = cards.title_layout(long, measure)
    assert size == cards.TITLE_SIZES[-1] and len(lines) == cards.TITLE_LINES
    assert lines[-1].endswith(" …")
    assert all(measure(line, size) <= cards.WIDTH - 2 * cards.MARGIN for line in lines)


# -- reading time and contents ----------------------------------------------------------


def test_reading_time_counts_prose_not_figures(built_site: Path, articles) -> None:
    for slug, path in articles.items():
        page = path.read_text(encoding="utf-8")
        prose_html = prose_of(page)
        shown = re.findall(r'<span class="reading-time">(\d+) min read</span>', page)
        words = prose.word_count(prose_html)
        assert shown == [str(math.ceil(words / 220))], slug
        if '<figure class="demo"' in prose_html:
            # Counting the raw HTML, as pelican-readtime does, would count the SVG markup.
            assert len(prose_html.split()) > 2 * words, slug
    # The index runs over pages (index.html, index2.html, ...): every article once.
    listed = sum(
        len(re.findall(r'class="reading-time"', page.read_text(encoding="utf-8")))
        for page in built_site.glob("index*.html")
    )
    assert listed == len(articles)


def test_word_count_skips_figures_code_for_the_browser_and_permalinks() -> None:
    html = (
        '<h2 id="a">Two words<a class="headerlink" href="#a">#</a></h2>'
        '<figure class="demo"><svg><text>many figure labels here</text></svg>'
        "<form><button>Run</button></form><figcaption>caption text</figcaption></figure>"
        "<script>var x = 1;</script><p>three more words</p>"
        '<figure class="photo"><figcaption>kept caption</figcaption></figure>'
    )
    assert prose.word_count(html) == 2 + 3 + 2
    assert prose.reading_minutes(html, 220) == 1
    assert prose.reading_minutes("<p>" + "word " * 441 + "</p>", 220) == 3


def test_long_posts_get_contents_that_match_their_sections(articles) -> None:
    for slug, path in articles.items():
        page = path.read_text(encoding="utf-8")
        head = Head(page)
        sections = [h for h in prose.headings(prose_of(page))]
        if len([h for h in sections if h.level == 2]) < plugin.DEFAULTS["TOC_MIN_SECTIONS"]:
            assert head.toc == [], slug
            continue
        assert head.toc == [f"#{h.id}" for h in sections], slug
        assert all(target[1:] in head.ids for target in head.toc)


def make_article(html: str, **settings: object) -> Article:
    config = {**DEFAULT_CONFIG, **settings}
    return Article(html, metadata={"title": "T", "date": datetime(2026, 1, 1)}, settings=config)


def test_contents_only_from_the_threshold_on() -> None:
    sections = "".join(
        f'<h2 id="s{i}">Section {i}</h2><h3 id="s{i}a">Sub</h3><p>x</p>' for i in range(3)
    )
    short = make_article(sections)
    plugin.on_content_init(short)
    assert short.table_of_contents == []
    long = make_article(sections + '<h2 id="s3">Section 3</h2>')
    plugin.on_content_init(long)
    outline = [(section.id, [sub.id for sub in subs]) for section, subs in long.table_of_contents]
    assert outline == [("s0", ["s0a"]), ("s1", ["s1a"]), ("s2", ["s2a"]), ("s3", [])]
    fewer = make_article(sections, TOC_MIN_SECTIONS=3)
    plugin.on_content_init(fewer)
    assert len(fewer.table_of_contents) == 3


# -- feed -------------------------------------------------------------------------------


def test_feed_entries_carry_the_full_article(built_site: Path, articles) -> None:
    feed = ET.parse(built_site / "feeds" / "all.atom.xml").getroot()
    entries = {
        entry.find(f"{ATOM}link").get("href"): entry for entry in feed.findall(f"{ATOM}entry")
    }
    base = base_url(built_site)
    assert set(entries) == {f"{base}{slug}/" for slug in articles}
    for slug, path in articles.items():
        content = entries[f"{base}{slug}/"].find(f"{ATOM}content")
        assert content is not None and content.get("type") == "html", slug
        expected = prose.read(prose_of(path.read_text(encoding="utf-8"))).words
        got = prose.read(content.text).words
        # Every word of the article's prose, in order, not a summary of it.
        assert got == expected, slug


# -- search index -----------------------------------------------------------------------


def indexed_pages(site: Path) -> dict[str, str]:
    """Give url -> indexed text of every page in the Pagefind bundle."""
    pages = {}
    for fragment in sorted((site / "pagefind" / "fragment").glob("*.pf_fragment")):
        data = gzip.decompress(fragment.read_bytes())
        assert data.startswith(b"pagefind_dcd"), fragment
        record = json.loads(data[len(b"pagefind_dcd") :])
        pages[record["url"]] = record["content"]
    return pages


def figure_only_words(page_html: str) -> set[str]:
    """Give the words that appear in the page's demo figures and nowhere in its prose."""
    figures = "".join(re.findall(r'<figure class="demo".*?</figure>', page_html, re.S))
    words = set()
    for chunk in re.findall(r">([^<>]+)<", figures):
        words.update(w.lower() for w in re.findall(r"[A-Za-z]{5,}", chunk))
    prose_words = {
        w.lower() for w in re.findall(r"[A-Za-z]{5,}", " ".join(prose.read(page_html).words))
    }
    return words - prose_words


def leaked(text: str, words: set[str]) -> set[str]:
    return {w for w in words if re.search(rf"\b{w}\b", text, re.I)}


def test_search_indexes_the_articles_and_not_their_figures(built_site: Path, articles) -> None:
    entry = json.loads((built_site / "pagefind" / "pagefind-entry.json").read_text())
    assert entry["languages"]["en"]["page_count"] == len(articles)
    pages = indexed_pages(built_site)
    assert set(pages) == {f"/{slug}/" for slug in articles}
    checked = 0
    for slug, path in articles.items():
        page = path.read_text(encoding="utf-8")
        only_in_figures = figure_only_words(page)
        checked += len(only_in_figures)
        assert not leaked(pages[f"/{slug}/"], only_in_figures), slug
        # The check catches a figure's text when it is indexed.
        figures = " ".join(
            re.findall(
                r">([^<>]+)<", "".join(re.findall(r'<figure class="demo".*?</figure>', page, re.S))
            )
        )
        if only_in_figures:
            assert leaked(pages[f"/{slug}/"] + figures, only_in_figures)
    assert checked > 0, "no figure-only words: the check above tested nothing"
    assert "linearizable" in pages["/cap-in-practice/"].lower()


def test_search_ui_is_on_every_page_and_fetched_only_on_request(built_site: Path) -> None:
    for path in sorted(built_site.rglob("*.html")):
        if "pagefind" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        assert 'class="search-toggle"' in text and 'id="search-panel"' in text, path
        assert not re.search(r"<(?:script|link)\b[^>]*pagefind", text), path
        assert "search.js" not in re.findall(r'<script[^>]*\bsrc="([^"]*)"', text), path
    assert (built_site / "theme" / "js" / "search.js").is_file()


# -- comments ---------------------------------------------------------------------------


def test_comments_are_off_by_default(built_site: Path, articles) -> None:
    for path in articles.values():
        text = path.read_text(encoding="utf-8")
        # As a word: "Poisson" is prose, not the comment client.
        assert not re.search(r"\bisso\b|data-isso", text, re.I), path


def test_the_theme_style_sheets_go_out_minified(built_site: Path, tmp_path: Path) -> None:
    source = (ROOT / "theme/static/css/main.css").read_text(encoding="utf-8")
    shipped = (built_site / "theme/css/main.css").read_text(encoding="utf-8")
    assert "/*" in source and "/*" not in shipped and len(shipped) < len(source)
    assert shipped.count("{") == source.count("{")  # every rule is still there
    # In place, once: a second pass finds nothing left to save.
    (tmp_path / "css").mkdir()
    (tmp_path / "css" / "a.css").write_text("/* note */\na {\n  color: red;\n}\n")
    assert plugin.minify_css(tmp_path) > 0
    assert (tmp_path / "css" / "a.css").read_text() == "a{color:red}"
    assert plugin.minify_css(tmp_path) == 0
