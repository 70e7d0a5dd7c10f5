"""Claims read by Spark as the single process reads them: a CSV's header, text and cells checked
on this machine first, with the same one-line refusals, and a folder's Parquet files each with its
own columns. pyspark is imported only by the caller's session."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from ..vocabulary import CLAIM_COLUMNS
from . import csvtext
from .claims import ClaimsFileError, NotUtf8, OnHeader, check_csv_text, claims_header, header_keys
from .sources import open_parquet, parquet_files, text_table

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

CORRUPT = "_corrupt_record"  # Spark's CSV reader puts a row whose fields do not fit here


def read_claims(
    spark: SparkSession,
    path: str,
    columns: dict[str, str] | None = None,
    on_header: OnHeader | None = None,
) -> tuple[DataFrame, int]:
    """Claims read by Spark: a CSV file (its header checked as `dqm decide` checks it; every
    column text; quoted cells may hold line breaks) or Parquet (a file or a folder). Returns the
    DataFrame and, for CSV, its header's column count (for `decide`'s csv_width), else 0.
    `columns` maps the file's own column names onto the contract's; `on_header(name, headers,
    keys)` hears each file's columns."""
    local = Path(path)
    if "://" in path:  # read where it lies: what is checked here is Spark's own reading
        frame = spark.read.parquet(path)
        keys = header_keys(path, frame.columns, "", "its columns are", columns, on_header)
        return frame.toDF(*keys), 0
    if local.is_dir():
        return _local_parquet(spark, local, columns, on_header), 0
    try:
        with open(local, "rb") as f:
            head = f.read(1 << 20)
    except FileNotFoundError:
        raise ClaimsFileError(f"{path}: no such file.") from None
    except OSError as exc:
        raise ClaimsFileError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    if head.startswith(b"PAR1"):
        return _local_parquet(spark, local, columns, on_header), 0
    try:
        keys, _ = claims_header(path, head.removeprefix(b"\xef\xbb\xbf"), columns, on_header)
        check_csv_text(local)
    except NotUtf8 as exc:
        raise exc.with_hint(spark=True) from None
    schema = ", ".join(f"`{k}` string" for k in [*keys, CORRUPT])
    frame = spark.read.csv(
        path,
        schema=schema,
        header=True,
        multiLine=True,  # quoted line breaks; Spark then reads each CSV file in one task
        escape='"',
        mode="PERMISSIVE",
        columnNameOfCorruptRecord=CORRUPT,
    )
    _check_cells(frame, local, keys)
    return frame, len(keys)


def _check_cells(frame: DataFrame, path: Path, keys: list[str]) -> None:
    """The single process's refusal of a contract cell over csvtext.MAX_CELL_CHARS, naming its
    line: Spark measures every cell (one pass over a file large enough to hold one), and the line
    is found here only when one is too long."""
    from pyspark.sql import functions as F

    wanted = [k for k in keys if k in CLAIM_COLUMNS]
    if not wanted or path.stat().st_size <= csvtext.MAX_CELL_CHARS:
        return
    longest = frame.select(F.greatest(*[F.length(F.col(f"`{k}`")) for k in wanted], F.lit(0)))
    if (longest.agg(F.max(longest.columns[0])).first()[0] or 0) <= csvtext.MAX_CELL_CHARS:
        return
    text = path.read_bytes().removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    header = text.find("\n") + 1  # the header names no claim: its line is 1
    raise csvtext.too_large(str(path), csvtext.oversized_line(text[header:], keys, 2))


def _local_parquet(
    spark: SparkSession,
    path: Path,
    columns: dict[str, str] | None = None,
    on_header: OnHeader | None = None,
) -> DataFrame:
    """Parquet claims on this machine read as the single process reads them: the same files, each
    with its own columns (a folder may mix schemas), each file's footer and column types checked
    here first with the same refusals, and every column made text by the same Arrow cast on the
    workers; the files' claims follow one another in the same order."""
    frames = []
    for file in parquet_files(path):
        parquet, wanted = open_parquet(file, columns, on_header)
        types = parquet.schema_arrow
        text_table({k: pa.array([], types.field(n).type) for n, k in wanted}, 0, file)
        names = [k for _, k in wanted]
        frame = (
            spark.read.parquet(str(file.resolve()))
            .select(*[f"`{n}`" for n, _ in wanted])
            .toDF(*names)
        )
        schema = ", ".join(f"`{k}` string" for k in names)
        frames.append(frame.mapInArrow(functools.partial(_as_text, names, str(file)), schema))
    return functools.reduce(lambda a, b: a.unionByName(b, allowMissingColumns=True), frames)


def _as_text(names: list[str], file: str, batches: Iterator[pa.RecordBatch]):
    """A file's batches with every column as text, as sources.text_table makes them."""
    for batch in batches:
        table = text_table(
            dict(zip(names, batch.columns, strict=True)), batch.num_rows, file, False
        )
        yield from table.to_batches()
