"""The public API's glue: what joins the stages (the store's versions and the engine) for callers."""

from __future__ import annotations

from pathlib import Path

from .decide.engine import Engine
from .ruleset.store import Store, StoreError, load_file


def load_engine(ruleset: str, version: int | None = None, exports: str | Path = "exports") -> Engine:
    """An engine for a published ruleset id (the latest version unless `version`) or for the path of
    a version file; the file's hash and schema are verified (StoreError when they do not hold)."""
    path = Path(ruleset)
    if ruleset.endswith(".json") or path.is_file():
        doc = load_file(path)
        if version is not None and doc["version"] != version:
            raise StoreError(f"{path} is version {doc['version']}, not {version}.")
        return Engine(doc)
    return Engine(Store(exports).load(ruleset, version))
