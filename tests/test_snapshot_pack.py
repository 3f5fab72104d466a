"""The sparse snapshot format (pyodide_demos/snapshot.py): what the worker's js/snapshot.js
reads. Packing must give back the same memory, and anything else must be refused."""

from __future__ import annotations

import json
import random
import shutil
import struct
import subprocess

import pytest
from conftest import ROOT
from pyodide_demos import snapshot


def _memory(seed: int) -> bytes:
    """Give a memory of whole and partial blocks, zero stretches between data stretches."""
    rng = random.Random(seed)
    size = rng.randrange(1, 40) * snapshot.BLOCK + rng.choice([0, 160, 4095])
    memory = bytearray(size)
    for _ in range(rng.randrange(0, 8)):
        start = rng.randrange(size)
        length = rng.randrange(1, 3 * snapshot.BLOCK)
        memory[start : start + length] = bytes(rng.randrange(1, 256) for _ in range(length))[
            : size - start
        ]
    return bytes(memory)


@pytest.mark.parametrize("seed", range(40))
def test_packing_keeps_every_byte_and_drops_zero_blocks(seed: int) -> None:
    memory = _memory(seed)
    packed = snapshot.pack(memory)
    assert snapshot.unpack(packed) == memory
    magic, version, size, count = snapshot.HEADER.unpack_from(packed)
    assert (magic, version, size) == (snapshot.MAGIC, snapshot.VERSION, len(memory))
    zero_blocks = sum(
        1
        for at in range(0, len(memory), snapshot.BLOCK)
        if not any(memory[at : at + snapshot.BLOCK])
    )
    stored = len(packed) - snapshot.HEADER.size - count * snapshot.RUN.size
    # Every block that is not all zero is stored, and no block that is.
    assert stored == len(memory) - sum(
        len(memory[at : at + snapshot.BLOCK])
        for at in range(0, len(memory), snapshot.BLOCK)
        if not any(memory[at : at + snapshot.BLOCK])
    )
    assert count <= len(range(0, len(memory), snapshot.BLOCK)) - zero_blocks


def test_a_memory_of_zeros_packs_to_a_header() -> None:
    packed = snapshot.pack(bytes(10 * snapshot.BLOCK))
    assert len(packed) == snapshot.HEADER.size
    assert snapshot.unpack(packed) == bytes(10 * snapshot.BLOCK)


def _packed() -> bytes:
    memory = bytearray(6 * snapshot.BLOCK)
    memory[5] = 1
    memory[3 * snapshot.BLOCK + 7] = 2
    return snapshot.pack(bytes(memory))


CORRUPT = {
    "too short": lambda p: p[:10],
    "wrong magic": lambda p: b"GZIP" + p[4:],
    "later version": lambda p: p[:4] + struct.pack("<I", snapshot.VERSION + 1) + p[8:],
    "run past the end": lambda p: (
        p[:16] + struct.pack("<II", 5 * snapshot.BLOCK, 2 * snapshot.BLOCK) + p[24:]
    ),
    "runs out of order": lambda p: p[:16] + p[24:32] + p[16:24] + p[32:],
    "cut short": lambda p: p[:-1],
    "bytes after the last run": lambda p: p + b"\x01",
}


@pytest.mark.parametrize("corruption", list(CORRUPT))
def test_a_corrupted_pack_is_refused(corruption: str) -> None:
    with pytest.raises(ValueError):
        snapshot.unpack(CORRUPT[corruption](_packed()))


# The worker's reader, run by Node on the same bytes: chunks of random sizes (as a network
# would cut them), then the memory's bytes back, or the error it threw.
EXPAND_JS = """
import { SnapshotExpander } from %s;
import { readFileSync } from "node:fs";
const packed = readFileSync(0);
let seed = Number(process.argv[1]);
const random = () => (seed = (seed * 1103515245 + 12345) %% 2147483648) / 2147483648;
const expander = new SnapshotExpander();
let sizeKnown = null;
expander.sized.then((memory) => { sizeKnown = memory.length; }, () => {});
try {
  for (let at = 0; at < packed.length; ) {
    const take = 1 + Math.floor(random() * 9000);
    expander.push(new Uint8Array(packed.subarray(at, at + take)));
    at += take;
  }
  const memory = expander.finish();
  await Promise.resolve();
  process.stdout.write(JSON.stringify({ size: sizeKnown }) + "\\n");
  process.stdout.write(Buffer.from(memory));
} catch (err) {
  process.stdout.write(JSON.stringify({ error: String(err.message) }) + "\\n");
}
"""


def _expand_in_node(packed: bytes, seed: int) -> tuple[dict, bytes]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("no node on PATH")
    module = (ROOT / "plugins/pyodide_demos/static/js/snapshot.js").as_uri()
    done = subprocess.run(
        [node, "--input-type=module", "-e", EXPAND_JS % json.dumps(module), str(seed)],
        input=packed,
        capture_output=True,
        timeout=60,
        check=True,
    )
    line, _, rest = done.stdout.partition(b"\n")
    return json.loads(line), rest


@pytest.mark.parametrize("seed", range(8))
def test_the_worker_lays_out_what_python_packed(seed: int) -> None:
    memory = _memory(seed)
    answer, laid_out = _expand_in_node(snapshot.pack(memory), seed)
    assert answer == {"size": len(memory)}
    assert laid_out == memory


@pytest.mark.parametrize("corruption", list(CORRUPT))
def test_the_worker_refuses_a_corrupted_pack(corruption: str) -> None:
    answer, laid_out = _expand_in_node(CORRUPT[corruption](_packed()), 1)
    assert answer.get("error") and laid_out == b""
