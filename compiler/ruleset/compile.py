"""`dqm compile`: validate a workbook, run its Tests, build the ruleset and publish it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .build import build
from .history import new_history_required
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
