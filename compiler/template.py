"""Writing workbooks in the contract's format: the staff template and the bundled workbook."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import openpyxl
from openpyxl.styles import Font, PatternFill

from . import schemas

HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")


def write_workbook(path: str | Path, rows: dict[str, list[list]] | None = None) -> Path:
    """Write every contract sheet with its headers (row 1) and the given data rows."""
    rows = rows or {}
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name in schemas.SHEETS:
        ws = wb.create_sheet(name)
        cols = schemas.columns(name)
        ws.append(list(cols))
        for cell in ws[1]:
            cell.font = Font(bold=True)
            cell.fill = HEADER_FILL
        for r in rows.get(name, []):
            ws.append(list(r))
        for i, (header, col) in enumerate(cols.items(), start=1):
            letter = openpyxl.utils.get_column_letter(i)
            ws.column_dimensions[letter].width = max(14, min(60, len(header) + 4))
            if schemas.kind(col) == "date":
                for (cell,) in ws.iter_rows(min_row=2, min_col=i, max_col=i):
                    cell.number_format = "mm/dd/yyyy"
        ws.freeze_panes = "A2"
    return save_atomically(wb, path)


def save_atomically(wb: openpyxl.Workbook, path: str | Path) -> Path:
    """Save to a temporary file beside `path`, then rename: a half-written workbook never shows."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    os.close(fd)
    try:
        wb.save(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
