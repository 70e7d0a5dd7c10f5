"""`dqm compile`: validate a workbook, run its Tests, build the ruleset and publish it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import diff
from .build import build
from ..workbook.findings import Finding
from .store import Published, Refused, Store, Unchanged
from .testsheet import test_findings
from ..workbook.validate import Validated, validate_file


@dataclass
class CompileResult:
    findings: list[Finding] = field(default_factory=list)
    outcome: Published | Unchanged | Refused | None = None

    @property
    def ok(self) -> bool:
        return isinstance(self.outcome, (Published, Unchanged))


def compile_workbook(path: str | Path, exports: str | Path = "exports") -> CompileResult:
    validated = validate_file(path)
    if not validated.ok:
        return CompileResult(validated.findings)
    content = build(validated)
    store = Store(exports)
    test_findings = run_workbook_tests(validated, content)
    if test_findings:
        return CompileResult(validated.findings + test_findings)
    outcome = store.publish(content, gate=lambda prev, new: new_history_required(validated, prev, new))
    findings = validated.findings + (outcome.reasons if isinstance(outcome, Refused) else [])
    return CompileResult(findings, outcome)


def run_workbook_tests(validated: Validated, content: dict[str, Any]) -> list[Finding]:
    """The workbook's Tests rows decided against the ruleset being built; a mismatch is a finding."""
    return test_findings(validated, content)


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
