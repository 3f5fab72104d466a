"""Page assets: the runner's own files (copied into the output) and the tags a page with a
demo figure links."""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
from dataclasses import dataclass
from html import escape
from pathlib import Path

import rcssmin

from .bundle import Bundle
from .config import Config

logger = logging.getLogger(__name__)

FIGURE_MARK = '<figure class="demo" '
# The entry module's tag names the manifest with data-manifest (demos.js looks for it).
RUNNER_TAG = re.compile(r"<script\b[^>]*\sdata-manifest=", re.IGNORECASE)
HEAD_END = re.compile(r"</head\s*>", re.IGNORECASE)
# The browser runner: js/ (modules), css/ (the figures' styles), build/ (the bundled editor).
STATIC_DIR = Path(__file__).with_name("static")
ENTRY_JS = "js/demos.js"
ENTRY_CSS = "css/demo.css"
EDITOR = "build/lab-editor.js"
RUNNER_PREFIX = "runner-"


@dataclass(frozen=True)
class Runner:
    """The runner's files for one build: their folder in the site is named by their hash,
    so browsers and the service worker may keep them for good."""

    folder: str  # a site path: <PYODIDE_DEMOS_OUTPUT>/runner-<hash>
    files: tuple[str, ...]  # paths under STATIC_DIR, as posix strings
    digest: str

    def url(self, name: str) -> str:
        """Give the site path of the runner file `name` (e.g. "js/demos.js")."""
        return f"{self.folder}/{name}"


def plan_runner(config: Config, static_dir: Path = STATIC_DIR) -> Runner:
    """Give the runner's files and their versioned folder (read afresh on every build, so
    an edited module gets a new folder)."""
    files = tuple(
        sorted(p.relative_to(static_dir).as_posix() for p in static_dir.rglob("*") if p.is_file())
    )
    if EDITOR not in files:
        # The Code view then says its editor could not load; the figures still run.
        logger.warning(
            "%s is missing: bundle it with esbuild (`make setup`) for the lab's editor",
            static_dir / EDITOR,
        )
    digest = hashlib.sha256()
    for name in files:
        digest.update(name.encode() + b"\0" + (static_dir / name).read_bytes() + b"\0")
    key = digest.hexdigest()[:12]
    return Runner(f"{config.demos_output}/{RUNNER_PREFIX}{key}", files, key)


def shipped(source: Path) -> bytes:
    """Give the bytes a page gets for runner file `source`: style sheets minified (every page
    with a figure loads them before a reader does anything), the rest as it is."""
    if source.suffix == ".css":
        return rcssmin.cssmin(source.read_text(encoding="utf-8")).encode()
    return source.read_bytes()


def write_runner(config: Config, runner: Runner, static_dir: Path = STATIC_DIR) -> Path:
    """Give output/<runner folder> holding the runner's files, dropping older builds' folders."""
    target = config.output_path / runner.folder
    for name in runner.files:
        data, copy = shipped(static_dir / name), target / name
        if not copy.is_file() or copy.read_bytes() != data:
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_bytes(data)
    for old in (config.output_path / config.demos_output).glob(f"{RUNNER_PREFIX}*"):
        if old.is_dir() and old != target:
            shutil.rmtree(old)
    return target


def has_demos(html: str | None) -> bool:
    """Give whether rendered page HTML holds a demo figure."""
    return bool(html) and FIGURE_MARK in html


def demo_assets(config: Config, bundle: Bundle, runner: Runner) -> dict:
    """Give the `demo_assets` record a page with figures carries: the CSS and JS to link and
    the manifest URL, as paths relative to the site root (the runner's own files unless the
    site named others)."""
    css = config.css if config.css is not None else (runner.url(ENTRY_CSS),)
    js = config.js if config.js is not None else (runner.url(ENTRY_JS),)
    return {
        "css": list(css),
        "js": list(js),
        "manifest": f"{config.demos_output}/{bundle.manifest_name}",
    }


def head_tags(record: dict, siteurl: str) -> str:
    """Give the <link> and <script> tags for a page's `demo_assets` record, with URLs under
    `siteurl` (Pelican's, relative to the page when RELATIVE_URLS is on)."""
    base = f"{siteurl.rstrip('/')}/"  # "" as SITEURL gives root paths, as themes write them
    manifest = escape(base + record["manifest"], quote=True)
    tags = [
        f'<link rel="stylesheet" href="{escape(base + css, quote=True)}">' for css in record["css"]
    ]
    tags += [
        f'<script type="module" src="{escape(base + js, quote=True)}" '
        f'data-manifest="{manifest}"></script>'
        for js in record["js"]
    ]
    return "\n".join(tags)


def with_head_tags(html: str, tags: str) -> str | None:
    """Give `html` with `tags` put just before its </head>; None when the page already links
    the runner (a theme that places the tags itself) or has no head to put them in."""
    if not tags or RUNNER_TAG.search(html):
        return None
    end = HEAD_END.search(html)
    if end is None:
        return None
    return f"{html[: end.start()]}{tags}\n{html[end.start() :]}"
