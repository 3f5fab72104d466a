"""The service worker for repeat visits and offline runs, written to the site's root."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from .bundle import Bundle
from .config import Config

logger = logging.getLogger(__name__)

SOURCE = Path(__file__).with_name("service_worker.js")


def runner_assets(theme_static: Path, theme_output: str, config: Config) -> list[str]:
    """Give the runner's modules and styles as site paths (what an offline run needs)."""
    modules = sorted((theme_static / "js").glob("*.js"))
    paths = [f"{theme_output}/js/{path.name}" for path in modules]
    return sorted({*paths, *config.css, *config.js})


def service_worker_text(
    config: Config, bundle: Bundle, assets: list[str], asset_digest: str
) -> str:
    """Give the service worker's source for this build (its BUILD record, then the code)."""
    versioned = [f"{config.demos_output}/"]
    if config.vendored:
        versioned.append(f"{config.runtime_output}/{config.runtime_version}/")
    build = {
        "cache": bundle.cache_name,
        "versioned": versioned,
        "assets": assets,
        # Any change to the runner's files changes these bytes, so browsers install
        # the worker again and its precache holds the new files.
        "assetDigest": asset_digest,
    }
    return f"const BUILD = {json.dumps(build, indent=1)};\n\n{SOURCE.read_text()}"


def write(config: Config, bundle: Bundle, theme_static: Path, theme_output: str) -> Path | None:
    """Give output/<service worker> written for this build (None when the setting is off)."""
    if not config.service_worker:
        return None
    assets = runner_assets(theme_static, theme_output, config)
    digest = hashlib.sha256()
    for path in sorted((theme_static / "js").glob("*.js")) + sorted(theme_static.glob("css/*")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    text = service_worker_text(config, bundle, assets, digest.hexdigest()[:16])
    target = config.output_path / config.service_worker
    if not target.is_file() or target.read_text() != text:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return target
