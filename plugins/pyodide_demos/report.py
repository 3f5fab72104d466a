"""One clean line per author mistake in Pelican's output, instead of a traceback.

Pelican catches an exception from a reader and logs only "Could not process <file>", and
logs an exception that ends the build with its traceback. These filters rewrite both
records for the plugin's own exceptions and leave every other record alone.
"""

from __future__ import annotations

import logging
import sys

from .errors import DemoBuildError, FenceError


class _FenceFailure(logging.Filter):
    """On `pelican.generators`: the skipped file's record carries the fence's message."""

    def __init__(self, strict: bool) -> None:
        super().__init__()
        self.strict = strict

    def filter(self, record: logging.LogRecord) -> bool:
        # Pelican logs this inside its `except` without exc_info; the error is still current.
        error = sys.exc_info()[1]
        if not isinstance(error, FenceError) or record.msg != "Could not process %s":
            return True
        if self.strict:
            return False  # the failure that ends the build lists it
        record.msg, record.args = "%s", (str(error),)
        return True


class _BuildFailure(logging.Filter):
    """On `pelican`: the record that ends the build is just the plugin's message."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, DemoBuildError):
            record.msg, record.args = "%s", (str(error),)
            record.exc_info = record.exc_text = None
        return True


def install(strict: bool) -> None:
    """Add the filters once (Pelican may be set up several times in one process)."""
    for name, wanted in (
        ("pelican.generators", _FenceFailure(strict)),
        ("pelican", _BuildFailure()),
    ):
        target = logging.getLogger(name)
        for old in [f for f in target.filters if type(f) is type(wanted)]:
            target.removeFilter(old)
        target.addFilter(wanted)
