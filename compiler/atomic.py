"""Atomic file writes, the one way dqm writes a file: a temporary file beside the target, fsynced,
then renamed (or hard-linked) into place, so a half-written file is never visible. Portable: only
what `os` offers on Windows as on POSIX (policy staff run dqm on Windows laptops)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


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
