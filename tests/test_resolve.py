"""How a claim names its product (decide/resolve.py), decided by v4 of the founding ruleset: by
product_id, by a package NDC in any layout, by an RxCUI, by several that agree; a code no product
carries is not_applicable, a malformed code or identifiers that disagree are invalid, saying so."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from compiler.decide.claims import claims_frame
from compiler.decide.engine import Engine
from tests.fixtures.paths import EXPORTS

ENGINE = Engine(json.loads((EXPORTS / "oncology-dqm" / "v4.json").read_text()))
TAB400, TAB100 = "imatinib-400mg-tab", "imatinib-100mg-tab"


def decide(**named) -> dict:
    claim = {"channel": "retail", "quantity": "90", "concomitant_drugs": "rifampin", **named}
    row = ENGINE.decide(claims_frame([claim])).iloc[0]
    return {k: (None if pd.isna(v) else v) for k, v in row.items()}


@pytest.mark.parametrize(
    "named",
    [
        {"ndc": "47335-475-83"},  # 5-3-2, as the label prints it
        {"ndc": "47335047583"},  # 11 digits, as NCPDP claims carry it
        {"ndc": "47335-0475-83"},  # 5-4-2
        {"rxcui": "403879"},  # imatinib 400 MG Oral Tablet
        {"rxcui": "404589"},  # Gleevec 400 MG Oral Tablet
        {"product_id": TAB400, "ndc": "47335-475-64", "rxcui": "404589"},  # all three agree
    ],
)
def test_a_code_names_its_product_and_the_decision_echoes_the_product_id(named):
    d = decide(**named)
    assert (d["product_id"], d["policy_id"], d["decision"], d["approved_quantity"]) == (
        TAB400,
        "imatinib-per-rx",
        "override",
        90,
    )


def test_the_100mg_tablets_by_their_codes():
    assert [decide(ndc=c)["limit"] for c in ("47335-472-83", "47335047281", "47335-472-88")] == [
        180,
        180,
        180,
    ]
    assert decide(rxcui="403878")["product_id"] == TAB100


def test_a_well_formed_code_no_product_carries_is_not_applicable():
    assert [
        (d["decision"], d["product_id"], d["message"])
        for d in (decide(ndc="00003-0527-11"), decide(rxcui="1234"))
    ] == [
        (
            "not_applicable",
            None,
            "Ruleset oncology-dqm v4 has no quantity limit for NDC '00003-0527-11'.",
        ),
        ("not_applicable", None, "Ruleset oncology-dqm v4 has no quantity limit for RxCUI '1234'."),
    ]


@pytest.mark.parametrize(
    "named, message",
    [
        (
            {"ndc": "4733547583"},
            "Invalid: NDC '4733547583' has 10 digits without hyphens: write it as 4-4-2, 5-3-2 "
            "or 5-4-1.",
        ),
        (
            {"ndc": "93015001"},
            "Invalid: NDC '93015001' has 8 digits; a package NDC has 11, or 10 written with "
            "hyphens.",
        ),
        (
            {"ndc": "47335-475-8B"},
            "Invalid: NDC '47335-475-8B' has characters other than digits and hyphens.",
        ),
        (
            {"ndc": "473-35475-83"},
            "Invalid: NDC '473-35475-83' is not written as 4-4-2, 5-3-2, 5-4-1 or 5-4-2.",
        ),
        (
            {"rxcui": "RX403879"},
            "Invalid: RxCUI 'RX403879' is not an RxCUI: write its digits only.",
        ),
        (
            {"product_id": TAB100, "ndc": "47335-475-83"},
            "Invalid: product_id and ndc name different products: product_id is "
            "imatinib-100mg-tab, NDC '47335-475-83' is imatinib-400mg-tab.",
        ),
        (
            {"product_id": TAB400, "ndc": "00003-0527-11"},
            "Invalid: product_id and ndc name different products: product_id is "
            "imatinib-400mg-tab, NDC '00003-0527-11' is no product of the ruleset.",
        ),
        (
            {"ndc": "47335-472-83", "rxcui": "403879"},
            "Invalid: ndc and rxcui name different products: NDC '47335-472-83' is "
            "imatinib-100mg-tab, RxCUI '403879' is imatinib-400mg-tab.",
        ),
        ({}, "Invalid: product is missing (give product_id, ndc or rxcui)."),
        ({"ndc": "  "}, "Invalid: product is missing (give product_id, ndc or rxcui)."),
    ],
)
def test_a_malformed_code_or_identifiers_that_disagree_are_invalid_saying_why(named, message):
    d = decide(**named)
    assert (d["decision"], d["approved_quantity"], d["reject_code"], d["message"]) == (
        "invalid",
        None,
        None,
        message,
    )


def test_each_problem_of_a_claim_is_said_once_in_one_sentence():
    d = decide(ndc="4733547583", rxcui="x", quantity="0", date_of_service="2026-13-01")
    assert d["message"] == (
        "Invalid: NDC '4733547583' has 10 digits without hyphens: write it as 4-4-2, 5-3-2 or "
        "5-4-1; RxCUI 'x' is not an RxCUI: write its digits only; quantity 0 is not more than 0; "
        "date_of_service '2026-13-01' is not a date: write it as YYYY-MM-DD or YYYYMMDD."
    )


def test_explain_names_the_code_and_its_package():
    row, steps = ENGINE.explain(
        {"ndc": "47335-475-64", "channel": "retail", "quantity": 61, "date_of_service": "20260105"}
    )
    assert (row["product_id"], row["decision"], row["date_of_service"]) == (
        TAB400,
        "deny",
        "2026-01-05",
    )
    assert steps[:2] == [
        "Ruleset oncology-dqm v4.",
        "NDC '47335-475-64' (47335-0475-64) is imatinib-400mg-tab: Sun Pharma, unit-dose blister "
        "of 30.",
    ]
