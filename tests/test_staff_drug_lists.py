"""Drug lists as staff type them: a list no criterion uses (a typo of a list's id makes a second
list), and a Drug cell holding brackets or a second name. Both are warnings, at their cells."""

from __future__ import annotations

from compiler.workbook.validate import validate_file


def warned(path) -> list[tuple]:
    return [
        (f.code, f.sheet, f.cell, f.severity, f.message)
        for f in validate_file(path).findings
        if f.code in ("unused-drug-list", "second-name-in-drug")
    ]


def test_a_typo_in_a_drug_list_id_makes_a_list_no_criterion_uses(founding_rows, make_workbook):
    founding_rows["Drug Lists"].append(["strong-cyp3a4-inducer", "apalutamide", "Erleada", None])
    assert warned(make_workbook(founding_rows)) == [
        (
            "unused-drug-list",
            "Drug Lists",
            "A10",
            "warning",
            "No criterion uses drug list 'strong-cyp3a4-inducer' (row 10), so no claim is ever "
            "matched against it. Did you mean 'strong-cyp3a4-inducers'? Type that list's id "
            "exactly on this row, or delete this row.",
        )
    ]


def test_a_list_no_criterion_names_is_one_warning_at_its_first_row(founding_rows, make_workbook):
    founding_rows["Drug Lists"] += [
        ["moderate-cyp3a4-inducers", "efavirenz", "Sustiva", None],
        ["moderate-cyp3a4-inducers", "modafinil", "Provigil", None],
    ]
    assert warned(make_workbook(founding_rows)) == [
        (
            "unused-drug-list",
            "Drug Lists",
            "A10",
            "warning",
            "No criterion uses drug list 'moderate-cyp3a4-inducers' (rows 10, 11), so no claim is "
            "ever matched against it. Type this id in a criterion's Drug List ID on the Criteria "
            "sheet, or delete these rows.",
        )
    ]


def test_a_drug_cell_with_a_second_name_says_to_put_it_in_also_known_as(
    founding_rows, make_workbook
):
    founding_rows["Drug Lists"] += [
        ["strong-cyp3a4-inducers", "enzalutamide (Xtandi)", None, None],
        ["strong-cyp3a4-inducers", "apalutamide / Erleada", "ARN-509", None],
        ["strong-cyp3a4-inducers", "mitotane; Lysodren", "Lysodren", None],
        # A combination, all lowercase, is one name.
        ["strong-cyp3a4-inducers", "rifampin/isoniazid", None, None],
    ]
    assert warned(make_workbook(founding_rows)) == [
        (
            "second-name-in-drug",
            "Drug Lists",
            "B10",
            "warning",
            "'enzalutamide (Xtandi)' holds a second name, so as typed it matches only a claim "
            "drug written with both. Type 'enzalutamide' here, and the other name in Also Known "
            "As: 'Xtandi'.",
        ),
        (
            "second-name-in-drug",
            "Drug Lists",
            "B11",
            "warning",
            "'apalutamide / Erleada' holds a second name, so as typed it matches only a claim "
            "drug written with both. Type 'apalutamide' here, and the other name in Also Known "
            "As: 'ARN-509; Erleada'.",
        ),
        (
            "second-name-in-drug",
            "Drug Lists",
            "B12",
            "warning",
            "'mitotane; Lysodren' holds a second name, so as typed it matches only a claim drug "
            "written with both. Type 'mitotane' here: 'Lysodren' is already in Also Known As.",
        ),
    ]


def test_the_founding_workbook_has_neither(founding_rows, make_workbook):
    assert warned(make_workbook(founding_rows)) == []
