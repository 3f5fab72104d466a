"""The plugin's settings: `PYODIDE_DEMOS_*` read once into a plain `Config`."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import DemoBuildError

# Only these files of the npm package are fetched by `loadPyodide` for stdlib-only code.
RUNTIME_FILES = (
    "pyodide.mjs",
    "pyodide.asm.js",
    "pyodide.asm.wasm",
    "python_stdlib.zip",
    "pyodide-lock.json",
)

DEFAULTS: dict[str, object] = {
    "PYODIDE_DEMOS_PACKAGE": "demos",
    # Where the package lives; None means the folder holding the content folder.
    "PYODIDE_DEMOS_ROOT": None,
    # "vendor" copies node_modules/pyodide into the output; a URL points the browser there.
    "PYODIDE_DEMOS_RUNTIME": "vendor",
    # None: read from node_modules/pyodide/package.json (vendor) or package.json (CDN).
    "PYODIDE_DEMOS_RUNTIME_VERSION": None,
    # The runtime's Python as "3.13"; None: read from pyodide-lock.json, else "3.13".
    "PYODIDE_DEMOS_RUNTIME_PYTHON": None,
    "PYODIDE_DEMOS_OUTPUT": "demos",
    "PYODIDE_DEMOS_RUNTIME_OUTPUT": "pyodide",
    # None: a `pyodide_demos` folder beside Pelican's CACHE_PATH.
    "PYODIDE_DEMOS_CACHE_PATH": None,
    # Site paths of the styles and entry module pages with figures link; None: the
    # plugin's own, copied into the output under PYODIDE_DEMOS_OUTPUT.
    "PYODIDE_DEMOS_CSS": None,
    "PYODIDE_DEMOS_JS": None,
    # False keeps `pelican --autoreload` alive on a bad fence: the page is skipped and
    # the error logged, instead of the whole build failing.
    "PYODIDE_DEMOS_STRICT": True,
    # A memory snapshot of the runtime with the demos imported, made with Node at build
    # time: Python starts in about a quarter of the time. False ships the wheel alone.
    "PYODIDE_DEMOS_SNAPSHOT": True,
    "PYODIDE_DEMOS_NODE": "node",
    # A service worker at the site's root keeps the runtime, snapshot and wheel for repeat
    # visits and offline runs (never HTML). None leaves it out.
    "PYODIDE_DEMOS_SERVICE_WORKER": "demos-sw.js",
}


@dataclass(frozen=True)
class Config:
    """Everything the helpers need, resolved to absolute paths and plain values."""

    package: str
    root: Path
    runtime: str
    runtime_dir: Path
    runtime_version: str
    runtime_python: str
    output_path: Path
    demos_output: str
    runtime_output: str
    cache_dir: Path
    css: tuple[str, ...] | None  # None: the runner's own
    js: tuple[str, ...] | None
    strict: bool
    snapshot: bool = False
    node: str = "node"
    service_worker: str | None = None

    @property
    def vendored(self) -> bool:
        return self.runtime == "vendor"

    @property
    def compile_bytecode(self) -> bool:
        """Give whether this Python's bytecode loads in the runtime (same minor version)."""
        return f"{sys.version_info.major}.{sys.version_info.minor}" == self.runtime_python

    @property
    def index_url_from_manifest(self) -> str:
        """Give the runtime's indexURL as the manifest states it (relative to the manifest)."""
        if not self.vendored:
            return self.runtime.rstrip("/") + "/"
        depth = len(Path(self.demos_output).parts)
        return "../" * depth + f"{self.runtime_output}/{self.runtime_version}/"


def apply_defaults(settings: dict) -> None:
    """Fill in every `PYODIDE_DEMOS_*` setting the site left out."""
    for key, value in DEFAULTS.items():
        settings.setdefault(key, list(value) if isinstance(value, list) else value)


def from_settings(settings: dict) -> Config:
    """Give the Config for Pelican `settings` (defaults already applied)."""
    root = Path(settings["PYODIDE_DEMOS_ROOT"] or Path(settings["PATH"]).parent).resolve()
    runtime = str(settings["PYODIDE_DEMOS_RUNTIME"])
    runtime_dir = root / "node_modules" / "pyodide"
    if runtime == "vendor" and not (runtime_dir / "package.json").is_file():
        raise DemoBuildError(
            f"{_shown(runtime_dir)} is missing: run `npm ci` to install the Pyodide runtime"
        )
    cache = settings["PYODIDE_DEMOS_CACHE_PATH"] or os.path.join(
        os.path.dirname(os.path.abspath(settings["CACHE_PATH"])), "pyodide_demos"
    )
    return Config(
        package=str(settings["PYODIDE_DEMOS_PACKAGE"]),
        root=root,
        runtime=runtime,
        runtime_dir=runtime_dir,
        runtime_version=str(
            settings["PYODIDE_DEMOS_RUNTIME_VERSION"]
            or _runtime_version(root, runtime_dir, runtime)
        ),
        runtime_python=str(
            settings["PYODIDE_DEMOS_RUNTIME_PYTHON"] or _runtime_python(runtime_dir)
        ),
        output_path=Path(settings["OUTPUT_PATH"]).resolve(),
        demos_output=str(settings["PYODIDE_DEMOS_OUTPUT"]).strip("/"),
        runtime_output=str(settings["PYODIDE_DEMOS_RUNTIME_OUTPUT"]).strip("/"),
        cache_dir=Path(cache).resolve(),
        css=_paths(settings["PYODIDE_DEMOS_CSS"]),
        js=_paths(settings["PYODIDE_DEMOS_JS"]),
        strict=is_strict(settings),
        snapshot=_flag(settings["PYODIDE_DEMOS_SNAPSHOT"]),
        node=str(settings["PYODIDE_DEMOS_NODE"]),
        service_worker=(
            str(settings["PYODIDE_DEMOS_SERVICE_WORKER"]).strip("/") or None
            if settings["PYODIDE_DEMOS_SERVICE_WORKER"]
            else None
        ),
    )


def is_strict(settings: dict) -> bool:
    """Give whether a fence error fails the whole build."""
    return _flag(settings["PYODIDE_DEMOS_STRICT"])


def _paths(value: object) -> tuple[str, ...] | None:
    """Give site paths from a setting that is a list, one string, or None (the default)."""
    if value is None:
        return None
    return (str(value),) if isinstance(value, str) else tuple(str(v) for v in value)


def _flag(value: object) -> bool:
    # `pelican -e PYODIDE_DEMOS_STRICT=false` passes JSON, but accept the strings too.
    if isinstance(value, str):
        return value.strip().lower() not in ("0", "false", "no", "off", "")
    return bool(value)


def _runtime_version(root: Path, runtime_dir: Path, runtime: str) -> str:
    if runtime == "vendor":
        return json.loads((runtime_dir / "package.json").read_text())["version"]
    try:
        pinned = json.loads((root / "package.json").read_text())["dependencies"]["pyodide"]
    except (OSError, KeyError, ValueError):
        raise DemoBuildError(
            "PYODIDE_DEMOS_RUNTIME is a URL but no runtime version is known: "
            "set PYODIDE_DEMOS_RUNTIME_VERSION or pin pyodide in "
            "package.json"
        ) from None
    return pinned.lstrip("^~=v ")


def _runtime_python(runtime_dir: Path) -> str:
    try:
        full = json.loads((runtime_dir / "pyodide-lock.json").read_text())["info"]["python"]
    except (OSError, KeyError, ValueError):
        return "3.13"  # what Pyodide 0.29 embeds
    return ".".join(full.split(".")[:2])


def _shown(path: Path) -> str:
    """Give `path` relative to the working directory when it lies inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
