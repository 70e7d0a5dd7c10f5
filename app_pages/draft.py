"""Draft workbook: upload an .xlsx and see its findings by sheet and cell, or, when it is valid,
its decisions and its impact against the latest published version. Nothing is published."""

from __future__ import annotations

import streamlit as st

from app_pages import common
from app_pages.draft_review import (
    MAX_DRAFT_MB,
    DraftReview,
    cached_review,
    findings_table,
)
from compiler.ruleset import diff
from compiler.decide import impact
from compiler.workbook.findings import errors
from compiler.ruleset.store import StoreError


def show_findings(review: DraftReview) -> None:
    n_err = len(errors(review.findings))
    n_warn = len(review.findings) - n_err
    if n_err:
        st.error(f"{review.file_name}: {n_err} error(s), {n_warn} warning(s). It would not compile; "
                 "fix the cells below.")
    elif n_warn:
        st.warning(f"{review.file_name}: {n_warn} warning(s). It compiles.")
    if review.findings:
        # A plain table: messages wrap, and every cell is text a reader (or screen reader) can find.
        st.table(findings_table(review.findings).set_index("severity"))
        if review.annotated is not None:
            st.download_button("Download the workbook with these findings marked", review.annotated,
                               file_name=review.file_name.removesuffix(".xlsx") + "-findings.xlsx",
                               mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                               key="draft_annotated")


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
    st.dataframe(decisions, hide_index=True, width="stretch")

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
        st.dataframe(common.changes_table(items), hide_index=True, width="stretch")
    result = impact.compare(common.engine_for(latest), engine, claims)
    st.write(result.summary)
    if len(result.changed):
        st.dataframe(result.changed, hide_index=True, width="stretch")


st.title("Draft workbook")
st.caption("Check a workbook before publishing it: the same validation and Tests as `dqm compile`, "
           "and nothing is written to the exports.")
upload = st.file_uploader(f"Workbook (.xlsx, up to {MAX_DRAFT_MB} MB)", type=["xlsx"], key="draft_upload",
                          max_upload_size=MAX_DRAFT_MB)
if upload is not None:
    data = upload.getvalue()
    review = cached_review(upload.name, data)
    show_findings(review)
    if review.ok:
        show_preview(review)
