"""End-to-end: Pelican builds small temporary sites with the project's config, theme, plugin."""

from __future__ import annotations

import gzip
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT
from pyodide_demos import lite, snapshot
from pyodide_demos.config import RUNTIME_FILES
from pyodide_demos.runtime import COMPRESSED

POST = """Title: Two of one, one of another
Date: 2024-01-01
Slug: post

The same demo twice, with different seeds:

```demo {a}
title: First run
seed: 3
```

```demo {a}
seed: 4
caption: Seed four.
```

And another demo:

```demo {b}
```
"""
PLAIN = "Title: No demos\nDate: 2024-01-02\nSlug: plain\n\nJust words.\n"
BAD = """Title: Broken
Date: 2024-01-03
Slug: broken
Summary: a post with a wrong fence

Text.

```demo {a}
seed: 1
nodes: 99
```
"""


def real_demos() -> list[str]:
    done = subprocess.run(
        [sys.executable, "-m", "demos", "list"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.split()


DEMOS = real_demos()
A, B = ("raft", "clocks") if {"raft", "clocks"} <= set(DEMOS) else DEMOS[:2]


def make_site(base: Path, posts: dict[str, str]) -> Path:
    content = base / "content" / "articles"
    content.mkdir(parents=True)
    for name, text in posts.items():
        (content / name).write_text(text)
    return base / "content"


def build(runner, base: Path, content: Path, **overrides: object):
    # No memory snapshot unless a test asks: making one takes Node several seconds, and
    # the one test of it (and the shared real-site build) cover it.
    overrides = {
        "THEME": str(ROOT / "theme"),
        "PLUGIN_PATHS": [str(ROOT / "plugins")],
        "PYODIDE_DEMOS_ROOT": str(ROOT),
        "PYODIDE_DEMOS_SNAPSHOT": False,
        **overrides,
    }
    return runner(content, base / "output", cwd=base, **overrides)


@pytest.fixture(scope="module")
def site(tmp_path_factory, pelican_runner) -> Path:
    base = tmp_path_factory.mktemp("e2e")
    content = make_site(base, {"post.md": POST.format(a=A, b=B), "plain.md": PLAIN})
    done = build(pelican_runner, base, content)
    assert done.returncode == 0, done.stdout + done.stderr
    return base / "output"


def figures(html: str) -> dict[str, str]:
    return dict(
        re.findall(r'(<figure class="demo" id="demo-([a-z]+-\d+)".*?</figure>)', html, re.S)[i][
            ::-1
        ]
        for i in range(html.count('<figure class="demo"'))
    )


def test_figure_markup(site: Path) -> None:
    html = (site / "post" / "index.html").read_text()
    found = figures(html)
    assert list(found) == [f"{A}-1", f"{A}-2", f"{B}-1"]
    first = found[f"{A}-1"]
    defaults = json.loads(
        re.search(r"data-defaults='([^']*)'", first)[1].replace("&quot;", '"').replace("&amp;", "&")
    )
    assert defaults["seed"] == 3
    assert f'data-demo="{A}"' in first
    assert '<figcaption class="demo-title">First run</figcaption>' in first
    assert re.search(r'<div class="demo-output"><svg[^>]*>.*</svg></div>', first, re.S)
    assert '<p class="demo-summary">' in first and '<li class="demo-check" data-ok="' in first
    for name in defaults:
        assert f'name="{name}"' in first
    for action in ("run", "stop", "reset"):
        assert f'data-action="{action}"' in first
    assert '<output class="demo-status" data-state="idle" aria-live="polite">' in first
    assert '<p class="demo-caption">Seed four.</p>' in found[f"{A}-2"]
    assert "demo-caption" not in first


def test_prerendered_svg_is_the_cli_run(site: Path) -> None:
    first = figures((site / "post" / "index.html").read_text())[f"{A}-1"]
    svg = re.search(r'<div class="demo-output">(<svg.*</svg>)</div>', first, re.S)[1]
    cli = subprocess.run(
        [sys.executable, "-m", "demos", "run", A, "--set", "seed=3", "--format", "svg"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.rstrip("\n")
    # The page inlines the run's last moment; the whole figure is a file beside the bundle.
    assert svg == lite.strip_hidden(cli) and len(svg) < len(cli)
    assert not re.search(r'class="[^"]*dm-off', svg)
    whole = re.search(r'data-full-svg="([^"]+)"', first)[1]
    assert (site / "demos" / whole).read_text() == cli
    kept = sorted(p.name for p in (site / "demos" / "figures").iterdir())
    assert whole.split("/")[1] in kept and all(name.endswith(".svg") for name in kept)


def test_lite_figures_keep_nested_groups_and_the_last_stretch() -> None:
    svg = (
        '<svg><g class="dm-state dm-off" data-t="0" data-until="5"><g><path/></g>'
        '<text>old</text></g><g class="dm-state" data-t="5"><text>new</text></g>'
        '<g class="dm-lane"/></svg>'
    )
    assert lite.strip_hidden(svg) == (
        '<svg><g class="dm-state" data-t="5"><text>new</text></g><g class="dm-lane"/></svg>'
    )
    assert lite.split(lite.strip_hidden(svg)) == (lite.strip_hidden(svg), None)
    broken = '<svg><g class="dm-state dm-off"><text>never closed</svg>'
    assert lite.strip_hidden(broken) == broken
    # A figure whose cursor starts at 2 keeps what shows then, and only that.
    assert lite.strip_hidden(svg, keep_at=2) == svg
    assert lite.strip_hidden(svg, keep_at=5) == lite.strip_hidden(svg)


def test_assets_only_on_pages_with_demos(site: Path) -> None:
    post = (site / "post" / "index.html").read_text()
    manifest = re.search(r'data-manifest="\.\./(demos/manifest-[0-9a-f]+\.json)"', post)
    assert manifest and (site / manifest[1]).is_file()
    # The runner's own files, copied by the plugin into a folder named by their hash.
    css = re.search(r'href="\.\./(demos/runner-[0-9a-f]{12}/css/demo\.css)"', post)
    js = re.search(r'src="\.\./(demos/runner-[0-9a-f]{12}/js/demos\.js)"', post)
    assert css and js and (site / css[1]).is_file() and (site / js[1]).is_file()
    # The plugin's style sheet, minified: no comments, fewer bytes, as many rules.
    shipped = (site / css[1]).read_text()
    source = (ROOT / "plugins/pyodide_demos/static/css/demo.css").read_text()
    assert "/*" not in shipped and len(shipped) < len(source)
    assert shipped.count("{") == source.count("{")
    assert len(list((site / "demos").glob("runner-*"))) == 1
    plain = (site / "plain" / "index.html").read_text()
    assert "data-manifest" not in plain and "demo.css" not in plain


def test_manifest_and_wheel(site: Path) -> None:
    (manifest_path,) = (site / "demos").glob("manifest-*.json")
    manifest = json.loads(manifest_path.read_text())
    version = json.loads((ROOT / "node_modules/pyodide/package.json").read_text())["version"]
    assert manifest["runtime"] == {"version": version, "indexURL": f"../pyodide/{version}/"}
    assert set(DEMOS) == set(manifest["demos"])
    assert [p["name"] for p in manifest["demos"][A]["params"]][:4] == [
        "seed",
        "duration",
        "drop",
        "faults",
    ]
    wheel = site / "demos" / manifest["wheel"]
    (runner,) = (site / "demos").glob("runner-*")
    assert sorted(p.name for p in (site / "demos").iterdir()) == sorted(
        [manifest_path.name, wheel.name, lite.FOLDER, runner.name]
    )
    with zipfile.ZipFile(wheel) as whl:
        names = whl.namelist()
        modules = [n for n in names if n.startswith("demos/")]
        assert "demos/__init__.pyc" in names and f"demos/{A}.pyc" in names
        assert all(n.endswith(".pyc") for n in modules), "compiled wheels ship no .py"
        assert any(n.endswith(".dist-info/WHEEL") for n in names)
        # The same magic as this 3.13 interpreter: Pyodide 0.29's CPython loads it.
        assert sys.version_info[:2] == (3, 13)
        assert whl.read("demos/__init__.pyc")[:4] == importlib.util.MAGIC_NUMBER


def test_runtime_copy_is_exactly_the_five_files_and_a_gzipd_wasm(site: Path) -> None:
    (version_dir,) = (site / "pyodide").iterdir()
    packed = [f"{name}.gz" for name in COMPRESSED]
    assert sorted(p.name for p in version_dir.iterdir()) == sorted([*RUNTIME_FILES, *packed])
    for name in RUNTIME_FILES:
        source = ROOT / "node_modules" / "pyodide" / name
        assert (version_dir / name).stat().st_size == source.stat().st_size
    for name in COMPRESSED:
        plain = (ROOT / "node_modules" / "pyodide" / name).read_bytes()
        packed_bytes = (version_dir / f"{name}.gz").read_bytes()
        assert gzip.decompress(packed_bytes) == plain
        assert len(packed_bytes) < len(plain) / 2  # what the worker fetches instead


def test_no_change_rebuild_keeps_outputs(site: Path, pelican_runner) -> None:
    before = {p: p.stat().st_mtime_ns for p in (site / "pyodide").rglob("*") if p.is_file()}
    wheel_before = sorted((site / "demos").iterdir())
    done = build(pelican_runner, site.parent, site.parent / "content")
    assert done.returncode == 0, done.stdout + done.stderr
    assert before == {p: p.stat().st_mtime_ns for p in before}
    assert wheel_before == sorted((site / "demos").iterdir())


def test_bad_fence_fails_with_file_and_line(tmp_path: Path, pelican_runner) -> None:
    content = make_site(tmp_path, {"good.md": PLAIN, "bad.md": BAD.format(a=A)})
    done = build(pelican_runner, tmp_path, content)
    said = (done.stdout + done.stderr).strip()
    line = BAD.splitlines().index("nodes: 99") + 1
    assert done.returncode != 0
    assert said.splitlines()[-1].startswith(f"content/articles/bad.md:{line}: demo {A}: nodes:")
    assert "99" in said and "Traceback" not in said and "Could not process" not in said
    assert len(said.splitlines()) == 1, said
    assert not list((tmp_path / "output").rglob("*.html")), "nothing is written"


def test_not_strict_shows_the_error_on_the_page(tmp_path: Path, pelican_runner) -> None:
    # `make serve` builds this way: the author sees the mistake where the figure would be.
    content = make_site(tmp_path, {"good.md": PLAIN, "bad.md": BAD.format(a=A)})
    done = build(pelican_runner, tmp_path, content, PYODIDE_DEMOS_STRICT=False)
    said = (done.stdout + done.stderr).strip()
    line = BAD.splitlines().index("nodes: 99") + 1
    assert done.returncode == 0, said
    assert f"content/articles/bad.md:{line}: demo {A}: nodes:" in said
    assert "Traceback" not in said
    pages = [
        p
        for p in (tmp_path / "output").rglob("index.html")
        if 'class="demo-build-error"' in p.read_text()
    ]
    assert len(pages) == 1
    box = pages[0].read_text().split('class="demo-build-error"', 1)[1].split("</div>", 1)[0]
    assert f"line {line}: demo {A}: nodes: 99 is above the maximum" in box
    assert '<figure class="demo"' not in pages[0].read_text()


def test_missing_runtime_fails_with_one_line(tmp_path: Path, pelican_runner) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "demos").symlink_to(ROOT / "demos")
    content = make_site(tmp_path, {"plain.md": PLAIN})
    done = build(pelican_runner, tmp_path, content, PYODIDE_DEMOS_ROOT=str(root))
    said = (done.stdout + done.stderr).strip()
    assert done.returncode != 0
    assert "npm ci" in said and len(said.splitlines()) == 1, said


def test_cdn_runtime_copies_nothing(tmp_path: Path, pelican_runner) -> None:
    cdn = "https://cdn.example.org/pyodide/v0.29.5/full"
    content = make_site(tmp_path, {"post.md": POST.format(a=A, b=B)})
    done = build(pelican_runner, tmp_path, content, PYODIDE_DEMOS_RUNTIME=cdn)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not (tmp_path / "output" / "pyodide").exists()
    (manifest,) = (tmp_path / "output" / "demos").glob("manifest-*.json")
    assert json.loads(manifest.read_text())["runtime"]["indexURL"] == cdn + "/"


def test_real_site_pages_link_assets_exactly_when_they_have_demos(built_site: Path) -> None:
    pages = list(built_site.rglob("index.html"))
    with_demos = 0
    for page in pages:
        html = page.read_text()
        ids = re.findall(r'<figure class="demo" id="([^"]+)"', html)
        assert len(ids) == len(set(ids)), f"{page}: figure ids repeat"
        assert bool(ids) == ("data-manifest=" in html), page
        with_demos += bool(ids)
    assert with_demos >= 1


def test_edited_demo_refreshes_cached_pages(
    tmp_path: Path, pelican_runner, fake_demos_root: Path
) -> None:
    root = tmp_path / "root"
    shutil.copytree(fake_demos_root, root)
    (root / "node_modules").symlink_to(ROOT / "node_modules")
    content = make_site(
        tmp_path, {"post.md": "Title: T\nDate: 2024-01-01\nSlug: t\n\n```demo tiny\n```\n"}
    )
    page = tmp_path / "output" / "t" / "index.html"
    for title in ("A token on a ring", "A renamed ring"):
        tiny = root / "fakedemos" / "tiny.py"
        tiny.write_text(re.sub(r'TITLE = ".*"', f'TITLE = "{title}"', tiny.read_text()))
        done = build(
            pelican_runner,
            tmp_path,
            content,
            PYODIDE_DEMOS_ROOT=str(root),
            PYODIDE_DEMOS_PACKAGE="fakedemos",
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert f'<figcaption class="demo-title">{title}</figcaption>' in page.read_text()


def _snapshot_build_id(packed: Path) -> str:
    """Give the Pyodide build id a gzip'd memory snapshot says it was made for."""
    import gzip
    import struct

    with gzip.open(packed, "rb") as raw:
        header = snapshot.unpack(raw.read())[:48]
    words = struct.unpack("<12I", header)
    return "".join(f"{word:08x}" for word in words[4:12])


def test_snapshot_is_made_once_shipped_gzipped_and_can_be_turned_off(
    tmp_path: Path, pelican_runner
) -> None:
    # A copy of the package, so the no-change rebuild below really changes nothing.
    root = tmp_path / "root"
    shutil.copytree(ROOT / "demos", root / "demos", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "node_modules").symlink_to(ROOT / "node_modules")
    content = make_site(tmp_path, {"post.md": POST.format(a=A, b=B)})
    done = build(
        pelican_runner, tmp_path, content, PYODIDE_DEMOS_SNAPSHOT=True, PYODIDE_DEMOS_ROOT=str(root)
    )
    assert done.returncode == 0, done.stdout + done.stderr
    demos_dir = tmp_path / "output" / "demos"
    (manifest_path,) = demos_dir.glob("manifest-*.json")
    name = json.loads(manifest_path.read_text())["snapshot"]
    shipped = demos_dir / name
    assert re.fullmatch(r"python-[0-9a-f]{16}\.snapshot\.gz", name) and shipped.is_file()
    # Made for exactly the pinned runtime: the browser refuses any other build id.
    loader = (ROOT / "node_modules" / "pyodide" / "pyodide.mjs").read_text()
    assert _snapshot_build_id(shipped) == re.search(r'BUILD_ID:"([0-9a-f]{64})"', loader)[1]
    assert shipped.stat().st_size < 12e6  # about 5 MB compressed, from about 21 MB

    cached = next((tmp_path / "cache" / "pyodide_demos" / "snapshots").glob("*.snapshot.gz"))
    made_at = cached.stat().st_mtime_ns
    done = build(
        pelican_runner, tmp_path, content, PYODIDE_DEMOS_SNAPSHOT=True, PYODIDE_DEMOS_ROOT=str(root)
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert cached.stat().st_mtime_ns == made_at, "a no-change build made the snapshot again"
    assert (demos_dir / name).is_file()

    done = build(
        pelican_runner,
        tmp_path,
        content,
        PYODIDE_DEMOS_SNAPSHOT=False,
        PYODIDE_DEMOS_ROOT=str(root),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (manifest_path,) = demos_dir.glob("manifest-*.json")
    assert "snapshot" not in json.loads(manifest_path.read_text())
    assert not list(demos_dir.glob("*.snapshot.gz")), "the old snapshot is dropped"


def test_without_node_the_site_ships_no_snapshot(tmp_path: Path, pelican_runner) -> None:
    content = make_site(tmp_path, {"post.md": POST.format(a=A, b=B)})
    done = build(
        pelican_runner,
        tmp_path,
        content,
        PYODIDE_DEMOS_SNAPSHOT=True,
        PYODIDE_DEMOS_NODE="no-such-node-here",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no-such-node-here" in done.stdout + done.stderr  # one warning says why
    (manifest_path,) = (tmp_path / "output" / "demos").glob("manifest-*.json")
    assert "snapshot" not in json.loads(manifest_path.read_text())


def test_a_snapshot_that_cannot_be_made_is_not_named(tmp_path: Path, pelican_runner) -> None:
    # A Node that fails: the build warns and its manifest names no snapshot, so a page
    # never asks for a file that is not there.
    node = tmp_path / "failing-node"
    node.write_text("#!/bin/sh\necho 'Error: the snapshot broke here' >&2\nexit 3\n")
    node.chmod(0o755)
    content = make_site(tmp_path, {"post.md": POST.format(a=A, b=B)})
    done = build(
        pelican_runner, tmp_path, content, PYODIDE_DEMOS_SNAPSHOT=True, PYODIDE_DEMOS_NODE=str(node)
    )
    assert done.returncode == 0, done.stdout + done.stderr
    log = done.stdout + done.stderr
    assert "could not be made" in log and "the snapshot broke here" in log
    demos_dir = tmp_path / "output" / "demos"
    (manifest_path,) = demos_dir.glob("manifest-*.json")
    assert "snapshot" not in json.loads(manifest_path.read_text())
    assert not list(demos_dir.glob("*.snapshot.gz"))


def test_service_worker_at_the_root_names_this_builds_cache(site: Path) -> None:
    (manifest_path,) = (site / "demos").glob("manifest-*.json")
    offline = json.loads(manifest_path.read_text())["offline"]
    assert offline["serviceWorker"] == "../demos-sw.js"
    worker = (site / "demos-sw.js").read_text()
    build = json.loads(re.match(r"const BUILD = (\{.*?\});\n", worker, re.S)[1])
    assert build["cache"] == offline["cache"]
    version = json.loads((ROOT / "node_modules/pyodide/package.json").read_text())["version"]
    # The bundle's folder, the lab's protocol sources, the runtime: all named by version.
    assert build["versioned"] == ["demos/", "lab/", f"pyodide/{version}/"]
    # What an offline run needs of the runner, and never a page.
    (runner,) = (site / "demos").glob("runner-*")
    assert f"demos/{runner.name}/js/worker.js" in build["assets"]
    assert f"demos/{runner.name}/css/demo.css" in build["assets"]
    assert not [a for a in build["assets"] if a.endswith((".html", "/"))]
    for asset in build["assets"]:
        assert (site / asset).is_file(), asset


def test_no_service_worker_when_the_setting_is_off(tmp_path: Path, pelican_runner) -> None:
    content = make_site(tmp_path, {"post.md": POST.format(a=A, b=B)})
    done = build(pelican_runner, tmp_path, content, PYODIDE_DEMOS_SERVICE_WORKER=None)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not (tmp_path / "output" / "demos-sw.js").exists()
    (manifest_path,) = (tmp_path / "output" / "demos").glob("manifest-*.json")
    assert "offline" not in json.loads(manifest_path.read_text())
