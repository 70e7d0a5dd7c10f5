"""History: the published versions of the chosen ruleset as a timeline of the dates they take
effect and their policies' review dates, each with the History rows it added and the compiler's
list of what changed."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from app_pages import common, published
from app_pages.text import md, plain
from compiler.ruleset import walk

TAKES_EFFECT = "takes effect"  # the timeline's line of effective dates


def timeline_rows(listed: dict[int, published.Listed]) -> tuple[list[dict[str, Any]], list[str]]:
    """One row per version on each line of the timeline: the date it takes effect, and each
    policy's review date; and why each refused version was refused."""
    rows = []
    for v, item in listed.items():
        if item.entry is None:
            continue
        summary = plain("; ".join(published.history_summary(item.entry)) or "No new History row.")
        if item.entry["effective_date"]:
            rows.append(
                {
                    "version": f"v{v}",
                    "line": TAKES_EFFECT,
                    "date": item.entry["effective_date"],
                    "summary": summary,
                }
            )
        for policy_id, date in item.entry["review_dates"].items():
            rows.append(
                {
                    "version": f"v{v}",
                    "line": plain(f"{policy_id} reviewed"),
                    "date": date,
                    "summary": summary,
                }
            )
    return rows, [item.refused for item in listed.values() if item.refused is not None]


def timeline_chart(rows: list[dict[str, Any]]) -> alt.LayerChart:
    frame = pd.DataFrame(rows)
    lines = [TAKES_EFFECT, *sorted(set(frame["line"]) - {TAKES_EFFECT})]
    y = alt.Y("line:N", title=None, sort=lines, axis=alt.Axis(labelLimit=260))
    x = alt.X("date:T", title="Date")
    base = alt.Chart(frame).encode(x=x, y=y, tooltip=["version:N", "line:N", "date:T", "summary:N"])
    line = base.mark_line(color="#9e9e9e").encode(detail="line:N")  # one line per lane
    points = base.mark_circle(size=160).encode(
        color=alt.condition(
            alt.datum.line == TAKES_EFFECT, alt.value("#2e7d32"), alt.value("#1565c0")
        )
    )
    # Versions that take effect on the same date (a later one superseding) share one label.
    labels = frame.groupby(["line", "date"], sort=False)["version"].agg(", ".join).reset_index()
    text = alt.Chart(labels).mark_text(dy=-16, fontWeight="bold").encode(x=x, y=y, text="version:N")
    return alt.layer(line, points, text).properties(height=90 + 50 * len(lines))


choice = common.require_version()
st.title(f"History of {md(choice.ruleset_id)}")
listed = published.listed_versions(choice.ruleset_id)
if not listed:  # a draft of a new ruleset, chosen in the sidebar
    st.info(f"{md(choice.ruleset_id)} has no published version yet.")
    st.stop()
rows, refused = timeline_rows(listed)
for message in refused:
    st.error(md(message))
if rows:
    st.altair_chart(timeline_chart(rows), width="stretch")
for v, item in reversed(listed.items()):
    if item.entry is None:
        continue
    doc = published.load_version(choice.ruleset_id, v)
    with st.container(border=True):
        dates = ", ".join(f"{p} {words}" for p, words in walk.review_words(doc).items())
        effective = item.entry["effective_date"] or "the start"
        st.markdown(f"#### v{v}  \nIn effect from {md(effective)}; {md(dates)}")
        # The History rows this version added (the store's index entry).
        for text in published.history_summary(item.entry) or ["No new History row."]:
            st.markdown(f"- {md(text)}")
        changes = doc["changes"]["items"]
        since = doc["changes"]["since_version"]
        st.caption(
            f"{len(changes):,} change(s) since "
            + (f"v{since}" if since else "nothing (first version)")
            + ": "
            + md("; ".join(c["text"] for c in changes))
        )
