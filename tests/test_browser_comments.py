"""Comments with a real Isso server: a reader posts on an article, reloads, and sees the
comment; HTML in a comment shows as text. Also the development setup `make comments` uses.

The site is built with ISSO_URL pointing at an Isso started here from isso.dev.cfg (its
database, origin and port replaced), on free ports of 127.0.0.1, stopped by its PID.
"""

from __future__ import annotations

import configparser
import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from browser_util import serve

ROOT = Path(__file__).resolve().parent.parent
DEV_CONFIG = ROOT / "isso.dev.cfg"
ISSO = Path(sys.executable).with_name("isso")
ARTICLE = "cap-in-practice/"
COMMENT = (
    "Linearizable reads need a quorum. <b>bold?</b> "
    '<img src="x" onerror="window.pwned = 1"> <script>window.pwned = 2</script>'
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def isso_config(folder: Path, site_origin: str, port: int) -> Path:
    """Give a copy of isso.dev.cfg with its database in `folder`, the test site's origin
    and `port`: everything else as `make comments` runs it."""
    config = configparser.ConfigParser()
    config.read(DEV_CONFIG)
    config["general"]["dbpath"] = str(folder / "comments.db")
    config["general"]["host"] = site_origin
    config["server"]["listen"] = f"http://127.0.0.1:{port}/"
    path = folder / "isso.cfg"
    with path.open("w") as out:
        config.write(out)
    return path


@contextmanager
def isso_server(config: Path, port: int, timeout: float = 30.0) -> Iterator[str]:
    """Run `isso -c config run` and give its URL once it answers; stop it by its PID."""
    log = config.with_suffix(".log")
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(ISSO), "-c", str(config), "run"],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=config.parent,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"isso exited with {proc.returncode}:\n{log.read_text()}")
            try:
                with urllib.request.urlopen(url + "info", timeout=1) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"isso did not answer within {timeout} s:\n{log.read_text()}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def ports() -> dict[str, int]:
    return {"site": free_port(), "isso": free_port()}


@pytest.fixture(scope="module")
def commented_site(
    tmp_path_factory: pytest.TempPathFactory, pelican_runner, ports: dict[str, int]
) -> Path:
    """Give a build of the site with comments on (no search index or cards: not needed)."""
    output = tmp_path_factory.mktemp("commented") / "output"
    done = pelican_runner(
        ROOT / "content",
        output,
        ISSO_URL=f"http://127.0.0.1:{ports['isso']}/",
        SEARCH_INDEX=False,
        SOCIAL_CARDS=False,
    )
    if done.returncode != 0:
        pytest.fail(f"pelican failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return output


@pytest.fixture(scope="module")
def running(
    commented_site: Path, ports: dict[str, int], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """Give (site URL under /blog/, Isso URL) with both servers up."""
    with serve(commented_site, ports["site"]) as site:
        # Isso checks at start that it can reach the site it serves: the site comes first.
        config = isso_config(
            tmp_path_factory.mktemp("isso"), f"http://127.0.0.1:{ports['site']}", ports["isso"]
        )
        with isso_server(config, ports["isso"]) as isso:
            yield site, isso


def test_every_article_embeds_isso_from_the_configured_server(
    commented_site: Path, ports: dict[str, int]
) -> None:
    pages = [
        path
        for path in sorted(commented_site.glob("*/index.html"))
        if "data-pagefind-body" in path.read_text(encoding="utf-8")
    ]
    assert pages
    for path in pages:
        text = path.read_text(encoding="utf-8")
        assert f'data-isso-server="http://127.0.0.1:{ports["isso"]}/"' in text, path
        assert f'data-isso-id="/{path.parent.name}/"' in text, path
    about = (commented_site / "about" / "index.html").read_text(encoding="utf-8")
    assert "isso-thread" not in about


@pytest.mark.browser
def test_a_posted_comment_survives_a_reload_and_html_shows_as_text(
    browser, running: tuple[str, str]
) -> None:
    site, isso = running
    context = browser.new_context(viewport={"width": 1024, "height": 800})
    outside, problems = [], []

    def route(route) -> None:
        if route.request.url.startswith((site.split("/blog/")[0], isso)):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", route)
    try:
        page = context.new_page()
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        page.on("console", lambda m: m.type == "error" and problems.append(m.text))
        page.goto(site + ARTICLE, wait_until="load")
        page.wait_for_timeout(500)
        # The client is not fetched while the thread is far below the screen.
        loaded = page.evaluate("performance.getEntriesByType('resource').map((e) => e.name)")
        assert not [name for name in loaded if "embed.min.js" in name], loaded

        page.locator("#isso-thread").scroll_into_view_if_needed()
        box = page.locator("#isso-thread .isso-postbox textarea")
        box.wait_for(timeout=15_000)
        box.fill(COMMENT)
        page.locator("#isso-postbox-author").fill("Reader")
        page.locator('#isso-thread .isso-postbox input[type="submit"]').click()
        page.locator("#isso-root .isso-comment").first.wait_for(timeout=15_000)

        page.reload(wait_until="load")
        page.locator("#isso-thread").scroll_into_view_if_needed()
        shown = page.locator("#isso-root .isso-comment .isso-text")
        shown.first.wait_for(timeout=15_000)
        assert shown.count() == 1
        text = shown.first.inner_text()
        assert "Linearizable reads need a quorum." in text
        # The markup arrives as the characters the reader typed, never as elements.
        assert "<b>bold?</b>" in text and '<img src="x"' in text and "<script>" in text
        assert shown.first.locator("b, img, script").count() == 0
        assert page.evaluate("window.pwned") is None
        assert page.locator("#isso-root .isso-comment .isso-author").first.inner_text() == "Reader"
    finally:
        context.close()
    # The server holds the comment under the article's stable id, escaped.
    with urllib.request.urlopen(f"{isso}?uri=%2F{ARTICLE.rstrip('/')}%2F", timeout=5) as answer:
        stored = json.load(answer)["replies"]
    assert len(stored) == 1 and "&lt;b&gt;bold?&lt;/b&gt;" in stored[0]["text"]
    assert not outside, outside
    assert not problems, problems


def test_make_comments_runs_a_local_isso_with_its_database_in_the_project() -> None:
    config = configparser.ConfigParser()
    config.read(DEV_CONFIG)
    assert config["server"]["listen"].startswith("http://127.0.0.1:")
    database = Path(config["general"]["dbpath"])
    assert not database.is_absolute() and database.parts[0] == ".isso"
    ignored = (ROOT / ".gitignore").read_text().split()
    assert ".isso/" in ignored
    make = subprocess.run(
        ["make", "-n", "comments"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    assert "isso -c isso.dev.cfg run" in make.stdout
    assert config["markup.mistune"]["parameters"].split(", ")[0] == "escape"
