"""How deepscope's readers take hostile input: cases generated, clean errors, peak memory.

Runs the test modules that push generated hostile inputs through the ``hostile`` fixture of
``tests/conftest.py`` (each call must load or raise a DeepscopeError under a 64 MB memory
cap, within a time limit) and prints, per parser: cases, clean errors, loads, and the largest
growth of resident memory on one case.

    python benchmarks/hostile_inputs.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODULES = [
    "tests/data/test_hostile_binary.py",
    "tests/data/test_hostile_text_series.py",
    "tests/data/test_download.py",
    "tests/train/test_hostile_run_folders.py",
]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "hostile.json"
        env = {**os.environ, "DEEPSCOPE_HOSTILE_REPORT": str(report)}
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", *MODULES], cwd=ROOT, env=env)
        stats = json.loads(report.read_text(encoding="utf-8"))
    print(f"\n{'parser':<20} {'cases':>6} {'clean errors':>13} {'loaded':>7} {'peak RSS growth':>16}")
    for name, row in sorted(stats.items()):
        print(f"{name:<20} {row['cases']:>6} {row['error']:>13} {row['loaded']:>7} {row['peak_rss_mib']:>12.1f} MiB")
    total = sum(r["cases"] for r in stats.values())
    errors = sum(r["error"] for r in stats.values())
    worst = max(stats.items(), key=lambda item: item[1]["peak_rss_mib"])
    print(f"{'all':<20} {total:>6} {errors:>13} {total - errors:>7} {worst[1]['peak_rss_mib']:>12.1f} MiB ({worst[0]})")
    print("Every case loaded or ended in deepscope's own error" if done.returncode == 0 else "SOME CASES FAILED")
    sys.exit(done.returncode)


if __name__ == "__main__":
    main()
