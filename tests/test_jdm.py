"""The GoRules JDM graph: zen-engine decides 100,000 random claims exactly as dqm does, and the
store writes the graph beside each version without ever rewriting one."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import zen

from compiler.api import load_engine
from compiler.decide.engine import Engine
from compiler.ruleset import jdm, walk
from compiler.ruleset.compile import GRAPH, compile_workbook
from compiler.ruleset.sealing import canonical_bytes
from compiler.ruleset.store import Published, Store, StoreError, Unchanged
from tests.fixtures.paths import EXPORTS, WORKBOOK
from tests.fixtures.rulesets import V3, enriched_ruleset

POOL = [
    "rifampin",
    "Rifadin 300 mg",
    "Tegretol XR",
    "Phenytoin Sodium 100 mg capsule",
    "St John’s wort",
    "lisinopril",
    "metformin 500 mg",
    "rifampinx",
    "rifaximin",
    "dexmethylphenidate",
    "Decadron",
]
COMPARED = [
    "decision",
    "approved_quantity",
    "limit",
    "criterion_id",
    "reject_code",
    "approval_months",
]


def many_products_ruleset() -> dict:
    """The enriched ruleset with twelve more 400 mg-like products, each with its own limits and
    caps, so that more than a handful of products have overrides (and some tie)."""
    doc = enriched_ruleset()
    template = doc["policies"][0]["products"][1]
    for k in range(12):
        p = json.loads(json.dumps(template))
        p["product_id"] = f"product-{k}"
        p["retail_max_qty"], p["home_delivery_max_qty"] = 30 + 10 * k, 90 + 20 * k
        for o in p["overrides"]:
            o["retail_max_qty"] += 10 * k + (
                5 if o["criterion_id"] == "strong-cyp3a4-inducer" and k % 2 else 0
            )
            o["home_delivery_max_qty"] += 20 * k
        if k % 4 == 3:  # a tie at retail: the first criterion (in id order) wins, in both engines
            for o in p["overrides"]:
                o["retail_max_qty"] = 150 + k
        doc["policies"][0]["products"].append(p)
    return doc


def random_claims(
    n: int, seed: int, products: list[str] | None = None, attestable: list[str] = ()
) -> pd.DataFrame:
    """Random claims; `attestable`: the ruleset's attested criteria, which a fifth of them attest
    (a criterion the ruleset lacks would make a claim invalid)."""
    rng = np.random.default_rng(seed)
    quantity = rng.integers(1, 700, n).astype(float)
    quantity[rng.random(n) < 0.1] += 0.5  # some fractional quantities
    drugs = np.full(n, None, dtype=object)
    some = rng.random(n) < 0.4
    # One to three drugs from the pool (drawn with replacement), chosen for every claim at once.
    drawn = np.array(POOL, dtype=object)[rng.integers(0, len(POOL), (some.sum(), 3))].tolist()
    counts = rng.integers(1, 4, some.sum()).tolist()
    drugs[some] = ["; ".join(picked[:k]) for picked, k in zip(drawn, counts, strict=True)]
    attested = np.where(rng.random(n) < 0.2, "; ".join(attestable) or None, None)
    return pd.DataFrame(
        {
            "claim_id": np.arange(n).astype(str),
            "product_id": rng.choice(products, n)
            if products
            else rng.choice(
                ["imatinib-400mg-tab", "imatinib-100mg-tab", "other-product"],
                n,
                p=[0.6, 0.35, 0.05],
            ),
            "channel": rng.choice(["retail", "home_delivery"], n),
            "quantity": [f"{q:g}" for q in quantity],
            "concomitant_drugs": drugs,
            "attested_criteria": attested,
        },
        dtype="str",
    )


def zen_decisions(ruleset: dict, engine: Engine, claims: pd.DataFrame) -> list[dict]:
    z = zen.ZenEngine({"loader": {"type": "static", "content": {"dqm": jdm.graph(ruleset)}}})
    out = []
    for ctx in jdm.contexts(engine, claims):
        result = z.evaluate("dqm", ctx)["result"]
        out.append({k: result.get(k) for k in COMPARED})
    return out


def ours(decided: pd.DataFrame) -> list[dict]:
    rows = decided[COMPARED].astype(object).where(decided[COMPARED].notna(), None)
    columns = [rows[c].tolist() for c in COMPARED]  # a column at a time: to_dict is slower
    return [dict(zip(COMPARED, values, strict=True)) for values in zip(*columns, strict=True)]


@pytest.mark.parametrize("ruleset", ["founding", "enriched", "many-products"])
def test_zen_engine_decides_100000_random_claims_as_dqm_does(ruleset):
    doc = {
        "founding": lambda: json.loads(V3.read_text()),
        "enriched": enriched_ruleset,
        "many-products": many_products_ruleset,
    }[ruleset]()
    engine = Engine(doc)
    products = (
        [p["product_id"] for p in doc["policies"][0]["products"]] + ["other-product"]
        if ruleset == "many-products"
        else None
    )
    claims = random_claims(100_000, 7, products, walk.attested_criteria(doc))
    decided = engine.decide(claims)
    assert set(decided["decision"]) == {"approve", "override", "deny", "not_applicable"}
    if ruleset == "enriched":  # both overrides win somewhere
        assert set(decided["criterion_id"].dropna()) == {
            "strong-cyp3a4-inducer",
            "reviewer-confirmed-dose",
        }
    mine, theirs = ours(decided), zen_decisions(doc, engine, claims)
    assert len(mine) == len(theirs) == 100_000
    mismatches = [(i, a, b) for i, (a, b) in enumerate(zip(mine, theirs, strict=True)) if a != b]
    assert mismatches[:3] == []


def test_graph_orders_overrides_by_channel_maximum():
    rules = jdm.graph(enriched_ruleset())["nodes"][1]["content"]["rules"]
    ids = [r["_id"] for r in rules if r["_id"].startswith("imatinib-400mg-tab/")]
    assert ids == [
        "imatinib-400mg-tab/retail/approve",
        "imatinib-400mg-tab/retail/override/reviewer-confirmed-dose",
        "imatinib-400mg-tab/retail/override/strong-cyp3a4-inducer",
        "imatinib-400mg-tab/retail/deny",
        "imatinib-400mg-tab/home_delivery/approve",
        "imatinib-400mg-tab/home_delivery/override/strong-cyp3a4-inducer",
        "imatinib-400mg-tab/home_delivery/override/reviewer-confirmed-dose",
        "imatinib-400mg-tab/home_delivery/deny",
    ]


def test_committed_jdm_files_match_their_versions():
    store = Store(EXPORTS)
    for v in store.versions("oncology-dqm"):
        assert store.path("oncology-dqm", v, GRAPH).read_bytes() == canonical_bytes(
            jdm.graph(store.load("oncology-dqm", v))
        )


def test_publish_writes_the_graph_beside_the_new_version(founding_rows, make_workbook, tmp_path):
    result = compile_workbook(make_workbook(founding_rows), tmp_path / "exports")
    assert isinstance(result.outcome, Published)
    graph = json.loads((tmp_path / "exports" / "oncology-dqm" / "v1.jdm.json").read_text())
    assert graph["contentType"] == "application/vnd.gorules.decision"
    assert graph["nodes"][1]["name"] == "oncology-dqm v1"


def test_missing_graphs_are_written_and_existing_ones_never_rewritten(exports_copy):
    folder = exports_copy / "oncology-dqm"
    (folder / "v1.jdm.json").unlink()
    assert isinstance(compile_workbook(WORKBOOK, exports_copy).outcome, Unchanged)
    assert (folder / "v1.jdm.json").read_bytes() == (
        EXPORTS / "oncology-dqm" / "v1.jdm.json"
    ).read_bytes()
    # …and listed in the index with its sha256, as published: readers take the store as it is.
    assert (folder / "index.json").read_bytes() == (
        EXPORTS / "oncology-dqm" / "index.json"
    ).read_bytes()
    assert Store(exports_copy).index_problems("oncology-dqm") == []
    # One changed since the index listed it is neither rewritten nor listed as published.
    (folder / "v2.jdm.json").write_bytes(b"left alone")
    with pytest.raises(StoreError, match="v2.jdm.json has been changed since it was published"):
        compile_workbook(WORKBOOK, exports_copy)
    assert (folder / "v2.jdm.json").read_bytes() == b"left alone"


def test_graph_answers_the_worked_examples():
    engine = load_engine(str(V3))
    z = zen.ZenEngine({"loader": {"type": "static", "content": {"dqm": jdm.graph(engine.ruleset)}}})

    def decide(**ctx):
        r = z.evaluate("dqm", {"met_criteria": [], **ctx})["result"]
        return r["decision"], r.get("approved_quantity")

    inducer = ["strong-cyp3a4-inducer"]
    assert decide(product_id="imatinib-400mg-tab", channel="retail", quantity=60) == ("approve", 60)
    assert decide(product_id="imatinib-400mg-tab", channel="retail", quantity=61) == ("deny", 0)
    assert decide(
        product_id="imatinib-400mg-tab", channel="retail", quantity=120, met_criteria=inducer
    ) == ("override", 90)
    assert decide(
        product_id="imatinib-400mg-tab", channel="home_delivery", quantity=270, met_criteria=inducer
    ) == ("override", 270)
    assert decide(
        product_id="imatinib-100mg-tab", channel="retail", quantity=181, met_criteria=inducer
    ) == ("deny", 0)
