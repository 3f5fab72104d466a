"""Pelican plugin `pyodide_demos`: ```demo fences, prerendered figures, the browser bundle."""

from .errors import DemoBuildError, FenceError
from .plugin import register

__all__ = ["DemoBuildError", "FenceError", "register"]
