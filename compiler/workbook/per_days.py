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
    reported."""
    types = {}
    for policy, kind in zip(policies[POLICY_ID], policies[POLICY_TYPE], strict=True):
        types.setdefault(policy, kind)
    out: list[Finding] = []
    products: dict[str, tuple] = {}  # product id -> (its policy, Per Days?, Limits row, days)
    for row, pid, policy in zip(limits.index, limits[PRODUCT_ID], limits[POLICY_ID], strict=True):
        kind = types.get(policy)
        days = tuple(  # a cell in error is its own finding, not its overrides' too
            None
            if (limits_sheet.name, h, limits_sheet.cell(h, row)) in in_error
            else _days(limits, h, row)
            for h in CHANNEL_DAYS
        )
        if pid is not None and pid not in products:
            products[pid] = (policy, kind, int(row), days)
        out += _row(limits_sheet, limits, row, pid, policy, kind, in_error)
    if overrides_sheet is None or overrides is None:
        return out
    for row, pid in overrides[PRODUCT_ID].items():
        if pid not in products:
            continue  # an unknown product is its own finding
        policy, kind, limit_row, product_days = products[pid]
        out += _row(overrides_sheet, overrides, row, pid, policy, kind, in_error, product_days)
        if kind != PER_DAYS:
            continue
        for h, theirs in zip(CHANNEL_DAYS, product_days, strict=True):
            ours = _days(overrides, h, row)
            cell = overrides_sheet.cell(h, row)
            if ours is None or theirs is None or ours == theirs:
                continue
            if (overrides_sheet.name, h, cell) in in_error:
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


def _row(
    sheet: Sheet,
    frame: pd.DataFrame,
    row: int,
    pid: str | None,
    policy: str | None,
    kind: str | None,
    in_error: set[tuple],
    product_days: tuple | None = None,
) -> list[Finding]:
    """A Limits or Overrides row's days against its policy's type (none when the type is unknown:
    the policy's own finding says why)."""
    if kind not in (PER_DAYS, PER_RX):
        return []
    out = []
    for i, h in enumerate(CHANNEL_DAYS):
        raw = sheet.frame.at[row, h]
        cell = sheet.cell(h, row)
        if (sheet.name, h, cell) in in_error:
            continue
        if kind == PER_DAYS and raw is None:
            example = product_days[i] if product_days and product_days[i] is not None else None
            params = {"header": h, "product": pid, "policy": policy, "example": example}
            out.append(sheet.finding("days-required", h, row, params))
        elif kind == PER_RX and raw is not None and not _unreadable(frame, h, row):
            params = {"header": h, "product": pid, "policy": policy}
            out.append(sheet.finding("days-on-per-rx", h, row, params))
    return out


def _days(frame: pd.DataFrame, header: str, row: int) -> int | float | None:
    """A days cell as a number, None when blank or not a number."""
    value = frame.at[row, header]
    return None if value is None or math.isnan(value) else json_number(value)


def _unreadable(frame: pd.DataFrame, header: str, row: int) -> bool:
    value = frame.at[row, header]
    return value is None or math.isnan(value)
