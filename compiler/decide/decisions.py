"""Decisions out: the engine's columns as the contract's decision frame (or, for a claims table,
as `Decisions`, which never needs pandas), and decisions written as one file (`dqm decide`): CSV, a
JSON list, JSON lines or Parquet, batch after batch, so a stream of batches writes the same bytes as
one frame of them all, and a frame the same bytes as its `Decisions`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from ..vocabulary import DECISION_COLUMNS, NUMBER_COLUMNS
from . import arrays
from .encode import Coded, number_objects

if TYPE_CHECKING:
    import pandas as pd

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
            categories = [categories[u] for u in used]
        indices = arrays.int_array(codes, pa.int32(), codes < 0)
        return pa.DictionaryArray.from_arrays(indices, arrays.text_array(categories))
    if isinstance(column, (pa.Array, pa.ChunkedArray)):
        return column  # in its chunks as read: Parquet pages follow them, as from a frame
    if column is None:
        return pa.nulls(n, pa.string())
    return pa.array(column, pa.string(), from_pandas=True)


def write_decisions(decisions: pd.DataFrame, sink: BinaryIO, fmt: str = "csv") -> None:
    """Decisions to a binary stream as one file (see DecisionWriter)."""
    writer = DecisionWriter(sink, fmt)
    writer.write(decisions)
    writer.close()


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
        return pa.array(column, from_pandas=True).cast(pa.string())
    is_text, numbers = _quantity_parts(column)
    shown = number_array(numbers).cast(pa.string())
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
        return number_array(values).cast(pa.string())
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


def _csv_table(decisions: pd.DataFrame | Decisions) -> pa.Table:
    """Decisions as the table Arrow writes as CSV: text cells formula-safe, the quantity always
    as a text cell ("60", "ten"): a column has one type in Arrow, and each row's bytes must not
    depend on its neighbours' (a stream of batches writes what one frame of them all would).
    (Casting it costs what writing it as a number did: Arrow casts numbers to text to write
    them.)"""
    if isinstance(decisions, Decisions):
        columns = {
            name: quantity_cells(value, formula_safe=True)
            if name == "quantity"
            else number_array(value)
            if name in NUMBER_COLUMNS
            else formula_safe(_chunked(_text_array(value, decisions.n)))
            for name, value in decisions.columns.items()
        }
        return pa.table([columns[n] for n in DECISION_COLUMNS], names=DECISION_COLUMNS)
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

    def write(self, decisions: pd.DataFrame | Decisions) -> None:
        self.write_encoded(self.encode(decisions))

    def encode(self, decisions: pd.DataFrame | Decisions) -> pa.Table | pd.DataFrame | Decisions:
        """The frame (or Decisions) made ready to write: for CSV and Parquet the table Arrow's
        writer takes, so that a stream makes it ahead (stream.decide_stream's `encode`, on any
        thread) and the thread writing does nothing but Arrow's writing, which leaves the GIL to
        the reading and deciding; for JSON the frame itself."""
        if self.format == "csv":
            return _csv_table(decisions)
        if self.format == "parquet":
            return decisions_table(decisions, self.schema)
        return decisions

    def write_encoded(self, decisions: pa.Table | pd.DataFrame | Decisions) -> None:
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
                if isinstance(decisions, Decisions):
                    records = _decision_records(decisions.slice(start, start + JSON_ROWS))
                    first = DECISION_COLUMNS[0]
                else:
                    records = _records(decisions.iloc[start : start + JSON_ROWS])
                    first = decisions.columns[0]
                text = orjson.dumps(records)[1:-1]  # b"{...},{...}": this slice's objects
                if self.format == "jsonl":
                    self.sink.write(_lines(text, first) + b"\n")
                else:
                    self.sink.write((b"," if self._started else b"[") + text)
                    self._started = True

    def close(self) -> None:
        """Finish the file; the sink itself stays open."""
        if self.format == "csv" and not self._started:
            self.write_encoded(self.schema.empty_table())
        elif self.format == "json":
            self.sink.write(b"]\n" if self._started else b"[]\n")
        elif self.format == "parquet":
            if self._parquet is None:
                self.write_encoded(self.schema.empty_table())
            self._parquet.close()


def _records(decisions: pd.DataFrame) -> list[dict[str, Any]]:
    """One dict per decision: text as str, whole numbers as int, none as None."""
    names = list(decisions.columns)
    columns = [_json_values(decisions[c]) for c in names]
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def _decision_records(decisions: Decisions) -> list[dict[str, Any]]:
    """The same for Decisions, as a frame of them gives (decision_frame, then _records)."""
    columns = [_json_list(decisions.columns[c]) for c in DECISION_COLUMNS]
    return [dict(zip(DECISION_COLUMNS, row, strict=True)) for row in zip(*columns, strict=True)]


def _json_list(column: Any) -> list:
    if isinstance(column, Coded):
        categories = np.array([*map(str, column.categories), None], dtype=object)
        return categories[column.codes].tolist()  # code -1: the None at the end
    if isinstance(column, (pa.Array, pa.ChunkedArray)):
        return column.to_pylist()
    if isinstance(column, np.ndarray):
        return (column if column.dtype == object else number_objects(column)).tolist()
    return _json_values(column)  # a Series (claim ids echoed by a frame's caller)


def _lines(objects: bytes, first_key: str) -> bytes:
    """Flat JSON objects joined by commas, as orjson writes a list's, one per line instead: one
    call to orjson for them all (a call per object costs ten times as much). `},{"<first key>":`
    is only ever between two objects: in a string, a quote is escaped (`\\"`), so `{"` there can
    only be the string's closing quote, and after one comes `,`, `:` or `}`, never a key."""
    import orjson

    key = orjson.dumps(first_key) + b":"
    return objects.replace(b"},{" + key, b"}\n{" + key)


def _json_values(column: pd.Series) -> list:
    import pandas as pd

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
