"""Retiring a product, said rather than implied: Limits has a Status column (Active, the default,
or Retired), a retired product compiles as retired and its claims decide not_applicable, as a
retired policy's do; and a product or code the published version limits that the workbook no
longer has is a warning naming what its claims will decide."""

from __future__ import annotations

import datetime as dt

import pytest

from compiler.decide.engine import Engine
from compiler.ruleset.check import check_workbook
from compiler.ruleset.compile import compile_workbook
from compiler.ruleset.store import Published
from compiler.workbook import schemas
from compiler.workbook.template import write_workbook

REVIEW = dt.date(2026, 12, 7)
GONE = "imatinib-100mg-tab"
STATUS_COLUMN = 10  # Limits: after Home Delivery Days


def revised(rows, summary: str) -> dict:
    """The founding rows with a new History row (REVIEW), its Review Date, and the Effective Date
    cleared (the version takes effect on the review)."""
    rows["History"].append(["imatinib-per-rx", "Selected Revision", summary, REVIEW])
    rows["Policies"][0][3] = REVIEW
    rows["Ruleset"][0][3] = None
    return rows


def retire_product(rows) -> dict:
    for row in rows["Limits"]:
        row += [None] * (STATUS_COLUMN + 1 - len(row))
    rows["Limits"][0][STATUS_COLUMN] = "Retired"
    # Its Tests rows would decide not_applicable, which a Tests row cannot expect.
    rows["Tests"] = [t for t in rows["Tests"] if t[1] != GONE]
    return revised(rows, "100 mg tablets retired.")


def seen(path, exports) -> list[tuple]:
    checked = check_workbook(path, exports, today=REVIEW)
    return [(f.code, f.sheet, f.cell, f.severity, f.message) for f in checked.findings]


def test_limits_has_an_optional_status_column_as_policies_have():
    status = schemas.columns("Limits")["Status"]
    assert list(schemas.columns("Limits"))[STATUS_COLUMN] == "Status"
    assert "Status" not in schemas.required_headers("Limits")
    assert status.checks[0].statistics["allowed_values"] == ["Active", "Retired"]


def test_a_deleted_product_row_is_a_warning_naming_what_its_claims_will_decide(
    founding_rows, make_workbook, exports_copy
):
    founding_rows["Limits"] = [r for r in founding_rows["Limits"] if r[1] != GONE]
    founding_rows["Product Codes"] = [r for r in founding_rows["Product Codes"] if r[0] != GONE]
    founding_rows["Tests"] = [t for t in founding_rows["Tests"] if t[1] != GONE]
    path = make_workbook(revised(founding_rows, "100 mg tablets no longer limited."))
    # One finding, at its cause: not one more for each of the product's six codes.
    assert seen(path, exports_copy) == [
        (
            "product-removed",
            "Limits",
            "B1",
            "warning",
            "'imatinib-100mg-tab' (Gleevec® (imatinib tablets, generic), 100 mg tablets) is "
            "limited by the published v4 but has no row on Limits: once this version takes "
            "effect, its claims decide not_applicable, with no quantity limit. To stop limiting "
            "it, keep its row with Status 'Retired' and say so in a History row; if its row was "
            "deleted by mistake, type it back.",
        )
    ]


def test_a_deleted_code_is_a_warning_naming_what_its_claims_will_decide(
    founding_rows, make_workbook, exports_copy
):
    founding_rows["Product Codes"] = [
        r for r in founding_rows["Product Codes"] if r[2] != "47335-475-83"
    ]
    path = make_workbook(revised(founding_rows, "A package code removed."))
    assert seen(path, exports_copy) == [
        (
            "code-removed",
            "Product Codes",
            "C1",
            "warning",
            "NDC 47335-0475-83 names 'imatinib-400mg-tab' in the published v4 but is not on "
            "Product Codes: once this version takes effect, a claim naming the product by that "
            "code alone decides not_applicable, with no quantity limit. Type its row back, unless "
            "the code no longer names that product.",
        )
    ]


def test_a_code_typed_in_another_layout_is_not_removed(founding_rows, make_workbook, exports_copy):
    for row in founding_rows["Product Codes"]:
        if row[2] == "47335-475-83":
            row[2] = "47335047583"
    assert seen(make_workbook(founding_rows), exports_copy) == []


@pytest.fixture
def v5(founding_rows, make_workbook, exports_copy) -> dict:
    result = compile_workbook(
        make_workbook(retire_product(founding_rows)), exports_copy, today=REVIEW
    )
    assert isinstance(result.outcome, Published), [f.message for f in result.findings]
    assert result.findings == []  # a retired product is not warned about as removed
    return result.outcome.doc


def test_a_retired_product_compiles_as_retired(v5):
    products = {p["product_id"]: p for p in v5["policies"][0]["products"]}
    assert products[GONE]["status"] == "retired"
    assert "status" not in products["imatinib-400mg-tab"]  # an active product reads as before
    assert v5["schema_version"] == 3


def test_a_retired_products_claims_decide_not_applicable_naming_the_date(v5):
    engine = Engine(v5)
    retired, _ = engine.explain({"product_id": GONE, "channel": "retail", "quantity": 30})
    active, _ = engine.explain(
        {"product_id": "imatinib-400mg-tab", "channel": "retail", "quantity": 30}
    )
    assert (retired["decision"], retired["limit"], retired["approved_quantity"]) == (
        "not_applicable",
        None,
        None,
    )
    assert "was retired on 12/07/2026" in retired["message"]
    assert active["decision"] == "approve"


def test_the_template_offers_status_on_limits(tmp_path):
    import openpyxl

    book = openpyxl.load_workbook(write_workbook(tmp_path / "blank.xlsx"))
    limits = book["Limits"]
    headers = [c.value for c in limits[1]]
    letter = openpyxl.utils.get_column_letter(headers.index("Status") + 1)
    lists = [
        v.formula1
        for v in limits.data_validations.dataValidation
        if str(v.sqref).startswith(f"{letter}2")
    ]
    assert lists == ['"Active,Retired"']


def test_a_mistyped_product_id_or_code_is_not_also_removed(
    founding_rows, make_workbook, exports_copy
):
    founding_rows["Limits"][0][1] = "IMATINIB-100MG-TAB"
    for row in founding_rows["Product Codes"]:
        if row[2] == "47335-475-83":
            row[2] = "47335-475-8"
    found = [
        (code, sheet, cell)
        for code, sheet, cell, *_ in seen(make_workbook(founding_rows), exports_copy)
    ]
    assert ("not-an-id", "Limits", "B2") in found
    assert ("malformed-ndc", "Product Codes", "C10") in found
    assert not [f for f in found if f[0] in ("product-removed", "code-removed")]
