"""Time the linearizability checker on generated register histories of growing length.

    .venv/bin/python bench/lin_bench.py [--processes 6] [--jepsen LOG ...]

For 1,000, 5,000 and 20,000 operations it prints the wall time of `check` (the best of
three runs) and the configurations explored, for a history that is linearizable by
construction and for a copy where one read in the middle returns a stale value.
`--jepsen` also checks register logs in the Jepsen text format Porcupine keeps in its
test data (lines like `INFO  jepsen.util - 3 :invoke :write 75`), one log line per
millisecond. Prints figures only.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from demos import linearizability as lin  # noqa: E402

SIZES = (1000, 5000, 20000)
JEPSEN_LINE = re.compile(
    r"""jepsen\.util\s+-\s+(?P<process>\d+)\s+   # the client
        :(?P<type>invoke|ok|fail|info)\s+
        :(?P<f>\w+)\s+
        (?P<value>\S+)                          # a number, nil or :timed-out""",
    re.VERBOSE,
)


def timed(history: list[dict]) -> tuple[float, lin.Verdict]:
    """Give the best wall time of three checks of `history`, and the verdict."""
    best, verdict = float("inf"), None
    for _ in range(3):
        start = time.perf_counter()
        verdict = lin.check(history)
        best = min(best, time.perf_counter() - start)
    return best, verdict


def with_stale_read(history: list[dict]) -> list[dict]:
    """Give a copy where the read in the middle returns the key's first written value.

    That write finished long before the read began, so the read is stale whenever some
    other write came between; `stale_reads` confirms it in the printout.
    """
    ops, _ = lin.pair(history)
    reads = [op for op in ops if op.f == "read" and op.status == "ok"]
    read = reads[len(reads) // 2]
    first = next(op for op in ops if op.f == "write" and op.status == "ok" and op.key == read.key)
    copy = [dict(entry) for entry in history]
    for entry in copy:
        if (
            entry["process"] == read.process
            and entry["type"] == "ok"
            and float(entry["t"]) == read.ret
        ):
            entry["value"] = first.value
    return copy


def report(label: str, history: list[dict]) -> None:
    seconds, verdict = timed(history)
    print(
        f"  {label:34s} {seconds * 1000:8.1f} ms  {verdict.explored:7d} configurations"
        f"  {verdict.outcome}"
    )


def parse_jepsen(path: Path) -> list[dict]:
    """Give the history of a Jepsen text log of one register; line n happens at n ms."""
    history = []
    for number, line in enumerate(path.read_text().splitlines()):
        match = JEPSEN_LINE.search(line)
        if match is None:
            continue
        f, raw = match["f"], match["value"]
        if f not in ("read", "write"):
            raise SystemExit(f"{path}:{number + 1}: only reads and writes are checked, not {f}")
        value = None if raw in ("nil", ":timed-out") else int(raw)
        history.append(
            {
                "process": match["process"],
                "type": match["type"],
                "f": f,
                "key": "x",
                "value": value,
                "t": float(number),
            }
        )
    return history


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=6)
    parser.add_argument("--jepsen", type=Path, nargs="*", default=[])
    args = parser.parse_args()
    print(
        f"== linearizability checker in CPython {sys.version.split()[0]} "
        f"({args.processes} processes, one key, best of 3)"
    )
    for size in SIZES:
        history = lin.register_history(
            random.Random(size), size, processes=args.processes, unknown=0.02, failed=0.01
        )
        report(f"{size:,} ops, linearizable", history)
        stale = with_stale_read(history)
        found = len(lin.stale_reads(stale))
        report(f"{size:,} ops, {found} stale read{'s' * (found != 1)}", stale)
    for path in args.jepsen:
        history = parse_jepsen(path)
        report(f"{path.name} ({sum(e['type'] == 'invoke' for e in history):,} ops)", history)


if __name__ == "__main__":
    main()
