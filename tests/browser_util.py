"""Helpers for driving Debian's chromium against a built site served from a sub-path.

Shared by the browser tests and bench/browser_bench.py: serve a directory on 127.0.0.1
under `/blog/` (as a static host would), and launch the system chromium through Playwright.
A browser is never downloaded: without `chromium` on PATH (or $CHROMIUM) callers skip.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Flags headless Chromium needs on this machine (see DESIGN.md, "Browser facts"). Playwright
# gives every launch a fresh temporary profile, so no --user-data-dir here.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    """Give the path of the system chromium ($CHROMIUM first), or None when there is none."""
    candidate = os.environ.get("CHROMIUM") or shutil.which("chromium")
    return candidate if candidate and Path(candidate).exists() else None


def launch_chromium(playwright):  # -> playwright.sync_api.Browser
    """Give a headless Debian chromium launched through Playwright with a fresh profile."""
    path = chromium_path()
    if path is None:
        raise RuntimeError("no chromium on PATH and $CHROMIUM is unset")
    return playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)


def _wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"http.server on port {port} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"http.server did not listen on port {port} within {timeout} s")


# http.server plus fixed response headers (for a cross-origin-isolated page: COOP/COEP).
_SERVER_WITH_HEADERS = """
import functools, http.server, json, sys
class Handler(http.server.SimpleHTTPRequestHandler):
    def end_headers(self):
        if self.path.startswith(sys.argv[4]):
            for key, value in json.loads(sys.argv[3]).items():
                self.send_header(key, value)
        super().end_headers()
    def log_message(self, *args):
        pass
handler = functools.partial(Handler, directory=sys.argv[2])
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), handler).serve_forever()
"""

# Headers that make pages crossOriginIsolated, so SharedArrayBuffer (an interrupt buffer) exists.
ISOLATION_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
}


@contextmanager
def serve(
    directory: Path | str,
    port: int,
    prefix: str = "blog",
    extra: dict[str, Path] | None = None,
    headers: dict[str, str] | None = None,
    headers_under: str = "/",
) -> Iterator[str]:
    """Serve `directory` at http://127.0.0.1:PORT/PREFIX/ and give that base URL.

    A sub-path is the harder case for relative URLs, so tests always use one. `extra` maps
    more top-level names to folders (the benchmark's bare-boot page); `headers` are added to
    every response whose path starts with `headers_under`. The server is a child process
    stopped by its own handle when the block ends.
    """
    mounts = {prefix: Path(directory), **(extra or {})}
    with tempfile.TemporaryDirectory(prefix="serve-") as root:
        for name, folder in mounts.items():
            (Path(root) / name).symlink_to(folder.resolve(), target_is_directory=True)
        if headers:
            command = [
                sys.executable,
                "-c",
                _SERVER_WITH_HEADERS,
                str(port),
                root,
                json.dumps(headers),
                headers_under,
            ]
        else:
            command = [
                sys.executable,
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                str(port),
                "--directory",
                root,
            ]
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_for_port(port, proc)
            yield f"http://127.0.0.1:{port}/{prefix}/"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def demo_pages(output: Path) -> dict[str, list[str]]:
    """Give each built page that has demo figures ("slug/") with its figures' demo names."""
    pages = {}
    for page in sorted(output.glob("*/index.html")):
        names = re.findall(
            r'<figure class="demo"[^>]*\sdata-demo="([a-z0-9_]+)"', page.read_text(encoding="utf-8")
        )
        if names:
            pages[f"{page.parent.name}/"] = names
    return pages


def find_article_with_demos(output: Path, min_figures: int = 1, demo: str | None = None) -> str:
    """Give the page ("slug/") with the most demo figures, at least `min_figures`, and a
    figure of `demo` when one is named."""
    pages = {
        path: names
        for path, names in demo_pages(output).items()
        if len(names) >= min_figures and (demo is None or demo in names)
    }
    if not pages:
        raise LookupError(
            f"no page in {output} has {min_figures} demo figure(s)"
            + (f" including {demo}" if demo else "")
        )
    return max(pages, key=lambda path: len(pages[path]))


def manifest(output: Path) -> dict:
    """Give the demo manifest of a built site."""
    return json.loads(next((output / "demos").glob("manifest-*.json")).read_text())


def heaviest_params(output: Path, demo: str) -> dict[str, str]:
    """Give form values that make `demo` run longest: every count and the duration at max."""
    specs = manifest(output)["demos"][demo]["params"]
    return {
        spec["name"]: str(int(spec["max"]))
        for spec in specs
        if spec["name"] != "seed"
        and "max" in spec
        and (spec["kind"] == "int" or spec["name"] == "duration")
    }
