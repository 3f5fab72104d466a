"""The service worker for repeat visits and offline runs, written to the site's root."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from . import sources
from .assets import Runner
from .bundle import Bundle
from .config import Config

logger = logging.getLogger(__name__)

SOURCE = Path(__file__).with_name("service_worker.js")


def runner_assets(runner: Runner, config: Config) -> list[str]:
    """Give the runner's modules and styles as site paths (what an offline run needs)."""
    own = [runner.url(name) for name in runner.files if name.startswith(("js/", "css/"))]
    return sorted({*own, *(config.css or ()), *(config.js or ())})


def service_worker_text(
    config: Config, bundle: Bundle, assets: list[str], asset_digest: str
) -> str:
    """Give the service worker's source for this build (its BUILD record, then the code)."""
    # The lab's protocol sources are versioned too (their names carry the catalog's hash).
    versioned = [f"{config.demos_output}/", f"{sources.FOLDER}/"]
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


def write(config: Config, bundle: Bundle, runner: Runner) -> Path | None:
    """Give output/<service worker> written for this build (None when the setting is off)."""
    if not config.service_worker:
        return None
    assets = runner_assets(runner, config)
    # The runner's folder name is its files' hash: a changed module means new bytes here.
    digest = hashlib.sha256(json.dumps([runner.digest, assets]).encode())
    text = service_worker_text(config, bundle, assets, digest.hexdigest()[:16])
    target = config.output_path / config.service_worker
    if not target.is_file() or target.read_text() != text:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return target
