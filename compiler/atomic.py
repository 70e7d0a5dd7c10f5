"""Atomic file writes, the one way dqm writes a file: a temporary file beside the target, fsynced,
then renamed (or hard-linked) into place, so a half-written file is never visible. Portable: only
what `os` offers on Windows as on POSIX (policy staff run dqm on Windows laptops)."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


def replace_file(path: str | Path, data: bytes) -> Path:
    """Write `path` atomically, replacing what is there."""
    path = Path(path)
    tmp = _temp_beside(path, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    _fsync_dir(path.parent)
    return path


@contextlib.contextmanager
def writing(path: str | Path) -> Iterator[BinaryIO]:
    """A binary file to write `path` through, for output too large to hold (decisions streamed
    batch by batch): a temporary file beside `path`, fsynced and renamed over it when the block
    ends, removed when the block raises, so `path` is complete or as it was before."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)  # as _temp_beside: readable by the file's readers
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def create_file(path: str | Path, data: bytes | list) -> Path:
    """Create `path` atomically; FileExistsError if it exists (the link never overwrites)."""
    path = Path(path)
    return place(_temp_beside(path, data), path)


def place(tmp: str | Path, path: str | Path) -> Path:
    """Link a finished temporary file into place as `path`, which must not exist
    (FileExistsError), and remove the temporary name."""
    path = Path(path)
    try:
        os.link(tmp, path)
    finally:
        os.unlink(tmp)
    _fsync_dir(path.parent)
    return path


def _temp_beside(
    path: Path, data: bytes | list, prefix: str | None = None, suffix: str = ".tmp"
) -> str:
    """`data`: bytes, or a list of byte buffers written one after another (no joined copy)."""
    fd, tmp = tempfile.mkstemp(prefix=prefix or f".{path.name}.", suffix=suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.writelines([data] if isinstance(data, (bytes, bytearray, memoryview)) else data)
            out.flush()
            os.fsync(out.fileno())
        # mkstemp's 0600 would hide exports and workbooks from their readers. Set by name: only
        # POSIX can change the mode of an open descriptor (on Windows chmod sets read-only or not).
        os.chmod(tmp, 0o644)
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def _fsync_dir(folder: Path) -> None:
    """Make a new name in `folder` durable. Windows cannot open a folder as a file, and NTFS
    journals its names itself, so there is nothing to do there."""
    if sys.platform == "win32":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
