"""The plugin's two failures: an author's mistake in a fence, and a broken build input."""

from __future__ import annotations


class FenceError(ValueError):
    """A demo fence an author wrote is wrong; the message starts with `path:line:`."""

    def __init__(self, line: int, message: str, path: str | None = None) -> None:
        self.line = line
        self.message = message
        self.path = path
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.path else f"line {self.line}"
        return f"{where}: {self.message}"

    def at(self, path: str) -> FenceError:
        """Give the same error, located in the source file `path`."""
        return FenceError(self.line, self.message, path)


class DemoBuildError(RuntimeError):
    """The build cannot go on: bad fences, an impure demos package, a missing runtime.

    Pelican's `main` exits with `exitcode` when an exception escapes a build.
    """

    exitcode = 1
