"""Per Days policies in the workbook: the Policy Type, the windows on Limits and Overrides, the
findings when a window is missing, misplaced or out of range, and the maxima's two spellings."""

from __future__ import annotations

import openpyxl
import pytest

from compiler.workbook.findings import as_text
from compiler.workbook.validate import Validated, validate_file
from tests.fixtures import founding, per_days
from tests.fixtures.paths import WORKBOOK


def validated(path_or_result) -> Validated:
    """A workbook's validation: its path's, validated here, or one a test validated already (a
    test that checks both the findings and their messages reads and validates the file once)."""
    if isinstance(path_or_result, Validated):
        return path_or_result
    return validate_file(path_or_result)


def flat(path_or_result, severity="error"):
    return [
        (f.code, f.sheet, f.cell, f.column, f.value, dict(f.params))
        for f in validated(path_or_result).findings
        if f.severity == severity
    ]


def messages(path_or_result) -> list[str]:
    return [f.message for f in validated(path_or_result).findings]


def test_a_per_days_policy_with_its_windows_validates_clean(make_workbook):
    v = validate_file(make_workbook(per_days.rows()))
    assert v.findings == []
    limits = v.frames["Limits"]
    assert limits.loc[4, ["Retail Days", "Home Delivery Days"]].tolist() == [30.0, 90.0]
    assert limits.loc[3, ["Retail Days", "Home Delivery Days"]].isna().all()  # Per Rx


def test_days_missing_on_a_per_days_row_say_what_to_type(make_workbook):
    rows = per_days.rows()
    rows["Limits"][2][8] = None  # I4, Retail Days
    rows["Overrides"][1][7] = None  # H3, Home Delivery Days
    result = validate_file(make_workbook(rows))
    assert flat(result) == [
        (
            "days-required",
            "Limits",
            "I4",
            "Retail Days",
            None,
            {
                "header": "Retail Days",
                "product": "sumatriptan-100mg-tab",
                "policy": "sumatriptan-per-days",
                "example": None,
            },
        ),
        (
            "days-required",
            "Overrides",
            "H3",
            "Home Delivery Days",
            None,
            {
                "header": "Home Delivery Days",
                "product": "sumatriptan-100mg-tab",
                "policy": "sumatriptan-per-days",
                "example": 90,
            },
        ),
    ]
    assert messages(result) == [
        "'sumatriptan-100mg-tab' is limited Per Days (policy 'sumatriptan-per-days'), so 'Retail "
        "Days' is required. Type the number of days its maximum covers: for 60 tablets per 30 "
        "days, type 30 here and 60 as the maximum.",
        "'sumatriptan-100mg-tab' is limited Per Days (policy 'sumatriptan-per-days'), so 'Home "
        "Delivery Days' is required. Type 90, the product's Home Delivery Days on Limits (an "
        "override counts over its product's window).",
    ]


def test_days_on_a_per_rx_row_are_a_finding_where_no_policy_is_per_days(make_workbook):
    # The rule walks no rows when no policy is Per Days and no days are given: days given are
    # still seen.
    rows = founding.rows()
    rows["Limits"][1] += [30, None]  # I3
    rows["Overrides"][0] += [None, 90]  # H2
    found = [(code, sheet, cell) for code, sheet, cell, *_ in flat(make_workbook(rows))]
    assert found == [("days-on-per-rx", "Limits", "I3"), ("days-on-per-rx", "Overrides", "H2")]


def test_days_on_a_per_rx_row_are_a_finding_on_limits_and_overrides(make_workbook):
    rows = per_days.rows()
    rows["Limits"][1] += [None, None]
    rows["Limits"][1][8] = 30  # I3: imatinib 400 mg is Per Rx
    rows["Overrides"][0] += [None, None]
    rows["Overrides"][0][7] = 90  # H2: its override
    result = validate_file(make_workbook(rows))
    found = flat(result)
    assert found == [
        (
            "days-on-per-rx",
            "Limits",
            "I3",
            "Retail Days",
            30,
            {"header": "Retail Days", "product": "imatinib-400mg-tab", "policy": "imatinib-per-rx"},
        ),
        (
            "days-on-per-rx",
            "Overrides",
            "H2",
            "Home Delivery Days",
            90,
            {
                "header": "Home Delivery Days",
                "product": "imatinib-400mg-tab",
                "policy": "imatinib-per-rx",
            },
        ),
    ]
    assert messages(result)[0] == (
        "'imatinib-400mg-tab' is limited Per Rx (policy 'imatinib-per-rx': a limit per "
        "prescription), so 'Retail Days' stays empty. Clear this cell; or, if the limit is over a "
        "window of days, set the policy's Policy Type to 'Per Days' on the Policies sheet."
    )


@pytest.mark.parametrize("days", [0, 366, 30.5, -30])
def test_days_are_a_whole_number_from_1_to_365(make_workbook, days):
    rows = per_days.rows()
    rows["Limits"][2][9] = days  # J4
    result = validate_file(make_workbook(rows))
    assert flat(result) == [
        (
            "days-out-of-range",
            "Limits",
            "J4",
            "Home Delivery Days",
            days,
            {"header": "Home Delivery Days", "example": "90", "most": 365},
        )
    ]
    assert messages(result) == [
        "'Home Delivery Days' must be a whole number of days from 1 to 365. Type the days the "
        "maximum covers, such as 90 (for 60 tablets per 30 days, 30)."
    ]


def test_days_out_of_range_on_a_per_rx_row_are_one_finding(make_workbook):
    rows = per_days.rows()
    rows["Limits"][1] += [400, None]  # I3, Per Rx: the range is reported, once
    assert [(c, cell) for c, _, cell, *_ in flat(make_workbook(rows))] == [
        ("days-out-of-range", "I3")
    ]


def test_days_typed_as_a_word_are_not_a_number_once(make_workbook):
    rows = per_days.rows()
    rows["Limits"][2][8] = "thirty"
    assert [(c, cell, value) for c, _, cell, _, value, _ in flat(make_workbook(rows))] == [
        ("not-a-number", "I4", "thirty")
    ]


def test_an_overrides_window_must_be_its_products(make_workbook):
    rows = per_days.rows()
    rows["Overrides"][1][6] = 28  # G3: the product's Retail Days is 30
    result = validate_file(make_workbook(rows))
    assert flat(result) == [
        (
            "override-window-differs",
            "Overrides",
            "G3",
            "Retail Days",
            28,
            {
                "product": "sumatriptan-100mg-tab",
                "header": "Retail Days",
                "days": 30,
                "limit_row": 4,
            },
        )
    ]
    assert messages(result) == [
        "An override counts over its product's window, and 'sumatriptan-100mg-tab' has Retail "
        "Days 30 (Limits row 4). Type 30."
    ]


def test_a_per_days_policy_without_the_days_columns_is_told_at_each_row(make_workbook, tmp_path):
    path = make_workbook(per_days.rows())
    wb = openpyxl.load_workbook(path)
    wb["Limits"].delete_cols(9, 3)  # a workbook from before Per Days policies (and Status)
    wb.save(path)
    found = flat(path)
    assert [(c, s, cell, col) for c, s, cell, col, *_ in found] == [
        ("days-required", "Limits", "I4", "Retail Days"),
        ("days-required", "Limits", "I4", "Home Delivery Days"),
    ]


def test_the_per_rx_spelling_of_the_maxima_is_the_same_column_and_named_as_typed(make_workbook):
    rows = per_days.rows()
    rows["Limits"][1][4] = "sixty"
    path = make_workbook(rows)
    wb = openpyxl.load_workbook(path)
    wb["Limits"]["E1"] = "Retail Max Qty per Rx"
    wb["Overrides"]["D1"] = "home delivery MAX QTY per rx"
    wb.save(path)
    v = validate_file(path)
    assert [(f.code, f.cell, f.column, dict(f.params)) for f in v.findings] == [
        (
            "not-a-number",
            "E3",
            "Retail Max Qty per Rx",
            {"header": "Retail Max Qty per Rx", "example": "60"},
        )
    ]
    assert v.frames["Overrides"]["Home Delivery Max Qty"].tolist() == [270.0, 54.0]


def test_the_founding_workbook_reads_unchanged_and_names_its_columns_as_it_spells_them(tmp_path):
    assert validate_file(WORKBOOK).findings == []
    wb = openpyxl.load_workbook(WORKBOOK)
    assert [c.value for c in wb["Limits"][1]][4:6] == [
        "Retail Max Qty per Rx",
        "Home Delivery Max Qty per Rx",
    ]
    wb["Limits"]["E3"] = "sixty"
    wb.save(tmp_path / "sixty.xlsx")
    assert as_text(validate_file(tmp_path / "sixty.xlsx").findings) == (
        "ERROR Limits!E3 (found: 'sixty'): 'Retail Max Qty per Rx' must be a number. Type a "
        "number such as 60, in digits."
    )


def test_both_spellings_in_one_sheet_are_a_duplicate_header(make_workbook):
    path = make_workbook(per_days.rows())
    wb = openpyxl.load_workbook(path)
    wb["Limits"]["K1"] = "Retail Max Qty per Rx"
    wb.save(path)
    assert [(c, cell, col, p) for c, _, cell, col, _, p in flat(path)] == [
        (
            "duplicate-header",
            "K1",
            "Retail Max Qty",
            {"header": "Retail Max Qty", "other_column": "E"},
        )
    ]


def test_policy_type_per_days_is_offered_and_a_near_miss_is_not_one_of(make_workbook):
    rows = per_days.rows()
    rows["Policies"][1][2] = "per days"  # case and spaces are harmless
    assert flat(make_workbook(rows)) == []
    rows["Policies"][1][2] = "Per Day"
    assert flat(make_workbook(rows)) == [
        (
            "not-one-of",
            "Policies",
            "C3",
            "Policy Type",
            "Per Day",
            {"header": "Policy Type", "example": "Per Rx", "allowed": ["Per Rx", "Per Days"]},
        )
    ]


def test_the_template_offers_the_windows_with_help_and_whole_day_validation(tmp_path, dqm):
    out = tmp_path / "new.xlsx"
    assert dqm("template", out).code == 0
    wb = openpyxl.load_workbook(out)
    assert [c.value for c in wb["Limits"][1]] == [
        "Policy ID",
        "Product ID",
        "Product",
        "Strength and Form",
        "Retail Max Qty",
        "Home Delivery Max Qty",
        "Unit",
        "Footnote",
        "Retail Days",
        "Home Delivery Days",
        "Status",
    ]
    assert [c.value for c in wb["Overrides"][1]][-2:] == ["Retail Days", "Home Delivery Days"]
    assert [c.value for c in wb["Tests"][1]][-4:] == [
        "Member ID",
        "Date of Service",
        "NDC",
        "RxCUI",
    ]
    for sheet, letters in (("Limits", "IJ"), ("Overrides", "GH")):
        dvs = wb[sheet].data_validations.dataValidation
        whole = {str(dv.sqref): (dv.operator, dv.formula1, dv.formula2) for dv in dvs if dv.type}
        for letter in letters:
            assert whole[f"{letter}2:{letter}1000"] == ("between", "1", "365")
    prompts = {str(dv.sqref): dv.prompt for dv in wb["Limits"].data_validations.dataValidation}
    assert prompts["I1"] == (
        "Per Days policies only: the days the retail maximum covers (60 tablets per 30 days: 30), "
        "a whole number from 1 to 365. Empty on a Per Rx policy. Example: 30"
    )
    policy_types = [
        dv.formula1 for dv in wb["Policies"].data_validations.dataValidation if dv.type == "list"
    ]
    assert '"Per Rx,Per Days"' in policy_types
    assert wb["Tests"].column_dimensions["L"].number_format == "@"  # an NDC keeps its zeros
