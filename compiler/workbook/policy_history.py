"""A policy against its History rows on the same workbook: its Review Date is its latest History
row's, and a retired policy's latest row records the retirement. (History against what is
published is the ruleset stage's: compiler/ruleset/history.py.)"""

from __future__ import annotations

import pandas as pd

from .findings import Finding
from .headers import POLICY_ID, REVIEW_DATE, STATUS, TYPE_OF_REVISION
from .reader import Sheet


def undated(history_sheet: Sheet, history: pd.DataFrame, in_error: set = frozenset()) -> set:
    """The policies with a History row whose Review Date is itself in error (text, not a date):
    which of their rows is the latest cannot be known, so what follows from it is not said (the
    finding is at that cell, once)."""
    h = REVIEW_DATE
    if not any(s == history_sheet.name and c == h for s, c, _ in in_error):
        return set()  # no Review Date in error: no pass over every History row
    return {
        pid
        for row, pid in history[POLICY_ID].items()
        if (history_sheet.name, h, history_sheet.cell(h, row)) in in_error
    }


def latest_history_is_review_date(
    sheet: Sheet, policies: pd.DataFrame, history: pd.DataFrame, unknown: set = frozenset()
) -> list[Finding]:
    latest = history.dropna(subset=[REVIEW_DATE]).groupby(POLICY_ID)[REVIEW_DATE].max()
    h = REVIEW_DATE
    # NaT where the policy has no History row (reindex keeps the dates' type even when none)
    theirs = pd.Series(latest.reindex(policies[POLICY_ID]).to_numpy(), index=policies.index)
    differ = policies[
        policies[POLICY_ID].notna()
        & policies[h].notna()
        & (theirs != policies[h])
        & ~policies[POLICY_ID].isin(unknown)
    ]
    out = []
    for row, pid, review in zip(differ.index, differ[POLICY_ID], differ[h], strict=True):
        if pid not in latest.index:
            out.append(
                Finding(
                    "policy-without-history",
                    sheet.name,
                    sheet.cell(h, row),
                    h,
                    review.date(),
                    {"policy": pid, "review_date": review.date()},
                )
            )
        else:
            out.append(
                Finding(
                    "review-date-differs",
                    sheet.name,
                    sheet.cell(h, row),
                    h,
                    review.date(),
                    {
                        "policy": pid,
                        "history_date": latest[pid].date(),
                        "review_date": review.date(),
                    },
                )
            )
    return out


RETIREMENT = "retire"  # a Type of Revision that records it: "Retirement", "Retired", …


def retirement_recorded(
    sheet: Sheet, policies: pd.DataFrame, history: pd.DataFrame, unknown: set = frozenset()
) -> list[Finding]:
    """A Retired policy's latest History row records the retirement (its Type of Revision says
    so): the History sheet is the audit trail of when and why a policy stopped applying."""
    h = STATUS
    retired = policies[(policies[h] == "Retired") & policies[POLICY_ID].notna()]
    if not len(retired):
        return []
    dated = history.dropna(subset=[REVIEW_DATE]).sort_values(REVIEW_DATE, kind="stable")
    latest = dated.groupby(POLICY_ID).tail(1).set_index(POLICY_ID)
    out = []
    for row, pid in retired[POLICY_ID].items():
        if pid not in latest.index or pid in unknown:
            continue  # policy-without-history says so, or a Review Date that is not a date
        last = latest.loc[pid]
        revision = last[TYPE_OF_REVISION]
        if revision is not None and RETIREMENT in revision.casefold():
            continue
        out.append(
            sheet.finding(
                "retirement-not-in-history",
                h,
                row,
                {
                    "policy": pid,
                    "review_date": last[REVIEW_DATE].date(),
                    "type_of_revision": revision,
                },
            )
        )
    return out
