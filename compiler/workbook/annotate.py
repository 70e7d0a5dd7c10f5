"""Findings in Excel: a copy of the workbook in which each bad cell is filled and carries its
message as a comment, with a Findings sheet listing them all with their codes (`dqm validate
--annotate`, and the app's download button). The source workbook is never written.

A file the reader refused before parsing (not a workbook, encrypted, a zip bomb, a sheet too large
to lay out) is never opened here either: its annotated copy holds the Findings sheet alone.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import openpyxl
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, MergedCell
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.utils.cell import coordinate_from_string
from openpyxl.worksheet.hyperlink import Hyperlink

from ..atomic import create_file
from ..errors import AnnotateError
from .container import MAX_FILE_BYTES, check_container
from .findings import ERROR, Finding, errors, shown_value, warnings
from .reader import norm_header
from .template import HEADER_FILL

FINDINGS_SHEET = "Findings"
ERROR_FILL = PatternFill("solid", fgColor="FFC7CE")  # Excel's own "bad" red
WARNING_FILL = PatternFill("solid", fgColor="FFEB9C")  # and its "neutral" amber
AUTHOR = "dqm validate"
_MAX_SHOWN = 1_000  # characters of a value shown on the Findings sheet


def annotate_workbook(source: bytes, findings: list[Finding], name: str = "workbook.xlsx") -> bytes:
    """The annotated copy of the workbook `source` (its bytes), as bytes of a new .xlsx."""
    # A workbook-level finding means the reader refused the file unopened: so does this.
    refused_unread = any(f.sheet is None for f in findings)
    wb = _open_copy(b"" if refused_unread else source, name)
    ordered = errors(findings) + warnings(findings)
    titles = {norm_header(ws.title): ws.title for ws in wb.worksheets}
    marked: dict[tuple[str, str], object] = {}
    merged: dict[str, dict] = {}
    for f in ordered:
        title = titles.get(norm_header(f.sheet)) if f.sheet else None
        if title is None or not f.cell:
            continue
        cell = _cell(wb[title], f.cell, merged)
        if cell is None:
            continue
        key = (title, cell.coordinate)
        text = f"{f.severity.upper()}: {f.message}"
        if key in marked:  # several findings on one cell share one comment; errors came first
            text = cell.comment.text + "\n\n" + text
        else:
            cell.fill = ERROR_FILL if f.severity == ERROR else WARNING_FILL
        cell.comment = Comment(_clean(text), AUTHOR, width=360, height=160)
        marked[key] = cell
    _findings_sheet(wb, ordered, titles, merged)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def annotate_file(workbook: str | Path, out: str | Path, findings: list[Finding]) -> Path:
    """Write the annotated copy of `workbook` to `out`, a new .xlsx file: never the workbook
    itself, never any other existing file (a workbook is staff work)."""
    workbook, out = Path(workbook), Path(out)
    if out.resolve() == workbook.resolve() or (out.exists() and os.path.samefile(out, workbook)):
        raise AnnotateError(
            f"--annotate {out} is the workbook itself; dqm never writes the source "
            "workbook. Give another file name, such as "
            f"{_suggested(workbook)}."
        )
    if out.suffix.lower() != ".xlsx":
        raise AnnotateError(
            f"--annotate {out}: the annotated copy is an Excel workbook; give a name ending in "
            f".xlsx, such as {_suggested(workbook)}."
        )
    if out.exists() or out.is_symlink():
        raise AnnotateError(_exists(out, workbook))
    if not out.parent.is_dir():
        raise AnnotateError(f"Cannot write {out}: the folder {out.parent} does not exist.")
    refused_unread = any(f.sheet is None for f in findings)  # the reader never opened it: nor do we
    source = b"" if refused_unread else workbook.read_bytes()
    data = annotate_workbook(source, findings, workbook.name)
    try:
        return create_file(out, data)
    except FileExistsError:  # made while the copy was being written
        raise AnnotateError(_exists(out, workbook)) from None


def _suggested(workbook: Path) -> str:
    return workbook.with_name(workbook.stem + "-findings.xlsx").name


def _exists(out: Path, workbook: Path) -> str:
    return (
        f"--annotate {out} already exists; dqm never replaces a file (it may be someone's "
        f"work). Give a new name, such as {_suggested(workbook)}, or move that file away."
    )


def _open_copy(source: bytes, name: str) -> openpyxl.Workbook:
    if source and len(source) <= MAX_FILE_BYTES and check_container(source, name).safe_to_open:
        try:
            return openpyxl.load_workbook(io.BytesIO(source))
        except Exception:
            pass
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    return wb


def _cell(ws, ref: str, merged: dict):
    """The cell at `ref` that can carry a comment (a merged range's top-left cell), or None.
    `merged` caches, per sheet, which merged range covers each row (built once per sheet)."""
    try:
        coordinate_from_string(ref)
    except ValueError:  # e.g. '?1' for a column the reader could not place
        return None
    cell = ws[ref]
    if isinstance(cell, MergedCell):  # only a merged range's top-left cell holds a comment
        if ws.title not in merged:
            by_row: dict[int, list] = {}
            for rng in ws.merged_cells.ranges:  # ranges never overlap: linear in the sheet
                for row in range(rng.min_row, rng.max_row + 1):
                    by_row.setdefault(row, []).append(rng)
            merged[ws.title] = by_row
        for rng in merged[ws.title].get(cell.row, []):
            if rng.min_col <= cell.column <= rng.max_col:
                return ws.cell(rng.min_row, rng.min_col)
        return None
    return cell


def _findings_sheet(
    wb: openpyxl.Workbook, ordered: list[Finding], titles: dict[str, str], merged: dict
) -> None:
    ws = wb.create_sheet(FINDINGS_SHEET, 0)  # first, and openpyxl renames it if the name is taken
    wb.active = 0
    for other in wb.worksheets[1:]:
        other.sheet_view.tabSelected = False
    # The code last: staff read "What to do"; the code is what a support request or a script quotes.
    ws.append(["Severity", "Sheet", "Cell", "Column", "Found", "What to do", "Code"])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
    if not ordered:
        ws.append(["", "", "", "", "", "No problems found."])
    # Rows are counted here: asking openpyxl for ws.max_row walks every cell, once per finding.
    for row, f in enumerate(ordered, start=2):
        shown = shown_value(f.value)
        if isinstance(shown, str):
            shown = _clean(shown[:_MAX_SHOWN] + ("…" if len(shown) > _MAX_SHOWN else ""))
        values = [
            f.severity,
            f.sheet or "(workbook)",
            f.cell or "",
            f.column or "",
            shown,
            _clean(f.message),
            f.code,
        ]
        for col, value in enumerate(values, start=1):
            cell = ws.cell(row, col, value)
            if isinstance(value, str):
                cell.data_type = (
                    "s"  # text from the workbook is text: "=HYPERLINK(…)" is no formula
                )
        ws.cell(row, 1).fill = ERROR_FILL if f.severity == ERROR else WARNING_FILL
        title = titles.get(norm_header(f.sheet)) if f.sheet else None
        if title and f.cell and _cell(wb[title], f.cell, merged) is not None:
            link = ws.cell(row, 3)
            link.hyperlink = Hyperlink(
                ref=link.coordinate, location=f"'{title}'!{f.cell}"
            )  # in-book
            link.font = Font(color="0563C1", underline="single")
    for letter, width in zip("ABCDEFG", (10, 14, 8, 28, 30, 100, 26), strict=True):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A2"


def _clean(text: str) -> str:
    return ILLEGAL_CHARACTERS_RE.sub("", text)
