"""The conformance vectors (compiler/conformance.py, `dqm conformance`): the checked-in files are
exactly what the engine gives now, and they cover what docs/consumers.md promises."""

from __future__ import annotations

import json
import shutil

import pytest

from compiler import conformance
from compiler.ruleset.store import Store
from tests.fixtures.paths import EXPORTS, ROOT

CONFORMANCE = ROOT / "conformance"
STORES = [EXPORTS, CONFORMANCE / "exports"]


def vectors(name: str) -> dict:
    return json.loads((CONFORMANCE / name).read_text())


def test_checked_in_vectors_are_a_fresh_regeneration():
    fresh = conformance.vectors(STORES, CONFORMANCE)
    assert sorted(fresh) == sorted(p.name for p in CONFORMANCE.glob("*.json"))
    for name, data in fresh.items():
        assert (CONFORMANCE / name).read_bytes() == data, f"{name} is stale: run dqm conformance"


def test_check_says_current_and_exits_0(dqm):
    assert dqm("conformance", "--check") == (
        0,
        "The conformance vectors in conformance/ are current.\n",
        "",
    )


def test_check_names_the_first_stale_value_and_exits_1(dqm, tmp_path):
    out = tmp_path / "conformance"
    out.mkdir()
    for name in ("normalisation.json", "hashes.json", "decisions-oncology-dqm.json"):
        shutil.copy(CONFORMANCE / name, out / name)
    data = json.loads((out / "normalisation.json").read_text())
    data["ndc"][0]["ndc"] = "47335047584"
    (out / "normalisation.json").write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    code, stdout, err = dqm("conformance", "--exports", str(EXPORTS), "--out", str(out), "--check")
    assert (code, stdout) == (1, "")
    assert err == (
        f'dqm: {out}/normalisation.json is stale: .ndc[0].ndc is "47335047584", '
        '"47335047583" now; run dqm conformance to write them.\n'
    )


def test_writes_the_vectors_and_check_then_passes(dqm, tmp_path):
    out = tmp_path / "vectors"
    code, stdout, err = dqm("conformance", "--exports", str(EXPORTS), "--out", str(out))
    assert (code, err) == (0, "")
    assert stdout.splitlines() == [
        f"{out}/normalisation.json",
        f"{out}/hashes.json",
        f"{out}/decisions-oncology-dqm.json",
    ]
    assert dqm("conformance", "--exports", str(EXPORTS), "--out", str(out), "--check").code == 0
    versions = json.loads((out / "decisions-oncology-dqm.json").read_text())["versions"]
    # Version files are named relative to the vectors' folder, wherever it is.
    assert (out / versions[0]["file"]).resolve() == EXPORTS / "oncology-dqm" / "v1.json"


def test_a_missing_exports_folder_is_one_line(dqm, tmp_path):
    code, _, err = dqm("conformance", "--exports", str(tmp_path / "nope"), "--check")
    assert (code, err) == (
        2,
        f"dqm: {tmp_path}/nope: no such folder (--exports names the exports folder).\n",
    )


def test_every_published_version_of_every_ruleset_has_cases():
    for root in STORES:
        store = Store(root)
        for ruleset_id in store.ruleset_ids():
            data = vectors(f"decisions-{ruleset_id}.json")
            decided_by = {d["ruleset_version"] for c in data["cases"] for d in c["decisions"]}
            assert set(store.versions(ruleset_id)) <= decided_by
            assert [v["version"] for v in data["versions"]] == store.versions(ruleset_id)
            assert data["compare"] == [
                c for c in data["cases"][0]["decisions"][0] if c != "message"
            ]


def all_decisions() -> list[tuple[dict, dict]]:
    return [
        (claim, decision)
        for name in ("decisions-oncology-dqm.json", "decisions-conformance-demo.json")
        for case in vectors(name)["cases"]
        for claim, decision in zip(case["claims"], case["decisions"], strict=True)
    ]


def test_vectors_cover_every_decision_and_branch():
    pairs = all_decisions()
    decided = {d["decision"] for _, d in pairs}
    assert decided == {"approve", "override", "deny", "not_applicable", "invalid"}
    overrides = [d for _, d in pairs if d["decision"] == "override"]
    assert any(d["approved_quantity"] < d["quantity"] for d in overrides)  # capped
    assert any(d["approved_quantity"] == d["quantity"] for d in overrides)  # below the maximum
    assert any(d["matched_drugs"] is None for d in overrides)  # an attested criterion won
    approvals = [d for _, d in pairs if d["decision"] == "approve"]
    assert any(d["quantity"] == d["limit"] for d in approvals)  # exactly at the limit
    assert {d["channel"] for _, d in pairs} >= {"retail", "home_delivery", "mail", None}
    assert any(d["ruleset_version"] is None for _, d in pairs)  # no version in effect
    assert any(isinstance(d["limit"], float) for _, d in pairs)  # fractional limits
    assert {d["claim_id"] for _, d in pairs} >= {"1", "2", "3", "given-id"}


def test_the_tie_goes_to_the_criterion_id_that_sorts_first():
    case = next(
        c
        for c in vectors("decisions-conformance-demo.json")["cases"]
        if c["name"].startswith("tie at home delivery")
    )
    assert [
        (d["approved_quantity"], d["criterion_id"], d["approval_months"], d["matched_drugs"])
        for d in case["decisions"]
    ] == [
        (100, "attested-dose", 6, None),
        (120, "attested-dose", 6, None),
        (120, "attested-dose", 6, None),
    ]


def test_the_founding_policys_worked_examples():
    case = next(
        c
        for c in vectors("decisions-oncology-dqm.json")["cases"]
        if c["name"] == "the founding policy's worked examples"
    )
    assert [
        (d["decision"], d["approved_quantity"], d["reject_code"]) for d in case["decisions"]
    ] == [
        ("approve", 60, None),
        ("deny", 0, 76),
        ("override", 75, 76),
        ("override", 90, 76),
        ("override", 270, 76),
        ("deny", 0, 76),
    ]


def test_normalisation_vectors_hold_the_contracts_examples():
    data = vectors("normalisation.json")
    words = {c["text"]: c["words"] for c in data["drug_words"]}
    assert words["rifampin–isoniazid"] == "rifampin isoniazid"
    assert words["Tegretol®XR"] == "tegretol xr"
    assert words["Dilantin™"] == "dilantin"
    assert words["St John’s wort"] == words["St. John's Wort"] == "st johns wort"
    ndc = {c["text"]: c["ndc"] for c in data["ndc"]}
    assert (ndc["1234-5678-90"], ndc["12345-678-90"], ndc["12345-6789-1"]) == (
        "01234567890",
        "12345067890",
        "12345678901",
    )
    assert ndc["4733547583"] is None  # ten digits without hyphens: ambiguous
    quantity = {c["text"]: (c["quantity"], c["valid"]) for c in data["quantity"]}
    assert quantity["1000000"] == (1000000, True)
    assert quantity["1000000.5"] == (1000000.5, False)
    assert quantity["1e3"] == quantity["+5"] == quantity["６０"] == (None, False)


@pytest.mark.parametrize("document", ["tiny", "tiny-effective-on-latest-review"])
def test_the_guides_worked_hash_example_is_the_vectors(document):
    guide = (ROOT / "docs" / "consumers.md").read_text()
    entry = next(d for d in vectors("hashes.json")["documents"] if d["name"] == document)
    assert entry["content_sha256"] in guide
    if document == "tiny":
        assert entry["sha256"] in guide
