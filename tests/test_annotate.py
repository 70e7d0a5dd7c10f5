"""`dqm validate WORKBOOK --annotate OUT.xlsx`: a copy with each bad cell filled and commented, a
Findings sheet listing them all, and the source workbook never written."""

from __future__ import annotations

import hashlib
import io
import json

import openpyxl
import pytest

from compiler.workbook.annotate import (
    ERROR_FILL,
    WARNING_FILL,
    AnnotateError,
    annotate_file,
    annotate_workbook,
)
from compiler.workbook.catalogue import render
from compiler.workbook.validate import validate_file
from tests.fixtures import founding
from tests.fixtures import hostile as corpus

NOT_A_NUMBER = "'Retail Max Qty' must be a number. Type a number such as 60, in digits."


def findings_rows(wb) -> list[list]:
    return [[c.value for c in row] for row in wb["Findings"].iter_rows(min_row=2)]


def test_bad_cell_is_filled_and_carries_its_message_as_a_comment(tmp_path, dqm, hostile_copy):
    source = hostile_copy("number_as_word")
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    out = tmp_path / "annotated.xlsx"
    assert dqm("validate", source, "--annotate", out).code == 1
    wb = openpyxl.load_workbook(out)
    cell = wb["Limits"]["E3"]
    assert cell.value == "sixty"
    assert cell.fill.fgColor.rgb == "00" + ERROR_FILL.fgColor.rgb[-6:]
    assert cell.comment.text == f"ERROR: {NOT_A_NUMBER}"
    assert cell.comment.author == "dqm validate"
    assert wb["Limits"]["E2"].comment is None
    assert hashlib.sha256(source.read_bytes()).hexdigest() == digest  # the source is untouched


def test_findings_sheet_lists_every_finding_first_with_links_to_the_cells(tmp_path):
    def two_problems(wb):
        wb["Limits"]["E3"].value = "sixty"
        wb["Criteria"]["E1"].value = "Reviewer"  # an unknown column: a warning

    source = corpus.edit_cells(tmp_path, two_problems)
    out = tmp_path / "annotated.xlsx"
    annotate_file(source, out, validate_file(source).findings)
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[0] == "Findings"
    assert [c.value for c in wb["Findings"][1]] == [
        "Severity",
        "Sheet",
        "Cell",
        "Column",
        "Found",
        "What to do",
        "Code",
    ]
    unknown = render(
        "unknown-column",
        {
            "text": "Reviewer",
            "sheet": "Criteria",
            "headers": ["Criterion ID", "Description", "Met When", "Drug List ID"],
        },
    )
    assert findings_rows(wb) == [
        ["error", "Limits", "E3", "Retail Max Qty", "sixty", NOT_A_NUMBER, "not-a-number"],
        ["warning", "Criteria", "E1", None, "Reviewer", unknown, "unknown-column"],
    ]
    assert wb["Findings"]["C2"].hyperlink.location == "'Limits'!E3"
    assert wb["Criteria"]["E1"].fill.fgColor.rgb == "00" + WARNING_FILL.fgColor.rgb[-6:]


def test_several_findings_on_one_merged_range_share_its_top_left_comment(hostile_copy):
    source = hostile_copy("merged_cells")
    wb = openpyxl.load_workbook(
        io.BytesIO(
            annotate_workbook(source.read_bytes(), validate_file(source).findings, source.name)
        )
    )
    merged = render("merged-cells", {"top": "A2", "bottom": "A3"})
    required = render("required", {"header": "Policy ID", "example": "imatinib-per-rx"})
    assert wb["Limits"]["A2"].comment.text == f"ERROR: {merged}\n\nERROR: {required}"
    assert [(r[2], r[6]) for r in findings_rows(wb)] == [("A2", "merged-cells"), ("A3", "required")]


def test_clean_workbook_gets_a_findings_sheet_saying_so(tmp_path, dqm):
    source = corpus.founding(tmp_path)
    out = tmp_path / "annotated.xlsx"
    assert dqm("validate", source, "--annotate", out).code == 0
    assert findings_rows(openpyxl.load_workbook(out)) == [
        [None, None, None, None, None, "No problems found.", None]
    ]


@pytest.mark.parametrize("case", ["zip_bomb_ratio", "not_a_zip", "too_many_rows", "encrypted"])
def test_refused_file_is_not_opened_and_its_copy_holds_the_findings_alone(
    case, tmp_path, hostile_workbook
):
    source = hostile_workbook(case)
    out = tmp_path / "annotated.xlsx"
    findings = validate_file(source).findings
    annotate_file(source, out, findings)
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["Findings"]
    assert [(r[5], r[6]) for r in findings_rows(wb)] == [(f.message, f.code) for f in findings]


def test_annotating_onto_the_source_workbook_is_refused_with_one_line(tmp_path, dqm, hostile_copy):
    source = hostile_copy("number_as_word")
    before = source.read_bytes()
    code, _, err = dqm("validate", source, "--annotate", tmp_path / "." / source.name)
    assert code == 2
    assert err == (
        f"dqm: --annotate {tmp_path / '.' / source.name} is the workbook itself; dqm never "
        "writes the source workbook. Give another file name.\n"
    )
    assert source.read_bytes() == before


def test_annotate_file_refuses_a_hard_link_to_the_source(tmp_path, hostile_copy):
    source = hostile_copy("number_as_word")
    link = tmp_path / "link.xlsx"
    link.hardlink_to(source)
    with pytest.raises(AnnotateError, match="is the workbook itself"):
        annotate_file(source, link, validate_file(source).findings)


def test_annotating_into_a_missing_folder_is_one_line_code_2(tmp_path, dqm, hostile_copy):
    source = hostile_copy("number_as_word")
    code, _, err = dqm("validate", source, "--annotate", tmp_path / "no" / "out.xlsx")
    assert code == 2
    assert (
        err
        == f"dqm: Cannot write {tmp_path / 'no' / 'out.xlsx'}: the folder {tmp_path / 'no'} does not exist.\n"
    )


def test_json_output_stays_json_when_annotating(tmp_path, dqm, hostile_copy):
    source = hostile_copy("number_as_word")
    out = tmp_path / "annotated.xlsx"
    ran = dqm("validate", source, "--json", "--annotate", out)
    assert ran.code == 1
    first = json.loads(ran.out)["errors"][0]
    assert (first["code"], first["cell"]) == ("not-a-number", "E3")
    assert ran.err == f"Findings marked in {out}.\n"


def test_annotated_copy_validates_to_the_same_findings(tmp_path, hostile_copy):
    # The Findings sheet is not a contract sheet, so the copy reads exactly as the source did.
    source = hostile_copy("number_as_word")
    out = tmp_path / "annotated.xlsx"
    findings = validate_file(source).findings
    annotate_file(source, out, findings)
    again = validate_file(out).findings
    assert again == findings


def test_bytes_of_a_refused_file_are_not_opened_for_the_app(hostile_copy):
    source = hostile_copy("zip_bomb_ratio")
    findings = validate_file(source).findings
    wb = openpyxl.load_workbook(
        io.BytesIO(annotate_workbook(source.read_bytes(), findings, source.name))
    )
    assert wb.sheetnames == ["Findings"]
    assert findings_rows(wb) == [
        ["error", "(workbook)", None, None, None, findings[0].message, "zip-bomb"]
    ]


def test_a_value_written_like_a_formula_stays_text_in_the_findings_sheet(tmp_path):
    source = corpus.edit_cells(
        tmp_path,
        lambda wb: setattr(wb["Limits"]["E3"], "value", '=HYPERLINK("http://evil.test","x")'),
    )
    wb = openpyxl.load_workbook(
        io.BytesIO(annotate_workbook(source.read_bytes(), validate_file(source).findings))
    )
    found = [row for row in findings_rows(wb) if row[2] == "E3"][0]
    cell = wb["Findings"].cell(findings_rows(wb).index(found) + 2, 5)
    assert (cell.value, cell.data_type) == ('=HYPERLINK("http://evil.test","x")', "s")


def test_annotation_is_linear_in_findings(tmp_path, monkeypatch):
    """openpyxl's max_row walks every cell: asked once per finding, 5,000 bad rows took 169 s."""
    from openpyxl.worksheet.worksheet import Worksheet

    asked = []
    max_row = Worksheet.max_row
    monkeypatch.setattr(
        Worksheet, "max_row", property(lambda ws: asked.append(ws.title) or max_row.fget(ws))
    )

    first = len(founding.rows()["Limits"]) + 2  # the Excel row of the first bad row

    def bad_rows(rows):
        rows["Limits"] += [
            ["imatinib-per-rx", f"p-{i}", "P", "1 mg", "sixty", 90, "tablets", None]
            for i in range(300)
        ]

    source = corpus.founding(tmp_path, edit=bad_rows)
    findings = validate_file(source).findings
    assert [(f.sheet, f.cell, f.code) for f in findings] == [
        ("Limits", f"E{row}", "not-a-number") for row in range(first, first + 300)
    ]
    annotate_workbook(source.read_bytes(), findings)
    assert asked.count("Findings") <= 2  # a constant, not one per finding
