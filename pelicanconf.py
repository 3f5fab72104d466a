"""Pelican settings for local development (`make serve`, `make build`)."""

import os

AUTHOR = "The Distributed Notes team"
SITENAME = "Distributed Notes"
SITESUBTITLE = "Distributed systems explained with demos you can run and break"
# Pages use relative links; the feed needs an absolute base
# (publishconf.py takes it from the environment).
SITEURL = "http://127.0.0.1:8000"
RELATIVE_URLS = True

PATH = "content"
ARTICLE_PATHS = ["articles"]
PAGE_PATHS = ["pages"]
STATIC_PATHS = ["images", "extra"]
EXTRA_PATH_METADATA = {"extra/favicon.svg": {"path": "favicon.svg"}}

THEME = "theme"
TIMEZONE = "UTC"
DEFAULT_LANG = "en"
DEFAULT_DATE_FORMAT = "%-d %B %Y"
DEFAULT_PAGINATION = 10
SUMMARY_MAX_LENGTH = 45

ARTICLE_URL = "{slug}/"
ARTICLE_SAVE_AS = "{slug}/index.html"
PAGE_URL = "{slug}/"
PAGE_SAVE_AS = "{slug}/index.html"
CATEGORY_URL = "category/{slug}/"
CATEGORY_SAVE_AS = "category/{slug}/index.html"
TAG_URL = "tag/{slug}/"
TAG_SAVE_AS = "tag/{slug}/index.html"
ARCHIVES_SAVE_AS = "archives/index.html"
TAGS_SAVE_AS = "tags/index.html"
CATEGORIES_SAVE_AS = "categories/index.html"
AUTHOR_SAVE_AS = ""
AUTHORS_SAVE_AS = ""
DIRECT_TEMPLATES = ["index", "archives", "tags", "categories"]
TEMPLATE_PAGES = {"404.html": "404.html"}

FEED_ALL_ATOM = "feeds/all.atom.xml"
CATEGORY_FEED_ATOM = "feeds/{slug}.atom.xml"
TRANSLATION_FEED_ATOM = None
AUTHOR_FEED_ATOM = None
AUTHOR_FEED_RSS = None

MARKDOWN = {
    "extension_configs": {
        "markdown.extensions.codehilite": {"css_class": "highlight", "guess_lang": False},
        "markdown.extensions.extra": {},
        "markdown.extensions.meta": {},
        "markdown.extensions.toc": {"permalink": "#", "permalink_title": "Link to this section"},
    },
    "output_format": "html5",
}

PLUGIN_PATHS = ["plugins"]
PLUGINS = ["pyodide_demos", "site_discovery", "pelican.plugins.sitemap"]

# Discovery (site_plugins/site_discovery and pelican-sitemap): a Pagefind index over the
# articles, a social card per article, reading time, contents on long posts, sitemap.xml.
SITEMAP = {
    "format": "xml",
    "priorities": {"articles": 0.7, "indexes": 0.5, "pages": 0.4},
    "changefreqs": {"articles": "monthly", "indexes": "weekly", "pages": "monthly"},
    # The 404 page is not a page to find; tag and category lists only repeat the articles.
    "exclude": [r"^404\.html$", "^tag/", "^category/"],
}
# Comments are off unless the address of an Isso server is given (see README, "Comments"):
#   ISSO_URL=https://example.org/isso/ make publish
ISSO_URL = os.environ.get("ISSO_URL", "")

# Pelican's cache makes a no-change rebuild fast.
CACHE_CONTENT = True
LOAD_CONTENT_CACHE = True
CACHE_PATH = ".cache/pelican"
CHECK_MODIFIED_METHOD = "mtime"
