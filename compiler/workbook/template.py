"""Writing workbooks in the contract's format: the staff template (`dqm template`) and the bundled
workbook, by the same code, so both carry the same dropdowns and help.

The help on each header and the Instructions sheet come from the pandera fields in schemas.py
(`description`, `metadata["example"]`): one source of truth for what a column means.
"""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation

from ..atomic import create_file, replace_file
from . import headers as h
from . import schemas

HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
INSTRUCTIONS = "Instructions"
MIN_VALIDATED_ROWS = 1000  # dropdowns reach this row at least, so new rows get them too

# What each sheet is for, shown on the Instructions sheet (the columns' help is in schemas.py).
SHEET_HELP = {
    "Ruleset": "Exactly one row: the id and title of this ruleset, and optionally the first date "
    "of service it decides (Effective Date; blank: the latest History Review Date).",
    "Policies": "One row per policy.",
    "Limits": "One row per product (strength and form): its maximum quantity per prescription "
    "(Per Rx policy), or over a window of days (Per Days policy: Retail Days and Home Delivery "
    "Days, empty on a Per Rx policy's rows). A product no longer limited keeps its row with "
    "Status Retired.",
    "Product Codes": "Optional: one row per code by which a claim names a product (a package NDC, "
    "or an RxCUI). A code names one product in the whole workbook.",
    "Criteria": "One row per override criterion.",
    "Overrides": "One row per product and criterion: the higher maximum when the criterion is met. "
    "A product with no row here has no overrides. A Per Days product's override repeats the "
    "product's Retail Days and Home Delivery Days: its caps are over the same window.",
    "Drug Lists": "One row per drug on a list; a name appears at most once per list.",
    "History": "One row per revision of a policy: the audit trail. A changed workbook must bring "
    "a new row; the latest Review Date of a policy equals its Review Date on Policies. A published "
    "row is never edited or removed, and a new row is never dated before the policy's latest "
    "published one. Retiring a policy: set its Status to Retired and add a 'Retirement' row.",
    "Tests": "Optional: test claims with the decision you expect, decided as one run in sheet "
    "order (an earlier row of a Per Days product counts toward a later one of the same Member "
    "ID). Name the product by Product ID, NDC or RxCUI. A workbook whose Tests fail does not "
    "compile.",
}

# Columns whose cells are text even when they look like numbers: Excel would drop an NDC's
# leading zero (00093-… becomes 93…), so they are formatted as Text.
TEXT_COLUMNS = {("Product Codes", h.CODE), ("Tests", h.NDC), ("Tests", h.RXCUI)}

# Columns of whole days (a Per Days window): Excel stops anything but a whole number in range.
DAYS_COLUMNS = {(sheet, header) for sheet in ("Limits", "Overrides") for header in h.CHANNEL_DAYS}

# Columns whose cells must be one of a fixed list (the schemas' `isin` checks).
FIXED_CHOICES = {
    ("Policies", h.POLICY_TYPE): schemas.POLICY_TYPES,
    ("Product Codes", h.CODE_SYSTEM): schemas.CODE_SYSTEM_LABELS,
    ("Policies", h.STATUS): schemas.STATUSES,
    ("Limits", h.STATUS): schemas.STATUSES,
    ("Criteria", h.MET_WHEN): schemas.MET_WHEN,
    ("Tests", h.CHANNEL): schemas.CHANNELS,
    ("Tests", h.EXPECTED_DECISION): schemas.EXPECTED_DECISIONS,
}

# Columns whose cells name a row of another sheet: (sheet, header) -> (sheet, header) listed.
ID_CHOICES = {
    ("Limits", h.POLICY_ID): ("Policies", h.POLICY_ID),
    ("History", h.POLICY_ID): ("Policies", h.POLICY_ID),
    ("Product Codes", h.PRODUCT_ID): ("Limits", h.PRODUCT_ID),
    ("Criteria", h.DRUG_LIST_ID): ("Drug Lists", h.DRUG_LIST_ID),
    ("Overrides", h.PRODUCT_ID): ("Limits", h.PRODUCT_ID),
    ("Overrides", h.CRITERION_ID): ("Criteria", h.CRITERION_ID),
    ("Tests", h.PRODUCT_ID): ("Limits", h.PRODUCT_ID),
}


def column_help(sheet: str, header: str) -> str:
    """What to type in a column, as the header's input message says it (Excel allows 255 chars)."""
    col = schemas.columns(sheet)[header]
    required = header in schemas.required_headers(sheet)
    text = col.description or ""
    if required:
        text += " Required."
    example = (col.metadata or {}).get("example")
    if example:
        text += f" Example: {example}"
    return text[:255]


def choices_formula(sheet: str, header: str) -> str | None:
    """The list a column's dropdown offers, as a data validation formula; None if it has none."""
    if (sheet, header) in FIXED_CHOICES:
        return '"' + ",".join(FIXED_CHOICES[(sheet, header)]) + '"'
    if (sheet, header) in ID_CHOICES:
        target, target_header = ID_CHOICES[(sheet, header)]
        letter = _letter(target, target_header)
        return f"{quote_sheetname(target)}!${letter}$2:${letter}${MIN_VALIDATED_ROWS}"
    return None


def write_workbook(
    path: str | Path, rows: dict[str, list[list]] | None = None, *, replace: bool = False
) -> Path:
    """Write the Instructions sheet and every contract sheet with its headers (row 1), their help
    and dropdowns, and the given data rows. A new file (FileExistsError if `path` exists: a
    workbook is staff work) unless `replace`."""
    rows = rows or {}
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    _instructions(wb.create_sheet(INSTRUCTIONS))
    for name in schemas.SHEETS:
        _contract_sheet(wb.create_sheet(name), name, rows.get(name, []))
    return save_atomically(wb, path, replace=replace)


def _contract_sheet(ws, name: str, data: list[list]) -> None:
    cols = schemas.columns(name)
    ws.append(list(cols))
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for r in data:
        ws.append(list(r))
    last_row = max(MIN_VALIDATED_ROWS, ws.max_row + 500)
    for i, (header, col) in enumerate(cols.items(), start=1):
        letter = get_column_letter(i)
        ws.column_dimensions[letter].width = _width(
            header, col, [r[i - 1] for r in data if len(r) >= i]
        )
        if schemas.kind(col) == "date":
            ws.column_dimensions[letter].number_format = "mm/dd/yyyy"  # rows typed later too
            for (cell,) in ws.iter_rows(min_row=2, max_row=ws.max_row, min_col=i, max_col=i):
                cell.number_format = "mm/dd/yyyy"
        elif (name, header) in TEXT_COLUMNS:
            ws.column_dimensions[letter].number_format = "@"
            for (cell,) in ws.iter_rows(min_row=2, max_row=ws.max_row, min_col=i, max_col=i):
                cell.number_format = "@"
        help_text = column_help(name, header)
        title = header[:32]
        header_help = DataValidation(showInputMessage=True, promptTitle=title, prompt=help_text)
        header_help.add(f"{letter}1")
        ws.add_data_validation(header_help)
        if (name, header) in DAYS_COLUMNS:
            days = DataValidation(
                type="whole",
                operator="between",
                formula1="1",
                formula2=str(schemas.MAX_DAYS),
                allow_blank=True,
                showInputMessage=True,
                promptTitle=title,
                prompt=help_text,
                showErrorMessage=True,
                errorStyle="stop",
                errorTitle=title,
                error=f"Type a whole number of days from 1 to {schemas.MAX_DAYS}, such as 30.",
            )
            days.add(f"{letter}2:{letter}{last_row}")
            ws.add_data_validation(days)
        formula = choices_formula(name, header)
        if formula:
            fixed = (name, header) in FIXED_CHOICES
            # Fixed lists stop a wrong entry; an id list only warns, so an id can be typed before
            # its row exists on the other sheet (validation then names it if it never appears).
            dropdown = DataValidation(
                type="list",
                formula1=formula,
                allow_blank=True,
                showInputMessage=True,
                promptTitle=title,
                prompt=help_text,
                showErrorMessage=True,
                errorStyle="stop" if fixed else "warning",
                errorTitle=title,
                error=(
                    f"Choose one of: {', '.join(FIXED_CHOICES[(name, header)])}."
                    if fixed
                    else f"Not a {ID_CHOICES[(name, header)][1]} on the {ID_CHOICES[(name, header)][0]} sheet."
                ),
            )
            dropdown.add(f"{letter}2:{letter}{last_row}")
            ws.add_data_validation(dropdown)
    ws.freeze_panes = "A2"


def _width(header: str, col, values: list) -> float:
    example = str((col.metadata or {}).get("example") or "")
    longest = max([len(header), len(example)] + [len(str(v)) for v in values if v is not None])
    return float(max(12, min(60, longest + 2)))


def _instructions(ws) -> None:
    ws.append(["How to fill in this workbook"])
    ws["A1"].font = Font(bold=True, size=14)
    for line in [
        "One workbook is one ruleset. Each sheet has its headers in row 1 and data from row 2.",
        "Click a header to see what the column means; columns with a fixed list of values, and "
        "columns that name a row of another sheet, offer a dropdown.",
        "Check the workbook with: dqm validate WORKBOOK (add --annotate OUT.xlsx for a copy with "
        "every problem marked on its cell). Publish it with: dqm compile WORKBOOK.",
        "Errors block publishing; warnings do not. Header names may differ in case and spacing; "
        "unknown columns and hidden sheets are warnings; merged cells and formulas without a "
        "saved value are errors. This sheet is not read.",
        "",
    ]:
        ws.append([line])
    ws.append(["Sheet", "Column", "Required", "What to type", "Example"])
    table_row = ws.max_row
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
    for name in schemas.SHEETS:
        ws.append(
            [
                name,
                "",
                "optional sheet" if name in schemas.OPTIONAL_SHEETS else "",
                SHEET_HELP[name],
                "",
            ]
        )
        ws.cell(ws.max_row, 1).font = Font(bold=True)
        required = schemas.required_headers(name)
        for header, col in schemas.columns(name).items():
            choices = FIXED_CHOICES.get((name, header))
            what = (col.description or "") + (f" One of: {', '.join(choices)}." if choices else "")
            ws.append(
                [
                    "",
                    header,
                    "yes" if header in required else "",
                    what,
                    str((col.metadata or {}).get("example") or ""),
                ]
            )
    for letter, width in zip("ABCDE", (14, 30, 14, 80, 40), strict=True):
        ws.column_dimensions[letter].width = width
    for row in ws.iter_rows(min_row=table_row + 1):  # the paragraphs above overflow to the right
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")


def _letter(sheet: str, header: str) -> str:
    return get_column_letter(list(schemas.columns(sheet)).index(header) + 1)


def save_atomically(wb: openpyxl.Workbook, path: str | Path, *, replace: bool = False) -> Path:
    """Save a workbook so that a half-written file never shows: a new file (FileExistsError if
    `path` exists) unless `replace`."""
    out = io.BytesIO()
    wb.save(out)
    return (replace_file if replace else create_file)(path, out.getvalue())
