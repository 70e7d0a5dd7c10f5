"""A draft workbook reviewed as `dqm compile` would, without publishing: the logic of the Draft
page, apart from the page so it can be cached and tested."""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import streamlit as st

from compiler.ruleset.build import build
from compiler.workbook.findings import Finding, errors, plain_value
from compiler.ruleset.compile import run_workbook_tests
from compiler.workbook.validate import validate_file

MAX_DRAFT_MB = 10  # a rules workbook is tens of kilobytes; this leaves room for formatting


@dataclass
class DraftReview:
    """What the compiler says of an uploaded workbook, as `dqm compile` would, without publishing."""

    file_name: str
    findings: list[Finding] = field(default_factory=list)
    ruleset: dict[str, Any] | None = None  # the draft ruleset, when it compiles
    annotated: bytes | None = None  # the workbook with its findings marked, when it has any

    @property
    def ok(self) -> bool:
        return self.ruleset is not None


def review_draft(file_name: str, data: bytes) -> DraftReview:
    """Validate, build and run the workbook's Tests: the same steps `dqm compile` takes."""
    validated = validate_file(file_name, data=data)
    findings = validated.findings
    content = None
    if validated.ok:
        content = build(validated)
        findings = findings + run_workbook_tests(validated, content)
        if errors(findings):
            content = None
    return DraftReview(file_name, findings, content, annotated_workbook(file_name, data, findings))


def cached_review(file_name: str, data: bytes) -> DraftReview:
    """review_draft, once per upload's content: every widget touch reruns the page."""
    return _cached_review(file_name, hashlib.sha256(data).hexdigest(), data)


@st.cache_data(show_spinner=False, max_entries=16)
def _cached_review(file_name: str, data_sha256: str, _data: bytes) -> DraftReview:
    return review_draft(file_name, _data)


def findings_table(findings: list[Finding]) -> pd.DataFrame:
    """One row per finding, errors first, with the sheet and cell staff go to."""
    ordered = errors(findings) + [f for f in findings if f.severity != "error"]
    return pd.DataFrame([{
        "severity": f.severity, "sheet": f.sheet or "", "cell": f.cell or "", "column": f.column or "",
        "value": "" if f.value is None else str(plain_value(f.value)), "message": f.message,
    } for f in ordered], columns=["severity", "sheet", "cell", "column", "value", "message"])



def annotated_workbook(file_name: str, data: bytes, findings: list[Finding]) -> bytes | None:
    """The workbook with its findings marked (compiler.workbook.annotate), or None when it cannot be opened
    as a workbook at all (the findings say why) or that module is not installed."""
    if not findings or importlib.util.find_spec("compiler.workbook.annotate") is None:
        return None
    from compiler.workbook.annotate import AnnotateError, annotate_workbook

    try:
        return annotate_workbook(data, findings, file_name)
    except AnnotateError:
        return None
