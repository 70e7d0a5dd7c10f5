"""Which version decides each claim (decide/versions.py): the highest-numbered version in effect
on its date of service, the latest without one, none before the first; `as_of` for every claim;
decisions in input order, each naming its version; one engine per version."""

from __future__ import annotations

import copy
import datetime as dt
import json

import pandas as pd
import pytest

from compiler.decide.claims import claims_frame
from compiler.decide.engine import Engine
from compiler.decide.versions import NoVersionInEffect, Versions
from tests.fixtures.paths import EXPORTS

V4 = json.loads((EXPORTS / "oncology-dqm" / "v4.json").read_text())
TAB400 = "imatinib-400mg-tab"


def version(number: int, effective: str, retail_400mg: int) -> dict:
    """The founding ruleset as version `number`, in effect from `effective`, with the 400 mg retail
    limit at `retail_400mg` (its override's cap above it)."""
    doc = copy.deepcopy(V4)
    doc["version"], doc["effective_date"] = number, effective
    product = doc["policies"][0]["products"][1]
    assert product["product_id"] == TAB400
    product["retail_max_qty"] = retail_400mg
    product["overrides"][0]["retail_max_qty"] = retail_400mg + 30
    return doc


@pytest.fixture
def store_of_two() -> Versions:
    """v1 (retail limit 60) from 2025-01-01; v2 (retail limit 70) from 2026-01-01."""
    return Versions.of({1: version(1, "2025-01-01", 60), 2: version(2, "2026-01-01", 70)})


def claim(date: str | dt.date | None, quantity: int = 65, **fields) -> dict:
    return {
        "product_id": TAB400,
        "channel": "retail",
        "quantity": str(quantity),
        "date_of_service": date,
        **fields,
    }


def decided(versions: Versions, claims: list[dict], **kwargs) -> list[tuple]:
    out = versions.decide(claims_frame(claims), **kwargs)
    return list(
        zip(
            out["claim_id"],
            out["date_of_service"].astype(object).where(out["date_of_service"].notna(), None),
            out["decision"],
            out["limit"].astype(object).where(out["limit"].notna(), None),
            out["ruleset_version"].astype(object).where(out["ruleset_version"].notna(), None),
            strict=True,
        )
    )


def test_claims_dated_before_on_and_after_the_second_versions_effective_date(store_of_two):
    claims = [
        claim("2025-12-31"),  # the day before v2: v1's limit of 60 denies 65
        claim("2026-01-01"),  # the day v2 takes effect: its limit of 70 approves 65
        claim("20260102"),  # after (as pharmacy claims write dates): v2
        claim("2025-01-01"),  # the day v1 takes effect
        claim("2024-12-31"),  # before every version
        claim(None),  # no date: the latest version
    ]
    assert decided(store_of_two, claims) == [
        ("1", "2025-12-31", "deny", 60, 1),
        ("2", "2026-01-01", "approve", 70, 2),
        ("3", "2026-01-02", "approve", 70, 2),
        ("4", "2025-01-01", "deny", 60, 1),
        ("5", "2024-12-31", "not_applicable", None, None),
        ("6", None, "approve", 70, 2),
    ]
    out = store_of_two.decide(claims_frame(claims))
    assert out["message"][4] == (
        "No version of oncology-dqm is in effect on 2024-12-31: the first, v1, takes effect on "
        "2025-01-01."
    )
    assert out["policy_id"].isna().tolist() == [False, False, False, False, True, False]


def test_a_later_published_version_with_an_earlier_effective_date_supersedes(store_of_two):
    # v3, published after v2, corrects from 2025-06-01 with a limit of 64: from then on it is the
    # highest-numbered version in effect, so it decides every date, v2's included.
    versions = Versions.of(
        {
            1: version(1, "2025-01-01", 60),
            2: version(2, "2026-01-01", 70),
            3: version(3, "2025-06-01", 64),
        }
    )
    assert decided(
        versions,
        [
            claim("2025-05-31", 64),
            claim("2025-06-01", 64),
            claim("2026-06-01", 64),
            claim(None, 64),
        ],
    ) == [
        ("1", "2025-05-31", "deny", 60, 1),
        ("2", "2025-06-01", "approve", 64, 3),
        ("3", "2026-06-01", "approve", 64, 3),
        ("4", None, "approve", 64, 3),
    ]
    assert [versions.in_effect(dt.date(2025, 5, 31)), versions.in_effect(dt.date(2027, 1, 1))] == [
        1,
        3,
    ]


def test_decisions_stay_in_input_order_with_ids_numbered_over_the_whole_batch(store_of_two):
    dates = ["2026-03-01", "2025-03-01", None, "2025-03-02", "bad", "2026-03-02"] * 3
    out = store_of_two.decide(claims_frame([claim(d) for d in dates]))
    assert list(out["claim_id"]) == [str(i) for i in range(1, 19)]
    assert list(out["ruleset_version"]) == [2, 1, 2, 1, 2, 2] * 3
    assert list(out["decision"]) == ["approve", "deny", "approve", "deny", "invalid", "approve"] * 3


def test_a_malformed_date_decides_invalid_and_says_what_to_write(store_of_two):
    out = store_of_two.decide(claims_frame([claim("2026-02-30"), claim("06/01/2026", channel="x")]))
    assert list(out["decision"]) == ["invalid", "invalid"]
    assert list(out["message"]) == [
        "Invalid: date_of_service '2026-02-30' is not a date: write it as YYYY-MM-DD or YYYYMMDD.",
        "Invalid: channel 'x' is not retail or home_delivery; date_of_service '06/01/2026' is not "
        "a date: write it as YYYY-MM-DD or YYYYMMDD.",
    ]
    assert list(out["date_of_service"]) == ["2026-02-30", "06/01/2026"]  # echoed as given


def test_an_invalid_claim_dated_before_every_version_is_still_invalid(store_of_two):
    out = store_of_two.decide(
        claims_frame([claim("2020-01-01", channel="bike"), claim("2020-01-01")])
    )
    assert list(out["decision"]) == ["invalid", "not_applicable"]
    assert out["message"][0] == "Invalid: channel 'bike' is not retail or home_delivery."


def test_as_of_decides_every_claim_by_the_version_in_effect_that_day(store_of_two):
    claims = [claim("2025-03-01"), claim("2026-03-01"), claim(None)]
    assert [v for *_, v in decided(store_of_two, claims, as_of=dt.date(2025, 7, 1))] == [1, 1, 1]
    with pytest.raises(NoVersionInEffect) as none:
        store_of_two.decide(claims_frame(claims), as_of=dt.date(2024, 7, 1))
    assert str(none.value) == (
        "No version of oncology-dqm is in effect on 2024-07-01: the first, v1, takes effect on "
        "2025-01-01."
    )


def test_one_engine_per_version_made_only_when_a_claim_needs_it():
    made = []
    docs = {1: version(1, "2025-01-01", 60), 2: version(2, "2026-01-01", 70)}

    def engine(v):
        made.append(v)
        return Engine(docs[v])

    versions = Versions("oncology-dqm", {1: dt.date(2025, 1, 1), 2: dt.date(2026, 1, 1)}, engine)
    for _ in range(3):
        versions.decide(claims_frame([claim("2026-05-01"), claim("2026-06-01")]))
    assert made == [2]
    versions.decide(claims_frame([claim("2025-05-01"), claim("2026-06-01")]))
    assert made == [2, 1]


def test_explain_says_which_version_decides_and_why(store_of_two):
    row, steps = store_of_two.explain(claim("2025-12-31", 61))
    assert (row["decision"], row["ruleset_version"], row["date_of_service"]) == (
        "deny",
        1,
        "2025-12-31",
    )
    assert steps[:2] == [
        "Ruleset oncology-dqm v1.",
        "On its date of service, 2025-12-31, v1 is in effect (it takes effect on 2025-01-01).",
    ]
    assert store_of_two.explain(claim(None))[1][1] == (
        "The claim has no date of service, so the latest version, v2, decides."
    )
    row, steps = store_of_two.explain(claim("2020-01-01"))
    assert (row["decision"], row["ruleset_version"]) == ("not_applicable", None)
    assert steps == [
        "Ruleset oncology-dqm: no version is in effect on the date of service.",
        "No version of oncology-dqm is in effect on 2020-01-01: the first, v1, takes effect on "
        "2025-01-01.",
    ]
    assert store_of_two.explain(claim("2020-01-01"), as_of=dt.date(2026, 1, 1))[1][1] == (
        "As of 2026-01-01, v2 is in effect (it takes effect on 2026-01-01)."
    )


def test_claims_named_by_code_resolve_per_version():
    # v3 of the founding ruleset has no codes: an NDC names nothing there; v4 knows it.
    v3 = json.loads((EXPORTS / "oncology-dqm" / "v3.json").read_text())
    versions = Versions.of({3: v3, 4: V4})
    ndc = {"product_id": None, "ndc": "47335-475-83"}
    out = versions.decide(claims_frame([claim(None, **ndc)]), as_of=dt.date(2025, 12, 8))
    assert (out["decision"][0], out["product_id"][0], out["ruleset_version"][0]) == (
        "deny",
        TAB400,
        4,
    )
    only_v3 = Versions.of({3: v3})
    out = only_v3.decide(claims_frame([claim("2025-12-08", **ndc)]))
    assert (out["decision"][0], out["message"][0]) == (
        "not_applicable",
        "Ruleset oncology-dqm v3 has no quantity limit for NDC '47335-475-83'.",
    )


def test_a_tables_date_column_is_read_as_dates(store_of_two):
    frame = claims_frame([claim(None), claim(None)])
    frame["date_of_service"] = pd.to_datetime(["2025-12-31 00:00", "2026-01-01 08:30"])
    out = store_of_two.decide(frame)
    assert list(zip(out["date_of_service"], out["ruleset_version"], strict=True)) == [
        ("2025-12-31", 1),
        ("2026-01-01", 2),
    ]
    assert claims_frame([claim(dt.date(2026, 1, 1))])["date_of_service"][0] == "2026-01-01"
