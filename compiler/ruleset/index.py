"""What index.json says of each version: enough to choose it without opening it, and the History
rows it adds to the version before it."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from ..effective import effective_date

INDEX_FILE = "index.json"
DERIVED_FILE = re.compile(r"^v([1-9][0-9]*)\.(.+)$")  # v<N>.<suffix>, the version file among them
HISTORY_FIELDS = ("policy_id", "type_of_revision", "summary_of_changes", "review_date")


def index_entry(doc: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
    """What the index says of one version, given the version before it (None for the first):
    enough to choose it without opening it."""
    return {
        "version": doc["version"],
        "file": f"v{doc['version']}.json",
        "sha256": doc["sha256"],
        "content_sha256": doc["content_sha256"],
        "effective_date": effective_date(doc),
        "review_dates": {p["policy_id"]: p["review_date"] for p in doc["policies"]},
        "history_added": history_added(doc, previous),
    }


def history_added(doc: dict[str, Any], previous: dict[str, Any] | None) -> list[dict[str, str]]:
    """The History rows `doc` adds to `previous` (all of them in a first version), as
    {policy_id, type_of_revision, summary_of_changes, review_date}, by policy and Review Date.
    Rows are known by policy and Review Date, as the version's changes know them: a row edited in
    place (same policy and date, another type or summary) is a change, not an added row."""
    before = _history_rows(previous) if previous else []
    had = Counter((r[0], r[3]) for r in before)
    exact = set(before)
    rows: dict[tuple[str, str], list[tuple[str, str, str, str]]] = {}
    for row in _history_rows(doc):
        rows.setdefault((row[0], row[3]), []).append(row)
    new = []
    for key, same_date in rows.items():
        extra = len(same_date) - had[key]
        if extra > 0:  # the rows the previous version lacks come first
            new += sorted(same_date, key=lambda r: r in exact)[:extra]
    return [
        dict(zip(HISTORY_FIELDS, row, strict=True))
        for row in sorted(new, key=lambda r: (r[0], r[3], r[1], r[2]))
    ]


def _history_rows(doc: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    return [
        (p["policy_id"], h["type_of_revision"], h["summary_of_changes"], h["review_date"])
        for p in doc["policies"]
        for h in p["history"]
    ]
