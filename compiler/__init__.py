"""dqm: Drug Quantity Management rules, from an Excel workbook to every decision.

The public API (README.md, "Use it from Python"); each name is imported on first use, so
`import compiler` stays light:

    import compiler

    checked = compiler.validate("workbook/oncology-dqm.xlsx")      # findings, each with a code
    checked = compiler.check_workbook("workbook/oncology-dqm.xlsx", "exports")  # all compile finds
    result = compiler.compile_workbook("workbook/oncology-dqm.xlsx", "exports")
    engine = compiler.load_engine("oncology-dqm", exports="exports")  # hash and schema verified
    decisions = engine.decide(claims_frame)                   # one version decides every claim
    decisions = compiler.decide_claims(claims_frame, "oncology-dqm")  # each by its date of service
    decision, steps = engine.explain({"product_id": ..., "channel": "retail", "quantity": 90})
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

# public name -> "module:attribute"
_API = {
    "validate": "compiler.workbook.validate:validate_file",
    "Validated": "compiler.workbook.validate:Validated",
    "check_workbook": "compiler.ruleset.check:check_workbook",
    "Checked": "compiler.ruleset.check:Checked",
    "WriteError": "compiler.atomic:WriteError",
    "Finding": "compiler.workbook.findings:Finding",
    "compile_workbook": "compiler.ruleset.compile:compile_workbook",
    "CompileResult": "compiler.ruleset.compile:CompileResult",
    "check_draft": "compiler.ruleset.draft:check_draft",
    "Store": "compiler.ruleset.store:Store",
    "StoreError": "compiler.ruleset.store:StoreError",
    "Engine": "compiler.decide.engine:Engine",
    "load_engine": "compiler.api:load_engine",
    "load_versions": "compiler.api:load_versions",
    "Versions": "compiler.decide.versions:Versions",
    "NoVersionInEffect": "compiler.decide.versions:NoVersionInEffect",
    "read_ndc": "compiler.codes:read_ndc",
    "decide_claims": "compiler.api:decide_claims",  # `compiler.decide` is the stage package
    "explain_claim": "compiler.api:explain_claim",
    "read_claims_csv": "compiler.decide.claims:read_claims_csv",
}

__all__ = sorted(_API)


def __getattr__(name: str) -> Any:
    home = _API.get(name)
    if home is None:
        raise AttributeError(f"module 'compiler' has no attribute {name!r}")
    module, attribute = home.split(":")
    value = getattr(import_module(module), attribute)
    globals()[name] = value  # once imported, an ordinary attribute
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_API])
