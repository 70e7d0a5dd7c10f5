"""dqm: Drug Quantity Management rules, from an Excel workbook to every decision.

The public API; each name is imported on first use, so `import compiler` stays light:

    import compiler

    # One way to validate: every finding `dqm validate` (and so `dqm compile`) makes, each with
    # a sheet, a cell and a code; against the published versions in `exports`.
    checked = compiler.validate("workbook/oncology-dqm.xlsx", exports="exports")
    result = compiler.compile_workbook("workbook/oncology-dqm.xlsx", "exports")   # publish

    # One way to decide claims in memory (a frame, or dicts with the claim columns): each claim by
    # the version in effect on its date of service, or by `version=`, or `as_of=` one date.
    decisions = compiler.decide_claims(claims, "oncology-dqm", exports="exports")
    decision, steps = compiler.explain_claim(claim, "oncology-dqm", exports="exports")

    # Claims in a file of any size (CSV or Parquet), decided as `dqm decide` does: streamed, or
    # on Spark, and written whole into `output` (csv, json, jsonl or parquet).
    compiler.decide_file("claims.csv", "oncology-dqm", output="decisions.parquet")

`ruleset` is a ruleset id (a slug such as "oncology-dqm"), a version file's path (a name ending
in .json or holding a folder), a version's dict, or what `load_engine` / `load_versions` return.
`exports` is a folder, or a `Store`: `Store("exports", trust=public_key("owner.pub.pem"))` reads
only versions signed by that key's owner (`dqm compile --sign`).
Every error dqm raises on purpose is a `DqmError` (one line for people, and a `code`); the kinds
below it are listed here too.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

# public name -> "module:attribute"
_API = {
    # validate and publish
    "validate": "compiler.ruleset.check:check_workbook",
    "Checked": "compiler.ruleset.check:Checked",
    "Finding": "compiler.workbook.findings:Finding",
    "compile_workbook": "compiler.ruleset.compile:compile_workbook",
    "CompileResult": "compiler.ruleset.compile:CompileResult",
    "check_draft": "compiler.ruleset.draft:check_draft",
    "Store": "compiler.ruleset.store:Store",
    "public_key": "compiler.ruleset.signing:public_key",  # Store(exports, trust=public_key(p))
    # decide
    "decide_claims": "compiler.api:decide_claims",  # `compiler.decide` is the stage package
    "explain_claim": "compiler.api:explain_claim",
    "decide_file": "compiler.api:decide_file",
    "impact_file": "compiler.api:impact_file",
    "impact_side": "compiler.api:impact_side",
    "load_engine": "compiler.api:load_engine",
    "load_versions": "compiler.api:load_versions",
    "Engine": "compiler.decide.engine:Engine",
    "Versions": "compiler.decide.versions:Versions",
    "read_claims_csv": "compiler.decide.claims:read_claims_csv",
    "read_ndc": "compiler.codes:read_ndc",
    # errors: DqmError and every kind under it
    "DqmError": "compiler.errors:DqmError",
    "UsageError": "compiler.errors:UsageError",
    "StoreError": "compiler.errors:StoreError",
    "WriteError": "compiler.errors:WriteError",
    "ClaimsFileError": "compiler.errors:ClaimsFileError",
    "NoVersionInEffect": "compiler.errors:NoVersionInEffect",
    "AnnotateError": "compiler.errors:AnnotateError",
    "ConformanceError": "compiler.errors:ConformanceError",
    "OverBudget": "compiler.errors:OverBudget",
    "DraftRefused": "compiler.api:DraftRefused",
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
