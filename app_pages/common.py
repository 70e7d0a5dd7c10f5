"""What every page shares: the exports store, verified versions cached per content hash, the
ruleset and version the reviewer chose, and the engines that decide for them."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from compiler.decide.claims import claims_frame
from compiler.decide.engine import Engine
from compiler.ruleset.store import Store, StoreError, index_entry

APP_DIR = Path(__file__).resolve().parents[1]
CHANNELS = {"retail": "Retail", "home_delivery": "Home Delivery"}
CLAIM_COLUMNS = ["claim_id", "product_id", "channel", "quantity", "concomitant_drugs",
                 "attested_criteria"]


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
        raise StoreError(f"Cannot read {s.path(ruleset_id, version)}: {exc.strerror or exc}.") from None
    return _verified(str(s.root), ruleset_id, version, hashlib.sha256(data).hexdigest())


@st.cache_data(show_spinner=False, max_entries=64)
def _verified(root: str, ruleset_id: str, version: int, file_sha256: str) -> dict[str, Any]:
    # Keyed by the file's hash: the store's own checks (schema, sha256, name) run once per content.
    return Store(root).load(ruleset_id, version)


@st.cache_resource(show_spinner=False, max_entries=32)
def _engine(content_key: str, _ruleset: dict[str, Any]) -> Engine:
    return Engine(_ruleset)


def engine_for(ruleset: dict[str, Any]) -> Engine:
    """One engine per ruleset content: a published version by its sha256, a draft by its content."""
    key = ruleset.get("sha256") or "draft:" + ruleset["content_sha256"] + ":" + ruleset["source"]["sha256"]
    return _engine(key, ruleset)


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


def version_label(ruleset_id: str, version: int) -> str:
    """`v3 · reviewed 2025-12-08 · Annual Revision: No criteria changes.` (or why it is refused)."""
    try:
        entry = index_entry(load_version(ruleset_id, version))
    except StoreError:
        return f"v{version} · refused: changed since it was published"
    dates = ", ".join(sorted(set(entry["review_dates"].values())))
    return " · ".join([f"v{version}", f"reviewed {dates}", *history_summary(entry)])


def history_summary(entry: dict[str, Any]) -> list[str]:
    """An index entry's new History rows as `Annual Revision: No criteria changes.`"""
    out = []
    for text in entry["history_added"]:
        m = _HISTORY_ADDED.search(text)
        out.append(f"{m['type']}: {m['summary']}" if m else text)
    return out


# The wording compiler.ruleset.diff gives an added History row: "<policy>: History row added: <type>, <date>: <summary>"
_HISTORY_ADDED = re.compile(r"History row added: (?P<type>.*?), \d{4}-\d{2}-\d{2}: (?P<summary>.*)$")


def choose_version(sidebar: Any = st.sidebar) -> Choice | None:
    """The ruleset and version chooser (latest by default); shows why a version is refused."""
    s = store()
    ids = s.ruleset_ids()
    sidebar.header("Ruleset")
    if not ids:
        sidebar.warning(f"No published rulesets in {s.root}/. Publish one with `dqm compile`.")
        return None
    ruleset_id = sidebar.selectbox("Ruleset", ids, key="ruleset_id")
    versions = s.versions(ruleset_id)
    version = sidebar.selectbox("Version", versions, index=len(versions) - 1, key=f"version:{ruleset_id}",
                                format_func=lambda v: version_label(ruleset_id, v))
    try:
        doc = load_version(ruleset_id, version)
    except StoreError as exc:
        sidebar.error(str(exc))
        return None
    entry = index_entry(doc)
    for pid, date in entry["review_dates"].items():
        sidebar.caption(f"{pid}: reviewed {date}")
    for text in history_summary(entry):
        sidebar.caption(f"History: {text}")
    return Choice(ruleset_id, version, doc)


def require_version() -> Choice:
    """The chosen version, or stop the page with what is wrong."""
    choice = st.session_state.get("choice")
    if choice is None:
        st.error("No usable published version is chosen; see the sidebar.")
        st.stop()
    return choice


def product_label(doc: dict[str, Any], product_id: str) -> str:
    for policy in doc["policies"]:
        for p in policy["products"]:
            if p["product_id"] == product_id:
                return f"{p['product']}, {p['strength_and_form']} ({product_id})"
    return product_id


def drug_names(doc: dict[str, Any]) -> list[str]:
    """Every drug and alias on the version's drug lists: suggestions for the drugs field."""
    names = {n for dl in doc["drug_lists"] for d in dl["drugs"] for n in [d["drug"], *d["also_known_as"]]}
    return sorted(names, key=str.casefold)


def tests_as_claims(doc: dict[str, Any]) -> pd.DataFrame:
    """The version's workbook Tests as a claims table (contract columns, text)."""
    rows = [{
        "claim_id": t["test_id"],
        "product_id": t["product_id"],
        "channel": t["channel"],
        "quantity": _text(t["quantity"]),
        "concomitant_drugs": t["concomitant_drugs"] or "",
        "attested_criteria": t["attested_criteria"] or "",
    } for t in doc.get("tests", [])]
    return claims_frame(rows) if rows else empty_claims()


def empty_claims() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in CLAIM_COLUMNS})


def editable(claims: pd.DataFrame) -> pd.DataFrame:
    """A claims frame as the batch editor shows it: contract columns, blanks as empty text."""
    out = claims.reindex(columns=CLAIM_COLUMNS).astype(object)
    return out.where(out.notna(), "").reset_index(drop=True)


def _text(x: Any) -> str:
    if x is None:
        return ""
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


def changes_table(items: list[dict[str, Any]]) -> pd.DataFrame:
    """The compiler's change records (compiler.ruleset.diff.changes) as a table: its wording first."""
    return pd.DataFrame([{"change": c["text"], "kind": c["kind"], "action": c["action"]} for c in items],
                        columns=["change", "kind", "action"])


def clear_caches() -> None:
    """Forget every cached version, engine and draft review (tests call this between cases)."""
    st.cache_data.clear()
    st.cache_resource.clear()
