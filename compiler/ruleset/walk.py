"""What a ruleset document offers the people reading it: the drug names on its lists, the criteria
a reviewer attests, and its workbook Tests as claims. Walks over one version (or a draft from
build()); nothing here decides."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..decide.claims import claims_columns

# A Tests row's field -> the claim field it fills (the contract's claims columns).
_TEST_CLAIM_FIELDS = {
    "test_id": "claim_id",
    "product_id": "product_id",
    "channel": "channel",
    "quantity": "quantity",
    "concomitant_drugs": "concomitant_drugs",
    "attested_criteria": "attested_criteria",
    "member_id": "member_id",  # the four below: in a test of schema 3, when the row gives it
    "date_of_service": "date_of_service",
    "ndc": "ndc",
    "rxcui": "rxcui",
}


def drug_names(ruleset: dict[str, Any]) -> list[str]:
    """Every drug and alias on the ruleset's drug lists, once each, sorted ignoring case."""
    names = {
        name
        for drug_list in ruleset["drug_lists"]
        for drug in drug_list["drugs"]
        for name in [drug["drug"], *drug["also_known_as"]]
    }
    return sorted(names, key=str.casefold)


def attested_criteria(ruleset: dict[str, Any]) -> list[str]:
    """The criteria met by a reviewer's attestation (not by a drug on a list), in ruleset order."""
    return [c["criterion_id"] for c in ruleset["criteria"] if c["met_when"] == "attested"]


def tests_as_claims(ruleset: dict[str, Any]) -> pd.DataFrame:
    """The ruleset's workbook Tests as a claims frame (the contract's columns, text or missing),
    the Test ID as the claim id, in the version's order (a schema-3 version keeps the sheet's
    order, in which its rows are decided as one run); no rows when it has no Tests."""
    tests = ruleset.get("tests", [])
    return claims_columns(
        {claim: [t.get(field) for t in tests] for field, claim in _TEST_CLAIM_FIELDS.items()}
    )


def retired_policies(ruleset: dict[str, Any]) -> dict[str, str]:
    """Each retired policy's id and retirement date (ISO: its Review Date, the date of the History
    row recording it); empty when every policy is active."""
    return {
        p["policy_id"]: p["review_date"]
        for p in ruleset["policies"]
        if p.get("status") == "retired"
    }


def review_words(ruleset: dict[str, Any]) -> dict[str, str]:
    """Each policy as its versions are listed: `reviewed 2025-12-08`, or `retired 2026-12-01`."""
    retired = retired_policies(ruleset)
    return {
        p["policy_id"]: f"retired {retired[p['policy_id']]}"
        if p["policy_id"] in retired
        else f"reviewed {p['review_date']}"
        for p in ruleset["policies"]
    }
