"""History against what is published: a changed ruleset brings its own new History row."""

from __future__ import annotations

from ..workbook.findings import Finding
from ..workbook.validate import Validated
from . import diff


def new_history_required(
    validated: Validated, previous: dict | None, content: dict
) -> list[Finding]:
    """A changed ruleset must bring at least one new History row."""
    if previous is None or any(
        c["action"] == "added" for c in diff.history_changes(previous, content)
    ):
        return []  # an edited History row is a change, not the new row a new version needs
    sheet = validated.workbook.sheets["History"]
    changed = [c["text"] for c in diff.changes(previous, content)]
    return [
        Finding(
            "history-row-missing",
            "History",
            sheet.cell("Policy ID", sheet.next_row),
            "Policy ID",
            None,
            {
                "version": previous["version"],
                "changes": changed[:3],
                "more": max(len(changed) - 3, 0),
            },
        )
    ]
