"""The lab's sources: each demo's protocol module as text, and its presets, for the Code view.

The wheel ships bytecode only, so the browser cannot read a demo's source from it. This
module writes `lab/sources-<hash>.<demo>.json` in the output for each demo the lab opens
(`Catalog.has_lab`: the others' figures offer no Code view; the manifest names the files
under "sources", relative to itself, with `{demo}` for the demo's name): the source of
`<package>/<demo>.py` and the package's presets for it (title, explanation, the params
they search from, and the edited source). The page fetches one only when a reader opens
a figure's Code view.
"""

from __future__ import annotations

import importlib
import json
import logging
from pathlib import Path

from .catalog import Catalog
from .config import Config
from .errors import DemoBuildError

logger = logging.getLogger(__name__)

FOLDER = "lab"  # beside the demos' folder, whose listing the bundle keeps to its own files
PREFIX = "sources-"


def name_for(catalog: Catalog) -> str:
    """Give the file name pattern of the sources (`{demo}` stands for a demo's name)."""
    return f"{PREFIX}{catalog.digest[:16]}.{{demo}}.json"


def url_from_manifest(config: Config, catalog: Catalog) -> str:
    """Give the sources' pattern as a URL relative to the manifest."""
    depth = len(Path(config.demos_output).parts)
    return "../" * depth + f"{FOLDER}/{name_for(catalog)}"


def lab_demos(catalog: Catalog) -> list[str]:
    """Give the demos that open in the lab (the others' Code view is never offered)."""
    return [name for name in catalog.names() if catalog.has_lab(name)]


def collect(catalog: Catalog) -> dict:
    """Give {demo: {"source": text, "presets": [...]}} for every demo the lab opens."""
    package = catalog.package
    try:
        presets_module = importlib.import_module(f"{package.__name__}.presets")
    except ModuleNotFoundError:  # a package without a lab: sources only
        presets_module = None
    demos = {}
    for name in lab_demos(catalog):
        path = catalog.package_dir / f"{name}.py"
        entry = {"source": path.read_text(encoding="utf-8"), "presets": []}
        for preset in presets_module.presets(name) if presets_module else []:
            try:
                edited = preset.source()
            except Exception as err:  # noqa: BLE001 - any failure names the preset
                raise DemoBuildError(f"preset {name}/{preset.name}: {err}") from None
            entry["presets"].append({**preset.to_json(), "source": edited})
        demos[name] = entry
    return demos


def write(out: Path, catalog: Catalog) -> set[str]:
    """Write each demo's sources file into `out` (once per digest); give their names."""
    pattern = name_for(catalog)
    out.mkdir(parents=True, exist_ok=True)
    # Only the lab's demos get a file, and telling which imports every demo module. When
    # each demo with a source already has its file for this digest, an earlier build of
    # these same sources found them all in the lab: a no-change build imports nothing.
    with_source = [n for n in catalog.names() if (catalog.package_dir / f"{n}.py").is_file()]
    names = {pattern.format(demo=name) for name in with_source}
    if not all((out / name).is_file() for name in names):
        names = {pattern.format(demo=name) for name in lab_demos(catalog)}
        if not all((out / name).is_file() for name in names):
            for demo, entry in collect(catalog).items():
                text = json.dumps(entry, ensure_ascii=False, sort_keys=True)
                (out / pattern.format(demo=demo)).write_text(text, encoding="utf-8")
            logger.debug("wrote the lab's sources for %d demos", len(names))
    for old in out.glob(f"{PREFIX}*.json"):
        if old.name not in names:
            old.unlink()
    return {name for name in names if (out / name).is_file()}
