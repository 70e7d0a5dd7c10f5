"""Slips that read as valid but would silently decide claims wrongly: a comma where Also Known As
wants `;` (two names become one that no claim spells), a list name made only of dosage forms and
units (`tablet` would match every tablet), a fraction of a tablet as a limit. Each is a finding on
its cell. The rows' own schemas have passed or failed on their own; these read the typed frames.
"""

from __future__ import annotations

import math

import pandas as pd

from .. import names
from ..vocabulary import COUNTABLE_UNITS
from .findings import WARNING, Finding
from .headers import ALSO_KNOWN_AS, CHANNEL_MAX_QTY, DRUG, PRODUCT_ID, UNIT
from .reader import Sheet


def aliases_separated_by_semicolons(sheet: Sheet, frame: pd.DataFrame) -> list[Finding]:
    """A `,` in Also Known As: the contract's separator is `;` only."""
    out = []
    for row, text in frame[ALSO_KNOWN_AS].items():
        if text is None or "," not in text:
            continue
        fixed = "; ".join(
            part.strip() for piece in text.split(";") for part in piece.split(",") if part.strip()
        )
        out.append(
            sheet.finding(
                "comma-in-aliases",
                ALSO_KNOWN_AS,
                row,
                {"value": text, "fixed": fixed},
            )
        )
    return out


def names_not_generic(sheet: Sheet, frame: pd.DataFrame) -> list[Finding]:
    """A drug or alias that is only dosage forms, units and numbers (names.GENERIC_WORDS)."""
    out = []
    for row, drug, aliases in zip(frame.index, frame[DRUG], frame[ALSO_KNOWN_AS], strict=True):
        for header, name in [(DRUG, drug)] + [
            (ALSO_KNOWN_AS, a) for a in names.split_list(aliases)
        ]:
            if name and names.is_generic(name):
                out.append(
                    sheet.finding(
                        "name-too-generic",
                        header,
                        row,
                        {"name": name},
                    )
                )
    return out


def whole_counts(
    limits_sheet: Sheet,
    limits: pd.DataFrame,
    overrides_sheet: Sheet | None = None,
    overrides: pd.DataFrame | None = None,
) -> list[Finding]:
    """A warning on a limit or override maximum that is a fraction of a countable unit (75.5
    tablets): a pharmacy dispenses whole tablets, so the number is most likely mistyped."""
    sheets = [(limits_sheet, limits)]
    if overrides_sheet is not None and overrides is not None:
        sheets.append((overrides_sheet, overrides))
    fractions = [
        (sheet, header, frame[frame[header] % 1 > 0])
        for sheet, frame in sheets
        for header in CHANNEL_MAX_QTY
    ]
    if not any(len(f) for _, _, f in fractions):
        return []  # the usual case: no unit is asked about
    countable = {u: _countable(u) for u in set(limits[UNIT].dropna())}
    units = {
        pid: unit
        for pid, unit in zip(limits[PRODUCT_ID], limits[UNIT], strict=True)
        if pid is not None and unit is not None and countable[unit]
    }
    out = []
    for sheet, header, frame in fractions:
        for row, pid, qty in zip(frame.index, frame[PRODUCT_ID], frame[header], strict=True):
            if pid not in units:
                continue
            out.append(
                sheet.finding(
                    "fractional-count",
                    header,
                    row,
                    {
                        "product": pid,
                        "unit": units[pid],
                        "header": header,
                        "value": float(qty),
                        "whole": math.floor(qty),
                    },
                    WARNING,
                )
            )
    return out


def _countable(unit: str) -> bool:
    return any(word in COUNTABLE_UNITS for word in names.normalize(unit).split())
