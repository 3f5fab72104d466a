"""The demo bundle: purity check, wheel, `pyodide py-compile`, and the browser manifest."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import logging
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

from . import purity, snapshot, sources
from .catalog import Catalog
from .config import Config
from .errors import DemoBuildError

logger = logging.getLogger(__name__)

# A fixed timestamp keeps the wheel's bytes a function of the sources alone.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
# The browser worker's entry module, shipped in the wheel beside the package.
RUNNER_SOURCE = Path(__file__).with_name("browser_runner.py")
RUNNER_MODULE = "pyodide_demos_runner.py"
# The lab's entry (edited protocols, the counterexample search), imported on first use.
LAB_SOURCE = Path(__file__).with_name("lab_runner.py")
LAB_MODULE = "pyodide_demos_lab.py"


@dataclass(frozen=True)
class Bundle:
    """What one build ships for the browser: names are known before anything is written."""

    dist: str
    version: str
    wheel_name: str
    wheel_key: str
    manifest_name: str
    manifest_text: str
    snapshot_name: str | None = None
    cache_name: str = ""  # the service worker's cache for this build's versioned files

    @property
    def wheel_path(self) -> str:
        """Give where the worker (and the snapshot) put the wheel in Pyodide's file system."""
        return f"/lib/{self.wheel_name}"


def plan(config: Config, catalog: Catalog) -> Bundle:
    """Check the package is pure, make the snapshot, and give the bundle's names and manifest.

    They depend only on the sources and the runtime, so they are cached under their hash:
    a no-change build neither parses nor imports the demos. The snapshot is made here,
    before any page is written, so that a manifest names it only when it exists.
    """
    mode = f"pyc-{config.runtime_python}" if config.compile_bytecode else "source"
    runner = hashlib.sha256(RUNNER_SOURCE.read_bytes() + LAB_SOURCE.read_bytes()).hexdigest()
    wheel_key = hashlib.sha256(f"{catalog.digest}:{mode}:{runner}".encode()).hexdigest()[:16]
    dist = catalog.name.replace("-", "_")
    names = Bundle(
        dist=dist,
        version=_version(catalog.root),
        wheel_name=f"{dist}-{wheel_key}.whl",
        wheel_key=wheel_key,
        manifest_name="",
        manifest_text="",
    )
    runtime = {"version": config.runtime_version, "indexURL": config.index_url_from_manifest}
    snapshot_name = snapshot.name_for(config, wheel_key)
    cached = _manifest_cache(config, wheel_key, runtime, snapshot_name)
    if not cached.is_file():
        problems = purity.violations(catalog.package_dir, catalog.files, catalog.root)
        if problems:
            raise DemoBuildError("the demos package cannot run in Pyodide:\n" + "\n".join(problems))
    if snapshot_name and _snapshot(config, catalog, names, snapshot_name) is None:
        snapshot_name = None  # the warning says why; Python starts without one
        cached = _manifest_cache(config, wheel_key, runtime, snapshot_name)
    if cached.is_file():
        text = cached.read_text()
    else:
        manifest = {
            "runtime": runtime,
            "wheel": names.wheel_name,
            "demos": catalog.manifest_demos(),
            "sources": sources.url_from_manifest(config, catalog),
        }
        if snapshot_name:
            manifest["snapshot"] = snapshot_name
        if config.service_worker:
            depth = len(Path(config.demos_output).parts)
            manifest["offline"] = {
                "serviceWorker": "../" * depth + config.service_worker,
                "cache": _cache_name(cached),
            }
        text = json.dumps(manifest, indent=1, ensure_ascii=False) + "\n"
        cached.parent.mkdir(parents=True, exist_ok=True)
        for old in cached.parent.glob("*.json"):
            old.unlink()
        cached.write_text(text)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return dataclasses.replace(
        names,
        manifest_name=f"manifest-{digest}.json",
        manifest_text=text,
        snapshot_name=snapshot_name,
        cache_name=_cache_name(cached),
    )


def _manifest_cache(
    config: Config, wheel_key: str, runtime: dict, snapshot_name: str | None
) -> Path:
    """Give where the manifest made from these parts is cached (its name is their hash)."""
    key = hashlib.sha256(
        json.dumps([wheel_key, runtime, snapshot_name, config.service_worker]).encode()
    ).hexdigest()[:16]
    return config.cache_dir / "manifests" / f"{key}.json"


def _cache_name(manifest_cache: Path) -> str:
    """Give the service worker's cache name for the build whose manifest is cached there."""
    return f"pyodide-demos-{manifest_cache.stem}"


def _snapshot(config: Config, catalog: Catalog, names: Bundle, name: str) -> Path | None:
    """Give the cached snapshot `name`, made from this build's wheel if need be; None if
    it could not be made."""
    wheel = _cached_wheel(config, catalog, names)
    return snapshot.cached(config, name, wheel, names.wheel_path)


def write(config: Config, catalog: Catalog, bundle: Bundle) -> None:
    """Put the wheel and manifest under output/<demos>/, dropping ones from older builds."""
    out = config.output_path / config.demos_output
    out.mkdir(parents=True, exist_ok=True)
    wheel = _cached_wheel(config, catalog, bundle)
    target = out / bundle.wheel_name
    if not target.is_file() or target.stat().st_size != wheel.stat().st_size:
        shutil.copyfile(wheel, target)
    manifest = out / bundle.manifest_name
    if not manifest.is_file() or manifest.read_text() != bundle.manifest_text:
        manifest.write_text(bundle.manifest_text)
    keep = {bundle.wheel_name, bundle.manifest_name}
    sources.write(config.output_path / sources.FOLDER, catalog)
    if bundle.snapshot_name:
        # Made when the bundle was planned (the manifest names it only then): cached now.
        made = snapshot.cached(config, bundle.snapshot_name, wheel, bundle.wheel_path)
        shipped = out / bundle.snapshot_name
        if made and (not shipped.is_file() or shipped.stat().st_size != made.stat().st_size):
            shutil.copyfile(made, shipped)
        keep.add(bundle.snapshot_name)
    for old in [
        *out.glob(f"{bundle.dist}-*.whl"),
        *out.glob("manifest-*.json"),
        *out.glob(f"*{snapshot.SUFFIX}"),
    ]:
        if old.name not in keep:
            old.unlink()


def _cached_wheel(config: Config, catalog: Catalog, bundle: Bundle) -> Path:
    """Give the wheel for these sources, building it only when no build of them is cached."""
    cache = config.cache_dir / "wheels"
    cached = cache / bundle.wheel_name
    if cached.is_file():
        return cached
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        built = build_wheel(catalog, bundle, Path(tmp))
        if config.compile_bytecode:
            built = py_compile(built)
        else:
            logger.info(
                "Python %d.%d here, %s in Pyodide: shipping the demos as source",
                *sys.version_info[:2],
                config.runtime_python,
            )
        built.replace(cached)
    for old in cache.glob("*.whl"):
        if old != cached:
            old.unlink()
    return cached


def build_wheel(catalog: Catalog, bundle: Bundle, folder: Path) -> Path:
    """Give a py3-none-any wheel of the package, written into `folder`."""
    info = f"{bundle.dist}-{bundle.version}.dist-info"
    entries = [(p.relative_to(catalog.root).as_posix(), p.read_bytes()) for p in catalog.files]
    runner = RUNNER_SOURCE.read_text().replace('PACKAGE = "demos"', f"PACKAGE = {catalog.name!r}")
    entries.append((RUNNER_MODULE, runner.encode()))
    entries.append((LAB_MODULE, LAB_SOURCE.read_bytes()))
    entries.append(
        (
            f"{info}/METADATA",
            (
                f"Metadata-Version: 2.1\nName: {bundle.dist}\nVersion: {bundle.version}\n"
                f"Summary: The {catalog.name} package, packed for the browser\n"
            ).encode(),
        )
    )
    entries.append(
        (
            f"{info}/WHEEL",
            (
                b"Wheel-Version: 1.0\nGenerator: pyodide_demos\nRoot-Is-Purelib: true\n"
                b"Tag: py3-none-any\n"
            ),
        )
    )
    record = "".join(f"{name},sha256={_b64_digest(data)},{len(data)}\n" for name, data in entries)
    entries.append((f"{info}/RECORD", (record + f"{info}/RECORD,,\n").encode()))
    path = folder / f"{bundle.dist}-{bundle.version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as whl:
        for name, data in entries:
            entry = zipfile.ZipInfo(name, ZIP_EPOCH)
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            whl.writestr(entry, data)
    return path


def py_compile(wheel: Path) -> Path:
    """Give the wheel with its modules as .pyc, made by `pyodide py-compile`."""
    tool = Path(sys.executable).with_name("pyodide")
    command = [
        str(tool) if tool.exists() else (shutil.which("pyodide") or "pyodide"),
        "py-compile",
        "--silent",
        "--no-keep",
        str(wheel),
    ]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError as err:
        raise DemoBuildError(
            f"cannot run `pyodide py-compile` ({err}): install pyodide-build in this environment"
        ) from None
    compiled = [p for p in wheel.parent.glob("*.whl") if p != wheel]
    if done.returncode != 0 or len(compiled) != 1:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise DemoBuildError(f"`pyodide py-compile` failed: {last[0]}")
    return compiled[0]


def _b64_digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _version(root: Path) -> str:
    try:
        with open(root / "pyproject.toml", "rb") as fh:
            return str(tomllib.load(fh)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "0"
