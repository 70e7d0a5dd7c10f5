"""The workbook's Tests sheet, decided by the engine against the ruleset being built.

`dqm compile` turns every mismatch into a finding on the row's Expected Decision cell (or its
Expected Approved Qty cell when only the quantity differs), which blocks publishing;
`dqm test WORKBOOK` runs the same rows alone and prints a pass/fail table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..decide.claims import claims_columns
from ..decide.engine import Engine
from ..decide.versions import Versions
from ..effective import takes_effect
from ..text import iso_dates
from ..vocabulary import format_number as _n
from ..vocabulary import json_number as number
from ..vocabulary import plain_text
from ..workbook.catalogue import render
from ..workbook.findings import Finding
from ..workbook.headers import (
    ATTESTED_CRITERIA,
    CHANNEL,
    CONCOMITANT_DRUGS,
    DATE_OF_SERVICE,
    EXPECTED_APPROVED_QTY,
    EXPECTED_DECISION,
    MEMBER_ID,
    NDC,
    PRODUCT_ID,
    QUANTITY,
    RXCUI,
    TEST_ID,
)
from ..workbook.validate import Validated, validate_file
from .build import build


@dataclass(frozen=True)
class RowResult:
    test_id: str
    row: int  # the Excel row
    expected_decision: str  # as the sheet says it: "Approve"
    expected_approved: int | float | None
    decision: str  # as the engine says it: "approve"
    approved: int | float | None
    message: str

    @property
    def decision_ok(self) -> bool:
        return self.decision == self.expected_decision.lower()

    @property
    def approved_ok(self) -> bool:
        return self.expected_approved is None or self.approved == self.expected_approved

    @property
    def passed(self) -> bool:
        return self.decision_ok and self.approved_ok


@dataclass
class SheetRun:
    validated: Validated
    results: list[RowResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.validated.ok and all(r.passed for r in self.results)


# The published versions of the ruleset (number -> version), asked for only when a Tests row
# gives a Date of Service.
Published = Callable[[], Mapping[int, dict[str, Any]]]


def mismatch_findings(
    validated: Validated, content: dict[str, Any], published: Published | None = None
) -> list[Finding]:
    """One finding per Tests row whose expectation differs from what the engine decides."""
    sheet = validated.workbook.sheets.get("Tests")
    out = []
    for r in run_rows(validated, content, published):
        if r.passed:
            continue
        code, params = _mismatch(r)
        header = EXPECTED_DECISION if not r.decision_ok else EXPECTED_APPROVED_QTY
        value = r.expected_decision if not r.decision_ok else r.expected_approved
        out.append(Finding(code, "Tests", sheet.cell(header, r.row), header, value, params))
    return out


# Tests sheet header -> the claim field it fills.
CLAIM_FIELDS = {
    TEST_ID: "claim_id",
    PRODUCT_ID: "product_id",
    CHANNEL: "channel",
    QUANTITY: "quantity",
    CONCOMITANT_DRUGS: "concomitant_drugs",
    ATTESTED_CRITERIA: "attested_criteria",
    MEMBER_ID: "member_id",
    DATE_OF_SERVICE: "date_of_service",
    NDC: "ndc",
    RXCUI: "rxcui",
}


def run_rows(
    validated: Validated, content: dict[str, Any], published: Published | None = None
) -> list[RowResult]:
    """Every Tests row decided as one run, in sheet order (column-wise: no row objects): by
    Engine(content); or, where a row gives a Date of Service and `published` gives the versions
    already published, by the version in effect on it, `content` standing for the version it
    will publish (the next number, in effect from its effective date)."""
    tests = validated.frames.get("Tests")
    if tests is None or len(tests) == 0:
        return []
    claims = claims_columns(
        {field: _cells(tests[header]) for header, field in CLAIM_FIELDS.items()}
    )
    # The products the rows name (by Product ID, or by a code alone: build() resolved those).
    named = {t["product_id"] for t in content.get("tests", ())} | set(tests[PRODUCT_ID])
    decider: Engine | Versions = Engine(_only_products(content, named))
    if published is not None and tests[DATE_OF_SERVICE].notna().any():
        decider = _versions(content, published(), named, decider)
    decided = decider.decide(claims)  # one run: a Per Days row counts the rows before it
    approved = decided["approved_quantity"].tolist()
    return [
        RowResult(
            str(test_id),
            int(row),
            str(expected),
            number(expected_qty),
            str(decision),
            None if pd.isna(qty) else number(qty),
            str(message),
        )
        for test_id, row, expected, expected_qty, decision, qty, message in zip(
            tests[TEST_ID].tolist(),
            tests.index.tolist(),
            tests[EXPECTED_DECISION].tolist(),
            tests[EXPECTED_APPROVED_QTY].tolist(),
            decided["decision"].tolist(),
            approved,
            decided["message"].tolist(),
            strict=True,
        )
    ]


def _cells(column: pd.Series) -> list:
    """A Tests column as claim cells: dates as ISO text, blanks as None."""
    if pd.api.types.is_datetime64_any_dtype(column):
        return iso_dates(column).where(column.notna(), None).tolist()
    return column.tolist()


def _versions(
    content: dict[str, Any],
    published: Mapping[int, dict[str, Any]],
    named: set[str],
    draft: Engine,
) -> Engine | Versions:
    """The published versions and the draft as the next one, each claim decided by the version
    in effect on its date of service (the draft alone when nothing is published)."""
    if not published:
        return draft
    number = max(published) + 1
    docs = {**published, number: content}
    return Versions(
        content["ruleset_id"],
        {v: takes_effect(doc) for v, doc in docs.items()},
        lambda v: draft if v == number else Engine(_only_products(docs[v], named)),
    )


def _only_products(content: dict[str, Any], product_ids: set[str]) -> dict[str, Any]:
    """The ruleset cut down to the tested products: a claim's decision depends only on its own
    product (and the criteria and drug lists, kept whole), and a 20,000-product ruleset need not
    be laid out to decide 2,000 Tests rows."""
    policies = [
        {**p, "products": [x for x in p["products"] if x["product_id"] in product_ids]}
        for p in content["policies"]
    ]
    return {**content, "policies": [p for p in policies if p["products"]]}


def mismatch(r: RowResult) -> str:
    """What the engine decided instead, and why, worded for the person who wrote the row."""
    return render(*_mismatch(r))


def _mismatch(r: RowResult) -> tuple[str, dict[str, Any]]:
    """A failed row's finding code, and the parameters of its message."""
    if not r.decision_ok:
        return "tests-decision-mismatch", {
            "expected": r.expected_decision,
            "decided": r.decision,
            "approved": r.approved,
            "reason": r.message,
        }
    return "tests-quantity-mismatch", {
        "expected": r.expected_approved,
        "approved": r.approved,
        "reason": r.message,
    }


def run_workbook(path: str | Path) -> SheetRun:
    """`dqm test`: validate the workbook, build it, and decide its Tests rows."""
    validated = validate_file(path)
    if not validated.ok:
        return SheetRun(validated)
    return SheetRun(validated, run_rows(validated, build(validated)))


def as_table(results: list[RowResult]) -> str:
    """The pass/fail table `dqm test` prints."""

    def shown(decision: str, qty) -> str:
        return decision.lower() + ("" if qty is None else f" {_n(qty)}")

    rows = [(TEST_ID, "Expected", "Decided", "Result")]
    rows += [
        (
            plain_text(r.test_id),
            shown(r.expected_decision, r.expected_approved),
            shown(r.decision, r.approved),
            "pass" if r.passed else "FAIL",
        )
        for r in results
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    failed = [r for r in results if not r.passed]
    lines.append(f"{len(results) - len(failed)} passed, {len(failed)} failed.")
    lines += [plain_text(f"FAIL {r.test_id} (row {r.row}): {mismatch(r)}") for r in failed]
    return "\n".join(lines)
