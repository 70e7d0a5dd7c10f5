"""The windows of `Per Days` policies: a product of a Per Days policy gives its Retail Days and
Home Delivery Days on Limits, and each of its overrides gives the same two; a product of a Per Rx
policy, and its overrides, leave them empty. The days' own values (whole, 1 to 365) are the
schemas' check; a cell already in error is not reported again here."""

from __future__ import annotations

import math

import pandas as pd

from ..vocabulary import json_number
from .findings import Finding
from .headers import CHANNEL_DAYS, POLICY_ID, POLICY_TYPE, PRODUCT_ID
from .reader import Sheet

PER_DAYS = "Per Days"
PER_RX = "Per Rx"


def windows(
    policies: pd.DataFrame,
    limits_sheet: Sheet,
    limits: pd.DataFrame,
    overrides_sheet: Sheet | None = None,
    overrides: pd.DataFrame | None = None,
    in_error: set[tuple] = frozenset(),
) -> list[Finding]:
    """Days missing on a Per Days row, days given on a Per Rx row (Limits and Overrides), and an
    override whose window is not its product's. `in_error`: (sheet, header, cell) already
    reported. Column by column: a sheet has 20,000 rows, nearly all of them fine."""
    # The first row of a repeated id counts (its repeat is its own finding): a dict built from
    # the reversed rows keeps the first, without a Python loop over 20,000 of them.
    types = _first(policies[POLICY_ID].tolist(), policies[POLICY_TYPE].tolist())
    if PER_DAYS not in types.values() and not any(
        sheet is not None and sheet.frame[h].notna().any()
        for sheet in (limits_sheet, overrides_sheet)
        for h in CHANNEL_DAYS
    ):
        return []  # Per Rx policies only, no days given (most workbooks): nothing to walk
    policy_ids = limits[POLICY_ID].tolist()
    kinds = [types.get(policy) for policy in policy_ids]
    limit_pids = limits[PRODUCT_ID].tolist()
    out = _rows(limits_sheet, limits, limit_pids, kinds, policy_ids, in_error)
    if overrides_sheet is None or overrides is None:
        return out
    per_days = any(k == PER_DAYS for k in kinds)
    days = {
        h: _column(limits_sheet, limits, h, in_error) if per_days else [None] * len(limits)
        for h in CHANNEL_DAYS
    }
    # product id -> (type, Limits row, its days, its policy)
    limit_days = zip(*(days[h] for h in CHANNEL_DAYS), strict=True)
    facts = zip(kinds, limits.index.tolist(), limit_days, policy_ids, strict=True)
    products = _first(limit_pids, list(facts))
    products.pop(None, None)
    pids = overrides[PRODUCT_ID].tolist()
    known = [products.get(pid) for pid in pids]  # an unknown product is its own finding
    out += _rows(
        overrides_sheet,
        overrides,
        pids,
        [k[0] if k else None for k in known],
        [k[3] if k else None for k in known],
        in_error,
        [k[2] if k else None for k in known],
    )
    if not per_days:
        return out
    theirs_days = {h: _column(overrides_sheet, overrides, h, in_error) for h in CHANNEL_DAYS}
    for i, (row, pid) in enumerate(zip(overrides.index, pids, strict=True)):
        if known[i] is None or known[i][0] != PER_DAYS:
            continue
        _, limit_row, product_days, _ = known[i]
        for h, theirs in zip(CHANNEL_DAYS, product_days, strict=True):
            ours = theirs_days[h][i]
            if ours is None or theirs is None or ours == theirs:
                continue
            out.append(
                overrides_sheet.finding(
                    "override-window-differs",
                    h,
                    row,
                    {"product": pid, "header": h, "days": theirs, "limit_row": limit_row},
                )
            )
    return out


def _first(keys: list, values: list) -> dict:
    """Each key's value at its first row."""
    return dict(zip(reversed(keys), reversed(values), strict=True))


def _rows(
    sheet: Sheet,
    frame: pd.DataFrame,
    pids: list,
    kinds: list,
    policies: list,
    in_error: set[tuple],
    product_days: list | None = None,
) -> list[Finding]:
    """Each row's days against its policy's type (none where the type is unknown: the policy's
    own finding says why): required for Per Days, empty for Per Rx."""
    out = []
    rows = frame.index.tolist()
    for i, h in enumerate(CHANNEL_DAYS):
        raw = sheet.frame[h].tolist()
        typed = frame[h].tolist()
        # The rows out of place picked in one pass first: nearly every row is fine.
        suspects = [
            j
            for j, (kind, cell) in enumerate(zip(kinds, raw, strict=True))
            if (kind == PER_DAYS and cell is None) or (kind == PER_RX and cell is not None)
        ]
        for j in suspects:
            kind, blank, row = kinds[j], raw[j] is None, rows[j]
            if (sheet.name, h, sheet.cell(h, row)) in in_error or (
                not blank and typed[j] != typed[j]  # not a number: its own finding
            ):
                continue
            params = {"header": h, "product": pids[j], "policy": policies[j]}
            if kind == PER_DAYS:
                days = product_days[j] if product_days and product_days[j] else None
                params["example"] = days[i] if days else None
                out.append(sheet.finding("days-required", h, row, params))
            else:
                out.append(sheet.finding("days-on-per-rx", h, row, params))
    return out


def _column(sheet: Sheet, frame: pd.DataFrame, header: str, in_error: set) -> list:
    """A days column as numbers (json_number), None where blank, not a number or in error."""
    out = []
    for row, value in zip(frame.index, frame[header].tolist(), strict=True):
        if (
            value is None
            or math.isnan(value)
            or (in_error and (sheet.name, header, sheet.cell(header, row)) in in_error)
        ):
            out.append(None)
        else:
            out.append(json_number(value))
    return out
