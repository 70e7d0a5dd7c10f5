"""The `dqm` command's helper: a second process, so that one command uses both cores.

`start(workbook)` forks it first thing, while the command is still one thread (numpy and pandas
start thread pools when imported, and a forked copy of a lock another thread held can deadlock).
1. The helper reads the workbook (raw.read_raw: the container checks, then calamine) while the
   main process imports pandas and pandera; `take` hands the reading over, and it is used only
   if its sha256 is that of the bytes the main process read itself.
2. For `dqm compile` it then imports the JDM builder and waits: the compile `submit`s the ruleset
   it has built, and the helper makes the JDM graph's bytes while the main process runs the Tests
   and diffs, seals and writes the version; the store collects them with `jdm_bytes` and writes
   them itself (it stays the only writer of exports/).
A helper that fails in any way only means the main process does that work itself. The library,
the app and the tests never start one (benchmarks/README.md has the figures).
"""

from __future__ import annotations

import hashlib
import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from .container import MAX_FILE_BYTES


@dataclass
class _Helper:
    pid: int
    workbook: str  # absolute path
    reading: int | None  # read end: the pickled (sha256, RawBook)
    job: int | None  # write end: the ruleset to make a JDM graph of (closed empty: none)
    result: int | None  # read end: the graph's canonical bytes
    submitted: tuple[int, str] | None = None  # the version and content_sha256 of that ruleset


_helper: _Helper | None = None


def start(workbook: str | Path, jdm: bool = False) -> None:
    """Fork the helper for `workbook` (and, with `jdm`, for its JDM graph), if this process has
    one thread; otherwise do nothing."""
    global _helper
    if _helper is not None or _threads() != 1:
        return
    key = os.path.abspath(workbook)
    try:
        pipes = [os.pipe() for _ in range(3)]
        pid = os.fork()
    except OSError:
        return
    (reading_r, reading_w), (job_r, job_w), (result_r, result_w) = pipes
    if pid == 0:
        for fd in (reading_r, job_w, result_r):
            os.close(fd)
        _serve(key, reading_w, job_r if jdm else None, result_w)  # never returns
    for fd in (reading_w, job_r, result_w):
        os.close(fd)
    if not jdm:
        os.close(job_w)
        os.close(result_r)
    _helper = _Helper(pid, key, reading_r, job_w if jdm else None, result_r if jdm else None)


def take(workbook: str | Path, sha256: str):
    """The helper's reading of `workbook` (a raw.RawBook), if it read these very bytes."""
    h = _helper
    if h is None or h.reading is None or h.workbook != os.path.abspath(workbook):
        return None
    payload = _read_all(h.reading)
    h.reading = None
    if h.job is None:
        _reap(h)
    try:
        digest, book = pickle.loads(payload)  # written by our own forked copy, never by a user
    except Exception:
        return None
    return book if digest == sha256 else None


def submit_jdm(ruleset: dict[str, Any]) -> None:
    """Hand the helper a ruleset (built content with the version number it should get) to make
    the JDM graph of."""
    h = _helper
    if h is None or h.job is None:
        return
    job, h.job = h.job, None
    try:
        with os.fdopen(job, "wb") as out:
            out.write(orjson.dumps(ruleset))
        h.submitted = (ruleset["version"], ruleset["content_sha256"])
    except OSError:  # the helper is gone
        os.close(h.result)
        h.result = None
        _reap(h)


def jdm_bytes(version: int, content_sha256: str) -> bytes | None:
    """The graph's canonical bytes from the helper, if it made them for this version of this
    content; None otherwise (the caller makes them)."""
    h = _helper
    if h is None or h.result is None or h.submitted != (version, content_sha256):
        return None
    data = _read_all(h.result)
    h.result = None
    _reap(h)
    return data or None


def _serve(workbook: str, reading: int, job: int | None, result: int) -> None:
    code = 1
    try:
        with os.fdopen(reading, "wb") as out:  # closed however this ends: the reader sees EOF
            from . import raw

            if os.path.getsize(workbook) <= MAX_FILE_BYTES:
                data = Path(workbook).read_bytes()
                out.write(pickle.dumps((hashlib.sha256(data).hexdigest(),
                                        raw.read_raw(data, Path(workbook).name)),
                                       protocol=pickle.HIGHEST_PROTOCOL))
        if job is not None:
            from . import jdm, store  # imported while the main process validates

            ruleset = _read_all(job)
            if ruleset:
                graph = store.canonical_bytes(jdm.graph(orjson.loads(ruleset)))
                with os.fdopen(result, "wb") as out:
                    out.write(graph)
        code = 0
    finally:
        os._exit(code)  # never the main process's exit handlers or buffered output


def _read_all(fd: int) -> bytes:
    with os.fdopen(fd, "rb") as pipe:
        return pipe.read()


def _reap(h: _Helper) -> None:
    try:
        os.waitpid(h.pid, 0)
    except ChildProcessError:
        pass


def _threads() -> int:
    try:
        return len(os.listdir("/proc/self/task"))  # threads of any language, not only Python's
    except OSError:
        return 0  # unknown: do not fork
