"""One claim: the reviewer types a claim and reads the engine's decision, its explanation, and a
picture of the rule for that product and channel."""

from __future__ import annotations

import math
from typing import Any

import streamlit as st

from app_pages import common, picture
from app_pages.common import md, plain
from compiler.decide.claims import quantity_number
from compiler.vocabulary import CHANNEL_LABELS, MAX_QUANTITY, format_number

BADGES = {
    "approve": ("Approve", "green"),
    "override": ("Override", "blue"),
    "deny": ("Deny", "red"),
    "not_applicable": ("Not applicable", "gray"),
    "invalid": ("Invalid claim", "orange"),
}
ICONS = {
    "approve": ":material/check_circle:",
    "override": ":material/rule:",
    "deny": ":material/block:",
    "not_applicable": ":material/help:",
    "invalid": ":material/error:",
}


def claim_form(choice: common.Choice) -> dict[str, Any]:
    """The claim as the contract's claims columns (text, as a claims file would hold it)."""
    engine, offered = choice.engine, common.offered(choice.doc)
    attestable = offered.attested_criteria
    left, right = st.columns(2)
    with left:
        product_id = st.selectbox(
            "Product",
            engine.product_ids,
            key="claim_product",
            format_func=lambda p: common.product_label(engine, p),
        )
        channel = st.radio(
            "Channel",
            list(CHANNEL_LABELS),
            key="claim_channel",
            horizontal=True,
            format_func=CHANNEL_LABELS.get,
        )
        # Text, as a claims file holds it: the engine reads exactly what was typed, by the
        # contract's grammar, and the page and `dqm decide` can never differ in rounding.
        quantity = st.text_input(
            "Quantity requested",
            value="60",
            key="claim_quantity",
            max_chars=32,
        )
    with right:
        drugs = st.multiselect(
            "Concomitant drugs",
            offered.drug_names,
            key="claim_drugs",
            accept_new_options=True,
            # One drug per entry: Enter takes the typed name, never every name that contains it.
            select_all=False,
            filter_mode="contains",
            placeholder="Type a drug as written on the claim, or pick one",
            help="Free text: any drug the patient takes. The names offered are this version's drug lists.",
        )
        attested = st.multiselect(
            "Attested criteria",
            attestable,
            key="claim_attested",
            format_func=plain,
            disabled=not attestable,
            placeholder="Criteria a reviewer has confirmed"
            if attestable
            else "This version has no attested criteria",
        )
    return {
        "claim_id": "1",
        "product_id": product_id,
        "channel": channel,
        "quantity": quantity,
        "concomitant_drugs": "; ".join(drugs),
        "attested_criteria": "; ".join(attested),
    }


def decision_card(decision: dict[str, Any], trace: list[str]) -> None:
    text, colour = BADGES.get(decision["decision"], (decision["decision"], "gray"))
    icon = ICONS.get(decision["decision"], "")
    st.markdown(f"## :{colour}[{icon} {text}]")
    a, b, c, d = st.columns(4)
    a.metric("Approved quantity", _shown(decision["approved_quantity"]))
    b.metric("Limit", _shown(decision["limit"]))
    c.metric("Reject code", _shown(decision["reject_code"]))
    d.metric("Approval months", _shown(decision["approval_months"]))
    st.markdown(
        f"**Criterion met:** {md(_shown(decision['criterion_id']))}  \n"
        f"**Matched drugs:** {md(_shown(decision['matched_drugs']))}"
    )
    st.info(md(decision["message"]))
    with st.expander("How this was decided", expanded=True):
        # Text, never markup (drug names and the workbook's words are in it); one line a step.
        st.text("\n".join(f"{i}. {plain(line)}" for i, line in enumerate(trace, start=1)))
    st.caption(f"Decided by {md(decision['ruleset_id'])} v{decision['ruleset_version']}.")


def _shown(value: Any) -> str:
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, (int, float)):
        return format_number(value)
    return str(value)


choice = common.require_version()
st.title("One claim")
st.caption(f"Decided against {md(choice.label)}.")
claim = claim_form(choice)
decision, trace = choice.engine.explain(claim)
with st.container(border=True):
    decision_card(decision, trace)

st.subheader("The rule for this product and channel")
st.caption(
    "What the engine decides at every requested quantity, with no criterion met and with each "
    "override criterion met. Dashed lines mark the limit and the override caps; the orange line "
    "is this claim's quantity."
)
requested = quantity_number(claim["quantity"])  # marked on the chart when it is a quantity
st.vega_lite_chart(
    picture.rule_chart(
        choice.engine,
        claim["product_id"],
        claim["channel"],
        requested=requested if requested is not None and 0 < requested <= MAX_QUANTITY else None,
    ),
    width="stretch",
)
