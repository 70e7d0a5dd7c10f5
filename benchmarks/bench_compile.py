"""Benchmark: `dqm validate` and `dqm compile` on a generated workbook with 20,000 Limits rows over
5,000 policies (Overrides, History, Drug Lists and Tests in proportion), beside the floor: pandas
reading the same sheets with the calamine engine. Prints medians; see benchmarks/README.md.

    .venv/bin/python benchmarks/bench_compile.py [--runs 5] [--against CHECKOUT]

With --against CHECKOUT (another checkout of dqm, such as `git worktree add /tmp/old COMMIT`), only
`dqm compile` of the same workbook is timed, that checkout's and this one's alternately (each
`python -m compiler.cli` from its own folder, into an empty store): wall and CPU seconds, medians.
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


def against(book: Path, tmp: Path, runs: int, tree: Path) -> None:
    """`dqm compile` of `book` by `tree` and by this checkout, alternately (the order flipped
    every run), each into an empty store on an idle disk: wall and CPU (user + system) seconds."""
    seconds: dict[str, list[tuple[float, float]]] = {"against": [], "dqm": []}
    for i in range(runs):
        for name in ("against", "dqm") if i % 2 == 0 else ("dqm", "against"):
            for old in tmp.glob("exports-*"):
                shutil.rmtree(old)
            os.sync()
            store = tmp / f"exports-{time.perf_counter_ns()}"
            args = [sys.executable, "-m", "compiler.cli", "compile", str(book), "--exports"]
            start = time.perf_counter()
            child = subprocess.Popen(
                [*args, str(store)],
                cwd=tree if name == "against" else ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            _, status, usage = os.wait4(child.pid, 0)
            if status:
                raise SystemExit(f"{name}: dqm compile failed ({status})")
            wall = time.perf_counter() - start
            seconds[name].append((wall, usage.ru_utime + usage.ru_stime))
    medians = {
        n: [statistics.median(run[k] for run in v) for k in (0, 1)] for n, v in seconds.items()
    }
    for n, (wall, cpu) in medians.items():
        print(f"| `dqm compile`, {n} | {wall:.2f} s wall | {cpu:.2f} s CPU |")
    pairs = list(zip(seconds["against"], seconds["dqm"], strict=True))
    ratios = [statistics.median(d[k] / a[k] for a, d in pairs) for k in (0, 1)]
    print(
        f"this / against: wall {medians['dqm'][0] / medians['against'][0]:.3f} "
        f"(runs {ratios[0]:.3f}), CPU {medians['dqm'][1] / medians['against'][1]:.3f} "
        f"(runs {ratios[1]:.3f}), load average {os.getloadavg()[0]:.1f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--against", type=Path, help="another checkout of dqm to time beside this")
    parsed = ap.parse_args()
    runs = parsed.runs
    # The commands run with the package's bytecode, as an installed package has it.
    for tree in (ROOT, *([parsed.against] if parsed.against else [])):
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", str(tree / "compiler")], check=True
        )
    tmp = Path(tempfile.mkdtemp(prefix="dqm-bench-"))
    try:
        book = tmp / "bench-dqm.xlsx"
        counts = generate(book)
        print(f"workbook: {book.stat().st_size / 1e6:.1f} MB, {counts}")
        if parsed.against:
            print(f"load average {os.getloadavg()[0]:.1f}")
            against(book, tmp, runs, parsed.against)
            return
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
