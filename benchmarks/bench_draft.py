"""Draft workbooks with many bad rows (tests/fixtures/hostile.py `bad_rows`: two words in number
cells a row), as the reviewer app checks them and as `dqm validate --annotate` does:

- in process: `validate_file` then `annotate_workbook` (the marked-up copy), timed apart; with
  `--app-dir` another checkout's package (e.g. the commit before, side by side);
- as the app does (this checkout only): `start_draft_check` in a child process under the draft
  budget, the time to its first answer (the findings, or the budget's word) and to the copy.

    .venv/bin/python benchmarks/bench_draft.py [--rows 5000 50000 250000] [--app-dir DIR]
        [--in-process-up-to 50000]

Recorded figures: benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


CHILD = """
import sys, time
from compiler.workbook.annotate import annotate_workbook
from compiler.workbook.validate import validate_file
path = sys.argv[1]
data = open(path, "rb").read()
started = time.perf_counter()
checked = validate_file(path.rsplit("/", 1)[-1], data=data)
validated = time.perf_counter() - started
started = time.perf_counter()
annotate_workbook(data, checked.findings, "draft.xlsx")
print(len(checked.findings), validated, time.perf_counter() - started)
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, nargs="+", default=[5_000, 50_000, 250_000])
    ap.add_argument("--app-dir", type=Path, default=ROOT)
    ap.add_argument("--in-process-up-to", type=int, default=50_000)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from tests.fixtures.hostile import bad_rows

    here = args.app_dir.resolve() == ROOT
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.rows:
            folder = Path(tmp) / str(n)
            folder.mkdir()
            path = bad_rows(folder, n if n < 250_000 else 249_999)  # rows reach 250,000
            line = f"{n:>8,} bad rows ({path.stat().st_size / 1e6:.1f} MB)"
            if n <= args.in_process_up_to:  # a fresh process, with that checkout's package
                run = subprocess.run(
                    [sys.executable, "-c", CHILD, str(path)],
                    cwd=args.app_dir,
                    env={**os.environ, "PYTHONPATH": str(args.app_dir)},
                    capture_output=True,
                    text=True,
                    check=True,
                )
                found, validated, annotated = run.stdout.split()
                line += (
                    f" · in process: {int(found):,} findings in {float(validated):.1f} s, "
                    f"marked-up copy {float(annotated):.1f} s"
                )
            if here:
                line += " · app: " + as_the_app(path.read_bytes(), path.name)
            print(line, flush=True)


def as_the_app(data: bytes, name: str) -> str:
    from compiler.budget import OverBudget, warm_up
    from compiler.ruleset.draft import start_draft_check

    warm_up()
    started = time.perf_counter()
    job = start_draft_check(data, name, ROOT / "exports")
    try:
        check = job.next()
    except OverBudget as exc:
        return f"stopped after {time.perf_counter() - started:.1f} s: {exc}"
    first = time.perf_counter() - started
    try:
        job.next()
        copy = f"copy after {time.perf_counter() - started:.1f} s"
    except OverBudget as exc:
        copy = f"copy stopped after {time.perf_counter() - started:.1f} s: {exc}"
    shown = len(check.findings)
    return f"findings after {first:.1f} s ({shown} shown of {check.error_count:,}), {copy}"


if __name__ == "__main__":
    main()
