"""The Python snapshot: Pyodide's memory with the demos imported, made once with Node.

The browser restores it instead of starting CPython and importing the demos (about a
quarter of a bare boot). Its name is a hash of everything it is made from, so a build that
changed nothing reuses the cached file, and a change to the demos, the runtime or this
recipe gives a new name that no browser cache can confuse with the old one. It ships gzip'd;
the worker inflates it as it streams in.

What ships is not the memory as Node wrote it but a sparse copy of it (`pack`): about a third
of the memory is pages of zeros, which the browser would otherwise inflate byte by byte.
The worker (js/snapshot.js) lays the stored runs into a zeroed buffer as they arrive.

Node is started with WebAssembly stack switching switched on, so that the snapshot records
a runtime that can pause a run (the browser's own JSPI does the pausing); see DESIGN.md,
"Browser facts".
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import re
import shutil
import struct
import subprocess
import tempfile
import time
from pathlib import Path

from .config import Config

logger = logging.getLogger(__name__)

SCRIPT = Path(__file__).with_name("make_snapshot.mjs")
# "AttributeError: ...", "PythonError: ...", "Error: ...": the lines that say what failed.
ERROR_LINE = re.compile(r"^[A-Za-z_.]*(?:Error|Exception)\b.*:")
SUFFIX = ".snapshot.gz"
# Node's names for the stack switching flag: 20 and 21, then 22 on. Without either the
# snapshot still boots, only its runs cannot pause (Stop then replaces the worker).
STACK_SWITCHING_FLAGS = ("--experimental-wasm-stack-switching", "--experimental-wasm-jspi")
GZIP_LEVEL = 9
# The sparse copy: a header (magic, version, the memory's size, the number of runs), then
# each run's (offset, length), then the runs' bytes in that order; all words little-endian.
# A run is a stretch of whole BLOCKs that are not all zero (the last block may be short).
MAGIC = b"PDSS"
VERSION = 1
HEADER = struct.Struct("<4sIII")
RUN = struct.Struct("<II")
BLOCK = 4096
TIMEOUT_S = 300


def name_for(config: Config, wheel_key: str) -> str | None:
    """Give the snapshot's file name for this wheel and runtime, or None when none is made."""
    if not (config.snapshot and config.vendored):
        return None
    if shutil.which(config.node) is None:
        logger.warning(
            "no %r on PATH: the site ships without a Python snapshot (Python "
            "starts more slowly); install Node.js or set PYODIDE_DEMOS_SNAPSHOT "
            "= False",
            config.node,
        )
        return None
    recipe = hashlib.sha256()
    for part in (
        wheel_key,
        config.runtime_version,
        SCRIPT.read_bytes(),
        Path(__file__).read_bytes(),  # how it is packed
        (config.runtime_dir / "pyodide-lock.json").read_bytes(),
    ):
        recipe.update(part if isinstance(part, bytes) else part.encode())
        recipe.update(b"\0")
    return f"python-{recipe.hexdigest()[:16]}{SUFFIX}"


def cached(config: Config, name: str, wheel: Path, wheel_path: str) -> Path | None:
    """Give the cached snapshot `name`, making it first if needed; None if Node failed."""
    cache = config.cache_dir / "snapshots"
    target = cache / name
    if target.is_file():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        raw = Path(tmp) / "snapshot.bin"
        problem = _run_node(config, wheel, wheel_path, raw)
        if problem:
            logger.warning(
                "the Python snapshot could not be made (%s); the site ships "
                "without one and Python starts more slowly",
                problem,
            )
            return None
        packed = Path(tmp) / name
        with (
            open(packed, "wb") as sink,
            gzip.GzipFile(fileobj=sink, mode="wb", compresslevel=GZIP_LEVEL, mtime=0) as zipped,
        ):
            zipped.write(pack(raw.read_bytes()))
        packed.replace(target)
    for old in cache.glob(f"*{SUFFIX}"):
        if old != target:
            old.unlink()
    logger.info(
        "Made the Python snapshot %s (%.1f MB) in %.1f s",
        name,
        target.stat().st_size / 1e6,
        time.perf_counter() - start,
    )
    return target


def pack(memory: bytes) -> bytes:
    """Give the sparse copy of `memory`: its runs of blocks that are not all zero."""
    runs: list[tuple[int, int]] = []
    start = None
    for offset in range(0, len(memory), BLOCK):
        block = memory[offset : offset + BLOCK]
        if block.count(0) == len(block):
            if start is not None:
                runs.append((start, offset - start))
                start = None
        elif start is None:
            start = offset
    if start is not None:
        runs.append((start, len(memory) - start))
    table = b"".join(RUN.pack(*run) for run in runs)
    body = b"".join(memory[at : at + length] for at, length in runs)
    return HEADER.pack(MAGIC, VERSION, len(memory), len(runs)) + table + body


def unpack(packed: bytes) -> bytes:
    """Give the memory a sparse copy holds (what the browser's worker does, for tests and
    tools); ValueError when `packed` is not one."""
    if len(packed) < HEADER.size:
        raise ValueError(f"{len(packed)} bytes are too few for a snapshot")
    magic, version, size, count = HEADER.unpack_from(packed)
    if magic != MAGIC or version != VERSION:
        raise ValueError(f"not a sparse snapshot (starts {magic!r}, version {version})")
    memory = bytearray(size)
    at = HEADER.size + count * RUN.size
    end = 0
    for i in range(count):
        offset, length = RUN.unpack_from(packed, HEADER.size + i * RUN.size)
        if offset < end or offset + length > size or at + length > len(packed):
            raise ValueError(f"run {i} ({offset}+{length}) does not fit")
        memory[offset : offset + length] = packed[at : at + length]
        at += length
        end = offset + length
    if at != len(packed):
        raise ValueError(f"{len(packed) - at} bytes after the last run")
    return bytes(memory)


def _run_node(config: Config, wheel: Path, wheel_path: str, output: Path) -> str | None:
    """Run the snapshot script; give None on success, else what went wrong in one line."""
    command = [str(SCRIPT), str(config.runtime_dir), str(wheel), wheel_path, str(output)]
    flags = _stack_switching_flag(config.node)
    try:
        done = subprocess.run(
            [config.node, *flags, *command],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"{config.node}: {err}"
    if done.returncode != 0 or not output.is_file():
        return f"node exited with {done.returncode}: {_cause(done.stderr or done.stdout)}"
    return None


def _cause(log: str) -> str:
    """Give the line of Node's output that names what failed: a Python traceback's last
    line or a JavaScript error's, not a line of minified source Node quotes above it."""
    lines = [line.strip() for line in log.strip().splitlines() if line.strip()]
    named = [line for line in lines if len(line) <= 500 and ERROR_LINE.match(line)]
    last = (named or lines or ["no output"])[-1]
    return last if len(last) <= 300 else last[:300] + "..."


def _stack_switching_flag(node: str) -> list[str]:
    """Give the Node flag that turns on WebAssembly stack switching, or none it knows."""
    for flag in STACK_SWITCHING_FLAGS:
        try:
            probe = subprocess.run(
                [node, flag, "-e", "0"], capture_output=True, timeout=30, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            return []
        if probe.returncode == 0:
            return [flag]
    return []
