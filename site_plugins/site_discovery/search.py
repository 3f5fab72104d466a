"""The search index: Pagefind (PyPI `pagefind[bin]`) run over the written site."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import time
from pathlib import Path

logger = logging.getLogger(__name__)

BUNDLE_DIR = "pagefind"  # under the output folder, where theme/static/js/search.js looks


def build_index(output: Path, exclude_selectors: list[str], timeout: float = 300) -> bool:
    """Index the site in `output` into output/pagefind/; give True when Pagefind succeeded.

    Only pages marked `data-pagefind-body` (the article template) are indexed; elements
    matching `exclude_selectors` (the demo figures) are left out of the text.
    """
    bundle = output / BUNDLE_DIR
    # Fragment files are named by content hash: a stale bundle would only grow.
    shutil.rmtree(bundle, ignore_errors=True)
    command = [
        sys.executable,
        "-m",
        "pagefind",
        "--site",
        str(output),
        "--output-subdir",
        BUNDLE_DIR,
        "--quiet",
    ]
    for selector in exclude_selectors:
        command += ["--exclude-selectors", selector]
    start = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        logger.error("search index not built: %s", err)
        return False
    if done.returncode != 0 or not (bundle / "pagefind.js").is_file():
        logger.error(
            "search index not built: pagefind exited %s\n%s%s",
            done.returncode,
            done.stdout,
            done.stderr,
        )
        return False
    logger.info("search index built in %.2f s", time.perf_counter() - start)
    return True
