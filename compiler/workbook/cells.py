"""Typing cells before the schemas check them: numbers and dates are parsed here, one cell at a
time, so a bad cell becomes its own finding instead of hiding the rest of its column (as a failed
pandera coercion would)."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

from ..text import cell_text
from . import schemas
from .findings import Finding
from .reader import Sheet

_PLAIN = (int, float)  # the classes a cell holds a real number as (not bool)
_PLAIN_OR_NONE = (int, float, type(None))
_NUMBER = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$|^[+-]?\.\d+$")


def typed_frame(sheet: Sheet) -> tuple[pd.DataFrame, list[Finding], set[tuple[str, int]]]:
    """The sheet with number columns as floats, date columns as datetimes and text as str/None;
    the findings for cells that could not be read as their type; and those cells (header, row)."""
    findings: list[Finding] = []
    bad: set[tuple[str, int]] = set()
    out = {}
    for header, col in schemas.columns(sheet.name).items():
        kind = schemas.kind(col)
        example = col.metadata["example"] if col.metadata else ""
        values = sheet.frame[header]
        if kind == "number":
            # Real numbers in one pass (a list, not Series.map: 20,000 rows a column); only the
            # other cells are parsed (and reported) one by one.
            cells = values.tolist()
            parsed = np.array([v if v.__class__ in _PLAIN else np.nan for v in cells], "float64")
            for i in [i for i, v in enumerate(cells) if v.__class__ not in _PLAIN_OR_NONE]:
                v = cells[i]
                if pd.isna(v):
                    continue
                number = as_number(v)
                row = values.index[i]
                if number is None:
                    bad.add((header, row))
                    findings.append(
                        Finding(
                            "not-a-number",
                            sheet.name,
                            sheet.cell(header, row),
                            header,
                            v,
                            {"header": header, "example": example},
                        )
                    )
                else:
                    parsed[i] = number
            out[header] = pd.Series(parsed, index=values.index)
        elif kind == "date":
            cells = values.tolist()
            is_date = [isinstance(v, (dt.date, dt.datetime)) for v in cells]
            for i in [i for i, d in enumerate(is_date) if not d and cells[i] is not None]:
                v = cells[i]
                if pd.isna(v):
                    continue
                row = values.index[i]
                bad.add((header, row))
                findings.append(
                    Finding(
                        "not-a-date",
                        sheet.name,
                        sheet.cell(header, row),
                        header,
                        v,
                        {"header": header, "example": example},
                    )
                )
            dates = [v if d else None for v, d in zip(cells, is_date, strict=True)]
            dates = pd.to_datetime(dates).normalize()
            out[header] = pd.Series(dates, index=values.index).astype("datetime64[us]")
        else:
            choices = _choices(col)
            # A number typed into a text column (an id, an NDC) keeps its digits: 60, not 60.0.
            texts = [v if v is None or v.__class__ is str else cell_text(v) for v in values]
            if choices:  # accept harmless variants of allowed values: case and spaces
                texts = [choices.get(" ".join(t.split()).casefold(), t) if t else t for t in texts]
            out[header] = pd.Series(texts, index=values.index, dtype=object)
    return pd.DataFrame(out, index=sheet.frame.index), findings, bad


def as_number(value: object) -> float | None:
    """A cell as a number: numbers, and text such as '1,080' or ' 60 '; None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return None if value != value else float(value)
    if isinstance(value, str):
        text = value.strip()
        if _NUMBER.match(text):
            return float(text.replace(",", ""))
    return None


def _choices(col) -> dict[str, str]:
    for check in col.checks:
        if check.name == "isin":
            return {
                " ".join(str(v).split()).casefold(): v for v in check.statistics["allowed_values"]
            }
    return {}
