"""History against what is published: a changed ruleset brings its own new History row."""

from __future__ import annotations

from . import diff
from ..workbook.findings import Finding
from ..workbook.validate import Validated


def new_history_required(validated: Validated, previous: dict | None, content: dict) -> list[Finding]:
    """A changed ruleset must bring at least one new History row."""
    if previous is None or any(c["action"] == "added" for c in diff.history_changes(previous, content)):
        return []  # an edited History row is a change, not the new row a new version needs
    sheet = validated.workbook.sheets["History"]
    changed = diff.changes(previous, content)
    shown = "; ".join(c["text"] for c in changed[:3]) + ("; …" if len(changed) > 3 else "")
    return [Finding("History", sheet.cell("Policy ID", sheet.next_row), "Policy ID", None,
                    f"The rules differ from the published v{previous['version']} ({shown}), but History "
                    "has no new row. Add a row here for each policy you changed: Policy ID, Type of "
                    "Revision, Summary of Changes and Review Date, and give that policy the same "
                    "Review Date on the Policies sheet.")]
