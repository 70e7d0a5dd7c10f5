"""What the server process does beside the pages, started by the first run rather than on import:
the draft check's fork server warmed up, and each ended session's memory given back."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import threading
import time
import weakref

import streamlit as st
from streamlit import runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from compiler import budget, memory

JANITOR_SECONDS = 10  # how often ended sessions are looked for


def release_with_session() -> None:
    """Once per session: when Streamlit drops the session, its uploads go too and the memory it
    held goes back to the system. Streamlit forgets a disconnected session once its TTL has
    passed (server.disconnectedSessionTTL), but only when another session next disconnects, and
    then without shutting it down: its uploads, its downloads' data and its tables' sources stay
    with the server. Python frees the session's objects only when its collector runs, and glibc
    and Arrow keep freed pages for reuse. A 1M-claim batch left ~1.3 GB resident after its
    session, sixteen 9 MB uploads ~1 GB; a janitor thread sees to all of it."""
    if "_release" in st.session_state:
        return
    ctx = get_script_run_ctx()
    marker = _SessionMarker()
    weakref.finalize(marker, _session_ended, ctx.session_id if ctx else None)
    st.session_state["_release"] = marker
    with contextlib.suppress(Exception):  # no runtime (AppTest), or another Streamlit
        _watch_session_store()
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
        with contextlib.suppress(Exception):  # no runtime (AppTest), or another Streamlit
            _reap_expired_sessions()
        gc.collect()  # a dropped session's objects sit in reference cycles: finalizers run here
        if _ended.is_set():
            _ended.clear()
            memory.give_back()


def _reap_expired_sessions() -> None:
    """Shut down, as Streamlit's own close_session does, every stored session whose reconnect
    time has passed, on Streamlit's event loop (its session store is not thread-safe). Sessions
    that Streamlit's store drops on its own are shut down too (_shut_down_when_dropped)."""
    manager, cache, loop = _watch_session_store()

    async def reap() -> None:
        with manager._storage_lock:
            cache.expire()
        await asyncio.sleep(0)  # the shutdowns expire() scheduled run before this returns

    asyncio.run_coroutine_threadsafe(reap(), loop).result(timeout=60)


def _watch_session_store():
    """Once per process: the sessions Streamlit's store drops (expired, or the oldest past its
    size) are shut down on the event loop rather than only forgotten. A reconnect takes its
    session out of the store by deleting it, which this leaves alone. Returns the session
    manager, its store's cache and the event loop."""
    rt = runtime.get_instance()
    manager = rt._session_mgr
    cache = manager._session_storage._cache
    loop = rt._get_async_objs().eventloop
    with _janitor_lock:
        if not getattr(cache, "_dqm_shuts_down", False):
            _shut_down_when_dropped(cache, loop)
    return manager, cache, loop


def _shut_down_when_dropped(cache, loop: asyncio.AbstractEventLoop) -> None:
    expire, evict = cache.expire, cache._evict_lru

    def shut_down(session) -> None:
        loop.call_soon_threadsafe(session.shutdown)

    def expire_and_shut_down(at_time=None):
        removed = expire(at_time)
        for _, info in removed:
            shut_down(info.session)
        return removed

    def evict_and_shut_down(reason):
        info = evict(reason)
        shut_down(info.session)
        return info

    cache.expire, cache._evict_lru = expire_and_shut_down, evict_and_shut_down
    cache._dqm_shuts_down = True


# The draft check's fork server imports dqm once, in the background, as the server starts.


_warmed = threading.Event()


def warm_up() -> None:
    """Once per process: the draft check's fork server imports dqm in the background, so the first
    draft a reviewer uploads does not wait for it; a server's allocators set to give memory back."""
    if not _warmed.is_set():
        _warmed.set()
        threading.Thread(target=budget.warm_up, name="dqm-warm-up", daemon=True).start()
        if runtime.exists():  # a server, not AppTest inside another program
            _allocators_that_give_back()


def _allocators_that_give_back() -> None:
    """Arrow on the system allocator: its default, mimalloc, kept ~300 MB of sixteen 9 MB
    batches resident after their sessions had ended and been freed, where glibc's malloc_trim
    gives it back. glibc with two arenas: one per script thread otherwise, each keeping pages."""
    import pyarrow as pa

    pa.set_memory_pool(pa.system_memory_pool())
    memory.few_arenas()
