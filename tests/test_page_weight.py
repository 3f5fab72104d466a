"""Article pages stay within 150 KB before a reader does anything (figures included).

What a browser fetches before interaction is the page, the style sheets and scripts it
links, and the icon; the runner's other modules, Python, the whole figures and the search
index come only on a reader's intent (tests/test_browser_* check that nothing else loads).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from conftest import ROOT

BUDGET = 150 * 1024
LINKED = re.compile(r'<(?:link rel="(?:stylesheet|icon)"[^>]*href|script[^>]*src)="([^"]+)"')
# A module's static imports load with it (`import("...")`, on a reader's intent, does not).
STATIC_IMPORT = re.compile(r'^\s*(?:import|export)\b[^;(]*?["\']([^"\']+\.js)["\']', re.M)


def weight(site: Path, page: Path) -> int:
    """Give the bytes of `page`, of everything it links for loading at once, and of the
    modules those scripts import statically."""
    html = page.read_text(encoding="utf-8")
    files = set()
    for url in LINKED.findall(html):
        path = urlsplit(url).path
        target = site / path.lstrip("/") if path.startswith("/") else page.parent / path
        files.add(target.resolve())
    todo = [f for f in files if f.suffix == ".js"]
    while todo:
        module = todo.pop()
        for name in STATIC_IMPORT.findall(module.read_text(encoding="utf-8")):
            imported = (module.parent / name).resolve()
            if imported not in files:
                files.add(imported)
                todo.append(imported)
    return len(html.encode()) + sum(f.stat().st_size for f in files)


def test_every_article_page_is_within_the_budget(built_site: Path) -> None:
    # Pages (the author's guide shows every demo) are reference, not articles.
    pages = {
        line.split(":", 1)[1].strip()
        for path in ROOT.glob("content/pages/*.md")
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.lower().startswith("slug:")
    }
    articles = [
        p
        for p in built_site.glob("*/index.html")
        if p.parent.name not in pages and '<figure class="demo"' in p.read_text(encoding="utf-8")
    ]
    assert len(articles) >= 10
    heavy = {
        p.parent.name: weight(built_site, p) // 1024
        for p in articles
        if weight(built_site, p) > BUDGET
    }
    assert heavy == {}, f"KB before interaction over {BUDGET // 1024}: {heavy}"


def test_the_measure_counts_linked_files(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "s.css").write_text("x" * 1000)
    page = tmp_path / "a" / "index.html"
    page.write_text('<link rel="stylesheet" href="/s.css"><script src="../s.css"></script>')
    assert weight(tmp_path, page) == len(page.read_text()) + 1000
    # A module's static imports count, once each; what it imports on demand does not.
    (tmp_path / "m.js").write_text('import { a } from "./n.js";\nconst p = import("./lazy.js");\n')
    (tmp_path / "n.js").write_text('export { b } from "./m.js";\n' + "y" * 500)
    (tmp_path / "lazy.js").write_text("z" * 5000)
    page.write_text('<script type="module" src="../m.js"></script>')
    sizes = sum((tmp_path / n).stat().st_size for n in ("m.js", "n.js"))
    assert weight(tmp_path, page) == len(page.read_text()) + sizes
