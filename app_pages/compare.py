"""Compare two versions: the compiler's list of changes, and which batch claims change decision or
approved quantity between them."""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
import streamlit as st

from app_pages import common, fills, handoff, published
from app_pages.text import md
from compiler.decide import impact
from compiler.decide.run import HistoryError
from compiler.decide.writer import DecisionWriter
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
    st.subheader(f"Changes ({len(items):,})")
    if not items:
        st.write("No changes.")
    else:
        common.show_table(common.changes_table(items))


def show_impact(result: impact.Impact, source: str, labels: tuple[str, str]) -> None:
    st.subheader("Impact on claims")
    st.caption(f"Compared on {md(source)}: {labels[0]} against {labels[1]}.")
    st.markdown(md(result.summary))
    if len(result.changed):
        common.show_table(
            result.changed, key="compare_table", on_select="rerun", selection_mode="single-row"
        )
        st.download_button(
            "Download the changed claims (CSV)",
            changed_csv(result.changed),
            file_name=f"impact-{choice.ruleset_id}-{labels[0]}-{labels[1]}.csv",
            mime="text/csv",
            key="compare_download",
        )
    # The same transitions `dqm impact` prints for a year of claims: claims by decision before and
    # after, with the approved quantities summed.
    st.caption("Decisions before and after, with the approved quantities summed")
    common.show_table(result.transitions.table())


def changed_csv(changed: pd.DataFrame):
    """The download's contents as `dqm impact --output changed.csv` writes them (formula-safe),
    written when the button is clicked."""

    def write() -> bytes:
        out = io.BytesIO()
        writer = DecisionWriter(out, "csv", impact.IMPACT_SCHEMA)
        writer.write(changed)
        writer.close()
        return out.getvalue()

    return write


choice = common.require_version()
st.title("Compare versions")
listed = published.listed_versions(choice.ruleset_id)
versions = list(listed)
if not versions:
    st.info(f"{md(choice.ruleset_id)} has no published version yet; see the Draft page.")
    st.stop()
# The sidebar's version (the latest, for a draft: the Draft page compares that) and the one before.
chosen = choice.version if choice.version in versions else versions[-1]
left, right = st.columns(2)
a = left.selectbox(
    "Before",
    versions,
    index=max(0, versions.index(chosen) - 1),
    key=f"compare_a:{choice.ruleset_id}",
    format_func=lambda v: listed[v].label,
)
left.caption(md(listed[a].detail))
b = right.selectbox(
    "After",
    versions,
    index=versions.index(chosen),
    key=f"compare_b:{choice.ruleset_id}",
    format_func=lambda v: listed[v].label,
)
right.caption(md(listed[b].detail))
try:
    doc_a = published.load_version(choice.ruleset_id, a)
    doc_b = published.load_version(choice.ruleset_id, b)
except StoreError as exc:
    st.error(md(exc))
    st.stop()
show_changes(doc_a, doc_b)
claims, source = comparison_claims(doc_b)
history, history_name = fills.history_upload("compare_history")
if history_name:
    source += f", counting the earlier fills in {history_name}"
try:
    result = impact.compare(
        published.engine_for(doc_a), published.engine_for(doc_b), claims, history
    )
except HistoryError as exc:  # a fill that cannot be counted: nothing is compared
    st.error(md(exc))
    st.stop()
show_impact(result, source, (f"v{a}", f"v{b}"))
handoff.offer(
    claims,
    result.rows,
    "compare",
    choice.ruleset_id,
    [(f"Open with v{a}", a), (f"Open with v{b}", b)],
    f"Compare versions (v{a} → v{b})",
    table_key="compare_table",
)
