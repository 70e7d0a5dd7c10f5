"""A process-wide cache keyed by what a value depends on, shared by every session."""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

_MEMOS: list[Callable] = []


def memo(max_entries: int, by_content: bool = False) -> Callable:
    """A process-wide cache of a function's results by its first argument, a key the caller
    makes from what it depends on (the files on disk, a version's sha256); the other arguments
    are not looked at. One dict lookup per call: st.cache_resource hashes every argument (about
    a millisecond a call, several calls a rerun, twenty reviewers at once). Values are shared
    between sessions and never changed. `by_content`: the value depends on nothing but the
    content whose sha256 the key holds, so no change to a store's files can make it stale."""

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
        cached.by_content = by_content  # type: ignore[attr-defined]
        _MEMOS.append(cached)
        return cached

    return decorate


def clear_caches(keep_content: bool = False) -> None:
    """Forget every cached version, engine, listing and chart (tests call this between cases).
    With `keep_content`, keep what is cached by content (a chart, a version's drug names, by
    its content's sha256), as a server keeps it for every session; forget the rest."""
    for cached in _MEMOS:
        if not (keep_content and cached.by_content):
            cached.cache_clear()
