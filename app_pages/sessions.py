"""What the server process does beside the pages, started by the first run rather than on import:
the draft check's fork server warmed up, and each ended session's memory given back."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import os
import threading
import time
import weakref

import streamlit as st
from streamlit import runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from compiler import budget

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


_warmed = threading.Event()


def warm_up() -> None:
    """Once per process: the draft check's fork server imports dqm in the background, so the first
    draft a reviewer uploads does not wait for it."""
    if not _warmed.is_set():
        _warmed.set()
        threading.Thread(target=budget.warm_up, name="dqm-warm-up", daemon=True).start()
