"""dqm's vocabulary, in the contract's words: sheet names, channels, decisions, the claim and
decision columns, the reject code, and how a number is written for people and for JSON.

Every other module imports these rather than spelling them again. Plain Python only (no pandas):
light modules such as the command's argument parsing import it.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import re
from typing import Any

SHEET_NAMES = (
    "Ruleset",
    "Policies",
    "Limits",
    "Product Codes",
    "Criteria",
    "Overrides",
    "Drug Lists",
    "History",
    "Tests",
)
OPTIONAL_SHEETS = frozenset({"Product Codes", "Tests"})

# Channels as claims, decisions and rulesets spell them; their labels as the workbook and the
# messages write them; and the ruleset field holding a product's or override's maximum for each.
CHANNELS = ("retail", "home_delivery")
CHANNEL_LABELS = {"retail": "Retail", "home_delivery": "Home Delivery"}
MAX_QTY_FIELDS = {"retail": "retail_max_qty", "home_delivery": "home_delivery_max_qty"}

# The code systems by which a claim may name a product (compiler/codes.py reads them): the key
# claims, rulesets and decisions use, and the label the workbook writes.
CODE_SYSTEMS = {"ndc": "NDC", "rxcui": "RxCUI"}

# Units a pharmacy dispenses whole: a limit of 75.5 tablets is a slip (a warning on its cell).
COUNTABLE_UNITS = frozenset(
    """
    tablet tablets caplet caplets capsule capsules softgel softgels pill pills lozenge lozenges
    troche troches patch patches suppository suppositories vial vials syringe syringes pen pens
    packet packets sachet sachets ampule ampules inhaler inhalers kit kits
    """.split()  # noqa: SIM905  (a word list reads best as words)
)

# A policy's status, as the Policies sheet writes it (blank means Active) and as a version holds it.
POLICY_STATUSES = ("Active", "Retired")

DECISIONS = ("approve", "override", "deny", "not_applicable", "invalid")
MAX_QUANTITY = 1_000_000  # the most a claim may request (the contract); more is invalid
# Ids are slugs (lowercase letters, digits, single hyphens). They become file and folder names
# (exports/<Ruleset ID>/) and keys everywhere: every file system takes 64 characters (a
# 300-character id made a publish fail with ENAMETOOLONG).
SLUG = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
MAX_ID_LENGTH = 64
REJECT_CODE = 76  # NCPDP reject code 76: Plan Limitations Exceeded

# Lists, not tuples: pandas reads a tuple of column names as one (multi-level) key.
CLAIM_COLUMNS = [
    "claim_id",
    "member_id",  # required for a Per Days product: its window counts the member's fills
    "product_id",
    "ndc",
    "rxcui",
    "channel",
    "quantity",
    "date_of_service",
    "concomitant_drugs",
    "attested_criteria",
]
# A claim names its product by at least one of these, and always has a channel and a quantity.
PRODUCT_CLAIM_COLUMNS = ["product_id", *CODE_SYSTEMS]
REQUIRED_CLAIM_COLUMNS = ["channel", "quantity"]
DECISION_COLUMNS = [
    "claim_id",
    "product_id",
    "policy_id",
    "channel",
    "quantity",
    "date_of_service",
    "decision",
    "approved_quantity",
    "member_id",
    "limit",
    "accumulated_quantity",  # a Per Days claim: what the member received in the window before it
    "period_days",  # a Per Days claim: the window's length
    "criterion_id",
    "matched_drugs",
    "reject_code",
    "approval_months",
    "message",
    "ruleset_id",
    "ruleset_version",
]
NUMBER_COLUMNS = frozenset(
    {
        "quantity",
        "approved_quantity",
        "limit",
        "accumulated_quantity",
        "period_days",
        "reject_code",
        "approval_months",
        "ruleset_version",
    }
)


# What text from a file must not do where it is shown: break a line (every line break Unicode
# knows), reorder what is shown (bidi embeddings, overrides, isolates and marks), or drive a
# terminal (escape sequences, then any other control character).
_LINE_BREAKS = re.compile(r"[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+")
_TERMINAL_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves, clearing the screen
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC: window titles, hyperlinks
    r"|\x1b[@-Z\\-_]"  # the other two-character escapes
    r"|\x9b[0-?]*[ -/]*[@-~]"  # CSI as one C1 character
)
_HIDDEN = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def plain_text(value: object) -> str:
    """A value from a workbook, a claims file or a file name as one line of plain text, for a
    terminal, a web page or a message: line breaks and tabs become spaces; terminal escape
    sequences, other control characters and bidi controls are removed. Every edge that shows
    such text passes it through here (the app escapes markup on top: app_pages/common.md)."""
    text = "" if value is None else str(value)
    text = _LINE_BREAKS.sub(" ", text).replace("\t", " ")
    return _HIDDEN.sub("", _TERMINAL_ESCAPES.sub("", text))


def norm_header(text: object) -> str:
    """A sheet or header name as matched: case and repeated or surrounding spaces ignored."""
    return " ".join(str(text).split()).casefold() if text is not None else ""


def format_number(x: Any, *, thousands: bool = True) -> str:
    """A number as people write it: 60 (not 60.0), 2.5, 1,080. `thousands=False` leaves out the
    separator (1080), for text read back as a number: a quantity in a claims CSV, a JDM literal.
    A whole number is written as an integer however large, exactly (2**53 as 9007199254740992,
    1e20 as 100000000000000000000: never an exponent); a fraction in Python's shortest form."""
    whole = _whole(x)
    if whole is not None:
        return f"{whole:,}" if thousands else str(whole)
    x = float(x)
    return f"{x:,}" if thousands else str(x)


def format_date(day: dt.date) -> str:
    """A date as staff and the policy documents write it: 12/08/2025. (Files and JSON hold ISO
    dates, 2025-12-08; what people read shows this one form.)"""
    return f"{day:%m/%d/%Y}"


def json_number(x: Any) -> int | float | None:
    """A number as JSON writes it best: a whole one as an int, exactly, however large (60, not
    60.0; 1e20 as 100000000000000000000, not 1e+20); a fraction as a float; None for a missing
    one (None, NaN, pandas' NA) and for one JSON cannot hold (an infinity). (A JSON writer whose
    integers stop at 64 bits writes a larger one as its text, str(n): decisions.py.)"""
    if (
        x is None or type(x).__name__ == "NAType"
    ):  # pandas' NA, named so pandas need not be imported
        return None
    whole = _whole(x)
    if whole is not None:
        return whole
    x = float(x)
    return None if math.isnan(x) or math.isinf(x) else x


def _whole(x: Any) -> int | None:
    """x as an int when it is a whole number (an int of any size, numpy's too, or a whole
    float: its exact value), else None (a fraction, NaN, an infinity)."""
    if isinstance(x, numbers.Integral):
        return int(x)
    x = float(x)
    return int(x) if x.is_integer() else None
