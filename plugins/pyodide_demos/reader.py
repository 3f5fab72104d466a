"""Pelican's Markdown reader, locating a fence error in the file it was reading."""

from __future__ import annotations

import logging
from pathlib import Path

from pelican.readers import MarkdownReader

from .errors import FenceError

STATE_KEY = "PYODIDE_DEMOS_STATE"

logger = logging.getLogger(__name__)


class DemoMarkdownReader(MarkdownReader):
    """Adds `path:` to a FenceError and records it for the end-of-reading check."""

    def read(self, source_path: str) -> tuple[str, dict]:
        try:
            content, metadata = super().read(source_path)
        except FenceError as err:  # strict: the page is not written
            located = err.at(shown_path(source_path))
            self.settings[STATE_KEY].errors.append(located)
            raise located from None
        # Not strict: the page stands with an error box in place of each bad figure.
        for err in getattr(self._md, "demo_errors", []):
            located = err.at(shown_path(source_path))
            self.settings[STATE_KEY].errors.append(located)
            logger.error("%s", located)
        return content, metadata


def shown_path(path: str) -> str:
    """Give `path` relative to the working directory when it lies inside it."""
    absolute = Path(path).resolve()
    try:
        return absolute.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(absolute)
