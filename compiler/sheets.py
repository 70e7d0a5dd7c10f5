"""The contract's sheet names, and how a workbook's sheet and header names are matched to them.

Free of pandas and pandera: raw.py reads a workbook's cells in a forked child before the `dqm`
command has imported those (schemas.py gives each sheet its pandera model).
"""

from __future__ import annotations

SHEET_NAMES = ("Ruleset", "Policies", "Limits", "Criteria", "Overrides", "Drug Lists", "History", "Tests")
OPTIONAL_SHEETS = frozenset({"Tests"})


def norm_header(text: object) -> str:
    """A sheet or header name as matched: case and repeated or surrounding spaces ignored."""
    return " ".join(str(text).split()).casefold() if text is not None else ""
