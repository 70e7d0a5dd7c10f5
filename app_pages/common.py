"""What every page shares: the exports store, verified versions cached per file state, the ruleset
and version the reviewer chose, the engines that decide for them, and how text from files is
shown (`md`, `plain`): as text, never as markup."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import gc
import os
import re
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st
from streamlit import runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from compiler import budget
from compiler.decide.claims import claims_frame
from compiler.decide.engine import Engine
from compiler.decide.versions import Versions
from compiler.effective import takes_effect
from compiler.ruleset import walk
from compiler.ruleset.index import index_entry
from compiler.ruleset.store import Store, StoreError
from compiler.vocabulary import CLAIM_COLUMNS, plain_text

APP_DIR = Path(__file__).resolve().parents[1]
MB = 1_000_000

# -- text from files, shown as text ------------------------------------------------------------------

# Every ASCII punctuation character: CommonMark lets any of them be escaped, and escaped they are
# text (no emphasis, heading, list, link, image, HTML, math, Streamlit colour or icon directive).
_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
# GitHub's autolinks find URLs and e-mail addresses in the text itself, escaped or not: a word
# joiner (U+2060, invisible, no break) after "://", "www" and "@" keeps them text.
_AUTOLINK = re.compile(r"(://|(?<![^\W_])www(?=\.)|@)", re.IGNORECASE)
WORD_JOINER = "\u2060"


def plain(value: object) -> str:
    """Text from a workbook, a claims file or a file name for an element that shows plain text
    (st.text, a select box's options, a chart's labels): one line, no bidi or control characters."""
    return plain_text(value)


def md(value: object) -> str:
    """The same for an element that reads Markdown (st.markdown, captions, alerts, table cells,
    titles): escaped so that it shows exactly as written and links, loads or formats nothing."""
    return _PUNCTUATION.sub(r"\\\1", _AUTOLINK.sub(r"\1" + WORD_JOINER, plain_text(value)))


# -- the store, read through caches keyed by what is on disk ---------------------------------------


def exports_dir() -> Path:
    """The exports store the app reads: $DQM_EXPORTS, or the bundled exports/ beside app.py."""
    return Path(os.environ.get("DQM_EXPORTS") or APP_DIR / "exports")


def store() -> Store:
    return Store(exports_dir())


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


_MEMOS: list[Callable] = []


def memo(max_entries: int) -> Callable:
    """A process-wide cache of a function's results by its first argument, a key the caller
    makes from what it depends on (the files on disk, a version's sha256); the other arguments
    are not looked at. One dict lookup per call: st.cache_resource hashes every argument (about
    a millisecond a call, several calls a rerun, twenty reviewers at once). Values are shared
    between sessions and never changed."""

    def decorate(fn: Callable) -> Callable:
        cache: OrderedDict[Hashable, Any] = OrderedDict()
        lock = threading.Lock()

        @functools.wraps(fn)
        def cached(key: Hashable, *args: Any) -> Any:
            with lock:
                if key in cache:
                    cache.move_to_end(key)
                    return cache[key]
            value = fn(key, *args)  # two sessions may both compute it once: the same value
            with lock:
                cache[key] = value
                while len(cache) > max_entries:
                    cache.popitem(last=False)
            return value

        cached.cache_clear = cache.clear  # type: ignore[attr-defined]
        _MEMOS.append(cached)
        return cached

    return decorate


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
        return Store(root).load(ruleset_id, version), None
    except StoreError as exc:
        return None, str(exc)


@memo(max_entries=32)
def _engine(content_key: str, ruleset: dict[str, Any]) -> Engine:
    return Engine(ruleset)


def engine_for(version: dict[str, Any]) -> Engine:
    """One engine per published version, by its sha256 (a draft's engines live in its check)."""
    return _engine(version["sha256"], version)


@dataclass(frozen=True)
class Offered:
    """What a version offers the One claim form, walked once per version."""

    drug_names: list[str]
    attested_criteria: list[str]


@memo(max_entries=32)
def _offered(content_key: str, ruleset: dict[str, Any]) -> Offered:
    return Offered(walk.drug_names(ruleset), walk.attested_criteria(ruleset))


def offered(version: dict[str, Any]) -> Offered:
    return _offered(version["sha256"], version)


@dataclass(frozen=True)
class Listed:
    """One published version as the app lists it: its index entry, or why it is refused."""

    version: int
    entry: dict[str, Any] | None = None  # compiler.ruleset.store.index_entry, when it can be read
    refused: str | None = None  # the store's words, when it cannot

    @property
    def label(self) -> str:
        """`v4 · reviewed 2026-12-01 · in effect from 2025-12-08 · Selected Revision: …` (or why
        it is refused), as plain text: select boxes show their options as text."""
        if self.entry is None:
            return f"v{self.version} · refused: changed since it was published"
        dates = ", ".join(sorted(set(self.entry["review_dates"].values())))
        return plain(
            " · ".join(
                [
                    f"v{self.version}",
                    f"reviewed {dates}",
                    f"in effect from {self.entry['effective_date'] or 'the start'}",
                    *history_summary(self.entry),
                ]
            )
        )


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
    listing = Store(root).listing(ruleset_id, lambda v: load_version(ruleset_id, v))
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
        sidebar.warning(f"No published rulesets in {md(s.root)}/. Publish one with `dqm compile`.")
        return None
    ruleset_id = sidebar.selectbox("Ruleset", ids, key="ruleset_id", format_func=plain)
    listed, problem = _listed((str(s.root), ruleset_id, folder_state(ruleset_id)))
    versions = list(listed)
    version = sidebar.selectbox(
        "Version",
        versions,
        index=len(versions) - 1,
        key=f"version:{ruleset_id}",
        format_func=lambda v: listed[v].label,
    )
    if problem is not None and all(item.entry is not None for item in listed.values()):
        sidebar.warning(md(problem))
    chosen = listed[version]
    if chosen.entry is None:
        sidebar.error(md(chosen.refused))
        return None
    doc = load_version(ruleset_id, version)
    sidebar.caption(  # one element, a line each: every element is a message to the browser
        "  \n".join(
            [f"In effect from {md(chosen.entry['effective_date'] or 'the start')}"]
            + [f"{md(pid)}: {md(words)}" for pid, words in walk.review_words(doc).items()]
            + [f"History: {md(text)}" for text in history_summary(chosen.entry)]
        )
    )
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
            else plain(f"{choice.label}, chosen in the sidebar")
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
    `— policy retired 2026-12-01` after a product whose policy is retired, as plain text."""
    product = engine.product(product_id)
    retired = f" — policy retired {product.retired_on}" if product.retired_on else ""
    return plain(f"{product.label} ({product_id}){retired}")


def editable(claims: pd.DataFrame) -> pd.DataFrame:
    """A claims frame as the batch editor shows it: contract columns, blanks as empty text."""
    out = claims.reindex(columns=CLAIM_COLUMNS).astype(object)
    return out.where(out.notna(), "").reset_index(drop=True)


@memo(max_entries=64)
def starting_table(
    source: tuple, claims_or_version: pd.DataFrame | dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The Batch editor's starting table and the claims it holds unedited, made once per
    version's Tests (source ("tests", sha256), given the version) or uploaded file (("file",
    file id), given its claims), not on every rerun."""
    claims = (
        walk.tests_as_claims(claims_or_version)
        if isinstance(claims_or_version, dict)
        else claims_or_version
    )
    table = editable(claims)
    return table, table_claims(table)


def table_claims(table: pd.DataFrame) -> pd.DataFrame:
    """The claims an editor's table holds (blank cells as missing)."""
    return claims_frame(table.astype(object).where(table.notna(), "").to_dict("records"))


def changes_table(items: list[dict[str, Any]]) -> pd.DataFrame:
    """The compiler's change records (compiler.ruleset.diff.changes) as a table: its wording first."""
    return pd.DataFrame(
        [{"change": c["text"], "kind": c["kind"], "action": c["action"]} for c in items],
        columns=["change", "kind", "action"],
    )


# -- memory: what a session holds goes with it --------------------------------------------------------

JANITOR_SECONDS = 10  # how often ended sessions are looked for


def release_with_session() -> None:
    """Once per session: when Streamlit drops the session, its uploads go too and the memory it
    held goes back to the system. Streamlit drops a disconnected session once its TTL has passed
    (server.disconnectedSessionTTL) but only when its session store is next used, and then
    without removing the session's uploaded files; Python frees the session's objects only when
    its collector runs, and glibc and Arrow keep freed pages for reuse. A 1M-claim batch left
    ~1.3 GB resident after its session; a janitor thread sees to all three."""
    if "_release" in st.session_state:
        return
    ctx = get_script_run_ctx()
    marker = _SessionMarker()
    weakref.finalize(marker, _session_ended, ctx.session_id if ctx else None)
    st.session_state["_release"] = marker
    _start_janitor()


class _SessionMarker:
    """An object only the session's state holds: its finalizer runs when the session is dropped."""


_ended = threading.Event()
_janitor_lock = threading.Lock()
_janitor: threading.Thread | None = None


def _session_ended(session_id: str | None) -> None:
    # The uploads Streamlit keeps per session until the session is shut down (no runtime in
    # AppTest, or an uploads manager without the call: nothing to remove).
    with contextlib.suppress(Exception):
        runtime.get_instance().uploaded_file_mgr.remove_session_files(session_id)
    _ended.set()


def _start_janitor() -> None:
    global _janitor
    with _janitor_lock:
        if _janitor is None or not _janitor.is_alive():
            _janitor = threading.Thread(target=_janitor_loop, name="dqm-janitor", daemon=True)
            _janitor.start()


def _janitor_loop() -> None:
    while True:
        time.sleep(JANITOR_SECONDS)
        # Streamlit reaps expired sessions from its store when the store is used.
        with contextlib.suppress(Exception):
            runtime.get_instance()._session_mgr.list_sessions()
        gc.collect()  # a dropped session's objects sit in reference cycles: finalizers run here
        if _ended.is_set():
            _ended.clear()
            _give_back_memory()


def _give_back_memory() -> None:
    try:
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    except Exception:  # an allocator without the call: nothing to give back
        pass
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


_LIBC = None
if os.name == "posix":
    try:
        _LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        if not hasattr(_LIBC, "malloc_trim"):  # glibc only
            _LIBC = None
    except OSError:
        _LIBC = None


# The draft check's fork server imports dqm once, in the background, as the server starts.
threading.Thread(target=budget.warm_up, name="dqm-warm-up", daemon=True).start()


def clear_caches() -> None:
    """Forget every cached version, engine, listing and chart (tests call this between cases)."""
    for cached in _MEMOS:
        cached.cache_clear()
