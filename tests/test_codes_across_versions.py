"""Codes across versions (docs/claims-and-decisions.md, naming the product; docs/consumers.md §5):
a claim routed to a version by its date (or as of a date) reads a code that version does not list
through the nearest later version that lists it, provided the version has that product; the
version in effect still decides. One version alone (`--version N`) reads only its own codes.

The bundled store: v1-v3 of oncology-dqm list no codes, v4 (in effect from 2025-12-08) lists them."""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io
import json

import pandas as pd
import pytest

from compiler.api import load_versions
from compiler.decide.claims import claims_frame
from compiler.decide.engine import Engine
from compiler.decide.versions import Versions
from tests.fixtures.paths import EXPORTS, ROOT

DOCS = {v: json.loads((EXPORTS / "oncology-dqm" / f"v{v}.json").read_text()) for v in (1, 2, 3, 4)}
TAB100, TAB400 = "imatinib-100mg-tab", "imatinib-400mg-tab"
OVER_60 = (
    "Over the Retail limit of 60 tablets per Rx and no override criterion is met: rejects with "
    "code 76."
)
FIELDS = ["claim_id", "product_id", "policy_id", "decision", "approved_quantity", "limit"]


@pytest.fixture(scope="module")
def store() -> Versions:
    return load_versions("oncology-dqm", EXPORTS)


def claim(quantity: int | str, day: str | None, channel: str = "retail", **named: str) -> dict:
    return {
        "channel": channel,
        "quantity": str(quantity),
        **({"date_of_service": day} if day else {}),
        **named,
    }


def rows(versions: Versions | Engine, claims: list[dict], **kwargs) -> list[tuple]:
    out = versions.decide(claims_frame(claims), **kwargs)
    return [
        tuple(None if pd.isna(v) else v for v in row)
        for row in out[[*FIELDS, "ruleset_version", "message"]].astype(object).itertuples(False)
    ]


def without(doc: dict, product_id: str) -> dict:
    """A version with one product fewer (as if it had not been added yet)."""
    doc = copy.deepcopy(doc)
    for policy in doc["policies"]:
        policy["products"] = [p for p in policy["products"] if p["product_id"] != product_id]
    return doc


def with_codes(doc: dict, product_id: str, codes: list[dict]) -> dict:
    doc = copy.deepcopy(doc)
    for policy in doc["policies"]:
        for p in policy["products"]:
            if p["product_id"] == product_id:
                p["codes"] = codes
    return doc


def test_an_ndc_dated_before_codes_were_listed_is_decided_by_the_limit_then_in_effect(store):
    claims = [
        claim(60, "2024-06-01", ndc="47335-475-83", claim_id="a"),
        claim(61, "2024-06-01", ndc="47335047583", claim_id="b"),
        claim(61, "20250101", ndc="47335-0475-83", claim_id="c"),  # v2
        claim(61, "2026-03-02", ndc="47335-475-83", claim_id="d"),  # v4, its own code
    ]
    assert rows(store, claims) == [
        ("a", TAB400, "imatinib-per-rx", "approve", 60, 60, 1, "Within the Retail limit of 60 "
         "tablets per Rx."),
        ("b", TAB400, "imatinib-per-rx", "deny", 0, 60, 1, OVER_60),
        ("c", TAB400, "imatinib-per-rx", "deny", 0, 60, 2, OVER_60),
        ("d", TAB400, "imatinib-per-rx", "deny", 0, 60, 4, OVER_60),
    ]  # fmt: skip


def test_an_rxcui_likewise_and_codes_that_agree_with_the_product_id(store):
    claims = [
        claim(61, "2024-06-01", rxcui="403879", claim_id="a"),
        claim(541, "2024-06-01", "home_delivery", rxcui="0403878", claim_id="b"),
        claim(75, "2024-06-01", rxcui="404589", concomitant_drugs="rifampin", claim_id="c"),
        claim(60, "2024-06-01", product_id=TAB400, ndc="47335-475-83", rxcui="403879",
              claim_id="d"),
        claim(60, "2024-06-01", product_id=TAB100, ndc="47335-475-83", claim_id="e"),
    ]  # fmt: skip
    assert rows(store, claims) == [
        ("a", TAB400, "imatinib-per-rx", "deny", 0, 60, 1, OVER_60),
        ("b", TAB100, "imatinib-per-rx", "deny", 0, 540, 1, "Over the Home Delivery limit of 540 "
         "tablets per Rx and imatinib-100mg-tab has no overrides: rejects with code 76."),
        ("c", TAB400, "imatinib-per-rx", "override", 75, 60, 1, "Over the Retail limit of 60 "
         "tablets per Rx, but patient is taking a strong cytochrome P450 (CYP)3A4 inducer: rejects "
         "with code 76; the quantity requested is approvable on coverage review for 12 months (up "
         "to 90 tablets)."),
        ("d", TAB400, "imatinib-per-rx", "approve", 60, 60, 1, "Within the Retail limit of 60 "
         "tablets per Rx."),
        ("e", TAB100, None, "invalid", None, None, 1, "Invalid: product_id and ndc name different "
         "products: product_id is imatinib-100mg-tab, NDC '47335-475-83' is imatinib-400mg-tab."),
    ]  # fmt: skip


def test_a_code_no_version_lists_and_a_claim_before_every_version_stay_not_applicable(store):
    claims = [
        claim(60, "2024-06-01", ndc="00003-0527-11"),
        claim(60, "2024-06-01", rxcui="1234"),
        claim(60, "2020-01-01", ndc="47335-475-83"),
    ]
    assert rows(store, claims) == [
        ("1", None, None, "not_applicable", None, None, 1,
         "Ruleset oncology-dqm v1 has no quantity limit for NDC '00003-0527-11'."),
        ("2", None, None, "not_applicable", None, None, 1,
         "Ruleset oncology-dqm v1 has no quantity limit for RxCUI '1234'."),
        ("3", None, None, "not_applicable", None, None, None, "No version of oncology-dqm is in "
         "effect on 2020-01-01: the first, v1, takes effect on 2023-12-13."),
    ]  # fmt: skip
    # No version is in effect to read a later one's codes through: checked by v1's own codes.
    assert store.explain(claims[2])[1] == [
        "Ruleset oncology-dqm: no version is in effect on the date of service.",
        "No version of oncology-dqm is in effect on 2020-01-01: the first, v1, takes effect on "
        "2023-12-13.",
    ]
    assert rows(store, [{**claims[2], "product_id": TAB400}])[0][3] == "invalid"


def test_a_code_whose_product_the_version_in_effect_does_not_have_stays_not_applicable():
    versions = Versions.of({1: without(DOCS[1], TAB100), 2: DOCS[2], 4: DOCS[4]})
    claims = [
        claim(60, "2024-06-01", rxcui="403878"),  # v1 has no 100 mg product
        claim(60, "2025-01-01", rxcui="403878"),  # v2 has it
        claim(60, "2024-06-01", ndc="47335-475-83"),
    ]
    assert rows(versions, claims) == [
        ("1", None, None, "not_applicable", None, None, 1,
         "Ruleset oncology-dqm v1 has no quantity limit for RxCUI '403878'."),
        ("2", TAB100, "imatinib-per-rx", "approve", 60, 180, 2,
         "Within the Retail limit of 180 tablets per Rx."),
        ("3", TAB400, "imatinib-per-rx", "approve", 60, 60, 1,
         "Within the Retail limit of 60 tablets per Rx."),
    ]  # fmt: skip
    row, steps = versions.explain(claim(60, "2024-06-01", rxcui="403878"))
    assert row["decision"] == "not_applicable"
    assert steps == [
        "Ruleset oncology-dqm v1.",
        "On its date of service, 2024-06-01, v1 is in effect (it takes effect on 2023-12-13).",
        "RxCUI '403878' (403878) is imatinib-100mg-tab as v4 lists it, a product v1 does not have.",
        "Ruleset oncology-dqm v1 has no quantity limit for RxCUI '403878'.",
    ]


def test_the_demo_stores_later_product_is_not_read_into_a_version_without_it():
    demo = load_versions("conformance-demo", ROOT / "conformance" / "exports")
    claims = [claim(5, d, ndc="55111-0291-09") for d in ("2024-06-01", "2025-01-01")]
    assert rows(demo, claims) == [
        ("1", None, None, "not_applicable", None, None, 3,
         "Ruleset conformance-demo v3 has no quantity limit for NDC '55111-0291-09'."),
        ("2", "sumatriptan-100mg-tab", "sumatriptan", "approve", 5, 9, 4,
         "Within the Retail limit of 9 tablets per Rx."),
    ]  # fmt: skip


def test_the_nearest_later_version_that_lists_the_code_names_its_product():
    ndc = [{"code_system": "ndc", "code": "47335047583", "description": "listed in v3"}]
    v3 = with_codes(DOCS[3], TAB100, ndc)  # v3 lists the code for the 100 mg tablets, v4 not
    versions = Versions.of({1: DOCS[1], 2: DOCS[2], 3: v3, 4: DOCS[4]})
    claims = [
        claim(60, day, ndc="47335-475-83") for day in ("2024-06-01", "2025-01-01", "2026-03-02")
    ]
    assert [(r[1], r[5], r[6]) for r in rows(versions, claims)] == [
        (TAB100, 180, 1),
        (TAB100, 180, 2),
        (TAB400, 60, 4),
    ]
    assert versions.explain(claims[0])[1][2] == (
        "NDC '47335-475-83' (47335-0475-83) is imatinib-100mg-tab: listed in v3 (the code as v3 "
        "lists it; v1 lists no product codes)."
    )
    # The nearest names a product v1 does not have: no version further on is asked.
    versions = Versions.of({1: without(DOCS[1], TAB100), 3: v3, 4: DOCS[4]})
    assert rows(versions, claims[:1])[0][3:7] == ("not_applicable", None, None, 1)


def test_the_explanation_says_which_version_the_code_came_from(store):
    row, steps = store.explain(claim(61, "2024-06-01", ndc="47335047583"))
    assert (row["decision"], row["ruleset_version"], row["limit"]) == ("deny", 1, 60)
    assert steps[:4] == [
        "Ruleset oncology-dqm v1.",
        "On its date of service, 2024-06-01, v1 is in effect (it takes effect on 2023-12-13).",
        "NDC '47335047583' (47335-0475-83) is imatinib-400mg-tab: Sun Pharma, bottle of 30 (the "
        "code as v4 lists it; v1 lists no product codes).",
        "Product imatinib-400mg-tab (Gleevec® (imatinib tablets, generic), 400 mg tablets) is in "
        "policy imatinib-per-rx; its Retail limit is 60 tablets per Rx.",
    ]
    row, steps = store.explain(claim(60, "2026-03-02", ndc="47335-475-83"))
    assert (
        steps[2]
        == "NDC '47335-475-83' (47335-0475-83) is imatinib-400mg-tab: Sun Pharma, bottle of 30."
    )
    # A version that lists codes, but none (or others) for the product
    rxcui = [{"code_system": "rxcui", "code": "403878", "description": None}]
    v1 = with_codes(DOCS[1], TAB100, rxcui)
    steps = Versions.of({1: v1, 4: DOCS[4]}).explain(claim(60, "2024-06-01", rxcui="403879"))[1]
    assert steps[2] == (
        "RxCUI '403879' (403879) is imatinib-400mg-tab: imatinib 400 MG Oral Tablet (the code as v4 "
        "lists it; v1 lists no codes for imatinib-400mg-tab)."
    )
    steps = Versions.of({1: v1, 4: DOCS[4]}).explain(claim(60, "2024-06-01", rxcui="404588"))[1]
    assert steps[2] == (
        "RxCUI '404588' (404588) is imatinib-100mg-tab: Gleevec 100 MG Oral Tablet (the code as v4 "
        "lists it; v1 lists other codes for imatinib-100mg-tab, not this one)."
    )


def test_as_of_reads_the_later_codes_and_one_version_alone_only_its_own(store):
    claims = [claim(61, "2026-03-02", ndc="47335-475-83"), claim(541, None, "home_delivery",
              rxcui="403878")]  # fmt: skip
    as_of = rows(store, claims, as_of=dt.date(2024, 6, 1))
    assert [(r[3], r[5], r[6]) for r in as_of] == [("deny", 60, 1), ("deny", 540, 1)]
    steps = store.explain(claims[0], as_of=dt.date(2024, 6, 1))[1]
    assert steps[1:3] == [
        "As of 2024-06-01, v1 is in effect (it takes effect on 2023-12-13).",
        "NDC '47335-475-83' (47335-0475-83) is imatinib-400mg-tab: Sun Pharma, bottle of 30 (the "
        "code as v4 lists it; v1 lists no product codes).",
    ]
    # The version's own engine, deciding alone, is left as it was.
    assert [r[3] for r in rows(store.engine(1), claims)] == ["not_applicable"] * 2
    assert [r[3] for r in rows(Engine(DOCS[1]), claims)] == ["not_applicable"] * 2


def test_later_versions_are_read_only_for_a_code_the_version_does_not_list():
    made = []

    def engine(v):
        made.append(v)
        return Engine(DOCS[v])

    versions = Versions("oncology-dqm", {v: Versions.of(DOCS).effective[v] for v in DOCS}, engine)
    by_id = [claim(60, "2024-06-01", product_id=TAB400), claim(60, "2025-01-01", product_id=TAB100)]
    versions.decide(claims_frame(by_id))
    assert made == [1, 2]
    for _ in range(2):  # built once for v1, from v2, v3 and v4
        versions.decide(claims_frame([claim(60, "2024-06-01", ndc="47335-475-83")]))
    assert made == [1, 2, 3, 4]
    later = versions.routed(1).later_codes
    assert later is not None and later.product("ndc", "47335047583") == 1
    assert versions.routed(4).later_codes is None  # the latest: nothing later to read


CLAIMS = """claim_id,ndc,rxcui,channel,quantity,date_of_service
a,47335-475-83,,retail,60,2024-06-01
b,47335047583,,retail,61,2024-06-01
c,,403878,home_delivery,541,2025-01-01
d,00003-0527-11,,retail,60,2024-06-01
e,47335-475-83,,retail,61,2026-03-02
"""


def decided(out: str) -> list[tuple]:
    return [
        (r["claim_id"], r["product_id"], r["decision"], r["limit"], r["ruleset_version"])
        for r in csv.DictReader(io.StringIO(out))
    ]


def test_dqm_decide_by_date_as_of_and_by_one_version(dqm, tmp_path):
    claims = tmp_path / "claims.csv"
    claims.write_text(CLAIMS)
    code, out, err = dqm("decide", str(claims), "--ruleset", "oncology-dqm")
    assert (code, err) == (0, "")
    assert decided(out) == [
        ("a", TAB400, "approve", "60", "1"),
        ("b", TAB400, "deny", "60", "1"),
        ("c", TAB100, "deny", "540", "2"),
        ("d", "", "not_applicable", "", "1"),
        ("e", TAB400, "deny", "60", "4"),
    ]
    code, out, err = dqm(
        "decide", str(claims), "--ruleset", "oncology-dqm", "--as-of", "2025-01-01"
    )
    assert (code, err) == (0, "")
    assert decided(out) == [
        ("a", TAB400, "approve", "60", "2"),
        ("b", TAB400, "deny", "60", "2"),
        ("c", TAB100, "deny", "540", "2"),
        ("d", "", "not_applicable", "", "2"),
        ("e", TAB400, "deny", "60", "2"),
    ]
    code, out, err = dqm("decide", str(claims), "--ruleset", "oncology-dqm", "--version", "1")
    assert (code, err) == (0, "")
    assert [r[2] for r in decided(out)] == ["not_applicable"] * 5
    assert next(csv.DictReader(io.StringIO(out)))["message"] == (
        "Ruleset oncology-dqm v1 has no quantity limit for NDC '47335-475-83'."
    )
