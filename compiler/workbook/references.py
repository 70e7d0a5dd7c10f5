"""References between sheets: each id names a row that exists (`Product ID` on Overrides names a
Limits row), a criterion met by a drug list names one, and attested criteria name Criteria rows.
An unknown id's message suggests what to type instead: the known id a typo away (never one that
differs only in its numbers, another strength), or the first few.
"""

from __future__ import annotations

import re

import pandas as pd

from .. import names
from .findings import Finding
from .headers import ATTESTED_CRITERIA, CRITERION_ID, DRUG_LIST_ID, MET_WHEN
from .reader import Sheet

# Known ids compared with unknown ones per rule, for "did you mean": every typo of an ordinary
# workbook gets its suggestion; a sheet of 250,000 unknown ids against 250,000 known ones (tens
# of billions of comparisons, hours) gets suggestions until the budget is spent, then the list.
SUGGESTION_BUDGET = 50_000
ON_LIST = "Concomitant drug on list"


def references(
    sheet: Sheet,
    frame: pd.DataFrame,
    header: str,
    known: pd.Series,
    target: str,
    broken: list[str] = (),
) -> list[Finding]:
    """Each id in `header` that is not among `known` (the ids on the `target` sheet). An id close
    to one of `broken` (target ids that are themselves in error, such as `IMATINIB-400MG-TAB`,
    not an id) is left alone: its finding is at that id, once, not on every row that names it."""
    known_ids = sorted(set(known.dropna()))
    values = frame[header]
    unresolved = values[values.notna() & ~values.isin(known_ids)]
    suggest = Suggestions(known_ids)
    return [
        _unknown(sheet, header, row, value, value, target, suggest)
        for row, value in unresolved.items()
        if not _names_broken(str(value), broken)
    ]


def _unknown(
    sheet: Sheet,
    header: str,
    row: int,
    value,
    id: str,
    target: str,
    suggest: Suggestions,
    column: str | None = None,
) -> Finding:
    """`id` (in the cell of `column`, which holds `value`) is not a `header` on the `target` sheet."""
    column = column or header
    return Finding(
        "unknown-reference",
        sheet.name,
        sheet.cell(column, row),
        column,
        value,
        {"id": id, "header": header, "target": target, **suggest(id)},
    )


class Suggestions:
    """What a message suggests typing instead of an unknown id: the known id a typo away, or the
    first few. Each distinct id is looked up once, and lookups stop when the rule's budget of
    comparisons is spent (then the message lists the first few)."""

    def __init__(self, known: list[str]):
        self.known = known
        self.left = SUGGESTION_BUDGET
        self.made: dict[str, dict] = {}

    def __call__(self, value: object) -> dict:
        key = str(value)
        if key not in self.made:
            close = None
            if self.left >= len(self.known):
                self.left -= len(self.known)
                close = names.closest(key, self.known)
            if close is not None and only_digits_differ(key, close):
                close = None  # another strength ('imatinib-100mg-tab'), not a typo of it
            few = _first_few(self.known)
            self.made[key] = {**few, "close": close} if close else few
        return self.made[key]


def _names_broken(value: str, broken: list[str]) -> bool:
    """Whether `value` is a slip of an id that is itself in error (its finding is there)."""
    close = names.closest(value, broken) if broken else None
    return close is not None and not only_digits_differ(value, close)


_DIGITS = re.compile(r"[0-9]+")


def only_digits_differ(typed: str, known: str) -> bool:
    """Whether two ids differ only in their numbers (`imatinib-100mg-tab`, `imatinib-400mg-tab`):
    most often two strengths of one drug, so "did you mean" would name the wrong product."""
    return typed.casefold() != known.casefold() and _DIGITS.sub("#", typed.casefold()) == (
        _DIGITS.sub("#", known.casefold())
    )


def _first_few(known: list[str]) -> dict:
    """The first five known ids, and how many more there are (a message lists five at most)."""
    return {"known": known[:5], "more": max(len(known) - 5, 0)}


def drug_list_when_on_list(
    sheet: Sheet, frame: pd.DataFrame, lists: pd.Series | None
) -> list[Finding]:
    out = []
    known = sorted(set(lists.dropna())) if lists is not None else []
    known_set, suggest = set(known), Suggestions(known)
    h = DRUG_LIST_ID
    for row, met_when, list_id in zip(frame.index, frame[MET_WHEN], frame[h], strict=True):
        cell = sheet.cell(h, row)
        if met_when == ON_LIST and list_id is None:
            out.append(
                Finding(
                    "drug-list-required",
                    sheet.name,
                    cell,
                    h,
                    None,
                    {"header": h, "met_when": ON_LIST, **_first_few(known)},
                )
            )
        elif met_when == ON_LIST and lists is not None and list_id not in known_set:
            out.append(_unknown(sheet, h, row, list_id, list_id, "Drug Lists", suggest))
        elif met_when == "Attested" and list_id is not None:
            out.append(
                Finding("drug-list-not-used", sheet.name, cell, h, list_id, {"met_when": ON_LIST})
            )
    return out


def attested_criteria(
    sheet: Sheet, frame: pd.DataFrame, criteria: pd.DataFrame, broken: list[str] = ()
) -> list[Finding]:
    known = sorted(set(criteria[CRITERION_ID].dropna()))
    known_set, suggest = set(known), Suggestions(known)
    h = ATTESTED_CRITERIA
    out = []
    for row, text in frame[h].items():
        for item in names.split_list(text):
            if item not in known_set and not _names_broken(item, broken):
                out.append(
                    _unknown(sheet, CRITERION_ID, row, text, item, "Criteria", suggest, column=h)
                )
    return out
