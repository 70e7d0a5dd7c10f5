"""The public API's glue: what joins the stages (the store's versions and the engine) for callers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from .decide.claims import claims_frame
from .decide.engine import Engine
from .ruleset.store import Store, StoreError, load_file


def load_engine(
    ruleset: str, version: int | None = None, exports: str | Path = "exports"
) -> Engine:
    """An engine for a published ruleset id (the latest version unless `version`) or for the path of
    a version file; the file's hash and schema are verified (StoreError when they do not hold)."""
    path = Path(ruleset)
    if ruleset.endswith(".json") or _is_file(path):
        doc = load_file(path)
        if version is not None and doc["version"] != version:
            raise StoreError(f"{path} is version {doc['version']}, not {version}.")
        return Engine(doc)
    return Engine(Store(exports).load(ruleset, version))


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # a name too long for the file system (ENAMETOOLONG) is no file here
        return False


def decide_claims(
    claims: pd.DataFrame | list[dict[str, Any]],
    ruleset: str | dict[str, Any] | Engine,
    version: int | None = None,
    exports: str | Path = "exports",
) -> pd.DataFrame:
    """One decision per claim (a claims frame, or dicts with the contract's claim columns), in
    order, against a ruleset: an Engine, a ruleset dict, a published ruleset id or a version file."""
    engine = _engine(ruleset, version, exports)
    if not isinstance(claims, pd.DataFrame):
        claims = claims_frame(list(claims))
    return engine.decide(claims)


def explain_claim(
    claim: dict[str, Any],
    ruleset: str | dict[str, Any] | Engine,
    version: int | None = None,
    exports: str | Path = "exports",
) -> tuple[dict[str, Any], list[str]]:
    """One claim's decision (the contract's fields) and the steps that led to it."""
    return _engine(ruleset, version, exports).explain(claim)


def _engine(
    ruleset: str | dict[str, Any] | Engine, version: int | None, exports: str | Path
) -> Engine:
    if isinstance(ruleset, Engine):
        return ruleset
    if isinstance(ruleset, dict):
        return Engine(ruleset)
    return load_engine(ruleset, version, exports)
