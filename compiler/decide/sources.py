"""Claims in batches, for files of any size: a CSV file cut at whole records, or Parquet (a file,
or a folder of files), each batch a claims frame as `read_claims_csv` gives it, or (`tables=True`)
the Arrow table that frame is made of, which the engine decides without pandas (dqm decide).

A CSV batch is read by the same reader as a whole file (claims.read_claims_table), so a malformed
row decides the same way and its message names its line in the file. A claim without an id gets
its 1-based position among the file's claims, counted across batches. A file that breaks part-way
(bytes that are not UTF-8, a damaged Parquet page) raises ClaimsFileError when its batch is reached,
after the batches before it.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np
import pyarrow as pa

from . import arrays, csvtext
from .claims import (
    BOM,
    READ_COLUMNS,
    SNIFF,
    ClaimsFileError,
    NotUtf8,
    OnHeader,
    claims_header,
    conform,
    conform_table,
    header_keys,
    read_claims_table,
)

if TYPE_CHECKING:
    import pandas as pd

Batch = "pd.DataFrame | pa.Table"  # a claims frame, or (tables=True) its Arrow table

BLOCK_BYTES = 8 << 20  # CSV read per batch: ~130,000 claims, a few tens of MB in flight
PARQUET_ROWS = 131_072
_PARQUET_MAGIC = b"PAR1"


def claims_batches(
    source: str | Path | BinaryIO,
    name: str | None = None,
    block_bytes: int | None = None,
    tables: bool = False,
    columns: dict[str, str] | None = None,
    encoding: str | None = None,
    on_header: OnHeader | None = None,
) -> Iterator[Batch]:
    """The claims of a CSV or Parquet file, or a folder of Parquet files (a path), or of CSV on a
    binary stream, batch after batch in file order (CSV about `block_bytes` at a time, by default
    BLOCK_BYTES; Parquet PARQUET_ROWS claims at a time, fewer in proportion to a smaller
    `block_bytes`: JSON's batches, which wait longer to be written). Each batch a claims frame,
    or with `tables` its Arrow table (Engine.decide takes either). `columns` maps the file's
    own column names onto the contract's; `encoding` is a CSV's (UTF-8 by default);
    `on_header(name, headers, keys)` hears each file's columns as they are read."""
    read = {"columns": columns, "on_header": on_header}
    block_bytes = block_bytes or BLOCK_BYTES
    rows = max(1, PARQUET_ROWS * block_bytes // BLOCK_BYTES)
    if not isinstance(source, (str, Path)):
        name = name or "The claims file"
        stream = csvtext.Transcoded(source, encoding, name) if encoding else source
        yield from csv_batches(stream, name, block_bytes, tables, **read)
        return
    path = Path(source)
    if path.is_dir():
        yield from parquet_batches(path, rows, tables, **read)
        return
    try:
        stream = open(path, "rb")  # noqa: SIM115  (closed below, after the last batch)
    except FileNotFoundError:
        raise ClaimsFileError(f"{path}: no such file.") from None
    except OSError as exc:
        raise ClaimsFileError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    with stream:
        if stream.read(4) == _PARQUET_MAGIC:
            stream.close()
            yield from parquet_batches(path, rows, tables, **read)
            return
        stream.seek(0)
        text = csvtext.Transcoded(stream, encoding, str(path)) if encoding else stream
        yield from csv_batches(text, str(path), block_bytes, tables, **read)


def csv_batches(
    stream: BinaryIO,
    name: str,
    block_bytes: int = BLOCK_BYTES,
    tables: bool = False,
    columns: dict[str, str] | None = None,
    on_header: OnHeader | None = None,
) -> Iterator[Batch]:
    """The claims of CSV text on `stream`, about `block_bytes` at a time, each batch ending at the
    end of a record (never inside a quoted value holding a line break). A byte that is not UTF-8
    is refused with the command line's way out (--encoding)."""
    try:
        yield from _csv_batches(stream, name, block_bytes, tables, columns, on_header)
    except NotUtf8 as exc:
        raise exc.with_hint() from None


def _csv_batches(stream, name, block_bytes, tables, columns, on_header) -> Iterator[Batch]:
    buf = _read(stream, name, block_bytes).removeprefix(BOM)
    if buf.startswith(_PARQUET_MAGIC):  # Parquet's footer, at the end, says where its data is
        raise ClaimsFileError(
            f"{name} is a Parquet file, which is read from a file or a folder: give its path."
        )
    # The header row, whole; never read on through what is no header (/dev/zero has no line
    # break): claims_header refuses NUL bytes, and a "header" of blocks on end.
    while b"\n" not in buf and b"\x00" not in buf[:SNIFF] and len(buf) <= 4 * block_bytes:
        more = _read(stream, name, block_bytes)
        if not more:
            break
        buf += more
    keys, pos = claims_header(name, buf, columns, on_header)
    # The first batch is the first block less its header (not two blocks: a later start).
    line, claims, eof, want = 2, 0, False, block_bytes - pos
    while True:
        # A whole block before cutting (a file smaller than one is one batch, read to its end).
        while not eof and len(buf) - pos < want:
            more = _read(stream, name, block_bytes)
            eof = not more
            buf += more
        end = len(buf) if eof else _record_end(buf, pos)
        paired = not eof and end >= 0  # _record_end's cut: the quotes before it pair up
        if end < 0 and len(buf) - pos > 4 * block_bytes:
            end = _csv_record_end(buf, pos)  # quotes that do not pair up: ask Python's csv
        if end > pos:
            chunk = buf[pos:end]
            table = read_claims_table(name, chunk, keys, first_line=line, paired=paired)
            yield _batch(table, claims, tables)
            claims += table.num_rows
            line += csvtext.count_byte(chunk, ord("\n"))
            buf, pos, want = buf[end:], 0, block_bytes
        else:  # no whole record yet: read another block
            want = len(buf) - pos + block_bytes
        if eof:
            return


def parquet_batches(
    path: Path,
    rows: int | None = None,
    tables: bool = False,
    columns: dict[str, str] | None = None,
    on_header: OnHeader | None = None,
) -> Iterator[Batch]:
    """The claims of a Parquet file, or of the Parquet files in a folder (by name; files whose
    names start with `.` or `_`, such as Spark's `_SUCCESS`, are not claims)."""

    rows = rows or PARQUET_ROWS
    claims = 0
    for file in parquet_files(path):
        parquet, wanted = open_parquet(file, columns, on_header)
        batches = _batches(parquet, rows, [n for n, _ in wanted])
        while True:
            try:
                batch = next(batches, None)
            except (pa.ArrowException, OSError) as exc:
                raise ClaimsFileError(
                    f"{file} could not be read after its first {claims:,} claims "
                    f"({_first_line(exc)}); the file is damaged."
                ) from None
            if batch is None:
                break
            table = text_table(
                {k: batch.column(i) for i, (_, k) in enumerate(wanted)}, batch.num_rows, file
            )
            yield _batch(table, claims, tables)
            claims += table.num_rows


def parquet_files(path: Path) -> list[Path]:
    """The Parquet files of claims at `path`: the file, or a folder's files by name (those whose
    names start with `.` or `_`, such as Spark's `_SUCCESS`, are not claims)."""
    if not path.is_dir():
        return [path]
    files = sorted(
        p
        for p in path.rglob("*")
        if p.is_file() and not any(part.startswith((".", "_")) for part in p.parts[-1:])
    )
    if not files:
        raise ClaimsFileError(f"{path} is a folder with no Parquet files in it.")
    return files


def open_parquet(
    file: Path, columns: dict[str, str] | None = None, on_header: OnHeader | None = None
) -> tuple[Any, list[tuple[str, str]]]:
    """A Parquet file of claims, opened (its footer read), and its columns the contract names as
    (the file's name, the contract's key); ClaimsFileError for a file cut short, or one that
    lacks a needed column."""
    import pyarrow.parquet as pq

    try:
        # Checksums written with the pages are checked: a flipped byte is refused, not decided.
        parquet = pq.ParquetFile(file, page_checksum_verification=True)
    except (pa.ArrowException, OSError) as exc:
        raise ClaimsFileError(
            f"{file} is not a complete Parquet file ({_first_line(exc)}); it may have been "
            "cut short while it was copied."
        ) from None
    names = parquet.schema_arrow.names
    keys = header_keys(str(file), names, "", "its columns are", columns, on_header)
    return parquet, [(n, k) for n, k in zip(names, keys, strict=True) if k in READ_COLUMNS]


def _batches(parquet, rows: int, columns: list[str]) -> Iterator[pa.RecordBatch]:
    """A Parquet file's batches, one row group's reader after another: one reader over the whole
    file holds on to what it read (its memory grew by ~130 MB over a 20-row-group file)."""
    for group in range(parquet.metadata.num_row_groups):
        yield from parquet.iter_batches(batch_size=rows, row_groups=[group], columns=columns)


def _batch(table: pa.Table, before: int, tables: bool) -> Batch:
    """A batch read, its missing claim ids numbered (the batch's first claim being the file's
    `before + 1`th): the table, or its frame."""
    if tables:
        return table_claim_ids(table, before)
    return with_claim_ids(table.to_pandas(), before)


def table_claim_ids(claims: pa.Table, before: int) -> pa.Table:
    """`with_claim_ids` for a claims table."""
    ids = claims["claim_id"]
    if not ids.null_count:
        return claims
    import pyarrow.compute as pc  # not at import: dqm decide's start

    numbers = arrays.int_array(np.arange(before + 1, before + len(claims) + 1)).cast(pa.string())
    filled = pc.coalesce(ids.cast(pa.string()), numbers)
    return claims.set_column(claims.column_names.index("claim_id"), "claim_id", filled)


def with_claim_ids(claims: pd.DataFrame, before: int) -> pd.DataFrame:
    """`claims` with each missing claim id set to the claim's 1-based position in the file, the
    batch's first claim being the file's `before + 1`th."""
    ids = claims["claim_id"]
    missing = ids.isna()
    if not missing.any():
        return claims
    numbers = pa.array(np.arange(before + 1, before + len(claims) + 1)).cast(pa.string())
    claims["claim_id"] = ids.where(~missing, numbers.to_pandas())
    return claims


def text_claims(columns: dict[str, pa.Array], n: int, file: Path | str) -> pd.DataFrame:
    """Typed columns (Parquet's, Spark's) by contract key as the claims frame a CSV of them would
    give: numbers and dates as text, an empty text as none."""
    import pandas as pd

    table = text_table(columns, n, file, conformed=False)
    return conform(table.to_pandas() if table.num_columns else pd.DataFrame(index=range(n)), n)


def text_table(
    columns: dict[str, pa.Array], n: int, file: Path | str, conformed: bool = True
) -> pa.Table:
    """The same as an Arrow table, with the contract's columns (unless not `conformed`: the
    columns given, as text)."""
    import pyarrow.compute as pc  # not at import: dqm decide's start

    table = {}
    for key, column in columns.items():
        if pa.types.is_timestamp(column.type):
            column = _midnight_dates(column, key, file, pc)
        try:
            text = column if pa.types.is_string(column.type) else column.cast(pa.string())
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
            raise ClaimsFileError(
                f"{file}: column {key} holds {column.type}, not text or numbers."
            ) from None
        empty, none = arrays.text_scalar(""), arrays.text_scalar(None)
        table[key] = pc.if_else(pc.equal(text, empty), none, text)
    table = pa.table(table) if table else pa.table({})
    return conform_table(table, n) if conformed else table


def _midnight_dates(column, key: str, file: Path | str, pc):
    """A timestamp column (pandas writes dates as timestamps) as the dates it holds, when every
    one is at midnight: its text would otherwise be `2026-03-02 00:00:00.000000`, no date of
    service. A time of day is refused: which date it is depends on a time zone."""
    times = pc.subtract(column.cast(pa.timestamp("us")), pc.floor_temporal(column, unit="day"))
    late = pc.not_equal(times.cast(pa.int64()), 0)
    if pc.any(late).as_py():
        first = column.filter(late)[0].as_py()
        raise ClaimsFileError(
            f"{file}: column {key} holds a time of day ({first}); a date of service is a date. "
            "Write the column as dates (YYYY-MM-DD)."
        )
    return column.cast(pa.date32())


def _record_end(buf: bytes, pos: int) -> int:
    """The end of the last whole record in `buf[pos:]` (just after its line break), or -1.
    A line break ends a record when the quotes before it pair up (a quote inside a quoted value
    is written twice, so this holds for any well-formed CSV)."""
    end = buf.rfind(b"\n", pos)
    if end < 0:
        return -1
    quotes = csvtext.count_byte(buf, ord('"'), pos, end)
    while quotes % 2:  # inside a quoted value: the record ends at an earlier line break
        earlier = buf.rfind(b"\n", pos, end)
        if earlier < 0:
            return -1
        quotes -= buf.count(b'"', earlier, end)
        end = earlier
    return end + 1


def _csv_record_end(buf: bytes, pos: int) -> int:
    """The same by Python's csv module, whose reading a lone quote inside a value (`5" tab`)
    does not upset: slow, only where counting quotes found no end in many blocks."""
    lines = buf[pos : buf.rfind(b"\n") + 1].split(b"\n")[:-1]
    ends = np.cumsum([len(x) + 1 for x in lines]) + pos
    reader = csv.reader(x.decode("utf-8", "replace") + "\n" for x in lines)
    csvtext.allow_large_fields()
    finished: list[int] = []
    for _ in reader:
        finished.append(reader.line_num)
    # The last record may be a quoted value cut off by the end of the buffer: keep it for later.
    return int(ends[finished[-2] - 1]) if len(finished) > 1 else -1


def _read(stream: BinaryIO, name: str, size: int) -> bytes:
    try:
        return stream.read(size)
    except OSError as exc:
        raise ClaimsFileError(f"Cannot read {name}: {exc.strerror or exc}.") from None


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0].rstrip(".")
