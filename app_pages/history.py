"""History: the published versions of the chosen ruleset as a timeline, each with the History rows
it added and the compiler's list of what changed."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from app_pages import common
from compiler.ruleset.store import StoreError, index_entry


def timeline_rows(ruleset_id: str) -> tuple[list[dict[str, Any]], list[str]]:
    """One row per (version, policy review date), and the versions that were refused."""
    rows, refused = [], []
    for v in common.store().versions(ruleset_id):
        try:
            doc = common.load_version(ruleset_id, v)
        except StoreError as exc:
            refused.append(str(exc))
            continue
        entry = index_entry(doc)
        summary = "; ".join(common.history_summary(entry)) or "No new History row."
        for policy_id, date in entry["review_dates"].items():
            rows.append({"version": f"v{v}", "policy": policy_id, "review_date": date, "summary": summary})
    return rows, refused


def timeline_chart(rows: list[dict[str, Any]]) -> alt.LayerChart:
    frame = pd.DataFrame(rows)
    base = alt.Chart(frame).encode(
        x=alt.X("review_date:T", title="Review date"),
        y=alt.Y("policy:N", title=None, axis=alt.Axis(labelLimit=260)),
        tooltip=["version:N", "policy:N", "review_date:T", "summary:N"])
    line = base.mark_line(color="#9e9e9e")
    points = base.mark_circle(size=160, color="#1565c0")
    labels = base.mark_text(dy=-16, fontWeight="bold").encode(text="version:N")
    return alt.layer(line, points, labels).properties(height=90 + 50 * frame["policy"].nunique())


choice = common.require_version()
st.title(f"History of {choice.ruleset_id}")
rows, refused = timeline_rows(choice.ruleset_id)
for message in refused:
    st.error(message)
if rows:
    st.altair_chart(timeline_chart(rows), width="stretch")
for v in reversed(common.store().versions(choice.ruleset_id)):
    try:
        doc = common.load_version(choice.ruleset_id, v)
    except StoreError:
        continue
    with st.container(border=True):
        entry = index_entry(doc)
        dates = ", ".join(f"{p} reviewed {d}" for p, d in entry["review_dates"].items())
        st.markdown(f"#### v{v}  \n{dates}")
        # The History rows this version added, as the compiler's change list records them.
        for text in common.history_summary(entry) or ["No new History row."]:
            st.markdown(f"- {text}")
        changes = doc["changes"]["items"]
        since = doc["changes"]["since_version"]
        st.caption(f"{len(changes)} change(s) since " + (f"v{since}" if since else "nothing (first version)")
                   + ": " + "; ".join(c["text"] for c in changes))
