"""Pelican's Markdown reader, locating a fence error in the file it was reading."""

from __future__ import annotations

from pathlib import Path

from pelican.readers import MarkdownReader

from .errors import FenceError

STATE_KEY = "PYODIDE_DEMOS_STATE"


class DemoMarkdownReader(MarkdownReader):
    """Adds `path:` to a FenceError and records it for the end-of-reading check."""

    def read(self, source_path: str) -> tuple[str, dict]:
        try:
            return super().read(source_path)
        except FenceError as err:
            located = err.at(shown_path(source_path))
            self.settings[STATE_KEY].errors.append(located)
            raise located from None


def shown_path(path: str) -> str:
    """Give `path` relative to the working directory when it lies inside it."""
    absolute = Path(path).resolve()
    try:
        return absolute.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(absolute)
