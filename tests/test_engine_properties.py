"""Properties of the engine that hold for every claim (hypothesis): a larger quantity never gets a
better decision, an added concomitant drug never a worse one, the approved quantity never exceeds
the applicable maximum, and every input row yields exactly one output row."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.decide.claims import claims_frame
from compiler.decide.engine import Engine
from tests.fixtures.rulesets import enriched_ruleset

ENGINE = Engine(
    enriched_ruleset()
)  # two overrides on the 400 mg tablets: one a drug list, one attested
RANK = {"deny": 0, "override": 1, "approve": 2}  # better decisions rank higher
DRUGS = [
    "rifampin",
    "Rifadin 300 mg",
    "Tegretol XR",
    "Phenytoin Sodium 100 mg capsule",
    "St John’s wort",
    "lisinopril",
    "metformin",
    "rifampinx",
    "rifaximin",
    "Decadron 4 mg",
]

products = st.sampled_from(["imatinib-400mg-tab", "imatinib-100mg-tab"])
channels = st.sampled_from(["retail", "home_delivery", "Retail", "Home Delivery"])
quantities = st.one_of(
    st.integers(1, 1000), st.floats(0.5, 1000, allow_nan=False).map(lambda q: round(q, 2))
)
drug_lists = st.lists(
    st.one_of(st.sampled_from(DRUGS), st.text(min_size=1, max_size=15)), max_size=3
)
# Criteria the ruleset has (an unknown one makes a claim invalid: test_engine.py).
attested = st.sampled_from([None, "reviewer-confirmed-dose", "Strong-CYP3A4-Inducer"])


def decide(claims: list[dict]) -> pd.DataFrame:
    return ENGINE.decide(claims_frame(claims))


def claim(product, channel, qty, drugs, attest) -> dict:
    return {
        "product_id": product,
        "channel": channel,
        "quantity": qty,
        "concomitant_drugs": "; ".join(d.replace(";", " ") for d in drugs) or None,
        "attested_criteria": attest,
    }


# Each example is a batch of BATCH cases decided in one frame (the engine decides each row on its
# own: test_engine.py), so each property holds for EXAMPLES * BATCH cases at a tenth of the calls.
BATCH = 10


def batches(*case: st.SearchStrategy) -> st.SearchStrategy:
    return st.lists(st.tuples(*case), min_size=BATCH, max_size=BATCH)


@settings(max_examples=30, deadline=None)  # 300 cases
@given(batches(products, channels, quantities, quantities, drug_lists, attested))
def test_larger_quantity_never_gets_a_better_decision(cases):
    claims = []
    for product, channel, q1, q2, drugs, attest in cases:
        small, large = sorted([q1, q2])
        claims += [
            claim(product, channel, small, drugs, attest),
            claim(product, channel, large, drugs, attest),
        ]
    rank = decide(claims)["decision"].map(RANK).tolist()
    for i, case in enumerate(cases):
        assert rank[2 * i + 1] <= rank[2 * i], case


@settings(max_examples=30, deadline=None)  # 300 cases
@given(
    batches(
        products,
        channels,
        quantities,
        drug_lists,
        st.one_of(st.sampled_from(DRUGS), st.text(min_size=1)),
        attested,
    )
)
def test_added_concomitant_drug_never_gets_a_worse_decision(cases):
    claims = []
    for product, channel, qty, drugs, extra, attest in cases:
        claims += [
            claim(product, channel, qty, drugs, attest),
            claim(product, channel, qty, [*drugs, extra], attest),
        ]
    d = decide(claims)
    rank, approved = d["decision"].map(RANK).tolist(), d["approved_quantity"].tolist()
    for i, case in enumerate(cases):
        assert rank[2 * i + 1] >= rank[2 * i], case
        assert approved[2 * i + 1] >= approved[2 * i], case


@settings(max_examples=30, deadline=None)  # 300 cases
@given(batches(products, channels, quantities, drug_lists, attested))
def test_approved_quantity_never_exceeds_the_applicable_maximum(cases):
    rows = decide([claim(*case) for case in cases]).to_dict("records")
    for (product, channel, qty, _, _), row in zip(cases, rows, strict=True):
        p = ENGINE.product(product)
        ch = 0 if channel.lower() == "retail" else 1
        assert row["approved_quantity"] <= qty
        if row["decision"] == "approve":
            assert row["approved_quantity"] <= p.max_qty[ch] == row["limit"]
        elif row["decision"] == "override":
            chosen = next(o for o in p.overrides if o.criterion_id == row["criterion_id"])
            assert row["approved_quantity"] == min(qty, chosen.max_qty[ch])
        else:
            assert (row["decision"], row["approved_quantity"]) == ("deny", 0)


anything = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.integers(-5, 500).map(str),
    st.sampled_from(["imatinib-400mg-tab", "retail", "home_delivery", "60", "rifampin"]),
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "claim_id": anything,
                "product_id": anything,
                "channel": anything,
                "quantity": anything,
                "concomitant_drugs": anything,
                "attested_criteria": anything,
            }
        ),
        max_size=30,
    )
)
def test_every_input_row_yields_exactly_one_output_row(rows):
    d = decide(rows)
    assert len(d) == len(rows)
    expected_ids = [
        r["claim_id"] if r["claim_id"] and r["claim_id"].strip() else str(i + 1)
        for i, r in enumerate(rows)
    ]
    assert d["claim_id"].tolist() == expected_ids
    assert set(d["decision"]) <= {"approve", "override", "deny", "not_applicable", "invalid"}
    assert d["message"].notna().all()


@settings(max_examples=20, deadline=None)  # 200 cases
@given(
    batches(
        st.sampled_from(["rifampin", "rifampicin", "Tegretol", "St. John's Wort", "phenytoin"]),
        st.lists(
            st.sampled_from(["Sodium", "100", "mg", "capsule", "ER", "(generic)"]), max_size=3
        ),
        st.sampled_from([str.upper, str.lower, str.title, lambda s: s]),
        st.sampled_from(["", " ", "  "]),
    )
)
def test_an_inducer_with_salt_strength_case_and_spacing_still_matches(cases):
    texts = [pad + case(" ".join([name, *words])) + pad for name, words, case, pad in cases]
    d = decide([claim("imatinib-400mg-tab", "retail", 61, [text], None) for text in texts])
    assert d[["decision", "matched_drugs"]].values.tolist() == [
        ["override", text.strip()] for text in texts
    ]
