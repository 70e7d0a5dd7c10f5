"""A value as text, one way everywhere: a cell (of a workbook, a claims file, the app's form) as
the text a CSV would hold, and a date as files and JSON hold it (ISO: 2025-12-08).

Plain Python (no pandas): the workbook, ruleset and decision stages all import it. How a date is
written for people (12/08/2025) is `vocabulary.format_date`.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from .vocabulary import format_number

ISO_DATE = "%Y-%m-%d"  # what `iso_date` writes, for a column of dates at once (`iso_dates`)


def cell_text(value: object) -> str | None:
    """A cell as the text a CSV would hold: 60 -> '60', 2.5 -> '2.5', a date -> '2024-06-01';
    None/NaN/'' (or only spaces) -> missing. A datetime at midnight is a date (as a spreadsheet or
    a table holds one); with a time of day it keeps it ('2024-06-01T10:30:00')."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        value = value.date()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):  # as a CSV would hold it: no thousands separator
        return format_number(value, thousands=False)
    text = str(value)
    return text if text.strip() else None


def iso_date(day: dt.date) -> str:
    """A date, or the day of a datetime, as files and JSON hold it: 2025-12-08."""
    return (day.date() if isinstance(day, dt.datetime) else day).isoformat()


def iso_dates(dates: Any) -> Any:
    """A pandas column of datetimes as `iso_date` writes each (vectorised: sheets have 20,000
    rows); a blank stays blank."""
    return dates.dt.strftime(ISO_DATE)
