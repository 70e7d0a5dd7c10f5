"""The exports store as the app reads it: verified versions, engines, listings and what a version
offers the forms, each cached per file state (memo.py), so a version is read and verified once per
content, never per rerun."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app_pages.memo import memo
from app_pages.text import plain
from compiler.decide.engine import Engine
from compiler.decide.versions import Versions
from compiler.effective import takes_effect
from compiler.ruleset import walk
from compiler.ruleset.index import index_entry
from compiler.ruleset.signing import public_key
from compiler.ruleset.store import Store, StoreError

APP_DIR = Path(__file__).resolve().parents[1]


def exports_dir() -> Path:
    """The exports store the app reads: $DQM_EXPORTS, or the bundled exports/ beside app.py."""
    return Path(os.environ.get("DQM_EXPORTS") or APP_DIR / "exports")


def store() -> Store:
    return Store(exports_dir(), trust())


def trust():
    """The public key of $DQM_PUBLIC_KEY: the app then shows only versions signed with it (an
    unsigned or wrongly signed one is listed as refused, in the store's words)."""
    return _key(os.environ.get("DQM_PUBLIC_KEY") or None)


@functools.lru_cache(maxsize=4)
def _key(path: str | None):
    # Read and parsed once, not on every rerun of every page.
    return public_key(path) if path else None


def folder_state(ruleset_id: str) -> tuple:
    """Each file of a ruleset's folder by name, size, modification time and inode: what the caches
    below are keyed by, so a version is read and verified once per content, never per rerun, and a
    file published or edited since makes a new key."""
    folder = exports_dir() / ruleset_id
    out = []
    try:
        with os.scandir(folder) as entries:
            for e in entries:
                if not e.name.startswith("."):
                    s = e.stat()
                    out.append((e.name, s.st_size, s.st_mtime_ns, s.st_ino))
    except OSError:
        pass
    return tuple(sorted(out))


def folder_states() -> tuple:
    """Every ruleset's folder_state: a publish anywhere in the store makes a new one."""
    return tuple((rid, folder_state(rid)) for rid in store().ruleset_ids())


def load_version(ruleset_id: str, version: int) -> dict[str, Any]:
    """A verified version; raises StoreError (a tampered or unreadable file) with a clear message.
    Shared between sessions and never changed: treat it as read-only."""
    doc, refused = _version((str(exports_dir()), ruleset_id, version, folder_state(ruleset_id)))
    if refused is not None:
        raise StoreError(refused)
    return doc


@memo(max_entries=64)
def _version(key: tuple) -> tuple[dict | None, str | None]:
    root, ruleset_id, version, _ = key
    try:
        return Store(root, trust()).load(ruleset_id, version), None
    except StoreError as exc:
        return None, str(exc)


@memo(max_entries=32)
def _engine(content_key: str, ruleset: dict[str, Any]) -> Engine:
    return Engine(ruleset)


def engine_for(version: dict[str, Any]) -> Engine:
    """One engine per published version, by its sha256, or per draft ruleset, by the sha256 of
    its content (a draft the session checked: app_pages/drafts.py)."""
    key = version.get("sha256") or ("draft", version["content_sha256"])
    return _engine(key, version)


@dataclass(frozen=True)
class Offered:
    """What a version offers the One claim form, walked once per version."""

    drug_names: list[str]
    attested_criteria: list[str]


@memo(max_entries=32, by_content=True)
def _offered(content_key: str, ruleset: dict[str, Any]) -> Offered:
    return Offered(walk.drug_names(ruleset), walk.attested_criteria(ruleset))


def offered(version: dict[str, Any]) -> Offered:
    return _offered(version.get("sha256") or ("draft", version["content_sha256"]), version)


@dataclass(frozen=True)
class Listed:
    """One published version as the app lists it: its index entry, or why it is refused."""

    version: int
    entry: dict[str, Any] | None = None  # compiler.ruleset.store.index_entry, when it can be read
    refused: str | None = None  # the store's words, when it cannot

    @property
    def label(self) -> str:
        """`v4 · in effect from 2025-12-08` (or why it is refused), as plain text: select boxes
        show their options as text, and a box as wide as the sidebar shows this much whole. Its
        reviews and History rows are `detail`, shown beside the box."""
        if self.entry is None:
            return f"v{self.version} · refused: {_why_refused(self.refused or '')}"
        return plain(
            f"v{self.version} · in effect from {self.entry['effective_date'] or 'the start'}"
        )

    @property
    def detail(self) -> str:
        """`reviewed 2026-12-01 · Selected Revision: …` (plain text; empty when refused)."""
        if self.entry is None:
            return ""
        dates = ", ".join(sorted(set(self.entry["review_dates"].values())))
        return plain(" · ".join([f"reviewed {dates}", *history_summary(self.entry)]))


def _why_refused(text: str) -> str:
    """A refusal in a few words, for a select box's option (the whole message is shown beside)."""
    if "is not signed" in text:
        return "not signed"
    if "signature does not verify" in text:
        return "its signature does not verify"
    return "changed since it was published"


def listing(ruleset_id: str) -> tuple[dict[int, Listed], str | None]:
    """`listed_versions`, and why the ruleset's index.json (or a graph it lists) cannot be
    trusted, if it cannot."""
    return _listed((str(exports_dir()), ruleset_id, folder_state(ruleset_id)))


def listed_versions(ruleset_id: str) -> dict[int, Listed]:
    """Every published version of a ruleset, in order, each verified once per content. A
    version's new History rows are those the version before it lacks; when that one is refused,
    the last one that can be read stands in for it."""
    return _listed((str(exports_dir()), ruleset_id, folder_state(ruleset_id)))[0]


@memo(max_entries=16)
def _listed(key: tuple) -> tuple[dict[int, Listed], str | None]:
    """The listing, and why the ruleset's index.json (or a JDM graph it lists) cannot be
    trusted, if it cannot."""
    root, ruleset_id, _ = key
    listing = Store(root, trust()).listing(ruleset_id, lambda v: load_version(ruleset_id, v))
    out, previous = {}, None
    for v in sorted([*listing.docs, *listing.refused]):
        if v in listing.refused:
            out[v] = Listed(v, refused=listing.refused[v])
            continue
        out[v] = Listed(v, index_entry(listing.docs[v], previous))
        previous = listing.docs[v]
    return out, listing.index_problem()


def versions_by_date(ruleset_id: str) -> Versions:
    """The ruleset's published versions as claims choose among them by date of service, deciding
    with the app's cached engines. Every version is read (and verified) first: a claim may fall in
    any one's dates, so one that is refused refuses the choice (StoreError, in the store's words)."""
    docs = store().listing(ruleset_id, lambda v: load_version(ruleset_id, v)).require()
    return Versions(
        ruleset_id, {v: takes_effect(doc) for v, doc in docs.items()}, lambda v: engine_for(docs[v])
    )


def history_summary(entry: dict[str, Any]) -> list[str]:
    """An index entry's new History rows as `Annual Revision: No criteria changes.` (as written:
    the caller shows it with `md` or `plain`)."""
    return [
        f"{row['type_of_revision']}: {row['summary_of_changes']}" for row in entry["history_added"]
    ]
