"""One claim: the reviewer types a claim (a date of service, and the product by its id, an NDC or
an RxCUI) and reads which version is in effect on that date, the decision of that version (or of
the one chosen in the sidebar), its explanation, and a picture of the rule for that product and
channel."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pandas as pd
import streamlit as st

from app_pages import common, handoff, picture, published
from app_pages.text import md, plain
from compiler import codes
from compiler.decide.engine import Engine
from compiler.decide.grammar import quantity_number, quantity_problem, service_date
from compiler.decide.model import Product
from compiler.decide.run import HistoryError, accumulated_for
from compiler.decide.versions import run_pass
from compiler.ruleset.store import StoreError
from compiler.vocabulary import CHANNEL_LABELS, CODE_SYSTEMS, format_number

# How the reviewer names the claim's product: the claims column, and its label.
NAMED_BY = {"product_id": "Product", "ndc": "NDC", "rxcui": "RxCUI"}
PLACEHOLDERS = {"ndc": "47335-475-83", "rxcui": "403879"}
CODE_HELP = {
    "ndc": "A package NDC as on the claim: 11 digits (hyphens optional), or 10 digits with "
    "hyphens as printed (4-4-2, 5-3-2 or 5-4-1).",
    "rxcui": "An RxNorm concept's number, digits only.",
}

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


def claim_form(doc: dict[str, Any], engine: Engine) -> dict[str, Any]:
    """The claim as the contract's claims columns (text, as a claims file would hold it); the
    products, drug names and criteria offered are those of `doc`, the version that decides it."""
    offered = published.offered(doc)
    attestable = offered.attested_criteria
    left, right = st.columns(2)
    with left:
        named_by = st.radio(
            "Name the product by",
            list(NAMED_BY),
            key="claim_named_by",
            horizontal=True,
            format_func=NAMED_BY.get,
        )
        if named_by == "product_id":
            product = st.selectbox(
                "Product",
                engine.product_ids,
                key="claim_product",
                format_func=lambda p: common.product_label(engine, p),
            )
            if product is not None:
                st.caption(common.product_detail(engine, product))
        else:
            label = NAMED_BY[named_by]
            product = st.text_input(
                label,
                key=f"claim_{named_by}",
                placeholder=PLACEHOLDERS[named_by],
                help=CODE_HELP[named_by],
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
        st.session_state.setdefault("claim_quantity", "60")
        quantity = st.text_input(
            "Quantity requested",
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
        named_by: product,
        "channel": channel,
        "quantity": quantity,
        "concomitant_drugs": "; ".join(drugs),
        "attested_criteria": "; ".join(attested),
    }


def fills_form(product: Product) -> tuple[str, pd.DataFrame]:
    """A Per Days product's member and their earlier fills of it (date and quantity, as a
    history file gives them): what counts toward the claim's window."""
    retail, home = product.days
    st.markdown(
        f"**{md(product.product_id)} is limited over time:** {format_number(product.max_qty[0])} "
        f"{md(product.unit)} per {retail} days at retail, {format_number(product.max_qty[1])} per "
        f"{home} days at home delivery. Give the member's earlier fills of it: those dated in "
        "the claim's window count toward the limit."
    )
    st.session_state.setdefault("claim_member", "member-1")
    member = st.text_input("Member ID", key="claim_member", max_chars=64)
    edited = st.data_editor(
        pd.DataFrame({"date_of_service": pd.Series([], dtype="str"), "quantity": []}, dtype="str"),
        key="claim_fills",
        num_rows="dynamic",
        column_config={
            "date_of_service": st.column_config.TextColumn("Date of service", help="YYYY-MM-DD"),
            "quantity": st.column_config.TextColumn("Quantity"),
        },
        width="stretch",
    )
    fills = edited.dropna(how="all").assign(member_id=member, product_id=product.product_id)
    return member, fills


def codes_table(doc: dict[str, Any]) -> pd.DataFrame:
    """The codes by which claims name the version's products (none in a version before codes)."""
    return pd.DataFrame(
        [
            {
                "code system": CODE_SYSTEMS[c["code_system"]],
                "code": codes.shown(c["code_system"], c["code"]),
                "product_id": p["product_id"],
                "description": c["description"] or "",
            }
            for policy in doc["policies"]
            for p in policy["products"]
            for c in p.get("codes", ())
        ],
        columns=["code system", "code", "product_id", "description"],
    )


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
    if decision["ruleset_version"] is None and choice.is_draft:
        st.caption(f"Decided by {md(choice.label)}, which is not published.")
    elif decision["ruleset_version"] is None:
        st.caption(f"No version of {md(decision['ruleset_id'])} decided this claim.")
    else:
        st.caption(f"Decided by {md(decision['ruleset_id'])} v{decision['ruleset_version']}.")


def _shown(value: Any) -> str:
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, (int, float)):
        return format_number(value)
    return str(value)


choice = common.require_version()
st.title("One claim")
opened = handoff.take()  # a claim opened from the Batch or Compare page
mode = common.decide_by(choice, "claim_decide_by")
# Text, as a claims file holds it: Enter applies it, and the engine reads it by the contract.
st.session_state.setdefault("claim_date", dt.date.today().isoformat())
date_text = st.text_input(
    "Date of service",
    key="claim_date",
    max_chars=32,
    placeholder="YYYY-MM-DD",
    help="YYYY-MM-DD or YYYYMMDD. Empty: a claim without one, decided by the latest version.",
)
day = service_date(date_text)
versions, in_effect = None, None
if not choice.is_draft:
    try:
        versions = published.versions_by_date(choice.ruleset_id)
    except StoreError as exc:  # a version the date might fall on cannot be read
        st.error(
            f"Which version is in effect on {md(date_text)} cannot be told: {md(exc)} Decide "
            f"by {md(choice.label)}, chosen in the sidebar, to use that version."
        )
        if mode == common.BY_DATE:
            st.stop()
if versions is not None and day is not None:
    in_effect = versions.in_effect(day)
    if in_effect is None:
        st.warning(md(versions.none_in_effect(day.isoformat())))
    else:
        st.caption(
            f"On {day.isoformat()} the version of {md(choice.ruleset_id)} in effect is v{in_effect} "
            f"(in effect from {versions.effective[in_effect].isoformat()})."
        )
elif versions is not None and not date_text.strip():
    st.caption(f"No date of service: the latest version, v{versions.latest}, decides.")
if mode == common.BY_CHOICE:
    engine = choice.engine
else:
    engine = versions.engine(in_effect or versions.latest)
deciding = f"v{engine.version}" if engine.version is not None else md(choice.label)
if opened is not None:
    left_out = handoff.fill_form(
        opened, engine.product_ids, published.offered(engine.ruleset).attested_criteria
    )
    st.info(
        f"Claim {md(opened.claim['claim_id'])} from {md(opened.source)}."
        + (f" Not filled in: {'; '.join(left_out)}." if left_out else "")
    )
claim = claim_form(engine.ruleset, engine)
claim["date_of_service"] = date_text
named_by = st.session_state["claim_named_by"]
received = None
product = engine.product(str(claim.get("product_id") or ""))
if product is not None and product.days is not None:  # limited over a window: earlier fills
    claim["member_id"], fills = fills_form(product)
    try:
        received = accumulated_for(
            claim, run_pass(engine if mode == common.BY_CHOICE else versions), fills
        )
    except HistoryError as exc:
        st.error(md(exc))
        st.stop()
if named_by != "product_id" and not str(claim[named_by]).strip():
    st.info(f"Type the claim's {NAMED_BY[named_by]} to decide it.")
    decision = None
elif mode == common.BY_CHOICE:
    decision, trace = engine.explain(claim, received)
else:
    decision, trace = versions.explain(claim, accumulated=received)
if decision is not None:
    with st.container(border=True):
        decision_card(decision, trace)
known = codes_table(engine.ruleset)
with st.expander(f"Product codes in {deciding} ({len(known):,})"):
    if len(known):
        common.show_table(known)
    else:
        st.write(
            f"{deciding} lists no product codes: a claim's NDC or RxCUI names its product through "
            "the nearest later version that lists it, and this version's limit decides."
        )
if decision is None:
    st.stop()

st.subheader("The rule for this product and channel")
product_id = decision["product_id"]
unversioned = decision["ruleset_version"] is None and not choice.is_draft  # none in effect
if unversioned or engine.product(product_id or "") is None:
    st.caption("The claim names no product of this version, so there is no rule to draw.")
else:
    st.caption(
        "What the engine decides at every requested quantity, with no criterion met and with "
        "each override criterion met. Dashed lines mark the limit and the override caps; the "
        "orange line is this claim's quantity."
    )
    # The claim's quantity, marked on the chart when it is one (a number in range).
    in_range = quantity_problem(claim["quantity"]) is None
    st.vega_lite_chart(
        picture.rule_chart(
            engine,
            engine.product(product_id).product_id,
            claim["channel"],
            requested=quantity_number(claim["quantity"]) if in_range else None,
            received=received or 0.0,
        ),
        width="stretch",
    )
