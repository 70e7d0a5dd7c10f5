"""A workbook's cells as calamine reads them: the contract's sheets as rows of plain values.
reader.py turns them into frames; this module imports no pandas.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import python_calamine

from ..vocabulary import SHEET_NAMES, norm_header
from .container import MAX_CELLS, MAX_COLUMNS, MAX_ROWS, Container, check_container
from .findings import Finding, column_letter


@dataclass
class RawSheet:
    name: str  # the contract's name
    title: str  # the sheet's name in the workbook, whatever its case
    visible: bool
    rows: list[list] = field(default_factory=list)  # calamine pads each row to the sheet's width
    merged: list = field(default_factory=list)  # ((row0, col0), (row1, col1)), zero-based
    problem: Finding | None = None  # too large, or unreadable: the sheet was not read


@dataclass
class RawBook:
    container: Container
    sheets: dict[str, RawSheet]  # the contract's sheet name -> sheet (absent: not in the workbook)
    problem: Finding | None = None  # the file as a whole cannot be read


def read_raw(data: bytes, file_name: str) -> RawBook:
    """The contract's sheets of a workbook's bytes, checked by container.py before calamine opens them."""
    container = check_container(data, file_name)
    if container.problem:
        return RawBook(container, {}, container.problem)
    try:
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as exc:  # calamine raises its own error types for corrupt parts
        return RawBook(
            container,
            {},
            Finding("unreadable-workbook", None, None, None, None, {"error": str(exc)}),
        )
    return RawBook(
        container,
        {name: _sheet(book, container, name, meta) for name, meta in _present(book).items()},
    )


def _present(book) -> dict:
    """The contract's sheets in the workbook, in SHEET_NAMES order: name -> calamine's metadata."""
    by_norm = {norm_header(m.name): m for m in book.sheets_metadata}
    return {
        name: by_norm[norm_header(name)] for name in SHEET_NAMES if norm_header(name) in by_norm
    }


def _sheet(book, container: Container, name: str, meta) -> RawSheet:
    sheet = RawSheet(name, meta.name, str(meta.visible).rsplit(".", 1)[-1].lower() == "visible")
    rows_, cols_ = container.extent(meta.name)
    if _too_large(rows_, cols_):
        # Refused before calamine lays out the sheet: one cell at XFD1048576 would make it
        # allocate seventeen billion.
        sheet.problem = too_large(name, meta.name, rows_, cols_)
        return sheet
    try:
        raw = book.get_sheet_by_name(meta.name)
        rows = raw.to_python(skip_empty_area=False)
        merged = raw.merged_cell_ranges or []
    except Exception as exc:
        sheet.problem = Finding(
            "unreadable-sheet", name, None, None, None, {"title": meta.name, "error": str(exc)}
        )
        return sheet
    width = max((len(r) for r in rows), default=0)
    if _too_large(len(rows), width):
        sheet.problem = too_large(name, meta.name, len(rows), width)
        return sheet
    sheet.rows, sheet.merged = rows, merged
    return sheet


def too_large(name: str, title: str, rows: int, cols: int) -> Finding:
    """The finding for sheet `name` (titled `title` in the workbook) reaching `rows` x `cols`."""
    return Finding(
        "sheet-too-large",
        name,
        None,
        None,
        None,
        {
            "title": title,
            "rows": rows,
            "last_column": column_letter(max(cols, 1) - 1),
            "max_rows": MAX_ROWS,
            "max_columns": MAX_COLUMNS,
            "max_cells": MAX_CELLS,
        },
    )


def _too_large(rows: int, cols: int) -> bool:
    return rows > MAX_ROWS or cols > MAX_COLUMNS or rows * cols > MAX_CELLS
