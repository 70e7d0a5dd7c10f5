"""Benchmark: `dqm validate` and `dqm compile` on a generated workbook with 20,000 Limits rows over
5,000 policies (Overrides, History, Drug Lists and Tests in proportion), beside the floor: pandas
reading the same sheets with the calamine engine. Prints medians; see benchmarks/README.md.

    .venv/bin/python benchmarks/bench_compile.py [--runs 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import openpyxl
import pandas as pd

from compiler.ruleset.check import check_workbook
from compiler.ruleset.compile import compile_workbook
from compiler.workbook import schemas
from compiler.workbook.validate import validate_file

ROOT = Path(__file__).resolve().parents[1]

POLICIES, PRODUCTS_PER_POLICY, LISTS, DRUGS_PER_LIST, TESTS = 5_000, 4, 10, 50, 2_000


def generate(path: Path) -> dict[str, int]:
    wb = openpyxl.Workbook(write_only=True)
    sheets = {name: wb.create_sheet(name) for name in schemas.SHEETS}
    for name, ws in sheets.items():
        ws.append(list(schemas.columns(name)))
    sheets["Ruleset"].append(["bench-dqm", "Benchmark ruleset", "Benchmarks"])
    for c in range(LISTS):
        sheets["Criteria"].append(
            [
                f"criterion-{c}",
                f"Patient takes a drug on list {c}",
                "Concomitant drug on list",
                f"list-{c}",
            ]
        )
        for d in range(DRUGS_PER_LIST):
            sheets["Drug Lists"].append(
                [f"list-{c}", f"drug {c} {d}", f"brand {c} {d}; other {c} {d}", None]
            )
    review = dt.date(2025, 12, 8)
    counts = {"Limits": 0, "Overrides": 0, "History": 0, "Tests": 0}
    for p in range(POLICIES):
        pid = f"policy-{p}"
        sheets["Policies"].append([pid, f"Policy {p}", "Per Rx", review, 12, None])
        for year in (2023, 2024):
            sheets["History"].append(
                [pid, "Annual Revision", "No criteria changes.", dt.date(year, 12, 1)]
            )
        sheets["History"].append([pid, "Annual Revision", "No criteria changes.", review])
        counts["History"] += 3
        for k in range(PRODUCTS_PER_POLICY):
            prod = f"product-{p}-{k}"
            sheets["Limits"].append(
                [pid, prod, f"Drug {p}", f"{k * 100 + 100} mg tablets", 60, 180, "tablets", None]
            )
            counts["Limits"] += 1
            if k % 2:
                sheets["Overrides"].append(
                    [prod, f"criterion-{(p + k) % LISTS}", 90, 270, None, None]
                )
                counts["Overrides"] += 1
                if counts["Tests"] < TESTS:
                    sheets["Tests"].append(
                        [
                            f"t-{prod}",
                            prod,
                            "Retail",
                            75,
                            f"brand {(p + k) % LISTS} 1",
                            None,
                            "Override",
                            75,
                            None,
                        ]
                    )
                    counts["Tests"] += 1
    wb.save(path)
    return counts


def timed(fn, runs: int, scratch: Path | None = None) -> float:
    """Median seconds of `fn()`. Before each run (untimed) the previous run's exports are removed
    and the disk is synced, so that no run waits on writing back the gigabyte the others wrote:
    each starts as a user's compile does, on an idle disk."""
    times = []
    for _ in range(runs):
        if scratch is not None:
            for old in scratch.glob("exports-*"):
                shutil.rmtree(old)
        os.sync()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    runs = ap.parse_args().runs
    # The commands run with the package's bytecode, as an installed package has it.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "compiler")], check=True)
    tmp = Path(tempfile.mkdtemp(prefix="dqm-bench-"))
    try:
        book = tmp / "bench-dqm.xlsx"
        counts = generate(book)
        print(f"workbook: {book.stat().st_size / 1e6:.1f} MB, {counts}")
        floor = timed(
            lambda: pd.read_excel(book, sheet_name=list(schemas.SHEETS), engine="calamine"), runs
        )

        def validate():
            assert validate_file(book).ok

        def check():  # what `dqm validate` runs: the sheets, then build, Tests and History
            assert check_workbook(book, tmp / "no-exports").ok

        def compile_():
            assert compile_workbook(book, tmp / f"exports-{time.perf_counter_ns()}").ok

        def cli(*args):
            return lambda: subprocess.run(
                [str(ROOT / ".venv/bin/dqm"), *args], check=True, capture_output=True
            )

        rows = [
            ("pandas read_excel, calamine engine (floor)", floor),
            ("validate (library)", timed(validate, runs)),
            ("check_workbook (library, what `dqm validate` runs)", timed(check, runs)),
            ("compile (library, empty store)", timed(compile_, runs, tmp)),
            (
                "`dqm validate` (command, incl. start-up)",
                timed(cli("validate", str(book), "--exports", str(tmp / "no-exports")), runs),
            ),
            (
                "`dqm compile` (command, incl. start-up)",
                timed(
                    lambda: cli(
                        "compile",
                        str(book),
                        "--exports",
                        str(tmp / f"exports-{time.perf_counter_ns()}"),
                    )(),
                    runs,
                    tmp,
                ),
            ),
        ]
        print(f"medians of {runs} runs")
        for label, seconds in rows:
            print(f"| {label} | {seconds:.2f} s | {seconds / floor:.1f}x the floor |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
