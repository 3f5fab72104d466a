"""The runtime copy: the few files of node_modules/pyodide that `loadPyodide` fetches."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from .config import RUNTIME_FILES, Config
from .errors import DemoBuildError

logger = logging.getLogger(__name__)


def copy_runtime(config: Config) -> Path | None:
    """Give output/<runtime>/<version>/ holding exactly the runtime files (None with a CDN)."""
    if not config.vendored:
        return None
    target = config.output_path / config.runtime_output / config.runtime_version
    target.mkdir(parents=True, exist_ok=True)
    copied = 0
    for name in RUNTIME_FILES:
        source = config.runtime_dir / name
        if not source.is_file():
            raise DemoBuildError(
                f"{source} is missing: run `npm ci` to reinstall the Pyodide runtime"
            )
        if not _same(source, target / name):
            shutil.copy2(source, target / name)  # copy2 keeps mtime: the next build skips it
            copied += 1
    for extra in target.iterdir():
        if extra.name not in RUNTIME_FILES:
            if extra.is_dir():
                shutil.rmtree(extra)
            else:
                extra.unlink()
    if copied:
        logger.info(
            "Copied %d Pyodide %s runtime file(s) to %s", copied, config.runtime_version, target
        )
    return target


def _same(source: Path, target: Path) -> bool:
    if not target.is_file():
        return False
    a, b = source.stat(), target.stat()
    return a.st_size == b.st_size and int(a.st_mtime) == int(b.st_mtime)
