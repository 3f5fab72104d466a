"""The engine in someone else's Pelican site: the plugin installed as the distribution
`pelican-pyodide-demos` (plugins/pyproject.toml), Pelican's stock theme, and a demos package
of the site's own (tests/fixtures/engine_site: `pingkit`, no code from `demos`).

The build checks run without a browser; the last test (marked `browser`) serves the site on
127.0.0.1 under /blog/ and runs the figure again in Debian's chromium.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pyodide_demos.catalog import Catalog

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = Path(__file__).parent / "fixtures" / "engine_site"
PELICAN = Path(sys.executable).with_name("pelican")
PORT = 8133
BOOT_MS = 60_000  # a cold Python start without a snapshot on a loaded 2-core machine
RUNNER = r"assets/demos/runner-[0-9a-f]{12}"


def install_plugin(target: Path) -> Path:
    """Give the folder `pelican-pyodide-demos` was pip-installed into (from a copy of
    plugins/, so no build files land in the repository)."""
    source = target / "src"
    shutil.copytree(
        ROOT / "plugins",
        source,
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "dist"),
    )
    # `build` folders are left out above (setuptools' own); the runner's bundle is not.
    editor = ROOT / "plugins/pyodide_demos/static/build"
    if editor.is_dir():
        shutil.copytree(editor, source / "pyodide_demos/static/build")
    packages = target / "site-packages"
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps"]
    command += ["--no-build-isolation", "--no-compile", "--target", str(packages), str(source)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return packages


def make_site(folder: Path) -> Path:
    """Give a copy of the fixture site in `folder`, the Pyodide runtime installed beside it
    (a link to this repository's node_modules: what `npm install pyodide` gives)."""
    site = folder / "site"
    shutil.copytree(FIXTURE, site, ignore=shutil.ignore_patterns("__pycache__"))
    (site / "node_modules").symlink_to(ROOT / "node_modules", target_is_directory=True)
    return site


def build(site: Path, packages: Path | None, *settings: str) -> subprocess.CompletedProcess:
    """Give the finished `pelican` run of `site` (PYTHONPATH: the installed plugin only)."""
    env = {**os.environ, "COLUMNS": "250", "PYTHONPATH": str(packages or "")}
    command = [str(PELICAN), "content", "-s", "pelicanconf.py", "-o", "output"]
    command += ["--log-handler", "plain", *settings]
    return subprocess.run(
        command, cwd=site, capture_output=True, text=True, env=env, timeout=600, check=False
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return install_plugin(tmp_path_factory.mktemp("engine-install"))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, installed: Path) -> Path:
    """Give the output folder of the fixture site built with the installed plugin."""
    site = make_site(tmp_path_factory.mktemp("engine-site"))
    done = build(site, installed)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ERROR" not in done.stdout + done.stderr, done.stdout + done.stderr
    return site / "output"


def test_the_plugin_installs_as_a_namespace_plugin(installed: Path) -> None:
    package = installed / "pelican" / "plugins" / "pyodide_demos"
    assert (package / "__init__.py").is_file() and (package / "plugin.py").is_file()
    # Pelican's own packages stay Pelican's: the distribution adds only its folder.
    assert not (installed / "pelican" / "__init__.py").exists()
    assert not (installed / "pelican" / "plugins" / "__init__.py").exists()
    for name in ("js/demos.js", "js/worker.js", "js/page.js", "css/demo.css"):
        assert (package / "static" / name).is_file(), name
    assert (package / "service_worker.js").is_file()
    done = subprocess.run(
        [sys.executable, "-c", "import pelican.plugins.pyodide_demos as p; print(p.__file__)"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(installed)},
        cwd=installed.parent,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()).parent == package


def test_stock_theme_page_has_the_figure_and_the_runner(built: Path, installed: Path) -> None:
    page = (built / "pings.html").read_text(encoding="utf-8")
    assert 'class="demo" id="demo-ping-1" data-demo="ping"' in page
    assert "<svg" in page and "pings answered (seed 3)" in page
    assert '<input id="demo-ping-1-seed" name="seed"' in page
    # notmyidea knows nothing of demo_assets: the plugin put the tags before </head>.
    head = page[: page.index("</head>")]
    css = re.search(rf'<link rel="stylesheet" href="\./({RUNNER}/css/demo\.css)">', head)
    js = re.search(
        rf'<script type="module" src="\./({RUNNER}/js/demos\.js)" '
        r'data-manifest="\./(assets/demos/manifest-[0-9a-f]{16}\.json)"></script>',
        head,
    )
    assert css and js, head
    assert page.count("data-manifest=") == 1
    for asset in (css[1], js[1], js[2]):
        assert (built / asset).is_file(), asset
    # The copied runner is the installed plugin's, modules beside the entry; byte for byte
    # but for the style sheet, which goes out minified.
    from pyodide_demos import assets

    runner = built / css[1].rsplit("/css/", 1)[0]
    static = installed / "pelican/plugins/pyodide_demos/static"
    for name in ("js/worker.js", "js/figure.js", "css/demo.css"):
        assert (runner / name).read_bytes() == assets.shipped(static / name), name
    # The stock theme's own files are where the theme puts them.
    assert (built / "theme" / "css" / "main.css").is_file()


def test_a_package_without_the_lab_gets_no_code_view_and_no_sources(built: Path) -> None:
    """pingkit has no `edit`/`search` modules: its figure is not marked for the lab (so the
    runner offers no Code control) and the build writes no protocol sources for it."""
    page = (built / "pings.html").read_text(encoding="utf-8")
    figure = page[page.index('<figure class="demo"') : page.index("</figure>")]
    assert "data-lab" not in figure
    # No `faults` param either, so no schedule field for the fault tools to edit.
    assert 'name="faults"' not in figure
    assert not list((built / "lab").glob("sources-*.json"))


def copy_kit(folder: Path, name: str, files: dict[str, str]) -> Catalog:
    """Give a catalog of a copy of pingkit named `name` in `folder`, with `files` (relative
    path: text) written over it; each case gets its own name, so no import is shared."""
    from pyodide_demos.catalog import Catalog

    shutil.copytree(
        FIXTURE / "pingkit", folder / name, ignore=shutil.ignore_patterns("__pycache__")
    )
    for path, text in files.items():
        (folder / name / path).write_text(text, encoding="utf-8")
    return Catalog(name, folder).load()


LAB_MODULES = {
    "edit.py": "def load_protocol(name, source):\n    raise NotImplementedError\n",
    "search.py": "def search(name, **options):\n    return iter(())\n",
}
SIMULATE = "\n\ndef simulate(params):\n    return {}\n"


def test_the_build_offers_the_lab_only_where_the_package_has_it(tmp_path: Path) -> None:
    from pyodide_demos.errors import DemoBuildError

    ping = (FIXTURE / "pingkit" / "ping.py").read_text(encoding="utf-8")
    assert not copy_kit(tmp_path, "kit_plain", {}).has_lab("ping")
    # The lab's modules, and a protocol with the simulate() an edit replaces: the lab opens.
    full = copy_kit(tmp_path, "kit_full", {**LAB_MODULES, "ping.py": ping + SIMULATE})
    assert full.has_lab("ping")
    # Any one piece missing: no lab, and no error either.
    assert not copy_kit(tmp_path, "kit_no_simulate", LAB_MODULES).has_lab("ping")
    only_edit = {"edit.py": LAB_MODULES["edit.py"], "ping.py": ping + SIMULATE}
    assert not copy_kit(tmp_path, "kit_no_search", only_edit).has_lab("ping")
    no_function = {**LAB_MODULES, "edit.py": "EDITED = 1\n", "ping.py": ping + SIMULATE}
    assert not copy_kit(tmp_path, "kit_no_load", no_function).has_lab("ping")
    # A lab module that is there but broken is the package's bug, not a missing lab.
    broken = {**LAB_MODULES, "edit.py": "import no_such_module_here\n", "ping.py": ping + SIMULATE}
    with pytest.raises(DemoBuildError, match=r"kit_broken\.edit does not import"):
        copy_kit(tmp_path, "kit_broken", broken).has_lab("ping")


def test_the_lab_sources_are_written_for_lab_demos_only(tmp_path: Path) -> None:
    from pyodide_demos import sources

    ping = (FIXTURE / "pingkit" / "ping.py").read_text(encoding="utf-8")
    full = copy_kit(tmp_path, "kit_src_full", {**LAB_MODULES, "ping.py": ping + SIMULATE})
    out = tmp_path / "lab"
    (written,) = sources.write(out, full)
    assert written == f"sources-{full.digest[:16]}.ping.json"
    entry = json.loads((out / written).read_text(encoding="utf-8"))
    assert "def simulate(params)" in entry["source"] and entry["presets"] == []
    assert sources.write(out, full) == {written}  # a second build keeps it
    # The same demo without the lab: no file, and the other package's file is dropped.
    plain = copy_kit(tmp_path, "kit_src_plain", {})
    assert sources.write(out, plain) == set()
    assert list(out.iterdir()) == []


def test_the_fence_marks_lab_figures_and_only_those(tmp_path: Path) -> None:
    """Our own package keeps the lab on its figures; pingkit's figure has none."""
    from markdown import Markdown
    from pyodide_demos.catalog import Catalog
    from pyodide_demos.fence import DemoFenceExtension
    from pyodide_demos.prerender import Prerenderer

    def convert(catalog: Catalog, text: str) -> str:
        return Markdown(extensions=[DemoFenceExtension(catalog, Prerenderer(None))]).convert(text)

    ours = convert(Catalog("demos", ROOT).load(), "```demo clocks\nseed: 2\n```\n")
    assert re.search(
        r'<figure class="demo" id="demo-clocks-1" data-demo="clocks" data-lab="true"', ours
    )
    theirs = convert(copy_kit(tmp_path, "kit_fence", {}), "```demo ping\nseed: 2\n```\n")
    assert '<figure class="demo" id="demo-ping-1" data-demo="ping"' in theirs
    assert "data-lab" not in theirs


def test_pages_without_figures_link_nothing_of_the_runner(built: Path) -> None:
    for path in (built / "plain.html", built / "index.html", built / "archives.html"):
        text = path.read_text(encoding="utf-8")
        assert "data-manifest" not in text and "demo.css" not in text, path


def test_the_bundle_is_the_sites_own_package(built: Path) -> None:
    (manifest,) = (built / "assets" / "demos").glob("manifest-*.json")
    text = manifest.read_text()
    assert '"ping"' in text and '"raft"' not in text
    (wheel,) = (built / "assets" / "demos").glob("pingkit-*.whl")
    with zipfile.ZipFile(wheel) as whl:
        names = whl.namelist()
    assert any(n.startswith("pingkit/ping.") for n in names)
    assert not [n for n in names if n.startswith("demos/")], names
    # The runner module (source or bytecode) names the site's package.
    (runner,) = [n for n in names if n.startswith("pyodide_demos_runner.")]
    assert b"pingkit" in whl_bytes(wheel, runner)
    worker = (built / "demos-sw.js").read_text()
    assert '"assets/demos/"' in worker and "runner-" in worker


def whl_bytes(wheel: Path, name: str) -> bytes:
    """Give the bytes of the member `name` of `wheel`."""
    with zipfile.ZipFile(wheel) as whl:
        return whl.read(name)


def test_the_plugin_paths_form_gives_the_same_runner(tmp_path: Path, built: Path) -> None:
    """The source folder through PLUGIN_PATHS (how this repository's site loads it) and the
    installed package ship the same runner files."""
    site = make_site(tmp_path)
    done = build(
        site,
        None,
        "-e",
        f'PLUGIN_PATHS=["{ROOT / "plugins"}"]',
        'PLUGINS=["pyodide_demos"]',
    )
    assert done.returncode == 0, done.stdout + done.stderr
    installed = sorted(p.name for p in (built / "assets" / "demos").glob("runner-*"))
    local = sorted(p.name for p in (site / "output" / "assets" / "demos").glob("runner-*"))
    assert installed == local and len(local) == 1
    page = (site / "output" / "pings.html").read_text(encoding="utf-8")
    assert f'src="./assets/demos/{local[0]}/js/demos.js"' in page


def test_a_bad_fence_fails_the_build_with_its_file_and_line(
    tmp_path: Path, installed: Path
) -> None:
    site = make_site(tmp_path)
    (site / "content" / "bad.md").write_text(
        "Title: Bad\nDate: 2026-01-03\n\nIntro.\n\n```demo ping\nseed: 2\npings: 99\n```\n"
    )
    done = build(site, installed)
    out = done.stdout + done.stderr
    assert done.returncode != 0, out
    assert re.search(r"content/bad\.md:8: demo ping: pings: 99 is outside 1\.\.20", out), out
    # An unknown demo names what the site's package has.
    (site / "content" / "bad.md").write_text(
        "Title: Bad\nDate: 2026-01-03\n\n```demo raft\nseed: 2\n```\n"
    )
    done = build(site, installed)
    out = done.stdout + done.stderr
    assert done.returncode != 0
    assert re.search(r"content/bad\.md:4: unknown demo 'raft' \(known: ping\)", out), out


def test_head_tags_follow_siteurl_and_are_never_added_twice() -> None:
    from pyodide_demos import assets

    record = {"css": ["d/r/css/demo.css"], "js": ["d/r/js/demos.js"], "manifest": "d/m-1.json"}
    tags = assets.head_tags(record, "..")
    assert '<link rel="stylesheet" href="../d/r/css/demo.css">' in tags
    assert '<script type="module" src="../d/r/js/demos.js" data-manifest="../d/m-1.json">' in tags
    assert 'href="/d/r/css/demo.css"' in assets.head_tags(record, "")  # root paths
    assert 'href="https://x.org/blog/d/r/css' in assets.head_tags(record, "https://x.org/blog/")
    hostile = assets.head_tags({**record, "manifest": 'm".json'}, "")
    assert 'data-manifest="/m&quot;.json"' in hostile
    html = "<html><head><title>t</title></HEAD><body><p>data-manifest= in prose</p></body></html>"
    linked = assets.with_head_tags(html, tags)
    assert linked is not None and linked.index(tags) < linked.index("</HEAD>")
    assert assets.with_head_tags(linked, tags) is None  # a theme (or a pass) placed them
    assert assets.with_head_tags("<p>no head at all</p>", tags) is None


def test_the_runner_folder_is_named_by_its_files(tmp_path: Path, caplog) -> None:
    from types import SimpleNamespace

    from pyodide_demos import assets

    static = tmp_path / "static"
    (static / "js").mkdir(parents=True)
    (static / "css").mkdir()
    (static / "js" / "demos.js").write_text("export {};\n")
    (static / "css" / "demo.css").write_text("/* the box */\nfigure.demo {\n  margin: 0;\n}\n")
    config = SimpleNamespace(output_path=tmp_path / "out", demos_output="x/demos")
    first = assets.plan_runner(config, static)
    assert first.files == ("css/demo.css", "js/demos.js")
    assert re.fullmatch(r"x/demos/runner-[0-9a-f]{12}", first.folder)
    assert "lab-editor.js" in caplog.text  # no bundled editor: said once, not fatal
    assert assets.plan_runner(config, static) == first  # same bytes, same name
    assets.write_runner(config, first, static)
    assert (config.output_path / first.url("js/demos.js")).read_text() == "export {};\n"
    # Style sheets go out minified (pages load them before any interaction); scripts as they are.
    assert (config.output_path / first.url("css/demo.css")).read_text() == "figure.demo{margin:0}"
    (static / "js" / "demos.js").write_text("export const changed = 1;\n")
    second = assets.plan_runner(config, static)
    assert second.folder != first.folder
    assets.write_runner(config, second, static)
    kept = sorted(p.name for p in (config.output_path / "x" / "demos").iterdir())
    assert kept == [second.folder.rsplit("/", 1)[1]]  # the old build's folder is gone


@pytest.fixture(scope="module")
def served(built: Path) -> Iterator[str]:
    from browser_util import serve

    with serve(built, PORT) as base:
        yield base


@pytest.mark.browser
def test_the_stock_theme_site_runs_its_figure_in_the_browser(browser, served: str) -> None:
    context = browser.new_context()
    page = context.new_page()
    problems: list[str] = []
    # The stock theme links no icon, so chromium asks the server root for /favicon.ico: that
    # 404 is the browser's, not the page's.
    page.route("**/favicon.ico", lambda route: route.fulfill(status=204, body=""))
    page.on(
        "console",
        lambda m: m.type == "error" and problems.append(f"{m.text} ({m.location.get('url')})"),
    )
    page.on("pageerror", lambda e: problems.append(f"uncaught: {e}"))
    page.on("response", lambda r: r.status >= 400 and problems.append(f"{r.status} {r.url}"))
    try:
        page.goto(served + "pings.html")
        fig = page.locator("#demo-ping-1")
        before = fig.locator(".demo-output > svg").evaluate("el => el.outerHTML")
        summary = fig.locator(".demo-summary").text_content()
        fig.dispatch_event("pointerenter")
        page.wait_for_function("document.documentElement.classList.contains('demos-enhanced')")
        # The runner's bar is there (the time slider), without the tools pingkit cannot use:
        # no Code control (no lab modules) and no fault picking (no `faults` param).
        page.wait_for_selector("#demo-ping-1 .demo-tools .demo-player")
        assert fig.locator("[data-action=code]").count() == 0
        assert fig.locator(".demo-add-partition, .demo-fault-help").count() == 0
        # Its nodes are not keyboard stops for crashing them.
        assert fig.locator(".demo-output [data-node]").count() > 0
        assert fig.locator(".demo-output [tabindex], .demo-output [role=button]").count() == 0
        fig.locator("input[name=seed]").fill("11")
        fig.locator("[data-action=run]").click()
        page.wait_for_function(
            "document.querySelector('#demo-ping-1 .demo-status').dataset.state === 'done'"
            " || document.querySelector('#demo-ping-1 .demo-status').dataset.state === 'error'",
            timeout=BOOT_MS,
        )
        status = fig.locator(".demo-status")
        assert status.get_attribute("data-state") == "done", status.text_content()
        after = fig.locator(".demo-output > svg").evaluate("el => el.outerHTML")
        assert after != before and 'data-duration="500"' in after
        assert fig.locator(".demo-summary").text_content() != summary
        assert "(seed 11)" in fig.locator(".demo-summary").text_content()
        assert "seed=11" in page.evaluate("location.hash")
        # A link that carries edited code is refused here, not opened in a lab that is not.
        page.goto(served + "pings.html#demo-ping-1:seed=4&code=AAAA")
        page.wait_for_function(
            "document.querySelector('#demo-ping-1 .demo-status').dataset.state === 'error'"
        )
        assert "no Code view" in fig.locator(".demo-error").text_content()
        assert fig.locator(".demo-lab").count() == 0
    finally:
        context.close()
    assert problems == [], problems
