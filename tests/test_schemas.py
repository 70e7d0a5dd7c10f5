"""The schemas beside the rulesets (exports/SCHEMA-CHANGELOG.md): each versioned in its `$id`, the
committed copies the compiler's own, and what dqm writes valid against them: every published
version, every index.json, and the decisions of `dqm decide` in json and jsonl, with whole numbers
as integers in every text format."""

from __future__ import annotations

import csv
import io
import json

import jsonschema
import pytest

from compiler.ruleset.compile import compile_workbook
from compiler.ruleset.sealing import SCHEMA_FILES, schema
from tests.fixtures.paths import EXPORTS, WORKBOOK

IDS = {
    "ruleset.schema.json": "https://dqm.invalid/schemas/ruleset-3.schema.json",
    "index.schema.json": "https://dqm.invalid/schemas/index-1.schema.json",
    "decision.schema.json": "https://dqm.invalid/schemas/decision-3.schema.json",
}
VERSION_FILES = [p for p in sorted(EXPORTS.glob("*/v*.json")) if p.stem[1:].isdigit()]
# The founding policy's worked examples, then claims that decide not_applicable and invalid.
CLAIMS = (
    "claim_id,product_id,ndc,channel,quantity,date_of_service,concomitant_drugs,attested_criteria\n"
    "E1,imatinib-400mg-tab,,Retail,60,,,\n"
    "E2,imatinib-400mg-tab,,retail,61,,,\n"
    "E3,imatinib-400mg-tab,,retail,75,,rifampin,\n"
    "E4,imatinib-400mg-tab,,retail,120,,Rifadin,\n"
    "E5,imatinib-400mg-tab,,Home Delivery,270,,carbamazepine,\n"
    "E6,imatinib-100mg-tab,,retail,181,,rifampin,\n"
    "N1,imatinib-800mg-tab,,retail,30,,,\n"
    "N2,,00000-0000-00,retail,30,,,\n"
    "N3,imatinib-400mg-tab,,retail,30,1999-01-01,,\n"
    "I1,imatinib-400mg-tab,,retail,ten,,,\n"
    "I2,imatinib-400mg-tab,,mail,30,,,\n"
    "I3,imatinib-400mg-tab,,retail,30,2025-02-30,,\n"
    "I4,imatinib-400mg-tab,,retail,30,,,no-such-criterion\n"
    "I5,,,retail,30,,,\n"
    "F1,imatinib-400mg-tab,,retail,2.5,20260105,,\n"
    "F2,imatinib-400mg-tab,,home_delivery,120.0,,,\n"
)
# claim, decision, quantity, approved_quantity, limit, reject_code, approval_months
EXPECTED = [
    ("E1", "approve", 60, 60, 60, None, None),
    ("E2", "deny", 61, 0, 60, 76, None),
    ("E3", "override", 75, 75, 60, 76, 12),
    ("E4", "override", 120, 90, 60, 76, 12),
    ("E5", "override", 270, 270, 180, 76, 12),
    ("E6", "deny", 181, 0, 180, 76, None),
    ("N1", "not_applicable", 30, None, None, None, None),
    ("N2", "not_applicable", 30, None, None, None, None),
    ("N3", "not_applicable", 30, None, None, None, None),
    ("I1", "invalid", "ten", None, None, None, None),  # echoed: not a number
    ("I2", "invalid", 30, None, None, None, None),
    ("I3", "invalid", 30, None, None, None, None),
    ("I4", "invalid", 30, None, None, None, None),
    ("I5", "invalid", 30, None, None, None, None),
    ("F1", "approve", 2.5, 2.5, 60, None, None),
    ("F2", "approve", 120, 120, 180, None, None),
]


def validator(name: str) -> jsonschema.Draft202012Validator:
    # The format checker makes "format": "date" an assertion: 2025-02-30 is no date.
    return jsonschema.Draft202012Validator(schema(name), format_checker=jsonschema.FormatChecker())


@pytest.mark.parametrize("name", SCHEMA_FILES)
def test_each_schema_is_versioned_and_committed_as_the_compiler_writes_it(name):
    committed = (EXPORTS / name).read_text()
    assert committed == json.dumps(schema(name), indent=2, ensure_ascii=False) + "\n"
    assert (schema(name)["$schema"], schema(name)["$id"]) == (
        "https://json-schema.org/draft/2020-12/schema",
        IDS[name],
    )
    jsonschema.Draft202012Validator.check_schema(schema(name))


def test_a_publish_writes_every_schema_beside_the_rulesets(tmp_path):
    compile_workbook(WORKBOOK, tmp_path / "exports")
    assert {n: (tmp_path / "exports" / n).read_text() for n in SCHEMA_FILES} == {
        n: (EXPORTS / n).read_text() for n in SCHEMA_FILES
    }


@pytest.mark.parametrize("path", VERSION_FILES, ids=lambda p: p.name)
def test_every_published_version_validates_with_its_dates(path):
    assert list(validator("ruleset.schema.json").iter_errors(json.loads(path.read_text()))) == []


def test_every_index_validates_and_lists_each_graphs_sha256():
    indexes = sorted(EXPORTS.glob("*/index.json"))
    assert [p.parent.name for p in indexes] == ["oncology-dqm"]
    index = json.loads(indexes[0].read_text())
    assert list(validator("index.schema.json").iter_errors(index)) == []
    assert [(e["file"], e["files"]["jdm"]["file"]) for e in index["versions"]] == [
        (f"v{v}.json", f"v{v}.jdm.json") for v in (1, 2, 3, 4)
    ]


def test_a_date_that_is_not_on_the_calendar_is_refused_by_the_schemas():
    index = json.loads((EXPORTS / "oncology-dqm" / "index.json").read_text())
    index["versions"][0]["effective_date"] = "2025-02-30"
    error = jsonschema.exceptions.best_match(validator("index.schema.json").iter_errors(index))
    assert (list(error.absolute_path), error.message) == (
        ["versions", 0, "effective_date"],
        "'2025-02-30' is not a 'date'",
    )
    version = json.loads((EXPORTS / "oncology-dqm" / "v4.json").read_text())
    version["policies"][0]["history"][0]["review_date"] = "2023-02-29"
    assert [e.message for e in validator("ruleset.schema.json").iter_errors(version)] == [
        "'2023-02-29' is not a 'date'"
    ]


@pytest.fixture
def claims(tmp_path):
    path = tmp_path / "claims.csv"
    path.write_text(CLAIMS)
    return path


def decided(dqm, claims, fmt: str) -> tuple[str, list[dict]]:
    code, out, err = dqm("decide", claims, "--ruleset", "oncology-dqm", "--format", fmt)
    assert (code, err) == (0, "")
    if fmt == "json":
        return out, json.loads(out)
    if fmt == "jsonl":
        return out, [json.loads(line) for line in out.splitlines()]
    return out, list(csv.DictReader(io.StringIO(out)))


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_decisions_validate_against_the_decision_schema(fmt, dqm, claims):
    out, rows = decided(dqm, claims, fmt)
    assert [list(validator("decision.schema.json").iter_errors(r)) for r in rows] == [[]] * 16
    assert [
        (
            r["claim_id"],
            r["decision"],
            r["quantity"],
            r["approved_quantity"],
            r["limit"],
            r["reject_code"],
            r["approval_months"],
        )
        for r in rows
    ] == EXPECTED
    # Whole numbers as integers, a fraction as itself, none as null, never "" (a quantity that is
    # not a number is echoed as its text).
    numbers = ("quantity", "approved_quantity", "limit", "reject_code", "approval_months")
    assert {type(r[k]) for r in rows for k in numbers} == {int, float, str, type(None)}
    assert [r["quantity"] for r in rows if isinstance(r["quantity"], str)] == ["ten"]
    assert [r["quantity"] for r in rows if isinstance(r["quantity"], float)] == [2.5]
    assert '"quantity":120,' in out and ".0," not in out and '""' not in out
    assert rows[-1] == {
        "claim_id": "F2",
        "product_id": "imatinib-400mg-tab",
        "policy_id": "imatinib-per-rx",
        "channel": "home_delivery",
        "quantity": 120,
        "date_of_service": None,
        "decision": "approve",
        "approved_quantity": 120,
        "member_id": None,
        "limit": 180,
        "accumulated_quantity": None,
        "period_days": None,
        "criterion_id": None,
        "matched_drugs": None,
        "reject_code": None,
        "approval_months": None,
        "message": "Within the Home Delivery limit of 180 tablets per Rx.",
        "ruleset_id": "oncology-dqm",
        "ruleset_version": 4,
    }


def test_csv_writes_whole_numbers_as_integers(dqm, claims):
    _, rows = decided(dqm, claims, "csv")
    assert [
        (
            r["claim_id"],
            r["quantity"],
            r["approved_quantity"],
            r["limit"],
            r["reject_code"],
            r["approval_months"],
            r["ruleset_version"],
        )
        for r in rows
        if r["claim_id"] in ("E4", "I1", "F1", "F2")
    ] == [
        ("E4", "120", "90", "60", "76", "12", "4"),
        ("I1", "ten", "", "", "", "", "4"),
        ("F1", "2.5", "2.5", "60", "", "", "4"),
        ("F2", "120", "120", "180", "", "", "4"),
    ]


def test_claims_with_a_date_not_on_the_calendar_are_invalid_saying_so(dqm, claims):
    _, rows = decided(dqm, claims, "json")
    assert {r["claim_id"]: r["message"] for r in rows if r["claim_id"] in ("I3", "N3")} == {
        "N3": "No version of oncology-dqm is in effect on 1999-01-01: the first, v1, takes "
        "effect on 2023-12-13.",
        "I3": "Invalid: date_of_service '2025-02-30' is not a date: write it as YYYY-MM-DD or "
        "YYYYMMDD.",
    }
