"""Reviewer app responsiveness, through Streamlit's AppTest (the real page scripts, in process):
the One claim page cold (caches empty: every version verified) and warm (a changed quantity),
the Batch page deciding an uploaded claims CSV, and the rule picture alone. Prints medians of RUNS.

    .venv/bin/python benchmarks/bench_app.py [--runs 7] [--batch-claims 10000]

Recorded 2026-11-27, 2-core x86_64 build machine, Python 3.11.7, Streamlit 1.67, medians of 7:
    One claim page, cold (caches cleared) ...  206 ms
    One claim page, warm rerun ..............   79 ms
    Rule picture (decide + chart spec) ......   73 ms
    Batch: decide 10,000 uploaded claims ....  133 ms  (the script run after "Decide all")
Recorded 2026-12-01 08:48 UTC after issue 14 (load average ~1.1), medians of 7:
    One claim page, cold (caches cleared) ...  156 ms
    One claim page, warm rerun ..............   13 ms  (versions and the chart spec are kept)
    Rule picture, built afresh ..............   60 ms
    Batch: decide 10,000 uploaded claims ....   37 ms  (decided as uploaded, 1,000 rows shown)
AppTest times exclude the browser's rendering; the browser tier's whole run is about 30 s for 6 scenarios.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app_pages import memo, picture  # noqa: E402  (app_pages is not installed: ROOT above)
from compiler.decide.engine import Engine  # noqa: E402
from compiler.ruleset.store import Store  # noqa: E402

APP = str(ROOT / "app.py")


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def claims_csv(n: int, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "claim_id": np.arange(1, n + 1),
            "product_id": np.array(["imatinib-400mg-tab", "imatinib-100mg-tab"])[
                rng.integers(0, 2, n)
            ],
            "channel": np.array(["retail", "home_delivery"])[rng.integers(0, 2, n)],
            "quantity": rng.integers(1, 600, n),
            "concomitant_drugs": np.array(["", "", "rifampin", "Tegretol 200 mg", "lisinopril"])[
                rng.integers(0, 5, n)
            ],
            "attested_criteria": "",
        }
    )
    return frame.to_csv(index=False).encode()


def cold_claim_page() -> float:
    memo.clear_caches()
    return timed(lambda: AppTest.from_file(APP, default_timeout=120).run())


def warm_rerun(at: AppTest, quantity: float) -> float:
    at.text_input(key="claim_quantity").set_value(str(quantity))
    return timed(at.run)


def cold_chart(engine: Engine) -> float:
    """The rule picture built afresh (its spec is cached per version, product and channel)."""
    memo.clear_caches()
    return timed(lambda: picture.rule_chart(engine, "imatinib-400mg-tab", "retail", requested=120))


def batch_upload(data: bytes) -> float:
    at = AppTest.from_file(APP, default_timeout=300).run()
    at.switch_page("app_pages/batch.py").run()
    at.file_uploader(key="batch_upload").upload("claims.csv", data, "text/csv")
    at.run()
    at.button(key="batch_decide").click()
    elapsed = timed(at.run)
    assert not at.exception, at.exception
    n = data.count(b"\n") - 1
    assert any(h.value.startswith(f"{n:,} decisions by ") for h in at.subheader), (
        "the batch was not decided"
    )
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--batch-claims", type=int, default=10_000)
    args = ap.parse_args()
    print(f"python {platform.python_version()}, {platform.machine()}, runs={args.runs}")

    cold = [cold_claim_page() for _ in range(args.runs)]
    at = AppTest.from_file(APP, default_timeout=120).run()
    warm = [warm_rerun(at, 61 + i) for i in range(args.runs)]
    engine = Engine(Store(ROOT / "exports").load("oncology-dqm"))
    chart = [cold_chart(engine) for _ in range(args.runs)]
    data = claims_csv(args.batch_claims)
    batch = [batch_upload(data) for _ in range(max(3, args.runs // 2))]

    def ms(xs: list[float]) -> str:
        return f"{statistics.median(xs) * 1000:8.1f} ms"

    print(f"One claim page, cold (caches cleared) ... {ms(cold)}")
    print(f"One claim page, warm rerun .............. {ms(warm)}")
    print(f"Rule picture (decide + chart spec) ...... {ms(chart)}")
    print(f"Batch: decide {args.batch_claims:,} uploaded claims .. {ms(batch)}")


if __name__ == "__main__":
    main()
