"""The decision engine: the contract's worked examples, every branch of the founding policy, drug
matching, attested criteria, the highest-maximum rule, invalid claims and explanations."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from compiler.api import load_engine
from compiler.decide.claims import claims_frame
from compiler.decide.engine import Engine
from compiler.ruleset.store import StoreError
from compiler.vocabulary import DECISION_COLUMNS
from tests.fixtures.paths import EXPORTS
from tests.fixtures.rulesets import TAB100, TAB400, V3, enriched_ruleset


@pytest.fixture(scope="module")
def engine() -> Engine:
    return load_engine(str(V3))


def decide_one(engine: Engine, **claim) -> dict:
    decided = engine.decide(claims_frame([claim]))
    assert len(decided) == 1
    return {k: (None if pd.isna(v) else v) for k, v in decided.iloc[0].to_dict().items()}


def outcome(engine: Engine, **claim) -> tuple:
    d = decide_one(engine, **claim)
    return d["decision"], d["approved_quantity"], d["limit"], d["reject_code"]


# -- the contract's worked examples -----------------------------------------------------------


@pytest.mark.parametrize(
    "product, channel, qty, drugs, expected",
    [
        (TAB400, "retail", 60, None, ("approve", 60, 60, None)),
        (TAB400, "retail", 61, None, ("deny", 0, 60, 76)),
        (TAB400, "retail", 75, "rifampin", ("override", 75, 60, 76)),
        (TAB400, "retail", 120, "Rifadin", ("override", 90, 60, 76)),
        (TAB400, "home_delivery", 270, "carbamazepine", ("override", 270, 180, 76)),
        (TAB100, "retail", 181, "rifampin", ("deny", 0, 180, 76)),
    ],
)
def test_contract_worked_examples(engine, product, channel, qty, drugs, expected):
    assert (
        outcome(engine, product_id=product, channel=channel, quantity=qty, concomitant_drugs=drugs)
        == expected
    )


# -- every branch of the founding policy --------------------------------------------------------


@pytest.mark.parametrize(
    "product, channel, limit, cap",
    [
        (TAB400, "retail", 60, 90),
        (TAB400, "home_delivery", 180, 270),
        (TAB100, "retail", 180, None),
        (TAB100, "home_delivery", 540, None),
    ],
)
def test_each_product_and_channel_at_and_just_over_its_limit(engine, product, channel, limit, cap):
    assert outcome(engine, product_id=product, channel=channel, quantity=limit) == (
        "approve",
        limit,
        limit,
        None,
    )
    assert outcome(engine, product_id=product, channel=channel, quantity=limit + 1) == (
        "deny",
        0,
        limit,
        76,
    )
    with_inducer = outcome(
        engine,
        product_id=product,
        channel=channel,
        quantity=limit + 1,
        concomitant_drugs="rifampin",
    )
    if cap is None:  # the 100 mg tablets have no overrides
        assert with_inducer == ("deny", 0, limit, 76)
    else:
        assert with_inducer == ("override", limit + 1, limit, 76)
        assert outcome(
            engine, product_id=product, channel=channel, quantity=cap, concomitant_drugs="rifampin"
        ) == ("override", cap, limit, 76)
        assert outcome(
            engine,
            product_id=product,
            channel=channel,
            quantity=cap + 1,
            concomitant_drugs="rifampin",
        ) == ("override", cap, limit, 76)


def test_override_carries_criterion_matched_drugs_and_approval_months(engine):
    d = decide_one(
        engine,
        claim_id="C7",
        product_id=TAB400,
        channel="Retail",
        quantity="120",
        concomitant_drugs="lisinopril; Rifadin 300 mg capsule; Tegretol",
    )
    assert (
        d["claim_id"],
        d["policy_id"],
        d["channel"],
        d["criterion_id"],
        d["matched_drugs"],
        d["approval_months"],
        d["ruleset_id"],
        d["ruleset_version"],
    ) == (
        "C7",
        "imatinib-per-rx",
        "retail",
        "strong-cyp3a4-inducer",
        "Rifadin 300 mg capsule; Tegretol",
        12,
        "oncology-dqm",
        3,
    )
    assert d["message"] == (
        "Over the Retail limit of 60 tablets per Rx, but patient is taking a strong cytochrome P450 "
        "(CYP)3A4 inducer: rejects with code 76; 90 tablets (the most this override allows) are "
        "approvable on coverage review for 12 months."
    )
    uncapped = decide_one(
        engine, product_id=TAB400, channel="Retail", quantity="75", concomitant_drugs="rifampin"
    )
    assert uncapped["message"] == (
        "Over the Retail limit of 60 tablets per Rx, but patient is taking a strong cytochrome P450 "
        "(CYP)3A4 inducer: rejects with code 76; the quantity requested is approvable on coverage "
        "review for 12 months (up to 90 tablets)."
    )


def test_deny_message_names_the_limit(engine):
    assert decide_one(engine, product_id=TAB400, channel="home_delivery", quantity=181)[
        "message"
    ] == (
        "Over the Home Delivery limit of 180 tablets per Rx and no override criterion is met: "
        "rejects with code 76."
    )
    assert decide_one(
        engine, product_id=TAB100, channel="retail", quantity=181, concomitant_drugs="rifampin"
    )["message"] == (
        "Over the Retail limit of 180 tablets per Rx and imatinib-100mg-tab has no overrides: "
        "rejects with code 76."
    )


def test_approve_has_no_criterion_even_with_an_inducer(engine):
    d = decide_one(
        engine, product_id=TAB400, channel="retail", quantity=60, concomitant_drugs="rifampin"
    )
    assert (
        d["decision"],
        d["criterion_id"],
        d["matched_drugs"],
        d["reject_code"],
        d["approval_months"],
        d["message"],
    ) == ("approve", None, None, None, None, "Within the Retail limit of 60 tablets per Rx.")


# -- drug matching ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "drugs",
    [
        "rifampin",
        "RIFAMPIN",
        "  rifampin  ",
        "Rifampin 300 mg capsule",
        "rifampicin",
        "Rifadin",
        "Phenytoin Sodium 100 mg capsule",
        "Dilantin",
        "St John’s wort",
        "st. johns  wort",
        "ST JOHN'S WORT 300MG",
        "Hypericum perforatum extract",
        "lisinopril; Dexamethasone 4 mg tablet",
        "metformin;carbamazepine",
        "Tegretol-XR",
        "phenobarbitone",
        "Décadron",
    ],
)
def test_inducer_spellings_meet_the_criterion(engine, drugs):
    assert (
        outcome(engine, product_id=TAB400, channel="retail", quantity=90, concomitant_drugs=drugs)[
            0
        ]
        == "override"
    )


@pytest.mark.parametrize(
    "drugs",
    [
        "rifampinx",
        "rifaximin 550 mg",
        "dexmethylphenidate",
        "St John",
        "wort",
        "lisinopril; metformin",
        "phenytoinsodium",
        ";",
        "",
    ],
)
def test_other_words_do_not_meet_the_criterion(engine, drugs):
    assert (
        outcome(engine, product_id=TAB400, channel="retail", quantity=90, concomitant_drugs=drugs)[
            0
        ]
        == "deny"
    )


def test_matched_drugs_keep_the_claims_spelling_and_skip_non_inducers(engine):
    d = decide_one(
        engine,
        product_id=TAB400,
        channel="retail",
        quantity=80,
        concomitant_drugs="lisinopril; St John’s wort;  Dilantin 100 mg ;metformin",
    )
    assert d["matched_drugs"] == "St John’s wort; Dilantin 100 mg"


# -- attested criteria and the highest maximum ---------------------------------------------------


def test_attested_criterion_is_met_only_when_the_claim_names_it():
    engine = Engine(enriched_ruleset())
    assert outcome(engine, product_id=TAB400, channel="retail", quantity=100) == ("deny", 0, 60, 76)
    assert outcome(
        engine,
        product_id=TAB400,
        channel="retail",
        quantity=100,
        attested_criteria="strong-cyp3a4-inducer",  # a criterion, but met by a drug on its list
    ) == ("deny", 0, 60, 76)
    d = decide_one(
        engine,
        product_id=TAB400,
        channel="retail",
        quantity=100,
        attested_criteria="strong-cyp3a4-inducer; Reviewer-Confirmed-Dose ",
    )
    assert (
        d["decision"],
        d["approved_quantity"],
        d["criterion_id"],
        d["matched_drugs"],
        d["approval_months"],
    ) == ("override", 100, "reviewer-confirmed-dose", None, 6)


def dose_escalation_ruleset() -> dict:
    """The enriched ruleset with its attested criterion named as a policy team named theirs."""
    text = json.dumps(enriched_ruleset()).replace(
        "reviewer-confirmed-dose", "dose-escalation-documented"
    )
    return json.loads(text)


def test_attested_criterion_the_ruleset_lacks_makes_the_claim_invalid_naming_it():
    engine = Engine(dose_escalation_ruleset())
    claim = {"product_id": TAB400, "channel": "retail", "quantity": 100}
    assert decide_one(engine, **claim, attested_criteria="dose-escalation-documented")[
        "decision"
    ] == ("override")
    typo = decide_one(engine, **claim, attested_criteria="dose-escalaton-documented")
    assert (typo["decision"], typo["approved_quantity"], typo["reject_code"], typo["message"]) == (
        "invalid",
        None,
        None,
        "Invalid: attested criterion 'dose-escalaton-documented' is not one of the ruleset's "
        "criteria (did you mean 'dose-escalation-documented'?).",
    )
    other = decide_one(engine, **claim, attested_criteria="pregnancy; DOSE-ESCALATION-DOCUMENTED")
    assert (other["decision"], other["message"]) == (
        "invalid",
        "Invalid: attested criterion 'pregnancy' is not one of the ruleset's criteria.",
    )
    decision, steps = engine.explain({**claim, "attested_criteria": "dose-escalaton-documented"})
    assert steps[-1] == (
        "The claim is invalid: attested criterion 'dose-escalaton-documented' is not one of the "
        "ruleset's criteria (did you mean 'dose-escalation-documented'?)."
    )


def test_highest_channel_maximum_wins_among_met_overrides():
    engine = Engine(enriched_ruleset())
    both = {
        "product_id": TAB400,
        "quantity": 300,
        "concomitant_drugs": "rifampin",
        "attested_criteria": "reviewer-confirmed-dose",
    }
    retail = decide_one(engine, channel="retail", **both)
    home = decide_one(engine, channel="home_delivery", **both)
    assert (retail["criterion_id"], retail["approved_quantity"], retail["approval_months"]) == (
        "reviewer-confirmed-dose",
        120,
        6,
    )
    assert (
        home["criterion_id"],
        home["approved_quantity"],
        home["approval_months"],
        home["matched_drugs"],
    ) == ("strong-cyp3a4-inducer", 270, 12, "rifampin")


def test_each_override_message_names_its_own_cap_and_months():
    # The 100 mg tablets (first in the ruleset) get an override too, so the 400 mg tablets'
    # overrides are not the ruleset's first: each message must still be its own override's.
    doc = enriched_ruleset()
    tab100 = doc["policies"][0]["products"][0]
    assert tab100["product_id"] == TAB100
    tab100["overrides"] = [
        {
            "criterion_id": "strong-cyp3a4-inducer",
            "retail_max_qty": 360,
            "home_delivery_max_qty": 1080,
            "approval_months": 3,
            "criteria_text": None,
        }
    ]
    engine = Engine(doc)
    inducer_home = decide_one(
        engine,
        product_id=TAB400,
        channel="home_delivery",
        quantity=300,
        concomitant_drugs="rifampin",
    )
    attested_retail = decide_one(
        engine,
        product_id=TAB400,
        channel="retail",
        quantity=100,
        attested_criteria="reviewer-confirmed-dose",
    )
    tab100_home = decide_one(
        engine,
        product_id=TAB100,
        channel="home_delivery",
        quantity=2000,
        concomitant_drugs="rifampin",
    )
    assert [d["message"] for d in (inducer_home, attested_retail, tab100_home)] == [
        (
            "Over the Home Delivery limit of 180 tablets per Rx, but patient is taking a strong cytochrome "
            "P450 (CYP)3A4 inducer: rejects with code 76; 270 tablets (the most this override allows) are "
            "approvable on coverage review for 12 months."
        ),
        (
            "Over the Retail limit of 60 tablets per Rx, but a reviewer confirmed the dose: rejects with code "
            "76; the quantity requested is approvable on coverage review for 6 months (up to 120 tablets)."
        ),
        (
            "Over the Home Delivery limit of 540 tablets per Rx, but patient is taking a strong cytochrome "
            "P450 (CYP)3A4 inducer: rejects with code 76; 1,080 tablets (the most this override allows) are "
            "approvable on coverage review for 3 months."
        ),
    ]


# -- not_applicable and invalid ------------------------------------------------------------------


def test_product_without_a_limit_is_not_applicable(engine):
    d = decide_one(engine, product_id="dasatinib-100mg-tab", channel="retail", quantity=30)
    assert (
        d["decision"],
        d["approved_quantity"],
        d["limit"],
        d["reject_code"],
        d["policy_id"],
        d["message"],
    ) == (
        "not_applicable",
        None,
        None,
        None,
        None,
        "Ruleset oncology-dqm v3 has no quantity limit for product 'dasatinib-100mg-tab'.",
    )


@pytest.mark.parametrize(
    "claim, message",
    [
        (
            {"product_id": None, "channel": "retail", "quantity": 60},
            "Invalid: product is missing (give product_id, ndc or rxcui).",
        ),
        (
            {"product_id": TAB400, "channel": "mail order", "quantity": 60},
            "Invalid: channel 'mail order' is not retail or home_delivery.",
        ),
        (
            {"product_id": TAB400, "channel": None, "quantity": 60},
            "Invalid: channel is missing (use retail or home_delivery).",
        ),
        (
            {"product_id": TAB400, "channel": "retail", "quantity": None},
            "Invalid: quantity is missing.",
        ),
        (
            {"product_id": TAB400, "channel": "retail", "quantity": "sixty"},
            "Invalid: quantity 'sixty' is not a number.",
        ),
        (
            {"product_id": TAB400, "channel": "retail", "quantity": "0"},
            "Invalid: quantity 0 is not more than 0.",
        ),
        (
            {"product_id": TAB400, "channel": "retail", "quantity": "-5"},
            "Invalid: quantity -5 is not more than 0.",
        ),
        (
            {"product_id": TAB400, "channel": "retail", "quantity": "nan"},
            "Invalid: quantity 'nan' is not a number.",
        ),
        (
            {"product_id": "", "channel": "", "quantity": "x"},
            "Invalid: product is missing (give product_id, ndc or rxcui); channel is missing (use retail or home_delivery); quantity 'x' is not a number.",
        ),
    ],
)
def test_malformed_claim_is_invalid_with_its_reason(engine, claim, message):
    d = decide_one(engine, **claim)
    assert (d["decision"], d["approved_quantity"], d["reject_code"], d["message"]) == (
        "invalid",
        None,
        None,
        message,
    )


@pytest.mark.parametrize(
    "channel",
    [
        "retail",
        "Retail",
        "RETAIL",
        "home_delivery",
        "Home Delivery",
        "home delivery",
        " Home-Delivery ",
    ],
)
def test_channel_spellings_are_accepted(engine, channel):
    d = decide_one(engine, product_id=TAB400, channel=channel, quantity=10)
    assert d["channel"] == ("retail" if channel.strip()[0].lower() == "r" else "home_delivery")


def test_fractional_quantities_stay_numbers(engine):
    d = decide_one(engine, product_id=TAB400, channel="retail", quantity="60.5")
    assert (d["decision"], d["quantity"], d["approved_quantity"]) == ("deny", 60.5, 0)


# -- the frame ------------------------------------------------------------------------------------


def test_one_row_per_claim_in_order_with_contract_columns(engine):
    claims = claims_frame(
        [
            {"claim_id": "a", "product_id": TAB400, "channel": "retail", "quantity": 61},
            {"claim_id": "b", "product_id": "nope", "channel": "retail", "quantity": 1},
            {"claim_id": None, "product_id": None, "channel": None, "quantity": None},
            {"claim_id": "d", "product_id": TAB100, "channel": "home_delivery", "quantity": 540},
        ]
    )
    decided = engine.decide(claims)
    assert list(decided.columns) == DECISION_COLUMNS
    assert decided["claim_id"].tolist() == ["a", "b", "3", "d"]
    assert decided["decision"].tolist() == ["deny", "not_applicable", "invalid", "approve"]
    assert decided["approved_quantity"].tolist() == [0, pd.NA, pd.NA, 540]
    assert [type(v) for v in decided["limit"].dropna().tolist()] == [int, int]


def test_numeric_quantity_column_and_missing_optional_columns(engine):
    claims = pd.DataFrame(
        {"product_id": [TAB400, TAB400], "channel": ["retail", "retail"], "quantity": [60, 61]}
    )
    decided = engine.decide(claims)
    assert decided["claim_id"].tolist() == ["1", "2"]
    assert decided["decision"].tolist() == ["approve", "deny"]


def test_empty_claims_frame_gives_empty_decisions(engine):
    decided = engine.decide(claims_frame([]))
    assert len(decided) == 0 and list(decided.columns) == DECISION_COLUMNS


def test_draft_ruleset_has_no_version():
    doc = json.loads(V3.read_text())
    draft = {k: v for k, v in doc.items() if k not in ("version", "sha256", "changes")}
    d = decide_one(Engine(draft), product_id="nope", channel="retail", quantity=1)
    assert (d["ruleset_version"], d["message"]) == (
        None,
        "Ruleset oncology-dqm (draft) has no quantity limit for product 'nope'.",
    )


def test_product_ids_for_the_app(engine):
    assert engine.product_ids == [TAB100, TAB400]


# -- explanation ------------------------------------------------------------------------------------


def test_explain_traces_limit_criterion_match_and_cap(engine):
    decision, trace = engine.explain(
        {
            "claim_id": "C1",
            "product_id": TAB400,
            "channel": "retail",
            "quantity": "120",
            "concomitant_drugs": "lisinopril; Rifadin",
        }
    )
    assert (decision["decision"], decision["approved_quantity"], decision["matched_drugs"]) == (
        "override",
        90,
        "Rifadin",
    )
    assert trace == [
        "Ruleset oncology-dqm v3.",
        (
            "Product imatinib-400mg-tab (Gleevec® (imatinib tablets, generic), 400 mg tablets) is in "
            "policy imatinib-per-rx; its Retail limit is 60 tablets per Rx."
        ),
        "120 is over the limit of 60.",
        (
            "Criterion strong-cyp3a4-inducer (Patient is taking a strong cytochrome P450 (CYP)3A4 "
            "inducer): met: 'Rifadin' matches rifampin (as Rifadin) on list strong-cyp3a4-inducers; its "
            "override allows up to 90 tablets at Retail."
        ),
        "Cap: approved quantity = min(120 requested, 90 allowed) = 90.",
        (
            "Decision: override; reject code 76 at the point of service; 90 tablets approvable on "
            "coverage review for 12 months."
        ),
    ]


def test_explain_says_why_a_criterion_is_not_met(engine):
    decision, trace = engine.explain(
        {
            "product_id": TAB400,
            "channel": "retail",
            "quantity": 61,
            "concomitant_drugs": "rifampinx",
        }
    )
    assert decision["decision"] == "deny"
    assert trace[3] == (
        "Criterion strong-cyp3a4-inducer (Patient is taking a strong cytochrome P450 "
        "(CYP)3A4 inducer): not met: no drug on the claim (rifampinx) is on list "
        "strong-cyp3a4-inducers; its override allows up to 90 tablets at Retail."
    )


def test_explain_names_the_winner_among_several_met_overrides():
    engine = Engine(enriched_ruleset())
    decision, trace = engine.explain(
        {
            "product_id": TAB400,
            "channel": "retail",
            "quantity": 300,
            "concomitant_drugs": "rifampin",
            "attested_criteria": "reviewer-confirmed-dose",
        }
    )
    assert (
        "2 overrides are met; reviewer-confirmed-dose has the highest Retail maximum (120), so it applies."
        in trace
    )
    assert decision["approved_quantity"] == 120


def test_explain_within_limit_and_invalid(engine):
    _, within = engine.explain({"product_id": TAB400, "channel": "retail", "quantity": 60})
    assert within[-2:] == [
        "60 is within the limit of 60, so no override criterion is needed.",
        "Decision: approve 60 tablets; no reject code.",
    ]
    decision, invalid = engine.explain({"product_id": TAB400, "channel": "bike", "quantity": 60})
    assert decision["decision"] == "invalid"
    assert invalid[-1] == "The claim is invalid: channel 'bike' is not retail or home_delivery."


def test_explain_agrees_with_decide(engine):
    claim = {
        "claim_id": "x",
        "product_id": TAB400,
        "channel": "home_delivery",
        "quantity": 200,
        "concomitant_drugs": "Tegretol",
    }
    decision, _ = engine.explain(claim)
    assert decision == decide_one(engine, **claim)


# -- loading --------------------------------------------------------------------------------------


def test_load_engine_by_id_and_version():
    assert load_engine("oncology-dqm", exports=str(EXPORTS)).version == 4
    assert load_engine("oncology-dqm", 1, exports=str(EXPORTS)).version == 1


def test_load_engine_refuses_a_tampered_version_file(tmp_path):
    doc = json.loads(V3.read_text())
    doc["policies"][0]["products"][1]["retail_max_qty"] = 600
    path = tmp_path / "v3.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(StoreError, match="has been changed since it was published"):
        load_engine(str(path))


def test_load_engine_errors_are_one_line():
    with pytest.raises(StoreError) as unknown:
        load_engine("no-such-ruleset", exports=str(EXPORTS))
    assert (
        str(unknown.value)
        == f"No published ruleset 'no-such-ruleset' in {EXPORTS}/ (published: oncology-dqm)."
    )
    with pytest.raises(
        StoreError, match=r"Ruleset 'oncology-dqm' has no version 9; published: v1, v2, v3, v4\."
    ):
        load_engine("oncology-dqm", 9, exports=str(EXPORTS))
    with pytest.raises(StoreError, match="is version 3, not 2"):
        load_engine(str(V3), 2)


def test_a_claim_decides_the_same_alone_as_among_many(engine):
    # Many distinct drug texts take the Arrow path, a few the Python one; both must agree.
    texts = [
        f"drug{i}; \tRifadin {i} mg\u00a0" if i % 3 else f"metformin {i}; rifampinx"
        for i in range(80)
    ]
    claims = [
        {
            "claim_id": str(i),
            "product_id": TAB400,
            "channel": "retail",
            "quantity": 61 + i,
            "concomitant_drugs": t,
        }
        for i, t in enumerate(texts)
    ]
    together = engine.decide(claims_frame(claims))
    alone = pd.concat([engine.decide(claims_frame([c])) for c in claims], ignore_index=True)
    pd.testing.assert_frame_equal(together.astype(str), alone.astype(str))
    assert together["matched_drugs"][1] == "Rifadin 1 mg\u00a0"
