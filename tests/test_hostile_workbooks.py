"""Hostile and malformed workbooks (tests/fixtures/hostile.py): each is refused with the exact
finding (its code and parameters; test_catalogue.py holds the messages' wording), a non-zero exit
from `dqm validate` and `dqm compile`, no traceback, nothing published, within seconds and bounded
memory. Harmless variants (numbers typed as text, sheet and header names in another case) are
accepted on purpose."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from filelock import FileLock

from compiler.ruleset.store import Store
from compiler.workbook import container
from compiler.workbook.catalogue import render
from compiler.workbook.container import Container
from compiler.workbook.findings import errors, warnings
from compiler.workbook.validate import validate_file
from tests.fixtures import hostile as corpus
from tests.fixtures.paths import WORKBOOK as BUNDLED

HUGE_ID = "strong inducer " * 2_184


def whole(code: str, **params) -> tuple:
    """A finding about the file as a whole: no sheet, no cell."""
    return (None, None, code, params)


def too_large(title: str, rows: int, last_column: str) -> tuple:
    return (
        title,
        None,
        "sheet-too-large",
        {
            "title": title,
            "rows": rows,
            "last_column": last_column,
            "max_rows": 250_000,
            "max_columns": 200,
            "max_cells": 5_000_000,
        },
    )


def no_sheet(name: str, *headers: str) -> tuple:
    return (name, None, "missing-sheet", {"sheet": name, "headers": list(headers)})


# Each case: the errors (sheet, cell, code, params) the workbook must produce, exactly and in order.
REFUSED: dict[str, list[tuple]] = {
    "not_a_zip": [whole("not-a-workbook", file="claims.xlsx")],
    "zero_bytes": [whole("empty-file", file="empty.xlsx")],
    "truncated": [whole("damaged-file", file="truncated.xlsx")],
    "encrypted": [whole("encrypted-workbook")],
    "legacy_xls": [whole("legacy-workbook")],
    "xlsm_with_macros": [whole("macros")],
    "macros_renamed_xlsx": [whole("macros")],
    "oversized_file": [whole("file-too-large", size=60_000_000, most=50_000_000)],
    "zip_not_workbook": [whole("zip-not-workbook", file="archive.xlsx")],
    "billion_laughs": [whole("xml-declarations", file="laughs.xlsx", part="xl/sharedStrings.xml")],
    "external_entity": [
        whole("xml-declarations", file="xxe.xlsx", part="xl/worksheets/sheet2.xml")
    ],
    "zip_bomb_ratio": [
        whole("zip-bomb", file="bomb.xlsx", part="xl/media/padding.xml", ratio=1028)
    ],
    "zip_bomb_declared": [
        whole("unpacks-too-large", file="declared.xlsx", size=4_295_064_524, most=200_000_000)
    ],
    "lying_part_size": [whole("damaged-file", file="lying.xlsx")],
    "lying_part_inflates": [whole("damaged-file", file="inflates.xlsx")],
    "too_many_parts": [
        whole("too-many-parts", file="parts.xlsx", parts=corpus.founding_parts() + 10_001)
    ],
    "corrupt_sheet_xml": [
        (
            "Limits",
            None,
            "unreadable-sheet",
            {
                "title": "Limits",
                "error": 'syntax error: attribute value not closed: `"` not found before end of input',
            },
        )
    ],
    "far_corner_cell": [too_large("Drug Lists", 1_048_576, "XFD")],
    "far_row_nine_digits": [too_large("Drug Lists", 999_999_999, "D")],
    "far_row_lowercase": [too_large("Drug Lists", 999_999_999, "D")],
    # A row or cell not written as Excel writes it: its row and column counts are added on top,
    # never less than what calamine would lay out.
    "far_row_unspaced_attribute": [too_large("Drug Lists", 1_000_000_009, "H")],
    "far_row_single_quotes": [too_large("Drug Lists", 1_000_000_009, "H")],
    "far_row_by_row_only": [too_large("Drug Lists", 1_000_000_009, "H")],
    "too_many_rows": [too_large("Drug Lists", 250_002, "B")],
    "too_many_columns": [too_large("Ruleset", 2, "KO")],
    "empty_workbook": [
        no_sheet("Ruleset", "Ruleset ID", "Title", "Owner", "Effective Date"),
        no_sheet(
            "Policies",
            "Policy ID",
            "Title",
            "Policy Type",
            "Review Date",
            "Approval Duration (months)",
            "Notes",
            "Status",
        ),
        no_sheet(
            "Limits",
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
        ),
        no_sheet("Criteria", "Criterion ID", "Description", "Met When", "Drug List ID"),
        no_sheet(
            "Overrides",
            "Product ID",
            "Criterion ID",
            "Retail Max Qty",
            "Home Delivery Max Qty",
            "Approval Duration (months)",
            "Criteria Text",
            "Retail Days",
            "Home Delivery Days",
        ),
        no_sheet("Drug Lists", "Drug List ID", "Drug", "Also Known As", "Notes"),
        no_sheet("History", "Policy ID", "Type of Revision", "Summary of Changes", "Review Date"),
    ],
    "missing_sheet": [
        no_sheet("Criteria", "Criterion ID", "Description", "Met When", "Drug List ID")
    ],
    "renamed_header": [
        (
            "Limits",
            "E1",
            "misnamed-header",
            {"text": "Retail Max Qtty", "header": "Retail Max Qty"},
        )
    ],
    "blank_header_row": [
        ("Ruleset", "A1", "missing-column", {"header": "Ruleset ID"}),
        ("Ruleset", "B1", "missing-column", {"header": "Title"}),
    ],
    "header_on_row_2": [("Ruleset", "A2", "headers-not-in-row-1", {"sheet": "Ruleset", "row": 2})],
    "headers_only": [("Ruleset", "A2", "ruleset-row-missing", {"example": "oncology-dqm"})],
    "duplicate_header": [
        ("Criteria", "E1", "duplicate-header", {"header": "Met When", "other_column": "C"})
    ],
    "merged_cells": [
        ("Limits", "A2", "merged-cells", {"top": "A2", "bottom": "A3"}),
        ("Limits", "A3", "required", {"header": "Policy ID", "example": "imatinib-per-rx"}),
    ],
    "number_as_word": [
        ("Limits", "E3", "not-a-number", {"header": "Retail Max Qty", "example": "60"})
    ],
    "date_as_text": [
        ("Policies", "D2", "not-a-date", {"header": "Review Date", "example": "12/08/2025"})
    ],
    "formula_without_value": [("Limits", "F3", "formula-without-value", {"formula": "=3*E3"})],
    "error_cell": [("Limits", "F3", "cell-shows-error", {"error": "#DIV/0!"})],
    "negative_limit": [
        (
            "Limits",
            "E3",
            "not-greater-than",
            {"header": "Retail Max Qty", "example": "60", "bound": 0},
        )
    ],
    "boolean_in_number": [
        ("Limits", "E3", "not-a-number", {"header": "Retail Max Qty", "example": "60"})
    ],
    "huge_string": [
        (
            "Criteria",
            "A2",
            "not-an-id",
            {"header": "Criterion ID", "example": "strong-cyp3a4-inducer"},
        ),
        (
            "Overrides",
            "B2",
            "unknown-reference",
            {
                "id": "strong-cyp3a4-inducer",
                "header": "Criterion ID",
                "target": "Criteria",
                "known": [HUGE_ID.strip()],
                "more": 0,
            },
        ),
    ],
    "unicode_lookalike_id": [
        (
            "Overrides",
            "A2",
            "unknown-reference",
            {
                "id": "\u0456matinib-400mg-tab",
                "header": "Product ID",
                "target": "Limits",
                "known": ["imatinib-100mg-tab", "imatinib-400mg-tab"],
                "more": 0,
                "close": "imatinib-400mg-tab",
            },
        )
    ],
}

# The first error of each refused workbook, whose message the command must print.
FIRST_ERROR = {case: found[0] for case, found in REFUSED.items()} | {
    "duplicate_ids": (
        "Limits",
        "B3",
        "not-unique",
        {
            "header": "Product ID",
            "example": "imatinib-400mg-tab",
            "value": "imatinib-100mg-tab",
            "first_row": 2,
        },
    )
}

ACCEPTED = [
    "numbers_typed_as_text",
    "sheet_names_case_and_spaces",
    "headers_case_and_spaces",
    "hidden_ruleset_sheet",
]


def test_corpus_holds_at_least_thirty_refused_workbooks():
    assert len(REFUSED) >= 30


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_hostile_workbook_refused_with_exact_findings(case, hostile_workbook):
    result = validate_file(hostile_workbook(case))
    assert [(f.sheet, f.cell, f.code, dict(f.params)) for f in errors(result.findings)] == REFUSED[
        case
    ]


@pytest.mark.timing
@pytest.mark.parametrize("case", sorted(REFUSED))
def test_hostile_workbook_refused_within_ten_seconds(case, hostile_workbook):
    path = hostile_workbook(case)
    started = time.perf_counter()
    result = validate_file(path)
    elapsed = time.perf_counter() - started
    assert [(f.sheet, f.cell, f.code, dict(f.params)) for f in errors(result.findings)] == REFUSED[
        case
    ]
    assert elapsed < 10, f"{case} took {elapsed:.1f}s"


def test_duplicate_product_id_named_at_its_second_row(hostile_workbook):
    result = validate_file(hostile_workbook("duplicate_ids"))
    first = errors(result.findings)[0]
    assert (first.sheet, first.cell, first.code, dict(first.params)) == FIRST_ERROR["duplicate_ids"]
    assert first.value == "imatinib-100mg-tab"


@pytest.mark.parametrize("case", sorted(REFUSED) + ["duplicate_ids"])
def test_validate_and_compile_return_1_without_traceback_or_publishing(
    case, hostile_workbook, exports_copy, dqm
):
    path = hostile_workbook(case)
    before = sorted(
        (p.relative_to(exports_copy), p.read_bytes())
        for p in exports_copy.rglob("*")
        if p.is_file()
    )
    validated = dqm("validate", path)
    compiled = dqm("compile", path, "--exports", exports_copy)
    assert (validated.code, compiled.code) == (1, 1)
    assert "Traceback" not in validated.out + validated.err + compiled.out + compiled.err
    assert "Not published: " in compiled.err
    _, _, code, params = FIRST_ERROR[case]
    assert render(code, params) in validated.out  # the message itself, end to end
    assert render(code, params) in compiled.err
    after = sorted(
        (p.relative_to(exports_copy), p.read_bytes())
        for p in exports_copy.rglob("*")
        if p.is_file()
        if p.name != ".lock"
    )
    assert after == [b for b in before if b[0].name != ".lock"]


@pytest.mark.parametrize("case", ["zip_bomb_ratio", "too_many_rows"])
def test_real_dqm_process_refuses_with_one_finding_and_ends_with_code_1(
    case, hostile_workbook, exports_copy, dqm_process
):
    # A real process: the installed console script, with its process-wide settings (no cyclic
    # garbage collector), on the most compressed and the largest hostile input, ends with exit
    # status 1; every case is refused in-process above.
    path = hostile_workbook(case)
    for args in (["validate", path], ["compile", path, "--exports", exports_copy]):
        run = dqm_process(*args, timeout=60)
        assert run.code == 1, run.err
        assert "Traceback" not in run.out + run.err
        _, _, code, params = FIRST_ERROR[case]
        assert render(code, params) in run.out + run.err  # the message itself, end to end
    assert Store(exports_copy).versions("oncology-dqm") == [1, 2, 3, 4]


def test_openpyxl_parses_xml_through_defusedxml():
    assert openpyxl.DEFUSEDXML is True


@pytest.mark.timing
def test_a_part_that_lies_about_its_size_is_refused_in_under_10_mb_of_memory(hostile_workbook):
    path = hostile_workbook("lying_part_inflates")
    tracemalloc.start()
    result = validate_file(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert [f.code for f in result.findings] == ["damaged-file"]
    assert peak < 10_000_000, f"peak {peak:,} bytes: the part was inflated past its declared size"


@pytest.mark.parametrize("case", [c for c in corpus.HOSTILE if c != "oversized_file"])
def test_a_part_read_in_small_chunks_says_what_it_says_read_whole(
    case, hostile_workbook, monkeypatch
):
    """The container check reads each part a chunk at a time: a chunk of 50 bytes (every tag and
    error cell cut somewhere) finds what one chunk for the whole part finds. In a part of 250,000
    repeated rows a chunk of 997 bytes (a prime: its cuts drift along the rows) cuts them at
    every offset too, in a twentieth of the calls."""
    path = hostile_workbook(case)
    data = path.read_bytes()
    monkeypatch.setattr(container, "_CHUNK", 1 << 30)
    whole_part = container.check_container(data, path.name)
    monkeypatch.setattr(container, "_CHUNK", 997 if case == "too_many_rows" else 50)
    assert container.check_container(data, path.name) == whole_part


@pytest.mark.timing
def test_zip_bomb_refused_from_directory_in_under_5_mb_of_memory(hostile_workbook):
    path = hostile_workbook("zip_bomb_ratio")
    data = path.read_bytes()
    tracemalloc.start()
    result = validate_file(path, data)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert [(f.sheet, f.cell, f.code, dict(f.params)) for f in errors(result.findings)] == REFUSED[
        "zip_bomb_ratio"
    ]
    assert peak < 5_000_000, f"peak {peak:,} bytes: the 60 MB part was inflated"


FAR_CELLS = [
    "far_corner_cell",
    "far_row_nine_digits",
    "far_row_unspaced_attribute",
    "far_row_single_quotes",
    "far_row_lowercase",
    "far_row_by_row_only",
]
# Each path validated in turn by one child, which prints per case "<findings> <sheet>" or the
# exception that stopped it.
FAR_CELL_CHILD = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1_500_000_000,) * 2)
from compiler.workbook.validate import validate_file
for case, path in json.loads(sys.argv[1]).items():
    try:
        r = validate_file(path)
        said = f"{len(r.findings)} {r.findings[0].sheet}"
    except BaseException as exc:
        said = f"{type(exc).__name__}: {exc}"
    print(json.dumps([case, said]), flush=True)
"""


@pytest.fixture(scope="module")
def far_cells_read_in_a_child(hostile_workbook, run_folder) -> tuple[int, dict[str, str], str]:
    # A reader that allocates rows x columns would need billions of cells here; run it in a child
    # with a 1.5 GB address-space limit so a regression fails instead of swapping the machine.
    # One child for every case: the limit is the same, and an interpreter with dqm imported is
    # started once instead of six times. Once per run: a worker that gets some of the cases
    # reads what the child said to the worker that ran it (as hostile_workbook shares the files).
    said = run_folder / "far-cells-read-in-a-child.json"
    with FileLock(f"{said}.lock"):
        if not said.exists():
            paths = {case: str(hostile_workbook(case)) for case in FAR_CELLS}
            run = subprocess.run(
                [sys.executable, "-c", FAR_CELL_CHILD, json.dumps(paths)],
                capture_output=True,
                text=True,
                timeout=120,
                cwd=Path(__file__).resolve().parents[1],
            )
            lines = dict(json.loads(line) for line in run.stdout.splitlines())
            said.write_text(json.dumps([run.returncode, lines, run.stderr]))
        code, lines, stderr = json.loads(said.read_text())
    return code, lines, stderr


@pytest.mark.parametrize("case", FAR_CELLS)
def test_far_cell_refused_before_the_sheet_is_laid_out(case, far_cells_read_in_a_child):
    code, said, stderr = far_cells_read_in_a_child
    assert (code, said.get(case)) == (0, "1 Drug Lists"), stderr[-2000:]


def test_numbers_typed_as_text_are_read_as_numbers(hostile_workbook):
    result = validate_file(hostile_workbook("numbers_typed_as_text"))
    assert result.findings == []
    limits = result.frames["Limits"]
    assert (
        limits.at[2, "Home Delivery Max Qty"],
        limits.at[3, "Retail Max Qty"],
    ) == (1080.0, 60.0)


@pytest.fixture(scope="module")
def bundled_frames() -> dict[str, pd.DataFrame]:
    """The bundled workbook's sheets as read, which the corpus's founding variants are made from."""
    return validate_file(BUNDLED).frames


def assert_read_as_bundled(frames: dict[str, pd.DataFrame], bundled: dict[str, pd.DataFrame]):
    assert list(frames) == list(bundled)
    for sheet, frame in bundled.items():
        pd.testing.assert_frame_equal(frames[sheet], frame, obj=sheet)


@pytest.mark.parametrize("case", ["sheet_names_case_and_spaces", "headers_case_and_spaces"])
def test_names_in_another_case_or_spacing_are_accepted(case, hostile_workbook, bundled_frames):
    result = validate_file(hostile_workbook(case))
    assert result.findings == []
    assert_read_as_bundled(result.frames, bundled_frames)  # every sheet, row and value


def test_hidden_sheet_is_read_with_a_warning(hostile_workbook, bundled_frames):
    result = validate_file(hostile_workbook("hidden_ruleset_sheet"))
    assert errors(result.findings) == []
    assert [(f.sheet, f.cell, f.code, f.params) for f in warnings(result.findings)] == [
        ("Drug Lists", None, "hidden-sheet", {"title": "Drug Lists"})
    ]
    assert_read_as_bundled(result.frames, bundled_frames)


def peak_rss_mb() -> float:
    """This process's peak resident memory since the last reset_peak_rss() (Linux VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc/self/status")


def reset_peak_rss() -> float:
    Path("/proc/self/clear_refs").write_text("5")  # the peak restarts from the current RSS
    return peak_rss_mb()


@pytest.mark.timing
def test_largest_hostile_input_is_refused_fast_in_bounded_memory(hostile_workbook):
    # 250,002 rows (2.6 MB zipped, 34 MB of XML): refused from the XML's cell references, before
    # the cell reader lays the sheet out (benchmarks/bench_hostile.py records the figures).
    path = hostile_workbook("too_many_rows")
    base = reset_peak_rss()
    started = time.perf_counter()
    result = validate_file(path)
    elapsed = time.perf_counter() - started
    grown = peak_rss_mb() - base
    assert [(f.sheet, f.cell) for f in errors(result.findings)] == [("Drug Lists", None)]
    assert elapsed < 10, f"{elapsed:.1f}s"
    assert grown < 100, f"peak RSS grew {grown:.0f} MB"


def test_every_corpus_case_has_its_expected_findings_here():
    assert set(corpus.HOSTILE) == set(REFUSED) | {"duplicate_ids"}


def test_sheet_whose_part_cannot_be_told_gets_the_largest_extent_of_any_part():
    # Should a relationship ever resolve differently from calamine's reading, the sheet is
    # measured as the worst part in the file, never as empty.
    found = Container(extents={"Limits": (3, 8)}, largest=(1_048_576, 16_384))
    assert (found.extent("Limits"), found.extent("Drug Lists")) == ((3, 8), (1_048_576, 16_384))
    assert found.safe_to_open is False
