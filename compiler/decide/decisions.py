"""Decisions out: the engine's columns as the contract's decision frame (or, for a claims table,
as `Decisions`, which never needs pandas), typed for the formats that fix a column's type; they
are written as one file by writer.py."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from ..vocabulary import DECISION_COLUMNS, NUMBER_COLUMNS, format_number
from . import arrays
from .encode import Coded, arrow_texts, used_texts

if TYPE_CHECKING:
    import pandas as pd

# The decision columns with one type each, for formats that fix a column's type (Parquet, Spark):
# text, quantities as doubles (2.5 mL is a quantity), codes and counts as integers. A quantity
# that is not a number ("ten": the text formats echo it) is null there (typed_quantities).
_WHOLE = {"period_days", "reject_code", "approval_months", "ruleset_version"}
DECISION_SCHEMA = pa.schema(
    [
        (c, pa.int64() if c in _WHOLE else pa.float64() if c in NUMBER_COLUMNS else pa.string())
        for c in DECISION_COLUMNS
    ]
)


class Decisions:
    """The decisions of a batch as the engine computed them (Engine.decide_columns: coded text,
    numbers as float arrays, a quantity echoing a text as objects, the claim ids as Arrow text),
    written by DecisionWriter as a frame of them would be: what Engine.decide gives for a claims
    table, so that dqm decide never makes (or imports) pandas. `frame()` is the decision frame."""

    def __init__(self, columns: dict[str, Any], n: int):
        self.columns, self.n = columns, n

    def __len__(self) -> int:
        return self.n

    def frame(self) -> pd.DataFrame:
        return decision_frame(self.columns)

    def slice(self, start: int, stop: int) -> Decisions:
        """Decisions start…stop-1 (for JSON, written a slice at a time)."""
        stop = min(stop, self.n)
        return Decisions(
            {k: _rows(v, start, stop) for k, v in self.columns.items()}, max(stop - start, 0)
        )


def _rows(column: Any, start: int, stop: int) -> Any:
    if column is None:
        return None
    if isinstance(column, Coded):
        return Coded(column.codes[start:stop], column.categories)
    if isinstance(column, (pa.Array, pa.ChunkedArray)):
        return column.slice(start, stop - start)
    return column[start:stop]  # numpy arrays, lists, a Series (positional: index 0…n-1)


def decision_frame(columns: dict[str, Any]) -> pd.DataFrame:
    """One row per claim with the contract's columns: coded text as categories, whole numbers as
    nullable integers; a quantity column echoing a text (encode.echoed_quantities) as objects."""
    import pandas as pd

    columns = {
        k: v.to_pandas() if isinstance(v, (pa.Array, pa.ChunkedArray)) else v
        for k, v in columns.items()
    }
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
    """Whole numbers as nullable integers (60, not 60.0); otherwise floats. Objects (quantities
    echoing a text, numbers already as JSON writes them) stay as they are."""
    if isinstance(values, np.ndarray) and values.dtype == object:
        return values
    values = np.asarray(values, dtype=float)
    whole = _whole(values)
    if whole is None:
        return values
    import pandas as pd

    return pd.arrays.IntegerArray(*whole)


def _whole(values: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Float values as (integers, missing) when every present one is whole (below 2**53)."""
    missing = np.isnan(values)
    if missing.all():  # e.g. no claim was rejected: reject_code
        return np.zeros(len(values), dtype=np.int64), missing
    filled = np.where(missing, 0.0, values) if missing.any() else values
    if max(filled.max(), -filled.min()) < 2**53:
        ints = filled.astype(np.int64)
        if (ints == filled).all():
            return ints, missing
    return None


def number_array(values: np.ndarray) -> pa.Array:
    """Float values as the Arrow column a frame of them makes (nullable_numbers): int64 when every
    present value is whole, else float64; NaN as null."""
    whole = _whole(np.asarray(values, dtype=float))
    if whole is not None:
        return arrays.int_array(whole[0], pa.int64(), whole[1])
    return arrays.float_array(values)


def _text_array(column: Any, n: int) -> pa.Array | pa.ChunkedArray:
    """A text column of Decisions as Arrow: coded text as a dictionary array (-1: null), Arrow
    text as it is, a list or a Series as text."""
    if isinstance(column, Coded):
        codes, categories = column.codes, column.categories
        if len(categories) > 2 * len(codes) + 16:  # e.g. every message of a large ruleset
            used, codes = np.unique(codes, return_inverse=True)
            codes = codes.reshape(-1)
            if len(used) and used[0] < 0:
                used, codes = used[1:], codes - 1
            categories = used_texts(categories, used)
        dictionary = arrow_texts(categories)
        indices = arrays.int_array(codes, pa.int32(), codes < 0)
        if dictionary.type != pa.string():  # (a cast imports pyarrow.compute: not for one claim)
            dictionary = dictionary.cast(pa.string())
        return pa.DictionaryArray.from_arrays(indices, dictionary)
    if isinstance(column, (pa.Array, pa.ChunkedArray)):
        return column  # in its chunks as read: Parquet pages follow them, as from a frame
    if column is None:
        return pa.nulls(n, pa.string())
    return pa.array(column, pa.string(), from_pandas=True)


def decisions_table(
    decisions: pd.DataFrame | Decisions, schema: pa.Schema = DECISION_SCHEMA
) -> pa.Table:
    """A decision frame (or changed claims: impact.IMPACT_SCHEMA), or Decisions, as an Arrow
    table of `schema` (categories as text; a quantity that is not a number as null)."""
    if isinstance(decisions, Decisions):
        columns = []
        for field in schema:
            value = decisions.columns[field.name]
            if field.name in NUMBER_COLUMNS:
                if value.dtype == object:  # a quantity echoing a text: none here
                    value = np.array([_number(v) for v in value], dtype=float)
                columns.append(number_array(value).cast(field.type))
            else:
                columns.append(_text_array(value, decisions.n).cast(field.type))
        return pa.Table.from_arrays(columns, schema=schema)
    table = pa.Table.from_pandas(typed_quantities(decisions), preserve_index=False)
    return table.cast(schema)


def _chunked(array: pa.Array | pa.ChunkedArray) -> pa.ChunkedArray:
    return array if isinstance(array, pa.ChunkedArray) else pa.chunked_array([array])


def _number(value: Any) -> float:
    """A quantity echoed as an object: the number, or NaN for a text or none."""
    if value is None or isinstance(value, str):
        return np.nan
    try:
        return float(value)
    except (TypeError, ValueError):  # pandas' NA
        return np.nan


def typed_quantities(decisions: pd.DataFrame) -> pd.DataFrame:
    """The frame with its quantity column as numbers only, a text given for one as none: for the
    formats whose columns have one type (Parquet, Spark)."""
    if not _echoes_text(decisions):
        return decisions
    _, numbers = _quantity_parts(decisions["quantity"])
    return decisions.assign(quantity=nullable_numbers(numbers))


def shown_decisions(decisions: pd.DataFrame) -> pd.DataFrame:
    """The frame as a table on a page shows it: a quantity column echoing a text as text (a
    displayed column has one type)."""
    if not _echoes_text(decisions):
        return decisions
    import pandas as pd

    shown = quantity_cells(decisions["quantity"]).to_numpy(zero_copy_only=False)
    return decisions.assign(quantity=pd.Series(shown, index=decisions.index, dtype=object))


def quantity_cells(column: pd.Series | np.ndarray, formula_safe: bool = False) -> pa.Array:
    """A quantity column as text: a text as it is (formula-safe, if asked: never a number, so
    -5 from a numeric column stays -5), a number as Arrow writes a numeric column (60, 2.5),
    none as null. `column` a frame's, or Decisions' (numbers as floats, or objects)."""
    if isinstance(column, np.ndarray) and column.dtype != object:
        return _number_text(column)
    import pyarrow.compute as pc  # not at import: dqm decide's start

    if column.dtype.kind in "iuf":  # numbers only
        return _number_text(column.to_numpy(dtype=float, na_value=np.nan))
    is_text, numbers = _quantity_parts(column)
    shown = _number_text(numbers)
    values = column if isinstance(column, np.ndarray) else column.to_numpy()
    texts = arrays.text_array([v if t else None for v, t in zip(values, is_text, strict=True)])
    texts = _formula_safe_text(texts) if formula_safe else texts
    return pc.if_else(arrays.bool_array(is_text), texts, shown)


def _number_text(values: np.ndarray) -> pa.Array:
    """Numbers (floats, NaN for none) as text cells, as Arrow casts the column number_array
    makes of them. A few whole ones (one claim) in Python, which writes an integer as Arrow does:
    casting imports pyarrow.compute, a seventh of a one-claim dqm decide."""
    whole = _whole(values) if len(values) <= 1024 else None
    if whole is None:
        text = number_array(values).cast(pa.string())
        wide = np.flatnonzero(np.isfinite(values) & (np.abs(values) >= 2**53))
        if not len(wide):
            return text
        # Arrow writes 1e20 as "1e+20": a whole number is written exactly, however large.
        cells = text.to_pylist()
        for i in wide:
            cells[i] = format_number(values[i], thousands=False)
        return arrays.text_array(cells)
    ints, missing = whole
    return arrays.text_array(
        [None if m else str(i) for i, m in zip(ints.tolist(), missing.tolist(), strict=True)]
    )


def _echoes_text(decisions: pd.DataFrame) -> bool:
    """Whether the frame's quantity column is objects: some claim's quantity is echoed as text
    (objects, or text when every one is: pandas makes a column of texts "str")."""
    return "quantity" in decisions.columns and decisions["quantity"].dtype.kind not in "iuf"


def _quantity_parts(column: pd.Series | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which quantities are text, and the numbers (NaN for a text or none)."""
    values = column if isinstance(column, np.ndarray) else column.to_numpy()
    is_text = np.fromiter((isinstance(v, str) for v in values), bool, len(values))
    numbers = np.array([_number(v) for v in values], dtype=float)
    return is_text, numbers


# What makes a spreadsheet read a cell as a formula (or as the start of one): = + - @, and a tab
# or carriage return before them. OWASP's advice, which spreadsheet makers follow: start such a
# cell with a single quote, which Excel and LibreOffice show as text and do not display.
_FORMULA_PATTERN = "^[=+@\t\r-]"
_FORMULA_STARTS = b"=+@\t\r-"  # the same, as the first byte of the cell's UTF-8


def formula_safe(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """The column with every text cell that a spreadsheet would take for a formula (a claim id
    `=HYPERLINK(…)`, a drug `-x`) prefixed with a single quote; a coded column's distinct texts
    only, however many rows use them. Numbers are left as they are."""
    chunks = []
    for chunk in column.chunks:
        if pa.types.is_dictionary(chunk.type):
            dictionary = _formula_safe_text(chunk.dictionary)
            if dictionary is not chunk.dictionary:
                chunk = pa.DictionaryArray.from_arrays(chunk.indices, dictionary)
        else:
            chunk = _formula_safe_text(chunk)
        chunks.append(chunk)
    return pa.chunked_array(chunks, chunks[0].type) if chunks else column


def _formula_safe_text(array: pa.Array) -> pa.Array:
    """A text array made formula-safe (the array itself when no cell needs it)."""
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        return array
    if not arrays.first_byte_in(array, _FORMULA_STARTS).any():  # most columns: none
        return array
    import pyarrow.compute as pc  # not at import: dqm decide's start

    risky = pc.match_substring_regex(array, _FORMULA_PATTERN)
    quote, empty = (arrays.text_scalar(t).cast(array.type) for t in ("'", ""))
    return pc.if_else(risky, pc.binary_join_element_wise(quote, array, empty), array)
