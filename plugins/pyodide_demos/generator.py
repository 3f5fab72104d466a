"""The generator Pelican runs after the pages: it writes the bundle and the runtime."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from . import bundle, lite, offline, runtime
from .reader import STATE_KEY

logger = logging.getLogger(__name__)


class DemoBundleGenerator:
    """Writes output/demos/ (wheel, manifest, snapshot), output/pyodide/<version>/ and the
    service worker."""

    def __init__(
        self,
        context: dict,
        settings: dict,
        path: str,
        theme: str,
        output_path: str,
        **kwargs: object,
    ) -> None:
        self.settings = settings

    def generate_output(self, writer: object) -> None:
        state = self.settings[STATE_KEY]
        start = time.perf_counter()
        bundle.write(state.config, state.catalog, state.bundle)
        lite.write(
            state.config.output_path / state.config.demos_output / lite.FOLDER,
            state.prerenderer.svgs(state.catalog.digest),
        )
        runtime.copy_runtime(state.config)
        offline.write(
            state.config,
            state.bundle,
            Path(self.settings["THEME"]) / "static",
            str(self.settings.get("THEME_STATIC_DIR", "theme")).strip("/"),
        )
        state.timings["bundle+runtime"] = time.perf_counter() - start
