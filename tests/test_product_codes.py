"""The Product Codes sheet and the Ruleset's Effective Date, from the workbook to the published
version: each finding at its cell, the codes kept in their normal form, the effective date a
version takes, and rules that say what a published version says hashing as it does."""

from __future__ import annotations

import datetime as dt
import shutil

import openpyxl
import pytest

from compiler.ruleset.build import build
from compiler.ruleset.compile import compile_workbook
from compiler.ruleset.store import Store, Unchanged
from compiler.workbook.validate import validate_file
from tests.fixtures import founding
from tests.fixtures.paths import EXPORTS

TAB400, TAB100 = "imatinib-400mg-tab", "imatinib-100mg-tab"
NEXT = "C14"  # the Code cell of the first row after the founding workbook's twelve codes


def flat(path):
    """Error findings as (code, sheet, cell, column, value, params) tuples."""
    return [
        (f.code, f.sheet, f.cell, f.column, f.value, dict(f.params))
        for f in validate_file(path).findings
        if f.severity == "error"
    ]


def with_code(rows, *row):
    rows["Product Codes"].append(list(row))
    return rows


def test_v4_keeps_each_products_codes_in_their_normal_form_with_their_description():
    doc = Store(EXPORTS).load("oncology-dqm", 4)
    assert {
        p["product_id"]: [(c["code_system"], c["code"], c["description"]) for c in p["codes"]]
        for p in doc["policies"][0]["products"]
    } == {
        TAB100: [
            ("ndc", "47335047213", "Sun Pharma, bottle of 500"),
            ("ndc", "47335047281", "Sun Pharma, bottle of 90"),
            ("ndc", "47335047283", "Sun Pharma, bottle of 30"),
            ("ndc", "47335047288", "Sun Pharma, bottle of 100"),
            ("rxcui", "403878", "imatinib 100 MG Oral Tablet"),
            ("rxcui", "404588", "Gleevec 100 MG Oral Tablet"),
        ],
        TAB400: [
            ("ndc", "47335047513", "Sun Pharma, bottle of 500"),
            ("ndc", "47335047564", "Sun Pharma, unit-dose blister of 30"),
            ("ndc", "47335047583", "Sun Pharma, bottle of 30"),
            ("ndc", "47335047588", "Sun Pharma, bottle of 100"),
            ("rxcui", "403879", "imatinib 400 MG Oral Tablet"),
            ("rxcui", "404589", "Gleevec 400 MG Oral Tablet"),
        ],
    }
    assert (doc["schema_version"], doc["effective_date"]) == (2, "2025-12-08")


def test_a_ten_digit_ndc_without_hyphens_is_ambiguous_never_guessed(founding_rows, make_workbook):
    rows = with_code(founding_rows, TAB400, "NDC", "4733547564", None)
    assert flat(make_workbook(rows)) == [
        (
            "ambiguous-ndc",
            "Product Codes",
            NEXT,
            "Code",
            "4733547564",
            {"code": "4733547564", "typed_as_number": False},
        )
    ]


def test_an_ndc_typed_as_a_number_says_its_leading_zeros_may_be_gone(founding_rows, make_workbook):
    rows = with_code(
        founding_rows, TAB400, "NDC", 93015001, None
    )  # 00093-0150-01, typed as a number
    assert flat(make_workbook(rows)) == [
        (
            "malformed-ndc",
            "Product Codes",
            NEXT,
            "Code",
            93015001.0,
            {"code": "93015001", "problem": "digit-count", "digits": 8, "typed_as_number": True},
        )
    ]


def test_malformed_codes_of_each_system_are_findings_at_their_cells(founding_rows, make_workbook):
    rows = with_code(founding_rows, TAB400, "NDC", "47335-475-8B", None)
    with_code(rows, TAB400, "NDC", "473-35475-83", None)
    with_code(rows, TAB400, "RxCUI", "RX403879", None)
    assert flat(make_workbook(rows)) == [
        (
            "malformed-ndc",
            "Product Codes",
            "C14",
            "Code",
            "47335-475-8B",
            {
                "code": "47335-475-8B",
                "problem": "not-digits",
                "digits": 0,
                "typed_as_number": False,
            },
        ),
        (
            "malformed-ndc",
            "Product Codes",
            "C15",
            "Code",
            "473-35475-83",
            {
                "code": "473-35475-83",
                "problem": "hyphen-layout",
                "digits": 10,
                "typed_as_number": False,
            },
        ),
        ("malformed-rxcui", "Product Codes", "C16", "Code", "RX403879", {"code": "RX403879"}),
    ]


def test_a_code_names_one_product_once_read_into_eleven_digits(founding_rows, make_workbook):
    # Row 10 has 47335-475-83 for the 400 mg tablets; 47335047583 is the same NDC.
    rows = with_code(founding_rows, TAB100, "NDC", "47335047583", "the same package, again")
    with_code(rows, TAB400, "RxCUI", "0403879", None)  # row 8's RxCUI, with a leading zero
    with_code(rows, TAB400, "RxCUI", "47335047583", None)  # digits of an NDC: another system
    assert flat(make_workbook(rows)) == [
        (
            "duplicate-code",
            "Product Codes",
            "C14",
            "Code",
            "47335047583",
            {
                "system": "NDC",
                "code": "47335047583",
                "shown": "47335-0475-83",
                "first_row": 10,
                "product": TAB400,
            },
        ),
        (
            "duplicate-code",
            "Product Codes",
            "C15",
            "Code",
            "0403879",
            {
                "system": "RxCUI",
                "code": "0403879",
                "shown": "403879",
                "first_row": 8,
                "product": TAB400,
            },
        ),
    ]


def test_a_code_for_an_unknown_product_and_an_unknown_code_system(founding_rows, make_workbook):
    rows = with_code(founding_rows, "imatinib-400-tab", "NDC", "47335-999-83", None)
    with_code(rows, TAB400, "UPC", "347335475837", None)
    with_code(rows, TAB400, " ndc ", "47335-475-88", None)  # case and spaces: NDC (row 11's code)
    assert flat(make_workbook(rows)) == [
        (
            "unknown-reference",
            "Product Codes",
            "A14",
            "Product ID",
            "imatinib-400-tab",
            {
                "id": "imatinib-400-tab",
                "header": "Product ID",
                "target": "Limits",
                "known": [TAB100, TAB400],
                "more": 0,
                "close": TAB400,
            },
        ),
        (
            "not-one-of",
            "Product Codes",
            "B15",
            "Code System",
            "UPC",
            {"header": "Code System", "example": "NDC", "allowed": ["NDC", "RxCUI"]},
        ),
        (
            "duplicate-code",
            "Product Codes",
            "C16",
            "Code",
            "47335-475-88",
            {
                "system": "NDC",
                "code": "47335-475-88",
                "shown": "47335-0475-88",
                "first_row": 11,
                "product": TAB400,
            },
        ),
    ]


def test_effective_date_must_be_a_date_cell(founding_rows, make_workbook):
    founding_rows["Ruleset"][0][3] = "12/08/2025"
    assert flat(make_workbook(founding_rows)) == [
        (
            "not-a-date",
            "Ruleset",
            "D2",
            "Effective Date",
            "12/08/2025",
            {"header": "Effective Date", "example": "12/08/2025"},
        )
    ]


def test_a_blank_effective_date_is_the_latest_history_review_date(founding_rows, make_workbook):
    assert build(validate_file(make_workbook(founding_rows)))["effective_date"] == "2025-12-08"
    founding_rows["Ruleset"][0][3] = None
    assert build(validate_file(make_workbook(founding_rows)))["effective_date"] == "2026-12-01"


@pytest.mark.parametrize("reviews", [1, 2, 3, 4])
def test_the_earlier_reviews_rebuild_the_content_of_the_versions_published_then(
    reviews, make_workbook
):
    # v1-v3 were published in schema 1, before codes and effective dates: the same rules built
    # today (schema 2, no codes, a blank Effective Date) hash as they did.
    content = build(validate_file(make_workbook(founding.rows(reviews))))
    published = Store(EXPORTS).load("oncology-dqm", reviews)
    assert content["content_sha256"] == published["content_sha256"]
    assert (
        content["effective_date"]
        == ["2023-12-13", "2024-12-17", "2025-12-08", "2025-12-08"][reviews - 1]
    )


def test_a_workbook_of_a_schema_1_version_compiled_again_publishes_nothing(tmp_path, make_workbook):
    exports = tmp_path / "exports"
    # A store as it was before v4 (its index too: an index listing a v4 that is gone is refused).
    shutil.copytree(EXPORTS, exports, ignore=shutil.ignore_patterns(".lock", "v4.*", "index.json"))
    outcome = compile_workbook(make_workbook(founding.rows(3)), exports).outcome
    assert isinstance(outcome, Unchanged) and outcome.version == 3


def test_changing_only_the_effective_date_needs_a_history_row(
    founding_rows, make_workbook, exports_copy
):
    founding_rows["Ruleset"][0][3] = dt.date(2026, 1, 1)
    result = compile_workbook(make_workbook(founding_rows), exports_copy)
    assert result.outcome is None and not result.ok  # found before the store is written to
    assert [(f.code, f.cell, f.params["changes"]) for f in result.findings] == [
        ("history-row-missing", "A6", ["oncology-dqm: Effective Date 2025-12-08 → 2026-01-01"])
    ]


def test_the_template_keeps_codes_as_text_and_offers_products_and_code_systems(tmp_path, dqm):
    out = tmp_path / "new.xlsx"
    assert dqm("template", out).code == 0
    ws = openpyxl.load_workbook(out)["Product Codes"]
    assert [c.value for c in ws[1]] == ["Product ID", "Code System", "Code", "Description"]
    assert ws.column_dimensions["C"].number_format == "@"  # an NDC keeps its leading zeros
    lists = {str(dv.sqref): dv.formula1 for dv in ws.data_validations.dataValidation if dv.type}
    assert lists == {"A2:A1000": "'Limits'!$B$2:$B$1000", "B2:B1000": '"NDC,RxCUI"'}
