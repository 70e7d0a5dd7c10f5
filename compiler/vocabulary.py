"""dqm's vocabulary, in the contract's words: sheet names, channels, decisions, the claim and
decision columns, the reject code, and how a number is written for people and for JSON.

Every other module imports these rather than spelling them again. Plain Python only (no pandas):
light modules such as the command's argument parsing import it.
"""

from __future__ import annotations

import datetime as dt
import math
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
REJECT_CODE = 76  # NCPDP reject code 76: Plan Limitations Exceeded

# Lists, not tuples: pandas reads a tuple of column names as one (multi-level) key.
CLAIM_COLUMNS = [
    "claim_id",
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
    "limit",
    "criterion_id",
    "matched_drugs",
    "reject_code",
    "approval_months",
    "message",
    "ruleset_id",
    "ruleset_version",
]
NUMBER_COLUMNS = frozenset(
    {"quantity", "approved_quantity", "limit", "reject_code", "approval_months", "ruleset_version"}
)


def norm_header(text: object) -> str:
    """A sheet or header name as matched: case and repeated or surrounding spaces ignored."""
    return " ".join(str(text).split()).casefold() if text is not None else ""


def format_number(x: Any, *, thousands: bool = True) -> str:
    """A number as people write it: 60 (not 60.0), 2.5, 1,080. `thousands=False` leaves out the
    separator (1080), for text read back as a number: a quantity in a claims CSV, a JDM literal."""
    x = float(x)
    if x.is_integer():
        return f"{int(x):,}" if thousands else str(int(x))
    return f"{x:,}" if thousands else str(x)


def format_date(day: dt.date) -> str:
    """A date as staff and the policy documents write it: 12/08/2025. (Files and JSON hold ISO
    dates, 2025-12-08; what people read shows this one form.)"""
    return f"{day:%m/%d/%Y}"


def json_number(x: Any) -> int | float | None:
    """A number as JSON writes it best: 60, not 60.0; None for a missing one (None, NaN, pandas' NA)."""
    if (
        x is None or type(x).__name__ == "NAType"
    ):  # pandas' NA, named so pandas need not be imported
        return None
    x = float(x)
    if math.isnan(x):
        return None
    return int(x) if x.is_integer() else x
