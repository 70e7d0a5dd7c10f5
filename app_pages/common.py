"""What every page shares: the exports store, verified versions cached per content hash, the
ruleset and version the reviewer chose, and the engines that decide for them."""

from __future__ import annotations

import contextlib
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from compiler.decide.engine import Engine
from compiler.decide.versions import Versions
from compiler.effective import takes_effect
from compiler.ruleset import walk
from compiler.ruleset.draft import DraftCheck, check_draft
from compiler.ruleset.store import Store, StoreError, index_entry
from compiler.vocabulary import CLAIM_COLUMNS

APP_DIR = Path(__file__).resolve().parents[1]


def exports_dir() -> Path:
    """The exports store the app reads: $DQM_EXPORTS, or the bundled exports/ beside app.py."""
    return Path(os.environ.get("DQM_EXPORTS") or APP_DIR / "exports")


def store() -> Store:
    return Store(exports_dir())


def load_version(ruleset_id: str, version: int) -> dict[str, Any]:
    """A verified version; raises StoreError (a tampered or unreadable file) with a clear message.
    The file's bytes are hashed on every call, so an edited file is never served from the cache."""
    s = store()
    try:
        data = s.path(ruleset_id, version).read_bytes()
    except OSError as exc:
        raise StoreError(
            f"Cannot read {s.path(ruleset_id, version)}: {exc.strerror or exc}."
        ) from None
    return _verified(str(s.root), ruleset_id, version, hashlib.sha256(data).hexdigest())


@st.cache_data(show_spinner=False, max_entries=64)
def _verified(root: str, ruleset_id: str, version: int, file_sha256: str) -> dict[str, Any]:
    # Keyed by the file's hash: the store's own checks (schema, sha256, name) run once per content.
    return Store(root).load(ruleset_id, version)


@st.cache_resource(show_spinner=False, max_entries=32)
def _engine(content_key: str, _ruleset: dict[str, Any]) -> Engine:
    return Engine(_ruleset)


def engine_for(version: dict[str, Any]) -> Engine:
    """One engine per published version, by its sha256 (a draft's engines live in its cached check)."""
    return _engine(version["sha256"], version)


@dataclass(frozen=True)
class Listed:
    """One published version as the app lists it: its index entry, or why it is refused."""

    version: int
    entry: dict[str, Any] | None = None  # compiler.ruleset.store.index_entry, when it can be read
    refused: str | None = None  # the store's words, when it cannot

    @property
    def label(self) -> str:
        """`v4 · reviewed 2026-12-01 · in effect from 2025-12-08 · Selected Revision: …` (or why
        it is refused)."""
        if self.entry is None:
            return f"v{self.version} · refused: changed since it was published"
        dates = ", ".join(sorted(set(self.entry["review_dates"].values())))
        return " · ".join(
            [
                f"v{self.version}",
                f"reviewed {dates}",
                f"in effect from {self.entry['effective_date'] or 'the start'}",
                *history_summary(self.entry),
            ]
        )


def listed_versions(ruleset_id: str) -> dict[int, Listed]:
    """Every published version of a ruleset, in order, each read through the cache (verified once
    per content). A version's new History rows are those the version before it lacks; when that
    one is refused, the last one that can be read stands in for it."""
    out, previous = {}, None
    for v in store().versions(ruleset_id):
        try:
            doc = load_version(ruleset_id, v)
        except StoreError as exc:
            out[v] = Listed(v, refused=str(exc))
            continue
        out[v] = Listed(v, index_entry(doc, previous))
        previous = doc
    return out


def versions_by_date(ruleset_id: str) -> Versions:
    """The ruleset's published versions as claims choose among them by date of service, deciding
    with the app's cached engines. Every version is read (and verified) first: a claim may fall in
    any one's dates, so one that is refused refuses the choice (StoreError, in the store's words)."""
    docs = {v: load_version(ruleset_id, v) for v in store().versions(ruleset_id)}
    return Versions(
        ruleset_id, {v: takes_effect(doc) for v, doc in docs.items()}, lambda v: engine_for(docs[v])
    )


def history_summary(entry: dict[str, Any]) -> list[str]:
    """An index entry's new History rows as `Annual Revision: No criteria changes.`"""
    return [
        f"{row['type_of_revision']}: {row['summary_of_changes']}" for row in entry["history_added"]
    ]


@dataclass
class Choice:
    """The ruleset and version the reviewer is looking at."""

    ruleset_id: str
    version: int
    doc: dict[str, Any]

    @property
    def engine(self) -> Engine:
        return engine_for(self.doc)

    @property
    def label(self) -> str:
        return f"{self.ruleset_id} v{self.version}"


def choose_version(sidebar: Any = st.sidebar) -> Choice | None:
    """The ruleset and version chooser (latest by default); shows why a version is refused."""
    s = store()
    ids = s.ruleset_ids()
    sidebar.header("Ruleset")
    if not ids:
        sidebar.warning(f"No published rulesets in {s.root}/. Publish one with `dqm compile`.")
        return None
    ruleset_id = sidebar.selectbox("Ruleset", ids, key="ruleset_id")
    listed = listed_versions(ruleset_id)
    versions = list(listed)
    version = sidebar.selectbox(
        "Version",
        versions,
        index=len(versions) - 1,
        key=f"version:{ruleset_id}",
        format_func=lambda v: listed[v].label,
    )
    chosen = listed[version]
    if chosen.entry is None:
        sidebar.error(chosen.refused)
        return None
    sidebar.caption(f"In effect from {chosen.entry['effective_date'] or 'the start'}")
    doc = load_version(ruleset_id, version)
    for pid, words in walk.review_words(doc).items():
        sidebar.caption(f"{pid}: {words}")
    for text in history_summary(chosen.entry):
        sidebar.caption(f"History: {text}")
    return Choice(ruleset_id, version, doc)


BY_DATE, BY_CHOICE = "date", "sidebar"


def decide_by(choice: Choice, key: str) -> str:
    """Whether a page decides by the version in effect on each claim's date of service (the
    default, as `dqm decide` does) or by the version chosen in the sidebar."""
    return st.radio(
        "Decide by",
        [BY_DATE, BY_CHOICE],
        key=key,
        horizontal=True,
        format_func=lambda mode: (
            "the version in effect on the date of service"
            if mode == BY_DATE
            else f"{choice.label}, chosen in the sidebar"
        ),
    )


def require_version() -> Choice:
    """The chosen version, or stop the page with what is wrong."""
    choice = st.session_state.get("choice")
    if choice is None:
        st.error("No usable published version is chosen; see the sidebar.")
        st.stop()
    return choice


def product_label(engine: Engine, product_id: str) -> str:
    """`Gleevec® (imatinib tablets, generic), 400 mg tablets (imatinib-400mg-tab)`, and
    `— policy retired 2026-12-01` after a product whose policy is retired."""
    product = engine.product(product_id)
    retired = f" — policy retired {product.retired_on}" if product.retired_on else ""
    return f"{product.label} ({product_id}){retired}"


def editable(claims: pd.DataFrame) -> pd.DataFrame:
    """A claims frame as the batch editor shows it: contract columns, blanks as empty text."""
    out = claims.reindex(columns=CLAIM_COLUMNS).astype(object)
    return out.where(out.notna(), "").reset_index(drop=True)


def changes_table(items: list[dict[str, Any]]) -> pd.DataFrame:
    """The compiler's change records (compiler.ruleset.diff.changes) as a table: its wording first."""
    return pd.DataFrame(
        [{"change": c["text"], "kind": c["kind"], "action": c["action"]} for c in items],
        columns=["change", "kind", "action"],
    )


def checked_draft(file_name: str, data: bytes, claims: pd.DataFrame | None) -> DraftCheck:
    """check_draft (with the annotated copy) once per upload, published state and claims: every
    widget touch reruns the page."""
    return _checked_draft(
        file_name,
        hashlib.sha256(data).hexdigest(),
        str(exports_dir()),
        _latest_files(),
        claims,
        data,
    )


@st.cache_data(show_spinner=False, max_entries=16)
def _checked_draft(
    file_name: str,
    data_sha256: str,
    exports: str,
    latest_files: tuple,
    claims: pd.DataFrame | None,
    _data: bytes,
) -> DraftCheck:
    return check_draft(_data, file_name, exports, claims=claims, annotate=True)


def _latest_files() -> tuple:
    """Each ruleset's latest version file, by name, size and modification time: a new publish (or
    a file edited since) makes a new key, so a draft is never compared with a stale version."""
    s = store()
    out = []
    for ruleset_id in s.ruleset_ids():
        path = s.path(ruleset_id, s.versions(ruleset_id)[-1])
        with contextlib.suppress(OSError):  # gone since it was listed: the check will say so
            stat = path.stat()
            out.append((str(path), stat.st_size, stat.st_mtime_ns))
    return tuple(out)


def clear_caches() -> None:
    """Forget every cached version, engine and draft check (tests call this between cases)."""
    st.cache_data.clear()
    st.cache_resource.clear()
