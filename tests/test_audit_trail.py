"""History is the audit trail, and `dqm validate` says everything `dqm compile` would
(ruleset/history.py, ruleset/check.py): a published History row removed or edited, a new row
backdated or years ahead, Tests that fail and a change without its History row are reported by
both, with the same words; a new ruleset in a folder says so."""

from __future__ import annotations

import copy
import datetime as dt

from compiler.ruleset import compile as compile_module
from compiler.ruleset.build import build
from compiler.ruleset.check import check_workbook
from compiler.ruleset.compile import compile_workbook, publish
from compiler.ruleset.store import Published, Refused, Store
from compiler.workbook.validate import validate_file

POLICY = "imatinib-per-rx"
RULES = "audit trail: a published row is never"  # the words every removal finding carries


def snapshot(folder):
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


def both(dqm, workbook, exports) -> tuple:
    """`dqm validate` and `dqm compile` of one workbook: their codes and finding lines."""
    validated = dqm("validate", workbook, "--exports", exports)
    compiled = dqm("compile", workbook, "--exports", exports)
    lines = validated.out.splitlines()[:-1]  # the last line counts them
    assert compiled.err.splitlines()[:-1] == lines  # compile: the same findings, on stderr
    return validated.code, compiled.code, lines


def test_removing_a_published_history_row_is_refused_by_validate_and_compile(
    founding_rows, make_workbook, exports_copy, dqm
):
    before = snapshot(exports_copy)
    del founding_rows["History"][1]
    assert both(dqm, make_workbook(founding_rows), exports_copy) == (
        1,
        1,
        [
            "ERROR History!A1: The History row of 'imatinib-per-rx' dated 12/17/2024 (Annual "
            "Revision: No criteria changes.) is published in v4 but is missing here. History is "
            f"the {RULES} removed. Type it back as it was."
        ],
    )
    assert snapshot(exports_copy) == before


def test_rewording_a_published_history_row_is_an_error_at_that_cell(
    founding_rows, make_workbook, exports_copy, dqm
):
    before = snapshot(exports_copy)
    founding_rows["History"][2][2] = "Reviewed; no criteria changes."
    assert both(dqm, make_workbook(founding_rows), exports_copy) == (
        1,
        1,
        [
            "ERROR History!C4 (found: 'Reviewed; no criteria changes.'): This History row of "
            "'imatinib-per-rx' is published in v4 with Summary of Changes 'No criteria changes.'. "
            "History is the audit trail: published rows are never edited. Type it back as it "
            "was, and add a new row for the new revision."
        ],
    )
    assert snapshot(exports_copy) == before


def test_moving_a_published_row_s_date_is_an_edit_of_its_review_date(
    founding_rows, make_workbook, exports_copy
):
    founding_rows["History"][1][3] = dt.date(2024, 12, 18)
    findings = check_workbook(make_workbook(founding_rows), exports_copy).findings
    assert [(f.code, f.cell, f.params) for f in findings] == [
        (
            "history-row-edited",
            "D3",
            {
                "policy": POLICY,
                "header": "Review Date",
                "published": dt.date(2024, 12, 17),
                "version": 4,
            },
        )
    ]


def add_inducer(rows, drug: str) -> None:
    rows["Drug Lists"].append(["strong-cyp3a4-inducers", drug, None, "Added in a test."])


def new_review(rows, day: dt.date, summary="Raised the 400 mg retail limit."):
    rows["History"].append([POLICY, "Revision", summary, day])
    rows["Policies"][0][3] = max(day, rows["Policies"][0][3])
    return rows


def test_new_row_dated_years_ahead_is_an_error_in_one_date_form(
    founding_rows, make_workbook, exports_copy, dqm
):
    today = dt.date.today()
    path = make_workbook(new_review(founding_rows, dt.date(2207, 12, 1)))
    result = compile_workbook(path, exports_copy, today=dt.date(2026, 12, 1))
    assert [(f.code, f.sheet, f.cell, f.params) for f in result.findings] == [
        (
            "history-date-too-far-ahead",
            "History",
            "D6",
            {"review_date": dt.date(2207, 12, 1), "latest_allowed": dt.date(2027, 12, 1)},
        )
    ]
    ahead = today.replace(year=today.year + 1) if (today.month, today.day) != (2, 29) else None
    code, out, _ = dqm("validate", path, "--exports", exports_copy)
    assert (code, out.splitlines()[0]) == (
        1,
        "ERROR History!D6 (found: '12/01/2207'): 12/01/2207 is more than a year ahead (the latest "
        f"date accepted today is {ahead:%m/%d/%Y}). Type the date of the review, such as today's; "
        "check the year.",
    )


def test_new_row_backdated_before_the_latest_published_one_is_an_error(
    founding_rows, make_workbook, exports_copy, dqm
):
    before = snapshot(exports_copy)
    path = make_workbook(new_review(founding_rows, dt.date(2020, 1, 15)))
    assert both(dqm, path, exports_copy) == (
        1,
        1,
        [
            "ERROR History!D6 (found: '01/15/2020'): This new History row is dated 01/15/2020, "
            "before the latest published revision of 'imatinib-per-rx' (12/01/2026, in v4). A new "
            "revision comes after the ones already published: type its real date (usually "
            "today's)."
        ],
    )
    assert snapshot(exports_copy) == before


def test_validate_reports_failing_tests_as_compile_does(
    founding_rows, make_workbook, exports_copy, dqm
):
    founding_rows["Tests"][0][6] = "Deny"  # 60 tablets at retail: approved, not denied
    assert both(dqm, make_workbook(founding_rows), exports_copy) == (
        1,
        1,
        [
            "ERROR Tests!G2 (found: 'Deny'): Expected Deny, but dqm decides Approve (approved 60): "
            "Within the Retail limit of 60 tablets per Rx. Correct the expectation or the rules."
        ],
    )


def test_validate_reports_a_change_without_its_history_row_as_compile_does(
    founding_rows, make_workbook, exports_copy, dqm
):
    add_inducer(founding_rows, "apalutamide")
    assert both(dqm, make_workbook(founding_rows), exports_copy) == (
        1,
        1,
        [
            "ERROR History!A6: The rules differ from the published v4 (strong-cyp3a4-inducers / "
            "apalutamide: drug list member added), but History has no new row. Add a row here for "
            "each policy you changed: Policy ID, Type of Revision, Summary of Changes and Review "
            "Date, and give that policy the same Review Date on the Policies sheet."
        ],
    )


def test_a_workbook_that_validates_clean_compiles(founding_rows, make_workbook, exports_copy, dqm):
    add_inducer(founding_rows, "apalutamide")
    founding_rows["Ruleset"][0][3] = None  # v5 takes effect on its review
    path = make_workbook(new_review(founding_rows, dt.date(2027, 1, 27), "Apalutamide added."))
    note = (
        "oncology-dqm v5 takes effect on 01/27/2027: claims dated from then on are decided by it "
        "(v4 decided them before).\n"
    )
    assert dqm("validate", path, "--exports", exports_copy) == (
        0,
        f"{path}: 0 error(s), 0 warning(s).\n",
        note,
    )
    assert dqm("compile", path, "--exports", exports_copy) == (
        0,
        f"{exports_copy / 'oncology-dqm' / 'v5.json'}\n",
        note,
    )


def test_first_version_in_a_folder_says_so(dqm, tmp_path):
    from tests.fixtures.paths import WORKBOOK

    note = (
        "first version of oncology-dqm in ./exports: no earlier versions there\n"
        "oncology-dqm v1 takes effect on 12/08/2025: claims dated from then on are decided by it "
        "(no version decided them before).\n"
    )
    # The bundled Effective Date is before its latest review (v4's, published so): a v1 of it
    # says so.
    warning = (
        "WARNING Ruleset!D2 (found: '12/08/2025'): v1 takes effect on 12/08/2025, before its "
        "latest History Review Date (12/01/2026): it decides claims dated before the review that "
        "made it, from 12/08/2025 on. A correction may apply from an earlier date; if this is "
        "not one, clear this cell (v1 then takes effect on 12/01/2026), or type the date it takes "
        "effect.\n"
    )
    assert dqm("validate", WORKBOOK, cwd=tmp_path) == (
        0,
        f"{warning}{WORKBOOK}: 0 error(s), 1 warning(s).\n",
        note,
    )
    # Run from a folder without one, compile makes no exports folder it was not named.
    assert dqm("compile", WORKBOOK, cwd=tmp_path) == (
        2,
        "",
        "dqm: There is no exports folder ./exports here. Run dqm compile from the folder that "
        "holds the exports, or name the folder with --exports DIR (it is created if missing).\n",
    )
    assert list(tmp_path.iterdir()) == []
    assert dqm("compile", WORKBOOK, "--exports", "exports", cwd=tmp_path) == (
        0,
        f"{warning}exports/oncology-dqm/v1.json\n",
        note,
    )
    assert dqm("compile", WORKBOOK, cwd=tmp_path) == (
        0,
        "Nothing changed: v1 is current (exports/oncology-dqm/v1.json).\n",
        "oncology-dqm v1, which this workbook is, takes effect on 12/08/2025; nothing new to "
        "publish.\n",
    )


def test_a_new_ruleset_id_beside_others_is_a_warning(
    founding_rows, make_workbook, exports_copy, dqm
):
    founding_rows["Ruleset"][0][0] = "oncology-dqm-2026"
    founding_rows["Ruleset"][0][3] = None  # v1 takes effect on the latest review
    path = make_workbook(founding_rows)
    warning = (
        f"WARNING Ruleset!A2 (found: 'oncology-dqm-2026'): No ruleset 'oncology-dqm-2026' is "
        f"published in {exports_copy}, which holds 'oncology-dqm': compiling starts "
        "'oncology-dqm-2026' at v1, apart from their history. If you meant to revise one of "
        "those, type its Ruleset ID here; if you meant another folder, give --exports."
    )
    note = (
        f"first version of oncology-dqm-2026 in {exports_copy}: no earlier versions there\n"
        "oncology-dqm-2026 v1 takes effect on 12/01/2026: claims dated from then on are decided "
        "by it (no version decided them before).\n"
    )
    assert dqm("validate", path, "--exports", exports_copy) == (
        0,
        f"{warning}\n{path}: 0 error(s), 1 warning(s).\n",
        note,
    )
    v1 = exports_copy / "oncology-dqm-2026" / "v1.json"
    assert dqm("compile", path, "--exports", exports_copy) == (0, f"{warning}\n{v1}\n", note)
    assert Store(exports_copy).ruleset_ids() == ["oncology-dqm", "oncology-dqm-2026"]


def test_the_history_rules_run_again_under_the_lock(
    founding_rows, make_workbook, exports_copy, monkeypatch
):
    # Another compile publishes v5 after this one checked its workbook against v4 and before it
    # takes the lock: the gate under the lock reads v5, and this workbook lacks v5's History row.
    other_rows = new_review(
        copy.deepcopy(founding_rows), dt.date(2027, 1, 28), "Published meanwhile."
    )
    add_inducer(other_rows, "enzalutamide")
    other = build(validate_file(make_workbook(other_rows, "other.xlsx")))
    add_inducer(founding_rows, "apalutamide")
    founding_rows["Ruleset"][0][3] = None  # this version takes effect on its review, after v4
    path = make_workbook(new_review(founding_rows, dt.date(2027, 1, 27), "Apalutamide added."))

    def check_then_another_publishes(*args, **kwargs):
        checked = check_workbook(*args, **kwargs)
        assert checked.ok and checked.previous["version"] == 4
        assert isinstance(publish(Store(exports_copy), other), Published)
        return checked

    monkeypatch.setattr(compile_module, "check_workbook", check_then_another_publishes)
    result = compile_workbook(path, exports_copy)
    assert isinstance(result.outcome, Refused)
    assert [(f.code, f.cell, f.params["version"]) for f in result.findings] == [
        ("history-row-removed", "A1", 5),  # v5's row of 01/28/2027
        ("history-row-backdated", "D6", 5),  # this row, 01/27/2027, is now before it
    ]
    assert Store(exports_copy).versions("oncology-dqm") == [1, 2, 3, 4, 5]
