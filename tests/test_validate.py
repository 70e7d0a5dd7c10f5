"""One failing workbook per validation rule, built in the test; each asserts the exact finding:
its code, cell, value and the parameters of its message (whose wording test_catalogue.py holds)."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest

from compiler.workbook.validate import validate_file


def flat(path, severity="error"):
    """Findings as (code, sheet, cell, column, value, params) tuples, like frictionless' flatten."""
    return [
        (f.code, f.sheet, f.cell, f.column, f.value, dict(f.params))
        for f in validate_file(path).findings
        if f.severity == severity
    ]


def test_founding_workbook_has_no_findings():
    from tests.fixtures.paths import WORKBOOK

    assert validate_file(WORKBOOK).findings == []


def test_word_in_a_limit_cell_names_sheet_cell_and_what_to_type(founding_rows, make_workbook):
    founding_rows["Limits"][1][4] = "sixty"
    assert flat(make_workbook(founding_rows)) == [
        (
            "not-a-number",
            "Limits",
            "E3",
            "Retail Max Qty",
            "sixty",
            {"header": "Retail Max Qty", "example": "60"},
        )
    ]


def test_numbers_typed_as_text_with_commas_or_spaces_are_numbers(founding_rows, make_workbook):
    founding_rows["Limits"][0][5] = "1,080"
    founding_rows["Limits"][1][4] = " 60 "
    v = validate_file(make_workbook(founding_rows))
    assert v.findings == []
    assert v.frames["Limits"].loc[2, "Home Delivery Max Qty"] == 1080.0
    assert v.frames["Limits"].loc[3, "Retail Max Qty"] == 60.0


def test_every_bad_cell_in_a_column_is_reported(founding_rows, make_workbook):
    founding_rows["Limits"][0][4] = "lots"
    founding_rows["Limits"][1][4] = -5
    founding_rows["Limits"].append(
        ["imatinib-per-rx", "imatinib-200mg-tab", "P", "200 mg tablets", None, 90, "tablets", None]
    )
    retail = {"header": "Retail Max Qty", "example": "60"}
    assert [
        (code, cell, params) for code, _, cell, _, _, params in flat(make_workbook(founding_rows))
    ] == [
        ("not-a-number", "E2", retail),
        ("not-greater-than", "E3", {**retail, "bound": 0}),
        ("required", "E4", retail),
    ]


def test_date_typed_as_text_is_a_finding(founding_rows, make_workbook):
    founding_rows["History"][0][3] = "12/13/2023"
    assert flat(make_workbook(founding_rows)) == [
        (
            "not-a-date",
            "History",
            "D2",
            "Review Date",
            "12/13/2023",
            {"header": "Review Date", "example": "12/08/2025"},
        )
    ]


def test_required_cell_left_blank(founding_rows, make_workbook):
    founding_rows["Limits"][0][6] = None
    assert flat(make_workbook(founding_rows)) == [
        ("required", "Limits", "G2", "Unit", None, {"header": "Unit", "example": "tablets"}),
    ]


def test_id_that_is_not_a_slug(founding_rows, make_workbook):
    founding_rows["Ruleset"][0][0] = "Oncology DQM"
    assert flat(make_workbook(founding_rows)) == [
        (
            "not-an-id",
            "Ruleset",
            "A2",
            "Ruleset ID",
            "Oncology DQM",
            {"header": "Ruleset ID", "example": "oncology-dqm"},
        )
    ]


@pytest.mark.parametrize(
    "sheet,row,col,cell,header,value,example,allowed",
    [
        ("Policies", 0, 2, "C2", "Policy Type", "Per Day", "Per Rx", ["Per Rx", "Per Days"]),
        (
            "Criteria",
            0,
            2,
            "C2",
            "Met When",
            "Sometimes",
            "Concomitant drug on list",
            ["Concomitant drug on list", "Attested"],
        ),
        ("Tests", 0, 2, "C2", "Channel", "Mail", "Retail", ["Retail", "Home Delivery"]),
        (
            "Tests",
            0,
            6,
            "G2",
            "Expected Decision",
            "Maybe",
            "Approve",
            ["Approve", "Override", "Deny"],
        ),
    ],
)
def test_value_outside_the_allowed_list(
    founding_rows, make_workbook, sheet, row, col, cell, header, value, example, allowed
):
    founding_rows[sheet][row][col] = value
    assert flat(make_workbook(founding_rows)) == [
        (
            "not-one-of",
            sheet,
            cell,
            header,
            value,
            {"header": header, "example": example, "allowed": allowed},
        ),
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
    months = {"header": "Approval Duration (months)", "example": "12"}
    assert flat(make_workbook(founding_rows)) == [
        (
            "below-minimum",
            "Policies",
            "E2",
            "Approval Duration (months)",
            0.5,
            {**months, "bound": 1},
        ),
        ("not-whole-number", "Policies", "E2", "Approval Duration (months)", 0.5, months),
    ]


def test_duplicate_product_id_points_at_the_repeat(founding_rows, make_workbook):
    founding_rows["Limits"].append(list(founding_rows["Limits"][1]))
    assert flat(make_workbook(founding_rows)) == [
        (
            "not-unique",
            "Limits",
            "B4",
            "Product ID",
            "imatinib-400mg-tab",
            {
                "header": "Product ID",
                "example": "imatinib-400mg-tab",
                "value": "imatinib-400mg-tab",
                "first_row": 3,
            },
        )
    ]


def test_limit_for_a_policy_that_does_not_exist(founding_rows, make_workbook):
    founding_rows["Limits"][0][0] = "imatinib-per-rxx"
    assert flat(make_workbook(founding_rows)) == [
        (
            "unknown-reference",
            "Limits",
            "A2",
            "Policy ID",
            "imatinib-per-rxx",
            {
                "id": "imatinib-per-rxx",
                "header": "Policy ID",
                "target": "Policies",
                "known": ["imatinib-per-rx"],
                "more": 0,
                "close": "imatinib-per-rx",
            },
        )
    ]


def test_did_you_mean_stops_when_its_budget_of_comparisons_is_spent(monkeypatch):
    """A sheet of unknown ids against a sheet of known ones made 'did you mean' quadratic (250,000
    by 250,000): each distinct id is looked up once, within the rule's budget."""
    from compiler.workbook import references

    monkeypatch.setattr(references, "SUGGESTION_BUDGET", 5)
    compared = []
    monkeypatch.setattr(
        references.names, "closest", lambda word, known: compared.append(word) or known[0]
    )
    suggest = references.Suggestions(["imatinib-per-rx", "dasatinib-per-rx"])
    assert suggest("imatinib-per-rxx")["close"] == "imatinib-per-rx"
    assert suggest("imatinib-per-rxx")["close"] == "imatinib-per-rx"  # remembered, not compared
    assert suggest("nilotinib-per-rx")["close"] == "imatinib-per-rx"
    assert suggest("bosutinib-per-rx") == {  # 2 + 2 compared: the budget of 5 is spent
        "known": ["imatinib-per-rx", "dasatinib-per-rx"],
        "more": 0,
    }
    assert compared == ["imatinib-per-rxx", "nilotinib-per-rx"]


def test_override_references_resolve(founding_rows, make_workbook):
    founding_rows["Overrides"][0][0] = "gleevec-400"
    founding_rows["Overrides"][0][1] = "inducer"
    assert flat(make_workbook(founding_rows)) == [
        (
            "unknown-reference",
            "Overrides",
            "A2",
            "Product ID",
            "gleevec-400",
            {
                "id": "gleevec-400",
                "header": "Product ID",
                "target": "Limits",
                "known": ["imatinib-100mg-tab", "imatinib-400mg-tab"],
                "more": 0,
            },
        ),
        (
            "unknown-reference",
            "Overrides",
            "B2",
            "Criterion ID",
            "inducer",
            {
                "id": "inducer",
                "header": "Criterion ID",
                "target": "Criteria",
                "known": ["strong-cyp3a4-inducer"],
                "more": 0,
            },
        ),
    ]


def test_test_claim_references_resolve(founding_rows, make_workbook):
    founding_rows["Tests"][0][1] = "imatinib-400mg-tabs"
    founding_rows["Tests"][1][5] = "strong-cyp3a4-inducer; pregnant"
    assert flat(make_workbook(founding_rows)) == [
        (
            "unknown-reference",
            "Tests",
            "B2",
            "Product ID",
            "imatinib-400mg-tabs",
            {
                "id": "imatinib-400mg-tabs",
                "header": "Product ID",
                "target": "Limits",
                "known": ["imatinib-100mg-tab", "imatinib-400mg-tab"],
                "more": 0,
                "close": "imatinib-400mg-tab",
            },
        ),
        (
            "unknown-reference",
            "Tests",
            "F3",
            "Attested Criteria",
            "strong-cyp3a4-inducer; pregnant",
            {
                "id": "pregnant",
                "header": "Criterion ID",
                "target": "Criteria",
                "known": ["strong-cyp3a4-inducer"],
                "more": 0,
            },
        ),
    ]


def test_drug_list_required_for_on_list_criteria_and_empty_for_attested(
    founding_rows, make_workbook
):
    founding_rows["Criteria"][0][3] = None
    founding_rows["Criteria"].append(
        ["dose-confirmed", "Reviewer confirmed the dose", "Attested", "strong-cyp3a4-inducers"]
    )
    assert flat(make_workbook(founding_rows)) == [
        (
            "drug-list-required",
            "Criteria",
            "D2",
            "Drug List ID",
            None,
            {
                "header": "Drug List ID",
                "met_when": "Concomitant drug on list",
                "known": ["strong-cyp3a4-inducers"],
                "more": 0,
            },
        ),
        (
            "drug-list-not-used",
            "Criteria",
            "D3",
            "Drug List ID",
            "strong-cyp3a4-inducers",
            {"met_when": "Concomitant drug on list"},
        ),
    ]


def test_criterion_naming_a_missing_drug_list(founding_rows, make_workbook):
    founding_rows["Criteria"][0][3] = "strong-cyp3a4-inducerz"
    assert flat(make_workbook(founding_rows)) == [
        (
            "unknown-reference",
            "Criteria",
            "D2",
            "Drug List ID",
            "strong-cyp3a4-inducerz",
            {
                "id": "strong-cyp3a4-inducerz",
                "header": "Drug List ID",
                "target": "Drug Lists",
                "known": ["strong-cyp3a4-inducers"],
                "more": 0,
                "close": "strong-cyp3a4-inducers",
            },
        )
    ]


def test_override_maximum_must_exceed_the_products_limit(founding_rows, make_workbook):
    founding_rows["Overrides"][0][2] = 60
    founding_rows["Overrides"][0][3] = 150
    assert flat(make_workbook(founding_rows)) == [
        (
            "override-not-above-limit",
            "Overrides",
            "C2",
            "Retail Max Qty",
            60,
            {
                "product": "imatinib-400mg-tab",
                "header": "Retail Max Qty",
                "limit": 60,
                "limit_row": 3,
            },
        ),
        (
            "override-not-above-limit",
            "Overrides",
            "D2",
            "Home Delivery Max Qty",
            150,
            {
                "product": "imatinib-400mg-tab",
                "header": "Home Delivery Max Qty",
                "limit": 180,
                "limit_row": 3,
            },
        ),
    ]


def test_one_override_per_product_and_criterion(founding_rows, make_workbook):
    founding_rows["Overrides"].append(list(founding_rows["Overrides"][0]))
    assert flat(make_workbook(founding_rows)) == [
        (
            "duplicate-override",
            "Overrides",
            "B3",
            "Criterion ID",
            "strong-cyp3a4-inducer",
            {"product": "imatinib-400mg-tab", "criterion": "strong-cyp3a4-inducer", "first_row": 2},
        )
    ]


def test_latest_history_review_date_must_equal_the_policys(founding_rows, make_workbook):
    founding_rows["Policies"][0][3] = dt.date(2026, 1, 5)
    assert flat(make_workbook(founding_rows)) == [
        (
            "review-date-differs",
            "Policies",
            "D2",
            "Review Date",
            dt.date(2026, 1, 5),
            {
                "policy": "imatinib-per-rx",
                "history_date": dt.date(2026, 12, 1),
                "review_date": dt.date(2026, 1, 5),
            },
        )
    ]


def test_policy_without_history(founding_rows, make_workbook):
    founding_rows["History"] = []
    assert flat(make_workbook(founding_rows)) == [
        (
            "policy-without-history",
            "Policies",
            "D2",
            "Review Date",
            dt.date(2026, 12, 1),
            {"policy": "imatinib-per-rx", "review_date": dt.date(2026, 12, 1)},
        )
    ]


def test_history_for_an_unknown_policy(founding_rows, make_workbook):
    founding_rows["History"][0][0] = "imatinib"
    assert flat(make_workbook(founding_rows)) == [
        (
            "unknown-reference",
            "History",
            "A2",
            "Policy ID",
            "imatinib",
            {
                "id": "imatinib",
                "header": "Policy ID",
                "target": "Policies",
                "known": ["imatinib-per-rx"],
                "more": 0,
                "close": "imatinib-per-rx",
            },
        )
    ]


def test_names_unique_within_a_drug_list_ignoring_case_and_punctuation(
    founding_rows, make_workbook
):
    founding_rows["Drug Lists"][1][2] = "rifampicin; Rifadin; DILANTIN"
    founding_rows["Drug Lists"].append(["strong-cyp3a4-inducers", "St Johns wort", None, None])
    inducers = "strong-cyp3a4-inducers"
    assert flat(make_workbook(founding_rows)) == [
        (
            "duplicate-name-in-list",
            "Drug Lists",
            "C6",
            "Also Known As",
            "Dilantin; Phenytek",
            {"name": "Dilantin", "list_id": inducers, "first_row": 3},
        ),
        (
            "duplicate-name-in-list",
            "Drug Lists",
            "B10",
            "Drug",
            "St Johns wort",
            {"name": "St Johns wort", "list_id": inducers, "first_row": 9},
        ),
    ]


def test_same_name_on_two_different_lists_is_fine(founding_rows, make_workbook):
    founding_rows["Drug Lists"].append(["other-list", "rifampin", None, None])
    assert flat(make_workbook(founding_rows)) == []


def test_ruleset_sheet_needs_exactly_one_row(founding_rows, make_workbook):
    founding_rows["Ruleset"].append(["second", "Another", None])
    assert flat(make_workbook(founding_rows)) == [
        ("ruleset-extra-row", "Ruleset", "A3", "Ruleset ID", "second", {"first_row": 2})
    ]
    founding_rows["Ruleset"] = []
    assert flat(make_workbook(founding_rows, "empty-ruleset.xlsx")) == [
        ("ruleset-row-missing", "Ruleset", "A2", "Ruleset ID", None, {"example": "oncology-dqm"})
    ]


def test_home_delivery_below_retail_is_a_warning_not_an_error(founding_rows, make_workbook):
    founding_rows["Limits"][1][5] = 30
    path = make_workbook(founding_rows)
    assert flat(path) == []
    assert flat(path, "warning") == [
        (
            "home-delivery-below-retail",
            "Limits",
            "F3",
            "Home Delivery Max Qty",
            30,
            {"home_delivery": 30, "retail": 60, "product": "imatinib-400mg-tab"},
        )
    ]


def test_missing_sheet_has_no_cell(founding_rows, make_workbook):
    path = make_workbook(founding_rows)
    wb = openpyxl.load_workbook(path)
    del wb["Overrides"]
    wb.save(path)
    assert flat(path) == [
        (
            "missing-sheet",
            "Overrides",
            None,
            None,
            None,
            {
                "sheet": "Overrides",
                "headers": [
                    "Product ID",
                    "Criterion ID",
                    "Retail Max Qty",
                    "Home Delivery Max Qty",
                    "Approval Duration (months)",
                    "Criteria Text",
                    "Retail Days",
                    "Home Delivery Days",
                ],
            },
        )
    ]


def _edit(path, sheet, cell, value):
    wb = openpyxl.load_workbook(path)
    wb[sheet][cell] = value
    wb.save(path)
    return path


def test_missing_column_points_at_the_header_cell(founding_rows, make_workbook):
    path = _edit(make_workbook(founding_rows), "Limits", "G1", None)
    assert flat(path) == [("missing-column", "Limits", "L1", "Unit", None, {"header": "Unit"})]


def test_renamed_header_is_pointed_at_with_the_right_name(founding_rows, make_workbook):
    path = _edit(make_workbook(founding_rows), "Limits", "E1", "Retail Max Qtty")
    assert flat(path) == [
        (
            "misnamed-header",
            "Limits",
            "E1",
            "Retail Max Qty",
            "Retail Max Qtty",
            {"text": "Retail Max Qtty", "header": "Retail Max Qty"},
        )
    ]


def test_headers_match_ignoring_case_and_spaces_and_unknown_columns_warn(
    founding_rows, make_workbook
):
    path = _edit(make_workbook(founding_rows), "Limits", "E1", "  retail max QTY  per rx ")
    path = _edit(path, "Limits", "L1", "Reviewer")
    assert flat(path) == []
    assert flat(path, "warning") == [
        (
            "unknown-column",
            "Limits",
            "L1",
            None,
            "Reviewer",
            {
                "text": "Reviewer",
                "sheet": "Limits",
                "headers": [  # as this sheet spells them: the per-Rx spelling is the same column
                    "Policy ID",
                    "Product ID",
                    "Product",
                    "Strength and Form",
                    "Retail Max Qty per Rx",
                    "Home Delivery Max Qty",
                    "Unit",
                    "Footnote",
                    "Retail Days",
                    "Home Delivery Days",
                    "Status",
                ],
            },
        )
    ]


def test_blank_rows_are_ignored_and_rows_keep_their_excel_numbers(founding_rows, make_workbook):
    founding_rows["Limits"].insert(1, [None] * 8)
    founding_rows["Limits"][2][4] = "sixty"
    v = validate_file(make_workbook(founding_rows))
    assert list(v.frames["Limits"].index) == [2, 4]
    assert [(f.code, f.cell, f.value) for f in v.findings] == [("not-a-number", "E4", "sixty")]


def test_hidden_sheet_is_read_with_a_warning(founding_rows, make_workbook):
    path = make_workbook(founding_rows)
    wb = openpyxl.load_workbook(path)
    wb["Drug Lists"].sheet_state = "hidden"
    wb.save(path)
    assert flat(path) == []
    assert flat(path, "warning") == [
        ("hidden-sheet", "Drug Lists", None, None, None, {"title": "Drug Lists"})
    ]


def test_merged_cells_are_an_error(founding_rows, make_workbook):
    path = make_workbook(founding_rows)
    wb = openpyxl.load_workbook(path)
    wb["Limits"].merge_cells("A2:A3")
    wb.save(path)
    assert flat(path) == [
        ("merged-cells", "Limits", "A2", None, None, {"top": "A2", "bottom": "A3"}),
        (
            "required",
            "Limits",
            "A3",
            "Policy ID",
            None,
            {"header": "Policy ID", "example": "imatinib-per-rx"},
        ),
    ]


def test_formula_without_a_saved_value_is_a_finding(founding_rows, make_workbook):
    founding_rows["Limits"][1][5] = "=3*E3"  # openpyxl saves formulas without values
    assert flat(make_workbook(founding_rows)) == [
        (
            "formula-without-value",
            "Limits",
            "F3",
            "Home Delivery Max Qty",
            "=3*E3",
            {"formula": "=3*E3"},
        )
    ]


def test_id_typed_as_a_number_is_read_as_text(founding_rows, make_workbook):
    founding_rows["Tests"][0][0] = 1001
    v = validate_file(make_workbook(founding_rows))
    assert v.findings == []
    assert v.frames["Tests"].loc[2, "Test ID"] == "1001"
