"""The public API's glue: what joins the stages (the store's versions, a draft workbook, the engine
and the decision job) for callers, the command line among them."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .decide import job
from .decide.claims import claims_frame
from .decide.engine import Engine
from .decide.versions import Versions, run_pass
from .errors import DqmError, UsageError
from .ruleset.store import Store, StoreError, load_file, version_number

if TYPE_CHECKING:  # pandas only for decide_claims' frames: dqm decide never imports it
    import pandas as pd

    from .decide.impact import Transitions

Ruleset = str | dict[str, Any] | Engine | Versions
Exports = str | Path | Store  # a Store made with `trust` reads only versions signed by its key


def _store(exports: Exports) -> Store:
    return exports if isinstance(exports, Store) else Store(exports)


def load_engine(ruleset: str, version: int | None = None, exports: Exports = "exports") -> Engine:
    """An engine for a published ruleset id (the latest version unless `version`) or for the path of
    a version file; the file's hash and schema are verified (StoreError when they do not hold)."""
    if is_version_file(ruleset):
        doc = load_file(ruleset, _store(exports).trust)
        if version is not None and doc["version"] != version:
            raise StoreError(f"{ruleset} is version {doc['version']}, not {version}.")
        return Engine(doc)
    return Engine(_store(exports).load(ruleset, version))


def load_versions(ruleset_id: str, exports: Exports = "exports") -> Versions:
    """Every published version of a ruleset, each verified, to decide claims by their date of
    service (an engine per version is made when a claim first needs it)."""
    docs = _store(exports).listing(ruleset_id).require()
    return Versions.of(docs)


def decide_claims(
    claims: pd.DataFrame | list[dict[str, Any]],
    ruleset: Ruleset,
    version: int | None = None,
    exports: Exports = "exports",
    as_of: dt.date | None = None,
    history: pd.DataFrame | list[dict[str, Any]] | None = None,
) -> pd.DataFrame:
    """One decision per claim (a claims frame, or dicts with the contract's claim columns), in
    order. `ruleset`: a published ruleset id (each claim by the version in effect on its date of
    service; by `version`, or as of `as_of`, when given), Versions, or one ruleset that decides
    every claim (an Engine, a ruleset dict, a version file's path). The claims are one run:
    a Per Days claim counts the members' fills in `history` and the run's claims before it."""
    import pandas as pd

    if not isinstance(claims, pd.DataFrame):
        claims = claims_frame(list(claims))
    if history is not None and not isinstance(history, pd.DataFrame):
        history = pd.DataFrame(list(history), dtype="str")
    chosen = choose_ruleset(ruleset, version, exports, as_of)
    if isinstance(chosen, Versions):
        return chosen.decide(claims, as_of, history)
    return chosen.decide(claims, history)


def explain_claim(
    claim: dict[str, Any],
    ruleset: Ruleset,
    version: int | None = None,
    exports: Exports = "exports",
    as_of: dt.date | None = None,
    history: pd.DataFrame | list[dict[str, Any]] | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """One claim's decision (the contract's fields) and the steps that led to it, chosen as
    `decide_claims` chooses; a Per Days claim counted against the member's fills in `history`."""
    chosen = choose_ruleset(ruleset, version, exports, as_of)
    received = None
    if history is not None:
        import pandas as pd

        from .decide.run import accumulated_for

        if not isinstance(history, pd.DataFrame):
            history = pd.DataFrame(list(history), dtype="str")
        received = accumulated_for(claim, run_pass(chosen, as_of), history)
    if isinstance(chosen, Versions):
        return chosen.explain(claim, as_of, received)
    return chosen.explain(claim, received)


def choose_ruleset(
    ruleset: Ruleset,
    version: int | None = None,
    exports: Exports = "exports",
    as_of: dt.date | None = None,
) -> Engine | Versions:
    """What decides claims, as `decide_claims` takes it: one version (an Engine) or a ruleset's
    versions. UsageError for a version and a date together, or a date with one version;
    NoVersionInEffect when no version is in effect on `as_of`; StoreError from the store."""
    if version is not None and as_of is not None:
        raise UsageError("Give a version or a date to decide as of, not both.")
    if isinstance(ruleset, (Engine, Versions)):
        chosen = ruleset
    elif isinstance(ruleset, dict):
        chosen = Engine(ruleset)
    elif version is not None or is_version_file(ruleset):
        chosen = load_engine(ruleset, version, exports)
    else:
        chosen = load_versions(ruleset, exports)
    if as_of is not None and isinstance(chosen, Engine):
        raise UsageError(
            f"--as-of chooses among a ruleset's published versions, but {ruleset} is one version "
            "file; give the ruleset's id (with --exports), or leave out --as-of."
            if isinstance(ruleset, str)
            else "A date to decide as of chooses among a ruleset's published versions; give the "
            "ruleset's id, not one version."
        )
    if as_of is not None:
        chosen.version_on(as_of)  # said now, before any claim is read
    return chosen


def is_version_file(ruleset: str) -> bool:
    """Whether `ruleset` names a version file (a name ending in .json, or with a folder in it)
    rather than a ruleset id, which has neither: told from the text alone, never from what
    happens to be on disk."""
    return ruleset.casefold().endswith(".json") or any(sep in ruleset for sep in ("/", os.sep))


def decide_file(
    claims: job.Claims,
    ruleset: Ruleset,
    *,
    version: int | None = None,
    as_of: dt.date | None = None,
    exports: Exports = "exports",
    output: str | None = None,
    fmt: str | None = None,
    spark: str | None = None,
    columns: dict[str, str] | None = None,
    encoding: str | None = None,
    notes: Callable[[str], None] | None = None,
    history: job.Claims | None = None,
) -> int | None:
    """`dqm decide`: every claim of a file (or a binary stream of CSV) decided as `decide_claims`
    chooses, written whole into `output` (None: standard output) as csv, json, jsonl or parquet;
    on Spark (`spark`: its master) into a new folder of Parquet files. The number of decisions
    written (None from Spark). `columns` maps the file's own column names onto the contract's
    (`{"fill_date": "date_of_service"}`); `encoding` is a CSV's (UTF-8 by default); `notes`
    hears each note on the claims, a line each (columns not in the contract, which are ignored;
    the version that decided every claim of a file without dates). `history`: the members'
    earlier paid fills (a file, read as claims are), counted toward Per Days limits."""
    reading = job.Reading(columns, encoding, notes)  # checked before any version is read
    chosen = choose_ruleset(ruleset, version, exports, as_of)
    return job.decide_file(
        claims,
        chosen,
        as_of=as_of,
        output=output,
        fmt=fmt,
        spark=spark,
        reading=reading,
        history=history,
    )


class DraftRefused(DqmError):
    """A draft workbook named as a side of `impact` that does not compile; `findings` says why."""

    code = "draft_refused"

    def __init__(self, message: str, findings: list):
        super().__init__(message)
        self.findings = findings


def impact_side(ruleset_id: str, side: str, exports: Exports = "exports") -> tuple[str, dict]:
    """A side of `impact`: a published version (N, vN or latest) as (`v4`, its document), or a
    draft workbook (.xlsx) checked as compile would (`draft NAME`, its ruleset)."""
    if not side.lower().endswith((".xlsx", ".xlsm")):
        doc = _store(exports).load(ruleset_id, version_number(side))
        return f"v{doc['version']}", doc
    from .ruleset.draft import check_draft

    path = Path(workbook_path(side))
    check = check_draft(path.read_bytes(), path.name, _store(exports).root)
    if not check.ok:
        raise DraftRefused(
            f"{side} does not compile: {len(check.errors)} error(s); nothing compared.",
            check.findings,
        )
    if check.ruleset["ruleset_id"] != ruleset_id:
        raise UsageError(f"{side} is ruleset {check.ruleset['ruleset_id']!r}, not {ruleset_id!r}.")
    return f"draft {path.name}", check.ruleset


def impact_file(
    claims: job.Claims,
    before: dict,
    after: dict,
    *,
    output: str | None = None,
    fmt: str | None = None,
    spark: str | None = None,
    columns: dict[str, str] | None = None,
    encoding: str | None = None,
    notes: Callable[[str], None] | None = None,
    history: job.Claims | None = None,
) -> Transitions:
    """`dqm impact`: the same claims decided by two versions (documents, as `impact_side` gives
    them); the transitions, and the changed claims written whole into `output` when given.
    `columns`, `encoding`, `notes` and `history` as for `decide_file`; each version decides
    the claims as its own run."""
    reading = job.Reading(columns, encoding, notes)
    return job.impact_file(
        claims, before, after, output=output, fmt=fmt, spark=spark, reading=reading, history=history
    )


def workbook_path(path: str) -> str:
    """An existing workbook file, or UsageError saying what the path is instead."""
    if Path(path).is_dir():
        raise UsageError(f"{path} is a folder, not a workbook; give the .xlsx file's path.")
    if not Path(path).is_file():
        raise UsageError(f"{path}: no such file.")
    return path
