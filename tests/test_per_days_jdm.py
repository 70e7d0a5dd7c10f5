"""The JDM graph of a ruleset with a Per Days product: zen-engine decides each claim from its
`accumulated_quantity` (A) as the contract says — A + Q within the limit approves Q; else the met
override with the highest cap approves min(Q, cap − A) while that is above 0; else deny — and a
ruleset of Per Rx products only keeps the graph it always had, byte for byte."""

from __future__ import annotations

import pytest
import zen

from compiler.ruleset import jdm
from compiler.ruleset.build import build
from compiler.ruleset.sealing import canonical_bytes
from compiler.ruleset.store import Store
from compiler.workbook.template import write_workbook
from compiler.workbook.validate import validate_file
from tests.fixtures import per_days
from tests.fixtures.paths import EXPORTS

SUMA, IMATINIB = "sumatriptan-100mg-tab", "imatinib-400mg-tab"
MIGRAINE, INDUCER = "frequent-migraine", "strong-cyp3a4-inducer"


@pytest.fixture(scope="module")
def ruleset(tmp_path_factory) -> dict:
    """Sumatriptan 100 mg: 9 per 30 days at retail, 27 per 90 at home delivery; overrides
    frequent-migraine (18, 54; the policy's 12 months) and strong-cyp3a4-inducer (12, 36; 6
    months), beside the founding Per Rx imatinib."""
    rows = per_days.rows()
    rows["Overrides"].append([SUMA, INDUCER, 12, 36, 6, None, 30, 90])
    path = tmp_path_factory.mktemp("jdm") / "per-days.xlsx"
    v = validate_file(write_workbook(path, rows))
    assert v.findings == []
    return build(v)


@pytest.fixture(scope="module")
def decide(ruleset):
    z = zen.ZenEngine({"loader": {"type": "static", "content": {"dqm": jdm.graph(ruleset)}}})

    def run(product, channel, quantity, accumulated, met=()):
        ctx = {
            "product_id": product,
            "channel": channel,
            "quantity": quantity,
            "accumulated_quantity": accumulated,
            "met_criteria": list(met),
        }
        return z.evaluate("dqm", ctx)["result"]

    return run


def approve(q, limit, period):
    return {"decision": "approve", "approved_quantity": q, "limit": limit, "period_days": period}


def deny(limit, period):
    return {
        "decision": "deny",
        "approved_quantity": 0,
        "limit": limit,
        "reject_code": 76,
        "period_days": period,
    }


def override(q, criterion, months, limit, period):
    return {
        "decision": "override",
        "approved_quantity": q,
        "limit": limit,
        "criterion_id": criterion,
        "reject_code": 76,
        "approval_months": months,
        "period_days": period,
    }


CASES = [
    # (channel, Q, A, met) -> the decision, from the contract's arithmetic (retail: L 9, W 30)
    (("retail", 9, 0, ()), approve(9, 9, 30)),
    (("retail", 6, 3, ()), approve(6, 9, 30)),  # 3 + 6 = 9: within
    (("retail", 6.5, 2.5, ()), approve(6.5, 9, 30)),
    (("retail", 7, 3, ()), deny(9, 30)),  # 10 > 9, nothing met
    (("retail", 7, 3, (MIGRAINE,)), override(7, MIGRAINE, 12, 9, 30)),  # min(7, 18 - 3)
    (("retail", 20, 10, (MIGRAINE,)), override(8, MIGRAINE, 12, 9, 30)),  # min(20, 18 - 10)
    (("retail", 20, 10, (INDUCER, MIGRAINE)), override(8, MIGRAINE, 12, 9, 30)),  # highest cap
    (("retail", 20, 10, (INDUCER,)), override(2, INDUCER, 6, 9, 30)),  # min(20, 12 - 10)
    (("retail", 1, 12, (INDUCER,)), deny(9, 30)),  # 12 - 12 = 0 left: deny
    (("retail", 1, 12, (INDUCER, MIGRAINE)), override(1, MIGRAINE, 12, 9, 30)),
    (("retail", 1, 18, (MIGRAINE,)), deny(9, 30)),
    (("retail", 1, 25, (MIGRAINE, INDUCER)), deny(9, 30)),  # over every cap already
    (("retail", 19, 0, (MIGRAINE,)), override(18, MIGRAINE, 12, 9, 30)),
    # home delivery: L 27, W 90; caps 54 and 36
    (("home_delivery", 27, 0, ()), approve(27, 27, 90)),
    (("home_delivery", 1, 27, ()), deny(27, 90)),
    (("home_delivery", 40, 20, (MIGRAINE,)), override(34, MIGRAINE, 12, 27, 90)),
    (("home_delivery", 40, 20, (INDUCER,)), override(16, INDUCER, 6, 27, 90)),
]


@pytest.mark.parametrize(("claim", "expected"), CASES, ids=[str(c) for c, _ in CASES])
def test_a_per_days_claim_is_decided_from_what_the_member_received(decide, claim, expected):
    channel, quantity, accumulated, met = claim
    assert decide(SUMA, channel, quantity, accumulated, met) == expected


def test_a_per_rx_product_in_the_same_graph_ignores_what_was_received(decide):
    assert decide(IMATINIB, "retail", 60, 0) == {
        "decision": "approve",
        "approved_quantity": 60,
        "limit": 60,
    }
    assert decide(IMATINIB, "retail", 60, 500) == {
        "decision": "approve",
        "approved_quantity": 60,
        "limit": 60,
    }
    assert decide(IMATINIB, "retail", 120, 500, [INDUCER]) == {
        "decision": "override",
        "approved_quantity": 90,
        "limit": 60,
        "criterion_id": INDUCER,
        "reject_code": 76,
        "approval_months": 12,
    }
    assert decide("other-product", "retail", 1, 0) == {"decision": "not_applicable"}


def test_the_graph_takes_accumulated_quantity_and_gives_period_days(ruleset):
    table = jdm.graph(ruleset)["nodes"][1]["content"]
    assert [i["field"] for i in table["inputs"]] == [
        "product_id",
        "channel",
        "quantity",
        "accumulated_quantity",
        "met_criteria",
    ]
    assert table["outputs"][-1] == {"id": "period", "name": "Period days", "field": "period_days"}
    rules = {r["_id"]: r for r in table["rules"]}
    assert rules[f"{SUMA}/retail/override/{INDUCER}"] == {
        "_id": f"{SUMA}/retail/override/{INDUCER}",
        "product": '"sumatriptan-100mg-tab"',
        "channel": '"retail"',
        "accumulated": "< 12",
        "quantity": "$ + accumulated_quantity > 9",
        "met": 'contains($, "strong-cyp3a4-inducer")',
        "decision": '"override"',
        "approved": "min([quantity, 12 - accumulated_quantity])",
        "limit": "9",
        "criterion": '"strong-cyp3a4-inducer"',
        "reject": "76",
        "months": "6",
        "period": "30",
    }
    assert [r for r in rules if r.startswith(f"{SUMA}/retail/")] == [
        f"{SUMA}/retail/approve",
        f"{SUMA}/retail/override/{MIGRAINE}",
        f"{SUMA}/retail/override/{INDUCER}",
        f"{SUMA}/retail/deny",
    ]


@pytest.mark.parametrize("version", [1, 2, 3, 4])
def test_a_ruleset_of_per_rx_products_keeps_its_graph_byte_for_byte(version):
    doc = Store(EXPORTS).load("oncology-dqm", version)
    published = (EXPORTS / "oncology-dqm" / f"v{version}.jdm.json").read_bytes()
    assert canonical_bytes(jdm.graph(doc)) == published
