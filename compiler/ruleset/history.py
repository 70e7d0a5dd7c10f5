"""History against what is published. History is the audit trail: a row the latest published
version holds (known by its policy and Review Date) is never removed or edited, a new row is not
dated before its policy's latest published row nor more than a year ahead, and a changed ruleset
brings at least one new row. `dqm validate` and `dqm compile` both ask `history_findings`."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from ..text import iso_date, iso_dates
from ..workbook.findings import Finding
from ..workbook.headers import POLICY_ID, REVIEW_DATE, SUMMARY_OF_CHANGES, TYPE_OF_REVISION
from ..workbook.validate import Validated
from . import diff

FIELDS = (POLICY_ID, TYPE_OF_REVISION, SUMMARY_OF_CHANGES, REVIEW_DATE)


def history_findings(
    validated: Validated,
    previous: dict[str, Any] | None,
    content: dict[str, Any] | None = None,
    today: dt.date | None = None,
) -> list[Finding]:
    """Every History finding against the latest published version `previous` (None: nothing is
    published): the audit trail's rules, and, given the built `content`, the new row a changed
    ruleset needs."""
    out = audit(validated, previous, today)
    if content is not None:
        out += new_history_required(validated, previous, content)
    return out


def audit(
    validated: Validated, previous: dict[str, Any] | None, today: dt.date | None = None
) -> list[Finding]:
    """The workbook's History rows against the published ones: removed or edited published rows,
    and new rows dated before the policy's latest published row or more than a year ahead. Reads
    the History sheet alone, so it speaks even when other sheets have errors."""
    sheet = validated.workbook.sheets.get("History")
    frame = validated.frames.get("History")
    if sheet is None or frame is None or not sheet.complete:
        return []
    rows = _rows(frame)
    published = _published(previous)
    version = previous["version"] if previous else None
    out: list[Finding] = []

    # Rows exactly as published, each matched once (by dict: 15,000 rows are not compared pairwise).
    waiting: dict[tuple, list[int]] = {}
    for i, r in enumerate(rows):
        waiting.setdefault(r[1:], []).append(i)
    taken: set[int] = set()
    unmatched = []
    for pub in published:
        hits = waiting.get(pub)
        if hits:
            taken.add(hits.pop(0))
        else:
            unmatched.append(pub)
    remaining = [r for i, r in enumerate(rows) if i not in taken]
    # A published row not there as it was: edited in place (its policy and date, or its policy
    # and words, are still there) or removed.
    published_keys = {(p[0], p[3]) for p in published}
    by_date: dict[tuple, list] = {}
    by_words: dict[tuple, list] = {}
    for r in remaining:
        by_date.setdefault((r[1], r[4]), []).append(r)
        if (r[1], r[4]) not in published_keys:
            by_words.setdefault(r[1:4], []).append(r)
    used: set[int] = set()  # Excel rows already paired with a published row
    for pub in unmatched:
        edited = next(
            (
                r
                for r in [*by_date.get((pub[0], pub[3]), []), *by_words.get(pub[:3], [])]
                if r[0] not in used
            ),
            None,
        )
        if edited is None:
            out.append(_removed(sheet, pub, version))
            continue
        used.add(edited[0])
        i = next(i for i in (1, 2, 3) if edited[i + 1] != pub[i])
        header = FIELDS[i]
        out.append(
            sheet.finding(
                "history-row-edited",
                header,
                edited[0],
                {
                    "policy": pub[0],
                    "header": header,
                    "published": _date(pub[i]) if header == REVIEW_DATE else pub[i],
                    "version": version,
                },
            )
        )
    # New rows: after the policy's latest published row, and not far in the future.
    # (Dates as ISO text, compared as text: the order is the same, and 15,000 rows need no parse.)
    latest: dict[str, str] = {}
    for pid, *_, day in published:
        latest[pid] = max(latest.get(pid, day), day)
    ahead = _year_after(today or dt.date.today())
    ahead_text = iso_date(ahead)  # once, not per row
    for row, pid, _, _, day in remaining:
        if row in used:
            continue
        if pid in latest and day < latest[pid]:
            code = "history-row-backdated"
            params = {
                "policy": pid,
                "review_date": _date(day),
                "latest": _date(latest[pid]),
                "version": version,
            }
        elif day > ahead_text:
            code, params = (
                "history-date-too-far-ahead",
                {"review_date": _date(day), "latest_allowed": ahead},
            )
        else:
            continue
        out.append(sheet.finding(code, REVIEW_DATE, row, params))
    return out


def new_history_required(
    validated: Validated, previous: dict | None, content: dict
) -> list[Finding]:
    """A changed ruleset must bring at least one new History row (an unchanged one publishes
    nothing, and needs none)."""
    if (
        previous is None
        or previous["content_sha256"] == content["content_sha256"]
        or any(c["action"] == "added" for c in diff.history_changes(previous, content))
    ):
        return []  # an edited History row is a change, not the new row a new version needs
    sheet = validated.workbook.sheets["History"]
    changed = [c["text"] for c in diff.changes(previous, content)]
    return [
        Finding(
            "history-row-missing",
            "History",
            sheet.cell(POLICY_ID, sheet.next_row),
            POLICY_ID,
            None,
            {
                "version": previous["version"],
                "changes": changed[:3],
                "more": max(len(changed) - 3, 0),
            },
        )
    ]


def _rows(frame: pd.DataFrame) -> list[tuple[int, str, str, str, str]]:
    """(Excel row, policy, type, summary, ISO date) of each History row with all four cells (a
    row missing one has its own finding)."""
    whole = frame.dropna(subset=list(FIELDS))
    days = iso_dates(whole[REVIEW_DATE])
    return list(
        zip(
            whole.index.tolist(),
            *(whole[h].tolist() for h in FIELDS[:3]),
            days.tolist(),
            strict=True,
        )
    )


def _published(previous: dict[str, Any] | None) -> list[tuple[str, str, str, str]]:
    """(policy, type, summary, ISO date) of each History row of a published version."""
    if previous is None:
        return []
    return [
        (p["policy_id"], h["type_of_revision"], h["summary_of_changes"], h["review_date"])
        for p in previous["policies"]
        for h in p["history"]
    ]


def _removed(sheet, pub: tuple, version: int) -> Finding:
    """A published row missing from the sheet: at the History header, naming the row."""
    return Finding(
        "history-row-removed",
        sheet.name,
        sheet.cell(POLICY_ID, 1),
        POLICY_ID,
        None,
        {
            "policy": pub[0],
            "type_of_revision": pub[1],
            "summary_of_changes": pub[2],
            "review_date": _date(pub[3]),
            "version": version,
        },
    )


def _date(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def _year_after(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)
