"""The generator Pelican runs after the pages: it writes the bundle and the runtime."""

from __future__ import annotations

import logging
import time

from . import assets, bundle, lite, offline, runtime
from .reader import STATE_KEY

logger = logging.getLogger(__name__)


class DemoBundleGenerator:
    """Writes output/demos/ (wheel, manifest, snapshot, the runner's files),
    output/pyodide/<version>/ and the service worker."""

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
        assets.write_runner(state.config, state.runner)
        offline.write(state.config, state.bundle, state.runner)
        state.timings["bundle+runtime"] = time.perf_counter() - start
