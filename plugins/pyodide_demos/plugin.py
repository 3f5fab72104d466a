"""Pelican signal handlers of the plugin; `register()` wires them up."""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from pelican import signals
from pelican.readers import MarkdownReader

from . import assets, bundle, config, report
from .catalog import Catalog, package_files, sources_hash
from .errors import DemoBuildError, FenceError
from .fence import DemoFenceExtension
from .generator import DemoBundleGenerator
from .prerender import Prerenderer
from .reader import STATE_KEY, DemoMarkdownReader

logger = logging.getLogger(__name__)
PLUGIN_DIR = Path(__file__).parent


@dataclass
class BuildState:
    """What the handlers share across one Pelican instance's builds."""

    config: config.Config
    catalog: Catalog
    prerenderer: Prerenderer
    extension: DemoFenceExtension
    load_content_cache: bool
    bundle: bundle.Bundle | None = None
    runner: assets.Runner | None = None
    errors: list[FenceError] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def __reduce__(self) -> tuple:
        # Pelican pickles settings into its content cache (through Category and Tag
        # objects); live modules cannot be pickled and need not be: store an empty dict.
        return (dict, ())

    @property
    def stamp_file(self) -> Path:
        return self.config.cache_dir / "content-stamp"

    def stamp(self) -> str:
        """Give what cached page HTML depends on besides its source: demos and plugin code."""
        plugin = sources_hash(package_files(PLUGIN_DIR), PLUGIN_DIR)
        return hashlib.sha256(f"{self.catalog.digest}:{plugin}".encode()).hexdigest()


def on_initialized(pelican: object) -> None:
    """Apply defaults, read the config once, add the fence to every Markdown instance."""
    start = time.perf_counter()
    settings = pelican.settings
    config.apply_defaults(settings)
    report.install(config.is_strict(settings))  # first, so a bad setup reads cleanly too
    cfg = config.from_settings(settings)
    catalog = Catalog(cfg.package, cfg.root)
    prerenderer = Prerenderer(cfg.cache_dir / "prerender")
    extension = DemoFenceExtension(catalog, prerenderer, strict=cfg.strict)
    markdown = settings.setdefault("MARKDOWN", {})
    markdown["extensions"] = [
        e for e in markdown.get("extensions", []) if not isinstance(e, DemoFenceExtension)
    ] + [extension]
    settings[STATE_KEY] = BuildState(
        cfg,
        catalog,
        prerenderer,
        extension,
        load_content_cache=bool(settings["LOAD_CONTENT_CACHE"]),
    )
    settings[STATE_KEY].timings["init"] = time.perf_counter() - start


def on_readers_init(readers: object) -> None:
    """Read Markdown with the reader that locates fence errors in their file."""
    if STATE_KEY not in readers.settings:
        return
    for ext in MarkdownReader.file_extensions:
        if readers.reader_classes.get(ext) is MarkdownReader:
            readers.reader_classes[ext] = DemoMarkdownReader


def on_get_generators(pelican: object) -> type:
    """Start a build: reload edited demos, check purity, name the bundle; give the writer."""
    state: BuildState = pelican.settings[STATE_KEY]
    start = time.perf_counter()
    state.errors.clear()
    state.extension.seconds = 0.0
    state.timings = {"init": state.timings.get("init", 0.0)}
    state.catalog.load()
    state.prerenderer.prune(state.catalog.digest)
    state.bundle = bundle.plan(state.config, state.catalog)
    state.runner = assets.plan_runner(state.config)
    # Pelican's content cache knows only the source files' times: when demos or this
    # plugin changed, cached pages hold stale figures, so read everything again.
    fresh = state.stamp_file.is_file() and state.stamp_file.read_text() == state.stamp()
    pelican.settings["LOAD_CONTENT_CACHE"] = state.load_content_cache and fresh
    state.timings["plan"] = time.perf_counter() - start
    return DemoBundleGenerator


def on_content_object_init(content: object) -> None:
    """Give a page with demo figures the assets it links (`demo_assets`: a theme may place
    the tags itself; otherwise on_content_written adds them)."""
    state = getattr(content, "settings", {}).get(STATE_KEY)
    if state and state.bundle and assets.has_demos(getattr(content, "_content", None)):
        content.demo_assets = assets.demo_assets(state.config, state.bundle, state.runner)


def on_content_written(path: str, context: dict) -> None:
    """Link the runner from a written page with figures, whatever the theme: its styles and
    entry module go just before </head> unless the theme placed them already."""
    doc = context.get("article") or context.get("page")
    record = getattr(doc, "demo_assets", None)
    if not record or not str(path).endswith(".html"):
        return
    page = Path(path)
    html = page.read_text(encoding="utf-8")
    linked = assets.with_head_tags(html, assets.head_tags(record, context.get("SITEURL", "")))
    if linked is not None:
        page.write_text(linked, encoding="utf-8")


def on_all_generators_finalized(generators: list) -> None:
    """Stop before anything is written when a fence was wrong."""
    state = generators[0].settings.get(STATE_KEY) if generators else None
    if not state:
        return
    state.timings["fences"] = state.extension.seconds
    if state.errors and state.config.strict:
        raise DemoBuildError("\n".join(str(e) for e in state.errors))


def on_finalized(pelican: object) -> None:
    """Remember what this successful build's pages were made from."""
    state: BuildState = pelican.settings[STATE_KEY]
    if state.errors:
        return  # skipped pages must be read again next time
    state.stamp_file.parent.mkdir(parents=True, exist_ok=True)
    state.stamp_file.write_text(state.stamp())
    logger.debug(
        "pyodide_demos timings: %s", ", ".join(f"{k} {v:.3f} s" for k, v in state.timings.items())
    )


def register() -> None:
    """Connect the handlers (Pelican calls this once per plugin load)."""
    signals.initialized.connect(on_initialized)
    signals.readers_init.connect(on_readers_init)
    signals.get_generators.connect(on_get_generators)
    signals.content_object_init.connect(on_content_object_init)
    signals.content_written.connect(on_content_written)
    signals.all_generators_finalized.connect(on_all_generators_finalized)
    signals.finalized.connect(on_finalized)
