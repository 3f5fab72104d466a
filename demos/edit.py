"""A reader's edited protocol: its source turned into a module that stands in for the demo's.

The edited module is compiled under the demo's own package, so its relative imports
(`from .sim import Node`) resolve as the original's do. Only its `simulate` is used: the
params, checks, summary and figure stay the demo's own (see `pipeline.assemble`), so an edit
can change what the protocol does but not what the checks demand.
"""

from __future__ import annotations

import difflib
import sys
import traceback
from types import ModuleType

from .errors import DemoError
from .registry import get

EDITED_FILE = "<edited {name}.py>"


class EditError(DemoError):
    """The edited source does not compile, fails while loading, or has no `simulate`.

    `line` is the line of the edited source the error points at, when there is one.
    """

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


def original_source(name: str) -> str:
    """Give the source of demo `name`'s protocol module."""
    module = get(name)
    loader = module.__spec__.loader if module.__spec__ else None
    source = loader.get_source(module.__name__) if loader is not None else None
    if source is None:
        raise DemoError(f"the source of demo {name!r} is not available here")
    return source


def load_protocol(name: str, source: str) -> ModuleType:
    """Give a module made from `source` that can replace demo `name`'s protocol."""
    original = get(name)
    filename = EDITED_FILE.format(name=name)
    try:
        code = compile(source, filename, "exec")
    except SyntaxError as err:
        raise EditError(f"line {err.lineno}: {err.msg}", err.lineno) from None
    module = ModuleType(f"{original.__package__}.{name}_edited")
    module.__package__ = original.__package__
    module.__file__ = filename
    # Dataclasses look their module up in sys.modules while the class is made.
    sys.modules[module.__name__] = module
    try:
        exec(code, module.__dict__)  # the reader's own code, run in the reader's own worker
    except Exception as err:  # noqa: BLE001 - any error in the reader's code is reported
        raise EditError(*describe(err, filename)) from None
    finally:
        del sys.modules[module.__name__]
    if not callable(getattr(module, "simulate", None)):
        raise EditError("the edited module has no simulate(params) function")
    return module


def describe(err: BaseException, filename: str) -> tuple[str, int | None]:
    """Give a one-line message for an error raised by edited code, and its line there."""
    line = None
    for frame in traceback.extract_tb(err.__traceback__):
        if frame.filename == filename:
            line = frame.lineno
    where = f"line {line}: " if line else ""
    return f"{where}{type(err).__name__}: {err}", line


def diff(name: str, source: str) -> str:
    """Give a unified diff from the original protocol of `name` to `source`."""
    return "".join(
        difflib.unified_diff(
            original_source(name).splitlines(keepends=True),
            source.splitlines(keepends=True),
            f"{name}.py",
            f"{name}.py (edited)",
        )
    )
