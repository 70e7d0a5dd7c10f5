"""Shared fixtures: the `dqm` command (in-process, or as a real process where that is the point),
the founding workbook's rows to edit, workbooks built from rows, and a copy of the exports store."""

from __future__ import annotations

import contextlib
import copy
import io
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from compiler import cli
from compiler.workbook.template import write_workbook
from tests.fixtures import founding

ROOT = Path(__file__).resolve().parents[1]
EXPORTS = ROOT / "exports"
WORKBOOK = ROOT / "workbook" / "oncology-dqm.xlsx"
DQM = str(Path(sys.executable).with_name("dqm"))  # the installed console script


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


@pytest.fixture
def dqm(monkeypatch):
    """Run `dqm ARGS` in this process, as the console script does (less its process-wide settings),
    from the repository root unless `cwd`; stdin bytes optional. A traceback fails the test."""

    def run(*args, stdin: bytes = b"", cwd: Path = ROOT) -> Ran:
        out, err = io.BytesIO(), io.BytesIO()
        streams = [io.TextIOWrapper(b, encoding="utf-8", write_through=True) for b in (out, err)]
        monkeypatch.chdir(cwd)
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"))
        with contextlib.redirect_stdout(streams[0]), contextlib.redirect_stderr(streams[1]):
            try:
                code = cli.main([str(a) for a in args])
            except SystemExit as exc:  # argparse's own errors
                code = exc.code if isinstance(exc.code, int) else 2
        for s in streams:
            s.flush()
        monkeypatch.undo()
        text_err = err.getvalue().decode("utf-8", "replace")
        assert "Traceback" not in text_err, text_err
        return Ran(code, out.getvalue().decode("utf-8", "replace"), text_err, out.getvalue())

    return run


@pytest.fixture
def dqm_process():
    """Run the installed `dqm` console script as a real process, for what only a process shows:
    the console script itself, pipes, signals, resource limits."""

    def run(*args, stdin: bytes | None = None, cwd: Path = ROOT, env: dict | None = None,
            timeout: float = 120) -> Ran:
        done = subprocess.run([DQM, *map(str, args)], input=stdin, capture_output=True, cwd=cwd,
                              env={**os.environ, **(env or {})}, timeout=timeout)
        err = done.stderr.decode("utf-8", "replace")
        assert "Traceback" not in err, err
        return Ran(done.returncode, done.stdout.decode("utf-8", "replace"), err, done.stdout)

    return run


@pytest.fixture
def founding_rows():
    """The founding workbook's rows (sheet -> rows, as template.write_workbook takes them), to edit
    in a test."""
    return copy.deepcopy(founding.rows())


@pytest.fixture
def make_workbook(tmp_path):
    """Write rows (sheet -> list of rows, headers added) to a fresh .xlsx and return its path."""

    def make(rows, name="oncology-dqm.xlsx"):
        return write_workbook(tmp_path / name, rows)

    return make


@pytest.fixture
def exports_copy(tmp_path):
    """A copy of the committed exports store to publish into."""
    target = tmp_path / "exports"
    shutil.copytree(EXPORTS, target, ignore=shutil.ignore_patterns(".lock"))
    return target
