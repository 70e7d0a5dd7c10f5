"""Work on uploaded files, run apart from whoever asked for it: in a child process, under a time
and a memory budget, so that one hostile upload cannot take a server (the reviewer app) down for
everyone else.

A `Job` runs a generator function in a child process and hands its results back one at a time.
The caller waits for each result while the child's own processor time stays within its budget
(so several reviewers checking drafts at once, sharing the processors, do not use up each
other's); past it, past a wall-clock backstop, or past the memory budget, the child is killed
and `OverBudget` says which budget ran out. The child never outlives its budget by
much even if its parent dies: the kernel stops it at its CPU-time limit.

Children are forked from a server process started once (multiprocessing's "forkserver", where
the operating system has one) that has imported dqm already, so a job starts in milliseconds
and never inherits the caller's threads. Elsewhere (Windows) each job is a fresh interpreter.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .errors import OverBudget

# Imported once by the fork server, so that each job starts with them loaded.
PRELOAD = ["compiler.ruleset.draft", "compiler.workbook.annotate"]
_POLL = 0.05  # seconds between looks at a running job's memory and processor time
_JOB = "dqm-job"  # the name of every job's process
_context_lock = threading.Lock()
_context: Any = None


@dataclass(frozen=True)
class Budget:
    """How long a job may take for its first result and for each one after it, and how much
    memory (resident, beyond what the child starts with) it may use."""

    seconds: float  # of the child's processor time
    more_seconds: float
    memory_bytes: int
    wall_factor: float = 5  # wall-clock time it may take, as a multiple of its processor time


class Job:
    """A generator function running in a child process; `next()` waits for its next result."""

    def __init__(self, work: Callable[..., Iterator[Any]], *args: Any, budget: Budget):
        self.budget = budget
        ctx = _multiprocessing()
        self._conn, child_conn = ctx.Pipe(duplex=False)
        self._process = ctx.Process(
            target=_child,
            args=(child_conn, work, args, budget),
            name=f"{_JOB}-{work.__name__}",
            daemon=True,
        )
        self._process.start()
        child_conn.close()
        self._results = 0
        self._base_rss: int | None = None

    def next(self, on_wait: Callable[[float], None] | None = None) -> Any:
        """The job's next result. `on_wait(seconds_waited)` is called about twice a second while
        waiting (the app shows progress, and a rerun can interrupt it there). Raises
        OverBudget when the time or memory runs out (the child is then stopped), or when the job
        failed (or is asked for more results than it gives)."""
        seconds = self.budget.seconds if self._results == 0 else self.budget.more_seconds
        started = time.monotonic()
        shown = started
        cpu_started = _cpu_seconds(self._process.pid)
        while not self._conn.poll(_POLL):
            now = time.monotonic()
            if self._over_memory():
                self.stop()
                raise OverBudget(
                    f"it needed more than {self.budget.memory_bytes / 1e6:,.0f} MB of memory"
                )
            # The budget is the child's own processor time, so reviewers checking drafts at once
            # do not use up each other's: a wall-clock backstop stops one that waits instead.
            cpu = _cpu_seconds(self._process.pid)
            if cpu is not None and cpu_started is not None and cpu - cpu_started > seconds:
                self.stop()
                raise OverBudget(f"it used more than {seconds:g} seconds of processor time")
            # Wall-clock alone only where the system tells no processor time at all: a reading
            # missed once (a child that has just answered and exited) leaves the backstop as is.
            wall = seconds if cpu_started is None else self.budget.wall_factor * seconds
            if now - started > wall:
                self.stop()
                raise OverBudget(f"it took longer than {wall:g} seconds")
            if not self._process.is_alive() and not self._conn.poll(0):
                raise OverBudget(self._death())
            if on_wait and now - shown >= 0.5:
                shown = now
                on_wait(now - started)
        try:
            kind, value = self._conn.recv()
        except EOFError:
            raise OverBudget(self._death()) from None
        if kind == "rss":  # what the child started with: the memory budget is on top of it
            self._base_rss = value
            return self.next(on_wait)
        self._results += 1
        if kind == "result":
            return value
        self.stop()
        raise OverBudget(value)

    def stop(self) -> None:
        """Stop the child (if it still runs) and release its pipe."""
        if self._process.is_alive():
            self._process.kill()
        self._process.join(timeout=5)
        self._conn.close()

    def __del__(self) -> None:  # a job dropped with its session stops its child
        try:
            if self._process.is_alive():
                self._process.kill()
        except Exception:
            pass

    def _over_memory(self) -> bool:
        rss = _rss_bytes(self._process.pid)
        if rss is None or self._base_rss is None:
            return False
        return rss - self._base_rss > self.budget.memory_bytes

    def _death(self) -> str:
        self._process.join(timeout=5)
        code = self._process.exitcode
        if code == -getattr(signal, "SIGXCPU", 0):
            return "it used more CPU time than it may"
        if code is not None and code < 0:
            return f"it was stopped by the system (signal {-code}), most likely for lack of memory"
        return f"it stopped unexpectedly (exit status {code})"


def warm_up() -> None:
    """Start the fork server now (it imports dqm: seconds), so that the first job does not wait
    for it. A server calls this once, in the background, when it starts."""
    if _multiprocessing().get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


def _multiprocessing():
    global _context
    with _context_lock:
        if _context is None:
            _no_main_for_jobs()
            if "forkserver" in multiprocessing.get_all_start_methods():
                _context = multiprocessing.get_context("forkserver")
                _context.set_forkserver_preload(PRELOAD)
            else:
                _context = multiprocessing.get_context("spawn")
        return _context


def _no_main_for_jobs() -> None:
    """multiprocessing runs the caller's __main__ again in each child it starts (for functions
    defined there). A job's work lives in this package, and the caller's main may be anything:
    `streamlit`'s command (a second of imports per job), or a script that only works once. So a
    job's process is told of no main module; other processes are left as multiprocessing makes
    them."""
    from multiprocessing import spawn

    original = spawn.get_preparation_data
    if getattr(original, "dqm_jobs", False):
        return

    def preparation_data(name: str) -> dict[str, Any]:
        data = original(name)
        if name.startswith(_JOB):
            data.pop("init_main_from_path", None)
            data.pop("init_main_from_name", None)
        return data

    preparation_data.dqm_jobs = True  # type: ignore[attr-defined]
    spawn.get_preparation_data = preparation_data


def _child(conn, work: Callable[..., Iterator[Any]], args: tuple, budget: Budget) -> None:
    """In the child: limits first, then the work, each result sent as it comes."""
    _limit_self(budget)
    try:
        conn.send(("rss", _rss_bytes(os.getpid())))
        for result in work(*args):
            conn.send(("result", result))
    except MemoryError:
        conn.send(("failed", f"it needed more than {budget.memory_bytes / 1e6:,.0f} MB of memory"))
    except Exception as exc:  # the caller shows it in one line; the work is the library's
        conn.send(("failed", f"it failed: {type(exc).__name__}: {exc}".splitlines()[0]))
    finally:
        conn.close()


def _limit_self(budget: Budget) -> None:
    """Lower priority, so the server's other users come first; a CPU-time limit the kernel
    enforces even if the parent is gone; and an address-space limit well above the memory
    budget, a backstop against a single huge allocation between two looks at the memory."""
    if hasattr(os, "nice"):
        os.nice(10)
    try:
        import resource
    except ImportError:  # Windows: the parent's deadline and memory checks still hold
        return
    cpu = math.ceil(budget.seconds + 4 * budget.more_seconds) + 5
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    size = _address_space_bytes()
    if size is not None:
        limit = size + 4 * budget.memory_bytes
        resource.setrlimit(resource.RLIMIT_AS, (limit, resource.RLIM_INFINITY))


def _rss_bytes(pid: int | None) -> int | None:
    """A process's resident memory, where the system tells it cheaply (Linux /proc)."""
    if pid is None or not sys.platform.startswith("linux"):
        return None
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _cpu_seconds(pid: int | None) -> float | None:
    """A process's processor time so far (user and system), where the system tells it cheaply
    (Linux /proc); None elsewhere, where the budget is wall-clock time."""
    if pid is None or not sys.platform.startswith("linux"):
        return None
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _address_space_bytes() -> int | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None
