"""dqm's vocabulary, in the contract's words: sheet names, and how a workbook's sheet and header
names are matched to them (schemas.py gives each sheet its pandera model)."""

from __future__ import annotations

SHEET_NAMES = ("Ruleset", "Policies", "Limits", "Criteria", "Overrides", "Drug Lists", "History", "Tests")
OPTIONAL_SHEETS = frozenset({"Tests"})


def norm_header(text: object) -> str:
    """A sheet or header name as matched: case and repeated or surrounding spaces ignored."""
    return " ".join(str(text).split()).casefold() if text is not None else ""
