"""Retiring a policy: Status `Retired` on Policies and a last History row recording it. Its
products' claims decide not_applicable, naming the date, in the engine and the JDM graph alike;
`dqm versions`, `dqm diff` and the app show it; versions published before stay valid."""

from __future__ import annotations

import datetime as dt

import pytest
import zen

from compiler.decide.claims import claims_frame
from compiler.decide.engine import Engine
from compiler.ruleset import jdm
from compiler.ruleset.compile import compile_workbook
from compiler.ruleset.store import Published, Store
from compiler.workbook.validate import validate_file

POLICY, RETIRED_ON = "imatinib-per-rx", dt.date(2027, 6, 1)
MESSAGE = (
    "Not applicable: policy imatinib-per-rx was retired on 06/01/2027; ruleset oncology-dqm v5 "
    "sets no quantity limit for imatinib-400mg-tab since then."
)


def retire(rows, record: bool = True) -> dict:
    """The founding rows with the policy retired (its Tests rows deleted: they would decide
    not_applicable) and, with `record`, the History row that records it; the Ruleset's Effective
    Date cleared, so that the version takes effect on the retirement date."""
    rows["Policies"][0] += [None] * (7 - len(rows["Policies"][0]))
    rows["Policies"][0][6] = "Retired"
    rows["Tests"] = []
    if record:
        rows["History"].append(
            [POLICY, "Retirement", "Imatinib now managed by the specialty program.", RETIRED_ON]
        )
        rows["Policies"][0][3] = RETIRED_ON
        rows["Ruleset"][0][3] = None
    return rows


@pytest.fixture
def v5(founding_rows, make_workbook, exports_copy) -> dict:
    result = compile_workbook(make_workbook(retire(founding_rows)), exports_copy)
    assert isinstance(result.outcome, Published), [f.message for f in result.findings]
    return result.outcome.doc


def test_retired_policy_needs_a_history_row_recording_it(founding_rows, make_workbook):
    path = make_workbook(retire(founding_rows, record=False))
    assert [(f.code, f.sheet, f.cell, f.value, f.params) for f in validate_file(path).findings] == [
        (
            "retirement-not-in-history",
            "Policies",
            "G2",
            "Retired",
            {
                "policy": POLICY,
                "review_date": dt.date(2026, 12, 1),
                "type_of_revision": "Selected Revision",
            },
        )
    ]


def test_retiring_publishes_a_version_that_says_so(v5, exports_copy):
    assert (v5["version"], v5["policies"][0]["status"]) == (5, "retired")
    assert [c["text"] for c in v5["changes"]["items"] if c["kind"] == "policy"] == [
        "imatinib-per-rx: Review Date 2026-12-01 → 2027-06-01",
        "imatinib-per-rx: Status Active → Retired",
    ]
    store = Store(exports_copy)  # every version verifies against the schema, old and new
    assert [store.load("oncology-dqm", v)["version"] for v in (1, 2, 3, 4, 5)] == [1, 2, 3, 4, 5]
    assert "status" not in store.load("oncology-dqm", 4)["policies"][0]


def test_claims_for_a_retired_policy_decide_not_applicable_naming_the_date(v5):
    engine = Engine(v5)
    decision, steps = engine.explain(
        {"product_id": "imatinib-400mg-tab", "channel": "retail", "quantity": 120}
    )
    assert {
        k: decision[k]
        for k in ("decision", "policy_id", "approved_quantity", "limit", "reject_code", "message")
    } == {
        "decision": "not_applicable",
        "policy_id": POLICY,
        "approved_quantity": None,
        "limit": None,
        "reject_code": None,
        "message": MESSAGE,
    }
    assert steps == ["Ruleset oncology-dqm v5.", MESSAGE]


def test_the_jdm_graph_agrees_a_retired_policy_decides_nothing(v5):
    engine = Engine(v5)
    claims = engine_claims()
    z = zen.ZenEngine({"loader": {"type": "static", "content": {"dqm": jdm.graph(v5)}}})
    decided = engine.decide(claims)
    theirs = [z.evaluate("dqm", ctx)["result"]["decision"] for ctx in jdm.contexts(engine, claims)]
    assert list(decided["decision"]) == theirs == ["not_applicable"] * 3


def engine_claims():
    return claims_frame(
        [
            {"product_id": "imatinib-400mg-tab", "channel": "retail", "quantity": 60},
            {
                "product_id": "imatinib-400mg-tab",
                "channel": "home_delivery",
                "quantity": 300,
                "concomitant_drugs": "rifampin",
            },
            {"product_id": "imatinib-100mg-tab", "channel": "retail", "quantity": 181},
        ]
    )


def test_versions_shows_the_retirement(v5, exports_copy, dqm):
    code, out, _ = dqm("versions", "--exports", exports_copy)
    assert (code, out.splitlines()[-2:]) == (
        0,
        [
            "  v5  in effect from 2027-06-01; imatinib-per-rx retired 2027-06-01",
            "      imatinib-per-rx: History row added: Retirement, 2027-06-01: Imatinib now "
            "managed by the specialty program.",
        ],
    )
