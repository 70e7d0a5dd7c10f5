"""Batch: an editable table of test claims (the version's workbook Tests, or an uploaded claims
CSV), decided all at once; counts per decision and the results as CSV."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages import common
from compiler.decide.claims import ClaimsFileError, claims_frame, read_claims_csv
from compiler.ruleset import walk
from compiler.ruleset.store import StoreError
from compiler.vocabulary import CLAIM_COLUMNS, DECISIONS

MAX_CLAIMS_MB = 20


def starting_claims(choice: common.Choice) -> tuple[pd.DataFrame, str]:
    """The table to start from: an uploaded claims file, else the version's workbook Tests."""
    uploaded = st.session_state.get("batch_upload")
    if uploaded is not None:
        try:
            return common.editable(
                read_claims_csv(uploaded.getvalue())
            ), f"claims from {uploaded.name}"
        except ClaimsFileError as exc:
            st.error(f"{uploaded.name}: {exc}")
    tests = walk.tests_as_claims(choice.doc)
    source = (
        f"the workbook Tests of {choice.label}"
        if len(tests)
        else "an empty table (this version has no Tests)"
    )
    return common.editable(tests), source


def counts(decisions: pd.DataFrame) -> pd.DataFrame:
    """How many claims got each decision (every decision listed, zeros included)."""
    n = decisions["decision"].value_counts()
    return pd.DataFrame(
        {"decision": list(DECISIONS), "claims": [int(n.get(d, 0)) for d in DECISIONS]}
    )


def batch_claims(choice: common.Choice) -> pd.DataFrame:
    """The editor, and the claims as it now holds them (saved for the Compare page)."""
    table, source = starting_claims(choice)
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
        column_config={c: st.column_config.TextColumn(c) for c in CLAIM_COLUMNS},
    )
    claims = claims_frame(edited.astype(object).where(edited.notna(), "").to_dict("records"))
    st.session_state["batch_claims"] = claims
    return claims


choice = common.require_version()
st.title("Batch")
st.file_uploader(
    "Claims CSV (optional)",
    type=["csv"],
    key="batch_upload",
    max_upload_size=MAX_CLAIMS_MB,
    help=f"Columns: {', '.join(CLAIM_COLUMNS)} (product_id, ndc or rxcui names the product).",
)
claims = batch_claims(choice)
mode = common.decide_by(choice, "batch_decide_by")
by = (
    f"{choice.ruleset_id}, each claim by the version in effect on its date of service"
    if mode == common.BY_DATE
    else choice.label
)
if st.button("Decide all", type="primary", key="batch_decide"):
    try:
        decided = (
            common.versions_by_date(choice.ruleset_id).decide(claims)
            if mode == common.BY_DATE
            else choice.engine.decide(claims)
        )
        st.session_state["batch_result"] = (by, claims, decided)
    except StoreError as exc:  # a version a claim may fall on cannot be read
        st.error(str(exc))
result = st.session_state.get("batch_result")
if result and result[0] == by:
    decided_claims, decisions = result[1], result[2]
    if not decided_claims.equals(claims):
        st.warning("The table has changed since these decisions; press Decide all again.")
    st.subheader(f"{len(decisions)} decisions by {by}")
    tally = counts(decisions)
    for col, row in zip(st.columns(len(tally)), tally.itertuples(), strict=True):
        col.metric(row.decision, row.claims)
    versions = decisions["ruleset_version"].value_counts(dropna=False).sort_index()
    st.caption(
        "Versions that decided: "
        + ", ".join(
            f"{'none in effect' if pd.isna(v) else f'v{v}'} ({n})" for v, n in versions.items()
        )
    )
    st.dataframe(decisions, hide_index=True, width="stretch")
    st.download_button(
        "Download decisions (CSV)",
        decisions.to_csv(index=False).encode(),
        file_name=f"decisions-{choice.ruleset_id}-"
        + ("by-date-of-service" if mode == common.BY_DATE else f"v{choice.version}")
        + ".csv",
        mime="text/csv",
        key="batch_download",
    )
