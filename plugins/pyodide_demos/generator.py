"""The generator Pelican runs after the pages: it writes the bundle and the runtime."""

from __future__ import annotations

import logging
import time

from . import bundle, runtime
from .reader import STATE_KEY

logger = logging.getLogger(__name__)


class DemoBundleGenerator:
    """Writes output/demos/ (wheel, manifest) and output/pyodide/<version>/."""

    def __init__(self, context: dict, settings: dict, path: str, theme: str,
                 output_path: str, **kwargs: object) -> None:
        self.settings = settings

    def generate_output(self, writer: object) -> None:
        state = self.settings[STATE_KEY]
        start = time.perf_counter()
        bundle.write(state.config, state.catalog, state.bundle)
        runtime.copy_runtime(state.config)
        state.timings["bundle+runtime"] = time.perf_counter() - start
