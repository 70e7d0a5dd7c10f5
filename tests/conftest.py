"""Shared fixtures: workbooks built in the test, from the founding policy's rows."""

from __future__ import annotations

import copy
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import founding_workbook  # noqa: E402

from compiler.workbook.template import write_workbook  # noqa: E402

EXPORTS = ROOT / "exports"
WORKBOOK = ROOT / "workbook" / "oncology-dqm.xlsx"


def pytest_sessionfinish(session, exitstatus):
    # A run that collected nothing is a broken run, never a green one (and never pytest's exit 5).
    if session.testscollected == 0 and not session.config.option.collectonly:
        session.exitstatus = 1


@pytest.fixture
def founding_rows():
    """The current founding workbook's rows, to edit in a test (a deep copy)."""
    return copy.deepcopy(founding_workbook.rows())


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
