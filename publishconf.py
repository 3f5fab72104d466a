"""Pelican settings for publishing (`make publish`): SITEURL from the environment.

SITEURL=https://example.org/blog make publish
"""

import os
import sys

sys.path.append(os.curdir)
from pelicanconf import *  # noqa: E402,F403

SITEURL = os.environ.get("SITEURL", "https://example.org").rstrip("/")
# Pages keep relative links, so the output works from any host and any sub-path;
# the feed needs absolute links, which FEED_DOMAIN gives it when SITEURL is set.
RELATIVE_URLS = True
FEED_DOMAIN = SITEURL
DELETE_OUTPUT_DIRECTORY = True
LOAD_CONTENT_CACHE = False
