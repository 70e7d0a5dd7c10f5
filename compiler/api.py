"""The public API's glue: what joins the stages (the store's versions and the engine) for callers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd

from .decide.claims import claims_frame
from .decide.engine import Engine
from .decide.versions import Versions
from .ruleset.store import Store, StoreError, load_file

Ruleset = str | dict[str, Any] | Engine | Versions


def load_engine(
    ruleset: str, version: int | None = None, exports: str | Path = "exports"
) -> Engine:
    """An engine for a published ruleset id (the latest version unless `version`) or for the path of
    a version file; the file's hash and schema are verified (StoreError when they do not hold)."""
    if _is_file(ruleset):
        doc = load_file(ruleset)
        if version is not None and doc["version"] != version:
            raise StoreError(f"{ruleset} is version {doc['version']}, not {version}.")
        return Engine(doc)
    return Engine(Store(exports).load(ruleset, version))


def load_versions(ruleset_id: str, exports: str | Path = "exports") -> Versions:
    """Every published version of a ruleset, each verified, to decide claims by their date of
    service (an engine per version is made when a claim first needs it)."""
    store = Store(exports)
    versions = store.versions(ruleset_id)
    if not versions:
        store.load(ruleset_id)  # raises the store's words: no such ruleset, and which there are
    return Versions.of({v: store.load(ruleset_id, v) for v in versions})


def decide_claims(
    claims: pd.DataFrame | list[dict[str, Any]],
    ruleset: Ruleset,
    version: int | None = None,
    exports: str | Path = "exports",
    as_of: dt.date | None = None,
) -> pd.DataFrame:
    """One decision per claim (a claims frame, or dicts with the contract's claim columns), in
    order. `ruleset`: a published ruleset id (each claim by the version in effect on its date of
    service; by `version`, or as of `as_of`, when given), Versions, or one ruleset that decides
    every claim (an Engine, a ruleset dict, a version file's path)."""
    if not isinstance(claims, pd.DataFrame):
        claims = claims_frame(list(claims))
    chosen = choose_ruleset(ruleset, version, exports, as_of)
    return chosen.decide(claims, as_of) if isinstance(chosen, Versions) else chosen.decide(claims)


def explain_claim(
    claim: dict[str, Any],
    ruleset: Ruleset,
    version: int | None = None,
    exports: str | Path = "exports",
    as_of: dt.date | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """One claim's decision (the contract's fields) and the steps that led to it, chosen as
    `decide_claims` chooses."""
    chosen = choose_ruleset(ruleset, version, exports, as_of)
    return chosen.explain(claim, as_of) if isinstance(chosen, Versions) else chosen.explain(claim)


def choose_ruleset(
    ruleset: Ruleset,
    version: int | None = None,
    exports: str | Path = "exports",
    as_of: dt.date | None = None,
) -> Engine | Versions:
    """What decides claims, as `decide_claims` takes it: one version (an Engine) or a ruleset's
    versions. ValueError for a version and a date together, or a date with one version;
    NoVersionInEffect when no version is in effect on `as_of`; StoreError from the store."""
    if version is not None and as_of is not None:
        raise ValueError("Give a version or a date to decide as of, not both.")
    if isinstance(ruleset, (Engine, Versions)):
        chosen = ruleset
    elif isinstance(ruleset, dict):
        chosen = Engine(ruleset)
    elif version is not None or _is_file(ruleset):
        chosen = load_engine(ruleset, version, exports)
    else:
        chosen = load_versions(ruleset, exports)
    if as_of is not None and isinstance(chosen, Engine):
        raise ValueError(
            "A date to decide as of chooses among a ruleset's published versions; give the "
            "ruleset's id, not one version."
        )
    if as_of is not None:
        chosen.version_on(as_of)  # said now, before any claim is read
    return chosen


def _is_file(ruleset: str) -> bool:
    try:
        return ruleset.endswith(".json") or Path(ruleset).is_file()
    except OSError:  # a name too long for the file system (ENAMETOOLONG) is no file here
        return False
