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

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from ..errors import DqmError
from ..vocabulary import CLAIM_COLUMNS
from .claims import OUT_OF_EFFECT, ROW_PROBLEM, column_key
from .decisions import Decisions, decision_frame
from .encode import Coded, Column
from .evaluation import ACCUMULATED, APPROVE, CAP, DENY, INVALID, OVERRIDE
from .window import NO_CAP, Fills, Window, accumulate, micro

if TYPE_CHECKING:
    import pandas as pd

# What the engine reads of a claims frame: the contract's columns and two notes on a claim (the
# reader's on a malformed row, and decide/versions.py's on a date no version was in effect on).
COLUMNS = [*CLAIM_COLUMNS, ROW_PROBLEM, OUT_OF_EFFECT]
# A pass of the engine over a run's columns (Engine.decide_columns, or Versions' by date).
Decide = Callable[[dict[str, Column], int], dict[str, Any]]
_COUNTED = np.array([APPROVE, OVERRIDE, DENY], dtype=np.int64)  # decided under a limit
_PAID, _REVERSED = "paid", "reversed"


class HistoryError(DqmError):
    """A history row that cannot be counted: the run stops, since a fill silently dropped would
    approve claims that should deny."""

    code = "history"


def decide_run(
    claims: pd.DataFrame | pa.Table,
    decide: Decide,
    history: pd.DataFrame | pa.Table | None = None,
) -> pd.DataFrame | Decisions:
    """One decision per claim, in input order, the claims decided as one run against `history`
    (the members' earlier paid fills: member_id, product_id / ndc / rxcui, date_of_service,
    quantity, optional status and claim_id). A decision frame for a claims frame, Decisions for
    a claims table. HistoryError names a malformed history row."""
    columns, n = claim_columns(claims)
    first = decide(columns, n)
    fills = _fills(decide, history) if history is not None else None
    window = ~np.isnan(np.asarray(first["accumulated_quantity"], dtype=float))
    if window.any():
        keys = _Keys()
        run, per_days = _window(first, window, keys)
        counted = fills.coded(keys, per_days) if fills else _no_fills()
        # (member, product) as dense codes, the same for the run's claims and the history's fills
        _, dense = np.unique(np.concatenate([run.group, counted.group]), return_inverse=True)
        run.group, counted.group = dense[: len(run.group)], dense[len(run.group) :]
        a, _ = accumulate(run, counted)
        accumulated = np.full(n, np.nan)
        accumulated[run.order] = a
        first = decide({**columns, ACCUMULATED: accumulated}, n)
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


class _Keys:
    """(member, product) pairs coded as one int64 each: the member compared after trimming, the
    product by its product_id ignoring case, as claims name them."""

    def __init__(self) -> None:
        self.members: dict[str, int] = {}
        self.products: dict[str, int] = {}

    def members_of(self, column: Coded) -> np.ndarray:
        return _codes(column, self.members, str.strip)

    def products_of(self, column: Coded) -> np.ndarray:
        return _codes(column, self.products, lambda t: t.strip().casefold())

    def group(self, member: np.ndarray, product: np.ndarray) -> np.ndarray:
        """One int64 per pair (not dense: decide_run makes the codes dense)."""
        return member.astype(np.int64) * (1 << 31) + product


def _codes(column: Coded, index: dict[str, int], key: Callable[[str], str]) -> np.ndarray:
    """Each row's text coded through `index` (shared by claims and history); -1 where none."""
    mapped = [index.setdefault(key(str(t)), len(index)) for t in column.categories]
    return np.array([*mapped, -1], dtype=np.int64)[column.codes]


def _window(first: dict[str, Any], window: np.ndarray, keys: _Keys) -> tuple[Window, np.ndarray]:
    """The run's claims that count in a window: those decided over one, and those of the same
    products a Per Rx version decided (they count what they were approved); and the products
    decided over a window (as _Keys codes them)."""
    member, product = keys.members_of(first["member_id"]), keys.products_of(first["product_id"])
    day = _days(first["date_of_service"])
    per_days = np.unique(product[window])
    decided = np.asarray(first["decision"].codes)
    fixed = (
        ~window
        & np.isin(decided, _COUNTED)
        & np.isin(product, per_days)
        & (member >= 0)
        & (day > 0)
    )
    rows = np.flatnonzero(window | fixed)
    quantity = micro(np.asarray(first["quantity"][rows], dtype=float))
    cap = np.asarray(first[CAP], dtype=float)[rows]
    return Window(
        group=keys.group(member[rows], product[rows]),
        day=day[rows],
        order=rows.astype(np.int64),
        quantity=quantity,
        limit=micro(np.nan_to_num(np.asarray(first["limit"], dtype=float)[rows])),
        cap=np.where(np.isnan(cap), NO_CAP, np.nan_to_num(cap)).astype(np.int64),
        days=np.nan_to_num(np.asarray(first["period_days"], dtype=float)[rows]).astype(np.int64),
        fixed=np.where(
            fixed[rows],
            micro(np.nan_to_num(np.asarray(first["approved_quantity"], dtype=float)[rows])),
            -1,
        ),
    ), per_days


def _days(dates: Coded) -> np.ndarray:
    """Day numbers of decisions' echoed dates (YYYY-MM-DD); 0 where none or not a date."""
    day_of = []
    for text in dates.categories:
        try:
            day_of.append(dt.date.fromisoformat(str(text)).toordinal())
        except ValueError:
            day_of.append(0)
    return np.array([*day_of, 0], dtype=np.int64)[dates.codes]


class _History:
    """The history's counted rows as the first pass read them."""

    def __init__(self, decided: dict[str, Any], rows: np.ndarray):
        self.decided, self.rows = decided, rows

    def coded(self, keys: _Keys, per_days: np.ndarray) -> Fills:
        """The fills of the products the run decides over a window (others count toward none)."""
        d, rows = self.decided, self.rows
        member = keys.members_of(d["member_id"])[rows]
        product = keys.products_of(d["product_id"])[rows]
        known = np.isin(product, per_days) & (member >= 0)
        return Fills(
            group=keys.group(member[known], product[known]),
            day=_days(d["date_of_service"])[rows][known],
            quantity=micro(np.asarray(d["quantity"][rows], dtype=float))[known],
        )


def _no_fills() -> Fills:
    empty = np.zeros(0, dtype=np.int64)
    return Fills(empty, empty, empty)


def _fills(decide: Decide, history: pd.DataFrame | pa.Table) -> _History | None:
    """The history's paid fills of Per Days products, each row read as a claim of the version
    in effect on its date (its channel aside: fills count whatever their channel). HistoryError
    for a row that is not a fill: no member or date for a Per Days product, a malformed code or
    quantity, an unknown status."""
    columns, h = claim_columns(history)
    if h == 0:
        return None
    status = _status(history, h)
    columns["channel"] = Coded(np.zeros(h, dtype=np.int64), ["retail"])
    decided = decide(columns, h)
    codes = np.asarray(decided["decision"].codes)
    for i in np.flatnonzero((codes == INVALID) & (status != _REVERSED))[:1]:
        message = str(decided["message"].at(i)).removeprefix("Invalid: ")
        raise HistoryError(
            f"History row {i + 1}: {message} A fill left out would let the member's later "
            "claims approve; correct the row and run again."
        )
    counted = np.isin(codes, _COUNTED) & (status == _PAID)
    return _History(decided, np.flatnonzero(counted))


def _status(history: pd.DataFrame | pa.Table, h: int) -> np.ndarray:
    """Each history row's status: paid (the default) or reversed; HistoryError for another."""
    names = history.column_names if isinstance(history, pa.Table) else list(history.columns)
    found = [n for n in names if str(n).strip().casefold() == "status"]
    if not found:
        return np.full(h, _PAID, dtype=object)
    column = history[found[0]]
    values = column.to_pylist() if isinstance(column, (pa.Array, pa.ChunkedArray)) else list(column)
    out = np.empty(h, dtype=object)
    for i, v in enumerate(values):
        text = "" if v is None or v != v else str(v).strip().casefold()
        if text not in ("", _PAID, _REVERSED):
            raise HistoryError(
                f"History row {i + 1}: status {str(v).strip()!r} is not paid or reversed "
                "(leave it blank for a paid fill)."
            )
        out[i] = text or _PAID
    return out
