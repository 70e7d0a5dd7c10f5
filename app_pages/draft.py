"""Draft workbook: upload an .xlsx and see its findings by sheet and cell, or, when it is valid,
its decisions and its impact against the latest published version. Nothing is published.

The draft is checked in a child process under a time and memory budget
(compiler.ruleset.draft.start_draft_check): a hostile upload is stopped with a message, and the
server goes on answering everyone else meanwhile. The check and its marked-up copy are kept in
the session, which drops them (and stops a check still running) when it ends."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from app_pages import common, published
from app_pages.text import md
from compiler.budget import Job, OverBudget
from compiler.decide.decisions import shown_decisions
from compiler.ruleset.draft import DRAFT_BUDGET, DraftCheck, start_draft_check

MAX_DRAFT_MB = 10  # a rules workbook is tens of kilobytes; the server's own limit is the same
STATE = "draft_check"


@dataclass
class DraftState:
    """One uploaded draft's check as this session holds it."""

    key: tuple
    job: Job | None
    check: DraftCheck | None = None
    stopped: str | None = None  # why the check was stopped (a budget ran out)
    annotated: bytes | None = None
    annotated_stopped: str | None = None  # why there is no marked-up copy


def draft_state(file_name: str, data: bytes, claims: pd.DataFrame | None) -> DraftState:
    """This upload's state in the session, its check started when it is new (a new file, a new
    publish, other Batch claims): every widget touch reruns the page, and none starts it again."""
    key = (
        file_name,
        hashlib.sha256(data).hexdigest(),
        published.folder_states(),
        _claims_digest(claims),
    )
    held: DraftState | None = st.session_state.get(STATE)
    if held is not None and held.key == key:
        return held
    if held is not None and held.job is not None:
        held.job.stop()
    state = DraftState(
        key, start_draft_check(data, file_name, published.exports_dir(), claims=claims)
    )
    st.session_state[STATE] = state
    return state


def _claims_digest(claims: pd.DataFrame | None) -> str | None:
    if claims is None:
        return None
    return hashlib.sha256(pd.util.hash_pandas_object(claims, index=False).to_numpy()).hexdigest()


def wait_for_check(state: DraftState, file_name: str) -> None:
    """The check's first result (findings, or the preview), within the budget."""
    if state.check is not None or state.stopped is not None:
        return
    progress = st.empty()
    try:
        state.check = state.job.next(
            on_wait=lambda s: progress.caption(f"Checking {md(file_name)}… {s:.0f} s")
        )
    except OverBudget as exc:
        state.stopped = str(exc)
        state.job = None
    progress.empty()


def wait_for_annotated(state: DraftState, file_name: str) -> None:
    """The marked-up copy, the check's second result, within the budget."""
    if state.annotated is not None or state.annotated_stopped is not None or state.job is None:
        return
    progress = st.empty()
    try:
        state.annotated = state.job.next(
            on_wait=lambda s: progress.caption(
                f"Marking the findings in a copy of {md(file_name)}… {s:.0f} s"
            )
        )
        if state.annotated is None:
            state.annotated_stopped = "the workbook cannot be opened to mark it"
    except OverBudget as exc:
        state.annotated_stopped = str(exc)
    state.job = None
    progress.empty()


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
        "Nothing has been published."
    )
    source = (
        "the draft's workbook Tests" if check.decided_on_tests else "the claims on the Batch page"
    )
    st.subheader("Decisions of the draft")
    st.caption(f"On {source}.")
    st.dataframe(shown_decisions(check.decisions), hide_index=True, width="stretch")

    st.subheader("Against the latest published version")
    if check.latest_version is None:
        st.write(f"{md(ruleset_id)} has no published version yet: everything in the draft is new.")
        return
    if check.latest_refused is not None:
        st.error(md(check.latest_refused))
        return
    items = check.changes
    st.write(
        f"{len(items)} change(s) since v{check.latest_version}:"
        if items
        else f"The draft says what v{check.latest_version} says."
    )
    if items:
        st.dataframe(common.changes_table(items), hide_index=True, width="stretch")
    st.markdown(md(check.impact.summary))
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
if upload is None:
    held = st.session_state.pop(STATE, None)
    if held is not None and held.job is not None:
        held.job.stop()
    st.stop()
if upload.size > MAX_DRAFT_MB * common.MB:  # the browser's limit, held here too
    st.error(f"{md(upload.name)} is larger than {MAX_DRAFT_MB} MB; it was not checked.")
    st.stop()
state = draft_state(upload.name, upload.getvalue(), st.session_state.get("batch_claims"))
wait_for_check(state, upload.name)
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
