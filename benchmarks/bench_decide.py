"""Decision speed: in memory, end to end through `dqm decide`, zen-engine side by side, one claim
explained. Regenerates its inputs under benchmarks/data/ (git-ignored); prints medians of RUNS runs.

    .venv/bin/python benchmarks/bench_decide.py [--claims 1000000] [--runs 5] [--zen-claims 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd

from compiler.api import load_engine
from compiler.decide.engine import Engine
from compiler.ruleset import jdm

ROOT = Path(__file__).resolve().parents[1]

DATA = ROOT / "benchmarks" / "data"
RULESET = ROOT / "exports" / "oncology-dqm" / "v3.json"

# What pharmacists type: generics, brands, salts, strengths, forms; inducers and not; near misses
# (rifaximin is not rifampin, dexmethylphenidate is not dexamethasone).
DRUG_POOL = [
    "rifampin 300 mg capsule",
    "Rifadin",
    "rifampicin",
    "Rimactane 150mg",
    "rifabutin 150 mg",
    "Mycobutin",
    "Priftin 150 mg tablet",
    "carbamazepine 200 mg tablet",
    "Tegretol XR 400 mg",
    "Carbatrol ER 300 mg capsule",
    "Dilantin 100 mg",
    "Phenytoin Sodium Extended 100 mg capsule",
    "phenobarbital 30 mg tablet",
    "Dexamethasone 4 mg tablet",
    "Decadron",
    "St. John's Wort 300 mg",
    "st johns wort",
    "lisinopril 10 mg tablet",
    "metformin HCl 500 mg",
    "atorvastatin calcium 20 mg",
    "omeprazole 20 mg DR capsule",
    "amlodipine besylate 5 mg",
    "levothyroxine 50 mcg",
    "ondansetron 8 mg ODT",
    "acetaminophen 500 mg",
    "Eliquis 5 mg",
    "rifaximin 550 mg",
    "dexmethylphenidate ER 10 mg",
    "fluconazole 150 mg",
    "ketoconazole 200 mg",
    "allopurinol 300 mg",
    "hydroxyurea 500 mg capsule",
    "prochlorperazine 10 mg",
    "pantoprazole sodium 40 mg",
    "sertraline 50 mg",
    "warfarin sodium 5 mg",
    "furosemide 40 mg",
    "prednisone 10 mg",
    "Zofran 4 mg",
    "Lipitor 40 mg",
]
PRODUCTS = ["imatinib-400mg-tab", "imatinib-100mg-tab", "dasatinib-100mg-tab"]


def claims(n: int, seed: int = 0) -> pd.DataFrame:
    """n claims as read from a file (text columns); 20% carry one to three concomitant drugs."""
    rng = np.random.default_rng(seed)
    product = np.array(PRODUCTS)[rng.choice(3, n, p=[0.6, 0.38, 0.02])]
    channel = np.array(["retail", "home_delivery"])[rng.choice(2, n, p=[0.7, 0.3])]
    quantity = rng.integers(1, 600, n).astype(str)
    drugs = np.full(n, None, dtype=object)
    carrying = np.flatnonzero(rng.random(n) < 0.2)
    pool = np.array(DRUG_POOL, dtype=object)
    counts = rng.integers(1, 4, len(carrying))
    picks = rng.integers(0, len(pool), (len(carrying), 3))
    drugs[carrying] = ["; ".join(pool[p[:c]]) for p, c in zip(picks, counts, strict=True)]
    return pd.DataFrame(
        {
            "claim_id": pd.Series(np.char.add("C", np.arange(n).astype(str)), dtype="str"),
            "product_id": pd.Series(product, dtype="str"),
            "channel": pd.Series(channel, dtype="str"),
            "quantity": pd.Series(quantity, dtype="str"),
            "concomitant_drugs": pd.Series(drugs, dtype="str"),
            "attested_criteria": pd.Series(np.full(n, None, dtype=object), dtype="str"),
        }
    )


def median_seconds(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def bench_in_memory(frame: pd.DataFrame, runs: int) -> float:
    engine = load_engine(str(RULESET))
    engine.decide(frame.head(1000))  # warm the drug cache as a long-running service would have
    return len(frame) / median_seconds(lambda: engine.decide(frame), runs)


def bench_zen(frame: pd.DataFrame, runs: int) -> tuple[float, float]:
    """zen-engine's fastest paths on the same claims: evaluate per claim, and evaluate_batch.
    It is given each claim's met criteria (it has no drug matching), computed by our engine."""
    import zen

    doc = load_engine(str(RULESET)).ruleset
    engine = zen.ZenEngine({"loader": {"type": "static", "content": {"dqm": jdm.graph(doc)}}})
    contexts = jdm.contexts(load_engine(str(RULESET)), frame)

    def one_by_one():
        for ctx in contexts:
            engine.evaluate("dqm", ctx)

    def batch():
        engine.evaluate_batch([{"key": "dqm", "context": ctx} for ctx in contexts])

    return (
        len(contexts) / median_seconds(one_by_one, runs),
        len(contexts) / median_seconds(batch, runs),
    )


def bench_cli(n: int, runs: int) -> float:
    path = DATA / f"claims-{n}.csv"
    if not path.exists():
        claims(n, seed=1).to_csv(path, index=False)
    out = DATA / "decisions.csv"
    dqm = str(ROOT / ".venv" / "bin" / "dqm")

    def run():
        with open(out, "wb") as sink:
            subprocess.run(
                [dqm, "decide", str(path), "--ruleset", str(RULESET)], stdout=sink, check=True
            )

    seconds = median_seconds(run, runs)
    with open(out, "rb") as decided:
        lines = sum(1 for _ in decided)
    assert lines == n + 1, f"expected {n} decisions, got {lines - 1}"
    return seconds


def bench_many_products(n: int, products: int, runs: int) -> float:
    """Claims/s over a ruleset of `products` products, each with the 400 mg tablets' limits and
    inducer override (the scale of bench_compile.py's workbook)."""
    doc = json.loads(RULESET.read_text())
    template = doc["policies"][0]["products"][1]
    doc["policies"][0]["products"] = [
        {**template, "product_id": f"product-{i}"} for i in range(products)
    ]
    engine = Engine(doc)
    rng = np.random.default_rng(2)
    frame = claims(n, seed=2)
    frame["product_id"] = pd.Series(
        np.char.add("product-", rng.integers(0, products, n).astype(str)), dtype="str"
    )
    engine.decide(frame.head(1000))
    return n / median_seconds(lambda: engine.decide(frame), runs)


def bench_explain(runs: int) -> float:
    engine = load_engine(str(RULESET))
    claim = {
        "claim_id": "C1",
        "product_id": "imatinib-400mg-tab",
        "channel": "retail",
        "quantity": "120",
        "concomitant_drugs": "lisinopril; Rifadin 300 mg",
    }
    engine.explain(claim)
    per_run = 200
    return median_seconds(lambda: [engine.explain(claim) for _ in range(per_run)], runs) / per_run


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--claims", type=int, default=1_000_000)
    ap.add_argument(
        "--zen-claims", type=int, default=0, help="0: the same claims as ours (all of them)"
    )
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()[0]

    frame = claims(args.claims)
    ours = bench_in_memory(frame, args.runs)
    zen_sample = frame.head(args.zen_claims) if args.zen_claims else frame
    ours_small = bench_in_memory(zen_sample, args.runs) if args.zen_claims else ours
    zen_each, zen_batch = bench_zen(zen_sample, args.runs)
    cli = bench_cli(args.claims, args.runs)
    explain = bench_explain(args.runs)
    many = bench_many_products(args.claims, 20_000, args.runs)
    result = {
        "machine": f"{_cpu()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "runs": args.runs,
        "in_memory_claims_per_s": round(ours),
        "claims": args.claims,
        "same_claims_as_zen_per_s": round(ours_small),
        "zen_claims": len(zen_sample),
        "zen_evaluate_per_claim_per_s": round(zen_each),
        "zen_evaluate_batch_per_s": round(zen_batch),
        "ratio_vs_zen_fastest": round(ours_small / max(zen_each, zen_batch), 1),
        "cli_decide_csv_seconds": round(cli, 2),
        "explain_one_claim_ms": round(explain * 1000, 3),
        "in_memory_20000_products_claims_per_s": round(many),
        "load_average_1min_before_after": [round(load_before, 1), round(os.getloadavg()[0], 1)],
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
