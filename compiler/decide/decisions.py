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
    """Decisions to a binary stream: CSV (header row; blank for none) or a JSON list of objects."""
    if fmt == "json":
        sink.write(decisions.to_json(orient="records", force_ascii=False).encode())
        sink.write(b"\n")
        return
    # Arrow writes categories as their text and nullable integers as 60, not 60.0; blank for none.
    table = pa.Table.from_pandas(decisions, preserve_index=False)
    pacsv.write_csv(table, sink)
