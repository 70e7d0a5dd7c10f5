"""The reviewer app: a thin Streamlit shell over the compiler package."""

import streamlit as st

from compiler.store import Store

st.set_page_config(page_title="dqm reviewer", layout="wide")
st.title("Drug Quantity Management: reviewer")
store = Store("exports")
for rid in store.ruleset_ids():
    st.header(rid)
    for v in store.versions(rid):
        doc = store.load(rid, v)
        st.write(f"v{v}: " + ", ".join(f"{p['policy_id']} reviewed {p['review_date']}" for p in doc["policies"]))
