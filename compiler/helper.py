"""The `dqm` command's helper: a second process, so that one command uses both cores.

`start(workbook)` forks it first thing, while the command is still one thread (numpy and pandas
start thread pools when imported, and a forked copy of a lock another thread held can deadlock).
1. The helper reads the workbook (raw.stream: the container checks, then calamine, one sheet
   at a time) while the main process imports pandas and pandera; `take` hands the reading
   over, used only if its sha256 is that of the bytes the main process read itself, and the
   main process checks each sheet while the helper still reads the next.
2. For `dqm compile` it then waits: the compile `submit`s the ruleset it has built, and the
   helper writes its JDM graph to a temporary file beside the graph's place (atomic.prepare)
   while the main process runs the Tests and diffs, seals and writes the version; the store,
   holding the publish lock, links that file into place (`jdm_file`), or makes the graph itself.
A helper that fails in any way only means the main process does that work itself. The library,
the app and the tests never start one (benchmarks/README.md has the figures).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import select
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import orjson

from .container import MAX_FILE_BYTES
from .sheets import SHEET_NAMES


@dataclass
class _Helper:
    pid: int
    workbook: str  # absolute path
    reading: int | None  # read end: framed pickles: sha256, RawBook, its sheets, None (the end)
    job: int | None  # write end: the ruleset to make a JDM graph of (closed empty: none)
    result: int | None  # read end: the path of the temporary file holding the graph
    submitted: tuple[int, str] | None = None  # the version and content_sha256 of that ruleset
    sending: threading.Thread | None = None


_helper: _Helper | None = None
LEAVE = 0.35  # of the workbook's cells: the last sheets, read by the main process (raw.stream)


def start(workbook: str | Path, jdm: bool = False) -> None:
    """Fork the helper for `workbook` (and, with `jdm`, for its JDM graph), if this process has
    one thread; otherwise do nothing."""
    global _helper
    if _helper is not None or _threads() != 1:
        return
    key = os.path.abspath(workbook)
    pipes: list[tuple[int, int]] = []
    try:
        for _ in range(3):
            pipes.append(os.pipe())
        pid = os.fork()
    except OSError:  # no helper: the main process does it all
        for fd in (fd for pair in pipes for fd in pair):
            os.close(fd)
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


def take(workbook: str | Path, sha256: str, data: bytes):
    """The helper's reading of `workbook` (a raw.RawBook), if it read these very bytes (`data`).
    Its sheets arrive while the caller works on the ones before: `sheets.get(name)` waits for
    that one, reading the sheets the helper left (`raw.stream`) whenever none is ready. Should
    the helper stop half-way, the rest is read here (raw.read_raw)."""
    h = _helper
    if h is None or h.reading is None or h.workbook != os.path.abspath(workbook):
        return None
    pipe = os.fdopen(h.reading, "rb", buffering=0)  # unbuffered: select() sees what is waiting
    h.reading = None
    try:
        digest, book = _receive(pipe), _receive(pipe)
    except _Ended:
        digest = book = None
    if digest != sha256 or book is None:
        _done_reading(h, pipe)
        return None
    from . import raw

    left = raw.read_left(data, book.container, book.left) if book.left else iter(())
    book.sheets = _Arriving(h, pipe, left, lambda: raw.read_raw(data, Path(workbook).name))
    return book


class _Ended(Exception):
    """The helper's stream ended before its end mark."""


class _Arriving:
    """A RawBook's sheets: the helper's as it sends them, in SHEET_NAMES order (those the
    workbook has), and the ones it left, read here meanwhile."""

    def __init__(self, h: _Helper, pipe, left: Iterator, fallback: Callable[[], Any]):
        self._h, self._pipe, self._left, self._fallback = h, pipe, left, fallback
        self._sheets: dict[str, Any] = {}
        self._sent: list[int] = []  # SHEET_NAMES positions of the helper's sheets received
        self._open = True

    def get(self, name: str, default=None):
        order = SHEET_NAMES.index(name)
        while name not in self._sheets and (self._left or self._open and not any(
                i > order for i in self._sent)):
            if self._left and (not self._open or not select.select([self._pipe], [], [], 0)[0]
                               or name not in self._awaited()):
                self._read_left()
            else:
                self._pull()
        return self._sheets.get(name, default)

    def items(self):
        while self._open or self._left:
            self._read_left() if self._left else self._pull()
        return self._sheets.items()

    def _awaited(self) -> set[str]:
        """Names the helper may still send (not received, and not after the last received)."""
        last = max(self._sent, default=-1)
        return {n for n in SHEET_NAMES[last + 1:] if n not in self._sheets}

    def _read_left(self) -> None:
        sheet = next(self._left, None)
        if sheet is None:
            self._left = None
        else:
            self._sheets[sheet.name] = sheet

    def _pull(self) -> None:
        try:
            sheet = _receive(self._pipe)
        except _Ended:  # the helper stopped half-way: read the rest here
            self._sheets = {**self._fallback().sheets, **self._sheets}
            self._left, sheet = None, None
        if sheet is None:
            self._open = False
            _done_reading(self._h, self._pipe)
        else:
            self._sheets[sheet.name] = sheet
            self._sent.append(SHEET_NAMES.index(sheet.name))


def submit_jdm(ruleset: dict[str, Any], into: Path) -> None:
    """Hand the helper a ruleset (built content with the version number it should get) to make
    the JDM graph of, as a finished temporary file beside `into` (atomic.prepare)."""
    h = _helper
    if h is None or h.job is None:
        return
    job, h.job = h.job, None
    # What jdm.graph reads, serialised whole: orjson is faster at it than picking fields out.
    data = orjson.dumps({"into": str(into), "ruleset": {
        k: ruleset[k] for k in ("ruleset_id", "version", "policies")}})

    def send() -> None:  # a thread: the pipe takes the job only as fast as the helper reads it
        try:
            with os.fdopen(job, "wb") as out:
                out.write(data)
        except OSError:  # the helper is gone: jdm_file will find nothing
            pass

    h.sending = threading.Thread(target=send, daemon=True)
    h.sending.start()
    h.submitted = (ruleset["version"], ruleset["content_sha256"])


def jdm_file(version: int, content_sha256: str) -> str | None:
    """The temporary file holding the graph, if the helper made it for this version of this
    content; None otherwise (the caller makes the graph)."""
    h = _helper
    if h is None or h.result is None or h.submitted != (version, content_sha256):
        return None
    made = _read_all(h.result).decode()
    h.result = None
    h.sending.join()
    _reap(h)
    return made or None


def discard_jdm() -> None:
    """Remove the helper's graph if nobody took it (nothing was published): wait for it first."""
    h = _helper
    if h is None or h.result is None or h.submitted is None:
        return
    made = jdm_file(*h.submitted)
    if made:
        Path(made).unlink(missing_ok=True)


def alive(pid: int) -> bool:
    """Whether a helper process (named in its temporary files) still runs."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _serve(workbook: str, reading: int, job: int | None, result: int) -> None:
    code = 1
    try:
        with os.fdopen(reading, "wb") as out:  # closed however this ends: the reader sees EOF
            from . import raw

            if os.path.getsize(workbook) <= MAX_FILE_BYTES:
                data = Path(workbook).read_bytes()
                _send(out, hashlib.sha256(data).hexdigest())
                # each sent as soon as read; the last sheets, a third of the cells, are left
                # to the main process to read while it waits for these
                for piece in raw.stream(data, Path(workbook).name, leave=LEAVE):
                    _send(out, piece)
                _send(out, None)  # the end mark
        if job is not None:
            from . import atomic, jdm, store  # light (no pandas): ready before the job comes

            request = _read_all(job)
            if request:
                request = orjson.loads(request)
                graph = store.canonical_bytes(jdm.graph(request["ruleset"]))
                made = atomic.prepare(request["into"], graph, f"helper-{os.getpid()}")
                with os.fdopen(result, "wb") as out:
                    out.write(made.encode())
        code = 0
    finally:
        os._exit(code)  # never the main process's exit handlers or buffered output


def _send(out, obj) -> None:
    payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(len(payload).to_bytes(8, "big") + payload)
    out.flush()


def _receive(pipe):
    size = int.from_bytes(_exactly(pipe, 8), "big")
    return pickle.loads(_exactly(pipe, size))  # written by our own forked copy, never by a user


def _exactly(pipe, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = pipe.read(n - got)
        if not chunk:
            raise _Ended
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _done_reading(h: _Helper, pipe) -> None:
    pipe.close()
    if h.job is None:
        _reap(h)


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
