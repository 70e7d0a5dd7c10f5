"""The test tiers (tests/fixtures/tiers.py), run on a small suite of their own in a child pytest:
plain pytest runs the fast tier, a tier whose tool is missing is skipped with the reason, and
under DQM_ALL_TIERS=1 (scripts/test.sh) it fails instead, as does a tier with no tests."""

from __future__ import annotations

import pytest

from tests.fixtures.paths import ROOT

SUITE = """
import pytest

def test_fast():
    pass

@pytest.mark.node
def test_needs_node():
    pass

@pytest.mark.timing
def test_measures():
    pass
"""


@pytest.fixture
def run(pytester, monkeypatch, tmp_path):
    """Run the small suite in a child pytest with the tiers plugin, on a PATH without node."""
    pytester.makepyfile(test_suite=SUITE)
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.delenv("DQM_ALL_TIERS", raising=False)
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # no xdist, hypothesis, …: faster

    def go(*args, all_tiers=False):
        if all_tiers:
            monkeypatch.setenv("DQM_ALL_TIERS", "1")
        return pytester.runpytest_subprocess("-p", "tests.fixtures.tiers", *args)

    return go


def test_plain_pytest_runs_the_fast_tier_only(run):
    run().assert_outcomes(passed=1, deselected=2)


def test_naming_a_module_runs_its_tiers_too(run):
    run("test_suite.py").assert_outcomes(passed=2, skipped=1)


def test_a_tier_whose_tool_is_missing_is_skipped_with_the_reason(run):
    ran = run("-ra", "-m", "node or timing")
    ran.assert_outcomes(passed=1, skipped=1, deselected=1)
    ran.stdout.fnmatch_lines(
        ["SKIPPED * node is not installed: the Node consumer tier needs Node.js"]
    )


def test_every_tier_runs_under_all_tiers_and_a_missing_tool_fails(run):
    ran = run("-ra", "test_suite.py", all_tiers=True)
    ran.assert_outcomes(passed=2, errors=1)
    ran.stdout.fnmatch_lines(
        [
            "node is not installed: the Node consumer tier needs Node.js. "
            "DQM_ALL_TIERS=1 runs every tier.",
        ]
    )


@pytest.mark.parametrize("select", [(), ("-m", "timing")])  # all, or one tier as test.sh runs it
def test_all_tiers_refuses_a_tier_without_tests(run, select):
    ran = run(*select, all_tiers=True)
    assert ran.ret != 0
    ran.stderr.fnmatch_lines(
        ["ERROR: DQM_ALL_TIERS=1, but no test is marked ['browser', 'libreoffice', 'spark']"]
    )
