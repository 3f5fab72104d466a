"""The demos package as the plugin sees it: its files, their hash, its demos and specs."""

from __future__ import annotations

import hashlib
import importlib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from .errors import DemoBuildError


def package_files(package_dir: Path) -> list[Path]:
    """Give every file of the package that would ship, sorted, caches left out."""
    return sorted(
        p
        for p in package_dir.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    )


def sources_hash(files: list[Path], base: Path) -> str:
    """Give a hex digest of the files' relative names and bytes."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(base).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


@dataclass
class Catalog:
    """The imported package `name` under `root`, with the hash of the sources it came from."""

    name: str
    root: Path
    files: list[Path] = field(default_factory=list)
    digest: str = ""
    _package: ModuleType | None = None
    _lab_modules: bool | None = None  # whether the package has the lab's modules

    @property
    def package_dir(self) -> Path:
        return self.root / self.name

    def load(self) -> Catalog:
        """Hash the sources; forget the imported package when they changed since."""
        if not (self.package_dir / "__init__.py").is_file():
            raise DemoBuildError(f"no demos package {self.name!r} in {self.root}")
        self.files = package_files(self.package_dir)
        digest = sources_hash(self.files, self.root)
        if digest != self.digest:
            self.digest = digest
            self._package = None
            self._lab_modules = None
        return self

    @property
    def package(self) -> ModuleType:
        """Give the package, imported on first use (a no-change build never needs it)."""
        if self._package is None:
            current = sys.modules.get(self.name)
            if current is not None and self._is_current(current):
                # Already imported from these sources (by a test, or an earlier build):
                # importing again would make a second copy of every class.
                self._package = current
            else:
                # A long-lived `pelican --autoreload` must not keep running edited demos.
                for mod in [
                    m for m in sys.modules if m == self.name or m.startswith(self.name + ".")
                ]:
                    del sys.modules[mod]
                if str(self.root) not in sys.path:
                    sys.path.insert(0, str(self.root))
                importlib.invalidate_caches()
                self._package = importlib.import_module(self.name)
            self._package.__sources_digest__ = self.digest
        return self._package

    def _is_current(self, module: ModuleType) -> bool:
        """Tell whether `module` was imported from this package dir and these sources."""
        origin = getattr(module, "__file__", None)
        if origin is None or Path(origin).resolve().parent != self.package_dir.resolve():
            return False
        return getattr(module, "__sources_digest__", self.digest) == self.digest

    def names(self) -> list[str]:
        return list(self.package.names())

    def module(self, name: str) -> ModuleType:
        """Give demo `name`'s module; a demo that does not import stops the build."""
        try:
            return self.package.get(name)
        except ImportError as err:
            raise DemoBuildError(f"demo {name!r} does not import: {err}") from None

    def has_lab(self, name: str) -> bool:
        """Tell whether demo `name` can open in the lab: the package has the modules the
        lab's worker calls (`edit.load_protocol`, `search.search`) and the demo has a
        protocol source (`<package>/<name>.py`) with the `simulate` an edit replaces."""
        if self._lab_modules is None:
            self._lab_modules = all(
                callable(getattr(self._optional(module), function, None))
                for module, function in (("edit", "load_protocol"), ("search", "search"))
            )
        if not self._lab_modules or not (self.package_dir / f"{name}.py").is_file():
            return False
        return callable(getattr(self.module(name), "simulate", None))

    def _optional(self, module: str) -> ModuleType | None:
        """Give `<package>.<module>`, None when the package has no such module; one that is
        there but fails to import stops the build (a broken lab is not a missing one)."""
        full = f"{self.package.__name__}.{module}"
        try:
            return importlib.import_module(full)
        except ModuleNotFoundError as err:
            if err.name != full:
                raise DemoBuildError(f"{full} does not import: {err}") from None
            return None
        except ImportError as err:
            raise DemoBuildError(f"{full} does not import: {err}") from None

    @property
    def param_error(self) -> type[Exception]:
        """Give the package's error for bad input (ParamError and ScheduleError derive it)."""
        return self.package.DemoError

    def resolve(self, module: ModuleType, given: dict) -> dict:
        """Give `module`'s effective params for `given`, checked by the package's own rules."""
        params = importlib.import_module(f"{self.name}.params")
        return params.resolve(module.PARAMS, given, module.node_names)

    def manifest_demos(self) -> dict:
        """Give each demo's title and param specs, as the browser manifest lists them."""
        out = {}
        for name in self.names():
            module = self.module(name)
            out[name] = {"title": module.TITLE, "params": [p.to_json() for p in module.PARAMS]}
        return out
