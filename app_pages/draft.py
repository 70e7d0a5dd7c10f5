"""Draft workbook: upload an .xlsx and see its findings by sheet and cell, or, when it is valid,
its decisions and its impact against the latest published version. Nothing is published."""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import streamlit as st

from app_pages import common
from compiler import diff, impact
from compiler.build import build
from compiler.findings import Finding, errors, plain_value
from compiler.publish import run_workbook_tests
from compiler.store import StoreError
from compiler.validate import validate_file

MAX_DRAFT_MB = 10  # a rules workbook is tens of kilobytes; this leaves room for formatting


@dataclass
class DraftReview:
    """What the compiler says of an uploaded workbook, as `dqm compile` would, without publishing."""

    file_name: str
    findings: list[Finding] = field(default_factory=list)
    ruleset: dict[str, Any] | None = None  # the draft ruleset, when it compiles

    @property
    def ok(self) -> bool:
        return self.ruleset is not None


def review_draft(file_name: str, data: bytes) -> DraftReview:
    """Validate, build and run the workbook's Tests: the same steps `dqm compile` takes."""
    validated = validate_file(file_name, data=data)
    if not validated.ok:
        return DraftReview(file_name, validated.findings)
    content = build(validated)
    failures = run_workbook_tests(validated, content)
    if errors(failures):
        return DraftReview(file_name, validated.findings + failures)
    return DraftReview(file_name, validated.findings + failures, content)


@st.cache_data(show_spinner=False, max_entries=16)
def _cached_review(file_name: str, data_sha256: str, _data: bytes) -> DraftReview:
    # Reruns (every widget touch) would otherwise re-read and re-validate the same upload.
    return review_draft(file_name, _data)


def findings_table(findings: list[Finding]) -> pd.DataFrame:
    """One row per finding, errors first, with the sheet and cell staff go to."""
    ordered = errors(findings) + [f for f in findings if f.severity != "error"]
    return pd.DataFrame([{
        "severity": f.severity, "sheet": f.sheet or "", "cell": f.cell or "", "column": f.column or "",
        "value": "" if f.value is None else str(plain_value(f.value)), "message": f.message,
    } for f in ordered], columns=["severity", "sheet", "cell", "column", "value", "message"])


def annotate_available() -> bool:
    return importlib.util.find_spec("compiler.annotate") is not None


def show_findings(review: DraftReview, data: bytes) -> None:
    n_err = len(errors(review.findings))
    n_warn = len(review.findings) - n_err
    if n_err:
        st.error(f"{review.file_name}: {n_err} error(s), {n_warn} warning(s). It would not compile; "
                 "fix the cells below.")
    elif n_warn:
        st.warning(f"{review.file_name}: {n_warn} warning(s). It compiles.")
    if review.findings:
        st.dataframe(findings_table(review.findings), hide_index=True, width="stretch",
                     key="draft_findings")
        annotated = annotated_workbook(review, data)
        if annotated is not None:
            st.download_button("Download the workbook with these findings marked", annotated,
                               file_name=review.file_name.removesuffix(".xlsx") + "-findings.xlsx",
                               mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                               key="draft_annotated")


def annotated_workbook(review: DraftReview, data: bytes) -> bytes | None:
    """The workbook with its findings marked, from compiler.annotate (when that module exists)."""
    if not annotate_available():
        return None
    from compiler.annotate import annotate_workbook

    return annotate_workbook(data, review.findings)


def show_preview(review: DraftReview) -> None:
    draft = review.ruleset
    st.success(f"{review.file_name} compiles: ruleset {draft['ruleset_id']}, its Tests pass. "
               "Nothing has been published.")
    engine = common.engine_for(draft)
    claims = common.tests_as_claims(draft)
    source = "the draft's workbook Tests"
    if not len(claims) and st.session_state.get("batch_claims") is not None:
        claims, source = st.session_state["batch_claims"], "the claims on the Batch page"
    st.subheader("Decisions of the draft")
    st.caption(f"On {source}.")
    decisions = engine.decide(claims)
    st.dataframe(decisions, hide_index=True, width="stretch", key="draft_decisions")

    s = common.store()
    published = s.versions(draft["ruleset_id"])
    st.subheader("Against the latest published version")
    if not published:
        st.write(f"{draft['ruleset_id']} has no published version yet: everything in the draft is new.")
        return
    try:
        latest = common.load_version(draft["ruleset_id"], published[-1])
    except StoreError as exc:
        st.error(str(exc))
        return
    items = diff.changes(latest, draft)
    st.write(f"{len(items)} change(s) since v{latest['version']}:" if items else
             f"The draft says what v{latest['version']} says.")
    if items:
        st.dataframe(pd.DataFrame({"change": [c["text"] for c in items]}), hide_index=True,
                     width="stretch", key="draft_changes")
    result = impact.compare(common.engine_for(latest), engine, claims)
    st.write(result.summary)
    if len(result.changed):
        st.dataframe(result.changed, hide_index=True, width="stretch", key="draft_impact")


st.title("Draft workbook")
st.caption("Check a workbook before publishing it: the same validation and Tests as `dqm compile`, "
           "and nothing is written to the exports.")
upload = st.file_uploader(f"Workbook (.xlsx, up to {MAX_DRAFT_MB} MB)", type=["xlsx"], key="draft_upload",
                          max_upload_size=MAX_DRAFT_MB)
if upload is not None:
    data = upload.getvalue()
    review = _cached_review(upload.name, hashlib.sha256(data).hexdigest(), data)
    show_findings(review, data)
    if review.ok:
        show_preview(review)
