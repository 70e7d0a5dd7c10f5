"""compiler/decide/arrays.py: Arrow arrays read and made from their buffers, as Python would."""

from __future__ import annotations

import pyarrow as pa

from compiler.decide import arrays
from compiler.decide.encode import Texts, blank

# Python's whitespace at either end (ASCII, the separators 0x1c-0x1f, NEL, NBSP, ideographic
# space), characters beyond ASCII that are not whitespace (a zero-width space, é), and none.
TEXTS = [
    " M1 ",
    "\tM2\r\n",
    "\x1cM3\x1f",
    "\u0085M4\u00a0",
    "\u3000M5\u3000",
    "\u200bM6",
    "é",
    "M7",
    "",
    "   ",
    "\u00a0",
    None,
]


def test_stripped_is_pythons_strip():
    array = pa.array(TEXTS, pa.string())
    assert arrays.stripped(array).to_pylist() == [None if t is None else t.strip() for t in TEXTS]
    assert arrays.stripped(array.slice(7, 1)).to_pylist() == ["M7"]  # at an offset


def test_edge_bytes_are_read_at_an_arrays_offset():
    array = pa.array(["xa", "ax", "b", "", None, "xbx"], pa.string()).slice(1)
    assert arrays.edge_byte_in(array, b"x").tolist() == [True, False, False, False, True]
    assert arrays.first_byte_in(array, b"x").tolist() == [False, False, False, False, True]


def test_blank_member_ids_as_arrow_and_as_python_agree():
    many = [t for t in TEXTS if t is not None] * 100  # over 1,024: worked on as Arrow
    by_arrow = blank(Texts(pa.array(many, pa.string())))
    by_python = blank(list(many))
    assert by_arrow.tolist() == by_python.tolist()
    assert by_arrow[:11].tolist() == [False] * 8 + [True] * 3
    assert by_arrow[-1]  # none: blank


def test_texts_read_as_a_list_when_python_reads_them():
    texts = Texts(pa.array(["a", "b"], pa.string()))
    assert (len(texts), texts[1], list(texts), texts == ["a", "b"]) == (2, "b", ["a", "b"], True)
    assert texts.arrow.to_pylist() == ["a", "b"]
