"""One claim: the reviewer types a claim and reads the engine's decision, its explanation, and a
picture of the rule for that product and channel."""

from __future__ import annotations

import math
from typing import Any

import streamlit as st

from app_pages import common, picture
from compiler.ruleset import walk
from compiler.vocabulary import CHANNEL_LABELS

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
    doc, engine = choice.doc, choice.engine
    attestable = walk.attested_criteria(doc)
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
        quantity = st.number_input(
            "Quantity requested",
            min_value=0.0,
            value=60.0,
            step=1.0,
            format="%g",
            key="claim_quantity",
        )
    with right:
        drugs = st.multiselect(
            "Concomitant drugs",
            walk.drug_names(doc),
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
            disabled=not attestable,
            placeholder="Criteria a reviewer has confirmed"
            if attestable
            else "This version has no attested criteria",
        )
    return {
        "claim_id": "1",
        "product_id": product_id,
        "channel": channel,
        "quantity": f"{quantity:g}",
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
        f"**Criterion met:** {_shown(decision['criterion_id'])}  \n"
        f"**Matched drugs:** {_shown(decision['matched_drugs'])}"
    )
    st.info(decision["message"])
    with st.expander("How this was decided", expanded=True):
        st.markdown("\n".join(f"{i}. {line}" for i, line in enumerate(trace, start=1)))
    st.caption(f"Decided by {decision['ruleset_id']} v{decision['ruleset_version']}.")


def _shown(value: Any) -> str:
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


choice = common.require_version()
st.title("One claim")
st.caption(f"Decided against {choice.label}.")
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
requested = float(claim["quantity"])
st.altair_chart(
    picture.rule_chart(
        choice.engine,
        claim["product_id"],
        claim["channel"],
        requested=requested if requested > 0 else None,
    ),
    width="stretch",
)
