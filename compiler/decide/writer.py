"""Decisions written as one file (`dqm decide`): CSV, a JSON list, JSON lines or Parquet, batch
after batch, so a stream of batches writes the same bytes as one frame of them all, and a frame the
same bytes as its `Decisions` (decisions.py)."""

from __future__ import annotations

import contextlib
import io
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from ..vocabulary import DECISION_COLUMNS, NUMBER_COLUMNS
from .decisions import (
    DECISION_SCHEMA,
    Decisions,
    _chunked,
    _text_array,
    decisions_table,
    formula_safe,
    number_array,
    quantity_cells,
)
from .encode import Coded, number_objects

if TYPE_CHECKING:
    import pandas as pd

FORMATS = ("csv", "json", "jsonl", "parquet")
JSON_ROWS = 4_096  # decisions turned into JSON objects at once
CSV_ROWS = 16_384  # decisions Arrow makes CSV text of at once (its default, 1,024, is slower)


def write_decisions(decisions: pd.DataFrame, sink: BinaryIO, fmt: str = "csv") -> None:
    """Decisions to a binary stream as one file (see DecisionWriter)."""
    writer = DecisionWriter(sink, fmt)
    writer.write(decisions)
    writer.close()


def _csv_table(decisions: pd.DataFrame | Decisions) -> pa.Table:
    """Decisions as the table Arrow writes as CSV: text cells formula-safe, the quantity always
    as a text cell ("60", "ten"): a column has one type in Arrow, and each row's bytes must not
    depend on its neighbours' (a stream of batches writes what one frame of them all would).
    (Casting it costs what writing it as a number did: Arrow casts numbers to text to write
    them.)"""
    if isinstance(decisions, Decisions):
        n = decisions.n
        columns = {name: _csv_cells(name, decisions.columns[name], n) for name in DECISION_COLUMNS}
        return pa.table([columns[c] for c in DECISION_COLUMNS], names=DECISION_COLUMNS)
    others = pa.Table.from_pandas(
        decisions.drop(columns="quantity", errors="ignore"), preserve_index=False
    )
    columns = {n: formula_safe(c) for n, c in zip(others.column_names, others.columns, strict=True)}
    if "quantity" in decisions.columns:
        columns["quantity"] = quantity_cells(decisions["quantity"], formula_safe=True)
    names = [str(n) for n in decisions.columns]
    return pa.table([columns[n] for n in names], names=names)


def _csv_cells(name: str, value: Any, n: int) -> pa.Array | pa.ChunkedArray:
    """One column of Decisions as the CSV writer takes it. A column with no value in the batch
    (a Per Rx batch's accumulated_quantity and period_days, claims without member_id) as null
    text, found before any array is made of it: the same empty cells, but Arrow formats null
    numbers and dictionaries cell by cell."""
    if n and _no_value(value):
        return pa.nulls(n, pa.string())
    if name == "quantity":
        cells = quantity_cells(value, formula_safe=True)
    elif name in NUMBER_COLUMNS:
        cells = number_array(value)
    else:
        cells = formula_safe(_chunked(_text_array(value, n)))
    return pa.nulls(n, pa.string()) if n and cells.null_count == n else cells


def _no_value(value: Any) -> bool:
    """Whether a column of Decisions is none throughout (None; coded text all -1; floats all
    NaN); False when that would take more than a glance (objects, Arrow text)."""
    if value is None:
        return True
    if isinstance(value, Coded):
        return not len(value.categories) or bool((value.codes < 0).all())
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return bool(np.isnan(value).all())
    return False


class _CsvText:
    """A table's CSV text as Arrow's writer makes it, which leaves the GIL, so that a stream's
    pool makes batches' text side by side: its header row, and its rows in pieces (one per
    CSV_ROWS rows: kept as made, where one growing buffer would be copied as it grows)."""

    def __init__(self, table: pa.Table):
        header, rows = _Pieces(), _Pieces()
        pacsv.write_csv(table.slice(0, 0), header)
        pacsv.write_csv(table, rows, pacsv.WriteOptions(include_header=False, batch_size=CSV_ROWS))
        self.header, self.rows = b"".join(header.pieces), rows.pieces


class _Pieces(io.RawIOBase):
    """A file that keeps what is written to it, piece by piece."""

    def __init__(self):
        self.pieces: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, piece) -> int:
        self.pieces.append(bytes(piece))  # Arrow lends its own buffer, used again after
        return len(self.pieces[-1])


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
        """The frame (or Decisions) made ready to write, so that a stream makes it ahead
        (stream.decide_stream's `encode`, on any thread): for CSV its text (Arrow's writer, which
        leaves the GIL, so batches' text is made on both cores and the thread writing only writes
        bytes); for Parquet the table Arrow's writer takes; for JSON the frame itself."""
        if self.format == "csv":
            return _CsvText(_csv_table(decisions))
        if self.format == "parquet":
            return decisions_table(decisions, self.schema)
        return decisions

    def write_encoded(self, decisions: _CsvText | pa.Table | pd.DataFrame | Decisions) -> None:
        """Write a frame made ready by `encode`, after those written before it."""
        if self.format == "csv":
            if not self._started:
                self.sink.write(decisions.header)
                self._started = True
            self.sink.writelines(decisions.rows)
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
                text = orjson.dumps(_wide(records))[1:-1]  # b"{...},{...}": this slice's
                if self.format == "jsonl":
                    self.sink.write(_lines(text, first) + b"\n")
                else:
                    self.sink.write((b"," if self._started else b"[") + text)
                    self._started = True

    def discard(self) -> None:
        """Let go of an unfinished file (its write failed): Parquet's writer is closed now, not
        when it is collected, after its sink is gone."""
        if self._parquet is not None:
            with contextlib.suppress(OSError, ValueError, pa.ArrowException):
                self._parquet.close()
            self._parquet = None

    def close(self) -> None:
        """Finish the file; the sink itself stays open."""
        if self.format == "csv" and not self._started:
            self.write_encoded(_CsvText(self.schema.empty_table()))
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
        return number_objects(column.to_numpy(dtype=float, na_value=np.nan)).tolist()
    values = column.astype(object).where(column.notna(), None).tolist()
    # Objects: texts echoed as given, and numbers (a quantity) written as numbers are.
    return [
        number_objects(np.array([v], dtype=float))[0] if isinstance(v, float) else v for v in values
    ]


def _wide(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Whole numbers beyond 64 bits (a quantity echoed as 10**20) as their digits, which orjson
    writes as they are (its own integers stop at 64 bits)."""
    import orjson

    for record in records:
        for key, value in record.items():
            if isinstance(value, int) and not -(2**63) <= value < 2**64:
                record[key] = orjson.Fragment(str(value).encode())
    return records
