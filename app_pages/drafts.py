"""The draft workbook a session holds: its check (started by the Draft page, in a child process
under a budget) and, once it compiles, the draft ruleset that the sidebar offers as a version to
decide with on the One claim and Batch pages ("draft NAME", after the published versions)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from app_pages import published
from app_pages.text import md
from compiler.budget import Job, OverBudget
from compiler.ruleset import draft as checking
from compiler.ruleset.draft import DraftCheck

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


@dataclass(frozen=True)
class Draft:
    """A draft that compiles, as the sidebar offers it."""

    file_name: str
    ruleset: dict[str, Any]

    @property
    def ruleset_id(self) -> str:
        return self.ruleset["ruleset_id"]


def held_draft() -> Draft | None:
    """The session's draft when its check is done and it compiles (its Tests pass), else None."""
    state: DraftState | None = st.session_state.get(STATE)
    if state is None or state.check is None or not state.check.ok:
        return None
    return Draft(state.check.file_name, state.check.ruleset)


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
        key, checking.start_draft_check(data, file_name, published.exports_dir(), claims=claims)
    )
    st.session_state[STATE] = state
    return state


def drop_draft() -> None:
    """The upload is gone: so is its check (a check still running is stopped)."""
    held = st.session_state.pop(STATE, None)
    if held is not None and held.job is not None:
        held.job.stop()


def _claims_digest(claims: pd.DataFrame | None) -> str | None:
    if claims is None:
        return None
    return hashlib.sha256(pd.util.hash_pandas_object(claims, index=False).to_numpy()).hexdigest()


def wait_for_check(state: DraftState, file_name: str) -> bool:
    """The check's first result (findings, or the preview), within the budget; whether it
    arrived in this run (a draft that compiles is then a version the sidebar offers)."""
    if state.check is not None or state.stopped is not None:
        return False
    progress = st.empty()
    try:
        state.check = state.job.next(
            on_wait=lambda s: progress.caption(f"Checking {md(file_name)}… {s:.0f} s")
        )
    except OverBudget as exc:
        state.stopped = str(exc)
        state.job = None
    progress.empty()
    return state.check is not None


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
