"""Deciding a stream of claim batches: read a batch, decide it, write it, in order, with reading,
deciding and writing overlapped on the machine's cores and memory bounded by the batches in flight.

A reader thread feeds a short queue of claim batches (pyarrow reads with the GIL released), this
thread decides them with the same function a whole frame is decided with, and a writer thread
writes each batch's decisions whole before the next. Where a batch can be made ready to write
ahead (CSV: its text; Parquet: the table Arrow's writer takes), a small pool does it, batches side
by side, and the writer thread only writes, in input order. When reading fails part-way, the
batches before the failure are decided and written, then the reader's error is raised; when
writing fails, reading stops and the writer's error is raised.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

DEPTH = 2  # batches waiting on each side: enough to keep both cores busy, few enough to be small
ENCODERS = 2  # batches made ready to write at once (one per core of a small machine)


@dataclass
class Tally:
    """How far a stream got: claims read and decisions written (whole batches)."""

    read: int = 0
    written: int = 0


class _Failed:
    def __init__(self, error: BaseException):
        self.error = error


_END = object()


def decide_stream(
    batches: Iterable[Any],
    decide: Callable[[Any], Any],
    write: Callable[[Any], None],
    tally: Tally | None = None,
    size: Callable[[Any], int] = len,
    encode: Callable[[Any], Any] | None = None,
) -> Tally:
    """Decide every batch of `batches` with `decide` and hand each result to `write`, in order
    (first through `encode`, when given: on a pool of ENCODERS threads, several batches at once);
    `size` counts a result's decisions. Returns the tally (also kept in `tally`, for a caller
    that wants to know how far a failed stream got)."""
    tally = tally or Tally()
    stop = threading.Event()
    claims: queue.Queue = queue.Queue(DEPTH)
    # (result or its encoding's future, decisions in it); the pool's batches count here too.
    decided: queue.Queue = queue.Queue(DEPTH + (ENCODERS if encode else 0))
    failure: list[BaseException] = []
    pool = ThreadPoolExecutor(ENCODERS, thread_name_prefix="dqm-encode") if encode else None

    def read() -> None:
        try:
            for batch in batches:
                tally.read += len(batch)
                if not _put(claims, batch, stop):
                    return
            _put(claims, _END, stop)
        except BaseException as exc:  # handed to the deciding thread, raised there
            _put(claims, _Failed(exc), stop)

    def write_all() -> None:
        try:
            while (item := _get(decided, stop)) is not _END and item is not None:
                result, n = item
                write(result.result() if isinstance(result, Future) else result)
                tally.written += n
        except BaseException as exc:
            failure.append(exc)
            stop.set()

    reader = threading.Thread(target=read, name="dqm-read", daemon=True)
    writer = threading.Thread(target=write_all, name="dqm-write", daemon=True)
    reader.start()
    writer.start()
    read_error: BaseException | None = None
    try:
        while not stop.is_set():
            item = _get(claims, stop)
            if item is _END or item is None:
                break
            if isinstance(item, _Failed):
                read_error = item.error
                break
            result = decide(item)
            n = size(result)
            if pool is not None:
                result = pool.submit(encode, result)
            if not _put(decided, (result, n), stop):
                break
        _put(decided, _END, stop)
        writer.join()
    finally:
        stop.set()  # the reader, if still reading, stops at its next batch
        reader.join()
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    if failure:
        raise failure[0]
    if read_error is not None:
        raise read_error
    return tally


def _put(q: queue.Queue, item: object, stop: threading.Event) -> bool:
    """Put `item` when there is room; False if the stream stopped first."""
    while not stop.is_set():
        try:
            q.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def _get(q: queue.Queue, stop: threading.Event) -> object:
    """The next item, or None if the stream stopped first."""
    while not stop.is_set():
        try:
            return q.get(timeout=0.1)
        except queue.Empty:
            continue
    return None
