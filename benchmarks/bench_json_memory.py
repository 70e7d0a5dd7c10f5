"""Benchmark: peak memory of `dqm decide` writing JSON, beside CSV and JSON lines, on the same
claims: `--format json` streams its list batch by batch, so its peak should be CSV's, whatever the
number of claims. Each run is its own process under /usr/bin/time (wall seconds, peak RSS); the
medians of the runs are printed. See benchmarks/README.md.

    .venv/bin/python benchmarks/bench_json_memory.py [--claims 1000000 3000000] [--runs 3]

The claims are bench_stream.py's (benchmarks/data/claims-N.csv, generated once, git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_stream import DATA, DQM, RULESET, generate, timed  # noqa: E402


def measure(claims: Path, fmt: str, runs: int) -> dict:
    out = DATA / f"decisions.{fmt}"
    walls, peaks = [], []
    for _ in range(runs):
        out.unlink(missing_ok=True)
        wall, peak = timed(
            [
                DQM,
                "decide",
                str(claims),
                "--ruleset",
                str(RULESET),
                "--format",
                fmt,
                "--output",
                str(out),
            ]
        )
        walls.append(wall)
        peaks.append(peak)
    return {
        "format": fmt,
        "seconds": statistics.median(walls),
        "peak_rss_mb": round(statistics.median(peaks)),
        "peak_rss_mb_runs": [round(p) for p in peaks],
        "output_mb": round(out.stat().st_size / 2**20),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--claims", type=int, nargs="*", default=[1_000_000])
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()[0]
    for n in args.claims:
        claims, _ = generate(n)
        for fmt in ("csv", "json", "jsonl"):
            print(json.dumps({"claims": n, **measure(claims, fmt, args.runs)}), flush=True)
    print(
        json.dumps(
            {
                "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                f"Python {platform.python_version()}",
                "load_average_1min_before_after": [
                    round(load_before, 1),
                    round(os.getloadavg()[0], 1),
                ],
            }
        )
    )


if __name__ == "__main__":
    main()
