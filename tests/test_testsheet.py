"""The workbook's Tests sheet: decided by the engine at compile time (a mismatch is a finding on its
cell and blocks publishing), and alone by `dqm test`."""

from __future__ import annotations

from compiler.ruleset import testsheet
from compiler.ruleset.build import build
from compiler.ruleset.compile import compile_workbook
from compiler.ruleset.store import Published
from compiler.workbook.validate import validate_file
from tests.fixtures import founding


def row_of(rows, test_id: str) -> int:
    """The Excel row of a Tests row (headers on row 1)."""
    return 2 + [t[0] for t in rows["Tests"]].index(test_id)


def test_founding_tests_all_pass(founding_rows, make_workbook):
    run = testsheet.run_workbook(make_workbook(founding_rows))
    assert run.ok
    assert [(r.test_id, r.passed) for r in run.results] == [
        (t[0], True) for t in founding_rows["Tests"]
    ]


def test_founding_tests_cover_every_branch_of_the_policy():
    tests = {t[0]: t for t in founding.rows()["Tests"]}
    cases = {(t[1], t[2], t[3], bool(t[4]), t[6]) for t in tests.values()}
    for product, channel, limit, cap in [
        ("imatinib-400mg-tab", "Retail", 60, 90),
        ("imatinib-400mg-tab", "Home Delivery", 180, 270),
        ("imatinib-100mg-tab", "Retail", 180, None),
        ("imatinib-100mg-tab", "Home Delivery", 540, None),
    ]:
        assert (product, channel, limit, False, "Approve") in cases  # at the limit
        assert (product, channel, limit + 1, False, "Deny") in cases  # just over, no inducer
        if cap is None:  # the 100 mg no-override rule: an inducer does not help
            assert (product, channel, limit + 1, True, "Deny") in cases
        else:  # with an inducer: just over, at the cap, over the cap
            assert any(
                c[:2] == (product, channel) and limit < c[2] < cap and c[3] and c[4] == "Override"
                for c in cases
            )
            assert (product, channel, cap, True, "Override") in cases
            assert any(c[:2] == (product, channel) and c[2] > cap and c[3] for c in cases)
    spellings = [t[4] for t in tests.values() if t[0].startswith("spelling-")]
    assert len(spellings) >= 4 and "rifampinx" in spellings  # and a near miss that must not match


def test_wrong_expected_decision_is_a_finding_on_its_cell_and_blocks_publishing(
    founding_rows, make_workbook, tmp_path
):
    i = [t[0] for t in founding_rows["Tests"]].index("400-retail-over-limit")
    founding_rows["Tests"][i][6] = "Approve"
    founding_rows["Tests"][i][7] = 61
    result = compile_workbook(make_workbook(founding_rows), tmp_path / "exports")
    assert not result.ok and result.outcome is None
    assert not (tmp_path / "exports").exists()
    reason = (
        "Over the Retail limit of 60 tablets per Rx and no override criterion is met: rejects "
        "with code 76."
    )
    assert [(f.code, f.sheet, f.cell, f.column, f.value, f.params) for f in result.findings] == [
        (
            "tests-decision-mismatch",
            "Tests",
            f"G{row_of(founding_rows, '400-retail-over-limit')}",
            "Expected Decision",
            "Approve",
            {"expected": "Approve", "decided": "deny", "approved": 0, "reason": reason},
        )
    ]
    # the engine's reason inside the catalogue's wording, end to end
    assert result.findings[0].message == (
        f"Expected Approve, but dqm decides Deny: {reason} Correct the expectation or the rules."
    )


def test_wrong_expected_quantity_alone_is_a_finding_on_the_quantity_cell(
    founding_rows, make_workbook
):
    i = [t[0] for t in founding_rows["Tests"]].index("400-retail-over-cap")
    founding_rows["Tests"][i][7] = 120
    validated = validate_file(make_workbook(founding_rows))
    findings = testsheet.mismatch_findings(validated, build(validated))
    assert [(f.code, f.cell, f.column, f.value, f.params) for f in findings] == [
        (
            "tests-quantity-mismatch",
            f"H{row_of(founding_rows, '400-retail-over-cap')}",
            "Expected Approved Qty",
            120,
            {
                "expected": 120,
                "approved": 90,
                "reason": (
                    "Over the Retail limit of 60 tablets per Rx, but patient is taking a strong cytochrome P450 "
                    "(CYP)3A4 inducer: rejects with code 76; 90 tablets (the most this override allows) are "
                    "approvable on coverage review for 12 months."
                ),
            },
        )
    ]


def test_tests_follow_the_rules_being_built_not_the_published_ones(
    founding_rows, make_workbook, tmp_path
):
    # Raise the 400 mg retail limit to 90: the at-limit test now expects the new limit.
    founding_rows["Limits"][1][4] = 90
    founding_rows["Overrides"][0][2] = 120
    founding_rows["Tests"] = [
        ["t1", "imatinib-400mg-tab", "Retail", 90, None, None, "Approve", 90, None],
        ["t2", "imatinib-400mg-tab", "Retail", 91, None, None, "Deny", 0, None],
    ]
    result = compile_workbook(make_workbook(founding_rows), tmp_path / "exports")
    assert isinstance(result.outcome, Published), result.findings


def test_workbook_without_tests_sheet_rows_compiles(founding_rows, make_workbook, tmp_path):
    founding_rows["Tests"] = []
    assert isinstance(
        compile_workbook(make_workbook(founding_rows), tmp_path / "e").outcome, Published
    )


def test_dqm_test_prints_a_pass_fail_table(dqm, founding_rows, make_workbook):
    code, out, err = dqm("test", make_workbook(founding_rows))
    lines = out.splitlines()
    assert (code, err) == (0, "")
    assert lines[0].split() == ["Test", "ID", "Expected", "Decided", "Result"]
    assert lines[1].split() == ["400-retail-at-limit", "approve", "60", "approve", "60", "pass"]
    assert lines[-1] == f"{len(founding_rows['Tests'])} passed, 0 failed."


def test_dqm_test_returns_1_and_says_what_failed(dqm, founding_rows, make_workbook):
    i = [t[0] for t in founding_rows["Tests"]].index("spelling-not-a-word")
    founding_rows["Tests"][i][6] = "Override"
    founding_rows["Tests"][i][7] = 90
    code, out, _ = dqm("test", make_workbook(founding_rows))
    assert code == 1
    row = next(line for line in out.splitlines() if line.startswith("spelling-not-a-word "))
    assert row.split() == ["spelling-not-a-word", "override", "90", "deny", "0", "FAIL"]
    assert f"{len(founding_rows['Tests']) - 1} passed, 1 failed." in out
    assert out.splitlines()[-1] == (
        f"FAIL spelling-not-a-word (row {row_of(founding_rows, 'spelling-not-a-word')}): Expected "
        "Override, but dqm decides Deny: Over the Retail limit of 60 tablets per Rx and no override "
        "criterion is met: rejects with code 76. Correct the expectation or the rules."
    )


def test_dqm_test_on_a_workbook_with_errors_prints_them_and_returns_1(
    dqm, founding_rows, make_workbook
):
    founding_rows["Limits"][1][4] = "sixty"
    code, out, err = dqm("test", make_workbook(founding_rows))
    assert (code, out) == (1, "")
    assert "ERROR Limits!E3" in err
    assert err.splitlines()[-1].startswith("Tests not run: 1 error(s) in ")


def test_dqm_test_on_a_missing_file_is_one_line(dqm):
    assert dqm("test", "nope.xlsx") == (2, "", "dqm: nope.xlsx: no such file.\n")
