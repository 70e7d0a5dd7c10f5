"""Streaming `dqm decide` at scale, side by side with a pyarrow floor in the same run, and Spark.

    .venv/bin/python benchmarks/bench_stream.py [--sizes 1000000 8000000 20000000] [--runs 3]
        [--spark-claims 10000000]

Claims are generated once into benchmarks/data/ (git-ignored) as CSV and Parquet, in chunks of
1,000,000 with bench_decide.py's mix (ids C0, C1, … across the file). Each measure runs as its own
process under /usr/bin/time, which gives its wall seconds and peak RSS:

- floor: pyarrow reads the claims CSV (multithreaded, whole) and writes a CSV table of the
  decisions' width (15 columns: the claims' own, numbers, and a message-length text column);
- `dqm decide claims.csv --output decisions.csv`;
- Parquet: the floor reads the claims Parquet and writes a Parquet table of the decisions' width;
  `dqm decide claims.parquet --output decisions.parquet`;
- Spark: `dqm decide claims.parquet --spark local[2] --output DIR` (JVM start included), beside
  Spark copying the same claims (read Parquet, write Parquet: Spark's own floor, JVM start
  included) and the single process on the same Parquet file.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / "data"
RULESET = ROOT / "exports" / "oncology-dqm" / "v3.json"
PYTHON = str(ROOT / ".venv" / "bin" / "python")
DQM = str(ROOT / ".venv" / "bin" / "dqm")
CHUNK = 1_000_000

FLOOR = r"""
import sys, pyarrow as pa, pyarrow.compute as pc, pyarrow.csv as pacsv, pyarrow.parquet as pq
src, out = sys.argv[1], sys.argv[2]
claims = pq.read_table(src) if src.endswith(".parquet") else pacsv.read_csv(src)
n = claims.num_rows
message = pa.DictionaryArray.from_arrays(
    pa.array([0] * n, pa.int32()),
    ["Over the Retail limit of 60 tablets per Rx and no override criterion is met: rejects with code 76."],
)
q = pc.cast(claims["quantity"], pa.float64())
wide = pa.table({
    "claim_id": claims["claim_id"], "product_id": claims["product_id"],
    "policy_id": claims["product_id"], "channel": claims["channel"], "quantity": q,
    "decision": claims["channel"], "approved_quantity": q, "limit": q,
    "criterion_id": claims["channel"], "matched_drugs": claims["concomitant_drugs"],
    "reject_code": q, "approval_months": q, "message": message,
    "ruleset_id": claims["product_id"], "ruleset_version": q,
})
if out.endswith(".parquet"):
    pq.write_table(wide, out)
else:
    pacsv.write_csv(wide, out)
"""


SPARK_COPY = r"""
import sys
from compiler.decide import spark as dqm_spark
spark = dqm_spark.session("local[2]")
spark.read.parquet(sys.argv[1]).write.parquet(sys.argv[2])
spark.stop()
"""


def generate(n: int) -> tuple[Path, Path]:
    """claims-N.csv and claims-N.parquet, written once, chunk by chunk."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_decide import claims

    csv_path, parquet_path = DATA / f"claims-{n}.csv", DATA / f"claims-{n}.parquet"
    if csv_path.exists() and parquet_path.exists():
        return csv_path, parquet_path
    writer = None
    with open(csv_path, "w") as out:
        for i, start in enumerate(range(0, n, CHUNK)):
            frame = claims(min(CHUNK, n - start), seed=100 + i)
            frame["claim_id"] = [f"C{start + k}" for k in range(len(frame))]
            frame.to_csv(out, index=False, header=i == 0)
            table = pa.Table.from_pandas(frame, preserve_index=False)
            writer = writer or pq.ParquetWriter(parquet_path, table.schema)
            writer.write_table(table)
    writer.close()
    return csv_path, parquet_path


def timed(args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one process."""
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%e %M", *args], capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stderr}")
    seconds, kb = done.stderr.strip().splitlines()[-1].split()
    return float(seconds), int(kb) / 1024


def measure(args: list[str], runs: int, clean: Path | None = None) -> dict:
    walls, peaks = [], []
    for _ in range(runs):
        if clean is not None and clean.exists():
            shutil.rmtree(clean) if clean.is_dir() else clean.unlink()
        os.sync()
        wall, peak = timed(args)
        walls.append(wall)
        peaks.append(peak)
    return {"seconds": statistics.median(walls), "peak_rss_mb": round(max(peaks))}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="*", default=[1_000_000, 8_000_000, 20_000_000])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--spark-claims", type=int, default=10_000_000)
    ap.add_argument("--skip-spark", action="store_true")
    args = ap.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()[0]
    results = []
    for n in args.sizes:
        csv_path, parquet_path = generate(n)
        runs = args.runs if n <= 8_000_000 else max(1, args.runs // 2)
        out_csv, out_parquet = DATA / "decisions.csv", DATA / "decisions.parquet"
        row = {"claims": n, "runs": runs}
        for kind, src, out in (("csv", csv_path, out_csv), ("parquet", parquet_path, out_parquet)):
            floor = measure([PYTHON, "-c", FLOOR, str(src), str(out)], runs, out)
            ours = measure(
                [DQM, "decide", str(src), "--ruleset", str(RULESET), "--output", str(out)],
                runs,
                out,
            )
            row[kind] = {
                "floor": floor,
                "dqm": ours,
                "claims_per_s": round(n / ours["seconds"]),
                "x_floor": round(ours["seconds"] / floor["seconds"], 2),
                "output_mb": round(out.stat().st_size / 2**20),
            }
        results.append(row)
        print(json.dumps(row), flush=True)
    spark = None
    if not args.skip_spark:
        n = args.spark_claims
        _, parquet_path = generate(n)
        folder = DATA / "decisions-spark"
        single = measure(
            [
                DQM,
                "decide",
                str(parquet_path),
                "--ruleset",
                str(RULESET),
                "--output",
                str(DATA / "decisions.parquet"),
            ],
            1,
        )
        on_spark = measure(
            [
                DQM,
                "decide",
                str(parquet_path),
                "--ruleset",
                str(RULESET),
                "--spark",
                "local[2]",
                "--output",
                str(folder),
            ],
            1,
            folder,
        )
        copy = measure([PYTHON, "-c", SPARK_COPY, str(parquet_path), str(folder)], 1, folder)
        spark = {
            "claims": n,
            "spark_copy_floor": {**copy, "claims_per_s": round(n / copy["seconds"])},
            "single_process": {**single, "claims_per_s": round(n / single["seconds"])},
            "spark_local_2": {
                **on_spark,
                "claims_per_s": round(n / on_spark["seconds"]),
                "claims_per_s_per_core": round(n / on_spark["seconds"] / 2),
            },
        }
        print(json.dumps(spark), flush=True)
    print(
        json.dumps(
            {
                "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
                "load_average_1min_before_after": [
                    round(load_before, 1),
                    round(os.getloadavg()[0], 1),
                ],
            }
        )
    )


if __name__ == "__main__":
    main()
