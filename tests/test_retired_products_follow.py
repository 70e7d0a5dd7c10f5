"""A product retired by its own Status (Limits, schema 3) is followed everywhere a retired policy
is: the JDM graph limits it no more (its claims fall to not_applicable, as the engine decides
them), its claims' message names the product (a retired policy's still names the policy), and
`dqm diff` and the version's `changes` show its Status change."""

from __future__ import annotations

import copy
import datetime as dt
import shutil

import pytest
import zen

from compiler.decide.claims import claims_frame
from compiler.decide.engine import Engine
from compiler.ruleset import jdm
from compiler.ruleset.build import build
from compiler.ruleset.compile import compile_workbook
from compiler.ruleset.diff import changes
from compiler.ruleset.sealing import canonical_bytes
from compiler.ruleset.store import Published, Store
from compiler.workbook.template import write_workbook
from compiler.workbook.validate import validate_file
from tests.fixtures import founding, per_days
from tests.fixtures.paths import EXPORTS

GONE, KEPT = "imatinib-100mg-tab", "imatinib-400mg-tab"
RETIRED_ON = dt.date(2026, 12, 7)
STATUS_COLUMN = 10  # Limits: after Home Delivery Days
COMPARED = [
    "decision",
    "approved_quantity",
    "limit",
    "criterion_id",
    "reject_code",
    "approval_months",
]
PRODUCT_MESSAGE = (
    "Not applicable: product imatinib-100mg-tab was retired on 12/07/2026; ruleset oncology-dqm "
    "v5 sets no quantity limit for it since then."
)
POLICY_MESSAGE = (
    "Not applicable: policy imatinib-per-rx was retired on 12/07/2026; ruleset oncology-dqm v5 "
    "sets no quantity limit for imatinib-100mg-tab since then."
)


def retire_product(rows: dict, product_id: str) -> dict:
    """`rows` with `product_id`'s Status Retired (its Tests rows deleted: they would decide
    not_applicable)."""
    for row in rows["Limits"]:
        row += [None] * (STATUS_COLUMN + 1 - len(row))
        if row[1] == product_id:
            row[STATUS_COLUMN] = "Retired"
    rows["Tests"] = [t for t in rows["Tests"] if t[1] != product_id]
    return rows


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """A copy of the committed store, v5 published into it: the founding workbook with the 100 mg
    tablets retired, recorded in a History row of RETIRED_ON, the version taking effect then."""
    root = tmp_path_factory.mktemp("retired-product")
    target = root / "exports"
    shutil.copytree(EXPORTS, target, ignore=shutil.ignore_patterns(".lock"))
    rows = retire_product(founding.rows(), GONE)
    rows["History"].append(["imatinib-per-rx", "Selected Revision", "100 mg retired.", RETIRED_ON])
    rows["Policies"][0][3] = RETIRED_ON
    rows["Ruleset"][0][3] = None
    path = write_workbook(root / "oncology-dqm.xlsx", rows)
    result = compile_workbook(path, target, today=RETIRED_ON)
    assert isinstance(result.outcome, Published), [f.message for f in result.findings]
    assert result.findings == []
    return target


@pytest.fixture(scope="module")
def v5(exports) -> dict:
    return Store(exports).load("oncology-dqm", 5)


def claims():
    out = []
    for product in (GONE, KEPT, "no-such-product"):
        for channel in ("retail", "home_delivery"):
            for quantity in (1, 30, 120, 181, 300, 541, 1000):
                for drugs in ("", "rifampin"):
                    out.append(
                        {
                            "product_id": product,
                            "channel": channel,
                            "quantity": quantity,
                            "concomitant_drugs": drugs,
                        }
                    )
    return claims_frame(out)


def graph_decisions(ruleset: dict, engine: Engine, frame) -> list[dict]:
    z = zen.ZenEngine({"loader": {"type": "static", "content": {"dqm": jdm.graph(ruleset)}}})
    out = []
    for ctx in jdm.contexts(engine, frame):
        result = z.evaluate("dqm", ctx)["result"]
        out.append({k: result.get(k) for k in COMPARED})
    return out


def engine_decisions(decided) -> list[dict]:
    rows = decided[COMPARED].astype(object).where(decided[COMPARED].notna(), None)
    return rows.to_dict("records")


def test_the_graph_decides_a_retired_products_claims_as_the_engine_does(v5):
    assert {p["product_id"]: p.get("status") for p in v5["policies"][0]["products"]} == {
        GONE: "retired",
        KEPT: None,
    }
    engine, frame = Engine(v5), claims()
    decided = engine.decide(frame)
    mine, theirs = engine_decisions(decided), graph_decisions(v5, engine, frame)
    assert mine == theirs
    by_product = dict.fromkeys(decided["product_id"])
    for product in by_product:
        by_product[product] = set(decided.loc[decided["product_id"] == product, "decision"])
    assert by_product == {
        GONE: {"not_applicable"},
        KEPT: {"approve", "override", "deny"},
        "no-such-product": {"not_applicable"},
    }


def test_the_graph_has_no_rows_for_a_retired_product(v5, exports):
    rules = jdm.graph(v5)["nodes"][1]["content"]["rules"]
    assert [r["_id"] for r in rules if GONE in r["_id"]] == []
    assert [r["_id"] for r in rules if KEPT in r["_id"]][:2] == [
        f"{KEPT}/retail/approve",
        f"{KEPT}/retail/override/strong-cyp3a4-inducer",
    ]
    # The graph written beside the version is that graph.
    written = exports / "oncology-dqm" / "v5.jdm.json"
    assert written.read_bytes() == canonical_bytes(jdm.graph(v5))


def test_a_retired_per_days_product_leaves_a_per_rx_graph(tmp_path):
    """A Per Days product retired: the graph is the one without it (no accumulated_quantity
    input, no period_days output), and the engine and the graph agree its claims decide nothing."""
    rows = retire_product(per_days.rows(), per_days.PRODUCT)
    draft = build(validate_file(write_workbook(tmp_path / "retired.xlsx", rows)))
    without = copy.deepcopy(draft)
    for policy in without["policies"]:
        policy["products"] = [p for p in policy["products"] if p.get("status") != "retired"]
    assert jdm.graph(draft) == jdm.graph(without)
    assert [i["field"] for i in jdm.graph(draft)["nodes"][1]["content"]["inputs"]] == [
        "product_id",
        "channel",
        "quantity",
        "met_criteria",
    ]
    engine = Engine(draft)
    frame = claims_frame(
        [
            {"product_id": per_days.PRODUCT, "channel": channel, "quantity": q}
            for channel in ("retail", "home_delivery")
            for q in (1, 9, 10, 100)
        ]
    )
    decided = engine.decide(frame)
    assert engine_decisions(decided) == graph_decisions(draft, engine, frame)
    assert set(decided["decision"]) == {"not_applicable"}


def test_a_retired_products_claims_name_the_product(v5):
    decision, steps = Engine(v5).explain({"product_id": GONE, "channel": "retail", "quantity": 30})
    assert (decision["decision"], decision["policy_id"], decision["message"]) == (
        "not_applicable",
        "imatinib-per-rx",
        PRODUCT_MESSAGE,
    )
    assert steps == ["Ruleset oncology-dqm v5.", PRODUCT_MESSAGE]
    decided = Engine(v5).decide(
        claims_frame([{"product_id": GONE, "channel": "retail", "quantity": 1000}])
    )
    assert list(decided["message"]) == [PRODUCT_MESSAGE]


def test_a_retired_policys_claims_still_name_the_policy(v5):
    """The policy retired as well: its retirement is what its products' claims are told."""
    doc = copy.deepcopy(v5)
    doc["policies"][0]["status"] = "retired"
    engine = Engine(doc)
    decided = engine.decide(
        claims_frame(
            [
                {"product_id": GONE, "channel": "retail", "quantity": 30},
                {"product_id": KEPT, "channel": "retail", "quantity": 30},
            ]
        )
    )
    assert list(decided["message"]) == [
        POLICY_MESSAGE,
        POLICY_MESSAGE.replace(GONE, KEPT),
    ]


def test_the_versions_changes_show_the_status_change(v5):
    items = [c for c in v5["changes"]["items"] if c["kind"] == "limit"]
    assert items == [
        {
            "kind": "limit",
            "action": "changed",
            "id": GONE,
            "field": "Status",
            "before": "Active",
            "after": "Retired",
            "text": "imatinib-100mg-tab: Status Active → Retired",
        }
    ]


def test_diff_shows_the_status_change_both_ways(v5, exports, dqm):
    code, out, err = dqm("diff", "--exports", exports, "oncology-dqm", "4", "5")
    assert (code, err) == (0, "")
    assert "imatinib-100mg-tab: Status Active → Retired" in out.splitlines()
    v4 = Store(exports).load("oncology-dqm", 4)
    assert [c["text"] for c in changes(v5, v4) if c["kind"] == "limit"] == [
        "imatinib-100mg-tab: Status Retired → Active"
    ]


def test_a_product_without_a_status_is_active(v5):
    """An explicit `active` (never written by dqm, allowed by the schema) is no change from a
    product without one."""
    doc = copy.deepcopy(v5)
    doc["policies"][0]["products"][1]["status"] = "active"
    assert [c for c in changes(v5, doc) if c["kind"] == "limit"] == []
