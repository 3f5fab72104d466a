"""Wall time of the demos in CPython: the median of several runs per configuration."""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import demos  # noqa: E402

CASES = [
    ("raft", {"nodes": 5, "duration": 30000}, "raft, 5 nodes, 30 s simulated (target <= 0.2 s)"),
    ("raft", {}, "raft, defaults"),
    ("clocks", {"processes": 8}, "clocks, 8 processes"),
    ("partition", {"clients": 5}, "partition, 5 clients (cp)"),
    ("partition", {"clients": 5, "mode": "ap"}, "partition, 5 clients (ap)"),
    ("failure", {}, "failure, defaults"),
    ("delivery", {}, "delivery, defaults"),
]


def median_seconds(name: str, params: dict, repeat: int = 5) -> float:
    times = []
    for seed in range(1, repeat + 1):
        start = time.perf_counter()
        demos.run(name, {**params, "seed": seed})
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    print(f"== demos in CPython {sys.version.split()[0]} (median of 5 seeds)")
    available = set(demos.names())
    for name, params, label in CASES:
        if name not in available:
            print(f"  {label:48s} (demo not present)")
            continue
        print(f"  {label:48s} {median_seconds(name, params) * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
