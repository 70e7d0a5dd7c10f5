"""The staff template (`dqm template OUT.xlsx`) and the bundled workbook, written by the same code:
every sheet and header, help on each header from schemas.py, dropdowns, frozen headers, widths,
an Instructions sheet."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from compiler.workbook import schemas
from compiler.workbook.findings import errors
from compiler.workbook.validate import validate_file
from tests.fixtures.paths import WORKBOOK

DROPDOWNS = {
    ("Policies", "C"): '"Per Rx,Per Days"',
    ("Product Codes", "B"): '"NDC,RxCUI"',
    ("Product Codes", "A"): "'Limits'!$B$2:$B$1000",
    ("Policies", "G"): '"Active,Retired"',
    ("Limits", "K"): '"Active,Retired"',
    ("Criteria", "C"): '"Concomitant drug on list,Attested"',
    ("Tests", "C"): '"Retail,Home Delivery"',
    ("Tests", "G"): '"Approve,Override,Deny"',
    ("Limits", "A"): "'Policies'!$A$2:$A$1000",
    ("History", "A"): "'Policies'!$A$2:$A$1000",
    ("Criteria", "D"): "'Drug Lists'!$A$2:$A$1000",
    ("Overrides", "A"): "'Limits'!$B$2:$B$1000",
    ("Overrides", "B"): "'Criteria'!$A$2:$A$1000",
    ("Tests", "B"): "'Limits'!$B$2:$B$1000",
}


@pytest.fixture
def template(tmp_path, dqm) -> Path:
    out = tmp_path / "new-ruleset.xlsx"
    assert dqm("template", out) == (0, f"{out}\n", "")
    return out


def validations(ws) -> dict[str, object]:
    """First cell of each validated range -> its validation."""
    return {str(dv.sqref).split(":")[0].split()[0]: dv for dv in ws.data_validations.dataValidation}


def test_template_has_instructions_then_every_contract_sheet_with_its_headers(template):
    wb = openpyxl.load_workbook(template)
    assert wb.sheetnames == ["Instructions", *schemas.SHEETS]
    for name in schemas.SHEETS:
        assert [c.value for c in wb[name][1]] == list(schemas.columns(name)), name
        assert wb[name].max_row == 1, name


def test_every_header_has_an_input_message_from_the_schema(template):
    wb = openpyxl.load_workbook(template)
    for name in schemas.SHEETS:
        dvs = validations(wb[name])
        for i, (header, col) in enumerate(schemas.columns(name).items(), start=1):
            letter = openpyxl.utils.get_column_letter(i)
            dv = dvs[f"{letter}1"]
            assert dv.showInputMessage and dv.promptTitle == header
            assert dv.prompt.startswith(col.description), (name, header)
    limits = validations(wb["Limits"])
    assert (
        limits["E1"].prompt
        == "Most units one retail prescription may dispense (Per Days: in any Retail Days days). "
        "Required. Example: 60"
    )
    assert limits["H1"].prompt == "Optional: why the limit is what it is."


@pytest.mark.parametrize(("sheet", "letter"), sorted(DROPDOWNS))
def test_dropdown_lists_the_allowed_values_or_the_ids_of_their_own_sheet(template, sheet, letter):
    dv = validations(openpyxl.load_workbook(template)[sheet])[f"{letter}2"]
    assert (dv.type, dv.formula1, str(dv.sqref)) == (
        "list",
        DROPDOWNS[(sheet, letter)],
        f"{letter}2:{letter}1000",
    )
    assert dv.errorStyle == ("stop" if DROPDOWNS[(sheet, letter)].startswith('"') else "warning")


def test_only_those_columns_have_dropdowns(template):
    wb = openpyxl.load_workbook(template)
    found = {
        (ws.title, str(dv.sqref)[0])
        for ws in wb.worksheets
        for dv in ws.data_validations.dataValidation
        if dv.type == "list"
    }
    assert found == set(DROPDOWNS)


def test_headers_frozen_and_columns_wide_enough_to_read(template):
    wb = openpyxl.load_workbook(template)
    for name in schemas.SHEETS:
        ws = wb[name]
        assert ws.freeze_panes == "A2"
        for i, header in enumerate(schemas.columns(name), start=1):
            width = ws.column_dimensions[openpyxl.utils.get_column_letter(i)].width
            assert min(len(header), 58) + 2 <= width <= 60, (name, header, width)


def test_instructions_sheet_explains_every_column_from_the_schema(template):
    ws = openpyxl.load_workbook(template)["Instructions"]
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    table = rows[[r[0] for r in rows].index("Sheet") :]
    assert table[0] == ["Sheet", "Column", "Required", "What to type", "Example"]
    current, listed = None, {}
    for r in table[1:]:
        if r[0]:
            current = r[0]
        else:
            listed[(current, r[1])] = r
    assert {s for s, _ in listed} == set(schemas.SHEETS)
    assert listed[("Limits", "Retail Max Qty")] == [
        None,
        "Retail Max Qty",
        "yes",
        "Most units one retail prescription may dispense (Per Days: in any Retail Days days).",
        "60",
    ]
    assert (
        listed[("Tests", "Channel")][3] == "Retail or Home Delivery. One of: Retail, Home Delivery."
    )
    assert len(listed) == sum(len(schemas.columns(s)) for s in schemas.SHEETS)


def test_blank_template_validates_to_one_finding_the_missing_ruleset_row(template):
    assert [(f.code, f.sheet, f.cell) for f in errors(validate_file(template).findings)] == [
        ("ruleset-row-missing", "Ruleset", "A2")
    ]


def test_template_never_overwrites_a_file(template, dqm):
    before = template.read_bytes()
    assert dqm("template", template) == (
        2,
        "",
        f"dqm: {template} already exists; dqm template never overwrites a file. Give a new name.\n",
    )
    assert template.read_bytes() == before


def test_bundled_workbook_carries_the_same_dropdowns_and_help(template):
    # The bundled workbook was written before Per Days policies, and is never rewritten: the
    # template has since gained columns (and words in its help and its Policy Type list), but
    # every help and dropdown of the bundled workbook is at the cell the template puts it.
    blank, bundled = openpyxl.load_workbook(template), openpyxl.load_workbook(WORKBOOK)
    assert bundled.sheetnames == blank.sheetnames
    for name in schemas.SHEETS:

        def described(ws):
            return {
                (str(dv.sqref).split(":")[0], dv.type) for dv in ws.data_validations.dataValidation
            }

        assert described(bundled[name]) <= described(blank[name]), name
        assert bundled[name].freeze_panes == "A2"
