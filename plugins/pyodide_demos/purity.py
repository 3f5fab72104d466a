"""The purity check: the demos package must run unchanged in Pyodide's worker."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

# Standard-library modules that exist in CPython but not in a browser worker.
FORBIDDEN = {
    "threading": "no threads in a browser worker",
    "_thread": "no threads in a browser worker",
    "concurrent": "no threads or processes in a browser worker",
    "multiprocessing": "no processes in a browser worker",
    "subprocess": "no processes in a browser worker",
    "socket": "no sockets in a browser worker",
    "ssl": "no sockets in a browser worker",
    "select": "no sockets in a browser worker",
    "selectors": "no sockets in a browser worker",
}
# Modules Pyodide leaves out of python_stdlib.zip or ships as separate packages that the
# runner does not load.
NOT_SHIPPED = frozenset(
    {
        "tkinter",
        "turtle",
        "turtledemo",
        "idlelib",
        "curses",
        "dbm",
        "readline",
        "ensurepip",
        "venv",
        "lib2to3",
        "sqlite3",
        "lzma",
        "test",
        "msvcrt",
        "winreg",
        "winsound",
        "_winapi",
        "pydoc_data",
    }
)
DYNAMIC_IMPORTERS = {"__import__", "import_module"}


def violations(package_dir: Path, files: list[Path], base: Path) -> list[str]:
    """Give one `path:line: problem` per thing in the package that cannot run in Pyodide."""
    problems: list[str] = []
    package = package_dir.name
    for path in files:
        shown = path.relative_to(base).as_posix()
        if path.suffix != ".py":
            kind = (
                "a C extension"
                if path.suffix in (".so", ".pyd", ".dylib", ".dll")
                else "not a .py source"
            )
            problems.append(f"{shown}:1: {kind}; only pure .py files ship to the browser")
            continue
        try:
            tree = ast.parse(path.read_bytes(), filename=shown)
        except SyntaxError as err:
            problems.append(f"{shown}:{err.lineno or 1}: syntax error: {err.msg}")
            continue
        for line, module in _imports(tree):
            reason = _why_not(module, package)
            if reason:
                problems.append(f"{shown}:{line}: import of {module!r}: {reason}")
    return problems


def _imports(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Call) and _callee(node.func) in DYNAMIC_IMPORTERS:
            arg = node.args[0] if node.args else None
            # Only literal names can be checked; the registry's f-strings stay in-package.
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.append((node.lineno, arg.value))
    return sorted(found)


def _callee(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _why_not(module: str, package: str) -> str:
    top = module.split(".")[0]
    if top == package or top == "__future__":
        return ""
    if top in FORBIDDEN:
        return FORBIDDEN[top]
    if top in NOT_SHIPPED:
        return "not in Pyodide's standard library"
    if top not in sys.stdlib_module_names:
        return "not in the standard library; the demos must not depend on other packages"
    return ""
