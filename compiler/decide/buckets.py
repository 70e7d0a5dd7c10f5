"""A run too large to hold, decided in bounded memory: its windows worked out bucket by bucket.

What a Per Days claim's decision needs from the rest of the run is what its member received in
its window (run.accumulated), which depends only on the claims and fills of the same member. So
the run's first pass writes each claim's window terms and each history fill into one of BUCKETS
files on disk by a hash of the member (the history's fills on a thread of their own, beside the
claims: each half of the pass leaves the GIL for much of its numpy and Arrow work), each bucket
is then worked out alone (every member's claims and fills are in one bucket; two at a time, on
two threads), and the claims are decided again in their own order with what each member
received. Memory holds two buckets, two batches, and 8 bytes per claim. The versions' engines are made once each; two made at once by
the two threads would be alike (a ruleset's engine is made from its file alone).
"""

from __future__ import annotations

import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa

from .. import memory
from .arrays import int_array, ints
from .decisions import Decisions
from .evaluation import ACCUMULATED, TERMS_ONLY
from .run import FILLS, TERMS, Decide, accumulated, claim_columns, empty, fills, terms

BUCKETS = 64
# Rows (terms and fills) of the buckets worked out at once: two buckets of a run of 10M claims
# (300,000 rows each), one of a larger run's, so that memory does not grow with the run.
IN_FLIGHT = 700_000
_P = np.uint64(1_099_511_628_211)  # FNV's 64-bit prime: a multiplier that mixes bytes well


def member_bucket(members: pa.Array | pa.ChunkedArray, buckets: int) -> np.ndarray:
    """Each member's bucket (0 .. buckets-1), the same for the same text in any batch: a
    polynomial hash of its UTF-8 bytes, computed without a Python call per member."""
    if isinstance(members, pa.ChunkedArray):
        members = members.combine_chunks()
    encoded = members.dictionary_encode()  # each member hashed once however many claims it has
    return _hashed(encoded.dictionary, buckets)[ints(encoded.indices)]


def _hashed(members: pa.Array, buckets: int) -> np.ndarray:
    members = members.cast(pa.large_string())
    n = len(members)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    _, offsets_buffer, data_buffer = members.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[members.offset : members.offset + n + 1]
    lengths = np.diff(offsets)
    start, end = int(offsets[0]), int(offsets[-1])
    data = np.frombuffer(data_buffer, dtype=np.uint8)[start:end].astype(np.uint64)
    if not len(data):
        return np.zeros(n, dtype=np.int64)
    position = np.arange(end - start) - np.repeat(offsets[:-1] - start, lengths)
    with np.errstate(over="ignore"):  # the hash is meant to wrap around 2**64
        powers = np.ones(int(lengths.max()), dtype=np.uint64)
        powers[1:] = np.cumprod(np.full(len(powers) - 1, _P, dtype=np.uint64))
        # Each member's sum of (byte + 1) * P**i, as differences of one running sum (mod 2**64)
        running = np.concatenate(
            [[np.uint64(0)], np.cumsum((data + np.uint64(1)) * powers[position])]
        )
        hashes = running[offsets[1:] - start] - running[offsets[:-1] - start]
        hashes ^= hashes >> np.uint64(29)
    return (hashes % np.uint64(buckets)).astype(np.int64)


class Spill:
    """Window terms and fills written by member into bucket files under a private folder that
    disappears with the run (close, or leaving the `with`)."""

    def __init__(self, where: str | Path | None = None, buckets: int = BUCKETS):
        self._folder = tempfile.TemporaryDirectory(prefix=".dqm-run-", dir=where)
        self.root, self.buckets = Path(self._folder.name), buckets
        self._writers: dict[tuple[str, int], pa.ipc.RecordBatchStreamWriter] = {}
        # Rows per bucket, per kind (each kind added by one thread: no count is shared)
        self._rows = {kind: np.zeros(buckets, dtype=np.int64) for kind in ("terms", "fills")}

    def __enter__(self) -> Spill:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()
        self._folder.cleanup()

    def add(self, kind: str, table: pa.Table) -> None:
        """Rows of `table` (TERMS or FILLS) into their members' buckets."""
        if not table.num_rows:
            return
        bucket = member_bucket(table.column("member"), self.buckets)
        order = np.argsort(bucket, kind="stable")
        bounds = np.searchsorted(bucket[order], np.arange(self.buckets + 1))
        table = table.take(int_array(order))  # once, each bucket then a slice of it
        self._rows[kind] += np.diff(bounds)
        for b in np.flatnonzero(np.diff(bounds)):
            part = table.slice(bounds[b], bounds[b + 1] - bounds[b])
            self._writer(kind, int(b), table.schema).write_table(part)

    def _writer(self, kind: str, bucket: int, schema: pa.Schema) -> pa.ipc.RecordBatchStreamWriter:
        key = (kind, bucket)
        if key not in self._writers:
            self._writers[key] = pa.ipc.new_stream(
                str(self.root / f"{kind}-{bucket}.arrow"), schema
            )
        return self._writers[key]

    def accumulated(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Per bucket, (positions in the run, what each claim's member received in its window)."""
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()
        # Two buckets at a time on two threads (numpy's sorts and Arrow leave the GIL) while
        # their rows together are at most IN_FLIGHT, in order.
        rows = self._rows["terms"] + self._rows["fills"]
        with ThreadPoolExecutor(2, thread_name_prefix="dqm-bucket") as pool:
            ahead: deque = deque()  # (rows, the bucket's future), in bucket order
            b = 0
            while b < self.buckets or ahead:
                while (
                    b < self.buckets
                    and len(ahead) < 2
                    and (not ahead or ahead[0][0] + rows[b] <= IN_FLIGHT)
                ):
                    ahead.append((rows[b], pool.submit(self._bucket, b)))
                    b += 1
                done = ahead.popleft()[1].result()
                if done is not None:
                    yield done

    def _bucket(self, bucket: int) -> tuple[np.ndarray, np.ndarray] | None:
        window = self._read("terms", bucket, TERMS)
        if not window.num_rows:
            return None
        return accumulated(window, self._read("fills", bucket, FILLS))

    def _read(self, kind: str, bucket: int, schema: pa.Schema) -> pa.Table:
        path = self.root / f"{kind}-{bucket}.arrow"
        if not path.exists():
            return empty(schema)
        with pa.ipc.open_stream(str(path)) as reader:
            return reader.read_all()


class SpilledRun:
    """A run's claims read once and kept on disk (Arrow files, one a batch, as read: a folder's
    Parquet files may differ in columns) so that they can be decided more than once: first for
    their window terms, then with what each member received (`received`), batch by batch in
    input order. They are read (and set aside) as the first pass goes through them, the history's
    pass already under way beside it. Lives in `spill`'s folder."""

    def __init__(self, batches: Iterable[pa.Table], spill: Spill):
        self.spill, self.n, self._files = spill, 0, []
        self._unread = iter(batches)

    def batches(self) -> Iterator[tuple[pa.Table, int]]:
        """Each batch as read, with its first claim's position in the run."""
        for path, start, _ in list(self._files):
            with pa.memory_map(str(path)) as source:
                yield pa.ipc.open_stream(source).read_all(), start
        for batch in self._unread:  # the first time through: read now
            path = self.spill.root / f"claims-{len(self._files)}.arrow"
            # The stream format: a batch's chunks may each bring their own dictionaries.
            with pa.ipc.new_stream(str(path), batch.schema) as writer:
                writer.write_table(batch)
            start = self.n
            self._files.append((path, start, batch.num_rows))
            self.n += batch.num_rows
            yield batch, start

    def received(
        self, decide: Decide, per_days: frozenset[str], history: Iterable[pa.Table] = ()
    ) -> np.ndarray:
        """What each claim's member received in its window before it (millionths; NaN for a claim
        not decided over a window), the run decided by `decide` against `history`'s fills."""
        spill = Spill(self.spill.root)  # a fresh set of buckets for each way of deciding the run
        stop = threading.Event()

        def history_pass() -> None:
            offset = 0
            for batch in history:
                if stop.is_set():
                    return
                spill.add("fills", fills(decide, batch, offset))
                offset += batch.num_rows

        # The history's pass beside the claims' (numpy and Arrow leave the GIL for much of each):
        # they write to different buckets. A claims file's error is raised first, as it is met; a
        # fill's once the claims are through.
        pool = ThreadPoolExecutor(1, thread_name_prefix="dqm-history")
        history_done = pool.submit(history_pass)
        try:
            for batch, start in self.batches():
                columns, n = claim_columns(batch)
                columns[TERMS_ONLY] = np.ones(n, dtype=bool)
                spill.add("terms", terms(decide(columns, n), start, per_days))
            history_done.result()
            out = np.full(self.n, np.nan)
            for order, a in spill.accumulated():
                out[order] = a
            memory.give_back()  # the passes' memory, before the claims are decided again
            return out
        finally:
            stop.set()
            pool.shutdown()  # the history's thread stopped before its files are removed
            spill.close()

    def decided(self, decide: Decide, received: np.ndarray) -> Callable[[pa.Table], Decisions]:
        """A batch decider for the batches in their order (as decide_stream calls it): each claim
        with what its member received."""
        done = [0]

        def one(batch: pa.Table) -> Decisions:
            columns, n = claim_columns(batch)
            columns[ACCUMULATED] = received[done[0] : done[0] + n]
            done[0] += n
            return Decisions(decide(columns, n), n)

        return one
