"""Draft workbook: upload an .xlsx and see its findings by sheet and cell, or, when it is valid,
its decisions and its impact against the latest published version. Nothing is published.

The draft is checked in a child process under a time and memory budget
(compiler.ruleset.draft.start_draft_check): a hostile upload is stopped with a message, and the
server goes on answering everyone else meanwhile. The check and its marked-up copy are kept in
the session, which drops them (and stops a check still running) when it ends."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages import common
from app_pages.drafts import (
    DraftState,
    draft_state,
    drop_draft,
    wait_for_annotated,
    wait_for_check,
)
from app_pages.text import md
from compiler.decide import impact
from compiler.decide.decisions import shown_decisions
from compiler.ruleset import walk
from compiler.ruleset.draft import DRAFT_BUDGET, DraftCheck

MAX_DRAFT_MB = 10  # a rules workbook is tens of kilobytes; the server's own limit is the same


def show_findings(check: DraftCheck) -> None:
    n_err, n_warn = check.error_count, check.warning_count
    if n_err:
        st.error(
            f"{md(check.file_name)}: {n_err:,} error(s), {n_warn:,} warning(s). It would not "
            "compile; fix the cells below."
        )
    elif n_warn:
        st.warning(f"{md(check.file_name)}: {n_warn:,} warning(s). It compiles.")
    if check.findings:
        # A plain table: messages wrap, and every cell is text a reader (or screen reader) can
        # find. Each cell is a file's text, so each is escaped.
        st.table(check.findings_table().map(md).set_index("severity"))
    for sheet, n in check.left_out.items():
        st.caption(
            f"{md(sheet)}: {n:,} more finding(s) not shown here; the marked-up copy lists every "
            "one (or run `dqm validate WORKBOOK`)."
        )


def show_annotated(state: DraftState, file_name: str) -> None:
    if state.annotated is not None:
        st.download_button(
            "Download the workbook with these findings marked",
            state.annotated,
            file_name=file_name.removesuffix(".xlsx") + "-findings.xlsx",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            key="draft_annotated",
        )
    elif state.annotated_stopped is not None:
        st.warning(
            f"No marked-up copy: {md(state.annotated_stopped)}. Run `dqm validate WORKBOOK "
            "--annotate OUT.xlsx` to write one."
        )


def show_preview(check: DraftCheck) -> None:
    ruleset_id = check.ruleset["ruleset_id"]
    st.success(
        f"{md(check.file_name)} compiles: ruleset {md(ruleset_id)}, its Tests pass. "
        "Nothing has been published. Choose it in the sidebar (draft "
        f"{md(check.file_name)}) to try it on One claim and Batch."
    )
    source = (
        "the draft's workbook Tests" if check.decided_on_tests else "the claims on the Batch page"
    )
    st.subheader("Decisions of the draft")
    st.caption(f"On {source}.")
    common.show_table(shown_decisions(check.decisions))

    st.subheader("Against the latest published version")
    if check.latest_version is None:
        st.write(f"{md(ruleset_id)} has no published version yet: everything in the draft is new.")
        return
    if check.latest_refused is not None:
        st.error(md(check.latest_refused))
        return
    items = check.changes
    st.write(
        f"{len(items):,} change(s) since v{check.latest_version}:"
        if items
        else f"The draft says what v{check.latest_version} says."
    )
    if items:
        common.show_table(common.changes_table(items))
    st.markdown(md(check.impact.summary))
    if len(check.impact.changed):
        common.show_table(changed_claims(check))


def changed_claims(check: DraftCheck) -> pd.DataFrame:
    """The changed claims with the claims' own NDC and RxCUI beside them (the check lines up
    the two sides' decisions; the claims they decided are the draft's Tests, or Batch's)."""
    claims = (
        walk.tests_as_claims(check.ruleset)
        if check.decided_on_tests
        else st.session_state.get("batch_claims")
    )
    if claims is None or len(claims) != len(check.impact.before):
        return check.impact.changed
    return impact.changed_decisions(check.impact.before, check.impact.after, claims)


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
if upload is None:
    drop_draft()
    st.stop()
if upload.size > MAX_DRAFT_MB * common.MB:  # the browser's limit, held here too
    st.error(f"{md(upload.name)} is larger than {MAX_DRAFT_MB} MB; it was not checked.")
    st.stop()
state = draft_state(upload.name, upload.getvalue(), st.session_state.get("batch_claims"))
if wait_for_check(state, upload.name) and state.check.ok:
    st.rerun()  # the sidebar, drawn before this page, now offers the draft as a version
if state.stopped is not None:
    st.error(
        f"{md(upload.name)} was not checked: {md(state.stopped)}, far more than any rules "
        f"workbook needs (the budget is {DRAFT_BUDGET.seconds:g} s and "
        f"{DRAFT_BUDGET.memory_bytes / common.MB:,.0f} MB). Run `dqm validate WORKBOOK` to "
        "see its findings."
    )
    st.stop()
check = state.check
show_findings(check)
annotated = st.container()
if check.ok:
    show_preview(check)
if check.findings:
    with annotated:
        wait_for_annotated(state, upload.name)
        show_annotated(state, upload.name)
