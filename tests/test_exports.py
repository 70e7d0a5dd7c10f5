"""The committed exports: schema-valid, hashed, indexed, the founding policy's numbers in v3, its
codes in v4, and v1-v3 exactly as they were published (schema 1)."""

from __future__ import annotations

import hashlib
import json

import jsonschema
import pytest

from compiler.ruleset.sealing import SCHEMA_FILE, canonical_bytes, schema, seal
from compiler.ruleset.store import Store, StoreError
from tests.fixtures.paths import EXPORTS

VERSION_FILES = sorted(EXPORTS.glob("*/v[0-9]*.json"))
VERSION_FILES = [p for p in VERSION_FILES if p.stem[1:].isdigit()]


def test_the_four_published_versions_are_committed():
    assert [p.name for p in VERSION_FILES] == ["v1.json", "v2.json", "v3.json", "v4.json"]


# sha256 of each file's bytes as published: v1-v3 (schema 1) are never rewritten.
PUBLISHED_BYTES = {
    "v1.json": "6d7a28796d79263b01550cc1ac3c5b73236b886c50e598d0a02ac9a3991bb601",
    "v1.jdm.json": "10c0438a8928d610b8590e2b0c83bb880484a68ab8c58999b3b5098a7687268a",
    "v2.json": "a7fc4cb9179be583a482cca6775e2769ed0efde53d1a590881a59e04d804f45f",
    "v2.jdm.json": "ba7475550b54c702e2995bfd91541a708b3bd59535217ac5e0980631b56ec82d",
    "v3.json": "1e00b11a3cd3cdf755f55cf58240839645d6ba380ba13cbfc456644e50856d75",
    "v3.jdm.json": "f6bd9b9c86209cd00273f8de68a02bfb5888e9311b84bd6f6396fecef27d6874",
}


def test_the_first_three_versions_are_byte_for_byte_as_published_in_schema_1():
    folder = EXPORTS / "oncology-dqm"
    assert {
        name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in PUBLISHED_BYTES
    } == PUBLISHED_BYTES
    assert [
        json.loads((folder / f"v{v}.json").read_text())["schema_version"] for v in (1, 2, 3, 4)
    ] == [
        1,
        1,
        1,
        2,
    ]


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
    assert committed["$id"] == "https://dqm.invalid/schemas/ruleset-3.schema.json"
    assert committed["properties"] == {"schema_version": {"enum": [1, 2, 3]}}
    # Each schema version is a closed object of its own, chosen by the file's schema_version.
    assert [(c["if"], c["then"]) for c in committed["allOf"]] == [
        ({"properties": {"schema_version": {"const": n}}}, {"$ref": f"#/$defs/version-{n}"})
        for n in (1, 2, 3)
    ]
    for n in (1, 2, 3):
        assert committed["$defs"][f"version-{n}"]["additionalProperties"] is False
    jsonschema.Draft202012Validator.check_schema(committed)


def test_schema_2_requires_the_effective_date_and_each_products_codes():
    doc = Store(EXPORTS).load("oncology-dqm", 4)
    validator = jsonschema.Draft202012Validator(schema())
    assert validator.is_valid(doc)
    missing = {k: v for k, v in doc.items() if k != "effective_date"}
    assert [e.message for e in validator.iter_errors(missing)] == [
        "'effective_date' is a required property"
    ]
    as_schema_1 = {**doc, "schema_version": 1}  # a schema-1 file has neither, nor code changes
    assert {e.message for e in validator.iter_errors(as_schema_1)} == {
        "Additional properties are not allowed ('codes' was unexpected)",
        "Additional properties are not allowed ('effective_date' was unexpected)",
        "'code' is not one of ['ruleset', 'policy', 'limit', 'override', 'criterion', "
        "'drug_list_member', 'history']",
    }
    bad_ndc = json.loads(json.dumps(doc))
    bad_ndc["policies"][0]["products"][0]["codes"][0]["code"] = "47335-472-13"
    assert [e.message for e in validator.iter_errors(bad_ndc)] == [
        "'47335-472-13' does not match '^[0-9]{11}$'"
    ]


def test_schema_rejects_an_unknown_field():
    doc = Store(EXPORTS).load("oncology-dqm", 3)
    with pytest.raises(jsonschema.ValidationError, match="Additional properties"):
        jsonschema.validate({**doc, "extra": 1}, schema())


def test_index_lists_the_version_files_in_order():
    store = Store(EXPORTS)
    index = json.loads((EXPORTS / "oncology-dqm" / "index.json").read_text())
    assert index == store.index("oncology-dqm")
    assert index["versions"] == store.entries("oncology-dqm")
    assert [
        (e["version"], e["effective_date"], e["review_dates"]["imatinib-per-rx"])
        for e in index["versions"]
    ] == [
        (1, "2023-12-13", "2023-12-13"),
        (2, "2024-12-17", "2024-12-17"),
        (3, "2025-12-08", "2025-12-08"),
        (4, "2025-12-08", "2026-12-01"),  # no rule changed: in effect when v3 took effect
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
    ] + [
        [
            {
                "policy_id": "imatinib-per-rx",
                "type_of_revision": "Selected Revision",
                "summary_of_changes": "Product codes added (NDC and RxCUI) so claims can name the "
                "products. No criteria changes.",
                "review_date": "2026-12-01",
            }
        ]
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
