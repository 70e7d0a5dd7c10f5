"""Per Days limits decided as a run (decide/run.py): the window's edges, the run's order, what
counts and what does not, the history, and the messages, each exact. The policy: sumatriptan
100 mg, 9 tablets per 30 days at retail and 27 per 90 days at home delivery; the attested
criterion frequent-migraine allows 18 per 30 days and 54 per 90 days (tests/fixtures/per_days.py).
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from compiler.decide.engine import Engine
from compiler.decide.run import HistoryError
from compiler.decide.versions import Versions
from compiler.ruleset.build import build
from compiler.workbook.validate import validate_file
from tests.fixtures import per_days

P = per_days.PRODUCT
COLUMNS = ["claim_id", "decision", "approved_quantity", "accumulated_quantity", "period_days"]


@pytest.fixture(scope="module")
def engine(tmp_path_factory) -> Engine:
    from compiler.workbook.template import write_workbook

    path = write_workbook(tmp_path_factory.mktemp("pd") / "w.xlsx", per_days.rows())
    validated = validate_file(path)
    assert validated.findings == []
    return Engine(build(validated))


def claim(claim_id, day, quantity, member="M1", channel="retail", **more) -> dict:
    return {
        "claim_id": claim_id,
        "member_id": member,
        "product_id": P,
        "channel": channel,
        "quantity": str(quantity),
        "date_of_service": day,
        **more,
    }


def fill(day, quantity, member="M1", **more) -> dict:
    return {"member_id": member, "product_id": P, "date_of_service": day, "quantity": str(quantity)}


def decided(engine, claims, history=None) -> list[tuple]:
    frame = pd.DataFrame(claims, dtype="str")
    fills = pd.DataFrame(history, dtype="str") if history is not None else None
    out = engine.decide(frame, history=fills)
    return [tuple(r) for r in out[COLUMNS].astype(object).where(out[COLUMNS].notna(), None).values]


def test_the_window_holds_day_n_and_not_day_n_plus_one(engine):
    # Retail W = 30: a claim on 2026-03-31 counts fills from 2026-03-02 on.
    history = [fill("2026-03-01", 5), fill("2026-03-02", 4)]
    assert decided(engine, [claim("C1", "2026-03-31", 5)], history) == [("C1", "approve", 5, 4, 30)]
    assert decided(engine, [claim("C1", "2026-03-31", 6)], history) == [("C1", "deny", 0, 4, 30)]
    # Home delivery W = 90: 2026-01-01 is in the window of 2026-03-31 (day 90), 2025-12-31 not.
    history = [fill("2025-12-31", 20), fill("2026-01-01", 20)]
    hd = claim("C2", "2026-03-31", 7, channel="home_delivery")
    assert decided(engine, [hd], history) == [("C2", "approve", 7, 20, 90)]


def test_claims_on_one_date_count_in_input_order_and_a_denial_counts_nothing(engine):
    claims = [
        claim("C1", "2026-03-10", 6),
        claim("C2", "2026-03-10", 6),  # 6 + 6 > 9: deny, and counts nothing
        claim("C3", "2026-03-10", 3),  # 6 + 3 = 9: approve
        claim("C4", "2026-03-10", 1),  # 9 + 1 > 9: deny
    ]
    assert decided(engine, claims) == [
        ("C1", "approve", 6, 0, 30),
        ("C2", "deny", 0, 6, 30),
        ("C3", "approve", 3, 6, 30),
        ("C4", "deny", 0, 9, 30),
    ]


def test_claims_out_of_date_order_count_by_date_and_answer_in_input_order(engine):
    claims = [claim("late", "2026-03-20", 5), claim("early", "2026-03-01", 5)]
    assert decided(engine, claims) == [("late", "deny", 0, 5, 30), ("early", "approve", 5, 0, 30)]


def test_an_override_counts_what_it_approved(engine):
    attested = {"attested_criteria": per_days.CRITERION}
    claims = [
        claim("C1", "2026-03-01", 9),
        claim("C2", "2026-03-02", 5, **attested),  # 9 + 5 > 9; cap 18: override 5
        claim("C3", "2026-03-03", 10, **attested),  # 14 received: min(10, 18 - 14) = 4
        claim("C4", "2026-03-04", 1, **attested),  # 18 received: nothing left, deny
    ]
    assert decided(engine, claims) == [
        ("C1", "approve", 9, 0, 30),
        ("C2", "override", 5, 9, 30),
        ("C3", "override", 4, 14, 30),
        ("C4", "deny", 0, 18, 30),
    ]


def test_members_and_channels_share_or_keep_their_windows(engine):
    claims = [
        claim("A1", "2026-03-01", 9, member="A"),
        claim("B1", "2026-03-01", 9, member=" B "),
        claim("B2", "2026-03-02", 1, member="B"),  # the same member, trimmed
        # Home delivery shares the window's fills: 9 received, 27 per 90 days allows 18 more.
        claim("A2", "2026-03-05", 18, member="A", channel="home_delivery"),
        claim("A3", "2026-03-06", 1, member="A", channel="retail"),  # 27 received at retail: over 9
    ]
    assert decided(engine, claims) == [
        ("A1", "approve", 9, 0, 30),
        ("B1", "approve", 9, 0, 30),
        ("B2", "deny", 0, 9, 30),
        ("A2", "approve", 18, 9, 90),
        ("A3", "deny", 0, 27, 30),
    ]


def test_reversed_fills_are_ignored_and_other_products_fills_count_toward_nothing(engine):
    history = [
        {**fill("2026-03-01", 9), "status": "reversed"},
        {**fill("2026-03-01", 3), "status": " Paid "},
        {**fill("2026-03-01", 500), "product_id": "imatinib-400mg-tab"},
    ]
    assert decided(engine, [claim("C1", "2026-03-02", 6)], history) == [("C1", "approve", 6, 3, 30)]


def test_a_malformed_fill_stops_the_run_naming_its_row(engine):
    history = [fill("2026-03-01", 3), fill("2026-03-02", "three")]
    with pytest.raises(HistoryError) as raised:
        decided(engine, [claim("C1", "2026-03-02", 6)], history)
    assert str(raised.value) == (
        "History row 2: quantity 'three' is not a number. A fill left out would let the "
        "member's later claims approve; correct the row and run again."
    )
    with pytest.raises(HistoryError) as raised:
        decided(engine, [claim("C1", "2026-03-02", 6)], [{**fill("2026-03-01", 3), "status": "x"}])
    assert str(raised.value) == (
        "History row 1: status 'x' is not paid or reversed (leave it blank for a paid fill)."
    )
    with pytest.raises(HistoryError) as raised:
        decided(engine, [claim("C1", "2026-03-02", 6)], [fill("2026-03-01", 3, member="")])
    assert str(raised.value).startswith(
        "History row 1: member_id is missing (a Per Days limit counts the member's earlier fills)."
    )


def test_a_per_days_claim_needs_its_member_and_date(engine):
    out = engine.decide(
        pd.DataFrame([claim("C1", "2026-03-02", 6, member=" "), claim("C2", "", 6)], dtype="str")
    )
    assert out["decision"].tolist() == ["invalid", "invalid"]
    assert out["message"].tolist() == [
        "Invalid: member_id is missing (a Per Days limit counts the member's earlier fills).",
        "Invalid: date_of_service is missing (a Per Days limit counts the days before it).",
    ]


def test_the_messages_say_what_was_received_and_what_remains(engine):
    attested = {"attested_criteria": per_days.CRITERION}
    claims = [
        claim("C1", "2026-03-01", 4),
        claim("C2", "2026-03-02", 6),
        claim("C3", "2026-03-03", 20, **attested),
        claim("C4", "2026-03-04", 2, **attested),
    ]
    out = engine.decide(pd.DataFrame(claims, dtype="str"))
    assert out["message"].tolist() == [
        "Within the Retail limit of 9 tablets per 30 days: the member received 0 tablets from "
        "2026-01-31 to 2026-03-01, so up to 9 more may be dispensed now.",
        "Over the Retail limit of 9 tablets per 30 days: the member received 4 tablets from "
        "2026-02-01 to 2026-03-02, so up to 5 more may be dispensed now; rejects with code 76.",
        "Over the Retail limit of 9 tablets per 30 days, but patient has more than 9 migraine "
        "days a month despite preventive therapy: the member received 4 tablets from 2026-02-02 "
        "to 2026-03-03, so 14 tablets (what this override's 18 tablets per 30 days leaves) are "
        "approvable on coverage review for 12 months; rejects with code 76.",
        "Over the Retail limit of 9 tablets per 30 days and the most the frequent-migraine "
        "override allows (18 tablets per 30 days): the member received 18 tablets from "
        "2026-02-03 to 2026-03-04, so no more may be dispensed now; rejects with code 76.",
    ]


def test_fractions_add_exactly(engine):
    claims = [claim("C1", "2026-03-01", "0.1"), claim("C2", "2026-03-01", "0.2")]
    history = [fill("2026-03-01", "8.7")]
    assert decided(engine, claims, history) == [
        ("C1", "approve", 0.1, 8.7, 30),
        ("C2", "approve", 0.2, 8.8, 30),
    ]
    # Counted in millionths: 0.3000001 is 300,000 of them, so 8.7 + 0.3000001 is within 9; the
    # quantity approved is the quantity requested.
    assert decided(engine, [claim("C3", "2026-03-01", "0.3000001")], history) == [
        ("C3", "approve", 0.3000001, 8.7, 30)
    ]
    assert decided(engine, [claim("C4", "2026-03-01", "0.300001")], history) == [
        ("C4", "deny", 0, 8.7, 30)
    ]


def test_a_table_and_a_frame_decide_the_same_run(engine):
    claims = [claim("C1", "2026-03-01", 6), claim("C2", "2026-03-01", 6)]
    frame = engine.decide(pd.DataFrame(claims, dtype="str"))
    table = engine.decide(pa.Table.from_pylist(claims)).frame()
    assert table[COLUMNS].astype(object).values.tolist() == (
        frame[COLUMNS].astype(object).values.tolist()
    )


def test_a_claim_decided_per_rx_by_an_earlier_version_counts_toward_a_later_window(engine):
    per_days_doc = engine.ruleset
    # v1: the same product limited 9 per Rx (no windows), in effect from 2026-01-01;
    # v2: Per Days, in effect from 2026-03-10.
    per_rx = _per_rx(per_days_doc)
    versions = Versions.of(
        {
            1: {**per_rx, "version": 1, "effective_date": "2026-01-01"},
            2: {**per_days_doc, "version": 2, "effective_date": "2026-03-10"},
        }
    )
    claims = [claim("C1", "2026-03-05", 8), claim("C2", "2026-03-12", 2)]
    out = versions.decide(pd.DataFrame(claims, dtype="str"))[[*COLUMNS, "ruleset_version"]]
    assert out.astype(object).where(out.notna(), None).values.tolist() == [
        ["C1", "approve", 8, None, None, 1],
        ["C2", "deny", 0, 8, 30, 2],
    ]


def _per_rx(doc: dict) -> dict:
    """`doc` with its Per Days policy made Per Rx (no windows)."""
    policies = []
    for policy in doc["policies"]:
        products = [
            {k: v for k, v in p.items() if k not in ("retail_days", "home_delivery_days")}
            for p in policy["products"]
        ]
        policies.append({**policy, "policy_type": "Per Rx", "products": products})
    return {**doc, "policies": policies}


def test_the_first_row_that_is_no_fill_is_named_whatever_its_problem(engine):
    # The same row however the history is split (batches, Spark partitions): the file's first.
    bad_quantity, bad_status = fill("2026-03-01", "two"), {**fill("2026-03-01", 3), "status": "x"}
    for history, said in (
        ([bad_quantity, bad_status], "History row 1: quantity 'two' is not a number."),
        ([bad_status, bad_quantity], "History row 1: status 'x' is not paid or reversed"),
        ([fill("2026-03-01", 3), {**bad_quantity, "status": "x"}], "History row 2: status 'x'"),
    ):
        with pytest.raises(HistoryError) as raised:
            decided(engine, [claim("C1", "2026-03-02", 6)], history)
        assert str(raised.value).startswith(said)
