"""A draft workbook checked as `dqm compile` would check it, without publishing: validate the
uploaded bytes, build, run the workbook's Tests and, when it compiles, decide claims with it and
compare it with the latest published version of the same ruleset. Nothing is written to exports/.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..decide.engine import Engine
from ..decide.impact import Impact, changed_decisions
from ..workbook.findings import Finding, errors, shown_value, warnings
from . import diff
from .check import check_workbook
from .store import Store, StoreError
from .walk import tests_as_claims

FINDINGS_COLUMNS = ["severity", "sheet", "cell", "column", "value", "message"]


@dataclass
class DraftCheck:
    """What the compiler says of a draft workbook and, when it compiles, what it would change."""

    file_name: str
    findings: list[Finding] = field(default_factory=list)
    ruleset: dict[str, Any] | None = None  # the draft ruleset, when it compiles and its Tests pass
    annotated: bytes | None = (
        None  # the workbook with its findings marked, when asked for and it has any
    )
    decided_on_tests: bool = (
        True  # whether `decisions` are of the draft's own Tests (else the claims given)
    )
    decisions: pd.DataFrame | None = None  # the draft's decisions, when it compiles
    latest_version: int | None = None  # the latest published version of the same ruleset, if any
    latest_refused: str | None = None  # why that version could not be read (the store's words)
    changes: list[dict[str, Any]] = field(default_factory=list)  # diff.changes(latest, draft)
    impact: Impact | None = None  # the latest version against the draft, on the same claims

    @property
    def ok(self) -> bool:
        return self.ruleset is not None

    @property
    def errors(self) -> list[Finding]:
        return errors(self.findings)

    @property
    def warnings(self) -> list[Finding]:
        return warnings(self.findings)

    def findings_table(self) -> pd.DataFrame:
        """One row per finding, errors first, with the sheet and cell staff go to (all text)."""
        return pd.DataFrame(
            [
                {
                    "severity": f.severity,
                    "sheet": f.sheet or "",
                    "cell": f.cell or "",
                    "column": f.column or "",
                    "value": "" if f.value is None else str(shown_value(f.value)),
                    "message": f.message,
                }
                for f in self.errors + self.warnings
            ],
            columns=FINDINGS_COLUMNS,
        )


def check_draft(
    data: bytes,
    file_name: str,
    exports: str | Path,
    *,
    claims: pd.DataFrame | None = None,
    annotate: bool = False,
) -> DraftCheck:
    """Check the workbook `data` (uploaded as `file_name`) as `dqm compile` would, against the
    store at `exports`, publishing nothing. A draft that compiles decides its own Tests, or
    `claims` when it has no Tests and claims are given; `annotate` asks for the marked-up copy."""
    try:
        checked = check_workbook(file_name, exports, data=data)
    except StoreError:  # the latest version is refused: _preview says so; check the workbook alone
        checked = check_workbook(file_name, None, data=data)
    findings, content = checked.findings, checked.content
    check = DraftCheck(
        file_name,
        findings,
        content,
        annotated_copy(data, findings, file_name) if annotate else None,
    )
    if content is not None:
        _preview(check, content, Store(exports), claims)
    return check


def annotated_copy(data: bytes, findings: list[Finding], file_name: str) -> bytes | None:
    """The workbook with its findings marked (compiler.workbook.annotate), or None when it has no
    findings, or cannot be opened as a workbook at all (the findings say why)."""
    if not findings:
        return None
    # Imported here: openpyxl loads only when a copy is asked for, not for every draft checked.
    from ..workbook.annotate import AnnotateError, annotate_workbook

    try:
        return annotate_workbook(data, findings, file_name)
    except AnnotateError:
        return None


def _preview(
    check: DraftCheck, content: dict[str, Any], store: Store, claims: pd.DataFrame | None
) -> None:
    """The draft's decisions, and its changes and impact against the latest published version."""
    engine = Engine(content)
    decided = tests_as_claims(content)
    if not len(decided) and claims is not None:
        decided, check.decided_on_tests = claims, False
    check.decisions = engine.decide(decided)
    published = store.versions(content["ruleset_id"])
    if not published:
        return
    check.latest_version = published[-1]
    try:
        latest = store.load(content["ruleset_id"], published[-1])
    except StoreError as exc:
        check.latest_refused = str(exc)
        return
    check.changes = diff.changes(latest, content)
    before = Engine(latest).decide(decided)
    check.impact = Impact(before, check.decisions, changed_decisions(before, check.decisions))
