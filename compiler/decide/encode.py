"""Dictionary encoding: a claims column as codes into its few distinct values.

The engine decides each distinct value once (a product id, a channel, a drug text) and numpy maps
the answers back to every row; these are the codes and the distinct values. A column comes as an
Arrow array (a claims batch read by dqm decide: pandas is never imported), a pandas Series (the
frame API), or a list (one claim explained).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from . import arrays

if TYPE_CHECKING:
    import pandas as pd

from ..vocabulary import CHANNELS
from .claims import column_key
from .grammar import quantity_number, service_date

# Codes for a claim's product or channel that are not an index into the ruleset's products or
# into CHANNELS.
MISSING, UNKNOWN = -2, -1
# A claim's date of service is a day number (date.toordinal(), 1 and up), or one of these.
NO_DATE, BAD_DATE = -1, -2
_CHANNEL_CODES = {channel: i for i, channel in enumerate(CHANNELS)}


class Texts(Sequence):
    """Distinct texts as Arrow holds them (a dictionary's values): `arrow`, for code that works on
    them whole (the member ids of a batch of claims, their Per Days messages: a text each), and to
    Python code that reads them one by one a list, made when first read."""

    __slots__ = ("_list", "arrow")

    def __init__(self, arrow: pa.Array):
        self.arrow, self._list = arrow, None

    def _texts(self) -> list[str]:
        if self._list is None:
            self._list = self.arrow.to_pylist()
        return self._list

    def __len__(self) -> int:
        return len(self.arrow)

    def __getitem__(self, i):
        return self._texts()[i]

    def __iter__(self):
        return iter(self._texts())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    def __repr__(self) -> str:
        return f"Texts({self._texts()!r})"


def arrow_texts(texts: Sequence[str]) -> pa.Array:
    """Distinct texts as an Arrow string array (Texts' own, when they are Texts)."""
    return texts.arrow if isinstance(texts, Texts) else arrays.text_array(list(texts))


def used_texts(texts: Sequence[str], used: np.ndarray) -> Sequence[str]:
    """The texts numbered `used` (codes, none -1), as Texts when they are."""
    if isinstance(texts, Texts):
        return Texts(texts.arrow.take(arrays.int_array(used)))
    return [texts[u] for u in used]


def blank(texts: Sequence[str]) -> np.ndarray:
    """Per distinct text, whether it is empty or only whitespace (as str.strip() sees it), and a
    last True for none (code -1): many texts (member ids) worked on as Arrow."""
    if isinstance(texts, Texts) and len(texts) > 1024:
        import pyarrow.compute as pc  # not at import: dqm decide's start

        lengths = arrays.ints(pc.binary_length(arrays.stripped(texts.arrow)), missing=0)
        return np.append(lengths == 0, True)
    return np.array([not t.strip() for t in texts] + [True], dtype=bool)


@dataclass
class Coded:
    """A column as codes into a few distinct values (-1: none): cheap to build for a million rows,
    a pandas Categorical for decide, one plain value for explain."""

    codes: np.ndarray
    categories: list

    def categorical(self) -> pd.Categorical:
        import pandas as pd

        codes, categories = self.codes, self.categories
        if (
            len(categories) > 2 * len(codes) + 16
        ):  # e.g. every message of a large ruleset: keep the used
            used, codes = np.unique(codes, return_inverse=True)
            categories = [categories[u] for u in used if u >= 0]
            codes = codes - 1 if len(used) and used[0] < 0 else codes
        categories = list(categories)
        if len(set(categories)) != len(categories):  # e.g. two products with the same wording
            codes = codes.copy()
            categories = _unique(categories, codes)
        return pd.Categorical.from_codes(codes, categories or [""])

    def at(self, i: int) -> Any:
        code = self.codes[i]
        return None if code < 0 else self.categories[code]

    def take(self, rows: np.ndarray) -> Coded:
        """The same column for these rows only (the distinct values are shared, not copied)."""
        return Coded(self.codes[rows], self.categories)


@dataclass
class Plain:
    """A column of values as given (a numeric quantity column)."""

    values: np.ndarray

    def at(self, i: int) -> Any:
        return self.values[i]

    def take(self, rows: np.ndarray) -> Plain:
        return Plain(self.values[rows])


# A claims column as the engine takes it.
Column = "pd.Series | pa.ChunkedArray | pa.Array | list | Coded | Plain | None"


def is_series(value: object) -> bool:
    """Whether `value` is a pandas Series (without importing pandas: none exists unless it was)."""
    # getattr: pandas may be half imported by another thread, and then no Series exists yet.
    series = getattr(sys.modules.get("pandas"), "Series", None)
    return series is not None and isinstance(value, series)


def encoded(series: pd.Series | None, n: int) -> Coded | Plain | None:
    """A claims column encoded once, for a batch decided in parts (decide/versions.py): text as
    codes into its distinct values, a numeric quantity column as its numbers."""
    if series is None:
        return None
    if _numeric(series):
        return Plain(series.to_numpy(dtype=float, na_value=np.nan))
    return Coded(*encode(series, n))


def encode(series: Column, n: int) -> tuple[np.ndarray, list[str]]:
    """Codes per row (-1: missing) and the distinct texts; via Arrow when the column is Arrow text.
    A list (one claim explained) is encoded in plain Python: cheaper than any frame. A column
    already encoded is taken as it is."""
    if series is None:
        return np.full(n, -1, dtype=np.int64), []
    if isinstance(series, Coded):
        return series.codes, series.categories
    if isinstance(series, list):
        seen: dict[Any, int] = {}
        codes = np.array(
            [-1 if v is None else seen.setdefault(v, len(seen)) for v in series], dtype=np.int64
        )
        return codes, list(seen)
    if isinstance(series, (pa.Array, pa.ChunkedArray)):
        return _arrow_codes(series, n)
    import pandas as pd

    if isinstance(series.dtype, pd.CategoricalDtype):  # read as a dictionary (decide/claims.py)
        categories = series.cat.categories.to_numpy(dtype=object)  # no Arrow scalar per value
        return series.cat.codes.to_numpy(dtype=np.int64), [
            c if isinstance(c, str) else str(c) for c in categories
        ]
    array = series.array
    if hasattr(array, "__arrow_array__") and n:
        chunked = pa.chunked_array(array.__arrow_array__())
        if pa.types.is_string(chunked.type) or pa.types.is_large_string(chunked.type):
            encoded = chunked.combine_chunks().dictionary_encode()
            codes = encoded.indices.fill_null(-1).to_numpy(
                zero_copy_only=False
            )  # int32: fine as an index
            return codes, encoded.dictionary.to_pylist()
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    return codes.astype(np.int64), [str(u) if not isinstance(u, str) else u for u in uniques]


def _arrow_codes(array: pa.Array | pa.ChunkedArray, n: int) -> tuple[np.ndarray, Texts | list]:
    """An Arrow text column's codes and distinct texts: a dictionary column (CSV claims, read as
    dictionaries by Arrow's threads) as it is, its chunks' dictionaries unified; plain text
    dictionary-encoded by Arrow."""
    if isinstance(array, pa.ChunkedArray):
        if array.num_chunks == 0:
            return np.full(n, -1, dtype=np.int64), []
        if pa.types.is_dictionary(array.type):
            array = array.unify_dictionaries()
        array = array.combine_chunks()
    if not pa.types.is_dictionary(array.type):
        if array.null_count == len(array):  # e.g. a column the claims do not carry
            return np.full(len(array), -1, dtype=np.int64), []
        if len(array) <= 1024:  # a few (one claim): Python, and pyarrow.compute not imported
            return encode(array.to_pylist(), n)
        array = array.dictionary_encode()
    return arrays.ints(array.indices), Texts(array.dictionary)


def _numeric(series: Column) -> bool:
    if not is_series(series):
        return False
    import pandas as pd

    return pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(
        series.dtype
    )


def quantities(series: Column, n: int) -> tuple[np.ndarray, Coded | Plain]:
    """Each claim's quantity as a float (NaN when missing or not a number) and as given."""
    if isinstance(series, Plain):
        return series.values, series
    if _numeric(series):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        return values, Plain(values)
    codes, texts = encode(series, n)
    parsed = [quantity_number(t) for t in texts]
    numbers = np.array([np.nan if q is None else q for q in parsed] + [np.nan], dtype=float)
    return numbers[codes], Coded(codes, texts)


def echoed_quantities(quantity: np.ndarray, given: Coded | Plain) -> np.ndarray:
    """The quantity a decision echoes: the number; the text as given (untrimmed) where it is not
    a number ("1e20", "ten", "+60"); none where it is missing (blank, or only whitespace). The
    numbers as they are when no claim has such a text (most batches: nothing to do); else one
    object per claim, a whole number as int (60, not 60.0), none as None."""
    if isinstance(given, Plain):
        return quantity
    texts = [t if t.strip() and quantity_number(t) is None else None for t in given.categories]
    is_text = np.array([t is not None for t in texts] + [False], dtype=bool)
    if not is_text.any() or not (rows := is_text[given.codes]).any():
        return quantity
    out = number_objects(quantity)
    out[rows] = np.array(texts + [None], dtype=object)[given.codes[rows]]
    return out


def number_objects(values: np.ndarray) -> np.ndarray:
    """Numbers as objects as JSON writes them: int when whole, exactly however large (the
    double's own value: 1e20 as 100000000000000000000), else float; NaN and infinities as None."""
    out = values.astype(object)
    present = np.isfinite(values)
    whole = present & (np.mod(np.where(present, values, 0.0), 1.0) == 0.0)
    small = whole & (np.abs(np.where(whole, values, 0.0)) < 2**63)
    out[small] = values[small].astype(np.int64).astype(object)
    for i in np.flatnonzero(whole & ~small):  # beyond 64 bits: rare (a quantity echoed)
        out[i] = int(values[i])
    out[~present] = None
    return out


@dataclass
class Dates(Coded):
    """A date of service column as read: codes into the dates as echoed, and each one's day
    number (read once for a batch decided in parts)."""

    day_of: np.ndarray = None  # per category, then NO_DATE for a missing one

    def take(self, rows: np.ndarray) -> Dates:
        return Dates(self.codes[rows], self.categories, self.day_of)


def service_days(series: Column, n: int) -> tuple[np.ndarray, Dates]:
    """Each claim's date of service as a day number, NO_DATE (missing or blank) or BAD_DATE (not
    a date in the contract's grammar), and as the decision echoes it: YYYY-MM-DD (`20240601` ->
    `2024-06-01`), or as given when it is not a date. Each distinct text is read once. A column
    of timestamps (a table's date column) is read as its dates."""
    if isinstance(series, Dates):
        return series.day_of[series.codes], series
    if is_series(series) and series.dtype.kind == "M":  # datetime64, with or without a zone
        series = series.dt.strftime("%Y-%m-%d")  # a time of day is not part of a date of service
    codes, texts = encode(series, n)
    days, shown = [], []
    for text in texts:
        date = service_date(text)
        days.append(date.toordinal() if date else NO_DATE if not text.strip() else BAD_DATE)
        shown.append(date.isoformat() if date else text)
    day_of = np.array(days + [NO_DATE], dtype=np.int64)
    return day_of[codes], Dates(codes, shown, day_of)


def channel_code(text: str) -> int:
    """A claim's channel as an index into CHANNELS, MISSING or UNKNOWN; spelled in any case, with
    spaces, `-` or `_` between the words ("Home Delivery", "home-delivery")."""
    key = column_key(text)
    if not key:
        return MISSING
    return _CHANNEL_CODES.get(key, UNKNOWN)


def claim_ids(series: Column, n: int) -> pd.Series | pa.ChunkedArray | list:
    """The claim ids as given, as text; a missing one is the claim's row number ("1" for the first)."""
    if isinstance(series, list):
        return [str(i + 1) if v is None else v for i, v in enumerate(series)]
    if isinstance(series, (pa.Array, pa.ChunkedArray)):
        if pa.types.is_dictionary(series.type) or not pa.types.is_string(series.type):
            series = series.cast(pa.string())
        if not series.null_count:
            return series
        import pyarrow.compute as pc  # not at import: dqm decide's start

        return pc.coalesce(series, arrays.int_array(np.arange(1, n + 1)).cast(pa.string()))
    if series is not None:
        series = series.reset_index(drop=True)
        if not series.isna().any():
            return series
    numbers = pa.array(np.arange(1, n + 1)).cast(pa.string()).to_pandas()
    if series is None:
        return numbers
    return series.astype("str").where(series.notna(), numbers)


def _unique(categories: list[str], codes: np.ndarray) -> list[str]:
    """Categories must be unique: fold a repeated message onto its first code (rare)."""
    if len(set(categories)) == len(categories):
        return categories
    first: dict[str, int] = {}
    remap = np.empty(len(categories), dtype=np.int64)
    out: list[str] = []
    for i, c in enumerate(categories):
        if c not in first:
            first[c] = len(out)
            out.append(c)
        remap[i] = first[c]
    codes[codes >= 0] = remap[codes[codes >= 0]]
    return out
