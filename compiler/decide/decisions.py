"""Decisions out: the engine's columns as the contract's decision frame, and that frame written as
CSV or JSON (`dqm decide`)."""

from __future__ import annotations

from typing import Any, BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from ..vocabulary import DECISION_COLUMNS, NUMBER_COLUMNS
from .encode import Coded


def decision_frame(columns: dict[str, Any]) -> pd.DataFrame:
    """One row per claim with the contract's columns: coded text as categories, whole numbers as
    nullable integers."""
    return pd.DataFrame(
        {
            k: v.categorical()
            if isinstance(v, Coded)
            else nullable_numbers(v)
            if k in NUMBER_COLUMNS
            else v
            for k, v in columns.items()
        },
        columns=DECISION_COLUMNS,
        copy=False,
    )


def nullable_numbers(values: np.ndarray) -> pd.api.extensions.ExtensionArray | np.ndarray:
    """Whole numbers as nullable integers (60, not 60.0); otherwise floats."""
    values = np.asarray(values, dtype=float)
    present = ~np.isnan(values)
    filled = np.where(present, values, 0.0)
    if np.all(np.abs(filled) < 2**53):
        ints = filled.astype(np.int64)
        if np.array_equal(ints, filled):
            return pd.arrays.IntegerArray(ints, ~present)
    return values


def write_decisions(decisions: pd.DataFrame, sink: BinaryIO, fmt: str = "csv") -> None:
    """Decisions to a binary stream: CSV (header row; blank for none) or a JSON list of objects.
    A CSV is opened in spreadsheets, so its text cells are written formula-safe."""
    if fmt == "json":
        sink.write(decisions.to_json(orient="records", force_ascii=False).encode())
        sink.write(b"\n")
        return
    # Arrow writes categories as their text and nullable integers as 60, not 60.0; blank for none.
    table = pa.Table.from_pandas(formula_safe(decisions), preserve_index=False)
    pacsv.write_csv(table, sink)


# What makes a spreadsheet read a cell as a formula (or as the start of one): = + - @, and a tab
# or carriage return before them. OWASP's advice, which spreadsheet makers follow: start such a
# cell with a single quote, which Excel and LibreOffice show as text and do not display.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def formula_safe(decisions: pd.DataFrame) -> pd.DataFrame:
    """The decisions with every text cell that a spreadsheet would take for a formula (a claim id
    `=HYPERLINK(…)`, a drug `-x`) prefixed with a single quote. Numbers are left as they are."""
    out = {}
    for name, column in decisions.items():
        if isinstance(column.dtype, pd.CategoricalDtype):
            categories = column.cat.categories
            if categories.dtype == object or pd.api.types.is_string_dtype(categories.dtype):
                column = (
                    column.cat.rename_categories([_safe(c) for c in categories])
                    if any(str(c).startswith(FORMULA_STARTS) for c in categories)
                    else column
                )
        elif pd.api.types.is_string_dtype(column.dtype) or column.dtype == object:
            risky = column.astype("str").str.startswith(FORMULA_STARTS).fillna(False)
            if risky.any():
                column = column.where(~risky, "'" + column.astype("str"))
        out[name] = column
    return pd.DataFrame(out, columns=decisions.columns, copy=False)


def _safe(text: object) -> object:
    return "'" + text if isinstance(text, str) and text.startswith(FORMULA_STARTS) else text
