"""Walks over a ruleset document for its readers: drug names, attested criteria, Tests as claims."""

from __future__ import annotations

from compiler.ruleset import walk
from compiler.ruleset.store import Store
from compiler.vocabulary import CLAIM_COLUMNS
from tests.fixtures.paths import EXPORTS

V3 = Store(EXPORTS).load("oncology-dqm", 3)


def test_drug_names_are_every_drug_and_alias_once_ignoring_case_in_order():
    names = walk.drug_names(V3)
    assert names[:4] == ["carbamazepine", "Carbatrol", "Decadron", "dexamethasone"]
    assert names[-3:] == ["Rimactane", "St. John's Wort", "Tegretol"]
    assert len(names) == len(set(names)) == 26


def test_attested_criteria_are_those_a_reviewer_confirms():
    assert walk.attested_criteria(V3) == []
    doc = {
        **V3,
        "criteria": [
            *V3["criteria"],
            {
                "criterion_id": "dose-confirmed",
                "description": "Dose",
                "met_when": "attested",
                "drug_list_id": None,
            },
        ],
    }
    assert walk.attested_criteria(doc) == ["dose-confirmed"]


def test_tests_become_claims_with_the_test_id_and_blanks_missing():
    claims = walk.tests_as_claims(V3)
    assert list(claims.columns) == [
        "claim_id",
        "member_id",
        "product_id",
        "ndc",
        "rxcui",
        "channel",
        "quantity",
        "date_of_service",
        "concomitant_drugs",
        "attested_criteria",
    ]
    assert claims[["member_id", "ndc", "rxcui", "date_of_service"]].isna().all().all()
    assert len(claims) == len(V3["tests"]) == 22
    first, second = claims.iloc[0], claims.iloc[1]
    assert (first["claim_id"], first["product_id"], first["channel"], first["quantity"]) == (
        "100-home-at-limit",
        "imatinib-100mg-tab",
        "home_delivery",
        "540",
    )
    assert first.isna()["concomitant_drugs"] and first.isna()["attested_criteria"]
    assert (second["claim_id"], second["concomitant_drugs"]) == ("100-home-over-limit", "Dilantin")


def test_a_ruleset_without_tests_gives_no_claims_but_the_columns():
    claims = walk.tests_as_claims({**V3, "tests": []})
    assert (len(claims), list(claims.columns)) == (0, CLAIM_COLUMNS)
