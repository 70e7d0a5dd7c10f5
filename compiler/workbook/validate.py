"""Validation: the sheets' pandera schemas, then the cross-sheet rules; every failure a finding."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pandera.pandas as pa

from . import rules

from . import schemas
from .cells import typed_frame
from .findings import Finding, errors
from .reader import Sheet, Workbook, read_workbook


@dataclass
class Validated:
    """A workbook's typed sheets (headers as columns, Excel rows as index) and all its findings."""

    workbook: Workbook
    frames: dict[str, pd.DataFrame]
    findings: list[Finding]

    @property
    def ok(self) -> bool:
        return not errors(self.findings)


def validate_file(path, data: bytes | None = None) -> Validated:
    """Read and validate the workbook at `path` (or its bytes)."""
    return validate(read_workbook(path, data))


def validate(workbook: Workbook) -> Validated:
    """Every sheet checked against its schema, then the cross-sheet rules."""
    findings = list(workbook.findings)
    frames: dict[str, pd.DataFrame] = {}
    reported = _reported(workbook.findings)
    for name, sheet in workbook.sheets.items():
        frame, sheet_findings = check_sheet(sheet, reported)
        frames[name] = frame
        findings += sheet_findings
    findings += rules.check(workbook.sheets, frames)
    return Validated(workbook, frames, _ordered(findings))


def _reported(reader_findings: list[Finding]) -> set[tuple]:
    # Cells the reader already reported (e.g. a formula with no saved value) are not reported again.
    return {(f.sheet, f.column, f.cell) for f in reader_findings if f.cell and f.column}


def check_sheet(sheet: Sheet, reported: set = frozenset()) -> tuple[pd.DataFrame, list[Finding]]:
    """Parse a sheet's cells to their types, then check them against the sheet's schema."""
    frame, findings, bad_cells = typed_frame(sheet)
    bad_cells |= {(h, row) for h in sheet.missing for row in frame.index}  # one finding per column
    bad_cells |= {(h, row) for (s, h, cell) in reported if s == sheet.name
                  for row in [int(cell.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))]}
    if len(frame) == 0:
        return frame, findings
    try:
        schemas.SHEETS[sheet.name].validate(_text_as_str(frame), lazy=True)
    except pa.errors.SchemaErrors as exc:
        findings += _schema_findings(sheet, frame, exc.failure_cases, bad_cells)
    return frame, findings


def _text_as_str(frame: pd.DataFrame) -> pd.DataFrame:
    """The text columns (str or None after typed_frame) in pandas' string type, as pandera sees
    them: it then checks their type by dtype instead of calling isinstance on every cell, a third
    of validation's time on 20,000 rows. The rest of dqm keeps plain str/None."""
    return frame.astype({c: "str" for c, t in frame.dtypes.items() if t == object})


def _schema_findings(sheet: Sheet, frame: pd.DataFrame, cases: pd.DataFrame, bad_cells) -> list[Finding]:
    out = []
    cols = schemas.columns(sheet.name)
    first_row: dict[tuple[str, object], int] = {}
    for case in cases.itertuples(index=False):
        header, check, row = case.column, str(case.check), case.index
        if header not in cols or row is None or pd.isna(row):
            continue
        row = int(row)
        if (header, row) in bad_cells:
            continue  # already reported by cells.py as unreadable
        value = sheet.frame.at[row, header]
        if check == "field_uniqueness":
            key = (header, frame.at[row, header])
            if key not in first_row:
                dupes = frame.index[frame[header] == frame.at[row, header]]
                first_row[key] = int(dupes.min())
            if row == first_row[key]:
                continue
        out.append(Finding(sheet.name, sheet.cell(header, row), header, value,
                           _message(header, cols[header], check, value, first_row.get((header, frame.at[row, header])))))
    return out


def _message(header: str, col: pa.Column, check: str, value, first: int | None) -> str:
    example = col.metadata["example"]
    if check == "required":
        return f"'{header}' is required. Type a value such as {example!r}."
    if check.startswith("str_matches"):
        return (f"'{header}' must be a short id of lowercase letters, digits and hyphens, "
                f"such as {example!r}. Type it without spaces or capitals.")
    if check.startswith("isin"):
        allowed = next(c.statistics["allowed_values"] for c in col.checks if c.name == "isin")
        return f"'{header}' must be one of: {', '.join(repr(a) for a in allowed)}. Type one of those."
    if check.startswith("greater_than_or_equal_to"):
        bound = check[check.index("(") + 1:-1]
        return f"'{header}' must be at least {bound}. Type a number such as {example}."
    if check.startswith("greater_than"):
        bound = check[check.index("(") + 1:-1]
        return f"'{header}' must be greater than {bound}. Type a number such as {example}."
    if check == "whole_number":
        return f"'{header}' must be a whole number. Type a number such as {example}."
    if check == "field_uniqueness":
        return (f"'{header}' {value!r} is already used in row {first}; each one must be unique. "
                "Type a different one, or delete the repeated row.")
    return f"'{header}' failed the check {check}. Type a value such as {example!r}."


def _ordered(findings: list[Finding]) -> list[Finding]:
    """Workbook order: sheet as in the contract, then row, then column."""
    sheet_order = {name: i for i, name in enumerate(schemas.SHEETS)}

    def key(f: Finding):
        col, row = _split(f.cell)
        return (sheet_order.get(f.sheet, -1), row, len(col), col)

    return sorted(findings, key=key)


def _split(cell: str | None) -> tuple[str, int]:
    if not cell:
        return "", 0
    letters = cell.rstrip("0123456789")
    return letters, int(cell[len(letters):] or 0)
