"""The built site: pages exist and are well formed, series navigation, feed, links, hosts.

Builds the real content/ with pelicanconf.py into a temporary directory (once per module)
and reads the output the way a browser or a static host would.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
PLUGIN = ROOT / "plugins" / "pyodide_demos" / "__init__.py"
SERIES = "Understanding Distributed Systems"
OVERVIEW = "understanding-distributed-systems/index.html"
ATOM = "{http://www.w3.org/2005/Atom}"
VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}
# Attributes that make a browser fetch something (an <a href> only navigates).
FETCHING = {"src", "href", "srcset", "poster", "data", "action", "formaction", "xlink:href"}
EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.I)
CSS_URL = re.compile(r"""url\(\s*(['"]?)(.*?)\1\s*\)|@import\s+(['"])(.*?)\3""", re.I)
JS_ABSOLUTE = re.compile(r"""(['"`])((?:https?:)?//[a-z0-9.-]+[^'"`\s]*)\1""", re.I)
# XML namespace names look like URLs but are only identifiers; nothing fetches them.
NAMESPACE = re.compile(r"^https?://www\.w3\.org/")


def build_site(content: Path, output: Path, *settings: str, demos: bool = True) -> None:
    """Build `content` with pelicanconf.py into `output`; fail on any Pelican warning.

    `settings` are extra `KEY=<json>` overrides; `demos=False` leaves the demo plugin out,
    for content that has no demo in it.
    """
    overrides = ["CACHE_CONTENT=false", "LOAD_CONTENT_CACHE=false", *settings]
    if not (demos and PLUGIN.exists()):
        # Also while plugins/pyodide_demos is being written: its absence would stop the build.
        overrides.append("PLUGINS=[]")
    cmd = [
        sys.executable,
        "-m",
        "pelican",
        str(content),
        "-s",
        str(ROOT / "pelicanconf.py"),
        "-o",
        str(output),
        "--fatal",
        "warnings",
        "-e",
        *overrides,
    ]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"pelican failed:\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="module")
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Give the output directory of a build of the whole content/."""
    try:  # the shared session build from conftest.py, when it exists, saves a second build
        shared = request.getfixturevalue("built_site")
    except pytest.FixtureLookupError:
        shared = None
    if isinstance(shared, str | os.PathLike):
        return Path(shared)
    output = tmp_path_factory.mktemp("site")
    build_site(ROOT / "content", output)
    return output


class Page(HTMLParser):
    """What the tests need from one HTML file, plus any tag-nesting errors."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.lang: str | None = None
        self.title = ""
        self.counts: dict[str, int] = {}
        self.ids: list[str] = []
        self.first_link: dict[str, str] | None = None
        self.urls: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self.styles: list[str] = []
        self.scripts: list[str] = []
        self.elements: list[tuple[str, dict[str, str]]] = []  # end tags as ("/tag", {})
        self._text_sink: list[str] | None = None
        self.feed(text)
        self.close()
        if self.stack:
            self.errors.append(f"unclosed at end: {self.stack}")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._element(tag, attrs)
        if tag not in VOID:
            self.stack.append(tag)
        if tag in ("title", "style", "script"):
            self._text_sink = []

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._element(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        self.elements.append((f"/{tag}", {}))
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"line {self.getpos()[0]}: </{tag}> closes {self.stack[-1:]}")
            if tag in self.stack:
                del self.stack[self.stack.index(tag) :]
            return
        self.stack.pop()
        if self._text_sink is not None and tag in ("title", "style", "script"):
            text = "".join(self._text_sink)
            {"title": self._set_title, "style": self.styles.append, "script": self.scripts.append}[
                tag
            ](text)
            self._text_sink = None

    def handle_data(self, data: str) -> None:
        if self._text_sink is not None:
            self._text_sink.append(data)

    def _set_title(self, text: str) -> None:
        self.title = text.strip()

    def _element(self, tag: str, raw: list[tuple[str, str | None]]) -> None:
        attrs = {name: value or "" for name, value in raw}
        self.elements.append((tag, attrs))
        self.counts[tag] = self.counts.get(tag, 0) + 1
        if tag == "html":
            self.lang = attrs.get("lang")
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag == "a" and self.first_link is None:
            self.first_link = attrs
        if "style" in attrs:
            self.styles.append(attrs["style"])
        # A canonical link names the page's own absolute address; nothing fetches it.
        canonical = tag == "link" and "canonical" in attrs.get("rel", "").split()
        for name in FETCHING & attrs.keys() if not canonical else ():
            values = attrs[name].split(",") if name == "srcset" else [attrs[name]]
            for value in values:
                self.urls.append((tag, name, value.strip().split(" ")[0]))


@cache
def parse(path: Path) -> Page:
    return Page(path.read_text(encoding="utf-8"))


def html_files(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def own_base(site: Path) -> str:
    """Give the absolute site URL the feed links to (SITEURL/FEED_DOMAIN of the build)."""
    feed = ET.parse(site / "feeds" / "all.atom.xml").getroot()
    return feed.find(f"{ATOM}link").get("href").rstrip("/") + "/"


def fragment_id(fragment: str) -> str:
    """Give the element id a fragment points at: a link to a figure's run or moment
    (`demo-calm:at=2500`, the page contract) points at the figure, `demo-calm`."""
    head, colon, _ = fragment.partition(":")
    return head if colon and head.startswith("demo-") else fragment


def target_file(site: Path, page: Path, url: str) -> tuple[Path | None, str]:
    """Give the output file an internal link from `page` points at, and its fragment.

    Pages are resolved as if served under a sub-path, so a link climbing above the site
    root gives None instead of quietly landing on the host's root.
    """
    base = "http://host.invalid/sub/" + page.relative_to(site).as_posix()
    parts = urlsplit(urljoin(base, url))
    if not parts.path.startswith("/sub/"):
        return None, parts.fragment
    target = site / unquote(parts.path[len("/sub/") :])
    if target.is_dir():
        target = target / "index.html"
    return target, parts.fragment


def series_parts_in_content() -> list[tuple[int, str, str]]:
    """Give (series index, slug, title) of every content article in the series, in order."""
    parts = []
    for source in sorted((ROOT / "content" / "articles").glob("*.md")):
        head = source.read_text(encoding="utf-8").split("\n\n", 1)[0]
        meta = dict(line.split(":", 1) for line in head.splitlines() if ":" in line)
        meta = {key.strip().lower(): value.strip() for key, value in meta.items()}
        if meta.get("series") == SERIES and meta.get("status", "published") == "published":
            parts.append((int(meta["series_index"]), meta["slug"], meta["title"]))
    return sorted(parts)


def test_every_kind_of_page_is_built(site: Path) -> None:
    for name in (
        "index.html",
        OVERVIEW,
        "archives/index.html",
        "tags/index.html",
        "categories/index.html",
        "404.html",
        "about/index.html",
        "favicon.svg",
        "theme/css/main.css",
        "theme/css/pygments.css",
        "feeds/all.atom.xml",
    ):
        assert (site / name).is_file(), name
    assert list(site.glob("tag/*/index.html")), "no tag page"
    assert list(site.glob("category/*/index.html")), "no category page"


def test_pages_are_well_formed_and_accessible(site: Path) -> None:
    problems = []
    for path in html_files(site):
        page, name = parse(path), path.relative_to(site).as_posix()
        problems += [f"{name}: {error}" for error in page.errors]
        if not page.lang:
            problems.append(f"{name}: <html> has no lang")
        if not page.title:
            problems.append(f"{name}: empty <title>")
        for landmark in ("header", "nav", "main", "footer"):
            if not page.counts.get(landmark):
                problems.append(f"{name}: no <{landmark}>")
        if page.counts.get("main") != 1 or page.counts.get("h1") != 1:
            problems.append(f"{name}: needs exactly one <main> and one <h1>")
        skip = page.first_link or {}
        if not skip.get("href", "").startswith("#") or skip["href"][1:] not in page.ids:
            problems.append(f"{name}: first link is not a skip link to an element: {skip}")
        duplicates = sorted({i for i in page.ids if page.ids.count(i) > 1})
        if duplicates:
            problems.append(f"{name}: duplicate ids {duplicates}")
    assert not problems, "\n".join(problems)


def series_nav(page: Page) -> tuple[list[str], list[tuple[str, str]]]:
    """Give the series box's links and (rel, href) of the series pager's links."""
    listed, pager, inside = [], [], None
    for tag, attrs in page.elements:
        if tag == "nav":
            inside = attrs.get("class")
        elif tag == "/nav":
            inside = None
        elif tag == "a" and inside == "series":
            listed.append(attrs["href"])
        elif tag == "a" and inside == "series-pager":
            pager.append((attrs["rel"], attrs["href"]))
    return listed, pager


def test_series_navigation_lists_the_parts_that_exist(site: Path) -> None:
    parts = series_parts_in_content()
    assert parts and parts[0][1] == "understanding-distributed-systems"
    page = parse(site / OVERVIEW)
    listed, pager = series_nav(page)
    # The overview is current (not a link); the others follow in Series_index order.
    assert listed == [f"../{slug}/" for _, slug, _ in parts[1:]]
    assert f"Part 1 of {len(parts)} in the series" in (site / OVERVIEW).read_text()
    for number, (_, slug, _) in enumerate(parts):
        _, pager = series_nav(parse(site / slug / "index.html"))
        expected = ([("prev", f"../{parts[number - 1][1]}/")] if number else []) + (
            [("next", f"../{parts[number + 1][1]}/")] if number + 1 < len(parts) else []
        )
        assert pager == expected, slug
        for _, href in pager:
            target, _ = target_file(site, site / slug / "index.html", href)
            assert target is not None and target.is_file(), href


@pytest.fixture(scope="module")
def tiny_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Give a build of a made-up site: a three-part series and one other post, two per page."""
    content = tmp_path_factory.mktemp("tiny") / "content"
    (content / "articles").mkdir(parents=True)
    # Written out of order on purpose: part 3 is older than part 2.
    for index, date, slug in (
        (2, "2026-03-01", "second"),
        (3, "2026-01-01", "third"),
        (1, "2026-02-01", "first"),
    ):
        (content / "articles" / f"{slug}.md").write_text(
            f"Title: Part {slug}\nDate: {date}\nSlug: {slug}\nSeries: Tiny\n"
            f"Series_index: {index}\n\nText of {slug}.\n",
            encoding="utf-8",
        )
    (content / "articles" / "alone.md").write_text(
        "Title: Alone\nDate: 2026-01-05\nSlug: alone\n\nNo series.\n", encoding="utf-8"
    )
    output = content.parent / "output"
    build_site(content, output, "DEFAULT_PAGINATION=2", demos=False)
    return output


def test_series_order_follows_series_index_not_date(tiny_site: Path) -> None:
    listed, pager = series_nav(parse(tiny_site / "second" / "index.html"))
    assert listed == ["../first/", "../third/"]
    assert pager == [("prev", "../first/"), ("next", "../third/")]
    assert "Part 2 of 3" in (tiny_site / "second" / "index.html").read_text()
    assert series_nav(parse(tiny_site / "alone" / "index.html")) == ([], [])
    assert 'class="series' not in (tiny_site / "alone" / "index.html").read_text()


def test_index_is_paginated(tiny_site: Path) -> None:
    def pager(name: str) -> dict[str, str]:
        return {
            a["rel"]: a["href"]
            for t, a in parse(tiny_site / name).elements
            if t == "a" and a.get("rel") in ("prev", "next")
        }

    assert pager("index.html") == {"next": "./index2.html"}
    assert pager("index2.html") == {"prev": "./index.html"}
    newest = [
        a["href"]
        for t, a in parse(tiny_site / "index.html").elements
        if t == "a" and a.get("href", "").endswith(("second/", "first/", "alone/"))
    ]
    # The series' first part is pointed at above the cards; the cards run newest first.
    assert newest == ["./first/", "./second/", "./first/"], newest


def test_atom_feed_parses_and_has_every_article(site: Path) -> None:
    feed = ET.parse(site / "feeds" / "all.atom.xml").getroot()
    assert feed.tag == f"{ATOM}feed"
    entries = feed.findall(f"{ATOM}entry")
    articles = list((ROOT / "content" / "articles").glob("*.md"))
    assert len(entries) == len(articles) > 0
    base = own_base(site)
    assert base.startswith(("http://", "https://")), "the feed needs absolute links"
    for entry in entries:
        assert entry.find(f"{ATOM}title").text
        assert entry.find(f"{ATOM}link").get("href").startswith(base)
    head = parse(site / "index.html")
    feeds = [a for t, a in head.elements if t == "link" and a.get("rel") == "alternate"]
    assert feeds and feeds[0]["type"] == "application/atom+xml"
    assert target_file(site, site / "index.html", feeds[0]["href"])[0].is_file()


def is_foreign(url: str, allowed: str | None) -> bool:
    return bool(EXTERNAL.match(url)) and not (allowed and url.startswith(allowed))


def test_nothing_is_loaded_from_another_host(site: Path) -> None:
    """Citations may be <a href> links; nothing a browser fetches may come from elsewhere."""
    problems = []
    for path in html_files(site):
        page, name = parse(path), path.relative_to(site).as_posix()
        # Only 404.html links to its own site absolutely (it is served at any depth).
        own = own_base(site) if name == "404.html" else None
        for tag, attr, url in page.urls:
            if is_foreign(url, own) and not (tag == "a" and attr == "href"):
                problems.append(f"{name}: <{tag} {attr}={url!r}>")
        problems += [f"{name}: {bad}" for css in page.styles for bad in foreign_in_css(css)]
        problems += [f"{name}: {bad}" for js in page.scripts for bad in foreign_in_js(js)]
    for path in sorted(site.rglob("*.css")):
        problems += [f"{path.name}: {bad}" for bad in foreign_in_css(path.read_text())]
    for path in sorted(site.rglob("*.js")) + sorted(site.rglob("*.mjs")):
        # The Pyodide runtime's own files name its CDN as a default that the manifest's
        # indexURL overrides; they are checked through the manifest below. Pagefind's
        # bundle parses paths against placeholder bases ("https://example.com") and
        # fetches nothing from them; tests/test_browser_search.py runs it with every
        # other host blocked.
        if not {"pyodide", "pagefind"} & set(path.relative_to(site).parts):
            problems += [f"{path.name}: {bad}" for bad in foreign_in_js(path.read_text())]
    for manifest in sorted(site.glob("demos/manifest-*.json")):
        index_url = json.loads(manifest.read_text())["runtime"]["indexURL"]
        if EXTERNAL.match(index_url):
            problems.append(f"{manifest.name}: runtime from {index_url}")
    assert not problems, "\n".join(problems)


def foreign_in_css(css: str) -> list[str]:
    found = []
    for match in CSS_URL.finditer(css):
        url = match.group(2) if match.group(2) is not None else match.group(4)
        if EXTERNAL.match(url):
            found.append(f"url/@import {url!r}")
    return found


def foreign_in_js(js: str) -> list[str]:
    code = "\n".join(
        line for line in js.splitlines() if not line.lstrip().startswith(("//", "*", "/*"))
    )
    return [
        f"string {m.group(2)!r}"
        for m in JS_ABSOLUTE.finditer(code)
        if not NAMESPACE.match(m.group(2))
    ]


def test_foreign_reference_detectors_catch_what_they_should() -> None:
    assert foreign_in_css("a{background:url('https://cdn.example/x.png')}")
    assert foreign_in_css('@import "//cdn.example/font.css";')
    assert not foreign_in_css("a{background:url(../img/x.svg)} b{fill:url(#grad)}")
    assert foreign_in_js('import x from "https://cdn.example/x.mjs";')
    assert not foreign_in_js('document.createElementNS("http://www.w3.org/2000/svg", "g")')
    page = Page(
        '<html><script src="https://cdn.example/a.js"></script>'
        '<a href="https://doi.org/1">paper</a></html>'
    )
    assert [is_foreign(u, None) for _, _, u in page.urls] == [True, True]
    assert [(t, a) for t, a, _ in page.urls] == [("script", "src"), ("a", "href")]


def test_every_internal_link_resolves(site: Path) -> None:
    own = own_base(site)
    problems = []
    for path in html_files(site):
        page, name = parse(path), path.relative_to(site).as_posix()
        for tag, attr, url in page.urls:
            if url.startswith(("mailto:", "data:", "tel:")):
                continue
            if url.startswith(own):
                if name != "404.html":
                    problems.append(f"{name}: absolute link to its own site {url}")
                    continue
                target, fragment = site / urlsplit(url[len(own) :]).path, urlsplit(url).fragment
                target = target / "index.html" if target.is_dir() else target
            elif EXTERNAL.match(url):
                continue
            else:
                target, fragment = target_file(site, path, url)
            if target is None or not target.is_file():
                problems.append(f"{name}: <{tag} {attr}={url!r}> leads nowhere")
            elif (
                fragment
                and target.suffix == ".html"
                and fragment_id(fragment) not in parse(target).ids
            ):
                problems.append(f"{name}: {url!r} has no #{fragment_id(fragment)}")
    assert not problems, "\n".join(problems)


def test_404_links_work_from_any_depth(site: Path) -> None:
    page = parse(site / "404.html")
    own = own_base(site)
    fetched = [(t, u) for t, _, u in page.urls if not u.startswith("#")]
    assert fetched and all(u.startswith(own) for _, u in fetched), fetched


def test_demo_assets_only_on_pages_with_demos(site: Path) -> None:
    for path in html_files(site):
        text = path.read_text(encoding="utf-8")
        scripts = [a for t, a in parse(path).elements if t == "script" and a.get("src")]
        if '<figure class="demo"' in text:
            assert scripts and all(a.get("type") == "module" for a in scripts), path
            manifest = scripts[0]["data-manifest"]
            assert target_file(site, path, manifest)[0].is_file(), manifest
        else:
            assert not scripts, f"{path}: loads {scripts} without any demo"


def luminance(hex_colour: str) -> float:
    rgb = [int(hex_colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_text_colours_meet_wcag_aa_in_both_themes() -> None:
    css = (ROOT / "theme" / "static" / "css" / "main.css").read_text()
    found = re.findall(r"(--[\w-]+):\s*light-dark\((#\w{6}),\s*(#\w{6})\)", css)
    pairs = {name: (light, dark) for name, light, dark in found}
    text_on = {
        "--bg": ["--fg", "--muted", "--link", "--link-hover", "--ok", "--bad", "--warn"],
        "--surface": ["--fg", "--muted", "--link", "--ok", "--bad", "--warn"],
        "--code-bg": ["--fg"],
        "--demo-bg": [
            "--demo-fg",
            "--demo-muted",
            "--demo-accent",
            "--demo-ok",
            "--demo-bad",
            "--demo-warn",
        ],
    }
    low = [
        (fg, bg, side, round(contrast(pairs[fg][side], pairs[bg][side]), 2))
        for bg, fgs in text_on.items()
        for fg in fgs
        for side in (0, 1)
        if contrast(pairs[fg][side], pairs[bg][side]) < 4.5
    ]
    assert not low, low
    # Focus rings are not text: WCAG asks 3:1 against what surrounds them.
    assert all(contrast(pairs["--focus"][s], pairs["--bg"][s]) >= 3 for s in (0, 1))


def test_code_colours_meet_wcag_aa_on_the_code_background() -> None:
    css = (ROOT / "theme" / "static" / "css" / "pygments.css").read_text()
    light = css.split('\n:root[data-theme="dark"]')[0]
    dark = css.split("@media (prefers-color-scheme:dark){")[-1]
    for block, background in ((light, "#f5f6f7"), (dark, "#1c1f24")):
        assert f"background:{background}" in block
        colours = re.findall(r"(\.\w+)\{color:(#[0-9a-fA-F]{3,6})", block)
        assert len(colours) > 30
        for token, colour in colours:
            full = colour if len(colour) == 7 else "#" + "".join(c * 2 for c in colour[1:])
            assert contrast(full, background) >= 4.5 or token == ".w", (token, colour)
