"""One failing workbook per validation rule, built in the test; each asserts the exact finding."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest

from compiler.workbook.validate import validate_file


def flat(path, severity="error"):
    """Findings as (sheet, cell, column, value, message) tuples, like frictionless' flatten."""
    return [(f.sheet, f.cell, f.column, f.value, f.message)
            for f in validate_file(path).findings if f.severity == severity]


def test_founding_workbook_has_no_findings():
    from conftest import WORKBOOK

    assert validate_file(WORKBOOK).findings == []


def test_word_in_a_limit_cell_names_sheet_cell_and_what_to_type(founding_rows, make_workbook):
    founding_rows["Limits"][1][4] = "sixty"
    assert flat(make_workbook(founding_rows)) == [(
        "Limits", "E3", "Retail Max Qty per Rx", "sixty",
        "'Retail Max Qty per Rx' must be a number. Type a number such as 60, in digits.",
    )]


def test_numbers_typed_as_text_with_commas_or_spaces_are_numbers(founding_rows, make_workbook):
    founding_rows["Limits"][0][5] = "1,080"
    founding_rows["Limits"][1][4] = " 60 "
    v = validate_file(make_workbook(founding_rows))
    assert v.findings == []
    assert v.frames["Limits"].loc[2, "Home Delivery Max Qty per Rx"] == 1080.0
    assert v.frames["Limits"].loc[3, "Retail Max Qty per Rx"] == 60.0


def test_every_bad_cell_in_a_column_is_reported(founding_rows, make_workbook):
    founding_rows["Limits"][0][4] = "lots"
    founding_rows["Limits"][1][4] = -5
    founding_rows["Limits"].append(["imatinib-per-rx", "imatinib-200mg-tab", "P", "200 mg tablets", None, 90, "tablets", None])
    assert [(c, m) for _, c, _, _, m in flat(make_workbook(founding_rows))] == [
        ("E2", "'Retail Max Qty per Rx' must be a number. Type a number such as 60, in digits."),
        ("E3", "'Retail Max Qty per Rx' must be greater than 0. Type a number such as 60."),
        ("E4", "'Retail Max Qty per Rx' is required. Type a value such as '60'."),
    ]


def test_date_typed_as_text_is_a_finding(founding_rows, make_workbook):
    founding_rows["History"][0][3] = "12/13/2023"
    assert flat(make_workbook(founding_rows)) == [(
        "History", "D2", "Review Date", "12/13/2023",
        "'Review Date' must be a date. Type it as a date Excel recognises, such as 12/08/2025, "
        "and check the cell is not formatted as Text.",
    )]


def test_required_cell_left_blank(founding_rows, make_workbook):
    founding_rows["Limits"][0][6] = None
    assert flat(make_workbook(founding_rows)) == [
        ("Limits", "G2", "Unit", None, "'Unit' is required. Type a value such as 'tablets'."),
    ]


def test_id_that_is_not_a_slug(founding_rows, make_workbook):
    founding_rows["Ruleset"][0][0] = "Oncology DQM"
    assert flat(make_workbook(founding_rows)) == [(
        "Ruleset", "A2", "Ruleset ID", "Oncology DQM",
        "'Ruleset ID' must be a short id of lowercase letters, digits and hyphens, such as "
        "'oncology-dqm'. Type it without spaces or capitals.",
    )]


@pytest.mark.parametrize("sheet,row,col,cell,header,value,allowed", [
    ("Policies", 0, 2, "C2", "Policy Type", "Per Day", "'Per Rx'"),
    ("Criteria", 0, 2, "C2", "Met When", "Sometimes", "'Concomitant drug on list', 'Attested'"),
    ("Tests", 0, 2, "C2", "Channel", "Mail", "'Retail', 'Home Delivery'"),
    ("Tests", 0, 6, "G2", "Expected Decision", "Maybe", "'Approve', 'Override', 'Deny'"),
])
def test_value_outside_the_allowed_list(founding_rows, make_workbook, sheet, row, col, cell, header, value, allowed):
    founding_rows[sheet][row][col] = value
    assert flat(make_workbook(founding_rows)) == [
        (sheet, cell, header, value, f"'{header}' must be one of: {allowed}. Type one of those."),
    ]


def test_allowed_values_accept_other_case_and_spacing(founding_rows, make_workbook):
    founding_rows["Policies"][0][2] = "  per   RX "
    founding_rows["Tests"][0][2] = "home delivery"
    founding_rows["Tests"][0][7] = 540  # the row now asks for 540 at home delivery
    founding_rows["Tests"][0][3] = 540
    founding_rows["Tests"][0][1] = "imatinib-100mg-tab"
    assert flat(make_workbook(founding_rows)) == []


def test_approval_duration_must_be_a_whole_number_of_at_least_one(founding_rows, make_workbook):
    founding_rows["Policies"][0][4] = 0.5
    assert flat(make_workbook(founding_rows)) == [
        ("Policies", "E2", "Approval Duration (months)", 0.5,
         "'Approval Duration (months)' must be at least 1. Type a number such as 12."),
        ("Policies", "E2", "Approval Duration (months)", 0.5,
         "'Approval Duration (months)' must be a whole number. Type a number such as 12."),
    ]


def test_duplicate_product_id_points_at_the_repeat(founding_rows, make_workbook):
    founding_rows["Limits"].append(list(founding_rows["Limits"][1]))
    assert flat(make_workbook(founding_rows)) == [(
        "Limits", "B4", "Product ID", "imatinib-400mg-tab",
        "'Product ID' 'imatinib-400mg-tab' is already used in row 3; each one must be unique. "
        "Type a different one, or delete the repeated row.",
    )]


def test_limit_for_a_policy_that_does_not_exist(founding_rows, make_workbook):
    founding_rows["Limits"][0][0] = "imatinib-per-rxx"
    assert flat(make_workbook(founding_rows)) == [(
        "Limits", "A2", "Policy ID", "imatinib-per-rxx",
        "'imatinib-per-rxx' is not a Policy ID on the Policies sheet. Did you mean "
        "'imatinib-per-rx'? Type it exactly as it is there.",
    )]


def test_override_references_resolve(founding_rows, make_workbook):
    founding_rows["Overrides"][0][0] = "gleevec-400"
    founding_rows["Overrides"][0][1] = "inducer"
    assert flat(make_workbook(founding_rows)) == [
        ("Overrides", "A2", "Product ID", "gleevec-400",
         "'gleevec-400' is not a Product ID on the Limits sheet. Type one of: "
         "'imatinib-100mg-tab', 'imatinib-400mg-tab', or add it there first."),
        ("Overrides", "B2", "Criterion ID", "inducer",
         "'inducer' is not a Criterion ID on the Criteria sheet. Type one of: "
         "'strong-cyp3a4-inducer', or add it there first."),
    ]


def test_test_claim_references_resolve(founding_rows, make_workbook):
    founding_rows["Tests"][0][1] = "imatinib-500mg-tab"
    founding_rows["Tests"][1][5] = "strong-cyp3a4-inducer; pregnant"
    assert flat(make_workbook(founding_rows)) == [
        ("Tests", "B2", "Product ID", "imatinib-500mg-tab",
         "'imatinib-500mg-tab' is not a Product ID on the Limits sheet. Did you mean "
         "'imatinib-400mg-tab'? Type it exactly as it is there."),
        ("Tests", "F3", "Attested Criteria", "strong-cyp3a4-inducer; pregnant",
         "'pregnant' is not a Criterion ID on the Criteria sheet. Type one of: "
         "'strong-cyp3a4-inducer', or add it there first."),
    ]


def test_drug_list_required_for_on_list_criteria_and_empty_for_attested(founding_rows, make_workbook):
    founding_rows["Criteria"][0][3] = None
    founding_rows["Criteria"].append(["dose-confirmed", "Reviewer confirmed the dose", "Attested", "strong-cyp3a4-inducers"])
    assert flat(make_workbook(founding_rows)) == [
        ("Criteria", "D2", "Drug List ID", None,
         "'Drug List ID' is required when Met When is 'Concomitant drug on list'. Type the id of a "
         "list on the Drug Lists sheet. Type one of: 'strong-cyp3a4-inducers', or add it there first."),
        ("Criteria", "D3", "Drug List ID", "strong-cyp3a4-inducers",
         "An 'Attested' criterion uses no drug list. Clear this cell, or set Met When to "
         "'Concomitant drug on list'."),
    ]


def test_criterion_naming_a_missing_drug_list(founding_rows, make_workbook):
    founding_rows["Criteria"][0][3] = "strong-cyp3a4-inducerz"
    assert flat(make_workbook(founding_rows)) == [(
        "Criteria", "D2", "Drug List ID", "strong-cyp3a4-inducerz",
        "'strong-cyp3a4-inducerz' is not a Drug List ID on the Drug Lists sheet. Did you mean "
        "'strong-cyp3a4-inducers'? Type it exactly as it is there.",
    )]


def test_override_maximum_must_exceed_the_products_limit(founding_rows, make_workbook):
    founding_rows["Overrides"][0][2] = 60
    founding_rows["Overrides"][0][3] = 150
    assert flat(make_workbook(founding_rows)) == [
        ("Overrides", "C2", "Retail Max Qty per Rx", 60,
         "An override must allow more than the limit: imatinib-400mg-tab's Retail Max Qty per Rx "
         "is 60 (Limits row 3). Type a number greater than 60."),
        ("Overrides", "D2", "Home Delivery Max Qty per Rx", 150,
         "An override must allow more than the limit: imatinib-400mg-tab's Home Delivery Max Qty "
         "per Rx is 180 (Limits row 3). Type a number greater than 180."),
    ]


def test_one_override_per_product_and_criterion(founding_rows, make_workbook):
    founding_rows["Overrides"].append(list(founding_rows["Overrides"][0]))
    assert flat(make_workbook(founding_rows)) == [(
        "Overrides", "B3", "Criterion ID", "strong-cyp3a4-inducer",
        "'imatinib-400mg-tab' already has an override for 'strong-cyp3a4-inducer' in row 2. "
        "Delete this row, or change the criterion.",
    )]


def test_latest_history_review_date_must_equal_the_policys(founding_rows, make_workbook):
    founding_rows["Policies"][0][3] = dt.date(2026, 1, 5)
    assert flat(make_workbook(founding_rows)) == [(
        "Policies", "D2", "Review Date", dt.date(2026, 1, 5),
        "The latest History row for 'imatinib-per-rx' has Review Date 12/08/2025, but this cell "
        "says 01/05/2026. Make them the same date: type the new review's date here and add its "
        "row to History.",
    )]


def test_policy_without_history(founding_rows, make_workbook):
    founding_rows["History"] = []
    assert flat(make_workbook(founding_rows)) == [(
        "Policies", "D2", "Review Date", dt.date(2025, 12, 8),
        "Policy 'imatinib-per-rx' has no row on the History sheet. Add one with Policy ID "
        "'imatinib-per-rx' and Review Date 12/08/2025.",
    )]


def test_history_for_an_unknown_policy(founding_rows, make_workbook):
    founding_rows["History"][0][0] = "imatinib"
    assert flat(make_workbook(founding_rows)) == [(
        "History", "A2", "Policy ID", "imatinib",
        "'imatinib' is not a Policy ID on the Policies sheet. Did you mean 'imatinib-per-rx'? "
        "Type it exactly as it is there.",
    )]


def test_names_unique_within_a_drug_list_ignoring_case_and_punctuation(founding_rows, make_workbook):
    founding_rows["Drug Lists"][1][2] = "rifampicin; Rifadin; DILANTIN"
    founding_rows["Drug Lists"].append(["strong-cyp3a4-inducers", "St Johns wort", None, None])
    assert flat(make_workbook(founding_rows)) == [
        ("Drug Lists", "C6", "Also Known As", "Dilantin; Phenytek",
         "'Dilantin' is already on list 'strong-cyp3a4-inducers' in row 3. A name appears once "
         "per list: delete it here or there."),
        ("Drug Lists", "B10", "Drug", "St Johns wort",
         "'St Johns wort' is already on list 'strong-cyp3a4-inducers' in row 9. A name appears "
         "once per list: delete it here or there."),
    ]


def test_same_name_on_two_different_lists_is_fine(founding_rows, make_workbook):
    founding_rows["Drug Lists"].append(["other-list", "rifampin", None, None])
    assert flat(make_workbook(founding_rows)) == []


def test_ruleset_sheet_needs_exactly_one_row(founding_rows, make_workbook):
    founding_rows["Ruleset"].append(["second", "Another", None])
    assert flat(make_workbook(founding_rows)) == [(
        "Ruleset", "A3", "Ruleset ID", "second",
        "The Ruleset sheet has one row only; row 2 is it. Delete this row.",
    )]
    founding_rows["Ruleset"] = []
    assert flat(make_workbook(founding_rows, "empty-ruleset.xlsx")) == [(
        "Ruleset", "A2", "Ruleset ID", None,
        "The Ruleset sheet needs exactly one row. Type the ruleset's id in row 2, such as "
        "'oncology-dqm', and its Title.",
    )]


def test_home_delivery_below_retail_is_a_warning_not_an_error(founding_rows, make_workbook):
    founding_rows["Limits"][1][5] = 30
    path = make_workbook(founding_rows)
    assert flat(path) == []
    assert flat(path, "warning") == [(
        "Limits", "F3", "Home Delivery Max Qty per Rx", 30,
        "Home delivery (30) is below retail (60) for imatinib-400mg-tab; home delivery usually "
        "allows a longer supply. Check the number.",
    )]


def test_missing_sheet_has_no_cell(founding_rows, make_workbook):
    path = make_workbook(founding_rows)
    wb = openpyxl.load_workbook(path)
    del wb["Overrides"]
    wb.save(path)
    assert flat(path) == [(
        "Overrides", None, None, None,
        "The workbook has no sheet named 'Overrides'. Add a sheet named 'Overrides' with the "
        "headers Product ID, Criterion ID, Retail Max Qty per Rx, Home Delivery Max Qty per Rx, "
        "Approval Duration (months), Criteria Text in row 1.",
    )]


def _edit(path, sheet, cell, value):
    wb = openpyxl.load_workbook(path)
    wb[sheet][cell] = value
    wb.save(path)
    return path


def test_missing_column_points_at_the_header_cell(founding_rows, make_workbook):
    path = _edit(make_workbook(founding_rows), "Limits", "G1", None)
    assert flat(path) == [(
        "Limits", "I1", "Unit", None,
        "Column 'Unit' is missing. Type 'Unit' as a header in row 1 and fill it in.",
    )]


def test_renamed_header_is_pointed_at_with_the_right_name(founding_rows, make_workbook):
    path = _edit(make_workbook(founding_rows), "Limits", "E1", "Retail Max Qty")
    assert flat(path) == [(
        "Limits", "E1", "Retail Max Qty per Rx", "Retail Max Qty",
        "The header 'Retail Max Qty' is not one dqm knows; rename it to 'Retail Max Qty per Rx'.",
    )]


def test_headers_match_ignoring_case_and_spaces_and_unknown_columns_warn(founding_rows, make_workbook):
    path = _edit(make_workbook(founding_rows), "Limits", "E1", "  retail max QTY  per rx ")
    path = _edit(path, "Limits", "I1", "Reviewer")
    assert flat(path) == []
    assert flat(path, "warning") == [(
        "Limits", "I1", None, "Reviewer",
        "Column 'Reviewer' is not part of the 'Limits' sheet and is ignored. Expected headers: "
        "Policy ID, Product ID, Product, Strength and Form, Retail Max Qty per Rx, Home Delivery "
        "Max Qty per Rx, Unit, Footnote.",
    )]


def test_blank_rows_are_ignored_and_rows_keep_their_excel_numbers(founding_rows, make_workbook):
    founding_rows["Limits"].insert(1, [None] * 8)
    founding_rows["Limits"][2][4] = "sixty"
    v = validate_file(make_workbook(founding_rows))
    assert list(v.frames["Limits"].index) == [2, 4]
    assert [(f.cell, f.value) for f in v.findings] == [("E4", "sixty")]


def test_hidden_sheet_is_read_with_a_warning(founding_rows, make_workbook):
    path = make_workbook(founding_rows)
    wb = openpyxl.load_workbook(path)
    wb["Drug Lists"].sheet_state = "hidden"
    wb.save(path)
    assert flat(path) == []
    assert flat(path, "warning") == [(
        "Drug Lists", None, None, None,
        "Sheet 'Drug Lists' is hidden; it is still read. Unhide it so reviewers see what the "
        "ruleset uses.",
    )]


def test_merged_cells_are_an_error(founding_rows, make_workbook):
    path = make_workbook(founding_rows)
    wb = openpyxl.load_workbook(path)
    wb["Limits"].merge_cells("A2:A3")
    wb.save(path)
    assert flat(path) == [
        ("Limits", "A2", None, None,
         "Cells A2:A3 are merged, so only A2 keeps its value. Unmerge them (Home > Merge & "
         "Center) and type the value in every row."),
        ("Limits", "A3", "Policy ID", None, "'Policy ID' is required. Type a value such as 'imatinib-per-rx'."),
    ]


def test_formula_without_a_saved_value_is_a_finding(founding_rows, make_workbook):
    founding_rows["Limits"][1][5] = "=3*E3"  # openpyxl saves formulas without values
    assert flat(make_workbook(founding_rows)) == [(
        "Limits", "F3", "Home Delivery Max Qty per Rx", "=3*E3",
        "This cell has the formula =3*E3 but no saved value. Type the value itself, or open the "
        "workbook in Excel and save it so the result is stored.",
    )]


def test_id_typed_as_a_number_is_read_as_text(founding_rows, make_workbook):
    founding_rows["Tests"][0][0] = 1001
    v = validate_file(make_workbook(founding_rows))
    assert v.findings == []
    assert v.frames["Tests"].loc[2, "Test ID"] == "1001"
