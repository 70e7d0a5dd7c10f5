"""The quantity probe behind the One claim chart: regions, limit and caps read off the engine's
decisions for the published oncology-dqm v3."""

from __future__ import annotations

import pytest

from compiler.decide import probe
from compiler.decide.engine import Engine
from compiler.ruleset.store import Store
from tests.fixtures.paths import EXPORTS

TAB400, TAB100 = "imatinib-400mg-tab", "imatinib-100mg-tab"
INDUCER = "strong-cyp3a4-inducer met (e.g. carbamazepine)"


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(Store(EXPORTS).load("oncology-dqm", 3))


def test_scenarios_are_no_criterion_then_each_override_met_by_its_lists_first_drug(engine):
    assert probe.scenarios(engine, TAB400) == [
        {"scenario": "No override criterion met", "concomitant_drugs": "", "attested_criteria": ""},
        {"scenario": INDUCER, "concomitant_drugs": "carbamazepine", "attested_criteria": ""},
    ]
    assert probe.scenarios(engine, TAB100) == [
        {"scenario": "No override criterion met", "concomitant_drugs": "", "attested_criteria": ""}
    ]


def test_an_attested_criterion_is_probed_attested():
    doc = Store(EXPORTS).load("oncology-dqm", 3)
    doc["criteria"].append(
        {
            "criterion_id": "dose-confirmed",
            "description": "Dose confirmed",
            "met_when": "attested",
            "drug_list_id": None,
        }
    )
    doc["policies"][0]["products"][0]["overrides"].append(
        {
            "criterion_id": "dose-confirmed",
            "retail_max_qty": 240,
            "home_delivery_max_qty": 720,
            "approval_months": 6,
            "criteria_text": None,
        }
    )
    assert probe.scenarios(Engine(doc), TAB100)[1:] == [
        {
            "scenario": "dose-confirmed attested",
            "concomitant_drugs": "",
            "attested_criteria": "dose-confirmed",
        }
    ]


def test_rule_regions_come_from_the_engines_decisions(engine):
    decided, q_max = probe.decisions_over_quantity(engine, TAB400, "retail")
    assert q_max == 135  # 1.5 times the inducer cap of 90
    assert len(decided) == 2 * 135
    assert probe.regions(decided).values.tolist() == [
        ["No override criterion met", "approve", 0, 60, "1–60"],
        ["No override criterion met", "deny", 60, 135, "0"],
        [INDUCER, "approve", 0, 60, "1–60"],
        [INDUCER, "override", 60, 90, "61–90"],
        [INDUCER, "override, capped", 90, 135, "90"],
    ]
    assert probe.markers(decided).values.tolist() == [[60.0, "limit 60"], [90.0, "cap 90"]]


def test_a_product_without_overrides_has_only_approve_and_deny(engine):
    decided, q_max = probe.decisions_over_quantity(engine, TAB100, "home_delivery")
    assert q_max == 810
    assert probe.regions(decided).values.tolist() == [
        ["No override criterion met", "approve", 0, 540, "1–540"],
        ["No override criterion met", "deny", 540, 810, "0"],
    ]
    assert probe.markers(decided).values.tolist() == [[540.0, "limit 540"]]


def test_a_huge_range_is_sampled_with_exact_edges(engine):
    decided, q_max = probe.decisions_over_quantity(engine, TAB400, "retail", 1_000_000)
    assert q_max == 1_000_000
    assert len(decided) <= 2 * (probe.MAX_POINTS + 5)
    assert [r[:4] for r in probe.regions(decided).values.tolist()] == [
        ["No override criterion met", "approve", 0, 60],
        ["No override criterion met", "deny", 60, 1_000_000],
        [INDUCER, "approve", 0, 60],
        [INDUCER, "override", 60, 90],
        [INDUCER, "override, capped", 90, 1_000_000],
    ]


def test_a_sample_keeps_both_sides_of_each_limit_and_cap():
    picked = probe.sample_quantities(10_000, [60.0, 90.0])
    assert {60, 61, 90, 91, 10_000} <= set(picked) and picked[0] == 1
    assert picked == sorted(set(picked)) and len(picked) <= probe.MAX_POINTS + 5
    assert probe.sample_quantities(5, [3.0]) == [1, 2, 3, 4, 5]


def test_probe_rule_widens_the_range_to_hold_the_reviewers_claim(engine):
    assert probe.probe_rule(engine, TAB400, "retail", requested=120).q_max == 135
    wide = probe.probe_rule(engine, TAB400, "retail", requested=1_000)
    assert wide.q_max == 1_100  # 1.1 times the claim
    assert wide.regions.values.tolist()[-1] == [INDUCER, "override, capped", 90, 1_100, "90"]
    assert wide.markers.values.tolist() == [[60.0, "limit 60"], [90.0, "cap 90"]]


def test_the_range_never_passes_the_most_a_claim_may_ask(engine):
    widest = probe.probe_rule(engine, TAB400, "retail", requested=999_999)
    assert widest.q_max == 1_000_000  # not 1.1 times: past it every claim is invalid
    assert "invalid" not in set(widest.regions["outcome"])
