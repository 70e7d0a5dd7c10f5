"""Memory handed back to the system: what a long `dqm decide` run and a reviewer app's server do
so that their resident memory follows what they hold, not what they once held.

glibc's malloc keeps what is freed in its arenas (one per thread that allocates, up to eight a
core), and each arena's pages stay resident; Arrow's mimalloc keeps its own. Both are told here,
on the systems that have them (glibc's `mallopt` and `malloc_trim`; elsewhere nothing is done).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os

M_ARENA_MAX = -8  # glibc's mallopt parameter

_LIBC = None
if os.name == "posix":
    try:
        _LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        if not hasattr(_LIBC, "malloc_trim"):  # glibc only
            _LIBC = None
    except OSError:
        _LIBC = None


def few_arenas() -> None:
    """glibc with two arenas for the process, not one per thread: a run's threads (reading,
    deciding, the history, the buckets, writing) each kept the pages of their own. Called before
    the threads start, by what owns the process (the command line, a server)."""
    if _LIBC is not None and hasattr(_LIBC, "mallopt"):
        _LIBC.mallopt(M_ARENA_MAX, 2)


def give_back() -> None:
    """Hand what was freed back to the system: Arrow's pool, then glibc's arenas."""
    import pyarrow as pa

    with contextlib.suppress(Exception):  # an allocator without the call: nothing to give back
        pa.default_memory_pool().release_unused()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)
