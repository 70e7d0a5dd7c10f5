"""What staff see of one mistake: a finding caused by another is reported once, at its cause, and
"did you mean" never names another strength of the same drug."""

from __future__ import annotations

import datetime as dt

from compiler.ruleset.check import check_workbook

TODAY = dt.date(2026, 12, 7)
DATE_AS_TEXT = (
    "'Review Date' must be a date. Type it as a date Excel recognises, such as 12/08/2025, and "
    "check the cell is not formatted as Text."
)


def seen(path, exports) -> list[tuple]:
    """(code, sheet, cell, message) of each finding `validate` and `compile` make."""
    checked = check_workbook(path, exports, today=TODAY)
    return [(f.code, f.sheet, f.cell, f.message) for f in checked.findings]


def test_a_history_date_typed_as_text_is_one_finding_at_its_cell(
    founding_rows, make_workbook, exports_copy
):
    # The latest row: before, Policies!D2 was also told it differs from the row before it.
    founding_rows["History"][3][3] = "12/01/2026"
    assert seen(make_workbook(founding_rows), exports_copy) == [
        ("not-a-date", "History", "D5", DATE_AS_TEXT)
    ]


def test_a_published_history_row_whose_date_is_text_is_not_also_removed(
    founding_rows, make_workbook, exports_copy
):
    # Before, History!A1 also said the published 12/17/2024 row was removed: it is there.
    founding_rows["History"][1][3] = "12/17/2024"
    assert seen(make_workbook(founding_rows), exports_copy) == [
        ("not-a-date", "History", "D3", DATE_AS_TEXT)
    ]


def test_the_only_history_row_dated_as_text_does_not_leave_its_policy_without_history(
    founding_rows, make_workbook
):
    founding_rows["History"] = founding_rows["History"][:1]
    founding_rows["History"][0][3] = "12/13/2023"
    founding_rows["Policies"][0][3] = dt.date(2023, 12, 13)
    assert seen(make_workbook(founding_rows), None) == [
        ("not-a-date", "History", "D2", DATE_AS_TEXT)
    ]


def test_did_you_mean_never_names_another_strength(founding_rows, make_workbook, exports_copy):
    # Deleting the 100 mg Limits row: every row naming it was told "Did you mean
    # 'imatinib-400mg-tab'?", the other strength.
    founding_rows["Limits"] = [r for r in founding_rows["Limits"] if r[1] != "imatinib-100mg-tab"]
    found = seen(make_workbook(founding_rows), exports_copy)
    unknown = [f for f in found if f[0] == "unknown-reference"]
    assert unknown[0] == (
        "unknown-reference",
        "Product Codes",
        "A2",
        "'imatinib-100mg-tab' is not a Product ID on the Limits sheet. Type one of: "
        "'imatinib-400mg-tab', or add it there first.",
    )
    assert len(unknown) == 12
    assert not any("Did you mean" in f[3] for f in found)


def test_did_you_mean_still_names_the_id_a_letter_away(founding_rows, make_workbook):
    founding_rows["Overrides"][0][0] = "imatinib-400mg-tabs"
    found = [f for f in seen(make_workbook(founding_rows), None) if f[0] == "unknown-reference"]
    assert found == [
        (
            "unknown-reference",
            "Overrides",
            "A2",
            "'imatinib-400mg-tabs' is not a Product ID on the Limits sheet. Did you mean "
            "'imatinib-400mg-tab'? Type it exactly as it is there.",
        )
    ]
