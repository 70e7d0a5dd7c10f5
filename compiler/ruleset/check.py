"""A workbook checked as `dqm compile` checks it, publishing nothing: the sheets (validate), the
History against the latest published version, the Tests, and the History row a change needs.
`dqm validate`, `dqm compile` and the app's Draft page all ask `check_workbook`, so a workbook that
validates clean compiles."""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..effective import effective_date
from ..workbook.effective_dates import retroactive, takes_effect_note, unchanged_note
from ..workbook.findings import Finding, errors
from ..workbook.headers import (
    POLICY_ID,
    REVIEW_DATE,
    RULESET_ID,
    SUMMARY_OF_CHANGES,
    TYPE_OF_REVISION,
)
from ..workbook.removed import removed
from ..workbook.schemas import SLUG
from ..workbook.validate import Validated, ordered, validate_file
from .build import build
from .history import audit, new_history_required
from .store import Store
from .testsheet import mismatch_findings


@dataclass
class Checked:
    """A workbook's findings, and what compiling it would publish over."""

    validated: Validated
    findings: list[Finding]
    content: dict[str, Any] | None  # the ruleset it would publish, when it has no errors
    ruleset_id: str | None  # its Ruleset ID, when that is a valid id
    previous: dict[str, Any] | None  # the latest published version of that ruleset, verified
    exports: Path | None  # the exports folder checked against (None: none)
    # When the version it would publish takes effect, and which claims move to it (None: it
    # publishes nothing, or its rules could not be built)
    takes_effect: str | None = None

    @property
    def ok(self) -> bool:
        return not errors(self.findings)

    @property
    def first_version(self) -> bool:
        """Whether compiling would start the ruleset in this exports folder (nothing before it)."""
        return self.exports is not None and self.ruleset_id is not None and self.previous is None


def check_workbook(
    path: str | Path,
    exports: str | Path | None = "exports",
    data: bytes | None = None,
    today: dt.date | None = None,
) -> Checked:
    """Every finding `dqm compile` would make of the workbook at `path` (or its bytes `data`)
    against the exports store at `exports`; StoreError when that store cannot be read. With
    `exports` None, the workbook alone (as if nothing were published)."""
    validated = validate_file(path, data)
    store = Store(exports) if exports is not None else None
    ruleset_id = _ruleset_id(validated)
    previous = None
    if store is not None:
        store.require_folder(missing_ok=True)
        previous = store.load(ruleset_id) if ruleset_id and store.versions(ruleset_id) else None
    findings = list(validated.findings) + _at_their_cause(
        validated, audit(validated, previous, today)
    )
    if store is not None and ruleset_id and previous is None:
        findings += _new_ruleset(validated, store, ruleset_id)
    findings += removed(validated, previous)
    content, note = None, None
    if validated.ok:
        content = build(validated)
        published = None
        if store is not None and ruleset_id and previous is not None:
            published = functools.cache(lambda: _published(store, ruleset_id))
        findings += mismatch_findings(validated, content, published)
        if not errors(findings):
            findings += new_history_required(validated, previous, content)
        if previous is None or previous["content_sha256"] != content["content_sha256"]:
            # Said once the workbook would publish: an error is fixed first.
            findings += retroactive(validated, content, previous) if not errors(findings) else []
            earlier = {
                v: effective_date(doc) for v, doc in (published() if published else {}).items()
            }
            version = previous["version"] + 1 if previous else 1
            note = takes_effect_note(
                content["ruleset_id"], version, content["effective_date"], earlier
            )
        else:  # the workbook is the latest version as published: it is said still
            note = unchanged_note(previous)
    findings = ordered(findings)
    return Checked(
        validated,
        findings,
        content if not errors(findings) else None,
        ruleset_id,
        previous,
        store.root if store is not None else None,
        note,
    )


def _at_their_cause(validated: Validated, found: list[Finding]) -> list[Finding]:
    """The History audit's findings less those caused by a cell already in error: a published row
    whose Review Date was typed as text is there, not removed (its finding is at that cell)."""
    sheet, frame = validated.workbook.sheets.get("History"), validated.frames.get("History")
    if sheet is None or frame is None:
        return found
    bad = {f.cell for f in validated.findings if f.sheet == "History" and f.cell}
    if not bad or not any(f.code == "history-row-removed" for f in found):
        return found  # no cell in error, or no row said removed: a pass over every row for none
    fields = {"policy": POLICY_ID, "type_of_revision": TYPE_OF_REVISION}
    fields["summary_of_changes"] = SUMMARY_OF_CHANGES
    fields["review_date"] = REVIEW_DATE
    broken_rows = []  # each History row with a cell in error: its other cells, as read
    for row in frame.index:
        cells = {k: sheet.cell(h, row) for k, h in fields.items() if h in frame}
        if any(c in bad for c in cells.values()):
            broken_rows.append(
                {k: frame.at[row, fields[k]] for k, c in cells.items() if c not in bad}
            )

    def caused(f: Finding) -> bool:
        return f.code == "history-row-removed" and any(
            all(_same(f.params[k], v) for k, v in cells.items()) for cells in broken_rows
        )

    return [f for f in found if not caused(f)]


def _same(published: Any, read: Any) -> bool:
    if isinstance(published, dt.date) and hasattr(read, "date"):
        return published == read.date()
    return published == read


def first_version_note(ruleset_id: str, exports: str | Path) -> str:
    """What `validate` and `compile` say when the ruleset has no version in the folder yet."""
    return f"first version of {ruleset_id} in {shown_folder(exports)}: no earlier versions there"


def shown_folder(folder: str | Path) -> str:
    """A folder as the person typed it, a relative one marked as such: ./exports."""
    text = str(folder)
    return text if Path(text).is_absolute() or text.startswith(".") else f"./{text}"


def _published(store: Store, ruleset_id: str) -> dict[int, dict[str, Any]]:
    """Every published version of the ruleset, verified: the versions a Tests row's Date of
    Service chooses among."""
    return {v: store.load(ruleset_id, v) for v in store.versions(ruleset_id)}


def _ruleset_id(validated: Validated) -> str | None:
    frame = validated.frames.get("Ruleset")
    if frame is None or len(frame) == 0 or RULESET_ID not in frame:
        return None
    value = frame[RULESET_ID].iloc[0]
    return value if isinstance(value, str) and re.match(SLUG, value) else None


def _new_ruleset(validated: Validated, store: Store, ruleset_id: str) -> list[Finding]:
    """A warning when the folder holds other rulesets but not this one: a changed Ruleset ID, or
    the wrong folder, would otherwise start a new history at v1 without a word."""
    others = store.ruleset_ids()
    if not others:
        return []
    sheet = validated.workbook.sheets["Ruleset"]
    row = int(validated.frames["Ruleset"].index[0])
    return [
        sheet.finding(
            "new-ruleset-in-exports",
            RULESET_ID,
            row,
            {"ruleset_id": ruleset_id, "exports": shown_folder(store.root), "published": others},
            "warning",
        )
    ]
