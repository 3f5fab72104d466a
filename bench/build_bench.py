"""Time a full build and a no-change rebuild of the site, and the plugin's share of each.

    .venv/bin/python bench/build_bench.py [--settings pelicanconf.py]

Each build runs in a fresh process, as `make build` does; the wall time is measured
around the process, the plugin's share inside it. Output goes to a temporary folder and
the caches start empty, so the first build is a real cold one. Prints figures only.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def build_once(settings: str, output: str, cache: str) -> dict:
    """Build in this process; give the plugin's timings and Pelican's own run time."""
    from pelican import Pelican
    from pelican.settings import read_settings

    start = time.perf_counter()
    config = read_settings(settings, override={"OUTPUT_PATH": output, "CACHE_PATH": cache})
    site = Pelican(config)
    site.run()
    timings = dict(config["PYODIDE_DEMOS_STATE"].timings)
    timings["in-process total"] = time.perf_counter() - start
    return timings


def measure(settings: str, output: str, cache: str) -> tuple[float, dict]:
    """Give the wall time of one build in a fresh process and its timings."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, "--once", settings, output, cache],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"build failed:\n{done.stderr.strip()}")
    return wall, json.loads(done.stdout.strip().splitlines()[-1])


def report(label: str, wall: float, timings: dict) -> None:
    plugin = sum(v for k, v in timings.items() if k != "in-process total")
    parts = ", ".join(f"{k} {v:.3f}" for k, v in timings.items() if k != "in-process total")
    print(
        f"{label:<18} {wall:6.2f} s wall   plugin {plugin:5.2f} s "
        f"({100 * plugin / wall:4.1f} %)   [{parts}]"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", default=str(ROOT / "pelicanconf.py"))
    parser.add_argument(
        "--once", nargs=3, metavar=("SETTINGS", "OUTPUT", "CACHE"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.once:
        print(json.dumps(build_once(*args.once)))
        return
    print("== site build (Pelican in a fresh process; caches start empty)")
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        output, cache = f"{tmp}/output", f"{tmp}/cache/pelican"
        report("full build", *measure(args.settings, output, cache))
        for n in (1, 2, 3):
            report(f"no-change #{n}", *measure(args.settings, output, cache))
    print("target: no-change rebuild <= 1.5 s wall")
    make_build()


def make_build() -> None:
    """Time `make build` when nothing changed (the stamp files decide; target < 2 s)."""
    subprocess.run(["make", "-s", "build"], cwd=ROOT, check=True, capture_output=True)
    start = time.perf_counter()
    subprocess.run(["make", "-s", "build"], cwd=ROOT, check=True, capture_output=True)
    print(
        f"{'make build, no change':<18} {time.perf_counter() - start:6.2f} s wall   (target < 2 s)"
    )


if __name__ == "__main__":
    # Run as a script, this folder would be sys.path[0] and its modules would shadow
    # top-level names such as `config`; the project root is what a build expects.
    sys.path[0] = str(ROOT)
    main()
