"""check_draft: a draft workbook checked as `dqm compile` would, compared with the latest published
version, and nothing written to the exports store."""

from __future__ import annotations

import io
import json

import openpyxl
import pytest

from compiler.decide.claims import claims_frame
from compiler.ruleset.draft import check_draft

LIMIT_RAISED = "imatinib-100mg-tab: Home Delivery Max Qty per Rx 540 → 600"


def raise_100mg_home_limit(rows: dict) -> dict:
    """The 100 mg home delivery limit raised from 540 to 600, with a History row saying so, and a
    Test that 541 tablets now approve."""
    rows["Limits"][0][5] = 600
    rows["Policies"][0][3] = rows["History"][-1][3].replace(year=2027)
    rows["History"].append(
        [
            "imatinib-per-rx",
            "Revision",
            "Home delivery limit for 100 mg raised to 600.",
            rows["Policies"][0][3],
        ]
    )
    rows["Tests"] = [
        t
        for t in rows["Tests"]
        if (t[1], t[2], t[3]) != ("imatinib-100mg-tab", "Home Delivery", 541)
    ]
    rows["Tests"].append(
        [
            "100-home-541",
            "imatinib-100mg-tab",
            "Home Delivery",
            541,
            None,
            None,
            "Approve",
            541,
            "Under the new limit.",
        ]
    )
    return rows


def files(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def draft(founding_rows, make_workbook):
    """The bytes of a workbook made from (edited) founding rows."""
    return lambda rows=founding_rows: make_workbook(rows).read_bytes()


def test_a_word_in_a_limit_cell_is_a_finding_at_that_cell(exports_copy, founding_rows, draft):
    founding_rows["Limits"][1][4] = "sixty"
    check = check_draft(draft(), "oncology-dqm.xlsx", exports_copy)
    assert not check.ok and check.ruleset is None and check.decisions is None
    assert (len(check.errors), len(check.warnings), check.annotated) == (1, 0, None)
    assert check.findings_table().values.tolist() == [
        [
            "error",
            "Limits",
            "E3",
            "Retail Max Qty",
            "sixty",
            "'Retail Max Qty' must be a number. Type a number such as 60, in digits.",
        ]
    ]


def test_the_annotated_copy_marks_the_bad_cell_when_asked_for(exports_copy, founding_rows, draft):
    founding_rows["Limits"][1][4] = "sixty"
    check = check_draft(draft(), "oncology-dqm.xlsx", exports_copy, annotate=True)
    marked = openpyxl.load_workbook(io.BytesIO(check.annotated))["Limits"]["E3"]
    assert marked.value == "sixty"
    assert "'Retail Max Qty' must be a number." in marked.comment.text


def test_a_valid_draft_has_no_annotated_copy_even_when_asked(exports_copy, draft):
    check = check_draft(draft(), "oncology-dqm.xlsx", exports_copy, annotate=True)
    assert check.ok and check.findings == [] and check.annotated is None


def test_a_failing_test_row_stops_the_draft_at_its_expected_decision(
    exports_copy, founding_rows, draft
):
    assert founding_rows["Tests"][0][:4] == [
        "400-retail-at-limit",
        "imatinib-400mg-tab",
        "Retail",
        60,
    ]
    founding_rows["Tests"][0][6] = "Deny"
    check = check_draft(draft(), "oncology-dqm.xlsx", exports_copy)
    assert not check.ok and check.decisions is None
    assert [(f.sheet, f.cell, f.column, f.value) for f in check.findings] == [
        ("Tests", "G2", "Expected Decision", "Deny")
    ]
    assert check.findings[0].message.startswith(
        "Expected Deny, but dqm decides Approve (approved 60): "
    )


def test_a_valid_draft_decides_its_tests_and_shows_its_impact_without_publishing(
    exports_copy, founding_rows, draft
):
    before = files(exports_copy / "oncology-dqm")
    check = check_draft(draft(raise_100mg_home_limit(founding_rows)), "draft.xlsx", exports_copy)
    assert check.ok and check.ruleset["ruleset_id"] == "oncology-dqm" and check.decided_on_tests
    # The ruleset keeps its Tests in the sheet's order, in which they are decided as one run.
    assert list(check.decisions["claim_id"]) == [t[0] for t in founding_rows["Tests"]]
    assert (check.latest_version, check.latest_refused) == (4, None)
    assert [c["text"] for c in check.changes] == [
        "imatinib-per-rx: Review Date 2026-12-01 → 2027-12-01",
        LIMIT_RAISED,
        "imatinib-per-rx: History row added: Revision, 2027-12-01: Home delivery limit for 100 mg raised to 600.",
    ]
    changed = check.impact.changed
    assert changed[
        [
            "claim_id",
            "decision_before",
            "decision_after",
            "approved_quantity_before",
            "approved_quantity_after",
        ]
    ].values.tolist() == [["100-home-541", "deny", "approve", 0, 541]]
    assert (
        check.impact.summary
        == f"1 of {len(founding_rows['Tests'])} claims changes decision or approved quantity."
    )
    assert files(exports_copy / "oncology-dqm") == before


def test_a_draft_without_tests_decides_the_claims_given(exports_copy, founding_rows, draft):
    raise_100mg_home_limit(founding_rows)["Tests"] = []
    claims = claims_frame(
        [
            {
                "claim_id": "hd-541",
                "product_id": "imatinib-100mg-tab",
                "channel": "home_delivery",
                "quantity": "541",
            }
        ]
    )
    check = check_draft(draft(), "draft.xlsx", exports_copy, claims=claims)
    assert check.ok and not check.decided_on_tests
    assert check.decisions[["claim_id", "decision", "approved_quantity"]].values.tolist() == [
        ["hd-541", "approve", 541]
    ]
    assert check.impact.changed["change"].tolist() == ["deny → approve; approved 0 → 541"]


def test_a_draft_with_tests_ignores_the_claims_given(exports_copy, draft):
    claims = claims_frame(
        [
            {
                "claim_id": "x",
                "product_id": "imatinib-100mg-tab",
                "channel": "retail",
                "quantity": "1",
            }
        ]
    )
    check = check_draft(draft(), "oncology-dqm.xlsx", exports_copy, claims=claims)
    assert check.decided_on_tests and "x" not in set(check.decisions["claim_id"])
    assert check.changes == [] and len(check.impact.changed) == 0


def test_a_new_ruleset_has_no_published_version_to_compare(tmp_path, draft):
    check = check_draft(draft(), "oncology-dqm.xlsx", tmp_path / "empty-exports")
    assert check.ok and len(check.decisions) > 0
    assert (check.latest_version, check.latest_refused, check.changes, check.impact) == (
        None,
        None,
        [],
        None,
    )
    assert not (tmp_path / "empty-exports").exists()


def test_a_tampered_latest_version_is_refused_in_the_stores_words(exports_copy, draft):
    path = exports_copy / "oncology-dqm" / "v4.json"
    doc = json.loads(path.read_text())
    doc["policies"][0]["products"][1]["retail_max_qty"] = 600
    path.write_text(json.dumps(doc, indent=2))
    check = check_draft(draft(), "oncology-dqm.xlsx", exports_copy)
    assert check.ok and check.latest_version == 4 and check.impact is None
    assert check.latest_refused == (
        f"{path} has been changed since it was published (its sha256 does not match its content). "
        "Restore it from version control; never edit exports by hand."
    )


def test_bytes_that_are_not_a_workbook_are_a_workbook_finding(exports_copy):
    check = check_draft(b"not a workbook", "notes.xlsx", exports_copy, annotate=True)
    assert not check.ok
    table = check.findings_table()
    assert table[["severity", "sheet", "cell"]].values.tolist() == [["error", "", ""]]
