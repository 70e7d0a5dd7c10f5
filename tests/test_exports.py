"""The committed exports: schema-valid, hashed, indexed, and the founding policy's numbers in v3."""

from __future__ import annotations

import json

import jsonschema
import pytest

from compiler.ruleset.store import SCHEMA_FILE, Store, StoreError, canonical_bytes, schema, seal
from tests.fixtures.paths import EXPORTS

VERSION_FILES = sorted(EXPORTS.glob("*/v[0-9]*.json"))
VERSION_FILES = [p for p in VERSION_FILES if p.stem[1:].isdigit()]


def test_the_three_published_reviews_are_committed():
    assert [p.name for p in VERSION_FILES] == ["v1.json", "v2.json", "v3.json"]


@pytest.mark.parametrize("path", VERSION_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_committed_version_validates_against_the_schema(path):
    doc = json.loads(path.read_text())
    jsonschema.Draft202012Validator(json.loads((EXPORTS / SCHEMA_FILE).read_text())).validate(doc)
    assert seal(doc)["sha256"] == doc["sha256"]
    assert path.read_bytes() == canonical_bytes(doc)  # written canonically


def test_committed_schema_is_the_compilers_schema_and_is_closed():
    committed = json.loads((EXPORTS / SCHEMA_FILE).read_text())
    assert committed == schema()
    assert committed["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert committed["additionalProperties"] is False
    jsonschema.Draft202012Validator.check_schema(committed)


def test_schema_rejects_an_unknown_field():
    doc = Store(EXPORTS).load("oncology-dqm", 3)
    with pytest.raises(jsonschema.ValidationError, match="Additional properties"):
        jsonschema.validate({**doc, "extra": 1}, schema())


def test_index_lists_the_version_files_in_order():
    store = Store(EXPORTS)
    index = json.loads((EXPORTS / "oncology-dqm" / "index.json").read_text())
    assert index == store.index("oncology-dqm")
    assert index["versions"] == store.entries("oncology-dqm")
    assert [(e["version"], e["review_dates"]["imatinib-per-rx"]) for e in index["versions"]] == [
        (1, "2023-12-13"),
        (2, "2024-12-17"),
        (3, "2025-12-08"),
    ]


def test_index_names_the_history_rows_each_version_added():
    index = json.loads((EXPORTS / "oncology-dqm" / "index.json").read_text())
    assert [e["history_added"] for e in index["versions"]] == [
        [
            {
                "policy_id": "imatinib-per-rx",
                "type_of_revision": "Annual Revision",
                "summary_of_changes": "No criteria changes.",
                "review_date": date,
            }
        ]
        for date in ("2023-12-13", "2024-12-17", "2025-12-08")
    ]


def test_each_review_adds_its_history_row():
    store = Store(EXPORTS)
    added = [
        [
            c["text"]
            for c in store.load("oncology-dqm", v)["changes"]["items"]
            if c["kind"] == "history"
        ]
        for v in (1, 2, 3)
    ]
    assert added == [
        ["imatinib-per-rx: History row added: Annual Revision, 2023-12-13: No criteria changes."],
        ["imatinib-per-rx: History row added: Annual Revision, 2024-12-17: No criteria changes."],
        ["imatinib-per-rx: History row added: Annual Revision, 2025-12-08: No criteria changes."],
    ]


def test_v3_holds_every_number_and_word_of_the_founding_policy():
    doc = Store(EXPORTS).load("oncology-dqm", 3)
    (policy,) = doc["policies"]
    assert (
        policy["policy_id"],
        policy["title"],
        policy["policy_type"],
        policy["review_date"],
        policy["approval_months"],
    ) == (
        "imatinib-per-rx",
        "Oncology – Imatinib Drug Quantity Management Policy – Per Rx",
        "Per Rx",
        "2025-12-08",
        12,
    )
    limits = {
        p["product_id"]: (
            p["product"],
            p["strength_and_form"],
            p["retail_max_qty"],
            p["home_delivery_max_qty"],
            p["unit"],
        )
        for p in policy["products"]
    }
    assert limits == {
        "imatinib-100mg-tab": (
            "Gleevec® (imatinib tablets, generic)",
            "100 mg tablets",
            180,
            540,
            "tablets",
        ),
        "imatinib-400mg-tab": (
            "Gleevec® (imatinib tablets, generic)",
            "400 mg tablets",
            60,
            180,
            "tablets",
        ),
    }
    footnotes = [p["footnote"] for p in policy["products"]]
    assert footnotes == [
        "^a 180 tablets is a quantity sufficient for a 30-day supply at retail and a 90-day supply "
        "at home delivery at the maximum Non-Preferred Product dose of 600 mg per day",
        "^b 60 tablets is quantity sufficient for a 30-day supply at retail or a 90-day supply at "
        "home delivery at a dose of 800 mg per day",
    ]
    no_overrides, (override,) = [p["overrides"] for p in policy["products"]]
    assert no_overrides == []
    assert override == {
        "criterion_id": "strong-cyp3a4-inducer",
        "retail_max_qty": 90,
        "home_delivery_max_qty": 270,
        "approval_months": 12,
        "criteria_text": "If the patient is taking a strong cytochrome P450 (CYP)3A4 inducer, approve "
        "the requested quantity not to exceed 90 tablets per dispensing at retail or 270 tablets per "
        "dispensing at home delivery.",
    }
    assert doc["criteria"] == [
        {
            "criterion_id": "strong-cyp3a4-inducer",
            "description": "Patient is taking a strong cytochrome P450 (CYP)3A4 inducer",
            "met_when": "concomitant_drug_on_list",
            "drug_list_id": "strong-cyp3a4-inducers",
        }
    ]
    (inducers,) = doc["drug_lists"]
    assert inducers["drug_list_id"] == "strong-cyp3a4-inducers"
    assert sorted(d["drug"] for d in inducers["drugs"]) == sorted(
        [
            "dexamethasone",
            "rifampin",
            "carbamazepine",
            "phenobarbital",
            "phenytoin",
            "rifabutin",
            "rifapentine",
            "St. John's Wort",
        ]
    )
    aliases = {a for d in inducers["drugs"] for a in d["also_known_as"]}
    assert {
        "rifampicin",
        "Rifadin",
        "Tegretol",
        "Dilantin",
        "Decadron",
        "Hypericum perforatum",
    } <= aliases
    assert [
        (h["type_of_revision"], h["summary_of_changes"], h["review_date"])
        for h in policy["history"]
    ] == [
        ("Annual Revision", "No criteria changes.", "2023-12-13"),
        ("Annual Revision", "No criteria changes.", "2024-12-17"),
        ("Annual Revision", "No criteria changes.", "2025-12-08"),
    ]


def test_a_version_edited_by_hand_is_refused(exports_copy):
    path = exports_copy / "oncology-dqm" / "v3.json"
    path.write_text(path.read_text().replace('"retail_max_qty": 60', '"retail_max_qty": 600'))
    with pytest.raises(StoreError, match="has been changed since it was published"):
        Store(exports_copy).load("oncology-dqm", 3)


def test_a_schema_invalid_version_is_refused(exports_copy):
    path = exports_copy / "oncology-dqm" / "v2.json"
    doc = json.loads(path.read_text())
    del doc["policies"][0]["products"][0]["unit"]
    path.write_bytes(canonical_bytes(seal(doc)))
    with pytest.raises(
        StoreError,
        match='does not match the ruleset schema at policies/0/products/0: "unit" is a required property',
    ):
        Store(exports_copy).load("oncology-dqm", 2)
