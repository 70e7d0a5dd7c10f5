"""What a workbook file is, before any parser opens it: checked from its bytes, its zip directory
and its XML, so nothing hostile reaches a parser (read by reader.py).

- OLE2 files (legacy .xls, password-protected workbooks) and non-zip files are refused;
- a zip directory declaring too much (in all, or one part at a bomb's ratio) is refused before a
  byte is inflated; zipfile checks each part's declared size and CRC as it reads;
- macros (.xlsm, vbaProject.bin) are refused: dqm never runs them;
- a DOCTYPE or ENTITY in any XML part is refused (entity expansion, external entities);
- each sheet's extent is measured from its cells' references, since calamine allocates the whole
  rectangle (one cell at XFD1048576 aborted it), and its error cells (#DIV/0!) are listed.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from defusedxml import ElementTree

from .findings import Finding

MAX_FILE_BYTES = 50_000_000
MAX_UNCOMPRESSED_BYTES = 200_000_000
MAX_MEMBER_RATIO = 500  # uncompressed/compressed for one zip member; real sheets stay far below
MAX_MEMBERS = 10_000
MAX_ROWS = 250_000
MAX_COLUMNS = 200
MAX_CELLS = 5_000_000  # rows x columns as calamine lays them out (it allocates the whole rectangle)
MAX_BOOK_PART = (
    10_000_000  # workbook.xml and its relationships, parsed whole (real ones: kilobytes)
)
_CHUNK = 1 << 20  # a part is inflated and scanned a megabyte at a time
_MAX_CARRY = 65_536  # at most this much of a region waits for the next one
_OVERLAP = 64  # longer than any pattern read outside a tag
_BOOK, _BOOK_RELS = "xl/workbook.xml", "xl/_rels/workbook.xml.rels"
_ERROR_WINDOW = 2_100  # an error cell's value is looked for within 2,000 bytes of the cell

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_DTD = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)
_FORMULA = re.compile(rb"<(?:\w+:)?f[ >/]")
_PLAIN_FORMULA = re.compile(rb"<f[ >/]")
# Every attribute named r (a row's or a cell's position), as calamine reads it: any XML spacing,
# either quote, letters of either case. Excel writes them as ` r="B12"`; the literal patterns
# below read that form fast, and `_odd_spacing` finds anything that could be another form.
_ANY_R = re.compile(
    rb"""(?:\s|["'])r\s*=\s*["']([A-Za-z]*)([0-9]*)"""
)  # calamine takes s="0"r="A1"
_PLAIN_R_LETTERS = re.compile(rb' r="([A-Za-z]+)')
_PLAIN_R_DIGITS = re.compile(rb' r="[A-Za-z]*([0-9]+)')
# A cell or row not starting with ` r="`, or one with a namespace prefix (literal prefixes: fast).
_UNPOSITIONED_CELL = re.compile(rb'<c(?=[\s>/])(?! r=")')
_UNPOSITIONED_ROW = re.compile(rb'<row(?=[\s>/])(?! r=")')
_PREFIXED = re.compile(rb":(?:c|row)[\s>/]")
# space around an "=", a single quote after it, or an r right after another attribute's quote
_ODD_EQUALS = re.compile(rb"""=(?:[\s']|(?<=\s=)|(?<=["']r=))""")
_ROW = re.compile(rb"<(?:\w+:)?row[\s>/]")
_CELL = re.compile(rb"<(?:\w+:)?c[\s>/]")
_ERROR_CELL = re.compile(rb'<(?:\w+:)?c\s[^>]*\bt="e"[^>]*>')
_ERROR_VALUE = re.compile(rb"<(?:\w+:)?v>([^<]{1,40})</(?:\w+:)?v>")
_CELL_REF = re.compile(rb'\br="([A-Z]{1,3}[0-9]{1,7})"')


@dataclass
class Container:
    """What the zip directory and XML parts say before any parser opens them."""

    problem: Finding | None = None  # why the file is refused, as its one finding
    has_formulas: bool = False
    extents: dict[str, tuple[int, int]] = field(default_factory=dict)  # sheet name -> (rows, cols)
    error_cells: dict[str, list[tuple[str, str]]] = field(
        default_factory=dict
    )  # sheet -> (A1, #N/A)
    largest: tuple[int, int] = (0, 0)  # the most rows and columns of any worksheet part

    def extent(self, sheet: str) -> tuple[int, int]:
        """A sheet's (rows, columns); for a sheet whose part could not be told, the largest."""
        return self.extents.get(sheet, self.largest)

    @property
    def safe_to_open(self) -> bool:
        """No problem, and no sheet too large to lay out: other readers (openpyxl) may open it."""
        return self.problem is None and not any(
            r > MAX_ROWS or c > MAX_COLUMNS or r * c > MAX_CELLS
            for r, c in [*self.extents.values(), self.largest]
        )


def check_container(data: bytes, name: str) -> Container:
    """What makes this file unreadable or unsafe, before any parser opens it; whether any
    worksheet holds formulas; each sheet's extent and its error cells (#DIV/0!, #N/A, ...)."""
    if data.startswith(OLE2_MAGIC):
        if "EncryptedPackage".encode("utf-16-le") in data:
            return _refused("encrypted-workbook")
        return _refused("legacy-workbook")
    if not data:
        return _refused("empty-file", file=name)
    if not data.startswith(b"PK"):
        return _refused("not-a-workbook", file=name)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return _refused("damaged-file", file=name)
    if len(infos) > MAX_MEMBERS:
        return _refused("too-many-parts", file=name, parts=len(infos))
    total = sum(i.file_size for i in infos)
    if total > MAX_UNCOMPRESSED_BYTES:
        return _refused("unpacks-too-large", file=name, size=total, most=MAX_UNCOMPRESSED_BYTES)
    for i in infos:
        if i.file_size > 1_000_000 and i.file_size > MAX_MEMBER_RATIO * max(i.compress_size, 1):
            return _refused(
                "zip-bomb", file=name, part=i.filename, ratio=i.file_size // max(i.compress_size, 1)
            )
    names = {i.filename for i in infos}
    if "xl/workbook.xml" not in names:
        return _refused("zip-not-workbook", file=name)
    if "xl/vbaProject.bin" in names or name.lower().endswith((".xlsm", ".xltm")):
        return _refused("macros")
    found = Container()
    parts: dict[str, tuple[tuple[int, int], list[tuple[str, str]]]] = {}
    try:
        for i in infos:
            if not i.filename.endswith((".xml", ".rels")):
                continue
            sheet = _SheetScan() if i.filename.startswith("xl/worksheets/") else None
            for region in _regions(zf, i):
                if b"<!" in region and _DTD.search(region):  # the substring test is ~10x faster
                    return _refused("xml-declarations", file=name, part=i.filename)
                if sheet:
                    sheet.feed(region)
            if sheet:
                if sheet.unpositioned:  # rare: a second pass counts rows and cells per row
                    for region in _regions(zf, i):
                        sheet.count(region)
                found.has_formulas = found.has_formulas or sheet.formulas
                parts[i.filename] = (sheet.extent, sheet.errors)
        sheet_parts = _sheet_parts(zf, infos)
    except (
        zipfile.BadZipFile,
        OSError,
        EOFError,
        ValueError,
        NotImplementedError,
        ElementTree.ParseError,
        zlib.error,
    ):
        return _refused("damaged-file", file=name)
    found.largest = (
        max((e[0] for e, _ in parts.values()), default=0),
        max((e[1] for e, _ in parts.values()), default=0),
    )
    for sheet_name, part in sheet_parts.items():
        if part in parts:
            found.extents[sheet_name], found.error_cells[sheet_name] = parts[part]
    return found


def _regions(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """A part's bytes, inflated a chunk at a time and cut just after a tag's `>`, so that no tag
    is split between two regions (each pattern below reads within one tag, or, for an error
    cell's value, within 2,000 bytes of it: such a cell near a cut goes whole to the next region).

    zipfile stops each read at the part's declared size and checks the CRC at its end: a part
    that holds more than it declares fails there. Read whole, it would first inflate up to 2 GB
    (zipfile cuts to the declared size only after inflating what one read asks for)."""
    with zf.open(info) as part:
        carry = b""
        while chunk := part.read(_CHUNK):
            region = carry + chunk
            cut = region.rfind(b">") + 1
            if len(region) - cut > _MAX_CARRY:
                # A long run with no tag's end (text, or a tag that never ends): scan all of it,
                # and its last bytes again with the next region, so nothing across the cut hides.
                carry = region[-_OVERLAP:]
                yield region
                continue
            error = region.rfind(b't="e"', max(cut - _ERROR_WINDOW, 0), cut)
            if error >= 0:
                cut = max(region.rfind(b"<", 0, error), 0)
            carry = region[cut:]
            yield region[:cut]
        if carry:
            yield carry


class _SheetScan:
    """What one worksheet part says, region by region: whether it holds formulas, its error
    cells, and the rectangle calamine will allocate for it (see `extent`)."""

    def __init__(self) -> None:
        self.formulas = False
        self.errors: list[tuple[str, str]] = []
        self.rows = 0  # the largest row number in any r attribute
        self.cols = 0  # the largest column
        self.unpositioned = False  # a row or cell without r (or not first), or a prefixed one
        self._row_count = 0  # <row> elements (counted only when some are unpositioned)
        self._cells_in_row = 0
        self._most_cells = 0

    def feed(self, xml: bytes) -> None:
        """Read one region. Excel's own form (` r="B12"`) is read with literal-prefix patterns:
        this runs on every sheet of every workbook."""
        self.formulas = self.formulas or _has_formula(xml)
        if _odd_spacing(xml):
            refs = _ANY_R.findall(xml)
            letters, digits = {a for a, _ in refs if a}, [d for _, d in refs if d]
        else:
            letters, digits = set(_PLAIN_R_LETTERS.findall(xml)), _PLAIN_R_DIGITS.findall(xml)
        # int(), not length: "0000000150" is row 150
        self.rows = max(self.rows, max(map(int, set(digits)), default=0))
        self.cols = max(self.cols, max(map(_column_number, letters), default=0))
        self.unpositioned = self.unpositioned or bool(
            _UNPOSITIONED_CELL.search(xml) or _UNPOSITIONED_ROW.search(xml) or _PREFIXED.search(xml)
        )
        self.errors += _error_cells(xml)

    def count(self, xml: bytes) -> None:
        """The second pass, for a sheet with unpositioned rows or cells: rows, and cells per row."""
        first, *rows = _ROW.split(xml)
        self._cells_in_row += len(_CELL.findall(first))  # the row the last region ended in
        self._most_cells = max(self._most_cells, self._cells_in_row)
        for row in rows:
            self._row_count += 1
            self._cells_in_row = len(_CELL.findall(row))
            self._most_cells = max(self._most_cells, self._cells_in_row)

    @property
    def extent(self) -> tuple[int, int]:
        """(rows, columns) of the rectangle calamine will allocate for this sheet, never less: from
        the r attributes of its rows and cells (a <dimension> element can say anything), and, where
        a row or cell has none and calamine counts positions, that count added on top (calamine
        then counts on from the last position)."""
        return self.rows + self._row_count, self.cols + self._most_cells


def _refused(code: str, **params) -> Container:
    """A container refused as a whole: its one finding names no sheet."""
    return Container(Finding(code, None, None, None, None, params))


def _odd_spacing(xml: bytes) -> bool:
    """Whether an r attribute could be written other than as ` r="`: a tab or line break before
    it, space around an "=", single quotes, or no space after the attribute before it (a false
    alarm only costs the slower pattern)."""
    return (
        any(ws in xml and ws + b"r" in xml for ws in (b"\t", b"\n", b"\r"))
        or _ODD_EQUALS.search(xml) is not None
    )


def _has_formula(xml: bytes) -> bool:
    # the literal "<f" pattern is ~8x faster; the prefixed form (<x:f>) only where a prefix is used
    return bool(_PLAIN_FORMULA.search(xml) or (b":f" in xml and _FORMULA.search(xml)))


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ch - 64
    return n


def _error_cells(xml: bytes) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if b't="e"' not in xml:
        return out
    for m in _ERROR_CELL.finditer(xml):
        ref = _CELL_REF.search(m.group(0))
        value = _ERROR_VALUE.search(xml, m.end(), m.end() + 2000)
        if ref:
            out.append(
                (
                    ref.group(1).decode(),
                    value.group(1).decode("utf-8", "replace") if value else "#ERROR",
                )
            )
    return out


def _sheet_parts(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> dict[str, str]:
    """Sheet name -> its worksheet part, from workbook.xml and its relationships (each parsed
    whole, so each must be of a workbook's size: ValueError, a damaged file, otherwise)."""
    ns_main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    ns_rel = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
    sizes = {i.filename: i.file_size for i in infos}
    if any(sizes.get(p, 0) > MAX_BOOK_PART for p in (_BOOK, _BOOK_RELS)):
        raise ValueError("workbook.xml or its relationships are larger than any workbook's")
    book = ElementTree.fromstring(zf.read(_BOOK))
    try:
        rels = ElementTree.fromstring(zf.read(_BOOK_RELS))
    except KeyError:
        return {}
    targets = {}
    for rel in rels:
        target = rel.get("Target", "")
        target = posixpath.normpath(
            target.lstrip("/") if target.startswith("/") else "xl/" + target
        )
        targets[rel.get("Id")] = target
    out = {}
    for sheet in book.iter(f"{ns_main}sheet"):
        part = targets.get(sheet.get(f"{ns_rel}id"))
        if part and sheet.get("name") is not None:
            out[sheet.get("name")] = part
    return out
