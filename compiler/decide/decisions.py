"""Decisions out: the engine's columns as the contract's decision frame, and decision frames
written as one file (`dqm decide`): CSV, a JSON list, JSON lines or Parquet, batch after batch, so a
stream of batches writes the same bytes as one frame of them all."""

from __future__ import annotations

from typing import Any, BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ..vocabulary import DECISION_COLUMNS, NUMBER_COLUMNS
from .encode import Coded

FORMATS = ("csv", "json", "jsonl", "parquet")
JSON_ROWS = 4_096  # decisions turned into JSON objects at once
CSV_ROWS = 16_384  # decisions Arrow makes CSV text of at once (its default, 1,024, is slower)

# The decision columns with one type each, for formats that fix a column's type (Parquet, Spark):
# text, quantities as doubles (2.5 mL is a quantity), codes and counts as integers. A quantity
# that is not a number ("ten": the text formats echo it) is null there (typed_quantities).
_WHOLE = {"reject_code", "approval_months", "ruleset_version"}
DECISION_SCHEMA = pa.schema(
    [
        (c, pa.int64() if c in _WHOLE else pa.float64() if c in NUMBER_COLUMNS else pa.string())
        for c in DECISION_COLUMNS
    ]
)


def decision_frame(columns: dict[str, Any]) -> pd.DataFrame:
    """One row per claim with the contract's columns: coded text as categories, whole numbers as
    nullable integers; a quantity column echoing a text (encode.echoed_quantities) as objects."""
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
    present = ~np.isnan(values)
    filled = np.where(present, values, 0.0)
    if np.all(np.abs(filled) < 2**53):
        ints = filled.astype(np.int64)
        if np.array_equal(ints, filled):
            return pd.arrays.IntegerArray(ints, ~present)
    return values


def write_decisions(decisions: pd.DataFrame, sink: BinaryIO, fmt: str = "csv") -> None:
    """Decisions to a binary stream as one file (see DecisionWriter)."""
    writer = DecisionWriter(sink, fmt)
    writer.write(decisions)
    writer.close()


def decisions_table(decisions: pd.DataFrame, schema: pa.Schema = DECISION_SCHEMA) -> pa.Table:
    """A decision frame (or changed claims: impact.IMPACT_SCHEMA) as an Arrow table of `schema`
    (categories as text; a quantity that is not a number as null)."""
    table = pa.Table.from_pandas(typed_quantities(decisions), preserve_index=False)
    return table.cast(schema)


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
    shown = quantity_cells(decisions["quantity"]).to_numpy(zero_copy_only=False)
    return decisions.assign(quantity=pd.Series(shown, index=decisions.index, dtype=object))


def quantity_cells(column: pd.Series, formula_safe: bool = False) -> pa.Array:
    """A quantity column as text: a text as it is (formula-safe, if asked: never a number, so
    -5 from a numeric column stays -5), a number as Arrow writes a numeric column (60, 2.5),
    none as null."""
    if column.dtype != object:
        return pa.array(column, from_pandas=True).cast(pa.string())
    is_text, numbers = _quantity_parts(column)
    shown = pa.array(nullable_numbers(numbers), from_pandas=True).cast(pa.string())
    texts = pa.array(np.where(is_text, column.to_numpy(), None), pa.string())
    texts = _formula_safe_text(texts) if formula_safe else texts
    return pc.if_else(pa.array(is_text), texts, shown)


def _echoes_text(decisions: pd.DataFrame) -> bool:
    """Whether the frame's quantity column is objects: some claim's quantity is echoed as text."""
    return "quantity" in decisions.columns and decisions["quantity"].dtype == object


def _quantity_parts(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Which quantities are text, and the numbers (NaN for a text or none)."""
    values = column.to_numpy()
    is_text = np.fromiter((isinstance(v, str) for v in values), bool, len(values))
    numbers = np.where(is_text | pd.isna(values), np.nan, values).astype(float)
    return is_text, numbers


def _csv_table(decisions: pd.DataFrame) -> pa.Table:
    """Decisions as the table Arrow writes as CSV: text cells formula-safe, the quantity always
    as a text cell ("60", "ten"): a column has one type in Arrow, and each row's bytes must not
    depend on its neighbours' (a stream of batches writes what one frame of them all would).
    (Casting it costs what writing it as a number did: Arrow casts numbers to text to write
    them.)"""
    others = pa.Table.from_pandas(
        decisions.drop(columns="quantity", errors="ignore"), preserve_index=False
    )
    columns = {n: formula_safe(c) for n, c in zip(others.column_names, others.columns, strict=True)}
    if "quantity" in decisions.columns:
        columns["quantity"] = quantity_cells(decisions["quantity"], formula_safe=True)
    names = [str(n) for n in decisions.columns]
    return pa.table([columns[n] for n in names], names=names)


class DecisionWriter:
    """Decision frames (or other frames of `schema`'s columns: changed claims) written one after
    another to a binary stream as one file:
    - csv: a header row, then one row per decision (blank for none; whole numbers as 60), its
      text cells formula-safe (a CSV is opened in spreadsheets), the quantity a text cell ("60",
      or "ten" as given);
    - json: one list of objects; jsonl: one object per line (whole numbers as 60, none as null,
      a quantity that is not a number as its text);
    - parquet: one row group per frame, columns typed by DECISION_SCHEMA (that quantity null).
    Each frame is written whole before `write` returns; `close` finishes the file (the list's
    end, Parquet's footer, CSV's header when no decision was written)."""

    def __init__(self, sink: BinaryIO, fmt: str = "csv", schema: pa.Schema = DECISION_SCHEMA):
        if fmt not in FORMATS:
            raise ValueError(f"Unknown decisions format {fmt!r}; use one of {', '.join(FORMATS)}.")
        self.sink, self.format, self.schema = sink, fmt, schema
        self._started = False
        self._parquet = None

    def write(self, decisions: pd.DataFrame) -> None:
        self.write_encoded(self.encode(decisions))

    def encode(self, decisions: pd.DataFrame) -> pa.Table | pd.DataFrame:
        """The frame made ready to write: for CSV and Parquet the table Arrow's writer takes, so
        that a stream makes it ahead (stream.decide_stream's `encode`, on any thread) and the
        thread writing does nothing but Arrow's writing, which leaves the GIL to the reading
        and deciding; for JSON the frame itself."""
        if self.format == "csv":
            return _csv_table(decisions)
        if self.format == "parquet":
            return decisions_table(decisions, self.schema)
        return decisions

    def write_encoded(self, decisions: pa.Table | pd.DataFrame) -> None:
        """Write a frame made ready by `encode`, after those written before it."""
        if self.format == "csv":
            options = pacsv.WriteOptions(include_header=not self._started, batch_size=CSV_ROWS)
            pacsv.write_csv(decisions, self.sink, options)
            self._started = True
        elif self.format == "parquet":
            if self._parquet is None:
                import pyarrow.parquet as pq  # only for Parquet: not every command needs it

                self._parquet = pq.ParquetWriter(self.sink, self.schema)
            self._parquet.write_table(decisions)
        else:
            import orjson  # only for JSON: a Spark worker deciding needs no more than the engine

            # A slice at a time: a batch's decisions as dicts would hold several times the
            # batch's own memory (benchmarks/bench_json_memory.py).
            for start in range(0, len(decisions), JSON_ROWS):
                records = _records(decisions.iloc[start : start + JSON_ROWS])
                text = orjson.dumps(records)[1:-1]  # b"{...},{...}": this slice's objects
                if self.format == "jsonl":
                    self.sink.write(_lines(text, decisions.columns[0]) + b"\n")
                else:
                    self.sink.write((b"," if self._started else b"[") + text)
                    self._started = True

    def close(self) -> None:
        """Finish the file; the sink itself stays open."""
        if self.format == "csv" and not self._started:
            self.write(self.schema.empty_table().to_pandas())
        elif self.format == "json":
            self.sink.write(b"]\n" if self._started else b"[]\n")
        elif self.format == "parquet":
            if self._parquet is None:
                self.write(self.schema.empty_table().to_pandas())
            self._parquet.close()


def _records(decisions: pd.DataFrame) -> list[dict[str, Any]]:
    """One dict per decision: text as str, whole numbers as int, none as None."""
    names = list(decisions.columns)
    columns = [_json_values(decisions[c]) for c in names]
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def _lines(objects: bytes, first_key: str) -> bytes:
    """Flat JSON objects joined by commas, as orjson writes a list's, one per line instead: one
    call to orjson for them all (a call per object costs ten times as much). `},{"<first key>":`
    is only ever between two objects: in a string, a quote is escaped (`\\"`), so `{"` there can
    only be the string's closing quote, and after one comes `,`, `:` or `}`, never a key."""
    import orjson

    key = orjson.dumps(first_key) + b":"
    return objects.replace(b"},{" + key, b"}\n{" + key)


def _json_values(column: pd.Series) -> list:
    if isinstance(column.dtype, pd.CategoricalDtype):
        categories = np.array([*map(str, column.cat.categories), None], dtype=object)
        return categories[column.cat.codes.to_numpy()].tolist()  # code -1: the None at the end
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column):
        values = column.to_numpy(dtype=float, na_value=np.nan)
        missing = np.isnan(values)
        whole = ~missing & (np.abs(values) < 2**53)
        whole &= np.where(whole, values, 0.0) == np.floor(np.where(whole, values, 0.0))
        out = values.astype(object)
        out[whole] = values[whole].astype(np.int64).astype(object)
        out[missing] = None
        return out.tolist()
    return column.astype(object).where(column.notna(), None).tolist()


# What makes a spreadsheet read a cell as a formula (or as the start of one): = + - @, and a tab
# or carriage return before them. OWASP's advice, which spreadsheet makers follow: start such a
# cell with a single quote, which Excel and LibreOffice show as text and do not display.
_FORMULA_PATTERN = "^[=+@\t\r-]"


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
    risky = pc.match_substring_regex(array, _FORMULA_PATTERN)
    if not pc.any(risky).as_py():
        return array
    quote = pa.scalar("'", array.type)
    return pc.if_else(
        risky, pc.binary_join_element_wise(quote, array, pa.scalar("", array.type)), array
    )
