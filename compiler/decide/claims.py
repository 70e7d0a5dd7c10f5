"""Claims as the engine reads them: a CSV file (or the app's form rows) -> a claims DataFrame.

The frame has the contract's columns (claim_id, product_id, ndc, rxcui, channel, quantity,
date_of_service, concomitant_drugs, attested_criteria), every cell text or missing, in file order. A bad *row* stays in the frame and
decides as `invalid`; only a bad *file* raises ClaimsFileError, whose text is one line.

Choices made for hostile files (documented in README.md, "Deciding claims"):
- a UTF-8 byte-order mark is accepted; any other non-UTF-8 byte refuses the file, naming its line
  (guessing Latin-1 would silently turn `é` into something else in a drug name);
- a header that only makes sense split on `;`, tab or `|` refuses the file and says so, rather than
  guessing the delimiter (a `;` file often uses `,` as its decimal mark);
- header names match ignoring case, spaces, hyphens and surrounding blanks (`Product ID`);
- extra columns are ignored; blank lines are skipped;
- a row with more or fewer fields than the header decides as `invalid`, naming its line;
- a quote left open, or a contract cell over csvtext.MAX_CELL_CHARS, refuses the file.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import pyarrow as pa
import pyarrow.csv as pacsv

from ..errors import ClaimsFileError
from ..text import cell_text
from ..vocabulary import (
    CLAIM_COLUMNS,
)
from . import arrays, csvtext
from .csvtext import SNIFF, column_key
from .header import READ_COLUMNS, HistoryColumns, OnHeader, header_keys

__all__ = [  # read from here too
    "READ_COLUMNS",
    "HistoryColumns",
    "OnHeader",
    "column_key",
    "header_keys",
]


if TYPE_CHECKING:  # pandas only for the frame API: dqm decide reads claims as Arrow tables
    import pandas as pd

# The reader's note on a malformed row; the engine decides such a row as invalid with this reason.
ROW_PROBLEM = "row_problem"
# The note on a claim whose date of service no version was in effect on (decide/versions.py); the
# engine decides such a valid claim as not_applicable with this reason.
OUT_OF_EFFECT = "out_of_effect"

BOM = b"\xef\xbb\xbf"
# The most claims read at once by the whole-file reader (read_claims_csv: the app, the library);
# dqm decide streams its input in batches (sources.py), which need no such bound.
MAX_CLAIMS_BYTES = 500_000_000


def read_claims_csv(
    source: str | Path | bytes | BinaryIO,
    columns: Mapping[str, str] | None = None,
    on_header: OnHeader | None = None,
) -> pd.DataFrame:
    """The claims in a CSV file (a path, its bytes, or a binary stream such as standard input),
    every cell as text or missing, the columns other than claim_id as categories; raises
    ClaimsFileError for a bad file. `columns` maps the file's own column names onto the
    contract's; `on_header(name, headers, keys)` hears the header read."""
    return read_claims_csv_table(source, columns, on_header).to_pandas()


def read_claims_csv_table(
    source: str | Path | bytes | BinaryIO,
    columns: Mapping[str, str] | None = None,
    on_header: OnHeader | None = None,
) -> pa.Table:
    """The same as the Arrow table `dqm decide` decides (read_claims_table's)."""
    name, data = csvtext.claims_bytes(source, MAX_CLAIMS_BYTES)
    data = data.removeprefix(BOM)
    keys, start = claims_header(name, data, columns, on_header)
    return read_claims_table(name, data, keys, start)


def ignored_columns(headers: list[str], keys: list[str]) -> list[str]:
    """The header names the contract does not know (their columns are not read)."""
    return [h for h, k in zip(headers, keys, strict=True) if k not in CLAIM_COLUMNS]


def claims_header(
    name: str,
    data: bytes,
    columns: Mapping[str, str] | None = None,
    on_header: OnHeader | None = None,
) -> tuple[list[str], int]:
    """The header of a claims CSV whose first bytes (BOM removed) are `data`: each column's key
    (extra columns get a private name) and the offset where the rows start. Raises
    ClaimsFileError for a file that is not claims CSV at all."""
    if not data or data.isspace():  # isspace stops at the first other byte: no copy of a big file
        raise ClaimsFileError(
            f"{name} is empty; it needs a header row ({', '.join(CLAIM_COLUMNS)}) "
            "and one row per claim."
        )
    if data.startswith((b"PK", b"\xd0\xcf\x11\xe0")):
        raise ClaimsFileError(
            f"{name} is a spreadsheet or zip file, not CSV text; in Excel use "
            "File > Save As > CSV UTF-8 (Comma delimited)."
        )
    if b"\x00" in data[:SNIFF]:  # /dev/zero, a UTF-16 export, an image: never CSV text
        raise ClaimsFileError(
            f"{name} holds NUL bytes, so it is not CSV text (a UTF-16 file or a binary one); "
            "save it as CSV UTF-8 (in Excel: File > Save As > CSV UTF-8)."
        )
    end = data.find(b"\n")
    header_bytes = data[:end] if end >= 0 else data
    try:
        header_line = header_bytes.decode().rstrip("\r")
    except UnicodeDecodeError:
        _check_utf8(name, header_bytes)
    if "\r" in header_line:  # lines ended by CR alone (classic Mac OS): no LF to read rows by
        raise ClaimsFileError(
            f"{name} ends its lines with a carriage return alone (an old Mac format); dqm reads "
            "lines ended by LF or CRLF. Save it as CSV UTF-8 (in Excel: File > Save As > CSV "
            "UTF-8)."
        )
    csvtext.allow_large_fields()
    try:
        headers = next(csv.reader([header_line]), [])
    except csv.Error as exc:  # a header Python's reader cannot take: one line, not its trace
        raise ClaimsFileError(f"{name}'s header row cannot be read as CSV ({exc}).") from None
    keys = header_keys(name, headers, header_line, mapping=columns, on_header=on_header)
    return keys, (end + 1 if end >= 0 else len(data))


def read_claims_table(
    name: str,
    data: bytes,
    keys: list[str],
    start: int = 0,
    first_line: int = 2,
    paired: bool = False,
) -> pa.Table:
    """The claims in `data[start:]`, whole CSV rows without the header, the first of them on line
    `first_line` of the file (the line a malformed row's message names), as an Arrow table: the
    contract's columns, claim_id as text, the others as dictionaries, and ROW_PROBLEM when a row
    is malformed. `paired`: the caller has counted the quotes and found that they pair up."""
    if start >= len(data):
        return conform_table(pa.table({}), 0)
    nul = data.find(b"\x00", start)  # memchr: a NUL anywhere, not only in the first bytes
    if nul >= 0:
        line = first_line + data.count(b"\n", start, nul)
        raise ClaimsFileError(
            f"{name} holds a NUL byte on line {line}, so it "
            "is not CSV text (a UTF-16 export, or a binary file joined to it); save it as CSV "
            "UTF-8 (in Excel: File > Save As > CSV UTF-8)."
        )
    # A quote left open would swallow the rest as one value.
    if not paired and csvtext.count_byte(data, ord('"'), start) % 2:
        csvtext.check_quotes(name, str(memoryview(data)[start:], "utf-8", "replace"), first_line)
    try:
        table = _read_fast(name, data, start, keys, first_line)
    except _Ragged:
        _check_utf8(name, data, start, first_line)
        table = _read_tolerant(data[start:], keys, first_line)
    csvtext.check_cells(name, table, data, start, keys, first_line)
    return conform_table(table)


def claims_frame(rows: list[dict]) -> pd.DataFrame:
    """Claims typed in (the app's form, the workbook's Tests) in the same shape as a file's."""
    return claims_columns({c: [r.get(c) for r in rows] for c in CLAIM_COLUMNS})


def claims_columns(columns: dict[str, list]) -> pd.DataFrame:
    """The same from columns of cell values (a missing column is all blank)."""
    import pandas as pd

    n = max((len(v) for v in columns.values()), default=0)
    data = {c: [cell_text(v) for v in columns.get(c, [None] * n)] for c in CLAIM_COLUMNS}
    return pd.DataFrame(data, columns=CLAIM_COLUMNS, dtype="str")


class NotUtf8(ClaimsFileError):
    """A claims CSV with a byte that is not UTF-8; `with_hint()` adds the command line's way out."""

    def with_hint(self, spark: bool = False) -> ClaimsFileError:
        """The refusal with the way out: --encoding, which Spark does not take."""
        where = "decide it without --spark, naming" if spark else "name"
        return ClaimsFileError(
            f"{str(self).removesuffix('.')}, or {where} the encoding it was saved in with "
            "--encoding (such as --encoding cp1252)."
        )


def _check_utf8(name: str, data: bytes, start: int = 0, first_line: int = 1) -> None:
    """Raise NotUtf8 naming the file's line of the first byte of `data[start:]` that is not
    UTF-8 (the first of those bytes being on line `first_line`)."""
    try:
        str(memoryview(data)[start:], "utf-8")
    except UnicodeDecodeError as exc:
        line = first_line + data.count(b"\n", start, start + exc.start)
        raise NotUtf8(
            f"{name} is not UTF-8 text (byte 0x{data[start + exc.start]:02x} on line {line}); save it "
            "as CSV UTF-8 (in Excel: File > Save As > CSV UTF-8)."
        ) from None


def check_csv_text(path: Path, block: int = 8 << 20) -> None:
    """A CSV file's bytes checked, a block at a time, as this reader checks them: UTF-8, no
    NUL byte and no quote left open, refused in the same one line (for a reader that takes the file whole: Spark, which
    would replace a byte that is not UTF-8)."""
    line, carry, quotes = 1, b"", 0
    with open(path, "rb") as f:
        while True:
            chunk = f.read(block)
            data, carry = carry + chunk, b""
            nul = data.find(b"\x00")
            if nul >= 0:  # the same refusal as the single process's reader
                read_claims_table(str(path), data[: nul + 1], [], 0, line)
            try:
                str(data, "utf-8")
            except UnicodeDecodeError as exc:
                if chunk and exc.reason == "unexpected end of data":  # a character cut by the block
                    data, carry = data[: exc.start], data[exc.start :]
                else:
                    _check_utf8(str(path), data, 0, line)
            quotes += data.count(b'"')
            if not chunk:
                break
            line += data.count(b"\n")
    if quotes % 2:  # a quote left open: Spark would read the rest of the file as one value
        with open(path, encoding="utf-8", newline="") as text:
            csvtext.check_quotes(str(path), text, 1)


class _Ragged(Exception):
    """A row whose field count differs from the header's."""


# A claim's id is its own; every other column holds few distinct values (products, channels,
# quantities, dates, drug lists): read as dictionaries by Arrow's threads, they reach the engine
# already encoded (decide/encode.py), which would otherwise encode each column itself.
_TEXT, _CODED = pa.string(), pa.dictionary(pa.int32(), pa.string())


def _read_fast(name: str, data: bytes, start: int, keys: list[str], first_line: int) -> pa.Table:
    """pyarrow's multithreaded CSV reader, every column as text; raises _Ragged for odd rows."""
    wanted = [k for k in keys if k in READ_COLUMNS]

    odd_rows: list[int] = []

    def ragged(row) -> str:
        odd_rows.append(row.number or 0)
        return "skip"

    # Arrow's blocks (1 MiB) each hold whole records: a longer record is read in one block.
    for block in (None, len(data) - start + 1):
        try:
            table = pacsv.read_csv(
                pa.BufferReader(pa.py_buffer(data)[start:]),
                read_options=pacsv.ReadOptions(
                    column_names=keys, **({"block_size": block} if block else {})
                ),
                # Quoted cells may hold line breaks (the contract allows them).
                parse_options=pacsv.ParseOptions(
                    newlines_in_values=True, invalid_row_handler=ragged
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types={k: _TEXT if k == "claim_id" else _CODED for k in wanted},
                    include_columns=wanted,
                    null_values=[""],
                    strings_can_be_null=True,
                    quoted_strings_can_be_null=True,
                ),
            )
            break
        except pa.ArrowInvalid as exc:
            if "straddl" in str(exc) and block is None:
                odd_rows.clear()
                continue
            if "utf8" in str(exc).lower():
                _check_utf8(name, data, start, first_line)  # raises, naming the line
            raise ClaimsFileError(
                f"{name} could not be read as CSV: {str(exc).splitlines()[0]}"
            ) from None
    if odd_rows:
        raise _Ragged()
    return table


def _read_tolerant(data: bytes, keys: list[str], first_line: int) -> pa.Table:
    """Python's csv module, row by row: slower, but keeps every row and notes the odd ones."""
    text = data.decode("utf-8")
    csvtext.allow_large_fields()
    reader = csv.reader(io.StringIO(text, newline=""))
    width = len(keys)
    read = {k: [] for k in keys if k in READ_COLUMNS}  # each column's texts
    cells = [(i, read[k].append) for i, k in enumerate(keys) if k in read]
    problems: dict[int, str] = {}  # a malformed row's position among the rows: its problem
    n = 0
    for fields in reader:
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            continue  # a blank line is not a claim
        if len(fields) != width:
            problems[n] = (
                f"line {first_line - 1 + reader.line_num} has {len(fields)} fields but the header "
                f"has {width}; "
                + (
                    "put double quotes around a value that contains a comma."
                    if len(fields) > width
                    else "the row may have been cut short."
                )
            )
            fields = (fields + [""] * width)[:width]
        for i, append in cells:
            append(fields[i])
        n += 1
    # an empty cell is missing, as the fast reader reads it
    columns = {k: arrays.text_array(texts, empty_is_missing=True) for k, texts in read.items()}
    table = conform_table(pa.table(columns), n)
    if problems:
        noted = [None] * n
        for i, problem in problems.items():
            noted[i] = problem
        table = table.append_column(ROW_PROBLEM, arrays.text_array(noted))
    return table


def conform(frame: pd.DataFrame, n: int) -> pd.DataFrame:
    """The contract's columns in order; an optional column absent from the file is all missing."""
    import pandas as pd

    for c in CLAIM_COLUMNS:
        if c not in frame.columns:  # Arrow's nulls: 0.003 s a million, where Nones take 0.1 s
            frame[c] = pd.Series(pd.array(pa.nulls(n, pa.string()), dtype="str"))
    return frame[_kept(frame.columns)].reset_index(drop=True)


def _kept(names) -> list[str]:
    """The contract's columns, then a history's status where the file has one."""
    return [*CLAIM_COLUMNS, *[c for c in READ_COLUMNS[len(CLAIM_COLUMNS) :] if c in names]]


def conform_table(table: pa.Table, n: int | None = None) -> pa.Table:
    """The same for an Arrow table of `n` claims (by default, its rows): the contract's columns
    in order (a column absent from the file all null), then ROW_PROBLEM when the table has it."""
    n = table.num_rows if n is None else n
    names = [
        *_kept(table.column_names),
        *([ROW_PROBLEM] if ROW_PROBLEM in table.column_names else []),
    ]
    return pa.table(
        [table[c] if c in table.column_names else pa.nulls(n, pa.string()) for c in names],
        names=names,
    )
