"""Claims as pharmacies send them: `dqm decide` of claims named by NDC and dated across three
versions (each claim by the version in effect on its date of service), against the same claims
named by product_id and decided by one version, in the same run. Target: within 1.3x.

Regenerates its inputs under benchmarks/data/ (git-ignored): a store of three versions of the
founding ruleset (the 400 mg retail limit 60, 70, 80; in effect from 2024-01-01, 2025-01-01,
2026-01-01) and the claims. Each run times the commands back to back (so both see the same
machine); prints medians and the median of the per-run ratios.

    .venv/bin/python benchmarks/bench_versions.py [--claims 1000000] [--runs 7] [--before DIR]

With `--before DIR` (the package as it was before dates and codes, e.g. `git archive 9bafc0d |
tar -x -C DIR`), it also times the claims by product_id without a date column, as
bench_decide.py's end-to-end run reads them, decided by that code and by this code, in the same
run: the single-version path kept as fast as it was.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_decide import _cpu, claims  # noqa: E402
from founding_workbook import rows  # noqa: E402

from compiler.ruleset.compile import compile_workbook  # noqa: E402
from compiler.workbook.template import write_workbook  # noqa: E402

DATA = ROOT / "benchmarks" / "data"
STORE = DATA / "versions-exports"
EFFECTIVE = [dt.date(2024, 1, 1), dt.date(2025, 1, 1), dt.date(2026, 1, 1)]
# Each product's package NDCs, written as claims and labels write them (11 digits, or hyphenated);
# the third product has no codes in the ruleset (its claims decide not_applicable).
NDCS = {
    "imatinib-400mg-tab": ["47335047583", "47335-475-88", "47335047513", "47335-0475-64"],
    "imatinib-100mg-tab": ["47335-472-83", "47335047281", "47335047288", "47335-472-13"],
    "dasatinib-100mg-tab": ["00003052711"],
}


def store() -> Path:
    """Three versions, each a retail limit of its own, in effect one year after the other."""
    shutil.rmtree(STORE, ignore_errors=True)
    for i, effective in enumerate(EFFECTIVE):
        r = copy.deepcopy(rows())
        r["Ruleset"][0][3] = effective
        r["Limits"][1][4], r["Overrides"][0][2] = 60 + 10 * i, 90 + 10 * i
        r["Tests"] = []
        reviewed = dt.date(2026, 12, 2) + dt.timedelta(days=i)
        r["History"].append(
            ["imatinib-per-rx", "Revision", f"Retail limit {60 + 10 * i}.", reviewed]
        )
        r["Policies"][0][3] = reviewed
        result = compile_workbook(write_workbook(DATA / f"version-{i + 1}.xlsx", r), STORE)
        assert result.ok, result.findings
    return STORE / "oncology-dqm" / f"v{len(EFFECTIVE)}.json"


def claim_files(n: int) -> tuple[Path, Path, Path]:
    """The same claims twice: named by NDC, and by product_id; both dated over the three years."""
    frame = claims(n, seed=1)
    rng = np.random.default_rng(3)
    pick = rng.integers(0, 4, n)
    frame["ndc"] = [
        NDCS[p][k % len(NDCS[p])] for p, k in zip(frame["product_id"], pick, strict=True)
    ]
    start = np.datetime64(EFFECTIVE[0].isoformat())
    frame["date_of_service"] = (start + rng.integers(0, 3 * 365, n)).astype(str)
    rest = ["channel", "quantity", "date_of_service", "concomitant_drugs", "attested_criteria"]
    by_ndc, by_product = DATA / f"claims-ndc-{n}.csv", DATA / f"claims-product-{n}.csv"
    undated = DATA / f"claims-product-undated-{n}.csv"
    frame[["claim_id", "ndc", *rest]].to_csv(by_ndc, index=False)
    frame[["claim_id", "product_id", *rest]].to_csv(by_product, index=False)
    frame[["claim_id", "product_id", *(c for c in rest if c != "date_of_service")]].to_csv(
        undated, index=False
    )
    return by_ndc, by_product, undated


def timed(args: list[str], code: Path | None = None) -> float:
    """`dqm decide ARGS`, by this package or by the one in `code` (as the console script runs)."""
    dqm = [sys.executable, "-c", "from compiler.cli import run; run()"]
    env = {**os.environ, "PYTHONPATH": str(code or ROOT)}
    with open(DATA / "decisions.csv", "wb") as sink:
        started = time.perf_counter()
        subprocess.run([*dqm, "decide", *args], stdout=sink, check=True, env=env)
        return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--claims", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--before", type=Path, help="the package before dates and codes")
    args = ap.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    one_version = store()
    by_ndc, by_product, undated = claim_files(args.claims)
    v3 = str(ROOT / "exports" / "oncology-dqm" / "v3.json")  # a schema-1 file both codes read
    by_date = [str(by_ndc), "--ruleset", "oncology-dqm", "--exports", str(STORE)]
    commands: dict[str, tuple[list[str], Path | None]] = {
        "ndc_three_versions_by_date": (by_date, None),
        "product_id_one_version": ([str(by_product), "--ruleset", str(one_version)], None),
    }
    if args.before:
        commands["undated_product_id_before"] = ([str(undated), "--ruleset", v3], args.before)
        commands["undated_product_id_now"] = ([str(undated), "--ruleset", v3], None)
    # The commands run with the packages' bytecode, as an installed package has it.
    for package in [ROOT, *([args.before] if args.before else [])]:
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", str(package / "compiler")], check=True
        )
    load_before = os.getloadavg()[0]
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, (command, code) in commands.items():
            times[name].append(timed(command, code))
    ratios = [
        a / b
        for a, b in zip(
            times["ndc_three_versions_by_date"], times["product_id_one_version"], strict=True
        )
    ]
    result = {
        "machine": f"{_cpu()}, {os.cpu_count()} cores",
        "claims": args.claims,
        "runs": args.runs,
        **{f"{name}_seconds": round(statistics.median(t), 2) for name, t in times.items()},
        "ratio_of_medians": round(
            statistics.median(times["ndc_three_versions_by_date"])
            / statistics.median(times["product_id_one_version"]),
            2,
        ),
        "median_of_run_ratios": round(statistics.median(ratios), 2),
        # On a machine shared with other jobs the fastest run is the one least disturbed.
        **{f"{name}_fastest_seconds": round(min(t), 2) for name, t in times.items()},
        "all_seconds": {name: [round(x, 2) for x in t] for name, t in times.items()},
        "load_average_1min_before_after": [round(load_before, 1), round(os.getloadavg()[0], 1)],
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
