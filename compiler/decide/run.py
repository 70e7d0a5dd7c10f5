"""A run of claims: decided as one, so that a Per Days claim counts what its member already received.

A `Per Days` limit caps what a member may receive in any W consecutive days, so a claim's decision
depends on the member's earlier fills (the history) and on the run's claims before it (an earlier
date of service, or the same date and earlier in the input), counted at what they were approved.
`decide_run` decides the claims in two passes of the engine:

1. each claim alone, which gives every Per Days claim its member, product, day, limit, window and
   the cap of its best override met (the engine's private `CAP` column), and every other claim of
   a Per Days product (one a Per Rx version decided) what it was approved;
2. after window.accumulate has walked the run in its order, the Per Days claims again, each with
   what its member received in its window (the engine's private `ACCUMULATED` column).

The history is read through the same first pass, as claims of the versions in effect on their
dates: its rows resolve their codes and are checked exactly as claims are. A run whose rulesets
limit nothing Per Days is the first pass alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from ..errors import DqmError
from ..vocabulary import CLAIM_COLUMNS
from .arrays import int_array, ints, stripped, text_array
from .claims import OUT_OF_EFFECT, ROW_PROBLEM, column_key
from .decisions import Decisions, decision_frame
from .encode import Coded, Column, Dates, arrow_texts, encode
from .evaluation import (
    ACCUMULATED,
    APPROVE,
    CAP,
    DENY,
    FIRST_PASS,
    INVALID,
    OVERRIDE,
    TERMS_ONLY,
)
from .window import NO_CAP, Fills, Window, accumulate, micro

if TYPE_CHECKING:
    import pandas as pd

# What the engine reads of a claims frame: the contract's columns and two notes on a claim (the
# reader's on a malformed row, and decide/versions.py's on a date no version was in effect on).
COLUMNS = [*CLAIM_COLUMNS, ROW_PROBLEM, OUT_OF_EFFECT]
# A pass of the engine over a run's columns (Engine.decide_columns, or Versions' by date).
Decide = Callable[[dict[str, Column], int], dict[str, Any]]
_COUNTED = np.array([APPROVE, OVERRIDE, DENY], dtype=np.int64)  # decided under a limit
_PAID, _REVERSED, _UNKNOWN = 0, 1, 2  # a history row's status


class HistoryError(DqmError):
    """A history row that cannot be counted: the run stops, since a fill silently dropped would
    approve claims that should deny. `row`: its 1-based number; `problem`: what is wrong with it
    (the message less its number, so that a part of the file can be renumbered: spark_runs.py)."""

    code = "history"

    def __init__(self, row: int, problem: str):
        super().__init__(f"History row {row}: {problem}")
        self.row, self.problem = row, problem

    def __reduce__(self):  # pickled (a worker process's) with its fields, not its message
        return HistoryError, (self.row, self.problem)


def decide_run(
    claims: pd.DataFrame | pa.Table,
    decide: Decide,
    history: pd.DataFrame | pa.Table | None = None,
) -> pd.DataFrame | Decisions:
    """One decision per claim, in input order, the claims decided as one run against `history`
    (the members' earlier paid fills: member_id, product_id / ndc / rxcui, date_of_service,
    quantity, optional status and claim_id). A decision frame for a claims frame, Decisions for
    a claims table. HistoryError names a malformed history row."""
    counted = fills(decide, history) if history is not None else None
    return decide_counted(claims, decide, counted)


def decide_counted(
    claims: pd.DataFrame | pa.Table, decide: Decide, counted: pa.Table | None
) -> pd.DataFrame | Decisions:
    """decide_run against fills already read (FILLS: the history's, by `fills`); the claims of
    every member whose fills are given, or a run's whole (decide/spark_runs.py: a member's
    group)."""
    columns, n = claim_columns(claims)
    first = decide({**columns, FIRST_PASS: np.ones(n, dtype=bool)}, n)
    over_window = not np.isnan(np.asarray(first["accumulated_quantity"], dtype=float)).all()
    window = terms(first) if over_window else None  # none: the first pass is the run
    if window is not None and window.num_rows:
        order, a = accumulated(window, counted)
        received = np.full(n, np.nan)
        received[order] = a
        first = decide({**columns, ACCUMULATED: received}, n)
    if isinstance(claims, pa.Table):
        return Decisions(first, n)
    return decision_frame(first)


def accumulated_for(claim: dict[str, Any], decide: Decide, history: Any) -> float | None:
    """What the member received in one claim's window, from `history` (a Per Days claim: the
    explanation's figure; None for any other)."""
    import pandas as pd

    decided = decide_run(pd.DataFrame([claim], dtype="str"), decide, history)
    value = decided["accumulated_quantity"].iloc[0]
    return None if pd.isna(value) else float(value)


def claim_columns(claims: pd.DataFrame | pa.Table) -> tuple[dict[str, Column], int]:
    """The engine's columns of a claims frame or table (None where the claims lack one), and n."""
    if isinstance(claims, pa.Table):
        n = claims.num_rows
        given = {column_key(name): claims.column(i) for i, name in enumerate(claims.column_names)}
        columns = {c: given.get(c) for c in COLUMNS}
        if columns["claim_id"] is None:
            columns["claim_id"] = pa.nulls(n, pa.string())  # numbered by claim_ids
    else:
        claims = claims.rename(columns=column_key)
        n = len(claims)
        columns = {c: claims[c] if c in claims.columns else None for c in COLUMNS}
    columns[OUT_OF_EFFECT] = None  # decide/versions.py's note, never a table's column
    return columns, n


# What a run's claim brings to the windows (terms): its member (trimmed) and product (product_id,
# case folded), its day, position in the run, quantity, limit, best cap (NO_CAP: none met), window
# and, for a claim a Per Rx version decided, what it was approved (-1: decided by the window).
TERMS = pa.schema(
    [("member", pa.string()), ("product", pa.string())]
    + [(name, pa.int64()) for name in ("day", "order", "quantity", "limit", "cap", "days", "fixed")]
)
FILLS = pa.schema(
    [
        ("member", pa.string()),
        ("product", pa.string()),
        ("day", pa.int64()),
        ("quantity", pa.int64()),
    ]
)


def terms(
    first: dict[str, Any], offset: int = 0, per_days: frozenset[str] | None = None
) -> pa.Table:
    """The claims of a first pass (Decide's columns) that count in a window: those decided over
    one, and those of a Per Days product (`per_days`: product ids case folded; by default, those
    the pass decided over a window) that a Per Rx version decided: they count what they were
    approved. `offset`: the first claim's position in the run."""
    window = ~np.isnan(np.asarray(first["accumulated_quantity"], dtype=float))
    member, product = _Texts(first["member_id"]), _Texts(first["product_id"], _folded)
    if per_days is None:
        per_days = frozenset(product.texts[product.codes[window]])
    if not window.any() and not per_days:
        return empty(TERMS)
    day = _days(first["date_of_service"])
    decided = np.asarray(first["decision"].codes)
    fixed = (
        ~window & np.isin(decided, _COUNTED) & product.isin(per_days) & member.given() & (day > 0)
    )
    rows = np.flatnonzero(window | fixed)
    cap = np.asarray(first[CAP], dtype=float)[rows] if first[CAP] is not None else np.nan + rows
    approved = np.nan_to_num(np.asarray(first["approved_quantity"], dtype=float)[rows])
    columns = [
        member.arrow(rows),
        product.arrow(rows),
        day[rows],
        rows.astype(np.int64) + offset,
        micro(np.asarray(first["quantity"][rows], dtype=float)),
        micro(np.nan_to_num(np.asarray(first["limit"], dtype=float)[rows])),
        np.where(np.isnan(cap), NO_CAP, np.nan_to_num(cap)).astype(np.int64),
        np.nan_to_num(np.asarray(first["period_days"], dtype=float)[rows]).astype(np.int64),
        np.where(fixed[rows], micro(approved), -1),
    ]
    return _table(columns, TERMS)


def accumulated(window: pa.Table, counted: pa.Table | None) -> tuple[np.ndarray, np.ndarray]:
    """(position in the run, what the member received in the window before it, in millionths)
    for each claim of `window` (terms), counting `counted` (fills) of its member and product."""
    counted = counted if counted is not None else empty(FILLS)
    m = window.num_rows
    # (member, product) as dense codes, the same for the run's claims and the history's fills
    members = pa.concat_arrays(
        [window.column("member").combine_chunks(), counted.column("member").combine_chunks()]
    ).dictionary_encode()
    products = pa.concat_arrays(
        [window.column("product").combine_chunks(), counted.column("product").combine_chunks()]
    ).dictionary_encode()
    pair = ints(members.indices) * max(len(products.dictionary), 1)
    pair += ints(products.indices)
    _, group = np.unique(pair, return_inverse=True)
    group = group.reshape(-1)
    column = {name: ints(window.column(name)) for name in TERMS.names[2:]}
    fixed = column["fixed"]
    run = Window(
        group=group[:m],
        day=column["day"],
        order=column["order"],
        quantity=column["quantity"],
        limit=column["limit"],
        cap=column["cap"],
        days=np.where(fixed >= 0, 1, column["days"]),
        fixed=fixed,
    )
    known = np.isin(group[m:], group[:m])  # fills of no claim's member and product count for none
    history = Fills(
        group=group[m:][known],
        day=ints(counted.column("day"))[known],
        quantity=ints(counted.column("quantity"))[known],
    )
    a, _ = accumulate(run, history)
    return column["order"], a


def fills(decide: Decide, history: pd.DataFrame | pa.Table, offset: int = 0) -> pa.Table:
    """The history's paid fills (FILLS), each row read as a claim of the version in effect on its
    date (its channel aside: fills count whatever their channel). HistoryError for a row that is
    not a fill (no member or date for a Per Days product, a malformed code or quantity, an
    unknown status), numbered from `offset` + 1."""
    columns, h = claim_columns(history)
    if h == 0:
        return empty(FILLS)
    status, unknown = _status(history, h)
    columns["channel"] = Coded(np.zeros(h, dtype=np.int64), ["retail"])
    columns[TERMS_ONLY] = np.ones(h, dtype=bool)
    decided = decide(columns, h)
    codes = np.asarray(decided["decision"].codes)
    # The first row that is not a fill, whatever its problem: the same row however the history
    # is split into batches (or Spark partitions).
    invalid = np.flatnonzero((codes == INVALID) & (status != _REVERSED))[:1]
    if unknown is not None and not (len(invalid) and invalid[0] < unknown[0]):
        raise HistoryError(
            offset + unknown[0] + 1,
            f"status {unknown[1]!r} is not paid or reversed (leave it blank for a paid fill).",
        )
    for i in invalid:
        message = str(decided["message"].at(i)).removeprefix("Invalid: ")
        raise HistoryError(
            offset + int(i) + 1,
            f"{message} A fill left out would let the member's later claims approve; correct "
            "the row and run again.",
        )
    member = _Texts(decided["member_id"])
    day = _days(decided["date_of_service"])
    rows = np.flatnonzero(np.isin(codes, _COUNTED) & (status == _PAID) & member.given() & (day > 0))
    columns = [
        member.arrow(rows),
        _Texts(decided["product_id"], _folded).arrow(rows),
        day[rows],
        micro(np.asarray(decided["quantity"][rows], dtype=float)),
    ]
    return _table(columns, FILLS)


def _table(columns: list, schema: pa.Schema) -> pa.Table:
    """Texts already Arrow, numbers as int64 (built from buffers: no pandas import)."""
    arrays = [c if isinstance(c, pa.Array) else int_array(c) for c in columns]
    return pa.Table.from_arrays(arrays, schema=schema)


def empty(schema: pa.Schema) -> pa.Table:
    """A table of no rows (schema.empty_table would import pandas: dqm decide never does)."""
    return pa.Table.from_arrays([pa.nulls(0, f.type) for f in schema], schema=schema)


def _folded(text: str) -> str:
    return text.strip().casefold()


class _Texts:
    """A coded text column (member, product) through `key` (None: stripped, as Arrow: a batch's
    member ids are many), worked on per distinct text: each row's text is only made for the rows
    kept, as Arrow text."""

    def __init__(self, column: Coded, key: Callable[[str], str] | None = None):
        self.codes = np.where(column.codes < 0, len(column.categories), column.codes)
        if key is None:
            texts = stripped(arrow_texts(column.categories))
            if texts.type != pa.string():  # (a cast imports pyarrow.compute)
                texts = texts.cast(pa.string())
        else:
            texts = text_array([key(str(t)) for t in column.categories])
        self.distinct = pa.concat_arrays([texts, text_array([""])])
        self._texts: np.ndarray | None = None

    @property
    def texts(self) -> np.ndarray:
        """The distinct texts as Python's (objects), and "" for none."""
        if self._texts is None:
            self._texts = np.array(self.distinct.to_pylist(), dtype=object)
        return self._texts

    def given(self) -> np.ndarray:
        """Per row: whether its text is not empty."""
        import pyarrow.compute as pc  # not at import: dqm decide's start

        return (ints(pc.binary_length(self.distinct)) > 0)[self.codes]

    def isin(self, texts: frozenset[str]) -> np.ndarray:
        return np.isin(self.texts, list(texts))[self.codes]

    def arrow(self, rows: np.ndarray) -> pa.Array:
        return self.distinct.take(int_array(self.codes[rows]))


def _days(dates: Dates) -> np.ndarray:
    """Day numbers of the decisions' dates of service, as the engine read them; 0 where none
    or not a date."""
    return np.maximum(dates.day_of, 0)[dates.codes]


def _status(history: pd.DataFrame | pa.Table, h: int) -> tuple[np.ndarray, tuple | None]:
    """Each history row's status, _PAID (the default), _REVERSED or _UNKNOWN (each distinct text
    read once), and the first row of an unknown one with its text (None when there is none)."""
    names = history.column_names if isinstance(history, pa.Table) else list(history.columns)
    found = [n for n in names if str(n).strip().casefold() == "status"]
    if not found:
        return np.full(h, _PAID, dtype=np.int8), None
    codes, texts = encode(history[found[0]], h)
    meaning = []
    for text in texts:
        word = str(text).strip().casefold()
        known = {"": _PAID, "paid": _PAID, "reversed": _REVERSED}
        meaning.append(known.get(word, _UNKNOWN))
    status = np.array([*meaning, _PAID], dtype=np.int8)[codes]
    rows = np.flatnonzero(status == _UNKNOWN)
    if not len(rows):
        return status, None
    return status, (int(rows[0]), str(texts[codes[rows[0]]]).strip())
