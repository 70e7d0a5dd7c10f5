"""Atomic file writes, the one way dqm writes a file: a temporary file beside the target, fsynced,
then renamed (or hard-linked) into place, so a half-written file is never visible. Portable: only
what `os` offers on Windows as on POSIX (policy staff run dqm on Windows laptops).

A write that the operating system refuses (no permission, a full disk, a folder that is a file)
raises `WriteError`, one line naming the file and the reason in plain words, and leaves no
temporary file behind. `create_file` never replaces a file (FileExistsError: the caller says why
it matters); `replace_file` and `writing` replace one whole, or leave it as it was.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from .errors import WriteError


def replace_file(path: str | Path, data: bytes | list) -> Path:
    """Write `path` atomically, replacing what is there."""
    path = Path(path)
    with _reported(path):
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
    sweep_abandoned(path)
    with _reported(path):
        fd, tmp = tempfile.mkstemp(prefix=temporary_prefix(path), suffix=".tmp", dir=path.parent)
    try:
        with _WrittenBehind(io.FileIO(fd, "wb")) as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)  # as _temp_beside: readable by the file's readers
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError):  # a full disk, a folder made read-only meanwhile
            raise WriteError(path, why(exc, path)) from None
        raise
    with _reported(path):
        _fsync_dir(path.parent)


# Bytes written before they are handed to the disk: the final fsync then waits on the last few
# only, the disk writing while the rest is computed (dqm decide's file of 200 MB per million
# decisions synced 0.01 s after its end, not 0.1 s), and a file of many GB never sits in memory
# as dirty pages, pushing out what the machine is reading.
WRITE_BEHIND = 8 << 20
_ADVISE = getattr(os, "posix_fadvise", None)  # POSIX; elsewhere the final fsync does it all


class _WrittenBehind(io.BufferedWriter):
    """A file that has the system write what it was given as it goes (every WRITE_BEHIND bytes:
    flushed, and its pages let go once written, which starts their writing and keeps no copy)."""

    pending = 0

    def write(self, data) -> int:
        n = super().write(data)
        self.pending += n
        if self.pending >= WRITE_BEHIND and _ADVISE is not None:
            self.pending = 0
            self.flush()
            _ADVISE(self.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
        return n


def temporary_prefix(path: Path) -> str:
    """The start of a temporary name beside `path`: `.NAME.dqm-PID.`, so that a later run can tell
    the temporaries of a writer that was killed (its process gone) and remove them."""
    return f".{path.name}.dqm-{os.getpid()}."


def sweep_abandoned(path: Path) -> None:
    """Remove the temporary files and folders beside `path` that a killed writer left (named by
    `temporary_prefix`, their process no longer running). A live writer's are left alone; so is
    everything on a system that cannot ask whether a process runs (Windows)."""
    if os.name != "posix" or not path.parent.is_dir():
        return
    stem = f".{path.name}.dqm-"
    with contextlib.suppress(OSError), os.scandir(path.parent) as entries:
        for entry in entries:
            pid = entry.name.removeprefix(stem).split(".", 1)[0]
            ours = entry.name.startswith(stem) and entry.name.endswith(".tmp") and pid.isdigit()
            if ours and not _running(int(pid)):
                with contextlib.suppress(OSError):
                    if entry.is_dir(follow_symlinks=False):
                        shutil.rmtree(entry.path)
                    else:
                        os.unlink(entry.path)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: running
        return True
    return True


def create_file(path: str | Path, data: bytes | list) -> Path:
    """Create `path` atomically; FileExistsError if it exists (the link never overwrites)."""
    path = Path(path)
    with _reported(path, passing=FileExistsError):
        return place(_temp_beside(path, data), path)


def make_folder(path: str | Path) -> Path:
    """`path` as a folder, made with its parents where missing."""
    path = Path(path)
    with _reported(path):
        path.mkdir(parents=True, exist_ok=True)
    return path


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


def why(exc: OSError, path: str | Path) -> str:
    """An operating system's refusal to write `path`, in plain words."""
    path = Path(path)
    code = exc.errno
    if code in (errno.EACCES, errno.EPERM):
        return f"permission denied (dqm may not write in {path.parent})"
    if code == errno.ENOSPC:
        return "the disk is full"
    if code == getattr(errno, "EDQUOT", None):
        return "the disk quota is used up"
    if code == errno.EROFS:
        return "the disk is read-only"
    if code == errno.EFBIG:
        return "the file would be larger than this system allows"
    if code == errno.EISDIR or (path.is_dir() and code == errno.EEXIST):
        return f"{path} is a folder"
    if code in (errno.ENOTDIR, errno.EEXIST):
        blocker = next((p for p in [path, *path.parents] if p.exists() and not p.is_dir()), None)
        if blocker is not None:
            return f"{blocker} is a file, not a folder"
    if code == errno.ENOENT:
        missing = next((p for p in path.parents if not p.exists()), path.parent)
        return f"the folder {missing} does not exist"
    return (exc.strerror or str(exc)).rstrip(".").lower()


@contextlib.contextmanager
def _reported(path: Path, passing: type[OSError] | None = None) -> Iterator[None]:
    """OSError as WriteError naming `path`, except `passing` (a link that must not overwrite: the
    caller says why that matters)."""
    try:
        yield
    except OSError as exc:
        if passing is not None and isinstance(exc, passing):
            raise
        raise WriteError(path, why(exc, path)) from None


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
