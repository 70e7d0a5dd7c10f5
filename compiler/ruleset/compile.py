"""`dqm compile`: validate a workbook, run its Tests, build the ruleset and publish it. This module
orchestrates the publish: what the store writes (a sealed version with its changes, its JDM graph
beside it) is decided here; the store only writes and verifies files."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..effective import effective_date
from ..errors import StoreError, UsageError
from ..workbook.effective_dates import takes_effect_note, unchanged_note
from ..workbook.findings import Finding
from . import diff, jdm, signing
from .check import check_workbook, shown_folder
from .history import history_findings
from .publishing import Publishing
from .sealing import canonical_bytes, sealed
from .store import Published, Refused, Store, Unchanged

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

GRAPH = "jdm.json"  # each version's GoRules JDM graph, beside it as v<N>.jdm.json


@dataclass
class CompileResult:
    findings: list[Finding] = field(default_factory=list)
    outcome: Published | Unchanged | Refused | None = None
    repaired: list[str] = field(default_factory=list)  # what a cut-short compile left, now mended
    # When the published version takes effect, and which claims move to it (None: none published)
    takes_effect: str | None = None

    @property
    def ok(self) -> bool:
        return isinstance(self.outcome, (Published, Unchanged))


def compile_workbook(
    path: str | Path,
    exports: str | Path = "exports",
    today: dt.date | None = None,
    create_exports: bool = True,
    sign: Ed25519PrivateKey | None = None,
) -> CompileResult:
    """Check the workbook as `dqm validate` does (check.py) and, with no errors, publish it. The
    History rules run again under the ruleset's lock when another version has been published
    since the check (the check already ran them against the one it read). `create_exports`
    False: an exports folder that is not there is refused (UsageError), not made: a compile run
    from the wrong folder would otherwise publish a "v1" beside the real store. `sign`: a private
    key (signing.py) that signs the new version, and every earlier one still unsigned."""
    if not create_exports and not Path(exports).exists():
        raise UsageError(
            f"There is no exports folder {shown_folder(exports)} here. Run dqm compile from the "
            "folder that holds the exports, or name the folder with --exports DIR (it is created "
            "if missing)."
        )
    checked = check_workbook(path, exports, today=today)
    store, rid = Store(exports), checked.ruleset_id
    # What a compile killed part way left is mended whatever this workbook holds: by the
    # publish below, under its lock, or (nothing published) by a repair, told under the lock.
    if not checked.ok:
        return CompileResult(checked.findings, repaired=store.repair(rid) if rid else [])

    def gate(previous: dict | None, content: dict) -> list[Finding]:
        if previous is checked.previous:  # still the latest: the check's History rules hold
            return []
        return history_findings(checked.validated, previous, content, today)

    repaired: list[str] = []
    outcome = publish(
        store, checked.content, gate=gate, latest=checked.previous, sign=sign, repaired=repaired
    )
    if isinstance(outcome, Refused):
        store.repair(rid)
    findings = checked.findings + (outcome.reasons if isinstance(outcome, Refused) else [])
    note = None
    if isinstance(outcome, Unchanged):  # the workbook is the latest version: said still
        note = checked.takes_effect  # the check's note, unless another published it since
        if outcome.version != (checked.previous or {}).get("version"):
            note = unchanged_note(store.load(rid, outcome.version))
    if isinstance(outcome, Published):
        note = checked.takes_effect
        if outcome.version != (checked.previous["version"] + 1 if checked.previous else 1):
            note = _takes_effect(store, outcome.doc)  # another was published since the check
    return CompileResult(findings, outcome, repaired, note)


def _takes_effect(store: Store, doc: dict[str, Any]) -> str:
    """When the version `doc` takes effect, against every version published before it."""
    rid, version = doc["ruleset_id"], doc["version"]
    earlier = {v: effective_date(store.load(rid, v)) for v in store.versions(rid) if v < version}
    return takes_effect_note(rid, version, effective_date(doc), earlier)


def publish(
    store: Store,
    content: dict[str, Any],
    gate: Callable[[dict | None, dict], list] | None = None,
    latest: dict[str, Any] | None = None,
    sign: Ed25519PrivateKey | None = None,
    repaired: list[str] | None = None,
) -> Published | Unchanged | Refused:
    """Publish `content` as the next version unless it says what the latest already says.
    `gate(previous, content)` may refuse it (returns reasons). Either way a missing index entry or
    graph of an earlier version is repaired; a refusal writes nothing. `latest`: the latest
    version as already read (it is read again only if another has been published since)."""
    with store.publishing(content["ruleset_id"], latest) as publishing:
        if repaired is not None:  # what the lock's sweep mended, for the caller to say
            repaired.extend(publishing.repaired)
        if sign is not None:
            _same_signer(publishing, sign)
        previous = publishing.previous
        if previous and previous["content_sha256"] == content["content_sha256"]:
            publishing.write_index()
            write_missing_graphs(publishing, sign)
            return Unchanged(
                previous["version"], store.path(content["ruleset_id"], previous["version"])
            )
        reasons = gate(previous, content) if gate else []
        if reasons:
            return Refused(reasons)
        doc, data = sealed(
            {
                **content,
                "version": publishing.version,
                "changes": {
                    "since_version": previous["version"] if previous else None,
                    "items": diff.changes(previous, content),
                },
            }
        )
        derived = {GRAPH: canonical_bytes(jdm.graph(doc))}
        if sign is not None:
            derived[signing.SUFFIX] = signing.sign(sign, b"".join(data))
        path = publishing.write(doc, data, derived=derived)
        write_missing_graphs(publishing, sign)
        return Published(doc["version"], path, doc)


def write_missing_graphs(publishing: Publishing, sign: Ed25519PrivateKey | None = None) -> None:
    """Each version's JDM graph beside it where a crash or a hand left it out (with `sign`, its
    signature too, for versions published before the ruleset was signed), then listed in the
    index with its sha256; one already written is never rewritten."""
    missing = publishing.missing(GRAPH)
    for version in missing:
        publishing.write_derived(
            version, GRAPH, canonical_bytes(jdm.graph(publishing.load(version)))
        )
    unsigned = publishing.missing(signing.SUFFIX) if sign is not None else []
    for version in unsigned:
        publishing.load(version)  # verified before it is vouched for
        data = publishing.store.path(publishing.ruleset_id, version).read_bytes()
        publishing.write_derived(version, signing.SUFFIX, signing.sign(sign, data))
    if missing or unsigned:
        publishing.write_index()


def _same_signer(publishing: Publishing, key: Ed25519PrivateKey) -> None:
    """Refuse to sign with a key other than the one the ruleset's versions are signed with: its
    readers trust one public key, and a store signed by two is refused by each of them in part."""
    store, rid = publishing.store, publishing.ruleset_id
    signed = [v for v in store.versions(rid) if store.path(rid, v, signing.SUFFIX).exists()]
    if not signed:
        return
    path = store.path(rid, signed[-1])
    try:
        signing.verify(key.public_key(), path.read_bytes(), path)
    except StoreError:
        raise StoreError(
            f"v{signed[-1]} of {rid} is signed with another key, and a ruleset's versions are all "
            "signed with one (its readers trust one public key). Sign with that key; nothing was "
            "published."
        ) from None
