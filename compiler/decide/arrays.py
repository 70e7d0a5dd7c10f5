"""numpy arrays and Python lists to Arrow arrays and back, through Arrow's buffers.

pyarrow imports pandas (~0.4 s) the first time it converts Python or numpy values (`pa.array`,
`pa.scalar`, a Python value handed to a compute function) or converts to numpy (`to_numpy`),
when pandas is installed, to check whether the values are pandas'. `dqm decide` never has pandas
values, so the engine's hot paths build and read Arrow arrays from their buffers instead, and
the command starts without pandas.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

_INTS = {
    pa.int8(): np.int8,
    pa.int16(): np.int16,
    pa.int32(): np.int32,
    pa.int64(): np.int64,
    pa.uint8(): np.uint8,
    pa.uint16(): np.uint16,
    pa.uint32(): np.uint32,
    pa.uint64(): np.uint64,
}


def ints(array: pa.Array | pa.ChunkedArray, missing: int = -1) -> np.ndarray:
    """An Arrow integer array as int64 numbers, a null as `missing`."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    n, offset = len(array), array.offset
    validity, data = array.buffers()[:2]
    if data is None or n == 0:
        return np.zeros(n, dtype=np.int64)
    values = np.frombuffer(data, dtype=_INTS[array.type], count=offset + n)[offset:]
    values = values.astype(np.int64)
    if array.null_count:
        values[~_bits(validity, offset, n)] = missing
    return values


def _bits(buffer: pa.Buffer, offset: int, n: int) -> np.ndarray:
    """A bitmap (Arrow's validity or booleans, least significant bit first) as bools."""
    packed = np.frombuffer(buffer, dtype=np.uint8)
    return np.unpackbits(packed, count=offset + n, bitorder="little")[offset:].astype(bool)


def _bitmap(values: np.ndarray) -> pa.Buffer:
    return pa.py_buffer(np.packbits(np.asarray(values, dtype=bool), bitorder="little"))


def int_array(
    values: np.ndarray, type: pa.DataType | None = None, missing: np.ndarray | None = None
) -> pa.Array:
    """Numbers as an Arrow integer array of `type` (by default int64), null where `missing`."""
    type = type or pa.int64()
    data = np.ascontiguousarray(values, dtype=_INTS[type])
    validity, nulls = None, 0
    if missing is not None and (nulls := int(np.count_nonzero(missing))):
        validity = _bitmap(~missing)
    return pa.Array.from_buffers(type, len(data), [validity, pa.py_buffer(data)], nulls)


def float_array(values: np.ndarray) -> pa.Array:
    """Floats as an Arrow double array, NaN as null."""
    data = np.ascontiguousarray(values, dtype=np.float64)
    missing = np.isnan(data)
    nulls = int(np.count_nonzero(missing))
    validity = _bitmap(~missing) if nulls else None
    return pa.Array.from_buffers(pa.float64(), len(data), [validity, pa.py_buffer(data)], nulls)


def bool_array(values: np.ndarray) -> pa.Array:
    return pa.Array.from_buffers(pa.bool_(), len(values), [None, _bitmap(values)], 0)


def text_array(texts: list[str | None], empty_is_missing: bool = False) -> pa.Array:
    """Python texts (None: null; with `empty_is_missing`, "" too) as an Arrow string array: one
    join and one encode for the whole column, not one per text."""
    n = len(texts)
    missing = np.equal(np.array(texts, dtype=object), None)
    if missing.any():
        texts = ["" if t is None else t for t in texts]
    lengths = np.fromiter(map(len, texts), np.int64, n)
    data = "".join(texts).encode()
    if len(data) != lengths.sum():  # a text beyond ASCII: count its bytes, not its characters
        encoded = [t.encode() for t in texts]
        lengths = np.fromiter(map(len, encoded), np.int64, n)
        data = b"".join(encoded)
    if empty_is_missing:
        missing |= lengths == 0
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    kind, width = (pa.string(), np.int32) if offsets[-1] < 2**31 else (pa.large_string(), np.int64)
    nulls = int(np.count_nonzero(missing))
    buffers = [
        _bitmap(~missing) if nulls else None,
        pa.py_buffer(offsets.astype(width)),
        pa.py_buffer(data),
    ]
    return pa.Array.from_buffers(kind, n, buffers, nulls)


def text_scalar(text: str | None) -> pa.Scalar:
    """One text (None: null) as an Arrow string scalar, for compute functions."""
    return text_array([text])[0]


def first_byte_in(array: pa.Array, starts: bytes) -> np.ndarray:
    """Per text of a string array: whether its first byte is one of `starts` (false for a null or
    an empty text), read from the array's offsets and data without a copy."""
    return _edge_byte_in(array, starts, last=False)


def edge_byte_in(array: pa.Array, edges: bytes) -> np.ndarray:
    """Per text of a string array: whether its first or its last byte is one of `edges`."""
    return _edge_byte_in(array, edges, last=True)


def _edge_byte_in(array: pa.Array, edges: bytes, last: bool) -> np.ndarray:
    n, offset = len(array), array.offset
    validity, offsets, data = array.buffers()[:3]
    if n == 0 or data is None:
        return np.zeros(n, dtype=bool)
    width = np.int64 if pa.types.is_large_string(array.type) else np.int32
    bounds = np.frombuffer(offsets, dtype=width, count=offset + n + 1)[offset:]
    begin, nonempty = bounds[:-1], bounds[1:] > bounds[:-1]
    lookup = np.zeros(256, dtype=bool)
    lookup[list(edges)] = True
    found = np.zeros(n, dtype=bool)
    data = np.frombuffer(data, dtype=np.uint8)
    found[nonempty] = lookup[data[begin[nonempty]]]
    if last:
        found[nonempty] |= lookup[data[bounds[1:][nonempty] - 1]]
    if array.null_count:
        found &= _bits(validity, offset, n)
    return found


# The bytes that may begin or end a text Python's str.strip() would change: ASCII whitespace
# (with the four separators 0x1c-0x1f, which Python counts) and any byte of a character beyond
# ASCII (U+00A0, U+3000 and the like are whitespace too).
_MAY_STRIP = bytes([9, 10, 11, 12, 13, 28, 29, 30, 31, 32, *range(128, 256)])


def stripped(array: pa.Array) -> pa.Array:
    """A string array's texts as Python's str.strip() leaves them (nulls as they are), in Python
    only for the texts that may change: member ids are many, and almost never padded."""
    may = edge_byte_in(array, _MAY_STRIP)
    if not may.any():
        return array
    import pyarrow.compute as pc  # not at import: dqm decide's start

    rows = np.flatnonzero(may)
    texts = [t.strip() for t in array.take(int_array(rows)).to_pylist()]
    mask = np.zeros(len(array), dtype=bool)
    mask[rows] = True
    return pc.replace_with_mask(array, bool_array(mask), text_array(texts).cast(array.type))
