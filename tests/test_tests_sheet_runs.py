"""The Tests sheet decided as claims: a row's Date of Service chooses the version in effect on it
(the workbook standing for the version it will publish), its NDC, RxCUI and Member ID are the
claim's, and the rows are decided in sheet order."""

from __future__ import annotations

import datetime as dt

from compiler.ruleset.build import build
from compiler.ruleset.check import check_workbook
from compiler.ruleset.testsheet import CLAIM_FIELDS, run_rows
from compiler.workbook.validate import validate_file
from tests.fixtures import per_days

REVIEW = dt.date(2027, 1, 12)


def raised(founding_rows) -> dict:
    """The founding workbook with the 400 mg retail limit raised from 60 to 75, reviewed (and in
    effect from) 2027-01-12."""
    founding_rows["Limits"][1][4] = 75
    founding_rows["Overrides"][0][2] = 120
    founding_rows["Policies"][0][3] = REVIEW
    founding_rows["Ruleset"][0][3] = None
    founding_rows["History"].append(["imatinib-per-rx", "Revision", "Raised the limit.", REVIEW])
    founding_rows["Tests"] = [
        per_days.test_row(
            "v4-day",
            "Retail",
            70,
            "Deny",
            0,
            product="imatinib-400mg-tab",
            date=dt.date(2026, 12, 10),
        ),
        per_days.test_row(
            "draft-day",
            "Retail",
            70,
            "Approve",
            70,
            product="imatinib-400mg-tab",
            date=dt.date(2027, 2, 1),
        ),
        per_days.test_row("undated", "Retail", 70, "Approve", 70, product="imatinib-400mg-tab"),
        per_days.test_row(
            "v1-day",
            "Retail",
            61,
            "Deny",
            0,
            product="imatinib-400mg-tab",
            date=dt.date(2024, 6, 1),
        ),
    ]
    return founding_rows


def test_a_rows_date_of_service_chooses_the_version_in_effect(
    founding_rows, make_workbook, exports_copy
):
    checked = check_workbook(make_workbook(raised(founding_rows)), exports_copy, today=REVIEW)
    assert [f for f in checked.findings if f.severity == "error"] == []
    assert checked.content["effective_date"] == "2027-01-12"


def test_a_row_dated_before_every_version_is_told_why(founding_rows, make_workbook, exports_copy):
    rows = raised(founding_rows)
    rows["Tests"].append(
        per_days.test_row(
            "too-early",
            "Retail",
            60,
            "Approve",
            60,
            product="imatinib-400mg-tab",
            date=dt.date(2020, 1, 1),
        )
    )
    checked = check_workbook(make_workbook(rows), exports_copy, today=REVIEW)
    assert [(f.code, f.cell, f.message) for f in checked.findings if f.severity == "error"] == [
        (
            "tests-decision-mismatch",
            "G6",
            "Expected Approve, but dqm decides Not Applicable: No version of oncology-dqm is in "
            "effect on 2020-01-01: the first, v1, takes effect on 2023-12-13. Correct the "
            "expectation or the rules.",
        )
    ]


def test_without_the_published_versions_every_row_is_decided_by_the_workbook(
    founding_rows, make_workbook
):
    v = validate_file(make_workbook(raised(founding_rows)))
    results = run_rows(v, build(v))
    assert [(r.test_id, r.decision, r.approved) for r in results] == [
        ("v4-day", "approve", 70),
        ("draft-day", "approve", 70),
        ("undated", "approve", 70),
        ("v1-day", "approve", 61),
    ]


def test_the_claim_columns_of_a_tests_row_are_passed_to_its_claim():
    assert CLAIM_FIELDS == {
        "Test ID": "claim_id",
        "Product ID": "product_id",
        "Channel": "channel",
        "Quantity": "quantity",
        "Concomitant Drugs": "concomitant_drugs",
        "Attested Criteria": "attested_criteria",
        "Member ID": "member_id",
        "Date of Service": "date_of_service",
        "NDC": "ndc",
        "RxCUI": "rxcui",
    }
