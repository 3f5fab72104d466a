"""The runtime copy: the few files of node_modules/pyodide that `loadPyodide` fetches.

The wasm also gets a gzip'd copy beside it (`pyodide.asm.wasm.gz`): simple static hosts send
the wasm as it is (8.6 MB, 2.8 MB gzip'd), so the worker fetches the copy and inflates it as
it streams into the compiler. The plain file stays for hosts that compress on their own, for
the service worker's cache and for a runtime on a CDN.
"""

from __future__ import annotations

import gzip
import logging
import os
import shutil
from pathlib import Path

from .config import RUNTIME_FILES, Config
from .errors import DemoBuildError

logger = logging.getLogger(__name__)

# python_stdlib.zip is left out: its members are deflated already (2.42 -> 2.38 MB). So is
# pyodide.asm.js (1.07 -> 0.22 MB): the worker imports it as it is, parsed off its thread.
COMPRESSED = ("pyodide.asm.wasm",)
GZIP_LEVEL = 9


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
    for name in COMPRESSED:
        if _gzip_copy(target / name, target / f"{name}.gz"):
            copied += 1
    shipped = {*RUNTIME_FILES, *(f"{name}.gz" for name in COMPRESSED)}
    for extra in target.iterdir():
        if extra.name not in shipped:
            if extra.is_dir():
                shutil.rmtree(extra)
            else:
                extra.unlink()
    if copied:
        logger.info(
            "Copied %d Pyodide %s runtime file(s) to %s", copied, config.runtime_version, target
        )
    return target


def _gzip_copy(source: Path, target: Path) -> bool:
    """Give whether `target` had to be written as the gzip of `source` (it was stale)."""
    # The copy carries the source's mtime in its own: a no-change build compares and skips.
    stamp = source.stat().st_mtime_ns
    if target.is_file() and target.stat().st_mtime_ns == stamp:
        return False
    partial = target.with_name(target.name + ".part")
    with (
        source.open("rb") as plain,
        open(partial, "wb") as sink,
        gzip.GzipFile(fileobj=sink, mode="wb", compresslevel=GZIP_LEVEL, mtime=0) as packed,
    ):
        shutil.copyfileobj(plain, packed, 1 << 20)
    os.utime(partial, ns=(stamp, stamp))
    partial.replace(target)
    return True


def _same(source: Path, target: Path) -> bool:
    if not target.is_file():
        return False
    a, b = source.stat(), target.stat()
    return a.st_size == b.st_size and int(a.st_mtime) == int(b.st_mtime)
