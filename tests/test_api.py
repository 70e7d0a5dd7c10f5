"""The public API (`import compiler`): every name it lists resolves, and the README's example runs."""

from __future__ import annotations

import subprocess
import sys

import compiler
from tests.fixtures.paths import EXPORTS, WORKBOOK

CLAIM = {
    "claim_id": "C4",
    "product_id": "imatinib-400mg-tab",
    "channel": "retail",
    "quantity": "120",
    "concomitant_drugs": "Rifadin",
}


def test_every_public_name_resolves():
    assert compiler.__all__ == sorted(compiler.__all__)
    for name in compiler.__all__:
        assert getattr(compiler, name) is not None, name


def test_importing_the_package_imports_no_stage():
    # A fresh interpreter: this one has imported every stage already.
    code = "import compiler, sys; print(sorted(m for m in sys.modules if m.startswith('compiler')))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "['compiler']"


def test_validate_compile_and_decide_through_the_api(tmp_path):
    checked = compiler.validate(WORKBOOK)
    assert (checked.ok, checked.findings) == (True, [])
    checked = compiler.check_workbook(WORKBOOK, EXPORTS)  # Tests and History against v3 as well
    assert (checked.ok, checked.findings, checked.previous["version"]) == (True, [], 3)
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
