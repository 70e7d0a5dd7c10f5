"""What a claims file's text and columns are checked for beyond the header: a CSV in another
encoding than UTF-8 (read through `Transcoded`), a quote left open, a cell over the contract's size
limit, a pharmacy's own column names mapped onto the contract's, and the columns a file has that
the contract does not (said in one short line: `ignored_columns_note`, the command line's and the
app's)."""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa

from ..errors import ClaimsFileError, UsageError
from ..vocabulary import CLAIM_COLUMNS

SNIFF = 65_536  # bytes looked at for NUL bytes
MAX_CELL_CHARS = 1_000_000  # the most a claims cell holds (a drug list is a few hundred)
SHOWN_NAMES = 5  # names a one-line message lists before "and N more"
_NAME_CHARS = 40  # a name longer than this is cut in a message


_SEPARATORS = re.compile(r"[\s_\-]+")


def column_key(header: str) -> str:
    """A header as the contract spells it: ' Product ID ' -> 'product_id'."""
    return _SEPARATORS.sub("_", str(header).strip().casefold()).strip("_")


def listed(names: Iterable[str]) -> str:
    """`a, b, c, d, e and 3 more`: a few names, however many there are, each kept short."""
    names = list(names)
    shown = [_short(n) for n in names[:SHOWN_NAMES]]
    more = len(names) - len(shown)
    return ", ".join(shown) + (f" and {more:,} more" if more else "")


def _short(name: str) -> str:
    name = str(name).strip()
    if not name:
        return "(a column with no name)"
    return name if len(name) <= _NAME_CHARS else name[: _NAME_CHARS - 1] + "…"


def ignored_columns_note(names: Iterable[str]) -> str | None:
    """The one line that names a file's columns the contract does not know (None: there are
    none): `ignored column(s) not in the claims contract: fill_date, pharmacy_npi.`"""
    names = list(names)
    if not names:
        return None
    return f"ignored column(s) not in the claims contract: {listed(names)}."


def column_mapping(columns: Mapping[str, str] | None) -> dict[str, str]:
    """A mapping of a file's own column names onto the contract's (`{"qty": "quantity"}`), each
    side as a header matches (case, spaces and hyphens aside); UsageError when a target is not a
    contract column."""
    mapping: dict[str, str] = {}
    for theirs, ours in (columns or {}).items():
        if column_key(ours) not in CLAIM_COLUMNS:
            raise UsageError(
                f"--column {theirs}={ours}: {ours} is not a column of the claims contract; map "
                f"onto one of {', '.join(CLAIM_COLUMNS)}."
            )
        mapping[column_key(theirs)] = column_key(ours)
    return mapping


def text_encoding(name: str | None) -> str | None:
    """A text encoding's canonical name (None for UTF-8, which needs no translation); UsageError
    for a name Python does not know as a text encoding."""
    if name is None:
        return None
    try:
        info = codecs.lookup(name)
    except LookupError:
        info = None
    if info is None or not getattr(info, "_is_text_encoding", True):
        raise UsageError(
            f"--encoding {name}: no such text encoding; name one such as cp1252, latin-1 or utf-16."
        )
    return None if info.name == "utf-8" else info.name


class Transcoded:
    """A binary stream of text in `encoding`, read as UTF-8 bytes; a byte that is not text in that
    encoding raises ClaimsFileError naming its line."""

    def __init__(self, stream: BinaryIO, encoding: str, name: str):
        self._stream, self._encoding, self._name = stream, encoding, name
        self._decoder = codecs.getincrementaldecoder(encoding)("strict")
        self._line, self._done = 1, False

    def read(self, size: int = -1) -> bytes:
        while not self._done:
            raw = self._stream.read(size)
            self._done = not raw
            try:
                text = self._decoder.decode(raw, final=self._done)
            except UnicodeDecodeError as exc:
                line = self._line + raw[: max(exc.start, 0)].count(b"\n")
                bad = exc.object[exc.start : exc.start + 1].hex() or "??"
                raise ClaimsFileError(
                    f"{self._name} is not {self._encoding} text (byte 0x{bad} on line {line}); "
                    "name the encoding it was saved in with --encoding."
                ) from None
            self._line += raw.count(b"\n")
            if text:
                return text.encode("utf-8")
        return b""

    def close(self) -> None:
        self._stream.close()


def check_quotes(name: str, text: Iterable[str] | str, first_line: int) -> None:
    """ClaimsFileError naming the line where a quoted value starts that is never closed, when the
    CSV `text` (its first record on line `first_line`) has one. Called when the text's quotes do
    not pair up (a lone quote inside an unquoted value, `5" tab`, is fine)."""
    lines = io.StringIO(text, newline="") if isinstance(text, str) else text
    reader = csv.reader(lines, strict=True)
    start = first_line
    allow_large_fields()
    try:
        for _ in reader:
            start = first_line + reader.line_num
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            raise ClaimsFileError(
                f'{name}: line {start} opens a quoted value (") that is never closed, so the '
                "rest of the file would be read as one value; close the quote, or remove it."
            ) from None


def oversized_line(text: str, keys: list[str], first_line: int) -> int | None:
    """The line of the first record whose contract cell holds more than MAX_CELL_CHARS."""
    wanted = [i for i, k in enumerate(keys) if k in CLAIM_COLUMNS]
    reader = csv.reader(io.StringIO(text, newline=""))
    allow_large_fields()
    start = first_line
    for fields in reader:
        if any(i < len(fields) and len(fields[i]) > MAX_CELL_CHARS for i in wanted):
            return start
        start = first_line + reader.line_num
    return None


def too_large(name: str, line: int | None) -> ClaimsFileError:
    where = f"line {line}" if line else "a row"
    return ClaimsFileError(
        f"{name}: {where} holds a value of more than {MAX_CELL_CHARS:,} characters, the most a "
        "claims cell holds (about 1 MB); is a quote left open?"
    )


_COUNTED = 8 << 20  # bytes compared at once by count_byte (its temporary array's size)


def count_byte(data: bytes, byte: int, start: int = 0, end: int | None = None) -> int:
    """How many times `byte` occurs in data[start:end]: numpy's comparison, about twice as fast
    as bytes.count for one byte, and without holding the GIL (the reader thread's passes)."""
    end = len(data) if end is None else end
    total = 0
    for at in range(start, end, _COUNTED):
        view = np.frombuffer(data, np.uint8, min(_COUNTED, end - at), at)
        total += int(np.count_nonzero(view == byte))
    return total


def allow_large_fields() -> None:
    """Python's csv refuses a field over 131,072 characters; dqm's own limit is checked after."""
    if csv.field_size_limit() < 1 << 30:
        csv.field_size_limit(1 << 30)


def claims_bytes(source: str | Path | bytes | BinaryIO, limit: int) -> tuple[str, bytes]:
    """The claims file's name (for messages) and its bytes, never more than limit: a
    larger file is refused from its size, and a stream (standard input, /dev/zero) once that
    much has been read, never read to its end."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        name, data = "The claims file", bytes(source)
    elif hasattr(source, "read"):
        name, data = "Standard input", _bounded(source, limit)
    else:
        name = str(source)
        try:
            with open(source, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                if size > limit:  # a regular file's size is known before reading
                    _too_large(name, limit)
                data = _bounded(f, limit)
        except FileNotFoundError:
            raise ClaimsFileError(f"{name}: no such file.") from None
        except IsADirectoryError:
            raise ClaimsFileError(f"{name} is a folder, not a claims file.") from None
        except OSError as exc:
            raise ClaimsFileError(f"Cannot read {name}: {exc.strerror or exc}.") from None
    if len(data) > limit:
        _too_large(name, limit)
    return name, data


def _bounded(stream: BinaryIO, limit: int) -> bytes:
    """Up to one byte more than limit from a stream (that byte says it is too large)."""
    chunks, left = [], limit + 1
    while left > 0 and (chunk := stream.read(min(left, 1 << 24))):
        if not chunks and b"\x00" in chunk[:SNIFF]:
            return chunk  # binary: read_claims_csv says so without reading on
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _too_large(name: str, limit: int) -> None:
    raise ClaimsFileError(
        f"{name} is larger than {limit / 1e6:,.0f} MB, the most dqm reads as claims "
        "at once; split it into smaller files."
    )


def check_cells(
    name: str, table: pa.Table, data: bytes, start: int, keys: list[str], first_line: int
) -> None:
    """ClaimsFileError naming the line of a contract cell over MAX_CELL_CHARS."""
    if len(data) - start <= MAX_CELL_CHARS:
        return
    for column in table.columns:
        for chunk in column.chunks:
            values = chunk.dictionary if pa.types.is_dictionary(chunk.type) else chunk
            if pa.types.is_string(values.type) and len(values):
                # Bytes first, from the offsets alone: a value is never more characters than
                # bytes, so most blocks are cleared without counting characters.
                offsets = np.frombuffer(values.buffers()[1], dtype=np.int32)
                ends = offsets[values.offset : values.offset + len(values) + 1]
                if int(np.diff(ends).max()) <= MAX_CELL_CHARS:
                    continue
                import pyarrow.compute as pc  # only then: its import is dqm decide's slowest

                longest = pc.max(pc.utf8_length(values)).as_py() or 0
                if longest > MAX_CELL_CHARS:
                    text = str(memoryview(data)[start:], "utf-8", "replace")
                    line = oversized_line(text, keys, first_line)
                    raise too_large(name, line)
