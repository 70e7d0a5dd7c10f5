"""The workbook's headers are spelled once (compiler/workbook/headers.py); the schemas pair each
with its ruleset field, and the rest of the workbook and ruleset stages name columns by them."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from compiler.ruleset import diff
from compiler.vocabulary import CHANNELS, MAX_QTY_FIELDS
from compiler.workbook import headers, schemas

ROOT = Path(__file__).resolve().parents[1]
HEADERS = {v for k, v in vars(headers).items() if k.isupper() and isinstance(v, str)}
# Modules that name workbook columns (the JDM graph's and the app's labels are their own words).
NAMING_COLUMNS = [
    *sorted((ROOT / "compiler" / "workbook").glob("*.py")),
    *(
        ROOT / "compiler" / "ruleset" / f"{m}.py"
        for m in ("build", "check", "diff", "draft", "history", "testsheet", "walk")
    ),
]
# The annotated copy's own Findings sheet has a column named Code, as Product Codes has.
NOT_A_WORKBOOK_HEADER = {("annotate.py", "Code")}


def test_every_schema_header_is_a_constant_and_every_constant_a_schema_header():
    # The other spellings of a header (ALSO_SPELLED) read as it; they are no column of their own.
    assert {h for sheet in schemas.SHEETS for h in schemas.columns(sheet)} == HEADERS - set(
        headers.ALSO_SPELLED
    )
    assert set(headers.ALSO_SPELLED.values()) <= HEADERS


def test_the_schemas_pair_each_header_with_its_ruleset_field():
    assert schemas.fields("Limits") == {
        "Policy ID": "policy_id",
        "Product ID": "product_id",
        "Product": "product",
        "Strength and Form": "strength_and_form",
        "Retail Max Qty": "retail_max_qty",
        "Home Delivery Max Qty": "home_delivery_max_qty",
        "Unit": "unit",
        "Footnote": "footnote",
        "Retail Days": "retail_days",
        "Home Delivery Days": "home_delivery_days",
        "Status": "status",
    }
    assert schemas.fields("Tests")["Test ID"] == "test_id"
    assert [schemas.fields("Overrides")[h] for h in headers.CHANNEL_MAX_QTY] == [
        MAX_QTY_FIELDS[c] for c in CHANNELS
    ]


def test_one_header_is_one_field_on_every_sheet_and_diff_labels_fields_by_it():
    field_of: dict[str, str] = {}
    for sheet in schemas.SHEETS:
        for header, field in schemas.fields(sheet).items():
            assert field_of.setdefault(header, field) == field, (sheet, header)
    header_of = {field: header for header, field in field_of.items()}
    # A Per Rx maximum's change is told in its per-Rx words, the header's other spelling.
    per_rx = {header: spelling for spelling, header in headers.ALSO_SPELLED.items()}
    assert {f: per_rx.get(header_of[f], header_of[f]) for f in diff.LABELS} == diff.LABELS


def test_no_module_spells_a_workbook_header_again():
    spelled = [
        (path.name, node.lineno, node.value)
        for path in NAMING_COLUMNS
        if path.name != "headers.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant)
        and node.value in HEADERS
        and (path.name, node.value) not in NOT_A_WORKBOOK_HEADER
    ]
    assert spelled == []


def test_the_diff_of_two_versions_loads_no_schema_library():
    code = "import sys, compiler.ruleset.diff; print('pandera' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
