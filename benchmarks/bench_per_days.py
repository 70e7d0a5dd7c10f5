"""Limits over time at scale: `dqm decide --history` on a Per Days ruleset, side by side with
DuckDB in the same run, and its peak memory as the run grows.

    .venv/bin/python benchmarks/bench_per_days.py [--claims 10000000] [--members 1000000]
        [--history 10000000] [--runs 3] [--memory-sizes 2000000 20000000] [--data DIR]
        [--spark MASTER]

The ruleset is the bundled store with a v5 that adds a Per Days policy (sumatriptan 100 mg:
9 per 30 days at retail, 27 per 90 at home delivery, 18 and 54 when frequent migraine is
attested; tests/fixtures/per_days.py). The claims (CSV) are 90% sumatriptan, 10% imatinib
(Per Rx), over MEMBERS members, dated across 2026 in no order, a third attesting frequent
migraine; the history (CSV) holds paid and reversed fills of sumatriptan in 2025-2026.

The peer: DuckDB reads the same claims and history files and, in one SQL query, computes each
claim's plain rolling 30-day sum of its member's fills and earlier claims (a window function over
the union, RANGE 29 days preceding) and writes claim position and sum as CSV, in input order.
That is less than dqm does: dqm also decides every claim, counts only what earlier claims were
approved (which depends on their own decisions, in the run's order), uses each channel's window,
and writes the full decision. Both run as their own processes, alternately (DuckDB first in odd
runs); wall seconds from the parent, peak RSS from the child's rusage. DuckDB may use both cores.

DuckDB is the `bench` extra: `.venv/bin/pip install -e '.[bench]'`.

Memory: `dqm decide` alone on each of --memory-sizes claims (members and history in proportion),
peak RSS each.

With `--spark MASTER` (such as local[2]) the run is instead decided on Spark beside the single
process, alternately, on the same files: the claims and the history as Parquet (row groups of
131,072; Spark reads a CSV file in one task), `dqm decide claims.parquet --history fills.parquet
--output one.parquet` and the same with `--spark MASTER --output DIR`, each its own process (the
Spark one starting its JVM). Their decisions are compared once, every field; claims/s per core
and an estimate for 1.5 billion claims a year follow.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DQM = str(Path(sys.executable).parent / "dqm")
DATA = ROOT / "benchmarks" / "data" / "per_days"
CHUNK = 1_000_000
START = np.datetime64("2026-01-01")

DUCKDB = r"""
import sys, duckdb
claims, history, out = sys.argv[1:4]
duckdb.sql(f'''
COPY (
  WITH c AS (
    SELECT row_number() OVER () AS pos, member_id, product_id,
           CAST(date_of_service AS DATE) AS d, CAST(quantity AS DOUBLE) AS q
    FROM read_csv('{claims}', all_varchar = true)),
  f AS (
    SELECT member_id, product_id, CAST(date_of_service AS DATE) AS d, CAST(quantity AS DOUBLE) AS q
    FROM read_csv('{history}', all_varchar = true)
    WHERE coalesce(status, 'paid') <> 'reversed'),
  u AS (SELECT pos, member_id, product_id, d, q FROM c
        UNION ALL SELECT NULL, member_id, product_id, d, q FROM f),
  w AS (
    SELECT pos, sum(q) OVER (PARTITION BY member_id, product_id ORDER BY d
                             RANGE BETWEEN INTERVAL 29 DAYS PRECEDING AND CURRENT ROW) - q AS received
    FROM u)
  SELECT pos, received FROM w WHERE pos IS NOT NULL ORDER BY pos
) TO '{out}' (HEADER, DELIMITER ',')
''')
"""


def store(data: Path) -> Path:
    """The bundled store with the Per Days policy published as v5 (made once)."""
    exports = data / "exports"
    if (exports / "oncology-dqm" / "v5.json").exists():
        return exports
    from compiler.ruleset.compile import compile_workbook
    from compiler.workbook.template import write_workbook
    from tests.fixtures import per_days

    shutil.copytree(ROOT / "exports", exports, ignore=shutil.ignore_patterns(".lock"))
    workbook = write_workbook(data / "per-days.xlsx", per_days.rows())
    assert compile_workbook(workbook, exports).outcome.version == 5
    return exports


def claims_file(data: Path, n: int, members: int) -> Path:
    path = data / f"claims-{n}-{members}.csv"
    if path.exists():
        return path
    rng = np.random.default_rng(n)
    with pacsv.CSVWriter(str(path) + ".tmp", _claims_chunk(rng, 0, 1, members).schema) as w:
        for start in range(0, n, CHUNK):
            w.write_table(_claims_chunk(rng, start, min(CHUNK, n - start), members))
    os.replace(str(path) + ".tmp", path)
    return path


def _claims_chunk(rng, start: int, k: int, members: int) -> pa.Table:
    per_days = rng.random(k) < 0.9
    day = START + rng.integers(0, 365, k).astype("timedelta64[D]")
    return pa.table(
        {
            "claim_id": np.char.add("C", np.arange(start, start + k).astype(str)),
            "member_id": np.char.add("M", rng.integers(0, members, k).astype(str)),
            "product_id": np.where(per_days, "sumatriptan-100mg-tab", "imatinib-400mg-tab"),
            "channel": np.where(rng.random(k) < 0.8, "retail", "home_delivery"),
            "quantity": rng.choice([1, 2, 3, 4, 6, 9, 12, 30, 60, 61], k).astype(str),
            "date_of_service": np.datetime_as_string(day),
            "attested_criteria": np.where(rng.random(k) < 0.33, "frequent-migraine", ""),
        }
    )


def history_file(data: Path, n: int, members: int) -> Path:
    path = data / f"history-{n}-{members}.csv"
    if path.exists():
        return path
    rng = np.random.default_rng(n + 1)
    with pacsv.CSVWriter(str(path) + ".tmp", _fills_chunk(rng, 1, members).schema) as w:
        for start in range(0, n, CHUNK):
            w.write_table(_fills_chunk(rng, min(CHUNK, n - start), members))
    os.replace(str(path) + ".tmp", path)
    return path


def _fills_chunk(rng, k: int, members: int) -> pa.Table:
    day = np.datetime64("2025-10-01") + rng.integers(0, 456, k).astype("timedelta64[D]")
    return pa.table(
        {
            "member_id": np.char.add("M", rng.integers(0, members, k).astype(str)),
            "product_id": np.full(k, "sumatriptan-100mg-tab"),
            "date_of_service": np.datetime_as_string(day),
            "quantity": rng.choice([1, 2, 3, 6, 9], k).astype(str),
            "status": np.where(rng.random(k) < 0.05, "reversed", "paid"),
        }
    )


def parquet_of(csv: Path) -> Path:
    """The same rows as Parquet, every column text (made once)."""
    import pyarrow.parquet as pq

    path = csv.with_suffix(".parquet")
    if not path.exists():
        table = pacsv.read_csv(csv)
        table = table.cast(pa.schema([(n, pa.string()) for n in table.column_names]))
        pq.write_table(table, str(path) + ".tmp", row_group_size=131_072)
        os.replace(str(path) + ".tmp", path)
    return path


def spark_side_by_side(args, exports: Path) -> None:
    """The single process and Spark on the same Parquet files, alternately."""
    import pandas as pd

    claims = parquet_of(claims_file(args.data, args.claims, args.members))
    history = parquet_of(history_file(args.data, args.history, args.members))
    one, folder = args.data / "one.parquet", args.data / "spark-decisions"
    common = [str(claims), "--ruleset", "oncology-dqm", "--exports", str(exports),
              "--history", str(history)]  # fmt: skip
    sides = {
        "one process": [DQM, "decide", *common, "--output", str(one)],  # replaced whole
        "spark": [DQM, "decide", *common, "--spark", args.spark, "--output", str(folder)],
    }
    cores = int(args.spark.removeprefix("local[").removesuffix("]")) if "[" in args.spark else 1
    print(f"load before: {os.getloadavg()}")
    walls: dict[str, list[float]] = {k: [] for k in sides}
    for run in range(args.runs):
        for name in list(sides)[:: 1 if run % 2 == 0 else -1]:
            if name == "spark":
                shutil.rmtree(folder, ignore_errors=True)
            walls[name].append(child_peak(sides[name])[0])
            print(f"run {run + 1} {name}: {walls[name][-1]:.1f} s")
        if run == 0:
            same = pd.read_parquet(folder).equals(pd.read_parquet(one))
            print(f"every field the same: {same}")
    print(f"load after: {os.getloadavg()}")
    single, spark = (statistics.median(walls[k]) for k in sides)
    per_core = args.claims / spark / cores
    year = 1.5e9 / per_core  # core-seconds
    print(
        f"{args.claims:,} claims over {args.members:,} members, {args.history:,} fills: "
        f"one process {single:.1f} s ({args.claims / single:,.0f} claims/s), Spark {args.spark} "
        f"{spark:.1f} s ({args.claims / spark:,.0f} claims/s, {per_core:,.0f} per core); "
        f"1.5 billion claims: {year:,.0f} core-seconds, {year / 100 / 60:.1f} min on 100 cores"
    )
    one.unlink(missing_ok=True)
    shutil.rmtree(folder, ignore_errors=True)


def child_peak(argv: list[str]) -> tuple[float, float]:
    """Wall seconds and this one process's peak RSS (MB), measured in a fresh parent."""
    probe = (
        "import resource, subprocess, sys, time; t = time.perf_counter(); "
        "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
        "print(time.perf_counter() - t, "
        "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)"
    )
    done = subprocess.run([sys.executable, "-c", probe, *argv], check=True, capture_output=True)
    wall, peak = done.stdout.split()
    return float(wall), float(peak)


def main() -> None:
    a = argparse.ArgumentParser()
    a.add_argument("--claims", type=int, default=10_000_000)
    a.add_argument("--members", type=int, default=1_000_000)
    a.add_argument("--history", type=int, default=10_000_000)
    a.add_argument("--runs", type=int, default=3)
    a.add_argument("--memory-sizes", type=int, nargs="*", default=[2_000_000, 20_000_000])
    a.add_argument("--data", type=Path, default=DATA)
    a.add_argument("--spark", metavar="MASTER", help="Spark beside the single process instead")
    args = a.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    exports = store(args.data)
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    if args.spark:
        spark_side_by_side(args, exports)
        return
    claims = claims_file(args.data, args.claims, args.members)
    history = history_file(args.data, args.history, args.members)
    out = args.data / "out.csv"
    dqm = [DQM, "decide", str(claims), "--ruleset", "oncology-dqm", "--exports", str(exports),
           "--history", str(history), "--output", str(out)]  # fmt: skip
    duck = [sys.executable, "-c", DUCKDB, str(claims), str(history), str(args.data / "duck.csv")]
    print(f"load before: {os.getloadavg()}")
    rows: dict[str, list[tuple[float, float]]] = {"dqm": [], "duckdb": []}
    for run in range(args.runs):
        order = (
            [("duckdb", duck), ("dqm", dqm)] if run % 2 == 0 else [("dqm", dqm), ("duckdb", duck)]
        )
        for name, argv in order:
            rows[name].append(child_peak(argv))
            print(f"run {run + 1} {name}: {rows[name][-1][0]:.1f} s, {rows[name][-1][1]:.0f} MB")
    print(f"load after: {os.getloadavg()}")
    median = {k: statistics.median(w for w, _ in v) for k, v in rows.items()}
    ratios = [d[0] / k[0] for d, k in zip(rows["dqm"], rows["duckdb"], strict=True)]
    print(
        f"{args.claims:,} claims over {args.members:,} members, {args.history:,} fills: "
        f"dqm {median['dqm']:.1f} s (peak {max(p for _, p in rows['dqm']):.0f} MB), "
        f"DuckDB {median['duckdb']:.1f} s (peak {max(p for _, p in rows['duckdb']):.0f} MB); "
        f"ratio of medians {median['dqm'] / median['duckdb']:.2f}, median ratio "
        f"{statistics.median(ratios):.2f}"
    )
    for n in args.memory_sizes:
        m, h = max(n // 10, 1), n
        c, f = claims_file(args.data, n, m), history_file(args.data, h, m)
        argv = [DQM, "decide", str(c), "--ruleset", "oncology-dqm", "--exports", str(exports),
                "--history", str(f), "--output", str(out)]  # fmt: skip
        wall, peak = child_peak(argv)
        print(f"memory: {n:,} claims, {m:,} members, {h:,} fills: {wall:.1f} s, peak {peak:.0f} MB")
    out.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
