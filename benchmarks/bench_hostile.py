"""Benchmark: every hostile workbook of tests/fixtures/hostile.py through `validate_file`, each run in
a fresh Python process so its peak memory is its own. Prints, per case, the median time to the
findings and the peak RSS (VmHWM) growth over the process's baseline after imports; see benchmarks/README.md.

    .venv/bin/python benchmarks/bench_hostile.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fixtures import hostile as corpus  # noqa: E402

CHILD = """
import json, sys, time
from compiler.workbook.validate import validate_file
from compiler.workbook.findings import errors

def hwm_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

base = hwm_mb()
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # reset the peak to the current RSS: what follows is the validation's own
base = hwm_mb()
started = time.perf_counter()
result = validate_file(sys.argv[1])
elapsed = time.perf_counter() - started
peak = hwm_mb()
print(json.dumps({"seconds": elapsed, "grown_mb": peak - base, "peak_mb": peak,
                  "errors": len(errors(result.findings))}))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in corpus.HOSTILE:
            folder = Path(tmp) / case
            folder.mkdir()
            path = getattr(corpus, case)(folder)
            runs = [
                json.loads(
                    subprocess.run(
                        [sys.executable, "-c", CHILD, str(path)],
                        cwd=ROOT,
                        capture_output=True,
                        text=True,
                        check=True,
                    ).stdout
                )
                for _ in range(args.runs)
            ]
            assert all(r["errors"] >= 1 for r in runs), case
            rows.append(
                (
                    case,
                    path.stat().st_size,
                    statistics.median(r["seconds"] for r in runs),
                    statistics.median(r["grown_mb"] for r in runs),
                    max(r["peak_mb"] for r in runs),
                )
            )
    print(f"{'case':24} {'file':>10} {'median s':>9} {'RSS grown MB':>13} {'peak RSS MB':>12}")
    for case, size, seconds, grown, peak in rows:
        print(f"{case:24} {size:>10,} {seconds:>9.3f} {grown:>13.1f} {peak:>12.1f}")
    worst_time = max(rows, key=lambda r: r[2])
    worst_mem = max(rows, key=lambda r: r[3])
    print(
        f"worst time: {worst_time[0]} {worst_time[2]:.3f} s; worst memory growth: "
        f"{worst_mem[0]} {worst_mem[3]:.1f} MB (peak RSS {worst_mem[4]:.1f} MB)"
    )


if __name__ == "__main__":
    main()
