"""Drug lists as criteria use them: a list no criterion names (most often a typo of a list's id,
`strong-cyp3a4-inducer` for `strong-cyp3a4-inducers`, which made a second list), and a Drug cell
that holds a second name (`enzalutamide (Xtandi)`, `rifampin / Rifadin`), which as one name
matches only a claim drug written with both. Both are warnings: the rules still read."""

from __future__ import annotations

import re

import pandas as pd

from .. import names
from .findings import WARNING, Finding
from .headers import ALSO_KNOWN_AS, DRUG, DRUG_LIST_ID
from .reader import Sheet
from .references import only_digits_differ

SHOWN_ROWS = 5  # a message names at most this many rows of a list


def lists_used(sheet: Sheet, frame: pd.DataFrame, criteria: pd.DataFrame) -> list[Finding]:
    """A warning at the first row of each drug list no criterion names (an `Attested` criterion
    that names one has its own finding, and counts as naming it)."""
    used = set(criteria[DRUG_LIST_ID].dropna())
    rows: dict[str, list[int]] = {}
    for row, list_id in frame[DRUG_LIST_ID].items():
        if list_id is not None and list_id not in used:
            rows.setdefault(list_id, []).append(int(row))
    out = []
    for list_id, at in rows.items():
        close = names.closest(list_id, sorted(used))
        if close is not None and only_digits_differ(list_id, close):
            close = None
        out.append(
            sheet.finding(
                "unused-drug-list",
                DRUG_LIST_ID,
                at[0],
                {
                    "list_id": list_id,
                    "rows": at[:SHOWN_ROWS],
                    "more": max(len(at) - SHOWN_ROWS, 0),
                    "close": close,
                },
                WARNING,
            )
        )
    return out


# Brackets, or a second name after `;`, `,` or a slash: `enzalutamide (Xtandi)`, `rifampin;
# Rifadin`, `rifampin / Rifadin`. A slash between lowercase words is one name, a combination
# (`sulfamethoxazole/trimethoprim`); before a capital it is a brand.
_BRACKETS = re.compile(r"[(\[{]([^)\]}]*)[)\]}]?")
_SEPARATED = re.compile(r"\s*[;,]\s*|\s*/\s*(?=[A-Z])|\s+/\s+")


def one_name_per_drug(sheet: Sheet, frame: pd.DataFrame) -> list[Finding]:
    """A warning on a Drug cell holding brackets or a second name: the other name belongs in
    Also Known As, where a claim drug written with it alone matches the list."""
    out = []
    for row, drug, aliases in zip(frame.index, frame[DRUG], frame[ALSO_KNOWN_AS], strict=True):
        if not drug:
            continue
        parts = _names_in(drug)
        if len(parts) < 2 and not _BRACKETS.search(drug):
            continue
        if not parts:
            continue
        others = [p for p in parts[1:] if p not in names.split_list(aliases)]
        out.append(
            sheet.finding(
                "second-name-in-drug",
                DRUG,
                row,
                {
                    "drug": drug,
                    "name": parts[0],
                    "others": parts[1:],
                    "aliases": "; ".join([*names.split_list(aliases), *others]),
                    "added": others,
                },
                WARNING,
            )
        )
    return out


def _names_in(drug: str) -> list[str]:
    """The names a Drug cell holds, the first the drug's: `enzalutamide (Xtandi)` ->
    ['enzalutamide', 'Xtandi']."""
    pieces = [_BRACKETS.sub(" ", drug), *_BRACKETS.findall(drug)]
    parts = [" ".join(p.split()) for piece in pieces for p in _SEPARATED.split(piece)]
    return [p for p in parts if p]
