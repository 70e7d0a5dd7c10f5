"""The members' earlier fills, uploaded on the Batch and Compare pages: what Per Days limits count
besides the claims themselves (as `dqm decide --history` reads them)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages.text import md
from compiler.decide.claims import ClaimsFileError, HistoryColumns, read_claims_csv

HELP = (
    "For Per Days limits: the members' earlier paid fills, with member_id, product_id (or ndc, "
    "rxcui), date_of_service, quantity and, optionally, status (paid or reversed)."
)


def history_upload(key: str) -> tuple[pd.DataFrame | None, str | None]:
    """The uploaded history (read once per upload, kept in the session) and its name, or None;
    a file that cannot be read as fills is said so, and none is used."""
    uploaded = st.file_uploader("Earlier fills CSV (optional)", type=["csv"], key=key, help=HELP)
    if uploaded is None:
        st.session_state.pop(f"{key}:read", None)
        return None, None
    held = st.session_state.get(f"{key}:read")
    if held is None or held[0] != uploaded.file_id:
        try:
            held = (uploaded.file_id, read_claims_csv(uploaded.getvalue(), HistoryColumns()), None)
        except ClaimsFileError as exc:
            held = (uploaded.file_id, None, str(exc))
        st.session_state[f"{key}:read"] = held
    if held[2] is not None:
        st.error(f"{md(uploaded.name)}: {md(held[2])}")
        return None, None
    st.caption(
        f"{len(held[1]):,} earlier fills from {md(uploaded.name)} count toward Per Days limits."
    )
    return held[1], uploaded.name
