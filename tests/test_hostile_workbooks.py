"""Hostile and malformed workbooks (tests/hostile_corpus.py): each is refused with the exact
finding, a non-zero exit from `dqm validate` and `dqm compile`, no traceback, nothing published,
within seconds and bounded memory. Harmless variants (numbers typed as text, sheet and header
names in another case) are accepted on purpose."""

from __future__ import annotations

import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import hostile_corpus as corpus
import openpyxl
import pytest

from compiler import cli
from compiler.workbook.container import Container
from compiler.workbook.findings import errors, warnings
from compiler.ruleset.store import Store
from compiler.workbook.validate import validate_file

DQM = str(Path(sys.executable).with_name("dqm"))

DAMAGED = "is damaged or incomplete (it may have been cut off while copying). Copy it again, or open it in Excel and save it again."
MACROS = ("This workbook contains macros (.xlsm). dqm never runs macros: save a copy as an Excel "
          "Workbook (.xlsx) (File > Save As) and use that.")
NOT_XLSX = "is not an Excel workbook (.xlsx). Open it in Excel and use File > Save As > Excel Workbook (.xlsx)."
XML_ATTACK = ("contains XML declarations ({}) that Excel never writes and that can be used to attack "
              "the reader; dqm does not open it. Open it in Excel and save it again.")
TOO_LARGE = ("Sheet '{}' reaches row {} and column {}; the most dqm reads is 250,000 rows, 200 "
             "columns and 5,000,000 cells. Delete the unused rows and columns below and to the right "
             "of your data (select them, right-click, Delete) and save again.")
HUGE_ID = "strong inducer " * 2_184


def no_sheet(name: str, headers: str) -> tuple:
    return (name, None, f"The workbook has no sheet named '{name}'. Add a sheet named '{name}' "
                        f"with the headers {headers} in row 1.")


# Each case: the errors (sheet, cell, message) the workbook must produce, exactly and in order.
REFUSED: dict[str, list[tuple]] = {
    "not_a_zip": [(None, None, f"'claims.xlsx' {NOT_XLSX}")],
    "zero_bytes": [(None, None, "'empty.xlsx' is empty (0 bytes). Save the workbook again and use that file.")],
    "truncated": [(None, None, f"'truncated.xlsx' {DAMAGED}")],
    "encrypted": [(None, None, "This workbook is password-protected (encrypted), so dqm cannot read it. "
                   "Remove the password (File > Info > Protect Workbook > Encrypt with Password, clear "
                   "it) and save it as an Excel Workbook (.xlsx).")],
    "legacy_xls": [(None, None, "This file is an old Excel 97-2003 workbook (.xls) or another Office "
                    "file, not an .xlsx. Open it in Excel and use File > Save As > Excel Workbook (.xlsx).")],
    "xlsm_with_macros": [(None, None, MACROS)],
    "macros_renamed_xlsx": [(None, None, MACROS)],
    "oversized_file": [(None, None, "The file is 60.0 MB; the most dqm reads is 50 MB. Remove unused "
                        "sheets, images and formatting and save it again.")],
    "zip_not_workbook": [(None, None, "'archive.xlsx' is a zip file but not an Excel workbook (.xlsx). "
                          "Open it in Excel and use File > Save As > Excel Workbook (.xlsx).")],
    "billion_laughs": [(None, None, "'laughs.xlsx' " + XML_ATTACK.format("xl/sharedStrings.xml"))],
    "external_entity": [(None, None, "'xxe.xlsx' " + XML_ATTACK.format("xl/worksheets/sheet2.xml"))],
    "zip_bomb_ratio": [(None, None, "'bomb.xlsx' contains a part (xl/media/padding.xml) that unpacks "
                        "1,028 times larger than it is stored, as a zip bomb does; dqm does not open it.")],
    "zip_bomb_declared": [(None, None, "'declared.xlsx' unpacks to 4,295 MB; the most dqm reads is 200 MB. "
                           "Remove unused sheets, rows and images.")],
    "lying_part_size": [(None, None, f"'lying.xlsx' {DAMAGED}")],
    "too_many_parts": [(None, None, f"'parts.xlsx' holds {corpus.founding_parts() + 10_001:,} parts; a "
                        "workbook needs far fewer, so this is not one dqm opens. Open it in Excel and "
                        "save it again.")],
    "corrupt_sheet_xml": [("Limits", None, "Sheet 'Limits' could not be read (syntax error: attribute "
                           "value not closed: `\"` not found before end of input). Copy its cells into a "
                           "new sheet and save the workbook again.")],
    "far_corner_cell": [("Drug Lists", None, TOO_LARGE.format("Drug Lists", "1,048,576", "XFD"))],
    "far_row_nine_digits": [("Drug Lists", None, TOO_LARGE.format("Drug Lists", "999,999,999", "D"))],
    "far_row_lowercase": [("Drug Lists", None, TOO_LARGE.format("Drug Lists", "999,999,999", "D"))],
    # A row or cell not written as Excel writes it: its row and column counts are added on top,
    # never less than what calamine would lay out.
    "far_row_unspaced_attribute": [("Drug Lists", None, TOO_LARGE.format("Drug Lists", "1,000,000,009", "H"))],
    "far_row_single_quotes": [("Drug Lists", None, TOO_LARGE.format("Drug Lists", "1,000,000,009", "H"))],
    "far_row_by_row_only": [("Drug Lists", None, TOO_LARGE.format("Drug Lists", "1,000,000,009", "H"))],
    "too_many_rows": [("Drug Lists", None, TOO_LARGE.format("Drug Lists", "250,002", "B"))],
    "too_many_columns": [("Ruleset", None, TOO_LARGE.format("Ruleset", "2", "KO"))],
    "empty_workbook": [
        no_sheet("Ruleset", "Ruleset ID, Title, Owner"),
        no_sheet("Policies", "Policy ID, Title, Policy Type, Review Date, Approval Duration (months), Notes"),
        no_sheet("Limits", "Policy ID, Product ID, Product, Strength and Form, Retail Max Qty per Rx, "
                 "Home Delivery Max Qty per Rx, Unit, Footnote"),
        no_sheet("Criteria", "Criterion ID, Description, Met When, Drug List ID"),
        no_sheet("Overrides", "Product ID, Criterion ID, Retail Max Qty per Rx, Home Delivery Max Qty "
                 "per Rx, Approval Duration (months), Criteria Text"),
        no_sheet("Drug Lists", "Drug List ID, Drug, Also Known As, Notes"),
        no_sheet("History", "Policy ID, Type of Revision, Summary of Changes, Review Date"),
    ],
    "missing_sheet": [no_sheet("Criteria", "Criterion ID, Description, Met When, Drug List ID")],
    "renamed_header": [("Limits", "E1", "The header 'Retail Max Qty' is not one dqm knows; rename it "
                        "to 'Retail Max Qty per Rx'.")],
    "blank_header_row": [
        ("Ruleset", "A1", "Column 'Ruleset ID' is missing. Type 'Ruleset ID' as a header in row 1 and fill it in."),
        ("Ruleset", "B1", "Column 'Title' is missing. Type 'Title' as a header in row 1 and fill it in."),
    ],
    "header_on_row_2": [("Ruleset", "A2", "The headers of 'Ruleset' are in row 2, but dqm reads them "
                         "from row 1. Delete row 1 (select the row numbers, right-click, Delete) so the "
                         "headers are in row 1.")],
    "headers_only": [("Ruleset", "A2", "The Ruleset sheet needs exactly one row. Type the ruleset's id "
                      "in row 2, such as 'oncology-dqm', and its Title.")],
    "duplicate_header": [("Criteria", "E1", "'Met When' is also the header of column C. Delete or "
                          "rename one of the two columns.")],
    "merged_cells": [
        ("Limits", "A2", "Cells A2:A3 are merged, so only A2 keeps its value. Unmerge them (Home > "
         "Merge & Center) and type the value in every row."),
        ("Limits", "A3", "'Policy ID' is required. Type a value such as 'imatinib-per-rx'."),
    ],
    "number_as_word": [("Limits", "E3", "'Retail Max Qty per Rx' must be a number. Type a number "
                        "such as 60, in digits.")],
    "date_as_text": [("Policies", "D2", "'Review Date' must be a date. Type it as a date Excel "
                      "recognises, such as 12/08/2025, and check the cell is not formatted as Text.")],
    "formula_without_value": [("Limits", "F3", "This cell has the formula =3*E3 but no saved value. "
                               "Type the value itself, or open the workbook in Excel and save it so "
                               "the result is stored.")],
    "error_cell": [("Limits", "F3", "This cell shows the error #DIV/0! instead of a value. Fix the "
                    "formula that makes it, or type the value itself.")],
    "negative_limit": [("Limits", "E3", "'Retail Max Qty per Rx' must be greater than 0. Type a number such as 60.")],
    "boolean_in_number": [("Limits", "E3", "'Retail Max Qty per Rx' must be a number. Type a number "
                           "such as 60, in digits.")],
    "huge_string": [
        ("Criteria", "A2", "'Criterion ID' must be a short id of lowercase letters, digits and "
         "hyphens, such as 'strong-cyp3a4-inducer'. Type it without spaces or capitals."),
        ("Overrides", "B2", "'strong-cyp3a4-inducer' is not a Criterion ID on the Criteria sheet. "
         f"Type one of: {HUGE_ID.strip()!r}, or add it there first."),
    ],
    "unicode_lookalike_id": [("Overrides", "A2", "'\u0456matinib-400mg-tab' is not a Product ID on the "
                              "Limits sheet. Did you mean 'imatinib-400mg-tab'? Type it exactly as it is there.")],
}

ACCEPTED = ["numbers_typed_as_text", "sheet_names_case_and_spaces", "headers_case_and_spaces",
            "hidden_ruleset_sheet"]


def build(case: str, folder: Path) -> Path:
    return getattr(corpus, case)(folder)


def test_corpus_holds_at_least_thirty_refused_workbooks():
    assert len(REFUSED) >= 30


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_hostile_workbook_refused_with_exact_findings(case, tmp_path):
    path = build(case, tmp_path)
    started = time.perf_counter()
    result = validate_file(path)
    elapsed = time.perf_counter() - started
    assert [(f.sheet, f.cell, f.message) for f in errors(result.findings)] == REFUSED[case]
    assert elapsed < 10, f"{case} took {elapsed:.1f}s"


def test_duplicate_product_id_named_at_its_second_row(tmp_path):
    result = validate_file(corpus.duplicate_ids(tmp_path))
    first = errors(result.findings)[0]
    assert (first.sheet, first.cell, first.value, first.message) == (
        "Limits", "B3", "imatinib-100mg-tab",
        "'Product ID' 'imatinib-100mg-tab' is already used in row 2; each one must be unique. "
        "Type a different one, or delete the repeated row.")


@pytest.mark.parametrize("case", sorted(REFUSED) + ["duplicate_ids"])
def test_validate_and_compile_exit_1_without_traceback_or_publishing(case, tmp_path, exports_copy, capsys):
    path = build(case, tmp_path)
    before = sorted((p.relative_to(exports_copy), p.read_bytes()) for p in exports_copy.rglob("*") if p.is_file())
    assert cli.main(["validate", str(path)]) == 1
    assert cli.main(["compile", str(path), "--exports", str(exports_copy)]) == 1
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    assert "Not published: " in out.err
    after = sorted((p.relative_to(exports_copy), p.read_bytes()) for p in exports_copy.rglob("*") if p.is_file()
                   if p.name != ".lock")
    assert after == [b for b in before if b[0].name != ".lock"]


@pytest.mark.parametrize("case", ["not_a_zip", "encrypted", "billion_laughs", "zip_bomb_ratio",
                                  "far_corner_cell", "too_many_rows", "formula_without_value"])
def test_real_dqm_process_refuses_with_one_finding_and_exit_1(case, tmp_path, exports_copy):
    path = build(case, tmp_path)
    for args in (["validate", str(path)], ["compile", str(path), "--exports", str(exports_copy)]):
        run = subprocess.run([DQM, *args], capture_output=True, text=True, timeout=60)
        assert run.returncode == 1, run.stderr
        assert "Traceback" not in run.stdout + run.stderr
        first = REFUSED[case][0]
        assert first[2] in run.stdout + run.stderr
    assert Store(exports_copy).versions("oncology-dqm") == [1, 2, 3]


def test_openpyxl_parses_xml_through_defusedxml():
    assert openpyxl.DEFUSEDXML is True


def test_zip_bomb_refused_from_directory_without_inflating(tmp_path):
    path = corpus.zip_bomb_ratio(tmp_path)
    data = path.read_bytes()
    tracemalloc.start()
    result = validate_file(path, data)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(errors(result.findings)) == 1
    assert peak < 5_000_000, f"peak {peak:,} bytes: the 60 MB part was inflated"


@pytest.mark.parametrize("case", ["far_corner_cell", "far_row_nine_digits", "far_row_unspaced_attribute",
                                  "far_row_single_quotes", "far_row_lowercase", "far_row_by_row_only"])
def test_far_cell_refused_before_the_sheet_is_laid_out(case, tmp_path):
    # A reader that allocates rows x columns would need billions of cells here; run it in a child
    # with a 1.5 GB address-space limit so a regression fails instead of swapping the machine.
    path = build(case, tmp_path)
    code = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (1_500_000_000,) * 2);"
            "from compiler.workbook.validate import validate_file;"
            f"r = validate_file({str(path)!r}); print(len(r.findings), r.findings[0].sheet)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=Path(__file__).resolve().parents[1])
    assert (run.returncode, run.stdout.strip()) == (0, "1 Drug Lists"), run.stderr[-2000:]


def test_numbers_typed_as_text_are_read_as_numbers(tmp_path):
    result = validate_file(corpus.numbers_typed_as_text(tmp_path))
    assert result.findings == []
    limits = result.frames["Limits"]
    assert (limits.at[2, "Home Delivery Max Qty per Rx"], limits.at[3, "Retail Max Qty per Rx"]) == (1080.0, 60.0)


@pytest.mark.parametrize("case", ["sheet_names_case_and_spaces", "headers_case_and_spaces"])
def test_names_in_another_case_or_spacing_are_accepted(case, tmp_path):
    result = validate_file(build(case, tmp_path))
    assert result.findings == []
    assert len(result.frames["Limits"]) == 2
    assert len(result.frames["Drug Lists"]) == 8


def test_hidden_sheet_is_read_with_a_warning(tmp_path):
    result = validate_file(corpus.hidden_ruleset_sheet(tmp_path))
    assert errors(result.findings) == []
    assert [(f.sheet, f.cell, f.message) for f in warnings(result.findings)] == [
        ("Drug Lists", None, "Sheet 'Drug Lists' is hidden; it is still read. Unhide it so reviewers "
                             "see what the ruleset uses.")]
    assert len(result.frames["Drug Lists"]) == 8


def peak_rss_mb() -> float:
    """This process's peak resident memory since the last reset_peak_rss() (Linux VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc/self/status")


def reset_peak_rss() -> float:
    Path("/proc/self/clear_refs").write_text("5")  # the peak restarts from the current RSS
    return peak_rss_mb()


def test_largest_hostile_input_is_refused_fast_in_bounded_memory(tmp_path):
    # 250,002 rows (2.6 MB zipped, 34 MB of XML): refused from the XML's cell references, before
    # the cell reader lays the sheet out (benchmarks/bench_hostile.py records the figures).
    path = corpus.too_many_rows(tmp_path)
    base = reset_peak_rss()
    started = time.perf_counter()
    result = validate_file(path)
    elapsed = time.perf_counter() - started
    grown = peak_rss_mb() - base
    assert [(f.sheet, f.cell) for f in errors(result.findings)] == [("Drug Lists", None)]
    assert elapsed < 10, f"{elapsed:.1f}s"
    assert grown < 300, f"peak RSS grew {grown:.0f} MB"


def test_every_corpus_case_has_its_expected_findings_here():
    assert set(corpus.HOSTILE) == set(REFUSED) | {"duplicate_ids"}


def test_sheet_whose_part_cannot_be_told_gets_the_largest_extent_of_any_part():
    # Should a relationship ever resolve differently from calamine's reading, the sheet is
    # measured as the worst part in the file, never as empty.
    found = Container(extents={"Limits": (3, 8)}, largest=(1_048_576, 16_384))
    assert (found.extent("Limits"), found.extent("Drug Lists")) == ((3, 8), (1_048_576, 16_384))
    assert found.safe_to_open is False
