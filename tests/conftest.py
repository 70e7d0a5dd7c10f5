"""Shared fixtures: the `dqm` command (in-process, or as a real process where that is the point),
the founding workbook's rows to edit, workbooks built from rows, and a copy of the exports store."""

from __future__ import annotations

import contextlib
import copy
import functools
import io
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from filelock import FileLock

from compiler import cli
from compiler.workbook.template import write_workbook
from tests.fixtures import founding
from tests.fixtures import hostile as corpus
from tests.fixtures.paths import EXPORTS, ROOT

DQM = str(Path(sys.executable).with_name("dqm"))  # the installed console script

# The test tiers (which tests a run selects), and pytester for tests/test_tiers.py.
pytest_plugins = ["tests.fixtures.tiers", "pytester"]


@pytest.fixture(autouse=True)
def _streamlit_work_done_once():
    # Each new AppTest scans every installed distribution for Streamlit components (about 0.5 s of
    # CPU; the real server scans once at its start). The packages cannot change during a test
    # run, so once an AppTest has loaded the scanner, one scan per test process serves the rest.
    scanner = sys.modules.get("streamlit.components.v2.manifest_scanner")
    if scanner is not None and not hasattr(scanner.scan_component_manifests, "cache_info"):
        scanner.scan_component_manifests = functools.cache(scanner.scan_component_manifests)
    # Each AppTest run also compiles app.py and its page afresh (a new script cache each run,
    # ~15 ms); the real server compiles each script once, until the file changes. So here: one
    # compile per script file as it is on disk, shared by every run in this test process.
    scripts = sys.modules.get("streamlit.runtime.scriptrunner.script_cache")
    if scripts is not None and not hasattr(scripts.ScriptCache.get_bytecode, "shared"):
        scripts.ScriptCache.get_bytecode = _compiled_once(scripts.ScriptCache.get_bytecode)


def _compiled_once(get_bytecode):
    compiled = {}

    def shared(self, script_path: str):
        path = os.path.abspath(script_path)
        stat = os.stat(path)
        key = (path, stat.st_mtime_ns, stat.st_size)
        if key not in compiled:
            compiled[key] = get_bytecode(self, script_path)
        return compiled[key]

    shared.shared = compiled
    return shared


def pytest_sessionfinish(session, exitstatus):
    # A run that collected nothing is a broken run, never a green one (and never pytest's exit 5).
    if session.testscollected == 0 and not session.config.option.collectonly:
        session.exitstatus = 1


@dataclass(frozen=True)
class Ran:
    """What one `dqm` command did: its exit code and what it printed."""

    code: int
    out: str
    err: str
    out_bytes: bytes = b""

    def __iter__(self):  # `code, out, err = dqm(...)`
        return iter((self.code, self.out, self.err))

    def __eq__(self, other: object) -> bool:  # `assert dqm(...) == (code, out, err)`
        if isinstance(other, tuple):
            return tuple(self) == other
        if isinstance(other, Ran):
            return (*self, self.out_bytes) == (*other, other.out_bytes)
        return NotImplemented

    __hash__ = None  # compared as a tuple, never a key


@pytest.fixture
def dqm() -> Callable[..., Ran]:
    """Run `dqm ARGS` in this process, as the console script does (less its process-wide settings),
    from the repository root unless `cwd`; `stdin` bytes for `dqm decide -`. The command's streams
    are text over bytes, as a process's are: `sys.stdout.buffer` and `sys.stdin.buffer` work. A
    traceback fails the test."""

    def run(*args, stdin: bytes = b"", cwd: Path = ROOT) -> Ran:
        out, err = io.BytesIO(), io.BytesIO()
        stdout, stderr = (
            io.TextIOWrapper(b, encoding="utf-8", write_through=True) for b in (out, err)
        )
        # Its own patch context, so the test's own monkeypatches stay in place after the command.
        with pytest.MonkeyPatch.context() as patch:
            patch.chdir(cwd)
            patch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"))
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                try:
                    code = cli.main([str(a) for a in args])
                except SystemExit as exc:  # argparse's own errors
                    code = exc.code if isinstance(exc.code, int) else 2
                finally:
                    stdout.flush()
                    stderr.flush()
        text_err = err.getvalue().decode("utf-8", "replace")
        assert "Traceback" not in text_err, text_err
        return Ran(code, out.getvalue().decode("utf-8", "replace"), text_err, out.getvalue())

    return run


class DqmProcess:
    """The installed `dqm` console script as a real process."""

    def __call__(
        self,
        *args,
        stdin: bytes | None = None,
        cwd: Path = ROOT,
        env: dict | None = None,
        timeout: float = 120,
        head: int | None = None,
        wrap: list[str] = (),
    ) -> Ran:
        """Run it to the end. With `head`, read that many lines of its output and close the pipe,
        as `dqm … | head -N` does; `out` is those lines. `wrap`: a command that runs it (setpriv,
        unshare), its arguments first."""
        if head is None:
            done = subprocess.run(
                [*wrap, DQM, *map(str, args)],
                input=stdin,
                capture_output=True,
                cwd=cwd,
                env={**os.environ, **(env or {})},
                timeout=timeout,
            )
            code, out, err = done.returncode, done.stdout, done.stderr
        else:
            assert stdin is None, "head reads output as it comes; give claims in a file"
            with self.start(*args, cwd=cwd, env=env, text=False) as proc:
                out = b"".join(proc.stdout.readline() for _ in range(head))
                proc.stdout.close()  # the reader goes away
                err = proc.stderr.read()
                code = proc.wait(timeout=timeout)
        text_err = err.decode("utf-8", "replace")
        assert "Traceback" not in text_err, text_err
        return Ran(code, out.decode("utf-8", "replace"), text_err, out)

    def start(
        self, *args, cwd: Path = ROOT, env: dict | None = None, text: bool = True
    ) -> subprocess.Popen:
        """Start it and return at once, stdout and stderr piped, for a test that runs several at once."""
        return subprocess.Popen(
            [DQM, *map(str, args)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            text=text,
        )


@pytest.fixture
def dqm_process() -> DqmProcess:
    """Run the installed `dqm` console script as a real process, for what only a process shows:
    the console script itself and its exit status, a pipe closed early, processes at once, signals,
    resource limits."""
    return DqmProcess()


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium under playwright (the browser tier), one per test module."""
    from playwright import sync_api  # the browser tier's package: only where it runs

    from tests.fixtures.browser import CHROMIUM, CHROMIUM_ARGS

    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def founding_rows():
    """The founding workbook's rows (sheet -> rows, as template.write_workbook takes them), to edit
    in a test."""
    return copy.deepcopy(founding.rows())


@pytest.fixture
def make_workbook(tmp_path):
    """Write rows (sheet -> list of rows, headers added) to a fresh .xlsx and return its path."""

    def make(rows, name="oncology-dqm.xlsx"):
        return write_workbook(tmp_path / name, rows, replace=True)

    return make


@pytest.fixture
def exports_copy(tmp_path):
    """A copy of the committed exports store to publish into."""
    target = tmp_path / "exports"
    shutil.copytree(EXPORTS, target, ignore=shutil.ignore_patterns(".lock"))
    return target


@pytest.fixture(scope="session")
def per_days_store(tmp_path_factory) -> Path:
    """The bundled store with a v5 (in effect from 2025-12-08) that adds the sumatriptan Per Days
    policy, compiled once per test process. Read it, or copy it (`per_days_copy`) to change it."""
    from compiler.ruleset.compile import compile_workbook
    from tests.fixtures import per_days

    root = tmp_path_factory.mktemp("per-days-store")
    target = root / "exports"
    shutil.copytree(EXPORTS, target, ignore=shutil.ignore_patterns(".lock"))
    workbook = write_workbook(root / "oncology-dqm.xlsx", per_days.rows())
    assert compile_workbook(workbook, target).outcome.version == 5
    return target


@pytest.fixture
def per_days_copy(per_days_store, tmp_path) -> Path:
    """A copy of `per_days_store` to publish into or otherwise change."""
    target = tmp_path / "exports"
    shutil.copytree(per_days_store, target, ignore=shutil.ignore_patterns(".lock"))
    return target


@pytest.fixture(scope="session")
def run_folder(tmp_path_factory) -> Path:
    """This run's temporary folder, the same for every worker (each worker's own is inside it):
    for what one worker builds under a FileLock and the others read."""
    root = tmp_path_factory.getbasetemp()
    return root.parent if os.environ.get("PYTEST_XDIST_WORKER") else root


@pytest.fixture(scope="session")
def hostile_workbook(run_folder) -> Callable[[str], Path]:
    """A case of the hostile corpus (tests/fixtures/hostile.py) by name, built once per run and
    shared by every test (and every worker) that reads it: several tests read each case, and
    building the largest takes seconds. A test that changes the file builds its own."""
    folder = run_folder / "hostile-corpus"
    folder.mkdir(exist_ok=True)

    def build(case: str) -> Path:
        with FileLock(folder / f"{case}.lock"):
            built = folder / case / ".built"  # the builder's file name, once it is whole
            if not built.exists():
                (folder / case).mkdir(exist_ok=True)
                built.write_text(getattr(corpus, case)(folder / case).name)
            return folder / case / built.read_text()

    return build


@pytest.fixture
def hostile_copy(hostile_workbook, tmp_path) -> Callable[[str], Path]:
    """A case of the hostile corpus in the test's own folder, under the name the corpus gives it
    (as `corpus.CASE(tmp_path)` would write it, without building it again): for a test that
    writes beside it or links to it."""

    def copy(case: str) -> Path:
        built = hostile_workbook(case)
        return Path(shutil.copy2(built, tmp_path / built.name))

    return copy
