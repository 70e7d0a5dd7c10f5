"""History: the published versions of the chosen ruleset as a timeline, each with the History rows
it added and the compiler's list of what changed."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from app_pages import common
from app_pages.common import md, plain


def timeline_rows(listed: dict[int, common.Listed]) -> tuple[list[dict[str, Any]], list[str]]:
    """One row per (version, policy review date), and why each refused version was refused."""
    rows = []
    for v, item in listed.items():
        if item.entry is None:
            continue
        summary = plain("; ".join(common.history_summary(item.entry)) or "No new History row.")
        for policy_id, date in item.entry["review_dates"].items():
            rows.append(
                {
                    "version": f"v{v}",
                    "policy": plain(policy_id),
                    "review_date": date,
                    "summary": summary,
                }
            )
    return rows, [item.refused for item in listed.values() if item.refused is not None]


def timeline_chart(rows: list[dict[str, Any]]) -> alt.LayerChart:
    frame = pd.DataFrame(rows)
    base = alt.Chart(frame).encode(
        x=alt.X("review_date:T", title="Review date"),
        y=alt.Y("policy:N", title=None, axis=alt.Axis(labelLimit=260)),
        tooltip=["version:N", "policy:N", "review_date:T", "summary:N"],
    )
    line = base.mark_line(color="#9e9e9e")
    points = base.mark_circle(size=160, color="#1565c0")
    labels = base.mark_text(dy=-16, fontWeight="bold").encode(text="version:N")
    return alt.layer(line, points, labels).properties(height=90 + 50 * frame["policy"].nunique())


choice = common.require_version()
st.title(f"History of {md(choice.ruleset_id)}")
listed = common.listed_versions(choice.ruleset_id)
rows, refused = timeline_rows(listed)
for message in refused:
    st.error(md(message))
if rows:
    st.altair_chart(timeline_chart(rows), width="stretch")
for v, item in reversed(listed.items()):
    if item.entry is None:
        continue
    doc = common.load_version(choice.ruleset_id, v)
    with st.container(border=True):
        dates = ", ".join(f"{p} reviewed {d}" for p, d in item.entry["review_dates"].items())
        st.markdown(f"#### v{v}  \n{md(dates)}")
        # The History rows this version added (the store's index entry).
        for text in common.history_summary(item.entry) or ["No new History row."]:
            st.markdown(f"- {md(text)}")
        changes = doc["changes"]["items"]
        since = doc["changes"]["since_version"]
        st.caption(
            f"{len(changes)} change(s) since "
            + (f"v{since}" if since else "nothing (first version)")
            + ": "
            + md("; ".join(c["text"] for c in changes))
        )
