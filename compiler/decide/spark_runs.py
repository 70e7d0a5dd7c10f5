"""Per Days runs on Apache Spark: the claims decided as one run against the members' history, as
decide/run.py decides them in one process, however Spark splits the work.

A claim's decision depends only on the claims and fills of its own member (run.py), so the run is
split by member, as decide/buckets.py splits it on disk: each claim is given its position in the
input (the file's order, partition by partition) and a group by a hash of its member (trimmed, as
run.py compares members); the history's rows are read as fills where they lie (run.fills, which
also refuses a row that is not one) and given their member's group; each group's claims, in input
order, and its fills meet in one Python worker, which decides them with run.decide_counted, the
one process's own run. The decisions are then sorted back into input order. A claim without a
member counts toward no one and no one toward it: it joins a group by its position, to spread them.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ..vocabulary import CLAIM_COLUMNS
from .buckets import member_bucket
from .claims import ROW_PROBLEM, HistoryColumns
from .decisions import DECISION_SCHEMA, decisions_table
from .run import FILLS, HistoryError, decide_counted, fills
from .sources import text_table
from .spark import _PART, SPARK_SCHEMA, _note_long_rows, selected
from .spark_read import CORRUPT

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

# A group is held whole by the Python worker that decides it: about this many claims at most.
GROUP_CLAIMS = 250_000
_POSITION, _GROUP = "_dqm_position", "_dqm_group"
# A position: the Spark partition's number above _SHIFT bits, the row's in the partition below.
_SHIFT = 40
_LOCAL = (1 << _SHIFT) - 1
_HASHES = 1 << 20  # a member's hash, taken modulo the run's number of groups
_ERROR_ROW, _ERROR = "_dqm_error_row", "_dqm_error"
_CLAIMS = pa.schema(
    [(c, pa.string()) for c in [*CLAIM_COLUMNS, ROW_PROBLEM]]
    + [(_POSITION, pa.int64()), (_GROUP, pa.int64())]
)
_FILLS = pa.schema([*FILLS, (_GROUP, pa.int64()), (_ERROR_ROW, pa.int64()), (_ERROR, pa.string())])
_TYPES = {pa.string(): "string", pa.int64(): "long"}


def _spark_schema(schema: pa.Schema) -> str:
    return ", ".join(f"`{f.name}` {_TYPES[f.type]}" for f in schema)


def decide(
    claims: DataFrame,
    versions: Sequence[dict[str, Any]],
    *,
    one: bool = False,
    as_of: dt.date | None = None,
    csv_width: int = 0,
    history: DataFrame | None = None,
    history_width: int = 0,
) -> DataFrame:
    """The decisions (spark.SPARK_SCHEMA), in input order, of a Spark DataFrame of claims decided
    as one run against `history` (a DataFrame of fills, read as claims are), by a ruleset's
    versions (each claim by the version in effect on its date, or on `as_of`), or by the one
    version given when `one`. `csv_width`, `history_width`: as spark.decide's csv_width.
    HistoryError, before any claim is decided, names the first history row that is not a fill."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    spark = claims.sparkSession
    shipped = _ship(spark, versions, as_of, one)
    prepared = (
        selected(claims, csv_width)
        .mapInArrow(functools.partial(_claims_partition, csv_width), _spark_schema(_CLAIMS))
        .persist(StorageLevel.MEMORY_AND_DISK)  # read once: counted here, then grouped
    )
    offsets, total = _offsets(prepared, F.shiftright(_POSITION, _SHIFT))
    groups = max(2, -(-total // GROUP_CLAIMS))
    counted = _fills(spark, shipped, history, history_width)
    decided = (
        prepared.withColumn(_GROUP, F.pmod(_GROUP, F.lit(groups)))
        .groupBy(_GROUP)
        .cogroup(counted.withColumn(_GROUP, F.pmod(_GROUP, F.lit(groups))).groupBy(_GROUP))
        .applyInArrow(
            functools.partial(_decide_group, shipped, offsets), f"{SPARK_SCHEMA}, {_POSITION} long"
        )
        # Kept, since sorting samples its input first: the groups are decided once.
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    return decided.orderBy(_POSITION).drop(_POSITION)


def read_history(spark, path: str) -> tuple[DataFrame, int]:
    """A history file read by Spark as the claims are (spark_read.read_claims), its header checked
    as a history's (a member, a date and a quantity; no channel)."""
    from .spark_read import read_claims

    return read_claims(spark, path, HistoryColumns())


def _offsets(frame: DataFrame, part: Any) -> tuple[dict[int, int], int]:
    """The rows before each Spark partition (`part`, a column), and all of them."""
    from pyspark.sql import functions as F

    # A column besides a CSV's corrupt record is read: Spark refuses a query of that alone.
    counts = frame.groupBy(part.alias("part")).agg(F.count(F.lit(1)), F.count(frame.columns[0]))
    offsets, total = {}, 0
    for part_number, n, _ in sorted(tuple(r) for r in counts.collect()):
        offsets[part_number] = total
        total += n
    return offsets, total


def _fills(spark, shipped: Any, history: DataFrame | None, width: int) -> DataFrame:
    """The history's fills (run.FILLS), each with its member's hash, computed once; HistoryError
    for the first row that is not a fill, numbered in the file (counted only then)."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    schema = _spark_schema(_FILLS)
    if history is None:
        return spark.createDataFrame([], schema)
    frame = selected(history, width, HistoryColumns())
    counted = frame.mapInArrow(functools.partial(_fills_partition, shipped, width), schema)
    counted = counted.persist(StorageLevel.MEMORY_AND_DISK)
    bad = counted.filter(F.col(_ERROR).isNotNull()).orderBy(_ERROR_ROW).first()
    if bad is not None:
        offsets, _ = _offsets(frame, F.col(_PART))
        part, row = bad[_ERROR_ROW] >> _SHIFT, bad[_ERROR_ROW] & _LOCAL
        counted.unpersist()
        raise HistoryError(offsets[part] + row + 1, bad[_ERROR])
    return counted.filter(F.col(_ERROR).isNull())


def _ship(spark, versions: Sequence[dict[str, Any]], as_of: dt.date | None, one: bool) -> Any:
    """The versions' JSON, whether the first alone decides, and the date to decide as of: to
    every worker once."""
    given = {"versions": list(versions), "as_of": as_of.isoformat() if as_of else None, "one": one}
    payload = json.dumps(given, sort_keys=True).encode()
    try:
        return spark.sparkContext.broadcast(payload)
    except Exception:  # Spark Connect has no SparkContext: the bytes travel in the closure
        return payload


# -- on the workers -------------------------------------------------------------------------

_PASSES: dict[str, Callable] = {}


def _pass(shipped: Any) -> Callable:
    """The run's pass (run.Decide) of the shipped versions, made once per worker process."""
    from .engine import Engine
    from .versions import Versions, run_pass

    payload = shipped if isinstance(shipped, bytes) else shipped.value
    key = hashlib.sha256(payload).hexdigest()
    if key not in _PASSES:
        given = json.loads(payload)
        docs, as_of = given["versions"], given["as_of"]
        chosen = Engine(docs[0]) if given["one"] else Versions.of({d["version"]: d for d in docs})
        _PASSES[key] = run_pass(chosen, dt.date.fromisoformat(as_of) if as_of else None)
    return _PASSES[key]


def _text(batches: Iterator[pa.RecordBatch], width: int) -> Iterator[tuple[pa.Table, int]]:
    """A partition's batches as claims tables typed as in one process (sources.text_table), a
    CSV's rows with more or fewer fields than its header noted, each with its first row's
    position: the partition's number in the high bits, the row's in the partition below."""
    seen = 0
    for batch in batches:
        n = batch.num_rows
        if not n:
            continue
        names = [c for c in batch.schema.names if c not in (_PART, CORRUPT)]
        table = text_table({k: batch.column(k) for k in names}, n, "The claims")
        if width and CORRUPT in batch.schema.names:
            corrupt = batch.column(CORRUPT).to_pandas()
            noted = _note_long_rows(pd.DataFrame(index=range(n)), corrupt, width)
            if ROW_PROBLEM in noted.columns:
                table = table.append_column(ROW_PROBLEM, pa.array(noted[ROW_PROBLEM], pa.string()))
        yield table, (batch.column(_PART)[0].as_py() << _SHIFT) + seen
        seen += n


def _claims_partition(width: int, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Each claim with its position and its member's hash (its position's, without a member)."""
    import pyarrow.compute as pc

    for table, start in _text(batches, width):
        n = table.num_rows
        position = np.arange(start, start + n, dtype=np.int64)
        member = _trimmed(table.column("member_id"))
        group = member_bucket(member.fill_null(""), _HASHES)
        alone = np.asarray(pc.fill_null(pc.equal(member, ""), True))
        group = np.where(alone, position % _HASHES, group)
        columns = [
            table.column(c) if c in table.column_names else pa.nulls(n, pa.string())
            for c in _CLAIMS.names[:-2]
        ]
        yield from pa.table([*columns, position, group], schema=_CLAIMS).to_batches()


def _trimmed(members: pa.ChunkedArray) -> pa.Array:
    """Each member as run.py compares them (str.strip), each distinct text trimmed once."""
    encoded = members.combine_chunks().dictionary_encode()
    texts = pa.array([t.strip() for t in encoded.dictionary.to_pylist()], pa.string())
    return texts.take(encoded.indices)


def _fills_partition(
    shipped: Any, width: int, batches: Iterator[pa.RecordBatch]
) -> Iterator[pa.RecordBatch]:
    """A partition's history rows as fills (run.fills), each with its member's hash; a row that
    is not a fill as one row naming it (the partition's first: the driver says the file's)."""
    decide = _pass(shipped)
    for table, start in _text(batches, width):
        try:
            counted = fills(decide, table, start & _LOCAL)
        except HistoryError as exc:  # numbered in the partition: the driver numbers it in the file
            yield _error_row(start - (start & _LOCAL) + exc.row - 1, exc.problem)
            return
        n = counted.num_rows
        group = member_bucket(counted.column("member"), _HASHES)
        out = counted.append_column(_GROUP, pa.array(group, pa.int64()))
        out = out.append_column(_ERROR_ROW, pa.nulls(n, pa.int64()))
        out = out.append_column(_ERROR, pa.nulls(n, pa.string()))
        yield from out.cast(_FILLS).to_batches()


def _error_row(row: int, message: str) -> pa.RecordBatch:
    values = {f.name: pa.nulls(1, f.type) for f in _FILLS}
    values[_ERROR_ROW], values[_ERROR] = pa.array([row]), pa.array([message])
    return pa.RecordBatch.from_pydict(values, schema=_FILLS)


def _decide_group(
    shipped: Any, offsets: dict[int, int], claims: pa.Table, counted: pa.Table
) -> pa.Table:
    """One group's claims decided in input order as one run against its fills; a claim without
    an id given its 1-based position in the input."""
    import pyarrow.compute as pc

    if not claims.num_rows:  # a group of fills alone
        return DECISION_SCHEMA.append(pa.field(_POSITION, pa.int64())).empty_table()
    claims = claims.take(pc.sort_indices(claims.column(_POSITION)))
    position = claims.column(_POSITION).to_numpy()
    given = claims.drop_columns([_POSITION, _GROUP])
    given = given.cast(pa.schema([(c, pa.string()) for c in given.column_names]))
    ids = given.column("claim_id")
    if ids.null_count:
        start = np.vectorize(offsets.__getitem__, otypes=[np.int64])(position >> _SHIFT)
        numbers = pa.array(start + (position & _LOCAL) + 1).cast(pa.string())
        at = given.schema.get_field_index("claim_id")
        given = given.set_column(at, "claim_id", pc.coalesce(ids, numbers))
    history = counted.select(FILLS.names).cast(FILLS) if counted.num_rows else None
    decided = decide_counted(given, _pass(shipped), history)
    return decisions_table(decided).append_column(_POSITION, claims.column(_POSITION))
