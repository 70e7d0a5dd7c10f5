"""A claim opened from another page in One claim, to see why it decided as it did: a Batch
decision, or a changed claim on Compare versions. The page offers its claims by id and a button
per version to open one with; the One claim form is then filled with that claim (its date, its
product as the claim names it, channel, quantity, drugs and attested criteria), the version is
chosen in the sidebar, and One claim explains the decision."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from app_pages.text import md, plain
from compiler.vocabulary import CHANNEL_LABELS, CLAIM_COLUMNS

PENDING = "open_claim"  # the claim on its way to One claim
CLAIM_PAGE = "app_pages/claim.py"


@dataclass(frozen=True)
class Opened:
    """A claim to open in One claim: its fields as text ("" for blank), the version to decide it
    with (a published version, the draft, or None: the version in effect on its date), and
    where it came from."""

    claim: dict[str, str]
    ruleset_id: str
    version: int | str | None
    source: str


def offer(
    claims: pd.DataFrame,
    rows: Sequence[int],
    key: str,
    ruleset_id: str,
    targets: list[tuple[str, int | str | None]],
    source: str,
    table_key: str | None = None,
) -> None:
    """A select box of the claims at `rows` of `claims` (by claim id) and a button per target
    (label, version) opening the chosen one in One claim. A row selected in the table of key
    `table_key` (whose row i is the claim at rows[i]) is chosen in the box."""
    if not len(rows):
        return
    ids = claims["claim_id"].astype(object).where(claims["claim_id"].notna(), None).tolist()
    rows = [int(r) for r in rows]
    selected = _selected_row(table_key)
    if selected != st.session_state.get(f"{key}_selected"):  # a row newly selected
        st.session_state[f"{key}_selected"] = selected
        if selected is not None and selected < len(rows):
            st.session_state[f"{key}_pick"] = rows[selected]
    pick, *buttons = st.columns([3] + [1] * len(targets), vertical_alignment="bottom")
    row = pick.selectbox(
        "Open a claim in One claim, to see why",
        rows,
        key=f"{key}_pick",
        format_func=lambda i: plain(ids[i]) if ids[i] not in (None, "") else f"row {i + 1}",
        help="Or select its row in the table above.",
    )
    for column, (label, version) in zip(buttons, targets, strict=True):
        if column.button(label, key=f"{key}_open:{version}"):
            st.session_state[PENDING] = Opened(
                _claim_text(claims.iloc[row]), ruleset_id, version, source
            )
            st.switch_page(CLAIM_PAGE)


def _selected_row(table_key: str | None) -> int | None:
    """The row selected in a table shown with on_select (its first), or None."""
    state = st.session_state.get(table_key) if table_key else None
    try:
        chosen = state["selection"]["rows"]
    except (KeyError, TypeError):
        return None
    return int(chosen[0]) if chosen else None


def _claim_text(row: pd.Series) -> dict[str, str]:
    return {c: "" if c not in row or pd.isna(row[c]) else str(row[c]) for c in CLAIM_COLUMNS}


def choose_pending_version(sidebar: Any) -> None:
    """Before the sidebar's boxes are drawn: the ruleset and version of a claim being opened."""
    opened: Opened | None = st.session_state.get(PENDING)
    if opened is None:
        return
    st.session_state["ruleset_id"] = opened.ruleset_id
    if opened.version is not None:
        st.session_state[f"version:{opened.ruleset_id}"] = opened.version


def take() -> Opened | None:
    """On One claim, before its widgets: the claim being opened (once), its date and how it is
    decided set in the form."""
    opened: Opened | None = st.session_state.pop(PENDING, None)
    if opened is None:
        return None
    st.session_state["claim_date"] = opened.claim["date_of_service"].strip()
    st.session_state["claim_decide_by"] = "date" if opened.version is None else "sidebar"
    return opened


def fill_form(opened: Opened, product_ids: list[str], attestable: list[str]) -> list[str]:
    """The rest of the form from the claim, given what the deciding version offers; returns what
    could not be filled in, in words."""
    claim, left_out = opened.claim, []
    product, ndc, rxcui = (claim[c].strip() for c in ("product_id", "ndc", "rxcui"))
    if product and product in product_ids:
        st.session_state["claim_named_by"] = "product_id"
        st.session_state["claim_product"] = product
    elif ndc or rxcui:
        system = "ndc" if ndc else "rxcui"
        st.session_state["claim_named_by"] = system
        st.session_state[f"claim_{system}"] = ndc or rxcui
    elif product:
        left_out.append(f"its product_id {md(product)} is no product of this version")
    channel = claim["channel"].strip().lower().replace(" ", "_")
    if channel in CHANNEL_LABELS:
        st.session_state["claim_channel"] = channel
    elif claim["channel"]:
        left_out.append(f"its channel {md(claim['channel'])} is neither retail nor home delivery")
    st.session_state["claim_quantity"] = claim["quantity"]
    st.session_state["claim_drugs"] = _items(claim["concomitant_drugs"])
    attested = _items(claim["attested_criteria"])
    st.session_state["claim_attested"] = [c for c in attested if c in attestable]
    left_out += [
        f"attested criterion {md(c)} is not one of this version's"
        for c in attested
        if c not in attestable
    ]
    return left_out


def _items(text: str) -> list[str]:
    return list(dict.fromkeys(t.strip() for t in text.split(";") if t.strip()))
