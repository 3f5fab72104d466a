"""`make bench`: print every figure the project tracks. Figures only, no pass/fail."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = [
    ROOT / "bench" / "demos_bench.py",
    ROOT / "bench" / "lin_bench.py",
    ROOT / "bench" / "turns_bench.py",
    ROOT / "bench" / "build_bench.py",
    ROOT / "bench" / "browser_bench.py",
    ROOT / "bench" / "lab_bench.py",
]


def main() -> int:
    status = 0
    for script in SCRIPTS:
        if not script.exists():
            print(f"== {script.name}: missing")
            continue
        result = subprocess.run([sys.executable, str(script)], cwd=ROOT)
        status = status or result.returncode
        print()
    return status


if __name__ == "__main__":
    raise SystemExit(main())
