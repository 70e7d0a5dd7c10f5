"""Where a decision job's output goes, written whole: a file (through a temporary file renamed into
place), standard output (every write taken whole), or a new folder of Parquet files (Spark)."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ..atomic import writing
from ..errors import UsageError

FORMATS = ("csv", "json", "jsonl", "parquet")


def output_format(fmt: str | None, output: str | None) -> str:
    """`fmt`, or the one the output's suffix names (decisions.parquet), or csv."""
    if fmt:
        return fmt
    suffix = Path(output).suffix.lower().lstrip(".") if output else ""
    return suffix if suffix in ("json", "jsonl", "parquet") else "csv"


def same_file(a: str | Path, b: str | Path) -> bool:
    a, b = Path(a), Path(b)
    return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))


@contextlib.contextmanager
def into(output: str | None) -> Iterator[BinaryIO]:
    """The sink a job writes into: the file `output`, complete or not at all, or (None) standard
    output."""
    if output is None:
        with standard_output() as sink:
            yield sink
        return
    if Path(output).is_dir():
        raise UsageError(f"--output {output} is a folder; give a file name.")
    with writing(output) as sink:
        yield sink


@contextlib.contextmanager
def standard_output() -> Iterator[BinaryIO]:
    """Standard output as bytes, each write taken whole. Under PYTHONUNBUFFERED (set in many
    containers) sys.stdout.buffer is the raw file, whose write may take only part of what it is
    given (a full disk, a reader gone) and say so only in its return value, which Arrow's writer
    does not read: buffered, every write is whole or raises. When writing fails, standard output
    becomes /dev/null, so that what is still buffered is not written again as Python exits."""
    sys.stdout.flush()
    raw = isinstance(sys.stdout.buffer, io.RawIOBase)
    sink = io.BufferedWriter(sys.stdout.buffer) if raw else sys.stdout.buffer
    try:
        yield sink
        sink.flush()
    except OSError:  # BrokenPipeError too
        discard_standard_output()
        raise
    finally:
        if raw:
            try:
                sink.detach()  # flushes first
            except OSError:
                discard_standard_output()
                sink.detach()


def discard_standard_output() -> None:
    """Standard output onto /dev/null (after a failed write, or a reader gone)."""
    with contextlib.suppress(OSError, ValueError):  # a stream without a file (tests)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def write_spark_folder(decisions, output: str) -> None:
    """Spark writes into a temporary folder beside `output`, renamed into place when complete
    (a URL such as s3a://… is written directly: renaming is the store's own business there)."""
    if "://" in output:
        decisions.write.mode("errorifexists").parquet(output)
        return
    target = Path(output)
    if target.exists():
        raise UsageError(f"--output {output} already exists; --spark writes a new folder.")
    if not target.parent.is_dir():
        raise UsageError(f"Cannot write {output}: the folder {target.parent} does not exist.")
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        decisions.write.parquet(str(temporary.resolve()))
        os.rename(temporary, target)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
