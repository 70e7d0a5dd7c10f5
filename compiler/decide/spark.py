"""Deciding on Apache Spark: a DataFrame of claims in, a DataFrame of decisions out, computed by
the same engine inside `mapInPandas` (Arrow between the JVM and Python), a Spark partition being a
stream of batches.

The version is shipped once (a broadcast of its JSON; the closure's bytes on Spark Connect, which
has no broadcasts) and each Python worker builds its engine once, cached by the content's sha256
for every task the worker runs. Claims are typed as the one-process Parquet path types them
(sources.text_claims), so a bad row decides `invalid` exactly as in one process; a claim without an
id gets its 1-based position in the DataFrame's order (partition by partition; for files read by
Spark, the file's order). pyspark is imported only here, and only when called: the package imports
without it (the `spark` extra).
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import hashlib
import json
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa

from ..vocabulary import CLAIM_COLUMNS, DECISIONS
from . import csvtext
from .claims import ROW_PROBLEM, header_keys
from .decisions import DECISION_SCHEMA, decisions_table
from .header import READ_COLUMNS
from .impact import IMPACT_COLUMNS, IMPACT_SCHEMA, TRANSITION_COLUMNS, Transitions, compare
from .sources import text_claims, with_claim_ids
from .spark_read import CORRUPT, read_claims  # noqa: F401 (read here by callers)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

_SPARK_TYPES = {pa.string(): "string", pa.float64(): "double", pa.int64(): "long"}
SPARK_SCHEMA = ", ".join(f"{f.name} {_SPARK_TYPES[f.type]}" for f in DECISION_SCHEMA)
_PART = "_dqm_partition"
_QUIET = Path(__file__).with_name("log4j2.properties")
# What an impact partition yields: its changed claims (kind "changed") and its transitions (kind
# "transition", counts and approved-quantity totals in the claims and approved_quantity columns).
_IMPACT_NAMES = [*IMPACT_COLUMNS, "claims", "kind"]
_IMPACT_ROWS = ", ".join(
    [f"{f.name} {_SPARK_TYPES[f.type]}" for f in IMPACT_SCHEMA] + ["claims long", "kind string"]
)


def decide(
    claims: DataFrame,
    versions: dict[str, Any] | Sequence[dict[str, Any]],
    *,
    as_of: dt.date | None = None,
    csv_width: int = 0,
) -> DataFrame:
    """The decisions (columns and types of decisions.DECISION_SCHEMA) of a Spark DataFrame of
    claims (the contract's columns, matched as a CSV header is; any types) against a version
    dict, or a ruleset's versions (each claim by the version in effect on its date of service, or
    on `as_of`: decide/versions.py). `csv_width`: the header's column count when `claims` was read
    from CSV with a `_corrupt_record` column (read_claims does), so that a row with more fields
    decides invalid as in one process. Raises ClaimsFileError when a required column is missing."""
    frame, offsets = _prepared(claims, csv_width)
    shipped = _ship(claims.sparkSession, versions, as_of)
    return frame.mapInPandas(
        functools.partial(_decide_partition, shipped, offsets, csv_width), SPARK_SCHEMA
    )


def impact(
    claims: DataFrame,
    before: dict[str, Any] | Sequence[dict[str, Any]],
    after: dict[str, Any] | Sequence[dict[str, Any]],
    *,
    csv_width: int = 0,
) -> tuple[Transitions, DataFrame]:
    """impact.compare over a Spark DataFrame of claims: the transitions of all the claims
    (computed now) and the changed claims (impact.IMPACT_SCHEMA; cached, to be written or
    collected by the caller). Each partition's batches are decided by both rulesets at once."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    frame, offsets = _prepared(claims, csv_width)
    spark = claims.sparkSession
    rows = frame.mapInPandas(
        functools.partial(
            _impact_partition, _ship(spark, before), _ship(spark, after), offsets, csv_width
        ),
        _IMPACT_ROWS,
    ).persist(StorageLevel.MEMORY_AND_DISK)
    summary = (
        rows.filter(F.col("kind") == "transition")
        .groupBy("decision_before", "decision_after")
        .agg(
            F.sum("claims").alias("claims"),
            F.sum("approved_quantity_before").alias("before"),
            F.sum("approved_quantity_after").alias("after"),
        )
        .collect()
    )
    transitions = Transitions(
        {
            (DECISIONS.index(r["decision_before"]), DECISIONS.index(r["decision_after"])): [
                int(r["claims"]),
                float(r["before"]),
                float(r["after"]),
            ]
            for r in summary
        }
    )
    return transitions, rows.filter(F.col("kind") == "changed").select(*IMPACT_COLUMNS)


def session(master: str, app: str = "dqm") -> SparkSession:
    """A Spark session for the command line: `master` is local[N] or a cluster's URL; Spark's
    UI off and its log quiet; on a local master the workers run this Python."""
    from pyspark.sql import SparkSession

    _quiet_pandas_warning()
    if master.startswith("local"):
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYTHONWARNINGS", "ignore::FutureWarning")  # the workers' pandas notice
    builder = (
        SparkSession.builder.master(master)
        .appName(app)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={_QUIET.as_uri()}")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        # The engine's cost per batch is mostly fixed: Arrow batches of 131,072 claims, not
        # Spark's default 10,000 (15-40% less time on a million claims, local[2]).
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "131072")
    )
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _prepared(claims: DataFrame, csv_width: int) -> tuple[DataFrame, dict[int, int] | None]:
    """The claims' contract columns by key, each row with its partition, and the claims before
    each partition (for positions as claim ids)."""
    frame = selected(claims, csv_width)
    return frame, _partition_offsets(frame, "claim_id" in frame.columns)


def selected(
    claims: DataFrame, csv_width: int, history: Mapping[str, str] | None = None
) -> DataFrame:
    """The contract's columns of `claims` by key (and a `history`'s status: HistoryColumns), each
    row with its partition (_PART); a CSV's rows of blanks left out, as one process leaves them."""
    from pyspark.sql import functions as F

    _quiet_pandas_warning()
    names = [c for c in claims.columns if c != CORRUPT]
    keys = header_keys("The claims DataFrame", names, "", "its columns are", history)
    kept = READ_COLUMNS if history is not None else CLAIM_COLUMNS
    columns = [F.col(f"`{n}`").alias(k) for n, k in zip(names, keys, strict=True) if k in kept]
    frame = claims
    if csv_width and CORRUPT in claims.columns:
        columns.append(F.col(CORRUPT))
        # A line of blanks is no claim in one process (csv.reader gives one blank field).
        frame = frame.filter(F.col(CORRUPT).isNull() | (F.trim(F.col(CORRUPT)) != ""))
    return frame.select(*columns, F.spark_partition_id().alias(_PART))


# -- on the workers -------------------------------------------------------------------------

_DECIDERS: dict[str, Callable[[pd.DataFrame], pd.DataFrame]] = {}


def _decide_partition(
    shipped: Any, offsets: dict[int, int] | None, csv_width: int, batches: Iterator[pd.DataFrame]
) -> Iterator[pd.DataFrame]:
    """One partition's batches decided (this runs in a Python worker)."""
    decide = _decider(shipped)
    for claims in _claim_batches(batches, offsets, csv_width):
        yield _for_spark(decisions_table(decide(claims)))


def _impact_partition(
    before: Any,
    after: Any,
    offsets: dict[int, int] | None,
    csv_width: int,
    batches: Iterator[pd.DataFrame],
) -> Iterator[pd.DataFrame]:
    """One partition's batches compared: its changed claims, and its transitions as rows."""
    decide_before, decide_after = _decider(before), _decider(after)
    for claims in _claim_batches(batches, offsets, csv_width):
        result = compare(decide_before, decide_after, claims)
        changed = pa.Table.from_pandas(result.changed, preserve_index=False).cast(IMPACT_SCHEMA)
        n = changed.num_rows
        changed = changed.append_column("claims", pa.array([1] * n, pa.int64()))
        changed = changed.append_column("kind", pa.array(["changed"] * n, pa.string()))
        counts = result.transitions.table()
        counts = pa.table(
            {
                **{c: pa.array(counts[c], pa.string()) for c in TRANSITION_COLUMNS[:2]},
                "claims": pa.array(counts["claims"], pa.int64()),
                **{c: pa.array(counts[c], pa.float64()) for c in TRANSITION_COLUMNS[3:]},
                "kind": pa.array(["transition"] * len(counts), pa.string()),
            }
        )
        rows = pa.concat_tables([changed, counts], promote_options="default")
        yield _for_spark(rows.select(_IMPACT_NAMES))


def _for_spark(table: pa.Table) -> pd.DataFrame:
    """An Arrow table as the pandas frame mapInPandas hands back to Spark (one chunk per column:
    Spark's Arrow conversion takes a column as one array)."""
    return table.combine_chunks().to_pandas()


def _claim_batches(
    batches: Iterator[pd.DataFrame], offsets: dict[int, int] | None, csv_width: int
) -> Iterator[pd.DataFrame]:
    """Spark's pandas batches of one partition as claims frames, typed as in one process."""
    seen = 0
    for batch in batches:
        if not len(batch):
            continue
        part = int(batch[_PART].iloc[0])
        given = batch.drop(columns=[_PART, CORRUPT], errors="ignore")
        table = pa.Table.from_pandas(given, preserve_index=False)
        claims = text_claims(
            {k: table.column(k) for k in table.column_names}, len(batch), "The claims"
        )
        if csv_width and CORRUPT in batch.columns:
            claims = _note_long_rows(claims, batch[CORRUPT], csv_width)
        if offsets is not None:
            claims = with_claim_ids(claims, offsets.get(part, 0) + seen)
        seen += len(batch)
        yield claims


def _decider(shipped: Any) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """The decide function of the shipped versions, built once per worker process: one version's
    engine, or the versions chosen among by date (each version's engine made on first use)."""
    payload = shipped if isinstance(shipped, bytes) else shipped.value
    key = hashlib.sha256(payload).hexdigest()
    if key not in _DECIDERS:
        from .engine import Engine
        from .versions import Versions

        given = json.loads(payload)
        docs, as_of = given["versions"], given["as_of"]
        if len(docs) == 1 and as_of is None:
            _DECIDERS[key] = Engine(docs[0]).decide
        else:
            versions = Versions.of({doc["version"]: doc for doc in docs})
            day = dt.date.fromisoformat(as_of) if as_of else None
            _DECIDERS[key] = lambda claims: versions.decide(claims, day)
    return _DECIDERS[key]


def _note_long_rows(claims: pd.DataFrame, corrupt: pd.Series, width: int) -> pd.DataFrame:
    """A CSV row with more fields than the header decides invalid, as in one process (Spark
    keeps its first fields and the row's text; it cannot say on which line it was)."""
    problems: list[str | None] = [None] * len(claims)
    csvtext.allow_large_fields()
    for i, text in enumerate(corrupt.tolist()):
        if isinstance(text, str):
            fields = len(next(csv.reader([text.rstrip("\r\n")]), []))
            if fields != width:
                problems[i] = f"a row has {fields} fields but the header has {width}; " + (
                    "put double quotes around a value that contains a comma."
                    if fields > width
                    else "the row may have been cut short."
                )
    if any(p is not None for p in problems):
        claims[ROW_PROBLEM] = pd.Series(problems, dtype="str")
    return claims


# -- on the driver --------------------------------------------------------------------------


def _partition_offsets(frame: DataFrame, has_ids: bool) -> dict[int, int] | None:
    """Claims before each partition, for positions as claim ids; None when every claim has an id
    (one pass over the claims, reading only their ids)."""
    from pyspark.sql import functions as F

    counts = frame.groupBy(_PART).agg(
        F.count(F.lit(1)).alias("n"),
        (F.sum(F.col("claim_id").isNull().cast("long")) if has_ids else F.lit(1)).alias("blank"),
    )
    rows = sorted((r[_PART], r["n"], r["blank"] or 0) for r in counts.collect())
    if not any(blank for _, _, blank in rows):
        return None
    offsets, total = {}, 0
    for part, n, _ in rows:
        offsets[part] = total
        total += n
    return offsets


def _ship(
    spark: SparkSession,
    versions: dict[str, Any] | Sequence[dict[str, Any]],
    as_of: dt.date | None = None,
) -> Any:
    """The versions' JSON (and the date to decide as of), to every worker once."""
    docs = [versions] if isinstance(versions, dict) else list(versions)
    given = {"versions": docs, "as_of": as_of.isoformat() if as_of else None}
    payload = json.dumps(given, sort_keys=True).encode()
    try:
        return spark.sparkContext.broadcast(payload)
    except Exception:  # Spark Connect has no SparkContext: the bytes travel in the closure
        return payload


def _quiet_pandas_warning() -> None:
    # pyspark 4 warns on every pandas conversion that it "does not yet fully support pandas >= 3";
    # dqm's tests compare Spark with one process field by field.
    warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas", FutureWarning)
    warnings.filterwarnings("ignore", "The copy keyword is deprecated", module="pyspark")
