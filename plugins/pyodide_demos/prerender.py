"""Build-time runs of the demos, each demo and params computed once per sources hash."""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from .catalog import Catalog


@dataclass(frozen=True)
class Rendered:
    """What a figure shows of a run: the SVG, the summary and the checks."""

    svg: str
    summary: str
    checks: tuple[dict, ...]


class Prerenderer:
    """Runs demos in CPython, remembering results in memory and under `cache_dir`."""

    def __init__(self, cache_dir: Path | None) -> None:
        self.cache_dir = cache_dir
        self.memory: dict[str, Rendered] = {}
        self.runs = 0  # fresh simulations this process did, for the benchmark

    def prune(self, digest: str) -> None:
        """Forget results of sources other than `digest`."""
        self.memory = {k: v for k, v in self.memory.items() if k.startswith(digest[:16])}
        if self.cache_dir and self.cache_dir.is_dir():
            for old in self.cache_dir.iterdir():
                if old.name != digest[:16]:
                    shutil.rmtree(old, ignore_errors=True)

    def svgs(self, digest: str) -> list[str]:
        """Give every figure rendered for sources `digest`, in this process or (from the
        disk cache) in earlier builds whose pages Pelican may serve from its own cache."""
        found = {k: r.svg for k, r in self.memory.items() if k.startswith(digest[:16])}
        folder = self.cache_dir / digest[:16] if self.cache_dir else None
        if folder and folder.is_dir():
            for path in sorted(folder.glob("*.json")):
                found.setdefault(f"{digest[:16]}/{path.stem}", json.loads(path.read_text())["svg"])
        return [found[k] for k in sorted(found)]

    def render(self, catalog: Catalog, name: str, params: dict) -> Rendered:
        """Give the run of demo `name` with effective `params`."""
        canonical = json.dumps([name, params], sort_keys=True, ensure_ascii=False)
        key = f"{catalog.digest[:16]}/{hashlib.sha256(canonical.encode()).hexdigest()[:24]}"
        if key in self.memory:
            return self.memory[key]
        disk = self.cache_dir / f"{key}.json" if self.cache_dir else None
        if disk and disk.is_file():
            rendered = Rendered(**json.loads(disk.read_text()))
            rendered = Rendered(rendered.svg, rendered.summary, tuple(rendered.checks))
        else:
            result = catalog.package.run(name, params)
            self.runs += 1
            rendered = Rendered(
                result.svg, result.summary, tuple(c.to_json() for c in result.checks)
            )
            if disk:
                disk.parent.mkdir(parents=True, exist_ok=True)
                tmp = disk.with_suffix(".tmp")
                tmp.write_text(
                    json.dumps(
                        {
                            "svg": rendered.svg,
                            "summary": rendered.summary,
                            "checks": list(rendered.checks),
                        }
                    )
                )
                tmp.replace(disk)
        self.memory[key] = rendered
        return rendered
