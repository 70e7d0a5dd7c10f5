"""Of several met overrides, the highest maximum for the channel wins; a tie goes to the override
whose criterion id sorts first (by code point), whatever the order of the file's `overrides`
array: in `dqm decide` and in the JDM graph alike."""

from __future__ import annotations

import copy
import json

import pytest
import zen

from compiler.ruleset import jdm
from tests.fixtures.paths import EXPORTS
from tests.test_reader_checks import resealed

V4 = json.loads((EXPORTS / "oncology-dqm" / "v4.json").read_text())
CLAIMS = (
    "claim_id,product_id,channel,quantity,concomitant_drugs,attested_criteria\n"
    "R1,imatinib-400mg-tab,retail,120,rifampin,confirmed-dose;zz-confirmed-dose\n"
    "R2,imatinib-400mg-tab,home_delivery,400,rifampin,confirmed-dose;zz-confirmed-dose\n"
    "R3,imatinib-400mg-tab,retail,120,rifampin,zz-confirmed-dose\n"
)


def tied(reverse: bool) -> dict:
    """v4 with two attested criteria whose overrides tie the inducer's at retail (90): one whose
    id sorts before `strong-cyp3a4-inducer`, one after; at home delivery the inducer's 270 is
    highest. `reverse`: the product's overrides listed in reverse id order."""
    doc = copy.deepcopy(V4)
    product = doc["policies"][0]["products"][1]
    for criterion_id, months, home in (("confirmed-dose", 3, 200), ("zz-confirmed-dose", 6, 210)):
        doc["criteria"].append(
            {
                "criterion_id": criterion_id,
                "description": f"A reviewer confirmed the dose ({criterion_id})",
                "met_when": "attested",
                "drug_list_id": None,
            }
        )
        product["overrides"].append(
            {
                "criterion_id": criterion_id,
                "retail_max_qty": 90,
                "home_delivery_max_qty": home,
                "approval_months": months,
                "criteria_text": None,
            }
        )
    doc["criteria"].sort(key=lambda c: c["criterion_id"])
    product["overrides"].sort(key=lambda o: o["criterion_id"], reverse=reverse)
    return doc


@pytest.mark.parametrize("reverse", [False, True])
def test_a_tie_goes_to_the_criterion_id_that_sorts_first(reverse, dqm, tmp_path):
    path = tmp_path / "tied.json"
    path.write_bytes(resealed(tied(reverse)))
    claims = tmp_path / "claims.csv"
    claims.write_text(CLAIMS)
    code, out, err = dqm("decide", claims, "--ruleset", path, "--format", "json")
    assert (code, err) == (0, "")
    assert [
        (d["claim_id"], d["approved_quantity"], d["criterion_id"], d["approval_months"])
        for d in json.loads(out)
    ] == [
        ("R1", 90, "confirmed-dose", 3),  # three tie at 90: the first id wins
        ("R2", 270, "strong-cyp3a4-inducer", 12),  # the highest maximum wins outright
        ("R3", 90, "strong-cyp3a4-inducer", 12),  # two tie: strong-… sorts before zz-…
    ]


@pytest.mark.parametrize("reverse", [False, True])
def test_the_jdm_graph_breaks_ties_as_the_engine_does(reverse):
    graph = jdm.graph(tied(reverse))
    rules = [
        r["_id"] for r in graph["nodes"][1]["content"]["rules"] if "/retail/override/" in r["_id"]
    ]
    assert rules == [
        "imatinib-400mg-tab/retail/override/confirmed-dose",
        "imatinib-400mg-tab/retail/override/strong-cyp3a4-inducer",
        "imatinib-400mg-tab/retail/override/zz-confirmed-dose",
    ]
    z = zen.ZenEngine({"loader": {"type": "static", "content": {"dqm": graph}}})
    result = z.evaluate(
        "dqm",
        {
            "product_id": "imatinib-400mg-tab",
            "channel": "retail",
            "quantity": 120,
            "met_criteria": ["zz-confirmed-dose", "strong-cyp3a4-inducer", "confirmed-dose"],
        },
    )["result"]
    assert (result["approved_quantity"], result["criterion_id"]) == (90, "confirmed-dose")
