"""When the version a workbook would publish takes effect, said before it decides any claim: the
note `validate` and `compile` print (which claims move to it, and which versions decided them
before), and a warning at the Ruleset's Effective Date where the version takes effect before its
own latest History Review Date, or on or before the previous version's: a correction may be
retroactive, but never unseen. Plain data in (the built ruleset, the published versions'
effective dates); no store is read here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from ..effective import effective_date, latest_review_date
from ..vocabulary import format_date
from .findings import WARNING, Finding
from .headers import EFFECTIVE_DATE, RULESET_ID
from .validate import Validated


def retroactive(
    validated: Validated, content: dict[str, Any], previous: dict[str, Any] | None
) -> list[Finding]:
    """A warning at the Ruleset's Effective Date cell where the version `content` would publish
    takes effect before its latest History Review Date, or on or before the effective date of
    `previous` (the latest published version; None: nothing is published)."""
    effective, latest = _day(content.get("effective_date")), _day(latest_review_date(content))
    if effective is None:
        return []
    before_review = latest is not None and effective < latest
    previous_date = _day(effective_date(previous)) if previous else None
    not_after = previous_date is not None and effective <= previous_date
    if not (before_review or not_after):
        return []
    sheet = validated.workbook.sheets["Ruleset"]
    row = int(validated.frames["Ruleset"].index[0])
    header = EFFECTIVE_DATE if EFFECTIVE_DATE in sheet.letters else RULESET_ID
    finding = sheet.finding(
        "retroactive-effective-date",
        header,
        row,
        {
            "version": previous["version"] + 1 if previous else 1,
            "effective_date": effective,
            "latest_review": latest,
            "before_review": before_review,
            "previous_version": previous["version"] if not_after else None,
            "previous_date": previous_date if not_after else None,
            "typed": sheet.frame.at[row, header] is not None and header == EFFECTIVE_DATE,
        },
        WARNING,
    )
    return [finding]


def takes_effect_note(
    ruleset_id: str, version: int, effective: str | None, published: Mapping[int, str | None]
) -> str:
    """What `validate` and `compile` say of the version they would publish (or published):
    `oncology-dqm v5 takes effect on 12/07/2026: claims dated from then on are decided by it (v4
    decided them before).` `published`: each earlier version's effective date (ISO; None: every
    date)."""
    name = f"{ruleset_id} v{version}"
    if effective is None:
        return f"{name} takes effect on every date: it has no History row to date it."
    day = dt.date.fromisoformat(effective)
    starts = {v: (dt.date.fromisoformat(e) if e else dt.date.min) for v, e in published.items()}

    def decider(d: dt.date) -> int | None:
        return max((v for v, s in starts.items() if s <= d), default=None)

    before = {decider(day)} | {decider(s) for s in starts.values() if s > day}
    before.discard(None)
    said = f"{name} takes effect on {format_date(day)}: claims dated from then on are decided by it"
    if not before:
        return f"{said} (no version decided them before)."
    them = f"{_versions(sorted(before))} decided them before"
    if decider(day) is None:  # it starts before any published version did
        first = min(s for s in starts.values())
        them += f", and none those dated before {format_date(first)}"
    return f"{said} ({them})."


def unchanged_note(published: dict) -> str:
    """What `validate` and `compile` say of a workbook that is the latest version as published:
    `oncology-dqm v4, which this workbook is, takes effect on 12/08/2025; nothing new to publish.`"""
    name = f"{published['ruleset_id']} v{published['version']}"
    effective = published.get("effective_date")
    when = f"on {format_date(dt.date.fromisoformat(effective))}" if effective else "on every date"
    return f"{name}, which this workbook is, takes effect {when}; nothing new to publish."


def _versions(numbers: list[int]) -> str:
    """v4; v3 and v4; v1 to v4 (consecutive); v1, v3 and v4."""
    names = [f"v{n}" for n in numbers]
    if len(numbers) == 1:
        return names[0]
    if len(numbers) > 2 and numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"{names[0]} to {names[-1]}"
    return ", ".join(names[:-1]) + " and " + names[-1]


def _day(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None
