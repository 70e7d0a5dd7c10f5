"""Batch: an editable table of test claims (the version's workbook Tests, or an uploaded claims
CSV), decided all at once; counts per decision and the results as CSV.

What a page shows stays small whatever the file: a file of more than EDITABLE_ROWS claims is
decided as uploaded (its first rows shown, not edited), and the decisions table shows the first
SHOWN_ROWS; the CSV download holds them all and is written when it is clicked."""

from __future__ import annotations

import csv
import io

import pandas as pd
import streamlit as st

from app_pages import common, fills, handoff, published
from app_pages.text import md
from compiler.decide.claims import (
    ClaimsFileError,
    column_key,
    ignored_columns,
    read_claims_csv,
)
from compiler.decide.csvtext import ignored_columns_note
from compiler.decide.decisions import shown_decisions
from compiler.decide.run import HistoryError
from compiler.decide.writer import write_decisions
from compiler.ruleset.store import StoreError
from compiler.vocabulary import CLAIM_COLUMNS, DECISIONS

MAX_CLAIMS_MB = 10  # the server's own limit (.streamlit/config.toml server.maxUploadSize)
EDITABLE_ROWS = 2_000  # more is decided as uploaded: an editor of a million rows helps nobody
SHOWN_ROWS = 1_000  # rows of a large file or of its decisions shown on the page
MAPPED_COLUMNS = 20  # a file's unknown columns offered a contract column to be read as
IGNORE = "(ignore)"


def unknown_columns(file_id: str, data: bytes) -> list[str]:
    """The columns an uploaded file's header names that the contract does not know (read once per
    file), offered a claims column to be read as even when the file lacks a needed one."""
    held = st.session_state.get("batch_unknown")
    if held is None or held[0] != file_id:
        first = data[: data.find(b"\n") if b"\n" in data else len(data)]
        header = first.decode("utf-8", "replace").removeprefix("\ufeff").rstrip("\r")
        try:
            names = next(csv.reader([header]), [])
        except csv.Error:
            names = []
        held = (file_id, [h for h in names if column_key(h) not in CLAIM_COLUMNS])
        st.session_state["batch_unknown"] = held
    return held[1]


def read_upload(data: bytes, mapping: dict[str, str]) -> tuple[pd.DataFrame, list[str]]:
    """An uploaded file's claims, and its columns still ignored after `mapping`."""
    heard: list[list[str]] = []
    frame = read_claims_csv(data, mapping, lambda _name, h, k: heard.append(ignored_columns(h, k)))
    return frame, heard[0]


def column_choices(file_id: str, unknown: list[str]) -> dict[str, str]:
    """The contract column each unknown column of the file is read as (as dqm decide --column
    THEIRS=OURS), chosen on the page; an empty choice leaves it ignored."""
    mapping: dict[str, str] = {}
    if not unknown:
        return mapping
    with st.expander("Read the file's own columns as claims columns"):
        for i, name in enumerate(unknown[:MAPPED_COLUMNS]):
            chosen = st.selectbox(
                md(name or "(a column with no name)"),
                [IGNORE, *CLAIM_COLUMNS],
                key=f"batch_column:{file_id}:{i}",
            )
            if chosen != IGNORE:
                mapping[name] = chosen
    return mapping


def uploaded_claims() -> tuple[pd.DataFrame | None, str | None]:
    """The uploaded claims file's claims (read once per upload, kept in the session), or None;
    and its name. A file that cannot be read is said so, and the page starts from the Tests."""
    uploaded = st.session_state.get("batch_upload")
    if uploaded is None:
        st.session_state.pop("batch_file", None)
        return None, None
    unknown = unknown_columns(uploaded.file_id, uploaded.getvalue())
    mapping = column_choices(uploaded.file_id, unknown)
    key = (uploaded.file_id, tuple(sorted(mapping.items())))
    held = st.session_state.get("batch_file")
    if held is None or held[0] != key:
        ignored: list[str] = []
        if uploaded.size > MAX_CLAIMS_MB * common.MB:  # the browser's limit, held here too
            held = (key, None, f"it is larger than {MAX_CLAIMS_MB} MB")
        else:
            try:
                frame, ignored = read_upload(uploaded.getvalue(), mapping)
                held = (key, frame, None)
            except ClaimsFileError as exc:
                held = (key, None, str(exc))
        st.session_state["batch_file"] = held
        st.session_state["batch_ignored"] = ignored_columns_note(ignored)
    if held[2] is not None:
        st.error(f"{md(uploaded.name)}: {md(held[2])}")
        return None, None
    note = st.session_state.get("batch_ignored")
    if note:
        st.info(f"{md(uploaded.name)}: {md(note)}")
    return held[1], uploaded.name


def counts(decisions: pd.DataFrame) -> pd.DataFrame:
    """How many claims got each decision (every decision listed, zeros included)."""
    n = decisions["decision"].value_counts()
    return pd.DataFrame(
        {"decision": list(DECISIONS), "claims": [int(n.get(d, 0)) for d in DECISIONS]}
    )


def batch_claims(choice: common.Choice) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The editor (or, for a large file, its first rows), and the claims as they now stand
    (saved for the Compare and Draft pages); with each row's Expected Decision and Expected
    Approved Qty when the table started from Tests (else None)."""
    claims, file_name = uploaded_claims()
    if claims is not None and len(claims) > EDITABLE_ROWS:
        st.caption(
            f"{len(claims):,} claims from {md(file_name)}, decided as uploaded; the first "
            f"{SHOWN_ROWS:,} are shown. Edit the file itself to change them."
        )
        common.show_table(common.editable(claims.head(SHOWN_ROWS)))
        st.session_state["batch_claims"] = claims
        return claims, None
    if claims is not None:
        table, unedited = common.starting_table(("file", st.session_state["batch_file"][0]), claims)
        source = f"claims from {md(file_name)}"
    else:
        table, unedited = common.starting_table(choice.tests_key, choice.doc)
        source = (
            f"the workbook Tests of {md(choice.label)}"
            if len(table)
            else "an empty table (this version has no Tests)"
        )
    st.caption(
        f"Starting from {source}. Edit cells, add or delete rows; name the product by "
        "`product_id`, `ndc` or `rxcui`; channel is `retail` or `home_delivery`; "
        "`date_of_service` is YYYY-MM-DD or YYYYMMDD; drugs and attested criteria are "
        "`;`-separated."
    )
    # A new source (another version, another file) starts a new editor.
    key = f"batch_editor:{choice.label}:{source}"
    edited = st.data_editor(
        table,
        key=key,
        num_rows="dynamic",
        hide_index=True,
        width="stretch",
        column_config={c: st.column_config.TextColumn(c) for c in table.columns},
    )
    edits = st.session_state.get(key) or {}
    if any(edits.get(k) for k in ("edited_rows", "added_rows", "deleted_rows")):
        claims = common.table_claims(edited)
    else:  # as it started: the claims made from it once, not again on every rerun
        claims = unedited
    st.session_state["batch_claims"] = claims
    has_expected = set(common.EXPECTED) <= set(edited.columns)
    return claims, edited[common.EXPECTED].reset_index(drop=True) if has_expected else None


def against_expected(decisions: pd.DataFrame, expected: pd.DataFrame) -> pd.DataFrame:
    """The decisions with each row's Expected Decision and Expected Approved Qty beside its
    own, and `result`: pass or fail as `dqm test` judges a Tests row (the decision as expected,
    and the approved quantity when one is expected), empty for a row that expects nothing."""
    out = decisions.reset_index(drop=True)
    want = expected["expected_decision"].fillna("").astype(str).str.strip()
    want_qty = expected["expected_approved_qty"].fillna("").astype(str).str.strip()
    got_qty = pd.to_numeric(out["approved_quantity"], errors="coerce")
    decision_ok = out["decision"].astype(str).eq(want.str.lower().str.replace(" ", "_"))
    qty_ok = want_qty.eq("") | pd.to_numeric(want_qty, errors="coerce").eq(got_qty)
    result = pd.Series(["pass" if ok else "fail" for ok in decision_ok & qty_ok], dtype=object)
    result[want.eq("")] = ""
    # Each expectation beside what it is of; the result where the eye starts, by the claim id.
    for after, name, column in [
        ("decision", "expected_decision", want),
        ("approved_quantity", "expected_approved_qty", want_qty),
        ("claim_id", "result", result),
    ]:
        out.insert(out.columns.get_loc(after) + 1, name, column.to_numpy(dtype=object))
    return out


def decisions_csv(decisions: pd.DataFrame):
    """The download's contents, written when the button is clicked (formula-safe, as `dqm
    decide` writes them), not on every rerun."""

    def write() -> bytes:
        out = io.BytesIO()
        write_decisions(decisions, out)
        return out.getvalue()

    return write


choice = common.require_version()
st.title("Batch")
st.file_uploader(
    "Claims CSV (optional)",
    type=["csv"],
    key="batch_upload",
    max_upload_size=MAX_CLAIMS_MB,
    help=f"Columns: {', '.join(CLAIM_COLUMNS)} (product_id, ndc or rxcui names the product).",
)
history, history_name = fills.history_upload("batch_history")
claims, expected = batch_claims(choice)
mode = common.decide_by(choice, "batch_decide_by")
by = (
    f"{choice.ruleset_id}, each claim by the version in effect on its date of service"
    if mode == common.BY_DATE
    else choice.label
) + (f", counting the earlier fills in {history_name}" if history_name else "")
if st.button("Decide all", type="primary", key="batch_decide"):
    try:
        decided = (
            published.versions_by_date(choice.ruleset_id).decide(claims, history=history)
            if mode == common.BY_DATE
            else choice.engine.decide(claims, history)
        )
        st.session_state["batch_result"] = (by, claims, decided, expected)
    except (StoreError, HistoryError) as exc:  # a version that cannot be read; a bad fill
        st.error(md(exc))
result = st.session_state.get("batch_result")
if result and result[0] == by:
    decided_claims, decisions, expected_then = result[1], result[2], result[3]
    if decided_claims is not claims and not decided_claims.equals(claims):
        st.warning("The table has changed since these decisions; press Decide all again.")
    st.subheader(f"{len(decisions):,} decisions by {md(by)}")
    tally = counts(decisions)
    for col, row in zip(st.columns(len(tally)), tally.itertuples(), strict=True):
        col.metric(row.decision, f"{row.claims:,}")
    versions = decisions["ruleset_version"].value_counts(dropna=False).sort_index()
    if mode == common.BY_CHOICE and choice.is_draft:  # a draft's decisions name no version
        st.caption(f"Decided by {md(choice.label)}, which is not published.")
    else:
        st.caption(
            "Versions that decided: "
            + ", ".join(
                f"{'none in effect' if pd.isna(v) else f'v{v}'} ({n:,})"
                for v, n in versions.items()
            )
        )
    shown = shown_decisions(decisions.head(SHOWN_ROWS))
    if expected_then is not None and len(expected_then) == len(decisions):
        judged = against_expected(decisions, expected_then)["result"]
        passed, failed = int(judged.eq("pass").sum()), int(judged.eq("fail").sum())
        tell = st.success if failed == 0 else st.error
        tell(f"Against the Expected Decision of each row: {passed:,} pass, {failed:,} fail.")
        shown = against_expected(shown, expected_then.head(SHOWN_ROWS))
    if len(decisions) > SHOWN_ROWS:
        st.caption(f"The first {SHOWN_ROWS:,} are shown; the download holds all of them.")
    common.show_table(shown, key="batch_table", on_select="rerun", selection_mode="single-row")
    st.download_button(
        "Download decisions (CSV)",
        decisions_csv(decisions),
        file_name=f"decisions-{choice.ruleset_id}-"
        + (
            "by-date-of-service"
            if mode == common.BY_DATE
            else "draft"
            if choice.is_draft
            else f"v{choice.version}"
        )
        + ".csv",
        mime="text/csv",
        key="batch_download",
    )
    handoff.offer(
        decided_claims,
        range(min(len(decisions), SHOWN_ROWS)),
        "batch",
        choice.ruleset_id,
        [
            (
                "Open in One claim",
                None
                if mode == common.BY_DATE
                else common.DRAFT
                if choice.is_draft
                else choice.version,
            )
        ],
        "the Batch page",
        table_key="batch_table",
    )
