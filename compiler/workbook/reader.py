"""Reading a workbook: sheets -> raw DataFrames indexed by Excel row number, plus reading findings.

Cells are read with calamine (fast, never runs macros, returns saved formula values), only after
container.py has checked the file (not legacy/encrypted, no zip bomb, no DTDs, no macros, sheets
small enough to lay out). openpyxl, guarded by defusedxml, is used only when a sheet holds
formulas, to find those with no saved value.

Handled on purpose (documented in workbook/README.md):
- header matching ignores case and repeated/surrounding spaces;
- unknown columns and hidden sheets are warnings; other sheets are ignored;
- merged cells inside a sheet's columns are errors (only the top-left cell keeps its value);
- a formula with a saved value uses that value; one without is an error.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..vocabulary import norm_header
from . import raw, schemas
from .container import MAX_FILE_BYTES
from .findings import ERROR, WARNING, Finding, column_letter
from .headers import ALSO_SPELLED


@dataclass
class Sheet:
    """One sheet as read: raw cell values (None for blank) indexed by Excel row number."""

    name: str  # the contract's name, whatever case the workbook used
    frame: pd.DataFrame  # columns: the contract's headers; missing optional ones are all None
    letters: dict[str, str] = field(default_factory=dict)  # header -> column letter
    next_row: int = 2  # first row after the last data row (where a new row would go)
    missing: frozenset[str] = frozenset()  # required headers not found in row 1
    # header -> the other spelling row 1 gives it ('Retail Max Qty per Rx'), where it does
    spelled: dict[str, str] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not self.missing

    def cell(self, header: str, row: int) -> str:
        return f"{self.letters.get(header, '?')}{row}"

    def finding(
        self, code: str, header: str, row: int, params: dict, severity: str = ERROR
    ) -> Finding:
        """A finding at the cell of `header` in Excel row `row`, holding what the cell holds."""
        value = self.frame.at[row, header]
        return Finding(code, self.name, self.cell(header, row), header, value, params, severity)


@dataclass
class Workbook:
    file_name: str
    sha256: str
    sheets: dict[str, Sheet]
    findings: list[Finding]


def read_workbook(path: str | Path, data: bytes | None = None) -> Workbook:
    """Read every contract sheet of the .xlsx at `path` (or its bytes, read once and hashed once).
    Never raises on bad input."""
    path = Path(path)
    if data is None:
        try:
            size = path.stat().st_size
        except OSError as exc:
            return _refused(
                path.name,
                "",
                _whole("cannot-open-file", path=str(path), reason=exc.strerror or str(exc)),
            )
        if size > MAX_FILE_BYTES:
            return _refused(path.name, "", _too_big(size))
        try:
            data = path.read_bytes()
        except OSError as exc:
            return _refused(
                path.name,
                "",
                _whole("cannot-read-file", path=str(path), reason=exc.strerror or str(exc)),
            )
    digest = hashlib.sha256(data).hexdigest()
    if len(data) > MAX_FILE_BYTES:
        return _refused(path.name, digest, _too_big(len(data)))
    book = raw.read_raw(data, path.name)
    if book.problem:
        return _refused(path.name, digest, book.problem)

    findings: list[Finding] = []
    sheets: dict[str, Sheet] = {}
    for name in schemas.SHEETS:
        found = book.sheets.get(name)
        if found is None:
            if name not in schemas.OPTIONAL_SHEETS:
                findings.append(
                    Finding(
                        "missing-sheet",
                        name,
                        None,
                        None,
                        None,
                        {"sheet": name, "headers": list(schemas.columns(name))},
                    )
                )
            continue
        if not found.visible:
            findings.append(
                Finding("hidden-sheet", name, None, None, None, {"title": found.title}, WARNING)
            )
        if found.problem:
            findings.append(found.problem)
            continue
        sheet, sheet_findings = _sheet_frame(name, found.rows, found.merged)
        sheet_findings += _error_findings(sheet, book.container.error_cells.get(found.title, []))
        sheets[name] = sheet
        findings += sheet_findings

    if book.container.has_formulas and sheets:
        titles = {name: s.title for name, s in book.sheets.items()}
        findings += _formulas_without_values(data, sheets, titles, book.container.error_cells)
    return Workbook(path.name, digest, sheets, findings)


def _too_big(size: int) -> Finding:
    return _whole("file-too-large", size=size, most=MAX_FILE_BYTES)


def _whole(code: str, **params) -> Finding:
    """A finding about the file as a whole: it names no sheet."""
    return Finding(code, None, None, None, None, params)


def _error_findings(sheet: Sheet, cells: list[tuple[str, str]]) -> list[Finding]:
    """Cells showing an Excel error (#DIV/0!, #N/A, #REF!): calamine reads them as blank."""
    header_of = {letter: h for h, letter in sheet.letters.items()}
    out = []
    for ref, value in cells:
        letters = ref.rstrip("0123456789")
        h = header_of.get(letters)
        if h is None or int(ref[len(letters) :]) < 2:
            continue
        out.append(Finding("cell-shows-error", sheet.name, ref, h, value, {"error": value}))
    return out


def _refused(name: str, digest: str, problem: Finding) -> Workbook:
    return Workbook(name, digest, {}, [problem])


def _sheet_frame(name: str, rows: list[list], merged) -> tuple[Sheet, list[Finding]]:
    findings: list[Finding] = []
    headers = schemas.columns(name)
    wanted = _wanted(headers)
    header_row = rows[0] if rows else []
    positions: dict[str, int] = {}
    unknown: list[tuple[int, str]] = []
    spelled: dict[str, str] = {}
    for i, text in enumerate(header_row):
        if _blank(text):
            continue
        h = wanted.get(norm_header(text))
        if h is not None and h not in positions and norm_header(text) != norm_header(h):
            spelled[h] = next(s for s, to in ALSO_SPELLED.items() if _same(s, text))
        if h is None:
            unknown.append((i, str(text)))
        elif h in positions:
            findings.append(
                Finding(
                    "duplicate-header",
                    name,
                    f"{column_letter(i)}1",
                    h,
                    text,
                    {"header": h, "other_column": column_letter(positions[h])},
                )
            )
        else:
            positions[h] = i
    width = max(len(header_row), 1)
    next_free = max((i + 1 for i, t in enumerate(header_row) if not _blank(t)), default=0)
    lower = None if positions else _headers_lower_down(rows, wanted)
    if lower:
        # One finding for the misplaced header row, not one per column it seems to lack.
        findings.append(
            Finding(
                "headers-not-in-row-1", name, f"A{lower}", None, None, {"sheet": name, "row": lower}
            )
        )
    for h in schemas.required_headers(name):
        if h in positions or lower:
            continue
        close = difflib.get_close_matches(
            norm_header(h), [norm_header(t) for _, t in unknown], n=1, cutoff=0.6
        )
        match = next(((i, t) for i, t in unknown if close and norm_header(t) == close[0]), None)
        if match:
            i, text = match
            unknown.remove(match)
            findings.append(
                Finding(
                    "misnamed-header",
                    name,
                    f"{column_letter(i)}1",
                    h,
                    text,
                    {"text": text, "header": h},
                )
            )
        else:
            findings.append(
                Finding(
                    "missing-column", name, f"{column_letter(next_free)}1", h, None, {"header": h}
                )
            )
            next_free += 1
    for i, text in unknown:
        findings.append(
            Finding(
                "unknown-column",
                name,
                f"{column_letter(i)}1",
                None,
                text,
                {"text": text, "sheet": name, "headers": list(headers)},
                WARNING,
            )
        )

    data = {}
    columns = (
        list(zip(*rows[1:], strict=True)) if len(rows) > 1 else []
    )  # calamine pads rows to the sheet's width
    for h in headers:
        i = positions.get(h)
        if i is None or i >= len(columns):
            data[h] = [None] * (len(rows) - 1)
        else:  # the common cases inline (numbers as they are, text stripped); the rest in _cell
            data[h] = [
                v
                if v.__class__ is float
                else (v.strip() or None)
                if v.__class__ is str
                else _cell(v)
                for v in columns[i]
            ]
    frame = pd.DataFrame(
        data, index=pd.RangeIndex(2, len(rows) + 1) if rows else pd.RangeIndex(2, 2), dtype=object
    )
    frame = frame[frame.notna().any(axis=1)] if len(frame) else frame
    frame.index.name = "row"
    letters = {h: column_letter(positions.get(h, width)) for h in headers}
    for h in headers:  # columns not in the file point at where they would go
        if h not in positions:
            letters[h] = column_letter(next_free if h in schemas.required_headers(name) else width)
    used = set(positions.values())
    for (r0, c0), (r1, c1) in merged:
        if any(c in used for c in range(c0, c1 + 1)):
            top = f"{column_letter(c0)}{r0 + 1}"
            findings.append(
                Finding(
                    "merged-cells",
                    name,
                    top,
                    None,
                    None,
                    {"top": top, "bottom": f"{column_letter(c1)}{r1 + 1}"},
                )
            )
    next_row = int(frame.index.max()) + 1 if len(frame) else 2
    missing = frozenset(h for h in schemas.required_headers(name) if h not in positions)
    return Sheet(name, frame, letters, next_row, missing, spelled), findings


def _wanted(headers) -> dict[str, str]:
    """A header as matched (norm_header) -> the contract's header: each header, and the other
    spellings that read as it (ALSO_SPELLED: 'Retail Max Qty per Rx' is 'Retail Max Qty')."""
    wanted = {norm_header(h): h for h in headers}
    for spelling, h in ALSO_SPELLED.items():
        if h in headers:
            wanted[norm_header(spelling)] = h
    return wanted


def _same(a: object, b: object) -> bool:
    return norm_header(a) == norm_header(b)


def as_spelled(findings: list[Finding], sheets: dict[str, Sheet]) -> list[Finding]:
    """Findings naming their column as the workbook spells it: a workbook whose row 1 says
    'Retail Max Qty per Rx' reads, in its findings, 'Retail Max Qty per Rx' (header and message)."""
    spelled = {name: s.spelled for name, s in sheets.items() if s.spelled}
    if not spelled:
        return findings
    out = []
    for f in findings:
        names = spelled.get(f.sheet)
        if not names:
            out.append(f)
            continue
        params = {k: _respelled(v, names) for k, v in f.params.items()}
        out.append(
            dataclasses.replace(f, column=names.get(f.column, f.column), params=params)
            if f.column in names or params != dict(f.params)
            else f
        )
    return out


def _respelled(value, names: dict[str, str]):
    if isinstance(value, str):
        return names.get(value, value)
    if isinstance(value, list) and any(isinstance(v, str) and v in names for v in value):
        return [names.get(v, v) if isinstance(v, str) else v for v in value]
    return value


def _headers_lower_down(rows: list[list], wanted: dict[str, str]) -> int | None:
    """The Excel row (2 to 10) holding most of the sheet's headers, when row 1 holds none."""
    for r, row in enumerate(rows[1:10], start=2):
        hits = sum(1 for t in row if not _blank(t) and norm_header(t) in wanted)
        if hits >= max(1, len(wanted) // 2):
            return r
    return None


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _cell(value: object) -> object:
    """A calamine cell as a plain Python value; blank text is None; datetimes at midnight are dates."""
    if _blank(value):
        return None
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date()
    return value


def _formulas_without_values(
    data: bytes,
    sheets: dict[str, Sheet],
    titles: dict[str, str],
    error_cells: dict[str, list[tuple[str, str]]],
) -> list[Finding]:
    """Formula cells that calamine read as blank: Excel never saved a value for them."""
    import openpyxl  # only for workbooks with formulas; defusedxml guards its XML parsing

    findings: list[Finding] = []
    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    try:
        for name, sheet in sheets.items():
            ws = wb[titles[name]]
            shows_error = {ref for ref, _ in error_cells.get(ws.title, [])}  # saved, as an error
            col_of = {v: h for h, v in sheet.letters.items()}
            for row in ws.iter_rows(min_row=2):
                for c in row:
                    v = getattr(c, "value", None)
                    if not (isinstance(v, str) and v.startswith("=") and c.data_type == "f"):
                        continue
                    h = col_of.get(c.column_letter)
                    if h is None:
                        continue
                    if c.row in sheet.frame.index and sheet.frame.at[c.row, h] is not None:
                        continue
                    if f"{c.column_letter}{c.row}" in shows_error:
                        continue
                    findings.append(
                        Finding(
                            "formula-without-value",
                            name,
                            f"{c.column_letter}{c.row}",
                            h,
                            v,
                            {"formula": v},
                        )
                    )
    finally:
        wb.close()
    return findings
