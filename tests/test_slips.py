"""Workbook slips that used to validate clean and silently change decisions (workbook/slips.py),
and the findings that were reported many times, or with a wrong suggestion, for one mistake
(workbook/rules.py): each now one exact finding at its cell."""

from __future__ import annotations

import pytest

from compiler import names
from compiler.decide.engine import Engine
from compiler.ruleset.build import build
from compiler.workbook.validate import validate_file


def flat(path, severity="error"):
    return [
        (f.code, f.sheet, f.cell, f.column, f.value, dict(f.params))
        for f in validate_file(path).findings
        if f.severity == severity
    ]


def rifabutin(rows) -> list:
    (row,) = [r for r in rows["Drug Lists"] if r[1] == "rifabutin"]
    return row


def test_comma_in_also_known_as_is_an_error_at_its_cell(founding_rows, make_workbook):
    rifabutin(founding_rows)[2] = "Mycobutin, Ansatipine"
    path = make_workbook(founding_rows)
    assert flat(path) == [
        (
            "comma-in-aliases",
            "Drug Lists",
            "C7",
            "Also Known As",
            "Mycobutin, Ansatipine",
            {"value": "Mycobutin, Ansatipine", "fixed": "Mycobutin; Ansatipine"},
        )
    ]
    # What it would have done: the two names became one that no claim spells, so a Mycobutin
    # claim over the limit lost its override.
    engine = Engine(build(validate_file(path)))
    claim = {"product_id": "imatinib-400mg-tab", "channel": "retail", "quantity": 90}
    assert engine.explain({**claim, "concomitant_drugs": "Mycobutin 150 mg capsule"})[0][
        "decision"
    ] == ("deny")


def test_generic_word_as_an_alias_or_a_drug_is_an_error_at_its_cell(founding_rows, make_workbook):
    founding_rows["Drug Lists"][1][2] = "rifampicin; Rifadin; Rimactane; tablet"
    founding_rows["Drug Lists"][2][1] = "100 mg"
    assert flat(make_workbook(founding_rows)) == [
        (
            "name-too-generic",
            "Drug Lists",
            "C3",
            "Also Known As",
            "rifampicin; Rifadin; Rimactane; tablet",
            {"name": "tablet"},
        ),
        ("name-too-generic", "Drug Lists", "B4", "Drug", "100 mg", {"name": "100 mg"}),
    ]


@pytest.mark.parametrize(
    ("name", "generic"),
    [
        ("tablet", True),
        ("Oral Solution", True),
        ("100 MG", True),
        ("XR", True),
        ("Tegretol XR", False),
        ("Mycobutin", False),
        ("St. John's Wort", False),
        ("®", False),  # no words at all: it matches nothing
    ],
)
def test_generic_names_are_dosage_forms_units_and_numbers_only(name, generic):
    assert names.is_generic(name) is generic


def test_fractional_limit_of_tablets_is_a_warning_at_its_cell(founding_rows, make_workbook):
    founding_rows["Limits"][1][4] = 75.5
    founding_rows["Overrides"][0][3] = 270.25
    path = make_workbook(founding_rows)
    assert flat(path) == []
    assert flat(path, "warning") == [
        (
            "fractional-count",
            "Limits",
            "E3",
            "Retail Max Qty",
            75.5,
            {
                "product": "imatinib-400mg-tab",
                "unit": "tablets",
                "header": "Retail Max Qty",
                "value": 75.5,
                "whole": 75,
            },
        ),
        (
            "fractional-count",
            "Overrides",
            "D2",
            "Home Delivery Max Qty",
            270.25,
            {
                "product": "imatinib-400mg-tab",
                "unit": "tablets",
                "header": "Home Delivery Max Qty",
                "value": 270.25,
                "whole": 270,
            },
        ),
    ]


def test_fraction_of_a_unit_that_is_measured_is_fine(founding_rows, make_workbook):
    founding_rows["Limits"][1][4] = 75.5
    founding_rows["Limits"][1][6] = "mL"
    assert flat(make_workbook(founding_rows), "warning") == []


def test_limits_row_holding_only_a_footnote_is_one_finding(founding_rows, make_workbook, dqm):
    founding_rows["Limits"].append([None] * 7 + ["^c 60 tablets is a 30-day supply."])
    path = make_workbook(founding_rows)
    required = [
        "Policy ID",
        "Product ID",
        "Product",
        "Strength and Form",
        "Retail Max Qty",
        "Home Delivery Max Qty",
        "Unit",
    ]
    assert flat(path) == [
        (
            "only-optional-cells",
            "Limits",
            "H4",
            "Footnote",
            "^c 60 tablets is a 30-day supply.",
            {"sheet": "Limits", "filled": ["Footnote"], "required": required},
        )
    ]
    code, out, _ = dqm("validate", path)
    assert (code, out.splitlines()[0]) == (
        1,
        "ERROR Limits!H4 (found: '^c 60 tablets is a 30-day supply.'): This row has only "
        "'Footnote' filled in; a row on Limits also needs 'Policy ID', 'Product ID', 'Product', "
        "'Strength and Form', 'Retail Max Qty', 'Home Delivery Max Qty' and 'Unit'. "
        "If it belongs to the row above, move it into that row's Footnote cell; otherwise fill in "
        "the rest, or delete this row.",
    )


def test_uppercase_product_id_is_one_finding_not_one_per_row_naming_it(
    founding_rows, make_workbook
):
    founding_rows["Limits"][1][1] = "IMATINIB-400MG-TAB"
    (finding,) = validate_file(make_workbook(founding_rows)).findings
    assert (finding.code, finding.sheet, finding.cell, finding.value) == (
        "not-an-id",
        "Limits",
        "B3",
        "IMATINIB-400MG-TAB",
    )


def test_another_drug_s_policy_is_not_suggested(founding_rows, make_workbook, dqm):
    founding_rows["Limits"][1][0] = "dasatinib-per-rx"
    path = make_workbook(founding_rows)
    assert flat(path) == [
        (
            "unknown-reference",
            "Limits",
            "A3",
            "Policy ID",
            "dasatinib-per-rx",
            {
                "id": "dasatinib-per-rx",
                "header": "Policy ID",
                "target": "Policies",
                "known": ["imatinib-per-rx"],
                "more": 0,
            },
        )
    ]
    code, out, _ = dqm("validate", path)
    assert out.splitlines()[0] == (
        "ERROR Limits!A3 (found: 'dasatinib-per-rx'): 'dasatinib-per-rx' is not a Policy ID on "
        "the Policies sheet. Type one of: 'imatinib-per-rx', or add it there first."
    )


@pytest.mark.parametrize(
    ("typed", "known", "suggested"),
    [
        ("imatinib-400mg-tabs", ["imatinib-100mg-tab", "imatinib-400mg-tab"], "imatinib-400mg-tab"),
        ("Imatinib-400MG-tab", ["imatinib-100mg-tab", "imatinib-400mg-tab"], "imatinib-400mg-tab"),
        ("imatinib-500mg-tab", ["imatinib-100mg-tab", "imatinib-400mg-tab"], None),  # a tie
        ("dasatinib-per-rx", ["imatinib-per-rx"], None),  # three edits: another drug
        ("dose-escalaton-documented", ["dose-escalation-documented"], "dose-escalation-documented"),
        ("imatinib", ["imatinib-per-rx"], "imatinib-per-rx"),  # the one id it begins
        ("imatinib", ["imatinib-100mg-tab", "imatinib-400mg-tab"], None),
        ("rx-a1", ["rx-b2"], None),  # two edits in a short id
    ],
)
def test_did_you_mean_only_when_the_id_is_a_slip_away(typed, known, suggested):
    assert names.closest(typed, known) == suggested
