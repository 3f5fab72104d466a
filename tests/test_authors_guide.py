"""The author's guide page: it builds, its links resolve, and what it claims stays true.

The key tables are generated from the demos' PARAMS and compared back to them, so a
changed default or bound fails here instead of going stale. Rewrite the tables with
`UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_authors_guide.py`.

The guide marks its examples by their fences:
- ```demo fences are real figures; the build must render each one;
- ````markdown blocks show fences that must render as they stand;
- ````text blocks that hold a ```demo fence show a mistake and, after it, the exact
  `content/articles/my-post.md:LINE: message` the build gives when the fence opens on
  line 12 of that file;
- the ```python blocks with `NAME = "ping"` and `from demos import ParamError, ping` are
  the worked example and its tests, run here against a copy of the package.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType
from urllib.parse import unquote, urljoin, urlsplit

import pytest
from markdown import Markdown
from pyodide_demos import purity
from pyodide_demos.catalog import Catalog, package_files
from pyodide_demos.errors import FenceError
from pyodide_demos.fence import DemoFenceExtension
from pyodide_demos.prerender import Prerenderer

import demos

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "content" / "pages" / "authors-guide.md"
PAGE = "authors-guide/index.html"
START, END = "<!-- demo-keys:start -->", "<!-- demo-keys:end -->"
ERROR_LINE = re.compile(r"^content/articles/my-post\.md:(?P<line>\d+): (?P<message>.*)$")
FENCE_LINE = 12  # where the error examples' fences open in my-post.md
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


# -- reading the guide's source ------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """A top-level fenced block of the guide: its fence, info string, and inner lines."""

    fence: str
    info: str
    body: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.body)


OPENING = re.compile(r"^[ ]{0,3}(?P<fence>`{3,}|~{3,})[ ]*(?P<info>.*?)[ ]*$")


def blocks(text: str) -> list[Block]:
    """Give the guide's top-level fenced blocks in order (a fence inside one is its text)."""
    lines = text.splitlines()
    found, i = [], 0
    while i < len(lines):
        m = OPENING.match(lines[i])
        if not m:
            i += 1
            continue
        fence, end = m["fence"], i + 1
        while end < len(lines):
            close = OPENING.match(lines[end])
            if (
                close
                and not close["info"]
                and close["fence"][0] == fence[0]
                and len(close["fence"]) >= len(fence)
            ):
                break
            end += 1
        found.append(Block(fence, m["info"], tuple(lines[i + 1 : end])))
        i = end + 1
    return found


def guide_blocks() -> list[Block]:
    return blocks(GUIDE.read_text(encoding="utf-8"))


def demo_fences(text: str) -> list[tuple[str, dict[str, str]]]:
    """Give (demo name, {key: value}) of each ```demo fence inside `text`."""
    out = []
    for block in blocks(text):
        if block.info.split()[:1] == ["demo"]:
            entries = dict(line.split(":", 1) for line in block.body if line.strip())
            out.append((block.info.split()[1], {k.strip(): v.strip() for k, v in entries.items()}))
    return out


# -- the key tables: generated from PARAMS, parsed back from the guide ---------------------


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _escape(text: str) -> str:
    """Give plain text as a Markdown table cell shows it verbatim."""
    return re.sub(r"([\\`*_|])", r"\\\1", text).replace("<", "&lt;")


def _unescape(cell: str) -> str:
    return re.sub(r"\\([\\`*_|])", r"\1", cell).replace("&lt;", "<")


def default_cell(spec: object) -> str:
    if spec.kind in ("int", "float"):
        return f"`{_number(spec.default)}`"
    return f"`{spec.default}`" if spec.default else "*empty*"


def range_cell(spec: object) -> str:
    if spec.kind in ("int", "float"):
        return f"{_number(spec.min)} to {_number(spec.max)}"
    if spec.kind == "choice":
        return ", ".join(f"`{c}`" for c in spec.choices)
    return "fault schedule" if spec.kind == "schedule" else "free text"


def key_tables() -> str:
    """Give the Markdown of every demo's key table, from the package itself."""
    parts = []
    for name in demos.names():
        module = demos.get(name)
        parts += [
            f"#### `{name}`: {module.TITLE}",
            "",
            "| Key | Type | Default | Range or choices | What it sets |",
            "| --- | --- | --- | --- | --- |",
        ]
        parts += [
            f"| `{p.name}` | {p.kind} | {default_cell(p)} | {range_cell(p)} | {_escape(p.help)} |"
            for p in module.PARAMS
        ]
        parts.append("")
    return "\n".join(parts)


def cells(row: str) -> list[str]:
    """Give a table row's cells: `|` splits them unless escaped or inside a code span."""
    out, cell, code, i = [], "", False, 0
    while i < len(row):
        ch = row[i]
        if ch == "\\" and not code:
            cell += row[i : i + 2]
            i += 2
            continue
        if ch == "`":
            code = not code
        if ch == "|" and not code:
            out.append(cell.strip())
            cell = ""
        else:
            cell += ch
        i += 1
    return out[1:]


def guide_tables(text: str) -> dict[str, list[list[str]]]:
    """Give each demo's table rows (as cells) from between the guide's markers."""
    assert START in text and END in text, f"the guide lost its {START} / {END} markers"
    section = text.split(START, 1)[1].split(END, 1)[0]
    tables: dict[str, list[list[str]]] = {}
    current = None
    for line in section.splitlines():
        heading = re.match(r"^#{3,4} `([\w-]+)`", line)
        if heading:
            current = heading[1]
            tables[current] = []
        elif line.startswith("| `") and current:
            tables[current].append(cells(line))
    return tables


def test_key_tables_match_the_params_of_every_demo() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    if UPDATE:
        head, rest = text.split(START, 1)
        text = f"{head}{START}\n\n{key_tables()}\n{END}{rest.split(END, 1)[1]}"
        GUIDE.write_text(text, encoding="utf-8")
    tables = guide_tables(text)
    hint = "regenerate with UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_authors_guide.py"
    assert list(tables) == demos.names(), hint
    for name, rows in tables.items():
        module: ModuleType = demos.get(name)
        assert [r[0].strip("`") for r in rows] == [p.name for p in module.PARAMS], (name, hint)
        for row, spec in zip(rows, module.PARAMS, strict=True):
            key, kind, default, bounds, help_text = row
            where = f"{name}.{spec.name}: {hint}"
            assert kind == spec.kind, where
            shown = "" if default == "*empty*" else default.strip("`")
            assert spec.coerce(shown) == spec.default, where
            if spec.kind in ("int", "float"):
                low, high = re.fullmatch(r"(\S+) to (\S+)", bounds).groups()
                assert (float(low), float(high)) == (spec.min, spec.max), where
            elif spec.kind == "choice":
                assert re.findall(r"`([^`]+)`", bounds) == list(spec.choices), where
            assert _unescape(help_text) == spec.help, where


def test_the_table_parser_reads_back_what_the_generator_writes() -> None:
    tables = guide_tables(f"{START}\n{key_tables()}\n{END}")
    faults = next(r for r in tables["raft"] if r[0] == "`faults`")
    assert _unescape(faults[4]) == demos.get("raft").PARAMS[3].help
    assert "|" in faults[4], "a pipe in a help text must survive the round trip"


# -- the built page ------------------------------------------------------------------------


class Links(HTMLParser):
    """The ids, fetched or followed URLs, title and figures of one HTML page."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.urls: list[str] = []
        self.figures: list[dict[str, str]] = []
        self.title = ""
        self._in_title = False
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "id" in a:
            self.ids.add(a["id"])
        self.urls += [a[k] for k in ("href", "src") if k in a]
        if tag == "figure" and "demo" in a.get("class", "").split():
            self.figures.append(a)
        self._in_title = tag == "title"

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False


def read_page(path: Path) -> Links:
    return Links(path.read_text(encoding="utf-8"))


def test_the_guide_page_is_built_and_listed(built_site: Path) -> None:
    page = read_page(built_site / PAGE)
    assert page.title.startswith("Author's guide")
    home = read_page(built_site / "index.html")
    assert any(urlsplit(u).path.rstrip("/").endswith("authors-guide") for u in home.urls)


def test_every_link_on_the_guide_resolves(built_site: Path) -> None:
    problems = []
    base = f"http://host.invalid/sub/{PAGE}"
    for url in read_page(built_site / PAGE).urls:
        if re.match(r"^(?:[a-z][a-z0-9+.-]*:)?//", url, re.I) or url.startswith("mailto:"):
            continue
        parts = urlsplit(urljoin(base, url))
        if not parts.path.startswith("/sub/"):
            problems.append(f"{url} climbs above the site root")
            continue
        target = built_site / unquote(parts.path[len("/sub/") :])
        target = target / "index.html" if target.is_dir() else target
        if not target.is_file():
            problems.append(f"{url} leads nowhere")
        elif (
            parts.fragment
            and target.suffix == ".html"
            and parts.fragment not in read_page(target).ids
        ):
            problems.append(f"{url}: no element with that id")
    assert not problems, "\n".join(problems)


def test_every_demo_fence_in_the_guide_renders(built_site: Path) -> None:
    fences = demo_fences(GUIDE.read_text(encoding="utf-8"))
    assert fences, "the guide shows no live figure"
    figures = read_page(built_site / PAGE).figures
    assert [f["data-demo"] for f in figures] == [name for name, _ in fences]
    seen: dict[str, int] = {}
    for (name, entries), fig in zip(fences, figures, strict=True):
        seen[name] = seen.get(name, 0) + 1
        assert fig["id"] == f"demo-{name}-{seen[name]}"
        defaults = json.loads(html.unescape(fig["data-defaults"]))
        specs = {p.name: p for p in demos.get(name).PARAMS}
        for key, value in entries.items():
            if key not in ("title", "caption"):
                assert defaults[key] == specs[key].coerce(value), (name, key)


def test_each_live_figure_shows_its_source_first() -> None:
    shown = [b.text for b in guide_blocks() if b.fence.startswith("````")]
    for block in guide_blocks():
        if block.info.split()[:1] == ["demo"]:
            source = "\n".join((f"{block.fence}{block.info}", *block.body, block.fence))
            assert any(source in text for text in shown), f"no example shows:\n{source}"


# -- the examples, through the real fence and the real demos -------------------------------


@pytest.fixture(scope="module")
def extension() -> DemoFenceExtension:
    return DemoFenceExtension(Catalog("demos", ROOT).load(), Prerenderer(None))


def convert(extension: DemoFenceExtension, text: str) -> str:
    md = Markdown(
        extensions=["markdown.extensions.extra", "markdown.extensions.meta", extension],
        output_format="html5",
    )
    return md.convert(text)


def test_markdown_examples_render(extension: DemoFenceExtension) -> None:
    examples = [b for b in guide_blocks() if b.info == "markdown" and demo_fences(b.text)]
    assert examples, "the guide has no ````markdown example of a fence"
    for block in examples:
        out = convert(extension, block.text)
        assert out.count('<figure class="demo"') == len(demo_fences(block.text)), block.text


def error_examples() -> list[tuple[str, int, str]]:
    """Give (fence text, line, message) for each mistake the guide shows in ````text."""
    found = []
    for block in guide_blocks():
        if block.info != "text" or not any(line.startswith("```demo") for line in block.body):
            continue
        chunk: list[str] = []
        for line in block.body:
            m = ERROR_LINE.match(line)
            if m:
                found.append(("\n".join(chunk), int(m["line"]), m["message"]))
                chunk = []
            elif line.strip() or chunk:
                chunk.append(line)
        assert not "".join(chunk).strip(), f"a mistake without its error:\n{chunk}"
    return found


def known_any(message: str) -> str:
    return re.sub(r"\(known: [^)]*\)", "(known: ...)", message)


def test_error_examples_give_the_errors_the_guide_shows(extension: DemoFenceExtension) -> None:
    examples = error_examples()
    assert len(examples) >= 15, "the guide should show every kind of fence mistake"
    for fence, line, message in examples:
        with pytest.raises(FenceError) as caught:
            convert(extension, "\n" * (FENCE_LINE - 1) + fence + "\n")
        # The list of known demos grows with the package; the guide shows it as it is today.
        got = (caught.value.line, known_any(caught.value.message))
        assert got == (line, known_any(message)), fence


# -- the worked example is a demo that passes the contract ---------------------------------


def python_block(marker: str) -> str:
    found = [b.text for b in guide_blocks() if b.info == "python" and marker in b.text]
    assert len(found) == 1, f"expected one python block holding {marker!r}"
    return found[0] + "\n"


def run_in(root: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(root), **env},
    )


def test_the_worked_example_is_a_working_demo(tmp_path: Path) -> None:
    shutil.copytree(
        ROOT / "demos", tmp_path / "demos", ignore=shutil.ignore_patterns("__pycache__")
    )
    (tmp_path / "demos" / "ping.py").write_text(python_block('NAME = "ping"'))
    (tmp_path / "demos" / "ping_draw.py").write_text(python_block('"""The ping figure'))
    registry = tmp_path / "demos" / "registry.py"
    source = registry.read_text()
    patched = re.sub(
        r"^NAMES = \(([^)]*?),?\s*\)$", r'NAMES = (\1, "ping")', source, count=1, flags=re.M | re.S
    )
    assert patched != source, "registry.py no longer has a NAMES tuple"
    registry.write_text(patched)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_ping.py").write_text(
        python_block("from demos import ParamError, ping")
    )
    shutil.copyfile(ROOT / "tests" / "test_contract.py", tmp_path / "tests" / "test_contract.py")
    shutil.copyfile(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")

    assert "ping" in run_in(tmp_path, "-m", "demos", "list").stdout.split()
    done = run_in(tmp_path, "-m", "demos", "run", "ping", "--format", "text")
    assert done.returncode == 0 and "pings answered" in done.stdout, done.stderr
    files = package_files(tmp_path / "demos")
    assert purity.violations(tmp_path / "demos", files, tmp_path) == []

    pytest_args = ("-m", "pytest", "-q", "-p", "no:cacheprovider")
    made = run_in(tmp_path, *pytest_args, "tests/test_ping.py", UPDATE_GOLDEN="1")
    assert made.returncode == 0, made.stdout + made.stderr
    checked = run_in(tmp_path, *pytest_args, "tests/test_ping.py")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # Every contract test that is parametrized by demo, for the new demo.
    contract = run_in(tmp_path, *pytest_args, "tests/test_contract.py", "-k", "ping")
    assert contract.returncode == 0, contract.stdout + contract.stderr
    assert re.search(r"\b([4-9]|1[0-9]) passed", contract.stdout), contract.stdout


def test_the_worked_example_says_how_many_lines_it_took() -> None:
    protocol = python_block('NAME = "ping"').rstrip("\n").splitlines()
    figure = python_block('"""The ping figure').rstrip("\n").splitlines()
    said = re.search(
        r"It took (\d+) lines: (\d+) of protocol,\s+check and summary, and "
        r"(\d+) of figure",
        GUIDE.read_text(),
    )
    assert said, "the worked example should say how many lines it took"
    assert [int(n) for n in said.groups()] == [
        len(protocol) + len(figure),
        len(protocol),
        len(figure),
    ]
    assert len(protocol) + len(figure) < 250 and len(figure) < 80
