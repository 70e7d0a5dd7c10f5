"""Validation: the sheets' pandera schemas, then the cross-sheet rules; every failure a finding."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from . import rules, schemas
from .cells import typed_frame
from .findings import Finding, errors
from .pandera_import import pandera_pandas
from .reader import Sheet, Workbook, as_spelled, read_workbook

pa = pandera_pandas()


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
    findings += rules.check(workbook.sheets, frames, findings)
    return Validated(workbook, frames, ordered(as_spelled(findings, workbook.sheets)))


def _reported(reader_findings: list[Finding]) -> set[tuple]:
    # Cells the reader already reported (e.g. a formula with no saved value) are not reported again.
    return {(f.sheet, f.column, f.cell) for f in reader_findings if f.cell and f.column}


def check_sheet(sheet: Sheet, reported: set = frozenset()) -> tuple[pd.DataFrame, list[Finding]]:
    """Parse a sheet's cells to their types, then check them against the sheet's schema."""
    frame, findings, bad_cells = typed_frame(sheet)
    bad_cells |= {(h, row) for h in sheet.missing for row in frame.index}  # one finding per column
    bad_cells |= {
        (h, row)
        for (s, h, cell) in reported
        if s == sheet.name
        for row in [int(cell.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))]
    }
    if len(frame) == 0:
        return frame, findings
    lonely = _only_optional_rows(sheet)
    try:
        schemas.SHEETS[sheet.name].validate(_text_as_str(frame), lazy=True)
    except pa.errors.SchemaErrors as exc:
        failed = _schema_findings(sheet, frame, exc.schema_errors, bad_cells)
        findings += [f for f in failed if f.code != "required" or _row(f.cell) not in lonely]
    return frame, findings + list(lonely.values())


def _only_optional_rows(sheet: Sheet) -> dict[int, Finding]:
    """Rows holding only optional cells (a footnote typed on a row of its own, below its product):
    one finding each, at its first filled cell, instead of one per blank required cell."""
    required = schemas.required_headers(sheet.name)
    if not sheet.complete or not required:
        return {}
    raw = sheet.frame
    rows = raw.index[raw[required].isna().all(axis=1)]
    out = {}
    for row in rows:
        filled = [h for h in raw.columns if h not in required and raw.at[row, h] is not None]
        if not filled:
            continue
        out[int(row)] = Finding(
            "only-optional-cells",
            sheet.name,
            sheet.cell(filled[0], row),
            filled[0],
            raw.at[row, filled[0]],
            {"sheet": sheet.name, "filled": filled, "required": required},
        )
    return out


def _row(cell: str | None) -> int:
    return _split(cell)[1]


def _text_as_str(frame: pd.DataFrame) -> pd.DataFrame:
    """The text columns (str or None after typed_frame) in pandas' string type, as pandera sees
    them: it then checks their type by dtype instead of calling isinstance on every cell, a third
    of validation's time on 20,000 rows. The rest of dqm keeps plain str/None."""
    return frame.astype(
        {c: "str" for c, t in frame.dtypes.items() if pd.api.types.is_object_dtype(t)}
    )


# A column's check (pandera's Check.name, as schemas.py declares it) -> its finding's code.
CHECK_CODES = {
    "required": "required",
    "str_matches": "not-an-id",
    "str_length": "id-too-long",
    "isin": "not-one-of",
    "greater_than_or_equal_to": "below-minimum",
    "greater_than": "not-greater-than",
    "whole_number": "not-whole-number",
    "days": "days-out-of-range",
}


def _schema_findings(
    sheet: Sheet, frame: pd.DataFrame, failures: list[pa.errors.SchemaError], bad_cells
) -> list[Finding]:
    """One finding per failing cell, its code told by the check that failed (or by pandera's
    reason for a repeated value of a `unique` column), never by pandera's wording."""
    out = []
    cols = schemas.columns(sheet.name)
    first_rows: dict[str, dict[object, int]] = {}  # per column: each value's first row
    for failure in failures:
        header = getattr(failure.schema, "name", None)
        if header not in cols or failure.failure_cases is None:
            continue
        repeated = failure.reason_code == pa.errors.SchemaErrorReason.SERIES_CONTAINS_DUPLICATES
        code, params = _code(cols[header], None if repeated else failure.check)
        rows = [
            int(row)
            for row in failure.failure_cases["index"].tolist()
            if row is not None and not pd.isna(row) and (header, int(row)) not in bad_cells
        ]  # a cell already reported by cells.py as unreadable is not reported again
        # Looked up a column at a time: pandas' .at per cell cost 10 s on 40,000 repeated ids.
        values = sheet.frame[header].loc[rows].tolist()
        typed = frame[header].loc[rows].tolist() if repeated else values
        if repeated and header not in first_rows:  # each value's first row, once per column
            column = frame[header]
            firsts = column[~column.duplicated()]
            first_rows[header] = dict(zip(firsts, firsts.index, strict=True))
        for row, value, typed_value in zip(rows, values, typed, strict=True):
            extra = {}
            if repeated:
                first = int(first_rows[header][typed_value])
                if row == first:
                    continue
                extra = {"value": value, "first_row": first}
            out.append(
                Finding(
                    code, sheet.name, sheet.cell(header, row), header, value, {**params, **extra}
                )
            )
    # An id that is not one (spaces, capitals) is one finding, however long it is.
    not_ids = {(f.column, f.cell) for f in out if f.code == "not-an-id"}
    return [f for f in out if f.code != "id-too-long" or (f.column, f.cell) not in not_ids]


def _code(col: pa.Column, check: pa.Check | None) -> tuple[str, dict]:
    """The code of a failure of `check` on `col` (None: a repeated value), and its parameters."""
    params = {"header": col.name, "example": col.metadata["example"]}
    if check is None:
        return "not-unique", params
    code = CHECK_CODES.get(check.name, "check-failed")
    if code == "not-one-of":
        params["allowed"] = list(check.statistics["allowed_values"])
    elif code == "id-too-long":
        params["most"] = check.statistics["max_value"]
    elif code in ("below-minimum", "not-greater-than"):
        params["bound"] = check.statistics["min_value"]
    elif code == "days-out-of-range":
        params["most"] = schemas.MAX_DAYS
    elif code == "check-failed":
        params["check"] = check.name
    return code, params


def ordered(findings: list[Finding]) -> list[Finding]:
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
    return letters, int(cell[len(letters) :] or 0)
