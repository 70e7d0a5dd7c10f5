"""What a claim's values are, as the contract writes them: a quantity (plain ASCII decimal digits
with an optional fraction) and a date of service (2024-06-01 or 20240601)."""

from __future__ import annotations

import datetime as dt
import math
import re

from ..vocabulary import MAX_QUANTITY, format_number

# A date of service as pharmacy claims carry it: 2024-06-01 or 20240601 (ASCII digits only).
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})|([0-9]{4})([0-9]{2})([0-9]{2})")
# The contract's quantity: ASCII digits (re.ASCII: never another script's), an optional fraction.
_PLAIN_QUANTITY = re.compile(r"[ \t]*([0-9]+(?:\.[0-9]+)?)[ \t]*", re.ASCII)


def quantity_number(text: object) -> float | None:
    """A claim's quantity as the contract writes it: plain ASCII decimal digits with an optional
    `.` fraction, surrounding spaces allowed ("60", " 2.5 "); None for anything else: signs,
    exponents ("1e20"), thousands separators ("1,080": in a CSV a comma separates columns, so
    it is most likely a broken row), other digits ("６０"), words, blank. Whether the number is
    in range (> 0, at most MAX_QUANTITY) is the engine's to say."""
    if not isinstance(text, str):
        return None
    m = _PLAIN_QUANTITY.fullmatch(text)
    return float(m.group(1)) if m else None


def quantity_problem(text: object) -> str | None:
    """Why a claim's quantity is not one, in the words of an invalid decision's message (None
    when it is a quantity in range). `text` is the quantity as given: text, or a number from a
    numeric column."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return "quantity is missing"
    if isinstance(text, str):
        if not text.strip():
            return "quantity is missing"
        value = quantity_number(text)
        if value is None:
            negative = _PLAIN_QUANTITY.fullmatch(text.strip().removeprefix("-"))
            if text.strip().startswith("-") and negative:
                return f"quantity -{negative.group(1)} is not more than 0"
            if not any("0" <= ch <= "9" for ch in text):
                return f"quantity {text.strip()!r} is not a number"
            return (
                f"quantity {text.strip()!r} is not a plain number (write digits with an "
                "optional . fraction, such as 60 or 2.5)"
            )
    else:
        value = float(text)
    if not value > 0:
        return f"quantity {format_number(value)} is not more than 0"
    if not value <= MAX_QUANTITY:
        return f"quantity {format_number(value)} is over {format_number(MAX_QUANTITY)}"
    return None


def service_date(text: object) -> dt.date | None:
    """A date of service: `2024-06-01` or `20240601` (surrounding spaces allowed), a real
    calendar date; None for anything else (`2024-13-01`, `06/01/2024`, blank)."""
    m = _DATE.fullmatch(text.strip()) if isinstance(text, str) else None
    if m is None:
        return None
    year, month, day = (int(g) for g in (m.groups()[:3] if m.group(1) else m.groups()[3:]))
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None
