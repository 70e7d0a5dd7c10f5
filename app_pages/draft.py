"""Draft workbook: upload an .xlsx and see its findings by sheet and cell, or, when it is valid,
its decisions and its impact against the latest published version. Nothing is published."""

from __future__ import annotations

import streamlit as st

from app_pages import common
from compiler.ruleset.draft import DraftCheck

MAX_DRAFT_MB = 10  # a rules workbook is tens of kilobytes; this leaves room for formatting


def show_findings(check: DraftCheck) -> None:
    n_err, n_warn = len(check.errors), len(check.warnings)
    if n_err:
        st.error(
            f"{check.file_name}: {n_err} error(s), {n_warn} warning(s). It would not compile; "
            "fix the cells below."
        )
    elif n_warn:
        st.warning(f"{check.file_name}: {n_warn} warning(s). It compiles.")
    if check.findings:
        # A plain table: messages wrap, and every cell is text a reader (or screen reader) can find.
        st.table(check.findings_table().set_index("severity"))
        if check.annotated is not None:
            st.download_button(
                "Download the workbook with these findings marked",
                check.annotated,
                file_name=check.file_name.removesuffix(".xlsx") + "-findings.xlsx",
                mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                key="draft_annotated",
            )


def show_preview(check: DraftCheck) -> None:
    ruleset_id = check.ruleset["ruleset_id"]
    st.success(
        f"{check.file_name} compiles: ruleset {ruleset_id}, its Tests pass. "
        "Nothing has been published."
    )
    source = (
        "the draft's workbook Tests" if check.decided_on_tests else "the claims on the Batch page"
    )
    st.subheader("Decisions of the draft")
    st.caption(f"On {source}.")
    st.dataframe(check.decisions, hide_index=True, width="stretch")

    st.subheader("Against the latest published version")
    if check.latest_version is None:
        st.write(f"{ruleset_id} has no published version yet: everything in the draft is new.")
        return
    if check.latest_refused is not None:
        st.error(check.latest_refused)
        return
    items = check.changes
    st.write(
        f"{len(items)} change(s) since v{check.latest_version}:"
        if items
        else f"The draft says what v{check.latest_version} says."
    )
    if items:
        st.dataframe(common.changes_table(items), hide_index=True, width="stretch")
    st.write(check.impact.summary)
    if len(check.impact.changed):
        st.dataframe(check.impact.changed, hide_index=True, width="stretch")


st.title("Draft workbook")
st.caption(
    "Check a workbook before publishing it: the same validation and Tests as `dqm compile`, "
    "and nothing is written to the exports."
)
upload = st.file_uploader(
    f"Workbook (.xlsx, up to {MAX_DRAFT_MB} MB)",
    type=["xlsx"],
    key="draft_upload",
    max_upload_size=MAX_DRAFT_MB,
)
if upload is not None:
    check = common.checked_draft(
        upload.name, upload.getvalue(), st.session_state.get("batch_claims")
    )
    show_findings(check)
    if check.ok:
        show_preview(check)
