"""Compare two versions: the compiler's list of changes, and which batch claims change decision or
approved quantity between them."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from app_pages import common, published
from app_pages.text import md
from compiler.decide import impact
from compiler.ruleset import diff, walk
from compiler.ruleset.store import StoreError


def comparison_claims(newer: dict[str, Any]) -> tuple[pd.DataFrame, str]:
    """The Batch page's table when the reviewer has one, else the newer version's workbook Tests."""
    batch = st.session_state.get("batch_claims")
    if batch is not None and len(batch):
        return batch, "the claims on the Batch page"
    return walk.tests_as_claims(newer), f"the workbook Tests of v{newer['version']}"


def show_changes(before: dict[str, Any], after: dict[str, Any]) -> None:
    items = diff.changes(before, after)
    st.subheader(f"Changes ({len(items)})")
    if not items:
        st.write("No changes.")
    else:
        st.dataframe(common.changes_table(items), hide_index=True, width="stretch")


def show_impact(result: impact.Impact, source: str, labels: tuple[str, str]) -> None:
    st.subheader("Impact on claims")
    st.caption(f"Compared on {md(source)}: {labels[0]} against {labels[1]}.")
    st.markdown(md(result.summary))
    if len(result.changed):
        st.dataframe(result.changed, hide_index=True, width="stretch")
    # The same transitions `dqm impact` prints for a year of claims: claims by decision before and
    # after, with the approved quantities summed.
    st.caption("Decisions before and after, with the approved quantities summed")
    st.dataframe(result.transitions.table(), hide_index=True, width="stretch")


choice = common.require_version()
st.title("Compare versions")
listed = published.listed_versions(choice.ruleset_id)
versions = list(listed)
left, right = st.columns(2)
a = left.selectbox(
    "Before",
    versions,
    index=max(0, versions.index(choice.version) - 1),
    key=f"compare_a:{choice.ruleset_id}",
    format_func=lambda v: listed[v].label,
)
b = right.selectbox(
    "After",
    versions,
    index=versions.index(choice.version),
    key=f"compare_b:{choice.ruleset_id}",
    format_func=lambda v: listed[v].label,
)
try:
    doc_a = published.load_version(choice.ruleset_id, a)
    doc_b = published.load_version(choice.ruleset_id, b)
except StoreError as exc:
    st.error(str(exc))
    st.stop()
show_changes(doc_a, doc_b)
claims, source = comparison_claims(doc_b)
result = impact.compare(published.engine_for(doc_a), published.engine_for(doc_b), claims)
show_impact(result, source, (f"v{a}", f"v{b}"))
