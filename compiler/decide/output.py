"""Where a decision job's output goes, written whole: a file (through a temporary file renamed into
place), standard output (every write taken whole), or a new folder of Parquet files (Spark)."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ..atomic import sweep_abandoned, temporary_prefix, writing
from ..errors import UsageError

FORMATS = ("csv", "json", "jsonl", "parquet")


def output_format(fmt: str | None, output: str | None) -> str:
    """`fmt`, or the one the output's suffix names (decisions.parquet), or csv. A suffix that names
    another format (out.xlsx, or out.parquet with csv) is refused: the file would not be what its
    name says."""
    suffix = Path(output).suffix.lower().lstrip(".") if output else ""
    if not suffix or (output and writes_through(output)):
        return fmt or "csv"
    if suffix not in FORMATS or (fmt and fmt != suffix):
        wanted = fmt or "csv"
        raise UsageError(
            f"--output {output} names a .{suffix} file, but dqm writes {wanted} there"
            + (
                f" (--format {fmt}); name it .{fmt}, or leave out --format."
                if fmt
                else f"; it writes csv, json, jsonl or parquet: name it .{wanted} or .parquet."
            )
        )
    return suffix


def same_file(a: str | Path, b: str | Path) -> bool:
    a, b = Path(a), Path(b)
    # realpath, not resolve: a symbolic link loop is said by the reader, not raised here
    same = os.path.realpath(a) == os.path.realpath(b)
    return same or (a.exists() and b.exists() and os.path.samefile(a, b))


def inside(output: str | Path, folder: str | Path) -> bool:
    """Whether `output` would be written inside the folder `folder` (a claims folder)."""
    folder = Path(folder)
    if "://" in str(output) or not folder.is_dir():
        return False
    return Path(os.path.realpath(folder)) in Path(os.path.realpath(output)).parents


@contextlib.contextmanager
def into(output: str | None) -> Iterator[BinaryIO]:
    """The sink a job writes into: the file `output`, complete or not at all; an open descriptor's
    name (/dev/stdout, /dev/fd/N: a pipe such as bash's `>(gzip)`), written through; or (None)
    standard output. Only a regular file is ever replaced: a folder, a symbolic link, a named pipe
    or a device given as `output` is refused."""
    if output is None:
        with standard_output() as sink:
            yield sink
        return
    if writes_through(output):
        with open(output, "wb") as sink:
            yield sink
        return
    _check_replaceable(output)
    with writing(output) as sink:
        yield sink


# Names of a descriptor the process already has open: what the caller redirected it to (a pipe,
# a terminal, a file) is written through, never replaced by a file of dqm's.
_OPEN_DESCRIPTOR = re.compile(r"/dev/(stdout|stderr|fd/[0-9]+)|/proc/(self|[0-9]+)/fd/[0-9]+")


def writes_through(output: str) -> bool:
    """Whether `output` names an open descriptor, written through rather than replaced."""
    return os.name == "posix" and _OPEN_DESCRIPTOR.fullmatch(output) is not None


def described(output: str) -> str:
    """`output` as a message names it: a pipe (bash's `>(gzip)`) as a pipe."""
    if writes_through(output):
        with contextlib.suppress(OSError):
            if stat.S_ISFIFO(os.stat(output).st_mode):
                return f"the pipe {output}"
    return output


def _check_replaceable(output: str) -> None:
    try:
        mode = os.lstat(output).st_mode
    except OSError:  # nothing there (or nothing that can be looked at): the write says why
        return
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise UsageError(f"--output {output} is a folder; give a file name.")
    if stat.S_ISLNK(mode):
        raise UsageError(
            f"--output {output} is a symbolic link; dqm replaces only a regular file. Give the "
            f"path it points to ({os.path.realpath(output)}), or another name."
        )
    kind = (
        "a named pipe (FIFO)"
        if stat.S_ISFIFO(mode)
        else "a device"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "not a regular file"
    )
    raise UsageError(
        f"--output {output} is {kind}; dqm writes its decisions into a regular file, which it "
        f"replaces whole. To write into it, leave out --output and redirect standard output "
        f"(> {output})."
    )


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
    sweep_abandoned(target)
    temporary = target.with_name(f"{temporary_prefix(target)}spark.tmp")
    try:
        decisions.write.parquet(str(temporary.resolve()))
        os.rename(temporary, target)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
