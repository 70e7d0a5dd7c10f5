"""Per Days policies in the version file (schema 3): a Per Days product carries its windows, a
Per Rx one does not (so the founding ruleset hashes, and publishes, as before); the engine's model
reads them; the schema holds a version to them; diff tells a per-days limit in the policy's words;
the Tests sheet's claim columns travel into the version and into the claims it is decided as."""

from __future__ import annotations

import copy
import datetime as dt
import json

import jsonschema
import pytest

from compiler.decide.model import products
from compiler.ruleset import diff, walk
from compiler.ruleset.build import SCHEMA_VERSION, build
from compiler.ruleset.compile import compile_workbook
from compiler.ruleset.sealing import schema
from compiler.ruleset.store import Published, Store, Unchanged
from compiler.ruleset.testsheet import run_rows
from compiler.workbook.validate import validate_file
from tests.fixtures import per_days
from tests.fixtures.paths import EXPORTS, WORKBOOK

SUMATRIPTAN = {
    "product_id": "sumatriptan-100mg-tab",
    "product": "Imitrex® (sumatriptan tablets, generic)",
    "strength_and_form": "100 mg tablets",
    "retail_max_qty": 9,
    "home_delivery_max_qty": 27,
    "unit": "tablets",
    "footnote": None,
    "retail_days": 30,
    "home_delivery_days": 90,
    "codes": [],
    "overrides": [
        {
            "criterion_id": "frequent-migraine",
            "retail_max_qty": 18,
            "home_delivery_max_qty": 54,
            "approval_months": 12,
            "criteria_text": None,
        }
    ],
}


def validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(
        schema("ruleset.schema.json"), format_checker=jsonschema.FormatChecker()
    )


def content(make_workbook, rows=None) -> dict:
    v = validate_file(make_workbook(rows or per_days.rows()))
    assert v.findings == []
    return build(v)


def test_a_per_days_product_carries_its_windows_and_a_per_rx_one_does_not(make_workbook):
    doc = content(make_workbook)
    assert (SCHEMA_VERSION, doc["schema_version"]) == (3, 3)
    policies = {p["policy_id"]: p for p in doc["policies"]}
    assert policies["sumatriptan-per-days"]["policy_type"] == "Per Days"
    assert policies["sumatriptan-per-days"]["products"] == [SUMATRIPTAN]
    for p in policies["imatinib-per-rx"]["products"]:
        assert "retail_days" not in p and "home_delivery_days" not in p
        for o in p["overrides"]:
            assert set(o) == {
                "criterion_id",
                "retail_max_qty",
                "home_delivery_max_qty",
                "approval_months",
                "criteria_text",
            }


def test_the_founding_rules_hash_as_v4_and_a_per_days_policy_does_not(make_workbook):
    v4 = Store(EXPORTS).load("oncology-dqm", 4)
    founding = build(validate_file(WORKBOOK))
    assert founding["schema_version"] == 3
    assert founding["content_sha256"] == v4["content_sha256"]
    # The same rules, the products and overrides byte for byte as v4 writes them.
    assert json.dumps(founding["policies"], sort_keys=True) == json.dumps(
        v4["policies"], sort_keys=True
    )
    assert content(make_workbook)["content_sha256"] != v4["content_sha256"]


def test_compiling_the_unchanged_founding_workbook_says_nothing_changed(exports_copy, dqm):
    assert isinstance(compile_workbook(WORKBOOK, exports_copy).outcome, Unchanged)
    ran = dqm("compile", WORKBOOK, "--exports", exports_copy)
    assert ran.code == 0 and ran.out.startswith("Nothing changed: v4 is current")


def test_a_per_days_version_is_published_valid_and_read_by_the_engines_model(
    make_workbook, exports_copy
):
    rows = per_days.rows()
    rows["Tests"].append(
        per_days.test_row(
            "suma-first", "Retail", 6, "Approve", 6, member="M-1", date=dt.date(2026, 12, 2)
        )
    )
    outcome = compile_workbook(make_workbook(rows), exports_copy).outcome
    assert isinstance(outcome, Published) and outcome.version == 5
    doc = Store(exports_copy).load("oncology-dqm", 5)
    assert list(validator().iter_errors(doc)) == []
    assert doc["tests"][-1] == {
        "test_id": "suma-first",
        "product_id": "sumatriptan-100mg-tab",
        "channel": "retail",
        "quantity": 6,
        "concomitant_drugs": None,
        "attested_criteria": None,
        "expected_decision": "approve",
        "expected_approved_qty": 6,
        "notes": None,
        "member_id": "M-1",
        "date_of_service": "2026-12-02",
    }
    days = {p.product_id: p.days for p in products(doc)}
    assert days == {
        "imatinib-100mg-tab": None,
        "imatinib-400mg-tab": None,
        "sumatriptan-100mg-tab": (30, 90),
    }
    assert [c["text"] for c in doc["changes"]["items"]] == [
        "sumatriptan-per-days: policy added",
        "sumatriptan-100mg-tab: limit added",
        "sumatriptan-100mg-tab / frequent-migraine: override added",
        "frequent-migraine: criterion added",
        "sumatriptan-per-days: History row added: New Policy, 2026-12-01: Sumatriptan limits "
        "over time added.",
    ]


@pytest.mark.parametrize("version", [1, 2, 3, 4])
def test_every_published_version_loads_with_no_windows(version):
    doc = Store(EXPORTS).load("oncology-dqm", version)
    assert [p.days for p in products(doc)] == [None, None]


def test_the_schema_holds_each_policy_type_to_its_windows(make_workbook):
    doc = copy.deepcopy(content(make_workbook))
    doc.update(version=5, sha256="0" * 64, changes={"since_version": 4, "items": []})
    assert list(validator().iter_errors(doc)) == []

    def errors(edit) -> list[str]:
        bad = copy.deepcopy(doc)
        edit({p["policy_id"]: p for p in bad["policies"]})
        return [e.message for e in validator().iter_errors(bad)]

    def no_days(policies):
        del policies["sumatriptan-per-days"]["products"][0]["home_delivery_days"]

    def per_rx_days(policies):
        policies["imatinib-per-rx"]["products"][0]["retail_days"] = 30

    def zero(policies):
        policies["sumatriptan-per-days"]["products"][0]["retail_days"] = 0

    def fraction(policies):
        policies["sumatriptan-per-days"]["products"][0]["retail_days"] = 30.5

    assert errors(no_days) != []
    assert errors(per_rx_days) != []
    assert errors(zero) == ["0 is less than the minimum of 1"]
    assert errors(fraction) == ["30.5 is not of type 'integer'"]


def test_diff_tells_a_per_days_limit_in_the_policys_words(make_workbook):
    before = content(make_workbook)
    rows = per_days.rows()
    rows["Limits"][2][4] = 12  # 9 per 30 days -> 12 per 30 days
    rows["Limits"][2][9] = 60  # 27 per 90 days -> 27 per 60 days
    rows["Overrides"][1][7] = 60
    rows["Limits"][1][4] = 75  # the Per Rx limit, worded as before
    rows["Overrides"][0][2] = 120
    after = content(make_workbook, rows)
    assert [c["text"] for c in diff.changes(before, after)] == [
        "imatinib-400mg-tab: Retail Max Qty per Rx 60 → 75",
        "sumatriptan-100mg-tab: Retail: 9 per 30 days → 12 per 30 days",
        "sumatriptan-100mg-tab: Home Delivery: 27 per 90 days → 27 per 60 days",
        "imatinib-400mg-tab / strong-cyp3a4-inducer: Retail Max Qty per Rx 90 → 120",
        "sumatriptan-100mg-tab / frequent-migraine: Home Delivery: 54 per 90 days → 54 per 60 days",
    ]
    change = diff.changes(before, after)[1]
    assert {k: change[k] for k in ("kind", "action", "id", "field", "before", "after")} == {
        "kind": "limit",
        "action": "changed",
        "id": "sumatriptan-100mg-tab",
        "field": "Retail",
        "before": "9 per 30 days",
        "after": "12 per 30 days",
    }


def test_diff_tells_a_policy_turned_per_days(make_workbook):
    before = build(validate_file(WORKBOOK))
    rows = per_days.rows()
    rows["Policies"][0][2] = "Per Days"
    rows["Limits"][0] += [30, 90]
    rows["Limits"][1] += [30, 90]
    rows["Overrides"][0] += [30, 90]
    rows["Tests"] = []  # a Per Days product's tests name a member
    after = content(make_workbook, rows)
    texts = [c["text"] for c in diff.changes(before, after)]
    assert "imatinib-per-rx: Policy Type Per Rx → Per Days" in texts
    assert "imatinib-400mg-tab: Retail: 60 per Rx → 60 per 30 days" in texts
    assert "imatinib-100mg-tab: Home Delivery: 540 per Rx → 540 per 90 days" in texts
    assert (
        "imatinib-400mg-tab / strong-cyp3a4-inducer: Home Delivery: 270 per Rx → 270 per 90 days"
        in texts
    )


def test_tests_name_their_product_by_a_code_and_keep_the_sheets_order(make_workbook):
    rows = per_days.rows()
    rows["Tests"] = [
        per_days.test_row("z-ndc", "Retail", 60, "Approve", 60, product=None, ndc="47335-475-83"),
        per_days.test_row("a-rxcui", "Retail", 181, "Deny", 0, product=None, rxcui="403878"),
        per_days.test_row(
            "m-suma", "Retail", 6, "Approve", 6, member="M-1", date=dt.date(2026, 12, 2)
        ),
    ]
    doc = content(make_workbook, rows)
    assert [(t["test_id"], t["product_id"]) for t in doc["tests"]] == [
        ("z-ndc", "imatinib-400mg-tab"),
        ("a-rxcui", "imatinib-100mg-tab"),
        ("m-suma", "sumatriptan-100mg-tab"),
    ]
    claims = walk.tests_as_claims(doc)
    assert claims[["claim_id", "ndc", "rxcui", "date_of_service"]].fillna("").values.tolist() == [
        ["z-ndc", "47335-475-83", "", ""],
        ["a-rxcui", "", "403878", ""],
        ["m-suma", "", "", "2026-12-02"],
    ]
    if "member_id" in claims:  # a claims column once the engine reads members
        assert claims["member_id"].fillna("").tolist() == ["", "", "M-1"]
    v = validate_file(make_workbook(rows))
    assert [(r.test_id, r.decision, r.approved, r.passed) for r in run_rows(v, doc)] == [
        ("z-ndc", "approve", 60, True),
        ("a-rxcui", "deny", 0, True),
        ("m-suma", "approve", 6, True),
    ]


def test_a_tests_row_names_a_product_once_and_a_per_days_row_its_member(make_workbook):
    rows = per_days.rows()
    rows["Tests"] = [
        per_days.test_row("none", "Retail", 6, "Approve", product=None),  # row 2
        per_days.test_row(
            "two", "Retail", 6, "Approve", product="imatinib-400mg-tab", ndc="47335-472-83"
        ),  # row 3: the NDC is the 100 mg tablets'
        per_days.test_row("unknown", "Retail", 6, "Approve", product=None, ndc="00000-0000-00"),
        per_days.test_row("member", "Retail", 6, "Approve", date=dt.date(2026, 12, 2)),  # row 5
    ]
    found = [
        (f.code, f.cell, f.column, f.value, dict(f.params))
        for f in validate_file(make_workbook(rows)).findings
    ]
    assert found == [
        (
            "product-not-named",
            "B2",
            "Product ID",
            None,
            {"headers": ["Product ID", "NDC", "RxCUI"]},
        ),
        (
            "codes-name-other-product",
            "L3",
            "NDC",
            "47335-472-83",
            {
                "header": "NDC",
                "product": "imatinib-100mg-tab",
                "other": "Product ID",
                "named": "imatinib-400mg-tab",
            },
        ),
        (
            "unknown-reference",
            "L4",
            "NDC",
            "00000-0000-00",
            {
                "id": "00000-0000-00",
                "header": "NDC",
                "target": "Product Codes",
                "known": [
                    "47335047213",
                    "47335047281",
                    "47335047283",
                    "47335047288",
                    "47335047513",
                ],
                "more": 3,
            },
        ),
        (
            "member-required",
            "J5",
            "Member ID",
            None,
            {"product": "sumatriptan-100mg-tab", "header": "Member ID"},
        ),
    ]
