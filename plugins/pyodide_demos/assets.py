"""Page assets: what the theme links on a page that holds at least one demo figure."""

from __future__ import annotations

from .bundle import Bundle
from .config import Config

FIGURE_MARK = '<figure class="demo" '


def has_demos(html: str | None) -> bool:
    """Give whether rendered page HTML holds a demo figure."""
    return bool(html) and FIGURE_MARK in html


def demo_assets(config: Config, bundle: Bundle) -> dict:
    """Give the `demo_assets` record a page with figures carries for its template: the CSS and
    JS to link and the manifest URL, as paths relative to the site root."""
    return {
        "css": list(config.css),
        "js": list(config.js),
        "manifest": f"{config.demos_output}/{bundle.manifest_name}",
    }
