"""The ```demo NAME fence: a Markdown preprocessor that turns it into a prerendered figure."""

from __future__ import annotations

import math
import re
import time
from html import escape

from markdown import Markdown
from markdown.extensions import Extension
from markdown.preprocessors import Preprocessor

from .catalog import Catalog
from .errors import FenceError
from .figure import PageShared, figure
from .prerender import Prerenderer

# Keys about the figure rather than the run: its heading, caption, id and starting moment.
FIGURE_KEYS = ("title", "caption", "id", "at")

SLUG = re.compile(
    r"""
    [a-z0-9]+              # lowercase letters and digits,
    (?:-[a-z0-9]+)*        # in words joined by single hyphens: safe in an id and a URL
""",
    re.VERBOSE,
)
SLUG_MAX = 50

OPEN = re.compile(
    r"""
    ^(?P<indent>[ ]{0,3})      # up to three spaces, as any fence may have
    (?P<fence>`{3,}|~{3,})     # three or more backticks or tildes
    [ ]*demo(?:[ ]+|$)         # the info string's first word is `demo`
    (?P<name>.*?)[ ]*$         # the demo's name, checked against the package
""",
    re.VERBOSE,
)

ANY_FENCE = re.compile(
    r"""
    ^[ ]{0,3}                  # up to three spaces
    (?P<fence>`{3,}|~{3,})     # a fence of some other code block, or a closing fence
    (?P<info>.*)$              # its info string (a closing fence has none)
""",
    re.VERBOSE,
)

ENTRY = re.compile(
    r"""
    ^[ ]*(?P<key>[A-Za-z_][\w-]*)  # a parameter name, or title / caption / id / at
    [ ]*:                          # the colon that separates key and value
    [ ]*(?P<value>.*?)[ ]*$        # the value, trimmed
""",
    re.VERBOSE,
)


class DemoFenceExtension(Extension):
    """Adds the demo fence; shared by every Markdown instance Pelican builds."""

    def __init__(
        self, catalog: Catalog, prerenderer: Prerenderer, *, strict: bool = True, **kwargs: object
    ) -> None:
        self.catalog = catalog
        self.prerenderer = prerenderer
        # Not strict (while serving): a bad fence becomes an error box on its page.
        self.strict = strict
        self.seconds = 0.0  # time spent on fences this build, for the benchmark
        super().__init__(**kwargs)

    def __reduce__(self) -> tuple:
        # Settings (which hold this extension) get pickled into Pelican's content cache.
        return (dict, ())

    def extendMarkdown(self, md: Markdown) -> None:  # noqa: N802 - Python-Markdown's name
        # Between whitespace normalising (30) and the metadata header (27): how many lines
        # the header takes is the shift from body lines back to file lines.
        md.preprocessors.register(_LineMark(md), "demo_line_mark", 28)
        # Before fenced_code (25), so it never sees a demo fence as a code block.
        md.preprocessors.register(DemoFencePreprocessor(md, self), "demo_fence", 26)


class _LineMark(Preprocessor):
    def run(self, lines: list[str]) -> list[str]:
        # Per-document state lives on `md`, set afresh by each conversion.
        self.md.demo_lines_before_meta = len(lines)
        self.md.demo_counts = {}
        self.md.demo_ids = {}  # slug -> the line of the figure that has it
        self.md.demo_page = PageShared()  # what the page's figures already hold
        return lines


class DemoFencePreprocessor(Preprocessor):
    """Replaces each demo fence by a stashed figure; FenceError names the source line."""

    def __init__(self, md: Markdown, ext: DemoFenceExtension) -> None:
        super().__init__(md)
        self.ext = ext

    def run(self, lines: list[str]) -> list[str]:
        start = time.perf_counter()
        try:
            return self._replace_fences(lines)
        finally:
            self.ext.seconds += time.perf_counter() - start

    def _replace_fences(self, lines: list[str]) -> list[str]:
        offset = getattr(self.md, "demo_lines_before_meta", len(lines)) - len(lines)
        out: list[str] = []
        i = 0
        while i < len(lines):
            opening = OPEN.match(lines[i]) or ANY_FENCE.match(lines[i])
            if not opening:
                out.append(lines[i])
                i += 1
                continue
            end = _closing(lines, i + 1, opening["fence"])
            if "name" not in opening.groupdict():  # another code block: leave it whole
                stop = len(lines) if end is None else end + 1
                out.extend(lines[i:stop])
                i = stop
                continue
            if end is None:
                raise FenceError(
                    i + 1 + offset,
                    f"the demo fence is never closed (add a line "
                    f"{opening['fence']} after its settings)",
                )
            try:
                html = self._figure(opening["name"], lines[i + 1 : end], i + 1 + offset)
            except FenceError as err:
                if self.ext.strict:
                    raise
                # Kept across conversions: Pelican converts the metadata with this same
                # instance after the body, and each file gets a new instance anyway.
                self.md.__dict__.setdefault("demo_errors", []).append(err)
                html = error_box(err)
            out.extend(["", self.md.htmlStash.store(html), ""])
            i = end + 1
        return out

    def _figure(self, name: str, body: list[str], line: int) -> str:
        catalog = self.ext.catalog
        known = catalog.names()
        if name not in known:
            what = f"unknown demo {name!r}" if name else "a demo fence needs a demo name"
            raise FenceError(line, f"{what} (known: {', '.join(known)})")
        module = catalog.module(name)
        specs = {p.name: p for p in module.PARAMS}
        entries = _entries(name, body, line, [*specs, *FIGURE_KEYS])
        params = _params(catalog, module, name, specs, entries, line)
        number = self.md.demo_counts.get(name, 0) + 1
        slug, slug_line = self._slug(name, entries, number, line)
        at = _moment(name, entries, params)
        try:
            rendered = self.ext.prerenderer.render(catalog, name, params)
        except catalog.param_error as err:
            raise FenceError(_line_of(err, entries, line), f"demo {name}: {err}") from None
        except Exception as err:  # a bug in a demo: report it where the build met it
            sets = " ".join(f"--set {k}={v!r}" for k, v in params.items())
            raise FenceError(
                line,
                f"demo {name} failed: {type(err).__name__}: {err} "
                f"(reproduce: python -m {catalog.name} run {name} {sets})",
            ) from None
        # Every figure takes its number, also one with its own id, so giving one figure an
        # id never renames the others (their ids are in readers' links).
        self.md.demo_counts[name] = number
        self.md.demo_ids[slug] = slug_line
        return figure(
            slug=slug,
            demo=name,
            title=entries.get("title", (0, ""))[1] or module.TITLE,
            caption=entries.get("caption", (0, ""))[1],
            params=params,
            specs=module.PARAMS,
            rendered=rendered,
            at=at,
            page=self.md.demo_page,
            lab=catalog.has_lab(name),
        )

    def _slug(
        self, name: str, entries: dict[str, tuple[int, str]], number: int, line: int
    ) -> tuple[str, int]:
        """Give the figure's slug (its `id:`, else `<demo>-<number>`) and the line that set
        it; FenceError if it is not a slug or another figure of the post has it."""
        if "id" in entries:
            where, slug = entries["id"]
            if not SLUG.fullmatch(slug) or len(slug) > SLUG_MAX:
                raise FenceError(
                    where,
                    f"demo {name}: id: {slug!r} is not a slug (lowercase "
                    f"letters and digits, words joined by '-', at most "
                    f"{SLUG_MAX} characters)",
                )
        else:
            where, slug = line, f"{name}-{number}"
        first = self.md.demo_ids.get(slug)
        if first is not None:
            raise FenceError(
                where,
                f"demo {name}: duplicate figure id 'demo-{slug}' (the "
                f"figure on line {first} has it; give one an id: of its "
                f"own)",
            )
        return slug, where


def error_box(err: FenceError) -> str:
    """Give the HTML that stands in for a figure whose fence is wrong (not strict)."""
    return (
        '<div class="demo-build-error" role="alert"><strong>This demo did not build.'
        f"</strong> {escape(str(err))}</div>"
    )


def _closing(lines: list[str], start: int, fence: str) -> int | None:
    """Give the index of the line closing `fence`, or None."""
    for j in range(start, len(lines)):
        m = ANY_FENCE.match(lines[j])
        if (
            m
            and not m["info"].strip()
            and m["fence"][0] == fence[0]
            and len(m["fence"]) >= len(fence)
        ):
            return j
    return None


def _entries(name: str, body: list[str], line: int, known: list[str]) -> dict[str, tuple[int, str]]:
    """Give each `key: value` of the fence body with the file line it stands on."""
    entries: dict[str, tuple[int, str]] = {}
    for number, text in enumerate(body, start=line + 1):
        if not text.strip():
            continue
        m = ENTRY.match(text)
        if not m:
            raise FenceError(number, f"demo {name}: expected 'key: value', got {text.strip()!r}")
        key = m["key"]
        if key in entries:
            raise FenceError(
                number, f"demo {name}: duplicate key {key!r} (first on line {entries[key][0]})"
            )
        if key not in known:
            raise FenceError(
                number, f"demo {name}: unknown key {key!r} (known: {', '.join(known)})"
            )
        entries[key] = (number, m["value"])
    return entries


def _params(
    catalog: Catalog,
    module: object,
    name: str,
    specs: dict,
    entries: dict[str, tuple[int, str]],
    line: int,
) -> dict:
    """Give the figure's effective params; each error points at the key that caused it."""
    given = {}
    for key, (number, value) in entries.items():
        if key in specs:
            try:
                given[key] = specs[key].coerce(value)
            except catalog.param_error as err:
                raise FenceError(number, f"demo {name}: {err}") from None
            except Exception as err:  # the package's own code failed
                raise FenceError(
                    number, f"demo {name}: reading {key} failed: {type(err).__name__}: {err}"
                ) from None
    try:
        return catalog.resolve(module, given)
    except catalog.param_error as err:
        raise FenceError(_line_of(err, entries, line), f"demo {name}: {err}") from None
    except Exception as err:  # the package's own code failed (or does not fit the plugin)
        raise FenceError(
            line, f"demo {name}: resolving its params failed: {type(err).__name__}: {err}"
        ) from None


def _moment(name: str, entries: dict[str, tuple[int, str]], params: dict) -> float | None:
    """Give the `at:` moment in ms where the figure's cursor starts, None without one."""
    if "at" not in entries:
        return None
    where, text = entries["at"]
    try:
        t = float(text)
    except ValueError:
        t = math.nan
    if not math.isfinite(t):
        raise FenceError(
            where, f"demo {name}: at: {text!r} is not a moment in ms (a number such as 2500)"
        )
    duration = float(params.get("duration", math.inf))
    if not 0 <= t <= duration:
        raise FenceError(
            where, f"demo {name}: at: {text} is outside the run (0 to {duration:g} ms)"
        )
    return t


def _line_of(err: Exception, entries: dict[str, tuple[int, str]], line: int) -> int:
    """Give the line of the key an error message starts with (`faults: ...`), else `line`."""
    key = str(err).split(":", 1)[0].strip()
    return entries[key][0] if key in entries else line
