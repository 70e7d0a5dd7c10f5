"""A draft workbook checked as `dqm compile` would check it, without publishing: validate the
uploaded bytes, build, run the workbook's Tests and, when it compiles, decide claims with it and
compare it with the latest published version of the same ruleset. Nothing is written to exports/.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..budget import Budget, Job
from ..decide.engine import Engine
from ..decide.impact import Impact, changed_decisions
from ..workbook.findings import Finding, errors, shown_value, warnings
from . import diff
from .check import check_workbook
from .store import Store, StoreError
from .walk import tests_as_claims

FINDINGS_COLUMNS = ["severity", "sheet", "cell", "column", "value", "message"]
WHOLE_FILE = "(workbook)"  # where a finding about the file as a whole is counted
# What one draft may cost a server checking it for someone (the reviewer app): its findings (or
# preview) within 7 seconds, the marked-up copy within 30 more, in 1 GB of memory. A real rules
# workbook needs a fraction of a second and tens of megabytes; a hostile one is stopped.
DRAFT_BUDGET = Budget(seconds=7, more_seconds=30, memory_bytes=1_000_000_000)
SHOWN_PER_SHEET = 50  # findings a page shows per sheet (all of them in the marked-up copy)


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
    left_out: dict[str, int] = field(default_factory=dict)  # per sheet, findings not in `findings`
    totals: tuple[int, int] | None = None  # (errors, warnings) of all findings, when left_out

    @property
    def ok(self) -> bool:
        return self.ruleset is not None

    @property
    def error_count(self) -> int:
        """How many errors the draft has (all of them, whether or not `findings` lists them)."""
        return self.totals[0] if self.totals else len(self.errors)

    @property
    def warning_count(self) -> int:
        return self.totals[1] if self.totals else len(self.warnings)

    def capped(self, per_sheet: int = SHOWN_PER_SHEET) -> DraftCheck:
        """The same check listing only the first `per_sheet` findings of each sheet (errors
        first), with how many it leaves out per sheet: what a page can show of a draft with
        250,000 bad rows. The totals stay those of all findings."""
        kept: list[Finding] = []
        seen: dict[str, int] = {}
        left_out: dict[str, int] = {}
        for f in self.errors + self.warnings:
            sheet = f.sheet or WHOLE_FILE
            seen[sheet] = seen.get(sheet, 0) + 1
            if seen[sheet] <= per_sheet:
                kept.append(f)
            else:
                left_out[sheet] = left_out.get(sheet, 0) + 1
        return dataclasses.replace(
            self,
            findings=kept,
            left_out=left_out,
            totals=(self.error_count, self.warning_count),
        )

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


def start_draft_check(
    data: bytes,
    file_name: str,
    exports: str | Path,
    *,
    claims: pd.DataFrame | None = None,
    budget: Budget = DRAFT_BUDGET,
) -> Job:
    """check_draft in a child process under `budget` (compiler.budget): the job's first result
    is the check, capped for a page (`DraftCheck.capped`); its second, when the draft has
    findings, the marked-up copy (bytes, or None when the file cannot be opened). The caller
    never holds more than that, whatever the upload."""
    return Job(draft_stages, data, file_name, str(exports), claims, budget=budget)


def draft_stages(
    data: bytes, file_name: str, exports: str, claims: pd.DataFrame | None
) -> Iterator[DraftCheck | bytes | None]:
    """What a draft check gives, in the order a page shows it: the capped check, then (when it
    has findings) the annotated copy with every finding."""
    check = check_draft(data, file_name, exports, claims=claims)
    yield check.capped()
    if check.findings:
        yield annotated_copy(data, check.findings, file_name)


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
    check.decisions = engine.decide(decided)  # one run: Per Days claims count earlier ones
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
