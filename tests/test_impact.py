"""compiler.decide.impact: which claims change decision or approved quantity between two rulesets."""

from __future__ import annotations

import copy
import json

import pandas as pd
import pytest

from compiler.decide import impact
from compiler.decide.claims import claims_frame
from compiler.decide.engine import Engine
from compiler.ruleset.store import Store
from tests.fixtures.paths import EXPORTS


def decisions(rows: list[tuple]) -> pd.DataFrame:
    """A decision frame with the columns impact reads (claim, decision, approved, limit)."""
    return pd.DataFrame(
        [
            {
                "claim_id": c,
                "product_id": "imatinib-400mg-tab",
                "channel": "retail",
                "quantity": q,
                "decision": d,
                "approved_quantity": a,
                "limit": lim,
            }
            for c, q, d, a, lim in rows
        ]
    )


def claim(claim_id: str, product: str, channel: str, quantity: str, drugs: str = "") -> dict:
    return {
        "claim_id": claim_id,
        "product_id": product,
        "channel": channel,
        "quantity": quantity,
        "concomitant_drugs": drugs,
        "attested_criteria": "",
    }


@pytest.fixture(scope="module")
def v3() -> dict:
    return Store(EXPORTS).load("oncology-dqm", 3)


def test_only_claims_whose_decision_or_approved_quantity_differs_are_listed():
    before = decisions(
        [
            ("same", 60, "approve", 60, 60),
            ("denied", 75, "deny", 0, 60),
            ("capped", 120, "override", 90, 60),
            ("bad", None, "invalid", None, None),
        ]
    )
    after = decisions(
        [
            ("same", 60, "approve", 60, 60),
            ("denied", 75, "approve", 75, 80),
            ("capped", 120, "override", 100, 80),
            ("bad", None, "invalid", None, None),
        ]
    )
    changed = impact.changed_decisions(before, after)
    assert changed[
        [
            "claim_id",
            "decision_before",
            "decision_after",
            "approved_quantity_before",
            "approved_quantity_after",
            "limit_before",
            "limit_after",
            "change",
        ]
    ].values.tolist() == [
        ["denied", "deny", "approve", 0, 75, 60, 80, "deny → approve; approved 0 → 75"],
        ["capped", "override", "override", 90, 100, 60, 80, "approved 90 → 100"],
    ]
    assert list(changed.columns) == impact.IMPACT_COLUMNS


def test_a_claim_invalid_under_both_versions_is_not_a_change():
    both = decisions([("bad", None, "invalid", None, None)])
    assert impact.changed_decisions(both, both.copy()).empty


def test_decision_frames_of_different_batches_are_refused():
    with pytest.raises(
        ValueError, match="hold 2 and 1 rows; decide the same claims with both rulesets"
    ):
        impact.changed_decisions(
            decisions([("a", 1, "approve", 1, 60), ("b", 1, "approve", 1, 60)]),
            decisions([("a", 1, "approve", 1, 60)]),
        )


def test_raising_the_retail_limit_turns_denials_into_approvals(v3):
    raised = copy.deepcopy(v3)
    product = next(
        p for p in raised["policies"][0]["products"] if p["product_id"] == "imatinib-400mg-tab"
    )
    product["retail_max_qty"] = 75
    claims = claims_frame(
        [
            claim("at-60", "imatinib-400mg-tab", "retail", "60"),
            claim("asks-75", "imatinib-400mg-tab", "retail", "75"),
            claim("asks-76", "imatinib-400mg-tab", "retail", "76"),
            claim("home-181", "imatinib-400mg-tab", "home_delivery", "181"),
        ]
    )
    result = impact.compare(Engine(v3), Engine(raised), claims)
    assert result.changed[
        [
            "claim_id",
            "decision_before",
            "decision_after",
            "approved_quantity_before",
            "approved_quantity_after",
            "change",
        ]
    ].values.tolist() == [
        ["asks-75", "deny", "approve", 0, 75, "deny → approve; approved 0 → 75"],
    ]
    assert result.summary == "1 of 4 claims changes decision or approved quantity."


def test_lowering_an_override_cap_changes_only_the_approved_quantity(v3):
    lowered = copy.deepcopy(v3)
    product = next(
        p for p in lowered["policies"][0]["products"] if p["product_id"] == "imatinib-400mg-tab"
    )
    product["overrides"][0]["retail_max_qty"] = 80
    claims = claims_frame(
        [
            claim("rifadin-120", "imatinib-400mg-tab", "retail", "120", "Rifadin"),
            claim("rifampin-75", "imatinib-400mg-tab", "retail", "75", "rifampin"),
        ]
    )
    result = impact.compare(Engine(v3), Engine(lowered), claims)
    assert result.changed[
        [
            "claim_id",
            "decision_before",
            "decision_after",
            "approved_quantity_before",
            "approved_quantity_after",
            "change",
        ]
    ].values.tolist() == [
        ["rifadin-120", "override", "override", 90, 80, "approved 90 → 80"],
    ]


def test_the_same_ruleset_changes_nothing(v3):
    claims = claims_frame([claim("a", "imatinib-400mg-tab", "retail", "61")])
    result = impact.compare(Engine(v3), Engine(copy.deepcopy(v3)), claims)
    assert result.changed.empty
    assert result.summary == "No claim changes decision or approved quantity (1 compared)."


def test_a_product_dropped_from_the_rules_shows_none_approved(v3):
    # The after side's approved quantity is a missing nullable integer (pandas' NA), not NaN.
    dropped = copy.deepcopy(v3)
    products = dropped["policies"][0]["products"]
    products[:] = [p for p in products if p["product_id"] != "imatinib-400mg-tab"]
    claims = claims_frame(
        [
            claim("big", "imatinib-400mg-tab", "home_delivery", "1080"),
            claim("other", "imatinib-100mg-tab", "retail", "60"),
        ]
    )
    result = impact.compare(Engine(v3), Engine(dropped), claims)
    assert result.changed[
        ["claim_id", "decision_before", "decision_after", "change"]
    ].values.tolist() == [
        ["big", "deny", "not_applicable", "deny → not_applicable; approved 0 → (none)"],
    ]


def test_transitions_count_claims_and_sum_approved_quantities_by_decision():
    before = decisions(
        [
            ("a", 75, "deny", 0, 60),
            ("b", 76, "deny", 0, 60),
            ("c", 60, "approve", 60, 60),
            ("d", 120, "override", 90, 60),
            ("e", None, "invalid", None, None),
        ]
    )
    after = decisions(
        [
            ("a", 75, "approve", 75, 80),
            ("b", 76, "approve", 76, 80),
            ("c", 60, "approve", 60, 80),
            ("d", 120, "override", 100, 80),
            ("e", None, "invalid", None, None),
        ]
    )
    counted = impact.Transitions.of(before, after)
    assert counted.table().values.tolist() == [
        ["deny", "approve", 2, 0, 151],
        ["approve", "approve", 1, 60, 60],
        ["override", "override", 1, 90, 100],
        ["invalid", "invalid", 1, 0, 0],
    ]
    assert (counted.claims, counted.changed_decision) == (5, 2)
    twice = impact.Transitions().add(counted).add(impact.Transitions.of(before, after))
    assert twice.table()["claims"].tolist() == [4, 2, 2, 2]
    assert twice.as_text() == (
        "decision             claims  approved before  approved after\n"
        "deny → approve            4                0             302\n"
        "approve → approve         2              120             120\n"
        "override → override       2              180             200\n"
        "invalid → invalid         2                0               0\n"
        "all claims               10              300             622"
    )


def test_dqm_impact_of_a_draft_on_a_claims_file(
    dqm, tmp_path, exports_copy, founding_rows, make_workbook
):
    # The draft raises the 100 mg home delivery limit from 540 to 600, with its History row.
    founding_rows["Limits"][0][5] = 600
    founding_rows["Policies"][0][3] = founding_rows["History"][-1][3].replace(year=2026)
    founding_rows["History"].append(
        [
            "imatinib-per-rx",
            "Revision",
            "Home delivery limit raised to 600.",
            founding_rows["Policies"][0][3],
        ]
    )
    founding_rows["Tests"] = [t for t in founding_rows["Tests"] if t[3] != 541]
    draft = make_workbook(founding_rows)
    claims = tmp_path / "claims.csv"
    claims.write_text(
        "claim_id,product_id,channel,quantity\n"
        "hd-541,imatinib-100mg-tab,home_delivery,541\n"
        "hd-600,imatinib-100mg-tab,Home Delivery,600\n"
        "hd-601,imatinib-100mg-tab,home_delivery,601\n"
        "r-60,imatinib-400mg-tab,retail,60\n"
        "bad,imatinib-400mg-tab,retail,ten\n"
    )
    out = tmp_path / "changed.csv"
    code, stdout, err = dqm(
        "impact",
        "oncology-dqm",
        "latest",
        draft,
        claims,
        "--exports",
        exports_copy,
        "--output",
        out,
    )
    assert (code, err) == (0, "")
    assert stdout == (
        f"oncology-dqm v4 (in effect from 2025-12-08) → draft oncology-dqm.xlsx (in effect from "
        f"2025-12-08): 2 of 5 claims decide differently; the "
        f"changed claims are in {out}.\n"
        "decision           claims  approved before  approved after\n"
        "deny → approve          2                0           1,141\n"
        "approve → approve       1               60              60\n"
        "deny → deny             1                0               0\n"
        "invalid → invalid       1                0               0\n"
        "all claims              5               60           1,201\n"
    )
    changed = pd.read_csv(out)
    assert changed[["claim_id", "decision_before", "decision_after", "change"]].values.tolist() == [
        ["hd-541", "deny", "approve", "deny → approve; approved 0 → 541"],
        ["hd-600", "deny", "approve", "deny → approve; approved 0 → 600"],
    ]
    code, stdout, _ = dqm("impact", "oncology-dqm", "1", "v3", claims, "--exports", exports_copy)
    assert (
        code == 0
        and stdout.splitlines()[0]
        == "oncology-dqm v1 (in effect from 2023-12-13) → v3 (in effect from 2025-12-08): 0 of 5 "
        "claims decide differently."
    )


# -- what a changed claim carries: both sides' product, the claim's codes and date, the words ----

CODED_CLAIMS = (
    "claim_id,ndc,rxcui,product_id,channel,quantity,date_of_service\n"
    "n1,47335-475-83,,,retail,60,2026-03-02\n"
    "r1,,403878,,retail,180,20260302\n"
    "p1,,,imatinib-400mg-tab,retail,61,2026-03-02\n"
)
# v3 has no product codes: a claim naming its product by a code is no product of v3's, and v4
# (which added the codes) resolves it. Before, product_id was v3's side alone: blank.
CODED_CHANGED = [
    {
        "claim_id": "n1",
        "product_id_before": None,
        "product_id_after": "imatinib-400mg-tab",
        "ndc": "47335-475-83",
        "rxcui": None,
        "channel": "retail",
        "quantity": 60,
        "date_of_service": "2026-03-02",
        "decision_before": "not_applicable",
        "decision_after": "approve",
        "approved_quantity_before": None,
        "approved_quantity_after": 60,
        "limit_before": None,
        "limit_after": 60,
        "message_before": "Ruleset oncology-dqm v3 has no quantity limit for NDC '47335-475-83'.",
        "message_after": "Within the Retail limit of 60 tablets per Rx.",
        "change": "not_applicable → approve; approved (none) → 60",
    },
    {
        "claim_id": "r1",
        "product_id_before": None,
        "product_id_after": "imatinib-100mg-tab",
        "ndc": None,
        "rxcui": "403878",
        "channel": "retail",
        "quantity": 180,
        "date_of_service": "2026-03-02",
        "decision_before": "not_applicable",
        "decision_after": "approve",
        "approved_quantity_before": None,
        "approved_quantity_after": 180,
        "limit_before": None,
        "limit_after": 180,
        "message_before": "Ruleset oncology-dqm v3 has no quantity limit for RxCUI '403878'.",
        "message_after": "Within the Retail limit of 180 tablets per Rx.",
        "change": "not_applicable → approve; approved (none) → 180",
    },
]


def records(frame: pd.DataFrame) -> list[dict]:
    """Rows as dicts, blanks as None and whole numbers as int."""
    out = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return [
        {k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in r.items()}
        for r in out
    ]


def test_a_changed_claim_carries_both_sides_product_its_codes_date_and_messages(v3):
    from compiler.decide.claims import read_claims_csv

    v4 = Store(EXPORTS).load("oncology-dqm", 4)
    claims = read_claims_csv(CODED_CLAIMS.encode())
    result = impact.compare(Engine(v3), Engine(v4), claims)
    assert list(result.changed.columns) == impact.IMPACT_COLUMNS
    assert records(result.changed) == CODED_CHANGED
    assert result.rows.tolist() == [0, 1]  # where each changed claim is in the batch


def test_dqm_impact_output_writes_every_column_of_a_changed_claim(dqm, tmp_path):
    claims = tmp_path / "claims.csv"
    claims.write_text(CODED_CLAIMS)
    out = tmp_path / "changed.csv"
    code, stdout, err = dqm("impact", "oncology-dqm", "3", "4", claims, "--output", out)
    assert (code, err) == (0, "")
    assert stdout.splitlines()[0].endswith(
        f"2 of 3 claims decide differently; the changed claims are in {out}."
    )
    lines = out.read_text().splitlines()
    assert lines[0] == ",".join(f'"{c}"' for c in impact.IMPACT_COLUMNS)
    assert lines[1] == (
        '"n1",,"imatinib-400mg-tab","47335-475-83",,"retail","60","2026-03-02","not_applicable",'
        '"approve",,60,,60,"Ruleset oncology-dqm v3 has no quantity limit for NDC '
        '\'47335-475-83\'.","Within the Retail limit of 60 tablets per Rx.",'
        '"not_applicable → approve; approved (none) → 60"'
    )
    written = pd.read_csv(out, dtype={"quantity": str, "rxcui": str})
    written["quantity"] = written["quantity"].astype(int)
    assert records(written) == CODED_CHANGED
    jsonl = tmp_path / "changed.jsonl"
    assert dqm("impact", "oncology-dqm", "3", "4", claims, "--output", jsonl).code == 0
    assert [json.loads(line) for line in jsonl.read_text().splitlines()] == CODED_CHANGED


@pytest.mark.spark
def test_spark_impact_writes_the_same_columns_and_values(tmp_path, v3):
    from compiler.decide import spark as dqm_spark

    v4 = Store(EXPORTS).load("oncology-dqm", 4)
    path = tmp_path / "claims.csv"
    path.write_text(CODED_CLAIMS)
    session = dqm_spark.session("local[1]", app="dqm-impact-tests")
    try:
        frame, width = dqm_spark.read_claims(session, str(path))
        transitions, changed = dqm_spark.impact(frame, v3, v4, csv_width=width)
        got = changed.toPandas().sort_values("claim_id", ignore_index=True)
    finally:
        session.stop()
    assert list(got.columns) == impact.IMPACT_COLUMNS
    assert records(got) == CODED_CHANGED
    assert transitions.changed_decision == 2
