"""The maximum quantities across Limits and Overrides: one override per product and criterion, an
override above its product's limit, and home delivery not below retail."""

from __future__ import annotations

import pandas as pd

from ..vocabulary import json_number
from .findings import WARNING, Finding
from .headers import CHANNEL_MAX_QTY, CRITERION_ID, PRODUCT_ID
from .reader import Sheet


def one_override_per_criterion(sheet: Sheet, frame: pd.DataFrame) -> list[Finding]:
    out = []
    seen: dict[tuple, int] = {}
    for row, product, criterion in zip(
        frame.index, frame[PRODUCT_ID], frame[CRITERION_ID], strict=True
    ):
        if product is None or criterion is None:
            continue
        key = (product, criterion)
        if key in seen:
            out.append(
                Finding(
                    "duplicate-override",
                    sheet.name,
                    sheet.cell(CRITERION_ID, row),
                    CRITERION_ID,
                    criterion,
                    {"product": product, "criterion": criterion, "first_row": seen[key]},
                )
            )
        else:
            seen[key] = row
    return out


def overrides_above_limits(
    sheet: Sheet, frame: pd.DataFrame, limits: pd.DataFrame
) -> list[Finding]:
    wanted = [PRODUCT_ID, *CHANNEL_MAX_QTY]  # only these: the sheets' other columns cost the join
    first = limits[wanted].reset_index().drop_duplicates(PRODUCT_ID)  # a repeated id: own finding
    joined = (
        frame[wanted]
        .reset_index()
        .merge(first, on=PRODUCT_ID, how="inner", suffixes=("", " limit"))
    )
    out = []
    for h in CHANNEL_MAX_QTY:
        low = joined[joined[h] <= joined[f"{h} limit"]]
        for row, pid, limit_row, theirs in zip(
            low["row"], low[PRODUCT_ID], low["row limit"], low[f"{h} limit"], strict=True
        ):
            out.append(
                sheet.finding(
                    "override-not-above-limit",
                    h,
                    row,
                    {
                        "product": pid,
                        "header": h,
                        "limit": json_number(theirs),
                        "limit_row": int(limit_row),
                    },
                )
            )
    return out


def home_delivery_below_retail(sheet: Sheet, frame: pd.DataFrame) -> list[Finding]:
    retail, home = CHANNEL_MAX_QTY
    low = frame[frame[home] < frame[retail]]
    return [
        sheet.finding(
            "home-delivery-below-retail",
            home,
            row,
            {"home_delivery": json_number(h), "retail": json_number(r), "product": pid},
            WARNING,
        )
        for row, h, r, pid in zip(low.index, low[home], low[retail], low[PRODUCT_ID], strict=True)
    ]
