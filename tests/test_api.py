"""The public API (`import compiler`): every name it lists resolves, and the README's example runs."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pytest

import compiler
from tests.fixtures.paths import EXPORTS, WORKBOOK

CLAIM = {
    "claim_id": "C4",
    "product_id": "imatinib-400mg-tab",
    "channel": "retail",
    "quantity": "120",
    "concomitant_drugs": "Rifadin",
}


def test_every_public_name_is_the_object_it_stands_for():
    from compiler import api, codes, errors
    from compiler.decide import claims, engine, versions
    from compiler.ruleset import check, draft, signing, store
    from compiler.ruleset import compile as compiling
    from compiler.workbook import findings

    public = {
        "validate": check.check_workbook,
        "Checked": check.Checked,
        "Finding": findings.Finding,
        "compile_workbook": compiling.compile_workbook,
        "CompileResult": compiling.CompileResult,
        "check_draft": draft.check_draft,
        "Store": store.Store,
        "public_key": signing.public_key,
        "decide_claims": api.decide_claims,
        "explain_claim": api.explain_claim,
        "decide_file": api.decide_file,
        "impact_file": api.impact_file,
        "impact_side": api.impact_side,
        "load_engine": api.load_engine,
        "load_versions": api.load_versions,
        "Engine": engine.Engine,
        "Versions": versions.Versions,
        "read_claims_csv": claims.read_claims_csv,
        "read_ndc": codes.read_ndc,
        "DqmError": errors.DqmError,
        "UsageError": errors.UsageError,
        "StoreError": errors.StoreError,
        "WriteError": errors.WriteError,
        "ClaimsFileError": errors.ClaimsFileError,
        "NoVersionInEffect": errors.NoVersionInEffect,
        "AnnotateError": errors.AnnotateError,
        "ConformanceError": errors.ConformanceError,
        "OverBudget": errors.OverBudget,
        "DraftRefused": api.DraftRefused,
    }
    assert compiler.__all__ == sorted(public)
    for name, thing in public.items():
        assert getattr(compiler, name) is thing, name
    # Every error dqm raises on purpose is a DqmError.
    assert [n for n in public if n.endswith(("Error", "Refused", "InEffect", "OverBudget"))] == [
        n for n in public if isinstance(public[n], type) and issubclass(public[n], errors.DqmError)
    ]
    with pytest.raises(AttributeError, match="^module 'compiler' has no attribute 'engine'$"):
        compiler.engine  # noqa: B018 (a stage's module, not a public name)


def test_importing_the_package_imports_no_stage():
    # A fresh interpreter: this one has imported every stage already.
    code = "import compiler, sys; print(sorted(m for m in sys.modules if m.startswith('compiler')))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "['compiler']"


def test_validate_compile_and_decide_through_the_api(tmp_path):
    checked = compiler.validate(WORKBOOK, exports=None)  # the workbook alone
    # Alone, its Effective Date (12/08/2025) is before its latest History row (12/01/2026): seen.
    assert (checked.ok, [(f.code, f.cell) for f in checked.findings], checked.previous) == (
        True,
        [("retroactive-effective-date", "D2")],
        None,
    )
    checked = compiler.validate(WORKBOOK, EXPORTS)  # Tests and History against v4 as well
    assert (checked.ok, checked.findings, checked.previous["version"]) == (True, [], 4)
    result = compiler.compile_workbook(WORKBOOK, tmp_path / "exports")
    assert result.ok and result.outcome.version == 1
    decided = compiler.decide_claims([CLAIM], "oncology-dqm", exports=EXPORTS)
    assert decided[
        ["claim_id", "decision", "approved_quantity", "criterion_id", "matched_drugs"]
    ].astype(object).to_dict("records") == [
        {
            "claim_id": "C4",
            "decision": "override",
            "approved_quantity": 90,
            "criterion_id": "strong-cyp3a4-inducer",
            "matched_drugs": "Rifadin",
        }
    ]


def test_explain_claim_gives_the_decision_and_its_steps():
    engine = compiler.load_engine("oncology-dqm", 3, EXPORTS)
    row, steps = compiler.explain_claim(
        {**CLAIM, "quantity": 61, "concomitant_drugs": None}, engine
    )
    assert (row["decision"], row["approved_quantity"], row["reject_code"]) == ("deny", 0, 76)
    assert steps[0] == "Ruleset oncology-dqm v3."
    assert steps[-1] == "Decision: deny; approved 0; reject code 76."


def test_a_ruleset_id_decides_each_claim_by_its_date_of_service_unless_told_otherwise():
    dated = [
        {**CLAIM, "claim_id": "2024", "date_of_service": "2024-06-01"},
        {**CLAIM, "claim_id": "ndc", "product_id": None, "ndc": "47335-475-83"},
    ]
    by_date = compiler.decide_claims(dated, "oncology-dqm", exports=EXPORTS)
    assert by_date[["claim_id", "product_id", "decision", "ruleset_version"]].astype(
        object
    ).values.tolist() == [
        ["2024", "imatinib-400mg-tab", "override", 1],
        ["ndc", "imatinib-400mg-tab", "override", 4],  # no date: the latest
    ]
    as_of = compiler.decide_claims(
        dated, "oncology-dqm", exports=EXPORTS, as_of=dt.date(2025, 1, 1)
    )
    # v2 lists no codes: the NDC names its product through v4, and v2 decides it (override)
    assert list(as_of["ruleset_version"]) == [2, 2] and as_of["decision"][1] == "override"
    assert list(compiler.decide_claims(dated, "oncology-dqm", 3, EXPORTS)["ruleset_version"]) == [
        3,
        3,
    ]
    versions = compiler.load_versions("oncology-dqm", EXPORTS)
    assert (versions.latest, versions.in_effect(dt.date(2025, 12, 8))) == (4, 4)
    row, steps = compiler.explain_claim(dated[0], versions)
    assert (row["ruleset_version"], steps[1]) == (
        1,
        "On its date of service, 2024-06-01, v1 is in effect (it takes effect on 2023-12-13).",
    )
    with pytest.raises(
        compiler.NoVersionInEffect, match="the first, v1, takes effect on 2023-12-13"
    ):
        compiler.decide_claims(dated, versions, as_of=dt.date(2023, 1, 1))
    with pytest.raises(compiler.UsageError, match="give the ruleset's id, not one version"):
        compiler.decide_claims(
            dated, compiler.load_engine("oncology-dqm", exports=EXPORTS), as_of=dt.date.today()
        )


def test_every_error_dqm_raises_on_purpose_is_a_dqm_error_with_its_own_code():
    kinds = [
        getattr(compiler, name)
        for name in compiler.__all__
        if name.endswith(("Error", "Effect", "Budget", "Refused"))
    ]
    assert sorted(k.__name__ for k in kinds) == [
        "AnnotateError",
        "ClaimsFileError",
        "ConformanceError",
        "DqmError",
        "DraftRefused",
        "NoVersionInEffect",
        "OverBudget",
        "StoreError",
        "UsageError",
        "WriteError",
    ]
    assert all(issubclass(k, compiler.DqmError) for k in kinds)
    codes = [k.code for k in kinds]
    assert len(set(codes)) == len(codes)
    with pytest.raises(compiler.DqmError) as caught:
        compiler.load_engine("no-such-ruleset", exports=EXPORTS)
    assert (caught.value.code, str(caught.value)) == (
        "store",
        f"No published ruleset 'no-such-ruleset' in {EXPORTS}/ (published: oncology-dqm).",
    )


def test_decide_file_writes_the_decisions_whole_as_dqm_decide_does(tmp_path):
    claims = tmp_path / "claims.csv"
    claims.write_text(
        "claim_id,product_id,channel,quantity,date_of_service\n"
        "A,imatinib-400mg-tab,retail,60,2025-12-08\n"
        "B,imatinib-400mg-tab,retail,61,2025-12-08\n"
    )
    out = tmp_path / "decisions.jsonl"
    assert compiler.decide_file(str(claims), "oncology-dqm", exports=EXPORTS, output=str(out)) == 2
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [
        (r["claim_id"], r["decision"], r["approved_quantity"], r["ruleset_version"]) for r in rows
    ] == [
        ("A", "approve", 60, 4),
        ("B", "deny", 0, 4),
    ]
    with pytest.raises(compiler.UsageError, match="is the claims file itself"):
        compiler.decide_file(str(claims), "oncology-dqm", exports=EXPORTS, output=str(claims))
    assert claims.read_text().startswith("claim_id,")
