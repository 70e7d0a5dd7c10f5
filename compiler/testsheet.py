"""The workbook's Tests sheet, decided by the engine against the ruleset being built."""

from __future__ import annotations

from typing import Any

from .findings import Finding
from .validate import Validated


def test_findings(validated: Validated, content: dict[str, Any]) -> list[Finding]:
    # Filled in with the decision engine (issue 3).
    return []
