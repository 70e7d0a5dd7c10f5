"""When a version takes effect: its `effective_date` (schema 2), or for a version without one
(schema 1, published before effective dates) its latest History Review Date. One rule for the
store's index, the choice of the version that decides a claim, and the list of changes.
Plain Python: the store imports it without importing any stage."""

from __future__ import annotations

import datetime as dt
from typing import Any


def effective_date(ruleset: dict[str, Any]) -> str | None:
    """The first date of service the version decides, as ISO text; None for a ruleset with no
    History rows and no effective date (no policies at all): it is in effect on every date."""
    return ruleset["effective_date"] if "effective_date" in ruleset else latest_review_date(ruleset)


def takes_effect(ruleset: dict[str, Any]) -> dt.date:
    """`effective_date` as a date (the earliest date there is, for None)."""
    text = effective_date(ruleset)
    return dt.date.fromisoformat(text) if text else dt.date.min


def latest_review_date(ruleset: dict[str, Any]) -> str | None:
    """The latest History Review Date across the ruleset's policies (ISO text); None when it has
    no History rows."""
    dates = [h["review_date"] for policy in ruleset["policies"] for h in policy["history"]]
    return max(dates, default=None)
