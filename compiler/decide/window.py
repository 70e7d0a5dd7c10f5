"""Limits over time: what a member already received in a claim's window (`accumulated_quantity`).

A `Per Days` product's limit is the most a member may receive in any W consecutive days. For a
claim on day D the window is D-W+1 .. D, and what counts toward it (A) is, for the same member and
product: the history fills dated in the window, plus the approved quantities of the run's claims
dated in the window that come before this claim (an earlier date, or the same date and earlier in
the input). The claim is then decided against A: A + Q <= L approves Q; else the best override
met (cap C) approves min(Q, C - A) when that is above 0; else it is denied.

So a claim's A depends on the decisions of the claims before it. `accumulate` works group by
group ((member, product) pairs) in rounds: round r decides every group's r-th claim at once,
whose predecessors are all decided. Quantities are counted in millionths (int64), so that sums
are exact: 0.1 + 0.2 is 0.3 here, as a reviewer adds it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .evaluation import APPROVE, DENY, OVERRIDE

MICRO = 1_000_000  # quantities are counted in millionths of a unit
NO_CAP = np.iinfo(np.int64).min  # no override criterion met


def micro(quantity: np.ndarray) -> np.ndarray:
    """Quantities (float) as whole millionths, rounded to the nearest (half to even)."""
    return np.rint(np.asarray(quantity, dtype=np.float64) * MICRO).astype(np.int64)


@dataclass
class Window:
    """Per claim of a run that a Per Days limit decides (m of them), in any order."""

    group: np.ndarray  # int64: the (member, product) pair, coded
    day: np.ndarray  # int64: the date of service as a day number
    order: np.ndarray  # int64: the claim's position in the run's input
    quantity: np.ndarray  # int64 millionths
    limit: np.ndarray  # int64 millionths: the channel's limit over the window
    cap: np.ndarray  # int64 millionths: the best override met (NO_CAP: none)
    days: np.ndarray  # int64: W, the window's length for the claim's channel
    # int64 millionths: what the claim was approved without regard to the window (a claim the
    # version in effect on its date limits per Rx still counts toward later ones), or -1: decided
    # by the window. None: every claim by the window.
    fixed: np.ndarray | None = None


@dataclass
class Fills:
    """The history: earlier paid fills (h of them), coded as `Window.group` codes them."""

    group: np.ndarray  # int64
    day: np.ndarray  # int64
    quantity: np.ndarray  # int64 millionths


def accumulate(claims: Window, fills: Fills) -> tuple[np.ndarray, np.ndarray]:
    """(A, approved) per claim, in millionths, in the order the claims were given."""
    m = len(claims.group)
    if m == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    start_day = claims.day - claims.days + 1
    history = _in_window(fills, claims.group, start_day, claims.day)

    # The run's claims of each group in the order they count: date, then input position.
    order = np.lexsort((claims.order, claims.day, claims.group))
    group, day = claims.group[order], claims.day[order]
    first = np.ones(m, dtype=bool)
    first[1:] = group[1:] != group[:-1]
    group_start = np.maximum.accumulate(np.where(first, np.arange(m), 0))
    rank = np.arange(m) - group_start
    # The first claim (in that order) of the same group dated in the window.
    key = _key(group, day)
    window_start = np.searchsorted(key, _key(group, start_day[order]), side="left")

    quantity, limit = claims.quantity[order], claims.limit[order]
    cap, before = claims.cap[order], history[order]
    fixed = claims.fixed[order] if claims.fixed is not None else np.full(m, -1, np.int64)
    # within[k]: what the group's claims before sorted position k were approved (within its group)
    within = np.zeros(m + 1, dtype=np.int64)
    accumulated = np.zeros(m, dtype=np.int64)
    approved = np.zeros(m, dtype=np.int64)
    by_rank = np.argsort(rank, kind="stable")
    bounds = np.searchsorted(rank[by_rank], np.arange(rank.max() + 2))
    for r in range(rank.max() + 1):
        k = by_rank[bounds[r] : bounds[r + 1]]
        a = before[k] + within[k] - within[window_start[k]]
        granted = np.where(fixed[k] >= 0, fixed[k], grant(a, quantity[k], limit[k], cap[k]))
        accumulated[k], approved[k] = a, granted
        within[k + 1] = within[k] + granted  # the next of the group (a next group starts at 0)
        within[k[(k + 1 < m) & first[np.minimum(k + 1, m - 1)]] + 1] = 0

    out_a, out_approved = np.empty(m, np.int64), np.empty(m, np.int64)
    out_a[order], out_approved[order] = accumulated, approved
    return out_a, out_approved


def grant(a: np.ndarray, q: np.ndarray, limit: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """What a claim of Q may dispense when the member already received A in its window (all in
    millionths): Q within the limit (A + Q <= L); else, an override met (its cap C), min(Q, C - A)
    when that is above 0; else 0. The one statement of the rule: the run (`accumulate`) and the
    engine's decision both take it from here."""
    room = np.where(cap != NO_CAP, np.clip(np.minimum(q, cap - a), 0, None), 0)
    return np.where(a + q <= limit, q, room)


def over_window(
    a: np.ndarray, q: np.ndarray, limit: np.ndarray, cap: np.ndarray, quantity: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per Days claims' decisions (evaluation's codes) and approved quantities, given what each
    member received (all in millionths but `quantity`, the claims' own, echoed where all of it is
    granted)."""
    granted = grant(a, q, limit, cap)
    decision = np.where(
        a + q <= limit, APPROVE, np.where((cap != NO_CAP) & (granted > 0), OVERRIDE, DENY)
    )
    approved = np.where(decision == DENY, 0.0, np.where(granted == q, quantity, granted / MICRO))
    return decision, approved


def _in_window(fills: Fills, group: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Per claim, the history fills of its group dated start..end (inclusive), summed."""
    if len(fills.group) == 0:
        return np.zeros(len(group), dtype=np.int64)
    order = np.lexsort((fills.day, fills.group))
    key = _key(fills.group[order], fills.day[order])
    total = np.concatenate([[0], np.cumsum(fills.quantity[order])])
    lo = np.searchsorted(key, _key(group, start), side="left")
    hi = np.searchsorted(key, _key(group, end), side="right")
    return total[hi] - total[lo]


def _key(group: np.ndarray, day: np.ndarray) -> np.ndarray:
    """One sortable int64 per (group, day): day numbers are below 2**22 (year 11,000)."""
    return (group.astype(np.int64) << 22) + np.clip(day, 0, (1 << 22) - 1)
